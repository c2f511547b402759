"""Folders that student code made (scratch), walked and removed on the
trusted side without recursion and without trusting their permissions.

Student code may nest folders thousands deep (recursive walks hit Python's
recursion limit), and may take its own permissions away from a folder
(mode 0300 or 000: a normal user's trusted side, which shares its uid,
then cannot list it). So every folder is opened relative to its parent,
never through a symbolic link, and its owner's read, write and search bits
are given back before it is listed. A walk holds one descriptor per level
and refuses trees deeper than ``MAX_DEPTH``; a removal moves each folder it
finds up to the top, so it holds two whatever the depth.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.errors import TooDeep

MAX_DEPTH = 128
"""folders nested deeper than this in scratch count as over its quota (no
honest notebook nests a tenth of it)"""
_OPEN_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_OPEN_LIST = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_OWNER_ALL = stat.S_IRWXU


@dataclass(frozen=True)
class Entry:
    """One file, folder or link found by ``walk``."""

    path: str
    """relative to the walked folder, '/'-separated"""
    info: os.stat_result
    """its own status (a link's, never its target's)"""


def _enter(name: str, dir_fd: int | None) -> int:
    """A descriptor to list folder ``name`` (in ``dir_fd``), after giving its
    owner every permission back; a link in its place is refused."""
    handle = os.open(name, _OPEN_PATH, dir_fd=dir_fd)
    try:
        mode = os.fstat(handle).st_mode
        if mode & _OWNER_ALL != _OWNER_ALL:  # chmod through the handle: never a swapped-in link
            os.chmod(f"/proc/self/fd/{handle}", stat.S_IMODE(mode) | _OWNER_ALL)
        return os.open(".", _OPEN_LIST, dir_fd=handle)
    finally:
        os.close(handle)


def walk(
    root: Path, *, descend: Callable[[Entry], bool] | None = None
) -> Generator[Entry, None, None]:
    """Everything under ``root``, each folder's entries before what is in
    them; a folder for which ``descend`` says False is listed but not
    entered. Raises ``TooDeep`` on reaching a folder nested deeper than
    ``MAX_DEPTH``. What vanishes or changes meanwhile is skipped."""
    try:
        top = _enter(str(root), None)
    except OSError:
        return
    folders = [top]
    listings = [os.scandir(top)]
    prefixes = [""]
    try:
        while listings:
            try:
                entry = next(listings[-1], None)
            except OSError:
                entry = None
            if entry is None:
                listings.pop().close()
                os.close(folders.pop())
                prefixes.pop()
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            path = prefixes[-1] + entry.name
            found = Entry(path, info)
            yield found
            if not stat.S_ISDIR(info.st_mode) or (descend is not None and not descend(found)):
                continue
            if len(folders) >= MAX_DEPTH:
                raise TooDeep(path)
            try:
                inner = _enter(entry.name, folders[-1])
            except OSError:
                continue
            folders.append(inner)
            listings.append(os.scandir(inner))
            prefixes.append(path + "/")
    finally:
        for listing in listings:
            listing.close()
        for folder in folders:
            os.close(folder)


def remove(root: Path) -> None:
    """Remove ``root`` and everything in it, as far as possible (see ``empty``)."""
    try:
        if not stat.S_ISDIR(os.lstat(root).st_mode):
            os.unlink(root)
            return
    except OSError:
        return
    empty(root)
    with contextlib.suppress(OSError):
        os.rmdir(root)


def empty(root: Path) -> None:
    """Remove everything in folder ``root``, as far as possible, however deep
    it nests or whatever permissions it has: each folder found is first
    moved up into ``root``, then emptied there. For trees no process writes
    to any more (their sandboxes were killed)."""
    try:
        top = _enter(str(root), None)
    except OSError:
        return
    names = itertools.count()
    try:
        pending = _empty(top, top, names)
        while pending:
            name = pending.pop()
            with contextlib.suppress(OSError):
                folder = _enter(name, top)
                try:
                    pending += _empty(folder, top, names)
                finally:
                    os.close(folder)
                os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)


def _empty(folder: int, top: int, names: itertools.count[int]) -> list[str]:
    """Unlink the files of ``folder`` and move its folders into ``top``;
    returns their names there."""
    moved: list[str] = []
    with contextlib.suppress(OSError), os.scandir(folder) as listing:
        for entry in list(listing):
            with contextlib.suppress(OSError):
                if not entry.is_dir(follow_symlinks=False):
                    os.unlink(entry.name, dir_fd=folder)
                    continue
                if folder == top:
                    moved.append(entry.name)
                    continue
                # moving a folder rewrites its "..": it must be writable itself
                os.close(_enter(entry.name, folder))
                name = _free_name(top, names)
                os.rename(entry.name, name, src_dir_fd=folder, dst_dir_fd=top)
                moved.append(name)
    return moved


def _free_name(folder: int, names: itertools.count[int]) -> str:
    """A name no entry of ``folder`` has yet."""
    candidates = (f".tfgrade-up-{number}" for number in names)
    return next(name for name in candidates if not _exists(name, folder))


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    return True
