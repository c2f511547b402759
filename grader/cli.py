"""The ``grader`` command: thin click wrappers over keyword-only functions."""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from grader import __version__, assignments, ci, devices, exporters, release
from grader.batch import grade_assignment
from grader.console import summary_lines
from grader.errors import GraderError
from grader.gradescope.protocol import ROOT_VARIABLE
from grader.outdir import OutDir
from grader.runners import Backend

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything imports TensorFlow


def default(function: Callable[..., object], name: str) -> Any:
    """The default of ``function``'s parameter ``name``: an option mirroring
    a parameter takes its default from there, so the two cannot drift."""
    return inspect.signature(function).parameters[name].default


OUT: OutDir = default(grade_assignment, "out")
"""``--out`` of every command that reads what ``grade`` wrote"""


FC = TypeVar("FC", bound=Callable[..., Any])


def out_option(help: str) -> Callable[[FC], FC]:
    """``--out``, the same folder for every command that writes or reads it."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=OUT.root,
        show_default=True,
        callback=lambda _ctx, _param, root: OutDir(root),
        help=help,
    )


class GpuList(click.ParamType[list[str] | None, str]):
    """``--gpus``: auto (None: detect), none ([]), or device ids (``grader.devices.parse``)."""

    name = "gpus"

    def convert(
        self, value: str, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[str] | None:
        try:
            return devices.parse(value)
        except ValueError as err:
            self.fail(str(err), param, ctx)


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    """Show a GraderError as one line and exit with its status, no traceback."""
    try:
        yield
    except GraderError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(err.exit_code)


@click.group()
@click.version_option(__version__, prog_name="tfgrade")
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Course folder holding solutions/, assignments/ and examples/.",
)
@click.pass_context
def main(ctx: click.Context, root: Path) -> None:
    """Grade TensorFlow notebooks with hidden tests, through a sandbox."""
    ctx.obj = root.resolve()


@main.command("release")
@click.argument("assignment")
@click.pass_obj
def release_command(root: Path, assignment: str) -> None:
    """Write assignments/ASSIGNMENT/ (stub notebook, README) from solutions/ASSIGNMENT/."""
    with _reported():
        changed = release.release(assignments.load(root, assignment))
    for path in changed:
        click.echo(f"wrote {path.relative_to(root)}")
    if not changed:
        click.echo(f"assignments/{assignment}/ is up to date")


@main.command("doctor")
def doctor_command() -> None:
    """Show what this machine gives the sandbox and what to do about what is missing."""
    from grader import doctor

    click.echo(doctor.report())


@main.command("check")
@click.argument(
    "notebooks", metavar="NOTEBOOK...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "--assignment",
    "assignment_name",
    metavar="NN_name",
    help="The assignment to check against (default: the folder holding the notebook, its "
    "file name, or its metadata).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the HTML reports (default: beside each notebook).",
)
def check_command(
    notebooks: tuple[Path, ...], assignment_name: str | None, report_dir: Path | None
) -> None:
    """Run an assignment's public checks on your notebook before you submit it.

    Exits 0 when every check passes, 1 when one fails (for a pre-commit hook).
    """
    from grader.check import checker

    with _reported():
        status = checker.check_notebooks(
            list(notebooks),
            named=assignment_name,
            report_dir=report_dir,
            cwd=Path.cwd(),
            echo=click.echo,
            colour=checker.colour_wanted(sys.stdout),
        )
    sys.exit(status)


@main.command("export")
@click.argument(
    "format_name", metavar="FORMAT", type=click.Choice([f.value for f in exporters.ExportFormat])
)
@click.argument("assignment_names", metavar="ASSIGNMENT...", nargs=-1, required=True)
@out_option("The folder holding gradebook.db, as given to grade.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    help="roster.csv mapping student ids to LMS identities (default: roster.csv in --root).",
)
@click.option(
    "--missing",
    type=click.Choice(["zero", "blank"]),
    default=default(exporters.ExportRequest, "missing"),
    show_default=True,
    help="Grade of a student on the roster without a submission.",
)
@click.option(
    "--moodle-id",
    "identifier",
    type=click.Choice(["username", "email", "idnumber"]),
    default=default(exporters.ExportRequest, "identifier"),
    show_default=True,
    help="moodle: the user field the identifier column holds.",
)
@click.option(
    "--adjustment-columns",
    is_flag=True,
    default=default(exporters.ExportRequest, "adjustment_columns"),
    help="canvas, moodle: also write each assignment's raw score and late penalty "
    "(csv and nbgrader always have them).",
)
@click.option(
    "--require-namespaces",
    is_flag=True,
    help="gradescope: refuse to grade where sandboxes would be plain processes without "
    "namespaces, as in Gradescope's own container (see docs/platforms/gradescope.md).",
)
@click.pass_obj
def export_command(
    root: Path,
    format_name: str,
    assignment_names: tuple[str, ...],
    out: OutDir,
    output: Path | None,
    roster: Path | None,
    missing: Literal["zero", "blank"],
    identifier: Literal["username", "email", "idnumber"],
    adjustment_columns: bool,
    require_namespaces: bool,
) -> None:
    """Write grades (or an autograder) for another system, in FORMAT.

    \b
    Formats:
    """
    with _reported():
        request = exporters.ExportRequest(
            assignments=tuple(assignments.load(root, name).info for name in assignment_names),
            course=root,
            out=out,
            output=output,
            roster=roster,
            missing=missing,
            identifier=identifier,
            adjustment_columns=adjustment_columns,
            require_namespaces=require_namespaces,
            echo=lambda line: click.echo(line, err=True),
        )
        written = exporters.ExportFormat(format_name).export(request)
    for path in written:
        click.echo(f"wrote {path}")


export_command.help = (export_command.help or "") + "\n".join(
    f"  {name:<12} {name.summary}" for name in exporters.ExportFormat
)


@main.command("gradescope-run")
@click.argument("assignment")
@click.option(
    "--autograder-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=ROOT_VARIABLE,
    default=Path("/autograder"),
    show_default=True,
    help=f"Gradescope's folder holding submission/ and results/ (env {ROOT_VARIABLE}).",
)
@click.option(
    "--require-namespaces",
    is_flag=True,
    help="Refuse to grade where sandboxes would be plain processes without namespaces.",
)
@click.pass_obj
def gradescope_run_command(
    root: Path, assignment: str, autograder_root: Path, require_namespaces: bool
) -> None:
    """Grade Gradescope's submission/ and write results/results.json (run_autograder runs this)."""
    from grader.gradescope import autograder

    sys.exit(
        autograder.run(
            root,
            assignment,
            root=autograder_root,
            require_namespaces=require_namespaces,
            echo=click.echo,
        )
    )


@main.command("similarity")
@click.argument("assignment")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@out_option("The folder given to grade; the page goes to OUT/staff/.")
@click.option(
    "--threshold",
    type=float,
    help="Flag a pair when this share (0-1] of either student's own code is in the other's "
    "(default: the one measured on the example classes; see docs/instructors/similarity.md).",
)
@click.pass_obj
def similarity_command(
    root: Path, assignment: str, paths: tuple[Path, ...], out: OutDir, threshold: float | None
) -> None:
    """Find pairs of submissions of ASSIGNMENT that share code (staff only).

    PATHS are taken as by grade (default examples/submissions/ASSIGNMENT/).
    """
    from grader import similarity  # copydetect takes half a second to import
    from grader.reports import writer

    with _reported():
        check = similarity.check(
            assignments.load(root, assignment),
            paths=list(paths) or None,
            threshold=similarity.DEFAULT_THRESHOLD if threshold is None else threshold,
        )
        page = writer.write_similarity(out, check)
    for line in similarity.summary_lines(check):
        click.echo(line)
    click.echo(f"pairs side by side, for staff only (it shows students' code): {page}")


@main.command("override")
@click.argument("assignment")
@click.argument("student")
@click.argument("test", required=False)
@click.option("--points", type=float, required=True, help="The test's points, or the total.")
@click.option("--reason", required=True, help="Why; the student's report shows it.")
@out_option("The folder holding gradebook.db, as given to grade.")
@click.pass_obj
def override_command(
    root: Path,
    assignment: str,
    student: str,
    test: str | None,
    points: float,
    reason: str,
    out: OutDir,
) -> None:
    """Set STUDENT's points for TEST (or, without TEST, the total) by hand.

    Kept across regrades (--force too), with who, when and why; the late
    penalty still applies to the score it gives.
    """
    from grader.policy import overrides

    with _reported():
        result = overrides.override(
            assignments.load(root, assignment), student, test, points=points, reason=reason, out=out
        )
    click.echo(
        f"{result.student}: {result.score:g}/{result.max_score:g} (the tests gave "
        f"{result.raw_score:g}); reports in {out.assignment(assignment)}/"
    )


@main.command("history")
@click.argument("assignment")
@click.argument("student", required=False)
@out_option("The folder holding gradebook.db, as given to grade.")
def history_command(assignment: str, student: str | None, out: OutDir) -> None:
    """Show every grade recorded for ASSIGNMENT (or STUDENT's alone), oldest first.

    One line per grade: when (UTC), the student, the final score, the raw
    score (what the tests gave), the suite version, and what changed since
    the student's grade before (a new file, a new suite, an override, the
    late penalty). The gradebook keeps every grade it recorded, append-only.
    """
    from grader.policy import history

    with _reported():
        rows = history.history(out=out, assignment=assignment, student=student)
    for line in history.lines(rows):
        click.echo(line)


@main.command("grade")
@click.argument("assignment")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@out_option("Where reports and the gradebook go.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=default(grade_assignment, "jobs"),
    show_default=True,
    help="Submissions graded at once.",
)
@click.option("--force", is_flag=True, help="Regrade submissions graded before.")
@click.option(
    "--require-isolation",
    is_flag=True,
    help="Refuse to grade unless sandboxes get namespaces and cgroups (use in CI and on runners).",
)
@click.option(
    "--gpus",
    type=GpuList(),
    default=default(grade_assignment, "gpus"),
    help="GPUs to grade on, one submission each at a time: auto (the default: every GPU "
    "here), none, or ids like 0,1.",
)
@click.option(
    "--backend",
    type=click.Choice([b.value for b in Backend]),
    default=default(grade_assignment, "backend").value,
    show_default=True,
    help="Where grading processes run: forked here, or as Ray actors (pip install .[ray]).",
)
@click.option(
    "--address",
    help="With --backend ray: the cluster to join (auto, or ray://host:port); "
    "default: a local Ray instance.",
)
@click.option(
    "--gpu-share",
    type=click.IntRange(min=1),
    default=default(grade_assignment, "gpu_share"),
    show_default=True,
    help="Sandboxes sharing one GPU, each with its share of the GPU's memory.",
)
@click.option(
    "--no-reference-cache",
    is_flag=True,
    help="Compute the reference's results for every submission (the cache is in OUT/staff/).",
)
@click.option(
    "--junit",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/STUDENT.xml, a JUnit test suite per submission, for CI.",
)
@click.option(
    "--summary-md",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append a Markdown summary table to FILE (e.g. $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help=f"Exit with status {ci.FAIL_UNDER_STATUS} when a submission scores under PERCENT.",
)
@click.option(
    "--only",
    metavar="STUDENT[,STUDENT]",
    help="Regrade only these students (graded again even if unchanged).",
)
@click.option(
    "--trust-mtime",
    is_flag=True,
    help="Late policy: use a file's modification time when nothing better gives one "
    "(students control this).",
)
@click.option(
    "--trust-commit-time",
    is_flag=True,
    help="Late policy: use the committer time of a student folder's git HEAD when no "
    "manifest gives a time (students control this).",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Late policy: CSV of submission times the course made (columns student, "
    "submitted_at); it outranks every other source.",
)
@click.pass_obj
def grade_command(
    root: Path,
    assignment: str,
    paths: tuple[Path, ...],
    out: OutDir,
    jobs: int,
    force: bool,
    require_isolation: bool,
    gpus: list[str] | None,
    backend: str,
    address: str | None,
    gpu_share: int,
    no_reference_cache: bool,
    junit: Path | None,
    summary_md: Path | None,
    fail_under: float | None,
    only: str | None,
    trust_mtime: bool,
    trust_commit_time: bool,
    manifest: Path | None,
) -> None:
    """Grade submissions of ASSIGNMENT: files, student folders or class folders.

    PATHS default to examples/submissions/ASSIGNMENT/. The last line printed
    is "Points X/Y" over the submissions of the run.

    Exit status: 0 when the batch was graded, whatever the scores (3 under
    --fail-under); 1 when the grader itself failed on a submission (details
    for staff in OUT/staff/); 2 for a usage or course-configuration error.
    """
    with _reported():
        loaded = assignments.load(root, assignment)
        summary = grade_assignment(
            loaded,
            paths=list(paths) or None,
            out=out,
            jobs=jobs,
            force=force,
            require_isolation=require_isolation,
            gpus=gpus,
            backend=Backend(backend),
            address=address,
            gpu_share=gpu_share,
            reference_cache=not no_reference_cache,
            progress=sys.stderr.isatty(),
            echo=click.echo,
            only=only.split(",") if only else None,
            trust_mtime=trust_mtime,
            trust_commit_time=trust_commit_time,
            manifest=manifest,
        )
    for line in summary_lines(assignment, summary, out):
        click.echo(line)
    for slot in summary.slots:
        click.echo(slot.line())
    for student in summary.internal_errors:
        click.echo(f"internal error grading {student} (the grader's fault)", err=True)
    if summary.staff_log is not None:
        click.echo(f"details for staff only (they quote the hidden suite): {summary.staff_log}")
    with _reported():
        status = ci.finish(
            loaded.info,
            summary,
            junit=junit,
            summary_md=summary_md,
            fail_under=fail_under,
            echo=click.echo,
            warn=lambda line: click.echo(line, err=True),
        )
    sys.exit(1 if summary.staff_log is not None else status)
