"""The ``grade`` mark: how many points a hidden test is worth, and its hint."""

from __future__ import annotations

from typing import Literal

import pytest

Visibility = Literal["visible", "after_due_date", "after_published", "hidden"]


def grade(
    *,
    points: float,
    exercise: str,
    hint: str,
    visibility: Visibility = "visible",
) -> pytest.MarkDecorator:
    """Mark a hidden test: points it is worth, the exercise (the graded
    function's name), a hint that teaches without giving the answer away, and
    who may see its result (Gradescope's visibility values)."""
    if points <= 0:
        raise ValueError(f"points must be positive, got {points}")
    return pytest.mark.grade(points=points, exercise=exercise, hint=hint, visibility=visibility)
