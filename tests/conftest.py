"""Shared fixtures: run the real ``grader`` command and read what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "tests" / "files" / "course"
"""a tiny course (assignment 00_smoke) with hostile and broken submissions"""


def run_grader(
    *args: str, cwd: Path = REPO, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m grader ARGS`` as a user would (with ``env`` added to
    the environment), capturing its output."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_results(folder: Path) -> dict[str, dict[str, Any]]:
    """student -> results.json for every student folder under ``folder``."""
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(folder.glob("*/results.json"))}


@pytest.fixture(scope="session")
def smoke_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke course's submissions, graded once for the whole session."""
    out = tmp_path_factory.mktemp("smoke")
    done = run_grader(
        "--root", str(COURSE), "grade", "00_smoke", str(COURSE / "submissions"), "--out", str(out)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "00_smoke"


@pytest.fixture(scope="session")
def smoke(smoke_reports: Path) -> dict[str, dict[str, Any]]:
    """student -> results.json of the smoke course."""
    return read_results(smoke_reports)
