"""Public checks for assignment 04, released to students as they are.

The same steps as the notebook's check cells, checked by what the saved
files do (a loaded model predicts like the saved one), so no expected
value comes from the reference solution. Run them with ``grader check
04_save_load.ipynb``; the hidden tests that grade the notebook do more.
Folders are relative: they land in the sandbox's scratch folder.
"""

import numpy as np

from grader.harness import (
    as_array,
    as_int,
    as_list,
    as_text,
    attribute,
    expect,
    expect_close,
    grade,
    list_of,
    method,
)


def _trained(student, seed):
    """A compiled model of the course trained for 3 epochs, and its data."""
    x, y = as_list(student.toy_data(0), what="toy_data's result")
    model = student.compile_model(student.build_model(seed))
    method(model, "fit", what="the model")(x, y, epochs=3, batch_size=32, verbose=0)
    return model, as_array(x, what="x"), y


def _predict(model, x):
    return as_array(method(model, "predict", what="the model")(x, verbose=0), what="predictions")


@grade(
    points=1, exercise="save_full_model", hint="model.save(os.path.join(folder, 'model.keras'))."
)
def test_save_full_model(student, sandbox):
    model, _, _ = _trained(student, 1)
    path = as_text(student.save_full_model(model, "full"), what="save_full_model's result")
    expect(path.endswith("model.keras"), f"save_full_model returned {path!r}, not a .keras file.")
    expect("full/model.keras" in sandbox.files(), "there is no full/model.keras on disk.")


@grade(points=1, exercise="load_full_model", hint="keras.models.load_model(path).")
def test_load_full_model(student):
    model, x, _ = _trained(student, 1)
    path = as_text(student.save_full_model(model, "full_load"), what="save_full_model's result")
    loaded = student.load_full_model(path)
    expect_close(_predict(loaded, x), _predict(model, x), what="the loaded model's predictions")
    optimizer = attribute(loaded, "optimizer", what="the loaded model")
    steps = method(attribute(optimizer, "iterations", what="its optimizer"), "numpy", what="it")()
    expect(as_int(steps, what="iterations") == 3, "the optimizer's state is not in the file.")


@grade(points=1, exercise="save_weights_only", hint="model.save_weights(... '.weights.h5').")
def test_save_weights_only(student):
    model, _, _ = _trained(student, 2)
    path = as_text(student.save_weights_only(model, "weights"), what="save_weights_only's result")
    expect(path.endswith(".weights.h5"), f"save_weights_only returned {path!r}.")


@grade(points=1, exercise="load_weights_only", hint="Build the model again, then load_weights.")
def test_load_weights_only(student):
    model, x, _ = _trained(student, 2)
    path = as_text(student.save_weights_only(model, "weights_load"), what="the saved path")
    rebuilt = student.load_weights_only(path)
    expect_close(_predict(rebuilt, x), _predict(model, x), what="the rebuilt model's predictions")


@grade(points=1, exercise="export_for_serving", hint="model.export(folder).")
def test_export_for_serving(student, sandbox):
    model, _, _ = _trained(student, 3)
    student.export_for_serving(model, "served")
    expect("served/saved_model.pb" in sandbox.files(), "there is no served/saved_model.pb.")


@grade(points=1, exercise="serve", hint="tf.saved_model.load(folder).serve(x as float32).")
def test_serve(student):
    model, x, _ = _trained(student, 3)
    student.export_for_serving(model, "served_call")
    logits = as_array(student.serve("served_call", x.astype(np.float64)), what="serve's result")
    expect_close(logits, _predict(model, x), atol=1e-5, what="the served model's logits")


def _checkpointed(student, seed, folder):
    model, optimizer, step = as_list(student.new_training(seed), what="new_training's result")
    checkpoint = student.make_checkpoint(model, optimizer, step)
    manager = student.make_manager(checkpoint, folder)
    return model, optimizer, step, checkpoint, manager


@grade(points=1, exercise="make_checkpoint", hint="tf.train.Checkpoint(model=..., ...).")
def test_make_checkpoint(student):
    _, _, _, checkpoint, _ = _checkpointed(student, 4, "ckpt_make")
    method(checkpoint, "save", what="your checkpoint")("ckpt_make/manual")


@grade(points=1, exercise="make_manager", hint="tf.train.CheckpointManager(..., max_to_keep=3).")
def test_make_manager(student):
    x, y = as_list(student.toy_data(0), what="toy_data's result")
    model, optimizer, step, _, manager = _checkpointed(student, 4, "ckpt_manager")
    for _ in range(5):
        student.train_step(model, optimizer, x, y)
        method(step, "assign_add", what="the step")(1)
        method(manager, "save", what="your manager")()
    kept = list_of(manager, "checkpoints", what="your manager")
    expect(len(kept) == 3, f"the manager keeps {len(kept)} checkpoints, not the last 3.")


@grade(points=1, exercise="restore_latest", hint="Restore manager.latest_checkpoint.")
def test_restore_latest(student):
    _, _, _, checkpoint, manager = _checkpointed(student, 4, "ckpt_restore")
    expect(
        student.restore_latest(checkpoint, manager) is None,
        "restore_latest should return None when nothing was saved yet.",
    )


@grade(points=1, exercise="train_with_checkpoints", hint="Restore, then train on to until_step.")
def test_train_with_checkpoints(student):
    x, y = as_list(student.toy_data(0), what="toy_data's result")
    once = as_array(student.train_with_checkpoints("once", x, y, 8, 2), what="the losses")
    first = as_array(student.train_with_checkpoints("run", x, y, 5, 2), what="the losses")
    expect(len(first) == 5, f"training to step 5 returned {len(first)} losses.")
    resumed = as_array(student.train_with_checkpoints("run", x, y, 8, 2), what="the losses")
    expect_close(resumed, once[4:], what="the losses after resuming from step 4")
