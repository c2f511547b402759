"""Hidden tests for assignment 04: saving and loading models.

Saving is tested by loading: a test saves in the sandbox, restarts it
(``sandbox.restart()``: a fresh process with the student's code loaded
again, the scratch folder kept) and loads there, so nothing can survive in a
Python variable. Everything the student's code writes is read back only
inside the sandbox; the trusted side sees files only as names and sizes
(``sandbox.files()``).

To keep one mistake from costing points in several exercises, a test of a
loading function writes its file with Keras's own call on the model (a
remote ``model.save`` / ``model.save_weights`` / ``model.export``), and a
test of a saving function reads the file back with Keras's own
``load_weights`` where it can. What a model should predict is what it
predicted before it was saved; the losses of an uninterrupted training run
are computed by the reference on the trusted side, from the notebook's
given helpers (which run no file operation).

The scratch folder is shared by all the tests of a submission, so every
test uses names of its own. Keras's own saving calls do not create folders,
so files a test writes that way sit at the top of the scratch folder.
"""

import os

import numpy as np
import pytest

from grader.harness import (
    Mismatch,
    StudentError,
    as_array,
    as_int,
    as_list,
    as_model,
    as_object,
    as_text,
    attribute,
    describe,
    expect,
    expect_close,
    expect_equal,
    grade,
    method,
)

# What Keras 3 says when given a Keras 2 saving call, and what to use instead.
_OLD_FOLDER_SAVE = ("Invalid filepath extension for saving", "`save_format` argument")
_OLD_WEIGHTS_SAVE = ("must end in `.weights.h5`",)

FULL_MODEL_FIX = (
    "Keras 3 no longer saves a whole model to a folder (Keras 2's SavedModel format) and has "
    "no save_format: the file name's extension chooses the format. Save the model as "
    "model.save(os.path.join(folder, 'model.keras')) and load it with "
    "keras.models.load_model(path)."
)
WEIGHTS_FIX = (
    "Keras 3 writes weights only to a file whose name ends in .weights.h5 (Keras 2's "
    "'weights.h5' and TensorFlow checkpoint prefixes are refused): use "
    "model.save_weights(os.path.join(folder, 'model.weights.h5'))."
)
EXPORT_FIX = (
    "In Keras 3, model.save writes only .keras (and legacy .h5) files; a SavedModel for "
    "serving is written by model.export(folder)."
)


# ------------------------------------------------------------------------- helpers


def _where(err):
    """The student's line that made the failing call, for a message."""
    if not err.frames:
        return ""
    frame = err.frames[-1]
    return f" (cell {frame.cell}, line {frame.line}: {frame.code.strip()})"


def _saving(function, *args, old, fix):
    """Call a saving function; a Keras 2 call that Keras 3 refuses fails the test
    with the modern call named, instead of an error."""
    try:
        return function(*args)
    except StudentError as err:
        if any(text in err.message for text in old):
            raise Mismatch(f"Keras 3 refused to save{_where(err)}: {err.message} {fix}") from None
        raise


def _data(rng, n=16):
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=n).astype(np.int64)
    return x, y


def _seed(rng):
    return int(rng.integers(1, 10_000))


def _train(student, model, x, y, steps):
    """Train a compiled model in the sandbox for a few steps, with the notebook's
    train_step and the model's own optimizer (eagerly: no graph to trace);
    the loss of each step."""
    optimizer = attribute(model, "optimizer", what="the compiled model")
    return [student.train_step(model, optimizer, x, y) for _ in range(steps)]


def _trained(student, rng, steps=3):
    """A compiled model of the course's architecture trained for a few steps in the
    sandbox (so its weights are no seed's initial weights), and its data."""
    x, y = _data(rng)
    model = student.compile_model(student.build_model(_seed(rng)))
    _train(student, model, x, y, steps)
    return model, x, y


def _predict(model, x):
    return as_array(model(x), what="the model's predictions")


def _count(counter, what):
    """A counter variable's value (a step counter, an optimizer's iterations) as an int."""
    return as_int(method(counter, "numpy", what=what)(), what=f"the value of {what}")


def _iterations(optimizer):
    """An optimizer's iteration count as an int."""
    return _count(attribute(optimizer, "iterations", what="the optimizer"), "its iterations")


def _keras(target, name):
    """A method of a model or checkpoint object (Keras's or TensorFlow's own call)."""
    return method(target, name, what=f"the object whose `{name}` the test calls")


def _expect_path(path, expected, function):
    expect(
        isinstance(path, str),
        f"{function} should return the path of the file it wrote, as a string, but it "
        f"returned {describe(path)}.",
    )
    path = os.path.normpath(path)
    expect(
        path == expected or path.endswith("/" + expected),
        f"{function} returned {path!r}, but the path of the file it was asked to write is "
        f"{expected!r}.",
    )


def _files_in(sandbox, folder):
    """The files under folder (relative to it) and their sizes."""
    prefix = folder.rstrip("/") + "/"
    return {p[len(prefix) :]: s for p, s in sandbox.files().items() if p.startswith(prefix)}


def _read_back(model, path, function):
    """Load the weights of a file the student wrote into a model, with Keras's
    own load_weights (it reads .keras and .weights.h5 files alike)."""
    expect(
        isinstance(path, str),
        f"{function} should return the path of the file it wrote, but it returned "
        f"{describe(path)}.",
    )
    try:
        _keras(model, "load_weights")(path)
    except StudentError as err:
        raise Mismatch(
            f"The file {function} wrote ({path!r}) could not be read back in a fresh process: "
            f"{err.message}"
        ) from None


def _optimizer_of(model):
    try:
        optimizer = model.optimizer
    except StudentError:
        optimizer = None
    expect(
        optimizer is not None,
        "The loaded model has no optimizer, so it cannot continue training where it stopped: "
        "load the model compiled, with the optimizer state the file holds.",
    )
    return optimizer


# What TensorFlow says when a serving signature is called the wrong way, and why.
_SIGNATURE_MISTAKES = (
    (
        "but is a double tensor",
        "the signature refused a float64 batch: a signature accepts exactly the dtype it "
        "declares (float32) and converts nothing, so convert x to float32 before the call.",
    ),
    (
        "too many positional arguments",
        "a serving signature takes keyword arguments named after the model's inputs; its "
        "structured_input_signature shows their names.",
    ),
    (
        "object is not callable",
        "the object tf.saved_model.load returns is not a Keras model and cannot be called: "
        "call one of its signatures.",
    ),
)


def _served(student, folder, x, what):
    """serve's result, with the usual ways of calling a signature wrongly explained."""
    try:
        return student.serve(folder, x)
    except StudentError as err:
        for text, advice in _SIGNATURE_MISTAKES:
            if text in err.message:
                raise Mismatch(f"serve raised, for {what}{_where(err)}: {advice}") from None
        raise


def _expect_logits(result, expected, what):
    if isinstance(result, dict):
        raise Mismatch(
            f"serve returned a dict with the keys {sorted(result)}: a signature returns its "
            "outputs by name, and serve should return the logits tensor itself."
        )
    expect_close(result, expected, atol=1e-5, what=what)


def _training(student, seed):
    parts = student.new_training(seed)
    expect(
        isinstance(parts, tuple) and len(parts) == 3,
        "new_training should return (model, optimizer, step): keep the given helpers as they are.",
    )
    model, optimizer, step = parts
    as_object(step, kind="tf.Variable", what="the step counter new_training returned")
    return model, optimizer, step


def _steps(student, model, optimizer, step, x, y, count):
    """count training steps in the sandbox, counted on the step counter."""
    for _ in range(count):
        student.train_step(model, optimizer, x, y)
        method(step, "assign_add", what="the step counter")(1)


def _checkpoint(student, model, optimizer, step):
    checkpoint = student.make_checkpoint(model, optimizer, step)
    as_object(checkpoint, kind="tf.train.Checkpoint", what="what make_checkpoint returned")
    return checkpoint


def _manager(student, checkpoint, folder):
    manager = student.make_manager(checkpoint, folder)
    as_object(manager, kind="tf.train.CheckpointManager", what="what make_manager returned")
    return manager


def _losses(value, call):
    losses = as_array(value, what=f"what {call} returned").astype(np.float64)
    expect(
        losses.ndim == 1,
        f"{call} should return a list of losses (one number per step), but it returned an "
        f"array of shape {losses.shape}.",
    )
    return losses


def _uninterrupted(reference, x, y, steps):
    """The losses of a training run that is never interrupted, on the trusted side:
    the notebook's given helpers, no checkpoint and no file."""
    model, optimizer, _ = reference.new_training()
    return np.array([reference.train_step(model, optimizer, x, y) for _ in range(steps)])


# ------------------------------------------------------------------ save_full_model


@grade(
    points=1,
    exercise="save_full_model",
    hint="In Keras 3 the file name's extension chooses the format, and model.save writes a "
    "file but does not create the folders on its path.",
)
def test_save_full_model_writes_keras_file(student, sandbox, rng):
    model, _, _ = _trained(student, rng)
    folder = "saved/full_a"  # nested, and it does not exist yet
    path = _saving(student.save_full_model, model, folder, old=_OLD_FOLDER_SAVE, fix=FULL_MODEL_FIX)
    _expect_path(path, "saved/full_a/model.keras", "save_full_model")
    files = _files_in(sandbox, folder)
    expect_equal(
        sorted(files), ["model.keras"], what=f"the files save_full_model wrote in {folder!r}"
    )
    expect(files["model.keras"] > 0, "save_full_model wrote an empty model.keras file.")


@grade(
    points=1,
    exercise="save_full_model",
    hint="Saving again into the same folder must work and replace the file: a training run "
    "saves the model more than once.",
)
def test_save_full_model_keeps_the_latest_weights(student, sandbox, rng):
    model, x, y = _trained(student, rng)
    folder = "full_b"
    _saving(student.save_full_model, model, folder, old=_OLD_FOLDER_SAVE, fix=FULL_MODEL_FIX)
    _train(student, model, x, y, 2)  # train on, then save again in the same folder
    path = _saving(student.save_full_model, model, folder, old=_OLD_FOLDER_SAVE, fix=FULL_MODEL_FIX)
    expected = _predict(model, x)
    sandbox.restart()
    fresh = student.build_model(0)
    _read_back(fresh, path, "save_full_model")
    expect_close(
        _predict(fresh, x),
        expected,
        what="the predictions of the weights read back from the file save_full_model wrote "
        "(saved a second time, after more training)",
    )


# ------------------------------------------------------------------ load_full_model


@grade(
    points=2,
    exercise="load_full_model",
    hint="A .keras file holds the architecture as well as the weights: Keras can rebuild the "
    "model from the file alone.",
)
def test_load_full_model_predicts_like_the_saved_model(student, sandbox, rng):
    model, x, _ = _trained(student, rng)
    wide = (3.0 * rng.normal(size=(7, 4))).astype(np.float32)
    expected, expected_wide = _predict(model, x), _predict(model, wide)
    _keras(model, "save")("full_c.keras")  # Keras's own call, in the sandbox
    sandbox.restart()
    loaded = student.load_full_model("full_c.keras")
    as_model(loaded, what="what load_full_model returned")
    expect_close(
        _predict(loaded, x),
        expected,
        what="the loaded model's predictions (in a fresh process) on the training inputs",
    )
    expect_close(
        _predict(loaded, wide), expected_wide, what="the loaded model's predictions on new inputs"
    )


@grade(
    points=2,
    exercise="load_full_model",
    hint="The .keras file also holds the compile settings and the optimizer's state; a model "
    "loaded with them continues training exactly where the saved one stopped.",
)
def test_load_full_model_continues_training(student, sandbox, rng):
    model, x, y = _trained(student, rng, steps=3)
    _keras(model, "save")("full_d.keras")
    more = _train(student, model, x, y, 2)  # what the saved model does next
    sandbox.restart()
    loaded = student.load_full_model("full_d.keras")
    as_model(loaded, what="what load_full_model returned")
    optimizer = _optimizer_of(loaded)
    expect_equal(
        _iterations(optimizer),
        3,
        what="the loaded optimizer's iteration count (the model had been trained for 3 steps)",
    )
    resumed = [student.train_step(loaded, optimizer, x, y) for _ in range(2)]
    expect_close(
        resumed,
        as_array(more, what="the losses of the saved model trained on"),
        rtol=1e-4,
        what="the losses of 2 more training steps of the loaded model (compared with the "
        "saved model trained on)",
    )


# ---------------------------------------------------------------- save_weights_only


@grade(
    points=1,
    exercise="save_weights_only",
    hint="Keras 3 is strict about the name of a weights file.",
)
def test_save_weights_only_writes_weights_file(student, sandbox, rng):
    model, _, _ = _trained(student, rng)
    folder = "saved/weights_a"
    path = _saving(student.save_weights_only, model, folder, old=_OLD_WEIGHTS_SAVE, fix=WEIGHTS_FIX)
    _expect_path(path, "saved/weights_a/model.weights.h5", "save_weights_only")
    files = _files_in(sandbox, folder)
    expect_equal(
        sorted(files), ["model.weights.h5"], what=f"the files save_weights_only wrote in {folder!r}"
    )


@grade(
    points=1,
    exercise="save_weights_only",
    hint="The file must hold the model's current weights, and saving twice into the same "
    "folder must work.",
)
def test_save_weights_only_keeps_the_latest_weights(student, sandbox, rng):
    model, x, y = _trained(student, rng)
    folder = "weights_b"
    _saving(student.save_weights_only, model, folder, old=_OLD_WEIGHTS_SAVE, fix=WEIGHTS_FIX)
    _train(student, model, x, y, 2)
    path = _saving(student.save_weights_only, model, folder, old=_OLD_WEIGHTS_SAVE, fix=WEIGHTS_FIX)
    expected = _predict(model, x)
    sandbox.restart()
    fresh = student.build_model(0)
    _read_back(fresh, path, "save_weights_only")
    expect_close(
        _predict(fresh, x),
        expected,
        what="the predictions of the weights read back from the file save_weights_only wrote "
        "(saved a second time, after more training)",
    )


# ---------------------------------------------------------------- load_weights_only


@grade(
    points=2,
    exercise="load_weights_only",
    hint="A weights file has no architecture: the model you load it into must be built exactly "
    "like the one that was saved, including what has no weights, such as activations.",
)
def test_load_weights_only_predicts_like_the_saved_model(student, sandbox, rng):
    model, x, _ = _trained(student, rng)
    wide = (3.0 * rng.normal(size=(9, 4))).astype(np.float32)
    expected, expected_wide = _predict(model, x), _predict(model, wide)
    _keras(model, "save_weights")("weights_c.weights.h5")
    sandbox.restart()
    loaded = student.load_weights_only("weights_c.weights.h5")
    as_model(loaded, what="what load_weights_only returned")
    expect_close(
        _predict(loaded, x),
        expected,
        what="the rebuilt model's predictions (in a fresh process) on the training inputs",
    )
    expect_close(
        _predict(loaded, wide),
        expected_wide,
        what="the rebuilt model's predictions on new inputs, positive and negative",
    )


@grade(
    points=1,
    exercise="load_weights_only",
    hint="Each call builds its own model and loads the file it is given.",
)
def test_load_weights_only_loads_the_file_it_is_given(student, sandbox, rng):
    first, x, y = _trained(student, rng)
    second = student.compile_model(student.build_model(_seed(rng) + 10_000))
    _train(student, second, x, y, 5)
    expected_first, expected_second = _predict(first, x), _predict(second, x)
    _keras(first, "save_weights")("weights_d_first.weights.h5")
    _keras(second, "save_weights")("weights_d_second.weights.h5")
    sandbox.restart()
    loaded_second = student.load_weights_only("weights_d_second.weights.h5")
    loaded_first = student.load_weights_only("weights_d_first.weights.h5")
    as_model(loaded_first, what="what load_weights_only returned")
    expect_close(
        _predict(loaded_second, x),
        expected_second,
        what="the predictions of the model loaded from 'weights_d_second.weights.h5'",
    )
    expect_close(
        _predict(loaded_first, x),
        expected_first,
        what="the predictions of the model loaded next, from 'weights_d_first.weights.h5'",
    )


# --------------------------------------------------------------- export_for_serving


@grade(
    points=1,
    exercise="export_for_serving",
    hint="A SavedModel is a folder holding a graph (saved_model.pb) and a variables folder.",
)
def test_export_for_serving_writes_saved_model(student, sandbox, rng):
    model, _, _ = _trained(student, rng)
    folder = "saved/served_a"
    _saving(student.export_for_serving, model, folder, old=_OLD_FOLDER_SAVE, fix=EXPORT_FIX)
    files = _files_in(sandbox, folder)
    for name in ("saved_model.pb", "variables/variables.index"):
        expect(
            name in files,
            f"export_for_serving wrote no {name!r} in {folder!r}, so it is not a SavedModel "
            f"(files there: {sorted(files) or 'none'}).",
        )


@grade(
    points=1,
    exercise="export_for_serving",
    hint="Export the trained model itself: the SavedModel is all a server gets.",
)
def test_export_for_serving_serves_the_trained_model(student, sandbox, rng):
    model, x, _ = _trained(student, rng)
    expected = _predict(model, x)
    _saving(student.export_for_serving, model, "served_b", old=_OLD_FOLDER_SAVE, fix=EXPORT_FIX)
    sandbox.restart()
    _expect_logits(
        _served(student, "served_b", x, "a float32 batch"),
        expected,
        what="the predictions served, in a fresh process, from the SavedModel export_for_serving "
        "wrote",
    )


# ------------------------------------------------------------------------- serve


@pytest.fixture(scope="module")
def exported(student, module_rng):
    """A trained model exported with Keras's own call in the sandbox, shared by the
    tests of serve: the folder, inputs, and what the model predicted for them."""
    model, x, _ = _trained(student, module_rng)
    _keras(model, "export")("served_c", verbose=False)
    return "served_c", x, _predict(model, x)


@grade(
    points=2,
    exercise="serve",
    hint="A loaded SavedModel is no Keras model: call its serving_default signature, which "
    "takes keyword arguments named after the model's inputs and returns a dict of outputs.",
)
def test_serve_predicts_like_the_exported_model(student, sandbox, exported):
    folder, x, expected = exported
    sandbox.restart()
    _expect_logits(
        _served(student, folder, x, "a float32 batch"),
        expected,
        what="serve's logits (in a fresh process) for a float32 batch",
    )


@grade(
    points=1,
    exercise="serve",
    hint="A signature does not convert dtypes: it accepts exactly the dtype it declares.",
)
def test_serve_float64_input(student, exported):
    folder, x, expected = exported
    _expect_logits(
        _served(student, folder, x.astype(np.float64), "a float64 batch"),
        expected,
        what="serve's logits for a float64 batch",
    )


@grade(
    points=1,
    exercise="serve",
    hint="The batch dimension of a serving signature may have any length, and x may also "
    "arrive as a nested list.",
)
def test_serve_any_batch(student, exported):
    folder, x, expected = exported
    _expect_logits(
        _served(student, folder, x[:1], "a single example"),
        expected[:1],
        what="serve's logits for a single example",
    )
    rows = [[float(v) for v in row] for row in x[:9]]
    _expect_logits(
        _served(student, folder, rows, "a nested list"),
        expected[:9],
        what="serve's logits for 9 examples given as a nested list",
    )


# --------------------------------------------------------------- make_checkpoint


@pytest.fixture(scope="module")
def saved_checkpoint(student, sandbox, module_rng):
    """A checkpoint saved after 3 training steps, what the model predicted then and
    after one more step; the sandbox is restarted after saving."""
    x, y = _data(module_rng)
    seed = _seed(module_rng)
    model, optimizer, step = _training(student, seed)
    checkpoint = _checkpoint(student, model, optimizer, step)
    _steps(student, model, optimizer, step, x, y, 3)
    path = _keras(checkpoint, "save")("ckpt_a/ckpt")
    at_save = _predict(model, x)
    student.train_step(model, optimizer, x, y)
    one_more = _predict(model, x)
    sandbox.restart()
    return {"path": path, "seed": seed, "x": x, "y": y, "at_save": at_save, "one_more": one_more}


def _restored(student, saved):
    """Fresh objects (other initial weights) restored from the saved checkpoint."""
    model, optimizer, step = _training(student, saved["seed"] + 1)
    checkpoint = _checkpoint(student, model, optimizer, step)
    _keras(checkpoint, "restore")(saved["path"])
    return model, optimizer, step


@grade(
    points=1,
    exercise="make_checkpoint",
    hint="A checkpoint saves what it tracks: the objects given to tf.train.Checkpoint by keyword.",
)
def test_make_checkpoint_restores_weights(student, saved_checkpoint):
    model, _, _ = _restored(student, saved_checkpoint)
    expect_close(
        _predict(model, saved_checkpoint["x"]),
        saved_checkpoint["at_save"],
        what="the model's predictions after restoring, in a fresh process, a checkpoint saved "
        "after 3 training steps",
    )


@grade(
    points=1,
    exercise="make_checkpoint",
    hint="The step counter is a variable like any other, and only what the checkpoint tracks "
    "comes back.",
)
def test_make_checkpoint_restores_step(student, saved_checkpoint):
    _, _, step = _restored(student, saved_checkpoint)
    expect_equal(
        _count(step, "the step counter"),
        3,
        what="the step counter after restoring a checkpoint saved at step 3",
    )


@grade(
    points=2,
    exercise="make_checkpoint",
    hint="Adam has state of its own (an iteration count and running averages per weight); "
    "without it, the first step after resuming is not the step the interrupted run would "
    "have taken.",
)
def test_make_checkpoint_restores_optimizer(student, saved_checkpoint):
    model, optimizer, _ = _restored(student, saved_checkpoint)
    expect_equal(
        _iterations(optimizer),
        3,
        what="the optimizer's iteration count after restoring a checkpoint saved after 3 steps",
    )
    x, y = saved_checkpoint["x"], saved_checkpoint["y"]
    student.train_step(model, optimizer, x, y)
    expect_close(
        _predict(model, x),
        saved_checkpoint["one_more"],
        what="the predictions after one training step from the restored checkpoint (compared "
        "with the step the original run took)",
    )


# ------------------------------------------------------------------ make_manager


@grade(
    points=1,
    exercise="make_manager",
    hint="A CheckpointManager saves in the directory it is given, and writes a small "
    "'checkpoint' file there listing what it kept.",
)
def test_make_manager_saves_in_folder(student, sandbox, rng):
    model, optimizer, step = _training(student, _seed(rng))
    checkpoint = _checkpoint(student, model, optimizer, step)
    folder = "saved/manager_a"
    manager = _manager(student, checkpoint, folder)
    path = _keras(manager, "save")()
    expect(
        isinstance(path, str) and os.path.normpath(path).startswith(folder + "/"),
        f"the manager saved its checkpoint as {path!r}, not in the folder {folder!r}.",
    )
    files = _files_in(sandbox, folder)
    expect(
        "checkpoint" in files and any(name.endswith(".index") for name in files),
        f"after manager.save(), {folder!r} should hold a checkpoint and the 'checkpoint' file "
        f"(files there: {sorted(files) or 'none'}).",
    )


@grade(
    points=2,
    exercise="make_manager",
    hint="max_to_keep decides how many checkpoints stay on disk; older ones are deleted.",
)
def test_make_manager_keeps_the_three_latest(student, sandbox, rng):
    x, y = _data(rng)
    model, optimizer, step = _training(student, _seed(rng))
    checkpoint = _checkpoint(student, model, optimizer, step)
    folder = "manager_b"
    manager = _manager(student, checkpoint, folder)
    saved = []
    for _ in range(5):
        _steps(student, model, optimizer, step, x, y, 1)
        saved.append(_keras(manager, "save")())
    kept = as_list(
        attribute(manager, "checkpoints", what="the manager"), what="the manager's checkpoints"
    )
    expect_equal(len(kept), 3, what="the number of checkpoints the manager keeps after 5 saves")
    expect_equal(kept, saved[-3:], what="the checkpoints the manager keeps after 5 saves")
    on_disk = sorted(
        name[: -len(".index")] for name in _files_in(sandbox, folder) if name.endswith(".index")
    )
    expect_equal(
        on_disk,
        sorted(os.path.basename(as_text(p, what="a checkpoint's path")) for p in saved[-3:]),
        what=f"the checkpoints left in {folder!r} after 5 saves",
    )


# ---------------------------------------------------------------- restore_latest


@grade(
    points=1,
    exercise="restore_latest",
    hint="Before the first save there is no latest checkpoint: a fresh start restores nothing.",
)
def test_restore_latest_without_checkpoints(student, rng):
    x, _ = _data(rng)
    model, optimizer, step = _training(student, _seed(rng))
    checkpoint = _checkpoint(student, model, optimizer, step)
    manager = _manager(student, checkpoint, "restore_a")
    before = _predict(model, x)
    result = student.restore_latest(checkpoint, manager)
    expect(
        result is None,
        f"with no checkpoint in the folder yet, restore_latest should return None, but it "
        f"returned {describe(result)}.",
    )
    expect_equal(_count(step, "the step counter"), 0, what="the step counter after a fresh start")
    expect_close(_predict(model, x), before, what="the model's predictions after a fresh start")


@grade(
    points=2,
    exercise="restore_latest",
    hint="The manager lists its checkpoints oldest first; it also knows which one is the most "
    "recent.",
)
def test_restore_latest_restores_the_most_recent(student, sandbox, rng):
    x, y = _data(rng)
    seed = _seed(rng)
    model, optimizer, step = _training(student, seed)
    checkpoint = _checkpoint(student, model, optimizer, step)
    manager = _manager(student, checkpoint, "restore_b")
    saved = []
    for _ in range(3):
        _steps(student, model, optimizer, step, x, y, 2)
        saved.append(_keras(manager, "save")())
    expected = _predict(model, x)
    sandbox.restart()
    model, optimizer, step = _training(student, seed + 1)
    checkpoint = _checkpoint(student, model, optimizer, step)
    manager = _manager(student, checkpoint, "restore_b")
    result = student.restore_latest(checkpoint, manager)
    expect_equal(
        result,
        saved[-1],
        what=f"the path restore_latest returned, in a fresh process, after saving {saved}",
    )
    expect_close(
        _predict(model, x),
        expected,
        what="the model's predictions after restore_latest (compared with the model at the "
        "last save)",
    )


# -------------------------------------------------------- train_with_checkpoints


@grade(
    points=1,
    exercise="train_with_checkpoints",
    hint="In an empty folder nothing is restored: the loop trains from step 0 to until_step "
    "and returns one loss per step.",
)
def test_train_with_checkpoints_uninterrupted(student, reference, rng):
    x, y = _data(rng, 24)
    call = "train_with_checkpoints('train_a', x, y, 6, 4)"
    losses = _losses(student.train_with_checkpoints("train_a", x, y, 6, 4), call)
    expect_equal(len(losses), 6, what=f"the number of losses {call} returned in an empty folder")
    expect_close(
        losses,
        _uninterrupted(reference, x, y, 6),
        rtol=1e-4,
        what=f"the losses {call} returned",
    )


@grade(
    points=3,
    exercise="train_with_checkpoints",
    hint="Restore before the loop, and let the restored step counter decide where the loop "
    "starts; the model, the optimizer and the counter must all come back for the resumed "
    "steps to be the steps the interrupted run would have taken.",
)
def test_train_with_checkpoints_resumes_where_it_stopped(
    student, reference, sandbox, rng, feedback
):
    x, y = _data(rng, 24)
    want = _uninterrupted(reference, x, y, 16)
    first_call = "train_with_checkpoints('train_b', x, y, 11, 2)"
    first = _losses(student.train_with_checkpoints("train_b", x, y, 11, 2), first_call)
    expect_equal(len(first), 11, what=f"the number of losses {first_call} returned")
    sandbox.restart()  # the interruption
    call = "train_with_checkpoints('train_b', x, y, 16, 2)"
    second = _losses(student.train_with_checkpoints("train_b", x, y, 16, 2), call)
    feedback.curve(
        "loss per step, resumed after step 10",
        student=[*first[:10], *second],
        reference=want,
    )
    expect_equal(
        len(second),
        6,
        what=f"the number of steps {call} ran in a fresh process (the first run stopped at "
        "step 11; its latest checkpoint was at step 10)",
    )
    expect_close(
        second,
        want[10:],
        rtol=1e-4,
        what="the losses of steps 11 to 16 after resuming (compared with a run that was never "
        "interrupted)",
    )


@grade(
    points=1,
    exercise="train_with_checkpoints",
    hint="Save when the step counter, after its increment, is a multiple of save_every, and "
    "only then.",
)
def test_train_with_checkpoints_saves_every(student, reference, sandbox, rng):
    x, y = _data(rng, 24)
    want = _uninterrupted(reference, x, y, 9)
    first_call = "train_with_checkpoints('train_c', x, y, 7, 3)"
    first = _losses(student.train_with_checkpoints("train_c", x, y, 7, 3), first_call)
    expect_equal(len(first), 7, what=f"the number of losses {first_call} returned")
    saved = sorted(name for name in _files_in(sandbox, "train_c") if name.endswith(".index"))
    expect_equal(
        len(saved),
        2,
        what=f"the number of checkpoints {first_call} saved (after steps 3 and 6; files: {saved})",
    )
    sandbox.restart()
    call = "train_with_checkpoints('train_c', x, y, 9, 3)"
    second = _losses(student.train_with_checkpoints("train_c", x, y, 9, 3), call)
    expect_equal(
        len(second),
        3,
        what=f"the number of steps {call} ran after a run that stopped at step 7",
    )
    expect_close(second, want[6:], rtol=1e-4, what="the losses of steps 7 to 9 after resuming")


@grade(
    points=1,
    exercise="train_with_checkpoints",
    hint="If the restored counter has already reached until_step, there is nothing left to do.",
)
def test_train_with_checkpoints_nothing_left_to_do(student, rng):
    x, y = _data(rng, 24)
    first_call = "train_with_checkpoints('train_d', x, y, 4, 2)"
    first = _losses(student.train_with_checkpoints("train_d", x, y, 4, 2), first_call)
    expect_equal(len(first), 4, what=f"the number of losses {first_call} returned")
    for until in (4, 3):
        call = f"train_with_checkpoints('train_d', x, y, {until}, 2)"
        again = _losses(student.train_with_checkpoints("train_d", x, y, until, 2), call)
        expect_equal(
            len(again),
            0,
            what=f"the number of steps {call} ran after a run that reached step 4",
        )
