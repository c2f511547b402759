"""``grader history``: every grade the gradebook recorded for an assignment,
oldest first, with what changed each time, so staff can answer a dispute
with what the student saw on each date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from grader.errors import UsageError
from grader.outdir import OutDir
from grader.policy.gradebook import Gradebook, HistoryEntry
from grader.results import Override
from grader.students import shown, student_id
from grader.texts import one_line

SUITE_CHARS = 8
"""of a suite version's digest, as the table shows it (like a short commit)"""
REASON_CHARS = 60
"""of an override's reason, as the table shows it"""
HEADERS = ("recorded (UTC)", "student", "score", "raw", "suite", "what changed")

AGAIN = {
    "graded": "graded again (same file and suite: --force, --only, or a retry)",
    "rescored": "rescored (a new extension or submission time)",
    "override": "override",
}
"""what changed, in words, when no field but the cause says (by cause)"""


@dataclass(frozen=True)
class HistoryRow:
    """One recorded grade and what changed since the student's grade before."""

    entry: HistoryEntry
    changes: tuple[str, ...]
    """what differs from the student's grade before, in words for staff"""


def history(*, out: OutDir, assignment: str, student: str | None = None) -> list[HistoryRow]:
    """The grades recorded for ``assignment`` in the gradebook of ``out``
    (``student``'s alone when given, named as ``grade`` names a submission),
    by student, each student's oldest first. A usage error when there are none."""
    wanted = None if student is None else student_id(student)
    with Gradebook.existing(out.gradebook) as book:
        entries = book.history(assignment, wanted)
        if not entries:
            graded = book.assignments()
            if assignment not in graded:
                raise UsageError(
                    f"no grades for {assignment} in {out.gradebook} (assignments graded: "
                    f"{', '.join(graded) or 'none'})"
                )
            students = ", ".join(r.student for r in book.results(assignment)[:20])
            raise UsageError(
                f"no grade for {wanted} in {assignment} in {out.root}/ (graded: {students})"
            )
    rows = []
    previous: HistoryEntry | None = None
    for entry in entries:
        before = previous if previous is not None and previous.student == entry.student else None
        rows.append(HistoryRow(entry, changes(before, entry)))
        previous = entry
    return rows


def changes(before: HistoryEntry | None, entry: HistoryEntry) -> tuple[str, ...]:
    """What differs from the student's grade ``before`` (None: the first),
    read from typed fields: the file, the suite, overrides, the penalty."""
    if before is None:
        return ("first grade",)
    found = []
    if entry.submission_hash != before.submission_hash:
        found.append("new file")
    if entry.suite_version != before.suite_version:
        found.append(f"new suite (was {before.suite_version[:SUITE_CHARS]})")
    found += [_override(o) for o in entry.overrides if o not in before.overrides]
    was, now = (p.points if p else 0.0 for p in (before.penalty, entry.penalty))
    if was != now:
        found.append(f"late penalty {was:g} -> {now:g}")
    return tuple(found) or (AGAIN.get(entry.cause, entry.cause),)


def _override(override: Override) -> str:
    reason = override.reason
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 3] + "..."
    what = override.test or "the total"
    return f"override: {what} = {override.points:g} by {override.by} ({reason})"


def lines(rows: list[HistoryRow]) -> list[str]:
    """The table, one console line per grade; every text in it that a
    student (an id) or staff (a reason) wrote is shown escaped on one line."""
    cells: list[tuple[str, ...]] = [HEADERS]
    cells += [
        (
            _when(row.entry.recorded_at),
            shown(row.entry.student),
            f"{row.entry.score:g}/{row.entry.max_score:g}",
            f"{row.entry.raw_score:g}",
            row.entry.suite_version[:SUITE_CHARS],
            "; ".join(row.changes),
        )
        for row in rows
    ]
    cells = [tuple(one_line(cell) for cell in line) for line in cells]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    ]


def _when(stamp: str) -> str:
    """An ISO 8601 time as ``2026-12-01 23:59:00``, in UTC (as recorded if unreadable)."""
    try:
        time = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if time.tzinfo is not None:
        time = time.astimezone(dt.UTC)
    return time.strftime("%Y-%m-%d %H:%M:%S")
