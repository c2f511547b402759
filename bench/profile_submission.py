"""Where one submission's grading time goes: the sandbox's side and ours.

    python bench/profile_submission.py [ASSIGNMENT] [STUDENT] [--repeat 5] [--top 25] [--save FILE]

Grades the example student's notebook as ``grader grade -j 1`` does: the
suite loaded and ``gc.freeze()``d here, a zygote started, one grading
process forked per submission. Prints the medians of ``--repeat`` runs:

- the submission's wall time and its tests' count;
- the time spent waiting for the sandbox (its fork, loading the cells, the
  student's code, the wire's far end), and the rest: ours, per test;
- our grading process's own CPU time, per test;

then one more run under cProfile (which inflates our side): the functions
with the most time of their own (``--top``), grouped by where they live
(pytest, grader, the suite, the standard library).

The reference cache is on, as in a batch, and filled by a run before those
measured.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import assignments, grading
from grader.runners.local import preload_tensorflow
from grader.sandbox.host.client import SandboxClient, Zygote
from grader.submissions import Found, read_submission
from grader.suite import load as load_suite

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    wall: float
    """the grading process's seconds, fork to result"""
    waited: float
    """of which waiting for the sandbox: its fork, loading the cells, answering calls"""
    cpu: float
    """the grading process's own CPU seconds (the trusted side; sandboxes are apart)"""
    tests: int


def graded_once(
    suite, submission, zygote, workdir: Path, cache: Path, stats_file: Path | None
) -> Run:
    """Fork a grading process as the local runner does and grade once, timing
    the waits for the sandbox; with ``stats_file``, under cProfile."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        status = 0
        try:
            waits = _time_waits()
            profile = cProfile.Profile() if stats_file else None
            started, cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            result, _ = grading.grade_submission(
                suite, submission, zygote=zygote, workdir=workdir, reference_cache=cache
            )
            if profile:
                profile.disable()
                profile.dump_stats(stats_file)
            run = Run(
                time.perf_counter() - started,
                waits[0],
                time.process_time() - cpu,
                len(result.tests),
            )
            os.write(write_fd, json.dumps(dataclasses.asdict(run)).encode())
        except BaseException:  # noqa: BLE001 - a forked child must not return
            traceback.print_exc()
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status or not answer:
        raise SystemExit("the grading process failed")
    return Run(**json.loads(answer))


def _time_waits() -> list[float]:
    """Count the seconds spent in ``SandboxClient.wait`` and its start (the
    zygote's fork) from now on, in this process: [total]."""
    total = [0.0]
    for name in ("wait", "__init__"):
        original = getattr(SandboxClient, name)

        def timed(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                total[0] += time.perf_counter() - started

        setattr(SandboxClient, name, timed)
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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, help="keep the cProfile stats here")
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
        cache = folder / "reference-cache"
        cache.mkdir()
        try:

            def once(i: int, stats: Path | None = None) -> Run:
                workdir = folder / f"child{i}"
                workdir.mkdir()
                return graded_once(suite, submission, zygote.info, workdir, cache, stats)

            once(0)  # fills the reference cache, as the first submission of a batch does
            runs = [once(i + 1) for i in range(options.repeat)]
            stats_file = folder / "profile.prof"
            profiled = once(options.repeat + 1, stats_file)
        finally:
            zygote.close()
        report(options, runs)
        print_profile(options, profiled, stats_file)
        if options.save:
            shutil.copy(stats_file, options.save)


def report(options: argparse.Namespace, runs: list[Run]) -> None:
    def median(field: str) -> float:
        return statistics.median(getattr(r, field) for r in runs)

    tests = runs[0].tests
    wall, waited, cpu = median("wall"), median("waited"), median("cpu")
    print(f"{options.assignment} {options.student}: {tests} tests, median of {len(runs)} runs")
    print(f"  wall per submission:      {wall:.3f} s")
    print(f"  waiting for the sandbox:  {waited:.3f} s")
    ours = wall - waited
    print(f"  ours, wall (the rest):    {ours:.3f} s = {1000 * ours / tests:.1f} ms per test")
    print(f"  ours, CPU:                {cpu:.3f} s = {1000 * cpu / tests:.1f} ms per test")


def print_profile(options: argparse.Namespace, run: Run, stats_file: Path) -> None:
    """One more run under cProfile (which inflates our side): where our time goes."""
    stats = pstats.Stats(str(stats_file), stream=io.StringIO())
    groups: dict[str, float] = {}
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        groups[where(path)] = groups.get(where(path), 0.0) + own
        rows.append((own, calls, cumulative, f"{Path(path).name}:{line}({name})"))
    print(f"  under cProfile: wall {run.wall:.3f} s, waiting {run.waited:.3f} s")
    ranked = sorted(groups.items(), key=lambda kv: -kv[1])
    print("  own time by origin: " + ", ".join(f"{k} {v:.3f} s" for k, v in ranked))
    print(f"  top {options.top} by own time (s, calls, cumulative s):")
    for own, calls, cumulative, label in sorted(rows, reverse=True)[: options.top]:
        print(f"    {own:7.3f} {calls:8d} {cumulative:7.3f}  {label}")


if __name__ == "__main__":
    sys.exit(main())
