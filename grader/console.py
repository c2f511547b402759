"""What a grading run prints for staff: a line per submission, progress,
and the lines that end the run."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import tqdm

from grader.outdir import OutDir
from grader.policy.adjustments import explanation
from grader.policy.regrades import ScoreChange
from grader.results import REFUSAL_KINDS, Audience, SubmissionResult, Verdict
from grader.texts import one_line

if TYPE_CHECKING:
    from grader.batch import BatchSummary


def summary_line(result: SubmissionResult) -> str:
    """One line per submission: score, percentage, verdict counts, time, and
    what changed the score besides the tests."""
    counts = collections.Counter(t.verdict for t in result.tests)
    parts = [f"{counts[v]} {v.value}" for v in Verdict if counts[v]]
    unreadable = [n.message for n in result.notices if n.kind in REFUSAL_KINDS]
    verdicts = f"not graded: {unreadable[0][:70]}" if unreadable else ", ".join(parts)
    why = explanation(result, Audience.STAFF)
    return one_line(
        f"{result.student:<16} {result.score:6g}/{result.max_score:<6g} {result.percent:5.1f}%  "
        f"{verdicts:<44} {result.execution_time:5.1f}s" + (f"  ({why})" if why else "")
    )


def summary_lines(assignment: str, summary: BatchSummary, out: OutDir) -> list[str]:
    """The end of a run, for the console: how many students were found,
    graded, unchanged and refused (and why), and what was ignored."""
    refused = collections.Counter(
        next(n.kind for n in r.notices if n.kind in REFUSAL_KINDS) for r in summary.refused
    )
    why = ", ".join(f"{count} {kind}" for kind, count in sorted(refused.items()))
    lines = [
        f"{assignment}: found {summary.found}, graded {len(summary.graded) - len(summary.refused)}"
        f", unchanged since last run {len(summary.skipped)}, refused {len(summary.refused)}"
        + (f" ({why})" if why else "")
        + f"; reports in {out.assignment(assignment)}/"
    ]
    if summary.ignored:
        shown_names = ", ".join(summary.ignored[:10])
        more = f" and {len(summary.ignored) - 10} more" if len(summary.ignored) > 10 else ""
        lines.append(f"ignored {len(summary.ignored)} entries: {shown_names}{more}")
    if summary.changes:
        lines.append(f"scores changed by the new suite version ({len(summary.changes)}):")
        lines += [change_line(change) for change in summary.changes]
    if summary.policy_applied:
        lines.append(
            f"policy changed: adjustments made again for {len(summary.policy_applied)} "
            f"unchanged submission(s), no test run again; scores changed "
            f"({len(summary.policy_changes)})" + (":" if summary.policy_changes else "")
        )
        lines += [change_line(change) for change in summary.policy_changes]
    if summary.untimed:
        lines.append(
            f"no submission time for {len(summary.untimed)} (nothing taken off for lateness; "
            f"see docs/instructors/grades-and-policy.md): {', '.join(summary.untimed[:10])}"
            + (" ..." if len(summary.untimed) > 10 else "")
        )
    return [one_line(line) for line in lines]


def change_line(change: ScoreChange) -> str:
    """``  ~ alice  7/10 -> 9/10  (tests: test_a, test_b)``"""
    tests = ", ".join(change.tests[:6]) + (" ..." if len(change.tests) > 6 else "")
    return (
        f"  ~ {change.student:<16} {change.old_score:g}/{change.old_max:g} -> "
        f"{change.new_score:g}/{change.new_max:g}" + (f"  (tests: {tests})" if tests else "")
    )


class Progress:
    """A progress bar on a terminal; where there is none (a CI log), lines
    about every tenth of the batch: done of total, rate and time left."""

    def __init__(self, total: int, *, bar: bool, echo: Callable[[str], None]) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.every = max(10, total // 10)  # short batches need no progress lines
        self.lines = not bar
        self._bar = tqdm.tqdm(total=total, disable=not bar, unit="submission", leave=False)
        self.echo: Callable[[str], None] = tqdm.tqdm.write if bar else echo
        """prints a line above the bar, if there is one"""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_: object) -> None:
        self._bar.close()

    def step(self) -> None:
        """One more submission done."""
        self.done += 1
        self._bar.update()
        if self.lines and not self.done % self.every and self.done != self.total:
            rate = self.done / max(time.monotonic() - self.started, 1e-9)
            left = (self.total - self.done) / rate
            self.echo(
                f"progress: {self.done}/{self.total}, {rate:.2f} submissions/s, "
                f"about {left:.0f}s left"
            )
