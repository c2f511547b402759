"""What hidden suites import: the ``grade`` mark and student-facing assertions.

The fixtures (``student``, ``reference``, ``reference_data``, ``rng``, ``module_rng``,
``sandbox``, ``feedback``) come from the pytest plugin in
``grader.harness.plugin``, which the grader loads. ``StudentError`` is what
a call raises when the student's code raised; a suite may catch it to
explain a known mistake. ``Remote`` is the type of a handle (an object that
stayed in the sandbox): ``isinstance(value, Remote)`` tells a handle from
data. The ``as_*`` helpers, ``attribute`` and ``method`` turn a student's
value into what a suite may use (an int, a shape, a list, a handle, a
method) or fail the test with a message; ``expect_variable``,
``expect_traced`` and ``expect_spec`` check the real TensorFlow type by
its behaviour.
"""

from grader.harness.assertions import (
    Mismatch,
    as_array,
    as_float,
    as_int,
    as_list,
    as_object,
    as_shape,
    as_text,
    attribute,
    expect,
    expect_close,
    expect_equal,
    method,
)
from grader.harness.behaviour import expect_spec, expect_traced, expect_variable
from grader.harness.marks import grade
from grader.harness.proxy import Remote, StudentError

__all__ = [
    "Mismatch",
    "Remote",
    "StudentError",
    "as_array",
    "as_float",
    "as_int",
    "as_list",
    "as_object",
    "as_shape",
    "as_text",
    "attribute",
    "expect",
    "expect_close",
    "expect_equal",
    "expect_spec",
    "expect_traced",
    "expect_variable",
    "grade",
    "method",
]
