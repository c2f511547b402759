"""When a submission was made, from the first source that applies:

1. the submissions manifest (``--manifest``: a CSV with ``student`` and
   ``submitted_at`` columns) that the course makes: from the CI platform's
   record of the push (``ci-templates/``), an LMS download, or the receipt
   times of a server the course runs;
2. the platform's own record of the run's one submission: Gradescope's
   ``created_at``, read by ``grader.gradescope.autograder`` from Gradescope's path
   beside ``submission/`` (never from inside the upload);
3. the commit time of the checked-out HEAD, only with
   ``--trust-commit-time``: the student's git writes it, so the student
   controls it (``grader.policy.commits`` reads it without running git);
4. the file's modification time, only with ``--trust-mtime``: copying a
   file changes it, and whoever made the file chose it.

Nothing in the student's folder is read as a time otherwise: a
``submission_metadata.json`` there is a file like any other. Without a
source, the submission has no time and the late policy takes nothing off
(``grader.policy.deadlines``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import ConfigError
from grader.policy import commits
from grader.policy.deadlines import Stamp, aware, read_table, table_time
from grader.results import TimeSource
from grader.students import student_id

STUDENT_CONTROLLED = "students control this"
"""said with every time a student could have chosen"""


@dataclass(frozen=True)
class Sources:
    """Where submission times may come from (see the module docstring)."""

    manifest: dict[str, Stamp] = field(default_factory=dict)
    """student id -> time, from the course's manifest"""
    platform: Stamp | None = None
    """the platform's time for the run's single submission (Gradescope)"""
    trust_commit_time: bool = False
    trust_mtime: bool = False

    @property
    def student_controlled(self) -> bool:
        """Whether a time may come from something the student wrote."""
        return self.trust_commit_time or self.trust_mtime


@dataclass(frozen=True)
class ManifestRow:
    """A manifest time that cannot be right, and the row it is on."""

    where: str
    """``path:line``"""
    student: str
    at: dt.datetime
    problem: str
    """what is wrong with it, for staff"""


def load_manifest(path: Path) -> dict[str, Stamp]:
    """student id -> time, from a manifest CSV."""
    stamps: dict[str, Stamp] = {}
    for line, row in read_table(path, ("student", "submitted_at")):
        moment = table_time(path, line, row, "submitted_at")
        student = student_id(row["student"].strip())
        if student in stamps:
            raise ConfigError(f"{path}:{line}: a second time for {student}")
        stamps[student] = Stamp(moment, TimeSource.MANIFEST, where=f"{path}:{line}")
    return stamps


def impossible_rows(
    manifest: dict[str, Stamp], *, now: dt.datetime, opens: dt.datetime | None
) -> list[ManifestRow]:
    """Manifest times after ``now`` or before the assignment ``opens``: no
    submission was made then, so the row is wrong (a clock, a time zone, a
    column of another file)."""
    rows = []
    for student, stamp in manifest.items():
        if stamp.at > now:
            rows.append(ManifestRow(stamp.where, student, stamp.at, "is in the future"))
        elif opens is not None and stamp.at < aware(opens):
            problem = f"is before the assignment opens ({aware(opens).isoformat()})"
            rows.append(ManifestRow(stamp.where, student, stamp.at, problem))
    return rows


def submission_time(
    student: str, folder: Path | None, file: Path, *, sources: Sources
) -> Stamp | None:
    """The time of ``student``'s submission ``file``; ``folder`` is the
    student's own folder, when the submission is one (not a file in a class
    folder, whose git history is not the student's)."""
    if student in sources.manifest:
        return sources.manifest[student]
    if sources.platform is not None:
        return sources.platform
    if sources.trust_commit_time and folder is not None:
        moment = commits.head_time(folder)
        if moment is not None:
            return Stamp(moment, TimeSource.GIT)
    if sources.trust_mtime:
        mtime = file.lstat().st_mtime
        return Stamp(dt.datetime.fromtimestamp(mtime, dt.UTC), TimeSource.MTIME)
    return None
