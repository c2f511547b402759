"""Running submissions: one loop (``grader.runners.loop``) hands them to a
backend's slots and decides what each failure means; a backend only moves
submissions to its slots and what grading gave back from them.

The driver (``grader.batch``) keeps every piece of bookkeeping: triage,
resume, the gradebook, reports. The loop keeps the queue, the retries (a
grading process of ours that died is tried again; student code that failed
is a verdict, in the result) and the isolation the slots must have. A
backend (one module of this package, its row in ``Backend``) runs grading
processes on this machine (``local``: forked from this process) or on a Ray
cluster (``ray``).
"""

from __future__ import annotations

import enum
import importlib
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from grader.assignments import Assignment
from grader.errors import UsageError
from grader.results import SubmissionResult
from grader.submissions import Submission
from grader.suite import Suite
from grader.workdir import RunDir


@dataclass(frozen=True)
class Outcome:
    """What grading one submission gave: a result, or why there is none.

    A backend sends one per try (no result: that grading process failed on
    our side); the loop yields one per submission."""

    submission: Submission
    result: SubmissionResult | None
    staff_details: str = ""
    """tracebacks of the grader's own failures, for staff only (never a report)"""
    slot: str = ""
    """the runner slot that graded it"""

    def to_json(self) -> dict[str, Any]:
        return {
            "submission": self.submission.to_json(),
            "result": None if self.result is None else self.result.to_json(),
            "staff_details": self.staff_details,
            "slot": self.slot,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        result = data["result"]
        return cls(
            Submission.from_json(data["submission"]),
            None if result is None else SubmissionResult.from_json(result),
            str(data["staff_details"]),
            str(data["slot"]),
        )


@dataclass(frozen=True)
class Isolation:
    """What one slot's sandboxes lack, as the slot found it where they run."""

    problems: tuple[str, ...] = ()
    """weaknesses ``--require-isolation`` refuses to grade with"""
    notes: tuple[str, ...] = ()
    """what is missing but made up for: said once, never refused"""

    def to_json(self) -> dict[str, Any]:
        return {"problems": list(self.problems), "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Isolation:
        return cls(tuple(map(str, data["problems"])), tuple(map(str, data["notes"])))


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SlotStats:
        return cls(
            str(data["name"]),
            int(data["graded"]),
            float(data["busy_seconds"]),
            float(data["peak_memory_mb"]),
        )


@dataclass(frozen=True)
class RunnerSetup:
    """What the driver asked for, for whichever backend starts."""

    assignment: Assignment
    run_dir: RunDir
    """the run's folder on this machine (swept if the run is killed)"""
    jobs: int
    """slots where there are no GPUs"""
    gpus: list[str] | None
    """``local``: the CUDA device ids to grade on (None: this machine's)"""
    address: str | None
    """``ray``: the cluster (None: a Ray instance of our own)"""
    gpu_share: int
    reference_cache: Path | None
    """where reference data is kept (``grader.harness.reference_data``; None: nowhere)"""
    echo: Callable[[str], None] = field(default=print)


class Runner(Protocol):
    """A backend's slots, driven by ``grader.runners.loop``: they take a
    submission when free and send back what grading gave; the loop decides
    what to do with it."""

    def wait_ready(self) -> list[Isolation]:
        """Block until the slots can grade; what their sandboxes lack, as each found it."""
        ...

    def free(self) -> int:
        """How many slots can take a submission now (0 once every slot is gone)."""
        ...

    def send(self, submission: Submission, suite: Suite) -> None:
        """Start grading ``submission`` on a free slot.

        ``suite`` is the one the driver loaded: grading processes forked here
        inherit it; a backend whose grading processes run elsewhere loads it
        there, from the files it shipped."""
        ...

    def receive(self) -> list[Outcome]:
        """The outcomes of tries that ended, waiting a second at most for one."""
        ...

    def stats(self) -> list[SlotStats]: ...

    def close(self) -> None:
        """Stop every grading process still running, then the slots."""
        ...


class Backend(enum.StrEnum):
    """Where grading processes run: one module of this package each, whose
    ``start(setup)`` starts its slots."""

    LOCAL = "local"
    RAY = "ray"

    @property
    def module(self) -> types.ModuleType:
        try:
            return importlib.import_module(f"{__name__}.{self.value}")
        except ImportError as err:
            if self is Backend.LOCAL:
                raise
            raise UsageError(
                f"--backend {self} needs {err.name} ({err}): pip install 'tfgrade[{self}]' "
                "in the grader's venv"
            ) from err

    def runner(self, setup: RunnerSetup) -> Runner:
        """This backend's slots, starting (they import TensorFlow meanwhile)."""
        return cast(Callable[[RunnerSetup], Runner], self.module.start)(setup)
