"""Test inputs repeat for the same submission and differ between
submissions, unless a test says why its inputs are fixed."""

from __future__ import annotations

import types

import pytest

from grader.harness import grade
from grader.harness.plugin import GradingPlugin

REFERENCE = types.ModuleType("reference")


def draws(submission_hash: str, name: str, *, per_submission: bool = True) -> list[float]:
    plugin = GradingPlugin(None, REFERENCE, seed="01_tensors", submission_hash=submission_hash)
    return plugin.generator(name, per_submission=per_submission).random(4).tolist()


def test_same_submission_same_inputs() -> None:
    assert draws("aa" * 32, "test_hidden.py::test_a") == draws("aa" * 32, "test_hidden.py::test_a")


def test_other_submission_or_test_other_inputs() -> None:
    first = draws("aa" * 32, "test_hidden.py::test_a")
    assert draws("ab" * 32, "test_hidden.py::test_a") != first
    assert draws("aa" * 32, "test_hidden.py::test_b") != first


def test_fixed_inputs_ignore_the_submission() -> None:
    fixed = [draws(h, "t::test_train", per_submission=False) for h in ("aa" * 32, "ab" * 32)]
    assert fixed[0] == fixed[1]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")
def test_fixed_inputs_need_a_reason() -> None:
    with pytest.raises(ValueError, match="why"):
        grade(points=1, exercise="e", hint="h", fixed_inputs=" ")
    mark = grade(points=1, exercise="e", hint="h", fixed_inputs="trains a network")
    assert mark.kwargs["fixed_inputs"] == "trains a network"
