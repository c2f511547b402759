"""From a graded result to the final one: staff overrides first, then the
late penalty on the score they give. Applied by the trusted parent on every
run (to new grades and to unchanged ones alike), so a new extension, a new
override or a regrade all end with the same rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from grader.assignments import Assignment
from grader.policy import deadlines, roster
from grader.policy.deadlines import Due, Extensions, Stamp
from grader.results import DueSource, Override, SubmissionResult


def course_extensions(root: Path) -> Extensions:
    """The course's ``extensions.csv``, sections resolved through ``roster.csv``
    (read only when there are extensions)."""
    if not (root / deadlines.EXTENSIONS_NAME).is_file():
        return deadlines.NO_EXTENSIONS
    path = root / roster.ROSTER_NAME
    if not path.is_file():
        return deadlines.load_extensions(root, None)
    people = roster.load(path).values()
    return deadlines.load_extensions(root, {p.student: p.section for p in people if p.section})


def finalize(
    result: SubmissionResult,
    assignment: Assignment,
    *,
    overrides: tuple[Override, ...],
    extensions: Extensions,
    stamp: Stamp | None,
    platform_due: Due | None = None,
) -> SubmissionResult:
    """``result`` with ``overrides`` and the penalty its time gives.

    ``platform_due`` is the student's own deadline as the platform knows it
    (``grader.gradescope.protocol.deadline``); without it, the course's extensions
    and the assignment's ``due`` decide."""
    known = {t.name for t in result.tests}
    kept = tuple(o for o in overrides if not o.test or o.test in known)
    adjusted = dataclasses.replace(result, overrides=kept, penalty=None)
    due = platform_due or extensions.due(result.assignment, result.student, assignment.due)
    penalty = deadlines.penalty(
        assignment.late, points=adjusted.adjusted_score, due=due, stamp=stamp
    )
    return dataclasses.replace(adjusted, penalty=penalty)


def stored_stamp(result: SubmissionResult) -> Stamp | None:
    """The submission time a recorded result was penalised with, if any."""
    penalty = result.penalty
    if penalty is None or penalty.source is None or not penalty.submitted_at:
        return None
    return Stamp(dt.datetime.fromisoformat(penalty.submitted_at), penalty.source)


def stored_platform_due(result: SubmissionResult) -> Due | None:
    """The platform's due date a recorded result was penalised against, if any."""
    penalty = result.penalty
    if penalty is None or penalty.due_source is not DueSource.GRADESCOPE:
        return None
    return Due(dt.datetime.fromisoformat(penalty.due), DueSource.GRADESCOPE)
