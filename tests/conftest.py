"""Fixtures every test module may use (helpers they import are in tests/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import COURSE, Results, read_results, run_grader, smoke_args


@pytest.fixture(scope="session")
def smoke_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke course's submissions, graded once for the whole session."""
    out = tmp_path_factory.mktemp("smoke")
    done = run_grader(*smoke_args(COURSE / "submissions", out))
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "00_smoke"


@pytest.fixture(scope="session")
def smoke(smoke_reports: Path) -> Results:
    """student -> results.json of the smoke course."""
    return read_results(smoke_reports)
