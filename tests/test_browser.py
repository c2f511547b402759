"""The reports as people see them: rendered for the example class (plus two
hand-made students: one showing every kind of feedback, one hostile),
opened in headless Chromium, checked with axe-core, validated with the Nu
HTML Checker, and photographed for a person to look at.

Tools: the system's ``chromium`` (driven by npm ``playwright-core``; no
browser is ever downloaded), ``node`` >= 20, ``java`` and the npm packages
of ``package.json`` (``make test`` runs ``npm ci`` when npm is there).
Without them these tests skip and say what is missing, except when ``CI``
is ``true``: then a missing tool fails.

Screenshots go to ``<pytest's temporary folder>/browser0/screenshots/``
(``/tmp/pytest-of-$USER/pytest-current/browser0/screenshots/`` after a run).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader import assignments
from grader.outdir import OutDir
from grader.reports import writer
from grader.results import SubmissionResult
from tests.helpers import (
    REPO,
    SERIOUS,
    browse,
    hostile_result,
    html_problems,
    require,
    showcase_result,
)

pytestmark = pytest.mark.browser

SHOWCASE = "showcase"
HOSTILE = hostile_result().student


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, example_class: Callable[[str], Path]) -> Path:
    """The example class graded by the real command, with a showcase student
    and a hostile one added, and every page rendered after the due date."""
    out = tmp_path_factory.mktemp("site") / "out"
    shutil.copytree(example_class("01_tensors"), out)
    folder = out / "01_tensors"
    results = [
        SubmissionResult.from_json(json.loads(p.read_text()))
        for p in sorted(OutDir(out).staff_results("01_tensors").glob("*.json"))
    ]
    extra = [showcase_result(SHOWCASE), hostile_result()]
    assignment = assignments.load(REPO, "01_tensors").info
    info = dataclasses.replace(
        assignment, due=assignment.due or dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    )
    assert info.due is not None
    now = info.due + dt.timedelta(days=1)
    for result in results + extra:
        writer.write_student(OutDir(out), info, result, now=now)
    writer.write_class(OutDir(out), info, results + extra, now=now)
    return folder


def _pages(site: Path, smoke: Path) -> list[Path]:
    return [
        site / "index.html",
        *sorted(site.glob("*/report.html")),
        smoke / "index.html",
        *sorted(smoke.glob("*/report.html")),
    ]


@pytest.fixture(scope="module")
def chromium_run(
    site: Path, smoke_reports: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Every page through the driver once; the tests below read its findings."""
    require("chromium", "node", "playwright")
    work = tmp_path_factory.mktemp("browser")
    hostile_texts = ["<script>alert('xss')</script>", "<img src=x onerror=alert(2)>"]
    special: dict[Path, dict[str, Any]] = {
        site / SHOWCASE / "report.html": {
            "shots": [
                {"name": "student-report.png", "width": 1280},
                {"name": "student-report-phone.png", "width": 390},
                {"name": "student-report-print.png", "width": 900, "print": True},
            ]
        },
        site / "ben" / "report.html": {
            "shots": [{"name": "student-report-ben.png", "width": 1280}]
        },
        site / "index.html": {
            "sort": True,
            "texts": [HOSTILE, *hostile_texts],
            "shots": [
                {"name": "summary.png", "width": 1280},
                {"name": "summary-phone.png", "width": 390},
            ],
        },
        site / HOSTILE / "report.html": {"texts": [*hostile_texts, HOSTILE]},
        smoke_reports / "noisy" / "report.html": {"texts": ["<script>alert(1)</script>"]},
    }
    pages = [{"path": str(p), **special.get(p, {})} for p in _pages(site, smoke_reports)]
    found = browse(pages, noscript=site / "index.html", work=work)
    found["shots"] = work / "screenshots"
    print(f"\nscreenshots of the reports: {found['shots']}")
    return found


def _by_page(found: dict[str, Any], key: str) -> dict[str, Any]:
    return {p["path"]: p[key] for p in found["pages"] if p[key]}


def test_every_page_is_checked(chromium_run: dict[str, Any], site: Path) -> None:
    paths = [p["path"] for p in chromium_run["pages"]]
    assert str(site / "index.html") in paths
    assert len([p for p in paths if p.startswith(str(site))]) == 1 + 13 + 2
    assert all(p["styled"] and p["h1"] == 1 and p["title"] for p in chromium_run["pages"])


def test_no_console_errors_dialogs_or_page_errors(chromium_run: dict[str, Any]) -> None:
    assert _by_page(chromium_run, "console") == {}
    assert _by_page(chromium_run, "pageErrors") == {}
    assert _by_page(chromium_run, "dialogs") == {}


def test_pages_fetch_nothing(chromium_run: dict[str, Any]) -> None:
    assert _by_page(chromium_run, "requests") == {}


def test_every_link_resolves(chromium_run: dict[str, Any], site: Path) -> None:
    assert _by_page(chromium_run, "broken") == {}
    summary = next(p for p in chromium_run["pages"] if p["path"] == str(site / "index.html"))
    assert summary["links"] >= 15  # every student, the CSV, the sections


def test_no_serious_accessibility_violations(chromium_run: dict[str, Any]) -> None:
    serious = {
        page["path"]: [v for v in page["violations"] if v["impact"] in SERIOUS]
        for page in chromium_run["pages"]
    }
    assert {k: v for k, v in serious.items() if v} == {}
    others = {v["id"] for page in chromium_run["pages"] for v in page["violations"]}
    assert others == set(), f"axe: {others}"


def test_hostile_text_shows_as_text(chromium_run: dict[str, Any]) -> None:
    assert _by_page(chromium_run, "missingText") == {}
    assert _by_page(chromium_run, "onAttributes") == {}
    assert _by_page(chromium_run, "images") == {}
    scripts = {p["path"]: p["scripts"] for p in chromium_run["pages"]}
    assert {p: n for p, n in scripts.items() if n != (1 if p.endswith("index.html") else 0)} == {}


def test_pages_fit_a_phone(chromium_run: dict[str, Any]) -> None:
    assert {p["path"]: p["overflow"] for p in chromium_run["pages"] if p["overflow"] > 0} == {}


def test_summary_sorts_with_javascript_and_reads_without(chromium_run: dict[str, Any]) -> None:
    assert [p["sorted"] for p in chromium_run["pages"] if p["sorted"] is not None] == [True]
    assert chromium_run["noscript"] == {"rows": 15, "buttons": 0, "links": 15}


def test_screenshots_are_saved(chromium_run: dict[str, Any]) -> None:
    shots = sorted(p.name for p in chromium_run["shots"].iterdir())
    assert shots == [
        "student-report-ben.png",
        "student-report-phone.png",
        "student-report-print.png",
        "student-report.png",
        "summary-phone.png",
        "summary-without-javascript.png",
        "summary.png",
    ]
    assert all((chromium_run["shots"] / s).stat().st_size > 10_000 for s in shots)


def test_html_validates(site: Path, smoke_reports: Path) -> None:
    require("java", "vnu")
    pages = _pages(site, smoke_reports)
    problems = html_problems(pages)
    assert problems == []
    assert site / HOSTILE / "report.html" in pages
