"""One row per student and assignment: identities, the raw score (what the
tests gave), overrides, the late penalty with its reason, and the final
score, for a spreadsheet or another system."""

from __future__ import annotations

from pathlib import Path

from grader.exporters import ExportRequest
from grader.exporters._grades import gather, grade_cell, write
from grader.reports.writer import override_text

SUMMARY = "one row per student and assignment: raw score, penalty, overrides, final score"
HEADER = [
    "student",
    "name",
    "email",
    "lms_id",
    "sis_id",
    "section",
    "on_roster",
    "assignment",
    "status",
    "raw_score",
    "overrides",
    "late_penalty",
    "late_reason",
    "submitted_at",
    "score",
    "max_score",
]


def export(request: ExportRequest) -> list[Path]:
    table = [HEADER]
    for row in gather(request):
        p = row.person
        for assignment in request.assignments:
            r = row.results.get(assignment.name)
            penalty = r.penalty if r else None
            table.append(
                [
                    p.student,
                    p.name,
                    p.email,
                    p.lms_id,
                    p.sis_id,
                    p.section,
                    "yes" if row.on_roster else "no",
                    assignment.name,
                    "graded" if r else "missing",
                    f"{r.raw_score:g}" if r else "",
                    "; ".join(override_text(o) for o in r.overrides) if r else "",
                    f"{penalty.points:g}" if penalty else "",
                    penalty.reason if penalty else "",
                    penalty.submitted_at if penalty else "",
                    grade_cell(request, r),
                    f"{r.max_score:g}" if r else "",
                ]
            )
    return write(request, "csv", table)
