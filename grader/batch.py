"""Grade a class: find submissions, skip the ones already graded, run each
remaining one in a process forked from this one, record every result in
the gradebook as it arrives, and write the reports.

This process imports TensorFlow (the reference solutions need it) but runs
no TensorFlow op, so forking it per submission costs milliseconds; the
forked child runs pytest and sends back its result as JSON on a pipe.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import selectors
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tqdm

from grader import exports, grading
from grader.assignments import Assignment
from grader.errors import GraderError, UsageError
from grader.gradebook import Gradebook
from grader.results import Notice, SubmissionResult, TestResult, Verdict
from grader.sandbox.client import Zygote
from grader.sandbox.worker import die_with_parent
from grader.submissions import Found, Submission, SubmissionProblem, discover, read_submission

Echo = Callable[[str], None]


@dataclass
class BatchSummary:
    """What one ``grader grade`` run did."""

    graded: list[SubmissionResult] = field(default_factory=list)
    skipped: list[SubmissionResult] = field(default_factory=list)
    internal_errors: dict[str, str] = field(default_factory=dict)
    """student -> what went wrong on our side; these have no grade recorded"""


@dataclass
class _Running:
    pid: int
    fd: int
    submission: Submission
    started: float
    data: bytearray = field(default_factory=bytearray)


def grade_assignment(
    assignment: Assignment,
    *,
    paths: list[Path] | None = None,
    out: Path = Path("reports"),
    jobs: int = 1,
    force: bool = False,
    progress: bool = True,
    echo: Echo = print,
) -> BatchSummary:
    """Grade every submission under ``paths`` (default: the example class)."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    try:
        found = discover(paths or [assignment.examples_dir], assignment.notebook)
    except FileNotFoundError as err:
        raise UsageError(str(err)) from err
    if not found:
        raise UsageError(
            f"no submissions found in {', '.join(map(str, paths or [assignment.examples_dir]))}"
        )
    zygote = Zygote()  # starts importing TensorFlow now, alongside our own import below
    try:
        _preload_quietly()
        suite_version = assignment.suite_version()
        tests = grading.suite_tests(assignment)
        summary = BatchSummary()
        with Gradebook(out / "gradebook.db") as book:
            todo = _triage(assignment, found, book, suite_version, tests, force, summary, out, echo)
            if todo:
                zygote.wait_ready()
                _run_children(
                    assignment,
                    todo,
                    book,
                    suite_version,
                    zygote.address,
                    jobs,
                    progress,
                    summary,
                    out,
                    echo,
                )
            everyone = book.results(assignment.name)
        exports.write_class(assignment, everyone, out / assignment.name)
        return summary
    finally:
        zygote.close()


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


def _triage(
    assignment: Assignment,
    found: list[Found],
    book: Gradebook,
    suite_version: str,
    tests: tuple[TestResult, ...],
    force: bool,
    summary: BatchSummary,
    out: Path,
    echo: Echo,
) -> list[Submission]:
    """Read each submission; record unreadable ones and skip current ones."""
    counts = collections.Counter(f.student for f in found)
    todo: list[Submission] = []
    for item in found:
        digest = ""
        try:
            if counts[item.student] > 1:
                raise SubmissionProblem(
                    "duplicate",
                    f"More than one submission has the id {item.student!r} "
                    f"({', '.join(str(f.path.name) for f in found if f.student == item.student)}); "
                    "none of them was graded. Keep exactly one.",
                )
            submission = read_submission(item, assignment.notebook)
        except SubmissionProblem as problem:
            digest = _digest_of_problem(problem.notice)
            if not force and book.is_current(assignment.name, item.student, digest, suite_version):
                _skip(assignment, book, item.student, summary, out)
                continue
            result = grading.ungradable(
                assignment,
                student=item.student,
                submission_hash=digest,
                suite_version=suite_version,
                notice=problem.notice,
                tests=tests,
            )
            _finish(result, book, summary, out, echo)
            continue
        if not force and book.is_current(
            assignment.name, item.student, submission.hash, suite_version
        ):
            _skip(assignment, book, item.student, summary, out)
        else:
            todo.append(submission)
    return todo


def _digest_of_problem(notice: Notice) -> str:
    return "problem:" + hashlib.sha256(notice.message.encode()).hexdigest()[:32]


def _skip(
    assignment: Assignment, book: Gradebook, student: str, summary: BatchSummary, out: Path
) -> None:
    result = book.find(assignment.name, student)
    if result is not None:
        summary.skipped.append(result)
        exports.write_student(result, out / assignment.name / student)


def _finish(
    result: SubmissionResult, book: Gradebook, summary: BatchSummary, out: Path, echo: Echo
) -> None:
    """Record first (the gradebook is the truth), then write the student's files."""
    book.record(result)
    exports.write_student(result, out / result.assignment / result.student)
    summary.graded.append(result)
    echo(summary_line(result))


def summary_line(result: SubmissionResult) -> str:
    """One line per submission: score, percentage, verdict counts, time."""
    counts = collections.Counter(t.verdict for t in result.tests)
    parts = [f"{counts[v]} {v.value}" for v in Verdict if counts[v]]
    percent = 100 * result.score / result.max_score if result.max_score else 0.0
    note = (
        f"  [{result.notices[0].message[:60]}]" if result.notices and not result.tests[0:1] else ""
    )
    return (
        f"{result.student:<16} {result.score:6g}/{result.max_score:<6g} {percent:5.1f}%  "
        f"{', '.join(parts):<44} {result.execution_time:5.1f}s{note}"
    )


def _run_children(
    assignment: Assignment,
    todo: list[Submission],
    book: Gradebook,
    suite_version: str,
    zygote_address: str,
    jobs: int,
    progress: bool,
    summary: BatchSummary,
    out: Path,
    echo: Echo,
) -> None:
    limits = assignment.limits
    budget = limits.total_timeout + limits.load_timeout + 120
    queue = collections.deque(todo)
    running: dict[int, _Running] = {}
    selector = selectors.DefaultSelector()
    bar = tqdm.tqdm(total=len(todo), disable=not progress, unit="submission", leave=False)
    write = tqdm.tqdm.write if progress else echo
    try:
        while queue or running:
            while queue and len(running) < jobs:
                child = _fork(assignment, queue.popleft(), suite_version, zygote_address)
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
                _collect(child, book, summary, out, write)
                bar.update()
            for child in [c for c in running.values() if time.monotonic() - c.started > budget]:
                os.kill(child.pid, signal.SIGKILL)  # its pipe closes; collected above next round
    finally:
        for child in running.values():
            os.kill(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
            os.close(child.fd)
        bar.close()


def _fork(
    assignment: Assignment, submission: Submission, suite_version: str, zygote_address: str
) -> _Running:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: grade, send the result, exit without cleanup
        os.close(read_fd)
        _child(assignment, submission, suite_version, zygote_address, write_fd)
    os.close(write_fd)
    return _Running(pid, read_fd, submission, time.monotonic())


def _child(
    assignment: Assignment, submission: Submission, suite_version: str, zygote_address: str, fd: int
) -> None:
    status = 0
    try:
        die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        if not os.environ.get("TFGRADE_DEBUG"):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
        try:
            result = grading.grade_submission(
                assignment, submission, zygote_address=zygote_address, suite_version=suite_version
            )
            payload: dict[str, Any] = {"result": result.to_json()}
        except GraderError as err:
            payload = {"internal": str(err)}
        except BaseException:
            payload = {"internal": traceback.format_exc()}
        data = json.dumps(payload).encode()
        for start in range(0, len(data), 1 << 16):
            os.write(fd, data[start : start + (1 << 16)])
    except BaseException:
        status = 70
    finally:
        os._exit(status)


def _collect(
    child: _Running, book: Gradebook, summary: BatchSummary, out: Path, write: Echo
) -> None:
    os.waitpid(child.pid, 0)
    os.close(child.fd)
    student = child.submission.student
    try:
        payload = json.loads(child.data)
    except ValueError:
        payload = {"internal": "the grading process died before it sent a result"}
    if "result" in payload:
        _finish(SubmissionResult.from_json(payload["result"]), book, summary, out, write)
    else:
        summary.internal_errors[student] = str(payload["internal"])
        write(
            f"{student:<16} NOT GRADED: internal error (see the end of this run); re-run to retry"
        )
