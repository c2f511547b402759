"""``grader export gradescope ASSIGNMENT [-o FILE.zip]``: an autograder zip
in Gradescope's layout (https://gradescope-autograders.readthedocs.io/en/latest/specs/).

At the zip's root (Gradescope unpacks it into ``/autograder/source/``):

- ``setup.sh``: run once, as root, when Gradescope builds the image. It
  finds CPython 3.11.2 to 3.13 (installing 3.12 from the deadsnakes PPA on
  an Ubuntu whose ``python3`` is older, as on Gradescope's default Ubuntu
  22.04 image), installs the grader from the copy in ``tfgrade/`` into
  ``/autograder/venv`` with only the packages grading needs, each at its pin
  in ``requirements.lock`` (TensorFlow, Keras, pytest...; not the dev tools),
  and links ``grader`` into ``/usr/local/bin``.
- ``run_autograder``: run per submission, as root; makes the solutions and
  ``results/`` root's alone (sandboxes there run as ``SANDBOX_UID``), calls
  ``grader gradescope-run`` from ``PATH`` (so it runs wherever the grader is
  installed), which writes ``results/results.json`` (``grader.gradescope.autograder``),
  then refuses to finish while a process of ``SANDBOX_UID`` is alive. With
  ``--require-namespaces`` it passes that option on: no grade without them.
- ``requirements.lock``, ``tfgrade/`` (``pyproject.toml`` and the ``grader``
  package), ``solutions/ASSIGNMENT/`` (hidden suite, solution notebook,
  ``assignment.toml``) and the course's data folder, if the assignment has one;
- ``extensions.csv``, if the course has one (rows by a student's Gradescope
  email extend that student: ``grader.gradescope.protocol.deadline``);
- ``course.json``: the course's other assignments and the functions their
  solutions define, so the refusal of a notebook uploaded to the wrong
  assignment names the one it looks like
  (``grader.gradescope.autograder.wrong_assignment``).

Entries carry a fixed date, so the same course gives the same zip; the
solutions' are mode 0600, for an unzip that keeps modes (``run_autograder``
sets them again, for one that does not).
"""

from __future__ import annotations

import re
import shlex
import zipfile
from pathlib import Path

import grader
from grader import assignments, jsontext, notebooks
from grader.assignments import Assignment
from grader.errors import GraderError, SubmissionProblem, UsageError
from grader.exporters import ExportRequest
from grader.files import replacing
from grader.gradescope.protocol import COURSE_NAME, ROOT_VARIABLE
from grader.policy.deadlines import EXTENSIONS_NAME
from grader.results import Visibility
from grader.sandbox.guest.confine import SANDBOX_UID
from grader.submissions import notebook_cells

SUMMARY = "an autograder zip for Gradescope (one assignment): setup.sh, run_autograder, suite"
LOCK = "requirements.lock"
SOURCE = Path(grader.__file__).resolve().parent
"""the grader package, copied into the zip"""
CHECKOUT = SOURCE.parent
"""where ``pyproject.toml`` and ``requirements.lock`` sit beside it"""
SHOWN_PINS = ("tensorflow-cpu", "keras", "numpy", "pytest")
_FIXED_DATE = (2000, 1, 1, 0, 0, 0)
SECRET = "solutions/"
"""the zip's folder that only root may read: hidden suite, solution, config"""
INITIAL_PID_NAMESPACE = 4026531836
"""the inode of the machine's own PID namespace (the kernel's PROC_PID_INIT_INO):
any other means a container, whose every process of ``SANDBOX_UID`` is the run's"""


def export(request: ExportRequest) -> list[Path]:
    if len(request.assignments) != 1:
        given = ", ".join(a.name for a in request.assignments)
        raise UsageError(
            "gradescope: give exactly one assignment (a Gradescope assignment has one "
            f"autograder zip); got {len(request.assignments)}: {given}"
        )
    assignment = assignments.load(request.course, request.assignments[0].name)
    for needed in (CHECKOUT / "pyproject.toml", CHECKOUT / LOCK):
        if not needed.is_file():
            raise UsageError(
                f"gradescope: {needed} is missing: the zip installs the grader from its source "
                "checkout, so run this command from a git clone of the grader"
            )
    output = request.output or request.out.root / f"{assignment.name}-gradescope.zip"
    if output.suffix != ".zip":
        raise UsageError(f"gradescope: -o {output}: the file name should end in .zip")
    entries = _entries(assignment)
    lock = (CHECKOUT / LOCK).read_text()
    generated = {
        "setup.sh": setup_script(assignment.name, pins(lock)),
        "run_autograder": run_script(
            assignment.name, require_namespaces=request.require_namespaces
        ),
    }
    generated[COURSE_NAME] = jsontext.dumps({"assignments": _others(assignment)}, indent=2)
    _write_zip(output, generated, entries)
    return [output]


def _others(assignment: Assignment) -> list[dict[str, object]]:
    """The course's other assignments and the functions their solutions
    define, so the autograder names the one a notebook uploaded to the wrong
    assignment looks like. An assignment whose files do not load is left out."""
    others: list[dict[str, object]] = []
    for name in assignments.names(assignment.root):
        if name == assignment.name:
            continue
        try:
            other = assignments.load(assignment.root, name)
            cells, _ = notebook_cells(other.solution_notebook.read_text(), other.notebook)
        except (GraderError, SubmissionProblem, OSError):
            continue
        functions = notebooks.definitions(cell.source for cell in cells).functions
        others.append({"name": name, "functions": sorted(functions)})
    return others


def pins(lock: str) -> dict[str, str]:
    """Package -> pinned version, from the lock's ``name==version`` lines."""
    found = {}
    for line in lock.splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            found[match[1].lower()] = match[2]
    return found


def _entries(assignment: Assignment) -> dict[str, Path]:
    """Zip name -> file on disk, for every file the zip copies."""
    entries = {LOCK: CHECKOUT / LOCK, "tfgrade/pyproject.toml": CHECKOUT / "pyproject.toml"}
    entries |= _tree(SOURCE, "tfgrade/grader")
    entries |= _tree(assignment.solution_dir, f"solutions/{assignment.name}")
    if (assignment.root / EXTENSIONS_NAME).is_file():  # rows by email apply there
        entries[EXTENSIONS_NAME] = assignment.root / EXTENSIONS_NAME
    if assignment.limits.data is not None:
        data = Path(assignment.limits.data)
        root = assignment.root.resolve()
        if not data.is_relative_to(root):
            raise UsageError(
                f"gradescope: the data folder {data} is outside the course folder {root}; "
                "move it inside so the zip can hold it at the same relative path"
            )
        entries |= _tree(data, data.relative_to(root).as_posix())
    return entries


def _tree(folder: Path, prefix: str) -> dict[str, Path]:
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}": path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _write_zip(output: Path, generated: dict[str, str], entries: dict[str, Path]) -> None:
    """Write the zip to a temporary name, then rename it into place."""
    with (
        replacing(output) as temporary,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for name, text in generated.items():
            archive.writestr(_info(name, 0o644 if name == COURSE_NAME else 0o755), text)
        for name, path in entries.items():
            archive.writestr(
                _info(name, 0o600 if name.startswith(SECRET) else 0o644), path.read_bytes()
            )


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def setup_script(name: str, pinned: dict[str, str]) -> str:
    shown = ", ".join(f"{p}=={pinned[p]}" for p in SHOWN_PINS if p in pinned)
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Written by `grader export gradescope {name}` (tfgrade {grader.__version__}).
# It needs CPython 3.11.2 to 3.13: Ubuntu 24.04's python3 (3.12) serves; on
# Gradescope's default Ubuntu 22.04 (python3 3.10) it installs python3.12
# from the deadsnakes PPA. It installs what grading needs, at the grader's
# tested pins in requirements.lock ({shown}).
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
venv="${{{ROOT_VARIABLE}:-/autograder}}/venv"

supported() {{
    "$1" -c 'import sys; sys.exit(not (3, 11, 2) <= sys.version_info[:3] < (3, 14))' >/dev/null 2>&1
}}
python=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && supported "$candidate"; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y software-properties-common
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update
    apt-get install -y python3.12 python3.12-venv
    python=python3.12
fi
if ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then  # Debian's venv is a package
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update  # an image's package lists are often emptied
    apt-get install -y "python$version-venv" || apt-get install -y python3-venv
fi
echo "setup.sh: $("$python" --version) at $(command -v "$python")"

# Only what grading needs: the grader's own dependencies (tfgrade/pyproject.toml),
# each at its version in {LOCK}, read as constraints, since the lock also pins
# the developers' tools (ruff, mypy), which the image does not need.
"$python" -m venv --clear "$venv"
install=("$venv/bin/pip" install --no-cache-dir --disable-pip-version-check --quiet \\
    -c "$here/{LOCK}")
"${{install[@]}}" setuptools  # builds the grader, next
"${{install[@]}}" --no-build-isolation "$here/tfgrade"
ln -sf "$venv/bin/grader" /usr/local/bin/grader
chmod -R go-rwx "$here/{SECRET}"  # sandboxes here run as uid {SANDBOX_UID}: root's alone
grader --version
"""


NOT_INSTALLED = {
    "score": 0.0,
    "output": "The autograder is not installed correctly, so this submission was not graded. "
    "This is not a problem with your work: course staff will fix it.",
    "visibility": Visibility.VISIBLE,
    "stdout_visibility": Visibility.HIDDEN,
    "tests": [],
}
"""results.json when ``grader`` is not on PATH (setup.sh failed)"""
NOT_ENDED = {
    "score": 0.0,
    "output": "The autograder could not make sure that the code it ran had stopped, so it did "
    "not record a grade. Course staff can see what happened.",
    "visibility": Visibility.VISIBLE,
    "stdout_visibility": Visibility.HIDDEN,
    "tests": [],
}
"""results.json when a process of ``SANDBOX_UID`` outlives the grader and its kill"""


def run_script(name: str, *, require_namespaces: bool = False) -> str:
    command = ["grader", "--root", '"$root/source"', "gradescope-run", shlex.quote(name)]
    if require_namespaces:
        command.insert(-1, "--require-namespaces")
    return f"""#!/usr/bin/env bash
# Gradescope runs this for every submission, as root. It grades submission/
# and writes results/results.json under /autograder, or under
# ${ROOT_VARIABLE} when set (to self-test this zip in a temporary tree).
# `grader` comes from PATH, where setup.sh linked it. Without namespaces
# student code runs as uid {SANDBOX_UID}, which may read neither the solutions
# nor the results, and which is left no process once this script ends.
set -u
root="${{{ROOT_VARIABLE}:-/autograder}}"
export {ROOT_VARIABLE}="$root"
results="$root/results/results.json"
mkdir -p "$root/results"
chmod -R go-rwx "$root/source/{SECRET}" "$root/results"
if ! command -v grader >/dev/null 2>&1; then
    cat >"$results" <<'JSON'
{jsontext.dumps(NOT_INSTALLED)}
JSON
    echo "run_autograder: grader is not on PATH; did setup.sh run? (PATH=$PATH)"
    exit 1
fi
{" ".join(command)}
status=$?

sandbox_processes() {{  # live processes of uid {SANDBOX_UID}
    local file
    for file in /proc/[0-9]*/status; do
        if grep -q '^Uid:[[:space:]]*{SANDBOX_UID}[[:space:]]' "$file" 2>/dev/null &&
            ! grep -q '^State:[[:space:]]*Z' "$file" 2>/dev/null; then
            file="${{file#/proc/}}"
            echo "${{file%/status}}"
        fi
    done
}}
# In a container (a PID namespace of its own) every process of that uid is
# this run's: kill them, then check, and withhold the grade if any is left.
if [ "$(id -u)" = 0 ] && [ "$(stat -Lc %i /proc/self/ns/pid)" != {INITIAL_PID_NAMESPACE} ]; then
    left="$(sandbox_processes)"
    if [ -n "$left" ]; then
        echo "run_autograder: killing what uid {SANDBOX_UID} left running:" $left
    fi
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        [ -z "$left" ] && break
        kill -KILL $left 2>/dev/null
        sleep 0.1
        left="$(sandbox_processes)"
    done
    if [ -n "$left" ]; then
        cat >"$results" <<'JSON'
{jsontext.dumps(NOT_ENDED)}
JSON
        echo "run_autograder: processes of uid {SANDBOX_UID} did not end:" $left
        exit 1
    fi
fi
exit "$status"
"""
