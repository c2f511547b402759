"""Each kind of submission gets the verdicts and points its real work earns.

Submissions are in tests/files/course/submissions/, graded once through the
real CLI (zygote, sandboxes, pytest, gradebook).
"""

from __future__ import annotations

from typing import Any

import pytest

# student -> (score out of 5, verdict of each test in suite order)
EXPECTED = {
    "good": (5, ["passed", "passed", "passed", "passed"]),
    "loop": (2, ["timeout", "timeout", "passed", "passed"]),
    "graph_loop": (2, ["timeout", "timeout", "passed", "passed"]),
    "exits": (0, ["crash"] * 4),
    "sys_exit": (5, ["passed"] * 4),
    "memory": (2, ["memory", "memory", "passed", "passed"]),
    "error": (2, ["error", "error", "passed", "passed"]),
    "cheat": (0, ["failed", "failed", "not implemented", "not implemented"]),
    "noisy": (5, ["passed"] * 4),
    "stub": (0, ["not implemented"] * 4),
    "broken": (0, ["error"] * 4),
    "future": (0, ["error"] * 4),
    "empty": (0, ["error"] * 4),
    "latin1": (0, ["error"] * 4),
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_score_and_verdicts(smoke: dict[str, dict[str, Any]], student: str) -> None:
    score, verdicts = EXPECTED[student]
    result = smoke[student]
    assert [t["verdict"] for t in result["tests"]] == verdicts
    assert result["score"] == score
    assert result["max_score"] == 5


def test_every_submission_is_reported(smoke: dict[str, dict[str, Any]]) -> None:
    assert set(smoke) == set(EXPECTED)


def test_results_follow_gradescope_format(smoke: dict[str, dict[str, Any]]) -> None:
    result = smoke["loop"]
    for key in ("score", "max_score", "execution_time", "output", "tests"):
        assert key in result
    for test in result["tests"]:
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] == "visible"
        assert {"name", "score", "max_score", "output"} <= set(test)
    assert result["tests"][0]["status"] == "failed"
    assert "Hint: Negative inputs become zero." in result["tests"][0]["output"]


def test_student_traceback_shows_only_student_lines(smoke: dict[str, dict[str, Any]]) -> None:
    test = smoke["error"]["tests"][0]
    assert test["message"].startswith("`relu` raised AttributeError")
    assert [(f["cell"], f["line"], f["code"].strip()) for f in test["frames"]] == [
        (2, 5, "return helper(x)"),
        (2, 2, "return x.no_such_method()"),
    ]


def test_timeout_says_what_to_look_for(smoke: dict[str, dict[str, Any]]) -> None:
    message = smoke["loop"]["tests"][0]["message"]
    assert "did not finish within 8 s" in message
    assert "loop" in message


def test_memory_names_the_limit(smoke: dict[str, dict[str, Any]]) -> None:
    assert "768 MB" in smoke["memory"]["tests"][0]["message"]


def test_exit_at_load_names_the_cell_and_keeps_earlier_problems(
    smoke: dict[str, dict[str, Any]],
) -> None:
    result = smoke["exits"]
    assert "(cell 3 was running)" in result["tests"][0]["message"]
    assert [(n["kind"], n["cell"]) for n in result["notices"]] == [("syntax", 1)]


def test_sys_exit_in_a_cell_is_reported_and_ignored(smoke: dict[str, dict[str, Any]]) -> None:
    notices = smoke["sys_exit"]["notices"]
    assert [(n["kind"], n["cell"], n["message"]) for n in notices] == [
        ("exit", 3, "SystemExit: bye")
    ]


def test_cheat_gets_clear_messages(smoke: dict[str, dict[str, Any]]) -> None:
    tests = smoke["cheat"]["tests"]
    assert "object of type AlwaysEqual" in tests[0]["message"]
    assert "does not define `make_var`" in tests[2]["message"]


def test_magics_are_dropped_with_a_note(smoke: dict[str, dict[str, Any]]) -> None:
    notices = smoke["good"]["notices"]
    assert [(n["kind"], n["cell"]) for n in notices] == [("magic", 1)]
    assert "%matplotlib inline" in notices[0]["message"]


def test_printed_output_is_truncated(smoke: dict[str, dict[str, Any]]) -> None:
    output = smoke["noisy"]["student_output"]
    assert len(output) < 70_000
    assert output.endswith("more characters not kept]")


@pytest.mark.parametrize(
    ("student", "phrase"),
    [
        ("broken", "not valid notebook JSON"),
        ("future", "notebook format 5"),
        ("empty", "is empty"),
        ("latin1", "not UTF-8"),
    ],
)
def test_unreadable_files_get_specific_messages(
    smoke: dict[str, dict[str, Any]], student: str, phrase: str
) -> None:
    notices = smoke[student]["notices"]
    assert len(notices) == 1
    assert phrase in notices[0]["message"]
    assert "Traceback" not in smoke[student]["output"]
