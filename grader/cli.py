"""The ``grader`` command: thin click wrappers over keyword-only functions."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import click

from grader import __version__, assignments, devices, exporters, release
from grader.batch import grade_assignment, summary_lines
from grader.errors import GraderError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything imports TensorFlow


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


@main.command("export")
@click.argument("format_name", metavar="FORMAT", type=click.Choice(exporters.names()))
@click.argument("assignment_names", metavar="ASSIGNMENT...", nargs=-1, required=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="The folder holding gradebook.db, as given to grade.",
)
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
    default="zero",
    show_default=True,
    help="Grade of a student on the roster without a submission.",
)
@click.option(
    "--moodle-id",
    "identifier",
    type=click.Choice(["username", "email", "idnumber"]),
    default="email",
    show_default=True,
    help="moodle: the user field the identifier column holds.",
)
@click.pass_obj
def export_command(
    root: Path,
    format_name: str,
    assignment_names: tuple[str, ...],
    out: Path,
    output: Path | None,
    roster: Path | None,
    missing: Literal["zero", "blank"],
    identifier: Literal["username", "email", "idnumber"],
) -> None:
    """Write grades (or an autograder) for another system, in FORMAT.

    \b
    Formats:
    """
    with _reported():
        request = exporters.ExportRequest(
            assignments=tuple(assignments.load(root, name) for name in assignment_names),
            out=out,
            output=output,
            roster=roster,
            missing=missing,
            identifier=identifier,
            echo=lambda line: click.echo(line, err=True),
        )
        written = exporters.exporter(format_name)(request)
    for path in written:
        click.echo(f"wrote {path}")


export_command.help = (export_command.help or "") + "\n".join(
    f"  {name:<12} {exporters.summary(name)}" for name in exporters.names()
)


@main.command("override")
@click.argument("assignment")
@click.argument("student")
@click.argument("test", required=False)
@click.option("--points", type=float, required=True, help="The test's points, or the total.")
@click.option("--reason", required=True, help="Why; the student's report shows it.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="The folder holding gradebook.db, as given to grade.",
)
@click.pass_obj
def override_command(
    root: Path,
    assignment: str,
    student: str,
    test: str | None,
    points: float,
    reason: str,
    out: Path,
) -> None:
    """Set STUDENT's points for TEST (or, without TEST, the total) by hand.

    Kept across regrades (--force too), with who, when and why; the late
    penalty still applies to the score it gives.
    """
    from grader import overrides

    with _reported():
        result = overrides.override(
            assignments.load(root, assignment), student, test, points=points, reason=reason, out=out
        )
    click.echo(
        f"{result.student}: {result.score:g}/{result.max_score:g} (the tests gave "
        f"{result.raw_score:g}); reports in {out / assignment}/"
    )


@main.command("grade")
@click.argument("assignment")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Where reports and the gradebook go.",
)
@click.option(
    "--jobs", "-j", type=int, default=2, show_default=True, help="Submissions graded at once."
)
@click.option("--force", is_flag=True, help="Regrade submissions graded before.")
@click.option(
    "--require-isolation",
    is_flag=True,
    help="Refuse to grade unless sandboxes get namespaces and cgroups (use in CI and on runners).",
)
@click.option(
    "--gpus",
    default="auto",
    show_default=True,
    help="GPUs to grade on, one submission each at a time: auto, none, or ids like 0,1.",
)
@click.option(
    "--only",
    metavar="STUDENT[,STUDENT]",
    help="Regrade only these students (graded again even if unchanged).",
)
@click.option(
    "--trust-mtime",
    is_flag=True,
    help="Late policy: use a file's modification time when nothing better gives one.",
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Late policy: CSV of submission times (columns student, submitted_at).",
)
@click.pass_obj
def grade_command(
    root: Path,
    assignment: str,
    paths: tuple[Path, ...],
    out: Path,
    jobs: int,
    force: bool,
    require_isolation: bool,
    gpus: str,
    only: str | None,
    trust_mtime: bool,
    manifest: Path | None,
) -> None:
    """Grade submissions of ASSIGNMENT: files, student folders or class folders.

    PATHS default to examples/submissions/ASSIGNMENT/.
    """
    try:
        devices_to_use = devices.parse(gpus)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--gpus") from err
    with _reported():
        summary = grade_assignment(
            assignments.load(root, assignment),
            paths=list(paths) or None,
            out=out,
            jobs=jobs,
            force=force,
            require_isolation=require_isolation,
            gpus=devices_to_use,
            progress=sys.stderr.isatty(),
            echo=click.echo,
            only=only.split(",") if only else None,
            trust_mtime=trust_mtime,
            manifest=manifest,
        )
    for line in summary_lines(assignment, summary, out):
        click.echo(line)
    for student in summary.internal_errors:
        click.echo(f"internal error grading {student} (the grader's fault)", err=True)
    if summary.staff_log is not None:
        click.echo(f"details for staff only (they quote the hidden suite): {summary.staff_log}")
        sys.exit(1)
