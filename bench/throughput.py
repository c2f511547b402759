"""Throughput, measured side by side in one run (read the ratios, not the
seconds: machines here are shared and noisy).

    python bench/throughput.py [--copies 12] [--before COMMIT] [--skip ray,before]
    python bench/throughput.py --scale 1000 [--jobs 2]

Per-submission cost is marginal: the time to grade ``copies`` copies of a
submission minus the time to grade 2, divided by ``copies - 2``, so start-up
(importing TensorFlow, starting zygotes) is not spread over the batch.

1. 01, one slot: seconds per submission / one cold ``import tensorflow``.
2. 03, one slot: seconds per submission now and at ``--before`` (checked
   out into a temporary folder, run with the same interpreter).
3. 01, one slot against two: the speed-up of a whole run (start-up included).
4. 01, ``--backend local`` against ``--backend ray`` (a local Ray instance),
   one slot each: Ray's overhead per submission.

``--scale N`` instead grades N generated variants of the 01 example class
(copies of its notebooks, cycled) and prints the total time, submissions
per second, the gradebook's size and the per-slot lines.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from grader import archives

REPO = Path(__file__).resolve().parents[1]


def cold_import() -> float:
    """Median of three fresh interpreters importing TensorFlow."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import tensorflow"],
            check=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def grade(root: Path, assignment: str, folder: Path, out: Path, *options: str) -> tuple[float, str]:
    """Seconds one ``grader grade`` run takes, and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "grader", "--root", str(root), "grade", assignment, str(folder),
         "--out", str(out), "--force", *options],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    return time.perf_counter() - started, done.stdout


def copies(source: Path, folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        shutil.copy(source, folder / f"copy{i:04d}{source.suffix}")
    return folder


def per_submission(
    root: Path, assignment: str, source: Path, scratch: Path, n: int, *options: str
) -> float:
    """Marginal seconds per submission: (T(n) - T(2)) / (n - 2)."""
    tag = f"{root.name}-{assignment}-{'-'.join(options) or 'default'}"
    small = copies(source, scratch / f"{tag}-small", 2)
    large = copies(source, scratch / f"{tag}-large", n)
    t_small, _ = grade(root, assignment, small, scratch / f"{tag}-out-small", *options)
    t_large, _ = grade(root, assignment, large, scratch / f"{tag}-out-large", *options)
    return (t_large - t_small) / (n - 2)


def checkout(commit: str, folder: Path) -> Path:
    """The tree of ``commit`` (``git archive``), to run with this interpreter."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True
    ).stdout
    folder.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
        archives.extract(tree, folder)  # Debian's 3.11.2 has no extractall(filter=...)
    return folder


def example(assignment: str, student: str) -> Path:
    return REPO / "examples" / "submissions" / assignment / f"{student}.ipynb"


def measure(options: argparse.Namespace, scratch: Path) -> None:
    n = options.copies
    skip = set(options.skip.split(",")) if options.skip else set()
    ada = example("01_tensors", "ada")
    tf_import = cold_import()
    one = per_submission(REPO, "01_tensors", ada, scratch, n, "-j", "1")
    print(f"cold `import tensorflow`: {tf_import:.2f} s")
    print(f"1. 01, one slot: {one:.2f} s per submission = {one / tf_import:.2f} x one cold import")
    if "before" not in skip:
        old = checkout(options.before, scratch / "before")
        ana = example("03_training", "ana")
        m = max(3, n // 4)
        now = per_submission(REPO, "03_training", ana, scratch, m, "-j", "1")
        then = per_submission(old, "03_training", ana, scratch, m, "-j", "1")
        print(
            f"2. 03, one slot: {now:.1f} s per submission now, {then:.1f} s at {options.before}"
            f" = {then / now:.2f}x faster"
        )
    batch = copies(ada, scratch / "two-slots", 2 * n)
    t_one, _ = grade(REPO, "01_tensors", batch, scratch / "two-slots-j1", "-j", "1")
    t_two, _ = grade(REPO, "01_tensors", batch, scratch / "two-slots-j2", "-j", "2")
    print(
        f"3. 01, {2 * n} copies, whole runs: one slot {t_one:.1f} s, two slots {t_two:.1f} s"
        f" = {t_one / t_two:.2f}x (start-up included in both)"
    )
    if "ray" not in skip:
        ray = per_submission(REPO, "01_tensors", ada, scratch, n, "-j", "1", "--backend", "ray")
        print(
            f"4. 01, one slot on Ray: {ray:.2f} s per submission, {ray - one:+.2f} s against local"
            f" ({ray / one:.2f}x)"
        )


def scale(options: argparse.Namespace, scratch: Path) -> None:
    sources = sorted((REPO / "examples" / "submissions" / "01_tensors").glob("*.ipynb"))
    folder = scratch / "class"
    folder.mkdir()
    for i in range(options.scale):
        source = sources[i % len(sources)]
        shutil.copy(source, folder / f"{source.stem}{i:05d}.ipynb")
    out = scratch / "out"
    seconds, printed = grade(REPO, "01_tensors", folder, out, "-j", str(options.jobs))
    size = (out / "gradebook.db").stat().st_size
    rate = options.scale / seconds
    print(
        f"{options.scale} submissions of 01, -j {options.jobs}: {seconds:.0f} s, "
        f"{rate:.2f} submissions/s, gradebook {size / 2**20:.1f} MiB"
    )
    for line in printed.splitlines():
        if line.startswith("slot "):
            print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--before", default="c228321", help="the commit to compare 03 with")
    parser.add_argument("--skip", default="", help="comma-separated: ray, before")
    parser.add_argument("--scale", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tfgrade-bench-") as scratch:
        (scale if options.scale else measure)(options, Path(scratch))


if __name__ == "__main__":
    main()
