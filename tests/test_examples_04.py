"""The example class of assignment 04 (saving and loading models) scores exactly
what each notebook deserves, and its stub example is the released notebook."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from tests.example_class import ExampleClass, Expected, only
from tests.helpers import REPO, Results

pytestmark = pytest.mark.whole_class

SAVE_FULL = [
    "test_save_full_model_writes_keras_file",
    "test_save_full_model_keeps_the_latest_weights",
]
SAVE_WEIGHTS = [
    "test_save_weights_only_writes_weights_file",
    "test_save_weights_only_keeps_the_latest_weights",
]
LOAD_WEIGHTS = [
    "test_load_weights_only_predicts_like_the_saved_model",
    "test_load_weights_only_loads_the_file_it_is_given",
]
EXPORT = [
    "test_export_for_serving_writes_saved_model",
    "test_export_for_serving_serves_the_trained_model",
]
SERVE = [
    "test_serve_predicts_like_the_exported_model",
    "test_serve_float64_input",
    "test_serve_any_batch",
]
RESUMING = [
    "test_train_with_checkpoints_resumes_where_it_stopped",
    "test_train_with_checkpoints_saves_every",
]


class TestExampleClass(ExampleClass):
    """The example class of 04_save_load, graded once for the tests below."""

    ASSIGNMENT = "04_save_load"
    MAX_SCORE = 33
    STUB = "zed"

    # student -> (score out of 33, the tests it does not pass and their verdicts)
    EXPECTED: ClassVar[Expected] = {
        # full marks, written differently: pathlib, keras.saving, tf.saved_model.save, a
        # signature called through its own description, a for loop over the steps left
        "ana": (33, {}),
        # Keras 2's model.save(folder) for the whole model and for serving: refused by
        # Keras 3, and the feedback names model.save('....keras') and model.export
        "bob": (29, only("failed", SAVE_FULL + EXPORT)),
        # save_weights('.../weights.h5'): the feedback names the .weights.h5 file name
        "cleo": (31, only("failed", SAVE_WEIGHTS)),
        # weights loaded into an architecture rebuilt without its ReLU
        "dan": (30, only("failed", LOAD_WEIGHTS)),
        # serve returns the signature's dict, not the logits
        "eve": (28, only("failed", EXPORT[1:] + SERVE)),
        # the checkpoint leaves out the optimizer: resumed training diverges
        "fay": (
            27,
            {"test_make_checkpoint_restores_optimizer": "failed", **only("failed", RESUMING)},
        ),
        # a CheckpointManager keeping 5 checkpoints, not 3
        "gus": (31, {"test_make_manager_keeps_the_three_latest": "failed"}),
        # restores the oldest checkpoint kept, not the latest
        "hana": (
            26,
            {
                "test_restore_latest_restores_the_most_recent": "failed",
                **only("failed", RESUMING),
                "test_train_with_checkpoints_nothing_left_to_do": "failed",
            },
        ),
        # load_weights(path, by_name=True) raises in Keras 3
        "ivan": (30, only("error", LOAD_WEIGHTS)),
        # calls the signature with tf.constant(x): a float64 batch is refused
        "jack": (32, {"test_serve_float64_input": "failed"}),
        # the step counter is not in the checkpoint: a resumed run counts from 0 again
        "kai": (
            27,
            {
                "test_make_checkpoint_restores_step": "failed",
                **only("failed", RESUMING),
                "test_train_with_checkpoints_nothing_left_to_do": "failed",
            },
        ),
        # loads without compiling (no optimizer), and checkpoints only at the end of a run
        "lena": (
            27,
            {"test_load_full_model_continues_training": "failed", **only("failed", RESUMING)},
        ),
        # the untouched released notebook: every test not implemented
        "zed": (0, {}),
    }

    def test_old_saving_calls_are_answered_with_the_modern_ones(self, graded: Results) -> None:
        """Keras 2 calls that Keras 3 refuses fail with feedback naming the call to use."""
        messages = {
            t["name"]: t["message"]
            for student in ("bob", "cleo")
            for t in graded[student]["tests"]
            if t["verdict"] == "failed"
        }
        assert "model.save(os.path.join(folder, 'model.keras'))" in messages[SAVE_FULL[0]]
        assert "model.export(folder)" in messages[EXPORT[0]]
        assert (
            "model.save_weights(os.path.join(folder, 'model.weights.h5'))"
            in messages[SAVE_WEIGHTS[0]]
        )

    def test_resumed_training_curve_is_in_the_report(self, graded: Results) -> None:
        [test] = [t for t in graded["fay"]["tests"] if t["name"] == RESUMING[0]]
        [curve] = test["curves"]
        assert len(curve["student"]) == len(curve["reference"]) == 16

    def test_examples_are_notebooks_of_this_assignment(self) -> None:
        folder = REPO / "examples" / "submissions" / self.ASSIGNMENT
        assert {p.stem for p in Path(folder).glob("*.ipynb")} == set(self.EXPECTED)
