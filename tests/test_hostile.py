"""Hostile submissions (tests/files/hostile/) against the full sandbox: each
earns only what its honest work earns, gets a clear message, cannot see,
change or reach anything outside its scratch folder, and leaves no process
behind; the rest of the batch is graded normally.

These run only with full isolation (namespaces, and cgroups or the memory
watchdog: root, or a normal user with user namespaces, on Linux); where that
is missing they skip, except in CI, where they must run.
tests/test_rootless.py runs them again as a normal user.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    COURSE,
    FULL_ISOLATION,
    HOSTILE,
    probes,
    read_results,
    require_full_isolation,
    run_grader,
    smoke_args,
    verdicts,
)

pytestmark = pytest.mark.slow


def tree_digest(root: Path) -> str:
    """A digest of every file's path and content under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def sandbox_processes(students: set[str]) -> set[int]:
    """Pids of live processes whose home is the scratch folder of one of
    ``students`` (every sandbox process has HOME set to its scratch)."""
    found = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
        except OSError:
            continue
        for variable in variables:
            if variable.startswith(b"HOME=") and any(
                f"tfgrade-scratch-{s}-".encode() in variable for s in students
            ):
                found.add(int(environ.parent.name))
    return found


class Listener:
    """A TCP server on loopback that records every connection it gets."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Grade every hostile notebook, a bystander and symlink tricks in one batch."""
    require_full_isolation()
    base = tmp_path_factory.mktemp("hostile")
    course = base / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    (course / "solutions" / "tfgrade-canary.txt").write_text("solutions canary")
    out = base / "out"
    out.mkdir()
    (out / "tfgrade-canary.txt").write_text("reports canary")
    submissions = base / "class"
    submissions.mkdir()
    for notebook in HOSTILE.glob("*.ipynb"):
        shutil.copy(notebook, submissions)
    shutil.copy(COURSE / "submissions" / "good.ipynb", submissions / "bystander.ipynb")
    solution = course / "solutions" / "00_smoke" / "00_smoke.ipynb"
    (submissions / "linked.ipynb").symlink_to(solution)
    (submissions / "etcfolder").mkdir()
    (submissions / "etcfolder" / "00_smoke.ipynb").symlink_to("/etc/passwd")
    (submissions / "dirlink").symlink_to("/etc")
    before = {"course": tree_digest(course)}
    listener = Listener()
    try:
        done = run_grader(*smoke_args(submissions, out, "--require-isolation", course=course))
    finally:
        listener.close()
    assert done.returncode == 0, done.stdout + done.stderr
    yield {
        "results": read_results(out / "00_smoke"),
        "stdout": done.stdout,
        "out": out,
        "course": course,
        "before": before,
        "listener": listener,
    }


# student -> (score out of 5, verdicts in suite order)
EXPECTED = {
    "bystander": (5, ["passed"] * 4),
    "snoop": (5, ["passed"] * 4),
    "tamper": (3, ["failed", "passed", "passed", "passed"]),
    "forge": (3, ["passed", "passed", "error", "error"]),
    "netcat": (5, ["passed"] * 4),
    "forkbomb": (2, ["timeout", "timeout", "passed", "passed"]),
    "daemon": (5, ["passed"] * 4),
    "sigterm": (2, ["timeout", "timeout", "passed", "passed"]),
    "flood": (5, ["passed"] * 4),
    "escapes": (2, ["error", "error", "passed", "passed"]),
    "vandal": (5, ["passed"] * 4),
    "huge": (0, ["error"] * 4),
    "linked": (0, ["error"] * 4),
    "etcfolder": (0, ["error"] * 4),
    "dirlink": (0, ["error"] * 4),
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_honest_score(hostile: dict[str, Any], student: str) -> None:
    score, expected = EXPECTED[student]
    result = hostile["results"][student]
    assert verdicts(result) == expected
    assert result["score"] == score
    assert result["isolation"] in (FULL_ISOLATION, "")


def test_every_submission_is_graded(hostile: dict[str, Any]) -> None:
    assert set(hostile["results"]) == set(EXPECTED)


def test_snoop_sees_no_files_no_processes_no_secrets(hostile: dict[str, Any]) -> None:
    lines = probes(hostile["results"]["snoop"])
    assert "PROBE files: []" in lines
    assert "PROBE processes: [1]" in lines
    assert any(
        line.startswith("PROBE memory: unreadable") or line == "PROBE memory: nothing"
        for line in lines
    )


def test_tampering_is_undone_and_reported(hostile: dict[str, Any]) -> None:
    result = hostile["results"]["tamper"]
    [notice] = [n for n in result["notices"] if n["kind"] == "tamper"]
    assert "isinstance, len" in notice["message"] and "undid" in notice["message"]
    assert "largest absolute error" in result["tests"][0]["message"]


def test_forged_files_stay_in_scratch_and_forged_answers_are_refused(
    hostile: dict[str, Any],
) -> None:
    result = hostile["results"]["forge"]
    lines = probes(result)
    assert [line for line in lines if line.startswith("PROBE wrote")] == [
        "PROBE wrote results.json",
        "PROBE wrote report.html",
        "PROBE wrote gradebook.db",
    ]
    assert "question that was not asked" in result["tests"][2]["message"]


def test_no_network(hostile: dict[str, Any]) -> None:
    assert probes(hostile["results"]["netcat"]) == ["PROBE connections: []", "PROBE dns: failed"]
    assert hostile["listener"].connections == 0


def test_nothing_outside_scratch_changed(hostile: dict[str, Any]) -> None:
    assert tree_digest(hostile["course"]) == hostile["before"]["course"]
    assert (hostile["out"] / "tfgrade-canary.txt").read_text() == "reports canary"
    assert probes(hostile["results"]["vandal"]) == ["PROBE deleted: []"]


def test_no_process_outlives_its_sandbox(hostile: dict[str, Any]) -> None:
    assert sandbox_processes(set(EXPECTED)) == set()


def test_output_floods_are_truncated(hostile: dict[str, Any]) -> None:
    test = hostile["results"]["flood"]["tests"][0]
    assert 60_000 < len(test["student_output"]) < 70_000
    assert test["student_output"].endswith("more characters not kept]")


def test_escapes_are_text_everywhere(hostile: dict[str, Any]) -> None:
    result = hostile["results"]["escapes"]
    message = result["tests"][0]["message"]
    assert "<script>alert(1)</script>" in message  # kept as data in results.json
    assert "\\x1b[31mRED" in message and "\x1b" not in message
    page = (hostile["out"] / "00_smoke" / "escapes" / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "<img" not in page
    assert "\x1b" not in hostile["stdout"]


def test_results_too_large_or_too_deep_are_refused(hostile: dict[str, Any]) -> None:
    tests = hostile["results"]["huge"]["tests"]
    assert "returned something the grader refuses to receive" in tests[0]["message"]
    assert "too large to send" in tests[0]["message"]
    assert "nested too deeply" in tests[2]["message"]


@pytest.mark.parametrize("student", ["linked", "etcfolder", "dirlink"])
def test_symlinks_are_refused_with_a_message(hostile: dict[str, Any], student: str) -> None:
    [notice] = hostile["results"][student]["notices"]
    assert "symbolic link" in notice["message"]
