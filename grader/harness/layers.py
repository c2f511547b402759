"""A Keras model described layer by layer, as a student reads ``model.summary()``,
and compared with the reference's, one fact at a time.

The student's model stays in the sandbox: only each layer's kind, output
shape, parameter count and configuration cross the wire. The reference's
is described from the real object on this side. Each comparison names the
first layer that differs, so that a model with one wrong layer fails the
test about that fact only (kinds, shapes, parameters or activations).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from grader.harness.assertions import as_object, attribute, expect, method
from grader.harness.errors import Mismatch
from grader.harness.suite import list_of, parameter_count, shape_of

__all__ = [
    "ACTIVATION_LAYERS",
    "WEIGHTED_LAYERS",
    "LayerRecord",
    "activation_of",
    "expect_same_activations",
    "expect_same_kinds",
    "expect_same_params",
    "expect_same_shapes",
    "first_difference",
    "fold",
    "inbound_layers",
    "layer_kind",
    "reference_layers",
    "student_layers",
]

ACTIVATION_LAYERS = frozenset({"Activation", "ReLU", "Softmax", "LeakyReLU", "ELU", "PReLU"})
"""layers that only apply an activation: folded into the layer before them"""
WEIGHTED_LAYERS = frozenset({"Conv2D", "Dense"})
"""layers whose ``activation`` option is compared"""
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


@dataclass(frozen=True)
class LayerRecord:
    """One layer of a model as a student reads model.summary()."""

    kind: str
    shape: tuple[int | None, ...]
    params: int
    activation: str | None


def activation_of(kind: str, config: Any) -> str | None:
    """The activation a layer applies, by name (None for layers without one)."""
    config = config if isinstance(config, dict) else {}
    if kind == "ReLU":
        plain = not any(config.get(k) for k in ("max_value", "negative_slope", "threshold"))
        return "relu" if plain else "relu with options"
    if kind == "Softmax":
        return "softmax"
    if kind == "LeakyReLU":
        return "leaky_relu"
    value = config.get("activation")
    if isinstance(value, dict):  # a function of the student's own, serialised
        value = value.get("config") if isinstance(value.get("config"), str) else None
    return value if isinstance(value, str) else None


def fold(records: Iterable[LayerRecord]) -> list[LayerRecord]:
    """Each activation layer folded into the layer before it (Conv2D then ReLU reads
    as one Conv2D with ReLU); input layers left out."""
    folded: list[LayerRecord] = []
    for record in records:
        if record.kind == "InputLayer":
            continue
        previous = folded[-1] if folded else None
        if (
            record.kind in ACTIVATION_LAYERS
            and previous is not None
            and previous.kind in WEIGHTED_LAYERS
            and previous.activation in (None, "linear")
        ):
            folded[-1] = replace(previous, activation=record.activation)
        else:
            folded.append(record)
    return folded


def layer_kind(layer: Any, *, what: str) -> str:
    """A layer's class name: the layer is checked to be an object (a handle),
    since data has a Python type but is no layer."""
    return as_object(layer, kind="Keras layer", what=what).type_name


def student_layers(model: Any, *, what: str = "your model") -> list[LayerRecord]:
    """A student's model's layers (handles in the sandbox), not folded. Reading a
    layer's ``output`` fails while the model is not built."""
    records = []
    for layer in list_of(model, "layers", what=what):
        kind = layer_kind(layer, what=f"a layer of {what}")
        name = f"{what}'s {kind} layer"
        config = {}
        if kind in WEIGHTED_LAYERS | ACTIVATION_LAYERS:
            config = method(layer, "get_config", what=name)()
        shape: tuple[int | None, ...] = ()
        if kind != "InputLayer":
            output = attribute(layer, "output", what=name)
            shape = shape_of(output, what=f"the output of {name}")
        records.append(
            LayerRecord(kind, shape, parameter_count(layer, what=name), activation_of(kind, config))
        )
    return records


def reference_layers(model: Any) -> list[LayerRecord]:
    """The reference's model (a real Keras model on this side), not folded."""
    return [
        LayerRecord(
            type(layer).__name__,
            tuple(layer.output.shape),
            layer.count_params(),
            activation_of(type(layer).__name__, layer.get_config()),
        )
        for layer in model.layers
    ]


def first_difference(mine: list[str], theirs: list[str]) -> int:
    """The first index where two lists differ (the shorter's length if one extends the other)."""
    pairs = zip(mine, theirs, strict=False)
    return next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(mine), len(theirs)))


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def expect_same_kinds(got: list[LayerRecord], want: list[LayerRecord], *, name: str) -> None:
    """The layers' kinds agree, in order; else the first that differs is named.
    ``name`` is the expected model's, as the student knows it ("the course's CNN")."""
    kinds, wanted = [r.kind for r in got], [r.kind for r in want]
    if kinds == wanted:
        return
    index = first_difference(kinds, wanted)
    if index < len(kinds) and index < len(wanted):
        problem = (
            f"layer {index + 1} of your model is a {kinds[index]}, but {name} has a "
            f"{wanted[index]} there"
        )
    elif len(kinds) < len(wanted):
        problem = (
            f"your model stops after {len(kinds)} layers, but {name} goes on with a "
            f"{wanted[index]} (layer {index + 1})"
        )
    else:
        problem = (
            f"your model has an extra {kinds[index]} as layer {index + 1}, after the last layer "
            f"of {name}"
        )
    raise Mismatch(f"{problem}. Your layers: {', '.join(kinds)}.")


def expect_same_shapes(got: list[LayerRecord], want: list[LayerRecord], *, name: str) -> None:
    """Each layer outputs the shape of the expected model's layer at its place."""
    for index, (mine, theirs) in enumerate(zip(got, want, strict=False)):
        expect(
            mine.shape == theirs.shape,
            f"layer {index + 1} of your model ({mine.kind}) outputs shape "
            f"{_shape_text(mine.shape)}, but layer {index + 1} of {name} "
            f"({theirs.kind}) outputs {_shape_text(theirs.shape)}.",
        )
    expect(
        len(got) == len(want),
        f"your model has {len(got)} layers and {name} {len(want)}; the shapes agree up to there.",
    )


def expect_same_params(got: list[LayerRecord], want: list[LayerRecord], *, name: str) -> None:
    """Each layer has the expected model's parameter count at its place, and so
    does the whole model."""
    total, expected = sum(r.params for r in got), sum(r.params for r in want)
    for index, (mine, theirs) in enumerate(zip(got, want, strict=False)):
        expect(
            mine.params == theirs.params,
            f"layer {index + 1} of your model ({mine.kind}) has {mine.params:,} parameters, "
            f"but layer {index + 1} of {name} ({theirs.kind}) has {theirs.params:,}. "
            f"In all, yours has {total:,} and {name} {expected:,}.",
        )
    expect(
        total == expected,
        f"your model has {total:,} parameters in all, but {name} has {expected:,}.",
    )


def expect_same_activations(got: list[LayerRecord], want: list[LayerRecord], *, name: str) -> None:
    """The layers with weights apply the expected activations, in order; the
    last one's is compared whatever the number of such layers."""
    # (position among the layers with weights, layer number, record)
    mine = [(i, r) for i, r in enumerate(got) if r.kind in WEIGHTED_LAYERS]
    theirs = [r for r in want if r.kind in WEIGHTED_LAYERS]
    pairs = list(zip(enumerate(mine), theirs, strict=False))
    if mine and len(mine) != len(theirs):
        pairs.append(((len(mine) - 1, mine[-1]), theirs[-1]))
    for (position, (index, record)), expected in pairs:
        which = ORDINALS[position] if position < len(ORDINALS) else f"{position + 1}th"
        expect(
            record.activation == expected.activation,
            f"the {which} layer with weights in your model ({record.kind}, layer {index + 1}) "
            f"uses the activation {record.activation!r}, but {expected.activation!r} was "
            "expected.",
        )


def inbound_layers(node: Any) -> list[str]:
    """Names of the layers whose outputs a node of a Functional model's config
    (an entry of a layer's ``inbound_nodes``) takes, in order."""
    names: list[str] = []
    _collect(node, names)
    return names


def _collect(value: Any, names: list[str]) -> None:
    if isinstance(value, dict):
        config = value.get("config")
        if value.get("class_name") == "__keras_tensor__" and isinstance(config, dict):
            history = config.get("keras_history")
            if isinstance(history, (list, tuple)) and history:
                names.append(str(history[0]))
                return
        for item in value.values():
            _collect(item, names)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, names)
