"""What the grade exports share: every student on the roster or with a
submission, their results per assignment, and the CSV file written safely.

Nobody is dropped: a student on the roster without a submission gets a zero
or a blank cell (``--missing``); a submission without a roster entry gets a
row with the grader's id and blank LMS identities. Both are listed on the
console. An LMS import file (Canvas, Moodle) holds only rows with an
identity the LMS matches by: the grader's id is a file name a student
chose, so it is never written where an LMS identity goes; the other rows
are listed apart, in ``*-unmatched.csv`` and on the console.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.assignments import AssignmentInfo
from grader.csvsafe import SafeWriter
from grader.exporters import ExportRequest
from grader.files import atomic_write
from grader.policy import roster
from grader.policy.gradebook import Gradebook
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
    with Gradebook.existing(request.out.gradebook) as book:
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
        request.echo(f"{len(extra)} submission(s) with no roster entry: {', '.join(extra)}")
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


def adjustment_header(assignment: AssignmentInfo) -> list[str]:
    """``--adjustment-columns``: the columns beside an assignment's final score."""
    return [f"{assignment.title} raw score", f"{assignment.title} late penalty"]


def adjustment_cells(result: SubmissionResult | None) -> list[str]:
    """What the tests gave and the points the late policy took off ("" without a result)."""
    if result is None:
        return ["", ""]
    penalty = result.penalty.points if result.penalty else 0.0
    return [f"{result.raw_score:g}", f"{penalty:g}"]


def importable(
    request: ExportRequest,
    format_name: str,
    rows: list[Row],
    identity: Callable[[Row], str],
    why: str,
) -> tuple[list[Row], list[Path]]:
    """The rows ``identity`` (the LMS's own matching column) gives a value
    for, and the file listing the others (none if there are none), which
    are named on the console too: they never reach the import file. ``why``
    says what a roster row lacks."""
    kept = [row for row in rows if identity(row)]
    left = [row for row in rows if not identity(row)]
    if not left:
        return kept, []
    path = _path(request, format_name)
    apart = path.with_name(f"{path.stem}-unmatched.csv")
    table = [["student", "on_roster", "why", *(a.name for a in request.assignments)]]
    for row in left:
        grades = [grade_cell(request, row.results.get(a.name)) for a in request.assignments]
        lacks = why if row.on_roster else "not on the roster"
        table.append([row.person.student, "yes" if row.on_roster else "no", lacks, *grades])
    _write_csv(apart, table)
    request.echo(
        f"{len(left)} student(s) left out of {path.name} (the LMS cannot match them: not on "
        f"the roster, or {why}), listed in {apart}: "
        + ", ".join(row.person.student for row in left)
    )
    return kept, [apart]


def write(request: ExportRequest, format_name: str, table: list[list[str]]) -> list[Path]:
    """Write ``table`` as CSV to ``-o`` or to ``OUT/FORMAT-ASSIGNMENTS.csv``."""
    path = _path(request, format_name)
    _write_csv(path, table)
    return [path]


def _path(request: ExportRequest, format_name: str) -> Path:
    names = "+".join(a.name for a in request.assignments)
    return request.output or request.out.root / f"{format_name}-{names}.csv"


def _write_csv(path: Path, table: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    for row in table:
        writer.writerow(row)
    atomic_write(path, buffer.getvalue())
