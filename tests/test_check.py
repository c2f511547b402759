"""``grader check``: a student's run of the public checks, from a copy of the
released folder alone, through the real sandbox and a real ``python -m
grader check`` subprocess, on real notebooks written with nbformat."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import grader
from grader import assignments
from grader.assignments import PUBLIC_SUITE
from grader.check import public
from grader.check.checker import colour_wanted, installed_version, prepare
from grader.errors import ConfigError
from grader.release import METADATA_KEY
from tests.helpers import REPO, run_grader, run_make

NAME = "01_tensors"
EXAMPLES = REPO / "examples" / "submissions" / NAME
SUMMARY = re.compile(r"^(\d+)/(\d+) checks passed in [\d.]+ s; report: (\S+)\.check\.html$", re.M)
"""the last line of each notebook's check, as ``grader.check.checker.lines`` writes it"""


def released(tmp_path: Path, name: str = NAME) -> Path:
    """A student's copy of ``assignments/NAME/``, and nothing else of the course."""
    folder = tmp_path / name
    shutil.copytree(REPO / "assignments" / name, folder)
    return folder


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_grader("check", *args, cwd=cwd)


def example(name: str) -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)


def cell_defining(notebook: nbformat.NotebookNode, function: str) -> nbformat.NotebookNode:
    [cell] = [c for c in notebook.cells if f"def {function}(" in c.source]
    return cell


def summaries(output: str) -> dict[str, tuple[int, int]]:
    return {m.group(3): (int(m.group(1)), int(m.group(2))) for m in SUMMARY.finditer(output)}


# -- what release puts in the student's folder ----------------------------------


@pytest.mark.parametrize("name", assignments.names(REPO))
def test_released_folder_holds_only_what_check_needs(name: str) -> None:
    assignment = assignments.load(REPO, name)
    folder = assignment.release_dir
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [assignment.notebook, "README.md", PUBLIC_SUITE, public.CHECK_CONFIG]
    )
    hidden = (assignment.solution_dir / "test_hidden.py").read_text()
    hidden_tests = set(re.findall(r"^def (test_\w+)", hidden, re.M))
    suite = (folder / PUBLIC_SUITE).read_text()
    assert not hidden_tests & set(re.findall(r"^def (test_\w+)", suite, re.M))
    assert not any("reference" in args for args in re.findall(r"def \w+\(([^)]*)\)", suite))
    for path in folder.iterdir():
        assert "BEGIN SOLUTION" not in path.read_text()
    loaded = public.load(folder)
    # the course data folder is not released: public checks never need it
    assert loaded.name == name and loaded.limits == dataclasses.replace(
        assignment.limits, data=None
    )
    assert set(public.marked_exercises(suite, "suite")) == set(loaded.exercises)
    notebook = nbformat.read(folder / assignment.notebook, as_version=4)
    assert notebook.metadata[METADATA_KEY] == {"assignment": name}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def test_a(student, reference):\n    pass\n", "asks for `reference`"),
        ("import helpers\n", "imports helpers"),
        ("from . import answers\n", "imports ., but"),
        (
            "from grader.harness import grade\n@grade(points=1, exercise='nope', hint='')\n"
            "def test_a(student):\n    pass\n",
            "exercise='nope'",
        ),
    ],
)
def test_release_refuses_a_public_suite_that_would_leak(source: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        public.check_suite(source, "test_public.py", ("filled",))


@pytest.mark.slow
@pytest.mark.parametrize("name", assignments.names(REPO))
def test_solution_passes_its_public_checks_and_the_stub_fails_them(
    tmp_path: Path, name: str
) -> None:
    """The literal expected values of each public suite are right."""
    folder = released(tmp_path, name)
    shutil.copy(REPO / "solutions" / name / f"{name}.ipynb", folder / "solution.ipynb")
    done = check("solution.ipynb", f"{name}.ipynb", cwd=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    total = len(public.load(folder).exercises)
    assert summaries(done.stdout) == {"solution": (total, total), name: (0, total)}


# -- the example class, from the released folder alone --------------------------


@pytest.mark.whole_class
def test_example_class_checked_from_the_released_folder_alone(tmp_path: Path) -> None:
    folder = released(tmp_path)
    names = sorted(p.stem for p in EXAMPLES.glob("*.ipynb"))
    for name in names:
        shutil.copy(EXAMPLES / f"{name}.ipynb", folder)
    done = check(*(f"{n}.ipynb" for n in names), cwd=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    results = summaries(done.stdout)
    assert sorted(results) == names
    # only the reference-like notebook passes every public check
    assert [n for n, (passed, total) in results.items() if passed == total] == ["ada"]
    assert results["zoe"] == (0, 11)  # the untouched stubs
    assert "\x1b[" not in done.stdout  # not a terminal: no colour
    for name in names:
        assert (folder / f"{name}.check.html").is_file()
    table = done.stdout.split("of ivy.ipynb:")[1]
    assert re.search(r"^  count_traces +0/1  timeout$", table, re.M)

    alone = check("ada.ipynb", cwd=folder)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert summaries(alone.stdout) == {"ada": (11, 11)}
    stub = check("zoe.ipynb", cwd=folder)
    assert stub.returncode == 1
    assert "No exercise is done yet" in stub.stdout


# -- what students do -----------------------------------------------------------


def test_half_edited_cell_names_the_cell_and_the_function(tmp_path: Path) -> None:
    folder = released(tmp_path)
    notebook = example("ada")
    cell = cell_defining(notebook, "to_images")
    cell.source = "def to_images(flat, height, width):\n    return tf.reshape(flat, [-1, height\n"
    nbformat.write(notebook, folder / "mine.ipynb")
    done = check("mine.ipynb", cwd=folder)
    assert done.returncode == 1
    number = notebook.cells.index(cell) + 1
    assert f"cell {number}, line 2: SyntaxError" in done.stdout
    assert f"cell {number} has a syntax error, so it did not run and `to_images`" in done.stdout
    assert summaries(done.stdout) == {"mine": (10, 11)}


def test_renamed_function_is_named_with_its_new_name(tmp_path: Path) -> None:
    folder = released(tmp_path)
    notebook = example("ada")
    cell = cell_defining(notebook, "center")
    cell.source = cell.source.replace("def center(", "def centre(")
    nbformat.write(notebook, folder / "mine.ipynb")
    done = check("mine.ipynb", cwd=folder)
    assert done.returncode == 1
    assert "`center` is not defined, but `centre` is: did you rename it?" in done.stdout
    assert re.search(r"^  center +0/1  not implemented$", done.stdout, re.M)


def test_deleted_function_says_its_cell_is_gone(tmp_path: Path) -> None:
    folder = released(tmp_path)
    notebook = example("ada")
    notebook.cells.remove(cell_defining(notebook, "pick_rows"))
    nbformat.write(notebook, folder / "mine.ipynb")
    done = check("mine.ipynb", cwd=folder)
    assert done.returncode == 1
    assert "`pick_rows` is not defined anywhere in your notebook: was its cell deleted?" in (
        done.stdout
    )


def test_notebook_of_another_assignment_is_refused(tmp_path: Path) -> None:
    folder = released(tmp_path)
    shutil.copy(REPO / "assignments" / "02_layers" / "02_layers.ipynb", folder / "mine.ipynb")
    shutil.copy(REPO / "examples" / "submissions" / "02_layers" / "ada.ipynb", folder / "old.ipynb")
    done = check("mine.ipynb", "old.ipynb", cwd=folder)
    assert done.returncode == 1
    assert (
        "mine.ipynb was saved from assignment 02_layers (its metadata says so), but it is "
        "being checked as 01_tensors" in done.stdout
    )
    # without our metadata: it defines few of this assignment's functions, more of others
    assert (
        "old.ipynb defines 1 of the 11 functions of 01_tensors (softmax), and relu, sigmoid"
        in done.stdout
    )
    assert summaries(done.stdout) == {}


def test_empty_and_never_filled_notebooks_say_what_to_do(tmp_path: Path) -> None:
    folder = released(tmp_path)
    (folder / "unsaved.ipynb").write_bytes(b"")
    blank = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# 01"), nbformat.v4.new_code_cell("")]
    )
    nbformat.write(blank, folder / "blank.ipynb")
    done = check("unsaved.ipynb", "blank.ipynb", cwd=folder)
    assert done.returncode == 1
    assert "unsaved.ipynb is empty (0 bytes): it was never saved." in done.stdout
    assert "blank.ipynb has no code in its cells: nothing to check." in done.stdout


def test_other_tensorflow_version_is_a_warning_naming_both(tmp_path: Path) -> None:
    folder = released(tmp_path)
    config = folder / public.CHECK_CONFIG
    config.write_text(re.sub(r'tensorflow = "[^"]*"', 'tensorflow = "2.0.0"', config.read_text()))
    shutil.copy(EXAMPLES / "ada.ipynb", folder)
    done = check("ada.ipynb", cwd=folder)
    have = importlib.metadata.version("tensorflow-cpu")
    assert installed_version("tensorflow") == have
    assert (
        f"warning: TensorFlow {have} is installed, but the course pins TensorFlow 2.0.0"
        in done.stdout
    )
    assert "Keras" not in done.stdout.split("warning:")[1].split("\n")[0]
    assert done.returncode == 0  # a warning, not a failure


def test_another_grader_version_is_a_warning_naming_both(tmp_path: Path) -> None:
    """check.toml records the grader that released the folder; a folder
    released before that was recorded warns of nothing."""
    folder = released(tmp_path)
    shutil.copy(EXAMPLES / "ada.ipynb", folder)
    config = folder / public.CHECK_CONFIG
    assert public.load(folder).grader_version == grader.__version__
    assert not prepare(folder / "ada.ipynb", named=None, cwd=folder).warnings
    config.write_text(config.read_text().replace(grader.__version__, "0.0.9", 1))
    [warning] = prepare(folder / "ada.ipynb", named=None, cwd=folder).warnings
    assert warning == (
        f"warning: this folder was released with grader 0.0.9, but grader {grader.__version__} "
        "is installed: results here may differ from grading. Install the course's grader "
        "(tfgrade==0.0.9)."
    )
    config.write_text(re.sub(r"grader_version = .*\n", "", config.read_text()))
    assert public.load(folder).grader_version == ""
    assert not prepare(folder / "ada.ipynb", named=None, cwd=folder).warnings


# -- which assignment -----------------------------------------------------------


def test_assignment_from_file_name_metadata_or_option(tmp_path: Path) -> None:
    course = tmp_path / "course"
    released(course / "assignments")
    work = tmp_path / "course" / "work"
    work.mkdir()
    shutil.copy(EXAMPLES / "ada.ipynb", work / "01_tensors.ipynb")  # by its file name
    shutil.copy(EXAMPLES / "ada.ipynb", work / "01_tensors-ada.ipynb")  # or its start
    tagged = example("ada")
    tagged.metadata[METADATA_KEY] = {"assignment": NAME}
    nbformat.write(tagged, work / "mine.ipynb")  # by its metadata
    shutil.copy(EXAMPLES / "ada.ipynb", work / "ada.ipynb")  # only with --assignment
    done = check("01_tensors.ipynb", "01_tensors-ada.ipynb", "mine.ipynb", cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summaries(done.stdout) == {
        "01_tensors": (11, 11),
        "01_tensors-ada": (11, 11),
        "mine": (11, 11),
    }
    unknown = check("ada.ipynb", cwd=work)
    assert unknown.returncode == 2
    assert "cannot tell which assignment ada.ipynb belongs to" in unknown.stdout
    assert "--assignment NN_name" in unknown.stdout
    named = check("ada.ipynb", "--assignment", NAME, "--report", str(tmp_path / "out"), cwd=work)
    assert named.returncode == 0, named.stdout + named.stderr
    assert (tmp_path / "out" / "ada.check.html").is_file()
    assert not (work / "ada.check.html").exists()


def test_advice_for_another_assignments_notebook_works_when_followed(tmp_path: Path) -> None:
    folder = released(tmp_path)
    shutil.copy(REPO / "assignments" / "02_layers" / "02_layers.ipynb", folder / "mine.ipynb")
    alone = check("mine.ipynb", cwd=folder)
    assert alone.returncode == 1
    assert "--assignment 02_layers" not in alone.stdout  # there is no 02_layers/ to check with
    assert (
        "or to check it as 02_layers, get the folder assignments/02_layers/ from the course "
        "(its notebook, check.toml and test_public.py), put this notebook in it" in alone.stdout
    )
    theirs = released(tmp_path, "02_layers")
    beside = check("mine.ipynb", cwd=folder)
    assert beside.returncode == 1
    assert "or check against 02_layers with --assignment 02_layers." in beside.stdout
    followed = check("mine.ipynb", "--assignment", "02_layers", "--report", str(theirs), cwd=folder)
    assert "02_layers public checks of mine.ipynb" in followed.stdout
    shutil.copy(folder / "mine.ipynb", theirs / "mine.ipynb")
    moved = check("mine.ipynb", cwd=theirs)
    for done in (followed, moved):
        [(passed, total)] = summaries(done.stdout).values()
        assert passed == 0 and total > 0, done.stdout  # checked: the released stub fails them


def test_notebook_named_by_its_metadata_alone_could_not_be_checked(tmp_path: Path) -> None:
    """docs/students.md: a notebook that could not be checked is exit 1 (2 is a usage error)."""
    tagged = example("ada")
    tagged.metadata[METADATA_KEY] = {"assignment": NAME}
    nbformat.write(tagged, tmp_path / "mine.ipynb")
    done = check("mine.ipynb", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        f"mine.ipynb is a notebook of {NAME} (its metadata says so), but no copy of "
        f"assignments/{NAME}/ (with its check.toml) is beside it or in {tmp_path}: get the "
        f"folder assignments/{NAME}/ from the course" in done.stdout
    )


def test_make_check_leaves_the_course_checkout_clean(tmp_path: Path) -> None:
    """``make check`` in a course checkout puts its page under reports/check/,
    and .gitignore keeps it, the CI templates' submissions/ and out/, and a
    page ``grader check`` left beside a notebook out of ``git status``."""
    checkout = tmp_path / "course"
    released(checkout / "assignments")
    shutil.copy(REPO / ".gitignore", checkout / ".gitignore")
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "course"], check=True)
    notebook = checkout / "assignments" / NAME / f"{NAME}.ipynb"
    shutil.copy(EXAMPLES / "ada.ipynb", notebook)
    done = run_make("check", f"NB={notebook}", cwd=checkout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summaries(done.stdout) == {f"reports/check/{NAME}": (11, 11)}
    assert not list(notebook.parent.glob("*.check.html"))
    (checkout / "submissions" / "alice").mkdir(parents=True)
    shutil.copy(EXAMPLES / "ada.ipynb", checkout / "submissions" / "alice" / f"{NAME}.ipynb")
    (checkout / "out" / "junit").mkdir(parents=True)
    (checkout / "out" / "junit" / "alice.xml").write_text("<testsuites/>")
    (notebook.parent / f"{NAME}.check.html").write_text("<p>a page</p>")
    status = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout.splitlines() == [f" M assignments/{NAME}/{NAME}.ipynb"]


# -- without a sandbox ----------------------------------------------------------


def test_without_a_sandbox_it_says_so_once_and_still_checks(tmp_path: Path) -> None:
    """A machine whose kernel gives no user namespaces to the grader (set to 0
    in a user namespace of the test's own, so nothing else is touched)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    folder = released(tmp_path)
    shutil.copy(EXAMPLES / "ada.ipynb", folder)
    shutil.copy(EXAMPLES / "gus.ipynb", folder)
    script = (
        "echo 0 > /proc/sys/user/max_user_namespaces && "
        f'exec "{sys.executable}" -m grader check ada.ipynb gus.ipynb'
    )
    done = subprocess.run(
        ["unshare", "-Ur", "sh", "-c", script],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if "unshare failed" in done.stderr:
        pytest.skip("user namespaces are not available to this test")
    assert done.stdout.count("note: no sandbox on this machine") == 1, done.stdout + done.stderr
    assert "max_user_namespaces" in done.stdout
    assert done.returncode == 1
    assert summaries(done.stdout) == {"ada": (11, 11), "gus": (9, 11)}
    assert "cell 16, line 3:     rows = tf.gather(x, idx)" in done.stdout


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    main, side = os.openpty()
    with os.fdopen(side, "w") as terminal:
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert colour_wanted(terminal)
        assert not colour_wanted(io.StringIO())
        monkeypatch.setenv("NO_COLOR", "1")
        assert not colour_wanted(terminal)
    os.close(main)
