"""The output folder (``--out``): every path a run writes or reads, named once.

::

    OUT/
      gradebook.db                          every grade (grader.policy.gradebook)
      ASSIGNMENT/
        index.html, grades.csv              the class summary (staff)
        STUDENT/report.html, results.json   what a student may be given
      staff/                                staff only: never give it to a student
        results/ASSIGNMENT/STUDENT.json     full results: hidden tests' messages and output
        ASSIGNMENT-similarity.html          students' code side by side
        ASSIGNMENT-internal-errors.log      tracebacks that quote the hidden suite
        reference-cache/ASSIGNMENT/         reference data the suites asked for

Student folders sit beside the class files, so a student id never equals
one of ``CLASS_FILES`` (``grader.students``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.policy.gradebook import DB_NAME

CLASS_INDEX = "index.html"
GRADES_CSV = "grades.csv"
STAFF = "staff"
RESULTS = "results.json"
REPORT = "report.html"
CLASS_FILES = frozenset({CLASS_INDEX, GRADES_CSV, DB_NAME, STAFF})
"""names the grader writes beside student folders, or one level up"""


@dataclass(frozen=True)
class OutDir:
    """One output folder; every writer and reader of a run's files takes it."""

    root: Path

    @property
    def gradebook(self) -> Path:
        return self.root / DB_NAME

    def assignment(self, assignment: str) -> Path:
        """The class's folder: its summary and a folder per student."""
        return self.root / assignment

    def student(self, assignment: str, student: str) -> Path:
        return self.assignment(assignment) / student

    def student_results(self, assignment: str, student: str) -> Path:
        """``results.json`` as the student may be given it (``views.student_json``)."""
        return self.student(assignment, student) / RESULTS

    def report(self, assignment: str, student: str) -> Path:
        return self.student(assignment, student) / REPORT

    def class_index(self, assignment: str) -> Path:
        return self.assignment(assignment) / CLASS_INDEX

    def grades_csv(self, assignment: str) -> Path:
        return self.assignment(assignment) / GRADES_CSV

    @property
    def staff(self) -> Path:
        return self.root / STAFF

    def staff_results(self, assignment: str) -> Path:
        """The folder of every student's full results (``STUDENT.json``)."""
        return self.staff / "results" / assignment

    def full_results(self, assignment: str, student: str) -> Path:
        """A student's full results, hidden tests included: staff only."""
        return self.staff_results(assignment) / f"{student}.json"

    def similarity_page(self, assignment: str) -> Path:
        return self.staff / f"{assignment}-similarity.html"

    def internal_errors(self, assignment: str) -> Path:
        return self.staff / f"{assignment}-internal-errors.log"

    def reference_cache(self, assignment: str) -> Path:
        return self.staff / "reference-cache" / assignment

    @staticmethod
    def link(page: Path, target: Path) -> str:
        """A relative link from ``page`` to ``target`` (both under the root)."""
        return Path(os.path.relpath(target, page.parent)).as_posix()


DEFAULT_OUT = OutDir(Path("reports"))
"""``--out`` when none is given"""
