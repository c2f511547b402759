"""`grader doctor`, the reasons a normal user gets no user namespace, and
which GPU device nodes a sandbox gets (injected sysctl and /dev listings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader import doctor
from grader.sandbox.guest import confine
from grader.sandbox.host.limits import CGROUP_ROOT
from tests.helpers import FULL_ISOLATION, isolation_problem, run_grader


def test_doctor_reports_this_machine() -> None:
    done = run_grader("doctor")
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line[:17])
    assert lines["grader runs as"].strip() == (
        "root" if os.geteuid() == 0 else f"a normal user (uid {os.geteuid()})"
    )
    for name in ("cgroups", "GPUs", "Python", "TensorFlow", "Keras"):
        assert lines[name].strip()
    if not isolation_problem():
        assert lines["isolation"].strip() == FULL_ISOLATION


def test_without_a_cgroup_doctor_names_the_gaps_and_the_way_out() -> None:
    """What the memory watchdog cannot see, and how to get a cgroup instead."""
    finding = doctor._cgroups(None, root=False)
    assert "socket buffers" in finding.fix and "spike" in finding.fix
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        assert "Delegate=yes" in finding.fix
    elif (CGROUP_ROOT / "memory").is_dir():
        assert "only root" in finding.fix


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("user/max_user_namespaces", "0", "user.max_user_namespaces = 0"),
        ("kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone = 0"),
        (
            "kernel/apparmor_restrict_unprivileged_userns",
            "1",
            "kernel.apparmor_restrict_unprivileged_userns = 1",
        ),
    ],
)
def test_each_blocker_is_named(tmp_path: Path, setting: str, value: str, named: str) -> None:
    (tmp_path / setting).parent.mkdir(parents=True)
    (tmp_path / setting).write_text(value + "\n")
    reason = confine.user_namespace_blocker(str(tmp_path))
    assert named in reason and "run the grader as root" in reason


def test_open_settings_name_no_blocker(tmp_path: Path) -> None:
    for setting, value in [
        ("user/max_user_namespaces", "63000"),
        ("kernel/unprivileged_userns_clone", "1"),
        ("kernel/apparmor_restrict_unprivileged_userns", "0"),
    ]:
        (tmp_path / setting).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / setting).write_text(value)
    assert confine.user_namespace_blocker(str(tmp_path)) == ""


LISTING = [
    "null",
    "nvidia0",
    "nvidia1",
    "nvidia2",
    "nvidia-caps",
    "nvidia-modeset",
    "nvidia-uvm",
    "nvidia-uvm-tools",
    "nvidiactl",
    "zero",
]


def test_a_slot_gets_only_its_gpu_and_the_control_nodes() -> None:
    control = ["nvidia-modeset", "nvidia-uvm", "nvidia-uvm-tools", "nvidiactl"]
    assert confine.gpu_devices(LISTING, "1", [0, 1, 2]) == sorted(["nvidia1", *control])
    # CUDA ids follow bus order; the node is named by the driver's device minor
    assert confine.gpu_devices(LISTING, "0", [2, 0, 1]) == sorted(["nvidia2", *control])
    assert confine.gpu_devices(LISTING, "", [0, 1, 2]) == []
    assert confine.gpu_devices(LISTING, None, [0, 1, 2]) == []


def test_device_minors_are_read_in_bus_order(tmp_path: Path) -> None:
    for bus, minor in [("0000:02:00.0", 0), ("0000:01:00.0", 3)]:
        (tmp_path / bus).mkdir()
        (tmp_path / bus / "information").write_text(f"Model: X\nDevice Minor: \t {minor}\n")
    assert confine.nvidia_minors(str(tmp_path)) == [3, 0]
    assert confine.nvidia_minors(str(tmp_path / "absent")) == []
