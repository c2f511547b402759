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
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grader import assignments, exports
from grader.results import SubmissionResult
from tests.conftest import REPO, run_grader
from tests.test_reports import hostile_result, showcase_result

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
NODE_MODULES = REPO / "node_modules"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
PLAYWRIGHT = NODE_MODULES / "playwright-core"

SERIOUS = {"serious", "critical"}

SHOWCASE = "showcase"
HOSTILE = hostile_result().student


def _node_major() -> int:
    node = shutil.which("node")
    if node is None:
        return 0
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    try:
        return int(version.stdout.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def require(*tools: str) -> None:
    """Skip (or fail, when CI is true) unless every tool named is here."""
    checks = {
        "chromium": (CHROMIUM.exists(), f"{CHROMIUM} (apt-get install chromium)"),
        "node": (_node_major() >= 20, "node >= 20 (apt-get install nodejs)"),
        "java": (shutil.which("java") is not None, "java (apt-get install default-jre-headless)"),
        "playwright": (PLAYWRIGHT.is_dir() and AXE.is_file(), "node_modules (npm ci)"),
        "vnu": (VNU.is_file(), "node_modules/vnu-jar (npm ci)"),
    }
    missing = [checks[t][1] for t in tools if not checks[t][0]]
    if missing:
        reason = "missing " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must have every tool the report tests use")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example class graded by the real command, with a showcase student
    and a hostile one added, and every page rendered after the due date."""
    out = tmp_path_factory.mktemp("site")
    done = run_grader("grade", "01_tensors", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    folder = out / "01_tensors"
    results = [
        SubmissionResult.from_json(json.loads(p.read_text()))
        for p in sorted(folder.glob("*/results.json"))
    ]
    extra = [showcase_result(SHOWCASE), hostile_result()]
    assignment = assignments.load(REPO, "01_tensors").info
    info = dataclasses.replace(
        assignment, due=assignment.due or dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    )
    assert info.due is not None
    now = info.due + dt.timedelta(days=1)
    for result in results + extra:
        exports.write_student(info, result, folder / result.student, now=now)
    exports.write_class(info, results + extra, folder, now=now)
    return folder


def _pages(site: Path, smoke: Path) -> list[Path]:
    return [
        site / "index.html",
        *sorted(site.glob("*/report.html")),
        smoke / "index.html",
        *sorted(smoke.glob("*/report.html")),
    ]


DRIVER = r"""
// Opens each page in the system Chromium and reports what a person would
// meet: console errors, dialogs, requests for anything but the page itself,
// links that go nowhere, axe-core violations, hostile markup that became
// markup, pages wider than a phone; takes the screenshots asked for.
"use strict";
const fs = require("fs");
const path = require("path");
const { fileURLToPath } = require("url");
const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { chromium } = require(config.playwright);
const axeSource = fs.readFileSync(config.axe, "utf8");

async function check(page, entry) {
  const seen = { console: [], pageErrors: [], dialogs: [], requests: [] };
  const url = require("url").pathToFileURL(entry.path).href;
  page.removeAllListeners();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.console.push(m.text());
  });
  page.on("pageerror", (e) => seen.pageErrors.push(String(e)));
  page.on("dialog", (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on("request", (r) => {
    if (r.url() !== url && !r.url().startsWith("data:")) seen.requests.push(r.url());
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(url, { waitUntil: "load" });
  const dom = await page.evaluate((texts) => {
    const all = Array.from(document.querySelectorAll("*"));
    const body = document.body.textContent;
    return {
      links: Array.from(document.querySelectorAll("a[href]")).map((a) => ({
        href: a.href,
        same: a.href.split("#")[0] === location.href.split("#")[0],
        target: !a.hash || document.getElementById(decodeURIComponent(a.hash.slice(1))) !== null,
      })),
      onAttributes: all.filter(
        (e) => Array.from(e.attributes).some((a) => a.name.startsWith("on"))).length,
      images: document.images.length,
      scripts: document.scripts.length,
      missingText: texts.filter((t) => !body.includes(t)),
      styled: getComputedStyle(document.body).maxWidth !== "none",
      title: document.title,
      h1: document.querySelectorAll("h1").length,
    };
  }, entry.texts || []);
  const broken = [];
  for (const link of dom.links) {
    if (link.same) {
      if (!link.target) broken.push(link.href);
    } else if (!link.href.startsWith("file:")
               || !fs.existsSync(fileURLToPath(link.href.split("#")[0]))) {
      broken.push(link.href);
    }
  }
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await axe.run(document, {
      resultTypes: ["violations"],
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
      },
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  let sorted = null;
  if (entry.sort) {
    const numbers = async () => page.$$eval("table[data-sortable] tbody tr", (rows) =>
      rows.map((r) => parseFloat(r.cells[1].getAttribute("data-v"))));
    const button = page.locator("table[data-sortable] thead th").nth(1).locator("button");
    await button.click();
    const up = await numbers();
    await button.click();
    const down = await numbers();
    const ascending = (xs) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
    sorted = up.length > 1 && ascending(up) && ascending(down.slice().reverse());
  }
  for (const shot of entry.shots || []) {
    await page.setViewportSize({ width: shot.width, height: 900 });
    await page.emulateMedia({ media: shot.print ? "print" : "screen" });
    await page.screenshot({ path: path.join(config.shots, shot.name), fullPage: true });
    await page.emulateMedia({ media: "screen" });
  }
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - window.innerWidth);
  return {
    path: entry.path, ...seen, broken, violations, sorted, overflow, ...dom,
    links: dom.links.length,
  };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const out = { pages: [], noscript: null };
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const entry of config.pages) out.pages.push(await check(page, entry));
    const quiet = await browser.newContext({ javaScriptEnabled: false });
    const still = await quiet.newPage();
    await still.setViewportSize({ width: 1280, height: 900 });
    await still.goto(require("url").pathToFileURL(config.noscript).href);
    out.noscript = await still.evaluate(() => ({
      rows: document.querySelectorAll("table[data-sortable] tbody tr").length,
      buttons: document.querySelectorAll("th button").length,
      links: document.querySelectorAll("table[data-sortable] a[href$='report.html']").length,
    }));
    await still.screenshot({
      path: path.join(config.shots, "summary-without-javascript.png"), fullPage: true,
    });
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def chromium_run(
    site: Path, smoke_reports: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Every page through the driver once; the tests below read its findings."""
    require("chromium", "node", "playwright")
    work = tmp_path_factory.mktemp("browser")
    shots = work / "screenshots"
    shots.mkdir()
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
    config = {
        "playwright": str(PLAYWRIGHT),
        "axe": str(AXE),
        "chromium": str(CHROMIUM),
        "shots": str(shots),
        "noscript": str(site / "index.html"),
        "pages": [{"path": str(p), **special.get(p, {})} for p in _pages(site, smoke_reports)],
    }
    (work / "config.json").write_text(json.dumps(config))
    (work / "driver.cjs").write_text(DRIVER)
    done = subprocess.run(
        ["node", str(work / "driver.cjs"), str(work / "config.json")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    found: dict[str, Any] = json.loads(done.stdout)
    found["shots"] = shots
    print(f"\nscreenshots of the reports: {shots}")
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


CSP_HASH_WARNING = "violates Content Security Policy (meta tag)"
"""The checker warns about every inline style and script under a CSP that
allows them by hash: it does not compute hashes. Chromium does, and the
tests above find the style applied, the script running and no CSP error."""


def test_html_validates(site: Path, smoke_reports: Path) -> None:
    require("java", "vnu")
    pages = _pages(site, smoke_reports)
    done = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", "--exit-zero-always", *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    messages = json.loads(done.stderr)["messages"]
    problems = [
        f"{m.get('url', '')}:{m.get('lastLine', '')}: {m['type']}: {m['message']}"
        for m in messages
        if (
            m["type"] == "error"
            or m.get("subType") == "warning"
            or m["type"] == "non-document-error"
        )
        and CSP_HASH_WARNING not in m["message"]
    ]
    assert problems == []
    assert site / HOSTILE / "report.html" in pages
