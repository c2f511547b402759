"""What the grade exports share: every student on the roster or with a
submission, their results per assignment, and the CSV file written safely.

Nobody is dropped: a student on the roster without a submission gets a zero
or a blank cell (``--missing``); a submission without a roster entry gets a
row with the grader's id and blank LMS identities. Both are listed on the
console, since the LMS will not match the second kind.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from grader import roster
from grader.assignments import AssignmentInfo
from grader.csvsafe import SafeWriter
from grader.exporters import ExportRequest
from grader.files import atomic_write
from grader.gradebook import Gradebook
from grader.results import SubmissionResult


@dataclass(frozen=True)
class Row:
    person: roster.Person
    on_roster: bool
    results: dict[str, SubmissionResult]
    """by assignment name; an assignment without a submission is absent"""


def gather(request: ExportRequest) -> list[Row]:
    """The roster's students in its order, then those only the gradebook has."""
    people = _roster(request)
    with Gradebook.existing(request.out) as book:
        graded = {a.name: {r.student: r for r in book.results(a.name)} for a in request.assignments}
    rows = [
        Row(person, True, {a: by[s] for a, by in graded.items() if (s := person.student) in by})
        for person in people.values()
    ]
    extra = sorted({s for by in graded.values() for s in by} - people.keys())
    rows += [
        Row(roster.Person(s), False, {a: by[s] for a, by in graded.items() if s in by})
        for s in extra
    ]
    _tell(request, rows, bool(people))
    return rows


def _roster(request: ExportRequest) -> dict[str, roster.Person]:
    path = request.roster
    if path is None:
        default = request.course / roster.ROSTER_NAME
        path = default if default.is_file() else None
    return roster.load(path) if path else {}


def _tell(request: ExportRequest, rows: list[Row], have_roster: bool) -> None:
    if not have_roster:
        request.echo(
            f"no roster (--roster, or {roster.ROSTER_NAME} in the course folder): students are "
            "listed by the grader's id, with no LMS identities"
        )
        return
    extra = [r.person.student for r in rows if not r.on_roster]
    if extra:
        request.echo(
            f"{len(extra)} submission(s) with no roster entry, exported with blank LMS "
            f"identities (the LMS will not match them): {', '.join(extra)}"
        )
    for assignment in request.assignments:
        missing = [
            r.person.student for r in rows if r.on_roster and assignment.name not in r.results
        ]
        if missing:
            grade = "0" if request.missing == "zero" else "a blank grade"
            request.echo(
                f"{assignment.name}: {len(missing)} student(s) on the roster without a "
                f"submission, exported with {grade}: {', '.join(missing)}"
            )


def grade_cell(request: ExportRequest, result: SubmissionResult | None) -> str:
    """The final score, or the ``--missing`` grade."""
    if result is None:
        return "0" if request.missing == "zero" else ""
    return f"{result.score:g}"


def points_possible(assignment: AssignmentInfo, rows: list[Row]) -> float:
    """The assignment's most common maximum among its results (0 if none)."""
    name = assignment.name
    counts = Counter(r.results[name].max_score for r in rows if name in r.results)
    return counts.most_common(1)[0][0] if counts else 0.0


def write(request: ExportRequest, format_name: str, table: list[list[str]]) -> list[Path]:
    """Write ``table`` as CSV to ``-o`` or to ``OUT/FORMAT-ASSIGNMENTS.csv``."""
    names = "+".join(a.name for a in request.assignments)
    path = request.output or request.out / f"{format_name}-{names}.csv"
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    for row in table:
        writer.writerow(row)
    atomic_write(path, buffer.getvalue())
    return [path]
