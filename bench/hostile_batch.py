"""An honest batch against the same batch with round 2's hostile cases in it,
side by side in one run: the grader's peak memory (its own and its
grading processes', as ``wait4`` reports them), the size of what it wrote
(results, gradebook) and the wall time.

    python bench/hostile_batch.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.hostile_class import COURSE, build_class, build_honest  # noqa: E402


def grade(submissions: Path, out: Path) -> tuple[float, float, int, int]:
    """Wall seconds, peak RSS in MiB, bytes of results.json files, gradebook bytes."""
    started = time.monotonic()
    command = ["--root", str(COURSE), "grade", "00_smoke", str(submissions), "--out", str(out)]
    process = subprocess.Popen(
        [sys.executable, "-m", "grader", *command],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"grading {submissions.name} failed with {process.returncode}")
    results = sum(p.stat().st_size for p in out.glob("00_smoke/*/results.json"))
    return wall, usage.ru_maxrss / 1024, results, (out / "gradebook.db").stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each batch, alternated")
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="tfgrade-bench-") as base:
        root = Path(base)
        build_honest(root / "honest")
        build_class(root / "hostile")
        rows: dict[str, list[tuple[float, float, int, int]]] = {"honest": [], "hostile": []}
        for i in range(rounds):
            for name in rows:
                rows[name].append(grade(root / name, root / f"out-{name}-{i}"))
    print(f"{'batch':<8} {'wall s':>8} {'peak MiB':>9} {'results KiB':>12} {'gradebook KiB':>14}")
    best = {name: min(runs) for name, runs in rows.items()}
    for name, (wall, peak, results, book) in best.items():
        print(f"{name:<8} {wall:8.1f} {peak:9.0f} {results / 1024:12.0f} {book / 1024:14.0f}")
    honest, hostile = best["honest"], best["hostile"]
    print(
        f"hostile / honest: wall {hostile[0] / honest[0]:.2f}x, peak memory "
        f"{hostile[1] / honest[1]:.2f}x, results {hostile[2] / honest[2]:.2f}x, "
        f"gradebook {hostile[3] / honest[3]:.2f}x"
    )


if __name__ == "__main__":
    main()
