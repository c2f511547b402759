"""One short line that explains a final score: what the tests gave, each
staff override and the late penalty with its reason, and what is left.

Every output that shows a score beside its tests builds its line here (the
console, the CI summary and JUnit, Gradescope's output, the student report
and the class page), from the result's typed fields, so none can hide an
adjustment or word it differently.
"""

from __future__ import annotations

from collections.abc import Container

from grader.results import Audience, Override, Penalty, SubmissionResult, TimeSource


def adjusted(result: SubmissionResult) -> bool:
    """Something besides the tests decided the score (an override, a late
    penalty), or the late policy had no submission time to go by."""
    penalty = result.penalty
    return bool(result.overrides) or (
        penalty is not None and (penalty.points > 0 or penalty.source is None)
    )


def explanation(
    result: SubmissionResult,
    audience: Audience,
    *,
    named: Container[str] | None = None,
    points: bool = True,
) -> str:
    """``tests 35/36; late -7: <reason> (...); final 28/36``, or "" when the
    tests alone decided the score. ``named``: the tests this reader may see
    by name (None: all); ``points=False`` leaves out every number that would
    give the total away (Gradescope hides it while a test is hidden)."""
    if not adjusted(result):
        return ""
    parts = [f"tests {result.raw_score:g}/{result.max_score:g}"] if points else []
    parts += [_override(o, audience, named, points) for o in result.overrides]
    if result.penalty is not None:
        parts.append(_penalty(result.penalty, audience, points))
    if points:
        parts.append(f"final {result.score:g}/{result.max_score:g}")
    return "; ".join(p for p in parts if p)


def _override(
    override: Override, audience: Audience, named: Container[str] | None, points: bool
) -> str:
    if not override.test:
        what = "total"
    elif named is None or override.test in named:
        what = override.test
    else:
        what = "a hidden test"
    value = f" = {override.points:g}" if points else ""
    by = override.by if audience is Audience.STAFF else "course staff"
    return f"override {what}{value} by {by}: {override.reason}"


def _penalty(penalty: Penalty, audience: Audience, points: bool) -> str:
    if penalty.source is None:
        if audience is Audience.STUDENT:
            return penalty.reason
        tried = ", ".join(s.wording(Audience.STAFF) for s in TimeSource)
        return f"no late penalty: no submission time from {tried}"
    if not penalty.points:
        return ""
    taken = f"late -{penalty.points:g}" if points else f"late -{penalty.percent:g}%"
    return f"{taken}: {penalty.reason} (time: {penalty.source.wording(audience)})"
