"""Text that came from student code, made safe before the trusted side keeps
it: bounded in length, valid UTF-8, control characters shown as escapes,
and the grader's own install paths shortened.

The sandbox bounds what it sends too, but student code runs in the same
interpreter as the sandbox's protocol loop and can change those bounds or
write frames itself, so every bound that matters is applied here, on
arrival.
"""

from __future__ import annotations

import functools
import re
import sys
import sysconfig
from pathlib import Path
from typing import Any

MESSAGE_CHARS = 2000
"""an exception message, a notice"""
CODE_CHARS = 300
"""one line of the student's code quoted in a traceback"""
NAME_CHARS = 120
"""a function name, a type name, a notice kind"""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_HTML = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(17))
    + "]"
)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    """One character as Python writes it in a string: ``\\x1b``, ``\\ud800``."""
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """Untrusted text with control characters (ANSI escapes included) shown
    as ``\\x1b`` instead of acting on a terminal; newlines and tabs kept."""
    return _CONTROL.sub(_escape, text)


def one_line(text: str) -> str:
    """Like ``printable``, with newlines and tabs escaped too: for a console
    line that untrusted text must not split or forge."""
    return _LINE_BREAKS.sub(_escape, text)


def html_safe(text: str) -> str:
    """Text with every character HTML forbids, or UTF-8 cannot encode, shown
    as an escape: control characters, lone surrogates, noncharacters."""
    return _NOT_HTML.sub(_escape, text)


def xml_safe(text: str) -> str:
    """Text with every character XML 1.0 cannot hold shown as an escape."""
    return _NOT_XML.sub(_escape, text)


def received(value: Any, limit: int) -> str:
    """A text field from the sandbox, whatever its type, as safe text of at
    most ``limit`` characters (plus a note when cut)."""
    text = value if isinstance(value, str) else ""
    cut = len(text) - limit
    text = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
    text = printable(shorten_paths(text))
    return f"{text}[... {cut} more characters not kept]" if cut > 0 else text


def shorten_paths(text: str) -> str:
    """The grader's install paths (virtual environment, Python, the package)
    as ``<site-packages>``, ``<python>``, ``<grader>``: students need the
    file, not where the grader is installed."""
    for path, label in _install_paths():
        if path in text:
            text = text.replace(path, label)
    return text


@functools.cache
def _install_paths() -> tuple[tuple[str, str], ...]:
    """Longest first, so a site-packages inside the Python is named as such."""
    paths: dict[str, str] = {}
    for key in ("purelib", "platlib"):
        paths[sysconfig.get_paths()[key]] = "<site-packages>"
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        paths.setdefault(sysconfig.get_paths(vars={"base": prefix})["stdlib"], "<python>")
        paths.setdefault(prefix, "<python>")
    paths[str(Path(__file__).resolve().parents[1])] = "<grader>"
    ordered = sorted(paths.items(), key=lambda item: -len(item[0]))
    return tuple((p, label) for p, label in ordered if len(p) > 1)
