"""GPU runner slots, tested with injected device lists (no GPU here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from grader import devices
from tests.helpers import COURSE, read_results, run_grader, smoke_args


def test_cuda_visible_devices_decides_when_set(tmp_path: Path) -> None:
    driver = tmp_path / "gpus"
    for bus in ("0000:01:00.0", "0000:02:00.0", "0000:03:00.0"):
        (driver / bus).mkdir(parents=True)
    assert devices.detect_gpus({}, driver) == ["0", "1", "2"]
    assert devices.detect_gpus({"CUDA_VISIBLE_DEVICES": "2,0"}, driver) == ["2", "0"]
    assert devices.detect_gpus({"CUDA_VISIBLE_DEVICES": ""}, driver) == []
    assert devices.detect_gpus({"CUDA_VISIBLE_DEVICES": "-1"}, driver) == []
    assert devices.detect_gpus({}, tmp_path / "no-driver") == []


def test_one_slot_per_gpu_with_memory_growth() -> None:
    assert devices.plan(["0", "3"]) == [
        devices.Device(
            "gpu0", {"CUDA_VISIBLE_DEVICES": "0", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}, gpu=True
        ),
        devices.Device(
            "gpu3", {"CUDA_VISIBLE_DEVICES": "3", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}, gpu=True
        ),
    ]
    assert devices.plan([]) == [devices.Device("cpu", {"CUDA_VISIBLE_DEVICES": ""})]


@pytest.mark.parametrize(
    ("option", "expected"), [("auto", None), ("none", []), ("0, 2", ["0", "2"])]
)
def test_gpus_option(option: str, expected: list[str] | None) -> None:
    assert devices.parse(option) == expected


def test_bad_gpus_option_is_refused() -> None:
    with pytest.raises(ValueError, match="device ids like 0,1"):
        devices.parse("first")


@pytest.mark.slow
def test_each_submission_runs_pinned_to_one_device(tmp_path: Path) -> None:
    """With two (injected) GPUs, sandboxes come from two zygotes, each pinned
    to its device with memory growth on, and both are used."""
    notebook = nbformat.read(COURSE / "submissions" / "good.ipynb", as_version=4)
    notebook.cells.insert(
        0,
        new_code_cell(
            "import os\nprint('device=' + os.environ.get('CUDA_VISIBLE_DEVICES', 'unset'),"
            " 'growth=' + os.environ.get('TF_FORCE_GPU_ALLOW_GROWTH', 'unset'))"
        ),
    )
    submissions = tmp_path / "class"
    submissions.mkdir()
    for i in range(4):
        nbformat.write(notebook, submissions / f"s{i}.ipynb")
    done = run_grader(*smoke_args(submissions, tmp_path / "out", "--gpus", "0,1"))
    assert done.returncode == 0, done.stderr
    assert "grading on 2 GPU(s): gpu0, gpu1, one submission each" in done.stdout
    results = read_results(tmp_path / "out" / "00_smoke")
    seen = {r["student_output"].strip() for r in results.values()}
    assert seen == {"device=0 growth=true", "device=1 growth=true"}
    assert all(r["score"] == 5 for r in results.values())
    shutil.rmtree(tmp_path / "out")
