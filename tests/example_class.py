"""The checks every bundled example class passes (tests/test_examples*.py):
every student's exact score and the exact tests they do not pass, and that
the stub example is the released notebook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from tests.helpers import REPO, Results, failures, read_results

Expected = dict[str, tuple[float, dict[str, str]]]
"""student -> (score, the tests it does not pass and their verdicts)"""

CENTER = ["test_center_random", "test_center_feature_offsets", "test_center_single_row"]
"""01_tensors' tests of ``center``, every one failed by the example student ben"""


def only(verdict: str, names: list[str]) -> dict[str, str]:
    """The same verdict for each of ``names``."""
    return dict.fromkeys(names, verdict)


class ExampleClass:
    """Subclassed once per example class, with the constants below; its tests
    and the subclass's own share one grading of the class, ``graded``."""

    ASSIGNMENT: ClassVar[str]
    MAX_SCORE: ClassVar[float]
    STUB: ClassVar[str]
    """the student whose notebook is the untouched released one"""
    EXPECTED: ClassVar[Expected]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run each test that takes a ``student`` once per student of EXPECTED."""
        if "student" in metafunc.fixturenames:
            metafunc.parametrize("student", sorted(self.EXPECTED))

    @pytest.fixture(scope="class")
    def graded(self, example_class: Callable[[str], Path]) -> Results:
        """examples/submissions/ASSIGNMENT/ graded by ``make grade``; student -> results.json."""
        return read_results(example_class(self.ASSIGNMENT) / self.ASSIGNMENT)

    def test_example_class_is_complete(self, graded: Results) -> None:
        assert set(graded) == set(self.EXPECTED)

    def test_example_scores_exactly(self, graded: Results, student: str) -> None:
        """The score and the failing tests are exactly the expected ones; the
        untouched stub fails every test as not implemented."""
        score, failed = self.EXPECTED[student]
        result = graded[student]
        assert result["max_score"] == self.MAX_SCORE
        assert result["score"] == score
        if student == self.STUB:
            assert set(failures(result).values()) == {"not implemented"}
            assert len(failures(result)) == len(result["tests"])
        else:
            assert failures(result) == failed

    def test_stub_example_is_the_released_notebook(self) -> None:
        """The stub example is the released notebook, byte for byte."""
        released = REPO / "assignments" / self.ASSIGNMENT / f"{self.ASSIGNMENT}.ipynb"
        stub = REPO / "examples" / "submissions" / self.ASSIGNMENT / f"{self.STUB}.ipynb"
        assert stub.read_bytes() == released.read_bytes()
