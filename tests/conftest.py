"""Fixtures every test module may use (helpers they import are in tests/helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    COURSE,
    Results,
    graded_once,
    read_results,
    run_grader,
    run_make_grade,
    smoke_args,
)

COSTLY = ("whole_class", "cluster", "browser", "e2e", "chroot")
"""markers that say why a test is slow (pyproject.toml): each implies ``slow``"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in COSTLY):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def smoke_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke course's submissions, graded once for the whole session."""

    def grade(out: Path) -> None:
        done = run_grader(*smoke_args(COURSE / "submissions", out))
        assert done.returncode == 0, done.stdout + done.stderr

    return graded_once(tmp_path_factory, "smoke", grade) / "00_smoke"


@pytest.fixture(scope="session")
def smoke(smoke_reports: Path) -> Results:
    """student -> results.json of the smoke course."""
    return read_results(smoke_reports)


@pytest.fixture(scope="session")
def example_class(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """assignment -> the --out folder of its example class graded by ``make
    grade``, once per session for every module that reads it (read-only)."""

    def graded(assignment: str) -> Path:
        def grade(out: Path) -> None:
            done = run_make_grade(assignment, out)
            assert done.returncode == 0, done.stdout + done.stderr

        return graded_once(tmp_path_factory, f"class-{assignment}", grade)

    return graded
