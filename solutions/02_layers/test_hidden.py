"""Hidden tests for assignment 02: building networks with layers and activations.

Activations are compared with TensorFlow's own (``tf.nn``) on fresh random
inputs, including magnitudes where naive formulas overflow. Layers, modules
and models stay in the sandbox and are inspected through handles: the tests
set their weights to known values and compare outputs computed here, read
their shapes and parameter counts, and describe models layer by layer (kind,
output shape, parameters, activation), compared with the reference model
built on this side. Only data crosses: arrays, shapes, numbers and configs.

Each test targets one idea, so that a given mistake costs points only in the
tests about it: a kernel stored transposed fails the weight-shape test but
not the output test; a CNN without its softmax fails the activation and
probability tests but not the shape tests.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from grader.harness import (
    ACTIVATION_LAYERS,
    Mismatch,
    Remote,
    StudentError,
    activation_of,
    as_array,
    as_object,
    attribute,
    expect,
    expect_close,
    expect_equal,
    expect_same_activations,
    expect_same_kinds,
    expect_same_params,
    expect_same_shapes,
    expect_variable,
    first_difference,
    fold,
    grade,
    inbound_layers,
    list_of,
    method,
    reference_layers,
    shape_of,
    student_layers,
    value_of,
)

# ------------------------------------------------------------------------ relu


@grade(
    points=1,
    exercise="relu",
    hint="ReLU keeps every positive value as it is and turns every negative one into zero.",
)
def test_relu_values(student, rng):
    x = (3.0 * rng.normal(size=(6, 5))).astype(np.float32)
    expect_close(student.relu(x), tf.nn.relu(x), what="relu of a (6, 5) float32 matrix")


@grade(
    points=1,
    exercise="relu",
    hint="The result keeps the input's shape and dtype, whatever the rank (a scalar too). "
    "A constant made with tf.constant is float32 and cannot meet a float64 tensor.",
)
def test_relu_ranks_and_dtypes(student, rng):
    cases = [
        np.asarray(rng.normal()),
        rng.normal(size=7),
        rng.normal(size=(2, 3, 4)).astype(np.float32),
        np.array([-1e30, -1.0, 0.0, 1e-30, 1e30], dtype=np.float32),
    ]
    for x in cases:
        expect_close(
            student.relu(x),
            tf.nn.relu(x),
            what=f"relu of a {x.dtype} tensor of shape {x.shape}",
        )


# --------------------------------------------------------------------- sigmoid


@grade(
    points=1,
    exercise="sigmoid",
    hint="sigmoid(0) is 0.5, large positive inputs approach 1 and large negative ones 0.",
)
def test_sigmoid_values(student, rng):
    x = (4.0 * rng.normal(size=(8, 3))).astype(np.float32)
    expect_close(student.sigmoid(x), tf.nn.sigmoid(x), what="sigmoid of an (8, 3) float32 matrix")


@grade(
    points=2,
    exercise="sigmoid",
    hint="In float32, exp overflows to inf above about 88.7, and inf / inf is nan. Of the "
    "two ways to write the sigmoid, which one never divides infinity by infinity?",
)
def test_sigmoid_large_inputs(student, rng):
    fixed = np.array([-1000.0, -500.0, -100.0, -89.0, 89.0, 100.0, 500.0, 1000.0])
    spread = rng.choice([-1.0, 1.0], size=8) * rng.uniform(90.0, 1000.0, size=8)
    x = np.concatenate([fixed, spread]).astype(np.float32).reshape(4, 4)
    expect_close(student.sigmoid(x), tf.nn.sigmoid(x), what="sigmoid of inputs as large as ±1000")


@grade(
    points=1,
    exercise="sigmoid",
    hint="The result keeps the input's shape and dtype: float64 in, float64 out.",
)
def test_sigmoid_ranks_and_dtypes(student, rng):
    for x in [rng.normal(size=5) * 3, rng.normal(size=(2, 2, 3)).astype(np.float32)]:
        expect_close(
            student.sigmoid(x),
            tf.nn.sigmoid(x),
            what=f"sigmoid of a {x.dtype} tensor of shape {x.shape}",
        )


# ------------------------------------------------------------------------ tanh


@grade(
    points=1,
    exercise="tanh",
    hint="tanh(0) is 0 and tanh is odd: tanh(-x) = -tanh(x).",
)
def test_tanh_values(student, rng):
    x = (2.0 * rng.normal(size=(5, 6))).astype(np.float32)
    expect_close(
        student.tanh(x), tf.math.tanh(x), atol=2e-6, what="tanh of a (5, 6) float32 matrix"
    )


@grade(
    points=2,
    exercise="tanh",
    hint="For large |x| one of exp(x) and exp(-x) is inf in float32 and the quotient is nan. "
    "Use the symmetry of tanh, and rewrite the fraction so that it only exponentiates "
    "numbers that are never positive.",
)
def test_tanh_large_inputs(student, rng):
    fixed = np.array([-1000.0, -200.0, -90.0, -45.0, 45.0, 90.0, 200.0, 1000.0])
    spread = rng.choice([-1.0, 1.0], size=8) * rng.uniform(50.0, 1000.0, size=8)
    x = np.concatenate([fixed, spread]).astype(np.float32).reshape(2, 8)
    expect_close(
        student.tanh(x), tf.math.tanh(x), atol=2e-6, what="tanh of inputs as large as ±1000"
    )


@grade(
    points=1,
    exercise="tanh",
    hint="The result keeps the input's shape and dtype; tanh(0) is exactly 0 and tiny inputs "
    "give tiny outputs of the same sign.",
)
def test_tanh_ranks_and_dtypes(student, rng):
    cases = [
        np.concatenate([[0.0, 1e-4, -1e-4], rng.normal(size=4)]),
        rng.normal(size=(3, 1, 2)).astype(np.float32),
        np.asarray(rng.normal(), dtype=np.float32),
    ]
    for x in cases:
        expect_close(
            student.tanh(x),
            tf.math.tanh(x),
            atol=2e-6,
            what=f"tanh of a {x.dtype} tensor of shape {x.shape}",
        )


# --------------------------------------------------------------------- softmax


@grade(
    points=1,
    exercise="softmax",
    hint="Exponentiate, then divide by the sum along the axis (keep that axis so it broadcasts).",
)
def test_softmax_values(student, rng):
    x = (2.0 * rng.normal(size=(5, 7))).astype(np.float32)
    expect_close(student.softmax(x), tf.nn.softmax(x), what="softmax of a (5, 7) batch of logits")


@grade(
    points=2,
    exercise="softmax",
    hint="exp overflows float32 above about 88.7; softmax does not change when the same number "
    "is subtracted from every logit it normalises together.",
)
def test_softmax_large_logits(student, rng):
    fixed = np.array(
        [
            [1000.0, 999.0, 998.0, 990.0],
            [-1000.0, -1001.0, -1003.0, -1000.5],
            [1000.0, -1000.0, 0.0, 500.0],
        ]
    )
    spread = 1000.0 * rng.uniform(-1.0, 1.0, size=(3, 4))
    x = np.concatenate([fixed, spread]).astype(np.float32)
    # rtol 1e-4: float32 logits near 1000 are only exact to about 6e-5.
    expect_close(
        student.softmax(x),
        tf.nn.softmax(x),
        rtol=1e-4,
        what="softmax of logits as large as ±1000",
    )


@grade(
    points=1,
    exercise="softmax",
    hint="Every reduction must use the axis you were given, not the last one.",
)
def test_softmax_axis(student, rng):
    cube = (3.0 * rng.normal(size=(2, 4, 3))).astype(np.float32)
    expect_close(
        student.softmax(cube, axis=1),
        tf.nn.softmax(cube, axis=1),
        what="softmax of a (2, 4, 3) tensor along axis 1",
    )
    matrix = (3.0 * rng.normal(size=(4, 5))).astype(np.float32)
    expect_close(
        student.softmax(matrix, axis=0),
        tf.nn.softmax(matrix, axis=0),
        what="softmax of logits of shape (4, 5) along axis 0",
    )


@grade(
    points=1,
    exercise="softmax",
    hint="The result keeps the input's shape and dtype; a single vector has only one axis, "
    "and a single class always gets probability 1.",
)
def test_softmax_ranks_and_dtypes(student, rng):
    cases = [
        rng.normal(size=(3, 6)),
        rng.normal(size=6).astype(np.float32),
        (10.0 * rng.normal(size=(4, 1))).astype(np.float32),
    ]
    for x in cases:
        expect_close(
            student.softmax(x),
            tf.nn.softmax(x),
            what=f"softmax of a {x.dtype} tensor of shape {x.shape}",
        )


# ------------------------------------------------------------------ leaky_relu


@grade(
    points=1,
    exercise="leaky_relu",
    hint="Without an alpha argument the slope on the negative side is Keras's default.",
)
def test_leaky_relu_default_alpha(student, rng):
    x = (3.0 * rng.normal(size=(6, 4))).astype(np.float32)
    expect_close(
        student.leaky_relu(x),
        tf.nn.leaky_relu(x, alpha=0.2),
        what="leaky_relu of a (6, 4) matrix with the default alpha",
    )


@grade(
    points=1,
    exercise="leaky_relu",
    hint="Positive inputs pass unchanged; only negative inputs are multiplied by alpha.",
)
def test_leaky_relu_alphas(student, rng):
    x = (5.0 * rng.normal(size=(4, 5))).astype(np.float32)
    for alpha in (0.01, round(float(rng.uniform(0.05, 0.6)), 3)):
        expect_close(
            student.leaky_relu(x, alpha=alpha),
            tf.nn.leaky_relu(x, alpha=alpha),
            what=f"leaky_relu of a (4, 5) matrix with alpha={alpha}",
        )


@grade(
    points=1,
    exercise="leaky_relu",
    hint="The result keeps the input's shape and dtype, and leaky_relu(0) is 0.",
)
def test_leaky_relu_ranks_and_dtypes(student, rng):
    cases = [
        np.concatenate([[0.0, -0.0], rng.normal(size=5)]),
        rng.normal(size=(2, 3, 2)).astype(np.float32),
        np.asarray(-abs(rng.normal()), dtype=np.float32),
    ]
    for x in cases:
        expect_close(
            student.leaky_relu(x, alpha=0.1),
            tf.nn.leaky_relu(x, alpha=0.1),
            what=f"leaky_relu of a {x.dtype} tensor of shape {x.shape} with alpha=0.1",
        )


# ------------------------------------------------------------------ DenseLayer


def _dense(student, units, **kwargs):
    layer = student.DenseLayer(units, **kwargs)
    return as_object(layer, kind="Keras layer", what=f"DenseLayer({units})")


def _dense_weight(layer, name):
    """A built layer's `kernel` or `bias`, or else its only weight of rank 2 (kernel) or
    1 (bias); None if there is none. The names are tested on their own, in
    test_dense_layer_weights, so a layer calling them `w` and `b` loses that point only."""
    try:
        found = attribute(layer, name, what="your layer")
    except Mismatch:
        rank = 2 if name == "kernel" else 1
        weights = list_of(layer, "weights", what="your layer")
        same_rank = [w for w in weights if len(shape_of(w, what="a weight of your layer")) == rank]
        found = same_rank[0] if len(same_rank) == 1 else None
    return found if isinstance(found, Remote) else None


def _set_dense_weights(layer, in_features, units, rng):
    """Give a built layer's kernel and bias known random values.

    Returns the kernel as an (in_features, units) matrix and the bias (zeros
    if the layer has none), so the expected output can be computed here. A
    kernel stored transposed is used transposed: its shape is tested apart.
    """
    kernel = _dense_weight(layer, "kernel")
    expect(
        kernel is not None,
        "after its first call your layer has no kernel: build should create it with "
        "self.add_weight and keep it as self.kernel.",
    )
    shape = shape_of(kernel, what="your layer's kernel")
    if shape not in ((in_features, units), (units, in_features)):
        raise Mismatch(
            f"your layer's kernel has shape {shape}, but a layer from {in_features} inputs "
            f"to {units} units needs a ({in_features}, {units}) kernel."
        )
    values = rng.normal(size=shape).astype(np.float32)
    matrix = values if shape == (in_features, units) else values.T
    method(kernel, "assign", what="your layer's kernel")(values)
    bias = np.zeros(units, dtype=np.float32)
    handle = _dense_weight(layer, "bias")
    if handle is not None and shape_of(handle, what="your layer's bias") == (units,):
        bias = rng.normal(size=units).astype(np.float32)
        method(handle, "assign", what="your layer's bias")(bias)
    return matrix, bias


@grade(
    points=2,
    exercise="DenseLayer",
    hint="call computes inputs @ kernel + bias; without an activation, the layer applies the "
    "identity.",
)
def test_dense_layer_output(student, rng):
    in_features, units = int(rng.integers(3, 8)), int(rng.integers(2, 6))
    x = rng.normal(size=(units + 3, in_features)).astype(np.float32)
    layer = _dense(student, units)
    layer(x)  # builds the layer
    kernel, bias = _set_dense_weights(layer, in_features, units, rng)
    expect_close(
        layer(x),
        x @ kernel + bias,
        atol=1e-5,
        what=f"the output of DenseLayer({units}) on a ({units + 3}, {in_features}) batch, "
        "with the kernel and bias set by the test",
    )


@grade(
    points=1,
    exercise="DenseLayer",
    hint="Keras only tracks weights made with self.add_weight. The kernel has one row per "
    "input feature and one column per unit; the bias has one entry per unit.",
)
def test_dense_layer_weights(student, rng):
    in_features, units = int(rng.integers(3, 9)), int(rng.integers(2, 7))
    if in_features == units:
        in_features += 1
    layer = _dense(student, units)
    layer(rng.normal(size=(4, in_features)).astype(np.float32))
    weights = list_of(layer, "trainable_weights", what="your layer")
    expect(
        len(weights) > 0,
        "after its first call your layer has no trainable weights: Keras cannot see the "
        "variables it uses, so an optimizer would never train them.",
    )
    shapes = [shape_of(w, what="a weight of your layer") for w in weights]
    expect(
        len(weights) == 2,
        f"after its first call your layer has {len(weights)} trainable weight(s), of shapes "
        f"{shapes}, but a dense layer has two: a kernel and a bias.",
    )
    kernel = shape_of(
        attribute(layer, "kernel", what="Your layer, after its first call,"), what="the kernel"
    )
    expect(
        kernel == (in_features, units),
        f"the kernel of DenseLayer({units}) on {in_features} input features has shape "
        f"{kernel}, but ({in_features}, {units}) was expected.",
    )
    bias = shape_of(
        attribute(layer, "bias", what="Your layer, after its first call,"), what="the bias"
    )
    expect(
        bias == (units,),
        f"the bias of DenseLayer({units}) has shape {bias}, but ({units},) was expected.",
    )
    expect_equal(
        method(layer, "count_params", what="your layer")(),
        in_features * units + units,
        what=f"the number of parameters of DenseLayer({units}) on {in_features} input features",
    )


@grade(
    points=1,
    exercise="DenseLayer",
    hint="build runs once, on the first call, and takes the input size from input_shape; "
    "every later call reuses the same weights.",
)
def test_dense_layer_builds_once(student, rng):
    units = int(rng.integers(2, 6))
    sizes = [int(rng.integers(2, 5)), int(rng.integers(6, 10))]
    for in_features in sizes:
        layer = _dense(student, units)
        x = rng.normal(size=(3, in_features)).astype(np.float32)
        first = as_array(layer(x), what=f"DenseLayer({units})'s output")
        expect_equal(
            first.shape,
            (3, units),
            what=f"the shape of DenseLayer({units})'s output on a (3, {in_features}) batch",
        )
        count = len(list_of(layer, "weights", what="your layer"))
        for attempt in ("second", "third"):
            expect_close(
                layer(x),
                first,
                what=f"DenseLayer({units})'s output on the same batch, called a {attempt} time",
            )
        expect_equal(
            len(list_of(layer, "weights", what="your layer")),
            count,
            what=f"the number of weights of DenseLayer({units}) after three calls (it had "
            f"{count} after the first)",
        )


@grade(
    points=1,
    exercise="DenseLayer",
    hint="Glorot uniform draws the kernel from [-limit, limit] with "
    "limit = sqrt(6 / (fan_in + fan_out)); the bias starts at zero.",
)
def test_dense_layer_initialisers(student, rng):
    in_features, units = int(rng.integers(40, 64)), int(rng.integers(32, 48))
    layer = _dense(student, units)
    layer(rng.normal(size=(2, in_features)).astype(np.float32))
    kernel = _dense_weight(layer, "kernel")
    expect(kernel is not None, "after its first call your layer has no kernel.")
    kernel = value_of(kernel, what="the kernel")
    bias = _dense_weight(layer, "bias")  # a missing bias costs a point elsewhere
    if bias is not None:
        bias = value_of(bias, what="the bias")
    bias = np.zeros(1) if bias is None else bias
    expect(
        bias.size > 0 and np.all(bias == 0),
        "the bias should start at zero: the random kernel already makes the units differ.",
    )
    limit = math.sqrt(6.0 / (in_features + units))
    low, high, spread = float(kernel.min()), float(kernel.max()), float(kernel.std())
    expect(
        kernel.size == in_features * units
        and max(-low, high) <= limit * (1 + 1e-5)
        and min(-low, high) >= 0.9 * limit
        and abs(spread - limit / math.sqrt(3)) <= 0.1 * limit / math.sqrt(3),
        f"the kernel of DenseLayer({units}) on {in_features} inputs starts with values from "
        f"{low:.4f} to {high:.4f} (standard deviation {spread:.4f}), but Glorot uniform "
        f"values fill [-{limit:.4f}, {limit:.4f}] evenly (standard deviation "
        f"{limit / math.sqrt(3):.4f}).",
    )


@grade(
    points=1,
    exercise="DenseLayer",
    hint="keras.activations.get turns an activation's name into the function to apply "
    "after adding the bias.",
)
def test_dense_layer_activation(student, rng):
    in_features, units = int(rng.integers(3, 7)), int(rng.integers(3, 6))
    x = (2.0 * rng.normal(size=(units + 2, in_features))).astype(np.float32)
    for name, function in (("relu", lambda z: np.maximum(z, 0.0)), ("tanh", np.tanh)):
        layer = _dense(student, units, activation=name)
        layer(x)
        kernel, bias = _set_dense_weights(layer, in_features, units, rng)
        expect_close(
            layer(x),
            function(x @ kernel + bias),
            atol=1e-5,
            what=f'the output of DenseLayer({units}, activation="{name}")',
        )


@grade(
    points=1,
    exercise="DenseLayer",
    hint="The input size is the last entry of input_shape, whatever the rank; the layer "
    "applies to the last axis of its inputs.",
)
def test_dense_layer_sequences(student, rng):
    in_features, units = int(rng.integers(3, 6)), int(rng.integers(2, 5))
    steps = in_features + 2
    x = rng.normal(size=(2, steps, in_features)).astype(np.float32)
    layer = _dense(student, units)
    layer(x)
    kernel, bias = _set_dense_weights(layer, in_features, units, rng)
    expect_close(
        layer(x),
        x @ kernel + bias,
        atol=1e-5,
        what=f"the output of DenseLayer({units}) on a batch of sequences of shape "
        f"(2, {steps}, {in_features})",
    )


# ---------------------------------------------------------------------- Affine


def _affine(student, in_features, out_features):
    module = student.Affine(in_features, out_features)
    return as_object(module, kind="tf.Module", what=f"Affine({in_features}, {out_features})")


def _variable(module, name):
    """The module's variable `name`, checked to behave as a tf.Variable."""
    return expect_variable(
        attribute(module, name, what="Your Affine module"), what=f"the module's `{name}`"
    )


@grade(
    points=2,
    exercise="Affine",
    hint="Calling the module computes x @ w + b.",
)
def test_affine_output(student, rng):
    in_features, out_features = int(rng.integers(3, 8)), int(rng.integers(2, 6))
    module = _affine(student, in_features, out_features)
    w = rng.normal(size=(in_features, out_features)).astype(np.float32)
    b = rng.normal(size=out_features).astype(np.float32)
    method(_variable(module, "w"), "assign", what="the module's `w`")(w)
    method(_variable(module, "b"), "assign", what="the module's `b`")(b)
    x = rng.normal(size=(out_features + 2, in_features)).astype(np.float32)
    expect_close(
        module(x),
        x @ w + b,
        atol=1e-5,
        what=f"the output of Affine({in_features}, {out_features}) with w and b set by the test",
    )


@grade(
    points=1,
    exercise="Affine",
    hint="trainable_variables holds exactly what an optimizer should update: w and b.",
)
def test_affine_trainable_variables(student, rng):
    in_features, out_features = int(rng.integers(3, 8)), int(rng.integers(2, 6))
    if in_features == out_features:
        in_features += 1
    module = _affine(student, in_features, out_features)
    trainable = list_of(module, "trainable_variables", what="your Affine module")
    shapes = sorted(
        (shape_of(v, what="a trainable variable") for v in trainable),
        key=lambda s: (len(s), str(s)),
    )
    expected = sorted(
        [(in_features, out_features), (out_features,)], key=lambda s: (len(s), str(s))
    )
    expect(
        shapes == expected,
        f"Affine({in_features}, {out_features}) has {len(shapes)} trainable variable(s), of "
        f"shapes {', '.join(map(str, shapes)) or 'none'}, but it should have two: w of shape "
        f"{(in_features, out_features)} and b of shape {(out_features,)}.",
    )


@grade(
    points=1,
    exercise="Affine",
    hint="A counter is state, not a parameter: create it with trainable=False, as an int64 "
    "scalar starting at 0.",
)
def test_affine_seen_is_state(student, rng):
    in_features, out_features = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    module = _affine(student, in_features, out_features)
    seen = _variable(module, "seen")
    expect(
        attribute(seen, "trainable", what="`seen`") is False,
        "`seen` is trainable, so an optimizer would try to change the counter by gradient "
        "descent, and it would be counted among the model's parameters.",
    )
    expect_equal(attribute(seen, "dtype", what="`seen`"), "int64", what="the dtype of `seen`")
    expect_equal(attribute(seen, "shape", what="`seen`"), (), what="the shape of `seen`")
    expect_close(
        method(seen, "numpy", what="`seen`")(),
        np.int64(0),
        what="the value of `seen` before any call",
    )
    expect_equal(
        len(list_of(module, "variables", what="your Affine module")),
        3,
        what=f"the number of variables of Affine({in_features}, {out_features}) (trainable or not)",
    )


@grade(
    points=1,
    exercise="Affine",
    hint="Each call adds the batch size (the length of the first axis of x) to `seen`.",
)
def test_affine_counts_examples(student, rng):
    in_features, out_features = int(rng.integers(3, 6)), int(rng.integers(2, 6))
    module = _affine(student, in_features, out_features)
    seen = _variable(module, "seen")
    total = 0
    batches = [int(rng.integers(in_features + 1, 12)), int(rng.integers(1, 4)), 0, 7]
    for count, batch in enumerate(batches, start=1):
        module(rng.normal(size=(batch, in_features)).astype(np.float32))
        total += batch
        expect_close(
            method(seen, "numpy", what="`seen`")(),
            np.int64(total),
            check_dtype=False,  # the dtype is tested on its own
            what=f"`seen` after calls on batches of {batches[:count]} examples",
        )


@grade(
    points=1,
    exercise="Affine",
    hint="w is drawn from a normal distribution with mean 0 and standard deviation "
    "1 / sqrt(in_features); b starts at zero.",
)
def test_affine_initial_values(student, rng):
    in_features, out_features = int(rng.integers(48, 96)), int(rng.integers(32, 48))
    module = _affine(student, in_features, out_features)
    w = value_of(_variable(module, "w"), what="w")
    b = value_of(_variable(module, "b"), what="b")
    expect(b.size > 0 and np.all(b == 0), "b should start at zero.")
    scale = 1.0 / math.sqrt(in_features)
    mean, spread = float(w.mean()), float(w.std())
    expect(
        w.size == in_features * out_features
        and abs(mean) <= 0.15 * scale
        and abs(spread - scale) <= 0.1 * scale,
        f"w of Affine({in_features}, {out_features}) starts with mean {mean:.4f} and standard "
        f"deviation {spread:.4f}, but mean 0 and standard deviation {scale:.4f} were expected.",
    )


# ------------------------------------------------------------------- build_cnn


@functools.cache
def _reference_cnn(reference):
    return fold(reference_layers(reference.build_cnn()))


COURSE_CNN = "the course's CNN"


def _student_cnn(student):
    """The student's CNN described layer by layer. A model without keras.Input is built
    here for 32x32x3 images first: the input shape is tested on its own."""
    model = as_object(student.build_cnn(), kind="Keras model", what="build_cnn()")
    try:
        built = attribute(model, "built", what="your model")
    except Mismatch:
        built = None  # not a Keras model: its layers say what it is instead
    if built is False:
        try:
            method(model, "build", what="your model")((None, 32, 32, 3))
        except StudentError as err:
            raise Mismatch(
                f"Keras cannot build your model for 32x32 RGB images: {err.message[:200]}"
            ) from None
    return fold(student_layers(model))


@grade(
    points=1,
    exercise="build_cnn",
    hint="Use keras.Sequential, and give it the shape of one image (without the batch axis) "
    "with keras.Input.",
)
def test_cnn_is_sequential_with_input(student):
    model = as_object(student.build_cnn(), kind="Keras model", what="build_cnn()")
    expect_equal(model.type_name, "Sequential", what="the kind of model build_cnn returns")
    try:
        shape = attribute(model, "input_shape", what="your model")
    except Mismatch:
        raise Mismatch(
            "your model does not know the shape of its inputs, so Keras has not built it."
        ) from None
    expect_equal(shape, (None, 32, 32, 3), what="your model's input shape")


@grade(
    points=2,
    exercise="build_cnn",
    hint="Read the table of layers again: three convolutions, a pooling layer after each of "
    "the first two, then Flatten and two Dense layers.",
)
def test_cnn_layer_kinds(student, reference):
    expect_same_kinds(_student_cnn(student), _reference_cnn(reference), name=COURSE_CNN)


@grade(
    points=2,
    exercise="build_cnn",
    hint="A 3x3 convolution without padding trims one pixel from each border, and its output "
    "has one channel per filter; 2x2 pooling halves height and width, rounding down.",
)
def test_cnn_output_shapes(student, reference):
    expect_same_shapes(_student_cnn(student), _reference_cnn(reference), name=COURSE_CNN)


@grade(
    points=1,
    exercise="build_cnn",
    hint="A Conv2D has (kernel height x kernel width x input channels + 1) x filters "
    "parameters, a Dense layer (inputs + 1) x units; pooling and flattening have none.",
)
def test_cnn_parameter_counts(student, reference):
    expect_same_params(_student_cnn(student), _reference_cnn(reference), name=COURSE_CNN)


@grade(
    points=1,
    exercise="build_cnn",
    hint="Hidden layers use ReLU; the last layer turns the 10 scores into probabilities.",
)
def test_cnn_activations(student, reference):
    expect_same_activations(_student_cnn(student), _reference_cnn(reference), name=COURSE_CNN)


@grade(
    points=1,
    exercise="build_cnn",
    hint="A classifier's outputs are probabilities: none negative, each row summing to 1.",
)
def test_cnn_predicts_probabilities(student, rng):
    model = as_object(student.build_cnn(), kind="Keras model", what="build_cnn()")
    images = rng.random(size=(3, 32, 32, 3)).astype(np.float32)
    probabilities = as_array(model(images), what="your model's output on 3 images")
    expect_equal(
        tuple(probabilities.shape), (3, 10), what="the shape of your model's output on 3 images"
    )
    expect(
        bool(np.all(probabilities >= 0)),
        "some of your model's outputs are negative, so they are not probabilities.",
    )
    expect_close(
        probabilities.sum(axis=1),
        np.ones(3, dtype=np.float32),
        atol=1e-5,
        what="the sum of each row of your model's output",
    )


# --------------------------------------------------------- build_product_model


@dataclass(frozen=True)
class _Case:
    n_numeric: int
    n_words: int
    n_classes: int
    rate: float


def _case(rng):
    return _Case(
        n_numeric=int(rng.integers(2, 8)),
        n_words=int(rng.integers(10, 40)),
        n_classes=int(rng.integers(3, 8)),
        rate=float(rng.choice([0.2, 0.25, 0.3, 0.4])),
    )


def _call_text(case):
    return (
        f"build_product_model({case.n_numeric}, {case.n_words}, {case.n_classes}, "
        f"dropout_rate={case.rate:g})"
    )


def _product(student, case):
    model = student.build_product_model(case.n_numeric, case.n_words, case.n_classes, case.rate)
    return as_object(model, kind="Keras model", what=_call_text(case))


def _product_inputs(rng, case, batch):
    return {
        "numeric": rng.normal(size=(batch, case.n_numeric)).astype(np.float32),
        "words": rng.poisson(0.5, size=(batch, case.n_words)).astype(np.float32),
    }


def _two_outputs(value, what):
    """The model's (category, price) arrays from what a call returned. Outputs given as a
    dict by name are accepted here: the list is required by its own test only."""
    if isinstance(value, dict) and set(value) == {"category", "price"}:
        value = [value["category"], value["price"]]
    if isinstance(value, dict):
        returned = f"a dict with keys {sorted(value)}"
    elif isinstance(value, np.ndarray):
        returned = "one array"
    else:
        returned = f"{len(value)} values" if isinstance(value, (list, tuple)) else repr(value)[:40]
    expect(
        isinstance(value, (list, tuple)) and len(value) == 2,
        f"{what} should return a list of two arrays (category, then price), but it returned "
        f"{returned}.",
    )
    return tuple(as_array(v, what=f"{what}'s output") for v in value)


def _names(layers):
    """Layer names from a functional config's input_layers or output_layers."""
    if isinstance(layers, dict):
        return list(layers)
    if isinstance(layers, (list, tuple)) and layers and isinstance(layers[0], str):
        return [layers[0]]
    return [str(entry[0]) for entry in layers or [] if isinstance(entry, (list, tuple)) and entry]


def _config(model, what):
    try:
        config = method(model, "get_config", what=f"the model {what} returns")()
    except StudentError as err:
        raise Mismatch(
            f"Keras cannot describe the model {what} returns ({err.message[:120]}): build it "
            "with the Functional API, keras.Model(inputs=..., outputs=...)."
        ) from None
    expect(
        isinstance(config, dict) and isinstance(config.get("layers"), list),
        f"the model {what} returns is not a Functional-API model.",
    )
    return config


def _step(layer, parents):
    """One layer on a path, as the task names it."""
    kind = str(layer.get("class_name"))
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    if kind == "Dense":
        activation = activation_of(kind, config)
        extra = "" if activation in (None, "linear") else f", {activation}"
        return f"Dense({config.get('units')}{extra})"
    if kind in ACTIVATION_LAYERS:
        return f"Activation({activation_of(kind, config)})"
    if kind == "Dropout":
        rate = config.get("rate")
        return f"Dropout({rate:g})" if isinstance(rate, (int, float)) else "Dropout"
    if len(parents) > 1:
        return f"{kind}({', '.join(sorted(parents))})"
    return kind


def _paths(config):
    """For each output, in order, the layers from the inputs to it, described."""
    layers = {
        str(layer.get("name")): layer for layer in config["layers"] if isinstance(layer, dict)
    }
    paths = []
    for output in _names(config.get("output_layers")):
        steps, name = [], output
        for _ in range(64):
            layer = layers.get(name)
            if layer is None or layer.get("class_name") == "InputLayer":
                break
            nodes = layer.get("inbound_nodes")
            first = nodes[0] if isinstance(nodes, list) and nodes else None
            parents = inbound_layers(first.get("args", []) if isinstance(first, dict) else [])
            steps.append(_step(layer, parents))
            if len(parents) != 1:
                break
            name = parents[0]
        paths.append((output, steps[::-1]))
    return paths


@functools.cache
def _reference_product(reference, case):
    model = reference.build_product_model(case.n_numeric, case.n_words, case.n_classes, case.rate)
    return _paths(model.get_config()), model.count_params()


@grade(
    points=2,
    exercise="build_product_model",
    hint="Name the inputs and the output layers with name=...; keras.Model takes the inputs "
    "and the outputs as lists, in the order the task gives.",
)
def test_product_inputs_and_outputs(student, rng):
    case = _case(rng)
    what = _call_text(case)
    model = _product(student, case)
    config = _config(model, what)
    expect_equal(
        _names(config.get("input_layers")),
        ["numeric", "words"],
        what="the names of your model's inputs, in order",
    )
    expect_equal(
        _names(config.get("output_layers")),
        ["category", "price"],
        what="the names of your model's output layers, in order",
    )
    batch = 5
    result = model(_product_inputs(rng, case, batch))
    expect(
        isinstance(result, (list, tuple)),
        f"the model {what} returns gives its outputs as {type(result).__name__}, but the task "
        "asks for a list: outputs=[category, price].",
    )
    category, price = _two_outputs(result, what)
    expect_equal(
        tuple(category.shape),
        (batch, case.n_classes),
        what=f"the shape of `category` for a batch of {batch}",
    )
    expect_equal(
        tuple(price.shape), (batch, 1), what=f"the shape of `price` for a batch of {batch}"
    )


@grade(
    points=2,
    exercise="build_product_model",
    hint="From the concatenated inputs: Dense, BatchNormalization, ReLU, Dropout, then the two "
    "heads. Dropout never comes after an output.",
)
def test_product_layer_path(student, reference, rng):
    case = _case(rng)
    what = _call_text(case)
    got = _paths(_config(_product(student, case), what))
    want, _ = _reference_product(reference, case)
    expect(
        len(got) == len(want),
        f"the model {what} returns has {len(got)} output(s), but it should have {len(want)}.",
    )
    for (name, mine), (wanted_name, theirs) in zip(got, want, strict=False):
        if mine == theirs:
            continue
        index = first_difference(mine, theirs)
        if index < len(mine) and index < len(theirs):
            problem = f"step {index + 1} is {mine[index]}, but {theirs[index]} was expected there"
        elif len(mine) < len(theirs):
            problem = f"the path stops after {len(mine)} steps, before {theirs[index]}"
        else:
            problem = f"there is an extra {mine[index]} at step {index + 1}, after {theirs[-1]}"
        label = f"`{name}`" if name == wanted_name else f"`{name}` (the task's `{wanted_name}`)"
        raise Mismatch(
            f"on the way from the inputs to the output {label} of the model {what} returns, "
            f"{problem}. Your path: {' -> '.join(mine) or 'empty'}."
        )


@grade(
    points=1,
    exercise="build_product_model",
    hint="Concatenate, BatchNormalization's four vectors, the hidden Dense layer and both heads "
    "all count: check with model.summary().",
)
def test_product_parameter_count(student, reference, rng):
    case = _case(rng)
    model = _product(student, case)
    _, expected = _reference_product(reference, case)
    expect_equal(
        method(model, "count_params", what="your model")(),
        expected,
        what=f"the number of parameters of the model {_call_text(case)} returns",
    )


@grade(
    points=2,
    exercise="build_product_model",
    hint="In inference, Dropout does nothing and BatchNormalization uses its moving averages, so "
    "a prediction is deterministic and does not depend on the rest of the batch. Let Keras "
    "choose the mode: do not pass training=... when you call these layers.",
)
def test_product_inference(student, rng):
    case = _case(rng)
    what = _call_text(case)
    model = _product(student, case)
    inputs = _product_inputs(rng, case, 6)
    category, price = _two_outputs(model(inputs), what)
    again, _ = _two_outputs(model(inputs), what)
    expect_close(
        again,
        category,
        what="`category` from a second inference call on the same batch",
    )
    for index in (0, 4):
        alone = {name: values[index : index + 1] for name, values in inputs.items()}
        one_category, one_price = _two_outputs(model(alone), what)
        expect_close(
            one_category,
            category[index : index + 1],
            atol=1e-5,
            what=f"`category` for example {index} predicted on its own, compared with the same "
            "example predicted in a batch of 6",
        )
        expect_close(
            one_price,
            price[index : index + 1],
            atol=1e-4,
            what=f"`price` for example {index} predicted on its own, compared with the same "
            "example predicted in a batch of 6",
        )


@grade(
    points=1,
    exercise="build_product_model",
    hint="In training, Dropout drops a different random set of hidden units at every call; "
    "placed before the heads, it leaves the category probabilities summing to 1.",
)
def test_product_training_mode(student, rng):
    case = _case(rng)
    what = _call_text(case)
    model = _product(student, case)
    inputs = _product_inputs(rng, case, 8)
    first, _ = _two_outputs(model(inputs, training=True), what)
    second, _ = _two_outputs(model(inputs, training=True), what)
    expect_close(
        first.sum(axis=1),
        np.ones(first.shape[0], dtype=np.float32),
        atol=1e-5,
        what="in training mode, the sum of each row of `category`",
    )
    expect(
        not np.allclose(first, second),
        "two calls in training mode on the same batch gave the same `category`: is dropout "
        "active during training?",
    )


@grade(
    points=1,
    exercise="build_product_model",
    hint="BatchNormalization updates its moving averages in training only; in inference it "
    "reads them and leaves them alone.",
)
def test_product_batchnorm_statistics(student, rng):
    case = _case(rng)
    model = _product(student, case)
    norms = [
        layer
        for layer in list_of(model, "layers", what="your model")
        if as_object(layer, kind="Keras layer", what="a layer of your model").type_name
        == "BatchNormalization"
    ]
    expect(
        len(norms) == 1,
        f"the model {_call_text(case)} returns has {len(norms)} BatchNormalization layers, "
        "but it should have one.",
    )
    moving_mean = attribute(norms[0], "moving_mean", what="your BatchNormalization layer")
    before = value_of(moving_mean, what="the moving mean")
    inputs = _product_inputs(rng, case, 8)
    model(inputs)
    after_inference = value_of(moving_mean, what="the moving mean")
    expect(
        np.array_equal(after_inference, before),
        "an inference call changed BatchNormalization's moving mean: in inference it should "
        "use its moving averages, not the batch's statistics.",
    )
    model(inputs, training=True)
    after_training = value_of(moving_mean, what="the moving mean")
    expect(
        not np.allclose(after_training, before, rtol=0.0, atol=1e-7),
        "a training call left BatchNormalization's moving mean unchanged: in training it should "
        "normalise with the batch's statistics and update its moving averages.",
    )
