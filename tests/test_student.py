"""``import grader.student as tg; tg.check()`` in a real Jupyter kernel
(ipykernel, driven by nbclient), on a student's notebook saved in a copy of
the released folder: what the cell shows, what it returns, and that its
verdicts are ``grader check``'s."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from tests.helpers import REPO, run_grader

pytestmark = pytest.mark.e2e

NAME = "01_tensors"
EXAMPLES = REPO / "examples" / "submissions" / NAME
CHECK_CELLS = (
    "import grader.student as tg\nwhole = tg.check()",
    'one = tg.check("center")',
    "import json\n"
    "print(json.dumps({'whole': [whole.passed, whole.total, str(whole.notebook)],"
    " 'one': [one.passed, one.total]}))",
)
ROW = re.compile(r"<tr><td><code>(\w+)</code></td><td class=\"num\">(\d+)/(\d+)</td>")
CLI_ROW = re.compile(r"^  (\w+) +(\d+)/(\d+)  ", re.M)


def saved_notebook(tmp_path: Path, example: str) -> Path:
    """A student's notebook with the check cells at its end, saved in their
    copy of the released folder as the released name."""
    folder = tmp_path / NAME
    shutil.copytree(REPO / "assignments" / NAME, folder)
    notebook = nbformat.read(EXAMPLES / f"{example}.ipynb", as_version=4)
    notebook.cells += [new_code_cell(source) for source in CHECK_CELLS]
    path = folder / f"{NAME}.ipynb"
    nbformat.write(notebook, path)
    return path


def run_in_kernel(path: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    """Run the notebook in a fresh python3 kernel started in its folder, as
    Jupyter does, with ``env`` added to the kernel's environment."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env={**os.environ, **env})
    return notebook


def outputs(cell: nbformat.NotebookNode) -> tuple[str, str]:
    """A cell's displayed HTML and its printed text."""
    html = "".join(o["data"].get("text/html", "") for o in cell.outputs if "data" in o)
    text = "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")
    return html, text


def test_check_in_a_jupyter_kernel_shows_and_returns_grader_checks_verdicts(
    tmp_path: Path,
) -> None:
    path = saved_notebook(tmp_path, "ben")
    # JupyterLab and Notebook 7 start the kernel with the notebook's path here
    ran = run_in_kernel(path, {"JPY_SESSION_NAME": str(path)})
    whole_cell, one_cell, values_cell = ran.cells[-3:]
    whole_html, _ = outputs(whole_cell)
    one_html, _ = outputs(one_cell)
    values = json.loads(outputs(values_cell)[1])

    cli = run_grader("check", path.name, cwd=path.parent)
    cli_rows = {m[1]: (int(m[2]), int(m[3])) for m in CLI_ROW.finditer(cli.stdout)}
    assert cli_rows, cli.stdout + cli.stderr
    rows = {m[1]: (int(m[2]), int(m[3])) for m in ROW.finditer(whole_html)}
    assert rows == cli_rows  # the same table, row for row
    passed = sum(p for p, _ in cli_rows.values())
    total = sum(t for _, t in cli_rows.values())
    assert 0 < passed < total  # ben passes some checks, not all
    assert values["whole"] == [passed, total, str(path)]
    assert f"{passed}/{total} checks passed" in whole_html
    assert f"{passed}/{total} checks passed" in cli.stdout

    assert {m[1] for m in ROW.finditer(one_html)} == {"center"}
    assert values["one"] == list(cli_rows["center"])
    # the saved notebook holds the tg.check() cells: in the check's sandbox they did nothing
    assert "tg.check" not in cli.stdout


def test_vscode_names_the_notebook_and_colab_is_told_what_to_do(tmp_path: Path) -> None:
    path = saved_notebook(tmp_path, "ada")
    elsewhere = tmp_path / "elsewhere.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[
                new_code_cell(f"__vsc_ipynb_file__ = {str(path)!r}  # as VS Code sets it"),
                new_code_cell(
                    "import grader.student as tg\nscore = tg.check('softmax')\n"
                    "print(score.passed, score.total, score.all_passed)"
                ),
                new_code_cell(
                    "del __vsc_ipynb_file__\nimport sys, types\n"
                    "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
                    "print(repr(tg.check().problem))"
                ),
            ]
        ),
        elsewhere,
    )
    ran = run_in_kernel(elsewhere, {})
    html, text = outputs(ran.cells[1])
    assert text.split() == ["1", "1", "True"]
    assert "1/1 checks passed" in html and "<code>softmax</code>" in html
    html, text = outputs(ran.cells[2])
    assert "Colab keeps this notebook in Google Drive" in html
    assert "Download .ipynb" in text
