"""nbgrader's ``grades.csv`` (``nbgrader export``'s columns), for courses
moving from nbgrader: one row per assignment and student.

``raw_score`` is the score before the late penalty (staff overrides
included, as nbgrader's manual grades are), ``late_submission_penalty`` the
points taken off, ``score`` what is left; ``timestamp`` is the submission
time when one is known; names are split from the roster's ``name``.
"""

from __future__ import annotations

from pathlib import Path

from grader.exporters import ExportRequest
from grader.exporters._grades import gather, points_possible, write

SUMMARY = "nbgrader's grades.csv columns (raw_score, late_submission_penalty, score)"
HEADER = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]


def export(request: ExportRequest) -> list[Path]:
    rows = gather(request)
    table = [HEADER]
    for assignment in request.assignments:
        possible = points_possible(assignment, rows)
        due = assignment.due.isoformat() if assignment.due else ""
        for row in rows:
            r = row.results.get(assignment.name)
            first, last = row.person.first_and_last
            penalty = r.penalty if r else None
            missing = "0" if request.missing == "zero" else ""
            table.append(
                [
                    assignment.name,
                    penalty.due if penalty else due,
                    penalty.submitted_at if penalty else "",
                    row.person.student,
                    last,
                    first,
                    row.person.email,
                    f"{r.adjusted_score:g}" if r else missing,
                    f"{penalty.points:g}" if penalty else ("0" if r else missing),
                    f"{r.score:g}" if r else missing,
                    f"{(r.max_score if r else possible):g}",
                ]
            )
    return write(request, "nbgrader", table)
