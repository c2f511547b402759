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
import gc
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

from grader import archives, assignments, jsontext
from grader.assignments import Assignment
from grader.devices import Device
from grader.results import Notice, SubmissionResult
from grader.runners import Outcome
from grader.runners.local import LocalRunner, preload_tensorflow
from grader.sandbox.common import die_with_parent
from grader.submissions import Cell, Submission
from grader.suite import load as load_suite
from grader.workdir import RunDir


def submission_json(submission: Submission) -> dict[str, Any]:
    return {
        "student": submission.student,
        "path": str(submission.path),
        "cells": [[cell.number, cell.source] for cell in submission.cells],
        "hash": submission.hash,
        "notices": [dataclasses.asdict(n) for n in submission.notices],
    }


def submission_from_json(data: dict[str, Any]) -> Submission:
    return Submission(
        student=data["student"],
        path=Path(data["path"]),
        cells=tuple(Cell(int(number), str(source)) for number, source in data["cells"]),
        hash=data["hash"],
        notices=tuple(Notice.from_json(n) for n in data["notices"]),
    )


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "submission": submission_json(outcome.submission),
        "result": None if outcome.result is None else outcome.result.to_json(),
        "staff_details": outcome.staff_details,
        "slot": outcome.slot,
    }


def outcome_from_json(data: dict[str, Any]) -> Outcome:
    result = data["result"]
    return Outcome(
        submission_from_json(data["submission"]),
        None if result is None else SubmissionResult.from_json(result),
        data["staff_details"],
        data["slot"],
    )


def send(stream: IO[bytes], body: Any, blobs: tuple[bytes, ...] = ()) -> None:
    """One frame: a JSON line (the body and the blobs' sizes), then the blobs.

    JSON, never pickle: results carry text that student code wrote, and a
    frame is only ever parsed as data."""
    header = {"body": body, "blobs": [len(b) for b in blobs]}
    stream.write(jsontext.dumps(header).encode() + b"\n")
    for blob in blobs:
        stream.write(blob)
    stream.flush()


def receive(stream: IO[bytes]) -> tuple[Any, list[bytes]]:
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


def _installed(setup: dict[str, Any], blobs: list[bytes], private: Path) -> Assignment:
    """The assignment, loaded from its files unpacked in ``private`` (mode 0700):
    ``solutions/NAME/`` and, at the same place in the course, its data folder."""
    name = setup["assignment"]
    _unpack(blobs[0], private / "solutions" / name)
    if setup["data"] is not None:
        _unpack(blobs[1], private / setup["data"])
    return assignments.load(private, name)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """Set up from the first frame (see ``RayRunner``), say ``["ready",
    problem]``, then answer ``["grade", submission]`` with an outcome and
    ``["stats"]`` with the slot's stats, until the actor closes the pipe."""
    setup, blobs = receive(requests)
    device = Device(setup["device"]["name"], setup["device"]["env"], setup["device"]["gpu"])
    private = Path(tempfile.mkdtemp(prefix="tfgrade-slot-"))
    run_dir = RunDir.create()
    runner: LocalRunner | None = None
    try:
        assignment = _installed(setup, blobs, private)
        runner = LocalRunner(
            assignment,
            [device],
            run_dir,
            jobs=1,
            reference_cache=private / "reference-cache" if setup["reference_cache"] else None,
            echo=lambda _: None,
        )
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the reference runs on the CPU, as locally
        preload_tensorflow()
        # once, as the driver does: forks inherit it and pytest's imports
        suite = load_suite(assignment)
        gc.freeze()
        send(replies, ["ready", runner.wait_ready()])
        while True:
            try:
                request, _ = receive(requests)
            except EOFError:
                return
            if request[0] == "grade":
                [outcome] = runner.grade([submission_from_json(request[1])], suite)
                send(replies, outcome_json(outcome))
            else:
                stats = dataclasses.replace(runner.stats()[0], name=device.name)
                send(replies, dataclasses.asdict(stats))
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
