"""Gradescope's container, simulated: ``run_autograder`` runs as root in a PID
and mount namespace of its own (Docker gives each container both), with an
empty read-only ``/sys/fs/cgroup`` and without CAP_SYS_ADMIN (``setpriv``),
so the grader finds no namespaces and no cgroup and grades with ``process``
isolation, from the real exported zip in a real ``/autograder`` tree.

The reference notebook attacks from there: it reads the hidden suite, and a
daemon it double-forks waits for the grader's ``results.json`` to rewrite it
(the hidden suite in the output, no tests). Its honest functions must still
earn full marks as uid nobody. A process of the sandbox's uid that
the grader did not start stands for anything else left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from grader.sandbox.guest.confine import SANDBOX_UID
from tests.helpers import COURSE, REPO
from tests.test_gradescope import SCHEMA, autograder_tree, export, grader_on_path

pytestmark = pytest.mark.e2e

CONTAINER = ("unshare", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private")
"""a mount and PID namespace of its own, as a Docker container has"""
REFERENCE = REPO / "solutions" / "01_tensors" / "01_tensors.ipynb"
HARNESS_WAIT = 3
"""seconds the simulated harness waits after run_autograder before it reads
results.json (Gradescope's reads it some time after; a daemon acts at once)"""

ATTACK = """
import json, os, time
DROP, RESULTS, SUITE = {drop!r}, {results!r}, {suite!r}
CAPABILITY_SETS = ("CapInh", "CapPrm", "CapEff", "CapAmb")
try:
    with open(SUITE) as file:
        leaked = file.read()[:300]
except OSError as err:
    leaked = type(err).__name__
with open("/proc/self/status") as file:
    held = [line.split()[1] for line in file if line.startswith(CAPABILITY_SETS)]
with open(DROP + "/leak", "w") as file:
    file.write(f"uid={{os.getuid()}} caps={{','.join(held)}}\\n{{leaked}}")
if os.fork() == 0:
    os.setsid()
    if os.fork():
        os._exit(0)
    with open(DROP + "/daemon", "w") as file:
        file.write(str(os.getpid()))
    for _ in range(1200):  # a minute at most
        time.sleep(0.05)
        try:
            if os.path.getsize(RESULTS):  # the grader wrote its results: replace them
                with open(RESULTS, "w") as file:
                    json.dump({{"score": 36.0, "output": leaked, "tests": []}}, file)
                open(DROP + "/forged", "w").close()
                break
        except OSError:
            continue
    os._exit(0)
"""

DAEMON = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork():
        os._exit(0)
    with open({drop!r} + "/daemon", "w") as file:
        file.write(str(os.getpid()))
    time.sleep(600)
    os._exit(0)
"""
"""a cell that leaves a daemon behind and does nothing else"""

SIMULATION = """
mount -t tmpfs -o ro,nosuid,nodev,noexec cgroup /sys/fs/cgroup || exit 90
setpriv --reuid {uid} --regid {uid} --clear-groups sleep 600 &
echo $! > "$DROP/stray"
setpriv --bounding-set {drop} --inh-caps {drop} --ambient-caps {drop} -- "$@"
status=$?
sleep {wait}
for name in daemon stray; do
    if [ -s "$DROP/$name" ] && [ -d "/proc/$(cat "$DROP/$name")" ]; then
        echo alive > "$DROP/$name.alive"
    fi
done
exit $status
"""
"""PID 1 of the simulated container: it plays Gradescope's harness, which
outlives run_autograder; when it exits, the kernel ends the namespace"""


def require_container_tools() -> None:
    """Skip where the simulation cannot be built, except in CI (CI=true)."""
    missing = [tool for tool in ("unshare", "setpriv") if shutil.which(tool) is None]
    reason = f"missing {', '.join(missing)} (util-linux)" if missing else ""
    if not reason and os.geteuid() != 0:
        reason = "the simulated container runs run_autograder as root, as Gradescope does"
    if not reason and subprocess.run([*CONTAINER, "true"], capture_output=True).returncode:
        reason = "this machine cannot make the mount and PID namespaces the simulation needs"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the Gradescope container test")
        pytest.skip(reason)


@pytest.fixture
def world() -> Iterator[Path]:
    """A folder every uid can reach, as ``/autograder``'s parent is in the
    container (pytest's own temporary folders are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="tfgrade-container-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def hostile_notebook(folder: Path, *, drop: Path, root: Path) -> Path:
    """The reference notebook with the attack as its last cell."""
    source = ATTACK.format(
        drop=str(drop),
        results=str(root / "results" / "results.json"),
        suite=str(root / "source" / "solutions" / "01_tensors" / "test_hidden.py"),
    )
    return with_cell(REFERENCE, source, folder / "01_tensors.ipynb")


def with_cell(notebook_path: Path, source: str, path: Path) -> Path:
    """``notebook_path`` with ``source`` as its last cell, written to ``path``."""
    notebook = json.loads(notebook_path.read_text())
    notebook["cells"].append(
        {
            "cell_type": "code",
            "id": "attack",
            "metadata": {},
            "source": source,
            "outputs": [],
            "execution_count": None,
        }
    )
    path.write_text(json.dumps(notebook))
    return path


@dataclass(frozen=True)
class Run:
    """One run_autograder in the simulated container."""

    results: dict[str, Any]
    """results.json as the harness reads it, after run_autograder ended"""
    drop: Path
    """where the attack and the harness leave what they found"""
    output: str
    returncode: int


def run_in_container(
    world: Path, archive: Path, *, submission: Path | None = None, dropped: str = "-sys_admin"
) -> Run:
    """Run ``archive``'s run_autograder on ``submission`` (by default the
    hostile reference notebook) without the ``dropped`` capabilities."""
    root = autograder_tree(world, archive)
    drop = world / "drop"
    drop.mkdir()
    drop.chmod(0o777)
    (root / "submission").mkdir()
    submission = submission or hostile_notebook(world, drop=drop, root=root)
    shutil.copy(submission, root / "submission")
    env = {
        **os.environ,
        "PATH": f"{grader_on_path(world)}{os.pathsep}{os.environ['PATH']}",
        "TFGRADE_AUTOGRADER_ROOT": str(root),
        "DROP": str(drop),
    }
    script = SIMULATION.format(uid=SANDBOX_UID, wait=HARNESS_WAIT, drop=dropped)
    done = subprocess.run(
        [*CONTAINER, "sh", "-c", script, "container", str(root / "run_autograder")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode != 90, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return Run(results, drop, done.stdout + done.stderr, done.returncode)


def test_a_hostile_notebook_cannot_read_the_suite_or_outlive_the_grader(world: Path) -> None:
    require_container_tools()
    archive = export(world, "export", "gradescope", "01_tensors")
    run = run_in_container(world, archive)
    results, drop, output = run.results, run.drop, run.output
    assert run.returncode == 0, output
    assert (drop / "leak").is_file(), output  # the attack ran
    uid, _, leaked = (drop / "leak").read_text().partition("\n")
    assert uid == f"uid={SANDBOX_UID} caps={','.join(['0' * 16] * 4)}"  # Inh, Prm, Eff, Amb
    assert leaked == "PermissionError"
    suite = (REPO / "solutions" / "01_tensors" / "test_hidden.py").read_text()
    assert suite[:40] not in json.dumps(results)
    assert not (drop / "forged").exists(), output
    assert not (drop / "daemon.alive").exists()
    assert not (drop / "stray.alive").exists()
    # the grader killed its sandbox's daemon itself; run_autograder, what it did not start
    stray = (drop / "stray").read_text().strip()
    assert f"killing what uid {SANDBOX_UID} left running: {stray}\n" in output
    # the honest functions' grade, recorded as graded without namespaces, and said so
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) == 36
    assert {t["status"] for t in results["tests"]} == {"passed"}
    extra = results["extra_data"]
    assert extra["isolation"] == "process, uid nobody, memory watchdog, process cap, scratch quota"
    assert "could not read the hidden tests" in extra["isolation_note"]
    assert "number of processes is not capped" not in output  # capped per uid


def test_a_course_can_refuse_to_grade_without_namespaces(world: Path) -> None:
    """``--require-namespaces``: in the container, no student code runs at all;
    the student is told it is not their problem, staff why."""
    require_container_tools()
    archive = export(world, "export", "gradescope", "01_tensors", "--require-namespaces")
    run = run_in_container(world, archive)
    results, drop, output = run.results, run.drop, run.output
    assert run.returncode == 1
    assert not (drop / "leak").exists()
    assert results["score"] == 0 and results["tests"] == []
    assert "problem on its side, not in your work" in results["output"]
    assert "--require-namespaces: not grading, because" in output
    assert "does not allow new namespaces" in output


def test_run_autograder_withholds_the_grade_while_a_sandbox_process_lives(world: Path) -> None:
    """A container whose root may not signal other users (no CAP_KILL): the
    stray process of uid nobody cannot be killed, so run_autograder writes
    "not graded" and fails rather than hand over a grade it cannot vouch for."""
    require_container_tools()
    archive = export(world, "--root", str(COURSE), "export", "gradescope", "00_smoke")
    good = COURSE / "submissions" / "good.ipynb"
    run = run_in_container(world, archive, submission=good, dropped="-sys_admin,-kill")
    stray = (run.drop / "stray").read_text().strip()
    assert run.returncode == 1
    assert run.results["score"] == 0 and run.results["tests"] == []
    assert "could not make sure that the code it ran had stopped" in run.results["output"]
    assert f"processes of uid {SANDBOX_UID} did not end: {stray}" in run.output
    assert "Traceback" not in run.output


def test_grade_leaves_no_daemon_behind_without_namespaces(world: Path) -> None:
    """``grader grade`` in the container (process isolation, as root): the
    zygote is its sandboxes' subreaper, so the daemon a notebook left is
    killed when the run ends, although nothing else would reach it."""
    require_container_tools()
    drop = world / "drop"
    drop.mkdir()
    drop.chmod(0o777)
    good = with_cell(
        COURSE / "submissions" / "good.ipynb", DAEMON.format(drop=str(drop)), world / "d.ipynb"
    )
    script = SIMULATION.format(uid=SANDBOX_UID, wait=1, drop="-sys_admin")
    grade = [sys.executable, "-m", "grader", "--root", str(COURSE), "grade", "00_smoke", str(good)]
    done = subprocess.run(
        [*CONTAINER, "sh", "-c", script, "container", *grade, "--out", str(world / "out")],
        env={**os.environ, "PYTHONPATH": str(REPO), "DROP": str(drop)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert any(line.split()[:2] == ["d", "5/5"] for line in done.stdout.splitlines()), done.stdout
    assert (drop / "daemon").is_file()  # the daemon started
    assert not (drop / "daemon.alive").exists()


def test_a_scratch_folder_uid_nobody_cannot_reach_is_named(world: Path) -> None:
    """``TMPDIR`` under a folder only root may pass: the sandbox's uid could
    not reach its scratch, so the run stops at once, naming the folder."""
    require_container_tools()
    closed = world / "closed"
    (closed / "tmp").mkdir(parents=True)
    closed.chmod(0o700)
    script = SIMULATION.format(uid=SANDBOX_UID, wait=0, drop="-sys_admin")
    good = COURSE / "submissions" / "good.ipynb"
    grade = [sys.executable, "-m", "grader", "--root", str(COURSE), "grade", "00_smoke", str(good)]
    done = subprocess.run(
        [*CONTAINER, "sh", "-c", script, "container", *grade, "--out", str(world / "out")],
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DROP": str(world),
            "TMPDIR": str(closed / "tmp"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert f"and {closed} keeps them from their scratch folders" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_doctor_names_the_containers_isolation_level() -> None:
    """``grader doctor`` in the container says what a grade there records."""
    require_container_tools()
    drop = "-sys_admin"
    script = (
        "mount -t tmpfs -o ro cgroup /sys/fs/cgroup && exec setpriv "
        f'--bounding-set {drop} --inh-caps {drop} --ambient-caps {drop} -- "$@"'
    )
    done = subprocess.run(
        [*CONTAINER, "sh", "-c", script, "container", sys.executable, "-m", "grader", "doctor"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    expected = "process, uid nobody, memory watchdog, process cap, scratch quota"
    found = [line.partition(":")[2].strip() for line in done.stdout.splitlines()]
    assert expected in found, done.stdout
