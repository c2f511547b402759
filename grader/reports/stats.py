"""The class summary's numbers: score distribution, pass rates per exercise
and per test, the most common failures, runtimes, and the submissions an
instructor should look at.

What is flagged (the page says the same, under "Needs a look"):

- **limits**: any test whose verdict is timeout, memory or crash, and a
  notebook whose cells timed out or crashed while loading;
- **possible tampering**, heuristics on what the result records, to look
  at before acting on:
  - a cell that called ``exit()`` / ``sys.exit()`` (notice of kind ``exit``);
  - code that replaced Python builtins (notice of kind ``tamper``; the
    sandbox undid it);
  - an object left in the sandbox (a handle) returned where an array or a
    plain value was expected: the assertion helpers say "it is an object of
    type X" (e.g. a class whose ``__eq__`` always says yes);
  - data the grader refused on the wire (too large, too deep, malformed);
  - the student's own traceback lines (tests' and notices') touching the
    interpreter or the grading process: ``sys.modules``, ``builtins``,
    ``__builtins__``, ``gc.get_objects``, ``sys._getframe``, ``inspect.stack``,
    ``ctypes``, ``os.kill``, ``signal.``, ``/proc/``, ``sys.settrace``,
    ``os.environ``, ``setattr(np`` / ``setattr(tf``;
  - printed output that filled what the sandbox keeps (``output_kb``);
  - frames the protocol does not expect, written to the grader's
    connection by student code (notice of kind ``forged``);
- **grader**: an internal error (our bug or the suite's; the student is not
  at fault, and a re-run retries it);
- **file**: a submission that could not be read (unreadable or duplicate),
  or was only partly read (a malformed cell, a second file of the same name).
"""

from __future__ import annotations

import collections
import re
import statistics
from dataclasses import dataclass, field

from grader.results import Concern, SubmissionResult, TestResult, Verdict, class_exercise_order

BINS = 10
BIN_LABELS = (*(f"{10 * i}–{10 * i + 9}" for i in range(BINS - 1)), "90–100")

SUSPICIOUS_CODE = (
    "sys.modules",
    "builtins",
    "gc.get_objects",
    "sys._getframe",
    "inspect.stack",
    "inspect.currentframe",
    "ctypes",
    "os.kill",
    "signal.",
    "/proc/",
    "sys.settrace",
    "sys.setprofile",
    "os.environ",
    "setattr(np",
    "setattr(tf",
)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")
_SEQUENCE = re.compile(r"([\[(])#(?:, #)*,?([\])])")


@dataclass(frozen=True)
class ExerciseRate:
    name: str
    passed: int
    total: int
    mean_points: float
    max_points: float
    hardest: bool = False

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class TestRate:
    name: str
    exercise: str
    visibility: str
    points: float
    verdicts: dict[Verdict, int]
    total: int

    @property
    def passed(self) -> int:
        return self.verdicts.get(Verdict.PASSED, 0)

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def not_passed(self) -> list[tuple[Verdict, int]]:
        return [(v, n) for v, n in self.verdicts.items() if v is not Verdict.PASSED and n]


@dataclass
class FailureGroup:
    """Failures whose messages differ only in numbers."""

    pattern: str
    verdict: Verdict
    example: str
    tests: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    count: int = 0


@dataclass(frozen=True)
class Flag:
    student: str
    category: Concern
    what: str
    detail: str = ""


@dataclass(frozen=True)
class StudentRow:
    result: SubmissionResult
    percent: float
    passed: int
    problems: str
    """verdict counts other than passed, e.g. "3 failed, 1 timeout" """
    flags: int


@dataclass(frozen=True)
class ClassStats:
    count: int
    mean: float
    median: float
    minimum: float
    maximum: float
    max_score: float
    full_marks: int
    histogram: tuple[int, ...]
    exercises: list[ExerciseRate]
    tests: list[TestRate]
    failures: list[FailureGroup]
    unimplemented: list[tuple[str, list[str]]]
    flags: list[Flag]
    students: list[StudentRow]
    runtime_median: float
    runtime_max: float
    runtime_total: float
    slowest: list[SubmissionResult]

    @property
    def tests_by_exercise(self) -> list[tuple[str, list[TestRate]]]:
        groups: dict[str, list[TestRate]] = {}
        for test in self.tests:
            groups.setdefault(test.exercise, []).append(test)
        return list(groups.items())


def normalize(message: str) -> str:
    """The message with its numbers (and lists of numbers) as ``#``."""
    text = _NUMBER.sub("#", message)
    return _SEQUENCE.sub(r"\1…\2", text)


def exercise_rates(results: list[SubmissionResult]) -> list[ExerciseRate]:
    passed: dict[str, int] = collections.Counter()
    total: dict[str, int] = collections.Counter()
    points: dict[str, float] = collections.defaultdict(float)
    max_points: dict[str, float] = {}
    for result in results:
        per_max: dict[str, float] = collections.defaultdict(float)
        for test in result.tests:
            passed[test.exercise] += test.verdict is Verdict.PASSED
            total[test.exercise] += 1
            points[test.exercise] += test.score
            per_max[test.exercise] += test.max_score
        for name, value in per_max.items():
            max_points[name] = max(max_points.get(name, 0.0), value)
    rates = [
        ExerciseRate(
            name=name,
            passed=passed[name],
            total=total[name],
            mean_points=points[name] / len(results) if results else 0.0,
            max_points=max_points.get(name, 0.0),
        )
        for name in class_exercise_order(results)
        if total[name]
    ]
    if rates:
        lowest = min(r.rate for r in rates)
        if lowest < 1:
            rates = [
                ExerciseRate(
                    r.name, r.passed, r.total, r.mean_points, r.max_points, r.rate == lowest
                )
                for r in rates
            ]
    return rates


def per_test_rates(results: list[SubmissionResult]) -> list[TestRate]:
    order: dict[tuple[str, str], TestResult] = {}
    verdicts: dict[tuple[str, str], collections.Counter[Verdict]] = collections.defaultdict(
        collections.Counter
    )
    for result in results:
        for test in result.tests:
            key = (test.exercise, test.name)
            order.setdefault(key, test)
            verdicts[key][test.verdict] += 1
    exercises = class_exercise_order(results)
    keys = sorted(order, key=lambda k: exercises.index(k[0]) if k[0] in exercises else 1 << 30)
    return [
        TestRate(
            name=name,
            exercise=exercise,
            visibility=order[(exercise, name)].visibility,
            points=order[(exercise, name)].max_score,
            verdicts={v: verdicts[(exercise, name)][v] for v in Verdict},
            total=sum(verdicts[(exercise, name)].values()),
        )
        for exercise, name in keys
    ]


def failure_groups(results: list[SubmissionResult], limit: int = 12) -> list[FailureGroup]:
    """The most common failures, grouped by verdict and message up to numbers;
    most students first. Functions left unimplemented are counted apart
    (:func:`unimplemented`): they say nothing about what students got wrong."""
    groups: dict[tuple[Verdict, str], FailureGroup] = {}
    examples: dict[tuple[Verdict, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    for result in results:
        for test in result.tests:
            if test.verdict in (Verdict.PASSED, Verdict.NOT_IMPLEMENTED):
                continue
            message = test.message or test.verdict.value
            key: tuple[Verdict, str] = (test.verdict, normalize(message))
            group = groups.setdefault(key, FailureGroup(key[1], test.verdict, message))
            group.count += 1
            examples[key][message] += 1
            if test.name not in group.tests:
                group.tests.append(test.name)
            if result.student not in group.students:
                group.students.append(result.student)
    for key, group in groups.items():
        group.example = examples[key].most_common(1)[0][0]
    ranked = sorted(groups.values(), key=lambda g: (-len(g.students), -g.count, g.pattern))
    return ranked[:limit]


def unimplemented(results: list[SubmissionResult]) -> list[tuple[str, list[str]]]:
    """Exercise -> the students who left it unimplemented (missing or still
    a stub), in notebook order."""
    students: dict[str, list[str]] = collections.defaultdict(list)
    for result in results:
        for test in result.tests:
            if (
                test.verdict is Verdict.NOT_IMPLEMENTED
                and result.student not in students[test.exercise]
            ):
                students[test.exercise].append(result.student)
    return [(e, students[e]) for e in class_exercise_order(results) if students.get(e)]


def _suspicious(code: str) -> str | None:
    return next((s for s in SUSPICIOUS_CODE if s in code), None)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def flags_for(result: SubmissionResult) -> list[Flag]:
    """Why an instructor might look at this submission (see the module's
    docstring). Only typed fields are read: verdicts, notice kinds and the
    signals tests carry, never the wording of a message."""
    student = result.student
    flags: list[Flag] = []
    by_verdict: dict[Verdict, list[TestResult]] = collections.defaultdict(list)
    for test in result.tests:
        by_verdict[test.verdict].append(test)
    for verdict, tests in sorted(by_verdict.items(), key=lambda item: list(Verdict).index(item[0])):
        concern = verdict.info.concern
        if concern is Concern.LIMITS:
            names = ", ".join(t.name for t in tests)
            limits = sorted({t.limit.value for t in tests if t.limit})
            reached = f" ({', '.join(limits)})" if limits else ""
            what = f"{_plural(len(tests), 'test')}: {verdict.info.label}{reached}"
            flags.append(Flag(student, concern, what, f"{tests[0].message} ({names})"))
        elif concern is Concern.GRADER:
            what = _plural(len(tests), "internal error")
            flags.append(Flag(student, concern, what, "not the student's fault; re-run to retry"))
    for notice in result.notices:
        info = notice.kind.info
        if info.concern is not None:
            where = f"cell {notice.cell}" if notice.cell else "the notebook"
            what = info.flag.format(where=where)
            flags.append(Flag(student, info.concern, what, notice.message))
    handles = collections.Counter(t.handle_type for t in result.tests if t.handle_type)
    for type_name, count in handles.items():
        flags.append(
            Flag(
                student,
                Concern.TAMPERING,
                f"returned an object of type {type_name} where data was expected",
                f"{_plural(count, 'test')}; an object kept in the sandbox, e.g. one "
                "whose __eq__ always says yes",
            )
        )
    refused = [t for t in result.tests if t.refused]
    if refused:
        flags.append(
            Flag(student, Concern.TAMPERING, "sent data the grader refused", refused[0].message)
        )
    frames = [f for t in result.tests for f in t.frames] + [
        f for n in result.notices for f in n.frames
    ]
    seen: set[tuple[int, int]] = set()
    for frame in frames:
        found = _suspicious(frame.code)
        if found and (frame.cell, frame.line) not in seen:
            seen.add((frame.cell, frame.line))
            flags.append(
                Flag(
                    student,
                    Concern.TAMPERING,
                    f"code touching {found} (cell {frame.cell}, line {frame.line})",
                    frame.code.strip(),
                )
            )
    if result.output_cut or any(t.output_cut for t in result.tests):
        flags.append(
            Flag(
                student,
                Concern.TAMPERING,
                "printed more than the grader keeps",
                "output flood: the rest was dropped",
            )
        )
    return flags


def _problems(result: SubmissionResult) -> str:
    counts = collections.Counter(t.verdict for t in result.tests)
    return ", ".join(
        f"{counts[v]} {v.value}" for v in Verdict if v is not Verdict.PASSED and counts[v]
    )


def class_stats(results: list[SubmissionResult]) -> ClassStats:
    ordered = sorted(results, key=lambda r: r.student)
    scores = [r.score for r in ordered]
    histogram = [0] * BINS
    for result in ordered:
        histogram[min(int(result.percent // 10), BINS - 1)] += 1
    flags = [f for r in ordered for f in flags_for(r)]
    flag_counts = collections.Counter(f.student for f in flags)
    times = [r.execution_time for r in ordered]
    max_scores = collections.Counter(r.max_score for r in ordered)
    return ClassStats(
        count=len(ordered),
        mean=statistics.fmean(scores) if scores else 0.0,
        median=statistics.median(scores) if scores else 0.0,
        minimum=min(scores, default=0.0),
        maximum=max(scores, default=0.0),
        max_score=max_scores.most_common(1)[0][0] if max_scores else 0.0,
        full_marks=sum(r.max_score > 0 and r.score >= r.max_score for r in ordered),
        histogram=tuple(histogram),
        exercises=exercise_rates(ordered),
        tests=per_test_rates(ordered),
        failures=failure_groups(ordered),
        unimplemented=unimplemented(ordered),
        flags=flags,
        students=[
            StudentRow(
                result=r,
                percent=r.percent,
                passed=sum(t.verdict is Verdict.PASSED for t in r.tests),
                problems=_problems(r),
                flags=flag_counts[r.student],
            )
            for r in ordered
        ],
        runtime_median=statistics.median(times) if times else 0.0,
        runtime_max=max(times, default=0.0),
        runtime_total=sum(times),
        slowest=sorted(ordered, key=lambda r: -r.execution_time)[:3],
    )
