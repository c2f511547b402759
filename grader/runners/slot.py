"""One Ray slot's grading server: a clean process an actor starts, which
grades the submissions the actor passes it with a one-job ``LocalRunner``.

It exists because a Ray worker runs threads (gRPC, Ray's core) and a
process with threads should not fork: this one has none when it forks its
grading processes. It talks to its actor with JSON frames on stdin and
stdout (never pickle: results carry text student code wrote), and dies
with the actor.

Its private folder holds the hidden suite, the solution and the course
data, as the driver sent them: readable by its grading processes, never
mounted into a sandbox (the same footing as ``solutions/`` on the driver).
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from grader import archives, assignments, jsontext
from grader.assignments import Assignment
from grader.devices import Device
from grader.runners.local import LocalRunner, preload_tensorflow
from grader.sandbox.common import die_with_parent
from grader.submissions import Submission
from grader.suite import load as load_suite
from grader.workdir import RunDir


@dataclass(frozen=True)
class Setup:
    """The first frame an actor sends: what to grade, and where. Its blobs
    are the solution folder's tar, then the course data folder's (if any)."""

    assignment: str
    data: str | None
    """the data folder's place in the course, where it is unpacked"""
    reference_cache: bool
    """keep reference data in the slot, for the run"""
    device: Device

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Setup:
        device = data["device"]
        return cls(
            str(data["assignment"]),
            None if data["data"] is None else str(data["data"]),
            bool(data["reference_cache"]),
            Device(str(device["name"]), dict(device["env"]), bool(device["gpu"])),
        )


class Verb(enum.StrEnum):
    """What an actor may ask of its slot server once it is set up; the
    server answers ``Setup`` with the slot's ``Isolation``."""

    GRADE = "grade"
    """one try at a submission; the answer is its ``Outcome``"""
    STATS = "stats"
    """what the slot did so far; the answer is its ``SlotStats``"""


@dataclass(frozen=True)
class Request:
    """One verb, with the submission ``GRADE`` needs and the driver's call
    deadlines for it (``Suite.call_deadlines``, measured by the driver)."""

    verb: Verb
    submission: Submission | None = None
    deadlines: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        submission = None if self.submission is None else self.submission.to_json()
        return {
            "verb": self.verb.value,
            "submission": submission,
            "deadlines": dict(self.deadlines),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        verb, submission = Verb(data["verb"]), data["submission"]
        if (verb is Verb.GRADE) != (submission is not None):
            raise ValueError(f"{verb} with submission {submission is not None}")
        deadlines = {str(k): float(v) for k, v in data.get("deadlines", {}).items()}
        return cls(
            verb, None if submission is None else Submission.from_json(submission), deadlines
        )


def send(stream: IO[bytes], body: dict[str, Any], blobs: tuple[bytes, ...] = ()) -> None:
    """One frame: a JSON line (the body and the blobs' sizes), then the blobs.

    JSON, never pickle: results carry text that student code wrote, and a
    frame is only ever parsed as data."""
    header = {"body": body, "blobs": [len(b) for b in blobs]}
    stream.write(jsontext.dumps(header).encode() + b"\n")
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def receive(stream: IO[bytes]) -> tuple[dict[str, Any], list[bytes]]:
    """The next frame; EOFError when the other side closed the pipe."""
    line = stream.readline()
    if not line:
        raise EOFError
    header = json.loads(line)
    return header["body"], [stream.read(int(size)) for size in header["blobs"]]


def pack(folder: Path) -> bytes:
    """A folder as an uncompressed tar, for the object store."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" not in path.parts:
                archive.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def _unpack(data: bytes, folder: Path) -> None:
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archives.extract(archive, folder)


def _installed(setup: Setup, blobs: list[bytes], private: Path) -> Assignment:
    """The assignment, loaded from its files unpacked in ``private`` (mode 0700):
    ``solutions/NAME/`` and, at the same place in the course, its data folder."""
    _unpack(blobs[0], private / "solutions" / setup.assignment)
    if setup.data is not None:
        _unpack(blobs[1], private / setup.data)
    return assignments.load(private, setup.assignment)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """Set up from the first frame (a ``Setup``), answer with the slot's
    ``Isolation``, then answer each ``Request`` until the actor closes the pipe."""
    body, blobs = receive(requests)
    setup = Setup.from_json(body)
    private = Path(tempfile.mkdtemp(prefix="tfgrade-slot-"))
    run_dir = RunDir.create()
    runner: LocalRunner | None = None
    try:
        assignment = _installed(setup, blobs, private)
        runner = LocalRunner(
            assignment,
            [setup.device],
            run_dir,
            jobs=1,
            reference_cache=private / "reference-cache" if setup.reference_cache else None,
        )
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the reference runs on the CPU, as locally
        preload_tensorflow()
        # once, as the driver does: forks inherit it and pytest's imports
        suite = load_suite(assignment)
        gc.freeze()
        [isolation] = runner.wait_ready()
        send(replies, isolation.to_json())
        while True:
            try:
                body, _ = receive(requests)
            except EOFError:
                return
            request = Request.from_json(body)
            match request.verb:
                case Verb.GRADE:
                    assert request.submission is not None  # as from_json checked
                    timed = dataclasses.replace(suite, call_deadlines=request.deadlines)
                    runner.send(request.submission, timed)
                    while not (ended := runner.receive()):
                        continue
                    [outcome] = ended  # one try: the driver's loop retries
                    send(replies, outcome.to_json())
                case Verb.STATS:
                    stats = dataclasses.replace(runner.stats()[0], name=setup.device.name)
                    send(replies, stats.to_json())
    finally:
        if runner is not None:
            runner.close()
        run_dir.remove()
        shutil.rmtree(private, ignore_errors=True)


def main() -> None:
    die_with_parent()
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else prints goes to the log, never into the frames
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
