"""Running submissions: a backend takes submissions and yields what grading
each one gave, one ``Outcome`` per submission.

The driver (``grader.batch``) keeps every piece of bookkeeping: triage,
resume, the gradebook, reports, progress. A backend only runs grading
processes, on this machine (``local``: forked from this process) or on a
Ray cluster (``ray``), and retries a submission whose grading process died
(never one whose student code failed: that is a verdict, in the result).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from grader.results import SubmissionResult
from grader.submissions import Submission
from grader.suite import Suite


class Backend(enum.StrEnum):
    """Where grading processes run: one module of this package each."""

    LOCAL = "local"
    RAY = "ray"


MAX_TRIES = 2
"""grading processes started for one submission in one run before it is
recorded with an internal error (a crash of ours is retried once)"""


@dataclass(frozen=True)
class Outcome:
    """What grading one submission gave: a result, or why there is none."""

    submission: Submission
    result: SubmissionResult | None
    staff_details: str = ""
    """tracebacks of the grader's own failures, for staff only (never a report)"""
    slot: str = ""
    """the runner slot that graded it"""


@dataclass
class SlotStats:
    """What one runner slot did in a run, for the end-of-run lines."""

    name: str
    graded: int = 0
    busy_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    """largest resident memory of a grading process of this slot"""

    def line(self) -> str:
        return (
            f"slot {self.name}: {self.graded} graded, busy {self.busy_seconds:.1f}s, "
            f"peak {self.peak_memory_mb:.0f} MiB per grading process"
        )


class Runner(Protocol):
    """A backend: started by the driver, then given what to grade."""

    def wait_ready(self) -> str:
        """Block until every slot can grade; why sandboxes are weaker here ("" if not)."""
        ...

    def grade(self, todo: Sequence[Submission], suite: Suite) -> Iterator[Outcome]:
        """Grade ``todo``, yielding each outcome as it arrives, exactly once each.

        ``suite`` is the one the driver loaded: grading processes forked here
        inherit it; a backend whose grading processes run elsewhere loads
        it there, from the files it shipped."""
        ...

    def stats(self) -> list[SlotStats]: ...

    def close(self) -> None: ...
