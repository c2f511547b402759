"""Call deadlines relative to the reference solution's own time
(``limits.call_timeout_multiple``): measured once per suite version by
grading the solution notebook in a sandbox, kept in the reference cache, and
named in the verdict of a call that overran one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.reference_times import deadlines
from grader.results import Limit
from grader.sandbox.host.limits import Limits
from tests.helpers import COURSE, read_results, run_grader, smoke_args

SLOW_RELU = """
import time
import tensorflow as tf


def relu(x):
    time.sleep(3)
    return tf.maximum(x, 0.0)


def make_var(n):
    return tf.Variable(tf.zeros([n]), trainable=True)
"""
"""right, and 3 s per call slower than the reference"""


def test_a_deadline_is_the_multiple_of_the_reference_time_between_floor_and_ceiling() -> None:
    limits = Limits(call_timeout=5.0, call_timeout_multiple=10.0, call_timeout_floor=0.5)
    times = {"quick": 0.01, "middle": 0.2, "slow": 2.0}
    assert deadlines(times, limits) == {"quick": 0.5, "middle": 2.0, "slow": 5.0}
    assert deadlines(times, Limits(call_timeout=5.0)) == {}


@pytest.mark.slow
def test_a_slow_right_answer_runs_out_of_the_reference_deadline(tmp_path: Path) -> None:
    """A relu right but 3 s slow gets TIMEOUT from the deadline the
    reference's time set (4 x, at least 0.5 s: under 3 s while the
    reference takes under 0.75 s, even on a loaded machine), named as such,
    while call_timeout (5 s) would have let it pass; its second test does not
    wait again. The times measured are kept: a second run reads them, so
    edited times (every test 1 s, so every deadline 4 s) decide its deadlines."""
    course = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    toml = course / "solutions" / "00_smoke" / "assignment.toml"
    head, _, _ = toml.read_text().partition("[limits]")
    limits = (
        "call_timeout = 5.0\ncall_timeout_multiple = 4\ncall_timeout_floor = 0.5\n"
        "load_timeout = 10.0\ntotal_timeout = 60.0\nmemory_mb = 768\n"
    )
    toml.write_text(f"{head}[limits]\n{limits}")
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(COURSE / "submissions" / "good.ipynb", klass / "good.ipynb")
    (klass / "slow.py").write_text(SLOW_RELU)
    out = tmp_path / "out"

    done = run_grader(*smoke_args(klass, out, "-j", "1", course=course))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "call deadlines: 4 x the reference solution's time per test" in done.stdout
    graded = read_results(out / "00_smoke")
    assert set(graded) == {"good", "slow"}  # the reference's own run is not a student's
    assert {t["verdict"] for t in graded["good"]["tests"]} == {"passed"}
    first, again, *rest = graded["slow"]["tests"]
    assert (first["verdict"], first["limit"]) == ("timeout", Limit.REFERENCE_TIME.value)
    assert "4 times what the reference solution takes on this test" in first["message"]
    assert (again["verdict"], again["limit"]) == ("timeout", Limit.REFERENCE_TIME.value)
    assert "did not call it again" in again["message"]
    assert [t["verdict"] for t in rest] == ["passed", "passed"]

    [kept] = (out / "staff" / "reference-cache" / "00_smoke").glob("times-*.json")
    times = json.loads(kept.read_text())["slowest_call"]
    assert set(times) == {t["name"] for t in graded["good"]["tests"]}
    assert all(0 < seconds < 0.75 for seconds in times.values()), times
    kept.write_text(json.dumps({"slowest_call": dict.fromkeys(times, 1.0)}))
    (klass / "good.ipynb").unlink()
    (klass / "slow.py").rename(klass / "slow2.py")
    done = run_grader(*smoke_args(klass, out, "-j", "1", course=course))
    assert done.returncode == 0, done.stdout + done.stderr
    assert {t["verdict"] for t in read_results(out / "00_smoke")["slow2"]["tests"]} == {"passed"}


@pytest.mark.slow
def test_a_reference_that_fails_its_suite_is_a_configuration_error(tmp_path: Path) -> None:
    """Its times would say nothing about a correct solution: the run stops,
    naming the failing test."""
    course = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    folder = course / "solutions" / "00_smoke"
    toml = folder / "assignment.toml"
    toml.write_text(toml.read_text() + "call_timeout_multiple = 10\n")
    notebook = folder / "00_smoke.ipynb"
    notebook.write_text(notebook.read_text().replace("trainable=True", "trainable=False"))
    done = run_grader(
        *smoke_args(COURSE / "submissions" / "good.ipynb", tmp_path / "out", course=course)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "does not pass test_make_var_trainable" in done.stderr
    assert "Traceback" not in done.stderr
