"""The suite's two versions: what decides test outcomes, and what decides
only the adjustments made after (``grader.suite.SuiteVersion``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader import assignments, suite
from grader.runners.slot import _unpack, pack
from tests.helpers import COURSE

SMOKE = "00_smoke"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the smoke course, with a data folder and a due date."""
    root = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", root / "solutions")
    (root / "data").mkdir()
    (root / "data" / "mnist.npz").write_bytes(b"digits")
    edit(root, "[limits]", 'data = "data"\ndue = 2026-12-01T23:59:00Z\n[limits]')
    return root


def edit(root: Path, old: str, new: str) -> None:
    toml = root / "solutions" / SMOKE / "assignment.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new, 1))


def version(root: Path) -> suite.SuiteVersion:
    return suite.version(assignments.load(root, SMOKE))


POLICY_EDITS = {
    "due": ("2026-12-01T23:59:00Z", "2026-12-08T23:59:00Z"),
    "late policy": ("[limits]", 'late_policy = "10% per day"\n[limits]'),
    "lms_id": ("[limits]", 'lms_id = "4412"\n[limits]'),
}
OUTCOME_EDITS = {
    "a limit": ("call_timeout = 8.0", "call_timeout = 9.0"),
    "the notebook's name": ('notebook = "00_smoke.ipynb"', 'notebook = "other.ipynb"'),
}


@pytest.mark.parametrize("name", sorted(POLICY_EDITS))
def test_a_policy_edit_changes_the_policy_version_only(course: Path, name: str) -> None:
    before = version(course)
    edit(course, *POLICY_EDITS[name])
    after = version(course)
    assert after.outcomes == before.outcomes and after.policy != before.policy


@pytest.mark.parametrize("name", sorted(OUTCOME_EDITS))
def test_an_outcome_edit_changes_the_outcomes_version(course: Path, name: str) -> None:
    solutions = course / "solutions" / SMOKE
    shutil.copy(solutions / "00_smoke.ipynb", solutions / "other.ipynb")
    before = version(course)
    edit(course, *OUTCOME_EDITS[name])
    assert version(course).outcomes != before.outcomes


def test_the_suite_the_reference_and_the_data_change_the_outcomes_version(course: Path) -> None:
    seen = {version(course).outcomes}
    solutions = course / "solutions" / SMOKE
    with (solutions / "test_hidden.py").open("a") as suite_file:
        suite_file.write("\n# a comment changes the file\n")
    seen.add(version(course).outcomes)
    notebook = solutions / "00_smoke.ipynb"
    notebook.write_text(notebook.read_text() + "\n")
    seen.add(version(course).outcomes)
    (course / "data" / "mnist.npz").write_bytes(b"other digits")
    seen.add(version(course).outcomes)
    assert len(seen) == 4


def test_an_extension_of_this_assignment_changes_the_policy_only(course: Path) -> None:
    before = version(course)
    (course / "extensions.csv").write_text("assignment,student,due\n99_other,ann,2026-12-09\n")
    assert version(course) == before  # another assignment's extension
    (course / "extensions.csv").write_text("assignment,student,due\n00_smoke,ann,2026-12-09\n")
    after = version(course)
    assert after.outcomes == before.outcomes and after.policy != before.policy


def test_the_outcomes_version_is_the_same_wherever_the_course_lies(
    course: Path, tmp_path: Path
) -> None:
    """A Ray slot unpacks the solutions and the data elsewhere and computes
    the version itself: it must be the driver's."""
    elsewhere = tmp_path / "slot"
    _unpack(pack(course / "solutions" / SMOKE), elsewhere / "solutions" / SMOKE)
    _unpack(pack(course / "data"), elsewhere / "data")
    assert version(elsewhere).outcomes == version(course).outcomes
