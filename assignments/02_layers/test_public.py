"""Public checks for assignment 02, released to students as they are.

The same examples as the notebook's check cells, with their expected
values written out: nothing here comes from the reference solution. Run
them with ``grader check 02_layers.ipynb``; the hidden tests that grade
the notebook use other inputs.
"""

import numpy as np

from grader.harness import (
    as_array,
    as_int,
    as_list,
    as_model,
    as_object,
    as_shape,
    attribute,
    expect,
    expect_close,
    expect_equal,
    grade,
    list_of,
    method,
    parameter_count,
)


@grade(points=1, exercise="relu", hint="max(x, 0), element by element, keeping the dtype.")
def test_relu(student):
    expect_close(
        student.relu(np.array([-2.0, 0.0, 3.0], dtype=np.float32)),
        np.array([0.0, 0.0, 3.0], dtype=np.float32),
        what="relu([-2, 0, 3])",
    )
    expect_close(
        student.relu(np.array([[-1.0]], dtype=np.float64)),
        np.array([[0.0]], dtype=np.float64),
        what="relu of a float64 matrix",
    )


@grade(points=1, exercise="sigmoid", hint="Pick a form of the formula that cannot overflow.")
def test_sigmoid(student):
    expect_close(
        student.sigmoid(np.array([-1000.0, 0.0, 1000.0], dtype=np.float32)),
        np.array([0.0, 0.5, 1.0], dtype=np.float32),
        what="sigmoid([-1000, 0, 1000])",
    )


@grade(points=1, exercise="tanh", hint="tanh stays between -1 and 1, even for large inputs.")
def test_tanh(student):
    expect_close(
        student.tanh(np.array([0.0, 0.5, -2.0, -1000.0, 1000.0], dtype=np.float32)),
        np.array([0.0, 0.46211716, -0.9640276, -1.0, 1.0], dtype=np.float32),
        atol=1e-6,
        what="tanh([0, 0.5, -2, -1000, 1000])",
    )


@grade(points=1, exercise="softmax", hint="Subtract the maximum along `axis` before exp.")
def test_softmax(student):
    logits = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=np.float32)
    expect_close(
        student.softmax(logits),
        np.full((2, 2), 0.5, dtype=np.float32),
        what="softmax([[1000, 1000], [-1000, -1000]])",
    )
    expect_close(
        student.softmax(np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32), axis=0),
        np.array([[0.11920292, 0.04742587], [0.8807971, 0.95257413]], dtype=np.float32),
        what="softmax([[1, 2], [3, 5]], axis=0)",
    )


@grade(points=1, exercise="leaky_relu", hint="Negative inputs are multiplied by alpha.")
def test_leaky_relu(student):
    expect_close(
        student.leaky_relu(np.array([-10.0, 0.0, 5.0], dtype=np.float32)),
        np.array([-2.0, 0.0, 5.0], dtype=np.float32),
        what="leaky_relu([-10, 0, 5])",
    )
    expect_close(
        student.leaky_relu(np.array([-1.0, 1.0], dtype=np.float32), alpha=0.01),
        np.array([-0.01, 1.0], dtype=np.float32),
        what="leaky_relu([-1, 1], alpha=0.01)",
    )


@grade(points=1, exercise="DenseLayer", hint="Create the weights in build, with add_weight.")
def test_dense_layer(student):
    layer = as_object(student.DenseLayer(4, activation="relu"), kind="Keras layer", what="layer")
    before = list_of(layer, "weights", what="your layer")
    expect(not before, "weights are created in build, on the first call, not in __init__.")
    out = as_array(layer(np.ones((2, 3), dtype=np.float32)), what="the layer's output")
    expect_equal(tuple(out.shape), (2, 4), what="the output shape of DenseLayer(4) on (2, 3)")
    expect(bool(np.all(out >= 0)), "with activation='relu' no output may be negative.")
    weights = list_of(layer, "trainable_weights", what="the layer")
    shapes = [as_shape(attribute(w, "shape", what="a weight"), what="its shape") for w in weights]
    expect_equal(shapes, [(3, 4), (4,)], what="the shapes of the kernel and the bias")
    expect_equal(parameter_count(layer, what="the layer"), 3 * 4 + 4, what="the parameter count")


@grade(points=1, exercise="Affine", hint="w and b are trainable; the counter `seen` is not.")
def test_affine(student):
    affine = as_object(student.Affine(3, 2), kind="tf.Module", what="Affine(3, 2)")
    y = as_array(affine(np.ones((5, 3), dtype=np.float32)), what="Affine's output")
    expect_equal(tuple(y.shape), (5, 2), what="the output shape of Affine(3, 2) on (5, 3)")
    trainable = list_of(affine, "trainable_variables", what="it")
    every = list_of(affine, "variables", what="it")
    expect_equal(len(trainable), 2, what="the number of trainable variables")
    expect_equal(len(every), 3, what="the number of variables")
    seen = method(attribute(affine, "seen", what="the module"), "numpy", what="`seen`")()
    expect_equal(as_int(seen, what="`seen`"), 5, what="`seen` after a batch of 5")


@grade(points=1, exercise="build_cnn", hint="Follow the table of layers in the notebook.")
def test_build_cnn(student):
    cnn = as_model(student.build_cnn(), what="build_cnn()")
    expect_equal(
        as_shape(attribute(cnn, "output_shape", what="your CNN"), what="its output shape"),
        (None, 10),
        what="the CNN's output shape",
    )
    expect_equal(parameter_count(cnn, what="the CNN"), 122_570, what="the CNN's parameter count")
    images = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    probabilities = as_array(cnn(images), what="the CNN's output")
    expect_close(
        probabilities.sum(axis=1),
        np.ones(2, dtype=probabilities.dtype),
        atol=1e-5,
        what="the sum of each image's class probabilities",
    )


@grade(points=1, exercise="build_product_model", hint="Dropout is active only in training.")
def test_build_product_model(student):
    model = as_model(student.build_product_model(4, 30, 5), what="model")
    rng = np.random.default_rng(0)
    inputs = {
        "numeric": rng.normal(size=(8, 4)).astype(np.float32),
        "words": rng.uniform(size=(8, 30)).astype(np.float32),
    }
    category, price = as_list(model(inputs), what="the model's outputs")
    category = as_array(category, what="the category output")
    expect_equal(tuple(category.shape), (8, 5), what="the category output's shape")
    expect_equal(tuple(as_array(price, what="price").shape), (8, 1), what="the price's shape")
    expect_close(
        category.sum(axis=1), np.ones(8, dtype=category.dtype), atol=1e-5, what="probabilities"
    )
    again = as_array(as_list(model(inputs), what="outputs")[0], what="the category output")
    expect_close(again, category, what="a second prediction (inference is deterministic)")
    trained = as_array(
        as_list(model(inputs, training=True), what="outputs")[0], what="the category output"
    )
    expect(
        not np.allclose(trained, category), "training=True gives the same output: is dropout on?"
    )
