"""Tar archives unpacked the same safe way on every supported Python.

``extractall(filter="data")`` exists from 3.11.4 (and in 3.12+); Debian 12's
own ``python3`` is 3.11.2, where the keyword is a ``TypeError``. There the
members are checked and written here instead, with the rules of the "data"
filter that our archives need: folders and regular files only, names that
stay inside the destination, no owner or special mode bits kept.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from grader.errors import UnsafeArchive


def extract(archive: tarfile.TarFile, folder: str | os.PathLike[str]) -> None:
    """Unpack every member of ``archive`` into ``folder``."""
    folder = Path(folder)
    if hasattr(tarfile, "data_filter"):
        archive.extractall(folder, filter="data")
        return
    members = archive.getmembers()
    for member in members:
        _check(member)
    for member in members:
        target = folder.joinpath(*PurePosixPath(member.name).parts)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(member)
        assert source is not None  # a regular file always has one
        with source, target.open("wb") as out:
            shutil.copyfileobj(source, out)
        target.chmod(0o755 if member.mode & 0o100 else 0o644)


def _check(member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise UnsafeArchive(f"{member.name!r} is outside the destination")
    if not (member.isdir() or member.isfile()):
        raise UnsafeArchive(f"{member.name!r} is not a plain file or folder")
