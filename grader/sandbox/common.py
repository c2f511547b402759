"""What both sides of the sandbox's trust boundary share: the environment a
sandbox keeps, process and compile helpers, the zygote's socket address,
and the shape of the replies a sandbox sends when something goes wrong.

Standard library only: the worker imports it before any student code runs,
and the trusted side imports it without loading the worker. The reply
shapes are what an honest worker sends; the trusted side still checks every
field on arrival (``grader.harness.proxy``), since student code can write
to the socket itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import linecache
import os
import signal
import types
from collections.abc import Iterator
from typing import Literal, TypedDict

KEPT_ENVIRONMENT = ("LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "TF_FORCE_GPU_ALLOW_GROWTH")
"""the only variables student code sees besides those the worker sets for its scratch folder"""
GPU_MEMORY_VARIABLE = "TFGRADE_GPU_MEMORY_MB"
"""set in a zygote's environment when its sandboxes share a GPU: each one's limit"""
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such call
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def compile_cell(source: str, filename: str) -> types.CodeType:
    """Compile a cell and register its source, so tracebacks and AutoGraph
    (which reads a ``tf.function``'s source to convert it) can find it."""
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return code


class FrameData(TypedDict):
    """One traceback line in the student's own code."""

    cell: int
    line: int
    function: str
    code: str


Condition = Literal["raised", "missing", "stub", "memory", "refused"]
"""why a request failed: the student's code raised; the name asked for is not
defined; the function is still the released stub; it ran out of memory; or
its result breaks the wire's rules"""


class ErrorReply(TypedDict):
    """The ``error`` of a reply whose ``ok`` is false."""

    condition: Condition
    type: str
    """the exception's class name"""
    message: str
    frames: list[FrameData]
    name: str
    """the name that is not defined (condition ``missing``), else empty"""


ProblemKind = Literal["syntax", "error", "exit", "tamper"]
"""a cell that does not compile, raised or called exit(); builtins replaced
(the notice kinds ``grader.results.NOTICES`` accepts from a sandbox)"""


class Problem(TypedDict):
    """What a ``problem`` frame carries: sent as it happens, before the reply."""

    kind: ProblemKind
    cell: int
    """0 when no cell was running (tampering during a call)"""
    line: int
    message: str
    frames: list[FrameData]


_SUN_PATH = 108
"""bytes in a unix socket address, its final NUL included"""


@contextlib.contextmanager
def socket_address(path: str) -> Iterator[str]:
    """``path`` as an address to bind or connect a unix socket to: itself
    when it fits, else the same file reached through a descriptor of its
    folder (``/proc/self/fd/N/NAME``), since a long ``TMPDIR`` (a deep home
    folder) makes the zygote's socket path longer than an address may be."""
    if len(os.fsencode(path)) < _SUN_PATH:
        yield path
        return
    folder = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{folder}/{os.path.basename(path)}"
    finally:
        os.close(folder)
