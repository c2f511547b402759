"""Checks that a student's object is the TensorFlow type an exercise teaches,
by what it does in the sandbox rather than by its name.

A handle's ``type_name`` is whatever the student called their class, and a
duck-typed class with ``trainable``, ``shape`` and ``numpy()`` answers the
attribute reads a test makes. These helpers make the object do what only
the real type does all at once: a variable keeps its shape when assigned
and reads back what it was given; a ``tf.function`` hands out a concrete
function whose traced graph holds TensorFlow operations; a ``tf.TensorSpec``
crosses the wire as its own kind of record, which nothing else becomes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.harness.assertions import (
    as_array,
    as_int,
    as_list,
    as_object,
    as_shape,
    as_text,
    attribute,
    describe,
    expect,
    expect_close,
    method,
)
from grader.harness.errors import Mismatch, StillAStub, StudentError
from grader.harness.proxy import Remote
from grader.sandbox.wire import TensorSpecData

__all__ = ["expect_spec", "expect_traced", "expect_variable"]

GRAPH_PLUMBING = {"Placeholder", "Identity", "NoOp", "Const"}
"""operations every traced graph has, whatever the function computes"""


def expect_variable(value: Any, *, what: str) -> Remote:
    """``value`` behaves as a ``tf.Variable``: it reads back what ``assign`` and
    ``assign_add`` gave it, and refuses a value of another shape. Its value
    is put back afterwards, so a test can go on to check it."""
    variable = as_object(value, kind="tf.Variable", what=what)
    shape = as_shape(attribute(variable, "shape", what=what), what=f"the shape of {what}")
    original = as_array(method(variable, "numpy", what=what)(), what=f"the value of {what}")
    expect(
        tuple(original.shape) == shape,
        f"{what} says its shape is {shape}, but its value has shape {tuple(original.shape)}.",
    )
    values = (np.arange(original.size) % 7 + 1).reshape(original.shape).astype(original.dtype)
    _mutate(variable, "assign", values, what)
    _read_back(variable, values, f"after {what}.assign(...)", what)
    _mutate(variable, "assign_add", np.ones_like(values), what)
    _read_back(variable, values + np.ones_like(values), f"after {what}.assign_add(...)", what)
    wrong = np.zeros((*original.shape, 2), dtype=original.dtype)
    try:
        _mutate(variable, "assign", wrong, what)
    except StudentError as err:
        if isinstance(err, StillAStub):  # any other error is the refusal a variable gives
            raise
    else:
        raise Mismatch(
            f"{what} accepted a value of shape {wrong.shape} although its shape is {shape}, "
            "so it is not a tf.Variable: a variable's shape is fixed when it is created."
        )
    _mutate(variable, "assign", original, what)
    return variable


def _mutate(variable: Remote, name: str, values: np.ndarray, what: str) -> None:
    method(variable, name, what=what)(values)


def _read_back(variable: Remote, expected: np.ndarray, when: str, what: str) -> None:
    for reader in ("read_value", "numpy"):
        expect_close(
            method(variable, reader, what=what)(),
            expected,
            rtol=0.0,
            atol=0.0,
            what=f"{what}.{reader}() {when}",
        )


def expect_traced(function: Any, *args: Any, what: str) -> Remote:
    """``function`` is a ``tf.function``: it hands out a concrete function for
    ``args`` (none if it has an input signature) whose graph computes with
    TensorFlow operations, and it counts its traces."""
    traced = as_object(function, kind="tf.function", what=what)
    try:
        get_concrete = method(traced, "get_concrete_function", what=what)
    except Mismatch:
        raise Mismatch(
            f"{what} is not a tf.function (it has no get_concrete_function method): decorate "
            "it with @tf.function so that TensorFlow traces it into a graph."
        ) from None
    concrete = as_object(
        get_concrete(*args),
        kind="concrete function",
        what=f"{what}.get_concrete_function()",
    )
    graph = attribute(concrete, "graph", what=f"the concrete function of {what}")
    graph = as_object(graph, kind="graph", what=f"the graph of {what}")
    operations = as_list(
        method(graph, "get_operations", what=f"the graph of {what}")(),
        what=f"the operations of {what}'s graph",
    )
    kinds = set()
    for operation in operations:
        op = as_object(operation, kind="operation", what=f"an operation of {what}'s graph")
        kinds.add(as_text(attribute(op, "type", what="an operation"), what="an operation's type"))
    expect(
        bool(kinds - GRAPH_PLUMBING),
        f"the graph TensorFlow traced from {what} computes nothing: it should compute with "
        "TensorFlow operations (tf.*), which become the graph's nodes.",
    )
    count = as_int(
        method(traced, "experimental_get_tracing_count", what=what)(),
        what=f"{what}'s tracing count",
    )
    expect(count >= 1, f"{what} says it was traced {count} times after tracing it.")
    return traced


def expect_spec(
    value: Any, *, shape: tuple[int | None, ...] | None, dtype: str, what: str
) -> TensorSpecData:
    """``value`` is a ``tf.TensorSpec`` with this shape and dtype."""
    if not isinstance(value, TensorSpecData):
        raise Mismatch(f"{what} should be a tf.TensorSpec, but it is {describe(value)}.")
    expect(
        value.shape == shape,
        f"the shape of {what} is {value.shape}, but {shape} was expected.",
    )
    expect(value.dtype == dtype, f"the dtype of {what} is {value.dtype}, but {dtype} was expected.")
    return value
