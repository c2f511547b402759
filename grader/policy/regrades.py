"""What a regrade changed: a student's score before and after, and the tests
whose outcome differs (points or verdict; tests added to or removed from
the suite count as changed)."""

from __future__ import annotations

from dataclasses import dataclass

from grader.results import SubmissionResult


@dataclass(frozen=True)
class ScoreChange:
    student: str
    old_score: float
    old_max: float
    new_score: float
    new_max: float
    tests: tuple[str, ...]
    """names of the tests whose points or verdict changed, in suite order"""


def compare(old: SubmissionResult, new: SubmissionResult) -> ScoreChange | None:
    """The change from ``old`` to ``new``, or None when nothing a student sees changed."""
    before = {t.name: (t.verdict, t.score) for t in old.tests}
    after = {t.name: (t.verdict, t.score) for t in new.tests}
    changed = [t.name for t in new.tests if before.get(t.name) != after[t.name]]
    changed += [name for name in before if name not in after]
    if not changed and (old.score, old.max_score) == (new.score, new.max_score):
        return None
    return ScoreChange(
        new.student, old.score, old.max_score, new.score, new.max_score, tuple(changed)
    )
