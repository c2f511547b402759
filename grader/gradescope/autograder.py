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

Gradescope's container has no namespaces, so sandboxes are plain processes
of ``SANDBOX_UID``. A daemon that double-forks out of one is adopted by the
zygote (a subreaper, killed with its descendants at the end of the batch),
or, should the zygote be gone, by this process, a subreaper too: every
process of that uid among its descendants is killed before ``results.json``
is written, and the grade is withheld if one will not die.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from grader import assignments, grading, jsontext, notebooks
from grader.assignments import Assignment
from grader.batch import grade_assignment
from grader.errors import GraderError, SubmissionProblem
from grader.files import atomic_write
from grader.gradescope import protocol
from grader.outdir import OutDir
from grader.results import (
    REFUSAL_KINDS,
    Notice,
    NoticeKind,
    SubmissionResult,
    Visibility,
)
from grader.runners.local import preload_tensorflow
from grader.sandbox.guest import confine
from grader.sandbox.host import trees
from grader.sandbox.host.client import IsolationPart, kill_descendants
from grader.students import shown, student_id
from grader.submissions import SUFFIXES, Found, read_submission
from grader.suite import Suite
from grader.suite import load as load_suite

MAX_ENTRIES = 10_000
"""entries of the submission folder looked at (a GitHub submission is a whole repository)"""

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Refusal:
    """A submission that cannot be graded as it is, and why (for the student)."""

    kind: str
    """missing, empty, several, none, wrong_assignment"""
    message: str


PROCESS_ONLY = (
    "Graded without namespaces (Gradescope's container): the student's code ran as a plain "
    "process of uid nobody. It could not read the hidden tests, the solutions or the results, "
    "and every process it started was killed before the results were written. It could read "
    "the container's other world-readable files, reach the network if the container can, see "
    "the container's other processes, and its memory was capped by a sampling watchdog, not a "
    "cgroup. `grader export gradescope --require-namespaces` refuses such runs."
)
"""``extra_data.isolation_note`` of a run whose sandboxes left root"""
PROCESS_AS_GRADER = (
    "Graded without namespaces and without leaving the grader's own user (the container "
    "does not allow changing uid): the student's code could read the hidden tests and "
    "forge these results. Do not trust this score."
)
"""``extra_data.isolation_note`` of a run whose sandboxes ran as the grader's user"""


def run(
    course: Path, name: str, *, root: Path, require_namespaces: bool = False, echo: Echo = print
) -> int:
    """Grade the submission under ``root`` and write its results.json; the
    exit status. ``require_namespaces``: refuse to grade (staff are told why,
    the student that it is not their problem) where sandboxes would be plain
    processes."""
    started = time.monotonic()
    confine.become_subreaper()
    document, status = _document(course, name, root, echo, started, require_namespaces)
    left = end_sandbox_processes()
    if left:
        echo(
            f"processes of the sandbox's uid {confine.SANDBOX_UID} did not end when killed "
            f"(pids {', '.join(map(str, left[:10]))}): not writing their grade"
        )
        document, status = _failure(started), 1
    _write(root / "results" / "results.json", document, echo)
    return status


def _document(
    course: Path, name: str, root: Path, echo: Echo, started: float, require_namespaces: bool
) -> tuple[dict[str, object], int]:
    """results.json's content and the exit status, before the sandboxes' end is checked."""
    metadata = protocol.read_metadata(root / protocol.METADATA_NAME)
    if metadata.problem:
        echo(f"note: {metadata.problem}")
    echo(f"submitted at: {protocol.iso(metadata.created_at) or 'unknown (no metadata)'}")
    try:
        problem = confine.probe() if require_namespaces else ""
        if problem:
            raise GraderError(f"--require-namespaces: not grading, because {problem}")
        assignment = assignments.load(course, name)
        result, message = _grade(assignment, root / "submission", metadata, echo)
    except GraderError as err:
        echo(f"the autograder could not grade: {err}")
        return _failure(started), 1
    except Exception:  # noqa: BLE001 - our bug: staff see it on stdout, the student a message
        echo(traceback.format_exc())
        return _failure(started), 1
    if message:
        echo(message)
    if result.penalty is not None:
        penalty = result.penalty
        echo(f"due: {penalty.due} ({penalty.due_source}); late policy: {penalty.reason}")
    echo(f"score: {result.score:g}/{result.max_score:g}; isolation: {result.isolation or '-'}")
    document = protocol.results_json(
        result, metadata=metadata, execution_time=time.monotonic() - started, message=message
    )
    note = isolation_note(result.isolation)
    if note:
        echo(f"note: {note}")
        extra = document["extra_data"]
        assert isinstance(extra, dict)
        extra["isolation_note"] = note
    return document, 0


def isolation_note(isolation: str) -> str:
    """What a run with this recorded isolation level does not guarantee ("" with namespaces)."""
    parts = isolation.split(", ")
    if parts[0] != IsolationPart.PROCESS.value:
        return ""
    return PROCESS_ONLY if IsolationPart.SANDBOX_USER.value in parts else PROCESS_AS_GRADER


def end_sandbox_processes() -> list[int]:
    """Kill every process of the sandbox's uid among this process's
    descendants (which, as their subreaper, holds every daemon a sandbox
    left); the pids still alive after, with the adopted zombies reaped."""
    left = kill_descendants(os.getpid(), uid=confine.SANDBOX_UID)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    return left


def _grade(
    assignment: Assignment,
    folder: Path,
    metadata: protocol.SubmissionMetadata,
    echo: Echo,
) -> tuple[SubmissionResult, str]:
    """The result, and the message of a refusal ("" when it was graded)."""
    preload_tensorflow()
    suite = load_suite(assignment)  # once, for refusing and for grading
    found = locate(folder, assignment.notebook)
    if isinstance(found, Path):
        refusal = wrong_assignment(found, assignment, suite.exercises)
        if refusal is None:
            return _graded(suite, found, metadata, echo)
    else:
        refusal = found
    notice = Notice(kind=NoticeKind.UNREADABLE, message=refusal.message)
    result = grading.ungradable(
        suite, student="submission", submission_hash=f"refused:{refusal.kind}", notice=notice
    )
    return result, refusal.message


def _graded(
    suite: Suite,
    path: Path,
    metadata: protocol.SubmissionMetadata,
    echo: Echo,
) -> tuple[SubmissionResult, str]:
    with tempfile.TemporaryDirectory(prefix="tfgrade-gradescope-") as out:
        summary = grade_assignment(
            suite.assignment,
            paths=[path],
            out=OutDir(Path(out)),
            jobs=1,
            force=True,
            progress=False,
            echo=echo,
            suite=suite,
            platform=metadata,
        )
        if summary.staff_log is not None:  # instructors only: it quotes the hidden suite
            echo(summary.staff_log.read_text())
    [result] = summary.graded
    refused = next((n.message for n in result.notices if n.kind in REFUSAL_KINDS), "")
    return result, refused


def _hidden(entry: trees.Entry) -> bool:
    return any(part.startswith(".") for part in entry.path.split("/"))


def _searched(entry: trees.Entry) -> bool:
    """Whether ``locate`` looks inside this folder of the upload."""
    return not _hidden(entry) and entry.path.count("/") + 1 < trees.MAX_DEPTH


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
    # the upload is the student's: walked without recursion (a folder 1,100
    # deep), hidden folders and what lies past the depth bound left out
    for count, entry in enumerate(trees.walk(folder, descend=_searched), 1):
        if not _hidden(entry) and not stat.S_ISDIR(entry.info.st_mode):
            files.append(folder / entry.path)
        if count > MAX_ENTRIES:
            break
    files.sort(key=lambda p: (len(p.relative_to(folder).parts), str(p)))
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


def wrong_assignment(
    path: Path, assignment: Assignment, exercises: Collection[str]
) -> Refusal | None:
    """A notebook that is, most likely, another assignment's, by the rule
    ``grader check`` warns by (``grader.notebooks.elsewhere``), naming the
    course's assignment it looks like when the zip's ``course.json`` knows
    one. Files that cannot be read are graded instead: their own messages
    say more."""
    try:
        submission = read_submission(Found(student_id(path.stem), path), assignment.notebook)
    except SubmissionProblem:
        return None
    found = notebooks.definitions(cell.source for cell in submission.cells)
    elsewhere = notebooks.elsewhere(found, exercises)
    if elsewhere is None:
        return None
    message = elsewhere.message(shown(path.name), assignment.name)
    shared = {
        name: len(functions & set(elsewhere.strangers))
        for name, functions in _other_assignments(assignment.root).items()
    }
    like = max(sorted(shared), key=shared.__getitem__, default=None)
    if like is not None and shared[like]:
        message += f" It looks like the notebook of assignment {shown(like)}."
    return Refusal("wrong_assignment", f"{message} Upload your {assignment.notebook}.")


def _other_assignments(course: Path) -> dict[str, frozenset[str]]:
    """Assignment -> functions its solution defines, from the zip's course.json
    (written by the exporter; absent or unreadable: none known)."""
    try:
        data = json.loads((course / protocol.COURSE_NAME).read_text())
        return {a["name"]: frozenset(a["functions"]) for a in data["assignments"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


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
        "visibility": Visibility.VISIBLE,
        "stdout_visibility": Visibility.HIDDEN,
        "tests": [],
    }


def _write(path: Path, document: dict[str, object], echo: Echo) -> None:
    atomic_write(path, jsontext.dumps(document, indent=2))
    echo(f"wrote {path}")
