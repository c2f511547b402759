"""What a notebook's code defines, and whether it is another assignment's
notebook: one answer for ``grader check``, the Gradescope autograder, the
release and its exporter, so a notebook one of them accepts the others do
not refuse.

Names are read from each cell's syntax tree, never its text: a ``def f``
inside a string defines nothing. A cell is the student's, so it is read
within bounds: one over ``MAX_CELL_CHARS``, or that does not parse (a
syntax error, a cell magic's other language, nesting past the parser's
limits), gives no names and is counted as unread.

What a cell defines is what its top level binds when it runs, in the
module-level ``if``/``try``/``with``/``for``/``while`` blocks too, never
inside a function or class: ``def``, ``async def`` and ``class`` (the
*functions*), and the targets of assignments and imports (with those, the
*names*). An exercise bound by an assignment (``relu = lambda x: ...``,
``from mine import relu``) is defined: the grader calls it by name and it
works. Only functions and classes count as evidence of another assignment,
since every notebook assigns variables.

Another assignment's notebook (``elsewhere``): a notebook that defines
none of this assignment's exercises, or fewer than half of them and more
functions and classes that are not among them. The student's check once
used only the second half and counted names by regular expression; the
autograder used the first half and counted as the other assignment's only
the functions another solution of the course defines. The rule here is
the stricter of the two that both can apply with what they have (a
student's folder holds no other assignment), so the check never passes a
notebook Gradescope refuses. A notebook with an unread cell is not judged:
its syntax error, not a refusal, is what the student needs to see.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

MAX_CELL_CHARS = 100_000
"""a cell longer than this is not parsed (it gives no names)"""
_HEADER = re.compile(r"^(?:async[ \t]+def|def|class)[ \t]+(\w+)", re.MULTILINE)
"""a ``def`` or ``class`` line at the left margin, for a cell that does not parse"""
_BLOCKS = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)
"""statements whose bodies run at the top level when the cell runs"""


@dataclass(frozen=True)
class Definitions:
    """What a notebook's cells define at their top level, in order, each name once."""

    functions: tuple[str, ...]
    """``def``, ``async def`` and ``class``"""
    names: tuple[str, ...]
    """every name bound: the functions, assignments' targets, imports"""
    unread: tuple[int, ...]
    """positions (0-based, among the cells given) of cells too large or not parsed"""


@dataclass(frozen=True)
class Elsewhere:
    """Why a notebook looks like another assignment's."""

    ours: tuple[str, ...]
    """this assignment's exercises it defines"""
    strangers: tuple[str, ...]
    """functions and classes it defines that this assignment does not grade"""
    exercises: int
    """how many exercises this assignment grades"""

    def message(self, file: str, assignment: str) -> str:
        """A sentence for the student naming what the notebook defines."""
        listed = ", ".join(self.ours) if self.ours else "none"
        more = ", ..." if len(self.strangers) > 6 else ""
        besides = f", and {', '.join(self.strangers[:6])}{more}" if self.strangers else ""
        return (
            f"{file} defines {len(self.ours)} of the {self.exercises} functions of "
            f"{assignment} ({listed}){besides}: is it the notebook of another assignment?"
        )


def definitions(sources: Iterable[str]) -> Definitions:
    """What these cells (one notebook's, in order) define."""
    functions: dict[str, None] = {}
    names: dict[str, None] = {}
    unread = []
    for position, source in enumerate(sources):
        tree = _parse(source)
        if tree is None:
            unread.append(position)
            continue
        for statement in _top_level(tree):
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                functions[statement.name] = names[statement.name] = None
            else:
                names.update(dict.fromkeys(_bound(statement)))
    return Definitions(tuple(functions), tuple(names), tuple(unread))


def elsewhere(found: Definitions, exercises: Collection[str]) -> Elsewhere | None:
    """Why the notebook that defines ``found`` looks like another
    assignment's than the one grading ``exercises`` (None when it does not,
    or when a cell was unread)."""
    if found.unread or not exercises:
        return None
    ours = tuple(n for n in found.names if n in exercises)
    strangers = tuple(n for n in found.functions if n not in exercises)
    if ours and (2 * len(ours) >= len(exercises) or len(strangers) <= len(ours)):
        return None
    return Elsewhere(ours, strangers, len(exercises))


def intended(source: str) -> list[str]:
    """The functions and classes a cell that does not parse would have
    defined, by its ``def`` and ``class`` lines at the left margin: a
    guess, to word the advice about that cell, never to decide anything."""
    if len(source) > MAX_CELL_CHARS:
        return []
    return list(dict.fromkeys(_HEADER.findall(source)))


def _parse(source: str) -> ast.Module | None:
    if len(source) > MAX_CELL_CHARS:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements that run when the cell does, blocks' bodies included,
    in source order, walked without recursion (blocks nest 100 deep)."""
    found: list[ast.stmt] = []
    stack = list(reversed(tree.body))
    while stack:
        statement = stack.pop()
        found.append(statement)
        if isinstance(statement, _BLOCKS):
            inner = list(statement.body)
            for handler in getattr(statement, "handlers", []):
                inner.extend(handler.body)
            inner.extend([*getattr(statement, "orelse", []), *getattr(statement, "finalbody", [])])
            stack.extend(reversed(inner))
    return found


def _bound(statement: ast.stmt) -> list[str]:
    """The names an assignment or import binds (others: none)."""
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).partition(".")[0] for a in statement.names if a.name != "*"]
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets = [statement.target]
    else:
        return []
    names = []
    stack = list(reversed(targets))
    while stack:  # ``a, (b, *c) = ...`` binds a, b and c; ``a[0] = ...`` binds nothing
        target = stack.pop()
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, ast.Starred):
            stack.append(target.value)
        elif isinstance(target, ast.Tuple | ast.List):
            stack.extend(reversed(target.elts))
    return names
