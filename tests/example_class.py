"""What each example-class test checks: every student's exact score and the
exact tests they do not pass, and that the stub example is the released notebook."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import REPO, read_results, run_grader

Results = dict[str, dict[str, Any]]


def only(verdict: str, names: list[str]) -> dict[str, str]:
    """The same verdict for each of ``names``."""
    return dict.fromkeys(names, verdict)


def failures(result: dict[str, Any]) -> dict[str, str]:
    """Test name -> verdict, for the tests a student did not pass."""
    return {t["name"]: t["verdict"] for t in result["tests"] if t["verdict"] != "passed"}


def grade_example_class(name: str, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Grade examples/submissions/NAME/ with the real CLI; student -> results.json."""
    out = tmp_path_factory.mktemp(f"class-{name}")
    done = run_grader("grade", name, "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return read_results(out / name)


def assert_scored_exactly(
    result: dict[str, Any], score: float, failed: dict[str, str], max_score: float, *, stub: bool
) -> None:
    """The score and the failing tests are exactly the expected ones; the
    untouched stub fails every test as not implemented."""
    assert result["max_score"] == max_score
    assert result["score"] == score
    if stub:
        assert set(failures(result).values()) == {"not implemented"}
        assert len(failures(result)) == len(result["tests"])
    else:
        assert failures(result) == failed


def assert_stub_is_released(name: str, student: str) -> None:
    """The stub example is the released notebook, byte for byte."""
    released = REPO / "assignments" / name / f"{name}.ipynb"
    stub = REPO / "examples" / "submissions" / name / f"{student}.ipynb"
    assert stub.read_bytes() == released.read_bytes()
