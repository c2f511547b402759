"""Reference data kept across submissions and runs changes no grade: a
part of each example class (a student with mistakes; in 03, whose suite
uses the cache, one close to the reference too) graded with a cold cache
and with no cache gives the same results, curves included, and in 03 a
warm cache too."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.assignments import names
from tests.helpers import COURSE, REPO, read_results, run_grader

pytestmark = pytest.mark.slow

STUDENTS = {
    "01_tensors": ["kim"],
    "02_layers": ["ben"],
    "03_training": ["ana", "eko"],
    "04_save_load": ["bob"],
}
USES_THE_CACHE = {"03_training": 2}
"""assignments whose suites call ``reference_data``, and how many entries they keep"""


def comparable(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Results without what differs between two runs of the same grading (times)."""
    drop = {"graded_at", "execution_time", "duration", "slowest_call", "output"}

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(results)


def test_every_assignment_has_students_here() -> None:
    assert sorted(STUDENTS) == [n for n in names(REPO) if n in STUDENTS]
    assert set(names(REPO)) - set(STUDENTS) <= {"05_cnn"}  # graded in full by its own test


@pytest.mark.parametrize("assignment", sorted(STUDENTS))
def test_cache_changes_nothing(
    assignment: str, tmp_path: Path, example_class: Callable[[str], Path]
) -> None:
    """The cached run is the example class's (its cache starts empty and
    fills as the class is graded); the same students again with no cache,
    and in 03 once more with the cache the class run left (``--force``)."""
    paths = [
        str(REPO / "examples" / "submissions" / assignment / f"{s}.ipynb")
        for s in STUDENTS[assignment]
    ]
    cached, uncached = tmp_path / "cached", tmp_path / "uncached"
    shutil.copytree(example_class(assignment), cached)

    def graded(out: Path) -> dict[str, Any]:
        results = read_results(out / assignment)
        return comparable({s: results[s] for s in STUDENTS[assignment]})

    runs = {"cold": graded(cached)}
    plan = [("none", uncached, ["--no-reference-cache"])]
    if assignment in USES_THE_CACHE:
        plan.append(("warm", cached, ["--force"]))
    for label, out, extra in plan:
        done = run_grader("grade", assignment, *paths, "--out", str(out), "-j", "1", *extra)
        assert done.returncode == 0, done.stderr
        runs[label] = graded(out)
    assert runs["cold"] == runs["none"] == runs.get("warm", runs["cold"])
    kept = list((cached / "staff" / "reference-cache" / assignment).glob("*.json"))
    assert len(kept) == USES_THE_CACHE.get(assignment, 0)
    assert not (uncached / "staff" / "reference-cache").exists()


def test_the_solution_runs_once_per_run(tmp_path: Path) -> None:
    """The driver loads the reference once and grading processes forked
    after inherit it: a solution that logs each time it runs, graded
    against three submissions two at a time, runs once, in the driver."""
    course = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    solution = course / "solutions" / "00_smoke" / "00_smoke.ipynb"
    notebook = nbformat.read(solution, as_version=4)
    log = tmp_path / "runs.log"
    logging = (
        f"import os\nwith open({str(log)!r}, 'a') as _log:\n    _log.write(f'{{os.getpid()}}\\n')"
    )
    notebook.cells.append(nbformat.v4.new_code_cell(logging))
    nbformat.write(notebook, solution)
    submissions = [
        str(COURSE / "submissions" / n) for n in ("good.ipynb", "error.ipynb", "stub.py")
    ]
    out = tmp_path / "out"
    done = run_grader(
        "--root", str(course), "grade", "00_smoke", *submissions, "--out", str(out), "-j", "2"
    )
    assert done.returncode == 0, done.stderr
    assert sorted(read_results(out / "00_smoke")) == ["error", "good", "stub"]
    assert len(log.read_text().splitlines()) == 1
