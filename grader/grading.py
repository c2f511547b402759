"""Grade one submission: run the hidden suite under pytest, on the trusted
side, against the student's code in a sandbox; or, for a submission that
could not be read, a result with every test of the suite not run.

Runs in a process forked from the grader for this one submission; it
returns plain records and touches neither the gradebook nor reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
import types
from collections.abc import Iterable, Mapping
from pathlib import Path

import grader
from grader import jsontext
from grader.harness.plugin import GradingPlugin
from grader.harness.proxy import StudentSession
from grader.harness.reference_data import ReferenceData
from grader.results import (
    Notice,
    SubmissionResult,
    TestResult,
    Verdict,
    notebook_order,
)
from grader.sandbox.errors import SandboxFailure
from grader.sandbox.host.client import ZygoteInfo
from grader.sandbox.host.limits import Limits
from grader.submissions import Submission
from grader.suite import Suite, run_suite, suite_args
from grader.texts import MESSAGE_CHARS


def grade_submission(
    suite: Suite,
    submission: Submission,
    *,
    zygote: ZygoteInfo,
    workdir: Path,
    reference_cache: Path | None = None,
) -> tuple[SubmissionResult, list[str]]:
    """Run the hidden suite against one submission and the suite's reference
    (loaded before this process was forked); its sandboxes' scratch folders
    go in ``workdir``; reference data the suite asks for is kept in
    ``reference_cache`` (None: computed every time).

    Returns the result and, for staff only, the tracebacks of tests that
    failed on the grader's side (INTERNAL verdicts)."""
    result, internal = run_on_submission(
        submission,
        suite_args(suite.assignment),
        assignment=suite.assignment.name,
        limits=suite.limits,
        zygote=zygote,
        workdir=workdir,
        reference=suite.reference,
        suite_version=suite.version.outcomes,
        defined=vars(suite.reference),
        reference_data=ReferenceData(reference_cache, suite.version.outcomes),
        deadlines=suite.call_deadlines,
    )
    return bounded(result), internal


def run_on_submission(
    submission: Submission,
    args: list[str],
    *,
    assignment: str,
    limits: Limits,
    zygote: ZygoteInfo,
    workdir: Path,
    reference: types.ModuleType,
    suite_version: str,
    defined: Iterable[str],
    reference_data: ReferenceData | None = None,
    suite: str = "the hidden suite",
    deadlines: Mapping[str, float] | None = None,
) -> tuple[SubmissionResult, list[str]]:
    """Run a suite (pytest ``args``) against one submission in its sandbox:
    the result, exercises in the order ``defined`` names them, and the staff
    tracebacks of INTERNAL verdicts. Grading and ``grader check`` both run here.
    ``deadlines``: test name -> seconds a call may take in it (``Suite.call_deadlines``)."""
    started = time.monotonic()
    session = StudentSession(submission, zygote, limits, workdir, deadlines=deadlines or {})
    plugin = GradingPlugin(
        session,
        reference,
        seed=assignment,
        submission_hash=submission.hash,
        reference_data=reference_data,
    )
    try:
        with contextlib.suppress(SandboxFailure):  # the first test reports it
            session.prestart()
        run_suite(args, plugin, suite=suite)
    finally:
        session.close()
    tests = tuple(plugin.results[n] for n in plugin.order if n in plugin.results)
    result = SubmissionResult(
        assignment=assignment,
        student=submission.student,
        submission_hash=submission.hash,
        suite_version=suite_version,
        grader_version=grader.__version__,
        graded_at=now(),
        execution_time=time.monotonic() - started,
        tests=tests,
        notices=(*submission.notices, *plugin.notices()),
        isolation=session.isolation,
        output=session.load_output,
        output_cut=session.load_output_cut,
        exercises=notebook_order(defined, (t.exercise for t in tests)),
    )
    return result, plugin.internal_details


def ungradable(
    suite: Suite,
    *,
    student: str,
    submission_hash: str,
    notice: Notice,
    verdict: Verdict = Verdict.ERROR,
) -> SubmissionResult:
    """The result for a submission that could not be read (or, with
    ``verdict`` INTERNAL, that the grader failed on): every test of the
    suite scores 0."""
    not_run = tuple(
        TestResult(
            name=t.name,
            exercise=t.exercise,
            max_score=t.points,
            score=0.0,
            verdict=verdict,
            message="Not run: " + notice.message,
            hint="",
            visibility=t.visibility,
        )
        for t in suite.tests
    )
    return SubmissionResult(
        assignment=suite.assignment.name,
        student=student,
        submission_hash=submission_hash,
        suite_version=suite.version.outcomes,
        grader_version=grader.__version__,
        graded_at=now(),
        execution_time=0.0,
        tests=not_run,
        notices=(notice,),
        exercises=suite.exercises,
    )


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


MAX_RESULT_BYTES = 2 * 2**20
"""the JSON of one submission's result, what the gradebook, the reports and
every later run load again"""


def bounded(result: SubmissionResult) -> SubmissionResult:
    """The result, cut until its JSON fits ``MAX_RESULT_BYTES``: first what the
    student's code printed, then, as a backstop, each test's message and
    curves. Every text from the sandbox is bounded as it arrives (see
    ``grader.harness.proxy``) and curves where a suite records them
    (``Feedback.curve``), so only printed output should ever need cutting."""
    keep = 16 * 1024
    note = "\n[... cut: this submission's results were too large to keep]"
    while _size(result) > MAX_RESULT_BYTES and keep >= 256:
        result = dataclasses.replace(
            result,
            output=_cut(result.output, keep, note),
            tests=tuple(
                dataclasses.replace(t, output=_cut(t.output, keep, note)) for t in result.tests
            ),
        )
        keep //= 4
    if _size(result) > MAX_RESULT_BYTES:
        result = dataclasses.replace(
            result,
            tests=tuple(
                dataclasses.replace(t, message=_cut(t.message, MESSAGE_CHARS, note), curves=())
                for t in result.tests
            ),
        )
    return result


def _size(result: SubmissionResult) -> int:
    return len(jsontext.dumps(result.to_json()))


def _cut(text: str, keep: int, note: str) -> str:
    return text if len(text) <= keep else text[:keep] + note
