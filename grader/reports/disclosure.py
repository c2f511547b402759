"""Disclosure: what a student's report may show of each test, by its
visibility, at a given time ("release" is only ``grader release``, which
writes the student notebook).

Rendering is a pure function of its inputs: the caller says what time it
is (``now``), when the assignment is due and whether grades are
published, and :class:`Disclosure` decides. Nothing here reads a clock.

Visibility values are Gradescope's:

- ``visible``: everything (verdict, points, message, comparison, curves,
  traceback, hint, printed output).
- ``after_due_date``: verdict and points always; the rest once ``now`` is
  at or after the due date, or once grades are published. An assignment
  without a due date keeps it back until grades are published.
- ``after_published``: verdict and points always; the rest once grades are
  published.
- ``hidden`` (and any value we do not know, so a typo fails closed): only
  that a hidden test exists and the points it is worth; never its name,
  verdict, message, preview, traceback, hint or printed output.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from grader.results import Visibility


def _aware(moment: dt.datetime) -> dt.datetime:
    """A naive time is taken as UTC (TOML dates without an offset are naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Disclosure:
    """What is disclosed to students at the time a report is rendered.

    The default (no ``now``, no ``due``, not published) shows only
    ``visible`` tests in full: what a report may show when nothing is known.
    """

    now: dt.datetime | None = None
    due: dt.datetime | None = None
    published: bool = False

    @classmethod
    def at(
        cls, now: dt.datetime, due: dt.datetime | None, *, published: bool = False
    ) -> Disclosure:
        return cls(now=_aware(now), due=None if due is None else _aware(due), published=published)

    @property
    def due_passed(self) -> bool:
        if self.now is None or self.due is None:
            return False
        return _aware(self.now) >= _aware(self.due)

    def is_hidden(self, visibility: str) -> bool:
        """Whether a test is shown only as "a hidden test worth N points"."""
        return visibility not in (
            Visibility.VISIBLE,
            Visibility.AFTER_DUE_DATE,
            Visibility.AFTER_PUBLISHED,
        )

    def shows_details(self, visibility: str) -> bool:
        """Whether a test's message, comparison, curves, traceback, hint and
        output may be shown now."""
        if visibility == Visibility.VISIBLE:
            return True
        if visibility == Visibility.AFTER_DUE_DATE:
            return self.due_passed or self.published
        if visibility == Visibility.AFTER_PUBLISHED:
            return self.published
        return False

    def held_until(self, visibility: str) -> str:
        """For a test whose details are held back: until when, in words."""
        if visibility == Visibility.AFTER_DUE_DATE:
            if self.due is not None:
                return f"the due date ({format_time(self.due)})"
            if self.now is None:
                return "the due date"
            return "grades are published (this assignment has no due date)"
        return "grades are published"


def format_time(moment: dt.datetime) -> str:
    """``2026-12-01 23:59 UTC``: unambiguous for students anywhere."""
    return _aware(moment).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
