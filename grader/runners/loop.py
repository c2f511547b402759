"""The one runner loop: the queue, the retries and the isolation the slots
must have, above whichever backend moves the submissions (as pytest-xdist's
``dsession`` sits above its schedulers)."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence

from grader.errors import GraderError
from grader.runners import Isolation, Outcome, Runner
from grader.submissions import Submission
from grader.suite import Suite
from grader.texts import one_line

MAX_TRIES = 2
"""grading processes started for one submission in one run before it is
recorded with an internal error (a crash of ours, or a slot that died, is
retried once)"""


def check_isolation(
    found: Sequence[Isolation], *, require: bool, echo: Callable[[str], None]
) -> None:
    """Say once what the slots' sandboxes lack (each slot probed where its
    sandboxes run); refuse when isolation is required and any lacks it."""
    notes = dict.fromkeys(note for isolation in found for note in isolation.notes)
    problems = dict.fromkeys(problem for isolation in found for problem in isolation.problems)
    for note in notes:
        echo(f"note: {note}")
    if problems and require:
        raise GraderError("--require-isolation: not grading, because " + "; ".join(problems))
    for problem in problems:
        echo(f"warning: sandboxes run with weaker isolation: {problem} (recorded in each result)")


def grade(
    runner: Runner,
    todo: Sequence[Submission],
    suite: Suite,
    *,
    echo: Callable[[str], None],
) -> Iterator[Outcome]:
    """Hand ``todo`` to ``runner``'s free slots, yielding one outcome per
    submission as it arrives. A try that gave no result (its grading
    process or its slot died, or the grader raised) is tried again, on any
    slot, until ``MAX_TRIES``; then its outcome has no result and the last
    try's details."""
    queue = collections.deque(todo)
    tries: collections.Counter[str] = collections.Counter()
    running = 0

    def fill() -> None:
        nonlocal running
        while queue and runner.free():
            submission = queue.popleft()
            tries[submission.student] += 1
            runner.send(submission, suite)
            running += 1

    while queue or running:
        fill()
        if not running:
            raise GraderError(
                f"every runner slot is gone, {len(queue)} submission(s) not graded: "
                "the grades so far are kept; run the same command again to finish"
            )
        ended = []
        for outcome in runner.receive():
            running -= 1
            student = outcome.submission.student
            if outcome.result is None and tries[student] < MAX_TRIES:
                echo(one_line(f"{student:<16} grading failed on our side; trying again"))
                queue.append(outcome.submission)
            else:
                ended.append(outcome)
        fill()  # the freed slots start on the next submissions while the caller records these
        yield from ended
