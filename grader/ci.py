"""What a CI job reads after ``grader grade``: JUnit XML per submission, a
Markdown summary table, a final ``Points X/Y`` line and an exit status.

Every output here may reach a student (a JUnit file committed back to their
repository, a job log), so tests are shown through the same
:class:`~grader.reports.Disclosure` as ``report.html``: a hidden test is "Hidden
test N" with its points only, and a test whose details wait for the due
date or publication has its verdict without its message. The summary table
holds points per exercise, which every student's report shows too.
"""

from __future__ import annotations

import datetime as dt
import platform
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path

from grader.assignments import AssignmentInfo
from grader.batch import BatchSummary
from grader.errors import GraderError
from grader.files import atomic_write
from grader.policy.adjustments import explanation
from grader.reports import Disclosure, views
from grader.results import (
    REFUSAL_KINDS,
    Audience,
    SubmissionResult,
    Verdict,
    Visibility,
    class_exercise_order,
)
from grader.texts import xml_safe

FAIL_UNDER_STATUS = 3
"""exit status of ``grader grade --fail-under`` when a submission scored below it"""


def batch_results(summary: BatchSummary) -> list[SubmissionResult]:
    """Every submission of a run (graded now, refused, or unchanged), by student."""
    return sorted([*summary.graded, *summary.skipped], key=lambda r: r.student)


def points_line(results: Iterable[SubmissionResult]) -> str:
    """``Points X/Y`` over the run (one submission: its score), as GitHub
    Classroom's reporter printed it."""
    kept = list(results)
    score = round(sum(r.score for r in kept), 4)
    total = round(sum(r.max_score for r in kept), 4)
    return f"Points {score:g}/{total:g}"


def below(results: Iterable[SubmissionResult], percent: float) -> list[SubmissionResult]:
    """Submissions that scored under ``percent`` of their points."""
    return [r for r in results if r.percent < percent]


def finish(
    assignment: AssignmentInfo,
    summary: BatchSummary,
    *,
    junit: Path | None,
    summary_md: Path | None,
    fail_under: float | None,
    echo: Callable[[str], None],
    warn: Callable[[str], None],
    now: dt.datetime | None = None,
) -> int:
    """Write the CI outputs asked for, print the ``Points`` line last, and
    return the exit status: 0 whatever the scores, unless ``fail_under``."""
    results = batch_results(summary)
    disclosure = Disclosure.at(now or dt.datetime.now(dt.UTC), assignment.due)
    try:
        if junit is not None:
            write_junit(results, junit, disclosure)
        if summary_md is not None:
            summary_md.parent.mkdir(parents=True, exist_ok=True)
            with summary_md.open("a", encoding="utf-8") as handle:
                handle.write(summary_markdown(assignment, results))
    except OSError as err:
        raise GraderError(
            f"could not write the CI outputs ({err.filename}): {err.strerror}; the grades are "
            "recorded, so the same command again only rewrites them"
        ) from err
    low = [] if fail_under is None else below(results, fail_under)
    for result in low:
        warn(f"{result.student} scored {result.percent:.1f}%, under --fail-under {fail_under:g}%")
    echo(points_line(results))
    return FAIL_UNDER_STATUS if low else 0


# -- JUnit XML ----------------------------------------------------------------


def write_junit(results: Iterable[SubmissionResult], folder: Path, disclosure: Disclosure) -> None:
    """``folder/STUDENT.xml`` for each submission: one ``<testsuite>`` each,
    in the Ant/Jenkins JUnit schema that GitLab, Jenkins and most CI read."""
    for result in results:
        suite = junit_suite(result, disclosure)
        ET.indent(suite)
        text = ET.tostring(suite, encoding="unicode", xml_declaration=True)
        atomic_write(folder / f"{result.student}.xml", text + "\n")


def junit_suite(result: SubmissionResult, disclosure: Disclosure) -> ET.Element:
    """One submission as a ``<testsuite>``: a ``<testcase>`` per test, its
    exercise as ``classname``, points in the suite's ``<properties>``."""
    durations = {t.name: t.duration for t in result.tests}
    cases: list[ET.Element] = []
    points: list[tuple[str, str]] = []
    counts = {"failure": 0, "error": 0, "skipped": 0}
    exercises = views.exercise_views(result, disclosure)
    shown = [test for exercise in exercises for test in exercise.tests]
    for exercise in exercises:
        for test in exercise.tests:
            name = test.name or test.title
            case = ET.Element(
                "testcase",
                name=xml_safe(name),
                classname=xml_safe(exercise.name),
                time=f"{durations.get(test.name, 0.0) if test.name else 0.0:.3f}",
            )
            outcome = _outcome(test)
            if outcome is not None:
                case.append(outcome)
                counts[outcome.tag] += 1
            cases.append(case)
            got = "hidden" if test.score is None else f"{test.score:g}"
            points.append((f"points {exercise.name}.{name}", f"{got}/{test.max_score:g}"))
    suite = ET.Element(
        "testsuite",
        name=xml_safe(f"{result.assignment}/{result.student}"),
        timestamp=_timestamp(result.graded_at),
        hostname=platform.node() or "localhost",
        tests=str(len(cases)),
        failures=str(counts["failure"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{result.execution_time:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    named = {test.name for test in shown if test.name}
    facts = [
        ("assignment", result.assignment),
        ("student", result.student),
        ("score", f"{result.score:g}"),
        ("max_score", f"{result.max_score:g}"),
        ("percent", f"{result.percent:.1f}"),
        ("raw_score", f"{result.raw_score:g}"),
        ("late_penalty", f"{result.penalty.points:g}" if result.penalty else "0"),
        ("adjustment", explanation(result, Audience.STUDENT, named=named)),
        ("isolation", result.isolation or "none"),
        ("submission_hash", result.submission_hash),
        *points,
    ]
    for key, value in facts:
        ET.SubElement(properties, "property", name=xml_safe(key), value=xml_safe(value))
    suite.extend(cases)
    ET.SubElement(suite, "system-out").text = xml_safe(_notices(result))
    ET.SubElement(suite, "system-err").text = ""
    return suite


def _outcome(test: views.TestView) -> ET.Element | None:
    """The child element of a test case, from what the student may see."""
    if test.verdict is None:
        element = ET.Element("skipped", message=f"hidden test worth {test.max_score:g} points")
        element.text = "What this test checks, and its result, are not shown."
        return element
    if test.verdict is Verdict.PASSED:
        return None
    tag = test.verdict.info.junit
    if test.held_until:
        message = f"{test.verdict_text}; details are shown after {test.held_until}"
        body = message
    else:
        message = test.message or test.verdict_text
        lines = [test.message]
        lines += [f"  cell {f.cell}, line {f.line}: {f.code.strip()}" for f in test.frames]
        lines += [f"Hint: {test.hint}"] if test.hint else []
        body = "\n".join(line for line in lines if line)
    element = ET.Element(tag, type=test.verdict.value, message=xml_safe(message))
    element.text = xml_safe(body)
    return element


def _notices(result: SubmissionResult) -> str:
    """What the report says about the notebook as a whole (it shows every notice)."""
    lines = []
    for notice in result.notices:
        where = f"cell {notice.cell}, line {notice.line}: " if notice.cell and notice.line else ""
        if notice.cell and not notice.line:
            where = f"cell {notice.cell}: "
        lines.append(f"{where}{notice.message}")
    return "\n".join(lines)


def _timestamp(iso: str) -> str:
    """The schema's timestamp: ISO 8601 to the second, in UTC, without an offset."""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        moment = dt.datetime.now(dt.UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


# -- Markdown summary ---------------------------------------------------------


def summary_markdown(assignment: AssignmentInfo, results: list[SubmissionResult]) -> str:
    """A table for ``$GITHUB_STEP_SUMMARY`` (or a merge request note): points
    and percentage per student, points per exercise, and why a submission
    was not graded."""
    exercises = class_exercise_order(results)
    header = ["Student", "Points", "%", *(f"`{e}`" for e in exercises), "Notes"]
    lines = [
        f"### {_cell(assignment.name)}: {_cell(assignment.title)}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "--:", "--:", *("--:" for _ in exercises), "---"]) + "|",
    ]
    for result in results:
        per_exercise = {e: "" for e in exercises}
        for exercise in exercises:
            tests = [t for t in result.tests if t.exercise == exercise]
            score = round(sum(t.score for t in tests), 4)
            per_exercise[exercise] = f"{score:g}/{round(sum(t.max_score for t in tests), 4):g}"
        row = [
            _code(result.student),
            f"{result.score:g}/{result.max_score:g}",
            f"{result.percent:.1f}",
            *per_exercise.values(),
            _code(_note(result)),
        ]
        lines.append("| " + " | ".join(row) + " |")
    isolation = sorted({r.isolation for r in results if r.isolation}) or ["none"]
    lines += ["", f"{points_line(results)} · isolation: {'; '.join(isolation)}", "", ""]
    return "\n".join(lines)


def _note(result: SubmissionResult) -> str:
    """Why the row's points are what they are, beyond its exercises' points."""
    refusal = next((n for n in result.notices if n.kind in REFUSAL_KINDS), None)
    notes = [f"not graded: {refusal.message}"] if refusal is not None else []
    if result.grader_at_fault:
        notes.append("grader error (not the student's fault; see the staff log)")
    named = {t.name for t in result.tests if t.visibility == Visibility.VISIBLE}
    notes.append(explanation(result, Audience.STUDENT, named=named))
    return "; ".join(note for note in notes if note)


MARKDOWN_SIGNIFICANT = re.compile(r"[\\`*_{}\[\]()<>#+\-.!|&~$]")
"""the characters that start a link, an image, an entity, HTML, emphasis, a
list, a heading or (on GitHub) math; escaped, each is a plain character.
GitHub's autolinks ignore escapes, hence code spans for students' text"""


def _cell(text: str) -> str:
    """Course text (a title) as Markdown table cell text: one line, every
    Markdown-significant character escaped."""
    return MARKDOWN_SIGNIFICANT.sub(r"\\\g<0>", _one_line(text))


def _code(text: str) -> str:
    """Text a student may have written (a file name, a message quoting one)
    as a code span in a table cell: nothing in it is a link, an image, an
    entity or HTML, and GitHub does not autolink it. Only ``|`` is escaped,
    as GFM tables need even inside a code span."""
    text = _one_line(text)
    if not text:
        return ""
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _one_line(text: str) -> str:
    return " ".join(xml_safe(text).split())
