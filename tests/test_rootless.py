"""The hostile, sharing and fault suites again, as a normal user: every case
keeps its outcome when the grader is not root and confines sandboxes with
user namespaces and the memory watchdog.

Creating that user needs root (CI runs as root); elsewhere this skips.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.sandbox.host import trees
from tests.helpers import REPO

pytestmark = pytest.mark.slow

USER = "tfgrade-test"
SUITES = ["tests/test_hostile.py", "tests/test_share.py", "tests/test_faults.py"]
ROOT_ONLY = {"test_full_disk_then_rerun"}
"""mounting a small tmpfs to fill needs root"""


def normal_user() -> pwd.struct_passwd:
    """The unprivileged user the suites run as, created on first use."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", USER], check=True)
        return pwd.getpwnam(USER)


def reachable(paths: list[Path], hold: Path) -> list[str]:
    """Shell lines that, in a private mount namespace, let any user reach
    ``paths``: a folder on the way that others may not enter (a Python
    installed under /root, mode 700) is covered by an empty tmpfs into which
    each path is bound back."""
    held, closed = [], {}
    for number, path in enumerate(paths):
        ancestor = next((a for a in reversed(path.parents) if not a.stat().st_mode & 0o001), None)
        if ancestor is not None:
            held.append((hold / str(number), path))
            closed[ancestor] = True
    lines = [
        f"mkdir -p {shlex.quote(str(h))} && mount --bind {shlex.quote(str(p))} {h}" for h, p in held
    ]
    lines += [f"mount -t tmpfs -o mode=755 tfgrade-reach {shlex.quote(str(a))}" for a in closed]
    lines += [
        f"mkdir -p {shlex.quote(str(p))} && mount --bind {h} {shlex.quote(str(p))}" for h, p in held
    ]
    return lines


def run_as_normal_user(suites: list[str]) -> set[str]:
    """Run pytest on ``suites`` as the unprivileged user; every case must
    pass or skip. Returns the names of the skipped ones."""
    if os.geteuid() != 0:
        pytest.skip("creating an unprivileged user to run the suites as needs root")
    user = normal_user()
    home = Path(tempfile.mkdtemp(prefix="tfgrade-rootless-"))
    hold = Path(tempfile.mkdtemp(prefix="tfgrade-hold-"))
    try:
        os.chown(home, user.pw_uid, user.pw_gid)
        home.chmod(0o700)
        interpreter = [Path(os.path.realpath(p)) for p in {sys.base_prefix, sys.prefix}]
        setup = reachable([*interpreter, REPO], hold)
        report = home / "junit.xml"
        command = [
            "setpriv",
            f"--reuid={user.pw_uid}",
            f"--regid={user.pw_gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "env",
            f"HOME={home}",
            f"TMPDIR={home}",
            "PYTHONDONTWRITEBYTECODE=1",
            f"PATH={Path(sys.executable).parent}:/usr/bin:/bin",
            f"CI={os.environ.get('CI', '')}",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={home / 'tmp'}",
            f"--junitxml={report}",
            *suites,
        ]
        script = "\n".join(["set -e", *setup, 'exec "$@"'])
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
        cases = ET.parse(report).getroot().iter("testcase")
        skipped = {c.get("name", "") for c in cases if c.find("skipped") is not None}
        return {name.split("[")[0] for name in skipped}
    finally:
        trees.remove(home)
        shutil.rmtree(hold, ignore_errors=True)


def test_suites_keep_their_outcomes_as_a_normal_user() -> None:
    assert run_as_normal_user(SUITES) == ROOT_ONLY


def test_scratch_attacks_are_contained_as_a_normal_user() -> None:
    """A same-uid trusted side cannot read past a folder's mode: the
    permissions are given back before every count and removal."""
    skipped = run_as_normal_user(["tests/test_hostile_scratch.py"])
    assert skipped == {  # a small tmpfs and a pid namespace need root
        "test_a_short_disk_stops_the_batch",
        "test_a_live_run_is_never_swept_from_another_pid_namespace",
    }
