"""Exceptions of the grader's own packages (the sandbox's are in
``grader.sandbox.errors``, the harness's in ``grader.harness.errors``).

``GraderError`` is reported to the grader's user (instructor, CI, a
student running ``grader check``) with its exit status: ``grader.cli``
prints its message and exits. A student's mistake in a graded notebook is
never one of these: it is a verdict, or a ``SubmissionProblem``::

    GraderError            exit 1: the grader could not do its job
    ├── UsageError         exit 2: a wrong command line (unknown assignment, missing path)
    ├── ConfigError        exit 2: a course file is wrong; the message names the file
    └── NotCheckable       exit 1: ``grader check`` cannot run on this notebook
                           (empty, another assignment's); the message says what to fix

    SubmissionProblem      a submission that cannot be graded as it is: raised
                           by ``grader.submissions``, recorded by the batch as
                           a notice for the student (never a traceback)

    ValueError
    └── UnsafeArchive      a tar member outside its destination or not a plain
                           file or folder: ``grader.archives.extract`` refuses it

``grader.config`` keeps ``_Wrong`` private: its setting kinds raise it and
the one function that reads a key catches it, to name the key at fault.
"""

from __future__ import annotations

from typing import ClassVar

from grader.results import Notice, NoticeKind


class GraderError(Exception):
    exit_code: ClassVar[int] = 1


class UsageError(GraderError):
    exit_code: ClassVar[int] = 2


class ConfigError(GraderError):
    exit_code: ClassVar[int] = 2


class NotCheckable(GraderError):
    """A notebook the checks cannot run on as it is; the message says what to fix."""


class SubmissionProblem(Exception):
    """A submission that cannot be graded as it is; the message is for the student."""

    def __init__(self, kind: NoticeKind, message: str) -> None:
        super().__init__(message)
        self.notice = Notice(kind=kind, message=message)


class UnsafeArchive(ValueError):
    """A member would land outside the destination, or is not a plain file or folder."""
