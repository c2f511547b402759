"""Deadlines and the late policy: per-student extensions (``extensions.csv``)
and the penalty a late submission gets.

A submission counts as late when its time is after the deadline (the
assignment's ``due``, or the student's extension) by more than
``late_grace``. Its lateness is then counted from the deadline itself, in
whole started days or hours: with "10% per day", 1 minute to 24 hours late
takes 10% off, 24 hours and a minute 20%. ``late_floor`` is the share of the
score a late submission keeps at least. Without a submission time nothing
is taken off, and the reason says so: a penalty is never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.errors import ConfigError
from grader.results import DueSource, Penalty, TimeSource
from grader.students import student_id

EXTENSIONS_NAME = "extensions.csv"
_UNITS = {"day": 86400.0, "hour": 3600.0}
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*per\s*(day|hour)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class LatePolicy:
    kind: Literal["none", "zero", "percent"] = "none"
    percent: float = 0.0
    """taken off per started ``unit`` late (kind "percent")"""
    unit: Literal["day", "hour"] = "day"
    grace: float = 0.0
    """seconds after the deadline that still count as on time"""
    floor: float = 0.0
    """percent of the score a late submission keeps at least (kind "percent")"""

    @staticmethod
    def parse_kind(text: str) -> LatePolicy | None:
        """``none``, ``zero``, or ``P% per day`` / ``P% per hour``; None if neither."""
        word = text.strip().lower()
        if word in ("none", "zero"):
            return LatePolicy(kind="none" if word == "none" else "zero")
        match = _PERCENT.fullmatch(text)
        if match is None or not 0 < float(match.group(1)) <= 100:
            return None
        unit: Literal["day", "hour"] = "day" if match.group(2).lower() == "day" else "hour"
        return LatePolicy(kind="percent", percent=float(match.group(1)), unit=unit)


NO_LATE_POLICY = LatePolicy()
NO_TIME = "no submission time was found, so no late penalty was applied"
"""the reason a penalty gives when no source had a time (who reads it is told
which sources there are: ``grader.policy.adjustments``)"""


@dataclass(frozen=True)
class Stamp:
    """When a submission was made, and how we know."""

    at: dt.datetime
    source: TimeSource
    where: str = ""
    """the course file and line it was read from, for staff ("" when none)"""


@dataclass(frozen=True)
class Due:
    """A student's deadline, and which one it is."""

    at: dt.datetime
    source: DueSource = DueSource.ASSIGNMENT


def penalty(
    policy: LatePolicy, *, points: float, due: Due | None, stamp: Stamp | None
) -> Penalty | None:
    """The penalty on a submission worth ``points`` before it (None: no policy)."""
    if policy.kind == "none" or due is None:
        return None
    deadline = aware(due.at)
    if stamp is None:
        return Penalty(
            submitted_at="",
            source=None,
            due=deadline.isoformat(),
            percent=0.0,
            points=0.0,
            reason=NO_TIME,
            due_source=due.source,
        )
    late = (aware(stamp.at) - deadline).total_seconds()
    percent, reason = _percent_off(policy, late)
    if due.source is not DueSource.ASSIGNMENT:
        reason += f" (counted from {due.source})"
    return Penalty(
        submitted_at=aware(stamp.at).isoformat(),
        source=stamp.source,
        due=deadline.isoformat(),
        percent=percent,
        points=round(points * percent / 100, 4),
        reason=reason,
        due_source=due.source,
    )


def _percent_off(policy: LatePolicy, late: float) -> tuple[float, str]:
    if late <= 0:
        return 0.0, "on time"
    if late <= policy.grace:
        return 0.0, f"{duration(late)} late, within the grace period of {duration(policy.grace)}"
    if policy.kind == "zero":
        return 100.0, f"{duration(late)} late: no points after the deadline"
    steps = math.ceil(late / _UNITS[policy.unit])
    wanted = steps * policy.percent
    percent = min(wanted, 100.0 - policy.floor)
    reason = (
        f"{duration(late)} late: {steps} {policy.unit}{'s' if steps != 1 else ''} "
        f"× {policy.percent:g}% = {wanted:g}% off"
    )
    if percent < wanted:
        reason += f", held at {percent:g}% by the floor (a late submission keeps {policy.floor:g}%)"
    return percent, reason


def duration(seconds: float) -> str:
    """``1 d 2 h 5 min``: a lateness as a person reads it."""
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    return " ".join(p for p in parts if p and not (p == "0 min" and (days or hours)))


@dataclass(frozen=True)
class Extensions:
    """``extensions.csv``: due dates by (assignment, student) and by
    (assignment, section); a student's own outranks their section's."""

    students: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    sections: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    section_of: dict[str, str] = field(default_factory=dict)
    """student id -> section, from the roster"""

    def due(self, assignment: str, student: str, default: dt.datetime | None) -> Due | None:
        """The student's deadline: their extension, their section's, else ``default``."""
        if (assignment, student) in self.students:
            return Due(self.students[assignment, student], DueSource.STUDENT)
        section = self.section_of.get(student, "")
        if section and (assignment, section) in self.sections:
            return Due(self.sections[assignment, section], DueSource.SECTION)
        return None if default is None else Due(default)


NO_EXTENSIONS = Extensions()


def load_extensions(root: Path, sections: dict[str, str] | None) -> Extensions:
    """``extensions.csv`` in the course folder, if any: columns ``assignment``,
    ``due`` (ISO 8601; without an offset it is UTC), and on each row either
    ``student`` or ``section`` (a section of ``roster.csv``, whose students
    it extends). ``sections`` maps student ids to their section (None: there
    is no roster here, as in a Gradescope zip, and section rows extend no one)."""
    path = root / EXTENSIONS_NAME
    if not path.is_file():
        return Extensions(section_of=sections or {})
    rows = read_table(path, ("assignment", "due"))
    if rows and "student" not in rows[0][1] and "section" not in rows[0][1]:
        raise ConfigError(f"{path}: no column student or section in the first row")
    known = set((sections or {}).values())
    students: dict[tuple[str, str], dt.datetime] = {}
    by_section: dict[tuple[str, str], dt.datetime] = {}
    for line, row in rows:
        due = table_time(path, line, row, "due")
        student, section = row.get("student", "").strip(), row.get("section", "").strip()
        if bool(student) == bool(section):
            raise ConfigError(f"{path}:{line}: give a student or a section, one of the two")
        if section and sections is not None and section not in known:
            listed = ", ".join(sorted(known)) or "none: roster.csv has no section column"
            raise ConfigError(f"{path}:{line}: no section {section!r} in the roster ({listed})")
        table, key = (
            (students, (row["assignment"].strip(), student_id(student)))
            if student
            else (by_section, (row["assignment"].strip(), section))
        )
        if key in table:
            raise ConfigError(f"{path}:{line}: a second extension for {key[1]} on {key[0]}")
        table[key] = due
    return Extensions(students, by_section, sections or {})


def read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """A course CSV (UTF-8, a spreadsheet's BOM allowed) as (line, row) pairs,
    with its ``required`` columns checked and not empty."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.start}); save it as CSV UTF-8"
        ) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read it: {err.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [name for name in required if name not in header]
    if missing:
        raise ConfigError(
            f"{path}: no column {', '.join(missing)} in the first row "
            f"(it has: {', '.join(header) or 'nothing'})"
        )
    rows = []
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ConfigError(f"{path}:{line}: more cells than the first row has columns")
        cells = {k: (v or "") for k, v in row.items() if k is not None}
        empty = [name for name in required if not cells[name].strip()]
        if empty:
            raise ConfigError(f"{path}:{line}: {', '.join(empty)} is empty")
        rows.append((line, cells))
    return rows


def table_time(path: Path, line: int, row: dict[str, str], column: str) -> dt.datetime:
    """The time in a course CSV's cell (ISO 8601; without an offset, UTC)."""
    try:
        return aware(dt.datetime.fromisoformat(row[column].strip()))
    except ValueError:
        raise ConfigError(
            f"{path}:{line}: {column} = {row[column]!r}: expected an ISO 8601 date and time "
            "(2026-12-03T23:59:00Z)"
        ) from None


def aware(moment: dt.datetime) -> dt.datetime:
    """A time without an offset is UTC (as ``due`` in ``assignment.toml``)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
