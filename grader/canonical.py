"""Python cells in a canonical form for ``grader similarity``.

Padding a copy with statements that do nothing (``_r1 = 1`` after every
line) breaks every k-gram while the copy still grades the same, so before
fingerprinting each cell is parsed and written back by ``ast.unparse``:
statements without effect, and assignments of plain values to names the
submission never reads, are dropped; spacing, parentheses and quoting come
out one way. Each canonical line keeps the source lines it came from, so
matches are shown on the student's own text.

Student cells are hostile: one that is too large or not valid Python is
kept as written, line by line, never a traceback. A statement holding an
expression nested too deeply is dropped and counted as doing nothing, not
the whole cell kept as written, which would keep its padding too.
"""

from __future__ import annotations

import ast
import collections
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_CELL_CHARS = 100_000
"""a cell longer than this is not parsed (kept as written)"""
MAX_EXPRESSION_DEPTH = 50
"""nesting an expression may reach before its statement is dropped: the
transformation and ``ast.unparse`` recurse once per level (statements
themselves nest at most 100 deep, Python's own limit on indentation)"""
_PASSES = 5
"""rounds of dropping: a dropped branch may hold the only read of a name"""
_PURE_CALLS = frozenset(
    {"abs", "bool", "dict", "float", "int", "len", "list", "max", "min", "range", "repr"}
    | {"round", "set", "sorted", "str", "sum", "tuple", "type"}
)
"""builtins whose call on plain values has no effect (unless the submission rebinds them)"""


@dataclass(frozen=True)
class Line:
    """One canonical line and the source lines it stands for."""

    text: str
    first: int
    """first source line (1-based) of the statement it came from"""
    last: int


@dataclass(frozen=True)
class Cell:
    """One cell's canonical lines, and what was dropped from it."""

    lines: tuple[Line, ...]
    statements: int
    """statements in the cell as written, docstrings and ``pass`` aside
    (0 when it is kept as written)"""
    dropped: int
    """of those, statements without effect that were removed"""

    @property
    def text(self) -> str:
        return "".join(line.text + "\n" for line in self.lines)


def canonical(sources: Sequence[str]) -> list[Cell]:
    """The canonical form of one submission's cells (they share one
    namespace, so a name counts as read if any cell reads it)."""
    trees = [_parse(source) for source in sources]
    counts = [_count(tree) for tree in trees]
    for tree in trees:
        if tree:
            _prune(tree)
    rebound = {n for tree in trees if tree for n in _stored(tree)} & _PURE_CALLS
    for _ in range(_PASSES):
        dropper = _Dropper(_live([t for t in trees if t], rebound), rebound)
        trees = [dropper.visit(tree) if tree else None for tree in trees]
        if not dropper.changed:
            break
    cells: list[Cell] = []
    for source, tree, count in zip(sources, trees, counts, strict=True):
        lines = _lines(tree) if tree else None
        if lines is None:
            raw = [
                Line(text.rstrip("\r\n"), n, n) for n, text in enumerate(source_lines(source), 1)
            ]
            cells.append(Cell(_kept(raw), 0, 0))
        else:
            cells.append(Cell(_kept(lines), count, count - _count(tree)))
    return cells


def source_lines(source: str) -> list[str]:
    """A cell's lines with their ends, split where Python's parser splits them."""
    return re.findall(r".*?(?:\r\n|\r|\n)|.+\Z", source, flags=re.DOTALL)


def _kept(lines: list[Line]) -> tuple[Line, ...]:
    return tuple(line for line in lines if line.text.strip())


def _parse(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None when it must be kept as written."""
    if len(source) > MAX_CELL_CHARS:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree


def _prune(tree: ast.Module) -> None:
    """Replace by ``pass`` each statement holding an expression nested over
    ``MAX_EXPRESSION_DEPTH`` deep, walking without recursion."""
    stack: list[tuple[ast.AST, ast.stmt | None, int]] = [(tree, None, 0)]
    deep: list[ast.stmt] = []
    while stack:
        node, statement, depth = stack.pop()
        if isinstance(node, ast.stmt):
            statement, depth = node, 0
        elif depth > MAX_EXPRESSION_DEPTH and statement is not None:
            deep.append(statement)
            continue
        stack.extend((child, statement, depth + 1) for child in ast.iter_child_nodes(node))
    too_deep = {id(s) for s in deep}
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and any(id(s) in too_deep for s in body):
                setattr(
                    node,
                    field,
                    [ast.copy_location(ast.Pass(), s) if id(s) in too_deep else s for s in body],
                )


def _statements(tree: ast.AST) -> Iterable[ast.stmt]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.stmt))


def _count(tree: ast.Module | None) -> int:
    """Statements, docstrings and ``pass`` aside (honest code has them)."""
    if tree is None:
        return 0
    docstrings = {
        id(node.body[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    return sum(
        1 for s in _statements(tree) if not isinstance(s, ast.Pass) and id(s) not in docstrings
    )


def _live(trees: list[ast.Module], rebound: set[str]) -> set[str]:
    """Names whose value may matter: read anywhere but in a store of a plain
    value, or read by such a store to a name that matters (so a chain of
    padding, ``_r2 = _r1`` after ``_r1 = 1``, is dead from end to end).
    Names declared ``global`` or ``nonlocal`` count, as another scope may
    read them; so do class bodies' names, read as attributes."""
    feeds: dict[str, set[str]] = collections.defaultdict(set)
    inside: set[int] = set()
    in_class = {
        id(s) for t in trees for c in ast.walk(t) if isinstance(c, ast.ClassDef) for s in c.body
    }
    for tree in trees:
        for node in ast.walk(tree):
            targets = _plain_store(node, rebound)
            if targets is None or id(node) in in_class:
                continue
            names = [n for n in ast.walk(node) if isinstance(n, ast.Name)]
            inside.update(id(n) for n in names)
            read = {n.id for n in names if not isinstance(n.ctx, ast.Store)}
            if isinstance(node, ast.AugAssign):
                read |= set(targets)
            for target in targets:
                feeds[target] |= read
    live: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
                if id(node) not in inside:
                    live.add(node.id)
            elif isinstance(node, ast.Global | ast.Nonlocal):
                live.update(node.names)
    work = list(live)
    while work:
        for name in feeds.get(work.pop(), ()):
            if name not in live:
                live.add(name)
                work.append(name)
    return live


def _plain_store(node: ast.AST, rebound: set[str]) -> list[str] | None:
    """The names a statement stores a plain value in, or None if it is not
    such a statement (its targets are not all names, or its value may act)."""
    if not isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        return None
    if node.value is not None and not _pure(node.value, rebound):
        return None
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names: list[str] = []
    for target in targets:
        parts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
        if not all(isinstance(p, ast.Name) for p in parts):
            return None
        names += [p.id for p in parts if isinstance(p, ast.Name)]
    return names


def _pure(node: ast.expr, rebound: set[str]) -> bool:
    """Whether evaluating ``node`` can do nothing but make a value."""
    for part in ast.walk(node):
        if isinstance(part, ast.Call):
            func = part.func
            if not (
                isinstance(func, ast.Name) and func.id in _PURE_CALLS and func.id not in rebound
            ):
                return False
        elif isinstance(part, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr):
            return False
    return True


def _stored(tree: ast.AST) -> set[str]:
    names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    defined = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    return names | {n.name for n in ast.walk(tree) if isinstance(n, defined)}


class _Dropper(ast.NodeTransformer):
    """Removes statements without effect from every statement list."""

    def __init__(self, live: set[str], rebound: set[str]) -> None:
        self.live = live
        self.rebound = rebound
        self.changed = False

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or not all(isinstance(s, ast.stmt) for s in body):
                continue
            in_class = isinstance(node, ast.ClassDef)  # its names are read as attributes
            kept = list(itertools.chain.from_iterable(self._keep(s, in_class) for s in body))
            last = body[-1] if isinstance(node, ast.Module) and body else None
            shown = isinstance(last, ast.Expr) and not isinstance(last.value, ast.Constant)
            if last and shown and (not kept or kept[-1] is not last):
                kept.append(last)  # Jupyter shows the value of a cell's last expression
            if len(kept) != len(body) or any(a is not b for a, b in zip(kept, body, strict=False)):
                self.changed = True
            if not kept and body and _needs(node, field):
                kept = [ast.copy_location(ast.Pass(), body[0])]
            setattr(node, field, kept)
        return node

    def _keep(self, node: ast.stmt, in_class: bool) -> list[ast.stmt]:
        """What stands for ``node``: itself, nothing, or the branch that runs."""
        if isinstance(node, ast.Pass):
            return []
        if isinstance(node, ast.Expr) and _pure(node.value, self.rebound):
            return []
        targets = None if in_class else _plain_store(node, self.rebound)
        if targets is not None and not set(targets) & self.live:
            return []
        if isinstance(node, ast.Assert) and _constant(node.test) is True:
            return []
        if isinstance(node, ast.If) and (test := _constant(node.test)) is not None:
            return node.body if test else node.orelse
        if isinstance(node, ast.While) and _constant(node.test) is False:
            return node.orelse
        return [node]


def _needs(node: ast.AST, field: str) -> bool:
    """Whether a statement list may not be left empty."""
    if field == "body":
        return not isinstance(node, ast.Module)
    bare_try = isinstance(node, ast.Try | ast.TryStar) and not node.handlers
    return field == "finalbody" and bare_try


def _constant(test: ast.expr) -> bool | None:
    """The truth of a test that is a plain constant, else None."""
    return bool(test.value) if isinstance(test, ast.Constant) else None


def _lines(tree: ast.Module) -> list[Line] | None:
    """``tree`` written back, each line with the source lines it came from:
    the written text is parsed again, and its statements paired with the
    tree's in walk order (the two trees have one shape)."""
    try:
        text = ast.unparse(tree)
        again = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = text.splitlines()
    origin: dict[int, tuple[int, int]] = {}
    for old, new in zip(_statements(tree), _statements(again), strict=False):
        compound = isinstance(getattr(old, "body", None), list)
        header = (old.lineno, old.lineno if compound else (old.end_lineno or old.lineno))
        for number in range(new.lineno, (new.end_lineno or new.lineno) + 1):
            origin[number] = header  # a statement inside overwrites its block's header
    return [
        Line(text, *origin[number])
        for number, text in enumerate(lines, start=1)
        if number in origin
    ]
