"""The command line: usage errors are clear and exit 2; nothing is half-done."""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from grader.batch import grade_assignment
from grader.cli import main
from grader.exporters import ExportRequest
from tests.helpers import COURSE, read_results, run_grader


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


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--jobs", "0"),
        ("--gpu-share", "0"),
        ("--fail-under", "101"),
        ("--fail-under", "-1"),
        ("--gpus", "first"),
    ],
)
def test_a_value_out_of_range_is_a_usage_error_naming_the_option(option: str, value: str) -> None:
    result = CliRunner().invoke(main, ["--root", str(COURSE), "grade", "00_smoke", option, value])
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's usage exit, nothing of ours raised


@pytest.mark.parametrize(
    ("command", "arguments", "function"),
    [("grade", ["00_smoke"], grade_assignment), ("export", ["csv", "00_smoke"], ExportRequest)],
)
def test_option_defaults_are_the_functions_defaults(
    command: str, arguments: list[str], function: Callable[..., object]
) -> None:
    """An option that mirrors a parameter gives that parameter's default when not given."""
    parameters = inspect.signature(function).parameters
    given = main.commands[command].make_context(command, arguments).params
    options = {p.name for p in main.commands[command].params if isinstance(p, click.Option)}
    mirrored = {
        name: value
        for name, value in given.items()
        if name in options
        and name in parameters
        and parameters[name].default is not inspect.Parameter.empty
    }
    assert {"jobs", "gpu_share", "out", "gpus"} <= set(mirrored) or command == "export"
    assert {"missing", "identifier", "adjustment_columns"} <= set(mirrored) or command == "grade"
    for name, value in mirrored.items():
        assert value == parameters[name].default, name


def test_out_is_the_same_default_for_every_command() -> None:
    outs = {
        name: option.default
        for name, command in main.commands.items()
        for option in command.params
        if option.name == "out"
    }
    assert set(outs) == {"export", "grade", "history", "override", "similarity"}
    assert set(outs.values()) == {
        inspect.signature(grade_assignment).parameters["out"].default.root
    }


def test_broken_config_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "solutions" / "01_x"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text('title = "x"\n[limits]\nwall = 3\n')
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "grade", "01_x"])
    assert result.exit_code == 2
    assert "assignment.toml: unknown key [limits] wall; the keys are" in result.output


@pytest.mark.slow
def test_a_suite_bug_is_an_internal_error_that_is_retried(tmp_path: Path) -> None:
    """A hidden test that fails on the trusted side is our bug: the student
    is told staff know, staff get the traceback, and a re-run retries it."""
    shutil.copytree(COURSE / "solutions", tmp_path / "solutions")
    suite = tmp_path / "solutions" / "00_smoke" / "test_hidden.py"
    suite.write_text(
        suite.read_text()
        + "\n\n@grade(points=1, exercise='relu', hint='-')\n"
        + "def test_suite_bug(student):\n    return {}['no such key']\n"
    )
    good = COURSE / "submissions" / "good.ipynb"
    args = ["--root", str(tmp_path), "grade", "00_smoke", str(good), "--out", str(tmp_path / "o")]
    first = run_grader(*args)
    assert first.returncode == 1
    assert "internal error grading good" in first.stderr
    # the traceback quotes the hidden suite: staff log only, never the console (CI logs)
    assert "KeyError" not in first.stderr + first.stdout
    assert "no such key" not in first.stderr + first.stdout
    log = tmp_path / "o" / "staff" / "00_smoke-internal-errors.log"
    assert "KeyError" in log.read_text() and str(log) in first.stdout
    [bug] = [
        t
        for t in read_results(tmp_path / "o" / "00_smoke")["good"]["tests"]
        if t["name"] == "test_suite_bug"
    ]
    assert bug["verdict"] == "internal error"
    assert "KeyError" not in bug["message"] and "course staff" in bug["message"]
    assert "graded 1, unchanged since last run 0" in run_grader(*args).stdout
    third = run_grader(*args)  # the third run that fails the same way is the last
    assert "graded 1, unchanged since last run 0" in third.stdout
    fourth = run_grader(*args)
    assert fourth.returncode == 0
    assert "graded 0, unchanged since last run 1" in fourth.stdout
