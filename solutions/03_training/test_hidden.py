"""Hidden tests for assignment 03: loss functions, backpropagation, optimizers
and training.

The oracles run on the trusted side: Keras's own losses and optimizers
(``keras.losses``, ``keras.optimizers``), the reference solution, or plain
NumPy on data that crossed the wire. The student's losses and update rules
are compared with them on fresh random inputs from ``rng`` and on extreme
ones (logits of ±1000, probabilities of exactly 0 and 1, tiny gradients, a
late Adam step). Optimizers are followed step by step from the same starting
weights, feeding the student's own state back, so a message can name the
first step that goes wrong.

Training runs are small (a 16-16-1 network on a few hundred "two moons"
points made by the notebook's own ``make_moons``) and shared between the
tests that look at them through module-scoped fixtures, which keep only
plain data: a model handle would not survive a sandbox restart. A run that
raises or times out fails every test built on it, with the student's
traceback.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from grader.harness import (
    as_array,
    as_dict,
    as_float,
    as_model,
    as_parts,
    curve,
    expect,
    expect_close,
    expect_stopped_early,
    grade,
    history_of,
    keep,
    kept,
    method,
    parameter_count,
)

# The data sets of Part C (fixed seeds: every submission trains on the same data).
TRAINING_DATA = (
    "trains networks on fixed two-moons data: the reference's own run is too slow to repeat "
    "for every submission, and the expected values are thresholds and the submission's own "
    "model's outputs, never numbers a lookup table could copy from feedback"
)
TRAIN_SEED, TEST_SEED, VAL_SEED = 11, 12, 13
N_TRAIN, N_TEST, N_VAL = 256, 400, 128  # N_TRAIN and N_VAL are multiples of BATCH
BATCH = 32
EPOCHS = 20
LEARNING_RATE = 0.05
RUN_SEED = 5
TARGET_ACCURACY = 0.9


def _scalar(value, what):
    """A scalar loss as a float; a per-example vector is refused with a message."""
    array = as_array(value, what=what)
    expect(
        array.shape == (),
        f"{what} has shape {tuple(array.shape)}, but a loss is one number (shape ()): "
        "average the per-example losses over the batch.",
    )
    return array


def _bce_from_logits(y, z):
    """Mean binary cross-entropy from logits, in float64 (trusted side)."""
    y, z = np.asarray(y, np.float64).reshape(-1), np.asarray(z, np.float64).reshape(-1)
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _logits(model, x, what):
    """The model's outputs on x (called directly, as a layer), as a vector of n logits."""
    out = as_array(model(x, training=False), what=f"{what}'s output")
    expect(
        out.size == len(x),
        f"on {len(x)} examples {what} returned shape {tuple(out.shape)}; "
        f"({len(x)}, 1) was expected: one logit per example.",
    )
    return out.reshape(-1).astype(np.float64)


def _accuracy(logits, y):
    return float(np.mean((logits > 0) == (np.asarray(y) > 0.5)))


def _moons(reference, n, seed):
    return reference.make_moons(n, seed=seed)


# ---------------------------------------------------------------------------------- mse


def _expect_loss_falls(loss, when):
    """The training loss ends well below where it started."""
    expect(
        loss[-1] < 0.6 * loss[0],
        f"{when} the training loss went from {loss[0]:.4f} to {loss[-1]:.4f}; "
        "it should fall well below its first value.",
    )


def _expect_accuracy(accuracy, when):
    """The trained model classifies enough new points correctly."""
    expect(
        accuracy >= TARGET_ACCURACY,
        f"{when} your model classifies {accuracy:.1%} of {N_TEST} new points "
        f"correctly; at least {TARGET_ACCURACY:.0%} was expected.",
    )


@grade(
    points=2,
    exercise="mse",
    hint="Square the differences, then average over every element: the mean, not the sum, "
    "so the loss does not grow with the batch or the number of outputs.",
)
def test_mse_random(student, rng):
    shape = (int(rng.integers(4, 9)), int(rng.integers(2, 5)))
    y_true = rng.normal(size=shape).astype(np.float32)
    y_pred = (y_true + rng.normal(scale=0.7, size=shape)).astype(np.float32)
    expect_close(
        _scalar(student.mse(y_true, y_pred), "mse's result"),
        keras.losses.MeanSquaredError()(y_true, y_pred),
        check_dtype=False,
        what=f"mse on {shape} targets and predictions",
    )


@grade(
    points=1,
    exercise="mse",
    hint="The same function serves one output per example, shape (n,), and a single example.",
)
def test_mse_vector_and_single(student, rng):
    n = int(rng.integers(5, 12))
    cases = [
        (rng.normal(size=n), rng.normal(size=n)),
        (rng.normal(size=(1, 1)), rng.normal(size=(1, 1))),
    ]
    for y_true, y_pred in cases:
        y_true, y_pred = y_true.astype(np.float32), y_pred.astype(np.float32)
        expect_close(
            _scalar(student.mse(y_true, y_pred), "mse's result"),
            keras.losses.MeanSquaredError()(y_true, y_pred),
            check_dtype=False,
            what=f"mse on targets of shape {y_true.shape}",
        )


@grade(
    points=1,
    exercise="mse",
    hint="Perfect predictions cost exactly 0; predictions all off by c cost c².",
)
def test_mse_exact_values(student, rng):
    y = rng.normal(size=(5, 3)).astype(np.float32)
    expect_close(
        _scalar(student.mse(y, y), "mse's result"),
        np.float32(0.0),
        check_dtype=False,
        what="mse of predictions equal to the targets",
    )
    c = np.float32(rng.choice([-3.0, -0.5, 2.0]))
    expect_close(
        _scalar(student.mse(y, y + c), "mse's result"),
        np.float32(c * c),
        check_dtype=False,
        rtol=1e-5,
        what=f"mse of predictions all off by {c:g}",
    )


@grade(
    points=1,
    exercise="mse",
    hint="Targets may be integers and inputs Python lists, and TensorFlow never mixes dtypes "
    "silently: convert both to float tensors before subtracting.",
)
def test_mse_integer_targets_and_lists(student, rng):
    n = int(rng.integers(4, 9))
    counts = rng.integers(0, 10, size=n).astype(np.int32)
    guesses = (counts + rng.normal(size=n)).astype(np.float32)
    expect_close(
        _scalar(student.mse(tf.constant(counts), guesses), "mse's result"),
        keras.losses.MeanSquaredError()(counts.astype(np.float32), guesses),
        check_dtype=False,
        what="mse of int32 targets (a tensor) and float32 predictions",
    )
    expect_close(
        _scalar(student.mse(counts.tolist(), guesses.tolist()), "mse's result"),
        keras.losses.MeanSquaredError()(counts.astype(np.float32), guesses),
        check_dtype=False,
        what="mse of Python lists (int targets, float predictions)",
    )


# --------------------------------------------------------------------- binary_crossentropy


def _keras_bce(y, p, from_logits):
    return keras.losses.BinaryCrossentropy(from_logits=from_logits)(y, p)


@grade(
    points=2,
    exercise="binary_crossentropy",
    hint="−[y log p + (1 − y) log(1 − p)], averaged over every element; with several labels "
    "per example, each is its own yes/no question.",
)
def test_bce_probabilities_random(student, rng):
    shape = (int(rng.integers(5, 10)), int(rng.integers(1, 4)))
    y = rng.integers(0, 2, size=shape).astype(np.float32)
    p = rng.uniform(0.02, 0.98, size=shape).astype(np.float32)
    expect_close(
        _scalar(student.binary_crossentropy(y, p), "binary_crossentropy's result"),
        _keras_bce(y, p, False),
        check_dtype=False,
        what=f"binary_crossentropy on {shape} probabilities",
    )


@grade(
    points=1,
    exercise="binary_crossentropy",
    hint="log 0 is −∞ and 0 · log 0 is NaN: keep the probabilities inside [ε, 1 − ε] "
    "before taking logarithms, as Keras does.",
)
def test_bce_probabilities_zero_and_one(student, rng):
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]], dtype=np.float32)
    p = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0.3, 0.6]], dtype=np.float32)
    order = rng.permutation(len(y))
    y, p = y[order], p[order]
    got = _scalar(student.binary_crossentropy(y, p), "binary_crossentropy's result")
    expect(
        bool(np.isfinite(got)),
        f"binary_crossentropy on probabilities of exactly 0 and 1 returned {float(got)}: "
        "a logarithm of 0 got through.",
    )
    expect_close(
        got,
        _keras_bce(y, p, False),
        check_dtype=False,
        rtol=1e-4,
        what="binary_crossentropy on probabilities of exactly 0 and 1",
    )


@grade(
    points=1,
    exercise="binary_crossentropy",
    hint="With from_logits=True, y_pred holds logits z, and p = σ(z).",
)
def test_bce_logits_random(student, rng):
    shape = (int(rng.integers(5, 10)), int(rng.integers(1, 4)))
    y = rng.integers(0, 2, size=shape).astype(np.float32)
    z = (3.0 * rng.normal(size=shape)).astype(np.float32)
    expect_close(
        _scalar(
            student.binary_crossentropy(y, z, from_logits=True), "binary_crossentropy's result"
        ),
        _keras_bce(y, z, True),
        check_dtype=False,
        what=f"binary_crossentropy with from_logits=True on {shape} logits",
    )


@grade(
    points=2,
    exercise="binary_crossentropy",
    hint="σ(z) rounds to exactly 0 or 1 for large |z|, and exp(z) overflows above about 88: "
    "never compute the sigmoid, and keep every exponent ≤ 0.",
)
def test_bce_logits_large(student, rng):
    z = np.array([100.0, -100.0, 1000.0, -1000.0, 30.0, -30.0, 0.0, 100.0], dtype=np.float32)
    y = np.array([0, 1, 0, 1, 1, 0, 1, 1], dtype=np.float32)
    spread = (1000.0 * rng.uniform(-1.0, 1.0, size=8)).astype(np.float32)
    labels = rng.integers(0, 2, size=8).astype(np.float32)
    z, y = np.stack([z, spread], axis=1), np.stack([y, labels], axis=1)
    got = _scalar(
        student.binary_crossentropy(y, z, from_logits=True), "binary_crossentropy's result"
    )
    expect(
        bool(np.isfinite(got)),
        f"binary_crossentropy with from_logits=True on logits of ±1000 returned {float(got)}: "
        "something overflowed.",
    )
    expect_close(
        got,
        _keras_bce(y, z, True),
        check_dtype=False,
        what="binary_crossentropy with from_logits=True on logits as large as ±1000",
    )


@grade(
    points=1,
    exercise="binary_crossentropy",
    hint="Labels often come as integers (a tensor or a list): cast them to the predictions' "
    "float dtype before multiplying.",
)
def test_bce_integer_labels_and_lists(student, rng):
    n = int(rng.integers(4, 9))
    labels = rng.integers(0, 2, size=(n, 1)).astype(np.int32)
    p = rng.uniform(0.05, 0.95, size=(n, 1)).astype(np.float32)
    z = (2.0 * rng.normal(size=(n, 1))).astype(np.float32)
    floats = labels.astype(np.float32)
    expect_close(
        _scalar(
            student.binary_crossentropy(tf.constant(labels), p), "binary_crossentropy's result"
        ),
        _keras_bce(floats, p, False),
        check_dtype=False,
        what="binary_crossentropy of int32 labels (a tensor) and float32 probabilities",
    )
    expect_close(
        _scalar(
            student.binary_crossentropy(labels.tolist(), z.tolist(), from_logits=True),
            "binary_crossentropy's result",
        ),
        _keras_bce(floats, z, True),
        check_dtype=False,
        what="binary_crossentropy with from_logits=True on Python lists (int labels)",
    )


# ---------------------------------------------------------- sparse_categorical_crossentropy


def _keras_scce(labels, y_pred, from_logits):
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)(labels, y_pred)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@grade(
    points=2,
    exercise="sparse_categorical_crossentropy",
    hint="Each example costs −log of the probability it gave its own class; the loss is the "
    "mean over the examples.",
)
def test_scce_probabilities_random(student, rng):
    n, classes = int(rng.integers(5, 10)), int(rng.integers(3, 7))
    probs = _softmax(rng.normal(size=(n, classes))).astype(np.float32)
    labels = rng.integers(0, classes, size=n).astype(np.int32)
    expect_close(
        _scalar(
            student.sparse_categorical_crossentropy(labels, probs),
            "sparse_categorical_crossentropy's result",
        ),
        _keras_scce(labels, probs, False),
        check_dtype=False,
        what=f"sparse_categorical_crossentropy on ({n}, {classes}) probabilities",
    )


@grade(
    points=1,
    exercise="sparse_categorical_crossentropy",
    hint="A one-hot row gives probability 0 to every other class, and log 0 = −∞: clip the "
    "probabilities to [ε, 1 − ε] first, as Keras does.",
)
def test_scce_probabilities_one_hot(student, rng):
    classes = 4
    picks = rng.integers(0, classes, size=6)
    probs = np.eye(classes, dtype=np.float32)[picks]
    labels = picks.copy()
    labels[::2] = (labels[::2] + 1 + rng.integers(0, classes - 1, size=3)) % classes  # wrong
    labels = labels.astype(np.int64)
    got = _scalar(
        student.sparse_categorical_crossentropy(labels, probs),
        "sparse_categorical_crossentropy's result",
    )
    expect(
        bool(np.isfinite(got)),
        f"sparse_categorical_crossentropy on one-hot probabilities returned {float(got)}: "
        "a logarithm of 0 got through.",
    )
    expect_close(
        got,
        _keras_scce(labels, probs, False),
        check_dtype=False,
        rtol=1e-4,
        atol=1e-5,
        what="sparse_categorical_crossentropy on one-hot probabilities (exactly 0 and 1)",
    )


@grade(
    points=1,
    exercise="sparse_categorical_crossentropy",
    hint="From logits: −z[label] + log Σⱼ exp(zⱼ), per example.",
)
def test_scce_logits_random(student, rng):
    n, classes = int(rng.integers(5, 10)), int(rng.integers(2, 7))
    logits = (2.0 * rng.normal(size=(n, classes))).astype(np.float32)
    labels = rng.integers(0, classes, size=n).astype(np.int32)
    expect_close(
        _scalar(
            student.sparse_categorical_crossentropy(labels, logits, from_logits=True),
            "sparse_categorical_crossentropy's result",
        ),
        _keras_scce(labels, logits, True),
        check_dtype=False,
        what=f"sparse_categorical_crossentropy with from_logits=True on ({n}, {classes}) logits",
    )


@grade(
    points=2,
    exercise="sparse_categorical_crossentropy",
    hint="The log of a softmax is −∞ wherever the softmax underflows to 0. Subtract each "
    "row's maximum before exponentiating (log Σ exp(z) = m + log Σ exp(z − m)).",
)
def test_scce_logits_large(student, rng):
    fixed = np.array(
        [
            [1000.0, 0.0, -1000.0, 500.0],
            [-1000.0, -1001.0, -1003.0, -1000.5],
            [100.0, -100.0, 0.0, 99.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    spread = 1000.0 * rng.uniform(-1.0, 1.0, size=(4, 4))
    logits = np.concatenate([fixed, spread]).astype(np.float32)
    labels = np.concatenate([[2, 0, 1, 3], rng.integers(0, 4, size=4)]).astype(np.int32)
    got = _scalar(
        student.sparse_categorical_crossentropy(labels, logits, from_logits=True),
        "sparse_categorical_crossentropy's result",
    )
    expect(
        bool(np.isfinite(got)),
        f"sparse_categorical_crossentropy with from_logits=True on logits of ±1000 returned "
        f"{float(got)}: something overflowed or took the log of 0.",
    )
    expect_close(
        got,
        _keras_scce(labels, logits, True),
        check_dtype=False,
        rtol=1e-5,
        what="sparse_categorical_crossentropy with from_logits=True on logits as large as ±1000",
    )


@grade(
    points=1,
    exercise="sparse_categorical_crossentropy",
    hint="The classes are on the last axis, whatever comes before it: a batch of sequences "
    "has labels (n, t) and predictions (n, t, classes).",
)
def test_scce_sequences(student, rng):
    n, t, classes = int(rng.integers(2, 5)), int(rng.integers(3, 6)), int(rng.integers(3, 6))
    logits = (2.0 * rng.normal(size=(n, t, classes))).astype(np.float32)
    labels = rng.integers(0, classes, size=(n, t)).astype(np.int32)
    expect_close(
        _scalar(
            student.sparse_categorical_crossentropy(labels, logits, from_logits=True),
            "sparse_categorical_crossentropy's result",
        ),
        _keras_scce(labels, logits, True),
        check_dtype=False,
        what=f"sparse_categorical_crossentropy with from_logits=True on ({n}, {t}, {classes}) "
        "logits of sequences",
    )
    probs = _softmax(logits.astype(np.float64)).astype(np.float32)
    expect_close(
        _scalar(
            student.sparse_categorical_crossentropy(labels, probs),
            "sparse_categorical_crossentropy's result",
        ),
        _keras_scce(labels, probs, False),
        check_dtype=False,
        what=f"sparse_categorical_crossentropy on ({n}, {t}, {classes}) probabilities of sequences",
    )


@grade(
    points=1,
    exercise="sparse_categorical_crossentropy",
    hint="Inputs may be Python lists: convert them to tensors first.",
)
def test_scce_lists(student, rng):
    n, classes = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    labels = rng.integers(0, classes, size=n)
    probs = _softmax(rng.normal(size=(n, classes))).astype(np.float32)
    logits = rng.normal(size=(n, classes)).astype(np.float32)
    for y_pred, from_logits in [(probs, False), (logits, True)]:
        expect_close(
            _scalar(
                student.sparse_categorical_crossentropy(
                    labels.tolist(), y_pred.tolist(), from_logits=from_logits
                ),
                "sparse_categorical_crossentropy's result",
            ),
            _keras_scce(labels, y_pred, from_logits),
            check_dtype=False,
            what=f"sparse_categorical_crossentropy with from_logits={from_logits} on Python lists",
        )


# ------------------------------------------------------------------- gradient_descent_step


def _linear_problem(rng):
    # k >= 2 outputs: with one, a loss summed over the outputs equals their mean, and
    # whether a mistake showed would depend on the submission's inputs.
    n, d, k = int(rng.integers(4, 9)), int(rng.integers(2, 5)), int(rng.integers(2, 4))
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.normal(size=(n, k)).astype(np.float32)
    w = rng.normal(size=(d, k)).astype(np.float32)
    b = rng.normal(size=(k,)).astype(np.float32)
    return x, y, w, b


def _linear_mse(x, y, w, b):
    x, y, w, b = (np.asarray(a, np.float64) for a in (x, y, w, b))
    return float(np.mean((x @ w + b - y) ** 2))


def _gd(student, w, b, x, y, learning_rate):
    result = student.gradient_descent_step(w, b, x, y, learning_rate)
    new_w, new_b, loss = as_parts(result, ["new_w", "new_b", "loss"], what="gradient_descent_step")
    return (
        as_array(new_w, what="the new w"),
        as_array(new_b, what="the new b"),
        _scalar(loss, "the loss returned by gradient_descent_step"),
    )


@grade(
    points=2,
    exercise="gradient_descent_step",
    hint="Ask the tape for the gradients of the loss with respect to both w and b, then move "
    "each by −learning_rate × its gradient.",
)
def test_gd_step_random(student, reference, rng):
    x, y, w, b = _linear_problem(rng)
    rate = float(rng.uniform(0.01, 0.2))
    new_w, new_b, _ = _gd(student, w, b, x, y, rate)
    want_w, want_b, _ = reference.gradient_descent_step(w, b, x, y, rate)
    what = f"with x {x.shape}, w {w.shape} and learning rate {rate:.3f}"
    expect_close(new_w, want_w, check_dtype=False, rtol=1e-5, atol=1e-5, what=f"the new w {what}")
    expect_close(new_b, want_b, check_dtype=False, rtol=1e-5, atol=1e-5, what=f"the new b {what}")


@grade(
    points=1,
    exercise="gradient_descent_step",
    hint="Return the loss computed inside the tape, at the weights you were given: the "
    "mean squared error of x @ w + b.",
)
def test_gd_step_loss(student, rng):
    x, y, w, b = _linear_problem(rng)
    _, _, loss = _gd(student, w, b, x, y, 0.1)
    expect_close(
        loss,
        np.float64(_linear_mse(x, y, w, b)),
        check_dtype=False,
        rtol=1e-5,
        what="the loss returned by gradient_descent_step (before the step)",
    )


@grade(
    points=1,
    exercise="gradient_descent_step",
    hint="The gradient points uphill: a small step against it must lower the loss.",
)
def test_gd_step_descends(student, rng):
    x, y, w, b = _linear_problem(rng)
    new_w, new_b, _ = _gd(student, w, b, x, y, 0.01)
    expect(
        new_w.shape == w.shape and new_b.shape == b.shape,
        f"the new weights have shapes {new_w.shape} and {new_b.shape}, but w and b have "
        f"{w.shape} and {b.shape}.",
    )
    before, after = _linear_mse(x, y, w, b), _linear_mse(x, y, new_w, new_b)
    expect(
        after < before,
        f"one step with learning rate 0.01 took the loss from {before:.5f} to {after:.5f}: "
        "it should go down.",
    )


@grade(
    points=1,
    exercise="gradient_descent_step",
    hint="With learning rate 0, or at a perfect fit where the gradient is 0, nothing moves.",
)
def test_gd_step_still(student, rng):
    x, y, w, b = _linear_problem(rng)
    new_w, new_b, _ = _gd(student, w, b, x, y, 0.0)
    expect_close(new_w, w, check_dtype=False, what="w after a step with learning rate 0")
    expect_close(new_b, b, check_dtype=False, what="b after a step with learning rate 0")
    exact = (x.astype(np.float64) @ w + b).astype(np.float32)
    new_w, new_b, loss = _gd(student, w, b, x, exact, 0.5)
    expect_close(new_w, w, check_dtype=False, atol=1e-5, what="w after a step at a perfect fit")
    expect_close(new_b, b, check_dtype=False, atol=1e-5, what="b after a step at a perfect fit")
    expect_close(
        loss, np.float32(0.0), check_dtype=False, atol=1e-6, what="the loss at a perfect fit"
    )


# --------------------------------------------------------------------------- momentum_step


def _keras_path(optimizer, start, gradients):
    """The weights after each step of a Keras optimizer from ``start``."""
    variable = tf.Variable(start)
    path = []
    for gradient in gradients:
        optimizer.apply_gradients([(tf.constant(gradient), variable)])
        path.append(variable.numpy().copy())
    return path


def _momentum_path(student, start, gradients, rate, momentum, velocity=None):
    weights = start
    velocity = np.zeros_like(start) if velocity is None else velocity
    path = []
    for step, gradient in enumerate(gradients, start=1):
        result = student.momentum_step(weights, gradient, velocity, rate, momentum)
        weights, velocity = as_parts(result, ["new_weights", "new_velocity"], what="momentum_step")
        weights = as_array(weights, what=f"the weights after step {step}")
        velocity = as_array(velocity, what=f"the velocity after step {step}")
        path.append((weights, velocity))
    return path


@grade(
    points=2,
    exercise="momentum_step",
    hint="First v ← momentum·v − learning_rate·g, then w ← w + v, with the new v.",
)
def test_momentum_matches_keras(student, rng):
    start = rng.normal(size=(3, 2)).astype(np.float32)
    gradients = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(6)]
    rate, momentum = float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.5, 0.95))
    want = _keras_path(keras.optimizers.SGD(rate, momentum=momentum), start, gradients)
    got = _momentum_path(student, start, gradients, rate, momentum)
    for step, ((weights, _), expected) in enumerate(zip(got, want, strict=True), start=1):
        expect_close(
            weights,
            expected,
            check_dtype=False,
            atol=1e-5,
            what=f"the weights after step {step} (learning rate {rate:.3f}, "
            f"momentum {momentum:.2f}), compared with keras.optimizers.SGD",
        )


@grade(
    points=1,
    exercise="momentum_step",
    hint="Keras's velocity already includes the learning rate and the minus sign: "
    "v ← momentum·v − learning_rate·g.",
)
def test_momentum_velocity(student, reference, rng):
    start = rng.normal(size=5).astype(np.float32)
    gradients = [rng.normal(size=5).astype(np.float32) for _ in range(4)]
    rate, momentum = float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.5, 0.95))
    got = _momentum_path(student, start, gradients, rate, momentum)
    weights, velocity = start, np.zeros_like(start)
    for step, ((_, got_velocity), gradient) in enumerate(zip(got, gradients, strict=True), start=1):
        weights, velocity = reference.momentum_step(weights, gradient, velocity, rate, momentum)
        expect_close(
            got_velocity,
            velocity,
            check_dtype=False,
            atol=1e-5,
            what=f"the velocity after step {step}",
        )


@grade(
    points=1,
    exercise="momentum_step",
    hint="Momentum is memory: with a zero gradient, the weights keep moving by the decaying "
    "velocity.",
)
def test_momentum_coasts(student, reference, rng):
    start = rng.normal(size=4).astype(np.float32)
    velocity = rng.normal(scale=0.5, size=4).astype(np.float32)
    gradients = [np.zeros(4, np.float32)] * 3
    momentum = float(rng.uniform(0.5, 0.95))
    got = _momentum_path(student, start, gradients, 0.1, momentum, velocity)
    weights, want_velocity = start, velocity
    for step, (got_weights, _) in enumerate(got, start=1):
        weights, want_velocity = reference.momentum_step(
            weights, gradients[0], want_velocity, 0.1, momentum
        )
        expect_close(
            got_weights,
            weights,
            check_dtype=False,
            atol=1e-5,
            what=f"the weights after step {step} with zero gradients and a nonzero starting "
            "velocity",
        )


@grade(
    points=1,
    exercise="momentum_step",
    hint="With momentum 0 the velocity forgets everything: each step is plain gradient descent.",
)
def test_momentum_zero_is_sgd(student, rng):
    start = rng.normal(size=(2, 3)).astype(np.float32)
    gradients = [rng.normal(size=(2, 3)).astype(np.float32) for _ in range(3)]
    rate = float(rng.uniform(0.05, 0.5))
    want = _keras_path(keras.optimizers.SGD(rate), start, gradients)
    got = _momentum_path(student, start, gradients, rate, 0.0)
    for step, ((weights, _), expected) in enumerate(zip(got, want, strict=True), start=1):
        expect_close(
            weights,
            expected,
            check_dtype=False,
            atol=1e-5,
            what=f"the weights after step {step} with momentum 0 (plain SGD)",
        )


# ------------------------------------------------------------------------------ adam_step


def _adam_path(student, start, gradients, first_step=1, state=None, **options):
    weights = start
    m, v = (np.zeros_like(start), np.zeros_like(start)) if state is None else state
    path = []
    for step, gradient in enumerate(gradients, start=first_step):
        result = student.adam_step(weights, gradient, m, v, step, **options)
        weights, m, v = as_parts(result, ["new_weights", "new_m", "new_v"], what="adam_step")
        weights = as_array(weights, what=f"the weights after step {step}")
        m = as_array(m, what=f"m after step {step}")
        v = as_array(v, what=f"v after step {step}")
        path.append((weights, m, v))
    return path


def _gradients(rng, shape, count, low=0.1, high=3.0):
    """Gradients away from zero (signs random), so any correct ε placement agrees."""
    return [
        (rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)).astype(
            np.float32
        )
        for _ in range(count)
    ]


def _compare_path(got, want, what):
    for step, ((weights, _, _), expected) in enumerate(zip(got, want, strict=True), start=1):
        expect_close(
            weights,
            expected,
            check_dtype=False,
            rtol=1e-5,
            # atol 1e-5: Keras adds epsilon before the bias correction, the textbook after;
            # over 8 steps of small gradients that alone moves weights by up to ~3e-6.
            atol=1e-5,
            what=f"the weights after step {step} {what}",
        )


@grade(
    points=2,
    exercise="adam_step",
    hint="Update m and v first, then α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) and w ← w − α·m/(√v + ε), "
    "with t counted from 1.",
)
def test_adam_matches_keras(student, rng):
    start = rng.normal(size=(2, 3)).astype(np.float32)
    gradients = _gradients(rng, (2, 3), 8)
    rate = float(rng.uniform(0.001, 0.1))
    want = _keras_path(keras.optimizers.Adam(rate), start, gradients)
    got = _adam_path(student, start, gradients, learning_rate=rate)
    _compare_path(got, want, f"(learning rate {rate:.4f}), compared with keras.optimizers.Adam")


@grade(
    points=1,
    exercise="adam_step",
    hint="m and v are plain exponential moving averages of g and g², without bias correction; "
    "the correction only enters the step size.",
)
def test_adam_moments(student, reference, rng):
    start = rng.normal(size=4).astype(np.float32)
    gradients = _gradients(rng, 4, 5)
    got = _adam_path(student, start, gradients, learning_rate=0.01)
    weights, m, v = start, np.zeros_like(start), np.zeros_like(start)
    for step, ((_, got_m, got_v), gradient) in enumerate(zip(got, gradients, strict=True), start=1):
        weights, m, v = reference.adam_step(weights, gradient, m, v, step, learning_rate=0.01)
        expect_close(got_m, m, check_dtype=False, what=f"m after step {step}")
        expect_close(got_v, v, check_dtype=False, what=f"v after step {step}")


@grade(
    points=1,
    exercise="adam_step",
    hint="Both moving averages start at 0, so early on they are too small; bias correction "
    "makes the first step about learning_rate for every weight with a nonzero gradient. "
    "Use the betas you are given.",
)
def test_adam_first_step(student, rng):
    start = rng.normal(size=6).astype(np.float32)
    gradient = np.array([2.0, -0.5, 0.0, 1000.0, -3000.0, 0.2], dtype=np.float32)
    gradient *= rng.uniform(0.5, 2.0, size=6).astype(np.float32)
    rate = float(rng.uniform(0.01, 0.1))
    options = {"learning_rate": rate, "beta_1": 0.8, "beta_2": 0.99}
    want = _keras_path(keras.optimizers.Adam(**options), start, [gradient])
    got = _adam_path(student, start, [gradient], **options)
    _compare_path(got, want, f"(learning rate {rate:.3f}, beta_1 0.8, beta_2 0.99)")


@grade(
    points=1,
    exercise="adam_step",
    hint="The bias correction depends on the step number t, which counts from 1: a step "
    "late in training is corrected far less than the first.",
)
def test_adam_later_step(student, reference, rng):
    start = rng.normal(size=5).astype(np.float32)
    steps = int(rng.integers(10, 40))
    gradients = _gradients(rng, 5, steps + 2)
    weights, m, v = start, np.zeros_like(start), np.zeros_like(start)
    for step, gradient in enumerate(gradients[:steps], start=1):
        weights, m, v = reference.adam_step(weights, gradient, m, v, step, learning_rate=0.01)
    state = (as_array(m), as_array(v))
    weights = as_array(weights)
    want = []
    w, mm, vv = weights, *state
    for step, gradient in enumerate(gradients[steps:], start=steps + 1):
        w, mm, vv = reference.adam_step(w, gradient, mm, vv, step, learning_rate=0.01)
        want.append(as_array(w))
    got = _adam_path(
        student, weights, gradients[steps:], first_step=steps + 1, state=state, learning_rate=0.01
    )
    _compare_path(got, want, f"when resuming at step {steps + 1}")


@grade(
    points=1,
    exercise="adam_step",
    hint="When gradients are tiny, where ε goes matters: Keras adds it to √v, the raw moving "
    "average, and applies the bias correction through α. Use the epsilon you are given.",
)
def test_adam_tiny_gradients(student, rng):
    start = rng.normal(size=4).astype(np.float32)
    gradients = _gradients(rng, 4, 3, low=1e-7, high=1e-5)
    want = _keras_path(keras.optimizers.Adam(0.01), start, gradients)
    got = _adam_path(student, start, gradients, learning_rate=0.01)
    _compare_path(got, want, "with gradients of about 1e-6, compared with keras.optimizers.Adam")
    want = _keras_path(keras.optimizers.Adam(0.01, epsilon=1e-5), start, gradients)
    got = _adam_path(student, start, gradients, learning_rate=0.01, epsilon=1e-5)
    _compare_path(got, want, "with gradients of about 1e-6 and epsilon 1e-5")


# ---------------------------------------------------------------------------- build_model


@grade(
    points=1,
    exercise="build_model",
    hint="Inputs of shape (2,), Dense(16, relu), Dense(16, relu), Dense(1): count the weights "
    "and biases of each layer.",
)
def test_build_model_architecture(student, rng):
    model = as_model(student.build_model(int(rng.integers(0, 1000))), what="build_model's result")
    expected = (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    count = parameter_count(model, what="the model")
    expect(
        count == expected,
        f"the model has {count} parameters, but 2 → 16 → 16 → 1 dense layers have {expected}.",
    )
    x = rng.normal(size=(5, 2)).astype(np.float32)
    out = as_array(model(x, training=False), what="the model's output")
    expect(
        out.shape == (5, 1),
        f"on 5 examples the model returned shape {out.shape}, but (5, 1) was expected.",
    )


@grade(
    points=1,
    exercise="build_model",
    hint="The last layer has no activation: the model outputs logits, any real number, and "
    "the loss applies the sigmoid itself (from_logits=True).",
)
def test_build_model_outputs_logits(student, rng):
    model = as_model(student.build_model(int(rng.integers(0, 1000))), what="build_model's result")
    x = (50.0 * rng.normal(size=(64, 2))).astype(np.float32)
    out = as_array(model(x, training=False), what="the model's output")
    expect(
        bool(np.any((out < 0.0) | (out > 1.0))),
        "on inputs of size about 50 every output is between 0 and 1: the last layer seems to "
        "end in a sigmoid, but the model should output logits.",
    )


@grade(
    points=1,
    exercise="build_model",
    hint="Seed every random generator before the layers create their weights: "
    "keras.utils.set_random_seed(seed).",
)
def test_build_model_seeded(student, rng):
    seed = int(rng.integers(0, 1000))
    first, second, other = (
        method(
            as_model(student.build_model(each), what="build_model's result"),
            "get_weights",
            what="the model",
        )()
        for each in (seed, seed, seed + 1)
    )
    expect(
        isinstance(first, list) and len(first) == len(second) == len(other) == 6,
        "get_weights() should list 6 arrays: a kernel and a bias for each of the 3 layers.",
    )
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        expect_close(
            b,
            as_array(a, what=f"weight array {index} of a model built with seed {seed}"),
            rtol=0.0,
            atol=0.0,
            what=f"weight array {index} of a second model built with seed {seed}",
        )
    expect(
        any(
            not np.array_equal(as_array(a), as_array(c)) for a, c in zip(first, other, strict=True)
        ),
        f"models built with seeds {seed} and {seed + 1} have the same initial weights: the "
        "seed should decide them.",
    )


# ---------------------------------------------------------------------------- train_custom


def _custom(student, x, y, epochs, rate, seed, what):
    result = student.train_custom(x, y, epochs, BATCH, rate, seed)
    model, history = as_parts(result, ["model", "history"], what="train_custom")
    model = as_model(model, what="the model train_custom returned")
    loss = curve(history, "loss", what=f"{what}'s history", length=epochs)
    accuracy = curve(history, "accuracy", what=f"{what}'s history", length=epochs)
    return model, loss, accuracy


@pytest.fixture(scope="module")
def custom_run(student, reference):
    """One training run of train_custom, kept as plain data."""
    x, y = _moons(reference, N_TRAIN, TRAIN_SEED)
    x_test, y_test = _moons(reference, N_TEST, TEST_SEED)
    model, loss, accuracy = _custom(student, x, y, EPOCHS, LEARNING_RATE, RUN_SEED, "train_custom")
    test_accuracy = _accuracy(_logits(model, x_test, "the trained model"), y_test)
    return {"loss": loss, "accuracy": accuracy, "test_accuracy": test_accuracy}


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_custom",
    hint="After every step, the optimizer must change the model's weights: "
    "optimizer.apply_gradients(zip(gradients, model.trainable_variables)), with the gradient "
    "of the loss computed inside the tape.",
)
def test_train_custom_loss_goes_down(student, reference, reference_data, custom_run, feedback):
    x, y = _moons(reference, N_TRAIN, TRAIN_SEED)
    want = reference_data(
        reference.train_custom, x, y, EPOCHS, BATCH, LEARNING_RATE, RUN_SEED,
        pick=lambda run: [float(v) for v in run[1]["loss"]], label="loss",
    )  # trained once per suite version, not per submission
    loss = custom_run["loss"]
    feedback.curve("loss", student=loss.tolist(), reference=want)
    _expect_loss_falls(loss, f"over {EPOCHS} epochs")


@grade(
    fixed_inputs=TRAINING_DATA,
    points=2,
    exercise="train_custom",
    hint="Shuffle, then go through every mini-batch in every epoch, updating the weights after "
    "each one; the model must learn a curved boundary, which its hidden layers allow.",
)
def test_train_custom_accuracy(student, custom_run):
    _expect_accuracy(custom_run["test_accuracy"], f"after {EPOCHS} epochs")


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_custom",
    hint="Each epoch reports the mean of its batch losses and the fraction of its examples "
    "classified correctly (logit > 0 means class 1); start both afresh every epoch.",
)
def test_train_custom_epoch_metrics(student, reference):
    x, y = _moons(reference, N_VAL, VAL_SEED)
    model, loss, accuracy = _custom(student, x, y, 2, 0.0, RUN_SEED + 1, "train_custom")
    logits = _logits(model, x, "the model")
    for epoch in range(2):
        expect_close(
            loss[epoch],
            np.float64(_bce_from_logits(y, logits)),
            check_dtype=False,
            rtol=1e-4,
            atol=1e-5,
            what=f"the loss of epoch {epoch + 1} with learning rate 0 (the weights never "
            "change, so it is the model's loss on the whole training set)",
        )
        expect_close(
            accuracy[epoch],
            np.float64(_accuracy(logits, y)),
            check_dtype=False,
            atol=1e-6,
            what=f"the accuracy of epoch {epoch + 1} with learning rate 0",
        )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_custom",
    hint="Seed everything from the seed argument at the start of each run: the initial "
    "weights and the shuffling of every epoch.",
)
def test_train_custom_deterministic(student, reference, custom_run):
    x, y = _moons(reference, N_TRAIN, TRAIN_SEED)
    _, loss, _ = _custom(student, x, y, 2, LEARNING_RATE, RUN_SEED, "train_custom")
    expect_close(
        loss,
        custom_run["loss"][:2],
        rtol=1e-6,
        atol=1e-7,
        what="the first two epochs' losses of a second run with the same seed",
    )


# ------------------------------------------------------------------------------ train_fit


def _fit(student, x, y, x_val, y_val, epochs, rate, seed, patience):
    result = student.train_fit(x, y, x_val, y_val, epochs, BATCH, rate, seed, patience)
    model, history = as_parts(result, ["model", "history"], what="train_fit")
    model = as_model(model, what="the model train_fit returned")
    return model, history_of(history, what="train_fit's history")


@pytest.fixture(scope="module")
def fit_run(student, reference):
    """One training run of train_fit, kept as plain data."""
    x, y = _moons(reference, N_TRAIN, TRAIN_SEED)
    x_val, y_val = _moons(reference, N_VAL, VAL_SEED)
    x_test, y_test = _moons(reference, N_TEST, TEST_SEED)
    model, history = _fit(student, x, y, x_val, y_val, EPOCHS, LEARNING_RATE, RUN_SEED, EPOCHS)
    test_accuracy = _accuracy(_logits(model, x_test, "the trained model"), y_test)
    return {"history": history, "test_accuracy": test_accuracy}


@pytest.fixture(scope="module")
def stopped_run(student, reference):
    """A run whose validation labels contradict the training data: the validation
    loss rises as the model learns, so early stopping must end it early. Its
    training data, seed and hyperparameters are fit_run's, so its training
    losses must repeat fit_run's."""
    x, y = _moons(reference, N_TRAIN, TRAIN_SEED)
    x_val, y_val = _moons(reference, N_VAL, VAL_SEED)
    flipped = 1.0 - y_val
    model, history = _fit(student, x, y, x_val, flipped, 30, LEARNING_RATE, RUN_SEED, 2)
    run = {"history": history}
    keep(  # the returned model's validation loss, by its own compiled loss
        run,
        "final_val_loss",
        lambda: method(model, "evaluate", what="the model train_fit returned")(
            x_val, flipped, verbose=0, return_dict=True
        ),
    )
    return run


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_fit",
    hint='Pass validation_data=(x_val, y_val) to fit, and name the metric "accuracy": '
    "fit then reports loss, accuracy, val_loss and val_accuracy.",
)
def test_train_fit_history(student, fit_run):
    history = fit_run["history"]
    epochs = len(curve(history, "loss", what="train_fit's history"))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        curve(history, key, what="train_fit's history", length=epochs)


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_fit",
    hint="compile with the optimizer, the loss from logits and the metric, then fit for the "
    "given epochs and batch size.",
)
def test_train_fit_loss_goes_down(student, reference, reference_data, fit_run, feedback):
    loss = curve(fit_run["history"], "loss", what="train_fit's history")
    x, y = _moons(reference, N_TRAIN, TRAIN_SEED)
    x_val, y_val = _moons(reference, N_VAL, VAL_SEED)
    want = reference_data(
        reference.train_fit, x, y, x_val, y_val, EPOCHS, BATCH, LEARNING_RATE, RUN_SEED, EPOCHS,
        pick=lambda run: [float(v) for v in run[1].history["loss"]], label="loss",
    )  # trained once per suite version, not per submission
    feedback.curve("loss", student=loss.tolist(), reference=want)
    _expect_loss_falls(loss, f"over {loss.size} epochs")


@grade(
    fixed_inputs=TRAINING_DATA,
    points=2,
    exercise="train_fit",
    hint="The model outputs logits: the loss needs from_logits=True, or its gradients "
    "vanish and the model stops learning.",
)
def test_train_fit_accuracy(student, fit_run):
    _expect_accuracy(fit_run["test_accuracy"], "after training with fit")


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_fit",
    hint='keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, ...) in fit\'s '
    "callbacks list: it stops once val_loss has not improved for `patience` epochs.",
)
def test_train_fit_early_stopping(student, stopped_run):
    val_loss = curve(stopped_run["history"], "val_loss", what="train_fit's history")
    best = int(np.argmin(val_loss))
    expect_stopped_early(val_loss, key="val_loss", best=best, epochs=30, patience=2)


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_fit",
    hint="EarlyStopping can put back the weights of the best epoch when it stops: "
    "restore_best_weights=True.",
)
def test_train_fit_restores_best(student, stopped_run):
    val_loss = curve(stopped_run["history"], "val_loss", what="train_fit's history")
    scores = kept(stopped_run, "final_val_loss")
    expect(
        isinstance(scores, dict) and "loss" in scores,
        "the returned model's evaluate reports no 'loss': is it the compiled model?",
    )
    expect_close(
        np.float64(as_float(scores["loss"], what="the loss evaluate reports")),
        np.float64(np.min(val_loss)),
        check_dtype=False,
        rtol=1e-4,
        atol=1e-5,
        what="the returned model's validation loss (it should be the best epoch's, "
        f"{np.min(val_loss):.4f}, not the last epoch's, {val_loss[-1]:.4f})",
    )


@pytest.fixture(scope="module")
def still_run(student, reference):
    """train_fit with learning rate 0, so the weights never change; then
    evaluate_and_predict on the same model, beside the model's own answers."""
    x, y = _moons(reference, N_VAL, VAL_SEED)
    x_val, y_val = _moons(reference, N_VAL, VAL_SEED + 1)
    x_test, y_test = _moons(reference, N_TEST, TEST_SEED)
    result = student.train_fit(x, y, x_val, y_val, 1, BATCH, 0.0, RUN_SEED + 1, 5)
    model, history = as_parts(result, ["model", "history"], what="train_fit")
    model = as_model(model, what="the model train_fit returned")
    run = {
        "train_logits": _logits(model, x, "the model"),
        "test_logits": _logits(model, x_test, "the model"),
    }
    # train_fit's problems, for its own tests
    keep(run, "history", lambda: history_of(history, what="train_fit's history"))
    keep(
        run,
        "scores",
        lambda: method(model, "evaluate", what="the model train_fit returned")(
            x_test, y_test, verbose=0, return_dict=True
        ),
    )
    keep(run, "result", lambda: student.evaluate_and_predict(model, x_test, y_test))
    return run


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_fit",
    hint="The model outputs logits: the loss must be computed from logits, and the accuracy "
    "must count a logit > 0 as class 1 (threshold 0, not 0.5).",
)
def test_train_fit_epoch_metrics(student, reference, still_run):
    _, y = _moons(reference, N_VAL, VAL_SEED)
    history = kept(still_run, "history")
    loss = curve(history, "loss", what="train_fit's history", length=1)
    accuracy = curve(history, "accuracy", what="train_fit's history", length=1)
    logits = still_run["train_logits"]
    expect_close(
        loss[0],
        np.float64(_bce_from_logits(y, logits)),
        check_dtype=False,
        rtol=1e-4,
        atol=1e-5,
        what="the loss reported by fit with learning rate 0 (the model's loss on the training set)",
    )
    expect_close(
        accuracy[0],
        np.float64(_accuracy(logits, y)),
        check_dtype=False,
        atol=1e-6,
        what="the accuracy reported by fit with learning rate 0",
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_fit",
    hint="fit shuffles the data every epoch: seed everything from the seed argument "
    "before building and training.",
)
def test_train_fit_deterministic(student, fit_run, stopped_run):
    first = curve(fit_run["history"], "loss", what="train_fit's history")
    again = curve(stopped_run["history"], "loss", what="train_fit's history")
    n = min(first.size, again.size, 3)
    expect_close(
        again[:n],
        first[:n],
        rtol=1e-6,
        atol=1e-7,
        what=f"the first {n} epochs' training losses of a second run with the same seed and "
        "training data (only the validation data differ)",
    )


# ------------------------------------------------------------------- evaluate_and_predict


def _evaluated(run):
    return as_dict(kept(run, "result"), what="what evaluate_and_predict returned")


@grade(
    fixed_inputs=TRAINING_DATA,
    points=2,
    exercise="evaluate_and_predict",
    hint="model.evaluate(x, y, verbose=0, return_dict=True) returns the compiled loss and "
    "metrics by name.",
)
def test_evaluate_loss_and_accuracy(student, still_run):
    result = _evaluated(still_run)
    scores = kept(still_run, "scores")
    for key in ("loss", "accuracy"):
        expect(key in result, f"evaluate_and_predict's dict has no {key!r} entry.")
        expect(
            isinstance(scores, dict) and key in scores,
            f"the model's evaluate reports no {key!r}: compile it with that metric.",
        )
        expect_close(
            _scalar(result[key], f"evaluate_and_predict's {key!r}"),
            np.float64(as_float(scores[key], what=f"the {key} evaluate reports")),
            check_dtype=False,
            rtol=1e-5,
            atol=1e-6,
            what=f"the test {key} returned by evaluate_and_predict",
        )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="evaluate_and_predict",
    hint="predict returns logits of shape (n, 1): the probability of class 1 is their "
    "sigmoid, one number per example.",
)
def test_evaluate_probabilities(student, still_run):
    result = _evaluated(still_run)
    expect("probabilities" in result, "evaluate_and_predict's dict has no 'probabilities' entry.")
    want = 1.0 / (1.0 + np.exp(-still_run["test_logits"]))
    expect_close(
        result["probabilities"],
        want,
        check_dtype=False,
        rtol=1e-5,
        atol=1e-6,
        what="the probabilities returned by evaluate_and_predict",
    )
