"""The course's ``roster.csv``: the grader's student id (a file stem or a
GitHub username, as ``grader.students`` makes it) mapped to what each LMS
knows a student by.

Columns: ``student`` (required), then any of ``name``, ``email``,
``lms_id`` (Canvas's user ID), ``sis_id`` (the SIS user id; Moodle's
idnumber), ``login`` (the SIS login id; Moodle's username) and ``section``.
A column with another name is refused (a typo would otherwise drop it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.errors import ConfigError
from grader.policy.deadlines import read_table
from grader.students import student_id

ROSTER_NAME = "roster.csv"
COLUMNS = ("student", "name", "email", "lms_id", "sis_id", "login", "section")


@dataclass(frozen=True)
class Person:
    student: str
    """the grader's id"""
    name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_id: str = ""
    login: str = ""
    section: str = ""

    @property
    def first_and_last(self) -> tuple[str, str]:
        """``Last, First`` or ``First Last`` split in two (a single word is a last name)."""
        if "," in self.name:
            last, _, first = self.name.partition(",")
            return first.strip(), last.strip()
        first, _, last = self.name.strip().rpartition(" ")
        return first, last


def load(path: Path) -> dict[str, Person]:
    """The roster by student id, in file order; every problem names its line."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such roster file")
    rows = read_table(path, ("student",))
    if rows:
        unknown = [name for name in rows[0][1] if name not in COLUMNS]
        if unknown:
            raise ConfigError(
                f"{path}: unknown column {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}"
            )
    people: dict[str, Person] = {}
    for line, row in rows:
        cells = {name: row.get(name, "").strip() for name in COLUMNS}
        cells["student"] = student_id(cells["student"])
        if cells["student"] in people:
            raise ConfigError(f"{path}:{line}: student {cells['student']} is listed twice")
        people[cells["student"]] = Person(**cells)
    return people
