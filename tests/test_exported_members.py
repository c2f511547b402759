"""The names hidden suites import from grader.harness are exactly its __all__."""

from __future__ import annotations

import grader.harness


def test_all_lists_every_public_name_and_nothing_else() -> None:
    public = {name for name in vars(grader.harness) if not name.startswith("_")}
    modules = {"assertions", "behaviour", "marks", "proxy", "plugin", "reference_data"}
    assert set(grader.harness.__all__) == public - modules
    for name in grader.harness.__all__:
        assert getattr(grader.harness, name) is not None
