"""Writing what a grading run produces: per student ``results.json`` and
``report.html``; per class ``grades.csv`` and ``index.html``.

Every file is written to a temporary name and renamed into place, so a
crash never leaves a half-written report.

What a student's report shows of tests that are not ``visible`` depends on
the time (see ``grader.reports.disclosure``), so a report is rendered with
the assignment's due date and the current time, once per run: when the
result is final, or, for a submission graded before, when the run finds it
unchanged. A run after the due date (``grader grade`` again: nothing is
regraded) thus discloses what waited for it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

from grader import jsontext, reports
from grader.assignments import AssignmentInfo
from grader.csvsafe import SafeWriter
from grader.files import atomic_write
from grader.policy.regrades import ScoreChange
from grader.results import Override, SubmissionResult


def write_student(
    assignment: AssignmentInfo,
    result: SubmissionResult,
    folder: Path,
    *,
    now: dt.datetime | None = None,
) -> None:
    """``results.json`` and ``report.html``: the report with the assignment's
    title, showing what is disclosed as of ``now`` (default: the current time)."""
    disclosure = reports.Disclosure.at(now or dt.datetime.now(dt.UTC), assignment.due)
    page = reports.student_page(result, disclosure=disclosure, title=assignment.title)
    atomic_write(folder / "results.json", jsontext.dumps(result.to_json(), indent=2))
    atomic_write(folder / "report.html", page)


def write_class(
    assignment: AssignmentInfo,
    results: list[SubmissionResult],
    folder: Path,
    *,
    now: dt.datetime | None = None,
    changes: Sequence[ScoreChange] = (),
) -> None:
    """``grades.csv`` and ``index.html`` (generated ``now``, default: the
    current time). ``changes``: scores the last suite change changed."""
    now = now or dt.datetime.now(dt.UTC)
    atomic_write(folder / "grades.csv", grades_csv(results))
    similar = similarity_path(folder.parent, assignment.name)
    link = f"../staff/{similar.name}" if similar.is_file() else ""
    atomic_write(
        folder / "index.html",
        reports.class_page(assignment, results, now=now, changes=changes, similarity=link),
    )


def similarity_path(out: Path, assignment: str) -> Path:
    """Where ``grader similarity`` writes its page: beside the other staff-only files."""
    return out / "staff" / f"{assignment}-similarity.html"


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
