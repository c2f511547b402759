"""The command line: usage errors are clear and exit 2; nothing is half-done."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from grader.cli import main
from tests.conftest import COURSE


def test_unknown_assignment_lists_the_known_ones() -> None:
    result = CliRunner().invoke(main, ["--root", str(COURSE), "grade", "99_nope"])
    assert result.exit_code == 2
    assert "unknown assignment '99_nope' (assignments here: 00_smoke)" in result.output


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--root", str(COURSE), "grade", "00_smoke", str(tmp_path / "nope")]
    )
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_jobs_must_be_positive() -> None:
    result = CliRunner().invoke(main, ["--root", str(COURSE), "grade", "00_smoke", "--jobs", "0"])
    assert result.exit_code == 2
    assert "--jobs must be at least 1" in result.output


def test_broken_config_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "solutions" / "01_x"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text('title = "x"\n[limits]\nwall = 3\n')
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "grade", "01_x"])
    assert result.exit_code == 2
    assert "assignment.toml: [limits] has an unknown key" in result.output
