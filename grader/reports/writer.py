"""Writing what grading produces, under an :class:`~grader.outdir.OutDir`:
per student ``results.json`` and ``report.html`` (what the student may be
given) and the full results (staff only); per class ``grades.csv`` and
``index.html``; the similarity page. This module alone writes them.

Every file is written to a temporary name and renamed into place, so a
crash never leaves a half-written report.

What a student's report and ``results.json`` show of tests that are not
``visible`` depends on the time (see ``grader.reports.disclosure``), so
they are written with the assignment's due date and the current time, once
per run: when the result is final, or, for a submission graded before, when
the run finds it unchanged. A run after the due date (``grader grade``
again: nothing is regraded) thus discloses what waited for it. The full
results, hidden tests' messages and output included, go to the staff folder.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from grader import jsontext
from grader.assignments import AssignmentInfo
from grader.csvsafe import SafeWriter
from grader.files import atomic_write
from grader.outdir import OutDir
from grader.policy.gradebook import Gradebook
from grader.policy.regrades import ScoreChange
from grader.reports import Disclosure, class_page, similarity_page, student_page, views
from grader.results import Override, SubmissionResult

if TYPE_CHECKING:  # importing copydetect costs half a second; only the CLI verb needs it
    from grader.similarity import Check


def write_student(
    out: OutDir,
    assignment: AssignmentInfo,
    result: SubmissionResult,
    *,
    now: dt.datetime | None = None,
) -> None:
    """The student's ``results.json`` and ``report.html``, showing what is
    disclosed as of ``now`` (default: the current time), and the full results
    for staff."""
    disclosure = Disclosure.at(now or dt.datetime.now(dt.UTC), assignment.due)
    page = student_page(result, disclosure=disclosure, title=assignment.title)
    full = jsontext.dumps(result.to_json(), indent=2)
    atomic_write(out.full_results(assignment.name, result.student), full, folder_mode=0o700)
    shown = jsontext.dumps(views.student_json(result, disclosure), indent=2)
    atomic_write(out.student_results(assignment.name, result.student), shown)
    atomic_write(out.report(assignment.name, result.student), page)


def write_class(
    out: OutDir,
    assignment: AssignmentInfo,
    results: list[SubmissionResult],
    *,
    now: dt.datetime | None = None,
    changes: Sequence[ScoreChange] = (),
) -> None:
    """``grades.csv`` and ``index.html`` (generated ``now``, default: the
    current time). ``changes``: scores the last suite change changed. The
    summary links the similarity page if ``write_similarity`` wrote one, in
    this run or an earlier one."""
    now = now or dt.datetime.now(dt.UTC)
    index = out.class_index(assignment.name)
    similar = out.similarity_page(assignment.name)
    atomic_write(out.grades_csv(assignment.name), grades_csv(results))
    link = out.link(index, similar) if similar.is_file() else ""
    atomic_write(index, class_page(assignment, results, now=now, changes=changes, similarity=link))


def write_similarity(out: OutDir, check: Check, *, now: dt.datetime | None = None) -> Path:
    """Write the staff-only page of flagged pairs and, when the class was
    graded, the class summary again, now linking it (its grades are read
    from the gradebook). Returns the page's path."""
    now = now or dt.datetime.now(dt.UTC)
    name = check.assignment.name
    page = out.similarity_page(name)
    index = out.class_index(name)
    graded = index.is_file() and out.gradebook.is_file()
    summary = out.link(page, index) if graded else ""
    atomic_write(page, similarity_page(check, now=now, summary=summary), folder_mode=0o700)
    if graded:
        with Gradebook(out.gradebook) as book:
            results, changes = book.results(name), book.suite_changes(name)
        write_class(out, check.assignment.info, results, now=now, changes=changes)
    return page


def override_text(override: Override) -> str:
    """``test_x = 2 (by ta, 2026-12-02): reason``; the total is named ``total``."""
    return (
        f"{override.test or 'total'} = {override.points:g} "
        f"(by {override.by}, {override.at[:10]}): {override.reason}"
    )


def grades_csv(results: list[SubmissionResult]) -> str:
    """One row per student: the final score (what the LMS should get) and
    percentage, points per exercise as graded, then the raw score, the late
    penalty and its reason, and the staff overrides."""
    exercises = list(dict.fromkeys(e for r in results for e in r.exercises))
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(
        [
            "student",
            "score",
            "max_score",
            "percent",
            *exercises,
            "graded_at",
            "submission_hash",
            "raw_score",
            "late_penalty",
            "late_reason",
            "overrides",
        ]
    )
    for result in results:
        per_exercise = {e: 0.0 for e in exercises}
        for test in result.tests:
            per_exercise[test.exercise] = per_exercise.get(test.exercise, 0.0) + test.score
        writer.writerow(
            [
                result.student,
                f"{result.score:g}",
                f"{result.max_score:g}",
                f"{result.percent:.1f}",
                *(f"{per_exercise[e]:g}" for e in exercises),
                result.graded_at,
                result.submission_hash,
                f"{result.raw_score:g}",
                f"{result.penalty.points:g}" if result.penalty else "0",
                result.penalty.reason if result.penalty else "",
                "; ".join(override_text(o) for o in result.overrides),
            ]
        )
    return buffer.getvalue()
