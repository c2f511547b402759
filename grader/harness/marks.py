"""The ``grade`` mark: how many points a hidden test is worth, and its hint;
and ``TestSpec``, the mark as the grader reads it, checked once."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.errors import ConfigError
from grader.results import Visibility


def grade(
    *,
    points: float,
    exercise: str,
    hint: str,
    visibility: Visibility | str = Visibility.VISIBLE,
    fixed_inputs: str | None = None,
) -> pytest.MarkDecorator:
    """Mark a hidden test: points it is worth, the exercise (the graded
    function's name), a hint that teaches without giving the answer away, and
    who may see its result (Gradescope's visibility values).

    ``fixed_inputs`` is the reason why this test's inputs are the same for
    every submission (its ``rng`` then ignores the submission), e.g. a
    reference that trains a network: too slow to run per submission, and a
    lookup table cannot train a model. Without it, inputs vary per
    submission, so the expected values one submission sees in its feedback
    are of no use to another."""
    if points <= 0:
        raise ValueError(f"points must be positive, got {points}")
    if fixed_inputs is not None and not fixed_inputs.strip():
        raise ValueError("fixed_inputs must say why the inputs are fixed")
    return pytest.mark.grade(
        points=points,
        exercise=exercise,
        hint=hint,
        visibility=str(visibility),
        fixed_inputs=fixed_inputs,
    )


_ARGUMENTS = tuple(inspect.signature(grade).parameters)
"""what ``@grade`` takes, read off its signature so the two cannot differ"""


@dataclass(frozen=True)
class TestSpec:
    """One test of a suite as its ``@grade`` mark describes it, checked."""

    __test__ = False  # not a pytest test class, whatever its name says

    nodeid: str
    """pytest's id, from the suite's folder: ``test_hidden.py::test_relu``"""
    name: str
    """the test's own name, as results show it: ``test_relu``"""
    points: float
    exercise: str
    """the graded function's name"""
    hint: str
    visibility: Visibility
    fixed_inputs: str | None = None
    """why its inputs are the same for every submission (None: they vary)"""

    @classmethod
    def from_mark(
        cls, folder: Path, nodeid: str, name: str, mark: Mapping[str, object]
    ) -> TestSpec:
        """The mark's arguments checked: known ones, positive points, text
        where text is due, a known visibility; a mistake is a ``ConfigError``
        naming the test (``folder`` holds the suite). Whether the exercise
        exists is for the caller to check, who knows the reference."""
        for argument in mark:
            if argument not in _ARGUMENTS:
                close = difflib.get_close_matches(argument, _ARGUMENTS, n=1)
                guess = f"; did you mean {close[0]}?" if close else ""
                raise mark_error(folder, nodeid, f" has an unknown argument {argument}{guess}")
        points = mark.get("points")
        if isinstance(points, bool) or not isinstance(points, int | float) or not points > 0:
            raise mark_error(folder, nodeid, f"(points={points!r}): expected a number above 0")
        exercise = mark.get("exercise")
        if not isinstance(exercise, str):
            raise mark_error(folder, nodeid, f"(exercise={exercise!r}): {EXERCISE_EXPECTED}")
        visibility = mark.get("visibility", Visibility.VISIBLE)
        if not isinstance(visibility, str) or visibility not in tuple(Visibility):
            raise mark_error(
                folder,
                nodeid,
                f"(visibility={visibility!r}): expected one of {', '.join(Visibility)}",
            )
        hint = mark.get("hint", "")
        if not isinstance(hint, str):
            raise mark_error(folder, nodeid, f"(hint={hint!r}): expected text")
        fixed = mark.get("fixed_inputs")
        if fixed is not None and not (isinstance(fixed, str) and fixed.strip()):
            raise mark_error(folder, nodeid, f"(fixed_inputs={fixed!r}): expected text saying why")
        return cls(nodeid, name, float(points), exercise, hint, Visibility(visibility), fixed)


EXERCISE_EXPECTED = "expected the name of a function the solution notebook defines"


def mark_error(folder: Path, nodeid: str, what: str) -> ConfigError:
    """``FOLDER/FILE::TEST: @grade`` followed by ``what`` is wrong."""
    return ConfigError(f"{folder / nodeid}: @grade{what}")
