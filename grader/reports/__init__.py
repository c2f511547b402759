"""HTML pages from results, rendered with autoescaping jinja2 templates.

- :func:`student_page`: one student's feedback (``report.html``).
- :func:`class_page`: the class summary for staff (``index.html``).
- :func:`similarity_page`: pairs of similar submissions, for staff only.

All are pure functions of their arguments: what time it is and whether
grades are published reach them as a :class:`Disclosure`, never from a clock;
``grader.reports.writer`` writes them, and every other file a run makes.
Pages are self-contained (inline CSS and SVG, no fetch of any kind) and
work without JavaScript; the class page's table gains sort buttons from a
small inline script when scripts run.

Everything a student's code produced (printed output, exception messages,
traceback lines) reaches the page only as escaped text, and a
Content-Security-Policy allows no script but our own.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING

import jinja2

from grader.assignments import AssignmentInfo
from grader.policy.adjustments import adjusted, explanation
from grader.policy.regrades import ScoreChange
from grader.reports import assets, stats, views
from grader.reports.disclosure import Disclosure, format_time
from grader.reports.plots import histogram, number, rate_bar
from grader.results import Audience, SubmissionResult, Verdict
from grader.texts import html_safe

if TYPE_CHECKING:  # importing copydetect costs half a second; only the CLI verb needs it
    from grader.similarity import Check

__all__ = ["Disclosure", "class_page", "similarity_page", "student_page"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("grader", "reports/templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["code_spans"] = views.code_spans
_ENV.filters["points"] = lambda value: f"{value:g}"
_ENV.filters["number"] = number
_ENV.filters["humanize"] = views.humanize
_ENV.filters["breakable"] = views.breakable
_ENV.filters["rate_bar"] = rate_bar
_ENV.globals["Verdict"] = Verdict
_ENV.globals["CSS"] = assets.CSS
_ENV.globals["OUTPUT_LIMIT"] = views.OUTPUT_LIMIT


def _when(iso: str) -> str:
    """``2026-11-21T12:14:21+00:00`` -> ``2026-11-21 12:14 UTC`` (the text as is if unparsable)."""
    try:
        return format_time(dt.datetime.fromisoformat(iso))
    except ValueError:
        return iso


_ENV.filters["when"] = _when


def _printable(page: str) -> str:
    """The page with every character HTML forbids, or UTF-8 cannot encode,
    shown as an escape (``\\x1b``, ``\\ud800``): control characters (ANSI
    escapes included), lone surrogates, noncharacters. The templates emit
    none, so only text from a submission is touched, and a hostile
    exception message cannot stop its report from being written."""
    return html_safe(page)


def _href(path: str) -> str:
    """A relative link to a student's folder: percent-encoded, with a file
    name that is not UTF-8 (kept by Python as surrogates) as its own bytes."""
    return urllib.parse.quote(path, safe="/", errors="surrogateescape")


_ENV.filters["href"] = _href


def student_page(
    result: SubmissionResult, *, disclosure: Disclosure | None = None, title: str = ""
) -> str:
    """One student's report. ``disclosure`` says what non-visible tests may show
    (default: nothing is released, so only ``visible`` tests show details);
    ``title`` is the assignment's title, if known."""
    disclosure = disclosure or Disclosure()
    exercises = views.exercise_views(result, disclosure)
    tests = [t for e in exercises for t in e.tests]
    held = [t for t in tests if t.held_until]
    named = {t.name for t in tests if t.name}
    return _printable(
        _ENV.get_template("student.html").render(
            r=result,
            title=title,
            percent=result.percent,
            exercises=exercises,
            held=held,
            held_reasons=sorted({t.held_until for t in held}, key=lambda r: r.startswith("grades")),
            hidden=sum(t.hidden for t in tests),
            named=named,
            adjustment=explanation(result, Audience.STUDENT, named=named),
            audience=Audience.STUDENT,
            load_output=views.printed(result.output, cut_by_sandbox=result.output_cut),
            csp=assets.content_security_policy(script=False),
            script="",
        )
    )


def class_page(
    assignment: AssignmentInfo,
    results: list[SubmissionResult],
    *,
    now: dt.datetime | None = None,
    changes: Sequence[ScoreChange] = (),
    similarity: str = "",
) -> str:
    """The class summary for staff: distribution, pass rates, common failures,
    submissions to look at, score changes from the last suite change,
    overrides and late penalties, and a table linking every student's report
    (and the similarity page at the relative link ``similarity``, if any)."""
    summary = stats.class_stats(results)
    ordered = sorted(results, key=lambda r: r.student)
    return _printable(
        _ENV.get_template("class.html").render(
            assignment=assignment,
            similarity=similarity,
            s=summary,
            due=format_time(assignment.due) if assignment.due else "",
            generated=format_time(now) if now else "",
            histogram=histogram(
                summary.histogram,
                stats.BIN_LABELS,
                plot_id="histogram",
                title=f"Score distribution of {summary.count} submissions",
            ),
            bin_labels=stats.BIN_LABELS,
            changes=changes,
            overridden=[(r, o) for r in ordered for o in r.overrides],
            adjusted=[(r, explanation(r, Audience.STAFF)) for r in ordered if adjusted(r)],
            csp=assets.content_security_policy(script=True),
            script=assets.SORT_SCRIPT,
        )
    )


def similarity_page(check: Check, *, now: dt.datetime | None = None, summary: str = "") -> str:
    """Pairs of submissions sharing code, side by side with the matches
    marked; staff only (it shows students' code). No script. ``summary`` is
    the relative link to the class summary, if there is one."""
    return _printable(
        _ENV.get_template("similarity.html").render(
            c=check,
            summary=summary,
            generated=format_time(now) if now else "",
            csp=assets.content_security_policy(script=False),
            script="",
        )
    )
