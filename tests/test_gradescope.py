"""``grader export gradescope``: the zip is built by the real command,
unpacked into a fake ``/autograder`` tree (``TFGRADE_AUTOGRADER_ROOT``), and
its own ``run_autograder`` grades real submissions; every results.json is
validated against a JSON Schema written from Gradescope's specification."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.gradescope import autograder, protocol
from grader.gradescope.export import pins
from grader.sandbox.host import trees
from tests.example_class import CENTER
from tests.helpers import COURSE, LATE_REASON, REPO, late_result, run_grader

SCHEMA = json.loads((REPO / "tests" / "schemas" / "gradescope_results.schema.json").read_text())
EXAMPLES = REPO / "examples" / "submissions" / "01_tensors"
SUBMITTED_AT = "2026-11-30T14:22:32.365935-07:00"
METADATA = {
    "id": 123456,
    "created_at": SUBMITTED_AT,
    "assignment": {"due_date": "2026-12-01T23:59:00.000000-07:00", "late_due_date": None},
    "users": [{"email": "student@example.com", "id": 1234, "name": "Student User"}],
    "previous_submissions": [],
}


@dataclass(frozen=True)
class Run:
    """One run of the exported run_autograder."""

    results: dict[str, Any]
    stdout: str
    stderr: str
    returncode: int


def export(tmp: Path, *args: str) -> Path:
    """Build a zip with the real command; its path."""
    output = tmp / "autograder.zip"
    done = run_grader(*args, "-o", str(output))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == f"wrote {output}"
    return output


@pytest.fixture(scope="module")
def zip_01(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("zip01"), "export", "gradescope", "01_tensors")


def grader_on_path(tmp: Path) -> Path:
    """A folder holding a ``grader`` command for this checkout, as setup.sh
    would link one into /usr/local/bin."""
    folder = tmp / "bin"
    folder.mkdir()
    command = folder / "grader"
    command.write_text(
        f'#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m grader "$@"\n', encoding="utf-8"
    )
    command.chmod(0o755)
    return folder


def autograder_tree(tmp: Path, archive: Path) -> Path:
    """/autograder as Gradescope builds it: the zip in source/, run_autograder copied up."""
    root = tmp / "autograder"
    with zipfile.ZipFile(archive) as unpacked:
        unpacked.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    return root


def run_autograder(
    tmp: Path,
    archive: Path,
    files: dict[str, Path] | None,
    *,
    metadata: dict[str, Any] | None = None,
    path: str | None = None,
    namespaces: bool = True,
) -> Run:
    """Unpack ``archive``, put ``files`` (name -> source; None: no submission
    folder at all) in submission/, and run run_autograder as Gradescope does
    (without ``namespaces``: in a user namespace that may create no other,
    like a container that blocks them)."""
    root = autograder_tree(tmp, archive)
    if files is not None:
        (root / "submission").mkdir()
        for name, source in files.items():
            (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / "submission" / name)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    search = path if path is not None else f"{grader_on_path(tmp)}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": search, protocol.ROOT_VARIABLE: str(root)}
    command = [str(root / "run_autograder")]
    if not namespaces:
        block = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0"'
        command = ["unshare", "--user", "--map-root-user", "sh", "-c", block, *command]
    done = subprocess.run(
        command,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert "Traceback" not in json.dumps(results)
    return Run(results, done.stdout, done.stderr, done.returncode)


def by_name(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in results["tests"]}


# -- the zip -----------------------------------------------------------------


def test_zip_has_gradescope_layout(zip_01: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(zip_01) as archive:
        names = set(archive.namelist())
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
        archive.extractall(tmp_path)
    assert {
        "setup.sh",
        "run_autograder",
        "requirements.lock",
        "course.json",
        "tfgrade/pyproject.toml",
        "tfgrade/grader/cli.py",
        "tfgrade/grader/gradescope/autograder.py",
        "solutions/01_tensors/test_hidden.py",
        "solutions/01_tensors/01_tensors.ipynb",
        "solutions/01_tensors/assignment.toml",
    } <= names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    # sandboxes without namespaces run as uid nobody: the solutions are root's alone
    assert {m for n, m in modes.items() if n.startswith("solutions/")} == {0o600}
    assert modes["tfgrade/grader/cli.py"] == modes["course.json"] == 0o644
    assert not any("__pycache__" in n or "examples/" in n or "02_layers/" in n for n in names)
    # the hidden suite is the instructor's, byte for byte
    suite = REPO / "solutions" / "01_tensors" / "test_hidden.py"
    assert (tmp_path / "solutions" / "01_tensors" / "test_hidden.py").read_bytes() == (
        suite.read_bytes()
    )
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True)
        assert check.returncode == 0, check.stderr


def test_setup_installs_pinned_versions(zip_01: Path, tmp_path: Path) -> None:
    """setup.sh installs from the grader's own lock, where every package is
    pinned, and names the TensorFlow and Keras it pins."""
    with zipfile.ZipFile(zip_01) as archive:
        archive.extractall(tmp_path)
    lock = (tmp_path / "requirements.lock").read_text()
    assert lock == (REPO / "requirements.lock").read_text()
    requirements = [
        line for line in lock.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert all("==" in line for line in requirements)
    pinned = pins(lock)
    setup = (tmp_path / "setup.sh").read_text()
    assert f"tensorflow-cpu=={pinned['tensorflow-cpu']}" in setup
    assert f"keras=={pinned['keras']}" in setup
    assert '-c "$here/requirements.lock"' in setup  # constraints: dev tools are not installed
    assert '--no-build-isolation "$here/tfgrade"' in setup and " -r " not in setup
    assert "(3, 11, 2) <= sys.version_info[:3] < (3, 14)" in setup
    assert 'chmod -R go-rwx "$here/solutions/"' in setup  # sandboxes may run as nobody


def test_the_same_course_gives_the_same_zip(zip_01: Path, tmp_path: Path) -> None:
    again = export(tmp_path, "export", "gradescope", "01_tensors")
    assert again.read_bytes() == zip_01.read_bytes()


def test_export_wants_exactly_one_assignment(tmp_path: Path) -> None:
    runner = CliRunner()
    two = runner.invoke(
        main, ["export", "gradescope", "01_tensors", "02_layers", "-o", str(tmp_path / "a.zip")]
    )
    assert two.exit_code == 2
    assert "give exactly one assignment" in two.output
    assert "got 2: 01_tensors, 02_layers" in two.output
    not_zip = runner.invoke(main, ["export", "gradescope", "01_tensors", "-o", str(tmp_path / "a")])
    assert not_zip.exit_code == 2
    assert "should end in .zip" in not_zip.output
    assert not list(tmp_path.iterdir())


# -- grading in the fake /autograder -----------------------------------------


@pytest.mark.e2e  # grades in a real /autograder tree
def test_reference_submission_scores_full_marks(zip_01: Path, tmp_path: Path) -> None:
    reference = REPO / "solutions" / "01_tensors" / "01_tensors.ipynb"
    run = run_autograder(tmp_path, zip_01, {"01_tensors.ipynb": reference}, metadata=METADATA)
    assert run.returncode == 0, run.stdout + run.stderr
    results = run.results
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) == 36
    assert {t["status"] for t in results["tests"]} == {"passed"}
    assert {t["extra_data"]["verdict"] for t in results["tests"]} == {"passed"}
    assert all(t["tags"] == [t["extra_data"]["exercise"]] for t in results["tests"])
    numbers = [t["number"] for t in results["tests"]]
    assert len(set(numbers)) == len(numbers) and numbers[0] == "1.1"
    extra = results["extra_data"]
    assert extra["submitted_at"] == SUBMITTED_AT
    assert extra["due_date"] == "2026-12-01T23:59:00-07:00"
    assert extra["isolation"] and extra["isolation"] != "not graded"
    assert "isolation_note" not in extra  # namespaces: nothing to warn of
    assert results["output_format"] == results["test_output_format"] == "html"
    assert results["stdout_visibility"] == "hidden"
    assert "score: 36/36" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.e2e  # grades in a real /autograder tree
def test_buggy_submission_scores_exactly(zip_01: Path, tmp_path: Path) -> None:
    """ben centers over the wrong axis: 32/36, the three center tests fail
    (tests/test_examples.py). Uploaded under its own name, it is the one notebook."""
    run = run_autograder(tmp_path, zip_01, {"ben.ipynb": EXAMPLES / "ben.ipynb"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.results["score"] == 32
    failed = {t["name"]: t for t in run.results["tests"] if t["status"] == "failed"}
    assert sorted(failed) == sorted(CENTER)
    for test in failed.values():
        assert test["score"] == 0 and test["extra_data"]["verdict"] == "failed"
        assert "differs" in test["output"] and "Hint: " in test["output"]
    assert run.results["extra_data"]["submitted_at"] is None  # no submission_metadata.json


@pytest.mark.e2e  # grades in a real /autograder tree
def test_a_late_submission_is_told_its_penalty_and_why(tmp_path: Path) -> None:
    """Full marks, submitted 1 d 10 h after the deadline under "10% per day":
    28.8/36, and the output every student sees says how, with the reason
    results.json records."""
    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / "01_tensors", course / "solutions" / "01_tensors")
    toml = course / "solutions" / "01_tensors" / "assignment.toml"
    toml.write_text(toml.read_text().replace("due = ", 'late_policy = "10% per day"\ndue = '))
    archive = export(tmp_path, "--root", str(course), "export", "gradescope", "01_tensors")
    late = {
        **METADATA,
        "created_at": "2026-12-03T10:00:00.000000+00:00",
        "assignment": {"due_date": "2026-12-01T23:59:00.000000+00:00", "late_due_date": None},
    }
    run = run_autograder(
        tmp_path, archive, {"01_tensors.ipynb": EXAMPLES / "ada.ipynb"}, metadata=late
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.results["score"] == 28.8
    assert sum(t["score"] for t in run.results["tests"]) == 36
    output = html.unescape(run.results["output"])
    assert "tests 36/36; late -7.2: 1 d 10 h 1 min late: 2 days × 10% = 20% off" in output
    assert "the time Gradescope recorded for your submission" in output
    assert "final 28.8/36" in output and "metadata" not in output


@pytest.mark.e2e  # grades in a real /autograder tree
def test_grades_where_namespaces_are_unavailable(zip_01: Path, tmp_path: Path) -> None:
    """Inside Gradescope's container namespaces may be blocked: it still
    grades (cleo: float64 pixels, 35/36) and records the weaker isolation."""
    if subprocess.run(["unshare", "--user", "--map-root-user", "true"]).returncode != 0:
        pytest.skip("no user namespaces here to take away")
    files = {"01_tensors.ipynb": EXAMPLES / "cleo.ipynb"}
    run = run_autograder(tmp_path, zip_01, files, namespaces=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.results["score"] == 35
    assert [t["name"] for t in run.results["tests"] if t["status"] == "failed"] == [
        "test_to_float_pixels_dtype"
    ]
    assert run.results["extra_data"]["isolation"].startswith("process")
    assert "weaker isolation" in run.stdout
    # root of a user namespace that maps no other uid cannot leave it: said plainly
    assert "Do not trust this score" in run.results["extra_data"]["isolation_note"]


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (None, "No submission was found"),
        ({}, "The submission is empty: upload your 01_tensors.ipynb."),
        (
            {"01_tensors.ipynb": REPO / "solutions" / "02_layers" / "02_layers.ipynb"},
            "It looks like the notebook of assignment 02_layers. Upload your 01_tensors.ipynb.",
        ),
        (
            {"notes.txt": REPO / "README.md"},
            "The submission holds no notebook (found: notes.txt): upload your 01_tensors.ipynb.",
        ),
        (
            {"a.ipynb": EXAMPLES / "ada.ipynb", "b.ipynb": EXAMPLES / "ben.ipynb"},
            "several notebooks (a.ipynb, b.ipynb): upload only your 01_tensors.ipynb.",
        ),
        (
            {"01_tensors.ipynb": COURSE / "submissions" / "empty.ipynb"},
            "01_tensors.ipynb is empty.",
        ),
    ],
    ids=["missing", "empty", "other-assignment", "no-notebook", "several", "empty-notebook"],
)
def test_bad_submission_gets_a_message_and_zero(
    zip_01: Path, tmp_path: Path, files: dict[str, Path] | None, expected: str
) -> None:
    run = run_autograder(tmp_path, zip_01, files, metadata=METADATA)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.results["score"] == 0
    assert expected in run.results["output"]
    assert expected in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert sum(t["max_score"] for t in run.results["tests"]) == 36
    assert {t["status"] for t in run.results["tests"]} == {"failed"}


def test_a_broken_suite_is_not_the_students_fault(tmp_path: Path) -> None:
    """A hidden suite that does not import: the student is told it is the
    autograder's problem (score 0, nothing from the suite); staff get the
    details on stdout, which Gradescope shows to instructors only."""
    course = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    suite = course / "solutions" / "00_smoke" / "test_hidden.py"
    suite.write_text(suite.read_text() + "\nimport no_such_module_SECRET\n")
    archive = export(tmp_path, "--root", str(course), "export", "gradescope", "00_smoke")
    good = COURSE / "submissions" / "good.ipynb"
    run = run_autograder(tmp_path, archive, {"00_smoke.ipynb": good})
    assert run.returncode == 1
    assert run.results["score"] == 0 and run.results["tests"] == []
    assert "problem on its side, not in your work" in run.results["output"]
    assert "SECRET" not in json.dumps(run.results)
    assert "no_such_module_SECRET" in run.stdout


def test_without_grader_on_path_results_say_so(zip_01: Path, tmp_path: Path) -> None:
    run = run_autograder(
        tmp_path, zip_01, {"01_tensors.ipynb": EXAMPLES / "ada.ipynb"}, path="/usr/bin:/bin"
    )
    assert run.returncode == 1
    assert run.results["score"] == 0
    assert "not installed correctly" in run.results["output"]
    assert "grader is not on PATH" in run.stdout


# -- visibility --------------------------------------------------------------


@pytest.mark.e2e  # grades in a real /autograder tree
def test_hidden_tests_keep_their_visibility_and_stay_out_of_the_output(tmp_path: Path) -> None:
    """A suite with a hidden and an after-due-date test: Gradescope gets each
    test's own visibility, and the output every student sees never names them."""
    course = tmp_path / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    suite = course / "solutions" / "00_smoke" / "test_hidden.py"
    text = suite.read_text()
    text = text.replace(
        'exercise="relu", hint="The dtype of the input is kept."',
        'exercise="relu", hint="SECRET-HINT-hidden", visibility="hidden"',
    ).replace(
        'exercise="make_var", hint="Zeros of the given length, float32."',
        'exercise="make_var", hint="SECRET-HINT-due", visibility="after_due_date"',
    )
    suite.write_text(text)
    archive = export(tmp_path, "--root", str(course), "export", "gradescope", "00_smoke")
    stub = COURSE / "submissions" / "stub.py"  # every test fails, with its hint
    run = run_autograder(tmp_path, archive, {"stub.py": stub})
    assert run.returncode == 0, run.stdout + run.stderr
    tests = by_name(run.results)
    assert tests["test_relu_keeps_shape"]["visibility"] == "hidden"
    assert tests["test_make_var_value"]["visibility"] == "after_due_date"
    assert tests["test_relu_random"]["visibility"] == "visible"
    assert "SECRET-HINT-hidden" in tests["test_relu_keeps_shape"]["output"]  # staff see it
    student_facing = run.results["output"] + "".join(
        t["output"] + t["name"] for t in run.results["tests"] if t["visibility"] == "visible"
    )
    for secret in ("SECRET-HINT", "test_relu_keeps_shape", "test_make_var_value"):
        assert secret not in student_facing


def test_the_output_every_student_sees_explains_the_penalty() -> None:
    """28.8/36 after passing (nearly) every test: the top-level output says
    why; while a test is hidden (Gradescope hides the total) it says so
    without points, and never names that test."""
    hidden = late_result("lee")
    shown = dataclasses.replace(
        hidden,
        tests=tuple(dataclasses.replace(t, visibility="visible") for t in hidden.tests),
    )
    metadata = protocol.SubmissionMetadata()
    output = protocol.results_json(shown, metadata=metadata, execution_time=1)["output"]
    assert "tests 35/36; override test_SECRET_hidden = 6 by course staff" in output
    assert LATE_REASON in output and "late -7.2" in output and "final 28.8/36" in output
    output = protocol.results_json(hidden, metadata=metadata, execution_time=1)["output"]
    assert "override a hidden test by course staff" in output
    assert "late -20%: " + LATE_REASON in output
    for secret in ("SECRET", "35", "36", "28.8", "7.2"):
        assert secret not in output


def test_unknown_visibility_fails_closed() -> None:
    assert protocol.visibility("after_due_date") == "after_due_date"
    assert protocol.visibility("secret") == "hidden"


# -- the schema --------------------------------------------------------------


def test_schema_is_valid_and_refuses_what_the_specification_does_not_allow() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate({"score": 1.5, "tests": [{"name": "t", "status": "passed"}]}, SCHEMA)
    for wrong in (
        {"tests": [{"name": "no score anywhere"}]},
        {"score": 1, "tests": [{"score": 1, "status": "ok"}]},
        {"score": 1, "visibility": "students"},
        {"score": 1, "output_format": "rtf"},
        {"score": 1, "max_points": 3},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, SCHEMA)


# -- submission_metadata.json ----------------------------------------------------


def test_metadata_is_read_and_a_broken_file_is_not_fatal(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(METADATA))
    metadata = protocol.read_metadata(good)
    assert metadata.created_at is not None
    assert metadata.created_at.isoformat() == SUBMITTED_AT
    assert metadata.late_due_date is None and not metadata.problem
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert protocol.read_metadata(broken).created_at is None
    assert "could not be read" in protocol.read_metadata(broken).problem
    assert protocol.read_metadata(tmp_path / "absent.json") == protocol.SubmissionMetadata()


@pytest.mark.e2e  # grades in a real /autograder tree
def test_backticks_in_messages_are_code_and_the_rest_is_escaped(
    zip_01: Path, tmp_path: Path
) -> None:
    """Gradescope shows outputs as HTML: a message's `name` is <code>, and
    what the student's code put in a message stays text (escaped first)."""
    notebook = nbformat.read(EXAMPLES / "ben.ipynb", as_version=4)
    hostile = 'def softmax(logits):\n    raise ValueError("use `<b>tf.exp</b>` & <i>more</i>")\n'
    notebook.cells = [
        nbformat.v4.new_code_cell(hostile) if "def softmax(" in cell.source else cell
        for cell in notebook.cells
        if "pick_rows" not in cell.source and "softmax(tf.constant" not in cell.source
    ]
    nbformat.write(notebook, tmp_path / "mine.ipynb")
    run = run_autograder(tmp_path, zip_01, {"01_tensors.ipynb": tmp_path / "mine.ipynb"})
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = [t["output"] for t in run.results["tests"]]
    missing = next(o for o in outputs if "does not define" in o)
    assert "does not define <code>pick_rows</code>" in missing and "`" not in missing
    raised = next(o for o in outputs if "ValueError" in o)
    assert "<code>&lt;b&gt;tf.exp&lt;/b&gt;</code> &amp; &lt;i&gt;more&lt;/i&gt;" in raised
    assert "<b>" not in raised and "<i>" not in raised


def test_an_upload_nested_thousands_deep_is_still_searched_for_the_notebook(
    tmp_path: Path,
) -> None:
    """Round 3: the student's upload is walked without recursion (os.walk
    recursed, and 1,100 levels crashed the autograder); what lies within the
    bounds is still searched, hidden folders are not."""
    submission = tmp_path / "submission"
    deep = submission / "junk"
    deep.mkdir(parents=True)
    for _ in range(1100):
        os.mkdir(deep / "d")
        deep = deep / "d"
    (submission / ".git").mkdir()
    (submission / ".git" / "01_tensors.ipynb").write_text("{}")
    (submission / "work").mkdir()
    (submission / "work" / "01_tensors.ipynb").write_text("{}")
    try:
        found = autograder.locate(submission, "01_tensors.ipynb")
    finally:
        trees.remove(submission / "junk")  # pytest's clean-up recurses
    assert found == submission / "work" / "01_tensors.ipynb"
