"""The closed vocabularies (verdicts, notice kinds, concerns, export
formats, runner backends) each have one table, complete; and the class summary's flags come
from typed fields, so rewording every message changes none of them."""

from __future__ import annotations

import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import grader.runners
from grader import exporters
from grader.exporters import ExportFormat
from grader.reports import assets, stats
from grader.results import (
    CONCERN_CSS,
    NOTICES,
    TIME_SOURCES,
    VERDICTS,
    Audience,
    Concern,
    Fault,
    NoticeKind,
    Origin,
    SubmissionResult,
    TimeSource,
    Verdict,
)
from grader.runners import Backend
from grader.sandbox.host.client import LOAD_PROBLEM_KINDS
from tests.helpers import COURSE, HOSTILE, REPO, read_results
from tests.reworded_grader import REWORDED

FLAGGED_HOSTILE = ("tamper", "forge", "flood", "huge", "snoop")
"""hostile notebooks whose flags the smoke class does not raise"""


def test_every_verdict_has_its_row() -> None:
    assert set(VERDICTS) == set(Verdict)
    for verdict, info in VERDICTS.items():
        assert info.symbol and info.label and info.colour
        assert info.gradescope_status == ("passed" if verdict is Verdict.PASSED else "failed")
        assert (info.junit == "") == (verdict is Verdict.PASSED)
        assert info.junit in ("", "failure", "error")
        assert (info.fault is Fault.NONE) == (verdict is Verdict.PASSED)
        assert (info.fault is Fault.GRADER) == (info.concern is Concern.GRADER)


def test_every_badge_has_its_style() -> None:
    """A verdict or concern whose CSS class the stylesheet lacks would show
    as plain text: the badge's colour carries part of its meaning."""
    for css in [i.css for i in VERDICTS.values()] + list(CONCERN_CSS.values()):
        assert re.search(rf"\.{re.escape(css)}\b", assets.CSS), css
    assert set(CONCERN_CSS) == set(Concern)


def test_every_notice_kind_has_its_row() -> None:
    assert set(NOTICES) == set(NoticeKind)
    for info in NOTICES.values():
        assert info.label
        assert bool(info.flag) == (info.concern is not None)
        assert "{" not in info.flag.replace("{where}", "")


def test_every_time_source_has_a_wording_for_each_reader() -> None:
    """A student reads the policy, staff the mechanics: no flag or file
    name in a student's wording, and the two never the same."""
    assert set(TIME_SOURCES) == set(TimeSource)
    for source in TimeSource:
        assert set(TIME_SOURCES[source]) == set(Audience)
        student, staff = source.wording(Audience.STUDENT), source.wording(Audience.STAFF)
        assert student and staff and student != staff
        assert not re.search(r"--|\.json|metadata|manifest", student), student


def test_the_sandbox_may_send_only_its_own_notice_kinds() -> None:
    sandbox = {k for k, info in NOTICES.items() if info.origin is Origin.SANDBOX}
    assert sandbox == LOAD_PROBLEM_KINDS == {"syntax", "error", "exit", "tamper"}


def _graded_class(tmp_path: Path) -> Path:
    """The smoke class and the hostile notebooks that raise other flags."""
    submissions = tmp_path / "class"
    shutil.copytree(COURSE / "submissions", submissions)
    for name in FLAGGED_HOSTILE:
        shutil.copy(HOSTILE / f"{name}.ipynb", submissions)
    return submissions


def _grade(module: str, submissions: Path, out: Path) -> list[SubmissionResult]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["--root", str(COURSE), "grade", "00_smoke", str(submissions), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [SubmissionResult.from_json(r) for r in read_results(out / "00_smoke").values()]


def _flags(results: list[SubmissionResult]) -> set[tuple[str, str, str]]:
    """What the class summary flags, without the details (which quote messages)."""
    return {(f.student, f.category, f.what) for r in results for f in stats.flags_for(r)}


@pytest.mark.slow
def test_rewording_every_message_keeps_every_flag(tmp_path: Path) -> None:
    submissions = _graded_class(tmp_path)
    plain = _grade("grader", submissions, tmp_path / "plain")
    reworded = _grade("tests.reworded_grader", submissions, tmp_path / "reworded")

    messages = {t.message for r in reworded for t in r.tests if t.message}
    messages |= {n.message for r in reworded for n in r.notices}
    assert messages == {REWORDED}  # the rewording reached every record
    flags = _flags(plain)
    categories = {(student, category) for student, category, _ in flags}
    for expected in [
        ("sys_exit", Concern.TAMPERING),  # exit() in a cell
        ("cheat", Concern.TAMPERING),  # an AlwaysEqual handle where data was expected
        ("tamper", Concern.TAMPERING),  # builtins replaced
        ("forge", Concern.TAMPERING),  # frames written to the grader's connection
        ("flood", Concern.TAMPERING),  # output past what the sandbox keeps
        ("huge", Concern.TAMPERING),  # data the grader refused
        ("exits", Concern.LIMITS),
        ("loop", Concern.LIMITS),
        ("memory", Concern.LIMITS),
        ("broken", Concern.FILE),
    ]:
        assert expected in categories, expected
    assert _flags(reworded) == flags


def test_every_export_format_and_backend_is_a_module() -> None:
    assert set(ExportFormat) == exporters.modules()
    runners = {m.name for m in pkgutil.iter_modules(grader.runners.__path__)}
    assert set(Backend) <= runners
