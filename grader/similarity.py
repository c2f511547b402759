"""Pairs of submissions that share code, for staff to read (``grader similarity``).

Each cell is first put in a canonical form (``grader.canonical``): written
back from its syntax tree, with statements that do nothing dropped, so a
copy padded with ``_r1 = 1`` after every line is still a copy, and a
notebook full of such statements is flagged as padded. Lines the released
notebook already holds (imports, signatures, docstrings) are removed, so
only code the students wrote counts, and none of the course's is marked as
shared. The comparison is copydetect's (k-gram fingerprints, the method of
MOSS, here with every k-gram kept): its tokenizer (Pygments) replaces every
name with one letter and drops comments and whitespace, so renaming
variables or rewording comments changes nothing, and cells are
fingerprinted in an order of their own, so moving them changes nothing
either.

Each submission's code cells come from the grader's own reader
(``grader.submissions``); every matched region is mapped back through the
canonical lines to the student's own lines and cells, so staff see "cells
4 and 7" as in Jupyter. Nothing is run: this is static text. Nothing is
written here either: ``grader.reports.writer`` writes the page.
"""

from __future__ import annotations

import collections
import io
import itertools
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import copydetect
import copydetect.utils
import nbformat

from grader import canonical
from grader.assignments import Assignment
from grader.errors import SubmissionProblem, UsageError
from grader.students import shown
from grader.submissions import Cell, Found, discover, notebook_cells, read_submission

_NAME = re.compile(r"[^\W\d]\w*")
_HEADER = re.compile(r"(?:async\s+)?(?:def|class)\s+\w+")
DEFAULT_THRESHOLD = 0.75
"""a pair is flagged when this share of either student's own code is found
in the other's; measured on the example classes with planted copies
(tests/test_similarity.py): independent pairs at most 0.48, planted at least 0.95"""
NOISE = 50
"""characters of tokenized code (names as one letter, no spaces) a match
must span: shorter runs (``V.V(V,V=-1)``) are common to any two TF notebooks"""
WINDOW = 1
"""copydetect's winnowing window: 1 keeps every k-gram. Winnowing keeps the
smallest hash of each window, and copydetect hashes with Python's ``hash``,
which is salted per process, so with a larger window the same class scored
a point or two differently on each run; classes are small enough to keep all."""
MIN_CELL_MATCH = 10
"""matched characters (spaces aside) that make a cell count as matched"""
PADDING_MIN = 5
PADDING_SHARE = 0.1
"""a submission is flagged as padded when at least ``PADDING_MIN`` of its
statements, and this share of them, do nothing (the example classes: at most
1 such statement per notebook)"""


@dataclass(frozen=True)
class Span:
    """Part of one cell's source, matched in the other submission or not."""

    text: str
    matched: bool


@dataclass(frozen=True)
class CellView:
    number: int
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Side:
    """One student of a pair."""

    student: str
    share: float
    """the part of this student's own code (boilerplate excluded) found in the other's"""
    cells: tuple[CellView, ...]
    """the cells holding matched code, in notebook order"""

    @property
    def cell_numbers(self) -> tuple[int, ...]:
        return tuple(c.number for c in self.cells)


@dataclass(frozen=True)
class Pair:
    left: Side
    right: Side

    @property
    def similarity(self) -> float:
        """The larger share: one student who copied a few cells into a long
        notebook is caught by the share of the short one."""
        return max(self.left.share, self.right.share)


@dataclass(frozen=True)
class Padded:
    """A submission unusually full of statements that do nothing: a way to
    hide a copy from fingerprints, flagged whether or not a pair was found."""

    student: str
    dropped: int
    """statements without effect (``_r1 = 1``, ``if False: ...``), left out of the comparison"""
    statements: int
    """statements in the submission, docstrings and ``pass`` aside"""


@dataclass(frozen=True)
class Check:
    """What one ``grader similarity`` run found."""

    assignment: Assignment
    threshold: float
    compared: tuple[str, ...]
    """students whose code was compared"""
    pairs: tuple[Pair, ...]
    """every pair sharing any code, most similar first"""
    refused: tuple[tuple[str, str], ...]
    """(student, why) for submissions that could not be read"""
    padded: tuple[Padded, ...]
    """submissions padded with statements that do nothing"""
    ignored: tuple[str, ...]
    """entries that are not submissions (``grader.submissions.Discovery``)"""

    @property
    def flagged(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.similarity >= self.threshold)


@dataclass(frozen=True)
class _Code:
    """One submission's code as copydetect sees it, and where each cell starts."""

    student: str
    cells: tuple[Cell, ...]
    forms: tuple[canonical.Cell, ...]
    """each cell's canonical form, whose texts joined make ``text``"""
    text: str
    starts: tuple[int, ...]
    fingerprint: copydetect.CodeFingerprint


def check(
    assignment: Assignment, *, paths: list[Path] | None = None, threshold: float = DEFAULT_THRESHOLD
) -> Check:
    """Compare every pair of submissions under ``paths`` (default: the example class)."""
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold must be above 0 and at most 1, got {threshold:g}")
    where = paths or [assignment.examples_dir]
    found = discover(where, assignment.notebook)
    boilerplate = _boilerplate(assignment)
    codes: list[_Code] = []
    refused: list[tuple[str, str]] = []
    for student, items in _by_student(found.found).items():
        if len(items) > 1:
            files = ", ".join(shown(i.path.name) for i in items)
            refused.append((student, f"several files have this student id ({files})"))
            continue
        try:
            cells = read_submission(items[0], assignment.notebook).cells
        except SubmissionProblem as problem:
            refused.append((student, problem.notice.message))
            continue
        codes.append(_fingerprint(student, cells, boilerplate))
    if len(codes) < 2:
        raise UsageError(
            f"similarity needs at least two readable submissions; found {len(codes)} in "
            + ", ".join(shown(str(p)) for p in where)
        )
    pairs = [p for a, b in itertools.combinations(codes, 2) if (p := _compare(a, b))]
    pairs.sort(key=lambda p: (-p.similarity, p.left.student, p.right.student))
    return Check(
        assignment=assignment,
        threshold=threshold,
        compared=tuple(c.student for c in codes),
        pairs=tuple(pairs),
        refused=tuple(refused),
        padded=tuple(flag for c in codes if (flag := _padded(c))),
        ignored=tuple(found.ignored),
    )


def summary_lines(check: Check) -> list[str]:
    """What the console shows: each flagged pair with its cells, then the counts."""
    lines = [
        f"{p.left.student} ~ {p.right.student}: {100 * p.similarity:.0f}% "
        f"({_side_words(p.left)}; {_side_words(p.right)})"
        for p in check.flagged
    ]
    lines += [
        f"padded: {p.student}: {p.dropped} of {p.statements} statements do nothing"
        for p in check.padded
    ]
    lines += [f"not compared: {student}: {why}" for student, why in check.refused]
    lines += [f"ignored: {entry}" for entry in check.ignored]
    lines.append(
        f"{check.assignment.name}: {len(check.flagged)} pair(s) of {len(check.compared)} "
        f"submissions share at least {100 * check.threshold:.0f}% of one student's code"
    )
    return lines


def _side_words(side: Side) -> str:
    cells = ", ".join(map(str, side.cell_numbers))
    return f"{side.student}: {100 * side.share:.0f}% of their code, cells {cells}"


def _padded(code: _Code) -> Padded | None:
    dropped = sum(form.dropped for form in code.forms)
    statements = sum(form.statements for form in code.forms)
    if dropped >= PADDING_MIN and dropped >= PADDING_SHARE * statements:
        return Padded(code.student, dropped, statements)
    return None


def _by_student(found: Iterable[Found]) -> dict[str, list[Found]]:
    groups: dict[str, list[Found]] = collections.defaultdict(list)
    for item in found:
        groups[item.student].append(item)
    # a notebook beside a .py of the same name is the one graded (see grader.batch)
    for student, items in groups.items():
        notebooks = [i for i in items if i.path.suffix == ".ipynb" and not i.path.is_dir()]
        if len(notebooks) == 1 and all(i.path.suffix == ".py" for i in items if i not in notebooks):
            groups[student] = notebooks
    return dict(groups)


@dataclass(frozen=True)
class _Boilerplate:
    """What the released notebook holds, to be set aside in every submission."""

    lines: frozenset[str]
    """its canonical lines as ``_released_key`` gives them: a cell's line
    with the same key is removed before fingerprinting"""
    hashes: list[int]
    """its fingerprints, for what lines alone miss (a check copied and edited)"""


def _boilerplate(assignment: Assignment) -> _Boilerplate:
    """The released notebook's lines and fingerprints: its cells as a
    submission's are read and ordered, and all its code cells in notebook
    order, public checks included (students copy those into their own cells
    to try things)."""
    released = assignment.release_dir / assignment.notebook
    if not released.is_file():
        raise UsageError(
            f"{released} is missing: run `grader release {assignment.name}` first "
            "(its cells are the code students did not write)"
        )
    text = released.read_text(encoding="utf-8")
    as_submitted, _ = notebook_cells(text, assignment.notebook)
    every = [c.source for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code"]
    nothing = _Boilerplate(frozenset(), [])
    hashes = set(_fingerprint("released", as_submitted, nothing).fingerprint.hashes)
    hashes |= _fingerprint("released", (Cell(1, "\n".join(every)),), nothing).fingerprint.hashes
    lines = {_released_key(line.text) for form in canonical.canonical(every) for line in form.lines}
    return _Boilerplate(frozenset(lines), sorted(hashes))


def _fingerprint(student: str, cells: tuple[Cell, ...], boilerplate: _Boilerplate) -> _Code:
    """Each cell's canonical form (``grader.canonical``), the released lines
    removed, joined in an order of their own (``_order``), not the
    notebook's, so moving cells around changes no fingerprint (cells are
    short, and a k-gram across two cells would otherwise tie them to their
    neighbours)."""
    full = canonical.canonical([c.source for c in cells])
    forms = [
        replace(
            form,
            lines=tuple(x for x in form.lines if _released_key(x.text) not in boilerplate.lines),
        )
        for form in full
    ]
    keys = {c.number: (*_order(form), c.number) for c, form in zip(cells, full, strict=True)}
    ordered = sorted(zip(cells, forms, strict=True), key=lambda p: keys[p[0].number])
    starts: list[int] = []
    text = ""
    for _, form in ordered:
        starts.append(len(text))
        text += form.text
    fingerprint = copydetect.CodeFingerprint(
        f"{student}.py",
        NOISE,
        WINDOW,
        boilerplate=boilerplate.hashes,
        fp=io.StringIO(text),
        language="python",
    )
    return _Code(
        student,
        tuple(c for c, _ in ordered),
        tuple(f for _, f in ordered),
        text,
        tuple(starts),
        fingerprint,
    )


def _order(form: canonical.Cell) -> tuple[str, str]:
    """Where a cell goes in the joined text: by the function or class it
    starts with (names the grader calls, which a copy keeps), then by its
    tokenized text; so two notebooks put the same exercises side by side."""
    header = _HEADER.match(form.lines[0].text.strip()) if form.lines else None
    return (header[0] if header else "", _tokenized(form.text))


def _released_key(line: str) -> str:
    """What a canonical line must share with a released one to be the
    course's: its text, or for a ``def`` or ``class`` line its name and the
    shape of the rest (every other name as one letter), so a copy with
    renamed parameters loses its signatures as its source does."""
    text = line.strip()
    if header := _HEADER.match(text):
        rest = text[header.end() :]
        return header[0] + "".join(
            _NAME.sub(lambda m: m[0] if keyword.iskeyword(m[0]) else "V", rest).split()
        )
    return text


def _tokenized(source: str) -> str:
    text: str = copydetect.utils.filter_code(source, "cell.py", "python")[0]
    return text


def _compare(a: _Code, b: _Code) -> Pair | None:
    if not a.fingerprint.hashes or not b.fingerprint.hashes:
        return None  # nothing written beyond the released notebook
    overlap, (share_a, share_b), (slices_a, slices_b) = copydetect.compare_files(
        a.fingerprint, b.fingerprint
    )
    if overlap == 0:
        return None
    return Pair(
        Side(a.student, min(float(share_a), 1.0), _cell_views(a, _regions(slices_a))),
        Side(b.student, min(float(share_b), 1.0), _cell_views(b, _regions(slices_b))),
    )


def _regions(slices: Any) -> list[tuple[int, int]]:
    """copydetect's 2×N array of slice starts and ends, as sorted pairs,
    overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in zip(*slices, strict=True)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _cell_views(code: _Code, regions: list[tuple[int, int]]) -> tuple[CellView, ...]:
    """The cells that matched regions (start, end offsets in ``code.text``)
    cover in earnest, their source lines split into matched and unmatched
    spans: a source line is matched when a canonical line made from it is.
    A cell a region only grazes (its k-gram began in the cell before) is
    left out. One pass over lines and regions, both in text order."""
    views: list[CellView] = []
    first = 0  # the first region not wholly before the current line
    for cell, form, start in zip(code.cells, code.forms, code.starts, strict=True):
        matched: set[int] = set()
        characters = 0
        for line in form.lines:
            end = start + len(line.text)
            while first < len(regions) and regions[first][1] <= start:
                first += 1
            parts: list[str] = []
            index = first
            while index < len(regions) and regions[index][0] < end:
                s, e = regions[index]
                parts.append(code.text[max(s, start) : min(e, end)])
                index += 1
            covered = "".join(parts)
            if covered.strip():
                matched.update(range(line.first, line.last + 1))
                characters += len("".join(covered.split()))
            start = end + 1
        if characters < MIN_CELL_MATCH:
            continue
        lines = canonical.source_lines(cell.source)
        spans = [
            Span("".join(text for _, text in group), hit)
            for hit, group in itertools.groupby(
                enumerate(lines, start=1), key=lambda p: p[0] in matched
            )
        ]
        views.append(CellView(cell.number, tuple(spans)))
    return tuple(sorted(views, key=lambda v: v.number))
