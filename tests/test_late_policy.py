"""The late policy: deadlines, grace, each penalty step, the floor,
extensions, submission times from each source, and a missing time (a clear
reason, nothing taken off)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from grader import assignments, results
from grader.errors import ConfigError
from grader.gradescope import protocol
from grader.policy import deadlines, scoring, timestamps
from grader.policy.deadlines import NO_EXTENSIONS, Due, LatePolicy, Stamp
from grader.results import DueSource, TimeSource
from tests.helpers import COURSE, made_result, run_grader

DUE = dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.UTC)
TEN_PER_DAY = LatePolicy(kind="percent", percent=10, unit="day", grace=900, floor=65)


def after(**delta: float) -> Stamp:
    return Stamp(DUE + dt.timedelta(**delta), results.TimeSource.MANIFEST)


def off(policy: LatePolicy, stamp: Stamp | None, points: float = 10.0) -> tuple[float, str]:
    penalty = deadlines.penalty(policy, points=points, due=Due(DUE), stamp=stamp)
    assert penalty is not None
    return penalty.points, penalty.reason


def test_on_time_and_within_grace_lose_nothing() -> None:
    assert off(TEN_PER_DAY, after(hours=-1)) == (0.0, "on time")
    points, reason = off(TEN_PER_DAY, after(minutes=14))
    assert points == 0.0
    assert "within the grace period of 15 min" in reason


@pytest.mark.parametrize(
    ("late", "points"),
    [
        ({"minutes": 16}, 1.0),  # past grace: the first started day
        ({"hours": 24}, 1.0),
        ({"hours": 24, "minutes": 1}, 2.0),
        ({"days": 2, "hours": 5}, 3.0),
    ],
)
def test_each_started_day_takes_its_percent(late: dict[str, float], points: float) -> None:
    taken, reason = off(TEN_PER_DAY, after(**late))
    assert taken == points
    assert f"= {points * 10:g}% off" in reason


def test_percent_per_hour() -> None:
    policy = LatePolicy(kind="percent", percent=2, unit="hour")
    assert off(policy, after(hours=3, minutes=1))[0] == pytest.approx(0.8)


def test_the_floor_keeps_a_share_of_the_score() -> None:
    taken, reason = off(TEN_PER_DAY, after(days=9))
    assert taken == 3.5  # 90% wanted, held at 35% so 65% is kept
    assert "held at 35% by the floor" in reason


def test_zero_after_the_deadline() -> None:
    policy = LatePolicy(kind="zero", grace=60)
    assert off(policy, after(seconds=30))[0] == 0.0
    assert off(policy, after(minutes=2))[0] == 10.0


def test_missing_time_takes_nothing_and_says_why() -> None:
    taken, reason = off(TEN_PER_DAY, None)
    assert taken == 0.0
    assert "no submission time was found" in reason
    assert "--" not in reason  # students read it: the policy, not staff's flags


def test_no_policy_no_penalty() -> None:
    assert deadlines.penalty(LatePolicy(), points=10, due=Due(DUE), stamp=after(days=3)) is None


def _result(score: float) -> results.SubmissionResult:
    test = results.TestResult("test_a", "relu", 10.0, score, results.Verdict.PASSED)
    return made_result("alice", [test], assignment="00_smoke")


def test_an_extension_moves_the_deadline(tmp_path: Path) -> None:
    course = _course(tmp_path, 'late_policy = "10% per day"\n')
    (course / "extensions.csv").write_text(
        "student,assignment,due\nalice,00_smoke,2026-12-04T23:59:00Z\n"
    )
    assignment = assignments.load(course, "00_smoke")
    extensions = scoring.course_extensions(course)
    final = scoring.finalize(
        _result(10), assignment, overrides=(), extensions=extensions, stamp=after(days=2)
    )
    assert final.penalty is not None
    assert final.score == 10.0
    assert final.penalty.reason == "on time (counted from your extension)"
    assert final.penalty.due_source is DueSource.STUDENT
    assert final.penalty.due.startswith("2026-12-04T23:59")
    late = scoring.finalize(
        _result(10), assignment, overrides=(), extensions=extensions, stamp=after(days=4)
    )
    assert (late.raw_score, late.score) == (10.0, 9.0)


def _course(tmp_path: Path, extra: str) -> Path:
    course = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    toml = course / "solutions" / "00_smoke" / "assignment.toml"
    head, _, limits = toml.read_text().partition("[limits]")
    toml.write_text(head + "due = 2026-12-01T23:59:00Z\n" + extra + "[limits]" + limits)
    return course


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('late_policy = "10 per day"\n', 'late_policy = "10 per day": expected "none", "zero"'),
        ('late_policy = "150% per day"\n', "late_policy"),
        ("late_floor = 120\n", "late_floor = 120: expected a number from 0 to 100"),
        ('late_grace = "3"\n', 'late_grace = "3": expected seconds'),
    ],
)
def test_wrong_late_keys_are_named(tmp_path: Path, extra: str, message: str) -> None:
    course = _course(tmp_path, extra)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        assignments.load(course, "00_smoke")


def test_a_late_policy_needs_a_due_date(tmp_path: Path) -> None:
    course = _course(tmp_path, 'late_policy = "zero"\n')
    toml = course / "solutions" / "00_smoke" / "assignment.toml"
    toml.write_text(toml.read_text().replace("due = 2026-12-01T23:59:00Z\n", ""))
    with pytest.raises(ConfigError, match="late_policy is set but due is not"):
        assignments.load(course, "00_smoke")


def test_bad_extension_row_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "extensions.csv").write_text("student,assignment,due\nbob,00_smoke,soon\n")
    with pytest.raises(ConfigError, match=r"extensions.csv:2: due = 'soon'"):
        deadlines.load_extensions(tmp_path, None)


def test_times_come_from_the_first_source_that_applies(tmp_path: Path) -> None:
    """The course's manifest, then the platform's record, then (opt-in, and
    said to be the student's) the commit time and the file's time; never a
    metadata file in the student's folder."""
    folder = tmp_path / "alice"
    folder.mkdir()
    notebook = folder / "01.ipynb"
    notebook.write_text("{}")
    (folder / "submission_metadata.json").write_text(
        json.dumps({"created_at": "2026-11-01T00:00:00Z", "previous_submissions": []})
    )
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("student,submitted_at\nalice,2026-12-01T10:00:00\n")
    stamps = timestamps.load_manifest(manifest)
    platform = Stamp(dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC), TimeSource.GRADESCOPE)

    def when(**flags: bool) -> Stamp | None:
        sources = timestamps.Sources(
            manifest=stamps if flags.get("m", False) else {},
            platform=platform if flags.get("platform", False) else None,
            trust_commit_time=flags.get("commit", False),
            trust_mtime=flags.get("mtime", False),
        )
        return timestamps.submission_time("alice", folder, notebook, sources=sources)

    assert when(commit=True) is None  # nothing is guessed: no time without a source
    os.utime(notebook, (0, 1_700_000_000))
    stamp = when(mtime=True)
    assert stamp is not None and stamp.source == TimeSource.MTIME
    assert stamp.at == dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)
    git = ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@x"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "01.ipynb"], check=True)
    subprocess.run(
        [*git, "commit", "-qm", "x"],
        check=True,
        env={**os.environ, "GIT_COMMITTER_DATE": "2026-12-01T21:00:00+01:00"},
    )
    assert when(mtime=True) == stamp  # a checkout's commit time only when asked for
    stamp = when(commit=True, mtime=True)
    assert stamp is not None and stamp.source == TimeSource.GIT
    assert stamp.at == dt.datetime(2026, 12, 1, 20, tzinfo=dt.UTC)
    assert when(platform=True, commit=True, mtime=True) == platform
    stamp = when(m=True, platform=True, commit=True, mtime=True)
    assert stamp is not None and stamp.source == "submissions manifest"
    assert stamp.at == dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    assert stamp.where == f"{manifest}:2"


def test_a_class_folder_file_has_no_folder_of_its_own(tmp_path: Path) -> None:
    """A git checkout holding a class folder is not any one student's."""
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], check=True)
    notebook = tmp_path / "bob.ipynb"
    notebook.write_text("{}")
    sources = timestamps.Sources(trust_commit_time=True)
    assert timestamps.submission_time("bob", None, notebook, sources=sources) is None


def test_a_section_extension_reaches_its_students(tmp_path: Path) -> None:
    """Through roster.csv; a student's own extension outranks their section's."""
    course = _course(tmp_path, 'late_policy = "10% per day"\n')
    (course / "roster.csv").write_text(
        "student,name,section\nalice,Alice A,B\nbob,Bob B,B\ncarol,Carol C,A\n"
    )
    (course / "extensions.csv").write_text(
        "student,section,assignment,due\n"
        ",B,00_smoke,2026-12-03T23:59:00Z\n"
        "bob,,00_smoke,2026-12-10T23:59:00Z\n"
    )
    extensions = scoring.course_extensions(course)
    assert extensions.due("00_smoke", "alice", DUE) == Due(
        dt.datetime(2026, 12, 3, 23, 59, tzinfo=dt.UTC), DueSource.SECTION
    )
    assert extensions.due("00_smoke", "bob", DUE) == Due(
        dt.datetime(2026, 12, 10, 23, 59, tzinfo=dt.UTC), DueSource.STUDENT
    )
    assert extensions.due("00_smoke", "carol", DUE) == Due(DUE)
    assert extensions.due("01_tensors", "alice", None) is None
    assignment = assignments.load(course, "00_smoke")
    final = scoring.finalize(
        _result(10), assignment, overrides=(), extensions=extensions, stamp=after(days=1)
    )
    assert final.penalty is not None and final.score == 10.0
    assert final.penalty.reason == "on time (counted from your section's extension)"
    stored = results.SubmissionResult.from_json(final.to_json())
    assert stored.penalty == final.penalty


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("student,section,assignment,due\nbob,B,00_smoke,2026-12-03\n", "one of the two"),
        ("section,assignment,due\nZ,00_smoke,2026-12-03\n", r"no section 'Z' in the roster \(B\)"),
        ("assignment,due\n00_smoke,2026-12-03\n", "no column student or section"),
    ],
    ids=["both", "unknown-section", "neither-column"],
)
def test_bad_section_rows_are_named(tmp_path: Path, rows: str, message: str) -> None:
    (tmp_path / "extensions.csv").write_text(rows)
    with pytest.raises(ConfigError, match=message):
        deadlines.load_extensions(tmp_path, {"alice": "B"})


def test_a_gradescope_due_date_or_a_later_extension_by_email(tmp_path: Path) -> None:
    later = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    metadata = protocol.SubmissionMetadata(due_date=DUE, emails=("eve@example.org", "x@y"))
    assert protocol.deadline(metadata, "00_smoke", NO_EXTENSIONS) == Due(DUE, DueSource.GRADESCOPE)
    (tmp_path / "extensions.csv").write_text(
        f"student,assignment,due\neve@example.org,00_smoke,{later.isoformat()}\n"
    )
    extensions = deadlines.load_extensions(tmp_path, None)
    assert protocol.deadline(metadata, "00_smoke", extensions) == Due(later, DueSource.STUDENT)
    assert protocol.deadline(protocol.SubmissionMetadata(), "00_smoke", extensions) is None


def test_a_manifest_time_in_the_future_or_before_the_opening_is_named(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "student,submitted_at\nalice,2026-12-01T10:00:00Z\nbob,2999-01-01T00:00:00Z\n"
        "carol,2026-10-01T00:00:00\n"
    )
    stamps = timestamps.load_manifest(manifest)
    now = dt.datetime.now(dt.UTC)
    opens = dt.datetime(2026, 11, 15)
    future, early = timestamps.impossible_rows(stamps, now=now, opens=opens)
    assert (future.where, future.student, future.problem) == (
        f"{manifest}:3",
        "bob",
        "is in the future",
    )
    assert (early.where, early.student) == (f"{manifest}:4", "carol")
    assert early.problem == "is before the assignment opens (2026-11-15T00:00:00+00:00)"
    assert [r.student for r in timestamps.impossible_rows(stamps, now=now, opens=None)] == ["bob"]
    manifest.write_text("student,submitted_at\nbob,2026-12-01T10:00:00Z\nbob,2026-12-02\n")
    with pytest.raises(ConfigError, match=r"manifest.csv:3: a second time for bob"):
        timestamps.load_manifest(manifest)


def test_the_gradescope_zip_carries_the_extensions(tmp_path: Path) -> None:
    course = _course(tmp_path, 'late_policy = "10% per day"\n')
    extensions = "student,assignment,due\neve@example.org,00_smoke,2026-12-05T00:00:00Z\n"
    (course / "extensions.csv").write_text(extensions)
    (course / "roster.csv").write_text("student,email\neve,eve@example.org\n")
    output = tmp_path / "autograder.zip"
    done = run_grader("--root", str(course), "export", "gradescope", "00_smoke", "-o", str(output))
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(output) as archive:
        assert archive.read("extensions.csv").decode() == extensions
        assert "roster.csv" not in archive.namelist()  # the class's names stay home
