"""One Ray slot's grading server: a clean process an actor starts, which
grades the submissions the actor passes it with a one-job ``LocalRunner``.

It exists because a Ray worker runs threads (gRPC, Ray's core) and a
process with threads should not fork: this one has none when it forks its
grading processes. It talks to its actor with pickled frames on stdin and
stdout (both sides are trusted; student code never sees this pipe), and
dies with the actor.

Its private folder holds the hidden suite, the solution and the course
data, as the driver sent them: readable by its grading processes, never
mounted into a sandbox (the same footing as ``solutions/`` on the driver).
"""

from __future__ import annotations

import dataclasses
import gc
import io
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from grader import grading
from grader.assignments import Assignment
from grader.devices import Slot
from grader.runners.local import LocalRunner, preload_tensorflow
from grader.sandbox.worker import die_with_parent
from grader.workdir import RunDir


@dataclasses.dataclass(frozen=True)
class Setup:
    """What the driver sends a slot once: the assignment, and its files."""

    assignment: Assignment
    suite_version: str
    slot: Slot
    solution: bytes
    """a tar of ``solutions/NAME/``"""
    data: bytes | None
    """a tar of the course data folder, if the assignment has one"""
    reference_cache: bool
    """keep reference data (in the slot's private folder, for this run)"""


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
        archive.extractall(folder, filter="data")


def _installed(setup: Setup, private: Path) -> Assignment:
    """The assignment with its files in ``private`` (mode 0700)."""
    name = setup.assignment.name
    _unpack(setup.solution, private / "solutions" / name)
    limits = setup.assignment.limits
    if setup.data is not None:
        _unpack(setup.data, private / "data")
        limits = dataclasses.replace(limits, data=str(private / "data"))
    return dataclasses.replace(setup.assignment, root=private, limits=limits)


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Set up from the first frame, say ``("ready", problem)``, then answer
    ``("grade", submission)`` with an ``Outcome`` and ``("stats",)`` with the
    slot's ``SlotStats``, until the actor closes the pipe."""
    setup: Setup = pickle.load(requests)
    private = Path(tempfile.mkdtemp(prefix="tfgrade-slot-"))
    run_dir = RunDir.create()
    runner: LocalRunner | None = None
    try:
        assignment = _installed(setup, private)
        runner = LocalRunner(
            assignment,
            setup.suite_version,
            [setup.slot],
            run_dir,
            jobs=1,
            reference_cache=private / "reference-cache" if setup.reference_cache else None,
            echo=lambda _: None,
        )
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the reference runs on the CPU, as locally
        preload_tensorflow()
        grading.suite_tests(assignment)  # as the local driver does: forks inherit the reference
        gc.freeze()
        _reply(replies, ("ready", runner.wait_ready()))
        while True:
            try:
                request: tuple[Any, ...] = pickle.load(requests)
            except EOFError:
                return
            if request[0] == "grade":
                _reply(replies, next(iter(runner.grade([request[1]]))))
            else:
                stats = runner.stats()[0]
                _reply(replies, dataclasses.replace(stats, name=setup.slot.name))
    finally:
        if runner is not None:
            runner.close()
        run_dir.remove()
        shutil.rmtree(private, ignore_errors=True)


def _reply(stream: BinaryIO, value: Any) -> None:
    pickle.dump(value, stream)
    stream.flush()


def main() -> None:
    die_with_parent()
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else prints goes to the log, never into the frames
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
