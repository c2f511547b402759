"""Canvas's gradebook import CSV: ``Student``, ``ID``, ``SIS User ID``,
``SIS Login ID``, ``Section``, one column per assignment named
``Title (lms_id)``, and the ``Points Possible`` row under the header.

Canvas matches a row by ID, then SIS User ID, then SIS Login ID (from the
roster). A column with an assignment id updates that assignment; one
without (no ``lms_id`` in ``assignment.toml``) creates a new assignment.
"""

from __future__ import annotations

from pathlib import Path

from grader.exporters import ExportRequest
from grader.exporters._grades import gather, grade_cell, points_possible, write

SUMMARY = "Canvas gradebook import CSV (Points Possible row, Title (lms_id) columns)"
IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def export(request: ExportRequest) -> list[Path]:
    rows = gather(request)
    header = IDENTITY + [
        f"{a.title} ({a.lms_id})" if a.lms_id else a.title for a in request.assignments
    ]
    possible = ["Points Possible", "", "", "", ""] + [
        f"{points_possible(a, rows):g}" for a in request.assignments
    ]
    table = [header, possible]
    for row in rows:
        p = row.person
        table.append(
            [p.name or p.student, p.lms_id, p.sis_id, p.login, p.section]
            + [grade_cell(request, row.results.get(a.name)) for a in request.assignments]
        )
    return write(request, "canvas", table)
