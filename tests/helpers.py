"""What more than one test module needs: running the real
``grader`` command and reading what it wrote, the smoke course, results made
by hand, the isolation the hostile suites need, and the browser tools.
Test modules import from here, never from each other or from conftest.py;
nothing under bench/ imports from tests/."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader import assignments
from grader.outdir import OutDir
from grader.results import (
    Comparison,
    Curve,
    Frame,
    Notice,
    NoticeKind,
    Override,
    Penalty,
    SubmissionResult,
    TimeSource,
    Verdict,
)
from grader.results import TestResult as Result  # not collected as a test class

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "tests" / "files" / "course"
"""a tiny course (assignment 00_smoke) with hostile and broken submissions"""
HOSTILE = REPO / "tests" / "files" / "hostile"

Results = dict[str, dict[str, Any]]
"""student -> results.json"""


# -- the real command -------------------------------------------------------


def _grader_env(env: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}


def run_grader(
    *args: str, cwd: Path = REPO, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m grader ARGS`` as a user would (with ``env`` added to
    the environment), capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        env=_grader_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_grader(*args: str, capture: bool = False) -> subprocess.Popen[str]:
    """Start ``python -m grader ARGS`` without waiting, for tests that kill
    or watch it mid-batch; its output is discarded unless ``capture``."""
    stream = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "grader", *args],
        cwd=REPO,
        env=_grader_env(),
        stdout=stream,
        stderr=stream,
        text=True,
    )


def run_make(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """``make ARGS`` with the course's Makefile, run in ``cwd`` as a user
    would, with the venv this test session runs in (``-o``: never
    reinstalled)."""
    venv = Path(sys.prefix)
    make = ["make", "-s", "-f", str(REPO / "Makefile"), f"VENV={venv}", "-o", f"{venv}/.installed"]
    return subprocess.run(
        [*make, *args], cwd=cwd, env=_grader_env(), capture_output=True, text=True, timeout=1800
    )


def run_make_grade(assignment: str, out: Path) -> subprocess.CompletedProcess[str]:
    """``make grade`` as a new user runs it, for one assignment into ``out``."""
    return run_make("grade", f"ASSIGNMENTS={assignment}", f"OUT={out}")


def graded_once(factory: pytest.TempPathFactory, name: str, grade: Callable[[Path], None]) -> Path:
    """The folder ``grade(folder)`` wrote, run once per test session
    however many modules and pytest-xdist workers ask: the first asker runs
    it under a lock, the others wait for it and read the same folder, which
    nobody may change (copy it first)."""
    root = factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # the workers' basetemps are siblings
    shared = root / "graded-once"
    shared.mkdir(exist_ok=True)
    folder = shared / name
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / f"{name}.done"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            grade(folder)
            done.touch()
    return folder


def smoke_args(submissions: Path, out: Path, *extra: str, course: Path = COURSE) -> list[str]:
    """The command line that grades ``submissions`` as the smoke course's 00_smoke."""
    return ["--root", str(course), "grade", "00_smoke", str(submissions), "--out", str(out), *extra]


def read_results(folder: Path) -> Results:
    """student -> full results (the staff copy, hidden tests included) of the
    class whose reports are in ``folder`` (``OUT/ASSIGNMENT``)."""
    full = OutDir(folder.parent).staff_results(folder.name)
    return {p.stem: json.loads(p.read_text()) for p in sorted(full.glob("*.json"))}


def verdicts(result: dict[str, Any]) -> list[str]:
    """The verdict of each test, in suite order."""
    return [t["verdict"] for t in result["tests"]]


def failures(result: dict[str, Any]) -> dict[str, str]:
    """Test name -> verdict, for the tests a student did not pass."""
    return {t["name"]: t["verdict"] for t in result["tests"] if t["verdict"] != "passed"}


# -- full isolation (tests/test_hostile.py, tests/test_share.py) ------------


def isolation_problem() -> str:
    """Why full isolation is missing here, as ``grader`` finds it ('' when it is not)."""
    done = subprocess.run(
        [sys.executable, "-c", "from grader.sandbox.guest.confine import probe; print(probe())"],
        capture_output=True,
        text=True,
        env=_grader_env(),
    )
    return done.stdout.strip() or done.stderr.strip()


def require_full_isolation() -> None:
    """Skip without full isolation, except in CI (CI=true), where it must be there."""
    problem = isolation_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the hostile suites with full isolation: {problem}")
        pytest.skip(f"full isolation is not available here: {problem}")


FULL_ISOLATION = (
    "namespaces, uid nobody, cgroup, cpu cap, scratch quota"
    if os.geteuid() == 0
    else "namespaces, user namespace, memory watchdog, process cap, scratch quota"
)
"""what each result records here: as root, or as a normal user on a machine
(like CI's) that delegates no cgroup"""


def probes(result: dict[str, Any]) -> list[str]:
    """The ``PROBE`` lines a hostile notebook printed, from every test."""
    text = result["student_output"] + "".join(t["student_output"] for t in result["tests"])
    return [line for line in text.splitlines() if line.startswith("PROBE")]


# -- results made by hand ---------------------------------------------------

XSS = "<script>alert('xss')</script><img src=x onerror=alert(2)>"
"""what hostile text looks like; it must only ever appear escaped"""


def made_result(student: str, tests: list[Result], **fields: object) -> SubmissionResult:
    """A result of 01_tensors for ``student`` with ``tests``; ``fields`` override the rest."""
    defaults: dict[str, object] = {
        "assignment": "01_tensors",
        "student": student,
        "submission_hash": "ab" * 32,
        "suite_version": "e15ac0fee61fb46a",
        "grader_version": "0.1.0",
        "graded_at": "2026-11-21T12:14:21+00:00",
        "execution_time": 1.5,
        "tests": tuple(tests),
        "isolation": "process, cgroup",
        "exercises": tuple(dict.fromkeys(t.exercise for t in tests)),
    }
    defaults.update(fields)
    return SubmissionResult(**defaults)  # type: ignore[arg-type]


def showcase_result(student: str = "showcase") -> SubmissionResult:
    """Every kind of feedback: a comparison, a traceback, a timeout, curves,
    printed output, and tests of every visibility."""
    epochs = 12
    loss = tuple(2.3 * 0.78**i + 0.05 for i in range(epochs))
    ref_loss = tuple(2.3 * 0.62**i + 0.02 for i in range(epochs))
    accuracy = tuple(min(0.97, 0.1 + 0.075 * i) for i in range(epochs))
    ref_accuracy = tuple(min(0.99, 0.1 + 0.11 * i) for i in range(epochs))
    tests = [
        Result("test_softmax_random_rows", "softmax", 2, 2, Verdict.PASSED),
        Result(
            "test_softmax_large_logits",
            "softmax",
            2,
            0,
            Verdict.FAILED,
            message="softmax of logits as large as ±1000 differs in 3 of 8 values; the largest "
            "absolute error is 0.731 at index [1, 2] (expected 0.731059, got 0).",
            hint="Subtract each row's maximum before `tf.exp`.",
            comparison=Comparison(
                expected_shape=(2, 4),
                got_shape=(2, 4),
                expected_dtype="float32",
                got_dtype="float32",
                max_abs_error=0.731059,
                max_rel_error=1.0,
                worst_index=(1, 2),
                expected_preview=(0.665241, 0.0, 0.0, 0.268941, 0.731059, 0.0),
                got_preview=(0.665241, 0.0, 0.0, 0.5, 0.0, 0.5),
            ),
        ),
        Result(
            "test_pick_rows_repeats",
            "pick_rows",
            1,
            0,
            Verdict.ERROR,
            message="`pick_rows` raised NameError: name 'idx' is not defined",
            hint="Which argument holds the indices?",
            frames=(
                Frame(16, 5, "pick_rows", "    return take(x, indices)"),
                Frame(16, 3, "take", "    rows = tf.gather(x, idx)"),
            ),
            output="picking rows [0 2 3]\n",
        ),
        Result(
            "test_count_traces_tensors",
            "count_traces",
            1,
            0,
            Verdict.TIMEOUT,
            message="The call did not finish within 5 s and was stopped. Look for a loop whose "
            "condition never becomes false, or work far larger than the inputs.",
            hint="A tf.function traces once per input signature.",
        ),
        Result(
            "test_train_reaches_accuracy",
            "train",
            3,
            1,
            Verdict.FAILED,
            message="your model's final accuracy is 0.87, but at least 0.95 was expected.",
            hint="Try a larger learning rate, or more epochs.",
            curves=(
                Curve("loss", loss, ref_loss),
                Curve("accuracy", accuracy, ref_accuracy),
            ),
        ),
        Result(
            "test_train_after_due",
            "train",
            1,
            0,
            Verdict.FAILED,
            message="after the due date: the validation loss went up after epoch 6.",
            hint="Look at overfitting.",
            visibility="after_due_date",
        ),
        Result(
            "test_train_after_published",
            "train",
            1,
            1,
            Verdict.PASSED,
            visibility="after_published",
        ),
        Result(
            "test_train_hidden_generalises",
            "train",
            2,
            2,
            Verdict.PASSED,
            message="",
            visibility="hidden",
        ),
    ]
    return made_result(
        student,
        tests,
        notices=(
            Notice(
                NoticeKind.MAGIC,
                "IPython magic or shell command (the line was skipped) not run by the grader: "
                "%matplotlib inline",
                cell=1,
            ),
        ),
        output="Epoch 1/12 - loss 2.35\n" * 40,
        execution_time=4.2,
    )


def hostile_result(student: str = "<img src=x onerror=alert(1)>") -> SubmissionResult:
    """Hostile text in every field a student's code can reach (and some it cannot)."""
    tests = [
        Result(
            f"test_{XSS}",
            "relu",
            1,
            0,
            Verdict.ERROR,
            message=f"`relu` raised ValueError: {XSS}",
            hint=f"hint {XSS}",
            frames=(Frame(2, 1, "<lambda>", f"    raise ValueError('{XSS}')"),),
            output=f'</pre>{XSS}<pre>" onerror="alert(3)',
        ),
        Result(
            "test_relu_dtype",
            "relu",
            1,
            0,
            Verdict.FAILED,
            message=f"your result has dtype <U5, but float32 was expected. {XSS}",
            comparison=Comparison(
                expected_shape=(2,),
                got_shape=(2,),
                expected_dtype="float32",
                got_dtype="<U5",
                worst_index=None,
            ),
            curves=(Curve(f"loss {XSS}", (1.0, float("nan")), (1.0, 0.5)),),
        ),
        Result(
            "test_make_var",
            "make_var",
            1,
            0,
            Verdict.FAILED,
            message="your result should be a tensor or array, but it is an object of type "
            "AlwaysEqual.",
            handle_type="AlwaysEqual",
        ),
    ]
    return made_result(
        student,
        tests,
        notices=(
            Notice(
                NoticeKind.EXIT,
                f"SystemExit: {XSS}",
                cell=3,
                line=2,
                frames=(Frame(3, 2, "<module>", XSS),),
            ),
        ),
        output=f"{XSS}\n" * 10,
    )


def tensors() -> assignments.Assignment:
    """Assignment 01_tensors as the repository holds it."""
    return assignments.load(REPO, "01_tensors")


# -- the browser and the HTML checker (tests/test_browser.py) ---------------

CHROMIUM = Path("/usr/bin/chromium")
NODE_MODULES = REPO / "node_modules"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
PLAYWRIGHT = NODE_MODULES / "playwright-core"
DRIVER = REPO / "tests" / "browser_driver.cjs"

SERIOUS = {"serious", "critical"}
"""the axe-core impacts no page may have"""

CSP_HASH_WARNING = "violates Content Security Policy (meta tag)"
"""The checker warns about every inline style and script under a CSP that
allows them by hash: it does not compute hashes. Chromium does, and the
browser tests find the style applied, the script running and no CSP error."""


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


def browse(
    pages: list[dict[str, Any]], noscript: Path, work: Path, timeout: float = 600
) -> dict[str, Any]:
    """What tests/browser_driver.cjs finds on ``pages`` (each a path and what
    to look for there) and on ``noscript`` without JavaScript; screenshots go
    to ``work/screenshots``."""
    shots = work / "screenshots"
    shots.mkdir()
    config = {
        "playwright": str(PLAYWRIGHT),
        "axe": str(AXE),
        "chromium": str(CHROMIUM),
        "shots": str(shots),
        "noscript": str(noscript),
        "pages": pages,
    }
    (work / "config.json").write_text(json.dumps(config))
    done = subprocess.run(
        ["node", str(DRIVER), str(work / "config.json")],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def html_problems(pages: list[Path], timeout: float = 600) -> list[str]:
    """The Nu HTML Checker's errors and warnings on ``pages`` (but the CSP hash warning)."""
    done = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", "--exit-zero-always", *map(str, pages)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return [
        f"{m.get('url', '')}:{m.get('lastLine', '')}: {m['type']}: {m['message']}"
        for m in json.loads(done.stderr)["messages"]
        if (
            m["type"] == "error"
            or m.get("subType") == "warning"
            or m["type"] == "non-document-error"
        )
        and CSP_HASH_WARNING not in m["message"]
    ]


LATE_REASON = "1 d 2 h 5 min late: 2 days × 10% = 20% off (with an extension)"


def late_result(student: str = "late") -> SubmissionResult:
    """Tests that give 35 of 36 points over two exercises, a staff override of
    a hidden test to full marks (its name must stay with staff), and 20% off
    for lateness (timed by a git commit): final 28.8."""
    tests = [
        Result("test_center_rows", "center", 20, 20, Verdict.PASSED),
        Result("test_softmax_rows", "softmax", 10, 10, Verdict.PASSED),
        Result("test_SECRET_hidden", "softmax", 6, 5, Verdict.FAILED, visibility="hidden"),
    ]
    override = Override(
        "test_SECRET_hidden", 6, "the tolerance was too tight", "ta-kim", "2026-12-04T10:00Z"
    )
    penalty = Penalty(
        submitted_at="2026-12-05T02:04:00+00:00",
        source=TimeSource.GIT,
        due="2026-12-03T23:59:00+00:00",
        percent=20,
        points=7.2,
        reason=LATE_REASON,
    )
    return made_result(student, tests, overrides=(override,), penalty=penalty)
