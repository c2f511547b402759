"""Errors the grader reports to its user (instructor or CI), each with its
exit status. A student's mistake is never one of these: it is a verdict.

    GraderError          exit 1: the grader could not do its job
    ├── UsageError       exit 2: a wrong command line (unknown assignment, missing path)
    └── ConfigError      exit 2: a course file is wrong; the message names the file
"""

from __future__ import annotations

from typing import ClassVar


class GraderError(Exception):
    exit_code: ClassVar[int] = 1


class UsageError(GraderError):
    exit_code: ClassVar[int] = 2


class ConfigError(GraderError):
    exit_code: ClassVar[int] = 2
