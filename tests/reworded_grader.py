"""``python -m tests.reworded_grader ARGS``: the ``grader`` command with every
student-facing message and hint replaced by "xxx" where the records are made.

``tests/test_vocabulary.py`` grades a class with it and without it: the
class summary's flags must not change, since they are read from typed
fields, never from the wording of a message.
"""

from __future__ import annotations

from typing import Any

from grader import results
from grader.cli import main

REWORDED = "xxx"


def _reword(record: type[Any], *fields: str) -> None:
    made = record.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        for name in fields:
            if getattr(self, name):
                object.__setattr__(self, name, REWORDED)

    record.__init__ = __init__


if __name__ == "__main__":  # only then: importing REWORDED must change nothing
    _reword(results.TestResult, "message", "hint")
    _reword(results.Notice, "message")
    main()
