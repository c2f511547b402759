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
    LayerRecord,
    Mismatch,
    Remote,
    StudentError,
    as_array,
    as_dict,
    as_float,
    as_int,
    as_list,
    as_object,
    as_parts,
    as_shape,
    as_text,
    curve,
    describe,
    expect_close,
    expect_equal,
    expect_same_activations,
    expect_same_kinds,
    expect_same_params,
    expect_same_shapes,
    expect_spec,
    expect_stopped_early,
    fold,
    history_of,
    inbound_layers,
    keep,
    kept,
)
from grader.harness.errors import StudentRaised
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


# ------------------------------------------------- helpers suites share (grader.harness.suite)


@pytest.mark.parametrize("name", sorted(ODD_VALUES))
def test_shared_readers_fail_odd_values_with_a_message(name: str) -> None:
    value = ODD_VALUES[name]
    readers = [
        lambda: as_parts(value, ["model", "history", "scores", "predictions"], what="run"),
        lambda: curve({"loss": value}, "loss", what="the history"),
        lambda: curve(value, "loss", what="the history"),
    ]
    if not isinstance(value, dict):
        readers.append(lambda: as_dict(value, what="the result"))
    if not isinstance(value, (dict, Remote)):  # a handle's `history` is read remotely
        readers.append(lambda: history_of(value, what="fit's result"))
    for reader in readers:
        with pytest.raises(Mismatch):
            reader()


def test_shared_readers_name_what_came_back_as_the_assertions_do() -> None:
    assert describe(handle("History")) == "an object of type History"
    with pytest.raises(Mismatch, match=r"^train_fit should return a tuple \(model, history\), "):
        as_parts((1, 2, 3), ["model", "history"], what="train_fit")
    with pytest.raises(Mismatch, match="but it returned an array of shape"):
        as_parts(np.zeros(2), ["model", "history"], what="train_fit")
    assert as_parts([1, "a"], ["model", "history"], what="train_fit") == [1, "a"]
    with pytest.raises(Mismatch, match="should be a dict, but it is a list of 2 item"):
        as_dict([1, 2], what="the result")
    with pytest.raises(Mismatch, match="should be a History"):
        history_of([0.5, 0.4], what="fit's result")
    assert history_of({"loss": [1.0]}, what="fit's result") == {"loss": [1.0]}


def test_curve_takes_one_finite_number_per_epoch() -> None:
    history = {"loss": [1.0, 0.5], "acc": [True, False], "bad": [1.0, float("nan")], 3: []}
    got = curve(history, "loss", what="h", length=2)
    assert got.dtype == np.float64 and got.tolist() == [1.0, 0.5]
    with pytest.raises(Mismatch, match="has 2 values, but the run had 3 epochs"):
        curve(history, "loss", what="h", length=3)
    with pytest.raises(Mismatch, match="should be a list of numbers"):
        curve(history, "acc", what="h")
    with pytest.raises(Mismatch, match=r"NaN or infinite.*diverged"):
        curve(history, "bad", what="h")
    with pytest.raises(Mismatch, match=r"no 'val_loss' entry \(its keys: \['3', 'acc'"):
        curve(history, "val_loss", what="h")  # keys of mixed types are listed, not compared


def test_early_stopping_ends_patience_epochs_after_the_best() -> None:
    rising = np.array([0.5, 0.4, 0.6, 0.7])  # best at epoch 2, patience 2: stops after 4
    expect_stopped_early(rising, key="val_loss", best=1, epochs=30, patience=2)
    with pytest.raises(Mismatch, match="went on for all 4 epochs"):
        expect_stopped_early(rising, key="val_loss", best=1, epochs=4, patience=2)
    with pytest.raises(Mismatch, match="stop 1 epochs after the best val_loss \\(epoch 2\\)"):
        expect_stopped_early(rising, key="val_loss", best=1, epochs=30, patience=1)


def test_keep_stores_a_failure_for_the_tests_that_need_the_value() -> None:
    def refuse() -> None:
        raise Mismatch("no model")

    def crash() -> None:
        raise StudentRaised("call", "ValueError", "ValueError: bad", ())

    def ours() -> None:
        raise KeyError("the suite's own bug")

    run: dict[str, Any] = {}
    keep(run, "value", lambda: 3)
    keep(run, "refused", refuse)
    keep(run, "crashed", crash)
    assert kept(run, "value") == 3
    with pytest.raises(Mismatch, match="no model"):
        kept(run, "refused")
    with pytest.raises(StudentError):
        kept(run, "crashed")
    with pytest.raises(KeyError):  # a bug of the suite is not kept: it fails the fixture
        keep(run, "ours", ours)


# ------------------------------------------- models layer by layer (grader.harness.layers)

CNN = [
    LayerRecord("InputLayer", (), 0, None),
    LayerRecord("Conv2D", (None, 30, 30, 32), 896, "linear"),
    LayerRecord("ReLU", (None, 30, 30, 32), 0, "relu"),
    LayerRecord("Flatten", (None, 28800), 0, None),
    LayerRecord("Dense", (None, 10), 288_010, "softmax"),
]


def test_fold_reads_an_activation_layer_as_part_of_the_layer_before() -> None:
    folded = fold(CNN)
    assert [r.kind for r in folded] == ["Conv2D", "Flatten", "Dense"]
    assert folded[0].activation == "relu"
    for check in (expect_same_kinds, expect_same_shapes, expect_same_params):
        check(folded, fold(CNN), name="the course's CNN")
    expect_same_activations(folded, fold(CNN), name="the course's CNN")


def test_comparisons_name_the_first_layer_that_differs() -> None:
    want = fold(CNN)
    pooled = [want[0], LayerRecord("MaxPooling2D", (None, 15, 15, 32), 0, None), *want[1:]]
    with pytest.raises(Mismatch, match="layer 2 of your model is a MaxPooling2D, but the course"):
        expect_same_kinds(pooled, want, name="the course's CNN")
    with pytest.raises(
        Mismatch, match=r"stops after 2 layers, .* goes on with a Dense \(layer 3\)"
    ):
        expect_same_kinds(want[:2], want, name="the course's CNN")
    with pytest.raises(Mismatch, match=r"layer 2 of your model \(MaxPooling2D\) outputs shape"):
        expect_same_shapes(pooled, want, name="the course's CNN")
    smaller = [*want[:2], LayerRecord("Dense", (None, 10), 10, "softmax")]
    with pytest.raises(Mismatch, match="In all, yours has 906 and the course's CNN 288,906"):
        expect_same_params(smaller, want, name="the course's CNN")
    linear = [*want[:2], LayerRecord("Dense", (None, 10), 288_010, "linear")]
    with pytest.raises(
        Mismatch, match=r"second layer with weights in your model \(Dense, layer 3\)"
    ):
        expect_same_activations(linear, want, name="the course's CNN")


def test_inbound_layers_reads_the_keras_tensors_of_a_node() -> None:
    def tensor(name: str) -> dict[str, Any]:
        config = {"shape": [None, 8], "keras_history": [name, 0, 0]}
        return {"class_name": "__keras_tensor__", "config": config}

    node = {"args": [[tensor("conv_a"), tensor("conv_b")]], "kwargs": {"mask": None}}
    assert inbound_layers(node) == ["conv_a", "conv_b"]
    assert inbound_layers({"args": [tensor("input")]}) == ["input"]
    assert inbound_layers("odd") == [] and inbound_layers(None) == []
