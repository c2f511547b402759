"""Public checks for assignment 01, released to students as they are.

The same examples as the notebook's check cells, with their expected
values written out: nothing here comes from the reference solution. Run
them with ``grader check 01_tensors.ipynb``; the hidden tests that grade
the notebook use other inputs.
"""

import numpy as np

from grader.harness import (
    as_array,
    as_int,
    as_text,
    attribute,
    expect,
    expect_close,
    expect_equal,
    expect_traced,
    expect_variable,
    grade,
    method,
    tracing_count,
)


@grade(points=1, exercise="filled", hint="tf.fill repeats one scalar over a whole shape.")
def test_filled(student):
    expect_close(
        student.filled([2, 3], 7, "int32"),
        np.full((2, 3), 7, dtype=np.int32),
        what="filled([2, 3], 7, 'int32')",
    )
    expect_close(
        student.filled((), 1.5, "float64"),
        np.array(1.5, dtype=np.float64),
        what="filled((), 1.5, 'float64')",
    )


@grade(points=1, exercise="to_images", hint="Images are (batch, height, width, channels).")
def test_to_images(student):
    flat = np.arange(12, dtype=np.float32).reshape(2, 6)
    expect_close(
        student.to_images(flat, 2, 3),
        flat.reshape(2, 2, 3, 1),
        what="to_images(np.arange(12).reshape(2, 6), 2, 3)",
    )


@grade(points=1, exercise="center", hint="Each column has its own mean: reduce along axis 0.")
def test_center(student):
    x = np.array([[1.0, 10.0], [3.0, 30.0]], dtype=np.float32)
    expect_close(
        student.center(x),
        np.array([[-1.0, -10.0], [1.0, 10.0]], dtype=np.float32),
        what="center([[1, 10], [3, 30]])",
    )


@grade(points=1, exercise="to_float_pixels", hint="Cast to float32, then divide by 255.")
def test_to_float_pixels(student):
    expect_close(
        student.to_float_pixels(np.array([[0, 51, 255]], dtype=np.uint8)),
        np.array([[0.0, 0.2, 1.0]], dtype=np.float32),
        what="to_float_pixels([[0, 51, 255]])",
    )


@grade(points=1, exercise="pick_rows", hint="tf.gather selects along the first axis.")
def test_pick_rows(student):
    x = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int32)
    expect_close(
        student.pick_rows(x, [2, 0, 2]),
        np.array([[5, 6], [1, 2], [5, 6]], dtype=np.int32),
        what="pick_rows(x, [2, 0, 2])",
    )
    expect_close(
        student.pick_rows(np.arange(5, dtype=np.int32), [4, 1]),
        np.array([4, 1], dtype=np.int32),
        what="pick_rows(range(5), [4, 1])",
    )


@grade(points=1, exercise="pairwise_scores", hint="Multiply a by the transpose of b.")
def test_pairwise_scores(student):
    a = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    b = np.array([[3.0, 4.0], [1.0, 1.0], [0.0, -1.0]], dtype=np.float32)
    expect_close(
        student.pairwise_scores(a, b),
        np.array([[3.0, 1.0, 0.0], [8.0, 2.0, -2.0]], dtype=np.float32),
        what="pairwise_scores of a (2, 2) and a (3, 2) matrix",
    )


@grade(points=1, exercise="softmax", hint="Subtract each row's maximum before exp.")
def test_softmax(student):
    logits = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=np.float32)
    expect_close(
        student.softmax(logits),
        np.full((2, 2), 0.5, dtype=np.float32),
        what="softmax([[1000, 1000], [-1000, -1000]])",
    )
    expect_close(
        student.softmax(np.array([1.0, 2.0, 3.0], dtype=np.float32)),
        np.array([0.09003057, 0.24472848, 0.66524094], dtype=np.float32),
        what="softmax([1, 2, 3])",
    )


@grade(points=1, exercise="make_weights", hint="A trainable tf.Variable of float32 zeros.")
def test_make_weights(student):
    weights = student.make_weights((3, 4))
    expect(
        not isinstance(weights, np.ndarray),
        "make_weights((3, 4)) should return a tf.Variable, but it returned a tensor.",
    )
    expect_variable(weights, what="make_weights((3, 4))")
    expect_close(
        method(weights, "numpy", what="the variable")(),
        np.zeros((3, 4), dtype=np.float32),
        what="the variable's value",
    )
    expect_equal(attribute(weights, "trainable", what="the variable"), True, what="trainable")
    name = as_text(attribute(weights, "name", what="the variable"), what="the variable's name")
    expect(name.startswith("weights"), f"the variable is named {name!r}, not 'weights'.")


@grade(points=1, exercise="gradient", hint="Watch x on the tape: it is not a variable.")
def test_gradient(student):
    expect_close(
        student.gradient(np.array([0.0, 1.0, 2.0], dtype=np.float32)),
        np.array([-2.0, 1.0, 10.0], dtype=np.float32),
        atol=1e-5,
        what="gradient([0, 1, 2])",
    )


@grade(points=1, exercise="row_norms", hint="An input_signature with shape [None, None].")
def test_row_norms(student):
    x = np.array([[3.0, 4.0], [0.0, 1.0]], dtype=np.float32)
    row_norms = expect_traced(student.row_norms, x, what="row_norms")
    expect_close(
        as_array(row_norms(x), what="row_norms's result"),
        np.array([5.0, 1.0], dtype=np.float32),
        what="row_norms([[3, 4], [0, 1]])",
    )
    row_norms(np.ones((5, 7), dtype=np.float32))
    expect_equal(
        tracing_count(row_norms, what="row_norms"),
        1,
        what="times row_norms was traced after calls on two shapes",
    )


@grade(points=1, exercise="count_traces", hint="A new Python value traces again; a tensor not.")
def test_count_traces(student):
    for values, as_tensors, expected in [
        ([1, 2, 1], False, 2),
        ([1, 2, 1], True, 1),
        ([5, 5, 5, 5], False, 1),
    ]:
        expect_equal(
            as_int(student.count_traces(values, as_tensors), what="count_traces's result"),
            expected,
            what=f"count_traces({values}, {as_tensors})",
        )
