"""The ``sandbox`` fixture: a test saves in one process and loads in a fresh
one; files the student wrote are read on the trusted side only as data."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grader.sandbox.guest.confine import is_host_root
from grader.sandbox.host.client import IsolationPart, isolation_level
from tests.helpers import read_results, run_grader

SOLUTION = """\
import os
import numpy as np

def save_numbers(path, values):
    ### BEGIN SOLUTION
    np.save(path, np.asarray(values, dtype=np.float32))
    ### END SOLUTION

def load_numbers(path):
    ### BEGIN SOLUTION
    return np.load(path)
    ### END SOLUTION

LOADED = os.urandom(8).hex()  # new in every process that loads this code

def process_token():
    return LOADED

def temporary_folder_works():
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        return os.path.isdir(folder)
"""

SUITE = """
import numpy as np
from grader.harness import expect, expect_close, expect_equal, grade

@grade(points=1, exercise="save_numbers", hint="np.save")
def test_saved_file_loads_in_a_fresh_process(student, sandbox):
    before = student.process_token()
    student.save_numbers("numbers.npy", [1.0, 2.0])
    sandbox.restart()
    expect(student.process_token() != before, "the sandbox should have restarted")
    expect_close(student.load_numbers("numbers.npy"), np.array([1.0, 2.0], np.float32))
    files = sandbox.files()
    expect_equal(sorted(files), ["numbers.npy"], what="the files written")
    expect(files["numbers.npy"] > 0, "the file should not be empty")
"""


def test_restart_keeps_scratch_files(tmp_path: Path) -> None:
    folder = tmp_path / "solutions" / "00_files"
    folder.mkdir(parents=True)
    notebook = new_notebook()
    notebook.cells = [new_code_cell(SOLUTION)]
    nbformat.write(notebook, folder / "00_files.ipynb")
    (folder / "assignment.toml").write_text('title = "Files"\nnotebook = "00_files.ipynb"\n')
    (folder / "test_hidden.py").write_text(textwrap.dedent(SUITE))
    done = run_grader(
        "--root",
        str(tmp_path),
        "grade",
        "00_files",
        str(folder / "00_files.ipynb"),
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 0, done.stderr
    [test] = read_results(tmp_path / "out" / "00_files")["00_files"]["tests"]
    assert test["verdict"] == "passed", test["message"]


def test_isolation_level_is_recorded_as_its_parts_labels() -> None:
    """Results and reports compare this string: its format stays fixed."""
    assert isolation_level(isolated=False, cgroup=None) == "process, memory watchdog, scratch quota"
    left_root = isolation_level(isolated=False, cgroup=None, drop_uid=True)
    assert left_root == "process, uid nobody, memory watchdog, process cap, scratch quota"
    isolated = isolation_level(isolated=True, cgroup=None)
    if is_host_root():
        assert isolated == "namespaces, uid nobody, memory watchdog, scratch quota"
    else:
        assert isolated == "namespaces, user namespace, memory watchdog, process cap, scratch quota"
    labels = [part.value for part in IsolationPart]
    assert len(set(labels)) == len(labels)
