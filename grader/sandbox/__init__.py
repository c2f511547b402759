"""Where student code runs, split at the trust boundary.

- ``guest/``: the untrusted side. The zygote (``worker``) and the
  confinement it applies (``confine``); it imports nothing of the grader but
  the shared modules below, nor anything outside the standard library,
  numpy and TensorFlow (``tests/test_runners.py``).
- ``host/``: the trusted side. The client that starts and talks to
  sandboxes (``client``), the limits it enforces (``limits``) and the
  student-made trees it walks (``trees``). It imports ``guest.confine`` only
  to probe what confinement this machine allows.
- shared: the wire format both sides speak (``wire``), the
  standard-library-only facts they agree on (``common``) and the
  exceptions of both sides (``errors``).
"""
