"""An assignment's public checks as released to students: ``test_public.py``
(the public suite) and ``check.toml`` (name, notebook, graded functions,
limits, the course's TensorFlow and Keras pins, the grader version that
released it), both in ``assignments/NN_name/``.

``grader release`` writes them from ``solutions/NN_name/``; ``grader check``
reads them from a student's copy of that folder and nothing else. The
public suite is the instructor's ``solutions/NN_name/test_public.py``,
copied verbatim, so it may hold nothing a student may not read: its
expected values are literals (or properties), never the reference
solution. Release refuses one that asks for the ``reference`` fixture or
imports anything but the harness and the course's libraries.
"""

from __future__ import annotations

import ast
import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from grader import config, jsontext
from grader.assignments import PUBLIC_SUITE
from grader.errors import ConfigError
from grader.sandbox.host.limits import Limits

CHECK_CONFIG = "check.toml"
PINNED = ("tensorflow", "keras")
"""the libraries whose version a student's machine is compared with"""
LOCK_NAMES = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "keras": ("keras",)}
"""distributions in requirements.lock that pin each of ``PINNED``"""
ALLOWED_IMPORTS = frozenset(
    {"numpy", "tensorflow", "keras", "math", "os", "tempfile", "pathlib", "grader.harness"}
)
"""what a public suite may import: the harness and what a student has installed"""


@dataclass(frozen=True)
class PublicAssignment:
    """What ``grader check`` knows of an assignment: its released folder."""

    name: str
    title: str
    notebook: str
    folder: Path
    exercises: tuple[str, ...]
    """graded functions and classes, in notebook order"""
    limits: Limits
    pins: dict[str, str]
    """library -> the version the course pins (``PINNED``)"""
    grader_version: str = ""
    """the grader that released it ("" in a folder released before it was recorded)"""

    @property
    def suite(self) -> Path:
        return self.folder / PUBLIC_SUITE


def marked_exercises(source: str, where: str) -> list[str]:
    """The ``exercise=`` of every ``@grade(...)`` in a suite, as written."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ConfigError(f"{where}, line {err.lineno}: not valid Python: {err.msg}") from None
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "grade":
            for keyword in node.keywords:
                if keyword.arg == "exercise" and isinstance(keyword.value, ast.Constant):
                    found.append(str(keyword.value.value))
    return found


def check_suite(source: str, where: str, exercises: tuple[str, ...]) -> None:
    """Refuse a public suite that would publish what must stay hidden: a test
    or fixture asking for ``reference``, an import of anything but
    ``ALLOWED_IMPORTS`` (a helper module from solutions/ included), or an
    exercise the notebook does not define."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
            if "reference" in arguments:
                raise ConfigError(
                    f"{where}, line {node.lineno}: {node.name} asks for `reference`, but public "
                    "checks are released to students without it: write the expected values "
                    "as literals, or check properties"
                )
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            modules = ["." * node.level + (node.module or "")]
        for module in modules:
            if not any(module == a or module.startswith(a + ".") for a in ALLOWED_IMPORTS):
                allowed = ", ".join(sorted(ALLOWED_IMPORTS))
                raise ConfigError(
                    f"{where}, line {node.lineno}: imports {module}, but a public suite is "
                    f"released alone and may import only {allowed}"
                )
    for exercise in marked_exercises(source, where):
        if exercise not in exercises:
            raise ConfigError(
                f"{where}: @grade(exercise={exercise!r}): expected a graded function of the "
                f"solution notebook ({', '.join(exercises)})"
            )


def course_pins(lock: Path) -> dict[str, str]:
    """The versions ``requirements.lock`` pins for ``PINNED`` ({} without a lock)."""
    if not lock.is_file():
        return {}
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        for library, names in LOCK_NAMES.items():
            if requirement.name in names and exact:
                pins.setdefault(library, exact[0])
    return pins


def _toml_value(value: object) -> str:
    """A str, number or list of str as TOML (JSON's escapes are TOML's)."""
    return jsontext.dumps(value)


NOT_RELEASED = frozenset({"data", "call_timeout_multiple", "call_timeout_floor"})
"""limits ``check.toml`` leaves out: the course's data folder (released apart),
and relative deadlines (a check has no reference solution to measure: its
calls get ``call_timeout``)"""


def config_text(assignment: PublicAssignment) -> str:
    """``check.toml`` for an assignment."""
    limits = {
        f.name: getattr(assignment.limits, f.name)
        for f in dataclasses.fields(Limits)
        if f.name not in NOT_RELEASED and getattr(assignment.limits, f.name) is not None
    }
    lines = [
        f"# Written by `grader release {assignment.name}`: what `grader check` needs to run",
        f"# this assignment's public checks ({PUBLIC_SUITE}). Do not edit it.",
        f"assignment = {_toml_value(assignment.name)}",
        f"title = {_toml_value(assignment.title)}",
        f"notebook = {_toml_value(assignment.notebook)}",
        f"grader_version = {_toml_value(assignment.grader_version)}",
        f"exercises = {_toml_value(list(assignment.exercises))}",
        "",
        "[limits]",
        *(f"{name} = {_toml_value(value)}" for name, value in limits.items()),
        "",
        "[pins]",
        *(f"{name} = {_toml_value(version)}" for name, version in assignment.pins.items()),
    ]
    return "\n".join(lines) + "\n"


def load(folder: Path) -> PublicAssignment:
    """Read ``folder/check.toml`` (a released assignment folder), every value checked."""
    path = folder / CHECK_CONFIG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(
            f"{path} cannot be read ({err}): copy it again from the course's assignments folder"
        ) from None
    texts = {key: raw.get(key) for key in ("assignment", "title", "notebook")}
    exercises = raw.get("exercises")
    pins = raw.get("pins", {})
    grader_version = raw.get("grader_version", "")
    if (
        not all(isinstance(v, str) and v for v in texts.values())
        or not isinstance(grader_version, str)
        or not isinstance(exercises, list)
        or not all(isinstance(e, str) for e in exercises)
        or not isinstance(pins, dict)
        or not all(isinstance(v, str) for v in pins.values())
    ):
        raise ConfigError(
            f"{path} is not what `grader release` writes: copy it again from the course's "
            "assignments folder"
        )
    return PublicAssignment(
        name=str(texts["assignment"]),
        title=str(texts["title"]),
        notebook=str(texts["notebook"]),
        folder=folder,
        exercises=tuple(exercises),
        limits=_limits(path, raw.get(config.LIMITS, {})),
        pins={str(k): str(v) for k, v in pins.items()},
        grader_version=grader_version,
    )


def _limits(path: Path, table: object) -> Limits:
    """The ``[limits]`` table, each key parsed as ``assignment.toml``'s is."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [limits] must be a table")
    kinds = {k.short: k for k in config.KEYS if k.table == config.LIMITS}
    values: dict[str, Any] = {}
    for name, value in table.items():
        key = kinds.get(name)
        if key is None:
            raise ConfigError(f"{path}: unknown key [limits] {name}")
        try:
            values[name] = key.kind.parse(value)
        except config._Wrong:  # the kinds' own "not this kind" signal
            raise ConfigError(
                f"{path}: [limits] {name} = {value!r}: expected {key.kind.describe()}"
            ) from None
    return Limits(**values)
