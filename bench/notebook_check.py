"""Time the in-notebook check next to ``grader check`` in a shell, in the
same run, on one example notebook in a copy of its released folder:

- shell: a ``grader check NOTEBOOK`` process, from start to exit (what a
  student types in a terminal);
- tg.check(): the whole notebook from a warm Jupyter kernel, ``tg.check()``
  executed in it until its reply (the kernel already started, as a
  student's is);
- tg.check("EXERCISE"): one exercise, the same way;
- tensorflow start-up: ``python -c "import tensorflow"``, the unit the
  issue asks the whole-notebook check to be about one of.

What is checked is the saved notebook, run from the top in a sandbox
(docs/students.md says why), so a one-exercise check costs a check of its
own: a TensorFlow start-up, not the live kernel's instant call.

    python bench/notebook_check.py [--assignment 01_tensors --student ben
                                    --exercise center --repeat 3]

Machines here are shared and noisy: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def seconds(run: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(run, cwd=cwd, env=ENV, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="01_tensors")
    parser.add_argument("--student", default="ben")
    parser.add_argument("--exercise", default="center")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    name = options.assignment
    with tempfile.TemporaryDirectory(prefix="tfgrade-bench-") as scratch:
        folder = Path(scratch) / name
        shutil.copytree(REPO / "assignments" / name, folder)
        notebook = folder / f"{options.student}.ipynb"
        shutil.copy(REPO / "examples" / "submissions" / name / notebook.name, notebook)
        manager, kernel = start_new_kernel(
            kernel_name="python3",
            cwd=str(folder),
            env={**ENV, "JPY_SESSION_NAME": str(notebook)},  # as JupyterLab sets it
        )
        try:
            kernel.execute_interactive("import grader.student as tg", timeout=120)

            def in_kernel(code: str) -> float:
                started = time.perf_counter()
                reply = kernel.execute_interactive(code, timeout=600, output_hook=lambda _: None)
                assert reply["content"]["status"] == "ok", reply["content"]
                return time.perf_counter() - started

            times: dict[str, list[float]] = {k: [] for k in ("shell", "whole", "one", "tf")}
            for _ in range(options.repeat):  # interleaved, so load hits every column alike
                times["shell"].append(
                    seconds([sys.executable, "-m", "grader", "check", notebook.name], folder)
                )
                times["whole"].append(in_kernel("tg.check()"))
                times["one"].append(in_kernel(f"tg.check({options.exercise!r})"))
                times["tf"].append(seconds([sys.executable, "-c", "import tensorflow"], folder))
        finally:
            kernel.stop_channels()
            manager.shutdown_kernel(now=True)
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"{name}/{options.student}: median of {options.repeat}, {os.cpu_count()} cores")
    rows = {
        "grader check in a shell": ("shell", "1.00"),
        "tg.check() in a kernel": ("whole", ""),
        f"tg.check({options.exercise!r}) in a kernel": ("one", ""),
        "import tensorflow": ("tf", ""),
    }
    width = max(map(len, rows)) + 2
    for label, (key, note) in rows.items():
        if key in ("whole", "one"):
            note = f"{median[key] / median['shell']:.2f} of the shell's"
        if key == "tf":
            note = f"tg.check() is {median['whole'] / median['tf']:.1f} TensorFlow start-ups"
        print(f"{label + ':':<{width}}{median[key]:6.2f} s   {note}")


if __name__ == "__main__":
    main()
