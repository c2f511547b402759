"""From a graded result to the final one: staff overrides first, then the
late penalty on the score they give. Applied by the trusted parent on every
run (to new grades and to unchanged ones alike), so a new extension, a new
override or a regrade all end with the same rules."""

from __future__ import annotations

import dataclasses
import datetime as dt

from grader import deadlines
from grader.assignments import Assignment
from grader.deadlines import Stamp
from grader.results import Override, SubmissionResult


def finalize(
    result: SubmissionResult,
    assignment: Assignment,
    *,
    overrides: tuple[Override, ...],
    extensions: dict[tuple[str, str], dt.datetime],
    stamp: Stamp | None,
) -> SubmissionResult:
    """``result`` with ``overrides`` and the penalty its time gives."""
    known = {t.name for t in result.tests}
    kept = tuple(o for o in overrides if not o.test or o.test in known)
    adjusted = dataclasses.replace(result, overrides=kept, penalty=None)
    due = extensions.get((result.assignment, result.student), assignment.due)
    penalty = deadlines.penalty(
        assignment.late, points=adjusted.adjusted_score, due=due, stamp=stamp
    )
    if penalty is not None and (result.assignment, result.student) in extensions:
        penalty = dataclasses.replace(penalty, reason=penalty.reason + " (with an extension)")
    return dataclasses.replace(adjusted, penalty=penalty)


def stored_stamp(result: SubmissionResult) -> Stamp | None:
    """The submission time a recorded result was penalised with, if any."""
    penalty = result.penalty
    if penalty is None or penalty.source is None or not penalty.submitted_at:
        return None
    return Stamp(dt.datetime.fromisoformat(penalty.submitted_at), penalty.source)
