"""Student ids: what a file or folder name becomes once it is used as a
path component, a gradebook key, a CSV cell and a console word.

File names are the student's to choose, so every byte is hostile: names
that are not UTF-8, control characters (a ``\\r`` or ``\\n`` that forges a
CSV row or a console line), separators that split a CSV row in another
locale, or a name equal to a file the class writes (``index.html``). An id
keeps letters, digits and ``_ - . @ +`` and space, and percent-encodes every
other byte (``%`` included), so different names never share an id; a name
equal to a class file has its dots encoded too.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata

from grader.outdir import CLASS_FILES

MAX_ID_LENGTH = 100
_SAFE_PUNCTUATION = frozenset("_-.@+ ")


def student_id(name: str) -> str:
    """The id for a submission named ``name`` (a file stem or a folder name,
    possibly holding surrogates for bytes that are not UTF-8)."""
    raw = os.fsencode(name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and text == text.strip() and all(_safe(c) for c in text):
        encoded = text
    else:
        encoded = "".join(_encode(c) for c in raw.decode("utf-8", "surrogateescape"))
    if not encoded:
        encoded = "%"
    if encoded.lower() in CLASS_FILES:  # compared case-insensitively
        encoded = encoded.replace(".", "%2E") if "." in encoded else f"%{encoded}"
    if len(encoded) > MAX_ID_LENGTH:
        digest = hashlib.sha256(raw).hexdigest()[:10]
        encoded = f"{encoded[: MAX_ID_LENGTH - 12]}~{digest}"
    return encoded


def shown(name: str) -> str:
    """A file name as a message may quote it: bytes that are not UTF-8 as
    ``\\xff``, control characters escaped, so the text is safe to store,
    print and render."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _safe(char: str) -> bool:
    return char in _SAFE_PUNCTUATION or unicodedata.category(char)[0] in "LN"


def _encode(char: str) -> str:
    if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that was not UTF-8, kept as a surrogate
        return f"%{ord(char) - 0xDC00:02X}"
    if _safe(char) and char != " ":
        return char
    return "".join(f"%{b:02X}" for b in char.encode("utf-8"))
