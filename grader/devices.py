"""The devices sandbox zygotes run on: one per GPU where there are GPUs
(or ``share`` per GPU, each with its part of the GPU's memory), each
grading one submission at a time; the CPU otherwise.

A device's settings go into its zygote's environment before it imports
TensorFlow: ``CUDA_VISIBLE_DEVICES`` pins the device and
``TF_FORCE_GPU_ALLOW_GROWTH`` keeps TensorFlow from taking all its memory
at start. No GPU has run this code yet (none on the project's machines);
tests inject device lists.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox.common import GPU_MEMORY_VARIABLE

NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


@dataclass(frozen=True)
class Device:
    """Where one zygote's sandboxes run (a runner slot, ``grader.runners``,
    is a place a grading process runs; it takes its sandboxes from one)."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    """set in the zygote's environment before it imports TensorFlow"""
    gpu: bool = False


def detect_gpus(environ: Mapping[str, str] = os.environ, driver: Path = NVIDIA_GPUS) -> list[str]:
    """The GPUs this machine lets us use, as CUDA device ids.

    ``CUDA_VISIBLE_DEVICES``, when set, decides (empty or -1 means none);
    otherwise every GPU the NVIDIA driver lists."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [d.strip() for d in visible.split(",") if d.strip()]
        return [] if not ids or ids[0] == "-1" else ids
    try:
        return [str(i) for i in range(len(list(driver.iterdir())))]
    except OSError:  # no NVIDIA driver
        return []


def plan(gpus: list[str], share: int = 1) -> list[Device]:
    """``share`` devices per GPU, or the CPU, hiding any GPU from TensorFlow."""
    if not gpus:
        return [Device("cpu", {"CUDA_VISIBLE_DEVICES": ""})]
    return [
        gpu_device(g, share, f"gpu{g}" + (f".{k}" if share > 1 else ""))
        for g in gpus
        for k in range(share)
    ]


def gpu_device(gpu: str, share: int, name: str) -> Device:
    """CUDA device ``gpu``, or a ``1/share`` part of it.

    Alone on its GPU, TensorFlow grows its memory as needed. Shared, each
    sandbox gets a logical device capped at its share of the GPU's memory
    (``TFGRADE_GPU_MEMORY_MB``, see ``grader.sandbox.common``), read with
    ``nvidia-smi``; where that fails, the sandboxes share without a cap."""
    env = {"CUDA_VISIBLE_DEVICES": gpu}
    total = memory_mb(gpu) if share > 1 else None
    if share == 1:
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    elif total is not None:
        env[GPU_MEMORY_VARIABLE] = str(total // share)
    return Device(name, env, gpu=True)


def memory_mb(gpu: str) -> int | None:
    """Total memory of CUDA device ``gpu`` in MiB, or None if ``nvidia-smi`` cannot tell."""
    try:
        answer = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits", "-i", gpu],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return int(answer.stdout.split()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def parse(option: str) -> list[str] | None:
    """``--gpus``: "auto" (None: detect), "none" ([]), or ids like "0,1"."""
    if option == "auto":
        return None
    if option == "none":
        return []
    ids = [g.strip() for g in option.split(",")]
    if not all(g.isdigit() for g in ids):
        raise ValueError(f"give auto, none or device ids like 0,1, not {option!r}")
    return ids
