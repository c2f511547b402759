"""Overrides, ``--only``, the grade history, late penalties in a real run,
and score changes after a suite edit, through the real ``grader`` command
and a real gradebook."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from grader import reports, results
from grader.policy.gradebook import Gradebook
from tests.helpers import COURSE, made_result, run_grader

OLD_SCHEMA = """
CREATE TABLE submissions (
    assignment TEXT NOT NULL, student TEXT NOT NULL, submission_hash TEXT NOT NULL,
    suite_version TEXT NOT NULL, grader_version TEXT NOT NULL, graded_at TEXT NOT NULL,
    score REAL NOT NULL, max_score REAL NOT NULL, results_json TEXT NOT NULL,
    PRIMARY KEY (assignment, student));
"""


def test_an_old_gradebook_is_migrated_and_its_grades_start_the_history(tmp_path: Path) -> None:
    db = tmp_path / "gradebook.db"
    old = {
        "assignment": "00_smoke", "student": "ann", "submission_hash": "h",
        "suite_version": "v", "grader_version": "0", "graded_at": "2026-11-01T00:00:00+00:00",
        "execution_time": 1.0, "tests": [], "notices": [], "isolation": "",
        "student_output": "", "exercises": [],
    }  # fmt: skip
    with sqlite3.connect(db) as connection:
        connection.executescript(OLD_SCHEMA)
        connection.execute(
            "INSERT INTO submissions VALUES ('00_smoke', 'ann', 'h', 'v', '0',"
            " '2026-11-01T00:00:00+00:00', 3, 5, ?)",
            (json.dumps(old),),
        )
    with Gradebook(db) as book:
        [entry] = book.history("00_smoke", "ann")
        assert (entry.recorded_at, entry.score, entry.cause) == (old["graded_at"], 3.0, "graded")
        found = book.find("00_smoke", "ann")
        assert found is not None and found.penalty is None and found.overrides == ()
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT raw_score, penalty, submitted_at, policy_version FROM submissions"
        )
        assert row.fetchone() == (3.0, 0.0, "", "")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("UPDATE history SET score = 5")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute("DELETE FROM history")
    with Gradebook(db) as book:  # opening again changes nothing
        assert len(book.history("00_smoke", "ann")) == 1


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """The smoke course with a due date, a late policy, and a class of three."""
    root = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", root / "solutions")
    toml = root / "solutions" / "00_smoke" / "assignment.toml"
    head, _, limits = toml.read_text().partition("[limits]")
    toml.write_text(
        head + 'due = 2026-12-01T23:59:00Z\nlate_policy = "10% per day"\n[limits]' + limits
    )
    klass = root / "class"
    klass.mkdir()
    for name in ("good.ipynb", "error.ipynb", "stub.py"):
        shutil.copy(COURSE / "submissions" / name, klass / name)
    (root / "manifest.csv").write_text(
        "student,submitted_at\ngood,2026-12-03T12:00:00Z\nerror,2026-12-01T20:00:00Z\n"
    )
    return root


def grade(course: Path, *extra: str) -> str:
    done = run_grader(
        "--root", str(course), "grade", "00_smoke", str(course / "class"),
        "--out", str(course / "out"), "--manifest", str(course / "manifest.csv"), *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def results_of(course: Path, student: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (course / "out" / "00_smoke" / student / "results.json").read_text()
    )
    return data


def test_penalty_override_only_and_suite_changes(course: Path) -> None:
    reports = course / "out" / "00_smoke"
    first = grade(course)
    assert "no submission time for 1" in first and "stub" in first
    good = results_of(course, "good")
    assert (good["raw_score"], good["score"]) == (5.0, 4.0)  # 2 started days late: 20% off
    penalty = good["penalty"]
    assert isinstance(penalty, dict) and penalty["source"] == "submissions manifest"
    with (reports / "grades.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert (rows["good"]["raw_score"], rows["good"]["late_penalty"]) == ("5", "1")
    assert "no submission time was found" in rows["stub"]["late_reason"]
    assert "20% off" in (reports / "good" / "report.html").read_text()

    done = run_grader(
        "--root", str(course), "override", "00_smoke", "error", "--points", "4",
        "--reason", "Regrade request: the <b>grader</b> misread cell 3", "--out",
        str(course / "out"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "error: 4/5" in done.stdout
    page = (reports / "error" / "report.html").read_text()
    assert "Regrade request: the &lt;b&gt;grader&lt;/b&gt; misread cell 3" in page
    assert "misread cell 3" in (reports / "index.html").read_text()

    wrong = run_grader(
        "--root", str(course), "override", "00_smoke", "error", "test_nope", "--points", "1",
        "--reason", "x", "--out", str(course / "out"),
    )  # fmt: skip
    assert wrong.returncode == 2 and "no test test_nope" in wrong.stderr

    forced = grade(course, "--force")
    assert "graded 3" in forced
    assert results_of(course, "error")["score"] == 4.0  # the override survives --force
    overrides = results_of(course, "error")["overrides"]
    assert isinstance(overrides, list) and overrides[0]["reason"].startswith("Regrade request")

    only = grade(course, "--only", "stub")
    assert "found 1, graded 1" in only
    with pytest.raises(AssertionError, match="--only: no submission with id nobody"):
        grade(course, "--only", "nobody")

    suite = course / "solutions" / "00_smoke" / "test_hidden.py"
    suite.write_text(suite.read_text().replace("@grade(points=2,", "@grade(points=4,"))
    changed = grade(course)
    assert "scores changed by the new suite version" in changed
    line = next(line for line in changed.splitlines() if line.startswith("  ~ good "))
    assert "4/5 -> 5.6/7  (tests: test_relu_random)" in line  # 7 points, 20% off
    index = (reports / "index.html").read_text().replace("<wbr>", "")
    assert "Score changes after the suite changed" in index
    assert '<td class="num">4 / 5</td>' in index and "test_relu_random" in index

    with Gradebook(course / "out" / "gradebook.db") as book:
        causes = [e.cause for e in book.history("00_smoke", "error")]
        assert causes == ["graded", "override", "graded", "graded"]
        assert len(book.history("00_smoke", "stub")) == 4  # graded, --force, --only, suite

    history = run_grader("history", "00_smoke", "error", "--out", str(course / "out"))
    assert history.returncode == 0, history.stderr
    header, *rows = history.stdout.splitlines()
    changed = [row[header.index("what changed") :] for row in rows]
    assert changed[0] == "first grade"
    assert changed[1].startswith("override: the total = 4 by ")
    assert changed[1].endswith("(Regrade request: the <b>grader</b> misread cell 3)")
    assert changed[2].startswith("graded again")  # --force
    assert changed[3].startswith("new suite (was ")
    assert [row.split()[3] for row in rows] == ["2/5", "4/5", "4/5", "4/7"]  # final scores


def test_an_override_of_a_hidden_test_keeps_its_name_hidden() -> None:
    hidden = results.TestResult(
        "test_secret_edge_case", "relu", 2.0, 0.0, results.Verdict.FAILED, visibility="hidden"
    )
    shown = results.TestResult("test_relu_shape", "relu", 1.0, 0.0, results.Verdict.FAILED)
    decisions = tuple(
        results.Override(name, 1.0, f"fair for {n}", "ta", "2026-12-05T10:00:00+00:00")
        for n, name in enumerate(("test_secret_edge_case", "test_relu_shape"))
    )
    result = made_result("ann", [hidden, shown], assignment="00_smoke", overrides=decisions)
    assert (result.raw_score, result.score) == (0.0, 2.0)
    page = reports.student_page(result)
    assert "test_secret_edge_case" not in page
    assert "a hidden test = 1 point. Why: fair for 0" in page
    assert "<code>test_relu_shape</code> = 1 point. Why: fair for 1" in page


@pytest.mark.slow
def test_a_policy_edit_applies_adjustments_again_without_running_a_test(course: Path) -> None:
    """``due``, the late policy and ``lms_id`` change only what is done after
    the tests: a run after editing them grades nothing (the gradebook's
    graded-at time stays), says "policy changed", and records each new
    score as rescored; a limit decides outcomes, so editing one grades
    everyone again."""
    toml = course / "solutions" / "00_smoke" / "assignment.toml"
    assert "graded 3," in grade(course)
    graded_at = results_of(course, "good")["graded_at"]
    assert results_of(course, "good")["score"] == 4.0  # 2 started days late, 10% each

    text = toml.read_text().replace("2026-12-01T23:59:00Z", "2026-12-02T23:59:00Z")
    toml.write_text(text.replace("10% per day", "5% per day"))
    moved = grade(course)
    assert "graded 0, unchanged since last run 3" in moved
    assert "policy changed: adjustments made again for 3 unchanged submission(s)" in moved
    assert "  ~ good             4/5 -> 4.75/5" in moved  # 1 started day late, 5%
    assert "new suite version" not in moved
    assert (results_of(course, "good")["score"], results_of(course, "good")["graded_at"]) == (
        4.75,
        graded_at,
    )

    again = grade(course)
    assert "graded 0, unchanged since last run 3" in again and "policy changed" not in again

    toml.write_text(toml.read_text().replace("[limits]", 'lms_id = "4412"\n[limits]'))
    relabelled = grade(course)
    assert "graded 0, unchanged since last run 3" in relabelled
    assert "policy changed" in relabelled and "scores changed (0)" in relabelled
    assert results_of(course, "good")["graded_at"] == graded_at

    toml.write_text(toml.read_text().replace("call_timeout = 8.0", "call_timeout = 9.0"))
    regraded = grade(course)
    assert "graded 3, unchanged since last run 0" in regraded
    assert "policy changed" not in regraded
    with Gradebook(course / "out" / "gradebook.db") as book:
        causes = [e.cause for e in book.history("00_smoke", "good")]
        assert causes == ["graded", "rescored", "graded"]  # lms_id changed no score
