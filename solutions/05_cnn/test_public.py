"""Public checks for assignment 05, released to students as they are.

The same examples as the notebook's check cells, with their expected
values written out: nothing here comes from the reference solution, and
nothing here trains (the training exercises are checked by running the
notebook's own check cells). Run them with ``grader check 05_cnn.ipynb``;
the hidden tests that grade the notebook use other inputs and train.
"""

import numpy as np

from grader.harness import (
    as_array,
    as_dict,
    as_int,
    as_parts,
    as_shape,
    attribute,
    curve,
    expect,
    expect_close,
    expect_equal,
    grade,
    history_of,
    method,
)


def _images(count):
    return np.random.default_rng(0).random((count, 32, 32, 3)).astype(np.float32)


@grade(
    points=1,
    exercise="make_augmentation",
    hint="Preprocessing layers change images only when called with training=True.",
)
def test_check_augmentation(student):
    augment = student.make_augmentation()
    x = _images(4)
    expect_close(augment(x, training=False), x, what="the augmentation in inference")
    changed = as_array(augment(x, training=True), what="the augmentation in training")
    expect(not np.array_equal(changed, x), "in training, the augmentation changed no image.")


@grade(
    points=1,
    exercise="build_sequential_cnn",
    hint="Conv2D 32/64/64 with pooling, then Flatten, Dense 64 and Dense 10 softmax.",
)
def test_check_sequential_cnn(student):
    model = student.build_sequential_cnn()
    expect_equal(
        as_shape(attribute(model, "output_shape", what="your CNN"), what="its output shape"),
        (None, 10),
        what="the output shape of build_sequential_cnn()",
    )
    count = as_int(method(model, "count_params", what="your CNN")(), what="its parameter count")
    expect_equal(count, 122570, what="the parameter count of build_sequential_cnn()")


@grade(
    points=1,
    exercise="build_functional_cnn",
    hint="The Functional model ends in Dense 10 softmax, one probability per class.",
)
def test_check_functional_cnn(student):
    model = student.build_functional_cnn()
    expect_equal(
        as_shape(attribute(model, "output_shape", what="your model"), what="its output shape"),
        (None, 10),
        what="the output shape of build_functional_cnn()",
    )


@grade(
    points=1,
    exercise="CifarNet",
    hint="In inference, Dropout does nothing and BatchNormalization uses its moving averages.",
)
def test_check_cifarnet_inference(student):
    model = student.CifarNet()
    x = _images(4)
    first = as_array(model(x, training=False), what="CifarNet's output")
    expect_equal(first.shape, (4, 10), what="the shape of CifarNet's output for 4 images")
    expect_close(model(x, training=False), first, what="a second inference call")


@grade(
    points=1,
    exercise="build_encoder",
    hint="return_sequences=True gives every step's output; return_state=True adds the states.",
)
def test_check_encoder_shapes(student):
    outputs = student.build_encoder("LSTM", 5, 7, 2)(np.zeros((3, 7, 2), np.float32))
    expect(isinstance(outputs, (list, tuple)), "the encoder should return [sequence, h, c].")
    shapes = [as_array(o, what="an output of the encoder").shape for o in outputs]
    expect_equal(shapes, [(3, 7, 5), (3, 5), (3, 5)], what="the encoder's outputs for LSTM(5)")


@grade(
    points=1,
    exercise="make_datasets",
    hint="Scale to [0, 1], split off the last validation_split, then batch both sets.",
)
def test_check_datasets(student):
    x = np.random.default_rng(0).integers(0, 256, size=(10, 32, 32, 3), dtype=np.uint8)
    result = as_parts(
        student.make_datasets(x, np.arange(10).reshape(-1, 1), 0.2, 4, 1),
        ["train_ds", "val_ds"],
        what="make_datasets",
    )
    for dataset, want, name in [(result[0], 2, "training set"), (result[1], 1, "validation set")]:
        size = as_array(method(dataset, "cardinality", what=f"the {name}")(), what="its size")
        expect_equal(int(size.reshape(-1)[0]), want, what=f"the number of batches of the {name}")
    pair = method(method(result[0], "take", what="the training set")(1), "get_single_element",
                  what="the training set")()  # fmt: skip
    images = as_array(pair[0], what="a batch of training images")
    expect(
        images.dtype == np.float32 and images.max() <= 1.0, "images should be float32 in [0, 1]."
    )


@grade(points=1, exercise="custom_training", hint="One loss per step, from a GradientTape loop.")
def test_check_custom_training(student):
    losses = as_array(
        student.custom_training(student.CifarNet(), _images(4), np.arange(4), steps=2),
        what="custom_training's losses",
    )
    expect_equal(losses.shape, (2,), what="the shape of the losses of 2 steps")


def _history(student):
    model = student.build_sequential_cnn()
    labels = np.arange(16) % 10
    history = student.train_cnn(
        model, _images(16), labels, _images(8), labels[:8], epochs=1, checkpoint_path="best.keras"
    )
    return model, history


@grade(points=1, exercise="train_cnn", hint="Return the History's dict of per-epoch values.")
def test_check_train_cnn(student):
    _, history = _history(student)
    history = history_of(history, what="train_cnn's result")
    expect_equal(
        sorted(k for k in history if k in ("loss", "accuracy", "val_loss", "val_accuracy")),
        ["accuracy", "loss", "val_accuracy", "val_loss"],
        what="the metrics train_cnn's history holds",
    )


@grade(points=1, exercise="evaluate_and_predict", hint="evaluate, then argmax of predict.")
def test_check_evaluate_and_predict(student):
    model, _ = _history(student)  # trained, so compiled
    result = as_dict(
        student.evaluate_and_predict(model, _images(6), np.arange(6)),
        what="what evaluate_and_predict returned",
    )
    predictions = as_array(result.get("predictions"), what="the predictions")
    expect_equal(predictions.shape, (6,), what="the shape of the predictions for 6 images")


@grade(points=1, exercise="learning_curves", hint="Two axes: the loss and the accuracy.")
def test_check_learning_curves(student):
    history = {"loss": [2.0, 1.5], "val_loss": [2.1, 1.8], "accuracy": [0.2, 0.4],
               "val_accuracy": [0.1, 0.3]}  # fmt: skip
    figure = student.learning_curves(history)
    axes = method(figure, "get_axes", what="the figure")()
    expect_equal(len(axes), 2, what="the number of plots in the figure")


@grade(points=1, exercise="train_running_sum", hint="A GRU with return_sequences=True.")
def test_check_train_running_sum(student):
    x = np.random.default_rng(0).integers(0, 3, size=(32, 8, 1)).astype(np.float32)
    result = student.train_running_sum(x, np.cumsum(x, axis=1), units=4, epochs=1)
    _, history = as_parts(result, ["model", "history"], what="train_running_sum")
    curve(
        history_of(history, what="train_running_sum's history"),
        "loss",
        what="the history",
        length=1,
    )
