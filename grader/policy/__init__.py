"""The grade policy: what a raw result becomes as a final grade, and where
grades are kept.

``gradebook`` stores results and their history, which ``history`` shows
staff (``grader history``); ``scoring`` finalizes a
result with ``overrides`` and the late penalty (``deadlines``, with the
submission time from ``timestamps``, which reads commits through
``commits``, and due dates per student through ``roster``);
``adjustments`` explains an adjusted score; ``regrades`` compares scores
across suite versions.
"""
