"""Hostile submissions, round 2: what a student sends may hurt the trusted
side's bookkeeping rather than escape the sandbox. Thirty honest
submissions are graded in one batch beside hostile names, hostile notebook
JSON, special files and hand-written frames (tests/files/hostile/round2/),
and every honest grade must come out as if they were alone.

Runs with whatever isolation the machine gives: these cases attack the
trusted side, which is the same in every mode.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import pytest

from bench.hostile_class import HONEST, build_class
from tests.helpers import read_results, run_grader, smoke_args

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("round2")
    build_class(base / "class")
    out = base / "out"
    temporary = base / "tmp"
    temporary.mkdir(mode=0o755)
    started = time.monotonic()
    done = run_grader(*smoke_args(base / "class", out), env={"TMPDIR": str(temporary)})
    elapsed = time.monotonic() - started
    folder = out / "00_smoke"
    results = read_results(folder)
    return {
        "done": done,
        "out": out,
        "folder": folder,
        "results": results,
        "elapsed": elapsed,
        "tmp": temporary,
    }


def test_the_batch_ends_normally(batch: dict[str, Any]) -> None:
    done = batch["done"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_every_honest_grade_is_kept(batch: dict[str, Any]) -> None:
    results = batch["results"]
    for i in range(HONEST):
        result = results[f"honest{i:02d}"]
        assert result["score"] == 5, result["student"]
        assert [n["kind"] for n in result["notices"]] == ["magic"]  # good.ipynb's %matplotlib


def test_odd_names_are_graded_under_safe_ids(batch: dict[str, Any]) -> None:
    results = batch["results"]
    for student in (
        "00_smoke",
        "index%2Ehtml",
        "grades%2Ecsv",
        "b%FFd",
        "evil%0Ahonest00%20%20%20%20%20%205%20of%205%20%20100.0%25",
        "%3DHYPERLINK%281%29%3B36%3B36%0Dpwn",
    ):
        assert results[student]["score"] == 5, student
    assert results["twin"]["score"] == 5
    [note] = [n for n in results["twin"]["notices"] if n["kind"] == "ignored"]
    assert "twin.py not graded: twin.ipynb was" in note["message"]


def test_the_class_files_are_written(batch: dict[str, Any]) -> None:
    folder = batch["folder"]
    assert (folder / "index.html").is_file() and (folder / "grades.csv").is_file()


@pytest.mark.parametrize(
    ("student", "phrase"),
    [
        ("numbers", "not text"),
        ("deep", "nested too deeply"),
        ("fifo", "not a regular file"),
        ("dir", "is a folder, not a notebook"),
    ],
)
def test_bad_files_are_that_students_notice(
    batch: dict[str, Any], student: str, phrase: str
) -> None:
    result = batch["results"][student]
    assert any(phrase in n["message"] for n in result["notices"]), result["notices"]


def test_the_console_says_what_was_found_and_forges_nothing(batch: dict[str, Any]) -> None:
    stdout = batch["done"].stdout
    total = HONEST + 4 + 6 + 2 + 3  # honest, round2 notebooks, odd names, bad JSON, files
    assert f"00_smoke: found {total}, graded {total - 3}" in stdout
    assert "refused 3 (3 unreadable)" in stdout
    lines = stdout.splitlines()
    assert sum(line.startswith("honest00 ") for line in lines) == 1
    assert not any(line.startswith("pwn") or "\r" in line for line in lines)


def test_grades_csv_parses_back_with_one_row_per_student(batch: dict[str, Any]) -> None:
    text = (batch["folder"] / "grades.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + len(batch["results"])
    for dialect in (",", ";"):
        for row in csv.reader(io.StringIO(text), delimiter=dialect):
            assert not any(cell.lstrip()[:1] in ("=", "+", "@") for cell in row), row
    assert all("\r" not in cell and "\n" not in cell for row in rows for cell in row)


def test_forged_notices_are_refused_and_flagged(batch: dict[str, Any]) -> None:
    result = batch["results"]["notice_flood"]
    kinds = [n["kind"] for n in result["notices"]]
    assert "forged" in kinds
    assert "unreadable" not in kinds and kinds.count("tamper") == 0
    assert [t["verdict"] for t in result["tests"]] == ["error"] * 4
    assert "not graded" not in batch["done"].stdout.split("notice_flood", 1)[1].split("\n")[0]


@pytest.mark.parametrize(
    ("student", "phrase"),
    [("empty_lists", "more than 100000 items"), ("terabyte", "does not match")],
)
def test_costly_or_lying_answers_are_refused(
    batch: dict[str, Any], student: str, phrase: str
) -> None:
    tests = batch["results"][student]["tests"]
    assert [t["verdict"] for t in tests] == ["error", "error", "passed", "passed"]
    assert phrase in tests[0]["message"]


def test_results_stay_small_whatever_the_sandbox_sends(batch: dict[str, Any]) -> None:
    bloat = batch["folder"] / "bloat" / "results.json"
    assert bloat.stat().st_size < 2 * 2**20
    result = json.loads(bloat.read_text())
    for test in result["tests"]:
        assert len(test["student_output"]) <= 64 * 1024 + 100
        assert len(test["message"]) <= 2200
        assert all(len(f["code"]) <= 400 for f in test["frames"])
    assert (batch["out"] / "gradebook.db").stat().st_size < 16 * 2**20


def test_no_leftovers_in_the_temporary_folder(batch: dict[str, Any]) -> None:
    assert list(batch["tmp"].iterdir()) == []
