"""The harness's helpers turn any value a student's code can return into a
pass or a Mismatch with a message, never into an exception of ours (which
would be the grader's failure, verdict INTERNAL). Values here are what the
wire can deliver: JSON data, tuples, dicts, arrays of any dtype numpy loads
without pickle, tensor specs and handles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.harness import (
    Mismatch,
    Remote,
    as_array,
    as_float,
    as_int,
    as_list,
    as_object,
    as_shape,
    as_text,
    expect_close,
    expect_equal,
    expect_spec,
)
from grader.sandbox.wire import TensorSpecData


def handle(type_name: str = "Variable") -> Remote:
    """A handle with no sandbox behind it: any remote use of it fails the test."""
    return Remote(None, {"$handle": 1}, type_name, 0)  # type: ignore[arg-type]


ODD_VALUES: dict[str, Any] = {
    "string": "0.5",
    "none": None,
    "dict": {"a": 1.0},
    "handle": handle(),
    "list of handles": [handle(), handle()],
    "list with a string": [1.0, "2.0", 3.0],
    "list with None": [[1.0, None]],
    "ragged list": [[1.0], [2.0, 3.0]],
    "huge int": 2**2000,
    "structured array": np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]),
    "complex array": np.ones(3, dtype=complex),
    "text array": np.array(["1", "2", "3"]),
    "bytes array": np.array([b"1", b"2", b"3"]),
    "datetime array": np.zeros(3, dtype="M8[s]"),
    "void scalar": np.zeros(1, dtype=[("a", "<f4")])[0],
    "list of structured arrays": [np.zeros(3, dtype=[("a", "<f4")])],
}


@pytest.mark.parametrize("name", sorted(ODD_VALUES))
@pytest.mark.parametrize("check_dtype", [True, False])
def test_expect_close_fails_odd_values_with_a_message(name: str, check_dtype: bool) -> None:
    with pytest.raises(Mismatch) as caught:
        expect_close(
            ODD_VALUES[name], np.zeros(3, np.float32), check_dtype=check_dtype, what="your result"
        )
    assert str(caught.value).startswith("your result ")


@pytest.mark.parametrize("name", sorted(ODD_VALUES))
def test_as_array_refuses_odd_values(name: str) -> None:
    with pytest.raises(Mismatch):
        as_array(ODD_VALUES[name], what="x")


@pytest.mark.parametrize("name", sorted(ODD_VALUES))
@pytest.mark.parametrize(
    "want", [3, 1.5, True, "float32", (None, 3), [1, 2], {"a": [1, 2]}], ids=repr
)
def test_expect_equal_fails_odd_values_with_a_message(name: str, want: Any) -> None:
    with pytest.raises(Mismatch):
        expect_equal(ODD_VALUES[name], want, what="x")


def test_expect_equal_compares_nested_arrays_without_asking_their_truth() -> None:
    with pytest.raises(Mismatch, match="x is"):
        expect_equal([np.zeros(2)], [1], what="x")
    with pytest.raises(Mismatch):
        expect_equal({"a": np.zeros(2)}, {"a": np.ones(2)}, what="x")
    expect_equal({"a": [1, (2, 3)]}, {"a": (1, [2, 3])}, what="x")


def test_expect_equal_keeps_booleans_apart_from_numbers() -> None:
    with pytest.raises(Mismatch, match="should be True"):
        expect_equal(1, True, what="the flag")
    expect_equal(3, 3.0, what="a count")


def test_a_huge_broadcast_array_is_compared_without_copying_it() -> None:
    huge = np.broadcast_to(np.float32(1.0), (10**6, 10**6))  # 4 TB if it were copied
    with pytest.raises(Mismatch, match="has shape"):
        expect_close(huge, np.zeros(3, np.float32))
    assert as_array(huge, what="x") is huge


def test_values_are_still_compared_exactly() -> None:
    expect_close(np.float32([1.0, 2.0]), np.float32([1.0, 2.0]))
    expect_close([1, 2], np.array([1, 2]))
    with pytest.raises(Mismatch, match=r"expected 2, got 3") as caught:
        expect_close(np.float32([1.0, 3.0]), np.float32([1.0, 2.0]))
    assert caught.value.comparison is not None
    assert caught.value.comparison.worst_index == (1,)


def test_an_odd_expected_value_is_the_suites_bug() -> None:
    with pytest.raises(TypeError, match="the expected value"):
        expect_close(np.zeros(3), "zeros")


@pytest.mark.parametrize(
    ("helper", "good", "value"),
    [
        (as_int, [3, np.asarray(3, np.int64), np.asarray(3, np.uint8)], 3),
        (as_float, [2.5, np.asarray(2.5, np.float32)], 2.5),
        (as_text, ["float32"], "float32"),
        (as_list, [[1, 2], (1, 2)], [1, 2]),
        (as_shape, [(None, 3), [None, 3]], (None, 3)),
    ],
)
def test_converters_accept_what_the_wire_delivers(helper: Any, good: list[Any], value: Any) -> None:
    for item in good:
        assert helper(item, what="x") == value


@pytest.mark.parametrize("helper", [as_int, as_float, as_text, as_list, as_shape])
@pytest.mark.parametrize("name", sorted(ODD_VALUES))
def test_converters_refuse_odd_values(helper: Any, name: str) -> None:
    value = ODD_VALUES[name]
    if (
        (helper is as_text and isinstance(value, str))
        or (helper is as_list and isinstance(value, list))
        or (helper is as_int and type(value) is int)
    ):
        return  # the right kind: the suite checks its items or its size
    with pytest.raises(Mismatch, match=r"^x should be"):
        helper(value, what="x")


def test_converters_refuse_booleans_as_numbers_and_handles_as_lists() -> None:
    for helper in (as_int, as_float):
        with pytest.raises(Mismatch):
            helper(True, what="x")
    with pytest.raises(Mismatch, match="object of type Sequential"):
        as_list(handle("Sequential"), what="x")
    with pytest.raises(Mismatch):
        as_shape((3, -1), what="x")


def test_as_object_names_what_came_back_instead() -> None:
    with pytest.raises(Mismatch, match="should be a Keras model, but it is None: is a return"):
        as_object(None, kind="Keras model", what="build_model()")
    with pytest.raises(Mismatch, match="an array of shape"):
        as_object(np.zeros(2), kind="tf.Variable", what="make_weights()")
    assert as_object(handle(), kind="tf.Variable", what="v").type_name == "Variable"


def test_expect_spec_takes_only_a_real_tensor_spec() -> None:
    spec = TensorSpecData(shape=(None, None), dtype="float32", name=None)
    expect_spec(spec, shape=(None, None), dtype="float32", what="the spec")
    for fake in ("TensorSpec(shape=(None, None))", handle("TensorSpec"), (None, None)):
        with pytest.raises(Mismatch, match=r"should be a tf\.TensorSpec"):
            expect_spec(fake, shape=(None, None), dtype="float32", what="the spec")
    with pytest.raises(Mismatch, match="the shape of the spec"):
        expect_spec(spec, shape=(None, 3), dtype="float32", what="the spec")
