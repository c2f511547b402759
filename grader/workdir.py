"""Where a grading run keeps what student code leaves behind, so that it
is removed even when a process is killed.

A run owns ``$TMPDIR/tfgrade-run-PID-*/``; each grading process gets a
folder in it holding its sandboxes' scratch folders and a list of their
pids. When a grading process ends, however it ends (killed over its
budget included), the run kills the sandboxes it listed and removes the
folder. A run that was itself killed is cleaned by the next one's sweep,
which knows it is dead because its lock is free: the kernel releases a
dead process's locks, whatever pid namespace either run is in (a pid is
only a name inside its own, and gets reused).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from grader.errors import GraderError
from grader.sandbox.host import trees
from grader.sandbox.host.limits import Cgroup, stat_fields

_PREFIX = "tfgrade-run-"
_OWNER = re.compile(rf"^{_PREFIX}(\d+)-")
LOCK_FILE = "lock"
"""in a run's folder: locked by the run while it lives"""
PIDS_FILE = "sandboxes"
"""in a grading process's folder: one sandbox per line, its pid and start time"""


class RunDir:
    """The temporary folder of one ``grader grade`` run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._numbers = itertools.count(1)
        self._restore: list[str | None] = []
        """the temporary folder this process used before the run (when it took it over)"""
        self._lock: int | None = None
        """the descriptor holding LOCK_FILE's lock (a run this process created)"""

    @classmethod
    def create(cls) -> RunDir:
        """Make the run's folder and make it this process's temporary folder
        (``tempfile``'s, which TensorFlow's AutoGraph writes its generated
        modules to and removes only at a clean exit), until ``remove``."""
        path = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
        path.chmod(0o711)  # sandboxes that dropped to another uid must reach their scratch
        run = cls(path)
        run._lock = os.open(path / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)  # closed on exec
        fcntl.flock(run._lock, fcntl.LOCK_EX)
        (path / "tmp").mkdir(mode=0o700)
        run._restore.append(tempfile.tempdir)
        tempfile.tempdir = str(path / "tmp")
        return run

    def child(self) -> Path:
        """A fresh folder for one grading process."""
        folder = self.path / f"g{next(self._numbers)}"
        folder.mkdir(mode=0o711)
        return folder

    def check_space(self, scratch: int, sandboxes: int) -> None:
        """Stop the batch when the disk holding the scratch folders has less
        free than ``sandboxes`` (as many as may run at once) times a
        sandbox's ``scratch`` bytes: a sandbox that then fails to write would
        be charged for a full disk that is not its doing."""
        info = os.statvfs(self.path)
        free = info.f_bavail * info.f_frsize
        if free < scratch * sandboxes:
            at_once = "a sandbox" if sandboxes == 1 else f"each of the {sandboxes} sandboxes"
            raise GraderError(
                f"the disk holding {self.path.parent} (the temporary folder, $TMPDIR) has "
                f"{free // 2**20} MiB free, less than the scratch_mb ({scratch // 2**20} MiB) "
                f"of {at_once} that may run at once (--jobs), so students would be charged for "
                "a full disk. Grades recorded before this are kept; free space there, point "
                "TMPDIR to a larger disk or grade with fewer --jobs, and run the same command "
                "again to finish."
            )

    def remove(self) -> None:
        if self._restore:
            tempfile.tempdir = self._restore.pop()
        for folder in self.path.glob("g*"):
            self.clean_child(folder)
        trees.remove(self.path)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    @staticmethod
    def clean_child(folder: Path) -> None:
        """Kill the sandboxes a grading process listed, then remove its folder."""
        with contextlib.suppress(OSError):
            for line in (folder / PIDS_FILE).read_text().splitlines():
                pid, _, started = line.partition(" ")
                if pid.isdigit() and started != "gone" and _start_time(int(pid)) == started:
                    _kill_sandbox(int(pid))
        trees.remove(folder)

    @staticmethod
    def sweep() -> None:
        """Remove what runs that were killed left behind (theirs only: folders
        of this user whose run is no longer alive)."""
        base = Path(tempfile.gettempdir())
        with contextlib.suppress(OSError):
            for folder in base.glob(f"{_PREFIX}*"):
                match = _OWNER.match(folder.name)
                if match is None or folder.is_symlink():
                    continue
                if folder.stat().st_uid != os.geteuid():
                    continue
                with _dead_run(folder, int(match.group(1))) as dead:
                    if dead:
                        RunDir(folder).remove()


def register_sandbox(folder: Path, pid: int) -> None:
    """Note a sandbox's pid in its grading process's folder, before student
    code runs in it."""
    with (folder / PIDS_FILE).open("a") as handle:
        handle.write(f"{pid} {_start_time(pid)}\n")


def _kill_sandbox(pid: int) -> None:
    """SIGKILL a sandbox, its process group, and its cgroup's processes."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)
    Cgroup.remove_for(pid)


def _start_time(pid: int) -> str:
    """When a process started (clock ticks since boot): with its pid, a name
    for it that a later process reusing the pid does not share."""
    try:
        return stat_fields(pid)[19]
    except (OSError, ValueError, IndexError):
        return "gone"


@contextlib.contextmanager
def _dead_run(folder: Path, pid: int) -> Iterator[bool]:
    """Whether the run that made ``folder`` is dead, holding its lock while
    the caller removes it. A folder with no lock file (its run is between
    making the folder and locking it) is judged by its pid."""
    try:
        lock = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        yield not _alive(pid)
        return
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(lock)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
