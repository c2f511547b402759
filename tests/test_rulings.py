"""Each exception a test can end with has one verdict rule, and the rule sets
the typed signals (which limit was hit, whether data was refused) that the
class summary reads instead of the message; a timeout carries the limit
that set its deadline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.harness.errors import (
    FunctionMissing,
    HungBefore,
    LoadFailed,
    Mismatch,
    StaleHandle,
    StillAStub,
    StudentOutOfMemory,
    StudentRaised,
    ValueRefused,
)
from grader.harness.plugin import Ruling, ruling
from grader.results import Limit, Verdict
from grader.sandbox.errors import (
    SandboxDied,
    SandboxFailure,
    SandboxForged,
    SandboxRefused,
    SandboxTimeout,
)
from grader.sandbox.host.limits import Limits
from tests.helpers import COURSE, read_results, run_grader, smoke_args

LIMITS = Limits(call_timeout=3, total_timeout=30)

# (exception, verdict, limit, refused): at least one per registered class
CASES: list[tuple[BaseException, Verdict, Limit | None, bool]] = [
    (Mismatch("wrong"), Verdict.FAILED, None, False),
    (AssertionError(), Verdict.FAILED, None, False),
    (StudentRaised("`f`", "ValueError", "ValueError: x", ()), Verdict.ERROR, None, False),
    (FunctionMissing("`f`", "_Missing", "", (), name="f"), Verdict.NOT_IMPLEMENTED, None, False),
    (StillAStub("`f`", "_Stub", "", ()), Verdict.NOT_IMPLEMENTED, None, False),
    (StudentOutOfMemory("`f`", "MemoryError", "", ()), Verdict.MEMORY, Limit.MEMORY, False),
    (ValueRefused("`f`", "ResultRefused", "too deep", ()), Verdict.ERROR, None, True),
    (SandboxTimeout(3, None, Limit.CALL_TIME), Verdict.TIMEOUT, Limit.CALL_TIME, False),
    (SandboxTimeout(0.5, None, Limit.REFERENCE_TIME), Verdict.TIMEOUT, Limit.REFERENCE_TIME, False),
    (SandboxTimeout(1.5, None, Limit.NOTEBOOK_TIME), Verdict.TIMEOUT, Limit.NOTEBOOK_TIME, False),
    (
        HungBefore("`f`", SandboxTimeout(3, None, Limit.CALL_TIME), "test_f"),
        Verdict.TIMEOUT,
        Limit.CALL_TIME,
        False,
    ),
    (SandboxDied(memory=True, cell=None), Verdict.MEMORY, Limit.MEMORY, False),
    (SandboxDied(memory=False, cell=None, scratch=True), Verdict.CRASH, Limit.SCRATCH, False),
    (SandboxDied(memory=False, cell=None), Verdict.CRASH, Limit.PROCESS, False),
    (SandboxRefused("too large"), Verdict.ERROR, None, True),
    (SandboxForged("unasked"), Verdict.ERROR, None, True),
    (StaleHandle("Variable"), Verdict.ERROR, None, False),
    (SandboxFailure("lost"), Verdict.ERROR, None, False),
    (LoadFailed(SandboxTimeout(10, 2, Limit.LOAD_TIME)), Verdict.TIMEOUT, Limit.LOAD_TIME, False),
    (
        LoadFailed(SandboxTimeout(1.5, 2, Limit.NOTEBOOK_TIME)),
        Verdict.TIMEOUT,
        Limit.NOTEBOOK_TIME,
        False,
    ),
    (LoadFailed(SandboxRefused("too large")), Verdict.ERROR, None, True),
    (LoadFailed(SandboxDied(memory=True, cell=2)), Verdict.MEMORY, Limit.MEMORY, False),
    (
        LoadFailed(SandboxDied(memory=False, cell=2, scratch=True)),
        Verdict.CRASH,
        Limit.SCRATCH,
        False,
    ),
    (LoadFailed(SandboxDied(memory=False, cell=2)), Verdict.CRASH, Limit.PROCESS, False),
    (KeyError("suite bug"), Verdict.INTERNAL, None, False),
]


@pytest.mark.parametrize(("exc", "verdict", "limit", "refused"), CASES, ids=repr)
def test_each_exception_gets_its_verdict_and_signals(
    exc: BaseException, verdict: Verdict, limit: Limit | None, refused: bool
) -> None:
    judged = ruling(exc, LIMITS)
    assert (judged.verdict, judged.limit, judged.refused) == (verdict, limit, refused)
    assert judged.message


def test_every_rule_is_exercised_and_every_limit_verdict_names_its_limit() -> None:
    covered = {type(exc) for exc, *_ in CASES}
    assert set(ruling.registry) - {object} <= covered
    limited = {Verdict.TIMEOUT, Verdict.MEMORY, Verdict.CRASH}
    for exc, *_ in CASES:
        judged: Ruling = ruling(exc, LIMITS)
        assert (judged.limit is not None) == (judged.verdict in limited), exc


def test_a_timeout_names_the_limit_that_ran_out(tmp_path: Path) -> None:
    """Through a real run with a 6 s notebook budget: an endless call hits the
    time per call (2 s), and a later test that calls the same function gets
    TIMEOUT at once, naming the test where it hung, so the next function
    still has the budget to pass; cells that take 4.5 s to load leave less
    than a call's time, so an endless call is cut short by what is left of
    the whole notebook's budget, and says so (not "time per call"); cells
    that loop at the top level hit the load limit."""
    shutil.copytree(COURSE / "solutions", tmp_path / "solutions")
    toml = tmp_path / "solutions" / "00_smoke" / "assignment.toml"
    head, _, _ = toml.read_text().partition("[limits]")
    limits = "call_timeout = 2.0\nload_timeout = 6.0\ntotal_timeout = 6.0\nmemory_mb = 768\n"
    toml.write_text(f"{head}[limits]\n{limits}")
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(COURSE / "submissions" / "loop.ipynb", klass / "loop.ipynb")
    (klass / "sleepy.py").write_text(
        "import time\n\ntime.sleep(4.5)\n\n\n"
        "def relu(x):\n    while True:\n        pass\n\n\n"
        "def make_var(n):\n    while True:\n        pass\n"
    )
    (klass / "spins.py").write_text("while True:\n    pass\n")
    done = run_grader(*smoke_args(klass, tmp_path / "out", "-j", "1", course=tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    graded = read_results(tmp_path / "out" / "00_smoke")

    first, again, *rest = graded["loop"]["tests"]
    assert (first["verdict"], first["limit"]) == ("timeout", Limit.CALL_TIME.value)
    assert (again["verdict"], again["limit"]) == ("timeout", Limit.CALL_TIME.value)
    assert "in test_relu_random" in again["message"], again["message"]
    assert "did not call it again" in again["message"]
    assert [t["verdict"] for t in rest] == ["passed", "passed"]

    budget, *spent = graded["sleepy"]["tests"]
    assert (budget["verdict"], budget["limit"]) == ("timeout", Limit.NOTEBOOK_TIME.value)
    assert "6 s allowed for the whole notebook" in budget["message"]
    assert {t["limit"] for t in spent} == {Limit.NOTEBOOK_TIME.value}

    for test in graded["spins"]["tests"]:
        assert (test["verdict"], test["limit"]) == ("timeout", Limit.LOAD_TIME.value)
        assert "took longer than 6 s" in test["message"]
