"""Gradescope's side of a result: ``results.json`` in Gradescope's format,
and what ``submission_metadata.json`` says about the submission.

The format is Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/);
``tests/schemas/gradescope_results.schema.json`` is written from it. This
module is pure: the run in Gradescope's container is ``grader.gradescope.autograder``.

Visibility: our values are Gradescope's (see ``grader.reports.disclosure``),
so each test keeps its own and Gradescope enforces it; a value we do not
know becomes ``hidden``, failing closed. Gradescope is stricter than our
own reports: it holds back a whole test (verdict and points too) until its
time, and hides the total score from students while any test is hidden.
The top-level ``output``, which every student sees, says only what the
submission as a whole did (cells that failed to run, a refused file) and
what changed its score besides the tests (overrides, the late penalty),
never anything about a test the student may not see.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from grader.policy.adjustments import explanation
from grader.policy.deadlines import Due, Extensions
from grader.reports.views import code_spans
from grader.results import (
    Audience,
    DueSource,
    Notice,
    SubmissionResult,
    TestResult,
    Verdict,
    Visibility,
)
from grader.students import student_id

ROOT_VARIABLE = "TFGRADE_AUTOGRADER_ROOT"
"""relocates ``/autograder`` (``grader gradescope-run --autograder-root``)"""
METADATA_NAME = "submission_metadata.json"
COURSE_NAME = "course.json"
"""in the zip: the course's other assignments (notebook name, functions defined
by its solution), so a notebook uploaded to the wrong assignment is recognised"""
METADATA_LIMIT = 16 * 2**20
"""bytes of ``submission_metadata.json`` read (it lists earlier submissions' results)"""
METADATA_DEPTH = 64
"""nesting of ``submission_metadata.json`` parsed (Gradescope's is a few levels)"""
MAX_TEST_OUTPUT = 16 * 1024
"""characters of a test's printed output shown under it"""


@dataclass(frozen=True)
class SubmissionMetadata:
    """What Gradescope says about a submission (``submission_metadata.json``).

    ``created_at`` is when the student submitted: with ``due_date`` and
    ``late_due_date`` it is what a late policy needs (``grader.gradescope.autograder``
    passes it on, and ``results.json`` records it in ``extra_data``).
    Every field is None when the file is absent or does not say."""

    created_at: dt.datetime | None = None
    due_date: dt.datetime | None = None
    late_due_date: dt.datetime | None = None
    emails: tuple[str, ...] = ()
    """the submitters' emails (a group submission has several)"""
    problem: str = ""
    """why the file could not be read, for staff ("" when it was fine or absent)"""


def read_metadata(path: Path) -> SubmissionMetadata:
    """``submission_metadata.json`` at Gradescope's own path (beside
    ``submission/``, never inside it) if present; a file that cannot be read
    gives empty metadata with the reason, never an exception. Its size and
    nesting are bounded before it is parsed."""
    if not path.exists():
        return SubmissionMetadata()
    try:
        with path.open("rb") as file:
            raw = file.read(METADATA_LIMIT + 1)
        if len(raw) > METADATA_LIMIT:
            return SubmissionMetadata(problem=f"{path.name} is over {METADATA_LIMIT} bytes")
        text = raw.decode("utf-8")
        if nesting(text) > METADATA_DEPTH:
            return SubmissionMetadata(problem=f"{path.name} is nested too deeply")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return SubmissionMetadata(problem=f"{path.name} could not be read: {err}")
    if not isinstance(data, dict):
        return SubmissionMetadata(problem=f"{path.name} is not a JSON object")
    assignment = data.get("assignment")
    settings = assignment if isinstance(assignment, dict) else {}
    users = data.get("users")
    listed = users if isinstance(users, list) else []
    emails = [user.get("email") for user in listed if isinstance(user, dict)]
    return SubmissionMetadata(
        created_at=_moment(data.get("created_at")),
        due_date=_moment(settings.get("due_date")),
        late_due_date=_moment(settings.get("late_due_date")),
        emails=tuple(e.strip() for e in emails if isinstance(e, str) and e.strip()),
    )


def deadline(metadata: SubmissionMetadata, assignment: str, extensions: Extensions) -> Due | None:
    """The submitters' deadline: Gradescope's ``due_date`` for them (their
    Gradescope extension included), or a later extension in the course's
    ``extensions.csv`` for one of them by email; None when neither says."""
    found = [Due(metadata.due_date, DueSource.GRADESCOPE)] if metadata.due_date else []
    for email in metadata.emails:
        extension = extensions.due(assignment, student_id(email), None)
        if extension is not None:
            found.append(extension)
    return max(found, key=lambda due: due.at) if found else None


def nesting(text: str) -> int:
    """How deep the arrays and objects of the JSON ``text`` go (its strings
    skipped), counted without recursion: the parser's own limit is Python's
    stack."""
    brackets = re.sub(r'"[^"\\]*(?:\\.[^"\\]*)*"', "", text)
    steps = (1 if c in "[{" else -1 for c in brackets if c in "[]{}")
    return max(itertools.accumulate(steps), default=0)


def _moment(value: object) -> dt.datetime | None:
    """An ISO 8601 time as Gradescope writes it (with an offset), else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def visibility(ours: str) -> str:
    """Gradescope's visibility for one of our tests (unknown: hidden)."""
    return ours if ours in tuple(Visibility) else Visibility.HIDDEN


def results_json(
    result: SubmissionResult,
    *,
    metadata: SubmissionMetadata,
    execution_time: float,
    message: str = "",
) -> dict[str, Any]:
    """``results.json`` for one graded (or refused) submission.

    ``message`` (for a submission that could not be graded at all) leads the
    top-level output; ``execution_time`` is the whole run's, in seconds."""
    numbers = _numbers(result)
    return {
        "score": result.score,
        "execution_time": round(execution_time, 3),
        "output": _overall(result, message),
        "output_format": "html",
        "test_output_format": "html",
        "visibility": Visibility.VISIBLE,
        "stdout_visibility": Visibility.HIDDEN,
        "extra_data": {
            "assignment": result.assignment,
            "max_score": result.max_score,
            "isolation": result.isolation or "not graded",
            "submitted_at": iso(metadata.created_at),
            "due_date": iso(metadata.due_date),
            "late_due_date": iso(metadata.late_due_date),
            "submission_hash": result.submission_hash,
            "suite_version": result.suite_version,
            "grader_version": result.grader_version,
            "graded_at": result.graded_at,
        },
        "tests": [
            {
                "name": test.name,
                "number": number,
                "score": test.score,
                "max_score": test.max_score,
                "status": test.verdict.info.gradescope_status,
                "output": _test_output(test),
                "visibility": visibility(test.visibility),
                "tags": [test.exercise] if test.exercise else [],
                "extra_data": {
                    "verdict": test.verdict.value,
                    "exercise": test.exercise,
                    "duration": round(test.duration, 3),
                },
            }
            for test, number in zip(result.tests, numbers, strict=True)
        ],
    }


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _numbers(result: SubmissionResult) -> list[str]:
    """``exercise.test`` numbers: exercises in notebook order, tests in suite order."""
    order = result.exercise_order
    counts: dict[str, int] = {}
    numbers = []
    for test in result.tests:
        counts[test.exercise] = counts.get(test.exercise, 0) + 1
        numbers.append(f"{order.index(test.exercise) + 1}.{counts[test.exercise]}")
    return numbers


def _overall(result: SubmissionResult, message: str) -> str:
    """The top-level output: the refusal, if any, what changed the score
    besides the tests, then the submission's notices. Nothing here names a
    test the student may not see, and while one is not visible (Gradescope
    then hides the total) the score's parts are given without points."""
    parts = [Markup("<p><strong>{}</strong></p>").format(code_spans(message))] if message else []
    named = {t.name for t in result.tests if visibility(t.visibility) == Visibility.VISIBLE}
    why = explanation(
        result,
        Audience.STUDENT,
        named=named,
        points=len(named) == len({t.name for t in result.tests}),
    )
    if why:
        parts.append(Markup("<p>Your score: {}</p>").format(why))
    notices = [n for n in result.notices if not (message and n.message == message)]
    if notices:
        items = Markup("").join(Markup("<li>{}</li>").format(_notice(n)) for n in notices)
        parts.append(Markup("<p>About your notebook as a whole:</p><ul>{}</ul>").format(items))
    if result.grader_at_fault:
        parts.append(
            Markup(
                "<p>Some tests could not run because of a problem on the grader's side, not in "
                "your code; course staff can see it.</p>"
            )
        )
    return str(Markup("").join(parts))


def _notice(notice: Notice) -> Markup:
    where = []
    if notice.cell is not None:
        where.append(f"cell {notice.cell}")
    if notice.line is not None:
        where.append(f"line {notice.line}")
    prefix = f"{', '.join(where)}: " if where else ""
    return code_spans(prefix + notice.message)


def _test_output(test: TestResult) -> str:
    """What Gradescope shows under a test: the message, the student's own
    traceback lines, the hint when it failed, and what their code printed."""
    parts = [Markup("<p>{}</p>").format(code_spans(test.message))] if test.message else []
    if test.frames:
        lines = "\n".join(f"cell {f.cell}, line {f.line}: {f.code.strip()}" for f in test.frames)
        parts.append(Markup("<pre>{}</pre>").format(lines))
    if test.hint and test.verdict is not Verdict.PASSED:
        parts.append(Markup("<p>Hint: {}</p>").format(code_spans(test.hint)))
    if test.output:
        printed = test.output[:MAX_TEST_OUTPUT]
        parts.append(Markup("<p>Your code printed:</p><pre>{}</pre>").format(printed))
    return str(Markup("").join(parts))
