"""The ``ray`` backend: runner slots as Ray actors, on a cluster or on a
local Ray instance (``pip install .[ray]``; nothing else imports Ray).

Each actor is one slot. It starts a slot server (``grader.runners.slot``)
with the hidden suite, the solution and the course data the driver sent
through Ray's object store, and the device Ray gave it: on GPU nodes an
actor asks for ``1/gpu_share`` of a GPU and its sandboxes see only the
``CUDA_VISIBLE_DEVICES`` Ray assigns. The driver hands each idle actor one
submission at a time; when an actor or its node dies, the submission goes
to another actor (at most ``MAX_TRIES`` times), so every grade is recorded
once. Grades, reports and the gradebook stay with the driver.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ray
import ray.exceptions

from grader import devices, jsontext
from grader.assignments import Assignment
from grader.errors import GraderError, UsageError
from grader.runners import MAX_TRIES, Outcome, SlotStats
from grader.runners import slot as slot_server
from grader.runners.slot import pack
from grader.submissions import Submission
from grader.suite import Suite
from grader.texts import one_line

READY_SECONDS = 600
"""how long actors may take to start (import TensorFlow, twice) before the
batch goes on without the ones that are not ready"""


class _SlotActor:
    """One slot: a slot server process, fed one submission at a time. What
    crosses to the driver is JSON text, parsed there as data."""

    def __init__(self, setup: dict[str, Any], blobs: list[bytes], gpu_share: int) -> None:
        context = ray.get_runtime_context()
        gpus = [str(g) for g in ray.get_gpu_ids()]
        where = f"{context.get_node_id()[:8]}-{(context.get_actor_id() or '')[:6]}"
        if gpus:
            device = devices.gpu_device(",".join(gpus), gpu_share, f"ray-{where}-gpu{gpus[0]}")
        else:
            device = devices.Device(f"ray-{where}", {"CUDA_VISIBLE_DEVICES": ""})
        package = str(Path(__file__).resolve().parents[2])
        self._process = subprocess.Popen(
            [sys.executable, "-m", "grader.runners.slot"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": package, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        self._request({**setup, "device": dataclasses.asdict(device)}, tuple(blobs))

    def _request(self, body: Any, blobs: tuple[bytes, ...] = ()) -> None:
        assert self._process.stdin is not None
        slot_server.send(self._process.stdin, body, blobs)

    def _reply(self) -> Any:
        assert self._process.stdout is not None
        try:
            body, _ = slot_server.receive(self._process.stdout)
        except EOFError:
            raise RuntimeError("the slot's grading server died") from None
        return body

    def ready(self) -> str:
        """Why the slot's sandboxes are weaker ("" if they are not)."""
        word, problem = self._reply()
        assert word == "ready"
        return str(problem)

    def grade(self, submission: str) -> str:
        """An outcome, as JSON text, for a submission as JSON text."""
        self._request(["grade", json.loads(submission)])
        return jsontext.dumps(self._reply())

    def stats(self) -> str:
        self._request(["stats"])
        return jsontext.dumps(self._reply())


class RayRunner:
    """Slots as Ray actors: ``jobs`` of them on CPUs, or ``gpu_share`` per
    GPU where the cluster has GPUs."""

    def __init__(
        self,
        assignment: Assignment,
        *,
        jobs: int,
        address: str | None,
        gpu_share: int,
        reference_cache: bool,
        echo: Any = print,
    ) -> None:
        self.echo = echo
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray and address:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        elif self._owns_ray:
            ray.init(
                num_cpus=jobs,
                include_dashboard=False,
                logging_level=logging.ERROR,
                log_to_driver=False,
            )
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
        gpus = int(resources.get("GPU", 0))
        count, per_actor = (gpus * gpu_share, 1 / gpu_share) if gpus else (jobs, 0.0)
        data = _data_within(assignment)
        setup = {
            "assignment": assignment.name,
            "data": None if data is None else data.as_posix(),
            "reference_cache": reference_cache,
        }
        blobs = [pack(assignment.solution_dir)]
        if data is not None:
            blobs.append(pack(assignment.root / data))
        setup_ref, blobs_ref = ray.put(setup), ray.put(blobs)
        actor = ray.remote(num_cpus=1, num_gpus=per_actor, max_restarts=0)(_SlotActor)
        self._actors: list[Any] = [
            actor.remote(setup_ref, blobs_ref, gpu_share) for _ in range(count)
        ]
        self._stats: list[SlotStats] = []
        where = f"{gpus} GPU(s), {gpu_share} per GPU" if gpus else "CPUs"
        echo(f"grading on Ray: {count} slot(s) on {where}")

    def wait_ready(self) -> str:
        """Wait for the actors; go on with those ready in ``READY_SECONDS``."""
        pending = {actor.ready.remote(): actor for actor in self._actors}
        ready, late = ray.wait(list(pending), num_returns=len(pending), timeout=READY_SECONDS)
        problems, alive = set(), []
        for ref in ready:
            try:
                problem = ray.get(ref)
            except ray.exceptions.RayError as err:
                self.echo(one_line(f"a Ray slot failed to start: {err}"))
                continue
            problems.add(problem)
            alive.append(pending[ref])
        for ref in late:
            ray.kill(pending[ref])
        if not alive:
            raise GraderError("no Ray slot could start: see the Ray logs of the cluster")
        if late:
            self.echo(f"{len(late)} Ray slot(s) not ready after {READY_SECONDS}s: grading without")
        self._actors = alive
        return "; ".join(sorted(p for p in problems if p))

    def grade(self, todo: Sequence[Submission], suite: Suite) -> Iterator[Outcome]:
        """Hand ``todo`` out to the actors; each slot server loaded its own
        suite from the files shipped to it."""
        queue = collections.deque(todo)
        tries: collections.Counter[str] = collections.Counter()
        idle = list(self._actors)
        running: dict[Any, tuple[Any, Submission]] = {}
        while queue or running:
            while queue and idle:
                actor, submission = idle.pop(), queue.popleft()
                tries[submission.student] += 1
                request = jsontext.dumps(slot_server.submission_json(submission))
                running[actor.grade.remote(request)] = (actor, submission)
            if not running:
                raise GraderError(
                    f"every Ray slot is gone, {len(queue)} submission(s) not graded: "
                    "the grades so far are kept; run the same command again to finish"
                )
            [ref], _ = ray.wait(list(running), num_returns=1)
            actor, submission = running.pop(ref)
            try:
                outcome = slot_server.outcome_from_json(json.loads(ray.get(ref)))
            except ray.exceptions.RayError as err:  # the actor or its node died
                self._actors.remove(actor)
                if tries[submission.student] < MAX_TRIES:
                    self.echo(one_line(f"{submission.student:<16} its Ray slot died; trying again"))
                    queue.appendleft(submission)
                else:
                    yield Outcome(submission, None, f"its Ray slot died, twice: {err}")
                continue
            idle.append(actor)
            yield outcome

    def stats(self) -> list[SlotStats]:
        if not self._stats:
            refs = [actor.stats.remote() for actor in self._actors]
            for ref in refs:
                try:
                    self._stats.append(SlotStats(**json.loads(ray.get(ref))))
                except ray.exceptions.RayError:
                    continue
        return self._stats

    def close(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(ray.exceptions.RayError):
                ray.kill(actor)
        if self._owns_ray:
            ray.shutdown()


def _data_within(assignment: Assignment) -> Path | None:
    """The data folder's place in the course, where slots unpack it too."""
    if not assignment.limits.data:
        return None
    try:
        return Path(assignment.limits.data).relative_to(assignment.root)
    except ValueError:
        raise UsageError(
            f"--backend ray ships the course data folder to its slots, so it must be inside "
            f"the course folder; {assignment.limits.data} is not"
        ) from None
