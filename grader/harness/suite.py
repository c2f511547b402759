"""Helpers that two or more suites wrote for themselves, kept here once.

Each reads a student's value through the assertions (``as_object``,
``as_array``, ``attribute``, ...), so a suite never writes its own wording
for what came back: the same mistake reads the same in every assignment,
and whatever the assertions record on a ``Mismatch`` reaches every suite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from grader.harness.assertions import (
    as_array,
    as_int,
    as_list,
    as_object,
    as_shape,
    attribute,
    describe,
    expect,
    method,
    not_data,
)
from grader.harness.errors import Mismatch, StudentError
from grader.harness.proxy import Remote
from grader.texts import NAME_CHARS

__all__ = [
    "as_dict",
    "as_model",
    "as_parts",
    "curve",
    "expect_stopped_early",
    "history_of",
    "keep",
    "kept",
    "list_of",
    "parameter_count",
    "shape_of",
    "tracing_count",
    "value_of",
]


def as_dict(value: Any, *, what: str) -> dict[Any, Any]:
    """A dict (a history, a dict of scores), or a Mismatch naming what came back."""
    if not isinstance(value, dict):
        raise not_data(f"{what} should be a dict, but it is {describe(value)}.", value)
    return value


def as_model(value: Any, *, what: str) -> Remote:
    """A Keras model left in the sandbox (a handle), or a Mismatch naming the
    data that came back instead."""
    return as_object(value, kind="Keras model", what=what)


def as_parts(value: Any, names: Sequence[str], *, what: str) -> list[Any]:
    """The items of a tuple a function returns, one per name, or a Mismatch
    saying how many values (or what else) ``what`` returned instead."""
    if isinstance(value, (list, tuple)):
        if len(value) == len(names):
            return list(value)
        returned = f"{len(value)} values"
    else:
        returned = describe(value)
    raise not_data(
        f"{what} should return a tuple ({', '.join(names)}), but it returned {returned}.", value
    )


def keep(run: dict[str, Any], key: str, call: Callable[[], Any]) -> None:
    """``run[key] = call()``, or the failure instead. A module fixture runs a
    slow step once for several tests; its failure belongs to the tests that
    use that value (``kept`` raises it there), not to every test of the run."""
    try:
        run[key] = call()
    except (Mismatch, StudentError) as error:
        run[key] = error


def kept(run: dict[str, Any], key: str) -> Any:
    """The value ``keep`` stored, or the failure it stored, raised again."""
    value = run[key]
    if isinstance(value, BaseException):
        raise value
    return value


def shape_of(target: Any, *, what: str) -> tuple[int | None, ...]:
    """An object's ``shape``, checked to be a shape."""
    return as_shape(attribute(target, "shape", what=what), what=f"the shape of {what}")


def list_of(target: Any, name: str, *, what: str) -> list[Any]:
    """A list attribute of an object (``layers``, ``weights``, ...), checked to be a list."""
    return as_list(attribute(target, name, what=what), what=f"{what}'s `{name}`")


def value_of(variable: Any, *, what: str) -> np.ndarray:
    """A variable's (or tensor's) value, read with its ``numpy()`` method."""
    return as_array(method(variable, "numpy", what=what)(), what=f"the value of {what}")


def parameter_count(model: Any, *, what: str) -> int:
    """A layer's or model's ``count_params()``, checked to be a whole number."""
    return as_int(method(model, "count_params", what=what)(), what=f"{what}'s parameter count")


def tracing_count(function: Any, *, what: str) -> int:
    """How many times a ``tf.function`` has traced, checked to be a whole number."""
    return as_int(
        method(function, "experimental_get_tracing_count", what=what)(),
        what=f"{what}'s tracing count",
    )


def history_of(value: Any, *, what: str) -> dict[Any, Any]:
    """The per-epoch dict of a Keras ``History`` (``fit``'s result); the dict
    itself (``history.history``) is accepted too."""
    if isinstance(value, dict):
        return value
    history = as_object(value, kind="History (or its dict of per-epoch lists)", what=what)
    return as_dict(attribute(history, "history", what=what), what=f"{what}.history")


MAX_EPOCHS = 10_000
"""the most values ``curve`` accepts: a run longer than that is not a run a
suite asked for, and every value is kept in the result"""
SHOWN_KEYS = 10
"""the keys of a history a message lists"""


def curve(history: Any, key: str, *, what: str, length: int | None = None) -> np.ndarray:
    """``history[key]`` as a float64 vector of at most ``MAX_EPOCHS`` finite
    numbers, one per epoch (``length`` of them, if given)."""
    history = as_dict(history, what=what)
    keys = sorted(str(k)[:NAME_CHARS] for k in history)
    shown = keys[:SHOWN_KEYS] + ([f"{len(keys) - SHOWN_KEYS} more"] if keys[SHOWN_KEYS:] else [])
    expect(key in history, f"{what} has no {key!r} entry (its keys: {shown}).")
    values = as_array(history[key], what=f"{what}[{key!r}]")
    expect(
        values.ndim == 1 and values.size > 0 and values.dtype.kind in "fiu",
        f"{what}[{key!r}] should be a list of numbers, one per epoch.",
    )
    expect(
        values.size <= MAX_EPOCHS,
        f"{what}[{key!r}] has {values.size} values, but a run here has at most {MAX_EPOCHS} "
        "epochs: it should hold one value per epoch.",
    )
    if length is not None:
        expect(
            values.size == length,
            f"{what}[{key!r}] has {values.size} values, but the run had {length} epochs.",
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        expect(
            False,
            f"{what}[{key!r}] holds NaN or infinite values ({values[bad[0]]} at epoch "
            f"{bad[0] + 1}). The training diverged: is the learning rate too large?",
        )
    return values.astype(np.float64)


def expect_stopped_early(
    values: np.ndarray, *, key: str, best: int, epochs: int, patience: int
) -> None:
    """A run validated on labels that contradict its training data, so that
    ``key`` (one value per epoch) gets worse as the model learns, was ended by
    early stopping ``patience`` epochs after its best epoch (index ``best``)."""
    expect(
        values.size < epochs,
        f"with validation labels that contradict the training data, {key} gets worse as the "
        f"model learns, yet the run went on for all {epochs} epochs: early stopping did not act.",
    )
    expect(
        values.size == best + patience + 1,
        f"with patience {patience} the run should stop {patience} epochs after the best {key} "
        f"(epoch {best + 1}), but it stopped after epoch {values.size}: is it watching {key}?",
    )
