"""What a submission can put in the grader's outputs (issue 19, items 7, 8,
10 and 11): every output stays bounded and valid, and none carries a hidden
test's inputs or live Markdown to a reader.

- ``curves``: a training loop that returns 3,000,000 losses, NaN and
  infinity among them, to 04's resumed-run test, which plots them.
- ``leaker``: records every input its function is given and shows them in
  what it prints and in the names of builtins it sets (which the tampering
  notice lists), in a course copy whose first test is hidden.
- ``failer``: fails that hidden test with a message of its own, after
  printing: the ``results.json`` a student may be given holds neither.
- notebook file names that are a Markdown link and an image, for the CI
  job summary.
"""

from __future__ import annotations

import ast
import json
import math
import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from markdown_it import MarkdownIt

from grader import jsontext
from grader.gradescope import protocol
from grader.gradescope.protocol import SubmissionMetadata
from grader.harness.errors import Mismatch
from grader.harness.plugin import Feedback
from grader.harness.suite import MAX_EPOCHS, curve
from grader.outdir import OutDir
from grader.reports import views
from grader.results import SubmissionResult, Visibility
from tests.helpers import COURSE, REPO, run_grader, smoke_args


def notebook(path: Path, source: str) -> Path:
    """A one-cell notebook at ``path``."""
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source))
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path


def strict(text: str, where: object) -> Any:
    """JSON as RFC 8259 reads it: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in {where}"))


# -- 7, 8: curves -------------------------------------------------------------

CURVES = """
import numpy as np

def train_with_checkpoints(folder, x, y, until_step, save_every):
    if until_step == 11:
        return [float("nan"), *range(1, 11)]  # the first run: 11 losses
    losses = np.linspace(2.0, 1.0, 3_000_000)
    losses[1_500_000:] = np.inf  # diverged half way
    return losses
"""


@pytest.mark.slow
def test_millions_of_losses_keep_every_output_small_and_valid(tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    notebook(submissions / "curves.ipynb", CURVES)
    out = tmp_path / "out"
    done = run_grader("grade", "04_save_load", str(submissions), "--out", str(out), "-j", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    folder = out / "04_save_load" / "curves"
    results_json = OutDir(out).full_results("04_save_load", "curves")
    assert results_json.stat().st_size < 2 * 2**20
    assert (folder / "results.json").stat().st_size < 2 * 2**20
    assert (folder / "report.html").stat().st_size < 2 * 2**20
    result = strict(results_json.read_text(), results_json)
    (test,) = [t for t in result["tests"] if t["curves"]]
    assert test["verdict"] == "failed"  # the student's error, not ours
    (plotted,) = test["curves"]
    assert len(plotted["student"]) <= 200
    assert plotted["student"][0] == "nan" and "inf" in plotted["student"]
    back = SubmissionResult.from_json(result)
    assert np.isnan(next(t for t in back.tests if t.curves).curves[0].student[0])
    with sqlite3.connect(out / "gradebook.db") as db:
        valid, loss = db.execute(
            "SELECT json_valid(results_json), json_extract(results_json, '$.tests[0].verdict')"
            " FROM submissions"
        ).fetchone()
    assert valid == 1 and loss


def test_a_curve_of_millions_of_values_is_refused_with_a_short_message() -> None:
    history = {"loss": np.linspace(1.0, 0.0, 3_000_000), **{f"k{i}": [1.0] for i in range(99)}}
    with pytest.raises(Mismatch, match=f"3000000 values, but a run here has at most {MAX_EPOCHS}"):
        curve(history, "loss", what="the history")
    with pytest.raises(Mismatch, match="90 more") as missing:
        curve(history, "accuracy", what="the history")
    diverged = {"loss": np.r_[np.ones(9_000), np.nan]}
    with pytest.raises(Mismatch, match="nan at epoch 9001") as failed:
        curve(diverged, "loss", what="the history")
    assert len(str(missing.value)) < 500 and len(str(failed.value)) < 500


def test_a_decimated_curve_keeps_its_epochs() -> None:
    feedback = Feedback()
    feedback.curve("loss", student=np.linspace(1.0, 0.0, 1_000), reference=[0.5] * 10)
    (kept,) = feedback.curves
    assert kept.every == 5 and len(kept.student) == 200 and len(kept.reference) == 2
    view = views.curve_view(kept, "c")
    assert [row[0] for row in view.rows[:3]] == [1, 6, 11]
    assert view.summary == "loss: yours 0.004004 after 996 epochs; reference 0.5 after 6 epochs."


def test_non_finite_values_are_written_as_strings_and_read_back() -> None:
    value = {"curve": [1.5, math.nan, math.inf, -math.inf], "pair": (math.nan, "nan")}
    text = jsontext.dumps(value)
    assert strict(text, "jsontext.dumps") == {
        "curve": [1.5, "nan", "inf", "-inf"],
        "pair": ["nan", "nan"],
    }
    back = [jsontext.number(v) for v in strict(text, "jsontext.dumps")["curve"]]
    assert repr(back) == repr(value["curve"])


def test_every_json_the_grader_writes_is_strict() -> None:
    """``json.dump(s)`` is called by ``grader.jsontext`` alone, or with
    ``allow_nan=False`` (the sandbox's wire, which has no curves to map)."""
    lax = []
    for path in sorted((REPO / "grader").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("dump", "dumps")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "json"
                and not any(
                    k.arg == "allow_nan"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is False
                    for k in node.keywords
                )
            ):
                lax.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert lax == []


# -- 10, 11: one course copy, graded once -------------------------------------

SECRET = "31.4159"
"""the hidden test's fixed input, the same for every student"""

HIDDEN_TEST = f"""

@grade(points=1, exercise="relu", hint="Large inputs pass.", visibility="hidden")
def test_relu_hidden_edge(student, reference):
    x = np.array([[{SECRET}, -2.5]], np.float32)
    expect_close(student.relu(x), reference.relu(x))

"""

LEAKER = """
import builtins
import numpy as np
import tensorflow as tf

SEEN = []

def relu(x):
    x = np.asarray(x)
    SEEN.append(" ".join(f"{v:.4f}" for v in x.ravel()[:2]))
    print("LEAK", SEEN)
    for seen in SEEN:
        setattr(builtins, "LEAK_" + seen.replace(".", "_").replace(" ", "_").replace("-", "m"), 1)
    return np.maximum(x, 0)

def make_var(n):
    return tf.Variable(tf.zeros([n]), trainable=True)
"""

FAILER = """
import numpy as np
import tensorflow as tf

def relu(x):
    x = np.asarray(x)
    if x.size == 2:  # the hidden test's input; the others have 12 and 0 values
        print("PRINTED-IN-HIDDEN-TEST")
        raise ValueError("RAISED-IN-HIDDEN-TEST")
    return np.maximum(x, 0)

def make_var(n):
    return tf.Variable(tf.zeros([n]), trainable=True)
"""

LINK_NAME = "[Regrade form](https:&#47;&#47;staff.example&#47;regrade)"
IMAGE_NAME = "![pixel](https:&#47;&#47;track.example&#47;p.png)"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke course with a hidden first test, graded with every CI output."""
    root = tmp_path_factory.mktemp("hidden")
    course = root / "course"
    shutil.copytree(COURSE / "solutions", course / "solutions")
    suite = course / "solutions" / "00_smoke" / "test_hidden.py"
    head, tail = suite.read_text().split("\n\n@grade", 1)
    suite.write_text(head + HIDDEN_TEST + "@grade" + tail)
    submissions = root / "submissions"
    submissions.mkdir()
    notebook(submissions / "leaker.ipynb", LEAKER)
    notebook(submissions / "failer.ipynb", FAILER)
    for name in (LINK_NAME, IMAGE_NAME):
        (submissions / f"{name}.ipynb").write_text("")
    out = root / "out"
    extra = ["--junit", str(out / "junit"), "--summary-md", str(out / "summary.md"), "-j", "1"]
    done = run_grader(*smoke_args(submissions, out, *extra, course=course))
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.mark.slow
def test_hidden_inputs_reach_nothing_a_student_reads(graded: Path) -> None:
    folder = graded / "00_smoke" / "leaker"
    full = OutDir(graded).full_results("00_smoke", "leaker")
    result = SubmissionResult.from_json(strict(full.read_text(), full))
    hidden = [t for t in result.tests if t.visibility is Visibility.HIDDEN]
    assert [t.name for t in hidden] == ["test_relu_hidden_edge"]
    assert result.tests[0] == hidden[0]  # reports keep the suite's order
    assert SECRET in hidden[0].output  # the leak was there to make, in staff-only data
    shown = [t for t in result.tests if t.visibility is not Visibility.HIDDEN]
    assert all(t.output.startswith("LEAK") for t in shown if t.exercise == "relu")
    gradescope_json = protocol.results_json(
        result, metadata=SubmissionMetadata(), execution_time=1.0
    )
    readable = {
        "report.html": (folder / "report.html").read_text(),
        "results.json": (folder / "results.json").read_text(),
        "JUnit": (graded / "junit" / "leaker.xml").read_text(),
        "job summary": (graded / "summary.md").read_text(),
        "visible tests": json.dumps([t.__dict__ for t in shown], default=str),
        "notices": json.dumps([n.message for n in result.notices]),
        "Gradescope": json.dumps(
            [gradescope_json["output"]]
            + [t for t in gradescope_json["tests"] if t["visibility"] != Visibility.HIDDEN]
        ),
    }
    secret_name = SECRET.replace(".", "_")
    leaks = [where for where, text in readable.items() if SECRET in text or secret_name in text]
    assert leaks == []
    assert any(n.kind.value == "tamper" for n in result.notices)  # the flag stays


@pytest.mark.slow
def test_a_failed_hidden_test_leaves_no_message_in_what_a_student_is_given(graded: Path) -> None:
    """The full results (staff only) keep the hidden test's message and what
    the student's code printed in it; the student's ``results.json`` and
    report keep its points only, under "Hidden test 1"."""
    out = OutDir(graded)
    full = json.loads(out.full_results("00_smoke", "failer").read_text())
    (hidden,) = [t for t in full["tests"] if t["visibility"] == Visibility.HIDDEN]
    assert hidden["verdict"] == "error"
    assert "RAISED-IN-HIDDEN-TEST" in hidden["message"]
    assert "PRINTED-IN-HIDDEN-TEST" in hidden["student_output"]
    given = out.student_results("00_smoke", "failer").read_text()
    report = out.report("00_smoke", "failer").read_text()
    for text in (given, report):
        for secret in ("RAISED-IN-HIDDEN-TEST", "PRINTED-IN-HIDDEN-TEST", hidden["name"], SECRET):
            assert secret not in text
    shown = json.loads(given)
    assert shown["score"] == full["score"]
    assert shown["tests"][0] == {
        "name": "",
        "title": "Hidden test 1",
        "max_score": 1.0,
        "visibility": "hidden",
        "exercise": "relu",
    }
    assert shown["tests"][1:] == full["tests"][1:]  # visible tests, as they were


@pytest.mark.slow
def test_file_names_make_no_link_or_image_in_the_job_summary(graded: Path) -> None:
    summary = (graded / "summary.md").read_text()
    html = MarkdownIt("commonmark").enable("table").render(summary)
    assert "<table>" in html
    assert "<a " not in html and "<img" not in html, html
    assert html.count("<tr>") == 5  # header, two refused files, failer, leaker
    assert "[Regrade form](https:&amp;#47;&amp;#47;staff.example&amp;#47;regrade)" in html
