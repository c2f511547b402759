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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import devices, grading, jsontext
from grader.assignments import Assignment
from grader.devices import Device
from grader.errors import GraderError, UsageError
from grader.results import SubmissionResult
from grader.runners import Isolation, Outcome, RunnerSetup, SlotStats
from grader.sandbox.common import die_with_parent
from grader.sandbox.host.client import Zygote, ZygoteInfo
from grader.sandbox.host.limits import Cgroup, Limits
from grader.submissions import Submission
from grader.suite import Suite
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


@dataclass(frozen=True)
class _Report:
    """What a grading process sends its parent, once, as it ends."""

    result: SubmissionResult | None
    details: str = ""
    """the grader's own failures: tracebacks beside a result, or why there is none"""

    def to_json(self) -> dict[str, Any]:
        return {
            "result": None if self.result is None else self.result.to_json(),
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Report:
        result = data["result"]
        return cls(
            None if result is None else SubmissionResult.from_json(result), str(data["details"])
        )


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


def start(setup: RunnerSetup) -> LocalRunner:
    """The ``local`` backend: a slot per GPU (``gpu_share`` per GPU), or
    ``jobs`` slots on the CPU."""
    if setup.address:
        raise UsageError("--address is for --backend ray")
    gpus = devices.detect_gpus() if setup.gpus is None else setup.gpus
    planned = devices.plan(gpus, share=setup.gpu_share)
    jobs = setup.jobs
    if planned[0].gpu:
        jobs = len(planned)
        names = ", ".join(d.name for d in planned)
        setup.echo(f"grading on {jobs} GPU(s): {names}, one submission each")
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # reference solutions run on the CPU, here
    return LocalRunner(
        setup.assignment,
        planned,
        setup.run_dir,
        jobs=jobs,
        reference_cache=setup.reference_cache,
    )


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
    ) -> None:
        """Starts the zygotes at once, so they import TensorFlow while the
        caller does its own start-up. ``reference_cache``: see
        ``grader.harness.reference_data`` (None: no cache)."""
        self.assignment = assignment
        self.jobs = jobs
        self.run_dir = run_dir
        self.reference_cache = reference_cache
        self._devices = devices
        self._zygotes = [Zygote(device.env, parent=run_dir.path) for device in devices]
        self._stats = [SlotStats(f"local-{lane}") for lane in range(jobs)]
        self._running: dict[int, _Child] = {}
        self._selector = selectors.DefaultSelector()

    def wait_ready(self) -> list[Isolation]:
        for zygote in self._zygotes:
            zygote.wait_ready()
        return [_isolation(self._zygotes[0], self.assignment.limits)]

    def free(self) -> int:
        return self.jobs - len(self._running)

    def send(self, submission: Submission, suite: Suite) -> None:
        """Fork a grading process for ``submission`` (``suite`` is loaded
        in this process: it inherits it), its sandboxes from the least busy
        zygote."""
        self.run_dir.check_space(self.assignment.limits.scratch_mb * 2**20, self.jobs)
        busy = collections.Counter(c.zygote for c in self._running.values())
        zygote = min(range(len(self._zygotes)), key=lambda i: busy[i])
        lane = min(set(range(self.jobs)) - {c.lane for c in self._running.values()})
        info = self._zygotes[zygote].info
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
        child = _Child(pid, read_fd, submission, time.monotonic(), zygote, lane, workdir)
        self._running[read_fd] = child
        self._selector.register(read_fd, selectors.EVENT_READ)

    def receive(self) -> list[Outcome]:
        """What the children that ended sent. A child that dies or overruns
        is cleaned up after (its sandboxes killed, its scratch removed)."""
        ended = []
        for key, _ in self._selector.select(timeout=1.0):
            child = self._running[key.fd]
            chunk = os.read(key.fd, 1 << 20)
            if chunk and len(child.data) + len(chunk) <= MAX_PAYLOAD_BYTES:
                child.data += chunk
                continue
            if chunk:  # far more than any bounded result: not a result
                os.kill(child.pid, signal.SIGKILL)
                child.data = bytearray()
            self._selector.unregister(key.fd)
            del self._running[key.fd]
            ended.append(self._collect(child))
        limits = self.assignment.limits
        budget = limits.load_timeout + limits.total_timeout + 120
        for child in self._running.values():
            if time.monotonic() - child.started > budget:
                os.kill(child.pid, signal.SIGKILL)  # its pipe closes: collected next
        return ended

    def stats(self) -> list[SlotStats]:
        return self._stats

    def close(self) -> None:
        for child in self._running.values():
            os.kill(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
            os.close(child.fd)
            RunDir.clean_child(child.workdir)
        self._running.clear()
        self._selector.close()
        for zygote in self._zygotes:
            zygote.close()

    def _collect(self, child: _Child) -> Outcome:
        """What a finished child sent (no result: it failed, or died first)."""
        _, _, usage = os.wait4(child.pid, 0)
        os.close(child.fd)
        RunDir.clean_child(child.workdir)
        # graded on a disk that filled up is not graded: stop before it is recorded
        self.run_dir.check_space(self.assignment.limits.scratch_mb * 2**20, self.jobs)
        stats = self._stats[child.lane]
        stats.busy_seconds += time.monotonic() - child.started
        stats.peak_memory_mb = max(stats.peak_memory_mb, usage.ru_maxrss / 1024)
        try:
            report = _Report.from_json(json.loads(child.data))
        except (ValueError, KeyError, TypeError):
            report = _Report(None, "the grading process died before it sent a result")
        if report.result is not None:
            stats.graded += 1
        name = f"{stats.name} ({self._devices[child.zygote].name})"
        return Outcome(child.submission, report.result, report.details, name)


def _isolation(zygote: Zygote, limits: Limits) -> Isolation:
    """What sandboxes lack here: the zygote's probe, and a cgroup made here.

    Without a writable cgroup (a normal user where no subtree is delegated)
    sandboxes in namespaces still get every cap: memory from the trusted
    side's watchdog, processes from a per-namespace rlimit. Only the CPU
    quota is missing, which the CPU-time deadlines make up for."""
    problems = [zygote.isolation_problem] if zygote.isolation_problem else []
    notes = []
    Cgroup.sweep()
    probe = Cgroup.create(f"probe-{os.getpid()}", limits)
    if probe is None and zygote.isolation_problem and not zygote.drop_uid:  # else: per uid
        problems.append("no writable cgroup, so the number of processes is not capped")
    elif probe is None:
        notes.append(
            "no writable cgroup here, so a watchdog caps each sandbox's memory and CPU is "
            "not capped (`grader doctor` says how to get one)"
        )
    if probe is not None:
        probe.remove()
    return Isolation(tuple(problems), tuple(notes))


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
        try:
            result, internal = grading.grade_submission(
                suite,
                submission,
                zygote=zygote,
                workdir=workdir,
                reference_cache=reference_cache,
            )
            report = _Report(result, "\n".join(internal))
        except GraderError as err:
            report = _Report(None, str(err))
        except BaseException:  # noqa: BLE001 - our bug: report it, never lose the batch
            report = _Report(None, traceback.format_exc())
        data = jsontext.dumps(report.to_json()).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child
        status = 70
    finally:
        os._exit(status)
