"""The bundled example classes score exactly what their work deserves; the
reference solutions score 100% and the released stubs 0%."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

import nbformat
import pytest

from grader import assignments
from tests.example_class import CENTER, ExampleClass, Expected, only
from tests.helpers import REPO, Results, failures, read_results, run_grader

pytestmark = pytest.mark.whole_class

TO_IMAGES = [
    "test_to_images_values",
    "test_to_images_non_square_uint8",
    "test_to_images_empty_batch",
]
PICK_ROWS = ["test_pick_rows_repeats", "test_pick_rows_other_ranks", "test_pick_rows_no_indices"]
GRADIENT = [
    "test_gradient_numpy_input",
    "test_gradient_tensor_input",
    "test_gradient_matrix_float64",
]
PAIRWISE = [
    "test_pairwise_scores_random",
    "test_pairwise_scores_float64",
    "test_pairwise_scores_empty",
]
ROW_NORMS = [
    "test_row_norms_values",
    "test_row_norms_input_signature",
    "test_row_norms_traces_once",
]
TRACES = [
    "test_count_traces_python_ints",
    "test_count_traces_tensors",
    "test_count_traces_fresh_function",
]


class TestExampleClass(ExampleClass):
    """The example class of 01_tensors, graded once for the tests below."""

    ASSIGNMENT = "01_tensors"
    MAX_SCORE = 36
    STUB = "zoe"
    CHEATER = "jon"
    """the student who games the checks: not in EXPECTED, checked by its own test"""

    # student -> (score out of 36, the tests it does not pass and their verdicts)
    EXPECTED: ClassVar[Expected] = {
        "ada": (36, {}),  # full marks, written differently from the reference
        "ben": (32, only("failed", CENTER)),  # mean over axis=1
        "cleo": (35, {"test_to_float_pixels_dtype": "failed"}),  # float64 pixels
        "dev": (33, only("failed", TO_IMAGES)),  # (N, H, W): forgot the channel axis
        "eli": (34, {"test_softmax_large_logits": "failed"}),  # exp without subtracting the max
        "fay": (35, {"test_make_weights_trainable": "failed"}),  # trainable=False
        "gus": (30, only("error", PICK_ROWS + GRADIENT)),  # NameError, tf.GradientTap typo
        "hal": (33, only("not implemented", PAIRWISE)),  # syntax error in that cell
        "ivy": (33, only("timeout", TRACES)),  # a while loop that never ends
        "kim": (
            29,
            {
                "test_filled_dtypes": "failed",  # ignores dtype
                "test_row_norms_input_signature": "failed",  # no input_signature...
                "test_row_norms_traces_once": "failed",  # ...so it retraces
                **only("failed", TRACES),  # counts calls, not traces
            },
        ),
        "lea": (30, only("not implemented", ROW_NORMS + TRACES)),  # left two stubs
        "zoe": (0, {}),  # the untouched released notebook: every test not implemented
    }

    def test_example_class_is_complete(self, graded: Results) -> None:
        assert set(graded) == set(self.EXPECTED) | {self.CHEATER}

    def test_syntax_error_is_reported_with_its_cell(self, graded: Results) -> None:
        [notice] = graded["hal"]["notices"]
        assert notice["kind"] == "syntax"
        assert notice["cell"] == 19

    def test_cheater_earns_only_its_honest_work(self, graded: Results, tmp_path: Path) -> None:
        """jon patches numpy, defines a module __getattr__ and returns objects
        equal to everything. Without the patches it scores the same."""
        source = REPO / "examples" / "submissions" / self.ASSIGNMENT / f"{self.CHEATER}.ipynb"
        notebook = nbformat.read(source, as_version=4)
        for cell in notebook.cells:
            cell.source = "\n".join(
                line for line in cell.source.splitlines() if not line.startswith("np.")
            )
        honest_copy = tmp_path / f"{self.CHEATER}.ipynb"
        nbformat.write(notebook, honest_copy)
        done = run_grader("grade", self.ASSIGNMENT, str(honest_copy), "--out", str(tmp_path))
        assert done.returncode == 0, done.stderr
        honest = read_results(tmp_path / self.ASSIGNMENT)[self.CHEATER]
        cheat = graded[self.CHEATER]
        assert cheat["score"] == honest["score"] == 14
        assert failures(cheat) == failures(honest)
        assert all(
            t["exercise"] in ("filled", "to_images", "center", "to_float_pixels")
            for t in cheat["tests"]
            if t["verdict"] == "passed"
        )


@pytest.mark.parametrize("name", assignments.names(REPO))
def test_reference_scores_full(name: str, tmp_path: Path) -> None:
    """The reference solution, graded as a submission, scores every point
    (the released stub scores none: each example class has it as its STUB)."""
    assignment = assignments.load(REPO, name)
    submissions = tmp_path / "class"
    submissions.mkdir()
    shutil.copy(assignment.solution_notebook, submissions / "reference.ipynb")
    done = run_grader("grade", name, str(submissions), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    [(student, result)] = read_results(tmp_path / "out" / name).items()
    assert student == "reference"
    assert result["score"] == result["max_score"] > 0
    assert {t["verdict"] for t in result["tests"]} == {"passed"}
