"""Gradescope's autograder zip: the format's row here, made by ``grader.gradescope.export``."""

from grader.gradescope.export import SUMMARY, export

__all__ = ["SUMMARY", "export"]
