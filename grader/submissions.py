"""Finding and reading submissions: notebooks through nbformat and .py files,
turned into numbered cells of code the sandbox can run.

Every problem with a file becomes a ``SubmissionProblem`` with a message
for the student, never a traceback.
"""

from __future__ import annotations

import collections
import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat

from grader.errors import SubmissionProblem, UsageError
from grader.results import Notice, NoticeKind
from grader.students import shown, student_id

MAX_FILE_BYTES = 256 * 2**20
LARGE_FILE_BYTES = 20 * 2**20
"""above this a notebook is graded with a note to clear its outputs"""
SUFFIXES = (".ipynb", ".py")
CHECK_TAG = "check"
"""cells with this tag are the students' public checks; grading skips them"""

# Cell magics whose body is ordinary Python; every other cell magic drops the cell.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_LINE_MAGIC = re.compile(r"^\s*([%!]|[\w.,\[\] ]+=\s*[%!])|^\s*[\w.]+\?\??\s*$")


@dataclass(frozen=True)
class Cell:
    number: int
    """1-based position among all the notebook's cells (1 for a .py file)"""
    source: str


@dataclass(frozen=True)
class Submission:
    """One student's code, ready to send to a sandbox."""

    student: str
    path: Path
    cells: tuple[Cell, ...]
    hash: str
    notices: tuple[Notice, ...]

    def to_json(self) -> dict[str, Any]:
        """As data, for a grading process elsewhere (a Ray slot)."""
        return {
            "student": self.student,
            "path": str(self.path),
            "cells": [[cell.number, cell.source] for cell in self.cells],
            "hash": self.hash,
            "notices": [asdict(n) for n in self.notices],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Submission:
        return cls(
            student=str(data["student"]),
            path=Path(data["path"]),
            cells=tuple(Cell(int(number), str(source)) for number, source in data["cells"]),
            hash=str(data["hash"]),
            notices=tuple(Notice.from_json(n) for n in data["notices"]),
        )


@dataclass(frozen=True)
class Found:
    """A submission found on disk, not read yet."""

    student: str
    """its id (see ``grader.students``), safe as a path, key, cell and word"""
    path: Path


@dataclass(frozen=True)
class Discovery:
    """What a walk of the submission paths found."""

    found: list[Found]
    ignored: list[str]
    """entries that are not submissions, as shown to staff (hidden files,
    other file types), so that nothing is skipped without a word"""


def discover(paths: list[Path], notebook_name: str) -> Discovery:
    """Submissions under ``paths``: files, one student's folders, or class folders.

    A folder is one student's when it holds the assignment's notebook by
    name (``alice/01_tensors.ipynb``) and nothing else that looks like a
    submission; otherwise it is a class folder, where each notebook or .py
    file is a student (``alice.ipynb``) and each subfolder a student's
    folder. Nothing here reads a file's content: special files (FIFOs,
    devices) and links are listed, then refused by ``read_submission``.
    """
    found: list[Found] = []
    ignored: list[str] = []
    for path in paths:
        if not path.is_symlink() and not path.exists():
            raise UsageError(f"no such file or folder: {shown(str(path))}")
        name = path.resolve().name if path.name in ("", ".", "..") else path.name
        if path.is_symlink() or not path.is_dir():
            found.append(Found(student_id(_stem(name)), path))
        elif _is_student_folder(path, notebook_name):
            found.append(Found(student_id(name), path))
        else:
            _walk_class(path, found, ignored)
    return _without_empty_folders(found, ignored, notebook_name)


def _without_empty_folders(found: list[Found], ignored: list[str], notebook_name: str) -> Discovery:
    """A folder with no notebook or .py file in it (``alice/`` left empty
    beside ``alice.ipynb``) does not take its id from a submission of the
    same id: it is listed as ignored. Alone, it stays, so that its student
    is told the folder is empty."""
    kept: list[Found] = []
    ids = collections.Counter(item.student for item in found)
    empty = [i for i in found if ids[i.student] > 1 and not _holds_code(i.path, notebook_name)]
    others = collections.Counter(i.student for i in found if i not in empty)
    for item in found:
        if item in empty and others[item.student]:
            ignored.append(
                f"{shown(item.path.name)}/ (a folder with no notebook, beside the submission "
                f"with the same id {item.student!r})"
            )
        else:
            kept.append(item)
    return Discovery(kept, ignored)


def _holds_code(path: Path, notebook_name: str) -> bool:
    """Whether ``path`` is a file, or a folder holding something to grade
    (an unlistable folder counts: reading it will say why it failed)."""
    if path.is_symlink() or not path.is_dir() or _suffix(path.name):
        return True
    try:
        return any(e.name == notebook_name or _is_candidate(e) for e in _entries(path))
    except FileNotFoundError:
        return True


def _is_candidate(entry: Path) -> bool:
    """An entry of a student's folder that may be its submission."""
    return bool(_suffix(entry.name)) and not entry.name.startswith((".", "_"))


def _stem(name: str) -> str:
    return name[: -len(suffix)] if (suffix := _suffix(name)) else name


def _suffix(name: str) -> str:
    return next((s for s in SUFFIXES if name.endswith(s) and len(name) > len(s)), "")


def _entries(folder: Path) -> list[Path]:
    """A folder's entries, in a stable order, skipping none."""
    try:
        return sorted(folder.iterdir(), key=lambda p: os.fsencode(p.name))
    except OSError as err:
        raise FileNotFoundError(f"cannot list {shown(str(folder))}: {err.strerror}") from None


def _is_student_folder(folder: Path, notebook_name: str) -> bool:
    named = folder / notebook_name
    if not (named.exists() or named.is_symlink()):
        return False
    for entry in _entries(folder):
        if entry.name == notebook_name or entry.name.startswith((".", "_")):
            continue
        if _suffix(entry.name) == ".ipynb":
            return False  # another notebook beside it: a class folder with a stray file
        if entry.is_dir() and not entry.is_symlink() and (entry / notebook_name).exists():
            return False  # a subfolder holding the notebook: another student's
    return True


def _walk_class(folder: Path, found: list[Found], ignored: list[str]) -> None:
    for entry in _entries(folder):
        name = entry.name
        if name.startswith((".", "_")):
            ignored.append(f"{shown(name)} (hidden)")
        elif _suffix(name) or entry.is_symlink():
            found.append(Found(student_id(_stem(name)), entry))
        elif entry.is_dir():
            found.append(Found(student_id(name), entry))
        else:
            ignored.append(f"{shown(name)} (not a .ipynb or .py file)")


def file_of(found: Found, notebook_name: str) -> Path:
    """The one file to grade for a found submission."""
    path = found.path
    if path.is_symlink() or not path.is_dir() or _suffix(path.name):
        return path
    named = path / notebook_name
    if named.exists() or named.is_symlink():
        return named
    candidates = [p for p in _entries(path) if _is_candidate(p)]
    if len(candidates) != 1:
        listed = ", ".join(shown(p.name) for p in candidates) or "none"
        raise SubmissionProblem(
            NoticeKind.UNREADABLE,
            f"The folder {shown(path.name)}/ should hold one notebook named {notebook_name} "
            f"(found: {listed}).",
        )
    return candidates[0]


def read_submission(found: Found, notebook_name: str) -> Submission:
    """Read and check one submission's file; raise SubmissionProblem if unusable.

    The file is opened without following links and without blocking, and
    only a regular file is read, so a FIFO or a device cannot hang the batch."""
    path = file_of(found, notebook_name)
    name = shown(path.name)
    if path.is_symlink():
        raise SubmissionProblem(
            NoticeKind.UNREADABLE, f"{name} is a symbolic link; submit the notebook file itself."
        )
    if not _suffix(path.name):
        raise SubmissionProblem(
            NoticeKind.UNREADABLE, f"{name} is not a notebook (.ipynb) or Python (.py) file."
        )
    data = _read_regular(path, name)
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise SubmissionProblem(NoticeKind.UNREADABLE, f"{name} is empty.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SubmissionProblem(
            NoticeKind.UNREADABLE,
            f"{name} is not UTF-8 text (byte {err.start} cannot be read); "
            "save it again from Jupyter.",
        ) from None
    if _suffix(path.name) == ".py":
        return Submission(found.student, path, (Cell(1, text),), digest, ())
    cells, notices = notebook_cells(text, name)
    if len(data) > LARGE_FILE_BYTES:
        large = Notice(
            kind=NoticeKind.LARGE,
            message=f"{name} is {len(data) / 2**20:.0f} MiB, mostly cell outputs, which the "
            "grader ignores; clear them (Edit > Clear All Outputs) before submitting.",
        )
        notices = (large, *notices)
    return Submission(found.student, path, cells, digest, notices)


def _read_regular(path: Path, name: str) -> bytes:
    """The bytes of a regular file, at most ``MAX_FILE_BYTES``."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise SubmissionProblem(
                NoticeKind.UNREADABLE,
                f"{name} is a symbolic link; submit the notebook file itself.",
            ) from None
        raise SubmissionProblem(
            NoticeKind.UNREADABLE, f"{name} could not be read: {err.strerror}."
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SubmissionProblem(
                NoticeKind.UNREADABLE, f"{name} is a folder, not a notebook file."
            )
        if not stat.S_ISREG(mode):
            raise SubmissionProblem(
                NoticeKind.UNREADABLE, f"{name} is not a regular file (a pipe, socket or device)."
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise SubmissionProblem(
            NoticeKind.UNREADABLE, f"{name} could not be read: {err.strerror}."
        ) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionProblem(
            NoticeKind.UNREADABLE,
            f"{name} is over the {MAX_FILE_BYTES // 2**20} MiB limit: clear the outputs "
            "(Edit > Clear All Outputs) and submit again.",
        )
    return data


def notebook_cells(text: str, name: str) -> tuple[tuple[Cell, ...], tuple[Notice, ...]]:
    """The code cells of a notebook, magics removed, each with its cell number.

    Every field used is type-checked first: nbformat accepts notebooks whose
    fields have the wrong types (a number as ``source``), and those must
    become a message, not a ``TypeError``."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)
        raise SubmissionProblem(
            NoticeKind.UNREADABLE,
            f"{name} is not valid notebook JSON ({reason}). The file may have been cut off or "
            "edited by hand; download it again from Jupyter.",
        ) from None
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise SubmissionProblem(
            NoticeKind.UNREADABLE, f"{name} is JSON but not a Jupyter notebook."
        )
    major = raw.get("nbformat")
    if type(major) is not int or major < 3:
        raise SubmissionProblem(
            NoticeKind.UNREADABLE,
            f"{name} uses notebook format {shown(repr(major))[:40]}, which is too old to read; "
            "open and save it in a current Jupyter.",
        )
    if major > nbformat.current_nbformat:
        raise SubmissionProblem(
            NoticeKind.UNREADABLE,
            f"{name} uses notebook format {major}, newer than the {nbformat.current_nbformat}.x "
            "this grader reads; save it from Jupyter as format 4.",
        )
    try:
        notebook = nbformat.reads(text, as_version=4)
        raw_cells = notebook.get("cells", [])
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds, RecursionError too
        reason = "nested too deeply" if isinstance(err, RecursionError) else shown(str(err))[:300]
        raise SubmissionProblem(
            NoticeKind.UNREADABLE, f"{name} is not a well-formed notebook: {reason}"
        ) from None
    if not isinstance(raw_cells, list):
        raise SubmissionProblem(
            NoticeKind.UNREADABLE, f"{name} is not a well-formed notebook: no cell list."
        )
    cells: list[Cell] = []
    notices: list[Notice] = []
    for number, cell in enumerate(raw_cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source, problem = _cell_source(cell)
        if problem:
            notices.append(Notice(kind=NoticeKind.MALFORMED, message=problem, cell=number))
            continue
        if _is_check(cell):
            continue
        original = source
        source, dropped = strip_magics(source)
        if dropped:
            notices.append(
                Notice(
                    kind=NoticeKind.MAGIC,
                    message=f"IPython {dropped} not run by the grader: {_first_magic(original)}",
                    cell=number,
                )
            )
        if source.strip():
            cells.append(Cell(number, source))
    return tuple(cells), tuple(notices)


def _cell_source(cell: dict[str, object]) -> tuple[str, str]:
    """A code cell's source as text, or why it cannot be run."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source), ""
    if isinstance(source, str):
        return source, ""
    return "", (
        f"This cell was not run: its source is a {type(source).__name__}, not text. "
        "Open the notebook in Jupyter and save it again."
    )


def _is_check(cell: dict[str, object]) -> bool:
    """Whether a cell is tagged as a public check (ill-typed metadata: not one)."""
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return isinstance(tags, list) and CHECK_TAG in [t for t in tags if isinstance(t, str)]


def _first_magic(source: str) -> str:
    for line in source.splitlines():
        if line.lstrip().startswith("%%") or _LINE_MAGIC.match(line):
            return shown(line.strip()[:80])
    return ""


def strip_magics(source: str) -> tuple[str, str]:
    """Source with IPython magics and shell escapes blanked, keeping line numbers.

    Returns the new source and what was dropped ("" if nothing).
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic in _PYTHON_CELL_MAGICS:
            return "\n".join(["", *lines[1:]]), "cell magic (its body was run)"
        return "", "cell magic (the cell was skipped)"
    dropped = False
    for i, line in enumerate(lines):
        if _LINE_MAGIC.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = f"{indent}pass" if indent else ""
            dropped = True
    return "\n".join(lines), "magic or shell command (the line was skipped)" if dropped else ""
