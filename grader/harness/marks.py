"""The ``grade`` mark: how many points a hidden test is worth, and its hint."""

from __future__ import annotations

import pytest

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
