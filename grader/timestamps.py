"""When a submission was made, from the first source that applies:

1. Gradescope's ``submission_metadata.json`` (its ``created_at``) in the
   student's folder, or beside a ``submission/`` folder (Gradescope's layout);
2. the commit time of the checked-out commit, when the student's folder is a
   git checkout (CI grading a student's repository);
3. the submissions manifest (``--manifest``: a CSV with ``student`` and
   ``submitted_at`` columns, as made from an LMS download);
4. the file's modification time, only with ``--trust-mtime``: copying a
   file changes it.

None of these is guessed at: without one, the submission has no time and
the late policy takes nothing off (``grader.deadlines``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

from grader.deadlines import Stamp, read_table
from grader.errors import ConfigError
from grader.results import TimeSource
from grader.students import student_id

METADATA_NAME = "submission_metadata.json"
_METADATA_LIMIT = 16 * 2**20
_GIT_TIMEOUT = 10.0
_GIT = ("git", "--no-pager", "-c", "core.fsmonitor=false")


def load_manifest(path: Path) -> dict[str, Stamp]:
    """student id -> time, from a manifest CSV."""
    stamps: dict[str, Stamp] = {}
    for line, row in read_table(path, ("student", "submitted_at")):
        try:
            moment = dt.datetime.fromisoformat(row["submitted_at"].strip())
        except ValueError:
            raise ConfigError(
                f"{path}:{line}: submitted_at = {row['submitted_at']!r}: expected an ISO 8601 "
                "date and time (2026-12-01T22:10:00Z)"
            ) from None
        stamps[student_id(row["student"].strip())] = Stamp(moment, TimeSource.MANIFEST)
    return stamps


def submission_time(
    student: str,
    folder: Path | None,
    file: Path,
    *,
    manifest: dict[str, Stamp],
    trust_mtime: bool,
) -> Stamp | None:
    """The time of ``student``'s submission ``file``; ``folder`` is the
    student's own folder, when the submission is one (not a file in a class
    folder, whose metadata and git history are not the student's)."""
    if folder is not None:
        stamp = _gradescope(folder) or _git(folder)
        if stamp is not None:
            return stamp
    if file.parent.name == "submission":
        stamp = _gradescope(file.parent.parent)
        if stamp is not None:
            return stamp
    if student in manifest:
        return manifest[student]
    if trust_mtime:
        mtime = file.lstat().st_mtime
        return Stamp(dt.datetime.fromtimestamp(mtime, dt.UTC), TimeSource.MTIME)
    return None


def _gradescope(folder: Path) -> Stamp | None:
    path = folder / METADATA_NAME
    try:
        if not path.is_file() or path.stat().st_size > _METADATA_LIMIT:
            return None
        created = json.loads(path.read_bytes()).get("created_at")
        moment = dt.datetime.fromisoformat(created) if isinstance(created, str) else None
    except (OSError, ValueError, AttributeError):
        return None
    return Stamp(moment, TimeSource.GRADESCOPE) if moment else None


def _git(folder: Path) -> Stamp | None:
    """The committer time of HEAD, read with plumbing (``cat-file``), which
    runs nothing the checkout's config could name (no hooks, pager,
    fsmonitor or signature program)."""
    if not (folder / ".git").exists():
        return None
    try:
        done = subprocess.run(
            [*_GIT, "-C", str(folder), "cat-file", "commit", "HEAD"],
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    header = done.stdout.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    committer = next((x for x in header.splitlines() if x.startswith("committer ")), None)
    if done.returncode != 0 or committer is None:
        return None
    try:
        seconds, offset = committer.rsplit(" ", 2)[1:]
        sign = -1 if offset.startswith("-") else 1
        zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        moment = dt.datetime.fromtimestamp(int(seconds), zone)
    except (ValueError, IndexError, OverflowError, OSError):
        return None
    return Stamp(moment, TimeSource.GIT)
