"""The wire carries data by value and refuses what breaks its rules; a
sandbox's error replies arrive as one exception class per condition."""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
from typing import Any, get_args

import numpy as np
import pytest
import tensorflow as tf

from grader.harness.errors import (
    FunctionMissing,
    StillAStub,
    StudentError,
    StudentOutOfMemory,
    StudentRaised,
    ValueRefused,
)
from grader.harness.plugin import ruling
from grader.harness.proxy import MAX_FRAMES, student_error
from grader.results import Frame
from grader.sandbox import wire
from grader.sandbox.common import Condition, ErrorReply, ProblemKind
from grader.sandbox.errors import FrameTimeout, PeerClosed, WireError
from grader.sandbox.guest import worker
from grader.sandbox.host.client import LOAD_PROBLEM_KINDS
from grader.texts import MESSAGE_CHARS


def short_id(value: Any) -> str:
    """A parameter's id: its repr, cut to stay readable (some are a megabyte)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def roundtrip(value: Any, *, tensors: bool = False) -> Any:
    kept: list[Any] = []

    def keep(obj: Any) -> dict[str, Any]:
        kept.append(obj)
        return {"$handle": len(kept), "type": type(obj).__name__}

    encoder = wire.Encoder(keep)
    data = json.loads(json.dumps(encoder.encode(value)))
    decoder = wire.Decoder(encoder.blobs, lambda ref: ref, tf.constant if tensors else None)
    return decoder.decode(data)


@pytest.mark.parametrize(
    "value",
    [None, True, 3, -2.5, "text", [1, [2, "x"]], (1, 2), {"a": (1, None)}, float("inf")],
    ids=short_id,
)
def test_plain_data_roundtrips(value: Any) -> None:
    assert roundtrip(value) == value


def test_nan_roundtrips() -> None:
    assert np.isnan(roundtrip(float("nan")))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8", "bool", "complex64"])
def test_arrays_keep_shape_and_dtype(dtype: str) -> None:
    array = np.arange(12).reshape(3, 4).astype(dtype)
    back = roundtrip(array)
    assert back.dtype == array.dtype and back.shape == (3, 4)
    np.testing.assert_array_equal(back, array)


def test_scalars_keep_their_rank() -> None:
    back = roundtrip(np.float32(2.5))
    assert back.shape == () and back.dtype == np.float32
    assert roundtrip(tf.constant(3)).shape == ()


def test_numpy_scalar_types_cross_as_dtype_names() -> None:
    assert roundtrip(np.float32) == "float32"


def test_tensors_arrive_as_arrays_on_the_trusted_side_and_tensors_in_the_sandbox() -> None:
    tensor = tf.constant([[1.0, 2.0]])
    assert isinstance(roundtrip(tensor), np.ndarray)
    assert isinstance(roundtrip(tensor, tensors=True), tf.Tensor)


def test_tensorflow_metadata_crosses_as_data() -> None:
    spec = tf.TensorSpec([None, 3], tf.float32, name="x")
    assert roundtrip(spec) == wire.TensorSpecData(shape=(None, 3), dtype="float32", name="x")
    assert roundtrip(tf.TensorShape([2, None])) == (2, None)
    assert roundtrip(tf.int64) == "int64"
    assert roundtrip(np.dtype("float16")) == "float16"


def test_objects_become_handles() -> None:
    variable = tf.Variable([1.0])
    ref = roundtrip([variable, 1])
    assert ref[1] == 1
    assert ref[0] == wire.HandleRef(1, "ResourceVariable")


def test_subclasses_of_data_types_are_not_trusted_as_data() -> None:
    class Sneaky(str):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    assert isinstance(roundtrip(Sneaky("x")), wire.HandleRef)


def test_object_arrays_are_never_sent_as_data() -> None:
    assert isinstance(roundtrip(np.array([object()])), wire.HandleRef)


def test_deep_nesting_is_refused() -> None:
    value: Any = []
    for _ in range(200):
        value = [value]
    with pytest.raises(WireError, match="nested too deeply"):
        roundtrip(value)


def test_a_pickled_array_blob_is_refused() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    decoder = wire.Decoder([buffer.getvalue()], lambda ref: ref)
    with pytest.raises(WireError, match="dtype object are not accepted"):
        decoder.decode({"$array": 0, "tensor": False})


def _npy(shape: tuple[int, ...], dtype: Any, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


@pytest.mark.parametrize(
    ("blob", "phrase"),
    [
        (_npy((10**6, 10**6), "<f8", b"\0" * 64), "does not match"),
        (_npy((2,), "<f8", b"\0" * 64), "does not match"),
        (_npy((1,), [("a", "<i4"), ("b", "<f4")], b"\0" * 8), "not accepted"),
        (b"not an npy file at all", "malformed array"),
    ],
    ids=["terabyte header", "short header", "structured", "garbage"],
)
def test_array_headers_are_checked_before_anything_is_allocated(blob: bytes, phrase: str) -> None:
    decoder = wire.Decoder([blob], lambda ref: ref)
    with pytest.raises(WireError, match=phrase):
        decoder.decode({"$array": 0, "tensor": False})


def test_structured_arrays_stay_in_the_sandbox_as_handles() -> None:
    kept: list[Any] = []
    encoder = wire.Encoder(lambda value: kept.append(value) or {"$handle": 1, "type": "ndarray"})
    records = np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")])
    assert encoder.encode(records) == {"$handle": 1, "type": "ndarray"}
    assert kept and kept[0] is records


def test_a_flood_of_empty_lists_is_refused_before_decoding() -> None:
    left, right = socket.socketpair()
    with left, right:
        body = ('{"id": 1, "value": [' + ",".join(["[]"] * 300_000) + "]}").encode()
        sender = threading.Thread(
            target=right.sendall, args=(struct.pack("!II", len(body), len(body)) + body,)
        )
        sender.start()
        with pytest.raises(WireError, match="more than 100000 items"):
            wire.receive(left, deadline=time.monotonic() + 5)
        sender.join()


@pytest.mark.parametrize(
    "data",
    [
        {"$tuple": 3},
        {"$float": "1e999"},
        {"$array": 5},
        {"$handle": "1"},
        {"$what": 1},
        {"a": 1, "b": 2, "c": 3},
    ],
    ids=short_id,
)
def test_malformed_values_are_refused(data: Any) -> None:
    with pytest.raises(WireError):
        wire.Decoder([], lambda ref: ref).decode(data)


def test_frames_roundtrip_over_a_socket() -> None:
    left, right = socket.socketpair()
    with left, right:
        blob = np.arange(3).tobytes()
        wire.send(left, {"op": "x", "n": 1}, [blob, b""])
        message, blobs = wire.receive(right)
    assert message == {"op": "x", "n": 1}
    assert blobs == [blob, b""]


def test_an_oversized_frame_is_refused_before_it_is_read() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(struct.pack("!II", 2**31, 10))
        with pytest.raises(WireError, match="in one message"):
            wire.receive(right, max_bytes=1024)


def test_receive_times_out() -> None:
    left, right = socket.socketpair()
    with left, right, pytest.raises(FrameTimeout):
        wire.receive(right, deadline=time.monotonic() + 0.05)


def test_closed_peer_is_reported() -> None:
    left, right = socket.socketpair()
    left.close()
    with right, pytest.raises(PeerClosed):
        wire.receive(right)


def worker_error(exc: BaseException) -> Any:
    """The error reply a real worker builds for ``exc``, raised from a cell."""
    left, right = socket.socketpair()
    with left, right:
        server = worker.SandboxServer(left)
        server.sources[1] = ["def relu(x):", "    raise it"]
        try:
            exec(compile("def relu(x):\n    raise x\n", "<cell 1>", "exec"), namespace := {})
            namespace["relu"](exc)
        except BaseException as raised:  # noqa: BLE001 - the worker's own catch-all
            return server._error(raised)
    raise AssertionError("relu did not raise")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ValueError("bad"), StudentRaised),
        (NotImplementedError(), StillAStub),
        (MemoryError(), StudentOutOfMemory),
        (SystemExit(3), StudentRaised),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v.__name__,
)
def test_each_error_reply_arrives_as_its_own_exception(exc: BaseException, kind: type) -> None:
    reply = worker_error(exc)
    assert set(reply) == ErrorReply.__required_keys__
    error = student_error(json.loads(json.dumps(reply)), "`relu`")
    assert type(error) is kind
    assert error.type_name == type(exc).__name__
    assert error.frames == (Frame(cell=1, line=2, function="relu", code="    raise it"),)


def test_a_missing_name_and_a_refused_result_arrive_typed() -> None:
    left, right = socket.socketpair()
    with left, right:
        missing = worker.SandboxServer(left)._error(worker._Missing("relu"))
    error = student_error(missing, "`relu`")
    assert isinstance(error, FunctionMissing)
    assert error.name == "relu"
    refused = student_error(worker._refused(WireError("too deep")), "`relu`")
    assert isinstance(refused, ValueRefused)
    assert refused.message == "too deep"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "error",
        {"condition": ["stub"]},
        {"condition": {"a": 1}, "frames": "x"},
        {"condition": "missing", "name": 5},
        {"condition": "missing", "name": ""},
        {"condition": "root", "type": {"a": 1}, "message": "x" * 10**6},
        {"condition": "stub", "frames": [{"cell": "1", "line": -4}, 7] * 1000},
    ],
    ids=short_id,
)
def test_a_forged_error_reply_is_bounded_and_never_breaks_the_grader(raw: Any) -> None:
    error = student_error(raw, "`relu`")
    assert isinstance(error, StudentError)
    assert len(error.message) <= MESSAGE_CHARS + 60
    assert len(error.frames) <= MAX_FRAMES
    assert all(f.cell == 0 and f.line == 0 for f in error.frames)
    if not (isinstance(raw, dict) and raw.get("condition") == "stub"):
        assert type(error) is StudentRaised


def test_every_student_error_has_its_own_verdict_rule() -> None:
    """A new condition needs a rule, or it would be judged as a plain exception."""
    conditions = StudentError.__subclasses__()
    assert len(conditions) == len(get_args(Condition))
    assert all(kind in ruling.registry for kind in conditions)


def test_the_trusted_side_accepts_exactly_the_problems_a_worker_sends() -> None:
    assert set(get_args(ProblemKind)) == LOAD_PROBLEM_KINDS
