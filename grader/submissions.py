"""Finding and reading submissions: notebooks through nbformat and .py files,
turned into numbered cells of code the sandbox can run.

Every problem with a file becomes a ``SubmissionProblem`` with a message
for the student, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.results import Notice

MAX_FILE_BYTES = 256 * 2**20
LARGE_FILE_BYTES = 20 * 2**20
"""above this a notebook is graded with a note to clear its outputs"""
SUFFIXES = (".ipynb", ".py")
CHECK_TAG = "check"
"""cells with this tag are the students' public checks; grading skips them"""

# Cell magics whose body is ordinary Python; every other cell magic drops the cell.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_LINE_MAGIC = re.compile(r"^\s*([%!]|[\w.,\[\] ]+=\s*[%!])|^\s*[\w.]+\?\??\s*$")


class SubmissionProblem(Exception):
    """A submission that cannot be graded as it is; the message is for the student."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.notice = Notice(kind=kind, message=message)


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

    @property
    def is_notebook(self) -> bool:
        return self.path.suffix == ".ipynb"


@dataclass(frozen=True)
class Found:
    """A submission found on disk, not read yet."""

    student: str
    path: Path


def discover(paths: list[Path], notebook_name: str) -> list[Found]:
    """Submissions under ``paths``: files, one student's folders, or class folders.

    A folder is one student's when it holds the assignment's notebook by
    name (``alice/01_tensors.ipynb``); otherwise each notebook or .py file in
    it is a student (``alice.ipynb``) and each subfolder is a student's folder.
    """
    found: list[Found] = []
    for path in paths:
        if path.is_symlink() or path.is_file():
            found.append(Found(path.stem, path))
        elif (path / notebook_name).exists() or (path / notebook_name).is_symlink():
            found.append(Found(path.name, path))
        elif path.is_dir():
            for entry in sorted(path.iterdir()):
                if entry.name.startswith(".") or entry.name.startswith("_"):
                    continue
                if entry.is_symlink():  # listed so that it is refused with a message
                    found.append(
                        Found(entry.stem if entry.suffix in SUFFIXES else entry.name, entry)
                    )
                elif entry.is_dir():
                    found.append(Found(entry.name, entry))
                elif entry.suffix in SUFFIXES:
                    found.append(Found(entry.stem, entry))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def file_of(found: Found, notebook_name: str) -> Path:
    """The one file to grade for a found submission."""
    if not found.path.is_dir() or found.path.is_symlink():
        return found.path
    named = found.path / notebook_name
    if named.exists() or named.is_symlink():
        return named
    candidates = sorted(
        p for p in found.path.iterdir() if p.suffix in SUFFIXES and not p.name.startswith(".")
    )
    if len(candidates) != 1:
        listed = ", ".join(p.name for p in candidates) or "none"
        raise SubmissionProblem(
            "unreadable",
            f"The folder {found.path.name}/ should hold one notebook named {notebook_name} "
            f"(found: {listed}).",
        )
    return candidates[0]


def read_submission(found: Found, notebook_name: str) -> Submission:
    """Read and check one submission's file; raise SubmissionProblem if unusable."""
    path = file_of(found, notebook_name)
    if path.is_symlink():
        raise SubmissionProblem(
            "unreadable", f"{path.name} is a symbolic link; submit the notebook file itself."
        )
    if path.suffix not in SUFFIXES:
        raise SubmissionProblem(
            "unreadable", f"{path.name} is not a notebook (.ipynb) or Python (.py) file."
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SubmissionProblem(
            "unreadable",
            f"{path.name} is {size / 2**20:.0f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit: "
            "clear the outputs (Edit > Clear All Outputs) and submit again.",
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise SubmissionProblem("unreadable", f"{path.name} is empty.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SubmissionProblem(
            "unreadable",
            f"{path.name} is not UTF-8 text (byte {err.start} cannot be read); "
            "save it again from Jupyter.",
        ) from None
    if path.suffix == ".py":
        return Submission(found.student, path, (Cell(1, text),), digest, ())
    cells, notices = notebook_cells(text, path.name)
    if size > LARGE_FILE_BYTES:
        large = Notice(
            kind="large",
            message=f"{path.name} is {size / 2**20:.0f} MiB, mostly cell outputs, which the grader "
            "ignores; clear them (Edit > Clear All Outputs) before submitting.",
        )
        notices = (large, *notices)
    return Submission(found.student, path, cells, digest, notices)


def notebook_cells(text: str, name: str) -> tuple[tuple[Cell, ...], tuple[Notice, ...]]:
    """The code cells of a notebook, magics removed, each with its cell number."""
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise SubmissionProblem(
            "unreadable",
            f"{name} is not valid notebook JSON ({err}). The file may have been cut off or "
            "edited by hand; download it again from Jupyter.",
        ) from None
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise SubmissionProblem("unreadable", f"{name} is JSON but not a Jupyter notebook.")
    major = raw.get("nbformat")
    if not isinstance(major, int) or major < 3:
        raise SubmissionProblem(
            "unreadable",
            f"{name} uses notebook format {major!r}, which is too old to read; "
            "open and save it in a current Jupyter.",
        )
    if major > nbformat.current_nbformat:
        raise SubmissionProblem(
            "unreadable",
            f"{name} uses notebook format {major}, newer than the {nbformat.current_nbformat}.x "
            "this grader reads; save it from Jupyter as format 4.",
        )
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds for malformed notebooks
        raise SubmissionProblem(
            "unreadable", f"{name} is not a well-formed notebook: {err}"
        ) from None
    cells: list[Cell] = []
    notices: list[Notice] = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        if CHECK_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        if not isinstance(source, str):
            source = "".join(source)
        source, dropped = strip_magics(source)
        if dropped:
            notices.append(
                Notice(
                    kind="magic",
                    message=f"IPython {dropped} not run by the grader: {_first_magic(cell)}",
                    cell=number,
                )
            )
        if source.strip():
            cells.append(Cell(number, source))
    return tuple(cells), tuple(notices)


def _first_magic(cell: dict[str, object]) -> str:
    source = cell.get("source", "")
    lines = source.splitlines() if isinstance(source, str) else []
    for line in lines:
        if line.lstrip().startswith("%%") or _LINE_MAGIC.match(line):
            return line.strip()[:80]
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
