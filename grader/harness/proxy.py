"""The ``student`` fixture's machinery: the student's code in a sandbox, and
``Remote`` handles through which hidden tests call it.

Calls cross the wire as plain data. Results that are not data (a variable,
a layer, a ``tf.function``) stay in the sandbox and come back as ``Remote``
handles whose attributes and calls are again remote. A call that kills the
sandbox (timeout, memory, exit) fails its test; the next call gets a fresh
sandbox with the student's code loaded again.
"""

from __future__ import annotations

import contextlib
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.harness.errors import (
    FunctionMissing,
    HungBefore,
    LoadFailed,
    StaleHandle,
    StillAStub,
    StudentError,
    StudentOutOfMemory,
    StudentRaised,
    ValueRefused,
)
from grader.results import Frame, Limit, Notice, NoticeKind
from grader.sandbox import wire
from grader.sandbox.errors import (
    SandboxDied,
    SandboxFailure,
    SandboxForged,
    SandboxRefused,
    SandboxTimeout,
    TooDeep,
    WireError,
)
from grader.sandbox.host import trees
from grader.sandbox.host.client import SandboxClient, ZygoteInfo
from grader.sandbox.host.limits import Limits
from grader.submissions import Submission
from grader.texts import CODE_CHARS, MESSAGE_CHARS, NAME_CHARS, received
from grader.workdir import register_sandbox

MAX_RESTARTS = 5
MAX_NOTICES = 50
"""notices one submission keeps (cells that failed, tampering, forgery)"""
MAX_FRAMES = 20
"""traceback lines kept per error"""


_CONDITIONS: dict[str, type[StudentError]] = {
    "raised": StudentRaised,
    "stub": StillAStub,
    "memory": StudentOutOfMemory,
    "refused": ValueRefused,
}
"""the exception for each condition of ``grader.sandbox.common.ErrorReply``
(``missing`` carries a name: ``FunctionMissing``)"""


def student_error(raw: object, label: str) -> StudentError:
    """The exception for an ``ErrorReply`` from the sandbox. Untrusted: any
    field may be missing or of the wrong type; texts are bounded, an unknown
    condition counts as a plain exception."""
    reply = raw if isinstance(raw, dict) else {}
    condition = reply.get("condition")
    name = received(reply.get("name"), NAME_CHARS)
    type_name = received(reply.get("type", "Exception"), NAME_CHARS)
    message = received(reply.get("message"), MESSAGE_CHARS)
    frames = _frames(reply.get("frames"))
    if condition == "missing" and name:
        return FunctionMissing(label, type_name, message, frames, name=name)
    kind = (
        _CONDITIONS.get(condition, StudentRaised) if isinstance(condition, str) else StudentRaised
    )
    return kind(label, type_name, message, frames)


@dataclass
class StudentSession:
    """One submission's code, in a sandbox that is restarted when a call kills it."""

    submission: Submission
    zygote: ZygoteInfo
    limits: Limits
    workdir: Path
    """the grading process's folder: scratch folders and sandbox pids go here"""
    notices: list[Notice] = field(default_factory=list)
    load_output: str = ""
    load_output_cut: bool = False
    """the sandbox kept only part of ``load_output`` (``output_kb``)"""
    isolation: str = ""
    _sandbox: SandboxClient | None = None
    _generation: int = 0
    _restarts: int = 0
    _used: float = 0.0
    _output: list[str] = field(default_factory=list)
    _output_cut: bool = False
    _load_failure: LoadFailed | None = None
    _scratch: Path | None = None
    _loading: tuple[int, float] | None = None
    """the load request in flight: its id and when it was sent"""
    _notice_set: set[Notice] = field(default_factory=set)
    test: str = ""
    """the test running now (set by the plugin), named when a function it hung is called again"""
    deadlines: Mapping[str, float] = field(default_factory=dict)
    """test name -> seconds a call may take in it (the suite's ``call_deadlines``)"""
    slowest: dict[str, float] = field(default_factory=dict)
    """test name -> seconds of its longest call that returned"""
    _hung: dict[str, tuple[SandboxTimeout, str]] = field(default_factory=dict)
    """the student's functions that ran out of time per call: the timeout, and the test"""

    @property
    def scratch(self) -> Path:
        """The submission's scratch folder, shared by all its sandboxes in turn."""
        if self._scratch is None:
            label = "".join(c if c.isalnum() else "_" for c in self.submission.student)[:40]
            self._scratch = Path(
                tempfile.mkdtemp(prefix=f"tfgrade-scratch-{label}-", dir=self.workdir)
            )
        return self._scratch

    def restart(self) -> None:
        """End the current sandbox; the next call loads the code in a fresh one.

        Files in the scratch folder stay, so a test can save a model in one
        process and load it "somewhere else" in another."""
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
            self._restarts -= 1  # asked for by the test, not caused by the student

    def take_output(self) -> tuple[str, bool]:
        """What the student's code printed since the last call to this, and
        whether the sandbox kept only part of it."""
        text, cut = "".join(self._output), self._output_cut
        self._output, self._output_cut = [], False
        return text, cut

    def _printed(self, reply: dict[str, Any]) -> tuple[str, bool]:
        """A reply's printed output, bounded, and whether it was cut. The
        sandbox keeps ``output_kb`` and adds a note when it drops the rest,
        so more than that arriving means it was cut (by the sandbox, or here)."""
        limit = self.limits.output_kb * 1024
        raw = reply.get("output")
        return received(raw, limit), isinstance(raw, str) and len(raw) > limit

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        if self._scratch is not None:
            trees.remove(self._scratch)

    def request(self, message: dict[str, Any], args: Any = None, *, label: str) -> Any:
        """Send a call or attribute lookup to the sandbox and decode the answer.
        A function of the notebook that ran out of time per call is not called
        again: ``HungBefore`` at once."""
        function = _function_called(message)
        if function in self._hung:
            timeout, test = self._hung[function]
            raise HungBefore(label, timeout, test)
        sandbox = self._ready()
        blobs: list[bytes] = []
        if args is not None:
            encoder = wire.Encoder(self._handle_of)
            message = {
                **message,
                "args": encoder.encode(list(args[0])),
                "kwargs": encoder.encode(args[1]),
            }
            blobs = encoder.blobs
        sent = time.monotonic()
        try:
            reply, reply_blobs = self._await(sandbox, sandbox.send(message, blobs), None, sent)
        except SandboxForged:
            self._flag_forgery()
            raise
        except SandboxTimeout as err:
            self._note_hung(function, err)
            raise
        finally:
            self._take_problems(sandbox)
        text, cut = self._printed(reply)
        self._output.append(text)
        self._output_cut |= cut
        if not reply.get("ok"):
            raise student_error(reply.get("error"), label)
        generation = self._generation
        method = message.get("op") == "getattr"

        def handle(ref: wire.HandleRef) -> Remote:
            type_name = received(ref.type_name, NAME_CHARS)
            name = label if method else f"the {type_name} from {label}"
            return Remote(self, {"$handle": ref.id}, type_name, generation, label=name)

        answered = time.monotonic()
        self.slowest[self.test] = max(self.slowest.get(self.test, 0.0), answered - sent)
        decoder = wire.Decoder(reply_blobs, handle)
        try:
            value = decoder.decode(reply.get("value"))
        except WireError as err:
            sandbox.close()
            raise SandboxRefused(str(err)) from None
        try:
            self._charge(sandbox, sent, answered)
        except SandboxTimeout as err:
            self._note_hung(function, err)
            raise
        return value

    def _note_hung(self, function: str, timeout: SandboxTimeout) -> None:
        """Remember a function of the notebook that ran out of its time per call."""
        if function and timeout.limit in (Limit.CALL_TIME, Limit.REFERENCE_TIME):
            self._hung[function] = (timeout, self.test)

    def _charge(self, sandbox: SandboxClient, sent: float, answered: float) -> None:
        """Count the time spent decoding an answer against the call's deadline
        and the submission's budget: an answer cheap to send and costly to
        decode spends the student's time, not ours."""
        now = time.monotonic()
        self._used += now - answered
        seconds, limit = self.call_limit()
        if now - sent > seconds:
            sandbox.close()
            raise SandboxTimeout(seconds, None, limit)

    def call_limit(self) -> tuple[float, Limit]:
        """The deadline of a call in the running test, and which limit sets it:
        the reference's time on the test times ``call_timeout_multiple``
        where the suite measured it and it is the shorter, else ``call_timeout``."""
        relative = self.deadlines.get(self.test)
        if relative is not None and relative < self.limits.call_timeout:
            return relative, Limit.REFERENCE_TIME
        return self.limits.call_timeout, Limit.CALL_TIME

    def _flag_forgery(self) -> None:
        notice = Notice(
            kind=NoticeKind.FORGED,
            message="Your code wrote to the grader's connection itself; what it sent was refused.",
        )
        self._add_notice(notice)

    def _await(
        self, sandbox: SandboxClient, request_id: int, limit: Limit | None, sent: float
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Wait for a reply within ``limit`` (the load's, or None: the call's,
        ``call_limit``) and what is left of the total budget, both counted
        from ``sent``; a timeout names whichever of the two was the shorter."""
        remaining = self.limits.total_timeout - self._used
        if remaining <= 0:
            sandbox.close()
            raise SandboxTimeout(self.limits.total_timeout, None, Limit.NOTEBOOK_TIME)
        if limit is Limit.LOAD_TIME:
            seconds = self.limits.load_timeout
        else:
            seconds, limit = self.call_limit()
        if remaining < seconds:
            seconds, limit = remaining, Limit.NOTEBOOK_TIME
        timeout = seconds - (time.monotonic() - sent)
        try:
            return sandbox.wait(request_id, timeout=max(timeout, 0.0), limit=limit)
        except SandboxTimeout as err:  # it says what was left after sending; the limit is more
            raise SandboxTimeout(seconds, err.cell, err.limit) from None
        finally:
            self._used += time.monotonic() - sent

    def prestart(self) -> None:
        """Fork the sandbox and send it the cells now, so that loading them
        overlaps pytest's start-up on this side."""
        if self._sandbox is None and self._load_failure is None:
            self._start()

    def _start(self) -> None:
        if self._restarts > MAX_RESTARTS:
            raise SandboxDied(memory=False, cell=None)
        self._restarts += 1
        self._generation += 1
        self._sandbox = SandboxClient(self.zygote, self.limits, self.scratch)
        register_sandbox(self.workdir, self._sandbox.pid)
        self.isolation = self._sandbox.isolation
        cells = [{"cell": c.number, "source": c.source} for c in self.submission.cells]
        self._loading = (self._sandbox.send({"op": "load", "cells": cells}, []), time.monotonic())

    def _ready(self) -> SandboxClient:
        """The live sandbox with the code loaded, forking a new one if needed."""
        if self._load_failure is not None:
            raise self._load_failure
        if self._sandbox is None or not self._sandbox.alive:
            self._start()
        sandbox = self._sandbox
        assert sandbox is not None
        if self._loading is None:
            return sandbox
        request_id, sent = self._loading
        self._loading = None
        try:
            reply, _ = self._await(sandbox, request_id, Limit.LOAD_TIME, sent)
        except SandboxFailure as err:
            if isinstance(err, SandboxForged):
                self._flag_forgery()
            self._load_failure = LoadFailed(err)
            raise self._load_failure from None
        finally:
            self._take_problems(sandbox)
        if self._generation == 1:
            self.load_output, self.load_output_cut = self._printed(reply)
        return sandbox

    def _take_problems(self, sandbox: SandboxClient) -> None:
        """Turn what the sandbox reported into notices, once each: cells that
        failed (reported by the first load only) and tampering."""
        problems, sandbox.problems = sandbox.problems, []
        for notice in _load_notices(problems):
            if self._generation == 1 or notice.kind is NoticeKind.TAMPER:
                self._add_notice(notice)

    def _add_notice(self, notice: Notice) -> None:
        """Keep a notice once, and at most ``MAX_NOTICES`` of them."""
        if notice in self._notice_set or len(self.notices) > MAX_NOTICES:
            return
        self._notice_set.add(notice)
        if len(self.notices) == MAX_NOTICES:
            notice = Notice(kind=NoticeKind.TRUNCATED, message="Further notices were not kept.")
        self.notices.append(notice)

    def _handle_of(self, value: Any) -> dict[str, Any]:
        if isinstance(value, Remote):
            if value._generation != self._generation:
                raise StaleHandle(value.type_name)
            return dict(value._ref)
        raise TypeError(f"cannot send a {type(value).__name__} to the student's code")


def _function_called(message: dict[str, Any]) -> str:
    """The notebook's global a request calls ("" for any other request)."""
    target = message.get("target")
    if message.get("op") == "call" and isinstance(target, dict):
        return str(target.get("$global", ""))
    return ""


def _load_notices(problems: list[dict[str, Any]]) -> list[Notice]:
    """Problems the sandbox reported (their kinds checked by the client)."""
    return [
        Notice(
            kind=NoticeKind(problem["kind"]),
            message=received(problem.get("message"), MESSAGE_CHARS),
            cell=_number(problem.get("cell")) or None,
            line=_number(problem.get("line")) or None,
            frames=_frames(problem.get("frames")),
        )
        for problem in problems
    ]


def _frames(raw: Any) -> tuple[Frame, ...]:
    """Traceback lines from the sandbox, checked, bounded and made printable
    (the last ``MAX_FRAMES``: where the error happened)."""
    frames = [f for f in raw if isinstance(f, dict)] if isinstance(raw, list) else []
    return tuple(
        Frame(
            cell=_number(f.get("cell")),
            line=_number(f.get("line")),
            function=received(f.get("function"), NAME_CHARS),
            code=received(f.get("code"), CODE_CHARS),
        )
        for f in frames[-MAX_FRAMES:]
    )


def _number(value: Any) -> int:
    """A cell or line number from the sandbox (0 when it is not one)."""
    return value if type(value) is int and 0 <= value < 1 << 31 else 0


class Remote:
    """An object of the student's that lives in the sandbox.

    Attribute lookups and calls are remote; their results follow the wire's
    rules (data by value, everything else another ``Remote``).
    """

    __slots__ = ("_generation", "_label", "_ref", "_session", "type_name")

    def __init__(
        self,
        session: StudentSession,
        ref: dict[str, Any],
        type_name: str,
        generation: int,
        label: str | None = None,
    ) -> None:
        self._session = session
        self._ref = ref
        self._generation = generation
        self._label = label or f"an object of type {type_name}"
        self.type_name = type_name

    def _check(self) -> None:
        if "$handle" in self._ref and self._generation != self._session._generation:
            raise StaleHandle(self.type_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._check()
        return self._session.request(
            {"op": "getattr", "target": self._ref, "name": name}, label=f"{self._label}.{name}"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return self._session.request(
            {"op": "call", "target": self._ref, "label": self._label},
            (args, kwargs),
            label=self._label,
        )

    def __getitem__(self, key: Any) -> Any:
        return self._method("__getitem__", key)

    def __len__(self) -> int:
        value = self._method("__len__")
        if type(value) is not int:
            raise TypeError("len() of the student's object is not an int")
        return value

    def _method(self, name: str, *args: Any) -> Any:
        self._check()
        method = self._session.request(
            {"op": "getattr", "target": self._ref, "name": name}, label=f"{self._label}.{name}"
        )
        return method(*args)

    def __repr__(self) -> str:
        return f"<student's {self.type_name}>"


class SandboxControl:
    """The ``sandbox`` fixture: what a test may do to the sandbox itself."""

    def __init__(self, session: StudentSession) -> None:
        self._session = session

    def restart(self) -> None:
        """Load the student's code in a fresh process; scratch files stay."""
        self._session.restart()

    def files(self) -> dict[str, int]:
        """Files the student's code wrote (relative path -> size), read as data.

        Symbolic links are listed with size -1 and never followed; folders
        nested deeper than the scratch quota allows are not listed."""
        found: dict[str, int] = {}
        entries = trees.walk(self._session.scratch)
        with contextlib.closing(entries), contextlib.suppress(TooDeep):
            for entry in entries:
                if stat.S_ISLNK(entry.info.st_mode):
                    found[entry.path] = -1
                elif not stat.S_ISDIR(entry.info.st_mode):
                    found[entry.path] = entry.info.st_size
        return found


class StudentProxy:
    """The ``student`` fixture: ``student.relu(x)`` calls the student's ``relu``."""

    def __init__(self, session: StudentSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Remote:
        if name.startswith("_"):
            raise AttributeError(name)
        return Remote(self._session, {"$global": name}, "function", 0, label=f"`{name}`")
