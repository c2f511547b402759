"""Confining a sandbox with Linux's own mechanisms, from inside the forked
sandbox process, before any student code runs: new namespaces (mount, PID,
network, IPC, UTS), a new root that holds only read-only binds of what
Python and TensorFlow need plus the writable scratch folder, a fresh
``/proc``, and an unprivileged user with no way back to privileges.

As root the sandbox mounts with root's own powers, then becomes ``nobody``.
As a normal user it first enters a user namespace that maps the grader's
uid to 0 there, which gives it the capabilities to build the same root (the
kernel locks every mount it copied, so none can be made writable again).
Either way it ends in a nested user namespace of its own as uid 65534 with
no capabilities: its files are owned outside by ``nobody`` (root) or by the
grader's own uid (normal user), and its user keyrings are its own.

Standard library only: the sandbox worker imports it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys
import tempfile

SANDBOX_UID = 65534
"""nobody: owns the scratch folder and every process of every sandbox"""

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
MNT_DETACH = 2
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 4, 38, 24
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
KEYCTL_JOIN_SESSION_KEYRING = 1
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_KEYCTL = {"x86_64": 250, "aarch64": 219}
_CAPABILITY_V3 = 0x20080522
_STATVFS_FLAGS = (  # statvfs bit -> mount flag, for flags the kernel locks on copied mounts
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NODIRATIME, MS_NODIRATIME),
)

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


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)


def enter_user_namespace(inner: int) -> None:
    """Enter a new user namespace in which ``inner`` is this process's own
    uid and gid (the only mapping an unprivileged process may write).

    The process has every capability in it until ``drop_privileges``, and
    none outside it."""
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    _write("/proc/self/uid_map", f"{inner} {uid} 1")
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/gid_map", f"{inner} {gid} 1")


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


def _bind_readonly(path: str, target: str) -> None:
    """Bind ``path`` at ``target`` read-only and nosuid, keeping the flags
    the kernel locks on a mount copied into a user namespace (nodev, noexec,
    atime), which a remount may not clear."""
    _mount(path, target, None, MS_BIND | MS_REC)
    found = os.statvfs(path).f_flag
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID
    flags |= sum(mount for bit, mount in _STATVFS_FLAGS if found & bit)
    if found & os.ST_NOATIME:
        flags |= MS_NOATIME
    elif found & os.ST_RELATIME:
        flags |= MS_RELATIME
    else:
        flags |= MS_STRICTATIME
    _mount(None, target, None, flags)


def build_root(root: str, scratch: str, devices: list[str], data: str | None = None) -> None:
    """Mount a new root at ``root``: read-only binds, ``devices`` (names
    under /dev), a writable scratch folder at its own path, the course's
    ``data`` folder read-only at its own path, then switch to it."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tfgrade", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    for path in readonly_paths():
        target = root + path
        if os.path.islink(path):  # /bin -> usr/bin on merged-/usr systems
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
            continue
        os.makedirs(target, exist_ok=True)
        _bind_readonly(path, target)
    for name in (*DEVICES, *devices):
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
        _bind_readonly(data, root + data)
    os.makedirs(f"{root}/proc")
    # a /proc of this PID namespace; mounted while the old one is still in view,
    # as the kernel requires of a user namespace
    _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(f"{root}/sys")
    if is_host_root():
        _mount("/sys", f"{root}/sys", None, MS_BIND)  # not recursive: no cgroups inside
        _mount(None, f"{root}/sys", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    else:  # in a user namespace /sys's cgroup mounts are locked to it: a fresh sysfs has none
        _mount("sysfs", f"{root}/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(f"{root}/.old")
    _pivot(root, f"{root}/.old")
    os.chdir("/")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


GPU_CONTROL_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
NVIDIA_DRIVER = "/proc/driver/nvidia/gpus"


def gpu_devices(listing: list[str], visible: str | None, minors: list[int]) -> list[str]:
    """The NVIDIA device nodes (names in ``listing``, /dev's entries) a
    sandbox gets: its zygote's GPU and the control nodes CUDA needs, so an
    environment variable the student changes cannot reach another GPU.

    ``visible`` is the zygote's pinned ``CUDA_VISIBLE_DEVICES``; CUDA id
    ``i`` is the i-th of ``minors``, the driver's device minors in PCI bus
    order (CUDA id = minor when the driver does not list them)."""
    ids = [int(v) for v in (visible or "").split(",") if v.strip().isdigit()]
    wanted = {f"nvidia{minors[i] if i < len(minors) else i}" for i in ids}
    if not wanted:
        return []
    return sorted(n for n in listing if n in wanted or n in GPU_CONTROL_DEVICES)


def nvidia_minors(driver: str = NVIDIA_DRIVER) -> list[int]:
    """Device minors of the GPUs the NVIDIA driver lists, in PCI bus order."""
    minors = []
    with contextlib.suppress(OSError):
        for bus in sorted(os.listdir(driver)):
            with open(f"{driver}/{bus}/information") as file:
                for line in file:
                    key, _, value = line.partition(":")
                    if key.strip() == "Device Minor":
                        minors.append(int(value))
    return minors


def is_host_root() -> bool:
    """Whether this process is root of the machine (not only of a user namespace)."""
    with open("/proc/self/uid_map") as file:
        return os.geteuid() == 0 and file.read().split() == ["0", "0", "4294967295"]


def _pivot(new: str, old: str) -> None:
    number = _PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(f"pivot_root: unsupported machine {platform.machine()}")
    _check(_libc.syscall(number, new.encode(), old.encode()), "pivot_root")


def drop_privileges() -> None:
    """Become uid 65534 for good, in a user namespace of this sandbox's own,
    with a session keyring of its own: no capabilities, no setuid gains, and
    no keyring shared with another sandbox (user keyrings belong to the user
    namespace, the session keyring was the zygote's)."""
    if is_host_root():
        _become_sandbox_user()
        # leaving root made /proc/self root's; writing our own uid_map needs it back
        _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(SET_DUMPABLE)")
        enter_user_namespace(SANDBOX_UID)
        _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(SET_DUMPABLE)")
    else:
        enter_user_namespace(SANDBOX_UID)
    _drop_capabilities()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _join_own_keyring()


def drop_to_sandbox_user() -> None:
    """Without namespaces (a container without CAP_SYS_ADMIN, as Gradescope's):
    leave root for uid 65534 for good, which the container's CAP_SETUID
    allows, with no capabilities (leaving root clears all but the
    inheritable ones, cleared here too), no setuid gains after, and a
    session keyring of its own. The hidden suite, the solutions and the
    results are root's and unreadable to this uid (``run_autograder`` sees
    to their modes), and the trusted side kills whatever this uid leaves."""
    _become_sandbox_user()
    _clear_capability_sets()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _join_own_keyring()


def can_drop_to_sandbox_user() -> bool:
    """Whether ``drop_to_sandbox_user`` works here (root, CAP_SETUID), tried
    in a throwaway child."""
    if os.geteuid() != 0:
        return False
    pid = os.fork()
    if pid == 0:
        try:
            drop_to_sandbox_user()
        except OSError:
            os._exit(1)
        os._exit(0 if os.getuid() == os.geteuid() == SANDBOX_UID else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _become_sandbox_user() -> None:
    os.setgroups([])
    os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)


def _join_own_keyring() -> None:
    keyctl = _KEYCTL.get(platform.machine())
    if keyctl is None:
        raise OSError(f"keyctl: unsupported machine {platform.machine()}")
    if _libc.syscall(keyctl, KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        _check(-1, "keyctl(JOIN_SESSION_KEYRING)")


def become_subreaper() -> None:
    """Adopt every orphan among this process's descendants (a daemon that
    double-forked out of a sandbox), so none leaves the tree the trusted
    side kills."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(SET_CHILD_SUBREAPER)")


def _drop_capabilities() -> None:
    """Clear the capabilities a new user namespace gives (bounding, ambient,
    effective, permitted, inheritable): without an exec the kernel keeps them."""
    with open("/proc/sys/kernel/cap_last_cap") as file:
        last = int(file.read())
    for cap in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(CAPBSET_DROP)")
    _clear_capability_sets()


def _clear_capability_sets() -> None:
    """Clear the ambient, effective, permitted and inheritable sets (which
    needs no privilege; the bounding set does)."""
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(CAP_AMBIENT)")
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_V3, 0)
    data = (ctypes.c_uint32 * 6)()  # two sets of (effective, permitted, inheritable), all 0
    _check(_libc.capset(header, data), "capset")


def probe(sysctl: str = "/proc/sys") -> str:
    """Why full isolation is not available here, or "" when it is.

    Runs every step a sandbox takes (user namespace when not root, the
    namespaces, a private /proc and /sys, the final drop) in throwaway
    children, so the caller's own namespaces are untouched."""
    if platform.machine() not in _PIVOT_ROOT:
        return f"pivot_root is not known on {platform.machine()}"
    read, write = os.pipe()
    with tempfile.TemporaryDirectory(prefix="tfgrade-probe-") as folder:
        os.mkdir(f"{folder}/root")
        os.mkdir(f"{folder}/scratch")
        pid = os.fork()
        if pid == 0:
            os.close(read)
            os._exit(_try_confining(f"{folder}/root", f"{folder}/scratch", write))
        os.close(write)
        with os.fdopen(read) as pipe:
            failed = pipe.read()
        os.waitpid(pid, 0)
    if not failed:
        return ""
    if not is_host_root():
        return user_namespace_blocker(sysctl) or (
            f"this kernel or container does not let a normal user confine a sandbox "
            f"({failed}): in a container, allow user namespaces (Docker's default seccomp "
            "profile blocks unshare), or run the grader as root"
        )
    return f"this kernel or container does not allow new namespaces ({failed})"


def _try_confining(root: str, scratch: str, report: int) -> int:
    """In a throwaway child: what a sandbox does, writing the failed step to ``report``."""
    try:
        if not is_host_root():
            enter_user_namespace(0)
        unshare()
        inner = os.fork()
        if inner == 0:
            try:
                build_root(root, os.path.realpath(scratch), [])
                drop_privileges()
            except OSError as err:
                os.write(report, str(err).encode())
                os._exit(1)
            os._exit(0)
        os.waitpid(inner, 0)
    except OSError as err:
        os.write(report, str(err).encode())
        return 1
    return 0


def user_namespace_blocker(sysctl: str) -> str:
    """The setting that keeps a normal user out of user namespaces, named."""

    def setting(name: str) -> str:
        with contextlib.suppress(OSError), open(f"{sysctl}/{name.replace('.', '/')}") as file:
            return file.read().strip()
        return ""

    if setting("user.max_user_namespaces") == "0":
        return (
            "user namespaces are disabled on this kernel (sysctl user.max_user_namespaces = 0): "
            "set it to a positive number, or run the grader as root"
        )
    if setting("kernel.unprivileged_userns_clone") == "0":
        return (
            "this kernel forbids unprivileged user namespaces (Debian's sysctl "
            "kernel.unprivileged_userns_clone = 0): set it to 1, or run the grader as root"
        )
    if setting("kernel.apparmor_restrict_unprivileged_userns") == "1":
        return (
            "AppArmor restricts unprivileged user namespaces (Ubuntu's sysctl "
            "kernel.apparmor_restrict_unprivileged_userns = 1): set it to 0, or give this "
            "Python an AppArmor profile that allows `userns,`, or run the grader as root"
        )
    return ""
