"""An assignment's hidden suite, loaded once per process as a ``Suite``:
the reference module, every test's checked ``@grade`` mark, the suite's
versions and the exercises' order. Whoever starts grading in a process
(``grader.batch``, ``gradescope-run``, a Ray slot) loads it and passes it
down; grading processes forked after inherit it.

Trusted side only: loading runs the solution notebook.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.assignments import CONFIG_NAME, Assignment, load_reference
from grader.errors import GraderError
from grader.harness.marks import EXERCISE_EXPECTED, TestSpec, mark_error
from grader.harness.plugin import GradingPlugin
from grader.policy import scoring
from grader.results import notebook_order
from grader.sandbox.host.limits import Limits


@dataclass(frozen=True)
class SuiteVersion:
    """Two digests: a new ``outcomes`` grades every submission again; a new
    ``policy`` alone only applies the adjustments again to the stored results."""

    outcomes: str
    """what test outcomes depend on: the suite's files, the solution notebook,
    the notebook's name, the limits, the course data (a result's ``suite_version``)"""
    policy: str
    """what only the adjustments after the tests depend on: ``due``, ``opens``,
    the late policy, ``lms_id``, and this assignment's rows of ``extensions.csv``"""


@dataclass(frozen=True)
class Suite:
    """One assignment's hidden suite, as every part of grading needs it."""

    assignment: Assignment
    reference: types.ModuleType
    """the solution notebook's code, for the ``reference`` fixture"""
    tests: tuple[TestSpec, ...]
    """in the suite's order"""
    version: SuiteVersion
    exercises: tuple[str, ...]
    """the graded exercises in the solution notebook's order"""
    call_deadlines: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """test name -> seconds a call may take in it, from the reference's own time
    (``grader.reference_times``; empty: ``call_timeout`` for every test)"""

    @property
    def limits(self) -> Limits:
        return self.assignment.limits


def load(assignment: Assignment, reference: types.ModuleType | None = None) -> Suite:
    """The suite, its tests collected (none run) and their marks checked: a
    wrong ``@grade`` is a ``ConfigError`` naming the test. ``reference`` is
    the solution module if the caller has loaded it (else it is, here)."""
    if reference is None:
        reference = load_reference(assignment)
    plugin = GradingPlugin(None, reference, seed=assignment.name)
    run_suite(suite_args(assignment, "--collect-only"), plugin)
    tests = tuple(plugin.tests[nodeid] for nodeid in plugin.order)
    for test in tests:
        if not hasattr(reference, test.exercise):
            raise mark_error(
                assignment.solution_dir,
                test.nodeid,
                f"(exercise={test.exercise!r}): " + EXERCISE_EXPECTED,
            )
    return Suite(
        assignment=assignment,
        reference=reference,
        tests=tests,
        version=version(assignment),
        exercises=notebook_order(vars(reference), (t.exercise for t in tests)),
    )


def version(assignment: Assignment) -> SuiteVersion:
    """The suite's two digests, read from its files (no code run)."""
    return SuiteVersion(_outcomes(assignment), _policy(assignment))


def _outcomes(assignment: Assignment) -> str:
    """``SuiteVersion.outcomes``: the same wherever the course folder lies,
    so a Ray slot that unpacked it elsewhere computes the driver's."""
    digest = hashlib.sha256()
    for chunk in _files(assignment.solution_dir, but=CONFIG_NAME):
        digest.update(chunk)
    limits = dataclasses.asdict(dataclasses.replace(assignment.limits, data=None))
    digest.update(
        json.dumps([assignment.notebook, limits], sort_keys=True, allow_nan=False).encode() + b"\0"
    )
    if assignment.limits.data is not None:
        for chunk in _files(Path(assignment.limits.data)):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def _policy(assignment: Assignment) -> str:
    """``SuiteVersion.policy``. The title is in neither digest: it changes
    only reports, which every run writes again."""
    extensions = scoring.course_extensions(assignment.root)
    students = {s: due for (a, s), due in extensions.students.items() if a == assignment.name}
    sections = {s: due for (a, s), due in extensions.sections.items() if a == assignment.name}
    members = {s: c for s, c in extensions.section_of.items() if c in sections}
    facts = [
        assignment.due,
        assignment.opens,
        dataclasses.asdict(assignment.late),
        assignment.lms_id,
        students,
        sections,
        members,
    ]
    text = json.dumps(facts, sort_keys=True, default=str, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _files(folder: Path, *, but: str = "") -> Iterator[bytes]:
    """Every file's path (from ``folder``) and bytes, in order; bytecode and
    the file named ``but`` left out."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if "__pycache__" in relative.parts or relative.as_posix() == but:
            continue
        yield relative.as_posix().encode() + b"\0"
        yield path.read_bytes() + b"\0"


def suite_args(assignment: Assignment, *extra: str) -> list[str]:
    """How the hidden suite is run: every ``test_*.py`` but the public one."""
    return pytest_args(assignment.suite_files, assignment.solution_dir, *extra)


def pytest_args(files: list[Path], rootdir: Path, *extra: str) -> list[str]:
    """How a suite is run: quiet, no configuration, cache or bytecode of its own."""
    return [
        *(str(p) for p in files),
        *extra,
        "-q",
        "-c",
        os.devnull,
        f"--rootdir={rootdir}",
        "--import-mode=importlib",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:stepwise",
        "-W",
        "ignore",
    ]


def run_suite(args: list[str], plugin: GradingPlugin, *, suite: str = "the hidden suite") -> None:
    """Run pytest with ``plugin``; a wrong mark is a ``ConfigError``, a suite
    that does not collect or run is our error."""
    sys.dont_write_bytecode = True  # no __pycache__ in solutions/
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        code = pytest.main(args, plugins=[plugin])
    if plugin.mark_errors:
        raise plugin.mark_errors[0]
    if plugin.suite_errors or code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        details = "\n".join(plugin.suite_errors) or f"pytest exited with {code!r}"
        raise GraderError(f"{suite} of this assignment is broken:\n{details}")
