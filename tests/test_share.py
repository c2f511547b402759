"""Students share nothing with each other (tests/files/hostile/share/): no
kernel keyring carries a note from one submission to a later one, a
scratch folder cannot grow without end, and busy processes a submission
leaves running get only its own CPU share, so a neighbour is graded as if
alone. Run as root here and as a normal user by tests/test_rootless.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    COURSE,
    FULL_ISOLATION,
    HOSTILE,
    Results,
    probes,
    read_results,
    require_full_isolation,
    run_grader,
    smoke_args,
    verdicts,
)

pytestmark = pytest.mark.slow

SHARE = HOSTILE / "share"


def grade(submissions: Path, out: Path) -> Results:
    done = run_grader(*smoke_args(submissions, out, "--require-isolation"))
    assert done.returncode == 0, done.stdout + done.stderr
    return read_results(out / "00_smoke")


@pytest.fixture(scope="module")
def share(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """One batch with the note writer, the fillers, the spinner and a
    bystander; then a later batch with the note reader."""
    require_full_isolation()
    base = tmp_path_factory.mktemp("share")
    first, later = base / "first", base / "later"
    first.mkdir()
    later.mkdir()
    for name in ("keywriter", "manyfiles", "bigfiles", "spinner"):
        shutil.copy(SHARE / f"{name}.ipynb", first)
    shutil.copy(COURSE / "submissions" / "good.ipynb", first / "bystander.ipynb")
    shutil.copy(SHARE / "keyreader.ipynb", later)
    results = grade(first, base / "out")
    results.update(grade(later, base / "out"))
    yield results


# student -> (score out of 5, verdicts in suite order)
EXPECTED = {
    "bystander": (5, ["passed"] * 4),
    "keywriter": (5, ["passed"] * 4),
    "keyreader": (5, ["passed"] * 4),
    "manyfiles": (2, ["crash", "crash", "passed", "passed"]),
    "bigfiles": (2, ["crash", "crash", "passed", "passed"]),
    "spinner": (5, ["passed"] * 4),
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_outcome(share: dict[str, dict[str, Any]], student: str) -> None:
    score, expected = EXPECTED[student]
    result = share[student]
    assert verdicts(result) == expected
    assert result["score"] == score
    assert result["isolation"] == FULL_ISOLATION


def test_no_keyring_note_reaches_a_later_submission(share: dict[str, dict[str, Any]]) -> None:
    assert probes(share["keywriter"]) == ["PROBE wrote: ['user', 'session', 'user-session']"]
    assert probes(share["keyreader"]) == ["PROBE found: []"]


@pytest.mark.parametrize("student", ["manyfiles", "bigfiles"])
def test_scratch_fillers_are_stopped(share: dict[str, dict[str, Any]], student: str) -> None:
    """Killed once over the quota, with the folder emptied, so the next
    sandbox of the same submission loads and its honest function passes."""
    assert "crash" in verdicts(share[student])


def test_spinners_get_one_core_at_most(share: dict[str, dict[str, Any]]) -> None:
    lines = probes(share["spinner"])
    assert len(lines) == 2  # one per relu test
    cores = max(float(line.removeprefix("PROBE spinner cores: ")) for line in lines)
    if "cpu cap" in FULL_ISOLATION:
        assert cores <= 1.2
    else:  # no CPU controller for a normal user here: deadlines count CPU time instead
        assert cores > 0
