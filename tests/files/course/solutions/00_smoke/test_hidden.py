"""Hidden suite of the grader's own smoke-test assignment."""

import numpy as np

from grader.harness import attribute, expect_close, expect_equal, expect_variable, grade, method


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
    v = expect_variable(student.make_var(3), what="make_var(3)")
    expect_equal(attribute(v, "trainable", what="make_var(3)"), True, what="`trainable`")


@grade(points=1, exercise="make_var", hint="Zeros of the given length, float32.")
def test_make_var_value(student):
    v = expect_variable(student.make_var(4), what="make_var(4)")
    expect_equal(attribute(v, "dtype", what="make_var(4)"), "float32", what="the variable's dtype")
    value = method(v, "numpy", what="make_var(4)")()
    expect_close(value, np.zeros(4, np.float32), what="the variable's value")
