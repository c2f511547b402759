"""grader.archives unpacks the same way on Python with and without tarfile's
filters (Debian 12's own python3, 3.11.2, has none): plain files and folders
land inside the destination; links, devices and names that leave it are refused."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEBIAN_PYTHON = Path("/usr/bin/python3")

UNPACK = """
import sys, tarfile
from pathlib import Path
from grader import archives, errors
with tarfile.open(sys.argv[1]) as archive:
    try:
        archives.extract(archive, sys.argv[2])
    except (errors.UnsafeArchive, tarfile.TarError) as refused:
        sys.exit(f"refused: {refused}")
print("filters" if hasattr(tarfile, "data_filter") else "no filters")
"""


def _interpreters() -> list[object]:
    found: list[object] = [pytest.param(sys.executable, id="this-python")]
    if DEBIAN_PYTHON.exists():
        found.append(pytest.param(str(DEBIAN_PYTHON), id="debian-python3"))
    return found


def _archive(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w") as archive:
        for member in members:
            data = b"x" * member.size if member.isfile() else None
            archive.addfile(member, io.BytesIO(data) if data is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = link
    member.size = 3 if kind == tarfile.REGTYPE else 0
    member.mode = 0o4755 if kind == tarfile.REGTYPE else 0o755
    return member


def _unpack(python: str, archive: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", UNPACK, str(archive), str(folder)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


@pytest.mark.parametrize("python", _interpreters())
def test_plain_files_and_folders_are_unpacked_without_special_bits(
    python: str, tmp_path: Path
) -> None:
    archive = _archive(
        tmp_path / "ok.tar",
        [_member("data", tarfile.DIRTYPE), _member("data/batch_1"), _member("data/meta")],
    )
    done = _unpack(python, archive, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "data",
        "data/batch_1",
        "data/meta",
    ]
    assert (out / "data" / "meta").read_bytes() == b"xxx"
    assert not (out / "data" / "meta").stat().st_mode & 0o7000


@pytest.mark.parametrize("python", _interpreters())
@pytest.mark.parametrize(
    "member",
    [
        pytest.param(_member("../escaped"), id="dot-dot"),
        pytest.param(_member("data/../../escaped"), id="nested-dot-dot"),
        pytest.param(_member("link", tarfile.SYMTYPE, "/etc/passwd"), id="absolute-symlink"),
        pytest.param(_member("link", tarfile.SYMTYPE, "../../escaped"), id="symlink-out"),
        pytest.param(_member("hard", tarfile.LNKTYPE, "/etc/passwd"), id="hardlink-out"),
    ],
)
def test_members_that_leave_the_destination_are_refused(
    python: str, member: tarfile.TarInfo, tmp_path: Path
) -> None:
    archive = _archive(tmp_path / "bad.tar", [member])
    (tmp_path / "deep" / "er").mkdir(parents=True)
    done = _unpack(python, archive, tmp_path / "deep" / "er" / "out")
    assert done.returncode != 0
    assert "refused" in done.stderr
    assert not (tmp_path / "deep" / "escaped").exists()
    assert not (tmp_path / "escaped").exists()
