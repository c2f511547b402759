"""Hidden suite of the runner tests' probe: it records, as data, which CUDA
devices each sandbox was given (``tests/test_runners.py`` reads the records)."""

import os
import uuid
from pathlib import Path

from grader.harness import grade


@grade(points=1, exercise="devices", hint="Return the visible CUDA devices.")
def test_devices(student):
    seen = student.devices()
    record = Path(os.environ["TFGRADE_PROBE_DIR"]) / f"{uuid.uuid4().hex}.txt"
    record.write_text(str(seen))
