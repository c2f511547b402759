"""Write reference_runs.json: the numbers of the reference's training runs that
the hidden suite compares submissions with (it does not train the reference
for every submission).

    python solutions/05_cnn/make_reference_runs.py

Run it after changing the solution notebook, the suite's run settings or the
course data; ``tests/test_reference_05.py`` fails until it is run.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from grader import assignments  # noqa: E402


def suite():
    """The hidden suite as a module (it holds the run settings and reference_runs)."""
    spec = importlib.util.spec_from_file_location("hidden_05", HERE / "test_hidden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runs() -> dict[str, object]:
    reference = assignments.load_reference(assignments.load(HERE.parents[1], HERE.name))
    with tempfile.TemporaryDirectory(prefix="tfgrade-05-reference-") as folder:
        return suite().reference_runs(reference, folder)


def main() -> None:
    target = HERE / "reference_runs.json"
    target.write_text(json.dumps(runs(), indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
