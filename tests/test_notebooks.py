"""``grader.notebooks``: which names a notebook defines and whether it is
another assignment's, on ordinary and hostile cells; and ``grader check``
and the Gradescope autograder judging the same notebooks the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from grader import assignments, notebooks, release
from grader.check import public
from grader.check.checker import NotCheckable, prepare
from grader.gradescope.autograder import wrong_assignment
from grader.notebooks import Definitions, Elsewhere
from tests.helpers import REPO

NESTED_DEF = "".join(" " * i + "if x:\n" for i in range(90)) + " " * 90 + "def deep(): pass\n"
"""a definition 90 blocks down (Python allows 100): found without recursion"""

DEFINED = {
    "def": (["def f(x):\n    return x"], ("f",), ("f",)),
    "async def": (["async def f():\n    pass"], ("f",), ("f",)),
    "class": (["class Model:\n    pass"], ("Model",), ("Model",)),
    # an exercise bound by assignment is defined (the grader calls it by
    # name), but only def and class are a notebook's functions
    "lambda": (["relu = lambda x: x"], (), ("relu",)),
    "imports": (
        ["import numpy.linalg\nfrom m import f as g, h\nfrom n import *"],
        (),
        ("numpy", "g", "h"),
    ),
    "annotated": (["x: int\ny: int = 1"], (), ("y",)),
    "unpacked": (["a, (b, *c) = 1, (2, 3)\nd[0] = e.f = 1"], (), ("a", "b", "c")),
    "nested function": (["def outer():\n    def inner(): pass"], ("outer",), ("outer",)),
    "blocks": (
        ["try:\n    def f(): pass\nexcept ImportError:\n    g = 1\nelse:\n    class C: pass"],
        ("f", "C"),
        ("f", "g", "C"),
    ),
    "deeply nested block": ([NESTED_DEF], ("deep",), ("deep",)),
    "def in a string": (['notes = """\ndef f(x):\n    return x\n"""'], (), ("notes",)),
    "once each, in order": (
        ["def b(): pass", "def a(): pass\ndef b(): pass"],
        ("b", "a"),
        ("b", "a"),
    ),
}


@pytest.mark.parametrize(("sources", "functions", "names"), DEFINED.values(), ids=DEFINED)
def test_what_a_notebook_defines(
    sources: list[str], functions: tuple[str, ...], names: tuple[str, ...]
) -> None:
    assert notebooks.definitions(sources) == Definitions(functions, names, ())


UNREAD = {
    "syntax error": "def f(:\n    pass",
    "not python": "SELECT name FROM students WHERE def = 1",
    "huge": "def f(): pass\n" + "x = 1\n" * (notebooks.MAX_CELL_CHARS // 6),
    "deep brackets": "x = " + "(" * 1_000 + ")" * 1_000,
    "deep expression": "def f(): pass\nx = " + "-" * 100_000 + "1",
    "null byte": "def f(): pass\x00",
}


@pytest.mark.parametrize("source", UNREAD.values(), ids=UNREAD)
def test_a_cell_that_cannot_be_read_gives_no_names(source: str) -> None:
    found = notebooks.definitions(["def kept(): pass", source])
    assert found == Definitions(("kept",), ("kept",), (1,))


EXERCISES = ("relu", "sigmoid", "softmax", "tanh")
JUDGED = {
    "all of ours": (["def relu(): pass\ndef sigmoid(): pass\ndef softmax(): pass"], None),
    "half of ours": (["def relu(): pass\ndef sigmoid(): pass\ndef a(): pass\ndef b(): pass"], None),
    "ours by assignment": (["relu = sigmoid = lambda x: x\ndef a(): pass\ndef b(): pass"], None),
    "one of ours, one helper": (["def relu(): pass\ndef helper(): pass"], None),
    "one of ours, more of others": (
        ["def relu(): pass\ndef conv(): pass\ndef pool(): pass"],
        Elsewhere(("relu",), ("conv", "pool"), 4),
    ),
    "none of ours": (["def conv(): pass"], Elsewhere((), ("conv",), 4)),
    "no functions at all": (["print('hello')"], Elsewhere((), (), 4)),
    # its syntax error is what the student needs, not a refusal
    "a cell unread": (["def conv(): pass", "def relu(:"], None),
}


@pytest.mark.parametrize(("sources", "expected"), JUDGED.values(), ids=JUDGED)
def test_another_assignments_notebook(sources: list[str], expected: Elsewhere | None) -> None:
    assert notebooks.elsewhere(notebooks.definitions(sources), EXERCISES) == expected


def test_an_assignment_without_exercises_refuses_nothing() -> None:
    assert notebooks.elsewhere(notebooks.definitions(["print(1)"]), ()) is None


def test_the_message_names_what_the_notebook_defines() -> None:
    elsewhere = Elsewhere(("relu",), tuple(f"f{i}" for i in range(8)), 4)
    assert elsewhere.message("old.ipynb", "01_tensors") == (
        "old.ipynb defines 1 of the 4 functions of 01_tensors (relu), and f0, f1, f2, f3, f4, "
        "f5, ...: is it the notebook of another assignment?"
    )
    assert (
        Elsewhere((), (), 4)
        .message("a.ipynb", "01_tensors")
        .startswith("a.ipynb defines 0 of the 4 functions of 01_tensors (none): is it")
    )


def test_a_broken_cell_is_guessed_from_its_margin_lines_for_advice_only() -> None:
    source = "def relu(x:\n    return x\n  def indented(): pass\nclass Model(\nasync def go(): pass"
    assert notebooks.intended(source) == ["relu", "Model", "go"]
    assert notebooks.intended("def f(:\n" * notebooks.MAX_CELL_CHARS) == []


# -- the check and the autograder agree ---------------------------------------


def crafted(tmp_path: Path) -> list[Path]:
    """Notebooks near the rule's edges for 01_tensors."""
    cells = {
        "aliases": ["import tensorflow as tf\nrelu = tf.nn.relu\nsoftmax = tf.nn.softmax"],
        "helpers": ["def relu(x): pass\ndef conv(x): pass\ndef pool(x): pass"],
        "broken": ["def conv(x): pass", "def relu(x:\n    pass"],
        "scratch": ["print('nothing defined')"],
    }
    paths = []
    for name, sources in cells.items():
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        paths.append(tmp_path / f"{name}.ipynb")
        nbformat.write(notebook, paths[-1])
    return paths


def test_check_and_autograder_refuse_the_same_notebooks(tmp_path: Path) -> None:
    name = "01_tensors"
    assignment = assignments.load(REPO, name)
    folder = tmp_path / name
    shutil.copytree(REPO / "assignments" / name, folder)
    exercises = set(release.exercises(assignment))
    assert set(public.load(folder).exercises) == exercises  # both judge against the same
    candidates = [
        *sorted((REPO / "solutions").glob("*/*.ipynb")),
        *sorted((REPO / "examples" / "submissions").glob("*/*.ipynb")),
        *crafted(tmp_path),
    ]
    decisions = {}
    for number, source in enumerate(candidates):
        path = folder / f"student{number}.ipynb"  # named like no assignment
        shutil.copy(source, path)
        try:
            prepare(path, named=None, cwd=folder)
            checked = "accepted"
        except NotCheckable:
            checked = "refused"
        graded = "refused" if wrong_assignment(path, assignment, exercises) else "accepted"
        decisions[source.relative_to(REPO) if source.is_relative_to(REPO) else source.name] = (
            checked,
            graded,
        )
    assert {k: c for k, (c, g) in decisions.items() if c != g} == {}
    verdicts = {k: c for k, (c, _) in decisions.items()}
    assert verdicts[Path("solutions/01_tensors/01_tensors.ipynb")] == "accepted"
    assert verdicts[Path("solutions/02_layers/02_layers.ipynb")] == "refused"
    assert (verdicts["aliases.ipynb"], verdicts["helpers.ipynb"]) == ("accepted", "refused")
    assert (verdicts["broken.ipynb"], verdicts["scratch.ipynb"]) == ("accepted", "refused")
