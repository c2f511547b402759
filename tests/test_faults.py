"""Faults never lose or duplicate a grade: kill -9 at random points, a full
disk, a locked gradebook, a grading process that crashes. After each, a
re-run finishes the batch with every grade present once and equal to a
clean run's."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import COURSE, read_results, run_grader, smoke_args, start_grader, verdicts

pytestmark = pytest.mark.slow

KINDS = ["good.ipynb", "error.ipynb", "stub.py", "cheat.ipynb", "broken.ipynb", "exits.ipynb"]
COPIES = 12
"""two of each kind: enough for a kill to land mid-batch and to fill a small disk"""


def make_class(folder: Path) -> Path:
    """A class of COPIES submissions cycling through six kinds."""
    folder.mkdir()
    for i in range(COPIES):
        source = COURSE / "submissions" / KINDS[i % len(KINDS)]
        shutil.copy(source, folder / f"{source.stem}{i:02d}{source.suffix}")
    return folder


def outcome(results: dict[str, dict[str, Any]]) -> dict[str, tuple[float, list[str]]]:
    """What a grade is, minus when and how fast: score and verdicts."""
    return {s: (r["score"], verdicts(r)) for s, r in results.items()}


def gradebook_rows(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT student, COUNT(*) FROM submissions GROUP BY student ORDER BY student"
        ).fetchall()


@pytest.fixture(scope="module")
def clean(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, tuple[float, list[str]]]]:
    """The class and what a clean, uninterrupted run gives it."""
    base = tmp_path_factory.mktemp("faults")
    submissions = make_class(base / "class")
    done = run_grader(*smoke_args(submissions, base / "clean"))
    assert done.returncode == 0, done.stderr
    return submissions, outcome(read_results(base / "clean" / "00_smoke"))


def assert_complete(out: Path, expected: dict[str, tuple[float, list[str]]]) -> None:
    assert outcome(read_results(out / "00_smoke")) == expected
    assert gradebook_rows(out / "gradebook.db") == [(s, 1) for s in sorted(expected)]


def test_random_kills_then_rerun(clean: tuple[Path, Any], tmp_path: Path) -> None:
    submissions, expected = clean
    out = tmp_path / "out"
    chance = random.Random(os.environ.get("TFGRADE_SEED", "21"))
    for _ in range(3):
        grader = start_grader(*smoke_args(submissions, out))
        time.sleep(chance.uniform(1.0, 8.0))
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    done = run_grader(*smoke_args(submissions, out))
    assert done.returncode == 0, done.stderr
    assert_complete(out, expected)


def test_locked_gradebook_is_waited_for(clean: tuple[Path, Any], tmp_path: Path) -> None:
    submissions, expected = clean
    out = tmp_path / "out"
    out.mkdir()
    holder = sqlite3.connect(out / "gradebook.db", isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS unrelated (x)")
    holder.execute("BEGIN EXCLUSIVE")
    grader = start_grader(*smoke_args(submissions, out))
    time.sleep(5)
    assert grader.poll() is None, "the grader gave up instead of waiting for the lock"
    holder.execute("COMMIT")
    holder.close()
    assert grader.wait(timeout=300) == 0
    assert_complete(out, expected)


def test_crashed_grading_process_is_retried_in_the_same_run(
    clean: tuple[Path, Any], tmp_path: Path
) -> None:
    submissions, expected = clean
    out = tmp_path / "out"
    grader = start_grader(*smoke_args(submissions, out, "-j", "1"))
    killed = False
    deadline = time.monotonic() + 120
    while not killed and time.monotonic() < deadline:
        for victim in _grading_children(grader.pid):
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:  # it ended between the listing and the kill
                continue
            killed = True
            break
        time.sleep(0.01)
    assert killed, "no grading process appeared"
    assert grader.wait(timeout=300) == 0  # the submission was tried again in the same run
    assert_complete(out, expected)
    done = run_grader(*smoke_args(submissions, out))
    assert done.returncode == 0, done.stderr
    assert f"graded 0, unchanged since last run {COPIES}" in done.stdout


def _grading_children(parent: int) -> list[int]:
    """Forked grading processes of ``parent`` (not its zygote, which was exec'd)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"zygote" not in cmdline:
            children.append(int(stat.parent.name))
    return children


def test_full_disk_then_rerun(clean: tuple[Path, Any], tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    submissions, expected = clean
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tfgrade-full", str(out)], check=True
    )
    try:
        first = run_grader(*smoke_args(submissions, out))
        assert first.returncode == 1
        assert "No space left on device" in first.stderr or "disk is full" in first.stderr
        assert "run the same command again" in first.stderr
        assert "Traceback" not in first.stderr
        subprocess.run(["mount", "-o", "remount,size=64m", str(out)], check=True)
        done = run_grader(*smoke_args(submissions, out))
        assert done.returncode == 0, done.stderr
        assert_complete(out, expected)
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)
