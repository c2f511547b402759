"""The ``ray`` backend: runner slots as Ray actors, on a cluster or on a
local Ray instance (``pip install .[ray]``; nothing else imports Ray).

Each actor is one slot. It starts a slot server (``grader.runners.slot``)
with the hidden suite, the solution and the course data the driver sent
through Ray's object store, and the device Ray gave it: on GPU nodes an
actor asks for ``1/gpu_share`` of a GPU and its sandboxes see only the
``CUDA_VISIBLE_DEVICES`` Ray assigns. The runner loop hands each idle
actor one submission at a time; when an actor or its node dies, its try
has no result and the loop gives the submission to another actor, so every
grade is recorded once. Grades, reports and the gradebook stay with the
driver.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
import ray.exceptions

from grader import devices, jsontext
from grader.assignments import Assignment
from grader.errors import GraderError, UsageError
from grader.runners import Isolation, Outcome, RunnerSetup, SlotStats
from grader.runners import slot as slot_server
from grader.runners.slot import Request, Verb, pack
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
        """``setup``: a ``Setup``'s JSON without its device, which is this actor's."""
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

    def _request(self, body: dict[str, Any], blobs: tuple[bytes, ...] = ()) -> None:
        assert self._process.stdin is not None
        slot_server.send(self._process.stdin, body, blobs)

    def _reply(self) -> str:
        assert self._process.stdout is not None
        try:
            body, _ = slot_server.receive(self._process.stdout)
        except EOFError:
            raise RuntimeError("the slot's grading server died") from None
        return jsontext.dumps(body)

    def ready(self) -> str:
        """What the slot's sandboxes lack, as an ``Isolation``'s JSON text."""
        return self._reply()

    def grade(self, request: str) -> str:
        """One try at a submission (a ``Request``'s JSON text): its ``Outcome``
        as JSON text."""
        self._request(Request.from_json(json.loads(request)).to_json())
        return self._reply()

    def stats(self) -> str:
        self._request(Request(Verb.STATS).to_json())
        return self._reply()


def start(setup: RunnerSetup) -> RayRunner:
    """The ``ray`` backend: on ``setup.address``'s cluster, or a local Ray instance."""
    return RayRunner(
        setup.assignment,
        jobs=setup.jobs,
        address=setup.address,
        gpu_share=setup.gpu_share,
        reference_cache=setup.reference_cache is not None,
        echo=setup.echo,
    )


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
        echo: Callable[[str], None] = print,
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
        }  # a Setup's JSON, but for the device: each actor's own
        blobs = [pack(assignment.solution_dir)]
        if data is not None:
            blobs.append(pack(assignment.root / data))
        setup_ref, blobs_ref = ray.put(setup), ray.put(blobs)
        actor = ray.remote(num_cpus=1, num_gpus=per_actor, max_restarts=0)(_SlotActor)
        self._actors: list[Any] = [
            actor.remote(setup_ref, blobs_ref, gpu_share) for _ in range(count)
        ]
        self._idle: list[Any] = []
        self._running: dict[Any, tuple[Any, Submission]] = {}
        """a try's reference -> the actor grading it, and its submission"""
        self._stats: list[SlotStats] = []
        where = f"{gpus} GPU(s), {gpu_share} per GPU" if gpus else "CPUs"
        echo(f"grading on Ray: {count} slot(s) on {where}")

    def wait_ready(self) -> list[Isolation]:
        """Wait for the actors; go on with those ready in ``READY_SECONDS``.
        What each one's sandboxes lack is what it found on its own node."""
        pending = {actor.ready.remote(): actor for actor in self._actors}
        ready, late = ray.wait(list(pending), num_returns=len(pending), timeout=READY_SECONDS)
        found, alive = [], []
        for ref in ready:
            try:
                found.append(Isolation.from_json(json.loads(ray.get(ref))))
            except ray.exceptions.RayError as err:
                self.echo(one_line(f"a Ray slot failed to start: {err}"))
                continue
            alive.append(pending[ref])
        for ref in late:
            ray.kill(pending[ref])
        if not alive:
            raise GraderError("no Ray slot could start: see the Ray logs of the cluster")
        if late:
            self.echo(f"{len(late)} Ray slot(s) not ready after {READY_SECONDS}s: grading without")
        self._actors = alive
        self._idle = list(alive)
        return found

    def free(self) -> int:
        return len(self._idle)

    def send(self, submission: Submission, suite: Suite) -> None:
        """Hand ``submission`` to an idle actor, with the call deadlines the
        driver measured; its slot server loaded its own suite from the files
        shipped to it."""
        actor = self._idle.pop()
        request = jsontext.dumps(Request(Verb.GRADE, submission, suite.call_deadlines).to_json())
        self._running[actor.grade.remote(request)] = (actor, submission)

    def receive(self) -> list[Outcome]:
        """The tries that ended; an actor that died (or its node) is dropped,
        and its try has no result."""
        if not self._running:
            return []
        ended, _ = ray.wait(list(self._running), num_returns=1, timeout=1.0)
        outcomes = []
        for ref in ended:
            actor, submission = self._running.pop(ref)
            try:
                outcomes.append(Outcome.from_json(json.loads(ray.get(ref))))
            except ray.exceptions.RayError as err:  # the actor or its node died
                self._actors.remove(actor)
                self.echo(one_line(f"a Ray slot died while grading {submission.student}"))
                outcomes.append(Outcome(submission, None, f"its Ray slot died: {err}"))
                continue
            self._idle.append(actor)
        return outcomes

    def stats(self) -> list[SlotStats]:
        if not self._stats:
            refs = [actor.stats.remote() for actor in self._actors]
            for ref in refs:
                try:
                    self._stats.append(SlotStats.from_json(json.loads(ray.get(ref))))
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
