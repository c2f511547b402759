"""What hidden suites import: the ``grade`` mark and student-facing assertions.

The fixtures (``student``, ``reference``, ``rng``, ``sandbox``,
``feedback``) come from the pytest plugin in ``grader.harness.plugin``,
which the grader loads. ``StudentError`` is what a call raises when the
student's code raised; a suite may catch it to explain a known mistake.
``Remote`` is the type of a handle (an object that stayed in the sandbox):
``isinstance(value, Remote)`` tells a handle from data.
"""

from grader.harness.assertions import Mismatch, as_array, expect, expect_close, expect_equal
from grader.harness.marks import grade
from grader.harness.proxy import Remote, StudentError

__all__ = [
    "Mismatch",
    "Remote",
    "StudentError",
    "as_array",
    "expect",
    "expect_close",
    "expect_equal",
    "grade",
]
