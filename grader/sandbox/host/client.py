"""The trusted side's end of the sandbox: start the zygote, get a sandbox
forked from it, send requests with deadlines, and kill it when it overruns.
Its failures are ``SandboxFailure`` (``grader.sandbox.errors``).
"""

from __future__ import annotations

import contextlib
import enum
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.results import NOTICES, Limit, NoticeKind, Origin
from grader.sandbox import wire
from grader.sandbox.common import KEPT_ENVIRONMENT, socket_address
from grader.sandbox.errors import (
    FrameTimeout,
    PeerClosed,
    SandboxDied,
    SandboxFailure,
    SandboxForged,
    SandboxRefused,
    SandboxTimeout,
    WireError,
)
from grader.sandbox.guest.confine import SANDBOX_UID, is_host_root
from grader.sandbox.host.limits import OPEN_FILES, Cgroup, Limits, ProcessTree, Watchdog

_ENV_KEEP = ("PATH", *KEPT_ENVIRONMENT)
MAX_PROBLEMS = 200
"""problem frames one sandbox may send (one per failing cell, one per
tampering): more is a flood, refused as forged"""
LOAD_PROBLEM_KINDS = frozenset(k for k, info in NOTICES.items() if info.origin is Origin.SANDBOX)
CALL_PROBLEM_KINDS = frozenset({NoticeKind.TAMPER})
"""what a sandbox may report while loading cells, and while answering a call"""


class _Forged(WireError):
    """A frame that is well formed but not one the protocol expects here."""


class Zygote:
    """A clean interpreter that preloads TensorFlow and forks sandboxes.

    Started with ``python -I`` and a minimal environment, never forked from
    the trusted side, so it holds nothing secret in memory.
    """

    def __init__(self, env: dict[str, str] | None = None, parent: Path | None = None) -> None:
        """``env`` pins the zygote to a device (see ``grader.devices``); its
        folder goes in ``parent`` (a run's folder, swept if the run is killed)."""
        self._dir = Path(tempfile.mkdtemp(prefix="tfgrade-zygote-", dir=parent))
        self.address = str(self._dir / "zygote.sock")
        self.root = self._dir / "root"
        """an empty folder each sandbox mounts its own new root on"""
        self.root.mkdir()
        self.isolation_problem = ""
        """why sandboxes cannot get namespaces here ("" when they can)"""
        self.drop_uid = False
        """without namespaces, whether sandboxes leave root for ``SANDBOX_UID``"""
        variables = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        variables.update(env or {})
        variables.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", HOME=str(self._dir))
        package_root = str(Path(__file__).resolve().parents[2])
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, package_root, self.address],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=variables,
            cwd=self._dir,
        )

    def wait_ready(self) -> None:
        """Block until the zygote has preloaded and listens."""
        assert self._process.stdout is not None
        word, _, rest = self._process.stdout.readline().decode().rstrip("\n").partition("\t")
        problem, _, drop_uid = rest.rpartition("\t")
        if word != "ready":
            self.close()
            raise GraderError("the sandbox zygote failed to start (is TensorFlow installed?)")
        self.isolation_problem = problem
        self.drop_uid = drop_uid == "1"
        blocked = _closed_to_others(self._dir.parent) if self.drop_uid else None
        if blocked is not None:
            self.close()
            raise GraderError(
                f"sandboxes here are plain processes of uid {SANDBOX_UID} (no namespaces), "
                f"and {blocked} keeps them from their scratch folders: let other users pass "
                "through it (chmod o+x), or set TMPDIR to a folder they can pass, such as /tmp"
            )

    @property
    def info(self) -> ZygoteInfo:
        """What a grading process needs to get sandboxes from this zygote."""
        return ZygoteInfo(
            self.address, str(self.root), isolate=not self.isolation_problem, drop_uid=self.drop_uid
        )

    def close(self) -> None:
        """Kill the zygote, after whatever its sandboxes left behind: it is
        their subreaper, so a process that double-forked out of a sandbox
        without namespaces is still its descendant."""
        if self._process.poll() is None:
            kill_descendants(self._process.pid)
            self._process.kill()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _closed_to_others(folder: Path) -> Path | None:
    """The first folder on the way from / to ``folder`` that other users may
    not pass through, if any."""
    for path in [*reversed(folder.resolve().parents), folder.resolve()]:
        if not path.stat().st_mode & 0o001:
            return path
    return None


def kill_descendants(pid: int, *, uid: int | None = None, rounds: int = 50) -> list[int]:
    """SIGKILL every descendant of ``pid`` (of ``uid`` only, when given) in
    rounds until none is left; those still alive after ``rounds``. ``pid``
    itself is spared, so that as a subreaper it keeps adopting orphans."""
    return ProcessTree(pid).kill(spare_root=True, uid=uid, rounds=rounds)


@dataclass(frozen=True)
class ZygoteInfo:
    """Where to ask for sandboxes, and how they are to be confined."""

    address: str
    root: str
    isolate: bool
    """whether sandboxes enter namespaces and drop to an unprivileged user"""
    drop_uid: bool = False
    """without namespaces: whether sandboxes leave root for ``SANDBOX_UID``
    (a container that keeps CAP_SETUID, as Gradescope's)"""


# -I drops the script's directory and user site-packages from sys.path; the
# package root is put back explicitly, and nothing else is importable by accident.
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from grader.sandbox.guest.worker import zygote; zygote(sys.argv[2])"
)


class IsolationPart(enum.Enum):
    """One part of how a sandbox is confined; each value is the part's label
    in the recorded isolation level (``isolation_level``)."""

    PROCESS = "process"
    """a plain process: no namespaces here"""
    SANDBOX_USER = "uid nobody"
    """the plain process left root for an unprivileged user"""
    NAMESPACES_AS_ROOT = "namespaces, uid nobody"
    """namespaces, entered as root, then dropped to an unprivileged user"""
    NAMESPACES_AS_USER = "namespaces, user namespace"
    """namespaces, entered by a normal user through a user namespace"""
    CGROUP = "cgroup"
    """memory and processes capped by a cgroup"""
    CPU_CAP = "cpu cap"
    """the cgroup caps CPU use too"""
    MEMORY_WATCHDOG = "memory watchdog"
    """no cgroup: a thread measures memory and kills past the limit"""
    PROCESS_CAP = "process cap"
    """no cgroup: processes capped per user namespace (or per uid, for a
    plain process that left root)"""
    SCRATCH_QUOTA = "scratch quota"
    """the scratch folder's size and file count are watched"""


def isolation_level(*, isolated: bool, cgroup: Cgroup | None, drop_uid: bool = False) -> str:
    """How a sandbox is confined, recorded with every result as the parts'
    labels in order: namespaces (as root, or as a normal user through a user
    namespace) or a plain process (as uid nobody, when it left root); a
    cgroup or the memory watchdog plus a process cap (per user namespace, or
    per uid); the scratch quota."""
    if not isolated:
        parts = [IsolationPart.PROCESS]
        if drop_uid:
            parts.append(IsolationPart.SANDBOX_USER)
    elif is_host_root():
        parts = [IsolationPart.NAMESPACES_AS_ROOT]
    else:
        parts = [IsolationPart.NAMESPACES_AS_USER]
    if cgroup is not None:
        parts.append(IsolationPart.CGROUP)
        if cgroup.cpu is not None:
            parts.append(IsolationPart.CPU_CAP)
    else:
        parts.append(IsolationPart.MEMORY_WATCHDOG)
        if (isolated and not is_host_root()) or (drop_uid and not isolated):
            parts.append(IsolationPart.PROCESS_CAP)
    parts.append(IsolationPart.SCRATCH_QUOTA)
    return ", ".join(part.value for part in parts)


class SandboxClient:
    """The trusted side's end of one sandbox process (a ``SandboxServer`` in
    the worker), forked from the zygote, confined and limited."""

    def __init__(self, zygote: ZygoteInfo, limits: Limits, scratch: Path) -> None:
        self.limits = limits
        self.scratch = scratch
        self.isolated = zygote.isolate
        self.drop_uid = zygote.drop_uid and not zygote.isolate
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._next_id = 0
        self._cgroup: Cgroup | None = None
        self._tree: ProcessTree | None = None
        self._watchdog: Watchdog | None = None
        self.pid = 0
        self.alive = False
        self.problems: list[dict[str, Any]] = []
        """problems the sandbox reported while loading cells (kept if it dies later)"""
        self._problem_count = 0
        self._loads: set[int] = set()
        """ids of load requests: only they may be answered with progress"""
        try:
            if (zygote.isolate and is_host_root()) or self.drop_uid:
                os.chown(scratch, SANDBOX_UID, SANDBOX_UID)
            with socket_address(zygote.address) as reachable:
                self._sock.connect(reachable)
            hello, _ = wire.receive(self._sock, deadline=time.monotonic() + 30)
            self.pid = int(hello["pid"])
            self._tree = ProcessTree(self.pid)
            self._cgroup = Cgroup.create(f"sandbox-{self.pid}", limits)
            start: dict[str, Any] = {
                "op": "start",
                "scratch": str(self.scratch),
                "isolate": zygote.isolate,
                "drop_uid": self.drop_uid,
                "root": zygote.root,
                "cpu_seconds": limits.cpu_seconds,
                "file_bytes": limits.file_mb * 2**20,
                "open_files": OPEN_FILES,
                "output_bytes": limits.output_kb * 1024,
                "result_bytes": limits.result_bytes,
                "data": limits.data,
            }
            if self._cgroup is not None:
                self._cgroup.add(self.pid)
            # without a cgroup, processes are counted in the sandbox's own user
            # namespace (a normal user's), or per uid (a plain process that left root)
            elif (zygote.isolate and not is_host_root()) or self.drop_uid:
                start["max_processes"] = limits.max_processes
            self._watchdog = Watchdog(self._tree, limits, self.scratch, cgroup=self._cgroup)
            wire.send(self._sock, start)
            self.alive = True
        except (OSError, WireError, KeyError, ValueError) as err:
            self.close()
            raise SandboxDied(memory=False, cell=None) from err

    @property
    def isolation(self) -> str:
        """How this sandbox is confined, recorded with every result."""
        return isolation_level(isolated=self.isolated, cgroup=self._cgroup, drop_uid=self.drop_uid)

    def cpu_used(self) -> float:
        """CPU seconds the sandbox and every process it started have used."""
        used = self._cgroup.cpu_used() if self._cgroup is not None else None
        if used is None and self._watchdog is not None and self._watchdog.memory:
            used = self._watchdog.cpu_used
        if used is None and self._tree is not None:  # a cgroup without CPU accounting
            used = self._tree.cpu_used(self._tree.scan())
        return used or 0.0

    def send(self, message: dict[str, Any], blobs: list[bytes]) -> int:
        """Send a request without waiting; returns its id for ``wait``."""
        if not self.alive:
            raise SandboxDied(memory=False, cell=None)
        self._next_id += 1
        if message.get("op") == "load":
            self._loads.add(self._next_id)
        try:
            wire.send(self._sock, {**message, "id": self._next_id}, blobs)
        except (OSError, WireError) as err:
            raise self._failure(err, None) from None
        return self._next_id

    def wait(
        self, request_id: int, *, timeout: float, limit: Limit
    ) -> tuple[dict[str, Any], list[bytes]]:
        """The reply to ``request_id``, noting load progress and problems on the
        way; past ``timeout`` a ``SandboxTimeout`` naming ``limit``, the limit
        that set it. Only the frames the protocol expects for that request are taken.
        The deadline counts the sandbox's own CPU time, with wall time as a
        generous backstop (see ``_Deadline``)."""
        deadline = _Deadline(self, timeout)
        loading = request_id in self._loads
        cell: int | None = None
        try:
            while True:
                deadline.wait_readable(self._sock)
                reply, reply_blobs = wire.receive(
                    self._sock, deadline=deadline.backstop, max_bytes=self.limits.result_bytes
                )
                op = reply.get("op")
                if op == "progress" and loading and type(reply.get("cell")) is int:
                    cell = reply["cell"]
                    continue
                if op == "problem":
                    self._note_problem(reply.get("problem"), loading)
                    continue
                if op is not None or reply.get("id") != request_id:
                    raise _Forged("an answer to a question that was not asked")
                return reply, reply_blobs
        except (OSError, WireError, KeyError, ValueError, TypeError) as err:
            raise self._failure(err, cell, SandboxTimeout(timeout, cell, limit)) from None

    def _note_problem(self, problem: Any, loading: bool) -> None:
        allowed = LOAD_PROBLEM_KINDS if loading else CALL_PROBLEM_KINDS
        if not isinstance(problem, dict) or problem.get("kind") not in allowed:
            raise _Forged("a notice the sandbox may not send")
        self._problem_count += 1
        if self._problem_count > MAX_PROBLEMS:
            raise _Forged(f"more than {MAX_PROBLEMS} notices")
        self.problems.append(problem)

    def _failure(
        self, err: Exception, cell: int | None, timeout: SandboxTimeout | None = None
    ) -> SandboxFailure:
        """Kill the sandbox and say why it could not answer (``timeout``: what
        a deadline that passed while waiting means)."""
        memory = (self._cgroup is not None and self._cgroup.out_of_memory()) or (
            self._watchdog is not None and self._watchdog.exceeded == "memory"
        )
        scratch = self._watchdog is not None and self._watchdog.exceeded == "scratch"
        self.close()
        if isinstance(err, FrameTimeout) and timeout is not None:
            # a deadline that passed while the kernel was killing it for memory
            return SandboxDied(memory=True, cell=cell) if memory else timeout
        if isinstance(err, (PeerClosed, OSError)):  # OSError: sent into a dead sandbox
            return SandboxDied(memory=memory, cell=cell, scratch=scratch)
        if isinstance(err, _Forged):
            return SandboxForged(str(err))
        return SandboxRefused(str(err))

    def close(self) -> None:
        """Kill the sandbox and everything it started (its scratch dir stays)."""
        self.alive = False
        with contextlib.suppress(OSError):
            self._sock.close()
        if self._watchdog is not None:
            self._watchdog.stop()
        if self._cgroup is not None:
            self._cgroup.remove()
        elif self.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, 9)
            if self._tree is not None:
                self._tree.kill()


BACKSTOP = 3.0
"""a call may take this many times its timeout in wall time while waiting
for its share of the CPU; past that it times out whatever it used"""


class _Deadline:
    """When a request times out: once it has had ``timeout`` seconds both of
    wall time and of the sandbox's own CPU time, so that a neighbour's load
    (which slows the sandbox's CPU clock) does not cost the student a
    timeout; a sandbox that sleeps or waits uses no CPU and meets the wall
    backstop at ``BACKSTOP`` times the timeout."""

    def __init__(self, sandbox: SandboxClient, timeout: float) -> None:
        self.sandbox = sandbox
        self.timeout = timeout
        self.start = time.monotonic()
        self.backstop = self.start + timeout * BACKSTOP
        self.cpu_start: float | None = None
        """the sandbox's CPU time when the request was sent, read only if needed"""

    def wait_readable(self, sock: socket.socket) -> None:
        """Return once ``sock`` has data; raise ``FrameTimeout`` past the deadline."""
        self.cpu_start = self.sandbox.cpu_used() if self.cpu_start is None else self.cpu_start
        while True:
            now = time.monotonic()
            if now >= self.backstop:
                raise FrameTimeout("no answer before the deadline")
            wall_left = self.start + self.timeout - now
            if wall_left <= 0 and self.sandbox.cpu_used() - self.cpu_start >= self.timeout:
                raise FrameTimeout("no answer before the deadline")
            wait = wall_left if wall_left > 0 else min(0.1, self.backstop - now)
            if select.select([sock], [], [], wait)[0]:
                return
