"""Comparisons for hidden tests, failing with messages written for students.

They run on the trusted side, on plain data that crossed the wire, so a
submission that patches numpy in its sandbox cannot change their answer.
The messages never quote the hidden test's source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from grader.harness.errors import Mismatch, StudentError, StudentRaised
from grader.results import Comparison

if TYPE_CHECKING:
    from grader.harness.proxy import Remote

__all__ = [
    "as_array",
    "as_float",
    "as_int",
    "as_list",
    "as_object",
    "as_shape",
    "as_text",
    "attribute",
    "describe",
    "expect",
    "expect_close",
    "expect_equal",
    "method",
    "not_data",
]


PREVIEW = 6
"""values shown on each side of a comparison"""


def not_data(message: str, value: Any) -> Mismatch:
    """The Mismatch for ``value`` where data was expected. A handle there is
    recorded as such, since the class summary flags it as possible tampering
    (an object whose ``__eq__`` always says yes, say)."""
    from grader.harness.proxy import Remote

    return Mismatch(message, handle_type=value.type_name if isinstance(value, Remote) else "")


MAX_LEAVES = 1_000_000
"""elements of a nested list that ``as_array`` inspects before giving up"""

REAL_KINDS = "biuf"
"""numpy dtype kinds of booleans, integers and real floats"""


def describe(value: Any) -> str:
    """A value's kind as a student recognises it ("an array of shape (2, 3)
    and dtype float32", "an object of type Sequential"): for a suite's
    message about a value it rejects itself."""
    from grader.harness.proxy import Remote

    if isinstance(value, Remote):
        return f"an object of type {value.type_name}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {_plain(value)}"
    if isinstance(value, (list, tuple, dict)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a value of type {type(value).__name__}"


def _dtype_problem(array: np.ndarray) -> str | None:
    """Why an array's dtype is not one of real numbers or booleans, if it is not."""
    kind = array.dtype.kind
    if kind in REAL_KINDS:
        return None
    if kind == "c":
        return "complex numbers, but real numbers were expected"
    if array.dtype.fields is not None or kind == "V":
        return f"a structured dtype ({_plain(str(array.dtype))}), but plain numbers were expected"
    if kind in "US":
        return "text, but numbers were expected"
    return f"dtype {_plain(str(array.dtype))}, but numbers were expected"


def _leaf_problem(value: Any) -> str | None:
    """Why a nested list cannot be an array of numbers: the first element that
    is not a number (a handle, text, None, a dict), if there is one."""
    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_LEAVES:
            return "too large a nested list"
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, np.ndarray):
            if _dtype_problem(item):
                return f"an element that is {describe(item)}"
        elif not isinstance(item, (bool, int, float, np.bool_, np.integer, np.floating)):
            return f"an element that is {describe(item)}"
    return None


def _to_array(value: Any) -> np.ndarray | str:
    """The value as an array of real numbers or booleans, or why it is not one."""
    from grader.harness.proxy import Remote

    if isinstance(value, Remote):
        return f"should be a tensor or array, but it is {describe(value)}"
    if not isinstance(value, (np.ndarray, list, tuple)) and hasattr(value, "numpy"):
        value = value.numpy()  # a reference's tensor: student tensors arrive as arrays
    if isinstance(value, (bool, int, float, np.generic)):
        value = np.asarray(value)
    if isinstance(value, (list, tuple)):
        problem = _leaf_problem(value)
        if problem:
            return f"should be a tensor or array, but it is a {type(value).__name__} with {problem}"
        try:
            value = np.asarray(value)
        except (ValueError, OverflowError):
            return "is a ragged list that is not an array"
    if not isinstance(value, np.ndarray):
        return f"should be a tensor or array, but it is {describe(value)}"
    problem = _dtype_problem(value)
    return f"holds {problem}" if problem else value


def as_array(value: Any, *, what: str = "your result") -> np.ndarray:
    """The value as an array of real numbers or booleans, or a Mismatch saying
    why it is not one.

    Tensors from the reference are converted here; student tensors already
    crossed the wire as arrays. Handles (objects left in the sandbox) are
    refused: a test that wants a variable's value asks for ``.numpy()``.
    Text, None, structured, complex and object arrays are refused too, so
    whatever the student returned, a suite's numpy code gets numbers.
    """
    array = _to_array(value)
    if isinstance(array, str):
        raise not_data(f"{what} {array}.", value)
    return array


def as_int(value: Any, *, what: str) -> int:
    """A whole number: a Python int or a 0-d integer array (a NumPy integer)."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        return int(value)
    if type(value) is int:
        return value
    raise not_data(f"{what} should be a whole number, but it is {describe(value)}.", value)


def as_float(value: Any, *, what: str) -> float:
    """A real number: a Python int or float, or a 0-d numeric array."""
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        return float(value)
    if type(value) in (int, float):
        try:
            return float(value)
        except OverflowError:
            raise Mismatch(f"{what} should be a number, but it is too large for a float.") from None
    raise not_data(f"{what} should be a number, but it is {describe(value)}.", value)


def as_text(value: Any, *, what: str) -> str:
    """A string (a dtype's name crosses the wire as one)."""
    if type(value) is not str:
        raise not_data(f"{what} should be text, but it is {describe(value)}.", value)
    return value


def as_list(value: Any, *, what: str) -> list[Any]:
    """A list or tuple's items. An object left in the sandbox is refused, so
    a suite never calls ``len()`` on it or iterates it remotely."""
    if not isinstance(value, (list, tuple)):
        raise not_data(f"{what} should be a list, but it is {describe(value)}.", value)
    return list(value)


def as_shape(value: Any, *, what: str) -> tuple[int | None, ...]:
    """A shape (a TensorShape crosses the wire as a tuple): whole numbers or None."""
    if isinstance(value, (list, tuple)) and all(
        d is None or (type(d) is int and d >= 0) for d in value
    ):
        return tuple(value)
    raise not_data(f"{what} should be a shape, but it is {describe(value)}.", value)


def as_object(value: Any, *, kind: str, what: str) -> Remote:
    """An object left in the sandbox (a handle), or a Mismatch naming what
    came back instead: data where a variable, layer or model was expected."""
    from grader.harness.proxy import Remote

    if not isinstance(value, Remote):
        hint = ": is a return missing?" if value is None else ""
        raise Mismatch(f"{what} should be a {kind}, but it is {describe(value)}{hint}.")
    return value


def attribute(target: Any, name: str, *, what: str) -> Any:
    """``target.name``, or a Mismatch if the student's object has no such
    attribute, or is data rather than an object."""
    from grader.harness.proxy import Remote

    if not isinstance(target, Remote):
        raise Mismatch(f"{what} has no attribute `{name}`: it is {describe(target)}.")
    try:
        return getattr(target, name)
    except StudentError as err:
        if not isinstance(err, StudentRaised) or err.type_name != "AttributeError":
            raise
        raise Mismatch(f"{what} has no attribute `{name}`.", frames=err.frames) from None


def method(target: Any, name: str, *, what: str) -> Remote:
    """``target.name`` where a method is expected: a Mismatch if the object has
    no such attribute or holds data there, which calling would not survive."""
    from grader.harness.proxy import Remote

    found = attribute(target, name, what=what)
    if not isinstance(found, Remote):
        raise Mismatch(f"`{name}` of {what} should be a method, but it is {describe(found)}.")
    return found


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
    expected = _to_array(want)
    if isinstance(expected, str):
        raise TypeError(f"the expected value {expected}")  # the suite's bug: INTERNAL
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
        expected_preview=tuple(_json_number(v) for v in expected.flat[window]),
        got_preview=tuple(_json_number(v) for v in actual.flat[window]),
    )


def _json_number(value: float) -> float | str:
    """A float, or "nan"/"inf"/"-inf" as text (JSON has no such numbers)."""
    number = float(value)
    return number if np.isfinite(number) else str(number)


def expect_equal(got: Any, want: Any, *, what: str = "your result") -> None:
    """Assert two plain values (numbers, strings, lists, dicts, shapes) are
    equal, comparing types as well (a bool is not a number here), so no
    student value can make the comparison itself fail."""
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        got, want = list(got), list(want)
    if not _same_kind(got, want):
        raise not_data(f"{what} should be {_plain(want)}, but it is {describe(got)}.", got)
    if not _same(got, want):
        raise Mismatch(f"{what} is {_plain(got)}, but {_plain(want)} was expected.")


def _same_kind(got: Any, want: Any) -> bool:
    number = (int, float)
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want)
    if isinstance(want, number) and isinstance(got, number):
        return True
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple))
    return type(got) is type(want)


def _same(got: Any, want: Any) -> bool:
    """Equality that checks kinds at every level and never asks an array for
    its truth value."""
    if not _same_kind(got, want):
        return False
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k]) for k in want)
    if isinstance(want, np.ndarray):
        return (
            got.shape == want.shape
            and got.dtype == want.dtype
            and _dtype_problem(got) is None
            and bool(np.array_equal(got, want))
        )
    return bool(got == want)


def expect(condition: bool, message: str) -> None:
    """Assert a condition, failing with a message written for the student."""
    if not condition:
        raise Mismatch(message)


def _plain(value: Any) -> str:
    text = repr(value) if not isinstance(value, Sequence) or isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
