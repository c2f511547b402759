"""Canvas's gradebook import CSV: ``Student``, ``ID``, ``SIS User ID``,
``SIS Login ID``, ``Section``, one column per assignment named
``Title (lms_id)``, and the ``Points Possible`` row under the header.

Canvas matches a row by ID, then SIS User ID (from the roster's ``lms_id``
and ``sis_id``); a row with neither is not importable, so it is listed
apart (``grader.exporters._grades.importable``). A column with an
assignment id updates that assignment; one without (no ``lms_id`` in
``assignment.toml``) creates a new assignment.
"""

from __future__ import annotations

from pathlib import Path

from grader.exporters import ExportRequest
from grader.exporters._grades import (
    Row,
    adjustment_cells,
    adjustment_header,
    gather,
    grade_cell,
    importable,
    points_possible,
    write,
)

SUMMARY = "Canvas gradebook import CSV (Points Possible row, Title (lms_id) columns)"
IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def export(request: ExportRequest) -> list[Path]:
    rows, apart = importable(
        request, "canvas", gather(request), _identity, "no lms_id or sis_id on the roster"
    )
    extra = request.adjustment_columns
    header = IDENTITY + [
        f"{a.title} ({a.lms_id})" if a.lms_id else a.title for a in request.assignments
    ]
    possible = ["Points Possible", "", "", "", ""] + [
        f"{points_possible(a, rows):g}" for a in request.assignments
    ]
    if extra:
        header += [name for a in request.assignments for name in adjustment_header(a)]
        possible += ["" for _ in request.assignments for _ in range(2)]
    table = [header, possible]
    for row in rows:
        p = row.person
        results = [row.results.get(a.name) for a in request.assignments]
        table.append(
            [p.name or p.student, p.lms_id, p.sis_id, p.login, p.section]
            + [grade_cell(request, r) for r in results]
            + ([cell for r in results for cell in adjustment_cells(r)] if extra else [])
        )
    return write(request, "canvas", table) + apart


def _identity(row: Row) -> str:
    """What Canvas matches by: ID, else SIS User ID."""
    return row.person.lms_id or row.person.sis_id
