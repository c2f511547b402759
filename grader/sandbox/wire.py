"""The wire between the trusted side and a sandbox: framed messages of JSON
plus ``.npy`` array blobs, never pickle.

A frame is ``u32 payload length | u32 JSON length | JSON | blobs``; the JSON
lists the blobs' lengths. Values are plain data (None, bool, int, float, str,
list, dict with str keys), arrays (``{"$array": i, "tensor": bool}``, blob
``i`` as ``.npy`` loaded with ``allow_pickle=False``), tuples, dtypes, shapes,
tensor specs, and handles (``{"$handle": id, "type": name}``) naming an
object that stays in the sandbox. Both sides check sizes and nesting depth
before they trust a frame.

Depends on the standard library, numpy and ``grader.sandbox.errors`` only
(TensorFlow types are recognised only when TensorFlow is already
imported), because the sandbox worker imports it.
"""

from __future__ import annotations

import io
import json
import math
import socket
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.sandbox.errors import FrameTimeout, PeerClosed, WireError

MAX_FRAME_BYTES = 256 * 1024 * 1024
"""the largest frame either side sends; what the trusted side accepts from a
sandbox is far smaller (``Limits.result_mb``)"""
MAX_JSON_BYTES = 4 * 1024 * 1024
"""the JSON part of a frame: what costs time to parse (arrays go in blobs)"""
MAX_DEPTH = 64
MAX_ITEMS = 100_000
MAX_BLOBS = 1_000
_HEADER = struct.Struct("!II")


@dataclass(frozen=True)
class TensorSpecData:
    """A ``tf.TensorSpec`` that crossed the wire: plain data, no TensorFlow."""

    shape: tuple[int | None, ...] | None
    dtype: str
    name: str | None


@dataclass(frozen=True)
class HandleRef:
    """A reference to an object that stays on the sandbox side."""

    id: int
    type_name: str


class Encoder:
    """Turns values into JSON-able data plus array blobs.

    ``to_handle`` decides what to do with anything that is not data: the
    sandbox keeps the object and returns a handle, the trusted side only
    sends handles it was given and refuses the rest.
    """

    def __init__(
        self, to_handle: Callable[[Any], dict[str, Any]], max_bytes: int = MAX_FRAME_BYTES
    ) -> None:
        self._to_handle = to_handle
        self._max_bytes = max_bytes
        self.blobs: list[bytes] = []
        self._items = 0

    def encode(self, value: Any, depth: int = 0) -> Any:
        self._items += 1
        if depth > MAX_DEPTH or self._items > MAX_ITEMS:
            raise WireError("the value is nested too deeply or has too many items to send")
        kind = type(value)
        if value is None or kind is bool or kind is str or kind is int:
            return value
        if kind is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"$tuple": [self.encode(v, depth + 1) for v in value]}
        if kind is dict and all(type(k) is str for k in value):
            return {"$dict": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        if isinstance(value, np.generic) and plain_dtype(value.dtype):
            return self._array(np.asarray(value), tensor=False)
        if kind is np.ndarray and plain_dtype(value.dtype):
            return self._array(value, tensor=False)
        if isinstance(value, np.dtype):
            return {"$dtype": value.name}
        if isinstance(value, type) and issubclass(value, np.generic) and value is not np.object_:
            return {"$dtype": np.dtype(value).name}
        tf = sys.modules.get("tensorflow")
        if tf is not None:
            encoded = self._encode_tf(tf, value)
            if encoded is not None:
                return encoded
        return self._to_handle(value)

    def _encode_tf(self, tf: Any, value: Any) -> Any:
        if isinstance(value, tf.DType):
            return {"$dtype": value.name}
        if isinstance(value, tf.TensorShape):
            dims = None if value.rank is None else [d for d in value.as_list()]
            return {"$shape": dims}
        if isinstance(value, tf.TensorSpec):
            shape = value.shape
            dims = None if shape.rank is None else shape.as_list()
            return {"$spec": {"shape": dims, "dtype": value.dtype.name, "name": value.name}}
        if isinstance(value, tf.Tensor) and not isinstance(value, tf.Variable):
            try:
                array = value.numpy()
            except (AttributeError, TypeError):  # a symbolic tensor has no value
                return None
            array = np.asarray(array)
            return self._array(array, tensor=True) if plain_dtype(array.dtype) else None
        return None

    def _array(self, array: np.ndarray, *, tensor: bool) -> dict[str, Any]:
        if array.nbytes > self._max_bytes:
            raise WireError(
                f"an array of shape {array.shape} ({array.nbytes / 2**20:.0f} MiB) is too large "
                f"to send (limit {self._max_bytes // 2**20} MiB)"
            )
        if len(self.blobs) >= MAX_BLOBS:
            raise WireError(f"the value holds more than {MAX_BLOBS} arrays")
        buffer = io.BytesIO()
        np.save(buffer, np.require(array, requirements="C"), allow_pickle=False)
        self.blobs.append(buffer.getvalue())
        return {"$array": len(self.blobs) - 1, "tensor": tensor}


ARRAY_KINDS = "biufcUS"
"""bool, integers, floats, complex, text: no objects, no structured records"""


def plain_dtype(dtype: np.dtype[Any]) -> bool:
    """Whether arrays of ``dtype`` cross as data (anything else stays a handle)."""
    return dtype.kind in ARRAY_KINDS and dtype.fields is None and dtype.subdtype is None


class Decoder:
    """Turns received data back into values, checking the schema as it goes.

    ``from_handle`` maps a handle reference to what the receiving side uses
    for it; ``tensor`` optionally turns arrays that were tensors back into
    tensors (the sandbox does, the trusted side keeps numpy arrays).
    """

    def __init__(
        self,
        blobs: list[bytes],
        from_handle: Callable[[HandleRef], Any],
        tensor: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self._blobs = blobs
        self._from_handle = from_handle
        self._tensor = tensor
        self._items = 0

    def decode(self, data: Any, depth: int = 0) -> Any:
        self._items += 1
        if depth > MAX_DEPTH:
            raise WireError("the value is nested too deeply")
        if self._items > MAX_ITEMS:
            raise WireError(f"the value has more than {MAX_ITEMS} items")
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.decode(v, depth + 1) for v in data]
        if not isinstance(data, dict) or len(data) not in (1, 2):
            raise WireError("malformed value on the wire")
        if "$tuple" in data:
            return tuple(self.decode(v, depth + 1) for v in _list(data["$tuple"]))
        if "$dict" in data:
            items = data["$dict"]
            if not isinstance(items, dict):
                raise WireError("malformed dict on the wire")
            return {str(k): self.decode(v, depth + 1) for k, v in items.items()}
        if "$float" in data:
            text = data["$float"]
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed float on the wire")
            return float(text)
        if "$array" in data:
            return self._array(data)
        if "$dtype" in data:
            return _text(data["$dtype"])
        if "$shape" in data:
            return _dims(data["$shape"])
        if "$spec" in data:
            spec = data["$spec"]
            if not isinstance(spec, dict):
                raise WireError("malformed tensor spec on the wire")
            name = spec.get("name")
            return TensorSpecData(
                shape=_dims(spec.get("shape")),
                dtype=_text(spec.get("dtype")),
                name=None if name is None else _text(name),
            )
        if "$handle" in data:
            handle_id = data["$handle"]
            if type(handle_id) is not int:
                raise WireError("malformed handle on the wire")
            return self._from_handle(HandleRef(handle_id, _text(data.get("type", "object"))))
        raise WireError("unknown value kind on the wire")

    def _array(self, data: dict[str, Any]) -> Any:
        index = data["$array"]
        if type(index) is not int or not 0 <= index < len(self._blobs):
            raise WireError("malformed array reference on the wire")
        array = read_npy(self._blobs[index])
        if data.get("tensor") and self._tensor is not None:
            return self._tensor(array)
        return array


def read_npy(blob: bytes) -> np.ndarray:
    """An array from ``.npy`` bytes, checked before anything is allocated: the
    header's shape and dtype must describe exactly the bytes that follow
    (a header may declare a terabyte), and the dtype must be plain data."""
    stream = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as err:
        raise WireError(f"malformed array on the wire: {err}") from None
    if not plain_dtype(dtype):
        raise WireError(f"arrays of dtype {dtype} are not accepted, only plain numbers")
    if not all(type(d) is int and d >= 0 for d in shape) or len(shape) > MAX_DEPTH:
        raise WireError("malformed array shape on the wire")
    count = math.prod(shape)
    data = blob[stream.tell() :]
    if count * dtype.itemsize != len(data):
        raise WireError(
            f"an array header declares shape {shape[:8]} of {dtype}, which does not match "
            f"the {len(data)} bytes sent"
        )
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise WireError("malformed list on the wire")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 1000:
        raise WireError("malformed text on the wire")
    return value


def _dims(value: Any) -> tuple[int | None, ...] | None:
    if value is None:
        return None
    dims = _list(value)
    if not all(d is None or type(d) is int for d in dims):
        raise WireError("malformed shape on the wire")
    return tuple(dims)


def send(
    sock: socket.socket,
    message: dict[str, Any],
    blobs: Sequence[bytes] = (),
    *,
    max_bytes: int = MAX_FRAME_BYTES,
) -> None:
    """Send one frame: a JSON message and its blobs."""
    body = json.dumps({**message, "blobs": [len(b) for b in blobs]}, allow_nan=False).encode()
    total = len(body) + sum(len(b) for b in blobs)
    if total > max_bytes or len(body) > MAX_JSON_BYTES:
        raise WireError(
            f"the message is too large to send ({total / 2**20:.1f} MiB, "
            f"limit {max_bytes // 2**20} MiB, of which {MAX_JSON_BYTES // 2**20} MiB "
            "outside arrays)"
        )
    sock.sendall(b"".join([_HEADER.pack(total, len(body)), body, *blobs]))


def receive(
    sock: socket.socket, *, deadline: float | None = None, max_bytes: int = MAX_FRAME_BYTES
) -> tuple[dict[str, Any], list[bytes]]:
    """Receive one frame before ``deadline`` (a ``time.monotonic`` value)."""
    total, json_length = _HEADER.unpack(_read(sock, _HEADER.size, deadline))
    if total > max_bytes:
        raise WireError(
            f"the other side sent {total / 2**20:.0f} MiB in one message "
            f"(limit {max_bytes // 2**20} MiB)"
        )
    if json_length > min(total, MAX_JSON_BYTES):
        raise WireError(
            f"the other side sent {json_length / 2**20:.1f} MiB of JSON in one message "
            f"(limit {MAX_JSON_BYTES // 2**20} MiB)"
        )
    payload = _read(sock, total, deadline)
    text = payload[:json_length]
    if text.count(b"[") + text.count(b"{") > 2 * MAX_ITEMS:
        raise WireError(f"the other side sent a message of more than {MAX_ITEMS} items")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise WireError("malformed JSON in a frame") from err
    if not isinstance(message, dict):
        raise WireError("malformed frame")
    lengths = message.pop("blobs", [])
    if (
        not isinstance(lengths, list)
        or len(lengths) > MAX_BLOBS
        or not all(type(n) is int and n >= 0 for n in lengths)
    ):
        raise WireError("malformed blob list in a frame")
    if json_length + sum(lengths) != len(payload):
        raise WireError("blob lengths do not add up in a frame")
    blobs, offset = [], json_length
    for length in lengths:
        blobs.append(payload[offset : offset + length])
        offset += length
    return message, blobs


def _read(sock: socket.socket, count: int, deadline: float | None) -> bytes:
    chunks, remaining = [], count
    while remaining:
        if deadline is not None:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise FrameTimeout("no answer before the deadline")
            sock.settimeout(timeout)
        else:
            sock.settimeout(None)
        try:
            chunk = sock.recv(min(remaining, 1 << 20))
        except TimeoutError as err:
            raise FrameTimeout("no answer before the deadline") from err
        except OSError as err:
            raise PeerClosed(str(err)) from err
        if not chunk:
            raise PeerClosed("the connection was closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
