"""A student's check from a notebook cell::

    import grader.student as tg
    tg.check()           # every exercise
    tg.check("center")   # one

What is checked is the notebook as saved on disk, run from the top in a
sandbox by ``grader check`` itself (a subprocess of this kernel's Python,
with ``--json``): the same engine, and so the same verdicts, as grading.
The live kernel's functions are not called: they may hold state no run from
the top would have (a cell run out of order, a variable since deleted), the
classic "works in my kernel" mistake, which this check exists to catch.

The notebook file is found from what the front end tells the kernel: VS Code
sets ``__vsc_ipynb_file__`` in the user namespace; JupyterLab and Jupyter
Notebook 7 (jupyter_server 2) start the kernel with ``JPY_SESSION_NAME`` set
to the notebook's path. Failing both, the notebook that ``check.toml`` in
the kernel's folder names (Jupyter starts a kernel in its notebook's folder),
or ``check(notebook=...)``. Colab keeps the notebook in Google Drive, not on
the kernel's disk, so there is nothing saved to check there: the student is
told to download it and run ``grader check`` on it.

Nothing here runs inside a sandbox: a saved notebook whose cell calls
``tg.check()`` is run by the check (and by grading), and the call must not
start another check there.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Score", "check"]

SANDBOX_WORKER = "grader.sandbox.guest.worker"
"""imported by every sandbox before it runs a student's cells, never in a kernel"""
COLAB = (
    "Colab keeps this notebook in Google Drive, not on the disk of the machine running it, "
    "so there is no saved file here to check. Download it (File > Download > Download .ipynb), "
    "put it in your copy of the assignment's folder, and run `grader check NOTEBOOK.ipynb` "
    'there; or mount your Drive and name the file: tg.check(notebook="/content/drive/'
    "MyDrive/.../NOTEBOOK.ipynb\"), with the assignment's folder beside it."
)
UNKNOWN = (
    "cannot tell which notebook this kernel is running: JupyterLab, Jupyter Notebook 7 and "
    "VS Code say so, and this one did not. Name it: "
    'tg.check(notebook="NN_name.ipynb"), or run `grader check NN_name.ipynb` in a terminal.'
)


class NotebookNotFound(Exception):
    """No saved notebook to check; the message says what to do."""


@dataclass(frozen=True)
class Score:
    """What ``check`` returns, so a notebook can assert on it."""

    passed: int
    """checks passed (of the exercise asked for, or of all)"""
    total: int
    notebook: Path | None
    """the file checked (None when none was found)"""
    problem: str = ""
    """why nothing was checked ("" when the checks ran)"""

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total


def _shell() -> Any:
    """The running IPython shell, or None outside IPython."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get() if get else None


def find_notebook(named: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The saved notebook this kernel runs, and a note when it was guessed ("")."""
    if named is not None:
        path = Path(named).expanduser().absolute()
        if not path.is_file():
            raise NotebookNotFound(f"{named}: no such notebook file (from {Path.cwd()})")
        return path, ""
    shell = _shell()
    vscode = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    if isinstance(vscode, str) and Path(vscode).is_file():
        return Path(vscode), ""
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb"):
        # an absolute path (jupyter_server 2), or one relative to the server's root
        for path in (Path(session), Path.cwd() / Path(session).name):
            if path.is_absolute() and path.is_file():
                return path, ""
    if "google.colab" in sys.modules:
        raise NotebookNotFound(COLAB)
    released = _released_notebook(Path.cwd())
    if released is not None:
        return released, (
            f"This front end did not say which notebook it runs; checking {released.name}, "
            "the assignment's notebook in this folder. Another? "
            'tg.check(notebook="its_name.ipynb")'
        )
    raise NotebookNotFound(UNKNOWN)


def _released_notebook(folder: Path) -> Path | None:
    """The notebook ``folder/check.toml`` names, if both are there."""
    from grader.check import public
    from grader.errors import ConfigError

    if not (folder / public.CHECK_CONFIG).is_file():
        return None
    try:
        path = folder / public.load(folder).notebook
    except ConfigError:
        return None
    return path if path.is_file() else None


def check(exercise: str | None = None, *, notebook: str | os.PathLike[str] | None = None) -> Score:
    """Run the public checks on the saved notebook (of one ``exercise``, or
    all), show the table in the notebook, and return the count."""
    if SANDBOX_WORKER in sys.modules:
        return Score(0, 0, None, "not checked inside a sandbox")
    try:
        path, guessed = find_notebook(notebook)
    except NotebookNotFound as err:
        _show_problem(str(err))
        return Score(0, 0, None, str(err))
    with tempfile.TemporaryDirectory(prefix="tfgrade-check-") as folder:
        done = subprocess.run(
            [sys.executable, "-m", "grader", "check", str(path), "--report", folder, "--json"],
            cwd=path.parent,
            capture_output=True,
            text=True,
            check=False,
        )
        data_path = Path(folder) / f"{path.stem}.check.json"
        data = json.loads(data_path.read_text()) if data_path.is_file() else None
    if data is None:  # refused before any check ran: its message says why
        problem = (done.stdout + done.stderr).strip() or f"grader check exited {done.returncode}"
        _show_problem(problem)
        return Score(0, 0, path, problem)
    return _show_result(data, path, exercise, (guessed,) if guessed else ())


def _show_result(
    data: dict[str, Any], path: Path, exercise: str | None, notes: tuple[str, ...]
) -> Score:
    """Show one ``grader check --json`` result, of ``exercise`` or all."""
    from grader import reports
    from grader.check.checker import exercise_rows
    from grader.results import SubmissionResult, Verdict

    result = SubmissionResult.from_json(data["result"])
    rows = exercise_rows(result)
    if exercise is not None:
        rows = [r for r in rows if r.exercise == exercise]
        if not rows:
            known = ", ".join(r.exercise for r in exercise_rows(result))
            problem = f"{result.assignment} has no checked exercise {exercise!r}: {known}"
            _show_problem(problem)
            return Score(0, 0, path, problem)
    saved = dt.datetime.fromtimestamp(path.stat().st_mtime).strftime("%H:%M:%S")
    html = reports.check_cell(
        result,
        notebook=path.name,
        saved_at=saved,
        rows=rows,
        notes=[*notes, *data["notes"]],
        advice=data["advice"],
        only=exercise,
    )
    tests = [t for t in result.tests if exercise is None or t.exercise == exercise]
    _show_html(html, f"{sum(r.passed for r in rows)}/{sum(r.total for r in rows)} checks passed")
    return Score(sum(t.verdict is Verdict.PASSED for t in tests), len(tests), path)


def _show_problem(text: str) -> None:
    import html

    _show_html(f'<p class="tfgrade-check"><strong>tg.check:</strong> {html.escape(text)}</p>', text)


def _show_html(html: str, text: str) -> None:
    """HTML in a notebook; the plain text anywhere else."""
    if _shell() is None:
        print(text)
        return
    from IPython.display import HTML, display

    display(HTML(html))
