"""Moodle's grade import CSV ("Import grades from CSV"): one identifier
column, then per assignment a grade column and a feedback column (and, with
``--adjustment-columns``, its raw score and late penalty).

Moodle maps columns by hand on import: map the identifier column to the
user field ``--moodle-id`` names (username: the roster's ``login``; email;
idnumber: the roster's ``sis_id``), each grade column to its grade item and
each feedback column to that item's feedback. Moodle looks the identifier
up among its users and aborts the whole import on one it does not know, so
a student without that field on the roster (or not on it) is listed apart
(``grader.exporters._grades.importable``), never written under the
grader's id, which another user's username could equal.
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
    write,
)
from grader.policy.adjustments import explanation
from grader.results import Audience, SubmissionResult, Visibility

SUMMARY = "Moodle grade import CSV (identifier, grade and feedback per assignment)"
FIELDS = {"username": "login", "email": "email", "idnumber": "sis_id"}
"""Moodle's user field -> the roster column that holds it"""


def export(request: ExportRequest) -> list[Path]:
    column = FIELDS[request.identifier]

    def identity(row: Row) -> str:
        return str(getattr(row.person, column)) if row.on_roster else ""

    rows, apart = importable(
        request, "moodle", gather(request), identity, f"no {column} on the roster"
    )
    header: list[str] = [request.identifier]
    for assignment in request.assignments:
        header += [assignment.title, f"{assignment.title} feedback"]
        header += adjustment_header(assignment) if request.adjustment_columns else []
    table = [header]
    for row in rows:
        line = [identity(row)]
        for assignment in request.assignments:
            result = row.results.get(assignment.name)
            line += [grade_cell(request, result), feedback(result)]
            line += adjustment_cells(result) if request.adjustment_columns else []
        table.append(line)
    return write(request, "moodle", table) + apart


def feedback(result: SubmissionResult | None) -> str:
    """What the student reads beside the grade: how the tests, overrides and
    late penalty made it (``grader.policy.adjustments``), or the tests' score."""
    if result is None:
        return "no submission"
    named = {t.name for t in result.tests if t.visibility == Visibility.VISIBLE}
    why = explanation(result, Audience.STUDENT, named=named)
    return why or f"tests {result.raw_score:g}/{result.max_score:g}"
