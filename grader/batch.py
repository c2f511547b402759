"""Grade a class: find submissions, skip the ones already graded, run each
remaining one in a process forked from this one, record every result in
the gradebook as it arrives, and write the reports.

This process imports TensorFlow (the reference solutions need it) but runs
no TensorFlow op, so forking it per submission costs milliseconds; the
forked child runs pytest and sends back its result as JSON on a pipe.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import hashlib
import json
import os
import selectors
import signal
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tqdm

from grader import devices, exports, grading
from grader.assignments import Assignment
from grader.errors import GraderError, UsageError
from grader.gradebook import Gradebook
from grader.results import SubmissionResult, TestResult, Verdict, printable
from grader.sandbox.client import Zygote, ZygoteInfo
from grader.sandbox.limits import Cgroup
from grader.sandbox.worker import die_with_parent
from grader.submissions import Found, Submission, SubmissionProblem, discover, read_submission

Echo = Callable[[str], None]


@dataclass
class BatchSummary:
    """What one ``grader grade`` run did."""

    graded: list[SubmissionResult] = field(default_factory=list)
    skipped: list[SubmissionResult] = field(default_factory=list)
    internal_errors: dict[str, str] = field(default_factory=dict)
    """student -> what went wrong on our side (for staff, never in a report)"""


def grade_assignment(
    assignment: Assignment,
    *,
    paths: list[Path] | None = None,
    out: Path = Path("reports"),
    jobs: int = 1,
    force: bool = False,
    require_isolation: bool = False,
    gpus: list[str] | None = None,
    progress: bool = True,
    echo: Echo = print,
) -> BatchSummary:
    """Grade every submission under ``paths`` (default: the example class).

    ``require_isolation`` refuses to run student code without namespaces and
    cgroups (what CI autograding and GPU runners should use). ``gpus`` lists
    the CUDA device ids to grade on, one submission per device at a time
    (None: the ones this machine has; []: CPU only, whatever it has)."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    where = paths or [assignment.examples_dir]
    try:
        found = discover(where, assignment.notebook)
    except FileNotFoundError as err:
        raise UsageError(str(err)) from err
    if not found:
        raise UsageError(f"no submissions found in {', '.join(map(str, where))}")
    slots = devices.plan(devices.detect_gpus() if gpus is None else gpus)
    if slots[0].gpu:
        jobs = len(slots)
        echo(f"grading on {jobs} GPU(s): {', '.join(s.name for s in slots)}, one submission each")
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # reference solutions run on the CPU, here
    # each zygote starts importing TensorFlow now, alongside our own import below
    zygotes = [Zygote(slot.env) for slot in slots]
    try:
        _preload_quietly()
        with _writing(out), Gradebook(out / "gradebook.db") as book:
            batch = _Batch(assignment, book, out, echo)
            gc.freeze()  # children skip what is imported by now when they collect garbage
            todo = batch.triage(found, force=force)
            if todo:
                for zygote in zygotes:
                    zygote.wait_ready()
                _check_isolation(zygotes[0], assignment, require=require_isolation, echo=echo)
                batch.run(todo, [z.info for z in zygotes], jobs=jobs, progress=progress)
            everyone = book.results(assignment.name)
            exports.write_class(assignment, everyone, out / assignment.name)
        return batch.summary
    finally:
        for zygote in zygotes:
            zygote.close()


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Turn a failure to write the gradebook or reports (disk full, gradebook
    locked too long, no permission) into one clear message. Grades committed
    before it are kept, so a re-run resumes."""
    try:
        yield
    except (OSError, sqlite3.Error) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise GraderError(
            f"could not write the gradebook or reports in {out}/: {reason}. Grades recorded "
            "before this are kept; fix the cause and run the same command again to finish."
        ) from err


def _preload_quietly() -> None:
    """Import TensorFlow before forking (it runs no op), without the C++
    log lines it prints on import whatever TF_CPP_MIN_LOG_LEVEL says."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _check_isolation(zygote: Zygote, assignment: Assignment, *, require: bool, echo: Echo) -> None:
    """Say once what confinement is missing here; refuse if it is required.

    Without a writable cgroup (a normal user where no subtree is delegated)
    sandboxes in namespaces still get every cap: memory from the trusted
    side's watchdog, processes from a per-namespace rlimit. Only the CPU
    quota is missing, which the CPU-time deadlines make up for."""
    problems = [zygote.isolation_problem] if zygote.isolation_problem else []
    Cgroup.sweep()
    probe = Cgroup.create(f"probe-{os.getpid()}", assignment.limits)
    if probe is None and zygote.isolation_problem:
        problems.append("no writable cgroup, so the number of processes is not capped")
    elif probe is None:
        echo(
            "note: no writable cgroup here, so a watchdog caps each sandbox's memory and CPU is "
            "not capped (`grader doctor` says how to get one)"
        )
    if probe is not None:
        probe.remove()
    if problems and require:
        raise GraderError("--require-isolation: not grading, because " + "; ".join(problems))
    for problem in problems:
        echo(f"warning: sandboxes run with weaker isolation: {problem} (recorded in each result)")


def summary_line(result: SubmissionResult) -> str:
    """One line per submission: score, percentage, verdict counts, time."""
    counts = collections.Counter(t.verdict for t in result.tests)
    parts = [f"{counts[v]} {v.value}" for v in Verdict if counts[v]]
    percent = 100 * result.score / result.max_score if result.max_score else 0.0
    unreadable = [n.message for n in result.notices if n.kind in ("unreadable", "duplicate")]
    verdicts = f"not graded: {unreadable[0][:70]}" if unreadable else ", ".join(parts)
    return printable(
        f"{result.student:<16} {result.score:6g}/{result.max_score:<6g} {percent:5.1f}%  "
        f"{verdicts:<44} {result.execution_time:5.1f}s"
    )


@dataclass
class _Child:
    """A forked grading process and the bytes it has sent so far."""

    pid: int
    fd: int
    submission: Submission
    started: float
    slot: int
    """index of the runner slot (zygote) its sandboxes come from"""
    data: bytearray = field(default_factory=bytearray)


class _Batch:
    """One assignment's run: the gradebook, the output folder, the summary."""

    def __init__(self, assignment: Assignment, book: Gradebook, out: Path, echo: Echo) -> None:
        self.assignment = assignment
        self.book = book
        self.out = out
        self.echo = echo
        self.summary = BatchSummary()
        self.suite_version = assignment.suite_version()
        self.tests: tuple[TestResult, ...] = grading.suite_tests(assignment)

    # -- before grading -------------------------------------------------

    def triage(self, found: list[Found], *, force: bool) -> list[Submission]:
        """Read each submission; record unreadable ones, skip current ones,
        return the rest to grade."""
        counts = collections.Counter(f.student for f in found)
        todo: list[Submission] = []
        for item in found:
            try:
                if counts[item.student] > 1:
                    names = ", ".join(f.path.name for f in found if f.student == item.student)
                    raise SubmissionProblem(
                        "duplicate",
                        f"More than one submission has the id {item.student!r} ({names}); "
                        "none of them was graded. Keep exactly one.",
                    )
                submission = read_submission(item, self.assignment.notebook)
            except SubmissionProblem as problem:
                digest = "problem:" + hashlib.sha256(problem.notice.message.encode()).hexdigest()
                if force or not self._skip(item.student, digest):
                    result = grading.ungradable(
                        self.assignment,
                        student=item.student,
                        submission_hash=digest,
                        suite_version=self.suite_version,
                        notice=problem.notice,
                        tests=self.tests,
                    )
                    self._finish(result, self.echo)
                continue
            if force or not self._skip(item.student, submission.hash):
                todo.append(submission)
        return todo

    def _skip(self, student: str, digest: str) -> bool:
        """Skip a submission graded before with this file and suite; rewrite its files."""
        name = self.assignment.name
        if not self.book.is_current(name, student, digest, self.suite_version):
            return False
        result = self.book.find(name, student)
        if result is None:
            return False
        self.summary.skipped.append(result)
        exports.write_student(result, self.out / name / student)
        return True

    def _finish(self, result: SubmissionResult, echo: Echo) -> None:
        """Record first (the gradebook is the truth), then write the student's files."""
        self.book.record(result)
        exports.write_student(result, self.out / result.assignment / result.student)
        self.summary.graded.append(result)
        echo(summary_line(result))

    # -- grading --------------------------------------------------------

    def run(
        self, todo: list[Submission], slots: list[ZygoteInfo], *, jobs: int, progress: bool
    ) -> None:
        """Grade ``todo``, ``jobs`` at a time, each in a forked child that
        takes its sandboxes from the least busy slot."""
        limits = self.assignment.limits
        budget = limits.load_timeout + limits.total_timeout + 120
        queue = collections.deque(todo)
        running: dict[int, _Child] = {}
        selector = selectors.DefaultSelector()
        bar = tqdm.tqdm(total=len(todo), disable=not progress, unit="submission", leave=False)
        echo = tqdm.tqdm.write if progress else self.echo
        try:
            while queue or running:
                while queue and len(running) < jobs:
                    busy = collections.Counter(c.slot for c in running.values())
                    slot = min(range(len(slots)), key=lambda i: busy[i])
                    child = self._fork(queue.popleft(), slots, slot)
                    running[child.fd] = child
                    selector.register(child.fd, selectors.EVENT_READ)
                for key, _ in selector.select(timeout=1.0):
                    child = running[key.fd]
                    chunk = os.read(key.fd, 1 << 20)
                    if chunk:
                        child.data += chunk
                        continue
                    selector.unregister(key.fd)
                    del running[key.fd]
                    self._collect(child, echo)
                    bar.update()
                for child in running.values():
                    if time.monotonic() - child.started > budget:
                        os.kill(child.pid, signal.SIGKILL)  # its pipe closes: collected next
        finally:
            for child in running.values():
                os.kill(child.pid, signal.SIGKILL)
                os.waitpid(child.pid, 0)
                os.close(child.fd)
            bar.close()

    def _fork(self, submission: Submission, slots: list[ZygoteInfo], slot: int) -> _Child:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child_main(self.assignment, submission, self.suite_version, slots[slot], write_fd)
        os.close(write_fd)
        return _Child(pid, read_fd, submission, time.monotonic(), slot)

    def _collect(self, child: _Child, echo: Echo) -> None:
        os.waitpid(child.pid, 0)
        os.close(child.fd)
        student = child.submission.student
        try:
            payload = json.loads(child.data)
        except ValueError:
            payload = {"failed": "the grading process died before it sent a result"}
        if "result" in payload:
            self._finish(SubmissionResult.from_json(payload["result"]), echo)
            if payload["internal"]:
                self.summary.internal_errors[student] = "\n".join(payload["internal"])
        else:
            self.summary.internal_errors[student] = str(payload["failed"])
            echo(
                printable(f"{student:<16} not graded: internal error (details at the end); re-run")
            )


def _child_main(
    assignment: Assignment, submission: Submission, suite_version: str, zygote: ZygoteInfo, fd: int
) -> None:
    """The forked child: grade one submission, send the result, exit at once."""
    status = 0
    try:
        die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        if not os.environ.get("TFGRADE_DEBUG"):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
        payload: dict[str, Any]
        try:
            result, internal = grading.grade_submission(
                assignment, submission, zygote=zygote, suite_version=suite_version
            )
            payload = {"result": result.to_json(), "internal": internal}
        except GraderError as err:
            payload = {"failed": str(err)}
        except BaseException:  # noqa: BLE001 - our bug: report it, never lose the batch
            payload = {"failed": traceback.format_exc()}
        data = json.dumps(payload).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        status = 70
    finally:
        os._exit(status)
