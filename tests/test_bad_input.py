"""Bad input gets a specific message for that student and never stops the batch."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.helpers import COURSE, read_results, run_grader, smoke_args

GOOD = COURSE / "submissions" / "good.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    base = tmp_path_factory.mktemp("bad")
    submissions = base / "class"
    submissions.mkdir()
    shutil.copy(GOOD, submissions / "alice.ipynb")
    (submissions / "alice").mkdir()
    shutil.copy(GOOD, submissions / "alice" / "00_smoke.ipynb")
    big = nbformat.read(GOOD, as_version=4)
    big.cells[1].outputs = [new_output("stream", name="stdout", text="x" * (100 * 2**20))]
    nbformat.write(big, submissions / "big.ipynb")
    signature = new_notebook()
    signature.cells = [
        new_code_cell(
            "import tensorflow as tf\ndef relu():\n    return 0\n"
            "def make_var(n, dtype):\n    return tf.Variable([0.0] * n)"
        )
    ]
    nbformat.write(signature, submissions / "signature.ipynb")
    shutil.copy(GOOD, submissions / "bystander.ipynb")
    done = run_grader(*smoke_args(submissions, base / "out"))
    assert done.returncode == 0, done.stderr
    return read_results(base / "out" / "00_smoke")


def test_duplicate_ids_are_refused_with_both_files_named(graded: dict[str, Any]) -> None:
    result = graded["alice"]
    assert result["score"] == 0
    [notice] = result["notices"]
    assert notice["kind"] == "duplicate"
    assert "'alice' (alice, alice.ipynb)" in notice["message"]


def test_huge_outputs_are_graded_with_a_note(graded: dict[str, Any]) -> None:
    result = graded["big"]
    assert result["score"] == 5
    assert result["notices"][0]["kind"] == "large"
    assert "Clear All Outputs" in result["notices"][0]["message"]


def test_wrong_signature_is_an_error_with_the_reason(graded: dict[str, Any]) -> None:
    tests = graded["signature"]["tests"]
    assert [t["verdict"] for t in tests] == ["error"] * 4
    assert "relu() takes 0 positional arguments but 1 was given" in tests[0]["message"]
    assert "missing 1 required positional argument: 'dtype'" in tests[2]["message"]


def test_the_rest_of_the_batch_is_graded(graded: dict[str, Any]) -> None:
    assert graded["bystander"]["score"] == 5


def test_a_long_temporary_folder_still_grades(tmp_path: Path) -> None:
    """A TA whose ``TMPDIR`` is deep (a long home folder): the zygote's
    socket path is longer than a unix socket address may be (107 bytes), and
    grading used to stop with "the sandbox zygote failed to start"."""
    temporary = tmp_path / ("t" * 60) / ("u" * 60)
    temporary.mkdir(parents=True)
    good = COURSE / "submissions" / "good.ipynb"
    done = run_grader(*smoke_args(good, tmp_path / "out"), env={"TMPDIR": str(temporary)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "Points 5/5"
