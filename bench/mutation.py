"""Measure a hidden suite's strength by mutation: mutate the reference
solution (flip an operator, change a constant or an axis, drop a statement,
swap two arguments), grade every mutant through the real grader, and count
the mutants that still score full marks.

    python bench/mutation.py [ASSIGNMENT ...] [--limit N] [--jobs 2] [--show]

Only code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is
mutated. A surviving mutant is either a gap in the suite or an equivalent
mutant (same behaviour); ``--show`` lists them so a person can tell which.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader import assignments  # noqa: E402
from grader.release import BEGIN, END  # noqa: E402

_FLIPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.Lt: ast.GtE,
    ast.LtE: ast.Gt,
    ast.Gt: ast.LtE,
    ast.GtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclass(frozen=True)
class Mutant:
    cell: int
    """index of the code cell in the notebook"""
    line: int
    description: str
    source: str
    """the whole cell's mutated source"""


def solution_lines(source: str) -> set[int]:
    """1-based line numbers inside solution regions."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _sites(tree: ast.AST, lines: set[int]) -> Iterator[tuple[ast.AST, str]]:
    """Each node worth mutating, with the kind of mutation."""
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) not in lines:
            continue
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _FLIPS:
            yield node, "operator"
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in _FLIPS:
            yield node, "comparison"
        elif isinstance(node, ast.BoolOp):
            yield node, "boolean"
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            yield node, "constant"
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            yield node, "flag"
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            yield node, "swap"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield node, "sign"
    for parent in ast.walk(tree):
        for field in ("body", "orelse"):
            block = getattr(parent, field, None)
            if isinstance(block, list) and len(block) > 1:
                for statement in block:
                    if getattr(statement, "lineno", None) in lines:
                        yield statement, "drop"


def _apply(node: ast.AST, kind: str) -> str:
    """Mutate ``node`` in place; return what was done."""
    if kind in ("operator", "boolean"):
        old = type(node.op).__name__  # type: ignore[attr-defined]
        node.op = _FLIPS[type(node.op)]()  # type: ignore[attr-defined]
        return f"{old} -> {type(node.op).__name__}"  # type: ignore[attr-defined]
    if kind == "comparison":
        old = type(node.ops[0]).__name__  # type: ignore[attr-defined]
        node.ops[0] = _FLIPS[type(node.ops[0])]()  # type: ignore[attr-defined]
        return f"{old} -> {type(node.ops[0]).__name__}"  # type: ignore[attr-defined]
    if kind == "constant":
        old = node.value  # type: ignore[attr-defined]
        node.value = old + 1 if old in (0, -1) or isinstance(old, int) else old * 2  # type: ignore[attr-defined]
        return f"{old!r} -> {node.value!r}"  # type: ignore[attr-defined]
    if kind == "flag":
        node.value = not node.value  # type: ignore[attr-defined]
        return f"{not node.value} -> {node.value}"  # type: ignore[attr-defined]
    if kind == "swap":
        args = node.args  # type: ignore[attr-defined]
        args[0], args[1] = args[1], args[0]
        return "swap first two arguments"
    if kind == "sign":
        return "drop unary minus"
    return "drop statement"


def mutants(source: str, cell: int) -> Iterator[Mutant]:
    lines = solution_lines(source)
    if not lines:
        return
    tree = ast.parse(source)
    sites = list(_sites(tree, lines))
    for index, (_, kind) in enumerate(sites):
        mutated = copy.deepcopy(tree)
        node, _ = list(_sites(mutated, lines))[index]
        line = getattr(node, "lineno", 0)
        if kind == "drop":
            _replace(mutated, node, ast.Pass())
            what = "drop statement"
        elif kind == "sign":
            _replace(mutated, node, node.operand)  # type: ignore[attr-defined]
            what = "drop unary minus"
        else:
            what = _apply(node, kind)
        try:
            text = ast.unparse(ast.fix_missing_locations(mutated))
        except (ValueError, TypeError):
            continue
        yield Mutant(cell, line, f"{kind}: {what}", text)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list) and old in value:
                value[value.index(old)] = new
                return
            if value is old:
                setattr(parent, field, new)
                return


def run(name: str, *, limit: int | None, jobs: int, show: bool, seed: int) -> tuple[int, int]:
    assignment = assignments.load(REPO, name)
    notebook = nbformat.read(assignment.solution_notebook, as_version=4)
    found = [
        m
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for m in mutants(cell.source, i)
    ]
    if limit is not None and len(found) > limit:
        found = random.Random(seed).sample(found, limit)
    with tempfile.TemporaryDirectory(prefix="tfgrade-mutants-") as scratch:
        folder = Path(scratch) / "class"
        folder.mkdir()
        for number, mutant in enumerate(found):
            copy_ = copy.deepcopy(notebook)
            copy_.cells[mutant.cell].source = mutant.source
            nbformat.write(copy_, folder / f"m{number:04d}.ipynb")
        command = [sys.executable, "-m", "grader", "--root", str(REPO), "grade", name]
        command += [str(folder), "--out", f"{scratch}/out", "--jobs", str(jobs)]
        done = subprocess.run(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        if done.returncode not in (0, 1):  # 1: some mutant hit a suite bug, reported below
            raise SystemExit(f"grading the mutants failed:\n{done.stderr}")
        internal = done.stderr.count("internal error grading")
        survivors = []
        for number, mutant in enumerate(found):
            result = json.loads(
                Path(f"{scratch}/out/{name}/m{number:04d}/results.json").read_text()
            )
            if result["score"] >= result["max_score"]:
                survivors.append(mutant)
    caught = len(found) - len(survivors)
    percent = 100 * caught / len(found) if found else 100.0
    print(f"{name}: {caught}/{len(found)} mutants caught ({percent:.1f}%)", flush=True)
    if internal:
        print(f"  {internal} mutants hit an internal error in the suite (counted as caught):")
        print("  make the suite robust to them; see `grader grade` on one mutant for details")
    if show:
        for mutant in survivors:
            cell_number = mutant.cell + 1
            print(f"  survived: cell {cell_number}, line {mutant.line}: {mutant.description}")
    return caught, len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: all")
    parser.add_argument(
        "--limit", type=int, help="grade at most N mutants per assignment (sampled)"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", action="store_true", help="list the surviving mutants")
    options = parser.parse_args()
    for name in options.assignments or assignments.names(REPO):
        run(name, limit=options.limit, jobs=options.jobs, show=options.show, seed=options.seed)


if __name__ == "__main__":
    main()
