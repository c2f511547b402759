"""The committer time of a checkout's HEAD, read from the object files
without running git (``--trust-commit-time``).

The ``.git`` folder is the student's: running git on it runs what its config
names (a partial clone's ``uploadpack`` fetches a missing object through the
shell). So nothing here runs a program. What is read, and its limits:

- ``HEAD``: a commit id (40 hex digits, SHA-1), or ``ref: refs/heads/...``
  followed once through a loose ref or ``packed-refs``;
- the commit as a loose object (``objects/xx/yyyy...``, zlib), of which only
  the first 64 KiB, the header, is inflated.

Anything else (a packed commit, SHA-256 repositories, a ``.git`` file that
points elsewhere, a symbolic link, a fifo, a file over its limit, a time that
is not a date) gives None: the submission then has no commit time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import zlib
from pathlib import Path

_SMALL = 4096
"""bytes read of HEAD and of a loose ref"""
_PACKED_REFS = 2**20
_OBJECT = 2**20
"""compressed bytes read of the commit object"""
_HEADER = 64 * 1024
"""inflated bytes of the commit looked at: its header comes first"""
_OBJECT_ID = re.compile(rb"[0-9a-f]{40}")
_REF = re.compile(rb"refs/heads/[A-Za-z0-9._/-]{1,200}")
_COMMITTER = re.compile(rb"committer [^\n]*> (\d{1,12}) ([+-])(\d\d)(\d\d)")


def head_time(folder: Path) -> dt.datetime | None:
    """When HEAD of the checkout ``folder`` was committed, by its committer
    line (which the student's git wrote); None when it cannot be read here."""
    git = folder / ".git"
    if git.is_symlink() or not git.is_dir():
        return None
    commit = _head(git)
    if commit is None:
        return None
    name = commit.decode()
    data = _read(git, ("objects", name[:2], name[2:]), _OBJECT)
    if data is None:
        return None
    try:
        header = zlib.decompressobj().decompress(data, _HEADER)
    except zlib.error:
        return None
    if not header.startswith(b"commit "):
        return None
    match = _COMMITTER.search(header.partition(b"\n\n")[0])
    if match is None:
        return None
    seconds, sign, hours, minutes = match.groups()
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes))
    try:
        zone = dt.timezone(-offset if sign == b"-" else offset)
        return dt.datetime.fromtimestamp(int(seconds), zone)
    except (ValueError, OverflowError, OSError):
        return None  # a year past 9999, or an offset of a day or more


def _head(git: Path) -> bytes | None:
    """HEAD's commit id, through one symbolic ref at most."""
    head = _read(git, ("HEAD",), _SMALL)
    if head is None:
        return None
    head = head.strip()
    if _OBJECT_ID.fullmatch(head):
        return head
    if not head.startswith(b"ref: ") or not _REF.fullmatch(head[5:]):
        return None
    ref = head[5:]
    if b".." in ref or b"//" in ref:
        return None
    loose = _read(git, tuple(ref.decode().split("/")), _SMALL)
    if loose is not None:
        return loose.strip() if _OBJECT_ID.fullmatch(loose.strip()) else None
    packed = _read(git, ("packed-refs",), _PACKED_REFS) or b""
    for line in packed.splitlines():
        target, _, name = line.partition(b" ")
        if name == ref and _OBJECT_ID.fullmatch(target):
            return target
    return None


def _read(git: Path, parts: tuple[str, ...], limit: int) -> bytes | None:
    """The file ``git/parts...``, if every step is a real folder (no link), it
    is a regular file (never a fifo or a device) and holds at most ``limit`` bytes."""
    path = git
    for part in parts[:-1]:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return None
    try:
        fd = os.open(path / parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return os.read(fd, limit + 1)[:limit]
    except OSError:
        return None
    finally:
        os.close(fd)
