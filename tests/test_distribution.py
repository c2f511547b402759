"""The distribution students install: ``python -m build`` on the checkout's
files makes a wheel and an sdist of the ``grader`` package alone, ``twine
check`` passes, the version is ``grader.__version__``, TensorFlow and Keras
are ranges; and a student zip, unzipped into an empty folder, is checked by
the wheel installed in a venv of its own."""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import grader
from grader import assignments, release
from tests.helpers import REPO, run_grader

pytestmark = pytest.mark.e2e

NAME = "01_tensors"
COURSE_ONLY = ("solutions/", "examples/", "tests/", "assignments/", "data/", "bench/")
"""top-level folders of the course that no distribution may hold"""
CLI_ROW = re.compile(r"^  (\w+) +(\d+)/(\d+)  (.+)$", re.M)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` (the sdist, then the wheel from it) on a copy of
    the checkout's tracked files, so the build writes nothing into it."""
    source = tmp_path_factory.mktemp("source")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    out = source / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out


def only(folder: Path, pattern: str) -> Path:
    [path] = folder.glob(pattern)
    return path


def test_wheel_and_sdist_hold_the_grader_package_only(dist: Path) -> None:
    version = grader.__version__
    wheel = zipfile.ZipFile(only(dist, f"tfgrade-{version}-py3-none-any.whl")).namelist()
    assert all(n.startswith(("grader/", f"tfgrade-{version}.dist-info/")) for n in wheel)
    modules = {str(p.relative_to(REPO)) for p in (REPO / "grader").rglob("*.py")}
    assert modules <= set(wheel)  # every module, and the templates reports need
    assert "grader/reports/templates/student.html" in wheel
    assert "grader/student.py" in wheel

    with tarfile.open(only(dist, f"tfgrade-{version}.tar.gz")) as sdist:
        names = [n.removeprefix(f"tfgrade-{version}/") for n in sdist.getnames()]
    assert not [n for n in names if n.startswith(COURSE_ONLY)]
    assert "grader/check/checker.py" in names and "pyproject.toml" in names


def test_metadata_has_the_one_version_and_library_ranges(dist: Path) -> None:
    wheel = only(dist, "*.whl")
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read(f"tfgrade-{grader.__version__}.dist-info/METADATA").decode()
    metadata = email.parser.Parser().parsestr(raw)
    assert metadata["Version"] == grader.__version__
    requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist", [])]
    pinned = [r for r in requirements if r.name in ("tensorflow", "tensorflow-cpu", "keras")]
    assert {r.name for r in pinned} == {"tensorflow", "tensorflow-cpu", "keras"}
    for requirement in pinned:  # a range the student's pip may choose in, never one version
        operators = {s.operator for s in requirement.specifier}
        assert operators == {">=", "<"}, requirement
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_grader_version_prints_the_package_version() -> None:
    done = run_grader("--version")
    assert done.stdout.strip() == f"tfgrade, version {grader.__version__}"


def wheel_venv(root: Path, wheel: Path) -> Path:
    """A venv holding only the wheel (``pip install --no-deps``); its
    dependencies come from this venv's site-packages, named in a ``.pth``
    file (a plain path: the editable install's own ``.pth`` finder is not
    run there, so ``grader`` is the wheel's)."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "course-libraries.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    return venv


def test_student_zip_is_checked_alone_by_the_installed_wheel(dist: Path, tmp_path: Path) -> None:
    zipped = release.write_student_zip(assignments.load(REPO, NAME), tmp_path / "release")
    assert zipped.name == f"{NAME}-student.zip"
    student = tmp_path / "student"
    student.mkdir()
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(student)
    folder = student / NAME
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{NAME}.ipynb",
        "README.md",
        "check.toml",
        "test_public.py",
    ]
    shutil.copy(REPO / "examples" / "submissions" / NAME / "ben.ipynb", folder / "mine.ipynb")

    venv = wheel_venv(tmp_path, only(dist, "*.whl"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [venv / "bin" / "python", "-c", "import grader; print(grader.__file__)"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where).is_relative_to(venv)
    alone = subprocess.run(
        [venv / "bin" / "grader", "check", "mine.ipynb"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    from_repository = run_grader("check", "mine.ipynb", cwd=folder)
    assert alone.returncode == from_repository.returncode == 1, alone.stdout + alone.stderr
    rows = CLI_ROW.findall(alone.stdout)
    assert rows and rows == CLI_ROW.findall(from_repository.stdout)
    assert "warning" not in alone.stdout  # the same grader version and library pins
