"""Runner backends: the sandbox side imports nothing trusted; the Ray backend,
on a real multi-node Ray cluster on this machine, grades exactly as the
local one, gives each sandbox its GPU (declared, fake) and survives a node
killed mid-batch with every grade recorded once."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, run_grader, start_grader

ASSIGNMENT = "01_tensors"
PROBE_COURSE = REPO / "tests" / "files" / "probe_course"
SOME_STUDENTS = ("ada", "ben", "gus", "hal", "zoe")
"""of 01's example class: passed, failed, error, not implemented, the stub"""


def fresh_imports(*modules: str) -> set[str]:
    """Every module loaded by importing ``modules`` in a fresh ``python -I``."""
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        + "".join(f"import {m}; " for m in modules)
        + "print('\\n'.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_sandbox_side_imports_nothing_trusted() -> None:
    """What a zygote imports (``python -I``, fresh): the guest side and the
    modules both sides share, nothing of ``grader.sandbox.host``."""
    modules = fresh_imports("grader.sandbox.guest.worker")
    ours = {m for m in modules if m.split(".")[0] == "grader"}
    assert ours == {
        "grader",
        "grader.sandbox",
        "grader.sandbox.common",
        "grader.sandbox.errors",
        "grader.sandbox.wire",
        "grader.sandbox.guest",
        "grader.sandbox.guest.confine",
        "grader.sandbox.guest.worker",
    }
    assert not modules & {"pytest", "_pytest", "jinja2", "nbformat", "click", "sqlite3", "ray"}


def test_trusted_side_never_loads_the_worker() -> None:
    """The grader's side takes what it shares with sandboxes from ``common``;
    only the zygote's boot line names the worker."""
    modules = fresh_imports("grader.batch", "grader.devices", "grader.assignments")
    assert {"grader.batch", "grader.sandbox.host.client", "grader.sandbox.common"} <= modules
    assert "grader.sandbox.guest.worker" not in modules


@pytest.mark.parametrize("module", ["grader.sandbox.common", "grader.sandbox.errors"])
def test_shared_modules_import_only_the_standard_library(module: str) -> None:
    """What both sides share is imported before any student code, on both sides."""
    before = fresh_imports()
    added = fresh_imports(module) - before
    ours = {m for m in added if m.split(".")[0] == "grader"}
    assert ours == {"grader", "grader.sandbox", module}
    assert {m.split(".")[0] for m in added - ours} <= sys.stdlib_module_names


@pytest.fixture(scope="module")
def head() -> Iterator[Any]:
    """A Ray head node with one CPU, started once for this module. Ray is an
    optional extra: without it these tests skip, except in CI (CI=true),
    which installs it."""
    try:
        from ray.cluster_utils import Cluster  # lazy: ray is an optional extra
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("the ray extra is not installed (pip install .[ray])")
    started = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        yield started
    finally:
        started.shutdown()


@pytest.fixture
def cluster(head: Any) -> Iterator[Any]:
    """The head node alone; the test adds worker nodes, removed after it."""
    assert not head.worker_nodes
    try:
        yield head
    finally:
        for node in list(head.worker_nodes):
            head.remove_node(node)


def grades(out: Path) -> dict[tuple[str, str], tuple[str, float]]:
    """(student, test) -> (verdict, score), from the gradebook."""
    with sqlite3.connect(out / "gradebook.db") as db:
        rows = db.execute("SELECT student, name, verdict, score FROM tests").fetchall()
    return {(student, name): (verdict, score) for student, name, verdict, score in rows}


def submissions(out: Path) -> list[str]:
    with sqlite3.connect(out / "gradebook.db") as db:
        return sorted(s for (s,) in db.execute("SELECT student FROM submissions"))


def recorded_so_far(out: Path) -> int:
    """How many submissions a running batch has recorded: none while the
    gradebook file or its tables are not there yet (the file is created
    empty, its tables in the transaction after)."""
    if not (out / "gradebook.db").exists():
        return 0
    with sqlite3.connect(out / "gradebook.db") as db:
        tables = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'submissions'").fetchall()
        if not tables:
            return 0
        return int(db.execute("SELECT count(*) FROM submissions").fetchone()[0])


@pytest.fixture(scope="module")
def local_grades(example_class: Callable[[str], Path]) -> dict[tuple[str, str], Any]:
    """The example class's grades, graded locally two at a time (the default)."""
    return grades(example_class(ASSIGNMENT))


@pytest.mark.cluster
def test_ray_grades_as_local_does(
    cluster: Any, local_grades: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    """Two nodes, a slot on each: every test's verdict and score as local,
    for a part of the class with every verdict but timeout (the node test
    below grades the whole class)."""
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    examples = REPO / "examples" / "submissions" / ASSIGNMENT
    done = run_grader(
        "grade", ASSIGNMENT, *(str(examples / f"{s}.ipynb") for s in SOME_STUDENTS),
        "--out", str(tmp_path), "-j", "2", "--backend", "ray", "--address", cluster.address,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert grades(tmp_path) == {k: v for k, v in local_grades.items() if k[0] in SOME_STUDENTS}
    slot_lines = [line for line in done.stdout.splitlines() if line.startswith("slot ray-")]
    assert len(slot_lines) == 2
    node_ids = {line.split()[1].split("-")[1] for line in slot_lines}
    assert len(node_ids) == 2  # one slot per node


def probe_class(folder: Path, students: int) -> Path:
    """``students`` copies of the probe notebook."""
    folder.mkdir()
    notebook = PROBE_COURSE / "solutions" / "00_probe" / "00_probe.ipynb"
    for number in range(students):
        shutil.copy(notebook, folder / f"student{number:02}.ipynb")
    return folder


@pytest.mark.cluster
@pytest.mark.parametrize("share", [1, 2])
def test_each_sandbox_sees_one_declared_gpu(cluster: Any, tmp_path: Path, share: int) -> None:
    """A node declaring two GPUs (there are none): ``share`` slots per GPU,
    and each sandbox sees exactly one device id, the one Ray gave its slot."""
    records = tmp_path / "records"
    records.mkdir()
    os.environ["TFGRADE_PROBE_DIR"] = str(records)  # the new node's processes inherit it
    try:
        cluster.add_node(num_cpus=2 * share, num_gpus=2)
        cluster.wait_for_nodes()
    finally:
        del os.environ["TFGRADE_PROBE_DIR"]
    done = run_grader(
        "--root", str(PROBE_COURSE), "grade", "00_probe",
        str(probe_class(tmp_path / "class", 8)), "--out", str(tmp_path / "out"),
        "--backend", "ray", "--address", cluster.address, "--gpu-share", str(share),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert submissions(tmp_path / "out") == [f"student{n:02}" for n in range(8)]
    seen = sorted(p.read_text() for p in records.iterdir())
    assert len(seen) == 8
    assert set(seen) <= {"0", "1"}
    slots = [
        line.split()[1].rstrip(":")
        for line in done.stdout.splitlines()
        if line.startswith("slot ray-")
    ]
    assert sorted(name[-4:] for name in slots) == ["gpu0"] * share + ["gpu1"] * share


@pytest.mark.cluster
def test_node_killed_mid_batch(
    cluster: Any, local_grades: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    """Kill the second node once grading is under way: the batch ends on the
    head node, with every grade recorded once and equal to the local run."""
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    grading = start_grader(
        "grade", ASSIGNMENT, "--out", str(tmp_path), "-j", "2",
        "--backend", "ray", "--address", cluster.address, capture=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and grading.poll() is None:
        if recorded_so_far(tmp_path) >= 2:
            break
        time.sleep(0.2)
    assert grading.poll() is None, "the batch ended before the node could be killed"
    cluster.remove_node(worker)
    stdout, stderr = grading.communicate(timeout=600)
    assert grading.returncode == 0, stderr
    assert grades(tmp_path) == local_grades
    assert len(submissions(tmp_path)) == len({s for s, _ in local_grades})
    slots = [line for line in stdout.splitlines() if line.startswith("slot ray-")]
    assert len(slots) == 1  # the killed node's slot is gone
