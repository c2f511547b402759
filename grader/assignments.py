"""An assignment as the instructor wrote it in ``solutions/NN_name/``: the
solution notebook, the hidden suite, and ``assignment.toml``.

Lives on the trusted side only: nothing here may be imported by the sandbox.
"""

from __future__ import annotations

import datetime as dt
import types
from dataclasses import dataclass
from pathlib import Path

from grader import config
from grader.errors import ConfigError, UsageError
from grader.policy.deadlines import NO_LATE_POLICY, LatePolicy
from grader.sandbox.common import compile_cell
from grader.sandbox.host.limits import Limits
from grader.submissions import notebook_cells

CONFIG_NAME = "assignment.toml"
PUBLIC_SUITE = "test_public.py"
"""the public checks, released to students (see ``grader.check.public``)"""


@dataclass(frozen=True)
class AssignmentInfo:
    """What reports and exports show of an assignment: no paths, no limits."""

    name: str
    """folder name, e.g. ``01_tensors``"""
    title: str
    due: dt.datetime | None
    lms_id: str = ""
    """the assignment's id in the LMS (``lms_id``), or "" """


@dataclass(frozen=True)
class Assignment:
    """One assignment's settings and files."""

    name: str
    """folder name, e.g. ``01_tensors``"""
    title: str
    notebook: str
    """file name of the notebook students submit, e.g. ``01_tensors.ipynb``"""
    root: Path
    """the course folder holding solutions/, assignments/, examples/"""
    limits: Limits
    due: dt.datetime | None
    late: LatePolicy = NO_LATE_POLICY
    lms_id: str = ""
    """the assignment's id in the LMS (``lms_id``), or "" """
    opens: dt.datetime | None = None
    """when students got it (``opens``): no submission is older"""

    @property
    def info(self) -> AssignmentInfo:
        return AssignmentInfo(self.name, self.title, self.due, self.lms_id)

    @property
    def solution_dir(self) -> Path:
        return self.root / "solutions" / self.name

    @property
    def solution_notebook(self) -> Path:
        return self.solution_dir / self.notebook

    @property
    def release_dir(self) -> Path:
        return self.root / "assignments" / self.name

    @property
    def suite_files(self) -> list[Path]:
        """The hidden suite: every ``test_*.py`` but the public one, which
        ``grader check`` runs on students' machines and grading does not."""
        return sorted(p for p in self.solution_dir.glob("test_*.py") if p.name != PUBLIC_SUITE)

    @property
    def examples_dir(self) -> Path:
        return self.root / "examples" / "submissions" / self.name


def load_reference(assignment: Assignment) -> types.ModuleType:
    """The solution notebook's code as a module, for the ``reference`` fixture.

    Executes the notebook's cells, so it is called once per process by
    whoever starts grading there (``grader.batch``, the Ray slot server,
    ``gradescope-run``) and passed down; grading processes forked after
    inherit the module. Trusted side only: it runs the solution."""
    cells, _ = notebook_cells(
        assignment.solution_notebook.read_text(), assignment.solution_notebook.name
    )
    module = types.ModuleType(f"reference_{assignment.name}")
    for cell in cells:
        exec(compile_cell(cell.source, f"<solution cell {cell.number}>"), module.__dict__)
    return module


def names(root: Path) -> list[str]:
    """The assignments a course folder has, in order."""
    base = root / "solutions"
    return (
        sorted(p.name for p in base.iterdir() if (p / CONFIG_NAME).is_file())
        if base.is_dir()
        else []
    )


def load(root: Path, name: str) -> Assignment:
    """Read ``solutions/NAME/assignment.toml``, every key checked (``grader.config``)."""
    path = root / "solutions" / name / CONFIG_NAME
    if path.parent.is_dir() and not path.is_file():
        raise ConfigError(
            f"{path} is missing: solutions/{name}/ needs one, with at least the assignment's "
            "title and notebook (docs/instructors/assignment-toml.md)"
        )
    if not path.is_file():
        known = ", ".join(names(root)) or "none"
        raise UsageError(f"unknown assignment {name!r} (assignments here: {known})")
    settings = config.load(path, root)
    return Assignment(
        name=name,
        title=settings.title,
        notebook=settings.notebook,
        root=root,
        limits=settings.limits,
        due=settings.due,
        late=settings.late,
        lms_id=settings.lms_id,
        opens=settings.opens,
    )
