"""Grade N copies of one submission two ways in the same run and print the
per-submission ratio: through the zygote (one ``grader grade`` over the
batch: TensorFlow imported once, a sandbox forked per submission) and with
fresh interpreters per submission (one ``grader grade`` per file, so both
sides import TensorFlow again every time).

    python bench/zygote_vs_fresh.py [--copies 20] [--assignment 01_tensors] [--submission PATH]

Machines here are shared and noisy: read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def grade(*args: str) -> float:
    """Seconds one ``grader grade`` run takes, from process start to exit."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "grader", "--root", str(REPO), "grade", *args, "--force", "-j", "1"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--assignment", default="01_tensors")
    parser.add_argument("--submission", type=Path, help="default: the reference solution")
    options = parser.parse_args()
    source = options.submission or next((REPO / "solutions" / options.assignment).glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="tfgrade-bench-") as scratch:
        batch = Path(scratch) / "class"
        batch.mkdir()
        for i in range(options.copies):
            shutil.copy(source, batch / f"copy{i:02d}{source.suffix}")
        zygote = grade(options.assignment, str(batch), "--out", f"{scratch}/zygote")
        fresh = sum(  # each run its own output folder, so no run re-renders another's
            grade(options.assignment, str(path), "--out", f"{scratch}/fresh-{path.stem}")
            for path in sorted(batch.iterdir())
        )
    n = options.copies
    print(f"{n} copies of {source.name} ({options.assignment}), one at a time (-j 1)")
    print(
        f"zygote, one run for the batch:    {zygote:7.1f} s  = {zygote / n:5.2f} s per submission"
    )
    print(f"fresh interpreters per submission: {fresh:7.1f} s  = {fresh / n:5.2f} s per submission")
    print(f"ratio (fresh / zygote, per submission): {fresh / zygote:.1f}x")


if __name__ == "__main__":
    main()
