"""Hidden tests for assignment 05: the CIFAR-10 CNN end to end.

Pipelines, augmentation and models stay in the sandbox and are inspected
through handles: a dataset gives up its batches through its own methods
(``take``, ``skip``, ``unbatch``, ``get_single_element``), a model is
described layer by layer as in 02 (kind, output shape, parameters,
activation; the first layer that differs is named), and the subclassed
model is checked by behaviour: deterministic, batch-independent inference
that leaves BatchNormalization's moving averages alone; random training
calls that update them; weights that come back after ``save_weights`` and
``load_weights``.

Training is graded on outcomes, never on exact numbers: validation accuracy
at least the reference's minus a margin on the same data, seeds and epochs;
a loss that falls; early stopping that restores the best epoch; a checkpoint
that holds it. The runs use the course's data (``data/05_cnn``, read here
from the archive itself) with fixed splits and seeds, and are shared between
tests through module-scoped fixtures that keep plain data only.

The reference's own runs are not repeated for every submission: their
numbers are in ``reference_runs.json`` beside this file, written by
``make_reference_runs.py`` from ``reference_runs()`` below and checked
against a fresh reference run by ``tests/test_reference_05.py``.
"""

import functools
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from grader import archives
from grader.harness import (
    Remote,
    as_array,
    as_dict,
    as_float,
    as_list,
    as_model,
    as_object,
    as_parts,
    attribute,
    curve,
    expect,
    expect_close,
    expect_equal,
    expect_same_activations,
    expect_same_kinds,
    expect_same_params,
    expect_same_shapes,
    expect_stopped_early,
    fold,
    grade,
    history_of,
    inbound_layers,
    keep,
    kept,
    layer_kind,
    list_of,
    method,
    reference_layers,
    student_layers,
    value_of,
)

HERE = Path(__file__).resolve().parent
ARCHIVE = HERE.parents[1] / "data" / "05_cnn" / "cifar-10-batches-py-target_archive"
"""the course's data folder (assignment.toml's ``data``), read here on the trusted side"""
REFERENCE_RUNS = HERE / "reference_runs.json"

TRAINING_DATA = (
    "trains CNNs and a GRU on fixed splits of the course's data: the reference's runs are too "
    "slow to repeat for every submission, and the expected values are thresholds and the "
    "submission's own model's answers, never numbers a lookup table could copy from feedback"
)
# The main run: the course CNN on 800 training images, validated on 400 others.
MAIN = {"epochs": 4, "learning_rate": 3e-3, "patience": 2, "batch_size": 32, "seed": 0}
MAIN_CHECKPOINT = "main_best.keras"
ACCURACY_MARGIN = 0.15
"""how far below the reference's best validation accuracy a submission may end"""
CHANCE_LOSS = float(np.log(10))
"""the cross-entropy of guessing CIFAR-10's classes alike: a training loss that ends above
it learned nothing, however far it fell from a wild start"""
# The stopping run: validated on its own training images with their labels shifted by
# one class, so the better the model learns, the worse its validation accuracy; early
# stopping must end the run.
STOP = {"epochs": 6, "learning_rate": 3e-3, "patience": 1, "batch_size": 32, "seed": 1}
STOP_CHECKPOINT = "stop_best.keras"
STOP_VAL, TEST_IMAGES = 400, 500
RNN = {"n": 600, "length": 8, "units": 16, "epochs": 6, "seed": 3, "test_seed": 4}
FLIPS = 1.5
"""two measurements of an accuracy on the same weights may differ by one image on a
GPU, where nondeterministic kernels can turn a near-tie; in images, the tolerance of
such comparisons (on the CPU they agree exactly)"""
RNN_MAX_MSE = 0.05
"""mean squared error allowed on fresh sequences (their running sums vary by about 1.5)"""


# ------------------------------------------------------------------------------ helpers


def _images(rng, n, size=32):
    return rng.random((n, size, size, 3)).astype(np.float32)


def _probabilities(value, n, what):
    out = as_array(value, what=what)
    expect_equal(tuple(out.shape), (n, 10), what=f"the shape of {what}")
    expect(bool(np.all(out >= 0)), f"{what} has negative values, so they are not probabilities.")
    expect_close(
        out.sum(axis=1), np.ones(n), check_dtype=False, atol=1e-4, what=f"{what}'s row sums"
    )
    return out


@functools.cache
def course_data(reference):
    """((x_train, y_train), (x_test, y_test)) of the course's archive, uint8 images
    and label vectors, read with the notebook's own given reader."""
    with tempfile.TemporaryDirectory(prefix="tfgrade-05-") as folder:
        with tarfile.open(ARCHIVE) as archive:
            archives.extract(archive, folder)
        (x, y), (x_test, y_test) = reference.read_cifar10(f"{folder}/cifar-10-batches-py")
    return (x, y.reshape(-1)), (x_test, y_test.reshape(-1))


def _splits(reference):
    """The fixed splits of the training runs, scaled to [0, 1]."""
    (x, y), (x_test, y_test) = course_data(reference)
    scaled = x.astype(np.float32) / 255.0
    return {
        "main": (scaled[:800], y[:800], scaled[1600:], y[1600:]),
        "stop": (scaled[800:1200], y[800:1200], scaled[800:1200], (y[800:1200] + 1) % 10),
        "test": (x_test.astype(np.float32) / 255.0, y_test),
    }


def reference_runs(reference, folder):
    """The reference's runs whose numbers the tests compare with (see the module
    docstring); checkpoints go in ``folder``."""
    splits = _splits(reference)
    model = reference.build_sequential_cnn(seed=MAIN["seed"])
    history = reference.train_cnn(
        model, *splits["main"], checkpoint_path=f"{folder}/{MAIN_CHECKPOINT}", **MAIN
    )
    x, y = reference.make_sequences(RNN["n"], RNN["length"], seed=RNN["seed"])
    _, rnn = reference.train_running_sum(
        x, y, units=RNN["units"], epochs=RNN["epochs"], seed=RNN["seed"]
    )
    return {
        "main": {k: [float(v) for v in values] for k, values in history.items()},
        "rnn_loss": [float(v) for v in rnn["loss"]],
    }


@functools.cache
def _reference_numbers():
    return json.loads(REFERENCE_RUNS.read_text())


def _evaluate(model, x, y, what):
    scores = method(model, "evaluate", what=what)(x, y, verbose=0, return_dict=True)
    expect(
        isinstance(scores, dict) and "accuracy" in scores,
        f"{what}'s evaluate reports no 'accuracy': compile it with metrics=['accuracy'].",
    )
    return as_float(scores["accuracy"], what="the accuracy evaluate reports"), scores


# ---------------------------------------------------------------------- make_datasets


@dataclass(frozen=True)
class _Pipeline:
    n: int
    split: float
    batch: int
    seed: int

    @property
    def n_val(self):
        return int(self.n * self.split)


def _pipeline(rng):
    return _Pipeline(
        n=int(rng.integers(40, 60)),
        split=float(rng.choice([0.2, 0.25, 0.3])),
        batch=int(rng.choice([5, 8, 16])),
        seed=int(rng.integers(0, 1000)),
    )


def _raw(rng, case):
    images = rng.integers(0, 256, size=(case.n, 32, 32, 3), dtype=np.uint8)
    return images, rng.integers(0, 10, size=(case.n, 1)).astype(np.uint8)


def _datasets(student, images, labels, case):
    result = student.make_datasets(images, labels, case.split, case.batch, case.seed)
    result = as_parts(result, ["train_ds", "val_ds"], what="make_datasets")
    train, val = (as_object(d, kind="tf.data.Dataset", what="a dataset") for d in result)
    return train, val


def _everything(dataset, what):
    """All (images, labels) of a dataset of batches, in its order, as arrays."""
    unbatched = method(dataset, "unbatch", what=what)()
    whole = method(method(unbatched, "batch", what=what)(100_000), "get_single_element", what=what)
    pair = whole()
    expect(
        isinstance(pair, (tuple, list)) and len(pair) == 2,
        f"the elements of {what} should be (images, labels) pairs.",
    )
    return as_array(pair[0], what=f"the images of {what}"), as_array(
        pair[1], what=f"the labels of {what}"
    )


def _batch_sizes(dataset, what):
    """The sizes of the first and the last batch, and the number of batches."""
    cardinality = as_array(method(dataset, "cardinality", what=what)(), what=f"the size of {what}")
    batches = int(cardinality.reshape(-1)[0]) if cardinality.size == 1 else -1
    expect(batches >= 0, f"{what} does not know how many batches it has (an infinite repeat?).")
    sizes = []
    for skip in (0, max(batches - 1, 0)):
        part = method(method(dataset, "skip", what=what)(skip), "take", what=what)(1)
        pair = method(part, "get_single_element", what=what)()
        expect(
            isinstance(pair, (tuple, list)) and len(pair) == 2,
            f"the elements of {what} should be (images, labels) pairs.",
        )
        labels = as_array(pair[1], what=f"a batch of labels of {what}")
        expect(labels.ndim >= 1, f"{what} is not batched: its elements are single examples.")
        sizes.append(int(labels.shape[0]))
    return batches, sizes


@grade(
    points=1,
    exercise="make_datasets",
    hint="Convert to float32 and divide by 255, so every pixel lies in [0, 1]; the validation "
    "set is the last part of the data, in its original order.",
)
def test_datasets_scaled(student, rng):
    case = _pipeline(rng)
    images, labels = _raw(rng, case)
    _, val = _datasets(student, images, labels, case)
    got, got_labels = _everything(val, "the validation set")
    expect(
        float(got.max(initial=0.0)) <= 1.0,
        f"the validation images go up to {float(got.max()):g}: scale the pixels to [0, 1] "
        "(divide by 255).",
    )
    expect_close(
        got,
        images[case.n - case.n_val :].astype(np.float32) / 255.0,
        what=f"the validation images (the last {case.n_val} of {case.n})",
    )
    expect(
        got_labels.dtype.kind in "iu",
        f"the labels should be integers, but they have dtype {got_labels.dtype}.",
    )
    expect_equal(
        got_labels.reshape(-1).tolist(),
        labels[case.n - case.n_val :].reshape(-1).tolist(),
        what="the validation labels",
    )
    expect_equal(
        got_labels.ndim, 1, what="the number of axes of a batch of labels (a vector per batch)"
    )


@grade(
    points=1,
    exercise="make_datasets",
    hint="int(n * validation_split) examples go to validation; both sets are batched with "
    "batch_size (the last batch may be smaller).",
)
def test_datasets_split_and_batches(student, rng):
    case = _pipeline(rng)
    images, labels = _raw(rng, case)
    train, val = _datasets(student, images, labels, case)
    for dataset, n, name in [
        (train, case.n - case.n_val, "training set"),
        (val, case.n_val, "validation set"),
    ]:
        batches, sizes = _batch_sizes(dataset, f"the {name}")
        want = [min(case.batch, n), n - case.batch * ((n - 1) // case.batch)]
        expect(
            batches == -(-n // case.batch) and sizes == want,
            f"from {case.n} examples with validation_split={case.split:g} and "
            f"batch_size={case.batch}, the {name} should hold {n} examples in "
            f"{-(-n // case.batch)} batches (first {want[0]}, last {want[1]}), but it has "
            f"{batches} batches (first {sizes[0]}, last {sizes[1]}).",
        )


@grade(
    points=2,
    exercise="make_datasets",
    hint="shuffle the training set (images and labels together, before batching) with "
    "seed=seed: the same seed then gives the same order.",
)
def test_datasets_shuffled_with_seed(student, rng):
    case = _pipeline(rng)
    images, labels = _raw(rng, case)
    n_train = case.n - case.n_val
    train, _ = _datasets(student, images, labels, case)
    got, got_labels = _everything(train, "the training set")
    expect_equal(tuple(got.shape), (n_train, 32, 32, 3), what="the shape of all training images")
    # each image is recognised by its pixels (back in 0..255, whether or not they were
    # scaled: scaling has its own test); its label must have come with it
    index = {row.tobytes(): i for i, row in enumerate(images[:n_train].reshape(n_train, -1))}
    scale = 255.0 if float(got.max(initial=0.0)) <= 1.0 else 1.0
    pixels = np.clip(np.round(got.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    order = [index.get(row.tobytes()) for row in pixels.reshape(n_train, -1)]
    expect(
        None not in order and sorted(order) == list(range(n_train)),
        "the training set does not hold each of the first examples exactly once.",
    )
    expect_equal(
        got_labels.reshape(-1).tolist(),
        labels[order].reshape(-1).tolist(),
        what="the labels of the shuffled training images (each should keep its own label)",
    )
    expect(order != list(range(n_train)), "the training set is in its original order.")
    again, _ = _everything(_datasets(student, images, labels, case)[0], "the training set")
    expect(
        np.array_equal(again, got),
        f"two calls with seed={case.seed} gave the training examples in different orders.",
    )


# --------------------------------------------------------------------- make_augmentation


def _augmentation(student, seed):
    return as_model(student.make_augmentation(seed), what=f"make_augmentation({seed})")


@grade(
    points=1,
    exercise="make_augmentation",
    hint="Preprocessing layers such as RandomFlip pass images through unchanged in "
    "inference: do not force training=True.",
)
def test_augmentation_inactive_in_inference(student, rng):
    augment = _augmentation(student, int(rng.integers(0, 100)))
    x = _images(rng, 6)
    expect_close(
        augment(x, training=False),
        x,
        rtol=0,
        atol=0,
        what="the augmentation's output with training=False",
    )


@grade(
    points=1,
    exercise="make_augmentation",
    hint="In training, each call draws new random flips and shifts.",
)
def test_augmentation_active_in_training(student, rng):
    augment = _augmentation(student, int(rng.integers(0, 100)))
    x = _images(rng, 8)
    first = as_array(augment(x, training=True), what="the augmentation's output in training")
    second = as_array(augment(x, training=True), what="the augmentation's output in training")
    expect_equal(tuple(first.shape), x.shape, what="the shape of augmented images")
    expect(
        not np.allclose(first, x),
        "with training=True the augmentation left the images as they were.",
    )
    expect(not np.allclose(first, second), "two training calls gave the same augmented images.")


@grade(
    points=1,
    exercise="make_augmentation",
    hint='RandomFlip("horizontal") and RandomTranslation(0.1, 0.1, fill_mode="nearest").',
)
def test_augmentation_layers(student, rng):
    augment = _augmentation(student, 0)
    found = {}
    for layer in list_of(augment, "layers", what="your augmentation"):
        config = method(layer, "get_config", what="a layer of your augmentation")()
        found[layer_kind(layer, what="a layer of your augmentation")] = (
            config if isinstance(config, dict) else {}
        )
    expect(
        set(found) == {"RandomFlip", "RandomTranslation"},
        f"the augmentation should hold a RandomFlip and a RandomTranslation, but it holds "
        f"{', '.join(sorted(found)) or 'nothing'}.",
    )
    expect_equal(found["RandomFlip"].get("mode"), "horizontal", what="RandomFlip's mode")
    for key in ("height_factor", "width_factor"):
        expect_equal(found["RandomTranslation"].get(key), 0.1, what=f"RandomTranslation's {key}")


# ------------------------------------------------------------------ layer descriptions


_IMAGE = (None, 32, 32, 3)


def _summary(records):
    """Layers as a student reads model.summary(), folded; layers that leave the
    image as it is (the augmentation, checked by its behaviour) left out."""
    return fold(r for r in records if not (r.shape == _IMAGE and r.params == 0))


@functools.cache
def _reference_sequential(reference):
    return _summary(reference_layers(reference.build_sequential_cnn()))


@functools.cache
def _reference_functional(reference):
    return _summary(reference_layers(reference.build_functional_cnn()))


def _layers(model):
    return _summary(student_layers(model))


# ---------------------------------------------------------------- build_sequential_cnn

COURSE_CNN = "the course's CNN"


def _sequential(student):
    return as_model(student.build_sequential_cnn(0), what="build_sequential_cnn(0)")


@grade(
    points=1,
    exercise="build_sequential_cnn",
    hint="Three convolutions, a pooling layer after each of the first two, Flatten, two Dense.",
)
def test_sequential_layer_kinds(student, reference):
    expect_same_kinds(
        _layers(_sequential(student)), _reference_sequential(reference), name=COURSE_CNN
    )


@grade(
    points=1,
    exercise="build_sequential_cnn",
    hint="A 3x3 convolution without padding trims one pixel from each border; 2x2 pooling "
    "halves height and width, rounding down.",
)
def test_sequential_output_shapes(student, reference):
    expect_same_shapes(
        _layers(_sequential(student)), _reference_sequential(reference), name=COURSE_CNN
    )


@grade(
    points=1,
    exercise="build_sequential_cnn",
    hint="A Conv2D has (3 x 3 x input channels + 1) x filters parameters, a Dense layer "
    "(inputs + 1) x units.",
)
def test_sequential_parameter_counts(student, reference):
    expect_same_params(
        _layers(_sequential(student)), _reference_sequential(reference), name=COURSE_CNN
    )


@grade(
    points=1,
    exercise="build_sequential_cnn",
    hint="Hidden layers use ReLU; the last layer turns the 10 scores into probabilities.",
)
def test_sequential_activations(student, reference):
    expect_same_activations(
        _layers(_sequential(student)), _reference_sequential(reference), name=COURSE_CNN
    )


@grade(
    points=1,
    exercise="build_sequential_cnn",
    hint="keras.Sequential with keras.Input(shape=(32, 32, 3)) first; the outputs are "
    "probabilities.",
)
def test_sequential_predicts_probabilities(student, rng):
    model = _sequential(student)
    expect_equal(
        model.type_name, "Sequential", what="the kind of model build_sequential_cnn returns"
    )
    _probabilities(model(_images(rng, 3)), 3, "your model's output on 3 images")


def _initial_weights(model, what):
    weights = as_list(method(model, "get_weights", what=what)(), what=f"{what}'s weights")
    return [as_array(w, what=f"a weight array of {what}") for w in weights]


def _expect_seeded(build, name, rng):
    """Two models built with one seed start alike; another seed starts elsewhere."""
    seed = int(rng.integers(0, 1000))
    first = _initial_weights(as_model(build(seed), what=f"{name}({seed})"), f"{name}({seed})")
    again = _initial_weights(
        as_model(build(seed), what=f"{name}({seed})"), f"a second {name}({seed})"
    )
    other = _initial_weights(
        as_model(build(seed + 1), what=f"{name}({seed + 1})"), f"{name}({seed + 1})"
    )
    expect(
        len(first) == len(again)
        and all(np.array_equal(a, b) for a, b in zip(first, again, strict=False)),
        f"two models built with {name}({seed}) start with different weights: call "
        "keras.utils.set_random_seed(seed) before creating the layers.",
    )
    expect(
        any(not np.array_equal(a, b) for a, b in zip(first, other, strict=False)),
        f"{name}({seed}) and {name}({seed + 1}) start with the same weights: the seed should "
        "decide them.",
    )


@grade(
    points=1,
    exercise="build_sequential_cnn",
    hint="Call keras.utils.set_random_seed(seed) first: the same seed, the same initial weights.",
)
def test_sequential_seeded(student, rng):
    _expect_seeded(student.build_sequential_cnn, "build_sequential_cnn", rng)


# ---------------------------------------------------------------- build_functional_cnn

FUNCTIONAL_CNN = "the task's Functional CNN"


def _functional(student):
    return as_model(student.build_functional_cnn(0), what="build_functional_cnn(0)")


@grade(
    points=2,
    exercise="build_functional_cnn",
    hint="Follow the task's list: padding='same' keeps 32x32 and 16x16; the skip connection "
    "adds two tensors of the same shape.",
)
def test_functional_layers(student, reference):
    got, want = _layers(_functional(student)), _reference_functional(reference)
    expect_same_kinds(got, want, name=FUNCTIONAL_CNN)
    expect_same_shapes(got, want, name=FUNCTIONAL_CNN)
    expect_same_params(got, want, name=FUNCTIONAL_CNN)
    expect_same_activations(got, want, name=FUNCTIONAL_CNN)


def _inbound(config):
    """Layer name -> names of the layers whose outputs it takes (functional config)."""
    parents = {}
    for layer in config.get("layers", []) if isinstance(config, dict) else []:
        if not isinstance(layer, dict):
            continue
        nodes = layer.get("inbound_nodes")
        names = inbound_layers(nodes[0] if isinstance(nodes, list) and nodes else [])
        parents[str(layer.get("name"))] = (str(layer.get("class_name")), names)
    return parents


@grade(
    points=1,
    exercise="build_functional_cnn",
    hint="layers.Add()([b, a]): b is the second 64-filter convolution applied to a, the "
    "output of the first one.",
)
def test_functional_skip_connection(student):
    model = _functional(student)
    config = method(model, "get_config", what="your Functional model")()
    graph = _inbound(config)
    merges = [(kind, parents) for kind, parents in graph.values() if len(parents) > 1]
    expect(
        len(merges) == 1,
        f"your model should join two branches in exactly one layer, but {len(merges)} of its "
        "layers take several inputs: build it with the Functional API and layers.Add().",
    )
    kind, parents = merges[0]
    expect_equal(kind, "Add", what="the kind of the layer that joins the two branches")
    kinds = [graph.get(p, ("?", []))[0] for p in parents]
    expect(
        sorted(kinds) == ["Conv2D", "Conv2D"],
        f"the Add layer should join two Conv2D outputs, but it joins {', '.join(kinds)}.",
    )
    a, b = parents
    expect(
        a in graph.get(b, ("", []))[1] or b in graph.get(a, ("", []))[1],
        "the two convolutions the Add layer joins should follow each other (b applied to a), "
        "so that a skips over b.",
    )


@grade(
    points=1,
    exercise="build_functional_cnn",
    hint="Call the augmentation without training=...: Keras then runs it in training only "
    "(fit, model(x, training=True)), and inference (predict, evaluate) is deterministic.",
)
def test_functional_inference_deterministic(student, rng):
    model = _functional(student)
    x = _images(rng, 4)
    first = _probabilities(model(x, training=False), 4, "your model's inference output")
    expect_close(model(x, training=False), first, what="a second inference call on the same images")
    expect_close(
        method(model, "predict", what="your model")(x, verbose=0),
        first,
        atol=1e-6,
        what="predict on the same images",
    )


@grade(
    points=1,
    exercise="build_functional_cnn",
    hint="The augmentation must be part of the model, applied to its inputs.",
)
def test_functional_augments_in_training(student, rng):
    model = _functional(student)
    x = _images(rng, 4)
    first = as_array(model(x, training=True), what="your model's output in training")
    second = as_array(model(x, training=True), what="your model's output in training")
    expect(
        not np.allclose(first, second),
        "two training calls on the same images gave the same outputs: is the augmentation "
        "part of the model?",
    )


@grade(
    points=1,
    exercise="build_functional_cnn",
    hint="Call keras.utils.set_random_seed(seed) first: the same seed, the same initial weights.",
)
def test_functional_seeded(student, rng):
    _expect_seeded(student.build_functional_cnn, "build_functional_cnn", rng)


# ----------------------------------------------------------------------------- CifarNet


def _cifarnet(student, rate=0.3):
    return as_model(student.CifarNet(rate), what=f"CifarNet({rate:g})")


def _norms(model):
    layers = list_of(model, "layers", what="your CifarNet")
    found = [
        layer
        for layer in layers
        if layer_kind(layer, what="a layer of your CifarNet") == "BatchNormalization"
    ]
    expect(
        len(found) == 2,
        f"CifarNet should have two BatchNormalization layers, but it has {len(found)}.",
    )
    return found


def _moving_means(norms):
    return [
        value_of(attribute(n, "moving_mean", what="BatchNormalization"), what="a moving mean")
        for n in norms
    ]


@grade(
    points=1,
    exercise="CifarNet",
    hint="Check the layer list of the task; model.summary() counts the parameters.",
)
def test_cifarnet_outputs(student, reference, rng):
    model = _cifarnet(student)
    _probabilities(model(_images(rng, 3), training=False), 3, "CifarNet's output on 3 images")
    want = reference.CifarNet(0.3)
    want(np.zeros((1, 32, 32, 3), np.float32))
    expect_equal(
        method(model, "count_params", what="your CifarNet")(),
        want.count_params(),
        what="CifarNet's number of parameters",
    )


@grade(
    points=2,
    exercise="CifarNet",
    hint="In inference, BatchNormalization uses its moving averages and Dropout and the "
    "augmentation do nothing: pass `training` on, never a fixed True.",
)
def test_cifarnet_inference(student, rng):
    model = _cifarnet(student)
    x = _images(rng, 6)
    first = as_array(model(x, training=False), what="CifarNet's inference output")
    norms = _norms(model)
    before = _moving_means(norms)
    expect_close(model(x, training=False), first, what="a second inference call on the same batch")
    alone = model(x[2:3], training=False)
    expect_close(
        alone,
        first[2:3],
        atol=1e-5,
        what="image 2 predicted on its own, compared with the same image in a batch of 6",
    )
    for index, (old, new) in enumerate(zip(before, _moving_means(norms), strict=True)):
        expect(
            np.array_equal(old, new),
            f"an inference call changed the moving mean of BatchNormalization layer {index + 1}.",
        )


@grade(
    points=1,
    exercise="CifarNet",
    hint="In training, BatchNormalization normalises with the batch's statistics and updates "
    "its moving averages; Dropout drops a new random set of units at every call.",
)
def test_cifarnet_training(student, rng):
    model = _cifarnet(student)
    x = _images(rng, 8)
    model(x, training=False)
    norms = _norms(model)
    before = _moving_means(norms)
    first = _probabilities(model(x, training=True), 8, "CifarNet's output in training")
    second = as_array(model(x, training=True), what="CifarNet's output in training")
    expect(not np.allclose(first, second), "two training calls gave the same outputs.")
    for index, (old, new) in enumerate(zip(before, _moving_means(norms), strict=True)):
        expect(
            not np.allclose(old, new, rtol=0, atol=1e-7),
            f"training calls left the moving mean of BatchNormalization layer {index + 1} "
            "unchanged: pass training to it.",
        )


@grade(
    points=1,
    exercise="CifarNet",
    hint="Create layers.Dropout(dropout_rate) from the constructor's argument.",
)
def test_cifarnet_dropout_rate(student, rng):
    rate = float(rng.choice([0.1, 0.25, 0.4, 0.5]))
    model = _cifarnet(student, rate)
    model(_images(rng, 1))
    layers = list_of(model, "layers", what="your CifarNet")
    rates = [
        method(layer, "get_config", what="a Dropout layer")().get("rate")
        for layer in layers
        if layer_kind(layer, what="a layer of your CifarNet") == "Dropout"
    ]
    expect_equal(rates, [rate], what=f"the rates of the Dropout layers of CifarNet({rate:g})")


@grade(
    points=1,
    exercise="CifarNet",
    hint="Create every layer in __init__ (never inside call), so a new CifarNet has the same "
    "weights, in the same order, for load_weights to fill.",
)
def test_cifarnet_weights_round_trip(student, rng):
    model = _cifarnet(student)
    x = _images(rng, 4)
    model(x, training=True)  # moves the moving averages away from their initial values
    want = as_array(model(x, training=False), what="CifarNet's inference output")
    method(model, "save_weights", what="your CifarNet")("cifarnet.weights.h5")
    fresh = _cifarnet(student)
    fresh(x, training=False)
    method(fresh, "load_weights", what="a new CifarNet")("cifarnet.weights.h5")
    expect_close(
        fresh(x, training=False),
        want,
        atol=1e-5,
        what="a new CifarNet's output after load_weights, compared with the saved model's",
    )


# ---------------------------------------------------------------------- custom_training


def _trainable(model):
    variables = list_of(model, "trainable_variables", what="your CifarNet")
    return [value_of(v, what="a trainable variable") for v in variables]


def _custom(student, rng, steps):
    """custom_training on a fresh CifarNet: its losses, and its moving means and
    trainable weights before and after."""
    model = _cifarnet(student)
    x, y = _images(rng, 16), rng.integers(0, 10, size=16)
    model(x, training=False)
    norms = _norms(model)
    before = (_moving_means(norms), _trainable(model))
    losses = as_array(
        student.custom_training(model, x, y, steps, 1e-3), what="custom_training's losses"
    )
    return losses, before, (_moving_means(norms), _trainable(model))


@grade(
    points=1,
    exercise="custom_training",
    hint="Compute the loss inside the GradientTape, take its gradient with respect to "
    "model.trainable_variables and apply it with the optimizer, once per step.",
)
def test_custom_training_updates_weights(student, rng):
    steps = 3
    losses, (_, old), (_, new) = _custom(student, rng, steps)
    expect_equal(tuple(losses.shape), (steps,), what=f"the shape of the losses of {steps} steps")
    expect(
        bool(np.all(np.isfinite(losses)) and np.all(losses > 0)),
        f"the losses should be positive numbers, but they are {losses.tolist()}.",
    )
    expect(len(old) == len(new) > 0, "the model's trainable variables changed in number.")
    unchanged = sum(np.array_equal(a, b) for a, b in zip(old, new, strict=True))
    expect(
        unchanged == 0,
        f"after {steps} steps, {unchanged} of the model's {len(old)} trainable variables still "
        "hold their initial values: every step should update all of them.",
    )


@grade(
    points=1,
    exercise="custom_training",
    hint="A loop by hand must call the model with training=True: otherwise BatchNormalization "
    "and Dropout run as in inference.",
)
def test_custom_training_in_training_mode(student, rng):
    _, (before, _), (after, _) = _custom(student, rng, 2)
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        expect(
            not np.allclose(old, new, rtol=0, atol=1e-7),
            f"custom_training left the moving mean of BatchNormalization layer {index + 1} "
            "unchanged: the model ran in inference mode.",
        )


# ---------------------------------------------------------------------------- train_cnn


def _train(student, reference, split, settings, checkpoint):
    x, y, x_val, y_val = _splits(reference)[split]
    model = _sequential_seeded(student, settings["seed"])
    history = student.train_cnn(model, x, y, x_val, y_val, checkpoint_path=checkpoint, **settings)
    return model, history_of(history, what="train_cnn's result")


def _sequential_seeded(student, seed):
    return as_model(student.build_sequential_cnn(seed), what=f"build_sequential_cnn({seed})")


def _learning_rate(model):
    optimizer = attribute(model, "optimizer", what="the trained model")
    rate = attribute(optimizer, "learning_rate", what="the model's optimizer")
    if isinstance(rate, Remote):
        rate = method(rate, "numpy", what="the learning rate")()
    rate = as_array(rate, what="the learning rate")
    expect(rate.size == 1, "the optimizer's learning rate should be one number.")
    return float(rate.reshape(-1)[0])


@pytest.fixture(scope="module")
def main_run(student, reference):
    """The main training run of the course CNN, kept as plain data."""
    model, history = _train(student, reference, "main", MAIN, MAIN_CHECKPOINT)
    run = {"history": history}
    x_test, y_test = _splits(reference)["test"]
    keep(run, "learning_rate", lambda: _learning_rate(model))
    keep(run, "scores", lambda: _evaluate(model, x_test, y_test, "the trained model")[1])
    keep(
        run,
        "predicted",
        lambda: as_array(
            method(model, "predict", what="the trained model")(x_test, verbose=0),
            what="the trained model's predict",
        ),
    )
    keep(run, "result", lambda: student.evaluate_and_predict(model, x_test, y_test))
    return run


@pytest.fixture(scope="module")
def stop_run(student, reference):
    """The run that early stopping must end; its model evaluated, then its
    checkpoint loaded into it and evaluated again."""
    model, history = _train(student, reference, "stop", STOP, STOP_CHECKPOINT)
    _, _, x_val, y_val = _splits(reference)["stop"]
    run = {"history": history}
    keep(run, "final", lambda: _evaluate(model, x_val, y_val, "the trained model")[0])

    def checkpoint():
        method(model, "load_weights", what="the trained model")(STOP_CHECKPOINT)
        return _evaluate(model, x_val, y_val, "the model with the checkpoint's weights")[0]

    keep(run, "checkpoint", checkpoint)
    return run


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_cnn",
    hint="Return history.history; fit reports loss, accuracy, val_loss and val_accuracy when "
    "it gets validation_data and the metric 'accuracy'.",
)
def test_train_history(student, main_run):
    history = main_run["history"]
    epochs = curve(history, "loss", what="train_cnn's history").size
    expect(epochs <= MAIN["epochs"], f"the run had {epochs} epochs, more than {MAIN['epochs']}.")
    for key in ("accuracy", "val_loss", "val_accuracy"):
        curve(history, key, what="train_cnn's history", length=epochs)


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_cnn",
    hint="Adam with a small learning rate and the sparse categorical cross-entropy of "
    "probabilities: the training loss should fall epoch after epoch.",
)
def test_train_loss_falls(student, main_run, feedback):
    want = _reference_numbers()["main"]
    loss = curve(main_run["history"], "loss", what="train_cnn's history")
    feedback.curve("loss", student=loss.tolist(), reference=want["loss"])
    expect(
        loss[-1] < 0.7 * loss[0] and loss[-1] < CHANCE_LOSS,
        f"over {loss.size} epochs the training loss went from {loss[0]:.3f} to "
        f"{loss[-1]:.3f}; it should fall well below its first value and below "
        f"{CHANCE_LOSS:.3f} (ln 10), the loss of a model that gives every class the same "
        f"probability (the reference's went from {want['loss'][0]:.3f} to "
        f"{want['loss'][-1]:.3f}).",
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=2,
    exercise="train_cnn",
    hint="The model outputs probabilities, so the loss must not expect logits (and the reverse); "
    "images must be in [0, 1]; the learning rate must shrink, not grow.",
)
def test_train_val_accuracy(student, main_run, feedback):
    want = _reference_numbers()["main"]["val_accuracy"]
    got = curve(main_run["history"], "val_accuracy", what="train_cnn's history")
    feedback.curve("val_accuracy", student=got.tolist(), reference=want)
    threshold = max(want) - ACCURACY_MARGIN
    expect(
        got.max() >= threshold,
        f"your model's best validation accuracy is {got.max():.1%}; on the same data, seeds "
        f"and epochs the reference reaches {max(want):.1%}, and at least {threshold:.1%} was "
        "expected.",
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_cnn",
    hint="Give Adam an ExponentialDecay schedule (decay_rate=0.8 per epoch's batches) instead "
    "of a fixed number.",
)
def test_train_learning_rate_schedule(student, main_run):
    rate = kept(main_run, "learning_rate")
    epochs = curve(main_run["history"], "loss", what="train_cnn's history").size
    expected = MAIN["learning_rate"] * 0.8**epochs
    expect(
        0 < rate < 0.9 * MAIN["learning_rate"],
        f"after {epochs} epochs started at learning rate {MAIN['learning_rate']:g}, the "
        f"optimizer's learning rate is {rate:.3g}: a decaying schedule should have brought it "
        f"down (to about {expected:.3g}).",
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_cnn",
    hint='keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, ...) in '
    "fit's callbacks: it stops once val_accuracy has not improved for `patience` epochs.",
)
def test_train_early_stopping(student, stop_run):
    accuracy = curve(stop_run["history"], "val_accuracy", what="train_cnn's history")
    best = int(np.argmax(accuracy))
    expect_stopped_early(
        accuracy, key="val_accuracy", best=best, epochs=STOP["epochs"], patience=STOP["patience"]
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_cnn",
    hint="EarlyStopping puts back the weights of the best epoch at the end of training with "
    "restore_best_weights=True.",
)
def test_train_restores_best(student, stop_run):
    accuracy = curve(stop_run["history"], "val_accuracy", what="train_cnn's history")
    final = kept(stop_run, "final")
    expect_close(
        np.float64(final),
        np.float64(accuracy.max()),
        check_dtype=False,
        atol=FLIPS / STOP_VAL,
        what="the returned model's validation accuracy (it should be the best epoch's, "
        f"{accuracy.max():.4f}, not the last epoch's, {accuracy[-1]:.4f})",
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_cnn",
    hint='keras.callbacks.ModelCheckpoint(checkpoint_path, monitor="val_accuracy", '
    "save_best_only=True) writes the file only when val_accuracy improves.",
)
def test_train_checkpoint_best(student, stop_run, sandbox):
    accuracy = curve(stop_run["history"], "val_accuracy", what="train_cnn's history")
    expect(
        STOP_CHECKPOINT in sandbox.files(),
        f"train_cnn did not write its checkpoint to checkpoint_path ({STOP_CHECKPOINT!r}).",
    )
    expect_close(
        np.float64(kept(stop_run, "checkpoint")),
        np.float64(accuracy.max()),
        check_dtype=False,
        atol=FLIPS / STOP_VAL,
        what="the validation accuracy of the checkpoint's weights (it should hold the best "
        f"epoch, {accuracy.max():.4f}, not the last one, {accuracy[-1]:.4f})",
    )


# ------------------------------------------------------------- evaluate_and_predict


def _evaluated(run):
    return as_dict(kept(run, "result"), what="what evaluate_and_predict returned")


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="evaluate_and_predict",
    hint="model.evaluate(x, y, verbose=0, return_dict=True) gives the loss and the accuracy.",
)
def test_evaluate_scores(student, main_run):
    result, scores = _evaluated(main_run), kept(main_run, "scores")
    for key in ("loss", "accuracy"):
        expect(key in result, f"evaluate_and_predict's dict has no {key!r} entry.")
        expect_close(
            as_array(result[key], what=f"evaluate_and_predict's {key!r}").astype(np.float64),
            np.float64(as_float(scores[key], what=f"the {key} evaluate reports")),
            check_dtype=False,
            rtol=1e-4,
            atol=FLIPS / TEST_IMAGES if key == "accuracy" else 1e-6,
            what=f"the test {key} evaluate_and_predict returned",
        )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="evaluate_and_predict",
    hint="predict gives 10 probabilities per image; the predicted class is the index of the "
    "largest (np.argmax along axis 1).",
)
def test_evaluate_predictions(student, main_run):
    result = _evaluated(main_run)
    expect("predictions" in result, "evaluate_and_predict's dict has no 'predictions' entry.")
    got = as_array(result["predictions"], what="the predictions")
    want = np.argmax(kept(main_run, "predicted"), axis=1)
    expect_equal(tuple(got.shape), want.shape, what="the shape of the predictions")
    differ = int(np.sum(got.reshape(-1) != want))
    expect(
        differ <= int(FLIPS),
        f"{differ} of the {want.size} predicted classes differ from the index of the model's "
        "largest probability.",
    )


# ----------------------------------------------------------------------- learning_curves


def _figure_lines(student, history):
    figure = as_object(
        student.learning_curves(history), kind="figure", what="learning_curves's result"
    )
    axes = as_list(attribute(figure, "axes", what="the figure"), what="the figure's axes")
    expect(
        len(axes) == 2, f"the figure should have 2 axes (loss, accuracy), but it has {len(axes)}."
    )
    found = []
    for ax, name in zip(axes, ("first (loss)", "second (accuracy)"), strict=True):
        what = f"the {name} axes"
        title = method(ax, "get_title", what=what)()
        expect(isinstance(title, str) and title.strip() != "", f"{what} have no title.")
        expect_equal(method(ax, "get_xlabel", what=what)(), "epoch", what=f"the x label of {what}")
        expect(
            isinstance(method(ax, "get_legend", what=what)(), Remote),
            f"{what} have no legend: call legend() after plotting the labelled lines.",
        )
        # get_lines() gives a list subclass (a handle here); its copy() is a plain list
        lines = method(method(ax, "get_lines", what="an axes")(), "copy", what="the lines")()
        lines = as_list(lines, what="the axes' lines")
        found.append(
            [
                as_array(method(line, "get_ydata", what="a line")(), what="a line's values")
                for line in lines
            ]
        )
    return found


def _fake_history(rng):
    n = int(rng.integers(4, 9))
    return {
        "loss": np.round(np.sort(rng.uniform(0.2, 2.0, n))[::-1], 4).tolist(),
        "accuracy": np.round(np.sort(rng.uniform(0.1, 0.9, n)), 4).tolist(),
        "val_loss": np.round(rng.uniform(0.3, 2.0, n), 4).tolist(),
        "val_accuracy": np.round(rng.uniform(0.1, 0.9, n), 4).tolist(),
    }


def _expect_curves(lines, history, key, name):
    expect(
        len(lines) == 2,
        f"the {name} axes should hold 2 lines (training, validation), but they hold {len(lines)}.",
    )
    for line, k in zip(lines, (key, f"val_{key}"), strict=True):
        expect_close(
            line, np.array(history[k]), check_dtype=False, what=f"the {name} axes' line of {k!r}"
        )


@grade(
    points=1,
    exercise="learning_curves",
    hint="plt.subplots(1, 2); plot history['loss'], then history['val_loss'] on the first axes, "
    "each with a label; then a title, the x label 'epoch' and a legend.",
)
def test_learning_curves_loss(student, rng):
    history = _fake_history(rng)
    lines = _figure_lines(student, history)
    _expect_curves(lines[0], history, "loss", "first (loss)")


@grade(
    points=1,
    exercise="learning_curves",
    hint="The second axes plot history['accuracy'], then history['val_accuracy'], with a "
    "title, the x label 'epoch' and a legend.",
)
def test_learning_curves_accuracy(student, rng):
    history = _fake_history(rng)
    lines = _figure_lines(student, history)
    _expect_curves(lines[1], history, "accuracy", "second (accuracy)")


# ------------------------------------------------------------------------- build_encoder


def _encoder_case(rng):
    return int(rng.integers(3, 9)), int(rng.integers(4, 10)), int(rng.integers(1, 4))


def _check_encoder(student, rng, kind, states):
    units, length, features = _encoder_case(rng)
    call = f"build_encoder({kind!r}, {units}, {length}, {features})"
    model = as_model(student.build_encoder(kind, units, length, features), what=call)
    batch = 3
    out = model(rng.normal(size=(batch, length, features)).astype(np.float32))
    expect(
        isinstance(out, (list, tuple)),
        f"the model {call} returns gives one output, but return_state=True gives a list: "
        f"[sequence, {', '.join(states)}].",
    )
    names = ["sequence", *states]
    expect(
        len(out) == len(names),
        f"the model {call} returns {len(out)} outputs, but a {kind} layer with "
        f"return_state=True gives {len(names)}: {', '.join(names)}.",
    )
    arrays = [as_array(o, what=f"output {name}") for o, name in zip(out, names, strict=True)]
    expect_equal(
        tuple(arrays[0].shape),
        (batch, length, units),
        what=f"the shape of the sequence output of {call} on a batch of {batch} "
        "(return_sequences=True gives one output per time step)",
    )
    for array, name in zip(arrays[1:], states, strict=True):
        expect_equal(tuple(array.shape), (batch, units), what=f"the shape of the state {name}")
    expect_close(
        arrays[0][:, -1],
        arrays[1],
        atol=1e-5,
        what="the last step of the sequence output, compared with the final state h",
    )


@grade(points=1, exercise="build_encoder", hint="SimpleRNN returns [sequence, h].")
def test_encoder_simple_rnn(student, rng):
    _check_encoder(student, rng, "SimpleRNN", ["h"])


@grade(points=1, exercise="build_encoder", hint="LSTM returns [sequence, h, c].")
def test_encoder_lstm(student, rng):
    _check_encoder(student, rng, "LSTM", ["h", "c"])


@grade(points=1, exercise="build_encoder", hint="GRU returns [sequence, h].")
def test_encoder_gru(student, rng):
    _check_encoder(student, rng, "GRU", ["h"])


# --------------------------------------------------------------------- train_running_sum


@pytest.fixture(scope="module")
def rnn_run(student, reference):
    x, y = reference.make_sequences(RNN["n"], RNN["length"], seed=RNN["seed"])
    result = student.train_running_sum(x, y, RNN["units"], RNN["epochs"], RNN["seed"])
    result = as_parts(result, ["model", "history"], what="train_running_sum")
    model, history = as_model(result[0], what="train_running_sum's model"), result[1]
    x_test, y_test = reference.make_sequences(500, RNN["length"], seed=RNN["test_seed"])
    run = {"history": history, "y_test": y_test}
    keep(run, "predicted", lambda: as_array(model(x_test), what="the model's predictions"))
    return run


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_running_sum",
    hint="One prediction per time step: the GRU must return its whole sequence "
    "(return_sequences=True), and Dense(1) applies to every step.",
)
def test_running_sum_every_step(student, rnn_run):
    got = kept(rnn_run, "predicted")
    expect_equal(
        tuple(got.shape),
        rnn_run["y_test"].shape,
        what="the shape of the model's predictions for 500 sequences of 8 steps",
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=2,
    exercise="train_running_sum",
    hint="A GRU with return_sequences=True, Dense(1), Adam(0.01) and the mean squared error "
    "learns running sums in a few epochs.",
)
def test_running_sum_learns(student, rnn_run, feedback):
    history = history_of(rnn_run["history"], what="train_running_sum's history")
    loss = curve(history, "loss", what="the history")
    feedback.curve("loss", student=loss.tolist(), reference=_reference_numbers()["rnn_loss"])
    got, want = kept(rnn_run, "predicted"), rnn_run["y_test"]
    expect(got.shape == want.shape, "the predictions do not have one value per time step.")
    mse = float(np.mean((got.astype(np.float64) - want) ** 2))
    expect(
        mse <= RNN_MAX_MSE,
        f"on 500 new sequences your model's mean squared error is {mse:.4f}; at most "
        f"{RNN_MAX_MSE} was expected (the running sums vary by about {want.var():.2f}).",
    )


@grade(
    fixed_inputs=TRAINING_DATA,
    points=1,
    exercise="train_running_sum",
    hint="Call keras.utils.set_random_seed(seed) before building the model: the initial weights "
    "and fit's shuffling then repeat.",
)
def test_running_sum_seeded(student, reference):
    x, y = reference.make_sequences(64, RNN["length"], seed=RNN["test_seed"])
    outputs = []
    for seed in (RNN["seed"], RNN["seed"], RNN["seed"] + 1):
        result = student.train_running_sum(x, y, 4, 1, seed)
        result = as_parts(result, ["model", "history"], what="train_running_sum")
        model = as_model(result[0], what="train_running_sum's model")
        outputs.append(as_array(model(x[:8]), what="the model's predictions"))
    expect_close(
        outputs[1],
        outputs[0],
        what=f"the predictions of a second model trained with seed {RNN['seed']}",
    )
    expect(
        not np.allclose(outputs[0], outputs[2]),
        f"models trained with seeds {RNN['seed']} and {RNN['seed'] + 1} predict the same: the "
        "seed should decide the initial weights.",
    )
