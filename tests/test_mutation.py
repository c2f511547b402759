"""The mutation benchmark mutates only solution regions, one change at a time."""

from __future__ import annotations

import importlib.util
import sys

from tests.helpers import REPO

spec = importlib.util.spec_from_file_location("mutation", REPO / "bench" / "mutation.py")
assert spec is not None and spec.loader is not None
mutation = importlib.util.module_from_spec(spec)
sys.modules["mutation"] = mutation
spec.loader.exec_module(mutation)

SOURCE = """\
def keep(x):
    return x * 2

def f(x, axis):
    ### BEGIN SOLUTION
    y = x - 1
    return sum(y, axis)
    ### END SOLUTION
"""


def test_only_solution_lines_are_mutated() -> None:
    found = list(mutation.mutants(SOURCE, 0))
    assert {m.line for m in found} == {6, 7}
    assert all("x * 2" in m.source for m in found)


def test_each_kind_of_mutation_is_made() -> None:
    descriptions = {m.description for m in mutation.mutants(SOURCE, 0)}
    assert descriptions == {
        "operator: Sub -> Add",
        "constant: 1 -> 2",
        "swap: swap first two arguments",
        "drop: drop statement",
    }


def test_a_mutant_differs_from_the_original_in_one_place() -> None:
    for mutant in mutation.mutants(SOURCE, 0):
        assert mutant.source != SOURCE
        compile(mutant.source, "<mutant>", "exec")
