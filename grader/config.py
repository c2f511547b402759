"""``assignment.toml`` read with every key typed and checked (the hidden
suite's ``@grade`` marks are, at collection: ``grader.harness.marks``), so
that a course mistake stops the grader before any submission is graded,
with one line naming the file, the key and what was expected
(``ConfigError``, exit status 2).

Why a table of keys here and not jsonschema (installed with nbformat):
memory sizes and durations may carry units ("768M", "90s"), which have to be
parsed into numbers anyway, and a schema's messages ("'768M' is not valid
under any of the given schemas") do not say which unit or range was
expected. One table checks, converts and documents each key; the table of
keys in docs/instructors/assignment-toml.md is tested against it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from grader import jsontext
from grader.errors import ConfigError
from grader.policy.deadlines import NO_LATE_POLICY, LatePolicy
from grader.sandbox.host.limits import Limits

LIMITS = "limits"
"""the table of sandbox limits; its keys are ``Limits``'s fields"""
DAY = 86400.0
_BINARY = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_DECIMAL = re.compile(r"[kmgt]b", re.IGNORECASE)
""""MB" and the like: 1000s to some, 1024s to others, so refused by name"""
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_QUANTITY = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*")


class _Wrong(Exception):
    """A value is not what its key takes (the key's description says what is,
    and ``why``, when given, what in it is wrong)."""

    def __init__(self, why: str = "") -> None:
        super().__init__(why)
        self.why = why


class Kind(Protocol):
    """What a key takes: checks and converts a TOML value."""

    def describe(self) -> str: ...

    def parse(self, value: object) -> object: ...


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Wrong
    return float(value)


@dataclass(frozen=True)
class Text:
    def describe(self) -> str:
        return "text, not empty"

    def parse(self, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _Wrong
        return value


@dataclass(frozen=True)
class NotebookName:
    def describe(self) -> str:
        return 'a file name ending in `.ipynb`, beside `assignment.toml` ("01_tensors.ipynb")'

    def parse(self, value: object) -> str:
        if not isinstance(value, str) or not value.endswith(".ipynb") or Path(value).name != value:
            raise _Wrong
        return value


@dataclass(frozen=True)
class Moment:
    def describe(self) -> str:
        return "a TOML date and time (2026-12-01T23:59:00Z; without an offset it is UTC)"

    def parse(self, value: object) -> dt.datetime:
        if not isinstance(value, dt.datetime):
            raise _Wrong
        return value


@dataclass(frozen=True)
class LatePolicyText:
    def describe(self) -> str:
        return (
            '"none", "zero" (no points after the deadline), or a percent per started day or '
            'hour ("10% per day", "2% per hour")'
        )

    def parse(self, value: object) -> LatePolicy:
        policy = LatePolicy.parse_kind(value) if isinstance(value, str) else None
        if policy is None:
            raise _Wrong
        return policy


@dataclass(frozen=True)
class Folder:
    def describe(self) -> str:
        return "a folder, relative to the course folder (`--root`) or absolute"

    def parse(self, value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _Wrong
        return value


@dataclass(frozen=True)
class Count:
    low: int
    high: int

    def describe(self) -> str:
        return f"a whole number from {self.low} to {self.high}"

    def parse(self, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Wrong
        if not self.low <= value <= self.high:
            raise _Wrong
        return value


@dataclass(frozen=True)
class Fraction:
    """A number (not a whole one necessarily) in a range, such as cores."""

    low: float
    high: float

    def describe(self) -> str:
        return f"a number from {self.low:g} to {self.high:g}"

    def parse(self, value: object) -> float:
        number = _number(value)
        if not self.low <= number <= self.high:
            raise _Wrong
        return number


@dataclass(frozen=True)
class Duration:
    """Seconds, as a number or as text with a unit."""

    low: float
    high: float

    def describe(self) -> str:
        return (
            f'seconds: a number (5, 2.5) or text with a unit ("500ms", "90s", "2m", "1h"); '
            f"from {self.low:g} s to {self.high:g} s"
        )

    def parse(self, value: object) -> float:
        if isinstance(value, str):
            match = _QUANTITY.fullmatch(value)
            unit = match.group(2).lower() if match else ""
            if match is None or unit not in _SECONDS:  # a bare "3" is refused: say the unit
                raise _Wrong
            seconds = float(match.group(1)) * _SECONDS[unit]
        else:
            seconds = _number(value)
        if not self.low <= seconds <= self.high:
            raise _Wrong
        return seconds


@dataclass(frozen=True)
class Size:
    """A size in ``unit`` (KiB or MiB), as a whole number or as text with a unit."""

    unit: str
    low: int
    high: int

    def describe(self) -> str:
        example = '"64K", "1M"' if self.unit == "K" else '"768M", "2G"'
        return (
            f"{self.unit}iB: a whole number or text with a unit ({example}; K, M, G, T, or "
            f"KiB, MiB, GiB, TiB, count in 1024s); from {self.low} to {self.high}"
        )

    def parse(self, value: object) -> int:
        if isinstance(value, str):
            match = _QUANTITY.fullmatch(value)
            written = match.group(2) if match else ""
            if match and _DECIMAL.fullmatch(written):
                number, letter = match.group(1), written[0].upper()
                raise _Wrong(
                    f"{written} means 1000s to some and 1024s to others: write "
                    f'"{number}{letter}" or "{number}{letter}iB" (1024s)'
                )
            unit = written.lower().removesuffix("ib")
            if match is None or not unit or unit not in _BINARY:
                raise _Wrong
            amount = float(match.group(1)) * _BINARY[unit] / _BINARY[self.unit.lower()]
        elif isinstance(value, int) and not isinstance(value, bool):
            amount = float(value)
        else:
            raise _Wrong
        if not amount.is_integer() or not self.low <= amount <= self.high:
            raise _Wrong
        return int(amount)


@dataclass(frozen=True)
class Key:
    """One key of ``assignment.toml``."""

    name: str
    """as written in the file: ``title``, or ``limits.memory_mb`` for the table"""
    kind: Kind
    doc: str
    required: bool = False

    @property
    def table(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def short(self) -> str:
        return self.name.rpartition(".")[2]

    @property
    def shown(self) -> str:
        """How a message names it: ``title`` or ``[limits] memory_mb``."""
        return f"[{self.table}] {self.short}" if self.table else self.short


KEYS: tuple[Key, ...] = (
    Key("title", Text(), "the assignment's title, shown in reports", required=True),
    Key("notebook", NotebookName(), "the notebook students submit", required=True),
    Key("due", Moment(), "the due date; tests with `after_due_date` visibility wait for it"),
    Key(
        "opens",
        Moment(),
        "when students get the assignment; a manifest time before it gets a warning",
    ),
    Key(
        "late_policy",
        LatePolicyText(),
        "what a submission after `due` (or the student's extension) loses; needs `due`",
    ),
    Key(
        "late_grace",
        Duration(0.0, 30 * DAY),
        "time after the deadline that still counts as on time (when not set: 0)",
    ),
    Key(
        "late_floor",
        Fraction(0.0, 100.0),
        "percent of the score a late submission keeps at least, for a percent policy "
        "(when not set: 0)",
    ),
    Key(
        "lms_id",
        Text(),
        "the assignment's id in the LMS: `grader export canvas` names its column "
        "`Title (lms_id)`, so Canvas updates that assignment",
    ),
    Key(
        "data",
        Folder(),
        "course data the sandbox may read: each entry appears in `~/.keras/datasets` "
        "(read-only), so Keras's dataset loaders find it; nothing is downloaded during grading",
    ),
    Key(
        "limits.call_timeout",
        Duration(0.1, DAY),
        "one call into student code (loading the cells counts as one call); a function that "
        "runs out of it is not called again in that submission: later tests that call it "
        "get TIMEOUT at once",
    ),
    Key(
        "limits.call_timeout_multiple",
        Fraction(1.0, 1000.0),
        "when set, one call may take this many times the reference solution's time on the "
        "same test (measured once per suite version), at least `call_timeout_floor`; "
        "`call_timeout` stays the ceiling",
    ),
    Key(
        "limits.call_timeout_floor",
        Duration(0.1, DAY),
        "the shortest deadline `call_timeout_multiple` gives a call",
    ),
    Key("limits.load_timeout", Duration(0.1, DAY), "running the notebook's cells"),
    Key(
        "limits.total_timeout",
        Duration(0.1, DAY),
        "all of a submission's calls together; at least `call_timeout`",
    ),
    Key(
        "limits.cpu_time",
        Duration(1.0, 7 * DAY),
        "CPU time of one sandbox process (when not set: twice `total_timeout`, plus 10 s)",
    ),
    Key(
        "limits.memory_mb",
        Size("M", 256, 2**20),
        "memory of the sandbox and every process it starts (a cgroup)",
    ),
    Key(
        "limits.max_processes",
        Count(16, 65536),
        "processes and threads at once (TensorFlow starts a few per core)",
    ),
    Key("limits.file_mb", Size("M", 1, 2**20), "the largest file the sandbox may write"),
    Key(
        "limits.output_kb",
        Size("K", 1, 2**16),
        "what is kept of the text student code prints, per call",
    ),
    Key(
        "limits.scratch_mb",
        Size("M", 1, 2**20),
        "what the scratch folder may hold (past it the sandbox is stopped)",
    ),
    Key(
        "limits.scratch_files",
        Count(10, 10_000_000),
        "files and folders the scratch folder may hold",
    ),
    Key("limits.cpus", Fraction(0.1, 1024), "cores one sandbox may use (a cgroup CPU quota)"),
    Key(
        "limits.result_mb",
        Size("M", 1, 1024),
        "the largest answer one call into student code may send back, arrays included",
    ),
)


@dataclass(frozen=True)
class AssignmentConfig:
    """What ``assignment.toml`` says, checked."""

    title: str
    notebook: str
    due: dt.datetime | None
    limits: Limits
    """with ``data`` resolved to an absolute folder, when given"""
    late: LatePolicy = NO_LATE_POLICY
    lms_id: str = ""
    opens: dt.datetime | None = None


def load(path: Path, root: Path) -> AssignmentConfig:
    """Read and check ``path``; ``root`` is the course folder ``data`` is relative to."""
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    limits = raw.get(LIMITS, {})
    if not isinstance(limits, dict):
        raise ConfigError(f"{path}: {LIMITS} must be a table: write [{LIMITS}] on its own line")
    given = {k: v for k, v in raw.items() if k != LIMITS}
    given.update({f"{LIMITS}.{k}": v for k, v in limits.items()})
    _refuse_unknown(path, given)
    values: dict[str, Any] = {}
    for key in KEYS:
        if key.name not in given:
            if key.required:
                raise ConfigError(f"{path}: missing {key.shown}: expected {key.kind.describe()}")
            continue
        value = given[key.name]
        try:
            values[key.name] = key.kind.parse(value)
        except _Wrong as wrong:
            raise ConfigError(
                f"{path}: {key.shown} = {_toml(value)}: "
                + (wrong.why or f"expected {key.kind.describe()}")
            ) from None
    data = _data_folder(path, root, values.get("data"))
    settings = {k.short: values[k.name] for k in KEYS if k.table == LIMITS and k.name in values}
    checked = Limits(**settings, data=data)
    if checked.call_timeout > checked.total_timeout:
        raise ConfigError(
            f"{path}: [limits] call_timeout ({checked.call_timeout:g} s) is longer than "
            f"total_timeout ({checked.total_timeout:g} s), which bounds every call"
        )
    if not (path.parent / values["notebook"]).is_file():
        raise ConfigError(f"{path}: notebook = {_toml(values['notebook'])}: no such file beside it")
    return AssignmentConfig(
        values["title"],
        values["notebook"],
        values.get("due"),
        checked,
        late=_late_policy(path, values),
        lms_id=values.get("lms_id", ""),
        opens=values.get("opens"),
    )


def _late_policy(path: Path, values: Mapping[str, Any]) -> LatePolicy:
    """The policy, refusing a setting it would ignore: ``late_grace`` or
    ``late_floor`` without a policy, a floor under "zero"."""
    policy: LatePolicy = values.get("late_policy", NO_LATE_POLICY)
    if policy.kind != "none" and "due" not in values:
        raise ConfigError(f"{path}: late_policy is set but due is not: add the due date")
    for name in ("late_grace", "late_floor"):
        if name in values and policy.kind == "none":
            stated = 'is "none"' if "late_policy" in values else "is not set"
            raise ConfigError(
                f"{path}: {name} is set but late_policy {stated}, so nothing is taken off "
                f'a late submission: set late_policy ("10% per day", "zero"), or remove {name}'
            )
    if "late_floor" in values and policy.kind == "zero":
        raise ConfigError(
            f'{path}: late_floor is set but late_policy = "zero" takes every point off: '
            'use a percent policy ("10% per day"), or remove late_floor'
        )
    return dataclasses.replace(
        policy, grace=values.get("late_grace", 0.0), floor=values.get("late_floor", 0.0)
    )


def _refuse_unknown(path: Path, given: Mapping[str, object]) -> None:
    known = {key.name for key in KEYS}
    for name in given:
        if name not in known:
            table, _, short = name.rpartition(".")
            where = f"[{table}] {short}" if table else short
            raise ConfigError(f"{path}: unknown key {where}; {_suggestion(table, short)}")


def _suggestion(table: str, short: str) -> str:
    """The key that was probably meant: the same one in another table, or a
    close spelling; otherwise the keys the table has."""
    for key in KEYS:
        if key.short == short:
            return f"it belongs {f'under [{key.table}]' if key.table else 'before any [table]'}"
    close = difflib.get_close_matches(short, [k.short for k in KEYS], n=1)
    if close:
        [key] = [k for k in KEYS if k.short == close[0]]
        return f"did you mean {key.shown}?"
    return "the keys are " + ", ".join(k.shown for k in KEYS if k.table == table)


def _data_folder(path: Path, root: Path, value: str | None) -> str | None:
    if value is None:
        return None
    folder = (root / value).resolve()
    if not folder.is_dir():
        raise ConfigError(f"{path}: data = {_toml(value)}: no such folder ({folder})")
    solutions = (root / "solutions").resolve()
    if folder.is_relative_to(solutions) or solutions.is_relative_to(folder):
        raise ConfigError(
            f"{path}: data = {_toml(value)}: students' code may read it, so it must be a "
            "folder of its own, neither in solutions/ nor holding it"
        )
    return str(folder)


def _toml(value: object) -> str:
    """A value as it could be written in the file, for messages."""
    if isinstance(value, str):
        return jsontext.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    return repr(value)
