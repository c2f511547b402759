"""Assignment 05 (the CIFAR-10 CNN end to end): the bundled example class scores
exactly what its work deserves, its training tests show curves beside the
reference's, and its stub example is the released notebook."""

from __future__ import annotations

from typing import ClassVar

import pytest

from tests.example_class import ExampleClass, Expected, only
from tests.helpers import Results

pytestmark = pytest.mark.whole_class

TRAINING = [
    "test_train_history",
    "test_train_loss_falls",
    "test_train_val_accuracy",
    "test_train_learning_rate_schedule",
    "test_train_early_stopping",
    "test_train_restores_best",
    "test_train_checkpoint_best",
]
ENCODER = ["test_encoder_simple_rnn", "test_encoder_lstm", "test_encoder_gru"]


class TestExampleClass(ExampleClass):
    """The example class of 05_cnn, graded once for the tests below."""

    ASSIGNMENT = "05_cnn"
    MAX_SCORE = 46
    STUB = "zed"
    FULL_MARKS = "ana"
    """the student with full marks, written differently from the reference"""

    # student -> (score out of 46, the tests it does not pass and their verdicts)
    EXPECTED: ClassVar[Expected] = {
        # full marks, written differently from the reference: a map()ped pipeline with
        # convert_image_dtype, Sequential.add with ReLU and Softmax layers, a loop over the
        # conv blocks, a LearningRateScheduler callback instead of an optimizer schedule
        "ana": (46, {}),
        # CifarNet calls its augmentation with training=True: random predictions in inference
        "bo": (44, {"test_cifarnet_inference": "failed"}),
        # forgot to normalise: the pipeline casts to float32 but never divides by 255
        "cai": (45, {"test_datasets_scaled": "failed"}),
        # the Sequential CNN outputs logits while the loss expects probabilities: no softmax,
        # and training learns nothing useful (its loss ends above chance's, ln 10)
        "dee": (
            41,
            only(
                "failed",
                [
                    "test_sequential_activations",
                    "test_sequential_predicts_probabilities",
                    "test_train_loss_falls",
                    "test_train_val_accuracy",
                ],
            ),
        ),
        # the hand-written loop calls the model without training=True: BatchNormalization
        # runs in inference mode while it trains
        "eko": (45, {"test_custom_training_in_training_mode": "failed"}),
        # return_sequences left out: the encoder and the GRU give only their last step
        "fen": (
            40,
            only("failed", [*ENCODER, "test_running_sum_every_step", "test_running_sum_learns"]),
        ),
        # ModelCheckpoint without save_best_only: the file holds the last epoch
        "gia": (45, {"test_train_checkpoint_best": "failed"}),
        # ExponentialDecay(learning_rate, 1, 1.25): the rate grows 25% per batch and diverges
        "hugo": (
            42,
            only(
                "failed",
                [
                    "test_train_loss_falls",
                    "test_train_val_accuracy",
                    "test_train_learning_rate_schedule",
                ],
            ),
        ),
        # NameError in train_cnn (every test built on its runs), KeyError in learning_curves
        "ines": (
            34,
            only(
                "error",
                [
                    *TRAINING,
                    "test_evaluate_scores",
                    "test_evaluate_predictions",
                    "test_learning_curves_loss",
                    "test_learning_curves_accuracy",
                ],
            ),
        ),
        "zed": (0, {}),  # the untouched released notebook: every test not implemented
    }

    def test_training_tests_show_curves(self, graded: Results) -> None:
        """The training tests put the student's curves beside the reference's."""
        tests = {t["name"]: t for t in graded[self.FULL_MARKS]["tests"]}
        for name, label in [
            ("test_train_loss_falls", "loss"),
            ("test_train_val_accuracy", "val_accuracy"),
            ("test_running_sum_learns", "loss"),
        ]:
            [curve] = tests[name]["curves"]
            assert curve["label"] == label
            assert len(curve["student"]) == len(curve["reference"]) > 1
        [diverged] = {t["name"]: t for t in graded["hugo"]["tests"]}["test_train_loss_falls"][
            "curves"
        ]
        assert diverged["student"][-1] > diverged["reference"][-1]
