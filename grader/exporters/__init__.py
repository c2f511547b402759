"""On-demand exports, ``grader export FORMAT ASSIGNMENT...``: one module per format.

A format is a module in this package that defines ``SUMMARY`` (one line for
``--help``) and ``export(request) -> list[Path]`` (the files it wrote).
Modules are found by name, so adding a format means adding one file;
``tests/test_exporters.py`` checks that every module has both.

Unlike ``grader.exports`` (what every grading run writes), these run only
when asked.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal, cast

from grader.assignments import AssignmentInfo


@dataclass(frozen=True)
class ExportRequest:
    """What the command line asked for, checked."""

    assignments: tuple[AssignmentInfo, ...]
    course: Path
    """the course folder (``--root``): its ``roster.csv``, and the files an
    autograder zip packs"""
    out: Path
    """the folder holding ``gradebook.db`` (``--out``, as for ``grade``)"""
    output: Path | None
    """``-o``: the file to write, or None for the format's default name under ``out``"""
    roster: Path | None
    """``--roster``: the course's ``roster.csv``, or None (then ``roster.csv``
    in the course folder, if there is one)"""
    missing: Literal["zero", "blank"] = "zero"
    """``--missing``: the grade of a student on the roster without a submission"""
    identifier: Literal["username", "email", "idnumber"] = "email"
    """``--moodle-id``: the column Moodle matches students by"""
    echo: Callable[[str], None] = print
    """where notes for staff go (students left out of the LMS's view, say)"""


Export = Callable[[ExportRequest], list[Path]]


def names() -> list[str]:
    """The formats there are, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def exporter(name: str) -> Export:
    return cast(Export, module(name).export)


def summary(name: str) -> str:
    return str(module(name).SUMMARY)
