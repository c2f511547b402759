"""On-demand exports, ``grader export FORMAT ASSIGNMENT...``: one module per format.

A format is a module in this package that defines ``SUMMARY`` (one line for
``--help``) and ``export(request) -> list[Path]`` (the files it wrote), and
its row in ``ExportFormat``; ``tests/test_lms_exports.py`` checks that every
module has its row and both names.

Unlike ``grader.reports.writer`` (what every grading run writes), these run only
when asked.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal, cast

from grader.assignments import AssignmentInfo
from grader.outdir import OutDir


@dataclass(frozen=True)
class ExportRequest:
    """What the command line asked for, checked."""

    assignments: tuple[AssignmentInfo, ...]
    course: Path
    """the course folder (``--root``): its ``roster.csv``, and the files an
    autograder zip packs"""
    out: OutDir
    """the folder holding the gradebook (``--out``, as for ``grade``)"""
    output: Path | None
    """``-o``: the file to write, or None for the format's default name under ``out``"""
    roster: Path | None
    """``--roster``: the course's ``roster.csv``, or None (then ``roster.csv``
    in the course folder, if there is one)"""
    missing: Literal["zero", "blank"] = "zero"
    """``--missing``: the grade of a student on the roster without a submission"""
    identifier: Literal["username", "email", "idnumber"] = "email"
    """``--moodle-id``: the column Moodle matches students by"""
    adjustment_columns: bool = False
    """``--adjustment-columns``: an LMS import also gets each assignment's raw
    score and late penalty as columns (csv and nbgrader always have them)"""
    require_namespaces: bool = False
    """``--require-namespaces``: the Gradescope autograder refuses to grade
    where sandboxes would be plain processes (no namespaces)"""
    echo: Callable[[str], None] = print
    """where notes for staff go (students left out of the LMS's view, say)"""


Export = Callable[[ExportRequest], list[Path]]


class ExportFormat(enum.StrEnum):
    """The formats there are, each the module of this package of that name."""

    CANVAS = "canvas"
    CSV = "csv"
    GRADESCOPE = "gradescope"
    MOODLE = "moodle"
    NBGRADER = "nbgrader"

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(f"{__name__}.{self.value}")

    @property
    def export(self) -> Export:
        return cast(Export, self.module.export)

    @property
    def summary(self) -> str:
        """One line for ``grader export --help``."""
        return str(self.module.SUMMARY)


def modules() -> set[str]:
    """The format modules in this package (for the test that each has its row)."""
    return {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
