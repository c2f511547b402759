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
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ray
import ray.exceptions

from grader import devices
from grader.assignments import Assignment
from grader.errors import GraderError
from grader.runners import MAX_TRIES, Outcome, SlotStats
from grader.runners.slot import Setup, pack
from grader.submissions import Submission
from grader.texts import one_line

READY_SECONDS = 600
"""how long actors may take to start (import TensorFlow, twice) before the
batch goes on without the ones that are not ready"""


class _SlotActor:
    """One slot: a slot server process, fed one submission at a time."""

    def __init__(self, setup: Setup, gpu_share: int) -> None:
        context = ray.get_runtime_context()
        gpus = [str(g) for g in ray.get_gpu_ids()]
        where = f"{context.get_node_id()[:8]}-{(context.get_actor_id() or '')[:6]}"
        if gpus:
            slot = devices.gpu_slot(",".join(gpus), gpu_share, f"ray-{where}-gpu{gpus[0]}")
        else:
            slot = devices.Slot(f"ray-{where}", {"CUDA_VISIBLE_DEVICES": ""})
        package = str(Path(__file__).resolve().parents[2])
        self._process = subprocess.Popen(
            [sys.executable, "-m", "grader.runners.slot"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": package, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        self._send(dataclasses.replace(setup, slot=slot))
        self.slot = slot

    def _send(self, value: Any) -> None:
        assert self._process.stdin is not None
        pickle.dump(value, self._process.stdin)
        self._process.stdin.flush()

    def _receive(self) -> Any:
        assert self._process.stdout is not None
        try:
            return pickle.load(self._process.stdout)
        except EOFError:
            raise RuntimeError("the slot's grading server died") from None

    def ready(self) -> tuple[str, str, dict[str, str]]:
        """The slot's name, why its sandboxes are weaker ("" if they are not),
        and the device settings its sandboxes get."""
        word, problem = self._receive()
        assert word == "ready"
        return self.slot.name, str(problem), self.slot.env

    def grade(self, submission: Submission) -> Outcome:
        self._send(("grade", submission))
        outcome: Outcome = self._receive()
        return outcome

    def stats(self) -> SlotStats:
        self._send(("stats",))
        stats: SlotStats = self._receive()
        return stats


class RayRunner:
    """Slots as Ray actors: ``jobs`` of them on CPUs, or ``gpu_share`` per
    GPU where the cluster has GPUs."""

    def __init__(
        self,
        assignment: Assignment,
        suite_version: str,
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
        data = Path(assignment.limits.data) if assignment.limits.data else None
        setup = Setup(
            assignment,
            suite_version,
            devices.Slot("unplaced"),
            pack(assignment.solution_dir),
            pack(data) if data else None,
            reference_cache,
        )
        setup_ref = ray.put(setup)
        actor = ray.remote(num_cpus=1, num_gpus=per_actor, max_restarts=0)(_SlotActor)
        self._actors: list[Any] = [actor.remote(setup_ref, gpu_share) for _ in range(count)]
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
                _, problem, _ = ray.get(ref)
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

    def grade(self, todo: Sequence[Submission]) -> Iterator[Outcome]:
        queue = collections.deque(todo)
        tries: collections.Counter[str] = collections.Counter()
        idle = list(self._actors)
        running: dict[Any, tuple[Any, Submission]] = {}
        while queue or running:
            while queue and idle:
                actor, submission = idle.pop(), queue.popleft()
                tries[submission.student] += 1
                running[actor.grade.remote(submission)] = (actor, submission)
            if not running:
                raise GraderError(
                    f"every Ray slot is gone, {len(queue)} submission(s) not graded: "
                    "the grades so far are kept; run the same command again to finish"
                )
            [ref], _ = ray.wait(list(running), num_returns=1)
            actor, submission = running.pop(ref)
            try:
                outcome: Outcome = ray.get(ref)
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
                    self._stats.append(ray.get(ref))
                except ray.exceptions.RayError:
                    continue
        return self._stats

    def close(self) -> None:
        for actor in self._actors:
            with contextlib.suppress(ray.exceptions.RayError):
                ray.kill(actor)
        if self._owns_ray:
            ray.shutdown()
