"""A grader killed with SIGKILL mid-batch loses nothing: re-running finishes
the batch, every grade is present once, and finished ones are not regraded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import COURSE, REPO, run_grader, smoke_args, start_grader

pytestmark = pytest.mark.slow

COPIES = 12


def graded(db: Path) -> dict[str, str]:
    """student -> graded_at, as committed in the gradebook."""
    if not db.exists():
        return {}
    with sqlite3.connect(db, timeout=30) as connection:
        try:
            rows = connection.execute("SELECT student, graded_at FROM submissions").fetchall()
        except sqlite3.OperationalError:  # the schema is not created yet
            return {}
    return dict(rows)


def zygotes(grader: int) -> set[str]:
    """Pids of running sandbox zygotes of the grader ``grader`` (their socket
    is in that run's folder, named in their command line)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"tfgrade-run-{grader}-".encode() in cmdline.read_bytes():
                found.add(cmdline.parent.name)
        except OSError:  # the process ended while we looked
            continue
    return found


def test_kill_minus_nine_then_rerun(tmp_path: Path) -> None:
    submissions = tmp_path / "class"
    submissions.mkdir()
    for i in range(COPIES):
        shutil.copy(COURSE / "submissions" / "good.ipynb", submissions / f"s{i:02d}.ipynb")
    out = tmp_path / "out"
    db = out / "gradebook.db"
    args = smoke_args(submissions, out, "-j", "1")
    grader = start_grader(*args)
    deadline = time.monotonic() + 300
    while not graded(db) and time.monotonic() < deadline and grader.poll() is None:
        time.sleep(0.02)
    assert zygotes(grader.pid), "the grader's zygote is not where this test looks for it"
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    first = graded(db)
    assert 0 < len(first) < COPIES, "the kill should land mid-batch"

    time.sleep(1)  # the kernel delivers the parent-death signals
    assert zygotes(grader.pid) == set(), "the sandbox zygote outlived the grader"

    rerun = run_grader(*args)
    assert rerun.returncode == 0, rerun.stderr
    second = graded(db)
    assert sorted(second) == [f"s{i:02d}" for i in range(COPIES)]
    assert {s: second[s] for s in first} == first, "finished submissions were regraded"
    assert f"graded {COPIES - len(first)}, unchanged since last run {len(first)}" in rerun.stdout
    for student in second:
        assert (out / "00_smoke" / student / "results.json").is_file()
        assert (out / "00_smoke" / student / "report.html").is_file()
    rows = (out / "00_smoke" / "grades.csv").read_text().splitlines()
    assert len(rows) == COPIES + 1


SAYS_IF_TENSORFLOW = """
import atexit, sys
from grader.cli import main

atexit.register(lambda: print("tensorflow imported:", "tensorflow" in sys.modules))
main(prog_name="grader")
"""
"""``grader ARGS``, saying at exit whether the run imported TensorFlow"""


def test_rerun_without_changes_grades_nothing(tmp_path: Path) -> None:
    """A re-run of an unchanged class grades nothing, and so imports no
    TensorFlow, loads no suite and starts no sandbox."""
    submissions = tmp_path / "class"
    submissions.mkdir()
    shutil.copy(COURSE / "submissions" / "good.ipynb", submissions / "a.ipynb")
    shutil.copy(COURSE / "submissions" / "broken.ipynb", submissions / "b.ipynb")
    args = smoke_args(submissions, tmp_path / "o")
    first = "found 2, graded 1, unchanged since last run 0, refused 1 (1 unreadable)"
    assert first in run_grader(*args).stdout
    again = subprocess.run(
        [sys.executable, "-c", SAYS_IF_TENSORFLOW, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "found 2, graded 0, unchanged since last run 2, refused 0" in again.stdout, again.stderr
    assert "tensorflow imported: False" in again.stdout
    shutil.copy(COURSE / "submissions" / "stub.py", submissions / "a.ipynb")
    assert "graded 0, unchanged since last run 1, refused 1" in run_grader(*args).stdout
    forced = "found 2, graded 0, unchanged since last run 0, refused 2 (2 unreadable)"
    assert forced in run_grader(*args, "--force").stdout


COUNT_REPORTS = """
import json, os, sys
from grader.reports import writer
from grader.cli import main

written = writer.atomic_write

def counted(path, text, **options):
    if path.name == "report.html":
        with open(os.environ["REPORTS_LOG"], "a") as log:
            log.write(json.dumps([path.parent.name, text]) + "\\n")
    written(path, text, **options)

writer.atomic_write = counted
main(prog_name="grader")
"""
"""``grader ARGS`` with every write of a ``report.html`` logged (student, page)"""


def test_each_report_is_written_once_per_run_with_title_and_disclosure(tmp_path: Path) -> None:
    """A report is written once, from the final result, already showing the
    assignment's title and what is disclosed (here a test whose details wait
    for a past due date); a re-run that grades nothing writes each once again."""
    course = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    config = course / "solutions" / "00_smoke" / "assignment.toml"
    config.write_text(
        config.read_text().replace("[limits]", "due = 2000-01-01T00:00:00Z\n\n[limits]")
    )
    suite = course / "solutions" / "00_smoke" / "test_hidden.py"
    suite.write_text(
        suite.read_text().replace(
            '@grade(points=2, exercise="relu", hint="Negative inputs become zero.")',
            '@grade(points=2, exercise="relu", hint="DISCLOSED-HINT", visibility="after_due_date")',
        )
    )
    log = tmp_path / "reports.log"
    args = ["--root", str(course), "grade", "00_smoke", "--out", str(tmp_path / "out")]
    args += [str(COURSE / "submissions" / "good.ipynb"), str(COURSE / "submissions" / "stub.py")]
    for run in range(2):
        done = subprocess.run(
            [sys.executable, "-c", COUNT_REPORTS, *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "REPORTS_LOG": str(log)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        assert ("graded 2" if run == 0 else "unchanged since last run 2") in done.stdout
        writes = [json.loads(line) for line in log.read_text().splitlines()]
        log.unlink()
        assert sorted(student for student, _ in writes) == ["good", "stub"]
        pages = dict(writes)
        assert all("Smoke test" in page for page in pages.values())
        assert "DISCLOSED-HINT" in pages["stub"]  # relu failed, and its details are due
