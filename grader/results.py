"""Grading results as data: verdicts, per-test results, per-submission
results, and their JSON form (Gradescope's results.json plus our fields).

Rendering, exporting and the gradebook only read these records.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Verdict(enum.Enum):
    """What happened in one test, in the order reports list them (worst last)."""

    PASSED = "passed"
    FAILED = "failed"
    """the student's result was wrong"""
    ERROR = "error"
    """the student's code raised an exception"""
    NOT_IMPLEMENTED = "not implemented"
    """the stub is untouched, or the function is missing"""
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASH = "crash"
    """the sandbox process died (exit, signal) while running student code"""
    INTERNAL = "internal error"
    """a bug in the grader or the hidden suite, not the student's fault"""

    @property
    def gradescope_status(self) -> str:
        return "passed" if self is Verdict.PASSED else "failed"


@dataclass(frozen=True)
class Frame:
    """One line of the student's own code in a traceback."""

    cell: int
    """notebook cell number (1-based, counting every cell), or 1 for a .py file"""
    line: int
    """line within that cell (or within the .py file)"""
    function: str
    code: str


@dataclass(frozen=True)
class Comparison:
    """How a student's array differed from the expected one, for the report."""

    expected_shape: tuple[int, ...]
    got_shape: tuple[int, ...]
    expected_dtype: str
    got_dtype: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    worst_index: tuple[int, ...] | None = None
    expected_preview: tuple[float | str, ...] = ()
    """a few expected values around the worst element (flattened order);
    non-finite values as "nan", "inf", "-inf" """
    got_preview: tuple[float | str, ...] = ()


@dataclass(frozen=True)
class Curve:
    """A training curve (loss or accuracy per epoch or step) next to the reference's."""

    label: str
    student: tuple[float, ...]
    reference: tuple[float, ...]


@dataclass(frozen=True)
class Notice:
    """Something about the submission as a whole: a cell that failed to run,
    a dropped magic, a file that could not be read."""

    kind: str
    """from the sandbox while loading: syntax, error, exit, tamper (the only
    kinds it may send); from the trusted side: timeout, crash, forged,
    truncated, magic, large, malformed, ignored, unreadable, duplicate,
    internal"""
    message: str
    cell: int | None = None
    line: int | None = None
    frames: tuple[Frame, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        """From ``dataclasses.asdict`` of a notice (as results.json holds them)."""
        return cls(
            kind=data["kind"],
            message=data["message"],
            cell=data["cell"],
            line=data["line"],
            frames=tuple(Frame(**f) for f in data["frames"]),
        )


@dataclass(frozen=True)
class TestResult:
    """One hidden test's outcome for one submission."""

    name: str
    exercise: str
    max_score: float
    score: float
    verdict: Verdict
    message: str = ""
    """student-facing explanation of the verdict; never hidden test source"""
    hint: str = ""
    visibility: str = "visible"
    frames: tuple[Frame, ...] = ()
    output: str = ""
    """what the student's code printed during this test, truncated"""
    duration: float = 0.0
    comparison: Comparison | None = None
    curves: tuple[Curve, ...] = ()


@dataclass(frozen=True)
class Override:
    """A staff decision on a score, kept across regrades (``grader override``)."""

    test: str
    """the test's name, or "" for the submission's total"""
    points: float
    reason: str
    by: str
    at: str
    """ISO 8601, UTC"""


@dataclass(frozen=True)
class Penalty:
    """The late policy applied to a submission (``grader.deadlines``)."""

    submitted_at: str
    """ISO 8601, or "" when no source gave a time (then nothing is taken off)"""
    source: str
    """where the time came from (``grader.timestamps``), or "" """
    due: str
    """the deadline that applied, an extension included (ISO 8601)"""
    percent: float
    """of the score, taken off"""
    points: float
    reason: str


@dataclass(frozen=True)
class SubmissionResult:
    """One student's graded submission."""

    assignment: str
    student: str
    submission_hash: str
    suite_version: str
    grader_version: str
    graded_at: str
    execution_time: float
    tests: tuple[TestResult, ...]
    notices: tuple[Notice, ...] = ()
    isolation: str = ""
    """how the sandbox was confined (recorded so weaker runs are visible)"""
    output: str = ""
    """what the student's code printed while its cells loaded, truncated"""
    exercises: tuple[str, ...] = field(default=())
    """graded functions in notebook order"""
    overrides: tuple[Override, ...] = ()
    penalty: Penalty | None = None

    @property
    def raw_score(self) -> float:
        """What the tests gave, before overrides and the late policy."""
        return round(sum(t.score for t in self.tests), 4)

    @property
    def adjusted_score(self) -> float:
        """The score with staff overrides: a test's points replaced, or the total."""
        by_test = {o.test: o.points for o in self.overrides}
        if "" in by_test:
            return round(by_test[""], 4)
        return round(sum(by_test.get(t.name, t.score) for t in self.tests), 4)

    @property
    def score(self) -> float:
        """The final score: overrides applied, then the late penalty."""
        penalty = self.penalty.points if self.penalty else 0.0
        return round(self.adjusted_score - penalty, 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)

    @property
    def internal_errors(self) -> int:
        return sum(t.verdict is Verdict.INTERNAL for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        """Gradescope's results.json at the top level, plus our own fields."""
        lines = [n.message for n in self.notices]
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": "\n".join(lines),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [
                {
                    "name": t.name,
                    "score": t.score,
                    "max_score": t.max_score,
                    "status": t.verdict.gradescope_status,
                    "output": _test_output(t),
                    "visibility": t.visibility,
                    "verdict": t.verdict.value,
                    "exercise": t.exercise,
                    "message": t.message,
                    "hint": t.hint,
                    "frames": [asdict(f) for f in t.frames],
                    "student_output": t.output,
                    "duration": round(t.duration, 3),
                    "comparison": asdict(t.comparison) if t.comparison else None,
                    "curves": [asdict(c) for c in t.curves],
                }
                for t in self.tests
            ],
            "assignment": self.assignment,
            "student": self.student,
            "submission_hash": self.submission_hash,
            "suite_version": self.suite_version,
            "grader_version": self.grader_version,
            "graded_at": self.graded_at,
            "isolation": self.isolation,
            "exercises": list(self.exercises),
            "notices": [asdict(n) for n in self.notices],
            "student_output": self.output,
            "raw_score": self.raw_score,
            "overrides": [asdict(o) for o in self.overrides],
            "penalty": asdict(self.penalty) if self.penalty else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        return cls(
            assignment=data["assignment"],
            student=data["student"],
            submission_hash=data["submission_hash"],
            suite_version=data["suite_version"],
            grader_version=data["grader_version"],
            graded_at=data["graded_at"],
            execution_time=float(data["execution_time"]),
            tests=tuple(
                TestResult(
                    name=t["name"],
                    exercise=t["exercise"],
                    max_score=float(t["max_score"]),
                    score=float(t["score"]),
                    verdict=Verdict(t["verdict"]),
                    message=t["message"],
                    hint=t["hint"],
                    visibility=t["visibility"],
                    frames=tuple(Frame(**f) for f in t["frames"]),
                    output=t["student_output"],
                    duration=float(t["duration"]),
                    comparison=_comparison(t.get("comparison")),
                    curves=tuple(
                        Curve(c["label"], tuple(c["student"]), tuple(c["reference"]))
                        for c in t.get("curves", [])
                    ),
                )
                for t in data["tests"]
            ),
            notices=tuple(Notice.from_json(n) for n in data["notices"]),
            isolation=data["isolation"],
            output=data["student_output"],
            exercises=tuple(data["exercises"]),
            overrides=tuple(Override(**o) for o in data.get("overrides", [])),
            penalty=Penalty(**data["penalty"]) if data.get("penalty") else None,
        )


def _comparison(data: dict[str, Any] | None) -> Comparison | None:
    if data is None:
        return None
    worst = data["worst_index"]
    return Comparison(
        expected_shape=tuple(data["expected_shape"]),
        got_shape=tuple(data["got_shape"]),
        expected_dtype=data["expected_dtype"],
        got_dtype=data["got_dtype"],
        max_abs_error=data["max_abs_error"],
        max_rel_error=data["max_rel_error"],
        worst_index=None if worst is None else tuple(worst),
        expected_preview=tuple(data["expected_preview"]),
        got_preview=tuple(data["got_preview"]),
    )


def _test_output(test: TestResult) -> str:
    """The plain-text feedback Gradescope shows under a test."""
    parts = [test.message]
    parts += [f"  cell {f.cell}, line {f.line}: {f.code.strip()}" for f in test.frames]
    if test.hint and test.verdict is not Verdict.PASSED:
        parts.append(f"Hint: {test.hint}")
    return "\n".join(p for p in parts if p)
