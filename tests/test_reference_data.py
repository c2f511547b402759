"""Reference data kept once per suite version: exact round trips of plain
data, nothing kept that is not plain, keys that tell calls apart, and a
folder that serves a second submission without running the reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.harness.errors import NotPlain
from grader.harness.reference_data import ReferenceData, decode, encode

PLAIN = [
    3,
    2.5e-310,
    "naïve",
    None,
    True,
    np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    np.float64(1) / 3,
    np.array([], dtype=np.int8),
    (1, [2.0, {"loss": [0.5, np.float32(0.25)]}]),
]


@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_plain_data_comes_back_exactly(value: Any) -> None:
    back = decode(encode(value))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray | np.generic):
        assert back.dtype == value.dtype
        np.testing.assert_array_equal(back, value)
    else:
        assert repr(back) == repr(value)


@pytest.mark.parametrize("value", [object(), {1: "a"}, np.array([object()]), [lambda: 0]])
def test_other_values_are_not_plain(value: Any) -> None:
    with pytest.raises(NotPlain):
        encode(value)


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def train(self, x: np.ndarray, epochs: int) -> tuple[object, dict[str, list[float]]]:
        self.calls += 1
        return object(), {"loss": [float(x.sum()) / (e + 1) for e in range(epochs)]}


def test_a_second_submission_reads_what_the_first_computed(tmp_path: Path) -> None:
    reference = Counting()
    x = np.ones(4, np.float32)

    def loss(data: ReferenceData, epochs: int = 3) -> Any:
        return data(reference.train, x, epochs, pick=lambda run: run[1]["loss"], label="loss")

    first = loss(ReferenceData(tmp_path, "v1"))
    again = loss(ReferenceData(tmp_path, "v1"))  # another grading process, same folder
    assert first == again == [4.0, 2.0, 4.0 / 3]
    assert reference.calls == 1
    loss(ReferenceData(tmp_path, "v2"))  # the suite changed
    loss(ReferenceData(tmp_path, "v1"), epochs=4)  # other arguments
    assert reference.calls == 3
    loss(ReferenceData(None, "v1"))  # --no-reference-cache
    assert reference.calls == 4


def test_results_that_are_not_plain_are_computed_each_time(tmp_path: Path) -> None:
    reference = Counting()
    data = ReferenceData(tmp_path, "v1")
    for _ in range(2):
        model, _ = data(reference.train, np.ones(2), 1)  # a live object: never kept
        assert isinstance(model, object)
    assert reference.calls == 2
    assert not list(tmp_path.iterdir())


def test_another_tensorflow_or_keras_misses_the_cache(tmp_path: Path) -> None:
    """An upgrade can change every reference curve, so it computes them again."""
    reference = Counting()
    x = np.ones(2, np.float32)
    old = {"tensorflow": "tensorflow 2.16.1", "keras": "keras 3.3.3"}
    for versions in (old, old, {**old, "tensorflow": "tensorflow 2.17.0"}, {**old, "keras": "4"}):
        data = ReferenceData(tmp_path, "v1", versions=versions)
        data(reference.train, x, 2, pick=lambda run: run[1]["loss"])
    assert reference.calls == 3  # the second run with the same versions read the cache
    installed = ReferenceData(tmp_path, "v1").versions
    assert sorted(installed) == ["keras", "tensorflow"]
    assert all(installed.values()), installed  # found without importing either


def test_non_finite_values_are_kept_as_strict_json(tmp_path: Path) -> None:
    reference = Counting()
    curve = [1.0, float("nan"), float("inf"), -float("inf")]

    def diverging(epochs: int) -> list[float]:
        reference.train(np.ones(1), epochs)
        return curve

    for _ in range(2):
        back = ReferenceData(tmp_path, "v1")(diverging, 4)
    assert reference.calls == 1
    assert repr(back) == repr(curve)
    (kept,) = tmp_path.iterdir()
    json.loads(kept.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in {kept}"))
