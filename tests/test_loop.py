"""The runner loop's rules, over a tiny in-process backend: a failed try is
tried again until ``MAX_TRIES``, a slot that died takes no more work, a
batch with no slot left stops; the isolation reported and required is what
each slot found. And a real slot server (the process a Ray actor starts)
reports its own isolation, which its results record."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from grader.devices import Device
from grader.errors import GraderError
from grader.results import SubmissionResult
from grader.runners import Isolation, Outcome, SlotStats, loop
from grader.runners.loop import MAX_TRIES, check_isolation
from grader.runners.slot import Request, Setup, Verb, pack, receive, send
from grader.submissions import Found, Submission, read_submission
from grader.suite import Suite
from tests.helpers import REPO, isolation_problem, made_result, tensors

ANY_SUITE = cast(Suite, object())
"""what the loop hands to ``send`` untouched; the scripted runner never reads it"""


def submission(student: str) -> Submission:
    return Submission(student, Path(f"{student}.py"), (), "ab" * 32, ())


class Scripted:
    """A backend whose slots grade at once, in this process: a student's
    first ``failures[student]`` tries give no result, and a slot named in
    ``dies`` dies on its first submission (and is gone after)."""

    def __init__(self, slots: list[str], failures: dict[str, int], dies: set[str]) -> None:
        self.idle = list(slots)
        self.failures = collections.Counter(failures)
        self.dies = dies
        self.ended: list[Outcome] = []
        self.sent: list[tuple[str, str]] = []
        """(student, slot) for every try"""

    def wait_ready(self) -> list[Isolation]:
        return [Isolation() for _ in self.idle]

    def free(self) -> int:
        return len(self.idle)

    def send(self, submission: Submission, suite: Suite) -> None:
        slot = self.idle.pop(0)
        student = submission.student
        self.sent.append((student, slot))
        if slot in self.dies:
            self.ended.append(Outcome(submission, None, f"slot {slot} died", slot))
            return
        self.idle.append(slot)
        if self.failures[student]:
            self.failures[student] -= 1
            self.ended.append(Outcome(submission, None, f"try failed on {slot}", slot))
        else:
            self.ended.append(Outcome(submission, made_result(student, []), "", slot))

    def receive(self) -> list[Outcome]:
        ended, self.ended = self.ended, []
        return ended

    def stats(self) -> list[SlotStats]:
        return []

    def close(self) -> None:
        self.idle = []


def graded(runner: Scripted, students: list[str]) -> tuple[dict[str, Outcome], list[str]]:
    """Every outcome the loop yields, by student (each exactly once), and what it said."""
    said: list[str] = []
    outcomes: dict[str, Outcome] = {}
    todo = [submission(s) for s in students]
    for outcome in loop.grade(runner, todo, ANY_SUITE, echo=said.append):
        assert outcome.submission.student not in outcomes
        outcomes[outcome.submission.student] = outcome
    assert sorted(outcomes) == sorted(students)
    return outcomes, said


def test_a_failed_try_is_tried_again_until_max_tries() -> None:
    runner = Scripted(["a"], failures={"flaky": 1, "broken": 99}, dies=set())
    outcomes, said = graded(runner, ["ok", "flaky", "broken"])
    assert outcomes["ok"].result is not None and outcomes["flaky"].result is not None
    assert outcomes["broken"].result is None
    assert outcomes["broken"].staff_details == "try failed on a"
    tries = collections.Counter(student for student, _ in runner.sent)
    assert tries == {"ok": 1, "flaky": 2, "broken": MAX_TRIES}
    assert [line.split()[0] for line in said] == ["flaky", "broken"]
    assert all(line.endswith("grading failed on our side; trying again") for line in said)


def test_a_dead_slot_gets_no_more_work_and_its_submission_goes_to_another() -> None:
    runner = Scripted(["dies", "lives"], failures={}, dies={"dies"})
    outcomes, said = graded(runner, ["ada", "ben", "cleo"])
    assert all(o.result is not None and o.slot == "lives" for o in outcomes.values())
    assert [slot for _, slot in runner.sent].count("dies") == 1
    assert len(said) == 1


def test_no_slot_left_stops_the_batch() -> None:
    runner = Scripted(["dies"], failures={}, dies={"dies"})
    outcomes: Iterator[Outcome] = loop.grade(runner, [submission("ada")], ANY_SUITE, echo=print)
    with pytest.raises(GraderError, match="every runner slot is gone, 1 submission"):
        list(outcomes)


def test_the_isolation_checked_is_every_slots_own() -> None:
    """Each slot's problems and notes are said once, whichever slot found
    them; ``--require-isolation`` refuses on any slot's problem."""
    full = Isolation()
    weak = Isolation(("no namespaces on node b",), ("no writable cgroup",))
    said: list[str] = []
    check_isolation([full, weak, weak], require=False, echo=said.append)
    assert said == [
        "note: no writable cgroup",
        "warning: sandboxes run with weaker isolation: no namespaces on node b "
        "(recorded in each result)",
    ]
    with pytest.raises(GraderError, match=r"--require-isolation: .* no namespaces on node b"):
        check_isolation([full, weak], require=True, echo=said.append)
    check_isolation([full, full], require=True, echo=said.append)


def test_records_cross_as_json() -> None:
    """What crosses between processes is JSON text, read back equal."""
    found = Found("ada", REPO / "examples" / "submissions" / "01_tensors" / "ada.ipynb")
    read = read_submission(found, tensors().notebook)
    outcome = Outcome(read, made_result("ada", []), "a traceback", "local-0 (cpu)")
    assert Outcome.from_json(json.loads(json.dumps(outcome.to_json()))) == outcome
    request = Request(Verb.GRADE, read)
    assert Request.from_json(json.loads(json.dumps(request.to_json()))) == request
    with pytest.raises(ValueError):
        Request.from_json({"verb": "grade", "submission": None})
    isolation = Isolation(("a",), ("b",))
    assert Isolation.from_json(json.loads(json.dumps(isolation.to_json()))) == isolation


@pytest.mark.slow
def test_a_slot_server_reports_its_own_isolation_and_its_results_record_it() -> None:
    """The slot server a Ray actor starts, over its pipes, without Ray:
    the isolation it reports is its own zygote's, and so is the level its
    result records."""
    assignment = tensors()
    server = subprocess.Popen(
        [sys.executable, "-m", "grader.runners.slot"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        device = Device("cpu", {"CUDA_VISIBLE_DEVICES": ""})
        setup = Setup(assignment.name, None, False, device)
        send(server.stdin, setup.to_json(), (pack(assignment.solution_dir),))
        isolation = Isolation.from_json(receive(server.stdout)[0])
        problem = isolation_problem()
        assert isolation.problems[:1] == ((problem,) if problem else ())
        path = REPO / "solutions" / "01_tensors" / "01_tensors.ipynb"
        reference = read_submission(Found("reference", path), assignment.notebook)
        send(server.stdin, Request(Verb.GRADE, reference).to_json())
        outcome = Outcome.from_json(receive(server.stdout)[0])
        assert isinstance(outcome.result, SubmissionResult), outcome.staff_details
        assert outcome.result.score == outcome.result.max_score > 0
        assert outcome.result.isolation.startswith("process" if problem else "namespaces")
        send(server.stdin, Request(Verb.STATS).to_json())
        stats = SlotStats.from_json(receive(server.stdout)[0])
        assert (stats.name, stats.graded) == ("cpu", 1)
    finally:
        server.stdin.close()
        server.wait(timeout=60)
