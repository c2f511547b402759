"""Hostile submissions against the hidden suites themselves
(tests/files/hostile/suites/): each gets exactly the score its real work
earns, every test ends as a student verdict with a message, and none as the
grader's own failure (internal error).

- ``duck01``, ``duck_var``: duck-typed ``tf.Variable`` / ``tf.function``
  with every attribute a test reads, but no TensorFlow behind them.
- ``odd01``: strings, None, dicts, structured and complex arrays, endless
  objects, data where a method is expected, strings as an input signature.
- ``odd02``: a layer whose weights are endless, whose kernel claims a
  terabyte shape, whose methods are data; a module of plain arrays; a model
  whose layers are numbers and strings.
- ``lookup``: built here, from a probe that recorded every input of a
  graded run and the right answer to it; a table with no TensorFlow that
  answers those inputs. Inputs vary per submission, so it earns nothing;
  they repeat when the same file is graded again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.helpers import REPO, failures, read_results, run_grader, smoke_args

pytestmark = pytest.mark.slow

SUITES = REPO / "tests" / "files" / "hostile" / "suites"

MAKE_WEIGHTS = ["test_make_weights_trainable", "test_make_weights_dtype_shape_zeros"]
MAKE_WEIGHTS += ["test_make_weights_name"]
SIGNATURE = ["test_row_norms_input_signature", "test_row_norms_traces_once"]

PROBED = ["filled", "to_images", "center", "to_float_pixels", "pick_rows"]
PROBED += ["pairwise_scores", "softmax", "gradient"]

KEY = '''
import hashlib
import json

import numpy as np


def _key(name, args):
    """The same inputs give the same key, whatever their container."""
    parts = [name]
    for arg in args:
        if hasattr(arg, "shape") and hasattr(arg, "dtype"):
            array = np.asarray(arg)
            digest = hashlib.sha256(array.tobytes()).hexdigest()
            parts.append(f"{array.dtype}{array.shape}{digest}")
        else:
            parts.append(repr(arg))
    return "|".join(parts)
'''

PROBE = (
    KEY
    + """

def _probed(name, function):
    def probe(*args):
        result = np.asarray(function(*args))
        record = [_key(name, args), str(result.dtype), list(result.shape), result.tolist()]
        print("PROBE " + json.dumps(record))
        return result
    return probe


for _name in NAMES:
    globals()[_name] = _probed(_name, globals()[_name])
"""
)

LOOKUP = (
    KEY
    + """

def _answer(name, args):
    found = TABLE.get(_key(name, args))
    if found is None:
        return None
    dtype, shape, values = found
    return np.array(values, dtype=dtype).reshape(shape)


for _name in NAMES:
    globals()[_name] = lambda *args, _name=_name: _answer(_name, args)
"""
)


def probe_notebook(path: Path, *, extra: str = "") -> None:
    """The reference solution, each probed function printing its inputs' key
    and its result (a perfect probe: more than any feedback shows)."""
    notebook = nbformat.read(REPO / "solutions" / "01_tensors" / "01_tensors.ipynb", as_version=4)
    notebook.cells = [c for c in notebook.cells if "check" not in c.metadata.get("tags", [])]
    code = f"NAMES = {PROBED!r}\n" + PROBE + extra
    notebook.cells.append(nbformat.v4.new_code_cell(code, id="probe"))  # same file every run
    nbformat.write(notebook, path)


def recorded(result: dict[str, Any]) -> dict[str, Any]:
    """key -> (dtype, shape, values) for every probed call of a graded run."""
    table = {}
    for test in result["tests"]:
        for line in test["student_output"].splitlines():
            if line.startswith("PROBE "):
                key, dtype, shape, values = json.loads(line[len("PROBE ") :])
                table[key] = (dtype, shape, values)
    return table


def lookup_notebook(path: Path, table: dict[str, Any]) -> None:
    """A table of answers with no TensorFlow code at all."""
    notebook = nbformat.v4.new_notebook()
    code = f"NAMES = {PROBED!r}\nTABLE = {table!r}\n" + LOOKUP
    notebook.cells = [nbformat.v4.new_code_cell(code, id="lookup")]
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("hostile-suites")
    out = base / "out"
    smoke = base / "smoke"
    smoke.mkdir()
    shutil.copy(SUITES / "duck_var.ipynb", smoke)
    done = run_grader(*smoke_args(smoke, out))
    assert done.returncode == 0, done.stdout + done.stderr
    first = base / "first"
    first.mkdir()
    for name in ("duck01", "odd01"):
        shutil.copy(SUITES / f"{name}.ipynb", first)
    probe_notebook(first / "probe.ipynb")
    probe_notebook(first / "probe_copy.ipynb", extra="\n# the same code, one comment more\n")
    done = run_grader("grade", "01_tensors", str(first), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    layers = base / "layers"
    layers.mkdir()
    shutil.copy(SUITES / "odd02.ipynb", layers)
    done = run_grader("grade", "02_layers", str(layers), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    results = {
        **read_results(out / "00_smoke"),
        **read_results(out / "01_tensors"),
        **read_results(out / "02_layers"),
    }
    probe_table = recorded(results["probe"])
    second = base / "second"
    second.mkdir()
    shutil.copy(first / "probe.ipynb", second)
    lookup_notebook(second / "lookup.ipynb", probe_table)
    done = run_grader("grade", "01_tensors", str(second), "--out", str(out), "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    again = read_results(out / "01_tensors")
    return {
        "results": {**results, "lookup": again["lookup"]},
        "tables": {
            "probe": probe_table,
            "probe regraded": recorded(again["probe"]),
            "probe_copy": recorded(results["probe_copy"]),
        },
    }


# student -> (score, the tests it does not pass and their verdicts)
EXPECTED: dict[str, tuple[float, dict[str, str]]] = {
    # 00_smoke, out of 5: relu is right; make_var's object cannot be assigned
    "duck_var": (3, dict.fromkeys(["test_make_var_trainable", "test_make_var_value"], "failed")),
    # 01_tensors, out of 36: everything right but the two TensorFlow types, faked
    "duck01": (31, dict.fromkeys(MAKE_WEIGHTS + SIGNATURE, "failed")),
    "probe": (36, {}),
    "probe_copy": (36, {}),
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_exact_score(graded: dict[str, Any], student: str) -> None:
    score, failed = EXPECTED[student]
    result = graded["results"][student]
    assert result["score"] == score
    assert failures(result) == failed


def test_odd_values_fail_every_test_with_a_message(graded: dict[str, Any]) -> None:
    result = graded["results"]["odd01"]
    assert result["score"] == 1  # row_norms computes the right values, through a real graph
    assert failures(result) == {
        t["name"]: "failed" for t in result["tests"] if t["name"] != "test_row_norms_values"
    }
    messages = {t["name"]: t["message"] for t in result["tests"]}
    # a structured array is not data on the wire: it stays in the sandbox as a handle
    assert "it is an object of type ndarray" in messages["test_center_random"]
    assert "complex numbers" in messages["test_to_float_pixels_dtype"]
    assert "object of type Probabilities" in messages["test_softmax_random_rows"]
    assert "`numpy` of make_weights" in messages["test_make_weights_name"]
    assert "should be a method" in messages["test_make_weights_name"]
    assert (
        "should be a tf.TensorSpec, but it is the string 'float32'"
        in (messages["test_row_norms_input_signature"])
    )
    assert "should be a whole number" in messages["test_count_traces_tensors"]


def test_odd_objects_fail_their_exercises_only(graded: dict[str, Any]) -> None:
    result = graded["results"]["odd02"]
    faked = {"DenseLayer", "Affine", "build_cnn"}
    assert failures(result) == {
        t["name"]: "failed" for t in result["tests"] if t["exercise"] in faked
    }
    lost = sum(t["max_score"] for t in result["tests"] if t["exercise"] in faked)
    assert result["score"] == result["max_score"] - lost == 27
    messages = {t["name"]: t["message"] for t in result["tests"]}
    assert "(1000000, 1000000)" in messages["test_dense_layer_output"]
    assert "object of type Endless" in messages["test_dense_layer_builds_once"]
    assert "should be a tf.Variable" in messages["test_affine_seen_is_state"]


def test_duck_types_are_told_what_the_real_type_does(graded: dict[str, Any]) -> None:
    messages = {t["name"]: t["message"] for t in graded["results"]["duck01"]["tests"]}
    assert "so it is not a tf.Variable" in messages["test_make_weights_trainable"]
    assert "is not a tf.function" in messages["test_row_norms_input_signature"]


def test_no_verdict_is_the_graders_own_failure(graded: dict[str, Any]) -> None:
    for student, result in graded["results"].items():
        verdicts = {t["verdict"] for t in result["tests"]}
        assert "internal error" not in verdicts, student
        assert all(t["message"] for t in result["tests"] if t["verdict"] != "passed"), student


def test_a_lookup_table_from_a_perfect_probe_earns_nothing(graded: dict[str, Any]) -> None:
    tables = graded["tables"]
    assert {key.split("|")[0] for key in tables["probe"]} == set(PROBED)
    result = graded["results"]["lookup"]
    assert result["score"] == 0
    assert set(failures(result).values()) == {"failed", "not implemented"}


def test_inputs_repeat_for_the_same_file_and_differ_for_another(graded: dict[str, Any]) -> None:
    tables = graded["tables"]
    assert tables["probe regraded"] == tables["probe"]
    # a few small discrete inputs (a shape of 2 to 4 rows, an int from 0 to 9) may repeat
    common = set(tables["probe_copy"]) & set(tables["probe"])
    assert len(common) <= len(tables["probe"]) // 5, sorted(common)
