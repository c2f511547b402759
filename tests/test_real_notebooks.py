"""Course notebooks written the way the TensorFlow guide and a textbook write
them (tests/files/guide_course/submissions/) graded as submissions: they
load Keras datasets from the course's data folder, save models to relative
paths, write ~/.keras, temporary files and caches, all inside the sandbox.
"""

from __future__ import annotations

import contextlib
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from grader import assignments
from grader.outdir import OutDir
from grader.results import Limit
from grader.sandbox.host.client import SandboxClient, Zygote, ZygoteInfo
from tests.helpers import REPO, read_results, run_grader

COURSE = REPO / "tests" / "files" / "guide_course"
SUBMISSIONS = sorted(p.stem for p in (COURSE / "submissions").glob("*.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every notebook of the guide course, graded once in one batch."""
    out = tmp_path_factory.mktemp("guide")
    done = run_grader(
        "--root", str(COURSE), "grade", "00_guide", str(COURSE / "submissions"), "--out", str(out)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {
        "results": read_results(out / "00_guide"),
        "text": {
            p.stem: p.read_text() for p in OutDir(out).staff_results("00_guide").glob("*.json")
        },
    }


def lines(result: dict[str, Any], start: str) -> list[str]:
    text = result["student_output"] + "".join(t["student_output"] for t in result["tests"])
    return [line for line in text.splitlines() if line.startswith(start)]


def failed_cells(result: dict[str, Any]) -> list[str]:
    return [n["message"] for n in result["notices"] if n["kind"] in ("error", "syntax", "exit")]


@pytest.mark.parametrize("student", SUBMISSIONS)
def test_full_marks(graded: dict[str, Any], student: str) -> None:
    result = graded["results"][student]
    assert [t["verdict"] for t in result["tests"]] == ["passed", "passed"]
    assert result["score"] == result["max_score"] == 4


@pytest.mark.parametrize("student", SUBMISSIONS)
def test_no_read_only_file_system_errors(graded: dict[str, Any], student: str) -> None:
    assert "Read-only file system" not in graded["text"][student]
    assert "Errno 30" not in graded["text"][student]


def test_guide_classification_trains_on_the_course_data(graded: dict[str, Any]) -> None:
    result = graded["results"]["guide_classification"]
    assert failed_cells(result) == []
    assert lines(result, "train ") == ["train (24, 28, 28) 24 test (8, 28, 28)"]
    assert lines(result, "Test accuracy:")
    assert lines(result, "predicted ")


def test_guide_save_load_writes_relative_paths_and_temp_files(graded: dict[str, Any]) -> None:
    result = graded["results"]["guide_save_load"]
    assert failed_cells(result) == []
    assert lines(result, "checkpoints:") == ["checkpoints: ['cp.weights.h5']"]
    assert lines(result, "Restored model, accuracy:")
    assert lines(result, "reloaded ") == ["reloaded (8, 10)"]
    assert lines(result, "h5 reloaded ") == ["h5 reloaded 4"]
    assert lines(result, "exported ") == ["exported True"]
    assert lines(result, "csv rows ") == ["csv rows 5"]


def test_textbook_extracts_archives_and_is_told_downloads_are_refused(
    graded: dict[str, Any],
) -> None:
    result = graded["results"]["textbook"]
    assert lines(result, "flowers ") == ["flowers ['LICENSE.txt', 'daisy', 'roses']"]
    assert lines(result, "keras cache ") == [
        "keras cache ['fashion-mnist', 'flower_photos', 'flower_photos_archive', 'heart.csv']"
    ]
    assert lines(result, "temp saved ") == ["temp saved (2, 28, 28)"]
    assert lines(result, "reloaded ")
    [download] = failed_cells(result)  # the book's own urlretrieve of housing.tgz
    assert download.startswith(
        "DownloadRefused: https://github.com/ageron/data/raw/main/housing.tgz is not downloaded "
        "during grading: grading runs without a network. Data files must already be in "
        "~/.keras/datasets, the course's data folder: the course provides fashion-mnist, "
        "flower_photos_archive, heart.csv there."
    ), download


def test_homes_caches_and_temp_point_into_scratch(graded: dict[str, Any]) -> None:
    probes = dict(
        line.removeprefix("PROBE ").split(" ", 1)
        for line in lines(graded["results"]["environment"], "PROBE ")
    )
    scratch = probes["cwd"]
    assert Path(scratch).name.startswith("tfgrade-scratch-")
    assert probes["HOME"] == probes["TMPDIR"] == probes["gettempdir"] == scratch
    assert probes["KERAS_HOME"] == probes["expanduser"] == f"{scratch}/.keras"
    assert probes["MPLCONFIGDIR"] == f"{scratch}/.config/matplotlib"
    assert probes["XDG_CACHE_HOME"] == f"{scratch}/.cache"
    assert probes["MPLBACKEND"] == "Agg"
    assert probes["get_file"] == f"{scratch}/.keras/datasets/heart.csv"
    assert probes["missing"].startswith(
        "DownloadRefused https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz "
        "is not downloaded during grading"
    )


# Keras warns about `input_shape` naming its own file by absolute path:
# grader/texts.py shortens it to <site-packages>/keras/...
def test_no_path_of_the_graders_environment_is_shown(graded: dict[str, Any]) -> None:
    install = {sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values()}
    for student, text in graded["text"].items():
        assert [p for p in install if p in text] == [], student
        assert "site-packages" not in text.replace("<site-packages>", ""), student
        assert str(REPO) not in text, student


def test_without_namespaces_the_data_folder_is_linked_the_same_way(tmp_path: Path) -> None:
    """A machine without namespaces: the sandbox reads the data folder at
    its real path, through the same links, and extracts into scratch only."""
    limits = assignments.load(COURSE, "00_guide").limits
    assert limits.data is not None
    before = sorted(p.relative_to(limits.data) for p in Path(limits.data).rglob("*"))
    cells = [
        "import keras\n(x, y), _ = keras.datasets.fashion_mnist.load_data()\n"
        "print(x.shape, keras.utils.get_file('flower_photos', 'https://x.invalid/f.tgz', "
        "extract=True))"
    ]
    with contextlib.closing(Zygote()) as zygote:
        zygote.wait_ready()
        info = ZygoteInfo(zygote.address, str(zygote.root), isolate=False)
        sandbox = SandboxClient(info, limits, tmp_path)
        try:
            load = sandbox.send({"op": "load", "cells": [{"cell": 1, "source": cells[0]}]}, [])
            reply, _ = sandbox.wait(load, timeout=60, limit=Limit.LOAD_TIME)
        finally:
            sandbox.close()
    datasets = tmp_path / ".keras" / "datasets"
    assert sandbox.problems == []
    assert reply["output"] == f"(24, 28, 28) {datasets}/flower_photos\n"
    assert (datasets / "fashion-mnist").readlink() == Path(limits.data, "fashion-mnist")
    assert (datasets / "flower_photos" / "flower_photos" / "LICENSE.txt").is_file()
    assert sorted(p.relative_to(limits.data) for p in Path(limits.data).rglob("*")) == before
