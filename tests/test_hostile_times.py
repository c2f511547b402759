"""Hostile submissions, round 3: the submission time is never the student's
to choose, and a student's ``.git`` runs nothing on the trusted side.

Each attack here was reproduced on the grader before this round: a
``submission_metadata.json`` committed to the student's folder, a commit
backdated with ``GIT_COMMITTER_DATE``, Gradescope metadata nested inside an
upload, a commit time that is no date (year 33658), a partial clone whose
``uploadpack`` ran a shell command as the grader, and 100 KB of ``[`` that
crashed the batch.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grader.gradescope import protocol
from grader.policy import commits, overrides, timestamps
from grader.policy.deadlines import Stamp
from grader.results import TimeSource
from tests.helpers import COURSE, read_results, run_grader, smoke_args

DUE = dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.UTC)
EARLY = "2026-11-01T00:00:00Z"
LATE = "2026-12-03T12:00:00Z"
"""two started days late: 20% off with "10% per day" """
NOTEBOOK = COURSE / "submissions" / "good.ipynb"
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "s",
    "GIT_AUTHOR_EMAIL": "s@example.org",
    "GIT_COMMITTER_NAME": "s",
    "GIT_COMMITTER_EMAIL": "s@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(folder: Path, *args: str, date: str = "") -> str:
    env = {**GIT_ENV, **({"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date} if date else {})}
    done = subprocess.run(
        ["git", "-C", str(folder), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def committed(folder: Path, files: dict[str, str | Path], *, date: str = EARLY) -> Path:
    """``folder`` as a git checkout with one commit of ``files`` made at ``date``."""
    folder.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy(content, folder / name)
        else:
            (folder / name).write_text(content)
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "--all")
    git(folder, "commit", "-qm", "work", date=date)
    return folder


def partial_clone(folder: Path, marker: Path) -> Path:
    """A checkout whose HEAD names a missing object of a partial clone: git
    would fetch it by running ``uploadpack`` through the shell."""
    committed(folder, {"00_smoke.ipynb": NOTEBOOK})
    for key, value in (
        ("core.repositoryformatversion", "1"),
        ("extensions.partialClone", "origin"),
        ("remote.origin.promisor", "true"),
        ("remote.origin.url", "file:///nonexistent"),
        ("remote.origin.uploadpack", f"touch {marker}; false"),
    ):
        git(folder, "config", key, value)
    (folder / ".git" / "refs" / "heads" / "main").write_text("01" * 20 + "\n")
    return folder


# -- the commit reader: no program runs, bounded reads ------------------------


def test_a_students_git_config_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    folder = partial_clone(tmp_path / "mallory", marker)
    sources = timestamps.Sources(trust_commit_time=True)
    notebook = folder / "00_smoke.ipynb"
    stamp = timestamps.submission_time("mallory", folder, notebook, sources=sources)
    assert stamp is None  # the HEAD object is missing: no time, and nothing fetched
    assert not marker.exists()


def test_an_honest_commit_time_is_read_as_git_reads_it(tmp_path: Path) -> None:
    folder = committed(tmp_path / "alice", {"a.txt": "x"}, date="2026-12-01T21:00:00+01:00")
    moment = commits.head_time(folder)
    assert moment == dt.datetime(2026, 12, 1, 20, tzinfo=dt.UTC)
    assert moment is not None and moment.utcoffset() == dt.timedelta(hours=1)
    assert int(moment.timestamp()) == int(git(folder, "log", "-1", "--format=%ct"))


def test_a_packed_commit_is_read_and_a_detached_head_too(tmp_path: Path) -> None:
    """A fresh clone holds its commits in a pack and its refs in packed-refs."""
    folder = committed(tmp_path / "bob", {"a.txt": "x"}, date="2026-12-02T08:00:00Z")
    git(folder, "gc", "-q", "--prune=now")
    assert not list((folder / ".git" / "objects").glob("??/*"))
    assert (folder / ".git" / "packed-refs").is_file()
    assert commits.head_time(folder) == dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC)
    git(folder, "checkout", "-q", "--detach")
    assert commits.head_time(folder) == dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC)


def test_a_time_that_is_no_date_gives_no_time(tmp_path: Path) -> None:
    """Year 33658: git writes it, Python's datetime stops at 9999."""
    folder = committed(tmp_path / "carol", {"a.txt": "x"}, date="@999999999999 +0000")
    assert "999999999999" in git(folder, "cat-file", "commit", "HEAD")
    assert commits.head_time(folder) is None


@pytest.mark.parametrize("kind", ["symlink", "fifo", "huge", "gitfile", "traversal"])
def test_odd_object_files_are_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    folder = committed(tmp_path / "dan", {"a.txt": "x"})
    head = git(folder, "rev-parse", "HEAD")
    target = folder / ".git" / "objects" / head[:2] / head[2:]
    if kind == "symlink":
        elsewhere = tmp_path / "elsewhere"
        target.rename(elsewhere)
        target.symlink_to(elsewhere)
    elif kind == "fifo":
        target.unlink()
        os.mkfifo(target)
    elif kind == "huge":
        target.chmod(0o644)
        with target.open("ab") as file:
            file.truncate(8 * 2**20)
    elif kind == "gitfile":
        shutil.move(folder / ".git", tmp_path / "real.git")
        (folder / ".git").write_text(f"gitdir: {tmp_path / 'real.git'}\n")
    else:
        (folder / ".git" / "HEAD").write_text("ref: refs/heads/../../../../etc/passwd\n")
    assert commits.head_time(folder) is None


# -- which source counts --------------------------------------------------------


def test_a_committed_metadata_file_is_not_a_time(tmp_path: Path) -> None:
    """Only Gradescope's own path counts; inside the student's folder, or an
    upload's ``x/submission_metadata.json``, it is a file like any other."""
    folder = tmp_path / "eve"
    nested = folder / "x" / "submission"
    nested.mkdir(parents=True)
    for where in (folder, folder / "x"):
        (where / protocol.METADATA_NAME).write_text(json.dumps({"created_at": EARLY}))
    notebook = nested / "00_smoke.ipynb"
    shutil.copy(NOTEBOOK, notebook)
    assert timestamps.submission_time("eve", folder, notebook, sources=timestamps.Sources()) is None
    late = Stamp(dt.datetime.fromisoformat(LATE), TimeSource.MANIFEST)
    sources = timestamps.Sources(manifest={"eve": late}, trust_commit_time=True, trust_mtime=True)
    assert timestamps.submission_time("eve", folder, notebook, sources=sources) == late


def test_the_manifest_outranks_a_backdated_commit(tmp_path: Path) -> None:
    folder = committed(tmp_path / "frank", {"00_smoke.ipynb": NOTEBOOK}, date=EARLY)
    notebook = folder / "00_smoke.ipynb"
    own = timestamps.submission_time(
        "frank", folder, notebook, sources=timestamps.Sources(trust_commit_time=True)
    )
    assert own is not None and own.source == TimeSource.GIT
    late = Stamp(dt.datetime.fromisoformat(LATE), TimeSource.MANIFEST)
    sources = timestamps.Sources(manifest={"frank": late}, trust_commit_time=True)
    assert timestamps.submission_time("frank", folder, notebook, sources=sources) == late
    nothing = timestamps.Sources()
    assert timestamps.submission_time("frank", folder, notebook, sources=nothing) is None


def test_a_deep_metadata_file_is_refused_before_parsing(tmp_path: Path) -> None:
    deep = tmp_path / protocol.METADATA_NAME
    deep.write_text("[" * 100_000)
    metadata = protocol.read_metadata(deep)
    assert metadata.created_at is None and "nested too deeply" in metadata.problem
    assert protocol.nesting('{"a": ["[[[[", {"b": "\\"]"}]}') == 3


# -- the whole batch -------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke course with "10% per day" after DUE."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE / "solutions", course / "solutions")
    toml = course / "solutions" / "00_smoke" / "assignment.toml"
    head, _, limits = toml.read_text().partition("[limits]")
    toml.write_text(
        head + f'due = {DUE.isoformat()}\nlate_policy = "10% per day"\n[limits]' + limits
    )
    return course


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, course: Path) -> dict[str, Any]:
    """One batch: each attacker submits the good notebook on the third day
    and lies about it."""
    base = tmp_path_factory.mktemp("times")
    students = base / "class"
    metadata = {protocol.METADATA_NAME: json.dumps({"created_at": EARLY})}
    committed(students / "meta", {"00_smoke.ipynb": NOTEBOOK, **metadata})
    committed(students / "backdated", {"00_smoke.ipynb": NOTEBOOK}, date=EARLY)
    committed(students / "year33658", {"00_smoke.ipynb": NOTEBOOK}, date="@999999999999 +0000")
    deep = students / "deep"
    deep.mkdir()
    shutil.copy(NOTEBOOK, deep / "00_smoke.ipynb")
    (deep / protocol.METADATA_NAME).write_text("[" * 100_000)
    marker = base / "PWNED"
    partial_clone(students / "gitpayload", marker)
    manifest = base / "manifest.csv"
    names = ("meta", "backdated", "year33658", "deep", "gitpayload")
    manifest.write_text(
        "student,submitted_at\n"
        + "".join(f"{n},{LATE}\n" for n in names)
        + "ghost,2999-01-01T00:00:00Z\n"  # a mistyped year: the run names the row
    )
    out = base / "out"
    flags = ("--manifest", str(manifest), "--trust-commit-time")
    done = run_grader(*smoke_args(students, out, *flags, course=course))
    alone = run_grader(*smoke_args(students, base / "alone", "--trust-commit-time", course=course))
    return {
        "done": done,
        "alone": alone,
        "results": read_results(out / "00_smoke"),
        "untimed": read_results(base / "alone" / "00_smoke"),
        "marker": marker,
        "manifest": manifest,
    }


@pytest.mark.slow
def test_every_attacker_is_late_by_the_manifest(graded: dict[str, Any]) -> None:
    done = graded["done"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert (
        f"warning: {graded['manifest']}:7: ghost's time 2999-01-01T00:00:00+00:00 is in the "
        "future; check the manifest"
    ) in done.stdout + done.stderr
    results = graded["results"]
    assert sorted(results) == sorted(("meta", "backdated", "year33658", "deep", "gitpayload"))
    for student, result in results.items():
        penalty = result["penalty"]
        assert penalty["source"] == "submissions manifest", student
        assert penalty["percent"] == 20.0, student
    assert not graded["marker"].exists()
    assert "--trust-commit-time: submission times may come from what students wrote" in done.stdout


@pytest.mark.slow
def test_without_the_manifest_a_lie_is_never_on_time_silently(graded: dict[str, Any]) -> None:
    """With only the students' own commits, a backdated commit is on time,
    and says "students control this"; nothing else gives a time (the
    committed metadata file least of all)."""
    alone = graded["alone"]
    assert alone.returncode == 0, alone.stdout + alone.stderr
    results = graded["untimed"]
    for student in ("meta", "backdated"):
        penalty = results[student]["penalty"]
        assert penalty["source"] == TimeSource.GIT
        assert penalty["submitted_at"] == "2026-11-01T00:00:00+00:00"
    for student in ("year33658", "deep", "gitpayload"):
        penalty = results[student]["penalty"]
        assert penalty["submitted_at"] == "" and "no submission time" in penalty["reason"]
    assert "no submission time for 3" in alone.stdout
    assert not graded["marker"].exists()


# -- Gradescope: its own metadata, at its own path ---------------------------------


def gradescope_run(
    base: Path, course: Path, metadata: dict[str, Any], *, extensions: str = "", forged: bool
) -> tuple[dict[str, Any], str]:
    """``grader gradescope-run`` on an /autograder tree with ``metadata`` at
    Gradescope's path; a ``forged`` upload nests its own
    ``x/submission_metadata.json`` (submitted long before the deadline)."""
    root = base / "autograder"
    upload = root / "submission" / "x"
    folder = upload / "submission" if forged else root / "submission"
    folder.mkdir(parents=True)
    shutil.copy(NOTEBOOK, folder / "00_smoke.ipynb")
    if forged:
        lie = {"created_at": EARLY, "assignment": {"due_date": "2027-01-01T00:00:00Z"}}
        (upload / protocol.METADATA_NAME).write_text(json.dumps(lie))
    (root / protocol.METADATA_NAME).write_text(json.dumps(metadata))
    if extensions:
        (course / "extensions.csv").write_text(extensions)
    try:
        done = run_grader(
            "--root", str(course), "gradescope-run", "00_smoke", "--autograder-root", str(root)
        )
    finally:
        (course / "extensions.csv").unlink(missing_ok=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text()), done.stdout


def gradescope_metadata(due: str) -> dict[str, Any]:
    return {
        "created_at": LATE,
        "assignment": {"due_date": due, "late_due_date": None},
        "users": [{"email": "Eve@Example.org", "name": "Eve"}],
    }


@pytest.mark.slow
def test_gradescope_reads_only_its_own_metadata(tmp_path: Path, course: Path) -> None:
    metadata = gradescope_metadata(DUE.isoformat())
    results, stdout = gradescope_run(tmp_path, course, metadata, forged=True)
    full = sum(t["max_score"] for t in results["tests"])
    assert results["score"] == pytest.approx(0.8 * full)
    assert results["extra_data"]["submitted_at"] == "2026-12-03T12:00:00+00:00"
    assert "(your due date on Gradescope); late policy: 1 d 12 h 1 min late" in stdout


@pytest.mark.parametrize(
    ("gradescope_due", "extensions", "applied"),
    [
        ("2026-12-04T23:59:00Z", "", "your due date on Gradescope"),
        (
            DUE.isoformat(),
            "student,assignment,due\nEve@Example.org,00_smoke,2026-12-05T00:00:00Z\n",
            "your extension",
        ),
    ],
    ids=["gradescope-extension", "course-extension-by-email"],
)
@pytest.mark.slow
def test_a_gradescope_student_keeps_their_extension(
    tmp_path: Path, course: Path, gradescope_due: str, extensions: str, applied: str
) -> None:
    results, stdout = gradescope_run(
        tmp_path, course, gradescope_metadata(gradescope_due), extensions=extensions, forged=False
    )
    assert results["score"] == sum(t["max_score"] for t in results["tests"])
    assert f"({applied}); late policy: on time (counted from {applied})" in stdout


def test_an_override_is_signed_by_the_staff_member_not_the_students_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TA who runs ``grader override`` from inside a student's checkout: the
    name comes from the TA's own git config; the student's ``.git/config``
    (which could name a payload through fsmonitor) is never read."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = TA Kim\n")
    student = tmp_path / "alice"
    subprocess.run(["git", "init", "-q", str(student)], check=True)
    marker = tmp_path / "ran"
    with (student / ".git" / "config").open("a") as config:
        config.write(f"[user]\n\tname = Mallory\n[core]\n\tfsmonitor = touch {marker}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.chdir(student)
    assert overrides.who() == "TA Kim"
    assert not marker.exists()
