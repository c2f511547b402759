"""``grader release`` turns solution regions into stubs, and assignments/ is
kept in step with solutions/."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

import grader
from grader import assignments
from grader.errors import ConfigError
from grader.release import release, release_files, stub_source, write_student_zip
from tests.helpers import REPO


def test_region_becomes_a_stub_at_its_indentation() -> None:
    source = (
        "def f(x):\n    '''Doc.'''\n"
        "    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION"
    )
    assert stub_source(source, "cell 1") == (
        "def f(x):\n    '''Doc.'''\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )


def test_decorator_only_region_is_removed() -> None:
    source = (
        "### BEGIN SOLUTION\n@tf.function(input_signature=[])\n### END SOLUTION\n"
        "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    )
    assert stub_source(source, "cell 1") == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_unbalanced_markers_name_the_cell(source: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"nb.ipynb, cell 4.*{problem}"):
        stub_source(source, "nb.ipynb, cell 4")


@pytest.mark.parametrize("name", assignments.names(REPO))
def test_assignments_folder_is_up_to_date(name: str) -> None:
    """Fails when someone edits solutions/ and forgets `make release`."""
    for path, text in release_files(assignments.load(REPO, name)).items():
        assert path.is_file(), f"{path} is missing: run `make release`"
        assert path.read_text() == text, f"{path} is out of date: run `make release`"


@pytest.mark.parametrize("name", assignments.names(REPO))
def test_released_notebook_holds_no_solution(name: str) -> None:
    assignment = assignments.load(REPO, name)
    released = (assignment.release_dir / assignment.notebook).read_text()
    assert "BEGIN SOLUTION" not in released
    assert "raise NotImplementedError()" in released


def test_release_writes_into_a_course(tmp_path: Path) -> None:
    shutil.copytree(REPO / "tests" / "files" / "course" / "solutions", tmp_path / "solutions")
    assignment = assignments.load(tmp_path, "00_smoke")
    written = release(assignment)
    assert sorted(p.name for p in written) == ["00_smoke.ipynb", "README.md"]
    assert release(assignment) == []


def test_student_zip_holds_the_released_folder_and_the_course_data(tmp_path: Path) -> None:
    """NN_name-student.zip: what assignments/NN_name/ holds, under NN_name/, with
    the course's data; the same release gives the same bytes."""
    assignment = assignments.load(REPO, "05_cnn")
    first = write_student_zip(assignment, tmp_path / "a")
    again = write_student_zip(assignment, tmp_path / "b")
    assert first.name == "05_cnn-student.zip"
    assert first.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        readme = archive.read("05_cnn/README.md").decode()
        data = archive.read("05_cnn/data/cifar-10-batches-py-target_archive")
    released = sorted(p.name for p in assignment.release_dir.iterdir())
    assert sorted(names) == sorted(
        [f"05_cnn/{n}" for n in released] + ["05_cnn/data/cifar-10-batches-py-target_archive"]
    )
    assert data == (REPO / "data" / "05_cnn" / "cifar-10-batches-py-target_archive").read_bytes()
    assert f"`pip install tfgrade=={grader.__version__}`" in readme
    assert "`import grader.student as tg; tg.check()`" in readme
    assert "`grader check 05_cnn.ipynb`" in readme
    assert "~/.keras/datasets/" in readme
