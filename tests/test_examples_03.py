"""Assignment 03 (training): the bundled example class scores exactly what its
work deserves, and its stub example is the released notebook."""

from __future__ import annotations

from typing import ClassVar

import pytest

from tests.example_class import ExampleClass, Expected, only
from tests.helpers import Results

pytestmark = pytest.mark.whole_class

SCCE = [
    "test_scce_probabilities_random",
    "test_scce_probabilities_one_hot",
    "test_scce_logits_random",
    "test_scce_logits_large",
    "test_scce_sequences",
    "test_scce_lists",
]
GD = ["test_gd_step_random", "test_gd_step_loss", "test_gd_step_descends", "test_gd_step_still"]
ADAM = [
    "test_adam_matches_keras",
    "test_adam_moments",
    "test_adam_first_step",
    "test_adam_later_step",
    "test_adam_tiny_gradients",
]
EVALUATE = ["test_evaluate_loss_and_accuracy", "test_evaluate_probabilities"]


class TestExampleClass(ExampleClass):
    """The example class of 03_training, graded once for the tests below."""

    ASSIGNMENT = "03_training"
    MAX_SCORE = 55
    STUB = "zed"
    FULL_MARKS = "ana"
    """the student with full marks, written differently from the reference"""

    # student -> (score out of 55, the tests it does not pass and their verdicts)
    EXPECTED: ClassVar[Expected] = {
        # full marks, written differently from the reference (softplus and xlogy, one-hot,
        # textbook Adam with a corrected epsilon, functional model, NumPy-shuffled loop)
        "ana": (55, {}),
        # cross-entropy from logits through sigmoid / softmax: NaN on logits of ±1000
        "bo": (51, {"test_bce_logits_large": "failed", "test_scce_logits_large": "failed"}),
        # sums where the losses should average: mse sums each example's outputs, the
        # categorical cross-entropy sums over the batch; mse also never casts its inputs.
        # gradient_descent_step minimises that mse, so its loss and step are wrong too:
        # the linear problems have several outputs for every submission (they used to
        # draw one output, where a sum equals the mean, for this file's fixed inputs)
        "cai": (
            40,
            {
                "test_mse_random": "failed",
                "test_mse_exact_values": "failed",
                "test_mse_integer_targets_and_lists": "failed",
                **only("failed", SCCE),
                "test_gd_step_random": "failed",
                "test_gd_step_loss": "failed",
            },
        ),
        # momentum: moves the weights with the old velocity, then updates it
        "dee": (
            51,
            only(
                "failed",
                [
                    "test_momentum_matches_keras",
                    "test_momentum_coasts",
                    "test_momentum_zero_is_sgd",
                ],
            ),
        ),
        # Adam without bias correction (its moving averages are right)
        "eko": (50, only("failed", [t for t in ADAM if t != "test_adam_moments"])),
        # the custom loop rebinds a Python name instead of updating the weights
        "fen": (
            52,
            only("failed", ["test_train_custom_loss_goes_down", "test_train_custom_accuracy"]),
        ),
        # fit without validation data or early stopping; "probabilities" that are logits
        "gia": (
            51,
            only(
                "failed",
                [
                    "test_train_fit_history",
                    "test_train_fit_early_stopping",
                    "test_train_fit_restores_best",
                    "test_evaluate_probabilities",
                ],
            ),
        ),
        # seeded initial weights but unseeded shuffling: runs differ
        "hugo": (
            53,
            only("failed", ["test_train_custom_deterministic", "test_train_fit_deterministic"]),
        ),
        # NameError in adam_step (beta1), KeyError in evaluate_and_predict ('acc')
        "ines": (46, only("error", ADAM + EVALUATE)),
        # compile(loss="binary_crossentropy", metrics=["accuracy"]) on a model that outputs
        # logits: the loss clips them as probabilities and nothing is learned
        "jo": (
            51,
            only(
                "failed",
                [
                    "test_train_fit_loss_goes_down",
                    "test_train_fit_accuracy",
                    "test_train_fit_epoch_metrics",
                ],
            ),
        ),
        # probabilities never clipped (log 0); b a constant, so its gradient is None
        "kay": (
            48,
            {
                "test_bce_probabilities_zero_and_one": "failed",
                "test_scce_probabilities_one_hot": "failed",
                **only("error", GD),
            },
        ),
        "zed": (0, {}),  # the untouched released notebook: every test not implemented
    }

    def test_training_tests_show_curves(self, graded: Results) -> None:
        """The loss tests put the student's curve beside the reference's."""
        tests = {t["name"]: t for t in graded[self.FULL_MARKS]["tests"]}
        for name in ("test_train_custom_loss_goes_down", "test_train_fit_loss_goes_down"):
            [curve] = tests[name]["curves"]
            assert curve["label"] == "loss"
            assert len(curve["student"]) == len(curve["reference"]) == 20
            assert curve["student"][-1] < curve["student"][0]
