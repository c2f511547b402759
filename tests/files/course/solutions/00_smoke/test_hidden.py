"""Hidden suite of the grader's own smoke-test assignment."""

import numpy as np

from grader.harness import expect_close, expect_equal, grade


@grade(points=2, exercise="relu", hint="Negative inputs become zero.")
def test_relu_random(student, reference, rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    expect_close(student.relu(x), reference.relu(x))


@grade(points=1, exercise="relu", hint="The dtype of the input is kept.")
def test_relu_keeps_shape(student, reference, rng):
    x = rng.normal(size=(2, 0, 5)).astype(np.float32)
    expect_close(student.relu(x), reference.relu(x))


@grade(points=1, exercise="make_var", hint="Look at the `trainable` argument.")
def test_make_var_trainable(student):
    expect_equal(student.make_var(3).trainable, True, what="`trainable`")


@grade(points=1, exercise="make_var", hint="Zeros of the given length, float32.")
def test_make_var_value(student):
    v = student.make_var(4)
    expect_equal(v.dtype, "float32", what="the variable's dtype")
    expect_close(v.numpy(), np.zeros(4, np.float32), what="the variable's value")
