"""What the student's page shows, decided before any template sees it.

The templates get :class:`TestView` records, never a ``TestResult``: a test
whose details are held back arrives with an empty message, no comparison,
no curves, no traceback, no hint and no output, and a hidden test arrives
without even its name or verdict. So a template cannot leak what the
visibility rules keep back, whatever it does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup

from grader.reports import plots
from grader.reports.disclosure import Disclosure
from grader.results import Comparison, Curve, Frame, SubmissionResult, TestResult, Verdict

OUTPUT_LIMIT = 5_000
"""characters of printed output shown per block (the rest is cut, and the page says so)"""


def humanize(name: str) -> str:
    """``test_center_single_row`` -> ``center single row``."""
    bare = name.removeprefix("test_").replace("_", " ").strip()
    return bare or name


@dataclass(frozen=True)
class Printed:
    """Printed output as shown: at most ``OUTPUT_LIMIT`` characters."""

    text: str
    total: int
    """characters the grader recorded"""
    cut_by_sandbox: bool
    """the sandbox had already cut it (at the assignment's output limit)"""

    @property
    def shown(self) -> int:
        return len(self.text)

    @property
    def cut(self) -> bool:
        return self.shown < self.total


def printed(text: str, *, cut_by_sandbox: bool, limit: int = OUTPUT_LIMIT) -> Printed | None:
    if not text:
        return None
    return Printed(text=text[:limit], total=len(text), cut_by_sandbox=cut_by_sandbox)


@dataclass(frozen=True)
class PreviewRow:
    position: str
    expected: str
    got: str
    difference: str
    worst: bool


@dataclass(frozen=True)
class ComparisonView:
    expected_shape: str
    got_shape: str
    expected_dtype: str
    got_dtype: str
    max_abs_error: str
    max_rel_error: str
    worst_index: str
    rows: tuple[PreviewRow, ...]

    @property
    def shape_differs(self) -> bool:
        return self.expected_shape != self.got_shape

    @property
    def dtype_differs(self) -> bool:
        return self.expected_dtype != self.got_dtype


def _shape(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(n) for n in shape) + ")"


def _index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def _value(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.6g}"


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        index.append(flat % size if size else 0)
        flat = flat // size if size else 0
    return tuple(reversed(index))


def _preview_start(comparison: Comparison) -> int | None:
    """Where the preview window starts in the flattened array.

    The harness centres its window on the worst element, clipped to the
    array (``grader.harness.assertions._compared``); the result is checked
    to contain the worst element, else positions are not labelled."""
    shape, worst = comparison.expected_shape, comparison.worst_index
    count = len(comparison.expected_preview)
    if worst is None or len(worst) != len(shape) or not count:
        return None
    size = math.prod(shape)
    flat = 0
    for i, n in zip(worst, shape, strict=True):
        flat = flat * n + i
    start = max(0, min(flat - count // 2, size - count))
    return start if start <= flat < start + count else None


def comparison_view(comparison: Comparison) -> ComparisonView:
    start = _preview_start(comparison)
    rows = []
    pairs = zip(comparison.expected_preview, comparison.got_preview, strict=False)
    for offset, (want, got) in enumerate(pairs):
        position = "–"
        worst = False
        if start is not None:
            index = _unravel(start + offset, comparison.expected_shape)
            position = _index(index) if index else "value"
            worst = index == comparison.worst_index
        difference = "–"
        if isinstance(want, float) and isinstance(got, float):
            difference = f"{got - want:+.3g}"
        rows.append(PreviewRow(position, _value(want), _value(got), difference, worst))
    return ComparisonView(
        expected_shape=_shape(comparison.expected_shape),
        got_shape=_shape(comparison.got_shape),
        expected_dtype=comparison.expected_dtype,
        got_dtype=comparison.got_dtype,
        max_abs_error="" if comparison.max_abs_error is None else f"{comparison.max_abs_error:.3g}",
        max_rel_error="" if comparison.max_rel_error is None else f"{comparison.max_rel_error:.3g}",
        worst_index="" if comparison.worst_index is None else _index(comparison.worst_index),
        rows=tuple(rows),
    )


@dataclass(frozen=True)
class CurveView:
    label: str
    svg: Markup
    summary: str
    rows: tuple[tuple[int, str, str], ...]
    """epoch, your value, the reference's value"""


def curve_view(curve: Curve, plot_id: str) -> CurveView:
    epochs = max(len(curve.student), len(curve.reference))

    def at(values: tuple[float, ...], i: int) -> str:
        return plots.number(values[i]) if i < len(values) else ""

    return CurveView(
        label=curve.label,
        svg=plots.curve_chart(
            curve.label, curve.student, curve.reference, plot_id=plot_id, every=curve.every
        ),
        summary=plots.curve_summary(curve.label, curve.student, curve.reference, every=curve.every),
        rows=tuple(
            (curve.epoch(i), at(curve.student, i), at(curve.reference, i)) for i in range(epochs)
        ),
    )


@dataclass(frozen=True)
class TestView:
    """One test as the student may see it now."""

    anchor: str
    title: str
    name: str
    """the test's function name; empty for a hidden test"""
    max_score: float
    visibility: str
    hidden: bool
    verdict: Verdict | None
    """None for a hidden test"""
    score: float | None
    held_until: str = ""
    """set when the details are held back: until when, in words"""
    message: str = ""
    hint: str = ""
    frames: tuple[Frame, ...] = ()
    comparison: ComparisonView | None = None
    curves: tuple[CurveView, ...] = ()
    output: Printed | None = None

    @property
    def symbol(self) -> str:
        return self.verdict.info.symbol if self.verdict else "•"

    @property
    def verdict_text(self) -> str:
        return self.verdict.info.label if self.verdict else "hidden"

    @property
    def css(self) -> str:
        return self.verdict.info.css if self.verdict else "hidden"


def make_test_view(
    test: TestResult, anchor: str, hidden_number: int, disclosure: Disclosure
) -> TestView:
    if disclosure.is_hidden(test.visibility):
        return TestView(
            anchor=anchor,
            title=f"Hidden test {hidden_number}",
            name="",
            max_score=test.max_score,
            visibility=test.visibility,
            hidden=True,
            verdict=None,
            score=None,
        )
    base = TestView(
        anchor=anchor,
        title=humanize(test.name),
        name=test.name,
        max_score=test.max_score,
        visibility=test.visibility,
        hidden=False,
        verdict=test.verdict,
        score=test.score,
    )
    if not disclosure.shows_details(test.visibility):
        return replace(base, held_until=disclosure.held_until(test.visibility))
    passed = test.verdict is Verdict.PASSED
    return replace(
        base,
        message=test.message,
        hint="" if passed else test.hint,
        frames=test.frames,
        comparison=comparison_view(test.comparison) if test.comparison else None,
        curves=tuple(curve_view(c, f"{anchor}-c{i + 1}") for i, c in enumerate(test.curves)),
        output=printed(test.output, cut_by_sandbox=test.output_cut),
    )


@dataclass(frozen=True)
class ExerciseView:
    name: str
    anchor: str
    score: float
    max_score: float
    tests: tuple[TestView, ...]

    @property
    def shown(self) -> list[TestView]:
        return [t for t in self.tests if not t.hidden]

    @property
    def passed(self) -> int:
        return sum(t.verdict is Verdict.PASSED for t in self.shown)

    @property
    def hidden_count(self) -> int:
        return sum(t.hidden for t in self.tests)

    @property
    def complete(self) -> bool:
        return self.score >= self.max_score


def exercise_views(result: SubmissionResult, disclosure: Disclosure) -> list[ExerciseView]:
    """The tests grouped by exercise in notebook order (then any exercise
    the notebook order does not name, in suite order)."""
    groups: dict[str, list[tuple[int, TestResult]]] = {e: [] for e in result.exercise_order}
    for number, test in enumerate(result.tests, start=1):
        groups[test.exercise].append((number, test))
    views = []
    hidden = 0
    for position, (name, tests) in enumerate(((n, t) for n, t in groups.items() if t), start=1):
        shown = []
        for number, test in tests:
            hidden += disclosure.is_hidden(test.visibility)
            shown.append(make_test_view(test, f"t{number}", hidden, disclosure))
        views.append(
            ExerciseView(
                name=name,
                anchor=f"ex{position}",
                score=round(sum(t.score for _, t in tests), 4),
                max_score=round(sum(t.max_score for _, t in tests), 4),
                tests=tuple(shown),
            )
        )
    return views


_HELD_FIELDS = ("name", "score", "max_score", "status", "visibility", "verdict", "exercise")
"""what ``results.json`` keeps of a test whose details are held back"""
_HIDDEN_FIELDS = ("max_score", "visibility", "exercise")
"""what it keeps of a hidden test (with its title, ``Hidden test N``)"""


def student_json(result: SubmissionResult, disclosure: Disclosure) -> dict[str, Any]:
    """``results.json`` as the student may be given it: the report's
    :class:`TestView` decisions applied to the full JSON, so a test whose
    details are held back keeps its verdict and points only, and a hidden
    test its title and points only (an override of it names its title)."""
    data = result.to_json()
    shown = {t.anchor: t for e in exercise_views(result, disclosure) for t in e.tests}
    titles: dict[str, str] = {}
    tests: list[dict[str, Any]] = []
    for number, entry in enumerate(data["tests"], start=1):
        view = shown[f"t{number}"]
        if view.hidden:
            titles[entry["name"]] = view.title
            tests.append({"name": "", "title": view.title} | {k: entry[k] for k in _HIDDEN_FIELDS})
        elif view.held_until:
            tests.append({k: entry[k] for k in _HELD_FIELDS} | {"held_until": view.held_until})
        else:
            tests.append(entry)
    data["tests"] = tests
    data["overrides"] = [o | {"test": titles.get(o["test"], o["test"])} for o in data["overrides"]]
    return data


_TICKS = re.compile(r"`([^`\n]+)`")


def code_spans(text: str) -> Markup:
    """Escape ``text``, showing `backticked` parts as code (as the messages write them)."""
    parts = _TICKS.split(text)
    out = Markup("")
    for i, part in enumerate(parts):
        out += Markup("<code>{}</code>").format(part) if i % 2 else Markup.escape(part)
    return out


def breakable(text: str) -> Markup:
    """Escape ``text``, letting a long identifier wrap after its underscores."""
    return Markup("_<wbr>").join(Markup.escape(part) for part in text.split("_"))
