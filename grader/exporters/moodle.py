"""Moodle's grade import CSV ("Import grades from CSV"): one identifier
column, then per assignment a grade column and a feedback column.

Moodle maps columns by hand on import: map the identifier column to the
user field ``--moodle-id`` names (username: the roster's ``login``; email;
idnumber: the roster's ``sis_id``), each grade column to its grade item and
each feedback column to that item's feedback. A student the roster does not
list is written with the grader's id, which Moodle reports as unmatched.
"""

from __future__ import annotations

from pathlib import Path

from grader.exporters import ExportRequest
from grader.exporters._grades import gather, grade_cell, write
from grader.exports import override_text
from grader.results import SubmissionResult
from grader.roster import Person

SUMMARY = "Moodle grade import CSV (identifier, grade and feedback per assignment)"


def export(request: ExportRequest) -> list[Path]:
    rows = gather(request)
    header: list[str] = [request.identifier]
    for assignment in request.assignments:
        header += [assignment.title, f"{assignment.title} feedback"]
    table = [header]
    for row in rows:
        line = [_identifier(row.person, request.identifier)]
        for assignment in request.assignments:
            result = row.results.get(assignment.name)
            line += [grade_cell(request, result), feedback(result)]
        table.append(line)
    return write(request, "moodle", table)


def _identifier(person: Person, kind: str) -> str:
    value = {"username": person.login, "email": person.email, "idnumber": person.sis_id}[kind]
    return value or person.student


def feedback(result: SubmissionResult | None) -> str:
    """One line for the LMS: the score's parts, when more than the tests decided it."""
    if result is None:
        return "no submission"
    parts = [f"tests {result.raw_score:g}/{result.max_score:g}"]
    parts += [f"override {override_text(o)}" for o in result.overrides]
    if result.penalty and result.penalty.points:
        parts.append(f"late penalty -{result.penalty.points:g}: {result.penalty.reason}")
    return "; ".join(parts)
