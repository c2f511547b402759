"""The round-2 hostile class, shared by ``bench/hostile_batch.py`` and
``tests/test_hostile_batch.py``: thirty honest students beside every hostile
entry of round 2 (names, notebook JSON, special files, forged frames)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "tests" / "files" / "course"
"""the smoke course (assignment 00_smoke) the hostile class is graded as"""
ROUND2 = REPO / "tests" / "files" / "hostile" / "round2"
GOOD = COURSE / "submissions" / "good.ipynb"
HONEST = 30


def build_honest(folder: Path) -> None:
    """Thirty copies of an honest submission that earns full marks."""
    folder.mkdir()
    for i in range(HONEST):
        shutil.copy(GOOD, folder / f"honest{i:02d}.ipynb")


def _notebook_text(cell: str) -> str:
    return f'{{"cells": [{cell}], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}'


def build_class(folder: Path) -> None:
    """Thirty honest students, then every hostile entry of round 2."""
    build_honest(folder)
    for notebook in ROUND2.glob("*.ipynb"):
        shutil.copy(notebook, folder)
    # names: the assignment's own notebook name, class file names, bytes that
    # are not UTF-8, a newline that forges a console line, a formula
    shutil.copy(GOOD, folder / "00_smoke.ipynb")
    shutil.copy(GOOD, folder / "index.html.ipynb")
    shutil.copy(GOOD, folder / "grades.csv.ipynb")
    shutil.copy(GOOD, os.fsdecode(bytes(folder) + b"/b\xffd.ipynb"))
    shutil.copy(GOOD, folder / "evil\nhonest00      5 of 5  100.0%.ipynb")
    shutil.copy(GOOD, folder / "=HYPERLINK(1);36;36\rpwn.ipynb")
    # contents nbformat accepts but with the wrong types, or nested too deep
    (folder / "numbers.ipynb").write_text(
        _notebook_text('{"cell_type": "code", "source": 42, "metadata": {"tags": 7}}')
    )
    deep = '{"a": ' * 50_000 + "1" + "}" * 50_000
    (folder / "deep.ipynb").write_text(
        _notebook_text(f'{{"cell_type": "code", "source": "x = 1", "metadata": {deep}}}')
    )
    # special files named as submissions, and a notebook beside a .py of the same name
    os.mkfifo(folder / "fifo.ipynb")
    (folder / "dir.ipynb").mkdir()
    shutil.copy(GOOD, folder / "twin.ipynb")
    (folder / "twin.py").write_text("raise SystemExit('not this one')\n")
