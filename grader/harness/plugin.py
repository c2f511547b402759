"""The pytest plugin that grades: the ``student``, ``reference`` and ``rng``
fixtures, and a verdict with a student-facing message for every test.

It runs on the trusted side. What a failing test reports to the student
is built here from the exception's kind, never from pytest's own report,
which would quote the hidden test's source.
"""

from __future__ import annotations

import functools
import hashlib
import math
import types
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from grader.errors import ConfigError
from grader.harness.errors import (
    FunctionMissing,
    HungBefore,
    LoadFailed,
    Mismatch,
    StillAStub,
    StudentOutOfMemory,
    StudentRaised,
    ValueRefused,
)
from grader.harness.marks import TestSpec
from grader.harness.proxy import SandboxControl, StudentProxy, StudentSession
from grader.harness.reference_data import ReferenceData
from grader.results import Curve, Frame, Limit, Notice, TestResult, Verdict, Visibility
from grader.sandbox.errors import SandboxDied, SandboxFailure, SandboxRefused, SandboxTimeout
from grader.sandbox.host.limits import Limits

WITHHELD = "Reported while hidden tests ran; what it said is not shown."
"""a notice's message from then on (``GradingPlugin.notices``)"""
MAX_CURVE_POINTS = 200
"""the values a curve keeps, per side: a longer one keeps every n-th epoch's"""


class Feedback:
    """The ``feedback`` fixture: what a test adds to the student's report."""

    def __init__(self) -> None:
        self.curves: list[Curve] = []

    def curve(self, label: str, *, student: Sequence[float], reference: Sequence[float]) -> None:
        """Show the student's curve (e.g. loss per epoch) next to the reference's.
        ``student`` may be as long as student code made it: it is decimated to
        ``MAX_CURVE_POINTS`` here, before anything reads it."""
        every = max(1, math.ceil(max(len(student), len(reference)) / MAX_CURVE_POINTS))
        self.curves.append(
            Curve(
                label,
                tuple(float(v) for v in student[::every]),
                tuple(float(v) for v in reference[::every]),
                every,
            )
        )


class GradingPlugin:
    """Collects one ``TestResult`` per hidden test of one submission."""

    def __init__(
        self,
        session: StudentSession | None,
        reference: types.ModuleType,
        seed: str,
        submission_hash: str = "",
        reference_data: ReferenceData | None = None,
    ) -> None:
        """``seed`` names the assignment; ``submission_hash`` (the file's
        SHA-256) makes inputs differ per submission and repeat on a regrade."""
        self.session = session
        self.reference_module = reference
        self.reference_cache = reference_data or ReferenceData(None, "")
        self.seed = seed
        self.submission_hash = submission_hash
        self.results: dict[str, TestResult] = {}
        self.suite_errors: list[str] = []
        self.order: list[str] = []
        self.tests: dict[str, TestSpec] = {}
        """each test's ``@grade`` mark, checked, by node id"""
        self.mark_errors: list[ConfigError] = []
        self.feedback_for: dict[str, Feedback] = {}
        self.internal_details: list[str] = []
        """tracebacks of INTERNAL verdicts, for staff (never shown to students)"""
        self.hidden_from: int | None = None
        """how many notices the session had when the first hidden test began"""

    # -- fixtures -------------------------------------------------------

    @pytest.fixture(scope="session")
    def student(self) -> StudentProxy:
        """The student's code, in its sandbox."""
        if self.session is None:
            raise RuntimeError("no submission to grade in a collection-only run")
        return StudentProxy(self.session)

    @pytest.fixture(scope="session")
    def sandbox(self) -> SandboxControl:
        """Restart the student's sandbox, or list the files it wrote."""
        if self.session is None:
            raise RuntimeError("no submission to grade in a collection-only run")
        return SandboxControl(self.session)

    @pytest.fixture(scope="session")
    def reference(self) -> types.ModuleType:
        """The solution notebook's code, on the trusted side."""
        return self.reference_module

    @pytest.fixture(scope="session")
    def reference_data(self) -> ReferenceData:
        """Plain data from a reference call, computed once per suite version:
        ``reference_data(reference.train_fit, x, y, pick=lambda r: r[1].history)``."""
        return self.reference_cache

    @pytest.fixture
    def feedback(self, request: pytest.FixtureRequest) -> Feedback:
        """Extra material for this test's report, e.g. training curves."""
        return self.feedback_for.setdefault(request.node.nodeid, Feedback())

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        """Random inputs seeded by the assignment, the test and the submission:
        a regrade of the same file gets the same inputs, another file other
        ones, so the expected values shown in one submission's feedback do
        not answer another's. A test marked ``fixed_inputs`` ignores the
        submission."""
        fixed = self.tests[request.node.nodeid].fixed_inputs
        return self.generator(request.node.nodeid, per_submission=fixed is None)

    @pytest.fixture(scope="module")
    def module_rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        """Like ``rng``, for module-scoped fixtures that share student work."""
        return self.generator(request.node.nodeid, per_submission=True)

    def generator(self, name: str, *, per_submission: bool) -> np.random.Generator:
        """A generator seeded by the assignment, ``name`` and (if
        ``per_submission``) the submission's hash."""
        parts = [self.seed, name, self.submission_hash if per_submission else ""]
        digest = hashlib.sha256("\0".join(parts).encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:16], "little"))

    # -- hooks ----------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line(
            "markers", "grade(points, exercise, hint, visibility, fixed_inputs): a graded test"
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.suite_errors.append(f"{report.nodeid}: {report.longreprtext}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Results keep the suite's order; hidden tests run after every other
        (student code keeps state between tests, so a test that ran after a
        hidden one could show the student the hidden test's inputs). A suite
        with a test unmarked or marked wrong runs nothing."""
        self.order = [item.nodeid for item in items]
        for item in items:
            mark = item.get_closest_marker("grade")
            if mark is None:
                self.suite_errors.append(f"{item.nodeid} has no @grade mark")
                continue
            try:
                self.tests[item.nodeid] = TestSpec.from_mark(
                    item.config.rootpath, item.nodeid, item.name, mark.kwargs
                )
            except ConfigError as err:
                self.mark_errors.append(err)
        if self.suite_errors or self.mark_errors:
            items.clear()
        items.sort(key=self._hidden)

    @pytest.hookimpl(tryfirst=True)  # before fixtures call the student's code
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.session is None:
            return
        self.session.test = item.name
        if self._hidden(item) and self.hidden_from is None:
            self.hidden_from = len(self.session.notices)

    def _hidden(self, item: pytest.Item) -> bool:
        return self.tests[item.nodeid].visibility is Visibility.HIDDEN

    def notices(self) -> tuple[Notice, ...]:
        """The sandboxes' notices, those raised once hidden tests began
        without what they say: the student's code chose that text (a
        builtin's name, a forged problem) and may have put a hidden test's
        inputs in it. Their kinds stay, for the class summary's flags."""
        if self.session is None:
            return ()
        start = len(self.session.notices) if self.hidden_from is None else self.hidden_from
        withheld = tuple(
            Notice(kind=n.kind, message=WITHHELD) for n in self.session.notices[start:]
        )
        return (*self.session.notices[:start], *withheld)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        yield
        if call.when == "call" or (call.when == "setup" and call.excinfo is not None):
            self.results[item.nodeid] = self._result(item, call)

    # -- verdicts -------------------------------------------------------

    def _result(self, item: pytest.Item, call: pytest.CallInfo[None]) -> TestResult:
        spec = self.tests[item.nodeid]
        exception = call.excinfo.value if call.excinfo else None
        judged = self.verdict(exception)
        output, output_cut = self.session.take_output() if self.session else ("", False)
        if judged.verdict is Verdict.INTERNAL and call.excinfo is not None:
            self.internal_details.append(f"{item.nodeid}:\n{call.excinfo.getrepr(style='short')}")
        return TestResult(
            name=spec.name,
            exercise=spec.exercise,
            max_score=spec.points,
            score=spec.points if judged.verdict is Verdict.PASSED else 0.0,
            verdict=judged.verdict,
            message=judged.message,
            hint=spec.hint,
            visibility=spec.visibility,
            frames=judged.frames,
            output=output,
            output_cut=output_cut,
            duration=call.duration,
            slowest_call=self.session.slowest.get(item.name, 0.0) if self.session else 0.0,
            comparison=exception.comparison if isinstance(exception, Mismatch) else None,
            handle_type=exception.handle_type if isinstance(exception, Mismatch) else "",
            limit=judged.limit,
            refused=judged.refused,
            curves=tuple(self.feedback_for.get(item.nodeid, Feedback()).curves),
        )

    def verdict(self, exc: BaseException | None) -> Ruling:
        """The verdict and the student-facing message for a test's exception
        (``None``: it passed), by the rule for the exception's class."""
        if exc is None:
            return Ruling(Verdict.PASSED, "")
        return ruling(exc, self.session.limits if self.session is not None else Limits())


@dataclass(frozen=True)
class Ruling:
    """What a test's exception means for the student."""

    verdict: Verdict
    message: str
    """student-facing: never pytest's report, which would quote the hidden test"""
    frames: tuple[Frame, ...] = ()
    """the student's own traceback lines, shown with the message"""
    limit: Limit | None = None
    """the limit a timeout, memory or crash verdict ran into"""
    refused: bool = False
    """the sandbox sent data the grader refused"""


# -- the verdict for each kind of exception: one rule per class, found along
# the exception's MRO (``functools.singledispatch``); anything else is ours.


@functools.singledispatch
def ruling(exc: BaseException, limits: Limits) -> Ruling:
    """An exception no rule knows: the suite or the grader itself failed."""
    return Ruling(Verdict.INTERNAL, "The grader failed on this test; course staff have been told.")


@ruling.register
def _mismatch(exc: Mismatch, limits: Limits) -> Ruling:
    return Ruling(Verdict.FAILED, str(exc), exc.frames)


@ruling.register
def _assertion(exc: AssertionError, limits: Limits) -> Ruling:
    return Ruling(Verdict.FAILED, "Your result is not what the test expected.")


@ruling.register
def _function_missing(exc: FunctionMissing, limits: Limits) -> Ruling:
    return Ruling(
        Verdict.NOT_IMPLEMENTED,
        f"Your notebook does not define `{exc.name}`. Check the name's spelling "
        "and that the cell defining it runs without errors.",
    )


@ruling.register
def _still_a_stub(exc: StillAStub, limits: Limits) -> Ruling:
    return Ruling(
        Verdict.NOT_IMPLEMENTED,
        f"{exc.label.split('.')[0]} still raises NotImplementedError: replace the "
        "`raise NotImplementedError()` line with your code.",
        exc.frames,
    )


@ruling.register
def _value_refused(exc: ValueRefused, limits: Limits) -> Ruling:
    return Ruling(
        Verdict.ERROR,
        f"{exc.label} returned something the grader refuses to receive: {exc.message}.",
        refused=True,
    )


@ruling.register
def _student_out_of_memory(exc: StudentOutOfMemory, limits: Limits) -> Ruling:
    return Ruling(
        Verdict.MEMORY,
        f"{exc.label} ran out of memory ({exc.message}).",
        exc.frames,
        limit=Limit.MEMORY,
    )


@ruling.register
def _student_raised(exc: StudentRaised, limits: Limits) -> Ruling:
    return Ruling(Verdict.ERROR, f"{exc.label} raised {exc.message}", exc.frames)


@ruling.register
def _sandbox_timeout(exc: SandboxTimeout, limits: Limits) -> Ruling:
    if exc.limit is Limit.NOTEBOOK_TIME:
        return Ruling(
            Verdict.TIMEOUT,
            f"Your code used up the {limits.total_timeout:g} s allowed for the whole "
            "notebook, so this test was not run.",
            limit=exc.limit,
        )
    return Ruling(
        Verdict.TIMEOUT,
        f"The call did not finish within {exc.seconds:g} s{_set_by(exc, limits)} and was "
        "stopped. Look for a loop whose condition never becomes false, or work far larger "
        "than the inputs.",
        limit=exc.limit,
    )


def _set_by(exc: SandboxTimeout, limits: Limits) -> str:
    """What set a call's deadline, when it was not plainly ``call_timeout``."""
    if exc.limit is not Limit.REFERENCE_TIME or limits.call_timeout_multiple is None:
        return ""
    return (
        f" ({limits.call_timeout_multiple:g} times what the reference solution takes on this "
        f"test, and at least {limits.call_timeout_floor:g} s)"
    )


@ruling.register
def _hung_before(exc: HungBefore, limits: Limits) -> Ruling:
    return Ruling(
        Verdict.TIMEOUT,
        f"{exc.label} did not finish within {exc.first.seconds:g} s"
        f"{_set_by(exc.first, limits)} in {exc.test} and was stopped there, so this test did "
        "not call it again. Look for a loop whose condition never becomes false, or work far "
        "larger than the inputs.",
        limit=exc.first.limit,
    )


@ruling.register
def _sandbox_died(exc: SandboxDied, limits: Limits) -> Ruling:
    if exc.scratch:
        return Ruling(
            Verdict.CRASH,
            f"Your code filled its scratch folder past {limits.scratch_mb} MB or "
            f"{limits.scratch_files} files and was stopped; the folder was emptied.",
            limit=Limit.SCRATCH,
        )
    if exc.memory:
        return Ruling(
            Verdict.MEMORY,
            f"Your code went over the {limits.memory_mb} MB memory limit and was stopped. "
            "Look for tensors much larger than the inputs (an accidental outer product or "
            "broadcast).",
            limit=Limit.MEMORY,
        )
    return Ruling(
        Verdict.CRASH,
        "Your code ended the process running it (for example exit(), os._exit() or a "
        "crash in native code), so the test could not finish.",
        limit=Limit.PROCESS,
    )


@ruling.register
def _sandbox_refused(exc: SandboxRefused, limits: Limits) -> Ruling:
    return Ruling(
        Verdict.ERROR, f"Your code returned something the grader refuses: {exc}.", refused=True
    )


@ruling.register
def _sandbox_failure(exc: SandboxFailure, limits: Limits) -> Ruling:
    return Ruling(Verdict.ERROR, f"{exc}.")


@ruling.register
def _load_failed(exc: LoadFailed, limits: Limits) -> Ruling:
    """The notebook's cells could not be loaded: every test says why."""
    cause = exc.cause
    cell = getattr(cause, "cell", None)
    where = f" (cell {cell} was running)" if cell else ""
    if isinstance(cause, SandboxTimeout):
        budget = (
            f"used up the {limits.total_timeout:g} s allowed for the whole notebook"
            if cause.limit is Limit.NOTEBOOK_TIME
            else f"took longer than {cause.seconds:g} s"
        )
        return Ruling(
            Verdict.TIMEOUT,
            f"Running your notebook's cells {budget}{where}, so none of your functions could "
            "be tested. Move long work out of top-level code.",
            limit=cause.limit,
        )
    if isinstance(cause, SandboxRefused):
        return Ruling(
            Verdict.ERROR,
            f"While your notebook's cells ran, the grader received something it refuses "
            f"({cause}), so none of your functions could be tested.",
            refused=True,
        )
    if isinstance(cause, SandboxDied) and cause.memory:
        return Ruling(
            Verdict.MEMORY,
            f"Running your notebook's cells went over the memory limit{where}, so none of "
            "your functions could be tested.",
            limit=Limit.MEMORY,
        )
    return Ruling(
        Verdict.CRASH,
        f"Running your notebook's cells ended the process{where} (exit(), os._exit() or a "
        "crash), so none of your functions could be tested.",
        limit=Limit.SCRATCH if isinstance(cause, SandboxDied) and cause.scratch else Limit.PROCESS,
    )
