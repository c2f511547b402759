"""CSV that is safe to open in a spreadsheet, shared by ``grades.csv`` and
every export format.

A cell a spreadsheet would run as a formula (one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is quoted with a leading ``'``;
control characters are escaped, so a ``\\r`` or ``\\n`` in a name cannot
start a row. Numbers are left as they are, so ``-2.5`` stays a number.
"""

from __future__ import annotations

import csv
from typing import Protocol

from grader.texts import one_line


class _Writable(Protocol):
    def write(self, text: str, /) -> int: ...


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, buffer: _Writable) -> None:
        self._writer = csv.writer(buffer, lineterminator="\n")

    def writerow(self, row: list[str]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])


def safe_cell(text: str) -> str:
    """One CSV cell, neutralised (see the module's docstring)."""
    text = one_line(text)  # a leading tab or carriage return becomes the text \x09, \x0d
    if _is_number(text):
        return text
    return "'" + text if text.lstrip(" ")[:1] in ("=", "+", "-", "@") else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
