"""The course's CIFAR-10 stand-in (data/05_cnn): rebuilt byte for byte from its
seed, laid out as cifar-10-python.tar.gz is, and read in a sandbox by the 05
notebook's loader from the course data folder, offline."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np
from keras.src.datasets.cifar import load_batch

from grader import archives, assignments
from grader.results import Limit
from grader.sandbox.host.client import SandboxClient, Zygote, ZygoteInfo
from tests.helpers import REPO


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_cifar_like", REPO / "data" / "make_cifar_like.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_cifar_like"] = module
    spec.loader.exec_module(module)
    return module


MAKER = _maker()
ARCHIVE = REPO / "data" / "05_cnn" / MAKER.ARCHIVE


def test_archive_is_rebuilt_byte_for_byte() -> None:
    assert MAKER.archive(2026) == ARCHIVE.read_bytes()
    assert MAKER.archive(2027) != ARCHIVE.read_bytes()


def test_archive_has_the_cifar_layout(tmp_path: Path) -> None:
    """The members of the real archive, each batch readable by Keras's own reader."""
    with tarfile.open(ARCHIVE) as archive:
        names = archive.getnames()
        archives.extract(archive, tmp_path)  # Debian's 3.11.2 has no extractall(filter=...)
    folder = "cifar-10-batches-py"
    assert names == [
        folder,
        *(
            f"{folder}/{name}"
            for name in ["batches.meta", *(f"data_batch_{i}" for i in range(1, 6))]
        ),
        f"{folder}/readme.html",
        f"{folder}/test_batch",
    ]
    labels = []
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        data, batch_labels = load_batch(str(tmp_path / folder / name))
        assert data.dtype == np.uint8 and data.shape[1:] == (3, 32, 32)
        assert len(batch_labels) == len(data)
        labels += batch_labels
    assert np.bincount(labels).tolist() == [250] * 10  # 2,000 training and 500 test images


def _given_loader() -> str:
    """The 05 notebook's given cells up to its loader (imports, read/load_cifar10)."""
    notebook = nbformat.read(REPO / "solutions" / "05_cnn" / "05_cnn.ipynb", as_version=4)
    code = [
        c.source
        for c in notebook.cells
        if c.cell_type == "code" and "check" not in c.metadata.get("tags", [])
    ]
    return "\n".join(code[:2])


def test_sandbox_loads_the_course_data(tmp_path: Path) -> None:
    """In a confined sandbox, the notebook's load_cifar10() reads the archive from
    the data folder through ~/.keras/datasets and extracts it into scratch;
    Keras's own load_data() refuses it (the real archive's checksum): it says it
    is downloading, and the download gets the grader's message."""
    limits = assignments.load(REPO, "05_cnn").limits
    assert limits.data == str(ARCHIVE.parent)
    cell = _given_loader() + (
        "\n(x, y), (xt, yt) = load_cifar10()\n"
        "print(x.shape, x.dtype, y.shape, xt.shape, x.max(), sorted(set(y.ravel().tolist())))\n"
        "try:\n    keras.datasets.cifar10.load_data()\n"
        "except OSError as error:\n    print(type(error).__name__, str(error)[:80])\n"
    )
    with contextlib.closing(Zygote()) as zygote:
        zygote.wait_ready()
        sandbox = SandboxClient(
            ZygoteInfo(zygote.address, str(zygote.root), isolate=True), limits, tmp_path
        )
        try:
            load = sandbox.send({"op": "load", "cells": [{"cell": 1, "source": cell}]}, [])
            reply, _ = sandbox.wait(load, timeout=120, limit=Limit.LOAD_TIME)
        finally:
            sandbox.close()
    assert sandbox.problems == []
    lines = reply["output"].splitlines()
    first, refused = lines[0], lines[-1]
    assert (
        first
        == "(2000, 32, 32, 3) uint8 (2000, 1) (500, 32, 32, 3) 250 [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    )
    assert refused.startswith(
        "DownloadRefused https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz is not"
    )
    extracted = tmp_path / ".keras" / "datasets" / "cifar-10-batches-py-target"
    assert (extracted / "cifar-10-batches-py" / "test_batch").is_file()
    assert ARCHIVE.read_bytes() == MAKER.archive(2026)  # read-only: untouched
