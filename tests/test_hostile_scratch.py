"""What student code leaves in its scratch folder, or holds through open
descriptors, stays its own problem (issue 19, items 3 to 6): folders
thousands deep or with their permissions taken away, files deleted but
held open, memory files. None stops grading, hides from a quota, or
survives the clean-up. Run as root here and as a normal user by
tests/test_rootless.py, where a same-uid trusted side has no
``CAP_DAC_OVERRIDE`` to read past a folder's mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.sandbox.host import trees
from grader.sandbox.host.limits import Held, scratch_over
from grader.workdir import RunDir
from tests.helpers import (
    COURSE,
    REPO,
    read_results,
    require_full_isolation,
    run_grader,
    smoke_args,
    verdicts,
)

DEPTH = 1100
"""past Python's recursion limit (1000), as in the issue"""


def nest(folder: Path, depth: int) -> None:
    """Make ``depth`` folders inside one another under ``folder``, a file in the deepest."""
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=handle)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=handle)
        os.close(handle)
        handle = inner
    os.close(os.open("last", os.O_WRONLY | os.O_CREAT, dir_fd=handle))
    os.close(handle)


def locked(folder: Path, mode: int, size: int, *, name: str = "hidden", depth: int = 0) -> Path:
    """A folder holding a ``size``-byte file and a subfolder (with ``depth``
    folders nested in it), then set to ``mode``."""
    hidden = folder / name
    (hidden / "inner").mkdir(parents=True)
    (hidden / "inner" / "data").write_bytes(os.urandom(size))
    nest(hidden / "inner", depth)
    hidden.chmod(mode)
    return hidden


@pytest.fixture
def temporary(tmp_path: Path) -> Iterator[Path]:
    """``tempfile.gettempdir()`` pointed at a folder of this test's own."""
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp_path / "tmp")
    Path(tempfile.tempdir).mkdir()
    try:
        yield Path(tempfile.tempdir)
    finally:
        tempfile.tempdir = saved
        trees.empty(tmp_path)  # what a failed sweep left: pytest's own clean-up recurses


def dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_the_sweep_removes_a_deep_tree_a_killed_run_left(temporary: Path) -> None:
    """A run killed with a 1,100-deep folder in scratch: the next run's
    sweep removes it, where a recursive removal died."""
    left = temporary / f"tfgrade-run-{dead_pid()}-x" / "g1" / "scratch"
    left.mkdir(parents=True)
    nest(left, DEPTH)
    RunDir.sweep()
    assert list(temporary.iterdir()) == []


def sweep_in_a_pid_namespace(temporary: Path) -> subprocess.CompletedProcess[str]:
    """``RunDir.sweep()`` by a grader in a pid namespace of its own (as in a
    container) sharing this temporary folder: no pid of ours is alive there."""
    code = (
        f"import tempfile; tempfile.tempdir = {str(temporary)!r}; "
        "from grader.workdir import RunDir; RunDir.sweep()"
    )
    return subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_a_live_run_is_never_swept_from_another_pid_namespace(temporary: Path) -> None:
    """Its pid means nothing in the sweeper's namespace; its lock does. Once
    the run's process is killed (the kernel drops the lock), it is swept."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a pid namespace needs root and unshare")
    run = RunDir.create()
    try:
        assert run.path.parent == temporary
        swept = sweep_in_a_pid_namespace(temporary)
        assert swept.returncode == 0, swept.stderr
        assert run.path.is_dir()
    finally:
        run.remove()
    code = (
        f"import os, tempfile; tempfile.tempdir = {str(temporary)!r}; "
        "from grader.workdir import RunDir; RunDir.create(); os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False)
    [killed] = temporary.iterdir()
    assert sweep_in_a_pid_namespace(temporary).returncode == 0
    assert not killed.exists()


@pytest.mark.parametrize("mode", [0o300, 0o000])
def test_clean_up_removes_a_folder_its_owner_locked(tmp_path: Path, mode: int) -> None:
    child = tmp_path / "g1"
    child.mkdir()
    locked(child, mode, 1024)
    locked(child, mode, 10, name="nested", depth=50)
    RunDir.clean_child(child)
    assert not child.exists()


@pytest.mark.parametrize("mode", [0o300, 0o000])
def test_the_quota_counts_what_a_locked_folder_holds(tmp_path: Path, mode: int) -> None:
    locked(tmp_path, mode, 2**20)
    assert scratch_over(tmp_path, 2**19, 100)
    assert not scratch_over(tmp_path, 2**21, 100)


def test_a_folder_nested_past_the_limit_is_over_the_quota(tmp_path: Path) -> None:
    nest(tmp_path, trees.MAX_DEPTH + 1)
    assert scratch_over(tmp_path, 2**30, 10**6)
    trees.empty(tmp_path)
    assert list(tmp_path.iterdir()) == []
    nest(tmp_path, trees.MAX_DEPTH - 1)
    assert not scratch_over(tmp_path, 2**30, 10**6)


HOLDER = """
import os, sys
deleted = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
os.unlink(sys.argv[1])
os.write(deleted, os.urandom(2**20))
memory = os.memfd_create("hidden")
os.write(memory, os.urandom(2**20))
read, write = os.pipe()
os.write(write, b"x")
again = os.dup(memory)
print("ready", flush=True)
sys.stdin.read()
"""
"""a process holding a deleted file, a memfd (open twice) and a pipe with data"""


def test_descriptors_hold_what_no_tree_shows(tmp_path: Path) -> None:
    """A deleted file held open, a memfd written with write(), a pipe with
    data: each counted once however often it is open (in a process of its
    own: pytest's, under xdist, has pipes whose contents come and go)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "gone")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        held = Held.scan([holder.pid], os.stat(tmp_path).st_dev)
    finally:
        holder.communicate("")
    assert held.deleted >= 2**20
    assert 2**20 + 4096 <= held.memory < 2 * 2**20
    assert not held.hidden


# call_timeout leaves room to reach memory_mb where fresh memory faults in
# slowly (768 MB took 6 s in a VM), so a cap, never the deadline, stops an attack
SMOKE_LIMITS = """
[limits]
call_timeout = 8.0
load_timeout = 20.0
total_timeout = 60.0
memory_mb = 768
scratch_mb = 8
"""

HONEST = """
def make_var(n):
    return tf.Variable(tf.zeros([n]))
"""

ATTACKS = {
    # a folder 1,100 deep, then the honest answer
    "deep": """
def relu(x):
    for _ in range(1100):
        os.mkdir("d")
        os.chdir("d")
    time.sleep(10)
    return tf.nn.relu(x)
""",
    # 32 MiB in a folder its owner may write but not list
    "locked": """
def relu(x):
    os.makedirs("hide", exist_ok=True)
    os.chmod("hide", 0o300)
    for i in range(32):
        with open(f"hide/f{i}", "wb") as file:
            file.write(os.urandom(2**20))
    time.sleep(10)
    return tf.nn.relu(x)
""",
    # 32 MiB in files deleted and held open
    "unlinked": """
KEPT = []
def relu(x):
    for i in range(32):
        file = open(f"f{i}", "wb")
        file.write(os.urandom(2**20))
        file.flush()
        os.unlink(f"f{i}")
        KEPT.append(file)
    time.sleep(10)
    return tf.nn.relu(x)
""",
    # 64 memfds of 16 MiB, written with write(): in no process's PSS
    "memfds": """
KEPT = []
def relu(x):
    block = os.urandom(2**20)
    for i in range(64):
        fd = os.memfd_create(f"m{i}")
        for _ in range(16):
            os.write(fd, block)
        KEPT.append(fd)
    time.sleep(10)
    return tf.nn.relu(x)
""",
}


def notebook(source: str) -> nbformat.NotebookNode:
    return new_notebook(
        cells=[new_code_cell("import os, time\nimport tensorflow as tf\n" + source + HONEST)]
    )


def small_course(base: Path) -> Path:
    """A copy of the smoke course with a scratch quota of 8 MiB."""
    course = base / "course"
    shutil.copytree(COURSE / "solutions" / "00_smoke", course / "solutions" / "00_smoke")
    toml = course / "solutions" / "00_smoke" / "assignment.toml"
    text = toml.read_text()
    toml.write_text(text[: text.index("[limits]")] + SMOKE_LIMITS)
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every attack and a bystander in one batch, with a $TMPDIR of its own."""
    require_full_isolation()
    base = tmp_path_factory.mktemp("scratch")
    course = small_course(base)
    submissions = base / "class"
    submissions.mkdir()
    for name, source in ATTACKS.items():
        nbformat.write(notebook(source), submissions / f"{name}.ipynb")
    shutil.copy(COURSE / "submissions" / "good.ipynb", submissions / "bystander.ipynb")
    # a short path: the zygote's socket goes in it (at most 107 bytes)
    temporary = Path(tempfile.mkdtemp(prefix="tfgrade-t-", dir="/tmp"))
    try:
        done = run_grader(
            *smoke_args(submissions, base / "out", "--require-isolation", course=course),
            env={"TMPDIR": str(temporary)},
        )
        left = sorted(p.name for p in temporary.iterdir())
    finally:
        trees.remove(temporary)
    yield {"done": done, "results": read_results(base / "out" / "00_smoke"), "left": left}


@pytest.mark.slow
def test_the_batch_finishes_and_the_bystander_is_graded(graded: dict[str, Any]) -> None:
    done = graded["done"]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert graded["results"]["bystander"]["score"] == 5


STOPPED_FOR = {"deep": "crash", "locked": "crash", "unlinked": "crash", "memfds": "memory"}
"""the verdict of the tests that run the attack: the sandbox killed over its
scratch quota (crash) or its memory cap"""


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_each_attack_is_stopped(graded: dict[str, Any], student: str) -> None:
    """Killed over a cap, never left to run into its deadline (timeout);
    its honest function still passes."""
    stopped = STOPPED_FOR[student]
    assert verdicts(graded["results"][student]) == [stopped, stopped, "passed", "passed"]


@pytest.mark.slow
def test_nothing_is_left_in_tmpdir(graded: dict[str, Any]) -> None:
    """No scratch folder survives, nor the trusted side's AutoGraph files."""
    assert graded["left"] == []


@pytest.mark.slow
@pytest.mark.parametrize(("taken_mb", "jobs"), [(12, 1), (4, 2)])
def test_a_short_disk_stops_the_batch(tmp_path: Path, taken_mb: int, jobs: int) -> None:
    """Something else filled the disk of $TMPDIR (16 MiB) so that fewer
    sandboxes of 8 MiB fit than may run at once (--jobs): no student is
    graded (and charged for "No space left on device"); the batch stops
    with a message."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    temporary = Path(tempfile.mkdtemp(prefix="tfgrade-short-"))  # short: sockets go in it
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tfgrade-short", str(temporary)], check=True
    )
    try:
        (temporary / "someone-elses").write_bytes(bytes(taken_mb * 2**20))
        submissions = tmp_path / "class"
        submissions.mkdir()
        shutil.copy(COURSE / "submissions" / "good.ipynb", submissions / "bystander.ipynb")
        out = tmp_path / "out"
        done = run_grader(
            *smoke_args(submissions, out, "-j", str(jobs), course=small_course(tmp_path)),
            env={"TMPDIR": str(temporary)},
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "scratch_mb (8 MiB)" in done.stderr
        assert "run the same command again" in done.stderr
        assert "Traceback" not in done.stderr
        assert read_results(out / "00_smoke") == {}
    finally:
        subprocess.run(["umount", "-l", str(temporary)], check=False)
        temporary.rmdir()


@pytest.mark.slow
def test_autograph_files_of_the_trusted_side_go_with_the_run(tmp_path: Path) -> None:
    """Grading 01 runs a tf.function on the trusted side, whose AutoGraph
    module was left in $TMPDIR by every run."""
    temporary = Path(tempfile.mkdtemp(prefix="tfgrade-t-", dir="/tmp"))
    try:
        submissions = tmp_path / "class"
        submissions.mkdir()
        shutil.copy(REPO / "examples" / "submissions" / "01_tensors" / "ada.ipynb", submissions)
        done = run_grader(
            "grade",
            "01_tensors",
            str(submissions),
            "--out",
            str(tmp_path / "out"),
            "--no-reference-cache",
            env={"TMPDIR": str(temporary)},
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert sorted(p.name for p in temporary.iterdir()) == []
    finally:
        trees.remove(temporary)
