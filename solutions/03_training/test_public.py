"""Public checks for assignment 03, released to students as they are.

The same examples as the notebook's check cells, with their expected
values written out: nothing here comes from the reference solution. Run
them with ``grader check 03_training.ipynb``; the hidden tests that grade
the notebook use other inputs.
"""

import numpy as np

from grader.harness import (
    as_array,
    as_dict,
    as_float,
    as_list,
    as_model,
    as_parts,
    curve,
    expect,
    expect_close,
    grade,
    history_of,
    method,
    parameter_count,
)


def _close(value, expected, what, rtol=1e-5):
    got = as_float(value, what=what)
    expect(
        bool(np.isclose(got, expected, rtol=rtol)), f"{what} is {got:.6g}, expected {expected:.6g}."
    )


@grade(points=1, exercise="mse", hint="The mean of the squared differences, over every entry.")
def test_mse(student):
    y = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
    p = np.array([[1.0, 0.0], [3.0, 8.0]], dtype=np.float32)
    _close(student.mse(y, p), 5.0, "mse of the notebook's example")


@grade(points=1, exercise="binary_crossentropy", hint="Clip probabilities away from 0 and 1.")
def test_binary_crossentropy(student):
    y = np.array([[1.0], [0.0], [1.0]], dtype=np.float32)
    p = np.array([[0.9], [0.2], [0.6]], dtype=np.float32)
    _close(student.binary_crossentropy(y, p), 0.2797765, "binary_crossentropy of [0.9, 0.2, 0.6]")
    edge = as_float(
        student.binary_crossentropy(y, np.array([[0.0], [1.0], [1.0]], np.float32)),
        what="binary_crossentropy with probabilities 0 and 1",
    )
    expect(bool(np.isfinite(edge)), "probabilities of exactly 0 or 1 give an infinite loss.")
    z = np.array([[100.0], [100.0], [-100.0]], dtype=np.float32)
    _close(student.binary_crossentropy(y, z, from_logits=True), 200.0 / 3, "loss from logits")


@grade(points=1, exercise="sparse_categorical_crossentropy", hint="Pick each row's true class.")
def test_sparse_categorical_crossentropy(student):
    labels = np.array([0, 2], dtype=np.int32)
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype=np.float32)
    _close(student.sparse_categorical_crossentropy(labels, probs), 0.43375028, "loss of probs")
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    _close(
        student.sparse_categorical_crossentropy(labels, logits, from_logits=True),
        0.54930615,
        "loss from logits as large as 1000",
    )


@grade(points=1, exercise="gradient_descent_step", hint="w - learning_rate * gradient.")
def test_gradient_descent_step(student):
    x = np.array([[1.0], [2.0]], dtype=np.float32)
    y = np.array([[2.0], [4.0]], dtype=np.float32)
    w0, b0 = np.zeros((1, 1), np.float32), np.zeros((1,), np.float32)
    new_w, new_b, loss = as_list(
        student.gradient_descent_step(w0, b0, x, y, 0.1), what="gradient_descent_step's result"
    )
    _close(loss, 10.0, "the loss before the step")
    expect_close(as_array(new_w, what="new w"), np.array([[1.0]]), check_dtype=False, what="new w")
    expect_close(as_array(new_b, what="new b"), np.array([0.6]), check_dtype=False, what="new b")


@grade(points=1, exercise="momentum_step", hint="v = momentum * v - learning_rate * gradient.")
def test_momentum_step(student):
    w = np.array([1.0, -2.0], dtype=np.float32)
    v = np.zeros(2, dtype=np.float32)
    for _ in range(2):
        w, v = as_list(
            student.momentum_step(w, np.array([0.5, -1.0], np.float32), v, 0.1, 0.9),
            what="momentum_step's result",
        )
    expect_close(as_array(v, what="v"), np.array([-0.095, 0.19]), check_dtype=False, what="v")
    expect_close(as_array(w, what="w"), np.array([0.855, -1.71]), check_dtype=False, what="w")


@grade(points=1, exercise="adam_step", hint="Correct the bias of m and v by the step number.")
def test_adam_step(student):
    w = np.array([0.5, -0.5, 2.0], dtype=np.float32)
    g = np.array([0.3, -4.0, 0.0], dtype=np.float32)
    zeros = np.zeros(3, np.float32)
    new_w, m, v = as_list(
        student.adam_step(w, g, zeros, zeros, 1, learning_rate=0.1), what="adam_step's result"
    )
    expect_close(
        as_array(new_w, what="new weights"),
        np.array([0.4, -0.4, 2.0]),
        atol=1e-5,
        check_dtype=False,
        what="the weights after one Adam step",
    )
    expect_close(as_array(m, what="m"), 0.1 * g, check_dtype=False, what="m")
    expect_close(as_array(v, what="v"), 0.001 * g**2, atol=1e-7, check_dtype=False, what="v")


@grade(points=1, exercise="build_model", hint="Seed every initializer from `seed`.")
def test_build_model(student):
    first = as_model(student.build_model(3), what="build_model(3)")
    second = as_model(student.build_model(3), what="build_model(3)")
    count = parameter_count(first, what="the model")
    expect(count == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1, f"the model has {count} parameters.")
    a = as_list(method(first, "get_weights", what="the model")(), what="its weights")
    b = as_list(method(second, "get_weights", what="the model")(), what="its weights")
    for one, other in zip(a, b, strict=True):
        expect_close(
            as_array(one, what="a weight"),
            as_array(other, what="a weight"),
            what="the weights of two models built with the same seed",
        )
    out = as_array(first(np.zeros((4, 2), np.float32)), what="the model's output")
    expect(tuple(out.shape) == (4, 1), f"the model's output has shape {tuple(out.shape)}.")


def _moons(student, n, seed):
    x, y = as_list(student.make_moons(n, seed=seed), what="make_moons's result")
    return as_array(x, what="x"), as_array(y, what="y")


@grade(points=1, exercise="train_custom", hint="Record the mean loss and accuracy per epoch.")
def test_train_custom(student):
    x, y = _moons(student, 256, 1)
    _, history = as_parts(
        student.train_custom(x, y, epochs=15, batch_size=32, learning_rate=0.05, seed=0),
        ["model", "history"],
        what="train_custom",
    )
    losses = curve(history, "loss", what="train_custom's history", length=15)
    expect(bool(losses[-1] < 0.5 * losses[0]), "the loss should at least halve in 15 epochs.")


@grade(points=1, exercise="train_fit", hint="EarlyStopping watches val_loss.")
def test_train_fit(student):
    x, y = _moons(student, 256, 1)
    x_val, y_val = _moons(student, 128, 3)
    _, history = as_parts(
        student.train_fit(
            x, y, x_val, y_val, epochs=15, batch_size=32, learning_rate=0.05, seed=0, patience=10
        ),
        ["model", "history"],
        what="train_fit",
    )
    losses = curve(history_of(history, what="train_fit's history"), "loss", what="the history")
    expect(bool(losses[-1] < 0.5 * losses[0]), "the loss should at least halve in 15 epochs.")


@grade(points=1, exercise="evaluate_and_predict", hint="Probabilities are sigmoid(logits).")
def test_evaluate_and_predict(student):
    x, y = _moons(student, 256, 1)
    x_val, y_val = _moons(student, 128, 3)
    model, _ = as_parts(
        student.train_fit(
            x, y, x_val, y_val, epochs=15, batch_size=32, learning_rate=0.05, seed=0, patience=10
        ),
        ["model", "history"],
        what="train_fit",
    )
    x_test, y_test = _moons(student, 400, 2)
    results = as_dict(
        student.evaluate_and_predict(model, x_test, y_test),
        what="what evaluate_and_predict returned",
    )
    expect("probabilities" in results, "evaluate_and_predict's dict has no 'probabilities' entry.")
    probabilities = as_array(results["probabilities"], what="the probabilities")
    expect(tuple(probabilities.shape) == (400,), f"probabilities have shape {probabilities.shape}.")
    expect(
        bool(probabilities.min() >= 0.0 and probabilities.max() <= 1.0),
        "probabilities must lie between 0 and 1.",
    )
    accuracy = as_float(results.get("accuracy"), what="results['accuracy']")
    expect(accuracy >= 0.9, f"the accuracy on the test moons is {accuracy:.3f}, expected >= 0.9.")
