"""Reference data kept across submissions and runs changes no grade: each
example class (two students each: one close to the reference, one with
mistakes) graded with a cold cache, a warm cache and no cache gives the
same results, curves included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.assignments import names
from tests.conftest import REPO, read_results, run_grader

pytestmark = pytest.mark.slow

STUDENTS = {
    "01_tensors": ["ada", "kim"],
    "02_layers": ["ada", "ben"],
    "03_training": ["ana", "eko"],
    "04_save_load": ["ana", "bob"],
}
USES_THE_CACHE = {"03_training": 2}
"""assignments whose suites call ``reference_data``, and how many entries they keep"""


def comparable(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Results without what differs between two runs of the same grading (times)."""
    drop = {"graded_at", "execution_time", "duration", "output"}

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
def test_cache_changes_nothing(assignment: str, tmp_path: Path) -> None:
    paths = [
        str(REPO / "examples" / "submissions" / assignment / f"{s}.ipynb")
        for s in STUDENTS[assignment]
    ]
    cached, uncached = tmp_path / "cached", tmp_path / "uncached"
    runs = {}
    for label, out, extra in [
        ("cold", cached, []),
        ("warm", cached, ["--force"]),
        ("none", uncached, ["--no-reference-cache"]),
    ]:
        done = run_grader("grade", assignment, *paths, "--out", str(out), "-j", "1", *extra)
        assert done.returncode == 0, done.stderr
        runs[label] = comparable(read_results(out / assignment))
    assert sorted(runs["cold"]) == sorted(STUDENTS[assignment])
    assert runs["cold"] == runs["warm"] == runs["none"]
    kept = list((cached / "staff" / "reference-cache" / assignment).glob("*.json"))
    assert len(kept) == USES_THE_CACHE.get(assignment, 0)
    assert not (uncached / "staff" / "reference-cache").exists()
