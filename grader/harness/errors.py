"""Exceptions of the harness: how a hidden test's call into the student's
code ends when it does not return, and how a comparison fails.

``grader.harness.plugin`` gives each its verdict (``ruling``); suites
catch ``StudentError`` to explain a known mistake, often as a ``Mismatch``::

    StudentError             a call into the student's code failed there: built
    │                        by ``proxy.student_error`` from the sandbox's reply
    ├── StudentRaised        the code raised                      ERROR
    ├── FunctionMissing      the notebook lacks the name asked    NOT_IMPLEMENTED
    ├── StillAStub           it still raises NotImplementedError  NOT_IMPLEMENTED
    ├── StudentOutOfMemory   it raised MemoryError                MEMORY
    └── ValueRefused         its result breaks the wire's rules   ERROR

    SandboxFailure           (``grader.sandbox.errors``) the sandbox could not answer
    ├── LoadFailed           the cells could not be loaded at all (raised by
    │                        ``proxy.StudentSession``; the cause says why)
    ├── HungBefore           a function that ran out of time in an earlier test:
    │                        not called again (``proxy``)             TIMEOUT
    └── StaleHandle          a handle from a sandbox since restarted (``proxy``)

    AssertionError
    └── Mismatch             the result differs from what the test expected:
                             raised by ``assertions`` and suites        FAILED

    NotPlain                 a value ``reference_data.encode`` cannot keep: the
                             reference result is then computed, not kept
"""

from __future__ import annotations

from grader.results import Comparison, Frame
from grader.sandbox.errors import SandboxFailure, SandboxTimeout


class StudentError(Exception):
    """A call into the student's code failed there; suites catch this base
    class. Each condition is a subclass, built from the sandbox's error reply
    by ``student_error``; ``type_name`` is the exception's class name in the
    sandbox, ``frames`` the student's own traceback lines."""

    def __init__(self, label: str, type_name: str, message: str, frames: tuple[Frame, ...]) -> None:
        super().__init__(message)
        self.label = label
        """how the test named what it called (`relu`, the Variable from `make`)"""
        self.type_name = type_name
        self.message = message
        self.frames = frames


class StudentRaised(StudentError):
    """The student's code raised an exception."""


class FunctionMissing(StudentError):
    """The notebook does not define the name the test asked for."""

    def __init__(
        self, label: str, type_name: str, message: str, frames: tuple[Frame, ...], *, name: str
    ) -> None:
        super().__init__(label, type_name, message, frames)
        self.name = name


class StillAStub(StudentError):
    """The function still raises NotImplementedError, as released."""


class StudentOutOfMemory(StudentError):
    """The student's code raised MemoryError."""


class ValueRefused(StudentError):
    """The call returned, but its result breaks the wire's rules (size, depth)."""


class LoadFailed(SandboxFailure):
    """The student's cells could not even be loaded (they hang or kill the process)."""

    def __init__(self, cause: SandboxFailure) -> None:
        super().__init__(str(cause))
        self.cause = cause


class HungBefore(SandboxFailure):
    """A call to a student's function that already ran out of time in this
    submission: it is not made again, so a looping function costs one
    deadline, not one per test that uses it."""

    def __init__(self, label: str, first: SandboxTimeout, test: str) -> None:
        super().__init__(f"{label} ran out of time in {test}")
        self.label = label
        self.first = first
        """the timeout it ran into (its seconds and limit)"""
        self.test = test
        """the test where it ran out of time"""


class StaleHandle(SandboxFailure):
    """A handle from a sandbox that has since been restarted."""

    def __init__(self, type_name: str) -> None:
        super().__init__(
            f"an object of type {type_name} from your code was lost when the sandbox restarted"
        )


class Mismatch(AssertionError):
    """The student's result differs from what the test expected."""

    def __init__(
        self,
        message: str,
        comparison: Comparison | None = None,
        frames: tuple[Frame, ...] = (),
        handle_type: str = "",
    ) -> None:
        """``frames``: the student's own traceback lines, when a suite turns a
        ``StudentError`` into a Mismatch to explain a known mistake.
        ``handle_type``: the type of an object kept in the sandbox that came
        back where data was expected (see ``TestResult.handle_type``)."""
        super().__init__(message)
        self.comparison = comparison
        self.frames = frames
        self.handle_type = handle_type


class NotPlain(Exception):
    """A value that is not plain data (it is then computed, not kept)."""
