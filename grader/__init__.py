"""tfgrade: grade TensorFlow notebooks through a trust boundary.

Importing this package must stay cheap and secret-free: the sandbox zygote
imports ``grader.sandbox`` and with it this file.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
