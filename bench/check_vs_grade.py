"""Time ``grader check`` per notebook next to ``grader grade`` per submission,
on one assignment's example class, in the same run.

- grade: one ``grader grade --force -j 1`` over the class (what an
  instructor runs): its wall time divided by the class size, and the median
  of the per-submission times it prints;
- check, one notebook per command (what a student runs): the median wall
  time of a ``grader check NOTEBOOK`` process, from start to exit;
- check, one command for the class (what a pre-commit hook over several
  notebooks does): its wall time divided by the class size.

Each check runs in a copy of ``assignments/NAME/`` alone, as a student's.

    python bench/check_vs_grade.py [--assignment 01_tensors]

Machines here are shared and noisy: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
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
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    """Seconds a ``python -m grader`` process takes, and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "grader", *args], cwd=cwd, env=ENV, capture_output=True, text=True
    )
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_tensors")
    options = parser.parse_args()
    name = options.assignment
    examples = sorted((REPO / "examples" / "submissions" / name).glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="tfgrade-bench-") as scratch:
        folder = Path(scratch) / name
        shutil.copytree(REPO / "assignments" / name, folder)
        for notebook in examples:
            shutil.copy(notebook, folder)
        out = Path(scratch) / "reports"
        grade_wall, printed = timed(
            ["--root", str(REPO), "grade", name, "--out", str(out), "--force", "-j", "1"], REPO
        )
        per_submission = [float(s) for s in re.findall(r"(\d+\.\d)s$", printed, re.M)]
        singles = {}
        for notebook in examples:
            singles[notebook.stem], _ = timed(["check", notebook.name], folder)
        batch_wall, _ = timed(["check", *(n.name for n in examples)], folder)
    count = len(examples)
    print(f"{name}: {count} example notebooks, {os.cpu_count()} cores")
    print(f"grade, one run over the class:    {grade_wall / count:6.2f} s per submission (wall/N)")
    print(f"  its per-submission times:        median {statistics.median(per_submission):.2f} s")
    print(f"check, one process per notebook:  {statistics.median(singles.values()):6.2f} s median")
    print(f"check, one process for the class: {batch_wall / count:6.2f} s per notebook (wall/N)")
    for student, seconds in singles.items():
        print(f"  check {student:<8} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
