"""``grader similarity``: the example classes plus near-copies planted here
with nbformat (renamed variables, reordered functions, changed comments,
cells copied to other cell numbers). Every planted pair must be flagged with
its cells, and no pair of independently written notebooks.

The example classes of 02-04 are mostly one notebook with one deliberate
mistake per student (to exercise each verdict), so those students are
near-copies of each other by construction, and so are a few pairs of 01.
A pair counts as independent here when a plain line diff (difflib, not
copydetect) finds under 40% of their own code lines in common; flagging a
pair with more is right, not required.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import itertools
import keyword
import shutil
import subprocess
import tokenize
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader import assignments, canonical, similarity
from grader.outdir import OutDir
from grader.policy.gradebook import Gradebook
from grader.reports import writer
from grader.submissions import notebook_cells
from tests.helpers import REPO, SERIOUS, browse, html_problems, require, run_grader, showcase_result

CLASSES = ("01_tensors", "02_layers", "03_training", "04_save_load")
_KEEP = {*keyword.kwlist, *dir(builtins), "self", "tf", "np", "keras", "layers", "math", "os"}


def _code(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells a student wrote in (public check cells are the course's)."""
    return [c for c in notebook.cells if _is_code(c)]


def _is_code(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and "check" not in cell.metadata.get("tags", [])


def renamed(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Every variable and parameter renamed (function names kept: the grader calls them)."""
    copy = nbformat.from_dict(notebook)
    defined = set()
    for cell in _code(copy):
        tokens = list(tokenize.generate_tokens(io.StringIO(cell.source).readline))
        defined |= {b.string for a, b in itertools.pairwise(tokens) if a.string == "def"}
    for cell in _code(copy):
        lines = cell.source.splitlines(keepends=True)
        tokens = list(tokenize.generate_tokens(io.StringIO(cell.source).readline))
        names = [
            t
            for prev, t in itertools.pairwise([None, *tokens])
            if t is not None
            and t.type == tokenize.NAME
            and t.string not in _KEEP | defined
            and (prev is None or prev.string != ".")
        ]
        for t in reversed(names):  # right to left keeps earlier columns valid
            row, col = t.start[0] - 1, t.start[1]
            line = lines[row]
            lines[row] = line[:col] + "my_" + t.string + line[col + len(t.string) :]
        cell.source = "".join(lines)
    return copy


def reordered(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The code of the function cells in reverse order (the imports cell stays first)."""
    copy = nbformat.from_dict(notebook)
    cells = _code(copy)[1:]
    sources = [c.source for c in cells]
    for cell, source in zip(cells, reversed(sources), strict=True):
        cell.source = source
    return copy


def recommented(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Every comment reworded, and one added per cell."""
    copy = nbformat.from_dict(notebook)
    for cell in _code(copy):
        lines = [
            line.split("#")[0].rstrip() + "  # my own reasoning here" if "#" in line else line
            for line in cell.source.splitlines()
        ]
        cell.source = "# worked this out myself\n" + "\n".join(lines)
    return copy


def padded(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A statement that does nothing after every statement, at its indentation
    (``_r1 = 1``, and now and then ``pass``, a string or an ``if False:`` block):
    the copy runs and grades as its source does."""
    copy = nbformat.from_dict(notebook)
    count = itertools.count(1)
    for cell in _code(copy):
        lines = cell.source.splitlines()
        ends = sorted(
            {
                (s.end_lineno or s.lineno, s.col_offset)
                for s in ast.walk(ast.parse(cell.source))
                if isinstance(s, ast.stmt)
            },
            key=lambda e: (-e[0], e[1]),  # from the end; after one line, the outer block first
        )
        for end, column in ends:
            n = next(count)
            pad = [f"_r{n} = {n}", "pass", f"'pad {n}'", f"if False:\n{' ' * (column + 4)}_x = {n}"]
            lines.insert(end, " " * column + pad[n % len(pad)])
        cell.source = "\n".join(lines)
        ast.parse(cell.source)
    return copy


def cells_moved(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, dict[int, int]]:
    """The code cells put at other cell numbers (a markdown cell before each,
    the order reversed) with a scratch cell of one's own; returns the new
    notebook and old cell number -> new cell number for the function cells."""
    code = [(n, c) for n, c in enumerate(notebook.cells, start=1) if _is_code(c)]
    imports, functions = code[0], code[1:]
    new = nbformat.v4.new_notebook()
    new.cells.append(nbformat.v4.new_markdown_cell("# My notebook"))
    new.cells.append(nbformat.v4.new_code_cell(imports[1].source))
    moved: dict[int, int] = {}
    for number, cell in reversed(functions):
        new.cells.append(nbformat.v4.new_markdown_cell("Next part."))
        new.cells.append(nbformat.v4.new_code_cell(cell.source))
        moved[number] = len(new.cells)
    new.cells.append(nbformat.v4.new_code_cell("print('scratch work')"))
    return new, moved


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _write(notebook: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(notebook)
    nbformat.write(notebook, path)


PLANTS = {
    # class: (source student, planted student, how)
    "01_tensors": [
        ("ada", "ada_renamed", renamed),
        ("cleo", "cleo_reordered", reordered),
        ("eli", "eli_recommented", recommented),
        ("ivy", "ivy_all_three", lambda nb: recommented(reordered(renamed(nb)))),
        ("ben", "ben_padded", padded),
        ("dev", "dev_all_four", lambda nb: padded(recommented(reordered(renamed(nb))))),
    ],
    "02_layers": [("ada", "ada_all_three", lambda nb: recommented(reordered(renamed(nb))))],
    "03_training": [("ana", "ana_all_three", lambda nb: recommented(reordered(renamed(nb))))],
    "04_save_load": [("ana", "ana_all_three", lambda nb: recommented(reordered(renamed(nb))))],
}
MOVED = ("01_tensors", "kim", "kim_moved")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each example class copied, with its planted near-copies added."""
    base = tmp_path_factory.mktemp("planted")
    folders: dict[str, Path] = {}
    for name in CLASSES:
        folder = base / name
        shutil.copytree(REPO / "examples" / "submissions" / name, folder)
        for source, plant, how in PLANTS[name]:
            _write(how(_read(folder / f"{source}.ipynb")), folder / f"{plant}.ipynb")
        folders[name] = folder
    klass, source, plant = MOVED
    moved, _ = cells_moved(_read(folders[klass] / f"{source}.ipynb"))
    _write(moved, folders[klass] / f"{plant}.ipynb")
    return folders


@pytest.fixture(scope="module")
def checks(planted: dict[str, Path]) -> dict[str, similarity.Check]:
    return {
        name: similarity.check(assignments.load(REPO, name), paths=[folder])
        for name, folder in planted.items()
    }


def _lines(path: Path) -> list[str]:
    """A notebook's code lines, stripped, minus those of the released notebook."""
    released = _read(REPO / "assignments" / path.parent.name / f"{path.parent.name}.ipynb")
    stub = {line.strip() for c in _code(released) for line in c.source.splitlines()}
    cells, _ = notebook_cells(path.read_text(), path.name)
    lines = (line.strip() for c in cells for line in c.source.splitlines())
    return [line for line in lines if line and line not in stub]


SOURCES = {plant: source for plants in PLANTS.values() for source, plant, _ in plants}
SOURCES[MOVED[2]] = MOVED[1]


def shared_lines(folder: Path, a: str, b: str) -> float:
    """What a line diff (difflib, not copydetect) finds in common between two
    notebooks' own code lines; a planted copy counts as its source."""
    left = _lines(folder / f"{SOURCES.get(a, a)}.ipynb")
    right = _lines(folder / f"{SOURCES.get(b, b)}.ipynb")
    return difflib.SequenceMatcher(None, left, right, autojunk=False).ratio()


def independent(folder: Path, a: str, b: str) -> bool:
    """Whether two example notebooks were written apart: under 40% of their
    own lines in common. In 02-04, pairs built from one notebook share 45% to
    97% and the others at most 24%."""
    return shared_lines(folder, a, b) < 0.4


def _planted_pairs() -> set[tuple[str, str, str]]:
    pairs = {(k, *sorted((s, p))) for k, plants in PLANTS.items() for s, p, _ in plants}
    return pairs | {(MOVED[0], *sorted(MOVED[1:]))}


def _key(name: str, pair: similarity.Pair) -> tuple[str, str, str]:
    first, second = sorted((pair.left.student, pair.right.student))
    return name, first, second


def test_every_planted_pair_is_flagged(checks: dict[str, similarity.Check]) -> None:
    flagged = {_key(name, p) for name, check in checks.items() for p in check.flagged}
    assert _planted_pairs() <= flagged


def test_no_independent_pair_is_flagged(
    checks: dict[str, similarity.Check], planted: dict[str, Path]
) -> None:
    planted_pairs = _planted_pairs()
    wrong = [
        (_key(name, p), round(p.similarity, 3))
        for name, check in checks.items()
        for p in check.flagged
        if _key(name, p) not in planted_pairs
        and independent(planted[name], p.left.student, p.right.student)
    ]
    assert wrong == []
    # not vacuous: many independent pairs share some code, which a lower bar would flag
    near = [
        p
        for name, check in checks.items()
        for p in check.pairs
        if p.similarity > 0.3 and independent(planted[name], p.left.student, p.right.student)
    ]
    assert len(near) >= 5


def test_threshold_separates_measured_scores(
    checks: dict[str, similarity.Check], planted: dict[str, Path]
) -> None:
    """The default threshold lies between the most similar independent pair
    and the least similar planted one (the numbers in docs/instructors/similarity.md)."""
    planted_pairs = _planted_pairs()
    scores = {_key(name, p): p.similarity for name, check in checks.items() for p in check.pairs}
    planted_min = min(scores[k] for k in planted_pairs)
    honest_max = max(
        s
        for k, s in scores.items()
        if k not in planted_pairs and independent(planted[k[0]], k[1], k[2])
    )
    print(f"independent max {honest_max:.3f}, planted min {planted_min:.3f}")
    assert honest_max < similarity.DEFAULT_THRESHOLD <= planted_min


def test_matches_are_mapped_to_the_cells_they_came_from(
    checks: dict[str, similarity.Check], planted: dict[str, Path]
) -> None:
    """kim's function cells moved to other numbers (and order) in kim_moved:
    each side names its own cells, and the marked text is that cell's code."""
    klass, source, plant = MOVED
    _, moved = cells_moved(_read(planted[klass] / f"{source}.ipynb"))
    pair = next(p for p in checks[klass].flagged if _key(klass, p) == (klass, source, plant))
    side = {pair.left.student: pair.left, pair.right.student: pair.right}
    assert set(side[source].cell_numbers) == set(moved)  # the imports cell (2) is the course's
    assert set(side[plant].cell_numbers) == set(moved.values())
    original = {
        n: c.source for n, c in enumerate(_read(planted[klass] / f"{source}.ipynb").cells, 1)
    }
    for cell in side[source].cells:
        assert "".join(s.text for s in cell.spans) == original[cell.number]
        assert any(s.matched and s.text.strip() for s in cell.spans)


def test_padding_is_flagged_and_left_out(checks: dict[str, similarity.Check]) -> None:
    """The padded plants are found (test_every_planted_pair_is_flagged) and
    flagged as padded, with their counts; no example notebook is."""
    padded = {p.student: p for p in checks["01_tensors"].padded}
    assert sorted(padded) == ["ben_padded", "dev_all_four"]
    assert padded["ben_padded"].dropped >= 0.4 * padded["ben_padded"].statements  # pass aside
    assert [p for name, check in checks.items() if name != "01_tensors" for p in check.padded] == []
    summary = similarity.summary_lines(checks["01_tensors"])
    assert any(line.startswith("padded: ben_padded: ") for line in summary)


def test_padded_copy_on_the_staff_page(tmp_path: Path) -> None:
    """A copy padded after every statement is flagged with its source, and the
    page names it as padded; an empty folder named like its source is
    ignored, not a second submission of that id (round 3, item 13)."""
    examples = REPO / "examples" / "submissions" / "01_tensors"
    for name in ("ben", "cleo"):
        shutil.copy(examples / f"{name}.ipynb", tmp_path / f"{name}.ipynb")
    _write(padded(_read(examples / "ben.ipynb")), tmp_path / "ben_padded.ipynb")
    (tmp_path / "ben").mkdir()
    check = similarity.check(assignments.load(REPO, "01_tensors"), paths=[tmp_path])
    assert [(p.left.student, p.right.student) for p in check.flagged] == [("ben", "ben_padded")]
    assert [p.student for p in check.padded] == ["ben_padded"]
    assert check.refused == ()
    lines = similarity.summary_lines(check)
    assert "ignored: ben/ (a folder with no notebook, beside the submission" in "\n".join(lines)
    page = writer.write_similarity(OutDir(tmp_path / "out"), check).read_text()
    flag = check.padded[0]
    assert f"ben_padded: {flag.dropped} of {flag.statements} statements do nothing" in page


def _skeleton_student(bodies: list[str]) -> nbformat.NotebookNode:
    """The released 01 notebook, its first exercises done as ``bodies``, the rest stubs."""
    notebook = _read(REPO / "assignments" / "01_tensors" / "01_tensors.ipynb")
    for cell, body in zip(_code(notebook)[1:], bodies, strict=False):
        cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()", body)
    return notebook


def test_honest_students_sharing_the_skeleton_are_apart(tmp_path: Path) -> None:
    """Two students who wrote their own bodies in the released cells: the
    signatures, docstrings and imports they share are the course's, never
    marked as shared, and the pair is far below the threshold."""
    one = [
        "return tf.fill(shape, tf.constant(value, dtype=dtype))",
        "return tf.reshape(flat, [-1, height, width, 1])",
    ]
    two = [
        "return tf.cast(tf.fill(shape, value), dtype)",
        "return tf.expand_dims(tf.reshape(flat, (-1, height, width)), 3)",
    ]
    _write(_skeleton_student(one), tmp_path / "one.ipynb")
    _write(_skeleton_student(two), tmp_path / "two.ipynb")
    check = similarity.check(assignments.load(REPO, "01_tensors"), paths=[tmp_path])
    released = {
        line.strip()
        for cell in _code(_read(REPO / "assignments" / "01_tensors" / "01_tensors.ipynb"))
        for line in cell.source.splitlines()
    }
    marked = {
        line.strip()
        for pair in check.pairs
        for side in (pair.left, pair.right)
        for cell in side.cells
        for span in cell.spans
        if span.matched
        for line in span.text.splitlines()
    }
    assert marked & released == set()
    assert all(p.similarity < similarity.DEFAULT_THRESHOLD / 2 for p in check.pairs)


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("x = " + "-" * 5_000 + "1", id="deep-unary"),
        pytest.param("x = " + "[" * 3000 + "]" * 3000, id="deep-brackets"),
        pytest.param("y = " + " + ".join(["1"] * 2_000), id="long-chain"),
        pytest.param("def broken(:\n    return", id="syntax-error"),
        pytest.param("z = 1\n" * 17_000, id="huge"),
        pytest.param("x = 1\x0c\u2028\r\ny = 2\r", id="odd-line-ends"),
    ],
)
def test_hostile_cells_are_compared_as_written(tmp_path: Path, hostile: str) -> None:
    """A cell that cannot be parsed within bounds is kept as written: no
    traceback, and the copy around it is still found."""
    notebook = _read(REPO / "examples" / "submissions" / "01_tensors" / "ada.ipynb")
    notebook.cells.append(nbformat.v4.new_code_cell(hostile))
    _write(notebook, tmp_path / "ada.ipynb")
    _write(reordered(notebook), tmp_path / "ada_copy.ipynb")
    check = similarity.check(assignments.load(REPO, "01_tensors"), paths=[tmp_path])
    assert [(p.left.student, p.right.student) for p in check.flagged] == [("ada", "ada_copy")]


def test_canonical_form_leaves_out_what_does_nothing() -> None:
    """Padding in every form the canonical form drops, a statement made too
    deep to write back among them: the same lines as the honest cell, each
    pointing at its own source line."""
    honest = "def f(x, y):\n    z = x + y\n    return z * 2\n"
    padded = (
        "def f(x, y):\n    _r1 = 1\n    z = (x+y)  ;  _r2 = 'pad'\n    pass\n"
        "    if False:\n        _x = 3\n    _d = " + "-" * 60 + "1\n    'just a string'\n"
        "    return z*2\n_r4 = len([_r1])\n"
    )
    [plain], [form] = canonical.canonical([honest]), canonical.canonical([padded])
    assert [line.text for line in form.lines] == [line.text for line in plain.lines]
    assert [(line.first, line.last) for line in form.lines] == [(1, 1), (3, 3), (9, 9)]
    assert (form.statements, form.dropped) == (10, 7)
    assert (plain.statements, plain.dropped) == (3, 0)
    chain = "".join(f"    _r{n} = _r{n - 1} + 1\n" for n in range(1, 40))  # each read once
    [linked] = canonical.canonical([honest.replace("    z", "    _r0 = 1\n" + chain + "    z")])
    assert [line.text for line in linked.lines] == [line.text for line in plain.lines]
    [shown] = canonical.canonical(["model = 3\nmodel"])  # Jupyter shows the last value
    assert ([line.text for line in shown.lines], shown.dropped) == (["model = 3", "model"], 0)


def test_the_released_notebook_is_boilerplate(tmp_path: Path) -> None:
    """Two untouched stubs share only the released code: no pair at all."""
    released = REPO / "assignments" / "01_tensors" / "01_tensors.ipynb"
    for name in ("stub1", "stub2"):
        shutil.copy(released, tmp_path / f"{name}.ipynb")
    check = similarity.check(assignments.load(REPO, "01_tensors"), paths=[tmp_path])
    assert check.compared == ("stub1", "stub2")
    assert check.pairs == ()


class _Page(HTMLParser):
    """The elements, scripts and marked text of a page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.marked = ""
        self.csp = ""
        self._open: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        if tag == "meta" and dict(attrs).get("http-equiv") == "Content-Security-Policy":
            self.csp = dict(attrs).get("content") or ""
        self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if "mark" in self._open:
            self.marked += data


EVIL = "</code></pre><script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def staff_run(
    planted: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``grader similarity`` by the real command on a small class holding a
    copied cell with hostile text, after a class page was written to OUT."""
    base = tmp_path_factory.mktemp("staff")
    folder = base / "class"
    folder.mkdir()
    hostile = _read(planted["01_tensors"] / "ada.ipynb")
    hostile.cells[3].source += f'\n    note = "{EVIL}"  # a long line of text\n    return note\n'
    _write(hostile, folder / "ada.ipynb")
    _write(renamed(hostile), folder / "ada_copy.ipynb")
    shutil.copy(planted["01_tensors"] / "ben.ipynb", folder / "ben.ipynb")
    (folder / "broken.ipynb").write_text('{"cells": [')
    out = base / "out"
    results = [showcase_result(name) for name in ("ada", "ada_copy", "ben")]
    info = assignments.load(REPO, "01_tensors").info
    with Gradebook(OutDir(out).gradebook) as book:
        for result in results:
            book.record(result)
            writer.write_student(OutDir(out), info, result)
    writer.write_class(OutDir(out), info, results)
    assert "similarity" not in (out / "01_tensors" / "index.html").read_text()
    return out, run_grader("similarity", "01_tensors", str(folder), "--out", str(out))


def test_cli_prints_pairs_and_writes_a_staff_page(
    staff_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """Hostile code in a copied cell shows on the page as text; the page has no script."""
    out, done = staff_run
    assert done.returncode == 0, done.stderr
    flagged = [line for line in done.stdout.splitlines() if " ~ " in line]
    assert len(flagged) == 1
    assert flagged[0].startswith("ada ~ ada_copy: ")
    functions = "cells 4, 7, 10, 13, 16, 19, 22, 26, 29, 32, 35"  # all of ada's function cells
    assert f"ada: 100% of their code, {functions};" in flagged[0]
    assert f"ada_copy: 91% of their code, {functions})" in flagged[0]  # its imports renamed
    page = (out / "staff" / "01_tensors-similarity.html").read_text()
    parsed = _Page(page)
    assert "script" not in parsed.tags
    assert not [a for a in parsed.attributes if a.startswith("on")]
    assert EVIL in parsed.marked  # escaped, and marked as matched
    assert "script-src 'none'" in parsed.csp
    assert "not compared: broken: broken.ipynb is not valid notebook JSON" in done.stdout
    assert "broken: broken.ipynb is not valid notebook JSON" in page
    assert page.count('<section aria-labelledby="pair-') == 1


def test_class_summary_links_the_page(
    staff_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """A class graded before gets the link when the similarity page is written."""
    out, _ = staff_run
    index = (out / "01_tensors" / "index.html").read_text()
    assert 'href="../staff/01_tensors-similarity.html"' in index
    assert (out / "staff" / "01_tensors-similarity.html").is_file()


@pytest.mark.slow
def test_page_in_a_browser_and_the_html_checker(
    staff_run: tuple[Path, subprocess.CompletedProcess[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The page and the class page linking it, through the browser tests'
    Chromium driver (axe-core, links, requests, phone width) and the Nu checker."""
    require("chromium", "node", "playwright", "java", "vnu")
    out, _ = staff_run
    pages = [out / "staff" / "01_tensors-similarity.html", out / "01_tensors" / "index.html"]
    work = tmp_path_factory.mktemp("similarity-browser")
    checked: list[dict[str, Any]] = [
        {
            "path": str(pages[0]),
            "texts": [EVIL],
            "shots": [{"name": "similarity.png", "width": 1280}],
        },
        {"path": str(pages[1])},
    ]
    found = browse(checked, noscript=pages[0], work=work, timeout=300)["pages"]
    for key in ("console", "pageErrors", "dialogs", "requests", "broken", "missingText"):
        assert [p[key] for p in found] == [[], []], key
    assert [p["scripts"] for p in found] == [0, 1]
    assert [p["onAttributes"] for p in found] == [0, 0]
    assert [p["overflow"] for p in found] == [0, 0]
    assert [v["id"] for p in found for v in p["violations"] if v["impact"] in SERIOUS] == []
    problems = html_problems(pages[:1], timeout=300)
    assert problems == []


def test_threshold_option_lowers_the_bar(planted: dict[str, Path]) -> None:
    check = similarity.check(
        assignments.load(REPO, "01_tensors"), paths=[planted["01_tensors"]], threshold=0.3
    )
    default = similarity.check(assignments.load(REPO, "01_tensors"), paths=[planted["01_tensors"]])
    assert len(check.flagged) > len(default.flagged)


def test_scores_do_not_depend_on_the_process(tmp_path: Path) -> None:
    """copydetect hashes with Python's salted ``hash``: every k-gram is kept
    (no winnowing), so two processes with different salts print the same."""
    runs = [
        run_grader(
            "similarity",
            "01_tensors",
            "--threshold",
            "0.3",
            "--out",
            str(tmp_path),
            env={"PYTHONHASHSEED": seed},
        )
        for seed in ("1", "2")
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.count(" ~ ") > 10
    assert runs[0].stdout == runs[1].stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["99_nothing"], "unknown assignment '99_nothing'"),
        (["01_tensors", "{empty}"], "at least two readable submissions; found 0"),
        (["01_tensors", "{missing}"], "no such file or folder"),
        (["01_tensors", "--threshold", "1.5"], "--threshold must be above 0 and at most 1"),
    ],
)
def test_bad_input_gets_a_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    paths = {"{empty}": str(tmp_path / "empty"), "{missing}": str(tmp_path / "missing")}
    argv = [paths.get(a, a) for a in args]
    done = run_grader("similarity", *argv, "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_page_links_the_class_summary_only_when_there_is_one(
    staff_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out, _ = staff_run
    linked = (out / "staff" / "01_tensors-similarity.html").read_text()
    assert 'href="../01_tensors/index.html"' in linked
    done = run_grader("similarity", "01_tensors", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    alone = (tmp_path / "staff" / "01_tensors-similarity.html").read_text()
    assert "index.html" not in alone
