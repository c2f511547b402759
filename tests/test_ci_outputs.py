"""What CI reads after grading: JUnit XML (validated against the Ant/Jenkins
JUnit schema), the Markdown summary, the Points line and the exit status,
from hand-made results with every verdict and visibility."""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from grader import ci
from grader.batch import BatchSummary
from grader.cli import main
from grader.console import summary_line
from grader.errors import GraderError
from grader.reports.disclosure import Disclosure
from grader.results import NoticeKind, SubmissionResult, Verdict
from grader.results import TestResult as Result  # not collected as a test class
from tests.helpers import (
    COURSE,
    LATE_REASON,
    REPO,
    hostile_result,
    late_result,
    showcase_result,
    tensors,
)

SCHEMA = xmlschema.XMLSchema(REPO / "tests" / "schemas" / "junit.xsd")
DUE = dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.UTC)
BEFORE = DUE - dt.timedelta(days=2)
AFTER = DUE + dt.timedelta(days=1)
SECRET = "SECRET-edge-case-41"


def secretive() -> SubmissionResult:
    """The showcase (every verdict and visibility) plus a failed hidden test
    whose name, message and hint must never reach a student."""
    base = showcase_result()
    hidden = Result(
        name="test_secret_edge_case",
        exercise="train",
        max_score=2,
        score=0,
        verdict=Verdict.FAILED,
        message=f"expected {SECRET}",
        hint=f"hint {SECRET}",
        visibility="hidden",
    )
    return dataclasses.replace(base, tests=(*base.tests, hidden))


def junit(result: SubmissionResult, now: dt.datetime, tmp_path: Path) -> tuple[str, ET.Element]:
    ci.write_junit([result], tmp_path, Disclosure.at(now, DUE))
    path = tmp_path / f"{result.student}.xml"
    SCHEMA.validate(str(path))
    text = path.read_text(encoding="utf-8")
    return text, ET.fromstring(text)


def case(suite: ET.Element, name: str) -> ET.Element:
    found = [c for c in suite.iter("testcase") if c.get("name") == name]
    assert len(found) == 1, [c.get("name") for c in suite.iter("testcase")]
    return found[0]


def test_junit_maps_verdicts_and_is_valid(tmp_path: Path) -> None:
    result = secretive()
    _, suite = junit(result, BEFORE, tmp_path)
    assert suite.tag == "testsuite"
    assert suite.get("name") == f"{result.assignment}/{result.student}"
    assert int(suite.get("tests", "")) == len(result.tests)
    passed = case(suite, "test_softmax_random_rows")
    assert passed.get("classname") == "softmax" and list(passed) == []
    failed = case(suite, "test_softmax_large_logits").find("failure")
    assert failed is not None and failed.get("type") == "failed"
    assert "largest absolute error is 0.731" in (failed.get("message") or "")
    assert "Hint: Subtract each row's maximum" in (failed.text or "")
    error = case(suite, "test_pick_rows_repeats").find("error")
    assert error is not None and error.get("type") == "error"
    assert "cell 16, line 5: return take(x, indices)" in (error.text or "")
    timeout = case(suite, "test_count_traces_tensors").find("error")
    assert timeout is not None and timeout.get("type") == "timeout"
    counts = {tag: len(list(suite.iter(tag))) for tag in ("failure", "error", "skipped")}
    assert counts == {
        "failure": int(suite.get("failures", "")),
        "error": int(suite.get("errors", "")),
        "skipped": int(suite.get("skipped", "")),
    }
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["score"] == f"{result.score:g}"
    assert properties["max_score"] == f"{result.max_score:g}"
    assert properties["points softmax.test_softmax_large_logits"] == "0/2"
    assert (suite.findtext("system-out") or "").startswith("cell 1: IPython magic")


def test_junit_keeps_back_what_the_report_keeps_back(tmp_path: Path) -> None:
    """Before the due date: hidden tests are "Hidden test N" with their points
    only; an after_due_date test has its verdict without its message."""
    text, suite = junit(secretive(), BEFORE, tmp_path)
    assert SECRET not in text
    assert "test_secret_edge_case" not in text and "test_train_hidden_generalises" not in text
    hidden = [c for c in suite.iter("testcase") if c.get("name", "").startswith("Hidden test")]
    assert [c.get("classname") for c in hidden] == ["train", "train"]
    assert all(c.find("skipped") is not None for c in hidden)
    held = case(suite, "test_train_after_due").find("failure")
    assert held is not None
    assert "details are shown after the due date (2026-12-01 23:59 UTC)" in (
        held.get("message") or ""
    )
    assert "validation loss went up" not in text and "Look at overfitting" not in text
    assert case(suite, "test_train_after_published").find("failure") is None  # it passed


def test_junit_after_the_due_date_shows_what_was_due(tmp_path: Path) -> None:
    text, suite = junit(secretive(), AFTER, tmp_path)
    held = case(suite, "test_train_after_due").find("failure")
    assert held is not None and "validation loss went up" in (held.get("message") or "")
    assert SECRET not in text  # hidden stays hidden


def test_hostile_text_stays_valid_xml_and_one_table_row(tmp_path: Path) -> None:
    base = hostile_result("mallory")
    bad = dataclasses.replace(
        base.tests[0], message="\x1b[31mred\x00 | col \ud800 <b>bold</b>\nnext line"
    )
    result = dataclasses.replace(base, tests=(bad, *base.tests[1:]))
    text, _ = junit(result, AFTER, tmp_path)  # validated: no character XML 1.0 refuses
    assert "\\x1b[31mred" in text
    refused = dataclasses.replace(
        result,
        student="zed",
        notices=(
            dataclasses.replace(
                result.notices[0], kind=NoticeKind.UNREADABLE, message="a | b\nc <i>"
            ),
        ),
    )
    table = ci.summary_markdown(tensors(), [result, refused])
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 3  # header and two students
    columns = {line.replace("\\|", "").count("|") for line in rows}
    assert len(columns) == 1
    assert "| `not graded: a \\| b c <i>` |" in table  # a code span: no HTML in it


def test_every_ci_output_explains_an_adjusted_score(tmp_path: Path) -> None:
    """28.8/36 beside exercises that add up to 35: the console line, the
    summary's Notes and JUnit's properties each say why, in one line, and
    name no test the student may not see."""
    result = late_result("lee")
    staff = summary_line(result)
    assert "28.8/36" in staff and "tests 35/36" in staff and LATE_REASON in staff
    assert "override test_SECRET_hidden = 6 by ta-kim" in staff
    assert "late -7.2" in staff and "commit time of the checked-out commit" in staff

    table = ci.summary_markdown(tensors(), [result])
    [row] = [line for line in table.splitlines() if line.startswith("| `lee`")]
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    assert cells[1:5] == ["28.8/36", "80.0", "20/20", "15/16"]  # exercises: 35, as the tests gave
    note = cells[5].strip("` ")  # a code span: student-derived text makes no Markdown
    assert note.startswith("tests 35/36; override a hidden test = 6 by course staff")
    assert LATE_REASON in note and note.endswith("final 28.8/36")

    _, suite = junit(result, BEFORE, tmp_path)
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert (properties["raw_score"], properties["late_penalty"]) == ("35", "7.2")
    assert properties["adjustment"] == note
    for student_facing in (table, ET.tostring(suite, encoding="unicode")):
        assert "SECRET" not in student_facing and "ta-kim" not in student_facing


def test_summary_is_appended(tmp_path: Path) -> None:
    summary_file = tmp_path / "step-summary.md"
    summary_file.write_text("# Earlier step\n")
    summary = BatchSummary(graded=[showcase_result("ana"), showcase_result("bo")])
    for _ in range(2):
        status = ci.finish(
            tensors(),
            summary,
            junit=None,
            summary_md=summary_file,
            fail_under=None,
            echo=lambda line: None,
            warn=lambda line: None,
            now=BEFORE,
        )
        assert status == 0
    text = summary_file.read_text()
    assert text.startswith("# Earlier step\n")
    assert text.count("### 01\\_tensors: Tensors, variables") == 2
    assert text.count("| `ana` | 6/13 | 46.2 |") == 2


def test_points_line_is_last_and_fail_under_has_its_own_status() -> None:
    low, high = showcase_result("low"), showcase_result("high")
    high = dataclasses.replace(
        high, tests=tuple(dataclasses.replace(t, score=t.max_score) for t in high.tests)
    )
    summary = BatchSummary(graded=[low], skipped=[high])
    for fail_under, status in ((None, 0), (40.0, 0), (50.0, ci.FAIL_UNDER_STATUS)):
        printed: list[str] = []
        warned: list[str] = []
        got = ci.finish(
            tensors(),
            summary,
            junit=None,
            summary_md=None,
            fail_under=fail_under,
            echo=printed.append,
            warn=warned.append,
        )
        assert got == status
        assert printed[-1] == "Points 19/26"
        assert warned == (["low scored 46.2%, under --fail-under 50%"] if status else [])


def test_an_unwritable_junit_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(GraderError, match="could not write the CI outputs"):
        ci.finish(
            tensors(),
            BatchSummary(graded=[showcase_result()]),
            junit=blocker / "junit",
            summary_md=None,
            fail_under=None,
            echo=lambda line: None,
            warn=lambda line: None,
        )


def test_fail_under_is_a_percentage() -> None:
    result = CliRunner().invoke(
        main, ["--root", str(COURSE), "grade", "00_smoke", "--fail-under", "150"]
    )
    assert result.exit_code == 2
    assert "--fail-under" in result.output and "0<=x<=100" in result.output
