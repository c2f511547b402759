"""What hidden suites import: the ``grade`` mark and student-facing assertions.

The ``student``, ``reference`` and ``rng`` fixtures come from the pytest
plugin in ``grader.harness.plugin``, which the grader loads.
"""

from grader.harness.assertions import Mismatch, as_array, expect, expect_close, expect_equal
from grader.harness.marks import grade

__all__ = ["Mismatch", "as_array", "expect", "expect_close", "expect_equal", "grade"]
