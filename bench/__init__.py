"""Benchmarks that print side-by-side ratios (``make bench``), each a script.

The tests import from here (the round-2 hostile class, the mutation
operators), never the other way: nothing under ``bench/`` imports ``tests``
(``tests/test_mutation.py`` checks it), so the two cannot form a cycle.
"""
