"""Hidden tests for assignment 01: tensors, variables, operations and graphs.

Every test compares the student's function with the reference solution (or
with an exact expected value) on random inputs from ``rng``, which differ
from one submission to the next (and repeat on a regrade). Student
results cross the sandbox boundary as plain data: tensors as numpy arrays,
dtypes as their names, shapes as tuples; anything else (a variable, a
tf.function) stays in the sandbox and is inspected through a handle. So the
tests never rely on the truthiness, ``==`` or ``len()`` of a student value:
they go through the harness's helpers (``expect_close``, ``as_int``,
``attribute``, ...), which check types on the trusted side. Where an
exercise teaches a TensorFlow type, ``expect_variable`` / ``expect_traced``
/ ``expect_spec`` check that type by its behaviour, not by its name.

Each test targets one exercise and, where it matters, one idea (values,
dtype, an edge-case shape), so that a given mistake costs points only in the
tests about it.
"""

import numpy as np
import tensorflow as tf

from grader.harness import (
    as_array,
    as_int,
    as_list,
    as_text,
    attribute,
    expect,
    expect_close,
    expect_equal,
    expect_spec,
    expect_traced,
    expect_variable,
    grade,
    method,
    tracing_count,
)


def _dtype_text(dtype):
    """How the test passed a dtype, written as the student would write it."""
    if isinstance(dtype, str):
        return repr(dtype)
    if isinstance(dtype, tf.DType):
        return f"tf.{dtype.name}"
    return f"np.{np.dtype(dtype).name}"


def _shape(rng, low, high, rank):
    return tuple(int(n) for n in rng.integers(low, high, size=rank))


# --------------------------------------------------------------------------- filled


@grade(
    points=1,
    exercise="filled",
    hint="tf.fill repeats one scalar over a whole shape.",
)
def test_filled_values(student, reference, rng):
    shape = _shape(rng, 1, 5, 2)
    value = round(float(rng.normal() * 10), 2)
    expect_close(
        student.filled(shape, value, tf.float32),
        reference.filled(shape, value, tf.float32),
        what=f"filled({shape}, {value}, tf.float32)",
    )


@grade(
    points=2,
    exercise="filled",
    hint="The dtype argument decides the result's dtype, not the Python type of value: "
    "an int value asked for as float64 must come back as float64. The dtype may be a "
    "tf.DType or a name such as 'int64'.",
)
def test_filled_dtypes(student, reference, rng):
    cases = [
        (_shape(rng, 1, 4, 2), int(rng.integers(-9, 10)), tf.float64),
        (_shape(rng, 1, 6, 1), int(rng.integers(-9, 10)), "int64"),
        ([2, int(rng.integers(1, 4))], int(rng.integers(0, 10)), "float32"),
        (_shape(rng, 1, 4, 2), True, "bool"),
    ]
    for shape, value, dtype in cases:
        expect_close(
            student.filled(shape, value, dtype),
            reference.filled(shape, value, dtype),
            what=f"filled({shape}, {value}, {_dtype_text(dtype)})",
        )


@grade(
    points=1,
    exercise="filled",
    hint="A shape can be () for a scalar, and an axis can have length 0.",
)
def test_filled_edge_shapes(student, reference, rng):
    value = round(float(rng.normal()), 3)
    for shape in [(), (0, 4), (3, 0)]:
        expect_close(
            student.filled(shape, value, tf.float32),
            reference.filled(shape, value, tf.float32),
            what=f"filled({shape}, {value}, tf.float32)",
        )


# ------------------------------------------------------------------------ to_images


@grade(
    points=1,
    exercise="to_images",
    hint="Keras images are (batch, height, width, channels); a grayscale image has one channel.",
)
def test_to_images_values(student, reference, rng):
    n, height, width = int(rng.integers(2, 6)), 3, 4
    flat = rng.random(size=(n, height * width)).astype(np.float32)
    expect_close(
        student.to_images(flat, height, width),
        reference.to_images(flat, height, width),
        what=f"to_images on a ({n}, {height * width}) batch with height {height}, width {width}",
    )


@grade(
    points=1,
    exercise="to_images",
    hint="Height comes before width, and reshaping never changes the dtype.",
)
def test_to_images_non_square_uint8(student, reference, rng):
    n = int(rng.integers(1, 4))
    height = int(rng.integers(2, 5))
    width = height + int(rng.integers(1, 4))
    flat = rng.integers(0, 256, size=(n, height * width), dtype=np.uint8)
    expect_close(
        student.to_images(flat, height, width),
        reference.to_images(flat, height, width),
        what=f"to_images on uint8 pixels with height {height}, width {width}",
    )


@grade(
    points=1,
    exercise="to_images",
    hint="A batch may be empty: with N = 0 the result still has four axes.",
)
def test_to_images_empty_batch(student, reference, rng):
    height, width = int(rng.integers(2, 33)), int(rng.integers(2, 33))  # 961 inputs, not 9
    flat = np.zeros((0, height * width), dtype=np.float32)
    expect_close(
        student.to_images(flat, height, width),
        reference.to_images(flat, height, width),
        what=f"to_images on an empty batch with height {height}, width {width}",
    )


# --------------------------------------------------------------------------- center


@grade(
    points=2,
    exercise="center",
    hint="Which axis holds the features? keepdims helps broadcasting.",
)
def test_center_random(student, reference, rng):
    x = rng.normal(size=(7, 3)).astype(np.float32)
    expect_close(student.center(x), reference.center(x), what="center on a (7, 3) matrix")


@grade(
    points=1,
    exercise="center",
    hint="Each column (feature) has its own mean: after centering every column "
    "averages to zero. The result keeps the input's dtype.",
)
def test_center_feature_offsets(student, reference, rng):
    offsets = rng.uniform(-100.0, 100.0, size=4)
    x = rng.normal(size=(6, 4)) + offsets
    expect_close(
        student.center(x),
        reference.center(x),
        what="center on a (6, 4) float64 matrix whose columns have different means",
    )


@grade(
    points=1,
    exercise="center",
    hint="With a single example, every feature equals its own mean.",
)
def test_center_single_row(student, reference, rng):
    x = rng.normal(size=(1, 5)).astype(np.float32)
    expect_close(student.center(x), reference.center(x), what="center on a single row")


# ------------------------------------------------------------------ to_float_pixels


@grade(
    points=1,
    exercise="to_float_pixels",
    hint="Convert the integers to floats, then divide by the largest pixel value.",
)
def test_to_float_pixels_values(student, reference, rng):
    images = rng.integers(0, 256, size=(2, 5, 5, 1), dtype=np.uint8)
    expect_close(
        student.to_float_pixels(images),
        reference.to_float_pixels(images),
        check_dtype=False,
        what="to_float_pixels on a (2, 5, 5, 1) batch",
    )


@grade(
    points=1,
    exercise="to_float_pixels",
    hint="The darkest pixel (0) should become 0.0 and the brightest (255) 1.0.",
)
def test_to_float_pixels_extremes(student, reference, rng):
    images = rng.integers(0, 256, size=(3, 4), dtype=np.uint8)
    images[0, 0], images[-1, -1] = 0, 255
    images[1] = rng.choice(np.array([0, 255], dtype=np.uint8), size=4)
    expect_close(
        student.to_float_pixels(images),
        reference.to_float_pixels(images),
        check_dtype=False,
        what="to_float_pixels on pixels including 0 and 255",
    )


@grade(
    points=1,
    exercise="to_float_pixels",
    hint="The course computes in float32: float64 doubles the memory and cannot be "
    "mixed with float32 weights.",
)
def test_to_float_pixels_dtype(student, rng):
    images = rng.integers(0, 256, size=(2, 3, 3, 1), dtype=np.uint8)
    pixels = as_array(student.to_float_pixels(images), what="to_float_pixels's result")
    expect_equal(str(pixels.dtype), "float32", what="the dtype of to_float_pixels's result")


# ------------------------------------------------------------------------ pick_rows


@grade(
    points=1,
    exercise="pick_rows",
    hint="Indices may repeat and come in any order; each one selects a whole row.",
)
def test_pick_rows_repeats(student, reference, rng):
    x = rng.normal(size=(6, 3)).astype(np.float32)
    indices = [int(i) for i in rng.integers(0, 6, size=8)]  # 8 > 6: some repeat
    expect_close(
        student.pick_rows(x, indices),
        reference.pick_rows(x, indices),
        what=f"pick_rows on a (6, 3) matrix with indices {indices}",
    )


@grade(
    points=1,
    exercise="pick_rows",
    hint="Selection works along the first axis whatever the rank: for a vector it "
    "picks elements, for a rank-3 tensor whole matrices.",
)
def test_pick_rows_other_ranks(student, reference, rng):
    vector = rng.integers(-100, 100, size=7).astype(np.int32)
    picks = rng.integers(0, 7, size=4).astype(np.int32)
    expect_close(
        student.pick_rows(vector, picks),
        reference.pick_rows(vector, picks),
        what=f"pick_rows on a vector of 7 ints with indices {picks.tolist()}",
    )
    cube = rng.normal(size=(4, 2, 3)).astype(np.float32)
    indices = [int(i) for i in rng.permutation(4)[:3]]
    expect_close(
        student.pick_rows(cube, indices),
        reference.pick_rows(cube, indices),
        what=f"pick_rows on a (4, 2, 3) tensor with indices {indices}",
    )


@grade(
    points=1,
    exercise="pick_rows",
    hint="Selecting no rows gives an empty result that keeps the other axes.",
)
def test_pick_rows_no_indices(student, reference, rng):
    x = rng.normal(size=(5, 3)).astype(np.float32)
    indices = np.zeros(0, dtype=np.int64)
    expect_close(
        student.pick_rows(x, indices),
        reference.pick_rows(x, indices),
        what="pick_rows on a (5, 3) matrix with an empty array of indices",
    )


# ------------------------------------------------------------------ pairwise_scores


@grade(
    points=1,
    exercise="pairwise_scores",
    hint="Entry [i, j] is the dot product of row i of a with row j of b: multiply a "
    "by the transpose of b.",
)
def test_pairwise_scores_random(student, reference, rng):
    a = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=(6, 3)).astype(np.float32)
    expect_close(
        student.pairwise_scores(a, b),
        reference.pairwise_scores(a, b),
        what="pairwise_scores of (4, 3) and (6, 3) matrices",
    )


@grade(
    points=1,
    exercise="pairwise_scores",
    hint="The result keeps the inputs' dtype.",
)
def test_pairwise_scores_float64(student, reference, rng):
    a = rng.normal(size=(3, 5))
    b = rng.normal(size=(2, 5))
    expect_close(
        student.pairwise_scores(a, b),
        reference.pairwise_scores(a, b),
        what="pairwise_scores of (3, 5) and (2, 5) float64 matrices",
    )


@grade(
    points=1,
    exercise="pairwise_scores",
    hint="With no candidates (m = 0) the result is an (n, 0) matrix.",
)
def test_pairwise_scores_empty(student, reference, rng):
    a = rng.normal(size=(3, 4)).astype(np.float32)
    b = np.zeros((0, 4), dtype=np.float32)
    expect_close(
        student.pairwise_scores(a, b),
        reference.pairwise_scores(a, b),
        what="pairwise_scores of a (3, 4) matrix and an empty (0, 4) one",
    )


# -------------------------------------------------------------------------- softmax


@grade(
    points=1,
    exercise="softmax",
    hint="Exponentiate, then divide by the sum over the last axis (keep that axis so "
    "it broadcasts).",
)
def test_softmax_random_rows(student, reference, rng):
    logits = (2.0 * rng.normal(size=(5, 7))).astype(np.float32)
    expect_close(
        student.softmax(logits),
        reference.softmax(logits),
        what="softmax of a (5, 7) batch of logits",
    )


@grade(
    points=1,
    exercise="softmax",
    hint="Use axis=-1, so the same code works for a single vector and for a batch of sequences.",
)
def test_softmax_other_ranks(student, reference, rng):
    for shape in [(6,), (2, 3, 4)]:
        logits = rng.normal(size=shape).astype(np.float32)
        expect_close(
            student.softmax(logits),
            reference.softmax(logits),
            what=f"softmax of logits of shape {shape}",
        )


@grade(
    points=2,
    exercise="softmax",
    hint="exp overflows float32 above about 88, and softmax does not change when the "
    "same number is subtracted from every logit of a row.",
)
def test_softmax_large_logits(student, reference, rng):
    fixed = np.array(
        [
            [1000.0, 999.0, 998.0, 990.0],
            [-1000.0, -1001.0, -1003.0, -1000.5],
            [1000.0, -1000.0, 0.0, 500.0],
        ]
    )
    spread = 1000.0 * rng.uniform(-1.0, 1.0, size=(2, 4))
    logits = np.concatenate([fixed, spread]).astype(np.float32)
    # rtol 1e-4: float32 logits near 1000 are only exact to about 6e-5, so a
    # stable method that rounds differently (such as logsumexp) is still right.
    expect_close(
        student.softmax(logits),
        reference.softmax(logits),
        rtol=1e-4,
        what="softmax of logits as large as ±1000",
    )


# --------------------------------------------------------------------- make_weights


def _weights(student, shape):
    """Call make_weights, failing clearly if the result is not a variable: data
    (a tensor), or an object that does not behave as one when assigned."""
    return expect_variable(student.make_weights(shape), what=f"make_weights({shape})")


@grade(
    points=1,
    exercise="make_weights",
    hint="Variables have a trainable flag: only trainable variables are updated by "
    "optimizers and watched automatically by a GradientTape.",
)
def test_make_weights_trainable(student, rng):
    shape = _shape(rng, 1, 5, 2)
    weights = _weights(student, shape)
    expect_equal(
        attribute(weights, "trainable", what="the variable"),
        True,
        what="the variable's trainable flag",
    )


@grade(
    points=1,
    exercise="make_weights",
    hint="The initial value fixes a variable's dtype and shape; tf.zeros is float32 "
    "by default, np.zeros is float64.",
)
def test_make_weights_dtype_shape_zeros(student, rng):
    for shape in [_shape(rng, 1, 5, 2), _shape(rng, 1, 8, 1), (2, 3, 2)]:
        weights = _weights(student, shape)
        what = f"make_weights({shape})"
        expect_equal(attribute(weights, "dtype", what=what), "float32", what=f"the dtype of {what}")
        expect_equal(attribute(weights, "shape", what=what), shape, what=f"the shape of {what}")
        expect_close(
            method(weights, "numpy", what=what)(),
            np.zeros(shape, dtype=np.float32),
            what=f"the initial value of make_weights({shape})",
        )


@grade(
    points=1,
    exercise="make_weights",
    hint="Give the variable its name when you create it; TensorFlow adds a suffix such as ':0'.",
)
def test_make_weights_name(student, rng):
    shape = _shape(rng, 1, 5, 2)
    name = as_text(
        attribute(_weights(student, shape), "name", what="the variable"),
        what="the variable's name",
    )
    expect(
        name.startswith("weights"),
        f"the variable is named {name!r}, but its name should start with 'weights'.",
    )


# ------------------------------------------------------------------------- gradient


@grade(
    points=1,
    exercise="gradient",
    hint="Compute f inside a GradientTape block, then ask the tape for the gradient "
    "of f with respect to x.",
)
def test_gradient_numpy_input(student, reference, rng):
    x = rng.normal(size=5).astype(np.float32)
    expect_close(
        student.gradient(x),
        reference.gradient(x),
        atol=1e-5,
        what="gradient of a float32 vector given as a NumPy array",
    )


@grade(
    points=1,
    exercise="gradient",
    hint="A tape watches variables automatically, but a plain tensor only if you "
    "call tape.watch on it; otherwise its gradient is None.",
)
def test_gradient_tensor_input(student, reference, rng):
    x = tf.constant(rng.normal(size=(4,)).astype(np.float32))
    expect_close(
        student.gradient(x),
        reference.gradient(x),
        atol=1e-5,
        what="gradient of a float32 vector given as a tf.constant",
    )


@grade(
    points=1,
    exercise="gradient",
    hint="The gradient has the same shape and the same dtype as x.",
)
def test_gradient_matrix_float64(student, reference, rng):
    x = rng.normal(size=(3, 4))
    expect_close(
        student.gradient(x),
        reference.gradient(x),
        what="gradient of a (3, 4) float64 matrix",
    )


# ------------------------------------------------------------------------ row_norms


@grade(
    points=1,
    exercise="row_norms",
    hint="The L2 norm of a row is the square root of the sum of its squared entries.",
)
def test_row_norms_values(student, reference, rng):
    for shape in [(4, 3), (1, 7), (0, 5)]:
        x = rng.normal(size=shape).astype(np.float32)
        expect_close(
            student.row_norms(x),
            reference.row_norms(x),
            what=f"row_norms of a {shape} matrix",
        )


@grade(
    points=1,
    exercise="row_norms",
    hint="tf.function accepts an input_signature: a list with one tf.TensorSpec per "
    "argument, in which None marks a dimension that may vary.",
)
def test_row_norms_input_signature(student, rng):
    x = rng.normal(size=(3, 2)).astype(np.float32)
    row_norms = expect_traced(student.row_norms, x, what="row_norms")
    signature = attribute(row_norms, "input_signature", what="row_norms")
    expect(
        isinstance(signature, (tuple, list)) and len(signature) == 1,
        "row_norms should be a tf.function with an input_signature of exactly one tf.TensorSpec.",
    )
    expect_spec(
        as_list(signature, what="row_norms's input_signature")[0],
        shape=(None, None),
        dtype="float32",
        what="row_norms's TensorSpec",
    )


@grade(
    points=1,
    exercise="row_norms",
    hint="Without an input signature, every new input shape makes tf.function trace a new graph.",
)
def test_row_norms_traces_once(student, rng):
    first = rng.normal(size=(2, 3)).astype(np.float32)
    row_norms = expect_traced(student.row_norms, first, what="row_norms")
    for shape in [(2, 3), (5, 3), (4, 6)]:
        row_norms(rng.normal(size=shape).astype(np.float32))
    expect_equal(
        tracing_count(row_norms, what="row_norms"),
        1,
        what="the number of times row_norms was traced after calls on three shapes",
    )


# --------------------------------------------------------------------- count_traces


@grade(
    points=1,
    exercise="count_traces",
    hint="A Python number passed to a tf.function is part of the graph: each new "
    "value traces again, a repeated value does not.",
)
def test_count_traces_python_ints(student, rng):
    values = [int(v) for v in rng.integers(0, 5, size=8)]  # 8 > 5: some repeat
    expect_equal(
        as_int(student.count_traces(values, False), what="count_traces's result"),
        len(set(values)),
        what=f"count_traces({values}, False)",
    )


@grade(
    points=1,
    exercise="count_traces",
    hint="Tensor arguments are matched by dtype and shape, not by value.",
)
def test_count_traces_tensors(student, rng):
    values = [int(v) for v in rng.integers(-50, 50, size=6)]
    expect_equal(
        as_int(student.count_traces(values, True), what="count_traces's result"),
        1,
        what=f"count_traces({values}, True)",
    )


@grade(
    points=1,
    exercise="count_traces",
    hint="Create the tf.function inside count_traces, so that each call starts with a "
    "fresh function and a fresh counter.",
)
def test_count_traces_fresh_function(student, rng):
    values = [int(v) for v in rng.integers(0, 4, size=5)]
    for attempt in ("first", "second"):
        expect_equal(
            as_int(student.count_traces(values, False), what="count_traces's result"),
            len(set(values)),
            what=f"count_traces({values}, False), called a {attempt} time",
        )
