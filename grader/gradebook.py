"""The gradebook: one SQLite file with every graded submission.

Each submission is written in one transaction, so a crash or a kill -9
leaves every grade either fully there or not there at all. A submission
graded before with the same file hash and suite version is not graded again.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import TracebackType

from grader.results import SubmissionResult, Verdict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    assignment      TEXT NOT NULL,
    student         TEXT NOT NULL,
    submission_hash TEXT NOT NULL,
    suite_version   TEXT NOT NULL,
    grader_version  TEXT NOT NULL,
    graded_at       TEXT NOT NULL,
    score           REAL NOT NULL,
    max_score       REAL NOT NULL,
    results_json    TEXT NOT NULL,
    PRIMARY KEY (assignment, student)
);
CREATE TABLE IF NOT EXISTS tests (
    assignment TEXT NOT NULL,
    student    TEXT NOT NULL,
    name       TEXT NOT NULL,
    exercise   TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    score      REAL NOT NULL,
    max_score  REAL NOT NULL,
    PRIMARY KEY (assignment, student, name),
    FOREIGN KEY (assignment, student) REFERENCES submissions ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS failures (
    assignment      TEXT NOT NULL,
    student         TEXT NOT NULL,
    submission_hash TEXT NOT NULL,
    suite_version   TEXT NOT NULL,
    runs            INTEGER NOT NULL,
    PRIMARY KEY (assignment, student)
);
"""

MAX_FAILED_RUNS = 3
"""runs that may end with an internal error on the same file and suite before
the result is kept as it is (``--force`` tries again)"""


class Gradebook:
    """Grades by (assignment, student); safe to share between grader runs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def find(self, assignment: str, student: str) -> SubmissionResult | None:
        row = self._db.execute(
            "SELECT results_json FROM submissions WHERE assignment = ? AND student = ?",
            (assignment, student),
        ).fetchone()
        return SubmissionResult.from_json(json.loads(row[0])) if row else None

    def is_current(self, assignment: str, student: str, submission_hash: str, suite: str) -> bool:
        """Whether this exact file was graded with this exact suite already,
        and without a failure on the grader's side, or with one that
        ``MAX_FAILED_RUNS`` runs could not get past (so it is not retried
        for ever)."""
        row = self._db.execute(
            "SELECT NOT EXISTS ("
            "  SELECT 1 FROM tests t WHERE t.assignment = s.assignment"
            "  AND t.student = s.student AND t.verdict = ?)"
            " OR COALESCE((SELECT f.runs FROM failures f WHERE f.assignment = s.assignment"
            "  AND f.student = s.student AND f.submission_hash = s.submission_hash"
            "  AND f.suite_version = s.suite_version), 0) >= ?"
            " FROM submissions s WHERE assignment = ? AND student = ? "
            " AND submission_hash = ? AND suite_version = ?",
            (Verdict.INTERNAL.value, MAX_FAILED_RUNS, assignment, student, submission_hash, suite),
        ).fetchone()
        return row is not None and bool(row[0])

    def record(self, result: SubmissionResult) -> None:
        """Replace this student's grade for the assignment, in one transaction."""
        key = (result.assignment, result.student)
        with self._transaction():
            self._db.execute("DELETE FROM submissions WHERE assignment = ? AND student = ?", key)
            self._db.execute(
                "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    result.submission_hash,
                    result.suite_version,
                    result.grader_version,
                    result.graded_at,
                    result.score,
                    result.max_score,
                    json.dumps(result.to_json()),
                ),
            )
            self._db.executemany(
                "INSERT INTO tests VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (*key, t.name, t.exercise, t.verdict.value, t.score, t.max_score)
                    for t in result.tests
                ],
            )
            self._count_failure(result)

    def _count_failure(self, result: SubmissionResult) -> None:
        """Count runs in a row that ended with an internal error on this file and suite."""
        key = (result.assignment, result.student)
        if not any(t.verdict is Verdict.INTERNAL for t in result.tests):
            self._db.execute("DELETE FROM failures WHERE assignment = ? AND student = ?", key)
            return
        self._db.execute(
            "INSERT INTO failures VALUES (?, ?, ?, ?, 1) ON CONFLICT (assignment, student) DO "
            "UPDATE SET runs = CASE WHEN submission_hash = excluded.submission_hash AND "
            "suite_version = excluded.suite_version THEN runs + 1 ELSE 1 END, "
            "submission_hash = excluded.submission_hash, suite_version = excluded.suite_version",
            (*key, result.submission_hash, result.suite_version),
        )

    def results(self, assignment: str) -> list[SubmissionResult]:
        """Every graded submission of an assignment, by student id."""
        rows = self._db.execute(
            "SELECT results_json FROM submissions WHERE assignment = ? ORDER BY student",
            (assignment,),
        )
        return [SubmissionResult.from_json(json.loads(r[0])) for r in rows]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
