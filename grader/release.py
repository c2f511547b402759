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

from pathlib import Path

import nbformat

from grader.assignments import Assignment
from grader.errors import ConfigError

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


def student_notebook(assignment: Assignment) -> str:
    """The released notebook as text: stubs in, outputs and counts cleared."""
    notebook = nbformat.read(assignment.solution_notebook, as_version=4)
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
    )


def release_files(assignment: Assignment) -> dict[Path, str]:
    """Every file ``assignments/NAME/`` should hold, with its content."""
    return {
        assignment.release_dir / assignment.notebook: student_notebook(assignment),
        assignment.release_dir / "README.md": readme(assignment),
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
