"""What each example-class test (tests/test_examples*.py) checks: every
student's exact score and the exact tests they do not pass, and that the
stub example is the released notebook."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import REPO, Results, failures, read_results, run_grader

Expected = dict[str, tuple[float, dict[str, str]]]
"""student -> (score, the tests it does not pass and their verdicts)"""

CENTER = ["test_center_random", "test_center_feature_offsets", "test_center_single_row"]
"""01_tensors' tests of ``center``, every one failed by the example student ben"""


def only(verdict: str, names: list[str]) -> dict[str, str]:
    """The same verdict for each of ``names``."""
    return dict.fromkeys(names, verdict)


def grade_example_class(assignment: str, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Grade examples/submissions/ASSIGNMENT/ with the real CLI; student -> results.json."""
    out = tmp_path_factory.mktemp(f"class-{assignment}")
    done = run_grader("grade", assignment, "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return read_results(out / assignment)


def assert_scored_exactly(
    result: dict[str, Any], expected: tuple[float, dict[str, str]], max_score: float, *, stub: bool
) -> None:
    """The score and the failing tests are exactly the ``expected`` ones; the
    untouched stub fails every test as not implemented."""
    score, failed = expected
    assert result["max_score"] == max_score
    assert result["score"] == score
    if stub:
        assert set(failures(result).values()) == {"not implemented"}
        assert len(failures(result)) == len(result["tests"])
    else:
        assert failures(result) == failed


def assert_stub_is_released(assignment: str, stub: str) -> None:
    """The stub example is the released notebook, byte for byte."""
    released = REPO / "assignments" / assignment / f"{assignment}.ipynb"
    notebook = REPO / "examples" / "submissions" / assignment / f"{stub}.ipynb"
    assert notebook.read_bytes() == released.read_bytes()
