"""Finding submissions on disk and reading notebooks into numbered cells."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.errors import SubmissionProblem, UsageError
from grader.submissions import Found, discover, notebook_cells, read_submission, strip_magics

NAME = "01_tensors.ipynb"


def write_notebook(path: Path, *sources: str) -> Path:
    notebook = new_notebook()
    notebook.cells = [new_markdown_cell("# Title"), *(new_code_cell(s) for s in sources)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def test_class_folder_of_files_and_student_folders(tmp_path: Path) -> None:
    write_notebook(tmp_path / "alice.ipynb", "x = 1")
    (tmp_path / "bob.py").write_text("x = 1\n")
    write_notebook(tmp_path / "carol" / NAME, "x = 1")
    (tmp_path / "notes.txt").write_text("not a submission")
    found = discover([tmp_path], NAME).found
    assert [(f.student, f.path.name) for f in found] == [
        ("alice", "alice.ipynb"),
        ("bob", "bob.py"),
        ("carol", "carol"),
    ]


def test_one_students_folder(tmp_path: Path) -> None:
    write_notebook(tmp_path / "dave" / NAME, "x = 1")
    assert discover([tmp_path / "dave"], NAME).found == [Found("dave", tmp_path / "dave")]


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        discover([tmp_path / "nope"], NAME)


def test_cells_keep_their_notebook_numbers(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "a.ipynb", "import tensorflow as tf", "def f():\n    return 1")
    submission = read_submission(Found("a", path), NAME)
    assert [(c.number, c.source) for c in submission.cells] == [
        (2, "import tensorflow as tf"),
        (3, "def f():\n    return 1"),
    ]
    assert len(submission.hash) == 64


def test_check_cells_are_skipped() -> None:
    notebook = new_notebook()
    notebook.cells = [
        new_code_cell("x = 1"),
        new_code_cell("assert x", metadata={"tags": ["check"]}),
    ]
    cells, _ = notebook_cells(nbformat.writes(notebook), NAME)
    assert [c.number for c in cells] == [1]


@pytest.mark.parametrize(
    ("source", "expected", "dropped"),
    [
        ("%matplotlib inline\nx = 1", "\nx = 1", True),
        ("!pip install foo\nx = 1", "\nx = 1", True),
        ("files = !ls\nx = 1", "\nx = 1", True),
        ("tf.reshape?", "", True),
        ("for i in range(2):\n    %time f()", "for i in range(2):\n    pass", True),
        ("%%time\nx = 1", "\nx = 1", True),
        ("%%bash\nrm -rf /", "", True),
        ("x = 5 % 2\ny = x != 1", "x = 5 % 2\ny = x != 1", False),
    ],
    ids=[
        "line magic",
        "shell",
        "shell assignment",
        "help",
        "indented",
        "time cell",
        "bash cell",
        "no magic",
    ],
)
def test_magics_are_blanked_keeping_line_numbers(source: str, expected: str, dropped: bool) -> None:
    new, what = strip_magics(source)
    assert new == expected
    assert bool(what) == dropped


def test_old_notebook_format_is_upgraded(tmp_path: Path) -> None:
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": []}
                ]
            }
        ],
    }
    cells, _ = notebook_cells(json.dumps(v3), NAME)
    assert [c.source for c in cells] == ["x = 1"]


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "is empty"),
        (b'{"cells": [', "not valid notebook JSON"),
        (b"[1, 2]", "not a Jupyter notebook"),
        (b'{"cells": [], "nbformat": 2}', "too old"),
        (b'{"cells": [], "nbformat": 9, "nbformat_minor": 0, "metadata": {}}', "format 9"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
    ids=["empty", "truncated", "not a notebook", "too old", "future", "binary"],
)
def test_bad_files_get_a_specific_message(tmp_path: Path, content: bytes, phrase: str) -> None:
    path = tmp_path / "a.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionProblem, match=phrase):
        read_submission(Found("a", path), NAME)


def test_symlinked_submission_is_refused(tmp_path: Path) -> None:
    target = write_notebook(tmp_path / "secret" / "solution.ipynb", "x = 1")
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "mallory.ipynb").symlink_to(target)
    [found] = discover([tmp_path / "class"], NAME).found
    with pytest.raises(SubmissionProblem, match="symbolic link"):
        read_submission(found, NAME)


def test_folder_with_several_notebooks_is_refused(tmp_path: Path) -> None:
    write_notebook(tmp_path / "erin" / "a.ipynb", "x = 1")
    write_notebook(tmp_path / "erin" / "b.ipynb", "x = 1")
    with pytest.raises(SubmissionProblem, match="should hold one notebook"):
        read_submission(Found("erin", tmp_path / "erin"), NAME)


def test_a_stray_file_named_like_the_notebook_does_not_swallow_the_class(tmp_path: Path) -> None:
    write_notebook(tmp_path / "alice.ipynb", "x = 1")
    write_notebook(tmp_path / NAME, "x = 1")
    write_notebook(tmp_path / "bob" / NAME, "x = 1")
    found = discover([tmp_path], NAME).found
    assert [f.student for f in found] == ["01_tensors", "alice", "bob"]


def test_ignored_entries_are_listed_not_dropped_silently(tmp_path: Path) -> None:
    write_notebook(tmp_path / "alice.ipynb", "x = 1")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / ".DS_Store").write_text("")
    discovery = discover([tmp_path], NAME)
    assert discovery.ignored == [".DS_Store (hidden)", "notes.txt (not a .ipynb or .py file)"]


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_special_files_named_as_submissions_are_refused_without_blocking(
    tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "mallory.ipynb"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        write_notebook(path / NAME, "x = 1")
    [found] = discover([tmp_path], NAME).found
    assert found.student == "mallory"
    phrase = "not a regular file" if kind == "fifo" else "is a folder, not a notebook"
    with pytest.raises(SubmissionProblem, match=phrase):
        read_submission(found, NAME)


def _notebook_text(cell: str) -> str:
    return f'{{"cells": [{cell}], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}'


DEEP = '{"a": ' * 5000 + "1" + "}" * 5000


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        (_notebook_text('{"cell_type": "code", "source": 42, "metadata": {}}'), "malformed"),
        (_notebook_text('{"cell_type": "code", "source": ["x", 3], "metadata": {}}'), "refused"),
        (_notebook_text('{"cell_type": "code", "source": "x = 1", "metadata": {"tags": 7}}'), ""),
        (_notebook_text('{"cell_type": "code", "source": "x = 1", "metadata": []}'), "refused"),
        (_notebook_text(f'{{"cell_type": "code", "source": "x", "metadata": {DEEP}}}'), "refused"),
        ('{"cells": "no", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "refused"),
        ('{"worksheets": [{"cells": 5}], "metadata": {}, "nbformat": 3}', "refused"),
    ],
    ids=["source number", "source mixed", "tags number", "metadata list", "deep", "cells", "v3"],
)
def test_ill_typed_notebook_fields_become_messages(tmp_path: Path, text: str, outcome: str) -> None:
    path = tmp_path / "a.ipynb"
    path.write_text(text)
    if outcome == "refused":
        with pytest.raises(SubmissionProblem, match=r"^a\.ipynb "):
            read_submission(Found("a", path), NAME)
        return
    submission = read_submission(Found("a", path), NAME)
    assert [n.kind for n in submission.notices] == ([outcome] if outcome else [])
    if outcome:
        assert "not text" in submission.notices[0].message
    else:
        assert [c.source for c in submission.cells] == ["x = 1"]


def test_a_python_file_beside_a_notebook_of_the_same_name(tmp_path: Path) -> None:
    write_notebook(tmp_path / "alice.ipynb", "x = 1")
    (tmp_path / "alice.py").write_text("x = 2\n")
    found = discover([tmp_path], NAME).found
    assert [(f.student, f.path.name) for f in found] == [
        ("alice", "alice.ipynb"),
        ("alice", "alice.py"),
    ]


@pytest.mark.parametrize(
    "decoy",
    [
        pytest.param({}, id="empty"),
        pytest.param({"notes.txt": "hi", ".ipynb_checkpoints/x.ipynb": "{}"}, id="no-notebook"),
        pytest.param({".hidden.ipynb": "{}", "_draft.py": "x = 1"}, id="hidden-only"),
    ],
)
def test_a_folder_without_a_notebook_takes_no_id(tmp_path: Path, decoy: dict[str, str]) -> None:
    """``alice/`` with nothing to grade beside ``alice.ipynb`` (round 3, item
    13): alice's notebook is her submission, the folder is listed as ignored."""
    write_notebook(tmp_path / "alice.ipynb", "x = 1")
    (tmp_path / "alice").mkdir()
    for name, text in decoy.items():
        (tmp_path / "alice" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "alice" / name).write_text(text)
    discovery = discover([tmp_path], NAME)
    assert discovery.found == [Found("alice", tmp_path / "alice.ipynb")]
    assert discovery.ignored == [
        "alice/ (a folder with no notebook, beside the submission with the same id 'alice')"
    ]


def test_two_real_submissions_with_one_id_are_both_kept(tmp_path: Path) -> None:
    """A folder holding a notebook still clashes (the batch refuses both), and
    an empty folder alone is still its student's (who is told it is empty)."""
    write_notebook(tmp_path / "class" / "alice.ipynb", "x = 1")
    write_notebook(tmp_path / "class" / "alice" / "mine.ipynb", "x = 2")
    (tmp_path / "class" / "bob").mkdir()
    found = discover([tmp_path / "class"], NAME).found
    assert [(f.student, f.path.name) for f in found] == [
        ("alice", "alice"),
        ("alice", "alice.ipynb"),
        ("bob", "bob"),
    ]
    with pytest.raises(SubmissionProblem, match="should hold one notebook"):
        read_submission(found[2], NAME)
