"""Limits on a sandbox: per-assignment settings and the cgroup that enforces
memory and lets the trusted side kill every process a submission started.

Address-space rlimits break TensorFlow (it reserves far more than it uses),
so memory is capped with a cgroup: v2 (unified) or v1 (``memory`` and
``pids`` hierarchies), whichever the machine has. Without write access to
either, sandboxes run without a memory cap and the isolation level says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """What one submission may use; set per assignment in ``assignment.toml``."""

    call_timeout: float = 10.0
    """seconds one call into student code may take (loading its cells counts as one call)"""
    load_timeout: float = 60.0
    """seconds the notebook's cells may take to run before any test calls them"""
    total_timeout: float = 300.0
    """seconds all of a submission's calls may take together"""
    memory_mb: int = 2048
    """memory for the sandbox and every process it starts"""
    max_processes: int = 256
    """processes and threads the sandbox may have at once (TensorFlow starts a
    few per core)"""
    file_mb: int = 64
    """size of the largest file the sandbox may write"""
    output_kb: int = 64
    """what is kept of the text the student's code prints, per call"""
    result_mb: int = 32
    """the largest answer one call may send back (arrays included)"""
    cpu_time: float | None = None
    """CPU seconds one sandbox process may use (an rlimit); by default twice
    ``total_timeout``, a backstop behind the wall-clock deadlines (TensorFlow
    uses several cores at once)"""
    data: str | None = None
    """the course's data folder (absolute), which the sandbox may read"""

    @property
    def result_bytes(self) -> int:
        return self.result_mb * 2**20

    @property
    def cpu_seconds(self) -> int:
        return int(self.cpu_time if self.cpu_time is not None else self.total_timeout * 2 + 10)


def _own_path(controller: str) -> str:
    """This process's cgroup path in a v1 hierarchy ('' for v2's unified one)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path.lstrip("/")
    return ""


class Cgroup:
    """One sandbox's cgroup: memory cap, process cap, kill-all, OOM check."""

    def __init__(self, dirs: list[Path], version: int) -> None:
        self.dirs = dirs
        self.version = version

    @classmethod
    def create(cls, name: str, limits: Limits) -> Cgroup | None:
        """Make the cgroup, or return None when this machine does not let us."""
        try:
            if (CGROUP_ROOT / "cgroup.controllers").exists():
                own = CGROUP_ROOT / _own_path("")
                group = own / "tfgrade" / name
                group.mkdir(parents=True, exist_ok=True)
                for parent in (own, own / "tfgrade"):  # v2: controllers are enabled top-down
                    with contextlib.suppress(OSError):
                        (parent / "cgroup.subtree_control").write_text("+memory +pids")
                (group / "memory.max").write_text(str(limits.memory_mb * 2**20))
                (group / "memory.swap.max").write_text("0")
                (group / "pids.max").write_text(str(limits.max_processes))
                return cls([group], 2)
            memory = CGROUP_ROOT / "memory" / _own_path("memory") / "tfgrade" / name
            pids = CGROUP_ROOT / "pids" / _own_path("pids") / "tfgrade" / name
            memory.mkdir(parents=True, exist_ok=True)
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
            with contextlib.suppress(OSError):  # only where swap accounting is on
                (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
            dirs = [memory]
            with contextlib.suppress(OSError):
                pids.mkdir(parents=True, exist_ok=True)
                (pids / "pids.max").write_text(str(limits.max_processes))
                dirs.append(pids)
            return cls(dirs, 1)
        except OSError:
            return None

    @staticmethod
    def sweep(max_age: float = 3600.0) -> None:
        """Remove sandbox cgroups left by a grader that was killed: only empty
        ones (the kernel refuses others) not touched for ``max_age`` seconds."""
        now = time.time()
        for controller in ("", "memory", "pids"):
            base = CGROUP_ROOT / controller / _own_path(controller) / "tfgrade"
            with contextlib.suppress(OSError):
                for group in base.glob("sandbox-*"):
                    if now - group.stat().st_mtime > max_age:
                        with contextlib.suppress(OSError):
                            group.rmdir()

    @classmethod
    def remove_for(cls, pid: int) -> None:
        """Kill and remove the cgroup of sandbox ``pid`` if it is still there
        (its grading process was killed before it could)."""
        name = f"sandbox-{pid}"
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            dirs = [CGROUP_ROOT / _own_path("") / "tfgrade" / name]
            version = 2
        else:
            dirs = [CGROUP_ROOT / c / _own_path(c) / "tfgrade" / name for c in ("memory", "pids")]
            version = 1
        existing = [d for d in dirs if d.is_dir()]
        if existing:
            cls(existing, version).remove()

    def add(self, pid: int) -> None:
        for group in self.dirs:
            (group / "cgroup.procs").write_text(str(pid))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for group in self.dirs:
            with contextlib.suppress(OSError):
                found.update(int(p) for p in (group / "cgroup.procs").read_text().split())
        return found

    def kill(self) -> None:
        """SIGKILL every process in the group, including ones that escaped the session."""
        kill_file = self.dirs[0] / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process here for going over the memory cap."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        with contextlib.suppress(OSError):
            for line in (self.dirs[0] / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        return False

    def remove(self) -> None:
        self.kill()
        for group in self.dirs:
            for _ in range(20):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.02)
