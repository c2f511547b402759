"""Writing what a grading run produces: per student ``results.json`` and
``report.html``; per class ``grades.csv`` and ``index.html``.

Every file is written to a temporary name and renamed into place, so a
crash never leaves a half-written report.

What a student's report shows of tests that are not ``visible`` depends on
the time (see ``grader.reports.release``). ``write_student`` knows no due
date, so by default it releases nothing beyond ``visible`` tests;
``write_class``, which runs at the end of every ``grader grade``, renders
every student's report again with the assignment's due date and the
current time. So a run after the due date (``grader grade`` again: nothing
is regraded, the reports are rewritten) releases what waited for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
from pathlib import Path

from grader import reports
from grader.assignments import Assignment
from grader.results import SubmissionResult
from grader.texts import one_line


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half.

    No fsync: these files are derived from the gradebook (which does sync)
    and every run rewrites them, so a rename is all a crash needs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_student(
    result: SubmissionResult,
    folder: Path,
    *,
    release: reports.Release | None = None,
    title: str = "",
) -> None:
    """``results.json`` and ``report.html`` (showing what ``release`` allows;
    by default only ``visible`` tests in full)."""
    atomic_write(folder / "results.json", json.dumps(result.to_json(), indent=2))
    atomic_write(folder / "report.html", reports.student_page(result, release=release, title=title))


def write_class(
    assignment: Assignment,
    results: list[SubmissionResult],
    folder: Path,
    *,
    now: dt.datetime | None = None,
    published: bool = False,
) -> None:
    """``grades.csv``, ``index.html``, and every student's ``report.html``
    again, releasing what is due as of ``now`` (default: the current time)."""
    now = now or dt.datetime.now(dt.UTC)
    release = reports.Release.at(now, assignment.due, published=published)
    for result in results:
        page = reports.student_page(result, release=release, title=assignment.title)
        atomic_write(folder / result.student / "report.html", page)
    atomic_write(folder / "grades.csv", grades_csv(results))
    similar = similarity_path(folder.parent, assignment.name)
    link = f"../staff/{similar.name}" if similar.is_file() else ""
    atomic_write(
        folder / "index.html", reports.class_page(assignment, results, now=now, similarity=link)
    )


def similarity_path(out: Path, assignment: str) -> Path:
    """Where ``grader similarity`` writes its page: beside the other staff-only files."""
    return out / "staff" / f"{assignment}-similarity.html"


def grades_csv(results: list[SubmissionResult]) -> str:
    """One row per student: total, percentage, and points per exercise."""
    exercises = list(dict.fromkeys(e for r in results for e in r.exercises))
    buffer = io.StringIO()
    writer = _SafeWriter(buffer)
    writer.writerow(
        ["student", "score", "max_score", "percent", *exercises, "graded_at", "submission_hash"]
    )
    for result in results:
        per_exercise = {e: 0.0 for e in exercises}
        for test in result.tests:
            per_exercise[test.exercise] = per_exercise.get(test.exercise, 0.0) + test.score
        percent = 100 * result.score / result.max_score if result.max_score else 0.0
        writer.writerow(
            [
                result.student,
                f"{result.score:g}",
                f"{result.max_score:g}",
                f"{percent:.1f}",
                *(f"{per_exercise[e]:g}" for e in exercises),
                result.graded_at,
                result.submission_hash,
            ]
        )
    return buffer.getvalue()


class _SafeWriter:
    """A ``csv.writer`` whose every cell is safe to open in a spreadsheet:
    control characters escaped (a ``\\r`` cannot start a row), and text that
    a spreadsheet would run as a formula quoted with a leading ``'``."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._writer = csv.writer(buffer, lineterminator="\n")

    def writerow(self, row: list[str]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])


def safe_cell(text: str) -> str:
    """One CSV cell, neutralised: see ``_SafeWriter``."""
    text = one_line(text)
    if _is_number(text):
        return text
    return "'" + text if text.lstrip(" ")[:1] in ("=", "+", "-", "@") else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
