"""One run of Gradescope's autograder: grade ``/autograder/submission/``
and write ``/autograder/results/results.json`` (``grader gradescope-run``,
which the exported ``run_autograder`` calls).

``TFGRADE_AUTOGRADER_ROOT`` relocates ``/autograder``, so a test (or an
instructor) can run the exported zip in a temporary tree. Grading goes
through the same batch as ``grader grade`` (sandbox, verdicts, isolation
recorded; without namespaces it still grades and says so). Whatever goes
wrong, the student gets a ``results.json`` with a message naming what to
fix and a score of 0, never a traceback; details for staff go to stdout,
which Gradescope shows to instructors only (``stdout_visibility: hidden``).
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader import assignments, gradescope, grading
from grader.assignments import Assignment
from grader.batch import REFUSAL_KINDS, grade_assignment
from grader.errors import GraderError
from grader.exports import atomic_write
from grader.results import Notice, SubmissionResult
from grader.students import shown, student_id
from grader.submissions import SUFFIXES, Found, SubmissionProblem, read_submission

MAX_ENTRIES = 10_000
"""entries of the submission folder looked at (a GitHub submission is a whole repository)"""

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Refusal:
    """A submission that cannot be graded as it is, and why (for the student)."""

    kind: str
    """missing, empty, several, none, wrong_assignment"""
    message: str


def run(course: Path, name: str, *, root: Path, echo: Echo = print) -> int:
    """Grade the submission under ``root`` and write its results.json; the exit status."""
    started = time.monotonic()
    results = root / "results" / "results.json"
    metadata = gradescope.read_metadata(root / gradescope.METADATA_NAME)
    if metadata.problem:
        echo(f"note: {metadata.problem}")
    echo(f"submitted at: {gradescope.iso(metadata.created_at) or 'unknown (no metadata)'}")
    try:
        assignment = assignments.load(course, name)
        result, message = _grade(assignment, root / "submission", echo)
    except GraderError as err:
        echo(f"the autograder could not grade: {err}")
        _write(results, _failure(started), echo)
        return 1
    except Exception:  # noqa: BLE001 - our bug: staff see it on stdout, the student a message
        echo(traceback.format_exc())
        _write(results, _failure(started), echo)
        return 1
    if message:
        echo(message)
    echo(f"score: {result.score:g}/{result.max_score:g}; isolation: {result.isolation or '-'}")
    document = gradescope.results_json(
        result, metadata=metadata, execution_time=time.monotonic() - started, message=message
    )
    _write(results, document, echo)
    return 0


def _grade(assignment: Assignment, folder: Path, echo: Echo) -> tuple[SubmissionResult, str]:
    """The result, and the message of a refusal ("" when it was graded)."""
    tests = grading.suite_tests(assignment)
    exercises = {t.exercise for t in tests}
    found = locate(folder, assignment.notebook)
    if isinstance(found, Path):
        refusal = wrong_assignment(found, assignment.notebook, exercises)
        if refusal is None:
            return _graded(assignment, found, echo)
    else:
        refusal = found
    notice = Notice(kind="unreadable", message=refusal.message)
    result = grading.ungradable(
        assignment,
        student="submission",
        submission_hash=f"refused:{refusal.kind}",
        suite_version=assignment.suite_version(),
        notice=notice,
        tests=tests,
    )
    return result, refusal.message


def _graded(assignment: Assignment, path: Path, echo: Echo) -> tuple[SubmissionResult, str]:
    with tempfile.TemporaryDirectory(prefix="tfgrade-gradescope-") as out:
        summary = grade_assignment(
            assignment, paths=[path], out=Path(out), jobs=1, force=True, progress=False, echo=echo
        )
        if summary.staff_log is not None:  # instructors only: it quotes the hidden suite
            echo(summary.staff_log.read_text())
    [result] = summary.graded
    refused = next((n.message for n in result.notices if n.kind in REFUSAL_KINDS), "")
    return result, refused


def locate(folder: Path, notebook: str) -> Path | Refusal:
    """The one file to grade in Gradescope's submission folder: the
    assignment's notebook by name (anywhere in it, as in a GitHub
    submission), else the only notebook or .py file there is."""
    if not folder.is_dir():
        return Refusal(
            "missing",
            f"No submission was found ({folder} does not exist): upload {notebook} again.",
        )
    files: list[Path] = []
    entries = 0
    for top, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        entries += len(dirs) + len(names)
        files += [Path(top, n) for n in sorted(names) if not n.startswith(".")]
        if entries > MAX_ENTRIES:
            break
    if not files:
        return Refusal("empty", f"The submission is empty: upload your {notebook}.")
    named = [p for p in files if p.name == notebook]
    if len(named) == 1:
        return named[0]
    candidates = named or [p for p in files if p.name.endswith(SUFFIXES)]
    if len(candidates) == 1:
        return candidates[0]
    listed = ", ".join(shown(str(p.relative_to(folder))) for p in (candidates or files)[:10])
    if not candidates:
        return Refusal(
            "none",
            f"The submission holds no notebook (found: {listed}): upload your {notebook}.",
        )
    return Refusal(
        "several",
        f"The submission holds several notebooks ({listed}): upload only your {notebook}.",
    )


def wrong_assignment(path: Path, notebook: str, exercises: set[str]) -> Refusal | None:
    """A notebook that defines none of the functions this assignment grades,
    and has no syntax error that could explain it: another assignment's
    notebook, most likely. Unreadable files are left to the grading run,
    which explains them."""
    try:
        submission = read_submission(Found(student_id(path.stem), path), notebook)
    except SubmissionProblem:
        return None
    defined: set[str] = set()
    functions: set[str] = set()
    for cell in submission.cells:
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError, RecursionError):
            return None
        defined |= _top_level_names(tree)
        functions |= {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
    if defined & exercises:
        return None
    graded = ", ".join(sorted(exercises))
    own = f" (it defines {', '.join(sorted(functions)[:8])})" if functions else ""
    return Refusal(
        "wrong_assignment",
        f"{shown(path.name)} defines none of the functions this assignment grades ({graded})"
        f"{own}: is it the notebook of another assignment? Upload your {notebook}.",
    )


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a cell binds at its top level: functions, classes, assignments, imports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).partition(".")[0] for a in node.names}
    return names


def _failure(started: float) -> dict[str, object]:
    """results.json when the autograder itself failed: no points, no details."""
    return {
        "score": 0.0,
        "execution_time": round(time.monotonic() - started, 3),
        "output": "<p><strong>The autograder could not grade this submission because of a "
        "problem on its side, not in your work. Course staff can see what happened; "
        "you do not need to submit again.</strong></p>",
        "output_format": "html",
        "test_output_format": "html",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def _write(path: Path, document: dict[str, object], echo: Echo) -> None:
    atomic_write(path, json.dumps(document, indent=2))
    echo(f"wrote {path}")
