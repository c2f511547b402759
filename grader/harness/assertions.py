"""Comparisons for hidden tests, failing with messages written for students.

They run on the trusted side, on plain data that crossed the wire, so a
submission that patches numpy in its sandbox cannot change their answer.
The messages never quote the hidden test's source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grader.results import Comparison, Frame

__all__ = ["Mismatch", "as_array", "expect", "expect_close", "expect_equal"]


PREVIEW = 6
"""values shown on each side of a comparison"""


class Mismatch(AssertionError):
    """The student's result differs from what the test expected."""

    def __init__(
        self,
        message: str,
        comparison: Comparison | None = None,
        frames: tuple[Frame, ...] = (),
    ) -> None:
        """``frames``: the student's own traceback lines, when a suite turns a
        ``StudentError`` into a Mismatch to explain a known mistake."""
        super().__init__(message)
        self.comparison = comparison
        self.frames = frames


def _describe(value: Any) -> str:
    """Name a value's kind the way a student would recognise it."""
    from grader.harness.proxy import Remote

    if isinstance(value, Remote):
        return f"an object of type {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"a value of type {type(value).__name__}"


def as_array(value: Any, *, what: str = "your result") -> np.ndarray:
    """The value as a numpy array, or a Mismatch saying why it is not one.

    Tensors from the reference are converted here; student tensors already
    crossed the wire as arrays. Handles (objects left in the sandbox) are
    refused: a test that wants a variable's value asks for ``.numpy()``.
    """
    from grader.harness.proxy import Remote

    if isinstance(value, Remote):
        raise Mismatch(f"{what} should be a tensor or array, but it is {_describe(value)}.")
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError as err:
            raise Mismatch(f"{what} is a ragged list that is not an array.") from err
        if array.dtype != object:
            return array
    raise Mismatch(f"{what} should be a tensor or array, but it is {_describe(value)}.")


def _where(index: tuple[int, ...]) -> str:
    return "at index [" + ", ".join(str(i) for i in index) + "]" if index else ""


def expect_close(
    got: Any,
    want: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    check_dtype: bool = True,
    what: str = "your result",
) -> None:
    """Assert two tensors agree in shape, dtype and values within tolerance.

    The message names the first thing that differs: the shape, then the
    dtype, then the values, with the largest error and where it is.
    """
    expected = as_array(want, what="the expected value")
    actual = as_array(got, what=what)
    shapes = Comparison(
        expected_shape=tuple(expected.shape),
        got_shape=tuple(actual.shape),
        expected_dtype=str(expected.dtype),
        got_dtype=str(actual.dtype),
    )
    if actual.shape != expected.shape:
        raise Mismatch(
            f"{what} has shape {tuple(actual.shape)}, but shape {tuple(expected.shape)} "
            "was expected.",
            shapes,
        )
    if check_dtype and actual.dtype != expected.dtype:
        raise Mismatch(
            f"{what} has dtype {actual.dtype}, but {expected.dtype} was expected.", shapes
        )
    if actual.size == 0:
        return
    numeric = np.issubdtype(expected.dtype, np.number) or expected.dtype == bool
    if not numeric or not (np.issubdtype(actual.dtype, np.number) or actual.dtype == bool):
        if not np.array_equal(actual, expected):
            raise Mismatch(f"{what} has the right shape but different values.")
        return
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    nan_mismatch = np.isnan(a) != np.isnan(e)
    if nan_mismatch.any():
        index = tuple(int(i) for i in np.argwhere(nan_mismatch)[0])
        raise Mismatch(
            f"{what} has NaN where a number was expected (or the reverse) {_where(index)}: "
            "look for overflow, log of zero or division by zero.",
            _compared(shapes, a, e, index, None, None),
        )
    both = ~np.isnan(e)
    with np.errstate(invalid="ignore"):
        error = np.where(both, np.abs(a - e), 0.0)
        inf_same = np.isinf(a) & np.isinf(e) & (np.sign(a) == np.sign(e))
        error = np.where(inf_same, 0.0, error)
    error = np.nan_to_num(error, nan=np.inf)
    bad = error > atol + rtol * np.abs(np.nan_to_num(e))
    if bad.any():
        worst = np.unravel_index(int(np.argmax(np.where(bad, error, -1.0))), error.shape)
        index = tuple(int(i) for i in worst)
        count = int(bad.sum())
        scale = np.abs(np.nan_to_num(e))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(bad & (scale > 0), error / scale, 0.0)
        relative = float(np.max(ratios)) if np.isfinite(ratios).all() else None
        raise Mismatch(
            f"{what} differs in {count} of {actual.size} values; the largest absolute error "
            f"is {error[worst]:.3g} {_where(index)}".rstrip()
            + f" (expected {e[worst]:.6g}, got {a[worst]:.6g}).",
            _compared(shapes, a, e, index, float(error[worst]), relative),
        )


def _compared(
    shapes: Comparison,
    actual: np.ndarray,
    expected: np.ndarray,
    worst: tuple[int, ...],
    abs_error: float | None,
    rel_error: float | None,
) -> Comparison:
    """The comparison with its errors and a few values around the worst one."""
    flat = int(np.ravel_multi_index(worst, actual.shape)) if actual.ndim else 0
    start = max(0, min(flat - PREVIEW // 2, actual.size - PREVIEW))
    window = slice(start, start + PREVIEW)
    return Comparison(
        expected_shape=shapes.expected_shape,
        got_shape=shapes.got_shape,
        expected_dtype=shapes.expected_dtype,
        got_dtype=shapes.got_dtype,
        max_abs_error=abs_error if abs_error is None or np.isfinite(abs_error) else None,
        max_rel_error=rel_error,
        worst_index=worst,
        expected_preview=tuple(_json_number(v) for v in expected.ravel()[window]),
        got_preview=tuple(_json_number(v) for v in actual.ravel()[window]),
    )


def _json_number(value: float) -> float | str:
    """A float, or "nan"/"inf"/"-inf" as text (JSON has no such numbers)."""
    number = float(value)
    return number if np.isfinite(number) else str(number)


def expect_equal(got: Any, want: Any, *, what: str = "your result") -> None:
    """Assert two plain values (numbers, strings, lists, shapes) are equal."""
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        got, want = list(got), list(want)
    if type(got) is not type(want) and not (
        isinstance(got, (int, float)) and isinstance(want, (int, float))
    ):
        raise Mismatch(f"{what} should be {_plain(want)}, but it is {_describe(got)}.")
    if got != want:
        raise Mismatch(f"{what} is {_plain(got)}, but {_plain(want)} was expected.")


def expect(condition: bool, message: str) -> None:
    """Assert a condition, failing with a message written for the student."""
    if not condition:
        raise Mismatch(message)


def _plain(value: Any) -> str:
    text = repr(value) if not isinstance(value, Sequence) or isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
