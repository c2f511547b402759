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

Helpers that suites once wrote each for themselves live here too:
``grader.harness.suite`` reads common parts of a student's value (a dict,
a tuple's parts, a shape, a list attribute, a variable's value, a parameter
count, a History and its per-epoch curves) and keeps a module fixture's
failures for the tests that need its values (``keep``, ``kept``);
``grader.harness.layers`` describes a Keras model layer by layer and
compares it with the reference's.
"""

from grader.harness.assertions import (
    as_array,
    as_float,
    as_int,
    as_list,
    as_object,
    as_shape,
    as_text,
    attribute,
    describe,
    expect,
    expect_close,
    expect_equal,
    method,
    not_data,
)
from grader.harness.behaviour import expect_spec, expect_traced, expect_variable
from grader.harness.errors import Mismatch, StudentError
from grader.harness.layers import (
    ACTIVATION_LAYERS,
    LayerRecord,
    activation_of,
    expect_same_activations,
    expect_same_kinds,
    expect_same_params,
    expect_same_shapes,
    first_difference,
    fold,
    inbound_layers,
    layer_kind,
    reference_layers,
    student_layers,
)
from grader.harness.marks import grade
from grader.harness.proxy import Remote
from grader.harness.suite import (
    as_dict,
    as_model,
    as_parts,
    curve,
    expect_stopped_early,
    history_of,
    keep,
    kept,
    list_of,
    parameter_count,
    shape_of,
    tracing_count,
    value_of,
)

__all__ = [
    "ACTIVATION_LAYERS",
    "LayerRecord",
    "Mismatch",
    "Remote",
    "StudentError",
    "activation_of",
    "as_array",
    "as_dict",
    "as_float",
    "as_int",
    "as_list",
    "as_model",
    "as_object",
    "as_parts",
    "as_shape",
    "as_text",
    "attribute",
    "curve",
    "describe",
    "expect",
    "expect_close",
    "expect_equal",
    "expect_same_activations",
    "expect_same_kinds",
    "expect_same_params",
    "expect_same_shapes",
    "expect_spec",
    "expect_stopped_early",
    "expect_traced",
    "expect_variable",
    "first_difference",
    "fold",
    "grade",
    "history_of",
    "inbound_layers",
    "keep",
    "kept",
    "layer_kind",
    "list_of",
    "method",
    "not_data",
    "parameter_count",
    "reference_layers",
    "shape_of",
    "student_layers",
    "tracing_count",
    "value_of",
]
