"""Assignment 02 (layers): the bundled example class scores exactly what its
work deserves, each mistake costing only the tests about it, and the stub
example is the released notebook. (The reference scoring 100% and the stub
0% is checked for every assignment in tests/test_examples.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.example_class import (
    Expected,
    assert_scored_exactly,
    assert_stub_is_released,
    grade_example_class,
    only,
)
from tests.helpers import Results

pytestmark = pytest.mark.slow

ASSIGNMENT = "02_layers"
MAX_SCORE = 48
STUB = "zoe"

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


# student -> (score out of 48, the tests it does not pass and their verdicts)
EXPECTED: Expected = {
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


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Results:
    return grade_example_class(ASSIGNMENT, tmp_path_factory)


def messages(result: dict[str, Any]) -> dict[str, str]:
    return {t["name"]: t["message"] for t in result["tests"]}


def test_example_class_is_complete(graded: Results) -> None:
    assert set(graded) == set(EXPECTED)
    assert len(EXPECTED) >= 8


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_example_scores_exactly(graded: Results, student: str) -> None:
    assert graded[student]["notices"] == []
    assert_scored_exactly(graded[student], EXPECTED[student], MAX_SCORE, stub=student == STUB)


def test_stub_example_is_the_released_notebook() -> None:
    assert_stub_is_released(ASSIGNMENT, STUB)


def test_architecture_messages_say_which_layer_differs(
    graded: Results,
) -> None:
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


def test_errors_point_at_the_students_line(graded: Results) -> None:
    tests = {t["name"]: t for t in graded["max"]["tests"]}
    build = tests["test_dense_layer_output"]
    assert "NameError" in build["message"]
    assert build["frames"][-1]["function"] == "build"
    assert "units)" in build["frames"][-1]["code"]
    concatenate = tests["test_product_inference"]
    assert "TypeError" in concatenate["message"]
    assert "layers.Concatenate(numeric, words)" in concatenate["frames"][-1]["code"]


QUOTES = ("student.", "reference.", "expect(", "expect_close", "expect_equal", "rng.", "def test_")
"""pieces of the hidden suite's code that must never reach a student"""


def test_feedback_never_quotes_the_hidden_suite(graded: Results) -> None:
    for result in graded.values():
        for test in result["tests"]:
            for text in (test["message"], test["hint"]):
                for code in QUOTES:
                    assert code not in text, (result["student"], test["name"], text)
