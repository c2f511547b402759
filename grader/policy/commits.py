"""The committer time of a checkout's HEAD, read from the object files
without running git (``--trust-commit-time``).

The ``.git`` folder is the student's: running git on it runs what its config
names (a partial clone's ``uploadpack`` fetches a missing object through the
shell). So nothing here runs a program. What is read, and its limits:

- ``HEAD``: a commit id (40 hex digits, SHA-1), or ``ref: refs/heads/...``
  followed once through a loose ref or ``packed-refs``;
- the commit as a loose object (``objects/xx/yyyy...``, zlib), or as a
  whole (undeltified) commit in a pack found through a version 2 pack index
  (a fresh clone's layout), of at most 64 pack indexes; only the first
  64 KiB of the commit, its header, is inflated.

Anything else (a commit stored as a delta, SHA-256 repositories, a ``.git`` file that
points elsewhere, a symbolic link, a fifo, a file over its limit, a time that
is not a date) gives None: the submission then has no commit time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import struct
import zlib
from pathlib import Path

_SMALL = 4096
"""bytes read of HEAD and of a loose ref"""
_PACKED_REFS = 2**20
_OBJECT = 2**20
"""compressed bytes read of the commit object"""
_HEADER = 64 * 1024
"""inflated bytes of the commit looked at: its header comes first"""
_PACKS = 64
"""pack indexes looked in"""
_ENTRIES = 10_000
"""entries of ``objects/pack`` listed"""
_BUCKET = 2**16
"""object ids of one first byte compared in a pack index (a repository of
some 16 million objects has that many)"""
_COMMIT_TYPE = 1
_INDEX = re.compile(r"pack-[0-9a-f]{40}\.idx")
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
    loose = _read(git, ("objects", name[:2], name[2:]), _OBJECT)
    header = _inflate(loose) if loose is not None else _packed(git, bytes.fromhex(name))
    if header is None or not header.startswith(b"commit "):
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


def _inflate(data: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(data, _HEADER)
    except zlib.error:
        return None


def _packed(git: Path, object_id: bytes) -> bytes | None:
    """The start of a commit stored whole in a pack, as a loose object's
    would read (``commit SIZE\\0`` and the text); None if none holds it."""
    folder = git / "objects" / "pack"
    if folder.is_symlink() or not folder.is_dir():
        return None
    try:
        with os.scandir(folder) as entries:
            listed = [entry.name for entry, _ in zip(entries, range(_ENTRIES), strict=False)]
    except OSError:
        return None
    names = sorted(n for n in listed if _INDEX.fullmatch(n))
    for name in names[:_PACKS]:
        offset = _offset(git, name, object_id)
        if offset is None:
            continue
        fd = _open(git, ("objects", "pack", name[:-4] + ".pack"))
        if fd is None:
            return None
        try:
            data = os.pread(fd, _OBJECT, offset)
        except OSError:
            return None
        finally:
            os.close(fd)
        kind, size, start = _entry_header(data)
        if kind != _COMMIT_TYPE:
            return None  # a delta: not read here
        body = _inflate(data[start:])
        return None if body is None else b"commit %d\0" % size + body
    return None


def _offset(git: Path, index: str, object_id: bytes) -> int | None:
    """Where ``object_id`` starts in the pack of ``index`` (version 2), if it is there."""
    fd = _open(git, ("objects", "pack", index))
    if fd is None:
        return None
    try:
        head = os.pread(fd, 8 + 256 * 4, 0)
        if len(head) < 8 + 256 * 4 or head[:8] != b"\xfftOc\x00\x00\x00\x02":
            return None
        fanout = struct.unpack(">256I", head[8:])
        count, first = fanout[255], object_id[0]
        low = fanout[first - 1] if first else 0
        high = fanout[first]
        if not low <= high <= count or high - low > _BUCKET:
            return None
        names = os.pread(fd, 20 * (high - low), 8 + 1024 + 20 * low)
        found = next(
            (low + i for i in range(high - low) if names[20 * i : 20 * i + 20] == object_id),
            None,
        )
        if found is None:
            return None
        offsets = 8 + 1024 + 24 * count
        (offset,) = struct.unpack(">I", os.pread(fd, 4, offsets + 4 * found))
        if offset & 0x80000000:
            large = offsets + 4 * count + 8 * (offset & 0x7FFFFFFF)
            (offset,) = struct.unpack(">Q", os.pread(fd, 8, large))
        return int(offset)
    except (OSError, struct.error):
        return None
    finally:
        os.close(fd)


def _entry_header(data: bytes) -> tuple[int, int, int]:
    """A pack entry's type, inflated size and where its data starts."""
    if not data:
        return 0, 0, 0
    kind, size, shift, at = (data[0] >> 4) & 7, data[0] & 15, 4, 0
    while data[at] & 0x80 and at < 9 and at + 1 < len(data):
        at += 1
        size |= (data[at] & 0x7F) << shift
        shift += 7
    return kind, size, at + 1


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
    """The file ``git/parts...`` whole, if it holds at most ``limit`` bytes."""
    fd = _open(git, parts)
    if fd is None:
        return None
    try:
        if os.fstat(fd).st_size > limit:
            return None
        return os.pread(fd, limit, 0)
    except OSError:
        return None
    finally:
        os.close(fd)


def _open(git: Path, parts: tuple[str, ...]) -> int | None:
    """A descriptor of the file ``git/parts...``, if every step is a real
    folder (no link) and it is a regular file (never a fifo or a device)."""
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
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None
