"""``grader history``: the gradebook's append-only history as a table for
staff, with what changed each time; ids shown escaped; usage errors exit 2."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner

from grader.cli import main
from grader.policy.gradebook import DB_NAME, Gradebook
from grader.policy.history import HEADERS
from grader.results import Override, Verdict
from grader.results import TestResult as Result
from tests.helpers import late_result, made_result


def history(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["history", *args])
    return result.exit_code, result.output


def table(output: str) -> list[dict[str, str]]:
    """The rows of ``grader history``'s table, by column header."""
    header, *lines = output.splitlines()
    starts: list[int] = []
    for name in HEADERS:
        starts.append(header.index(name, starts[-1] if starts else 0))
    ends: list[int | None] = [*starts[1:], None]
    return [
        {name: line[a:b].strip() for name, a, b in zip(HEADERS, starts, ends, strict=True)}
        for line in lines
    ]


def test_a_graded_class_has_a_first_grade_per_student(smoke_reports: Path) -> None:
    status, output = history("00_smoke", "--out", str(smoke_reports.parent))
    assert status == 0, output
    rows = table(output)
    students = {p.name for p in smoke_reports.iterdir() if p.is_dir()}
    assert {row["student"] for row in rows} == students
    assert all(row["what changed"] == "first grade" for row in rows)

    status, output = history("00_smoke", "noisy", "--out", str(smoke_reports.parent))
    assert status == 0, output
    assert [row["student"] for row in table(output)] == ["noisy"]


def test_each_line_says_what_changed(tmp_path: Path) -> None:
    tests = [Result("test_center", "center", 4, 2, Verdict.FAILED)]
    first = made_result("ann", tests)
    override = Override("", 3, "partial credit\nfor the loop", "ta-kim", "2026-12-04T10:00Z")
    steps = [
        ("graded", first),
        ("graded", dataclasses.replace(first, submission_hash="cd" * 32)),
        ("graded", dataclasses.replace(first, submission_hash="cd" * 32, suite_version="f" * 16)),
        ("override", dataclasses.replace(first, submission_hash="cd" * 32, suite_version="f" * 16,
                                         overrides=(override,))),
        ("graded", dataclasses.replace(first, submission_hash="cd" * 32, suite_version="f" * 16,
                                       overrides=(override,))),
    ]  # fmt: skip
    with Gradebook(tmp_path / DB_NAME) as book:
        for cause, result in steps:
            book.record(result, cause=cause)
        book.record(late_result("bob"), cause="rescored")
        book.record(dataclasses.replace(late_result("bob"), penalty=None), cause="rescored")
    status, output = history("01_tensors", "ann", "--out", str(tmp_path))
    assert status == 0, output
    rows = table(output)
    assert [row["what changed"] for row in rows] == [
        "first grade",
        "new file",
        "new suite (was e15ac0fe)",
        r"override: the total = 3 by ta-kim (partial credit\x0afor the loop)",
        "graded again (same file and suite: --force, --only, or a retry)",
    ]
    assert [(r["score"], r["raw"], r["suite"]) for r in rows[-2:]] == [("3/4", "2", "ffffffff")] * 2
    assert rows[0]["recorded (UTC)"][:2] == "20" and rows[0]["student"] == "ann"

    status, output = history("01_tensors", "--out", str(tmp_path))
    bob = [row for row in table(output) if row["student"] == "bob"]
    assert [(r["score"], r["raw"], r["what changed"]) for r in bob] == [
        ("28.8/36", "35", "first grade"),
        ("36/36", "35", "late penalty 7.2 -> 0"),
    ]


def test_student_ids_are_shown_on_one_line_and_escaped(tmp_path: Path) -> None:
    """An id from an older gradebook, or written by another tool, cannot
    forge a line or colour the terminal."""
    forged = "eve\x1b[31m\nPoints 36/36"
    with Gradebook(tmp_path / DB_NAME) as book:
        book.record(made_result(forged, [Result("t", "center", 1, 0, Verdict.FAILED)]))
    status, output = history("01_tensors", "--out", str(tmp_path))
    assert status == 0, output
    assert len(output.splitlines()) == 2
    assert "\x1b" not in output
    assert r"eve\x1b[31m\x0aPoints 36/36" in output


def test_what_is_missing_is_a_usage_error(tmp_path: Path) -> None:
    status, output = history("01_tensors", "--out", str(tmp_path))
    assert status == 2 and "no gradebook in" in output and "run `grader grade` first" in output
    with Gradebook(tmp_path / DB_NAME) as book:
        book.record(made_result("ann", [Result("t", "center", 1, 1, Verdict.PASSED)]))
    status, output = history("02_layers", "--out", str(tmp_path))
    assert status == 2 and "no grades for 02_layers" in output
    assert "(assignments graded: 01_tensors)" in output
    status, output = history("01_tensors", "bob", "--out", str(tmp_path))
    assert status == 2 and "no grade for bob in 01_tensors" in output and "(graded: ann)" in output
