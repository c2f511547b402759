"""Assignment 02 (layers): the bundled example class scores exactly what its
work deserves, each mistake costing only the tests about it, and the stub
example is the released notebook. (The reference scoring 100% and the stub
0% is checked for every assignment in tests/test_examples.py.)"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tests.example_class import ExampleClass, Expected, only
from tests.helpers import Results

pytestmark = pytest.mark.whole_class

DENSE = [
    "test_dense_layer_output",
    "test_dense_layer_weights",
    "test_dense_layer_builds_once",
    "test_dense_layer_initialisers",
    "test_dense_layer_activation",
    "test_dense_layer_sequences",
]
AFFINE = [
    "test_affine_output",
    "test_affine_trainable_variables",
    "test_affine_seen_is_state",
    "test_affine_counts_examples",
    "test_affine_initial_values",
]
PRODUCT = [
    "test_product_inputs_and_outputs",
    "test_product_layer_path",
    "test_product_parameter_count",
    "test_product_inference",
    "test_product_training_mode",
    "test_product_batchnorm_statistics",
]
LEAKY = [
    "test_leaky_relu_default_alpha",
    "test_leaky_relu_alphas",
    "test_leaky_relu_ranks_and_dtypes",
]


def failed(*names: str) -> dict[str, str]:
    return only("failed", list(names))


def messages(result: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: t["message"] for t in result["tests"]}


QUOTES = ("student.", "reference.", "expect(", "expect_close", "expect_equal", "rng.", "def test_")
"""pieces of the hidden suite's code that must never reach a student"""


class TestExampleClass(ExampleClass):
    """The example class of 02_layers, graded once for the tests below."""

    ASSIGNMENT = "02_layers"
    MAX_SCORE = 48
    STUB = "zoe"

    # student -> (score out of 48, the tests it does not pass and their verdicts)
    EXPECTED: ClassVar[Expected] = {
        # full marks, written differently: tf.maximum, a two-branch sigmoid, tanh from
        # sigmoid, logsumexp softmax, initializer objects, ReLU/Softmax as separate layers
        "ada": (48, {}),
        # exp without subtracting the max; tanh straight from its definition
        "ben": (44, failed("test_tanh_large_inputs", "test_softmax_large_logits")),
        # sigmoid as e^x / (1 + e^x); leaky ReLU's slope on the positive side
        "cleo": (43, {"test_sigmoid_large_inputs": "failed", **only("failed", LEAKY)}),
        # kernel stored as (units, in_features), used with transpose_b: right outputs
        "dev": (47, failed("test_dense_layer_weights")),
        # a dense layer without bias
        "eli": (47, failed("test_dense_layer_weights")),
        # plain tf.Variables in a Keras layer (untracked); the module's counter trainable
        "fay": (
            45,
            failed(
                "test_dense_layer_weights",
                "test_affine_trainable_variables",
                "test_affine_seen_is_state",
            ),
        ),
        # CNN without its second max-pool
        "gus": (
            43,
            failed("test_cnn_layer_kinds", "test_cnn_output_shapes", "test_cnn_parameter_counts"),
        ),
        # CNN with 32 filters in its second convolution
        "hal": (45, failed("test_cnn_output_shapes", "test_cnn_parameter_counts")),
        # CNN without the final softmax
        "ivy": (46, failed("test_cnn_activations", "test_cnn_predicts_probabilities")),
        # Dropout after the category head instead of before the heads
        "jon": (45, failed("test_product_layer_path", "test_product_training_mode")),
        # BatchNormalization called with training=True: inference behaves like training
        "kim": (45, failed("test_product_inference", "test_product_batchnorm_statistics")),
        # left the module and the functional model as stubs
        "lea": (33, only("not implemented", AFFINE + PRODUCT)),
        # NameError in DenseLayer.build; layers.Concatenate(numeric, words)
        "max": (32, only("error", DENSE + PRODUCT)),
        # the untouched released notebook: every test not implemented
        "zoe": (0, {}),
    }

    def test_example_class_is_complete(self, graded: Results) -> None:
        super().test_example_class_is_complete(graded)
        assert len(self.EXPECTED) >= 8

    def test_no_example_gets_a_notice(self, graded: Results) -> None:
        assert {s: r["notices"] for s, r in graded.items() if r["notices"]} == {}

    def test_architecture_messages_say_which_layer_differs(self, graded: Results) -> None:
        gus, hal, ivy = (messages(graded[s]) for s in ("gus", "hal", "ivy"))
        assert "layer 4 of your model is a Conv2D" in gus["test_cnn_layer_kinds"]
        assert "MaxPooling2D" in gus["test_cnn_layer_kinds"]
        assert "layer 3 of your model (Conv2D)" in hal["test_cnn_output_shapes"]
        assert "(None, 13, 13, 32)" in hal["test_cnn_output_shapes"]
        assert "layer 3" in hal["test_cnn_parameter_counts"]
        assert "(Dense, layer 8)" in ivy["test_cnn_activations"]
        assert "'softmax'" in ivy["test_cnn_activations"]
        jon = messages(graded["jon"])["test_product_layer_path"]
        assert "`category`" in jon and "Dropout" in jon

    def test_errors_point_at_the_students_line(self, graded: Results) -> None:
        tests = {t["name"]: t for t in graded["max"]["tests"]}
        build = tests["test_dense_layer_output"]
        assert "NameError" in build["message"]
        assert build["frames"][-1]["function"] == "build"
        assert "units)" in build["frames"][-1]["code"]
        concatenate = tests["test_product_inference"]
        assert "TypeError" in concatenate["message"]
        assert "layers.Concatenate(numeric, words)" in concatenate["frames"][-1]["code"]

    def test_feedback_never_quotes_the_hidden_suite(self, graded: Results) -> None:
        for result in graded.values():
            for test in result["tests"]:
                for text in (test["message"], test["hint"]):
                    for code in QUOTES:
                        assert code not in text, (result["student"], test["name"], text)
