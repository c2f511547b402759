"""The ``local`` backend: grading processes forked from this one.

This process imports TensorFlow (the reference solutions need it) but runs
no TensorFlow op, so forking it per submission costs milliseconds; the
forked child runs pytest and sends back its result as JSON on a pipe. Each
device has a sandbox zygote (one per GPU, or one for the CPU); a child
takes its sandboxes from the least busy zygote.
"""

from __future__ import annotations

import collections
import json
import os
import selectors
import signal
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import grading, jsontext
from grader.assignments import Assignment
from grader.devices import Device
from grader.errors import GraderError
from grader.results import SubmissionResult
from grader.runners import MAX_TRIES, Outcome, SlotStats
from grader.sandbox.common import die_with_parent
from grader.sandbox.host.client import Zygote, ZygoteInfo
from grader.submissions import Submission
from grader.suite import Suite
from grader.texts import one_line
from grader.workdir import RunDir

MAX_PAYLOAD_BYTES = 64 * 2**20
"""what a grading process may send back; its result is bounded far below"""


def preload_tensorflow() -> None:
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


@dataclass
class _Child:
    """A forked grading process and the bytes it has sent so far."""

    pid: int
    fd: int
    submission: Submission
    started: float
    zygote: int
    """index of the zygote its sandboxes come from"""
    lane: int
    """which of the ``jobs`` places it runs in (the unit of the end-of-run lines)"""
    workdir: Path
    """its scratch folders and the pids of its sandboxes, cleaned up when it ends"""
    data: bytearray = field(default_factory=bytearray)


class LocalRunner:
    """Grading processes forked from this one, ``jobs`` at a time."""

    def __init__(
        self,
        assignment: Assignment,
        devices: list[Device],
        run_dir: RunDir,
        *,
        jobs: int,
        reference_cache: Path | None = None,
        echo: Any = print,
    ) -> None:
        """Starts the zygotes at once, so they import TensorFlow while the
        caller does its own start-up. ``reference_cache``: see
        ``grader.harness.reference_data`` (None: no cache)."""
        self.assignment = assignment
        self.jobs = jobs
        self.run_dir = run_dir
        self.echo = echo
        self.reference_cache = reference_cache
        self.tries: collections.Counter[str] = collections.Counter()
        self._devices = devices
        self._zygotes = [Zygote(device.env, parent=run_dir.path) for device in devices]
        self._stats = [SlotStats(f"local-{lane}") for lane in range(jobs)]

    def wait_ready(self) -> str:
        for zygote in self._zygotes:
            zygote.wait_ready()
        return self._zygotes[0].isolation_problem

    def stats(self) -> list[SlotStats]:
        return self._stats

    def close(self) -> None:
        for zygote in self._zygotes:
            zygote.close()

    def grade(self, todo: Sequence[Submission], suite: Suite) -> Iterator[Outcome]:
        """Grade ``todo`` with ``suite`` (loaded in this process, so forked
        children inherit it), ``jobs`` at a time. A child that dies or overruns
        is cleaned up after (its sandboxes killed, its scratch removed) and
        its submission tried again, at most ``MAX_TRIES`` times."""
        limits = self.assignment.limits
        budget = limits.load_timeout + limits.total_timeout + 120
        queue = collections.deque(todo)
        running: dict[int, _Child] = {}
        selector = selectors.DefaultSelector()
        try:
            while queue or running:
                while queue and len(running) < self.jobs:
                    self.run_dir.check_space(limits.scratch_mb * 2**20)
                    busy = collections.Counter(c.zygote for c in running.values())
                    zygote = min(range(len(self._zygotes)), key=lambda i: busy[i])
                    lane = min(set(range(self.jobs)) - {c.lane for c in running.values()})
                    child = self._fork(queue.popleft(), suite, zygote, lane)
                    running[child.fd] = child
                    selector.register(child.fd, selectors.EVENT_READ)
                for key, _ in selector.select(timeout=1.0):
                    child = running[key.fd]
                    chunk = os.read(key.fd, 1 << 20)
                    if chunk and len(child.data) + len(chunk) <= MAX_PAYLOAD_BYTES:
                        child.data += chunk
                        continue
                    if chunk:  # far more than any bounded result: not a result
                        os.kill(child.pid, signal.SIGKILL)
                        child.data = bytearray()
                    selector.unregister(key.fd)
                    del running[key.fd]
                    outcome = self._collect(child)
                    if outcome is None:
                        queue.append(child.submission)
                    else:
                        yield outcome
                for child in running.values():
                    if time.monotonic() - child.started > budget:
                        os.kill(child.pid, signal.SIGKILL)  # its pipe closes: collected next
        finally:
            for child in running.values():
                os.kill(child.pid, signal.SIGKILL)
                os.waitpid(child.pid, 0)
                os.close(child.fd)
                RunDir.clean_child(child.workdir)

    def _fork(
        self,
        submission: Submission,
        suite: Suite,
        zygote: int,
        lane: int,
    ) -> _Child:
        """A grading process for ``submission``, its sandboxes from ``zygote``."""
        info = self._zygotes[zygote].info
        self.tries[submission.student] += 1
        workdir = self.run_dir.child()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child_main(
                suite,
                submission,
                info,
                workdir,
                self.reference_cache,
                write_fd,
            )
        os.close(write_fd)
        return _Child(pid, read_fd, submission, time.monotonic(), zygote, lane, workdir)

    def _collect(self, child: _Child) -> Outcome | None:
        """What a finished child sent; None when it should be tried again."""
        _, _, usage = os.wait4(child.pid, 0)
        os.close(child.fd)
        RunDir.clean_child(child.workdir)
        # graded on a disk that filled up is not graded: stop before it is recorded
        self.run_dir.check_space(self.assignment.limits.scratch_mb * 2**20)
        stats = self._stats[child.lane]
        stats.busy_seconds += time.monotonic() - child.started
        stats.peak_memory_mb = max(stats.peak_memory_mb, usage.ru_maxrss / 1024)
        student = child.submission.student
        try:
            payload = json.loads(child.data)
            result = SubmissionResult.from_json(payload["result"]) if "result" in payload else None
        except (ValueError, KeyError, TypeError):
            payload, result = {"failed": "the grading process died before it sent a result"}, None
        name = f"{stats.name} ({self._devices[child.zygote].name})"
        if result is not None:
            stats.graded += 1
            details = "\n".join(payload.get("internal", []))
            return Outcome(child.submission, result, details, name)
        if self.tries[student] < MAX_TRIES:
            self.echo(one_line(f"{student:<16} grading failed on our side; trying again"))
            return None
        return Outcome(child.submission, None, str(payload.get("failed")), name)


def _child_main(
    suite: Suite,
    submission: Submission,
    zygote: ZygoteInfo,
    workdir: Path,
    reference_cache: Path | None,
    fd: int,
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
                suite,
                submission,
                zygote=zygote,
                workdir=workdir,
                reference_cache=reference_cache,
            )
            payload = {"result": result.to_json(), "internal": internal}
        except GraderError as err:
            payload = {"failed": str(err)}
        except BaseException:  # noqa: BLE001 - our bug: report it, never lose the batch
            payload = {"failed": traceback.format_exc()}
        data = jsontext.dumps(payload).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        status = 70
    finally:
        os._exit(status)
