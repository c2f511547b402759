"""The Gradescope zip's ``setup.sh`` run as Gradescope runs it: as root, on
a clean Debian root made by ``debootstrap`` (its ``python3`` without
``venv``, its package lists emptied as an image's are), installing from a
wheelhouse of the grader's pins and no index. It must leave a venv with
what grading needs at the lock's versions and none of the dev tools.

A minute or more (debootstrap, TensorFlow's wheels): marked ``slow`` and
``chroot``; needs root and debootstrap, which CI has (``.ci/run``).
Ubuntu's deadsnakes branch is not run: only Debian's archive is reachable.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.gradescope.export import pins
from tests.helpers import REPO, run_grader

pytestmark = pytest.mark.chroot

SUITE = "bookworm"
"""Debian 12: python3 is 3.11.2, the oldest CPython setup.sh accepts"""
MIRROR = "http://deb.debian.org/debian"
PYTHON = "3.11"
DEV_TOOLS = ("ruff", "mypy", "xmlschema")
"""the lock's ``dev`` extra (pyproject.toml), which grading never imports"""
VENV = "/autograder/venv"


def _require_root_and_debootstrap() -> None:
    missing = [
        what
        for what, ok in (("root", os.geteuid() == 0), ("debootstrap", shutil.which("debootstrap")))
        if not ok
    ]
    if missing:
        reason = f"setup.sh's chroot test needs {' and '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run it")
        pytest.skip(reason)


def _wheelhouse(folder: Path) -> None:
    """The wheels of the grader's own dependencies for Debian's CPython, at
    the lock's pins, fetched here with this machine's pip settings."""
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    machine = platform.machine()
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(17, 37)]
    platforms += [f"manylinux2014_{machine}", f"manylinux1_{machine}"]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(folder)]
    command += ["--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp"]
    for tag in platforms:
        command += ["--platform", tag]
    command += ["-c", str(REPO / "requirements.lock"), "setuptools", *dependencies]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A clean Debian root with the zip in /autograder/source and a
    wheelhouse in /wheelhouse; removed afterwards."""
    _require_root_and_debootstrap()
    base = tmp_path_factory.mktemp("chroot")
    root = base / "root"
    strap = subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3", SUITE, str(root), MIRROR],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert strap.returncode == 0, strap.stdout[-2000:] + strap.stderr[-2000:]
    for lists in (root / "var" / "lib" / "apt" / "lists").glob("*_*"):
        lists.unlink()  # as in a container image: setup.sh must update them itself
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    output = base / "autograder.zip"
    done = run_grader("export", "gradescope", "01_tensors", "-o", str(output))
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(output) as archive:
        archive.extractall(root / "autograder" / "source")
    (root / "autograder" / "source" / "setup.sh").chmod(0o755)
    _wheelhouse(root / "wheelhouse")
    yield root
    assert str(root) not in Path("/proc/self/mountinfo").read_text()  # nothing bound in it
    shutil.rmtree(base)


def in_root(root: Path, *command: str, env: dict[str, str] | None = None) -> str:
    """Run ``command`` chrooted in ``root`` with /proc and /dev mounted in a
    mount namespace of its own, so that nothing stays mounted after it."""
    mounts = 'mount -t proc proc "$0/proc" && mount --bind /dev "$0/dev" && exec chroot "$0" "$@"'
    clean = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root"]
    clean += [f"{k}={v}" for k, v in (env or {}).items()]
    unshare = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mounts, str(root)]
    done = subprocess.run(
        [*unshare, *clean, *command],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_setup_installs_only_what_grading_needs_on_a_clean_debian(debian: Path) -> None:
    proxies = {k: v for k, v in os.environ.items() if k.lower() in ("http_proxy", "https_proxy")}
    wheels_only = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/wheelhouse", **proxies}
    out = in_root(debian, "/autograder/source/setup.sh", env=wheels_only)
    assert "setup.sh: Python 3.11.2 at /usr/bin/python3" in out
    installed = {
        p["name"].lower().replace("_", "-"): p["version"]
        for p in json.loads(in_root(debian, f"{VENV}/bin/pip", "list", "--format=json"))
    }
    pinned = pins((REPO / "requirements.lock").read_text())
    assert not set(DEV_TOOLS) & set(installed)
    assert installed.pop("tfgrade")
    installed.pop("pip")  # the venv's own, from Debian's python3-venv
    assert {name: pinned.get(name) for name in installed} == installed
    assert {"tensorflow-cpu", "keras", "numpy", "pytest", "nbconvert", "copydetect"} <= set(
        installed
    )
    assert in_root(debian, "grader", "--version").strip()
    in_root(
        debian, f"{VENV}/bin/python", "-c", "import tensorflow, keras, grader.gradescope.autograder"
    )
