"""Files replaced whole: readers see the old file or the new one, never half.

No fsync: everything written this way is derived from the gradebook (which
does sync) or can be made again, so a rename is all a crash needs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path, *, folder_mode: int = 0o777) -> Iterator[Path]:
    """A temporary file beside ``path`` to write; it becomes ``path`` when the
    block ends, and is removed if the block raises. The folder is made with
    ``folder_mode`` (0o700 for what students must not read)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, text: str, *, folder_mode: int = 0o777) -> None:
    """Replace ``path`` with ``text`` (UTF-8)."""
    with replacing(path, folder_mode=folder_mode) as temporary:
        temporary.write_text(text, encoding="utf-8")
