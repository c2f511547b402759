"""``grader override``: a staff decision on one test's points or on a
submission's total, kept in the gradebook with who made it, when and why.

A regrade keeps it (``grader.policy.scoring`` applies every override to each new
result); the late penalty applies to the score it gives.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess

from grader.assignments import Assignment
from grader.errors import UsageError
from grader.outdir import OutDir
from grader.policy import scoring
from grader.policy.gradebook import Gradebook
from grader.reports import writer
from grader.results import Override, SubmissionResult
from grader.students import student_id


def override(
    assignment: Assignment,
    student: str,
    test: str | None,
    *,
    points: float,
    reason: str,
    out: OutDir,
) -> SubmissionResult:
    """Record the override, rewrite the reports, and return the new result."""
    if not reason.strip():
        raise UsageError('--reason must say why (it is shown to the student): --reason "..."')
    student = student_id(student)
    with Gradebook.existing(out.gradebook) as book:
        stored = book.find(assignment.name, student)
        if stored is None:
            graded = ", ".join(r.student for r in book.results(assignment.name)[:20]) or "none"
            raise UsageError(
                f"no grade for {student} in {assignment.name} in {out.root}/ (graded: {graded})"
            )
        limit = _limit(stored, test)
        if not 0 <= points <= limit:
            what = f"test {test}" if test else "the total"
            raise UsageError(f"--points {points:g}: {what} is worth 0 to {limit:g} points")
        decision = Override(
            test=test or "",
            points=points,
            reason=reason.strip(),
            by=who(),
            at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        kept = book.overrides(assignment.name, student)
        others = tuple(o for o in kept if o.test != decision.test)
        result = scoring.finalize(
            stored,
            assignment,
            overrides=(*others, decision),
            extensions=scoring.course_extensions(assignment.root),
            stamp=scoring.stored_stamp(stored),
            platform_due=scoring.stored_platform_due(stored),
        )
        book.override(result, decision)
        writer.write_student(out, assignment.info, result)
        writer.write_class(
            out,
            assignment.info,
            book.results(assignment.name),
            changes=book.suite_changes(assignment.name),
        )
    return result


def _limit(result: SubmissionResult, test: str | None) -> float:
    if not test:
        return result.max_score
    for t in result.tests:
        if t.name == test:
            return t.max_score
    names = ", ".join(t.name for t in result.tests)
    raise UsageError(f"no test {test} in {result.assignment} (its tests: {names})")


def who() -> str:
    """The person overriding: the user's own git ``user.name`` (``--global``,
    run from ``/``: never the config of the repository the command runs in,
    which may be a student's), else $USER."""
    try:
        done = subprocess.run(
            ["git", "config", "--global", "user.name"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd="/",
        )
        name = done.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        name = ""
    return name or os.environ.get("USER", "") or "unknown"
