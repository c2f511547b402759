"""``assignment.toml`` and the suite's ``@grade`` marks are checked before any
submission is graded: each kind of mistake stops the real ``grader grade``
with exit status 2 and one line naming the file, the key and what was
expected; units are read, and docs/instructors/assignment-toml.md lists
every key as the code checks it.
"""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path

import pytest

from grader import config
from grader.errors import ConfigError
from grader.sandbox.host.limits import Limits
from tests.helpers import COURSE, REPO, run_grader

SMOKE = COURSE / "solutions" / "00_smoke"
HEAD = 'title = "Smoke test"\nnotebook = "00_smoke.ipynb"\n'


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the smoke course, its config and suite free to break."""
    shutil.copytree(COURSE / "solutions", tmp_path / "solutions")
    return tmp_path


def write_config(course: Path, text: str) -> Path:
    path = course / "solutions" / "00_smoke" / "assignment.toml"
    path.write_text(textwrap.dedent(text))
    return path


def refused(course: Path) -> str:
    """Grade the good submission; the run must stop with one line, exit 2,
    having graded nothing. Returns that line."""
    out = course / "out"
    done = run_grader(
        "--root", str(course), "grade", "00_smoke", str(COURSE / "submissions" / "good.ipynb"),
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: ") and "Traceback" not in line
    assert not list(out.glob("*/*/results.json"))
    return line


# (what is in assignment.toml, what the message must say after the file's path)
CONFIG_MISTAKES = {
    "number as text": (
        HEAD + '[limits]\ncall_timeout = "3"\n',
        '[limits] call_timeout = "3": expected seconds: a number (5, 2.5) or text with a unit',
    ),
    "unknown unit": (
        HEAD + '[limits]\nmemory_mb = "768X"\n',
        '[limits] memory_mb = "768X": expected MiB: a whole number or text with a unit',
    ),
    "decimal unit": (
        HEAD + '[limits]\nmemory_mb = "768MB"\n',
        '[limits] memory_mb = "768MB": MB means 1000s to some and 1024s to others: write '
        '"768M" or "768MiB" (1024s)',
    ),
    "grace without a policy": (
        HEAD + 'late_grace = "1h"\n',
        "late_grace is set but late_policy is not set, so nothing is taken off a late "
        'submission: set late_policy ("10% per day", "zero"), or remove late_grace',
    ),
    "floor under no policy": (
        HEAD + 'late_policy = "none"\nlate_floor = 50\n',
        'late_floor is set but late_policy is "none"',
    ),
    "floor under zero": (
        HEAD + 'due = 2026-12-01T23:59:00Z\nlate_policy = "zero"\nlate_floor = 50\n',
        'late_floor is set but late_policy = "zero" takes every point off',
    ),
    "out of range": (
        HEAD + "[limits]\nmemory_mb = 64\n",
        "[limits] memory_mb = 64: expected MiB: a whole number or text with a unit "
        '("768M", "2G"; K, M, G, T, or KiB, MiB, GiB, TiB, count in 1024s); from 256 to 1048576',
    ),
    "wrong type": (
        HEAD + "[limits]\nmax_processes = 1.5\n",
        "[limits] max_processes = 1.5: expected a whole number from 16 to 65536",
    ),
    "boolean for a number": (
        HEAD + "[limits]\nfile_mb = true\n",
        "[limits] file_mb = true: expected MiB",
    ),
    "misspelt key": (
        HEAD + "[limits]\nmemroy_mb = 1024\n",
        "unknown key [limits] memroy_mb; did you mean [limits] memory_mb?",
    ),
    "key in the wrong table": (
        HEAD + "memory_mb = 1024\n",
        "unknown key memory_mb; it belongs under [limits]",
    ),
    "top-level key under [limits]": (
        HEAD + '[limits]\ndata = "data"\n',
        "unknown key [limits] data; it belongs before any [table]",
    ),
    "limits not a table": (HEAD + "limits = 3\n", "limits must be a table"),
    "missing title": ('notebook = "00_smoke.ipynb"\n', "missing title: expected text, not empty"),
    "notebook not a notebook": (
        'title = "x"\nnotebook = "00_smoke.py"\n',
        'notebook = "00_smoke.py": expected a file name ending in `.ipynb`',
    ),
    "notebook not there": (
        'title = "x"\nnotebook = "other.ipynb"\n',
        'notebook = "other.ipynb": no such file beside it',
    ),
    "date without a time": (
        HEAD + "due = 2026-12-01\n",
        "due = 2026-12-01: expected a TOML date and time (2026-12-01T23:59:00Z",
    ),
    "no data folder": (HEAD + 'data = "no-such-data"\n', 'data = "no-such-data": no such folder'),
    "data folder holding the solutions": (
        HEAD + 'data = "."\n',
        'data = ".": students\' code may read it, so it must be a folder of its own',
    ),
    "call longer than the whole": (
        HEAD + '[limits]\ncall_timeout = "1m"\ntotal_timeout = 30\n',
        "[limits] call_timeout (60 s) is longer than total_timeout (30 s)",
    ),
    "not TOML": (HEAD + "[limits\n", "not valid TOML: "),
}


@pytest.mark.parametrize("mistake", sorted(CONFIG_MISTAKES))
def test_config_mistake_stops_the_grader_naming_the_key(course: Path, mistake: str) -> None:
    text, expected = CONFIG_MISTAKES[mistake]
    path = write_config(course, text)
    line = refused(course)
    assert line.startswith(f"Error: {path}: {expected}"), line


def test_missing_config_is_named_not_an_unknown_assignment(course: Path) -> None:
    path = course / "solutions" / "00_smoke" / "assignment.toml"
    path.unlink()
    line = refused(course)
    assert line.startswith(f"Error: {path} is missing: solutions/00_smoke/ needs one"), line
    assert "unknown assignment" not in line


SUITE_HEAD = "import pytest\nfrom grader.harness import expect, grade\n\n"

# (a hidden test with a wrong mark, what the message must say after "file::test: @grade")
MARK_MISTAKES = {
    "visibility": (
        "@grade(points=1, exercise='relu', hint='-', visibility='secret')",
        "(visibility='secret'): expected one of visible, after_due_date, after_published, hidden",
    ),
    "exercise": (
        "@grade(points=1, exercise='relu2', hint='-')",
        "(exercise='relu2'): expected the name of a function the solution notebook defines",
    ),
    "points": (
        "@pytest.mark.grade(points='2', exercise='relu', hint='-')",
        "(points='2'): expected a number above 0",
    ),
    "argument": (
        "@pytest.mark.grade(point=2, exercise='relu', hint='-')",
        " has an unknown argument point; did you mean points?",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MARK_MISTAKES))
def test_mark_mistake_stops_the_grader_naming_the_test(course: Path, mistake: str) -> None:
    mark, expected = MARK_MISTAKES[mistake]
    suite = course / "solutions" / "00_smoke" / "test_hidden.py"
    suite.write_text(f"{SUITE_HEAD}{mark}\ndef test_wrong(student):\n    expect(True, '-')\n")
    line = refused(course)
    assert line == f"Error: {suite}::test_wrong: @grade{expected}"


def test_units_are_read(tmp_path: Path) -> None:
    (tmp_path / "00_smoke.ipynb").write_text("{}")
    (tmp_path / "data").mkdir()
    path = tmp_path / "assignment.toml"
    path.write_text(
        HEAD
        + 'data = "data"\n[limits]\ncall_timeout = "500ms"\nload_timeout = "2m"\n'
        + 'total_timeout = "1h"\ncpu_time = 90\nmemory_mb = "1.5G"\nfile_mb = "1024K"\n'
        + 'output_kb = "1M"\nmax_processes = 64\nscratch_mb = "512MiB"\nresult_mb = "1gib"\n'
    )
    limits = config.load(path, tmp_path).limits
    assert limits == Limits(
        call_timeout=0.5,
        load_timeout=120.0,
        total_timeout=3600.0,
        cpu_time=90.0,
        memory_mb=1536,
        file_mb=1,
        output_kb=1024,
        max_processes=64,
        scratch_mb=512,
        result_mb=1024,
        data=str(tmp_path / "data"),
    )


def test_a_fraction_of_the_unit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "00_smoke.ipynb").write_text("{}")
    path = tmp_path / "assignment.toml"
    path.write_text(HEAD + '[limits]\nfile_mb = "100K"\n')
    with pytest.raises(ConfigError, match=r'file_mb = "100K": expected MiB'):
        config.load(path, tmp_path)


def test_every_limit_is_a_key() -> None:
    limits = {k.short for k in config.KEYS if k.table == config.LIMITS}
    assert limits == {f.name for f in dataclasses.fields(Limits)} - {"data"}


def test_the_docs_list_every_key_as_checked() -> None:
    """The docs' table of keys says what the code checks: type, unit, range, default."""
    defaults = {f.name: f.default for f in dataclasses.fields(Limits)}
    readme = (REPO / "docs" / "instructors" / "assignment-toml.md").read_text()
    for key in config.KEYS:
        default = defaults.get(key.short) if key.table else None
        shown = "required" if key.required else "none" if default is None else f"{default:g}"
        row = f"| `{key.name}` | {key.kind.describe()} | {shown} | {key.doc} |"
        assert row in readme, row
