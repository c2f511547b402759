"""Limits on a sandbox: per-assignment settings, and what enforces them.

Address-space rlimits break TensorFlow (it reserves far more than it uses),
so memory is capped with a cgroup: v2 (unified; as root, or as a normal
user in a subtree systemd delegates) or v1 (``memory``, ``pids``, ``cpu``
and ``cpuacct`` hierarchies), whichever the machine lets us write. Without
one, a ``Watchdog`` thread on the trusted side sums the memory of every
process in the sandbox and kills them all past the cap; the process cap is
then an ``RLIMIT_NPROC``, which the kernel counts per user namespace.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import struct
import termios
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.errors import TooDeep
from grader.sandbox.host import trees

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """What one submission may use; set per assignment in ``assignment.toml``."""

    call_timeout: float = 10.0
    """seconds one call into student code may take (loading its cells counts as one call)"""
    call_timeout_multiple: float | None = None
    """when set, a call may take this many times the reference solution's time
    on the same test (``grader.reference_times``), at least
    ``call_timeout_floor``; ``call_timeout`` stays the ceiling"""
    call_timeout_floor: float = 1.0
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

    scratch_mb: int = 256
    """disk the files in the scratch folder may take together"""
    scratch_files: int = 10_000
    """files and folders the scratch folder may hold"""
    cpus: float = 1.0
    """cores the sandbox and every process it starts may use at once (a
    cgroup CPU quota, where the machine has one)"""

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


CPU_PERIOD_US = 100_000
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


class Cgroup:
    """One sandbox's cgroup: memory, process and CPU caps, kill-all, OOM
    check, CPU time used."""

    def __init__(self, dirs: list[Path], version: int, cpu: Path | None = None) -> None:
        self.dirs = dirs
        self.version = version
        self.cpu = cpu
        """where the CPU time used is counted, when the machine has a CPU controller"""

    @classmethod
    def create(cls, name: str, limits: Limits) -> Cgroup | None:
        """Make the cgroup, or return None when this machine does not let us."""
        try:
            if (CGROUP_ROOT / "cgroup.controllers").exists():
                return cls._create_v2(name, limits)
            return cls._create_v1(name, limits)
        except OSError:
            return None

    @classmethod
    def _create_v2(cls, name: str, limits: Limits) -> Cgroup:
        own = CGROUP_ROOT / _own_path("")
        group = own / "tfgrade" / name
        group.mkdir(parents=True, exist_ok=True)
        _enable_v2_controllers(own)
        (group / "memory.max").write_text(str(limits.memory_mb * 2**20))
        (group / "memory.swap.max").write_text("0")
        (group / "pids.max").write_text(str(limits.max_processes))
        cpu = None
        with contextlib.suppress(OSError):
            quota = int(limits.cpus * CPU_PERIOD_US)
            (group / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
            cpu = group
        return cls([group], 2, cpu)

    @classmethod
    def _create_v1(cls, name: str, limits: Limits) -> Cgroup:
        memory = CGROUP_ROOT / "memory" / _own_path("memory") / "tfgrade" / name
        memory.mkdir(parents=True, exist_ok=True)
        (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
        with contextlib.suppress(OSError):  # only where swap accounting is on
            (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
        dirs = [memory]
        with contextlib.suppress(OSError):
            pids = CGROUP_ROOT / "pids" / _own_path("pids") / "tfgrade" / name
            pids.mkdir(parents=True, exist_ok=True)
            (pids / "pids.max").write_text(str(limits.max_processes))
            dirs.append(pids)
        cpu = None
        with contextlib.suppress(OSError):  # "cpu" and "cpuacct" may be one hierarchy
            quota = CGROUP_ROOT / "cpu" / _own_path("cpu") / "tfgrade" / name
            usage = CGROUP_ROOT / "cpuacct" / _own_path("cpuacct") / "tfgrade" / name
            for group in dict.fromkeys((quota.resolve(), usage.resolve())):
                group.mkdir(parents=True, exist_ok=True)
                dirs.append(group)
            (quota / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (quota / "cpu.cfs_quota_us").write_text(str(int(limits.cpus * CPU_PERIOD_US)))
            cpu = usage
        return cls(dirs, 1, cpu)

    @staticmethod
    def sweep(max_age: float = 3600.0) -> None:
        """Remove sandbox cgroups left by a grader that was killed: only empty
        ones (the kernel refuses others) not touched for ``max_age`` seconds."""
        now = time.time()
        for controller in ("", "memory", "pids", "cpu", "cpuacct"):
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

    def cpu_used(self) -> float | None:
        """CPU seconds every process in the group used so far (None: not counted)."""
        if self.cpu is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            if self.version == 1:
                return int((self.cpu / "cpuacct.usage").read_text()) / 1e9
            for line in (self.cpu / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        return None

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

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process here for going over the memory
        cap, or is at it: its out-of-memory handling can take seconds (the
        first report it logs in a while goes to a slow console), so a deadline
        may pass while it runs, and the verdict is still memory."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        signs = ("oom_kill", "oom") if self.version == 2 else ("oom_kill", "under_oom")
        with contextlib.suppress(OSError, ValueError):
            for line in (self.dirs[0] / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key in signs and int(value) > 0:
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


def _enable_v2_controllers(own: Path) -> None:
    """Turn on the memory, pids and cpu controllers for our sandboxes' groups.

    v2 enables controllers top-down, and only in a group with no processes
    of its own (the root excepted): in a subtree systemd delegated to us
    (``systemd-run --user --scope -p Delegate=yes``) the grader itself sits
    in ``own``, so it first moves every process there into a leaf."""
    for parent in (own, own / "tfgrade"):
        for controller in ("memory", "pids", "cpu"):
            try:
                (parent / "cgroup.subtree_control").write_text(f"+{controller}")
            except OSError as err:
                if err.errno != errno.EBUSY or parent != own or own == CGROUP_ROOT:
                    continue
                leaf = own / "tfgrade-grader"
                leaf.mkdir(exist_ok=True)
                for pid in (own / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):  # a process that just ended
                        (leaf / "cgroup.procs").write_text(pid)
                with contextlib.suppress(OSError):
                    (parent / "cgroup.subtree_control").write_text(f"+{controller}")


def delegated_v2() -> Path | None:
    """Our own cgroup v2 group when we may create groups in it with memory
    and pids controllers (root, or a subtree delegated to this user)."""
    if not (CGROUP_ROOT / "cgroup.controllers").exists():
        return None
    own = CGROUP_ROOT / _own_path("")
    with contextlib.suppress(OSError):
        available = (own / "cgroup.controllers").read_text().split()
        if {"memory", "pids"} <= set(available) and os.access(own, os.W_OK):
            return own
    return None


def _real_uid(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


class ProcessTree:
    """Every process descended from one pid, found through ``/proc``.

    A sandbox's PID namespace has the sandbox's own child as its init, which
    adopts every orphan, so the tree is the whole namespace: double forks
    and ``setsid`` do not leave it."""

    def __init__(self, root: int) -> None:
        self.root = root

    def scan(self) -> dict[int, list[str]]:
        """The tree's processes, parents first, each with its ``/proc/PID/stat``
        fields from the state on (index 1: parent, 11-14: CPU ticks, 21: resident pages)."""
        stats: dict[int, list[str]] = {}
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    pid = int(entry.name)
                    stats[pid] = stat_fields(pid)
                    children.setdefault(int(stats[pid][1]), []).append(pid)
        found: dict[int, list[str]] = {}
        queue = [self.root]
        while queue:
            pid = queue.pop(0)
            if pid in stats:
                found[pid] = stats[pid]
                queue.extend(children.get(pid, []))
        return found

    def kill(
        self, *, spare_root: bool = False, uid: int | None = None, rounds: int = 50
    ) -> list[int]:
        """SIGKILL the tree (its processes of ``uid`` only, when given) in
        rounds until none is left; those still alive after ``rounds``.
        ``spare_root`` keeps the root itself, a subreaper that must go on
        adopting orphans. In a sandbox, killing the namespace's init ends the rest."""
        left: list[int] = []
        for _ in range(rounds):
            left = [
                pid
                for pid, fields in self.scan().items()
                if fields[0] != "Z"
                and not (spare_root and pid == self.root)
                and (uid is None or _real_uid(pid) == uid)
            ]
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        return left

    @staticmethod
    def cpu_used(found: dict[int, list[str]]) -> float:
        """CPU seconds of scanned processes and of the children they reaped."""
        return sum(int(t) for fields in found.values() for t in fields[11:15]) / TICKS

    @staticmethod
    def memory(pids: Iterable[int]) -> int:
        """Bytes of memory ``pids`` use: resident pages, with pages shared
        between processes split among them (PSS, so that sharing pages
        between the sandbox's own processes cannot hide them). A process
        that made itself unreadable counts its whole resident size."""
        total = 0
        for pid in pids:
            try:
                total += _proportional(pid)
            except PermissionError:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int(stat_fields(pid)[21]) * PAGE
            except (OSError, ValueError):  # ended meanwhile
                continue
        return total


def stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (field 3 onwards)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _proportional(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "Pss":
            return int(value.split()[0]) * 1024
    return 0


def scratch_over(folder: Path, max_bytes: int, max_entries: int, held: int = 0) -> bool:
    """Whether ``folder`` holds more than ``max_bytes`` of disk blocks (with
    ``held`` more in files deleted but held open) or more than ``max_entries``
    files and folders, or nests deeper than ``trees.MAX_DEPTH``; stops
    reading as soon as it does."""
    used, entries = held, 0
    with contextlib.closing(trees.walk(folder)) as found:
        try:
            for entry in found:
                entries += 1
                used += entry.info.st_blocks * 512
                if entries > max_entries or used > max_bytes:
                    return True
        except TooDeep:
            return True
    return used > max_bytes


@dataclass(frozen=True)
class Held:
    """What a sandbox's processes hold through descriptors, which neither a
    walk of its scratch folder nor their PSS shows."""

    deleted: int
    """bytes of files deleted from the scratch folder's filesystem but still open"""
    memory: int
    """bytes of memory files (memfds; deleted tmpfs files) and of pipes holding data"""
    hidden: bool
    """a process's descriptors could not be read (it made itself undumpable)"""

    @classmethod
    def scan(cls, pids: Iterable[int], scratch_device: int) -> Held:
        """Read every descriptor of ``pids`` through ``/proc/PID/fd``; a file
        open many times counts once. A pipe holding data counts its whole
        capacity, which bounds the pages it may pin."""
        seen: set[tuple[int, int]] = set()
        deleted, memory, hidden = 0, 0, False
        for pid in pids:
            try:
                descriptors = [e.path for e in os.scandir(f"/proc/{pid}/fd")]
            except PermissionError:
                hidden = True
                continue
            except OSError:  # ended meanwhile
                continue
            for path in descriptors:
                with contextlib.suppress(OSError):
                    info = os.stat(path)
                    if (info.st_dev, info.st_ino) in seen:
                        continue
                    seen.add((info.st_dev, info.st_ino))
                    if stat.S_ISREG(info.st_mode) and info.st_nlink == 0:
                        if info.st_dev == scratch_device:
                            deleted += info.st_blocks * 512
                        else:
                            memory += info.st_blocks * 512
                    elif stat.S_ISFIFO(info.st_mode):
                        memory += _pipe_held(path)
        return cls(deleted, memory, hidden)


def _pipe_held(path: str) -> int:
    """The capacity of the pipe at ``path`` when it holds data, else 0.
    Opened for reading without blocking, and never read."""
    pipe = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        waiting = struct.unpack("i", fcntl.ioctl(pipe, termios.FIONREAD, b"\0" * 4))[0]
        return fcntl.fcntl(pipe, F_GETPIPE_SZ) if waiting else 0
    finally:
        os.close(pipe)


F_GETPIPE_SZ = 1032
OPEN_FILES = 256
"""descriptors one sandbox process may hold (``RLIMIT_NOFILE``): TensorFlow
training a Keras model holds 8 on a CPU; the cap bounds how many deleted
files and pipes one process can keep"""


class Watchdog:
    """What no kernel mechanism enforces for a normal user: a thread on the
    trusted side that polls the sandbox and kills it past a cap.

    - The scratch folder's size and file count (always: it is an ordinary
      folder, kept between a submission's sandboxes and read after them),
      with the files deleted from it that its processes still hold open.
    - Without a cgroup, the memory of the sandbox's process tree, and its
      CPU time. Resident sizes are cheap to read and never less than PSS,
      so PSS (which walks page tables) is read only when they add up to more
      than the cap: at once when they exceed it by more than the pages the
      processes shared at the last reading, else at most every ``PSS_EVERY``.
      Memory files (memfds) and pipes holding data count too (``Held``).
    - A process whose descriptors cannot be read counts as over the cap.

    Between polls a sandbox can go over by what it allocates or writes in a
    poll's period: ``interval``, or as long as the last poll took when that
    is longer (docs/design.md gives the window measured). A scratch folder
    over its quota is emptied after the kill, so that the submission's next
    sandbox can run."""

    PSS_EVERY = 1.0
    """seconds between PSS readings, which walk every process's page tables"""

    def __init__(
        self,
        tree: ProcessTree,
        limits: Limits,
        scratch: Path,
        *,
        cgroup: Cgroup | None,
        interval: float = 0.2,
    ) -> None:
        """``cgroup``: the sandbox's, which caps its memory and lists its
        processes cheaply; None: this watchdog caps memory."""
        self.tree = tree
        self.limits = limits
        self.scratch = scratch
        self.cgroup = cgroup
        self.memory = cgroup is None
        """whether this watchdog caps memory (no cgroup does)"""
        self.interval = interval
        self.exceeded = ""
        """what the watchdog killed the sandbox for: "memory", "scratch" or "" """
        self.cpu_used = 0.0
        """CPU seconds the tree had used at the last poll (reaped children included)"""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="tfgrade-watchdog")
        self._thread.start()

    def _watch(self) -> None:
        limit = self.limits.memory_mb * 2**20
        device = os.stat(self.scratch).st_dev
        took, measured, shared = 0.0, 0.0, 0
        while not self._stop.wait(max(self.interval, took)):  # at most half a core
            began = time.monotonic()
            found = self.tree.scan() if self.cgroup is None else {}
            held = Held.scan(found if self.cgroup is None else self.cgroup.pids(), device)
            if held.hidden:
                self._kill("memory" if self.memory else "scratch")
                return
            if self.memory:
                self.cpu_used = max(self.cpu_used, self.tree.cpu_used(found))
                resident = sum(int(fields[21]) for fields in found.values()) * PAGE
                # PSS of hundreds of processes takes a while: once a second at most,
                # unless the resident sizes are over by more than what was shared
                due = resident - shared + held.memory > limit or began - measured >= self.PSS_EVERY
                if resident + held.memory > limit and due:
                    measured = began
                    proportional = self.tree.memory(found)
                    shared = max(0, resident - proportional)
                    if proportional + held.memory > limit:
                        self._kill("memory")
                        return
            if scratch_over(
                self.scratch,
                self.limits.scratch_mb * 2**20,
                self.limits.scratch_files,
                held.deleted,
            ):
                self._kill("scratch")
                trees.empty(self.scratch)
                return
            took = time.monotonic() - began

    def _kill(self, reason: str) -> None:
        self.exceeded = reason
        self.tree.kill()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
