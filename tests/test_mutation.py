"""The mutation benchmark mutates only solution regions, one change at a time;
the benchmarks import nothing from the tests (the tests import from them)."""

from __future__ import annotations

import ast

from bench import mutation
from tests.helpers import REPO

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


def test_bench_imports_nothing_from_tests() -> None:
    """tests/ may import bench/ (this module does); the other way would be a cycle."""
    importers = {}
    for script in sorted((REPO / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "tests" for name in names):
                importers[script.name] = names
    assert importers == {}
    assert len(list((REPO / "bench").glob("*.py"))) >= 6  # the scripts were read
