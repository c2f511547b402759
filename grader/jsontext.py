"""Every JSON file the grader writes, as RFC 8259 JSON.

Python's ``json`` writes ``NaN`` and ``Infinity`` by default, which no
strict parser accepts (Gradescope's rejects the whole results.json, and
SQLite's ``json_valid`` says 0). A student's curve or comparison can hold
such values, so each non-finite float is written as the string
``"nan"``, ``"inf"`` or ``"-inf"``: what ``Comparison`` previews already
use, and what ``float()`` reads back.
"""

from __future__ import annotations

import json
import math
from typing import Any

NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
"""how each non-finite float is written"""


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """``value`` as strict JSON, non-finite floats as the strings of ``NON_FINITE``."""
    return json.dumps(finite(value), indent=indent, sort_keys=sort_keys, allow_nan=False)


def finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its string."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _name(value)
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def number(value: float | str) -> float:
    """A float written by ``dumps`` (a number, or one of ``NON_FINITE``'s strings)."""
    return NON_FINITE[value] if isinstance(value, str) else float(value)


def _name(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return "inf" if value > 0 else "-inf"
