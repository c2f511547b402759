"""Grading results as data: verdicts, per-test results, per-submission
results, and their JSON form (Gradescope's results.json plus our fields).

Rendering, exporting and the gradebook only read these records.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from grader import jsontext


class Verdict(enum.Enum):
    """What happened in one test, in the order reports list them (worst last).
    What each one means to every reader is in ``VERDICTS``."""

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
    def info(self) -> VerdictInfo:
        return VERDICTS[self]


class Fault(enum.Enum):
    """Whose a test's outcome is: it decides what a re-run retries."""

    NONE = "none"
    STUDENT = "student"
    GRADER = "grader"
    """our bug or the suite's: a re-run grades it again"""


class Concern(enum.StrEnum):
    """Why the class summary asks an instructor to look at a submission; the
    value is its label there."""

    LIMITS = "limits"
    TAMPERING = "possible tampering"
    GRADER = "grader"
    FILE = "file"

    @property
    def css(self) -> str:
        return CONCERN_CSS[self]


CONCERN_CSS = {
    Concern.LIMITS: "timeout",
    Concern.TAMPERING: "failed",
    Concern.GRADER: "neutral",
    Concern.FILE: "neutral",
}
"""the badge's colour, shared with the verdicts'"""


@dataclass(frozen=True)
class VerdictInfo:
    """A verdict's row in ``VERDICTS``."""

    symbol: str
    """on the badge, so it never relies on colour alone"""
    label: str
    """the badge's words"""
    css: str
    colour: str
    """on a terminal (``grader check``), as ``click.style`` names it"""
    fault: Fault
    gradescope_status: str
    junit: str
    """the JUnit element a test with this verdict becomes: ``failure`` when the
    student's result was wrong or missing, ``error`` when it did not finish,
    ``""`` when it passed"""
    concern: Concern | None
    """what the class summary flags a test with this verdict as"""


VERDICTS: dict[Verdict, VerdictInfo] = {
    Verdict.PASSED: VerdictInfo("✓", "passed", "passed", "green", Fault.NONE, "passed", "", None),
    Verdict.FAILED: VerdictInfo(
        "✗", "failed", "failed", "red", Fault.STUDENT, "failed", "failure", None
    ),
    Verdict.ERROR: VerdictInfo(
        "!", "error", "error", "red", Fault.STUDENT, "failed", "error", None
    ),
    Verdict.NOT_IMPLEMENTED: VerdictInfo(
        "…",
        "not implemented",
        "not-implemented",
        "yellow",
        Fault.STUDENT,
        "failed",
        "failure",
        None,
    ),
    Verdict.TIMEOUT: VerdictInfo(
        "◷", "timeout", "timeout", "magenta", Fault.STUDENT, "failed", "error", Concern.LIMITS
    ),
    Verdict.MEMORY: VerdictInfo(
        "▲", "out of memory", "memory", "magenta", Fault.STUDENT, "failed", "error", Concern.LIMITS
    ),
    Verdict.CRASH: VerdictInfo(
        "✗", "crashed", "crash", "magenta", Fault.STUDENT, "failed", "error", Concern.LIMITS
    ),
    Verdict.INTERNAL: VerdictInfo(
        "?",
        "grader error",
        "internal-error",
        "magenta",
        Fault.GRADER,
        "failed",
        "error",
        Concern.GRADER,
    ),
}


class Limit(enum.Enum):
    """Which limit a test or a loading notebook ran into."""

    CALL_TIME = "time per call"
    REFERENCE_TIME = "time per call, from the reference's"
    """``call_timeout_multiple`` times the reference solution's time on the test"""
    LOAD_TIME = "time to run the notebook's cells"
    NOTEBOOK_TIME = "time for the whole notebook"
    MEMORY = "memory"
    SCRATCH = "scratch folder"
    PROCESS = "the process ended"
    """not a limit the grader set: the student's code ended its own process"""


class Visibility(enum.StrEnum):
    """Who may see a test's result, when (Gradescope's values)."""

    VISIBLE = "visible"
    AFTER_DUE_DATE = "after_due_date"
    AFTER_PUBLISHED = "after_published"
    HIDDEN = "hidden"


class Origin(enum.Enum):
    SANDBOX = "sandbox"
    """sent by the sandbox while the notebook loaded: untrusted, so only the
    kinds marked so are accepted from it"""
    GRADER = "grader"


class NoticeKind(enum.StrEnum):
    """What a notice is about. What each one means is in ``NOTICES``."""

    SYNTAX = "syntax"
    ERROR = "error"
    EXIT = "exit"
    TAMPER = "tamper"
    FORGED = "forged"
    TRUNCATED = "truncated"
    MAGIC = "magic"
    LARGE = "large"
    MALFORMED = "malformed"
    IGNORED = "ignored"
    UNREADABLE = "unreadable"
    DUPLICATE = "duplicate"
    INTERNAL = "internal"

    @property
    def info(self) -> NoticeInfo:
        return NOTICES[self]


@dataclass(frozen=True)
class NoticeInfo:
    """A notice kind's row in ``NOTICES``."""

    label: str
    """the badge on the student's page"""
    origin: Origin
    concern: Concern | None
    flag: str
    """the class summary's headline for it ("" when not flagged); ``{where}``
    is the cell or "the notebook" """
    refusal: bool = False
    """the submission was not graded at all"""


NOTICES: dict[NoticeKind, NoticeInfo] = {
    NoticeKind.SYNTAX: NoticeInfo("Syntax error", Origin.SANDBOX, None, ""),
    NoticeKind.ERROR: NoticeInfo("Error while the cell ran", Origin.SANDBOX, None, ""),
    NoticeKind.EXIT: NoticeInfo(
        "The cell called exit", Origin.SANDBOX, Concern.TAMPERING, "{where} called exit"
    ),
    NoticeKind.TAMPER: NoticeInfo(
        "Builtins restored", Origin.SANDBOX, Concern.TAMPERING, "replaced Python builtins"
    ),
    NoticeKind.FORGED: NoticeInfo(
        "Message refused", Origin.GRADER, Concern.TAMPERING, "wrote to the grader's connection"
    ),
    NoticeKind.TRUNCATED: NoticeInfo("Notices cut", Origin.GRADER, None, ""),
    NoticeKind.MAGIC: NoticeInfo("Line skipped", Origin.GRADER, None, ""),
    NoticeKind.LARGE: NoticeInfo("Large file", Origin.GRADER, None, ""),
    NoticeKind.MALFORMED: NoticeInfo("Cell not read", Origin.GRADER, Concern.FILE, "partly graded"),
    NoticeKind.IGNORED: NoticeInfo("File ignored", Origin.GRADER, Concern.FILE, "partly graded"),
    NoticeKind.UNREADABLE: NoticeInfo(
        "File not graded", Origin.GRADER, Concern.FILE, "not graded", refusal=True
    ),
    NoticeKind.DUPLICATE: NoticeInfo(
        "File not graded", Origin.GRADER, Concern.FILE, "not graded", refusal=True
    ),
    NoticeKind.INTERNAL: NoticeInfo("Grader error", Origin.GRADER, None, ""),
}

REFUSAL_KINDS = frozenset(k for k, info in NOTICES.items() if info.refusal)
"""notice kinds of a submission that was not graded at all"""


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
    """A training curve (loss or accuracy per epoch or step) next to the
    reference's. A value may be NaN or infinite (a diverged run): the JSON
    form writes those as ``grader.jsontext.NON_FINITE`` names them."""

    label: str
    student: tuple[float, ...]
    reference: tuple[float, ...]
    every: int = 1
    """the values kept are those of epochs 1, 1 + every, 1 + 2 * every, ...:
    a long curve is decimated where it is recorded (``Feedback.curve``)"""

    def epoch(self, index: int) -> int:
        """The epoch (or step) of the value at ``index``, counting from 1."""
        return 1 + index * self.every


@dataclass(frozen=True)
class Notice:
    """Something about the submission as a whole: a cell that failed to run,
    a dropped magic, a file that could not be read."""

    kind: NoticeKind
    message: str
    cell: int | None = None
    line: int | None = None
    frames: tuple[Frame, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notice:
        """From ``dataclasses.asdict`` of a notice (as results.json holds them)."""
        return cls(
            kind=NoticeKind(data["kind"]),
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
    visibility: Visibility = Visibility.VISIBLE
    frames: tuple[Frame, ...] = ()
    output: str = ""
    """what the student's code printed during this test, truncated"""
    duration: float = 0.0
    slowest_call: float = 0.0
    """seconds of the test's longest call into the student's code (its fixtures'
    included): relative call deadlines are set from the reference's
    (``grader.reference_times``)"""
    comparison: Comparison | None = None
    curves: tuple[Curve, ...] = ()
    limit: Limit | None = None
    """the limit a timeout, memory or crash verdict ran into"""
    handle_type: str = ""
    """the type of an object kept in the sandbox that came back where data
    was expected (e.g. a class whose ``__eq__`` always says yes)"""
    refused: bool = False
    """the sandbox sent data the grader refused (too large, too deep, malformed)"""
    output_cut: bool = False
    """the printed output filled what the sandbox keeps (``output_kb``)"""


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


class Audience(enum.Enum):
    """Who reads a text: a student sees the policy, staff also the mechanics
    (the options and files behind it)."""

    STUDENT = "student"
    STAFF = "staff"


class TimeSource(enum.StrEnum):
    """Where a submission's time came from (``grader.policy.timestamps``); the value
    is what ``results.json`` keeps. How each reader is told is in
    ``TIME_SOURCES``."""

    GRADESCOPE = "Gradescope submission metadata"
    GIT = "git commit time"
    MANIFEST = "submissions manifest"
    MTIME = "file modification time"

    def wording(self, audience: Audience) -> str:
        return TIME_SOURCES[self][audience]


TIME_SOURCES: dict[TimeSource, dict[Audience, str]] = {
    TimeSource.GRADESCOPE: {
        Audience.STUDENT: "the time Gradescope recorded for your submission",
        Audience.STAFF: "Gradescope's submission_metadata.json beside submission/ (created_at)",
    },
    TimeSource.GIT: {
        Audience.STUDENT: "the time of the commit that was graded",
        Audience.STAFF: "the commit time of the checked-out commit (--trust-commit-time; "
        "students control this)",
    },
    TimeSource.MANIFEST: {
        Audience.STUDENT: "the time the course's submission system recorded",
        Audience.STAFF: "the submissions manifest (--manifest)",
    },
    TimeSource.MTIME: {
        Audience.STUDENT: "the time your file was last saved",
        Audience.STAFF: "the file's modification time (--trust-mtime; students control this)",
    },
}


class DueSource(enum.StrEnum):
    """Which due date a penalty was counted from (the text is the student's)."""

    ASSIGNMENT = "the assignment's due date"
    STUDENT = "your extension"
    SECTION = "your section's extension"
    GRADESCOPE = "your due date on Gradescope"


@dataclass(frozen=True)
class Penalty:
    """The late policy applied to a submission (``grader.policy.deadlines``)."""

    submitted_at: str
    """ISO 8601, or "" when no source gave a time (then nothing is taken off)"""
    source: TimeSource | None
    """where the time came from, or None when no source gave one"""
    due: str
    """the deadline that applied, an extension included (ISO 8601)"""
    percent: float
    """of the score, taken off"""
    points: float
    reason: str
    due_source: DueSource = DueSource.ASSIGNMENT
    """which due date ``due`` is"""


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
    output_cut: bool = False
    """that output filled what the sandbox keeps (``output_kb``)"""
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
    def exercise_order(self) -> tuple[str, ...]:
        """Its exercises in notebook order, then any other a test names, in suite order."""
        return tuple(dict.fromkeys((*self.exercises, *(t.exercise for t in self.tests))))

    @property
    def percent(self) -> float:
        """The final score as a percentage of the maximum (0 when there is none)."""
        return 100 * self.score / self.max_score if self.max_score else 0.0

    @property
    def grader_at_fault(self) -> bool:
        """A test failed by our fault (a re-run grades it again)."""
        return any(t.verdict.info.fault is Fault.GRADER for t in self.tests)

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
                    "status": t.verdict.info.gradescope_status,
                    "output": _test_output(t),
                    "visibility": t.visibility,
                    "verdict": t.verdict.value,
                    "exercise": t.exercise,
                    "message": t.message,
                    "hint": t.hint,
                    "frames": [asdict(f) for f in t.frames],
                    "student_output": t.output,
                    "duration": round(t.duration, 3),
                    "slowest_call": round(t.slowest_call, 3),
                    "comparison": asdict(t.comparison) if t.comparison else None,
                    "curves": [asdict(c) for c in t.curves],
                    "limit": t.limit.value if t.limit else None,
                    "handle_type": t.handle_type,
                    "refused": t.refused,
                    "output_cut": t.output_cut,
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
            "output_cut": self.output_cut,
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
                    visibility=Visibility(t["visibility"]),
                    frames=tuple(Frame(**f) for f in t["frames"]),
                    output=t["student_output"],
                    duration=float(t["duration"]),
                    slowest_call=float(t.get("slowest_call", 0.0)),
                    comparison=_comparison(t.get("comparison")),
                    curves=tuple(
                        Curve(
                            c["label"],
                            tuple(map(jsontext.number, c["student"])),
                            tuple(map(jsontext.number, c["reference"])),
                            c.get("every", 1),
                        )
                        for c in t.get("curves", [])
                    ),
                    limit=Limit(t["limit"]) if t.get("limit") else None,
                    handle_type=t.get("handle_type", ""),
                    refused=t.get("refused", False),
                    output_cut=t.get("output_cut", False),
                )
                for t in data["tests"]
            ),
            notices=tuple(Notice.from_json(n) for n in data["notices"]),
            isolation=data["isolation"],
            output=data["student_output"],
            output_cut=data.get("output_cut", False),
            exercises=tuple(data["exercises"]),
            overrides=tuple(Override(**o) for o in data.get("overrides", [])),
            penalty=_penalty(data.get("penalty")),
        )


def notebook_order(defined: Iterable[str], exercises: Iterable[str]) -> tuple[str, ...]:
    """The graded ``exercises``, in the order ``defined`` names them (the
    notebook's), then any others sorted."""
    graded = set(exercises)
    known = [name for name in defined if name in graded]
    return tuple(known + sorted(graded - set(known)))


def class_exercise_order(results: Iterable[SubmissionResult]) -> list[str]:
    """A class's exercises in notebook order, taken from the submissions that
    name the most exercises first."""
    order: dict[str, None] = {}
    for result in sorted(results, key=lambda r: -len(r.exercises)):
        order.update(dict.fromkeys(result.exercise_order))
    return list(order)


def _penalty(data: dict[str, Any] | None) -> Penalty | None:
    """A penalty as results.json holds it (a source of "" or null: none)."""
    if not data:
        return None
    source = data["source"]
    return Penalty(
        **{
            **data,
            "source": TimeSource(source) if source else None,
            "due_source": DueSource(data.get("due_source", DueSource.ASSIGNMENT)),
        }
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
        max_abs_error=_maybe_number(data["max_abs_error"]),
        max_rel_error=_maybe_number(data["max_rel_error"]),
        worst_index=None if worst is None else tuple(worst),
        expected_preview=tuple(data["expected_preview"]),
        got_preview=tuple(data["got_preview"]),
    )


def _maybe_number(value: float | str | None) -> float | None:
    return None if value is None else jsontext.number(value)


def _test_output(test: TestResult) -> str:
    """The plain-text feedback Gradescope shows under a test."""
    parts = [test.message]
    parts += [f"  cell {f.cell}, line {f.line}: {f.code.strip()}" for f in test.frames]
    if test.hint and test.verdict is not Verdict.PASSED:
        parts.append(f"Hint: {test.hint}")
    return "\n".join(p for p in parts if p)
