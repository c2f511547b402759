"""Confining a sandbox with Linux's own mechanisms, from inside the forked
sandbox process, before any student code runs: new namespaces (mount, PID,
network, IPC, UTS), a new root that holds only read-only binds of what
Python and TensorFlow need plus the writable scratch folder, a fresh
``/proc``, and an unprivileged user with no way back to privileges.

Standard library only: the sandbox worker imports it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys

SANDBOX_UID = 65534
"""nobody: owns the scratch folder and every process of every sandbox"""

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            None if source is None else source.encode(),
            target.encode(),
            None if fstype is None else fstype.encode(),
            ctypes.c_ulong(flags),
            data.encode() or None,
        ),
        f"mount {target}",
    )


def unshare() -> None:
    """Enter new mount, PID, network, IPC and UTS namespaces.

    The PID namespace applies to this process's next child, which becomes
    its PID 1: when that child dies, the kernel kills every process left in
    the namespace (double forks and setsid included)."""
    _check(_libc.unshare(NAMESPACES), "unshare")


def readonly_paths() -> list[str]:
    """What the sandbox may read: system directories and the Python in use."""
    paths = [p for p in SYSTEM_DIRS if os.path.lexists(p)]
    for prefix in {sys.base_prefix, sys.prefix, sys.exec_prefix}:
        real = os.path.realpath(prefix)
        if not any(real == p or real.startswith(p + "/") for p in paths):
            paths.append(real)
    return paths


def build_root(root: str, scratch: str, data: str | None = None) -> None:
    """Mount a new root at ``root``: read-only binds, devices, a writable
    scratch folder at its own path, the course's ``data`` folder read-only
    at its own path, then switch to it."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tfgrade", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    for path in readonly_paths():
        target = root + path
        if os.path.islink(path):  # /bin -> usr/bin on merged-/usr systems
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
            continue
        os.makedirs(target, exist_ok=True)
        _mount(path, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    for name in (*DEVICES, *_gpu_devices()):
        target = f"{root}/dev/{name}"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "w").close()
        _mount(f"/dev/{name}", target, None, MS_BIND)
    os.makedirs(f"{root}/dev/shm")
    _mount("shm", f"{root}/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    os.makedirs(root + scratch, exist_ok=True)
    _mount(scratch, root + scratch, None, MS_BIND)
    if data:
        os.makedirs(root + data, exist_ok=True)
        _mount(data, root + data, None, MS_BIND | MS_REC)
        _mount(None, root + data, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.makedirs(f"{root}/proc")
    os.makedirs(f"{root}/sys")
    _mount("/sys", f"{root}/sys", None, MS_BIND)  # not recursive: no cgroups inside
    _mount(None, f"{root}/sys", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    os.makedirs(f"{root}/.old")
    _pivot(root, f"{root}/.old")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _gpu_devices() -> list[str]:
    """NVIDIA device nodes, bound in on a GPU runner so CUDA works inside."""
    with contextlib.suppress(OSError):
        return sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))
    return []


def _pivot(new: str, old: str) -> None:
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(f"pivot_root: unsupported machine {platform.machine()}")
    _check(_libc.syscall(number, new.encode(), old.encode()), "pivot_root")


def mount_proc() -> None:
    """A /proc that shows only this PID namespace's processes."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def drop_privileges() -> None:
    """Become ``nobody`` for good: no groups, no capabilities, no setuid gains."""
    os.setgroups([])
    os.setgid(SANDBOX_UID)
    os.setuid(SANDBOX_UID)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def probe() -> str:
    """Why full isolation is not available here, or "" when it is.

    Tried in a throwaway child, so the caller's own namespaces are untouched."""
    if os.geteuid() != 0:
        return "the grader is not running as root, so it cannot create namespaces"
    if platform.machine() not in _PIVOT_ROOT:
        return f"pivot_root is not known on {platform.machine()}"
    pid = os.fork()
    if pid == 0:
        try:
            unshare()
        except OSError:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return "this kernel or container does not allow new namespaces (unshare failed)"
    return ""
