"""Reference results computed once per suite version and reused.

A reference call whose inputs come from fixed seeds gets the same arguments
for every submission; in 03 it trains a model. ``ReferenceData`` runs it
once, keeps the plain data the suite asks for (``pick``), and serves it
again to every later submission and run, from a content-addressed folder
keyed by suite version, TensorFlow and Keras versions (an upgrade can change
every curve), function, label and arguments.

Only plain data is kept: numbers, strings, None, numpy arrays of plain
dtypes and numpy scalars, in lists, tuples and string-keyed dicts. Anything
else (a model, a History) is returned as computed and not kept, so a test
that needs a live reference object still builds one. The folder is written
by the trusted side only, each entry by an atomic rename; it is never in a
sandbox's view.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from grader import jsontext
from grader.files import atomic_write
from grader.harness.errors import NotPlain

_PLAIN_KINDS = "biufcUS"
LIBRARIES = ("tensorflow", "keras")
"""the packages whose versions are part of every key"""


@functools.cache
def library_versions() -> dict[str, str]:
    """``{"tensorflow": "tensorflow-cpu 2.21.0", ...}``: the distribution that
    installed each of ``LIBRARIES`` and its version, read without importing it."""
    installed = importlib.metadata.packages_distributions()
    versions = {}
    for library in LIBRARIES:
        names = sorted(set(installed.get(library, [])))
        versions[library] = "; ".join(f"{n} {importlib.metadata.version(n)}" for n in names)
    return versions


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data that ``decode`` turns back exactly."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": jsontext.finite(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in _PLAIN_KINDS:
        data = base64.b64encode(np.ascontiguousarray(value).tobytes()).decode()
        return {"ndarray": data, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic) and value.dtype.kind in _PLAIN_KINDS:
        return {"scalar": encode(np.asarray(value))}
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [encode(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v) for k, v in value.items()}}
    raise NotPlain(type(value).__name__)


def decode(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    if "ndarray" in data:
        raw = base64.b64decode(data["ndarray"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
    if "float" in data:
        return jsontext.number(data["float"])
    if "scalar" in data:
        return decode(data["scalar"])[()]
    if "list" in data:
        return [decode(v) for v in data["list"]]
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    return {k: decode(v) for k, v in data["dict"].items()}


class ReferenceData:
    """``reference_data(function, *args, pick=..., **kwargs)`` in a suite:
    ``pick(function(*args, **kwargs))``, computed once per suite version."""

    def __init__(
        self,
        folder: Path | None,
        suite_version: str,
        *,
        versions: Mapping[str, str] | None = None,
    ) -> None:
        """``folder`` None: compute every time (``--no-reference-cache``);
        ``versions``: of ``LIBRARIES`` (default: those installed)."""
        self.folder = folder
        self.suite_version = suite_version
        self.versions = dict(library_versions() if versions is None else versions)

    def __call__(
        self,
        function: Callable[..., Any],
        *args: Any,
        pick: Callable[[Any], Any] = lambda result: result,
        label: str = "",
        **kwargs: Any,
    ) -> Any:
        """``label`` tells apart two ``pick``s of the same call."""
        try:
            key = self._key(function, label, args, kwargs)
        except NotPlain:
            return pick(function(*args, **kwargs))
        path = None if self.folder is None else self.folder / f"{key}.json"
        if path is not None and path.is_file():
            return decode(json.loads(path.read_text()))
        value = pick(function(*args, **kwargs))
        if path is not None:
            try:
                text = jsontext.dumps(encode(value))
            except NotPlain:
                return value
            atomic_write(path, text, folder_mode=0o700)
        return value

    def _key(
        self, function: Callable[..., Any], label: str, args: tuple[Any, ...], kwargs: Any
    ) -> str:
        described = jsontext.dumps(
            [self.suite_version, self.versions,
             getattr(function, "__qualname__", repr(function)), label,
             encode(list(args)), encode(dict(kwargs))],
            sort_keys=True,
        )  # fmt: skip
        return hashlib.sha256(described.encode()).hexdigest()
