"""tfgrade against nbgrader's ``autograde`` on the same notebooks, one
submission at a time, measured side by side in one run.

    python bench/vs_nbgrader.py [--rounds 2] [--students ada,ben,...]

nbgrader (``NBGRADER``, its current release) is installed by this script into
a venv of its own, ``.venv-nbgrader``, with TensorFlow and Keras at
requirements.lock's versions, which its kernel runs the notebooks with. Its
tests are the public check cells of 01's notebooks (tag ``check``), made
nbgrader's autograder-test cells, a point each: what a course moving from
nbgrader has. tfgrade runs its hidden suite on the same notebooks with
``grader grade -j 1`` (no reference cache to fill: 01 has none).

The two alternate, ``--rounds`` times each, each round a fresh output
folder; it prints seconds per submission (the median round) for each, the
ratio, and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_tensors"
NBGRADER = "0.9.6"
VENV = REPO / ".venv-nbgrader"
STUDENTS = "ada,ben,cleo,dev,eli,fay,gus,hal,jon,kim,lea,zoe"
"""01's example class but ivy, whose endless loop nbgrader's 60 s cell timeout
would charge to nbgrader alone"""


def nbgrader_venv() -> Path:
    """``.venv-nbgrader/bin``, made on first use."""
    bin_dir = VENV / "bin"
    if (bin_dir / "nbgrader").exists():
        return bin_dir
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pins = [
        line.split(";")[0].strip()
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if re.match(r"(tensorflow-cpu|keras|numpy)==", line)
    ]
    pip = [str(bin_dir / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"nbgrader=={NBGRADER}", "ipykernel"], check=True)
    subprocess.run([*pip, *pins], check=True)
    return bin_dir


def as_nbgrader(notebook: dict, *, source: bool) -> dict:
    """The notebook with its check cells as nbgrader's read-only autograder
    tests, ``check_1``... in order, a point each."""
    number = 0
    for cell in notebook["cells"]:
        if "check" not in cell.get("metadata", {}).get("tags", []):
            continue
        number += 1
        cell["metadata"]["nbgrader"] = {
            "grade": True,
            "grade_id": f"check_{number}",
            "locked": True,
            "points": 1,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
    if source:
        notebook["metadata"]["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
    return notebook


def course(root: Path, students: list[str]) -> Path:
    """An nbgrader course folder: the released notebook as the source of
    assignment ``ps1``, and each student's notebook submitted."""
    stub = json.loads((REPO / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    source = root / "source" / "ps1"
    source.mkdir(parents=True)
    (source / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(as_nbgrader(stub, source=True)))
    configure(root)
    for student in students:
        notebook = json.loads(example(student).read_text())
        folder = root / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(as_nbgrader(notebook, source=False)))
    return root


def configure(root: Path) -> None:
    """``nbgrader_config.py``: the course at ``root``, 60 s per cell."""
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        "c.CourseDirectory.course_id = 'tfgrade-bench'\n"
        "c.ExecutePreprocessor.timeout = 60\n"
    )


def example(student: str) -> Path:
    return REPO / "examples" / "submissions" / ASSIGNMENT / f"{student}.ipynb"


def nbgrader(bin_dir: Path, root: Path, *args: str) -> None:
    done = subprocess.run(
        [str(bin_dir / "nbgrader"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        # nbgrader runs its own tools (alembic) from PATH
        env={
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
    )
    if done.returncode != 0:
        raise SystemExit(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def autograde(bin_dir: Path, template: Path, scratch: Path) -> float:
    """Seconds of ``nbgrader autograde`` over a fresh copy of the course."""
    root = scratch / f"nbgrader-{time.monotonic_ns()}"
    shutil.copytree(template, root)
    configure(root)
    started = time.perf_counter()
    nbgrader(bin_dir, root, "autograde", "ps1", "--create")
    seconds = time.perf_counter() - started
    graded = list((root / "autograded").glob("*/ps1/*.ipynb"))
    if len(graded) != len(list((root / "submitted").iterdir())):
        raise SystemExit(f"nbgrader graded {len(graded)} notebooks only")
    return seconds


def tfgrade(students: list[str], scratch: Path) -> float:
    """Seconds of ``grader grade -j 1`` over the same notebooks."""
    out = scratch / f"tfgrade-{time.monotonic_ns()}"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "grader", "grade", ASSIGNMENT, *map(str, map(example, students)),
         "--out", str(out), "-j", "1"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--students", default=STUDENTS)
    options = parser.parse_args()
    students = options.students.split(",")
    bin_dir = nbgrader_venv()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tfgrade-vs-nbgrader-") as folder:
        scratch = Path(folder)
        template = course(scratch / "template", students)
        nbgrader(bin_dir, template, "generate_assignment", "ps1", "--force")
        ours, theirs = [], []
        for _ in range(options.rounds):
            theirs.append(autograde(bin_dir, template, scratch) / len(students))
            ours.append(tfgrade(students, scratch) / len(students))
    them, us = statistics.median(theirs), statistics.median(ours)
    print(f"{len(students)} notebooks of {ASSIGNMENT}, one at a time, {options.rounds} rounds")
    print(f"  nbgrader {NBGRADER} autograde (public checks): {them:.2f} s per submission")
    print(f"  tfgrade grade -j 1 (hidden suite):        {us:.2f} s per submission")
    print(f"  tfgrade is {them / us:.1f}x nbgrader")
    print(f"  load average: {load:.2f} before, {os.getloadavg()[0]:.2f} after (2 cores)")


if __name__ == "__main__":
    main()
