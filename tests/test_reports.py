"""Reports and exports: written for the smoke course, and rendered from
hand-made results (visibility, comparisons, curves, hostile text)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import html.parser
import json
import re
import sqlite3
from pathlib import Path

import pytest

from grader import reports
from grader.console import summary_line
from grader.outdir import OutDir
from grader.policy import deadlines
from grader.policy.adjustments import explanation
from grader.policy.deadlines import Due, LatePolicy, Stamp
from grader.reports import assets, stats, views, writer
from grader.reports.disclosure import Disclosure
from grader.results import Audience, Comparison, Curve, Frame, Override, TimeSource, Verdict
from grader.results import TestResult as Result  # not collected as a test class
from tests.helpers import LATE_REASON, hostile_result, late_result, showcase_result, tensors
from tests.helpers import made_result as _result

DUE = dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.UTC)
BEFORE = DUE - dt.timedelta(days=1)
AFTER = DUE + dt.timedelta(minutes=1)


def secret_tests(tag: str) -> list[Result]:
    """One failing test per visibility, each with details marked ``SECRET-<tag>``."""
    tests = []
    for visibility in ("visible", "after_due_date", "after_published", "hidden"):
        mark = f"SECRET-{tag}-{visibility}"
        tests.append(
            Result(
                name=f"test_{visibility}_{tag}",
                exercise="center",
                max_score=2.0,
                score=0.0,
                verdict=Verdict.FAILED,
                message=f"message {mark}",
                hint=f"hint {mark}",
                visibility=visibility,
                frames=(Frame(cell=4, line=2, function="center", code=f"x = 1  # {mark}"),),
                output=f"printed {mark}",
                comparison=Comparison(
                    expected_shape=(2,),
                    got_shape=(2,),
                    expected_dtype="float32",
                    got_dtype="float32",
                    max_abs_error=1.0,
                    max_rel_error=0.5,
                    worst_index=(1,),
                    expected_preview=(1.0, 987654.25),
                    got_preview=(1.0, 3.0),
                ),
                curves=(Curve(f"curve {mark}", (1.0, 0.5), (1.0, 0.25)),),
            )
        )
    return tests


class Parsed(html.parser.HTMLParser):
    """A page as a browser's parser sees it: its elements, attributes and scripts."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def attributes(self) -> set[str]:
        return {name for _, attrs in self.tags for name in attrs}

    def csp(self) -> str:
        for tag, attrs in self.tags:
            if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
                return attrs.get("content") or ""
        return ""


# -- the smoke course, graded by the real command --------------------------


def test_student_output_is_escaped_in_the_report(smoke_reports: Path) -> None:
    page = (smoke_reports / "noisy" / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_report_shows_score_notices_and_hints(smoke_reports: Path) -> None:
    page = (smoke_reports / "exits" / "report.html").read_text()
    assert "0 / 5" in page
    assert "Cell 1, line 1: SyntaxError" in page
    assert "Hint: Negative inputs become zero." in page


def test_class_index_links_every_student(smoke_reports: Path) -> None:
    page = (smoke_reports / "index.html").read_text()
    students = sorted(p.name for p in smoke_reports.iterdir() if p.is_dir())
    for student in students:
        assert f'href="{student}/report.html"' in page
    assert len(students) == 14


def test_grades_csv_has_points_per_exercise(smoke_reports: Path) -> None:
    with (smoke_reports / "grades.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows["loop"]["score"] == "2"
    assert rows["loop"]["relu"] == "0"
    assert rows["loop"]["make_var"] == "2"
    assert rows["good"]["percent"] == "100.0"


def test_gradebook_has_one_row_per_submission_and_test(smoke_reports: Path) -> None:
    with sqlite3.connect(smoke_reports.parent / "gradebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone() == (14,)
        assert db.execute("SELECT COUNT(*) FROM tests").fetchone() == (14 * 4,)
        assert db.execute(
            "SELECT verdict FROM tests WHERE student = 'memory' ORDER BY name"
        ).fetchall() == [("passed",), ("passed",), ("memory",), ("memory",)]


def test_printed_output_is_cut_to_the_stated_size(smoke_reports: Path) -> None:
    page = (smoke_reports / "noisy" / "report.html").read_text()
    shown = re.search(r"<pre>(.*?)</pre>", page, re.S)
    assert shown is not None
    assert len(shown.group(1).replace("&lt;", "<").replace("&gt;", ">")) == views.OUTPUT_LIMIT
    assert f"first {views.OUTPUT_LIMIT:,} shown" in page
    assert "The grader had already dropped part of it" in page


def test_class_page_flags_limits_and_tampering(smoke_reports: Path) -> None:
    page = (smoke_reports / "index.html").read_text()
    flagged = re.findall(
        r'<tr>\s*<th scope="row"><a href="([^"]+)/report.html">.*?</a></th>\s*'
        r'<td><span class="badge [\w-]+">([^<]+)</span></td>\s*<td>([^<]*)</td>',
        page.split('id="look"')[1].split('id="students"')[0],
    )
    kinds = {(student, kind) for student, kind, _ in flagged}
    assert ("sys_exit", "possible tampering") in kinds  # exit() in a cell
    assert ("cheat", "possible tampering") in kinds  # an AlwaysEqual handle
    assert ("exits", "limits") in kinds  # crash
    assert ("loop", "limits") in kinds
    assert ("graph_loop", "limits") in kinds
    assert ("memory", "limits") in kinds
    assert ("broken", "file") in kinds
    assert not {s for s, _ in kinds} & {"good", "stub", "error"}


# -- visibility -------------------------------------------------------------


@pytest.mark.parametrize(
    ("disclosure", "shown"),
    [
        (Disclosure(), {"visible"}),
        (Disclosure.at(BEFORE, DUE), {"visible"}),
        (Disclosure.at(DUE, DUE), {"visible", "after_due_date"}),
        (Disclosure.at(AFTER.replace(tzinfo=None), DUE), {"visible", "after_due_date"}),
        (Disclosure.at(BEFORE, None), {"visible"}),
        (
            Disclosure.at(BEFORE, DUE, published=True),
            {"visible", "after_due_date", "after_published"},
        ),
    ],
)
def test_details_follow_visibility_and_release(disclosure: Disclosure, shown: set[str]) -> None:
    page = reports.student_page(_result("amy", secret_tests("X")), disclosure=disclosure)
    for visibility in ("visible", "after_due_date", "after_published", "hidden"):
        mark = f"SECRET-X-{visibility}"
        leaked = {part: f"{part} {mark}" in page for part in ("message", "hint", "printed")}
        leaked["code"] = f"# {mark}" in page
        leaked["curve"] = f"curve {mark}" in page
        if visibility in shown:
            assert all(leaked.values()), (visibility, leaked)
        else:
            assert not any(leaked.values()), (visibility, leaked)
            assert mark not in page
    assert page.count("987654") == len(shown)  # a reference value in the preview
    # a held-back test keeps its verdict and points; a hidden one only its points
    assert "test_after_published_X" in page
    assert "test_hidden_X" not in page
    assert "Hidden test 1" in page
    assert "worth 2 points" in page


def test_held_back_details_say_until_when() -> None:
    page = reports.student_page(
        _result("amy", secret_tests("Y")), disclosure=Disclosure.at(BEFORE, DUE)
    )
    assert "held back until the due date (2026-12-01 23:59 UTC)" in page
    assert "held back until grades are published" in page


def test_unknown_visibility_is_treated_as_hidden() -> None:
    test = dataclasses.replace(secret_tests("Z")[0], visibility="after_dew_date")
    page = reports.student_page(
        _result("amy", [test]), disclosure=Disclosure.at(AFTER, DUE, published=True)
    )
    assert "SECRET-Z" not in page
    assert "Hidden test 1" in page


def test_a_report_discloses_what_is_due_when_it_is_written(tmp_path: Path) -> None:
    assignment = dataclasses.replace(tensors().info, due=DUE)
    result = _result("amy", secret_tests("W"))
    out = OutDir(tmp_path)
    report = out.report(assignment.name, "amy")
    writer.write_student(out, assignment, result, now=BEFORE)
    assert "SECRET-W-after_due_date" not in report.read_text()
    assert assignment.title in report.read_text()
    writer.write_student(out, assignment, result, now=AFTER)
    assert "message SECRET-W-after_due_date" in report.read_text()
    assert "SECRET-W-after_published" not in report.read_text()
    assert "SECRET-W-hidden" not in report.read_text()


def test_results_json_beside_the_report_holds_what_the_report_may_show(tmp_path: Path) -> None:
    """Before the due date the student's results.json has no message, hint,
    frame, output, comparison or curve of a test that is not visible, a
    hidden test has neither name nor verdict, and an override of it names
    its title; after it, what is due. The staff copy keeps everything."""
    assignment = dataclasses.replace(tensors().info, due=DUE)
    override = Override("test_hidden_J", 1.0, "regraded", "ta", "2026-12-02T00:00:00+00:00")
    result = dataclasses.replace(_result("amy", secret_tests("J")), overrides=(override,))
    out = OutDir(tmp_path)
    writer.write_student(out, assignment, result, now=BEFORE)
    given = out.student_results(assignment.name, "amy").read_text()
    assert "message SECRET-J-visible" in given
    leaked = [
        v for v in ("after_due_date", "after_published", "hidden") if f"SECRET-J-{v}" in given
    ]
    assert leaked == []
    assert "test_hidden_J" not in given
    tests = json.loads(given)["tests"]
    assert tests[1] == {
        "name": "test_after_due_date_J",
        "score": 0.0,
        "max_score": 2.0,
        "status": "failed",
        "visibility": "after_due_date",
        "verdict": "failed",
        "exercise": "center",
        "held_until": "the due date (2026-12-01 23:59 UTC)",
    }
    assert tests[3] == {
        "name": "",
        "title": "Hidden test 1",
        "max_score": 2.0,
        "visibility": "hidden",
        "exercise": "center",
    }
    assert json.loads(given)["overrides"][0]["test"] == "Hidden test 1"
    full = out.full_results(assignment.name, "amy").read_text()
    assert all(f"message SECRET-J-{v}" in full for v in ("after_published", "hidden"))
    writer.write_student(out, assignment, result, now=AFTER)
    given = out.student_results(assignment.name, "amy").read_text()
    assert "message SECRET-J-after_due_date" in given
    assert "SECRET-J-after_published" not in given and "SECRET-J-hidden" not in given


# -- what the student page shows --------------------------------------------


def test_comparison_shows_shapes_errors_and_the_worst_element() -> None:
    page = reports.student_page(showcase_result())
    assert "Your array and the expected one" in page
    worst = re.search(r'<tr class="worst"><th scope="row"><code>\[1, 2\]</code> ◀ largest', page)
    assert worst is not None
    assert (
        "0.731 (absolute), 1 relative to the expected value, at index <code>[1, 2]</code>" in page
    )
    assert "<code>[0, 2]</code>" in page  # the preview window, labelled by index
    assert "<code>[0, 1]</code>" not in page


def test_preview_positions_follow_the_harness_window() -> None:
    comparison = Comparison(
        expected_shape=(3, 4),
        got_shape=(3, 4),
        expected_dtype="float32",
        got_dtype="float32",
        max_abs_error=1.0,
        worst_index=(2, 3),
        expected_preview=(6.0, 7.0, 8.0, 9.0, 10.0, 11.0),
        got_preview=(6.0, 7.0, 8.0, 9.0, 10.0, 12.0),
    )
    view = views.comparison_view(comparison)
    assert [r.position for r in view.rows] == [
        "[1, 2]",
        "[1, 3]",
        "[2, 0]",
        "[2, 1]",
        "[2, 2]",
        "[2, 3]",
    ]
    assert [r.worst for r in view.rows] == [False] * 5 + [True]
    assert view.rows[-1].difference == "+1"


def test_traceback_lines_show_cell_line_and_code() -> None:
    page = reports.student_page(showcase_result())
    assert "Cell 16, line 3, in <code>take</code>" in page
    assert '<span class="ln">3 │ </span>    rows = tf.gather(x, idx)' in page
    assert "<code>pick_rows</code> raised NameError" in page


def test_training_curves_are_inline_svg_beside_the_reference() -> None:
    page = reports.student_page(showcase_result())
    curves = re.findall(r'<svg class="plot".*?</svg>', page, re.S)
    assert len(curves) == 2
    loss = curves[0]
    assert "<title id=" in loss and "<desc id=" in loss
    assert loss.count("<polyline") == 2
    assert 'stroke-dasharray="6 4"' in loss  # the reference is dashed, not only another colour
    assert "loss: yours 0.1995 after 12 epochs; reference 0.03197 after 12 epochs." in page


def test_curve_with_nan_breaks_the_line_and_says_so() -> None:
    svg = str(
        reports.plots.curve_chart(
            "loss", [3.0, 2.0, float("nan"), 1.0], [3.0, 1.0, 0.5, 0.4], plot_id="c"
        )
    )
    assert svg.count("<polyline") == 3  # reference, then the student's two pieces
    assert "nan from epoch 3" in svg
    wide = str(reports.plots.curve_chart("loss", [1000.0, 1.0], [100.0, 0.5], plot_id="d"))
    assert "log scale" in wide


def test_pages_are_self_contained_and_allow_only_our_script() -> None:
    assignment = tensors()
    student = reports.student_page(showcase_result(), disclosure=Disclosure.at(AFTER, DUE))
    summary = reports.class_page(assignment, [showcase_result(), hostile_result()], now=AFTER)
    for page in (student, summary):
        parsed = Parsed(page)
        assert not {t for t, _ in parsed.tags} & {"link", "img", "iframe", "object", "embed"}
        assert not parsed.attributes() & {"src", "srcset", "style"}
        assert set(re.findall(r"https?://[^\s\"'<]+", page)) <= {"http://www.w3.org/2000/svg"}
        assert parsed.csp().startswith("default-src 'none'; ")
        assert f"style-src {assets.sha256_source(assets.CSS)};" in parsed.csp()
    assert Parsed(student).scripts == []
    assert "script-src 'none'" in Parsed(student).csp()
    assert Parsed(summary).scripts == [assets.SORT_SCRIPT]
    assert f"script-src {assets.sha256_source(assets.SORT_SCRIPT)};" in Parsed(summary).csp()


def test_hostile_text_only_ever_appears_escaped() -> None:
    hostile = hostile_result()
    student = reports.student_page(hostile, disclosure=Disclosure.at(AFTER, DUE, published=True))
    summary = reports.class_page(tensors(), [hostile], now=AFTER)
    for page in (student, summary):
        parsed = Parsed(page)
        assert "img" not in {t for t, _ in parsed.tags}
        assert not {a for a in parsed.attributes() if a.startswith("on")}
        assert len(parsed.scripts) == (page is summary)
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in page
    assert "&lt;/pre&gt;" in student
    assert 'href="%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/report.html"' in summary


# -- the class summary ----------------------------------------------------


def test_class_statistics() -> None:
    good = showcase_result("amy")
    results = [good, hostile_result("bob"), _result("cat", secret_tests("C"))]
    summary = stats.class_stats(results)
    assert summary.count == 3
    assert summary.histogram[0] == 2  # bob and cat scored 0
    assert sum(summary.histogram) == 3
    assert summary.students[0].result.student == "amy"
    lowest = min(e.rate for e in summary.exercises)
    assert [e.name for e in summary.exercises if e.hardest] == [
        e.name for e in summary.exercises if e.rate == lowest
    ]
    assert {e.name: e.rate for e in summary.exercises}["softmax"] == 0.5
    categories = {(f.student, f.category) for f in summary.flags}
    assert ("amy", "limits") in categories  # the timeout
    assert ("bob", "possible tampering") in categories  # exit() and an AlwaysEqual handle
    whats = [f.what for f in summary.flags if f.student == "bob"]
    assert "cell 3 called exit" in whats
    assert "returned an object of type AlwaysEqual where data was expected" in whats


def test_failures_are_grouped_up_to_numbers() -> None:
    assert stats.normalize("center on a (7, 3) matrix differs in 21 of 21 values") == (
        "center on a (…) matrix differs in # of # values"
    )
    assert stats.normalize("has dtype float64, but float32 was expected") == (
        "has dtype float64, but float32 was expected"
    )
    one = showcase_result("amy")
    other = dataclasses.replace(
        one,
        student="bob",
        tests=tuple(
            dataclasses.replace(t, message=t.message.replace("0.731", "0.5")) for t in one.tests
        ),
    )
    groups = stats.failure_groups([one, other])
    softmax = [g for g in groups if "test_softmax_large_logits" in g.tests]
    assert len(softmax) == 1
    assert softmax[0].students == ["amy", "bob"]
    assert softmax[0].count == 2


def test_characters_html_forbids_are_shown_as_escapes() -> None:
    """Control characters, lone surrogates and noncharacters from a submission
    (and a file name that is not UTF-8) never stop a report from being written."""
    text = "\x1b[31mred\x1b[0m \ud800 \x00 \ufffe \U0010ffff \x85"
    test = Result("test_relu", "relu", 1, 0, Verdict.ERROR, message=text, output=text)
    result = _result("bad\udcffid", [test], output=text)
    student = reports.student_page(result)
    summary = reports.class_page(tensors(), [result])
    for page in (student, summary):
        page.encode("utf-8")
        assert "\\x1b[31mred\\x1b[0m \\ud800 \\x00 \\ufffe \\U0010ffff \\x85" in page
        assert "bad\\udcffid" in page
    assert 'href="bad%FFid/report.html"' in summary


def test_a_report_written_without_the_assignment_holds_back_until_the_due_date() -> None:
    page = reports.student_page(_result("amy", secret_tests("V")))
    assert "held back until the due date or grades are published" in page
    assert "SECRET-V-after_due_date" not in page


# -- adjusted scores ------------------------------------------------------------


def text_of(page: str) -> str:
    """The page's text as a reader sees it: tags gone, entities read, spaces joined."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_report_and_the_class_page_explain_an_adjusted_score() -> None:
    result = late_result("lee")
    student = text_of(reports.student_page(result))
    line = explanation(result, Audience.STUDENT, named={"test_center_rows", "test_softmax_rows"})
    assert line.startswith("tests 35/36; override a hidden test") and line in student
    assert LATE_REASON in student and "the time of the commit that was graded" in student
    for staff_only in ("SECRET", "checked-out commit", "git commit time"):
        assert staff_only not in student
    page = text_of(reports.class_page(tensors().info, [result, showcase_result("ok")]))
    assert explanation(result, Audience.STAFF) in page
    assert "override test_SECRET_hidden = 6 by ta-kim" in page


@pytest.mark.parametrize(
    ("source", "student_words"),
    [
        (None, "no submission time was found, so no late penalty was applied"),
        (TimeSource.MTIME, "the time your file was last saved"),
        (TimeSource.MANIFEST, "the time the course's submission system recorded"),
    ],
    ids=["no time", "file time", "manifest"],
)
def test_a_student_reads_the_policy_and_staff_the_mechanics(
    source: TimeSource | None, student_words: str
) -> None:
    """Where a time came from is worded for each reader from its kind, never
    by rewriting a message: no command-line flag reaches a student."""
    policy = LatePolicy(kind="percent", percent=10)
    stamp = None if source is None else Stamp(DUE + dt.timedelta(hours=3), source)
    penalty = deadlines.penalty(policy, points=10, due=Due(DUE), stamp=stamp)
    result = dataclasses.replace(late_result("lee"), overrides=(), penalty=penalty)
    student = text_of(reports.student_page(result))
    assert student_words in student
    assert "--" not in student and "metadata" not in student and "modification" not in student
    staff = summary_line(result)
    flag = {None: "--trust-mtime", TimeSource.MTIME: "--trust-mtime"}.get(source, "--manifest")
    assert flag in staff
