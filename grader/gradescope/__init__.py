"""Gradescope, in one place: the autograder zip (``export``), the run inside
Gradescope's container (``autograder``), and Gradescope's files, the
submission's metadata in and ``results.json`` out (``protocol``)."""
