"""Exceptions of the sandbox, on both sides of the trust boundary.

Standard library only: the zygote imports this module (through ``wire``)
before any student code runs, and must import nothing trusted.

    WireError              a frame or value that breaks the wire's rules (size,
    │                      depth, schema): raised by ``wire``'s encoders,
    │                      decoders, ``send`` and ``receive``; the worker
    │                      answers it with a refusal, the client turns it into
    │                      ``SandboxRefused``
    ├── PeerClosed         the other side closed the connection: the worker ends,
    │                      the client says ``SandboxDied``
    └── FrameTimeout       no whole frame before the deadline: the client kills
                           the sandbox and says ``SandboxTimeout``

    SandboxFailure         the sandbox could not answer a request: raised by
    │                      ``host.client`` (and ``grader.harness.proxy``), caught
    │                      by the harness (the test's verdict) and ``grader.grading``
    ├── SandboxTimeout     a call overran its deadline; the sandbox was killed
    ├── SandboxDied        the sandbox process ended (exit, crash, memory or
    │                      scratch quota)
    └── SandboxRefused     it answered with a frame that breaks the wire's rules
        └── SandboxForged  a frame the protocol does not expect there

    TooDeep                a student-made folder nests past ``trees.MAX_DEPTH``:
                           raised by ``host.trees.walk``; scratch quotas count
                           it as over, clean-up stops there

The harness adds its own failures (``grader.harness.errors``). Private to
one place, and kept there: ``host.client``'s ``_Forged`` (a well-formed
frame out of turn, which ``SandboxClient`` turns into ``SandboxForged``),
and the guest worker's ``DownloadRefused``, ``_Missing`` and ``_Stub``,
which never leave the sandbox (it replies with an ``ErrorReply``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a name for the type checker only: nothing trusted is imported
    from grader.results import Limit


class WireError(Exception):
    """A frame or value that breaks the wire's rules (size, depth, schema)."""


class PeerClosed(WireError):
    """The other side closed the connection (a sandbox that died)."""


class FrameTimeout(WireError):
    """No complete frame arrived before the deadline."""


class SandboxFailure(Exception):
    """The sandbox could not answer a request."""


class SandboxTimeout(SandboxFailure):
    """A request overran its deadline, so the sandbox was killed."""

    def __init__(self, seconds: float, cell: int | None, limit: Limit) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds
        self.cell = cell
        """the notebook cell that was running, when loading"""
        self.limit = limit
        """the limit whose deadline passed, as the caller set it: never guessed
        from ``seconds`` (what was left of the notebook's budget can be any number)"""


class SandboxDied(SandboxFailure):
    """The sandbox process ended while it was serving a request."""

    def __init__(self, *, memory: bool, cell: int | None, scratch: bool = False) -> None:
        super().__init__(
            "the sandbox went over its memory limit"
            if memory
            else "the sandbox went over its scratch folder's quota"
            if scratch
            else "the sandbox died"
        )
        self.memory = memory
        self.scratch = scratch
        """killed for filling its scratch folder past ``scratch_mb`` or ``scratch_files``"""
        self.cell = cell


class SandboxRefused(SandboxFailure):
    """The sandbox sent something the wire refuses (too large, malformed)."""


class SandboxForged(SandboxRefused):
    """The sandbox sent a frame the protocol does not expect at that point
    (an answer nobody asked for, a notice only the trusted side writes, a
    flood of notices): student code writing to the socket itself."""


class TooDeep(Exception):
    """A folder nests deeper than ``MAX_DEPTH``."""
