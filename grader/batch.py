"""Grade a class: find submissions, skip the ones already graded, have a
runner backend (``grader.runners``) grade the rest, record every result in
the gradebook as it arrives, and write the reports.

This is the driver: it alone writes the gradebook and the reports,
whichever backend runs the grading processes.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import gc
import hashlib
import sqlite3
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import grading, reference_times
from grader.assignments import Assignment
from grader.console import Progress, summary_line
from grader.errors import GraderError, SubmissionProblem, UsageError
from grader.gradescope import protocol
from grader.gradescope.protocol import SubmissionMetadata
from grader.outdir import DEFAULT_OUT, OutDir
from grader.policy import scoring, timestamps
from grader.policy.deadlines import Due, Extensions, Stamp
from grader.policy.gradebook import Gradebook
from grader.policy.regrades import ScoreChange, compare
from grader.reports import writer
from grader.results import (
    REFUSAL_KINDS,
    Notice,
    NoticeKind,
    SubmissionResult,
    TimeSource,
    Verdict,
)
from grader.runners import Backend, Outcome, Runner, RunnerSetup, SlotStats, loop
from grader.runners.local import preload_tensorflow
from grader.students import shown, student_id
from grader.submissions import Discovery, Found, Submission, discover, read_submission
from grader.suite import Suite
from grader.suite import load as load_suite
from grader.suite import version as suite_version
from grader.workdir import RunDir

Echo = Callable[[str], None]


@dataclass
class BatchSummary:
    """What one ``grader grade`` run did."""

    found: int = 0
    """submissions found (students, after duplicates are resolved)"""
    graded: list[SubmissionResult] = field(default_factory=list)
    """graded in this run, refused ones included"""
    skipped: list[SubmissionResult] = field(default_factory=list)
    """unchanged since an earlier run"""
    refused: list[SubmissionResult] = field(default_factory=list)
    """could not be read (recorded with a notice saying why)"""
    ignored: list[str] = field(default_factory=list)
    """entries that are not submissions, as shown"""
    internal_errors: dict[str, str] = field(default_factory=dict)
    """student -> what went wrong on our side (for staff, never in a report)"""
    staff_log: Path | None = None
    """where the details of internal errors were written"""
    slots: list[SlotStats] = field(default_factory=list)
    """what each runner slot did"""
    changes: list[ScoreChange] = field(default_factory=list)
    """scores this run changed because the suite did (same file, new suite version)"""
    policy_applied: list[str] = field(default_factory=list)
    """unchanged submissions whose adjustments this run made again under a new
    policy (due, late policy, extensions, lms_id), none of their tests run"""
    policy_changes: list[ScoreChange] = field(default_factory=list)
    """scores of those that the new policy changed"""
    untimed: list[str] = field(default_factory=list)
    """students whose submission has no time, under a late policy (nothing taken off)"""


def grade_assignment(
    assignment: Assignment,
    *,
    paths: list[Path] | None = None,
    out: OutDir = DEFAULT_OUT,
    jobs: int = 2,
    force: bool = False,
    require_isolation: bool = False,
    gpus: list[str] | None = None,
    backend: Backend = Backend.LOCAL,
    address: str | None = None,
    gpu_share: int = 1,
    reference_cache: bool = True,
    progress: bool = True,
    echo: Echo = print,
    only: list[str] | None = None,
    trust_mtime: bool = False,
    trust_commit_time: bool = False,
    manifest: Path | None = None,
    platform: SubmissionMetadata | None = None,
    suite: Suite | None = None,
) -> BatchSummary:
    """Grade every submission under ``paths`` (default: the example class).

    ``only`` lists student ids to regrade (graded again even if unchanged);
    ``manifest``, ``trust_commit_time`` and ``trust_mtime`` are sources of
    submission times for the late policy (``grader.policy.timestamps``);
    ``platform`` is Gradescope's metadata of the run's one submission, read
    from Gradescope's own path: its time, and that student's due date.

    ``require_isolation`` refuses to run student code without namespaces and
    cgroups (what CI autograding and GPU runners should use). ``gpus`` lists
    the CUDA device ids to grade on, one submission per device at a time
    (None: the ones this machine has; []: CPU only, whatever it has).
    ``backend`` "ray" grades on a Ray cluster (``address``, or a local Ray
    instance) instead of in processes forked here; there the cluster's
    GPUs decide, ``gpu_share`` sandboxes to a GPU. ``reference_cache`` keeps
    the reference data suites ask for in ``out.reference_cache``
    (with Ray: in each slot, for the run). ``suite`` is the assignment's
    suite if the caller has loaded it already (``gradescope-run`` has);
    otherwise it is loaded here, once, before grading processes fork."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if gpu_share < 1:
        raise UsageError(f"--gpu-share must be at least 1, got {gpu_share}")
    where = paths or [assignment.examples_dir]
    found = discover(where, assignment.notebook)
    if not found.found:
        raise UsageError(f"no submissions found in {', '.join(map(str, where))}")
    if only:
        found = _only(found, only)
        force = True
    extensions = scoring.course_extensions(assignment.root)
    times = _Times(
        sources=timestamps.Sources(
            manifest=timestamps.load_manifest(manifest) if manifest else {},
            platform=_platform_stamp(platform),
            trust_commit_time=trust_commit_time,
            trust_mtime=trust_mtime,
        ),
        extensions=extensions,
        platform_due=protocol.deadline(platform, assignment.name, extensions) if platform else None,
    )
    _warn_about_times(times.sources, assignment, echo)
    cache = out.reference_cache(assignment.name) if reference_cache else None
    setup = functools.partial(
        RunnerSetup,
        assignment,
        jobs=jobs,
        gpus=gpus,
        address=address,
        gpu_share=gpu_share,
        reference_cache=cache,
        echo=echo,
    )
    with _writing(out), Gradebook(out.gradebook) as book:
        batch = _Batch(assignment, book, out, echo, times, suite=suite)
        todo = batch.triage(found, force=force)
        if todo or batch.unreadable:
            # nothing to run, nothing refused: no TensorFlow, no suite, no runner
            with _started(backend, setup, runner=bool(todo)) as runner:
                batch.load_suite()
                batch.refuse()
                if runner is not None:
                    loop.check_isolation(runner.wait_ready(), require=require_isolation, echo=echo)
                    batch.set_deadlines(runner, cache)
                    batch.run(runner, todo, progress=progress)
                    batch.summary.slots = runner.stats()
        everyone = book.results(assignment.name)
        batch.summary.untimed = [
            r.student
            for r in everyone
            if r.penalty
            and not r.penalty.submitted_at
            and not any(n.kind in REFUSAL_KINDS for n in r.notices)
        ]
        batch.report_the_others(everyone)
        writer.write_class(
            out, assignment.info, everyone, changes=book.suite_changes(assignment.name)
        )
        batch.write_staff_log()
    return batch.summary


@contextlib.contextmanager
def _started(
    backend: Backend, setup: Callable[[RunDir], RunnerSetup], *, runner: bool
) -> Iterator[Runner | None]:
    """The run's folder (where AutoGraph writes what the suite traces) and,
    if ``runner``, the backend's slots, starting at once: they import
    TensorFlow while this process loads the suite."""
    try:
        RunDir.sweep()
        run_dir = RunDir.create()
    except OSError as err:
        raise GraderError(
            f"could not make the run's folder in {tempfile.gettempdir()}: {err.strerror or err}; "
            "set TMPDIR to a folder with room that you may write"
        ) from err
    try:
        started = backend.runner(setup(run_dir)) if runner else None
    except BaseException:
        run_dir.remove()
        raise
    try:
        yield started
    finally:
        if started is not None:
            started.close()
        run_dir.remove()


def _only(found: Discovery, only: list[str]) -> Discovery:
    """The submissions of the students ``--only`` names; a name that matches
    none is an error naming the ids there are."""
    wanted = {student_id(name.strip()) for name in only if name.strip()}
    have = {item.student for item in found.found}
    unknown = sorted(wanted - have)
    if unknown:
        some = ", ".join(sorted(have)[:20]) + (" ..." if len(have) > 20 else "")
        raise UsageError(f"--only: no submission with id {', '.join(unknown)} (ids: {some})")
    return Discovery([item for item in found.found if item.student in wanted], found.ignored)


@dataclass(frozen=True)
class _Times:
    """What decides lateness besides the assignment: deadlines and submission times."""

    sources: timestamps.Sources
    extensions: Extensions
    platform_due: Due | None
    """the deadline of the run's one submission, as the platform knows it (Gradescope's)"""


def _platform_stamp(platform: SubmissionMetadata | None) -> Stamp | None:
    if platform is None or platform.created_at is None:
        return None
    return Stamp(platform.created_at, TimeSource.GRADESCOPE)


def _warn_about_times(sources: timestamps.Sources, assignment: Assignment, echo: Echo) -> None:
    """Say when a time may be the student's choice, or a manifest row cannot be right."""
    if assignment.late.kind == "none":
        return
    if sources.student_controlled:
        flags = [
            flag
            for flag, on in (
                ("--trust-commit-time", sources.trust_commit_time),
                ("--trust-mtime", sources.trust_mtime),
            )
            if on
        ]
        echo(
            f"warning: {' and '.join(flags)}: submission times may come from what students "
            f"wrote ({timestamps.STUDENT_CONTROLLED}); a manifest time outranks them"
        )
    now = dt.datetime.now(dt.UTC)
    for row in timestamps.impossible_rows(sources.manifest, now=now, opens=assignment.opens):
        echo(
            f"warning: {row.where}: {row.student}'s time {row.at.isoformat()} {row.problem}; "
            "check the manifest"
        )


@contextlib.contextmanager
def _writing(out: OutDir) -> Iterator[None]:
    """Turn a failure to write the gradebook or reports (disk full, gradebook
    locked too long, no permission) into one clear message. Grades committed
    before it are kept, so a re-run resumes."""
    try:
        yield
    except (OSError, sqlite3.Error) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise GraderError(
            f"could not write the gradebook or reports in {out.root}/: {reason}. Grades recorded "
            "before this are kept; fix the cause and run the same command again to finish."
        ) from err


class _Batch:
    """One assignment's run: the gradebook, the output folder, the summary."""

    def __init__(
        self,
        assignment: Assignment,
        book: Gradebook,
        out: OutDir,
        echo: Echo,
        times: _Times,
        *,
        suite: Suite | None = None,
    ) -> None:
        self.assignment = assignment
        self._suite = suite
        self.version = suite.version if suite is not None else suite_version(assignment)
        """read from the suite's files: triage needs no code run"""
        self.unreadable: list[tuple[str, str, Notice]] = []
        """submissions triage could not read, to record (student, digest, notice)"""
        self.book = book
        self.out = out
        self.echo = echo
        self.times = times
        self.stamps: dict[str, Stamp | None] = {}
        self.summary = BatchSummary()
        self.reported: set[str] = set()
        """students whose files this run wrote"""

    @property
    def suite(self) -> Suite:
        if self._suite is None:
            raise RuntimeError("the suite is loaded only once there is something to grade")
        return self._suite

    def load_suite(self) -> None:
        """Load the suite (TensorFlow, the reference, the tests) unless the
        caller did, before grading processes fork: they inherit it."""
        if self._suite is None:
            preload_tensorflow()
            self._suite = load_suite(self.assignment)
        gc.freeze()  # children skip what is imported by now when they collect garbage

    def set_deadlines(self, runner: Runner, cache: Path | None) -> None:
        """Relative call deadlines (``grader.reference_times``), if the limits ask."""
        self._suite = reference_times.with_deadlines(
            self.suite, runner, cache=cache, echo=self.echo
        )

    # -- before grading -------------------------------------------------

    def triage(self, discovery: Discovery, *, force: bool) -> list[Submission]:
        """Read each submission; keep unreadable ones for ``refuse``, skip
        current ones, return the rest to grade. Whatever a file holds, it
        ends here as a submission to grade or as that student's notice."""
        self.summary.ignored = list(discovery.ignored)
        groups: dict[str, list[Found]] = collections.defaultdict(list)
        for item in discovery.found:
            groups[item.student].append(item)
        self.summary.found = len(groups)
        todo: list[Submission] = []
        for student, items in groups.items():
            try:
                item, extra = _one_per_student(student, items)
                submission = self._read(item)
                if extra:
                    submission = replace(submission, notices=(*submission.notices, extra))
            except SubmissionProblem as problem:
                digest = "problem:" + hashlib.sha256(problem.notice.message.encode()).hexdigest()
                if force or not self._skip(student, digest):
                    self.unreadable.append((student, digest, problem.notice))
                continue
            self.stamps[student] = self._stamp(item, submission)
            if force or not self._skip(student, submission.hash):
                todo.append(submission)
        return todo

    def refuse(self) -> None:
        """Record the submissions triage could not read: every test not run."""
        for student, digest, notice in self.unreadable:
            result = grading.ungradable(
                self.suite, student=student, submission_hash=digest, notice=notice
            )
            self._finish(result, self.echo)
            self.summary.refused.append(result)

    def _stamp(self, item: Found, submission: Submission) -> Stamp | None:
        """The submission's time, looked up only when a late policy needs it."""
        if self.assignment.late.kind == "none":
            return None
        folder = item.path if item.path.is_dir() and not item.path.is_symlink() else None
        try:
            return timestamps.submission_time(
                item.student, folder, submission.path, sources=self.times.sources
            )
        except Exception:  # noqa: BLE001 - our bug, on one student's files: theirs alone
            self.summary.internal_errors[item.student] = traceback.format_exc()
            return None

    def _final(self, result: SubmissionResult) -> SubmissionResult:
        """The result with its overrides and late penalty (``grader.policy.scoring``)."""
        return scoring.finalize(
            result,
            self.assignment,
            overrides=self.book.overrides(result.assignment, result.student),
            extensions=self.times.extensions,
            stamp=self.stamps.get(result.student),
            platform_due=self.times.platform_due,
        )

    def _read(self, item: Found) -> Submission:
        """``read_submission``, with any failure of ours turned into a refusal
        (logged for staff) so that one file never stops the batch."""
        try:
            return read_submission(item, self.assignment.notebook)
        except SubmissionProblem:
            raise
        except Exception:  # noqa: BLE001 - our bug (RecursionError included); the batch goes on
            self.summary.internal_errors[item.student] = traceback.format_exc()
            raise SubmissionProblem(
                NoticeKind.UNREADABLE,
                "The grader could not read this submission (its fault, not yours); course "
                "staff have been told.",
            ) from None

    def _skip(self, student: str, digest: str) -> bool:
        """Skip a submission graded before with this file and the suite's
        outcomes version: its tests are not run again, its adjustments are
        made again (a new policy, extension or override, another submission
        time); rewrite its files."""
        name = self.assignment.name
        version = self.version
        if not self.book.is_current(name, student, digest, version.outcomes):
            return False
        stored = self.book.find(name, student)
        if stored is None:
            return False
        result = self._final(stored)
        new_policy = self.book.policy_version(name, student) != version.policy
        if result != stored:
            self.book.record(result, cause="rescored", policy=version.policy)
        elif new_policy:
            self.book.note_policy(name, student, version.policy)
        if new_policy:
            self.summary.policy_applied.append(student)
            change = compare(stored, result)
            if change is not None:
                self.summary.policy_changes.append(change)
        self.summary.skipped.append(result)
        self._write_student(result)
        return True

    def _finish(self, result: SubmissionResult, echo: Echo) -> None:
        """Record first (the gradebook is the truth), then write the student's files."""
        result = self._final(result)
        old = self.book.find(result.assignment, result.student)
        if (
            old is not None
            and old.submission_hash == result.submission_hash
            and old.suite_version != result.suite_version
        ):
            change = compare(old, result)
            if change is not None:
                self.summary.changes.append(change)
        self.book.record(result, policy=self.version.policy)
        self._write_student(result)
        self.summary.graded.append(result)
        echo(summary_line(result))

    def _write_student(self, result: SubmissionResult) -> None:
        """A student's files, once per run, from their final result."""
        writer.write_student(self.out, self.assignment.info, result)
        self.reported.add(result.student)

    def report_the_others(self, everyone: list[SubmissionResult]) -> None:
        """The files of students this run did not look at (``--only``, other
        paths), so that every report shows what is disclosed now."""
        for result in everyone:
            if result.student not in self.reported:
                self._write_student(result)

    # -- grading --------------------------------------------------------

    def run(self, runner: Runner, todo: list[Submission], *, progress: bool) -> None:
        """Grade ``todo`` with ``runner``, recording each outcome as it arrives."""
        with Progress(len(todo), bar=progress, echo=self.echo) as shown:
            for outcome in loop.grade(runner, todo, self.suite, echo=shown.echo):
                self._record(outcome, shown.echo)
                shown.step()

    def _record(self, outcome: Outcome, echo: Echo) -> None:
        """A result as it came, or, when the grader failed on it every time it
        tried, an INTERNAL result; the details go to the staff log."""
        student = outcome.submission.student
        if outcome.staff_details:
            self.summary.internal_errors[student] = outcome.staff_details
        if outcome.result is not None:
            self._finish(outcome.result, echo)
            return
        notice = Notice(
            kind=NoticeKind.INTERNAL,
            message="The grader failed on this submission (its fault, not yours); course staff "
            "have been told.",
        )
        self._finish(
            grading.ungradable(
                self.suite,
                student=student,
                submission_hash=outcome.submission.hash,
                notice=notice,
                verdict=Verdict.INTERNAL,
            ),
            echo,
        )

    def write_staff_log(self) -> None:
        """Internal errors' details (tracebacks that quote the hidden suite) go
        to a staff-only file, never to the console a CI log may show students."""
        if not self.summary.internal_errors:
            return
        log = self.out.internal_errors(self.assignment.name)
        entries = [
            f"== {student} ({grading.now()})\n{detail}\n"
            for student, detail in self.summary.internal_errors.items()
        ]
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write("".join(entries))
        self.summary.staff_log = log


def _one_per_student(student: str, items: list[Found]) -> tuple[Found, Notice | None]:
    """The one entry to grade for a student id, and a note about the others.

    A notebook wins over .py files of the same name (``alice.py`` beside
    ``alice.ipynb``); any other clash is refused, since it is not clear
    which file is the submission."""
    if len(items) == 1:
        return items[0], None
    notebooks = [i for i in items if i.path.name.endswith(".ipynb") and not i.path.is_dir()]
    others = [shown(i.path.name) for i in items if i not in notebooks]
    if len(notebooks) == 1 and all(
        i.path.name.endswith(".py") for i in items if i not in notebooks
    ):
        kept = notebooks[0]
        note = Notice(
            kind=NoticeKind.IGNORED,
            message=f"{', '.join(others)} not graded: {shown(kept.path.name)} was, "
            "as the notebook with the same name.",
        )
        return kept, note
    names = ", ".join(shown(i.path.name) for i in items)
    raise SubmissionProblem(
        NoticeKind.DUPLICATE,
        f"More than one submission has the id {student!r} ({names}); "
        "none of them was graded. Keep exactly one.",
    )
