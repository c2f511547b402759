"""Each exception a test can end with has one verdict rule, and the rule sets
the typed signals (which limit was hit, whether data was refused) that the
class summary reads instead of the message."""

from __future__ import annotations

import pytest

from grader.harness.assertions import Mismatch
from grader.harness.plugin import Ruling, ruling
from grader.harness.proxy import (
    FunctionMissing,
    LoadFailed,
    StaleHandle,
    StillAStub,
    StudentOutOfMemory,
    StudentRaised,
    ValueRefused,
)
from grader.results import Limit, Verdict
from grader.sandbox.host.client import (
    SandboxDied,
    SandboxFailure,
    SandboxForged,
    SandboxRefused,
    SandboxTimeout,
)
from grader.sandbox.host.limits import Limits

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
    (SandboxTimeout(1.5, None, Limit.NOTEBOOK_TIME), Verdict.TIMEOUT, Limit.NOTEBOOK_TIME, False),
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
