"""Where one submission's grading time goes, on the trusted side.

    python bench/profile_submission.py [ASSIGNMENT] [STUDENT] [--repeat 3] [--top 25] [--save FILE]

Grades the example student's notebook as ``grader grade -j 1`` does: the
suite loaded and ``gc.freeze()``d here, a zygote started, one grading
process forked per submission, under ``cProfile``. Prints, for the median
run of ``--repeat``:

- the submission's wall time and the tests' count;
- the time spent waiting for the sandbox (the student's code, the wire's
  far end) and the rest: ours, per test;
- the functions with the most time of their own (``--top``), grouped by
  where they live (pytest, grader, the suite, the standard library).

The reference cache is on, as in a batch, and filled by one run before
those measured.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from grader import assignments, grading
from grader.runners.local import preload_tensorflow
from grader.sandbox.host.client import Zygote
from grader.submissions import Found, read_submission
from grader.suite import load as load_suite

REPO = Path(__file__).resolve().parents[1]


def profiled_run(
    suite, submission, zygote, workdir: Path, cache: Path, stats_file: Path
) -> tuple[float, int]:
    """Fork a grading process as the local runner does; it profiles itself
    and writes its stats. Returns (the child's wall seconds, tests graded)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        status = 0
        try:
            profile = cProfile.Profile()
            started = time.perf_counter()
            profile.enable()
            result, _ = grading.grade_submission(
                suite, submission, zygote=zygote, workdir=workdir, reference_cache=cache
            )
            profile.disable()
            wall = time.perf_counter() - started
            profile.dump_stats(stats_file)
            os.write(write_fd, f"{wall} {len(result.tests)}".encode())
        except BaseException:  # noqa: BLE001 - a forked child must not return
            import traceback

            traceback.print_exc()
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status or not answer:
        raise SystemExit("the profiled grading process failed")
    wall, tests = answer.split()
    return float(wall), int(tests)


def waited(stats: pstats.Stats) -> float:
    """Seconds inside ``SandboxClient.wait`` and ``SandboxClient.__init__``
    (the zygote's fork): the sandbox's side of the run."""
    total = 0.0
    for (path, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if path.endswith(os.path.join("host", "client.py")) and name in ("wait", "__init__"):
            total += cumulative
    return total


def where(path: str) -> str:
    for part, label in (
        ("_pytest", "pytest"),
        ("pluggy", "pytest"),
        (os.sep + "grader" + os.sep, "grader"),
        ("solutions", "suite"),
        ("numpy", "numpy"),
    ):
        if part in path:
            return label
    return "python" if path.startswith(("~", "<")) or "python3" in path else "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="01_tensors")
    parser.add_argument("student", nargs="?", default="ada")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, help="keep the median run's cProfile stats here")
    options = parser.parse_args()

    assignment = assignments.load(REPO, options.assignment)
    notebook = REPO / "examples" / "submissions" / options.assignment / f"{options.student}.ipynb"
    submission = read_submission(Found(options.student, notebook), assignment.notebook)
    with tempfile.TemporaryDirectory(prefix="tfgrade-profile-") as scratch:
        folder = Path(scratch)
        zygote = Zygote(parent=folder)
        preload_tensorflow()
        suite = load_suite(assignment)
        gc.freeze()
        zygote.wait_ready()
        try:
            runs = []
            cache = folder / "reference-cache"
            cache.mkdir()
            for i in range(-1, options.repeat):
                workdir = folder / f"child{i + 1}"
                workdir.mkdir()
                stats_file = folder / f"run{i + 1}.prof"
                wall, tests = profiled_run(
                    suite, submission, zygote.info, workdir, cache, stats_file
                )
                if i >= 0:  # the first run fills the reference cache
                    runs.append((wall, tests, stats_file))
        finally:
            zygote.close()
        wall, tests, stats_file = sorted(runs)[len(runs) // 2]
        report(options, wall, tests, stats_file, [r[0] for r in runs])
        if options.save:
            shutil.copy(stats_file, options.save)


def report(options, wall: float, tests: int, stats_file: Path, walls: list[float]) -> None:
    stats = pstats.Stats(str(stats_file), stream=io.StringIO())
    sandbox = waited(stats)
    ours = wall - sandbox
    print(f"{options.assignment} {options.student}: {tests} tests, {len(walls)} runs")
    print(f"  wall per submission (median): {statistics.median(walls):.3f} s")
    print(f"  waiting for the sandbox:      {sandbox:.3f} s")
    print(f"  ours (trusted side):          {ours:.3f} s = {1000 * ours / tests:.1f} ms per test")
    print("  (profiling inflates ours; compare runs of this script, not with throughput.py)")
    groups: dict[str, float] = {}
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        groups[where(path)] = groups.get(where(path), 0.0) + own
        rows.append((own, calls, cumulative, f"{Path(path).name}:{line}({name})"))
    print(
        "  own time by origin: "
        + ", ".join(f"{k} {v:.3f} s" for k, v in sorted(groups.items(), key=lambda kv: -kv[1]))
    )
    print(f"  top {options.top} by own time (s, calls, cumulative s):")
    for own, calls, cumulative, label in sorted(rows, reverse=True)[: options.top]:
        print(f"    {own:7.3f} {calls:8d} {cumulative:7.3f}  {label}")


if __name__ == "__main__":
    sys.exit(main())
