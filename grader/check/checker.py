"""``grader check``: a student runs an assignment's public checks on their own
notebook before submitting it, from their copy of ``assignments/NN_name/``.

It goes the way grading goes (``grader.submissions`` reads the notebook, a
sandbox forked from a zygote runs it, ``GradingPlugin`` gives each test its
verdict and message) with the released public suite and no reference
solution. Where this machine gives no sandbox (no user namespaces, or not
Linux) it says so once: the student's code then runs in a separate process
with the same deadlines, which is all a student's own machine needs.

What students get wrong before they ever reach a test is decided here from
the notebook itself, as data: a file never saved, a notebook of another
assignment (its metadata, or none of this assignment's functions), a graded
function renamed or deleted, a cell that does not parse, nothing filled in,
and TensorFlow or Keras versions other than the course pins.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.metadata
import json
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

import grader
from grader import files, jsontext, notebooks, reports
from grader.assignments import PUBLIC_SUITE
from grader.check import public
from grader.check.public import PublicAssignment
from grader.errors import GraderError, NotCheckable, SubmissionProblem, UsageError
from grader.grading import run_on_submission
from grader.release import METADATA_KEY, student_zip_name
from grader.results import SubmissionResult, TestResult, Verdict
from grader.sandbox.host.client import Zygote, ZygoteInfo
from grader.students import shown, student_id
from grader.submissions import Found, Submission, read_submission
from grader.suite import pytest_args
from grader.texts import one_line
from grader.workdir import RunDir

Echo = Callable[[str], None]
_NAME = re.compile(r"\d\d_\w+")
"""an assignment's folder name, ``NN_name``"""
INSTALLED_NAMES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel"),
    "keras": ("keras",),
}
"""distributions that provide each pinned library on a student's machine"""
SHOWN_NAMES = {"tensorflow": "TensorFlow", "keras": "Keras"}


@dataclass(frozen=True)
class Checked:
    """One notebook's public checks: the result, and what to tell the student."""

    notebook: Path
    result: SubmissionResult
    advice: tuple[str, ...]
    """what explains failures the verdicts alone do not (a renamed function, ...)"""
    report: Path

    @property
    def passed(self) -> bool:
        return bool(self.result.tests) and all(
            t.verdict is Verdict.PASSED for t in self.result.tests
        )

    def to_json(self, notes: tuple[str, ...]) -> dict[str, object]:
        """What ``--json`` writes (``notes``: the warnings shown before the table),
        for ``grader.student`` to show in a notebook."""
        return {
            "notebook": str(self.notebook),
            "result": self.result.to_json(),
            "advice": list(self.advice),
            "notes": list(notes),
        }


@dataclass(frozen=True)
class _Prepared:
    """A notebook read, its assignment found, ready for the sandbox."""

    notebook: Path
    assignment: PublicAssignment
    submission: Submission
    warnings: tuple[str, ...]


# -- which assignment ---------------------------------------------------------


def _metadata_assignment(data: bytes) -> str | None:
    """The assignment a released notebook names in its metadata, if any."""
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError):
        return None
    metadata = raw.get("metadata") if isinstance(raw, dict) else None
    ours = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    name = ours.get("assignment") if isinstance(ours, dict) else None
    return name if isinstance(name, str) else None


def _released_folder(name: str, notebook: Path, cwd: Path) -> Path | None:
    """A copy of ``assignments/NAME/`` near the notebook or the working folder."""
    bases = [notebook.parent, *notebook.parent.parents, cwd, *cwd.parents]
    for base in dict.fromkeys(bases):
        for folder in (base, base / name, base / "assignments" / name):
            if folder.name == name and (folder / public.CHECK_CONFIG).is_file():
                return folder
    return None


def _names_in(stem: str) -> list[str]:
    """Assignment names a file name may start with, longest first:
    ``01_tensors_ada`` -> ``01_tensors_ada``, ``01_tensors``."""
    parts = re.split(r"(?=[-_. ])", stem)
    prefixes = ["".join(parts[:n]) for n in range(len(parts), 0, -1)]
    return [p for p in prefixes if _NAME.fullmatch(p)]


def locate(notebook: Path, *, named: str | None, metadata: str | None, cwd: Path) -> Path:
    """The released folder to check ``notebook`` against: ``--assignment``,
    else the folder holding the notebook, else its file name, else its metadata."""
    if named is not None:
        folder = _released_folder(named, notebook, cwd)
        if folder is None:
            raise UsageError(
                f"--assignment {named}: no copy of assignments/{named}/ (with its "
                f"{public.CHECK_CONFIG}) beside {shown(notebook.name)} or in {cwd}; run the "
                "check from your copy of the assignment's folder"
            )
        return folder
    if (notebook.parent / public.CHECK_CONFIG).is_file():
        return notebook.parent
    for name in (*_names_in(notebook.stem), metadata):
        folder = _released_folder(name, notebook, cwd) if name else None
        if folder is not None:
            return folder
    if metadata is not None:
        raise NotCheckable(
            f"{shown(notebook.name)} is a notebook of {metadata} (its metadata says so), but "
            f"no copy of assignments/{metadata}/ (with its {public.CHECK_CONFIG}) is beside it "
            f"or in {cwd}: {_get_folder(metadata)}"
        )
    raise UsageError(
        f"cannot tell which assignment {shown(notebook.name)} belongs to: keep it in its "
        "assignment's folder (your copy of assignments/NN_name/), or say which with "
        "--assignment NN_name"
    )


def _get_folder(name: str) -> str:
    """What to do when no copy of ``assignments/NAME/`` is near: get one."""
    return (
        f"get the folder assignments/{name}/ from the course (its notebook, "
        f"{public.CHECK_CONFIG} and {PUBLIC_SUITE}), put this notebook in it, and check it there "
        f"(the course may hand the folder out as {student_zip_name(name)}: unzipping it makes "
        f"{name}/)"
    )


# -- reading the notebook -----------------------------------------------------


def prepare(notebook: Path, *, named: str | None, cwd: Path) -> _Prepared:
    """Find the assignment and read the notebook, refusing with a message
    what no check could run on."""
    name = shown(notebook.name)
    if not notebook.exists():
        raise UsageError(f"{name}: no such file")
    if notebook.is_dir():
        raise UsageError(f"{shown(str(notebook))} is a folder: name the notebook file in it")
    if notebook.is_file() and notebook.stat().st_size == 0:
        raise NotCheckable(
            f"{name} is empty (0 bytes): it was never saved. Open it in Jupyter, save it "
            "(File > Save Notebook, or Ctrl-S), and check again."
        )
    metadata = None
    with contextlib.suppress(OSError):
        metadata = _metadata_assignment(notebook.read_bytes()) if notebook.is_file() else None
    folder = locate(notebook, named=named, metadata=metadata, cwd=cwd)
    assignment = public.load(folder)
    if not assignment.suite.is_file():
        raise UsageError(f"{folder} has no {PUBLIC_SUITE}: this assignment has no public checks")
    warnings = []
    if metadata is not None and metadata != assignment.name:
        text = (
            f"{name} was saved from assignment {metadata} (its metadata says so), but it is "
            f"being checked as {assignment.name}"
        )
        if named is None:
            against = (
                f"check against {metadata} with --assignment {metadata}"
                if _released_folder(metadata, notebook, cwd)
                else f"to check it as {metadata}, {_get_folder(metadata)}"
            )
            raise NotCheckable(
                f"{text}. Open {assignment.notebook} of {assignment.name} and do your work "
                f"there, or {against}."
            )
        warnings.append(f"warning: {text}, as --assignment asks.")
    try:
        submission = read_submission(Found(student_id(notebook.stem), notebook), "")
    except SubmissionProblem as problem:
        raise NotCheckable(problem.notice.message) from None
    if not submission.cells:
        raise NotCheckable(
            f"{name} has no code in its cells: nothing to check. If you wrote code in Jupyter, "
            "save the notebook (Ctrl-S) first: the check reads the file on disk."
        )
    other = _other_assignment(submission, assignment)
    if other and named is None:
        raise NotCheckable(
            f"{other} Check {assignment.notebook} of {assignment.name} instead, or pass "
            f"--assignment {assignment.name} if this really is its notebook."
        )
    if other:
        warnings.append(f"warning: {other}")
    return _Prepared(notebook, assignment, submission, (*warnings, *version_warnings(assignment)))


def _other_assignment(submission: Submission, assignment: PublicAssignment) -> str:
    """Why a notebook looks like another assignment's ("" when it does not),
    by the rule the autograder refuses it by (``grader.notebooks.elsewhere``)."""
    found = notebooks.definitions(c.source for c in submission.cells)
    elsewhere = notebooks.elsewhere(found, assignment.exercises)
    if elsewhere is None:
        return ""
    return elsewhere.message(shown(submission.path.name), assignment.name)


def installed_version(library: str) -> str | None:
    """The version of ``library`` this Python has, by its distribution's metadata."""
    for distribution in INSTALLED_NAMES[library]:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(distribution)
    return None


def version_warnings(assignment: PublicAssignment) -> list[str]:
    """A warning for each pinned library whose installed version differs, and
    for a grader other than the one that released the folder."""
    warnings = []
    released = assignment.grader_version
    if released and released != grader.__version__:
        warnings.append(
            f"warning: this folder was released with grader {released}, but grader "
            f"{grader.__version__} is installed: results here may differ from grading. Install "
            f"the course's grader (tfgrade=={released})."
        )
    for library, pinned in assignment.pins.items():
        if library not in INSTALLED_NAMES:
            continue
        installed = installed_version(library)
        shown_name = SHOWN_NAMES[library]
        if installed != pinned:
            have = f"{shown_name} {installed} is installed" if installed else "not installed"
            warnings.append(
                f"warning: {have}, but the course pins {shown_name} {pinned}: results here may "
                f"differ from grading. Install the course's version ({library}=={pinned})."
            )
    return warnings


# -- running ------------------------------------------------------------------


def run_checks(
    prepared: _Prepared, zygote: ZygoteInfo, workdir: Path
) -> tuple[SubmissionResult, list[str]]:
    """The public suite against one notebook, as ``grade_submission`` runs
    the hidden one (no ``reference``: public checks carry their expected values)."""
    assignment = prepared.assignment
    return run_on_submission(
        prepared.submission,
        pytest_args([assignment.suite], assignment.folder, "--noconftest"),
        assignment=assignment.name,
        limits=assignment.limits,
        zygote=zygote,
        workdir=workdir,
        reference=types.ModuleType("no_reference"),
        suite_version="public",
        defined=assignment.exercises,
        suite=f"the public suite ({assignment.suite})",
    )


def advice(
    submission: Submission, assignment: PublicAssignment, result: SubmissionResult
) -> list[str]:
    """What explains the failures: a cell that did not run, a graded
    function renamed or deleted, nothing filled in yet."""
    lines = []
    broken = {n.cell for n in result.notices if n.kind == "syntax" and n.cell}
    found = notebooks.definitions(c.source for c in submission.cells)
    defined = set(found.names)  # ``relu = tf.nn.relu`` defines relu
    explained: set[str] = set()
    for cell in submission.cells:
        if cell.number in broken:
            names = [n for n in notebooks.intended(cell.source) if n in assignment.exercises]
            explained.update(names)
            if names:
                lines.append(
                    f"cell {cell.number} has a syntax error, so it did not run and "
                    f"{', '.join(f'`{n}`' for n in names)} is not defined: fix the cell "
                    "(see the line above), save, and check again."
                )
    others = sorted(set(found.functions) - set(assignment.exercises))  # renamed: a def
    for exercise in assignment.exercises:
        if exercise in defined or exercise in explained:
            continue
        close = difflib.get_close_matches(exercise, others, n=1, cutoff=0.6)
        if close:
            lines.append(
                f"`{exercise}` is not defined, but `{close[0]}` is: did you rename it? The "
                f"checks and the grader call `{exercise}`, so keep its name."
            )
        else:
            lines.append(
                f"`{exercise}` is not defined anywhere in your notebook: was its cell deleted? "
                f"Copy it back from a fresh copy of {assignment.notebook}."
            )
    if result.tests and all(t.verdict is Verdict.NOT_IMPLEMENTED for t in result.tests):
        lines.append(
            "No exercise is done yet: every function still raises NotImplementedError. If you "
            "wrote code in Jupyter, save the notebook (Ctrl-S) first: the check reads the file "
            "on disk."
        )
    return lines


# -- showing ------------------------------------------------------------------


def _worst(tests: list[TestResult]) -> Verdict:
    order = list(Verdict)
    return max((t.verdict for t in tests), key=order.index)


@dataclass(frozen=True)
class ExerciseRow:
    """One exercise's line in the table ``grader check`` and ``grader.student`` show."""

    exercise: str
    passed: int
    total: int
    worst: Verdict


def exercise_rows(result: SubmissionResult) -> list[ExerciseRow]:
    """The table's rows: each exercise with tests, in notebook order."""
    by_exercise: dict[str, list[TestResult]] = {}
    for test in result.tests:
        by_exercise.setdefault(test.exercise, []).append(test)
    order = [*result.exercises, *(e for e in by_exercise if e not in result.exercises)]
    return [
        ExerciseRow(e, sum(t.verdict is Verdict.PASSED for t in tests), len(tests), _worst(tests))
        for e in order
        if (tests := by_exercise.get(e, []))
    ]


def lines(checked: Checked, *, colour: bool) -> list[str]:
    """The terminal's view: a table per exercise, then each failure with
    its message and the student's own traceback lines."""

    def paint(text: str, verdict: Verdict) -> str:
        return click.style(text, fg=verdict.info.colour, bold=True) if colour else text

    result = checked.result
    out = [f"{result.assignment} public checks of {shown(checked.notebook.name)}:"]
    for notice in result.notices:
        where = f"cell {notice.cell}" + (f", line {notice.line}" if notice.line else "")
        out.append(one_line(f"  {where if notice.cell else 'notebook'}: {notice.message}"))
        out += [_frame_line(f.cell, f.line, f.code) for f in notice.frames]
    out.append(f"  {'exercise':<32} {'checks':>7}  result")
    for row in exercise_rows(result):
        out.append(
            f"  {row.exercise:<32} {f'{row.passed}/{row.total}':>7}  "
            f"{paint(row.worst.value, row.worst)}"
        )
    for test in result.tests:
        if test.verdict is Verdict.PASSED:
            continue
        out.append(one_line(f"- {test.exercise} ({test.name}): {test.message}"))
        if test.verdict is Verdict.NOT_IMPLEMENTED:
            continue  # the message says what to do; the stub's line adds nothing
        out += [_frame_line(f.cell, f.line, f.code) for f in test.frames]
        if test.hint:
            out.append(one_line(f"    hint: {test.hint}"))
    out += [one_line(f"! {line}") for line in checked.advice]
    total = len(result.tests)
    passed_count = sum(t.verdict is Verdict.PASSED for t in result.tests)
    verdict = Verdict.PASSED if checked.passed else Verdict.FAILED
    summary = f"{passed_count}/{total} checks passed"
    out.append(
        f"{paint(summary, verdict)} in {result.execution_time:.1f} s; report: {checked.report}"
    )
    return out


def _frame_line(cell: int, line: int, code: str) -> str:
    return one_line(f"    cell {cell}, line {line}: {code}")


def colour_wanted(stream: object) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


# -- the command --------------------------------------------------------------


@contextlib.contextmanager
def _zygote() -> Iterator[tuple[Zygote, RunDir]]:
    RunDir.sweep()
    run_dir = RunDir.create()
    zygote = Zygote(parent=run_dir.path)
    try:
        yield zygote, run_dir
    finally:
        zygote.close()
        run_dir.remove()


def isolation_note(zygote: Zygote) -> str:
    """What to say, once, where sandboxes cannot be confined ("" where they can)."""
    reason = zygote.isolation_problem or (
        f"sandboxes need Linux, and this is {sys.platform}" if sys.platform != "linux" else ""
    )
    if not reason:
        return ""
    return (
        f"note: no sandbox on this machine ({reason}); your code runs in a separate process "
        "with the assignment's time limits instead. Grading runs it in a sandbox."
    )


def check_notebooks(
    notebooks: list[Path],
    *,
    named: str | None,
    report_dir: Path | None,
    cwd: Path,
    echo: Echo,
    colour: bool,
    json_too: bool = False,
) -> int:
    """Check each notebook; 0 when every check of every notebook passed,
    1 when one failed or a notebook could not be checked. ``json_too`` also
    writes ``NAME.check.json`` beside each report (``Checked.to_json``)."""
    status = 0
    with _zygote() as (zygote, run_dir):
        prepared: list[_Prepared] = []
        for notebook in notebooks:
            try:
                prepared.append(prepare(notebook, named=named, cwd=cwd))
            except GraderError as err:
                echo(one_line(str(err)))
                status = max(status, err.exit_code)
        if not prepared:
            return status
        zygote.wait_ready()
        note = isolation_note(zygote)
        if note:
            echo(note)
        for item in prepared:
            for warning in item.warnings:
                echo(warning)
            result, internal = run_checks(item, zygote.info, run_dir.child())
            folder = report_dir or item.notebook.parent
            report = folder / f"{item.notebook.stem}.check.html"
            try:
                files.atomic_write(
                    report,
                    reports.student_page(result, title=f"{item.assignment.title}: public checks"),
                )
            except OSError as err:
                raise UsageError(
                    f"cannot write the report {report}: {err.strerror}; name another folder "
                    "with --report DIR"
                ) from None
            checked = Checked(
                item.notebook,
                result,
                tuple(advice(item.submission, item.assignment, result)),
                report,
            )
            for line in lines(checked, colour=colour):
                echo(line)
            if json_too:
                notes = (*([note] if note else []), *item.warnings)
                files.atomic_write(
                    report.with_suffix(".json"), jsontext.dumps(checked.to_json(notes))
                )
            for detail in internal:
                echo(one_line(f"the public suite failed on our side: {detail.splitlines()[0]}"))
            if not checked.passed:
                status = max(status, 1)
    return status
