"""Call deadlines set from the reference solution's own time on each test
(``limits.call_timeout_multiple``), as programming judges set time limits
from the model solution's: a correct but far too slow submission gets
TIMEOUT in a second, not after the whole ``call_timeout``.

The driver measures the reference by grading the solution notebook itself,
in a sandbox like any submission, before the class, once per suite version:
each test's longest call into the code (``TestResult.slowest_call``, its
fixtures' included). The times are kept in the reference cache
(``OUT/staff/reference-cache/ASSIGNMENT/``) for later runs; without a cache
they are measured every run. Trusted side only.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path

from grader import jsontext
from grader.assignments import CONFIG_NAME
from grader.errors import ConfigError, GraderError
from grader.files import atomic_write
from grader.results import Verdict
from grader.runners import Runner, loop
from grader.sandbox.host.limits import Limits
from grader.submissions import Found, read_submission
from grader.suite import Suite

REFERENCE = "reference-solution"
"""the id the solution notebook is graded under (never recorded in the gradebook)"""


def deadlines(times: Mapping[str, float], limits: Limits) -> dict[str, float]:
    """Test name -> seconds a call may take in it: the multiple of the
    reference's time, at least the floor, at most ``call_timeout``."""
    multiple = limits.call_timeout_multiple
    if multiple is None:
        return {}
    return {
        name: min(limits.call_timeout, max(limits.call_timeout_floor, multiple * seconds))
        for name, seconds in times.items()
    }


def with_deadlines(
    suite: Suite, runner: Runner, *, cache: Path | None, echo: Callable[[str], None]
) -> Suite:
    """The suite with its ``call_deadlines``, when its limits ask for them:
    from the cache, or measured now on ``runner``."""
    limits = suite.limits
    if limits.call_timeout_multiple is None:
        return suite
    kept = None if cache is None else cache / f"times-{suite.version.outcomes}.json"
    times = _read(kept) if kept is not None else None
    if times is None:
        times = measure(suite, runner, echo=echo)
        if kept is not None:
            atomic_write(kept, jsontext.dumps({"slowest_call": times}), folder_mode=0o700)
    limited = deadlines(times, limits)
    echo(
        f"call deadlines: {limits.call_timeout_multiple:g} x the reference solution's time per "
        f"test, from {min(limited.values(), default=0):g} s to "
        f"{max(limited.values(), default=0):g} s (call_timeout {limits.call_timeout:g} s)"
    )
    return dataclasses.replace(suite, call_deadlines=limited)


def measure(suite: Suite, runner: Runner, *, echo: Callable[[str], None]) -> dict[str, float]:
    """Grade the solution notebook on ``runner``: each test's longest call.
    It must pass every test, or its times say nothing about a correct solution."""
    assignment = suite.assignment
    notebook = assignment.solution_notebook
    submission = read_submission(Found(REFERENCE, notebook), assignment.notebook)
    [outcome] = loop.grade(runner, [submission], suite, echo=echo)
    if outcome.result is None:  # its details quote the hidden suite: never on the console
        raise GraderError(
            f"could not grade the reference solution {notebook} to measure its time per test "
            f"(call_timeout_multiple); `grader grade {assignment.name} {notebook}` shows why "
            "in its staff log"
        )
    failed = [t.name for t in outcome.result.tests if t.verdict is not Verdict.PASSED]
    if failed:
        raise ConfigError(
            f"{assignment.solution_dir / CONFIG_NAME}: call_timeout_multiple sets deadlines "
            f"from the reference solution's time, but {notebook.name} does not pass "
            f"{', '.join(failed)}: fix the suite or the solution, or remove the key"
        )
    return {t.name: t.slowest_call for t in outcome.result.tests}


def _read(path: Path) -> dict[str, float] | None:
    """Times kept by an earlier run (None: none kept, or not readable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["slowest_call"]
        times = {str(name): float(seconds) for name, seconds in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return times if all(math.isfinite(s) and s >= 0 for s in times.values()) else None
