"""``grader release``: make the student version of an assignment from the
instructor's, replacing each solution region with a stub.

Solution regions use nbgrader's markers, so instructors can bring their
notebooks::

    def relu(x):
        ### BEGIN SOLUTION
        return tf.maximum(x, 0.0)
        ### END SOLUTION

becomes ``raise NotImplementedError()`` at the marker's indentation. A
region that holds only decorators (``@tf.function(...)``) is removed, so
the stub stays a plain function.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat

from grader import notebooks
from grader.assignments import PUBLIC_SUITE, Assignment
from grader.check import public
from grader.errors import ConfigError
from grader.submissions import notebook_cells

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = "# YOUR CODE HERE\n{indent}raise NotImplementedError()"


def stub_source(source: str, where: str) -> str:
    """The cell's source with every solution region replaced by a stub."""
    out: list[str] = []
    region: list[str] | None = None
    indent = ""
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if region is not None:
                raise ConfigError(f"{where}, line {number}: {BEGIN} inside another solution region")
            region, indent = [], line[: len(line) - len(line.lstrip())]
        elif marker == END:
            if region is None:
                raise ConfigError(f"{where}, line {number}: {END} without {BEGIN}")
            code = [r.strip() for r in region if r.strip() and not r.strip().startswith("#")]
            if not code or not all(c.startswith("@") for c in code):
                out.append(indent + STUB.format(indent=indent))
            region = None
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:
        raise ConfigError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


METADATA_KEY = "tfgrade"
"""the released notebook's metadata names its assignment under this key
(``{"tfgrade": {"assignment": "01_tensors"}}``), so ``grader check`` can
tell a notebook saved from another assignment"""


def student_notebook(assignment: Assignment) -> str:
    """The released notebook as text: stubs in, outputs and counts cleared,
    its assignment named in its metadata."""
    notebook = nbformat.read(assignment.solution_notebook, as_version=4)
    notebook.metadata[METADATA_KEY] = {"assignment": assignment.name}
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        cell.source = stub_source(cell.source, f"{assignment.notebook}, cell {number}")
        cell.outputs = []
        cell.execution_count = None
    return nbformat.writes(notebook) + "\n"


def readme(assignment: Assignment) -> str:
    due = f"\nDue: {assignment.due:%Y-%m-%d %H:%M %Z}.\n" if assignment.due else ""
    return (
        f"# {assignment.title}\n{due}\n"
        f"Open `{assignment.notebook}` in Jupyter and replace every "
        "`raise NotImplementedError()` with your code. The cells tagged `check` after each "
        "exercise are public checks: run them to test your work. Your notebook is graded by "
        "hidden tests on fresh inputs, worth the points stated in each exercise.\n\n"
        f"Submit the notebook file `{assignment.notebook}` itself.\n"
        + (
            f"\nBefore you submit, run `grader check {assignment.notebook}` in this folder: it "
            f"runs the public checks (`{PUBLIC_SUITE}`) on the notebook as saved on disk, the "
            "way the grader runs your code, prints a table per exercise and writes "
            f"`{Path(assignment.notebook).stem}.check.html`. It needs this whole folder "
            f"(`{public.CHECK_CONFIG}` says which assignment it is).\n"
            if (assignment.solution_dir / PUBLIC_SUITE).is_file()
            else ""
        )
    )


def exercises(assignment: Assignment) -> tuple[str, ...]:
    """The graded functions and classes (every suite's ``exercise=``), in the
    order the solution notebook defines them."""
    marked: set[str] = set()
    for path in assignment.solution_dir.glob("test_*.py"):
        marked.update(public.marked_exercises(path.read_text(), str(path)))
    cells, _ = notebook_cells(assignment.solution_notebook.read_text(), assignment.notebook)
    defined = notebooks.definitions(cell.source for cell in cells).names
    return tuple(name for name in defined if name in marked)


def public_files(assignment: Assignment) -> dict[Path, str]:
    """What ``grader check`` needs in the released folder: the public suite
    (checked: see ``grader.check.public.check_suite``) and ``check.toml``. An
    assignment without ``test_public.py`` gets neither."""
    source_path = assignment.solution_dir / PUBLIC_SUITE
    if not source_path.is_file():
        return {}
    graded = exercises(assignment)
    source = source_path.read_text()
    public.check_suite(source, str(source_path), graded)
    released = public.PublicAssignment(
        name=assignment.name,
        title=assignment.title,
        notebook=assignment.notebook,
        folder=assignment.release_dir,
        exercises=graded,
        limits=dataclasses.replace(assignment.limits, data=None),
        pins=public.course_pins(assignment.root / "requirements.lock"),
    )
    return {
        assignment.release_dir / PUBLIC_SUITE: source,
        assignment.release_dir / public.CHECK_CONFIG: public.config_text(released),
    }


def release_files(assignment: Assignment) -> dict[Path, str]:
    """Every file ``assignments/NAME/`` should hold, with its content."""
    return {
        assignment.release_dir / assignment.notebook: student_notebook(assignment),
        assignment.release_dir / "README.md": readme(assignment),
        **public_files(assignment),
    }


def release(assignment: Assignment) -> list[Path]:
    """Write ``assignments/NAME/``; returns the files that changed."""
    changed = []
    for path, text in release_files(assignment).items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed
