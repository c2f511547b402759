"""The gradebook: one SQLite file with every graded submission.

Each submission is written in one transaction, so a crash or a kill -9
leaves every grade either fully there or not there at all. A submission
graded before with the same file hash and suite version (its outcomes
digest, ``grader.suite.SuiteVersion``) is not graded again; each grade also
keeps the policy digest its adjustments were made under, so a run can say
when only the policy changed.

Beside the current grades it keeps staff overrides (which a regrade keeps)
and the history of every grade recorded, append-only (triggers refuse an
UPDATE or DELETE), so a dispute is answered with what the student saw on
each date.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from grader import jsontext
from grader.errors import UsageError
from grader.policy.regrades import ScoreChange, compare
from grader.results import Override, Penalty, SubmissionResult, Verdict

_SCHEMA = [
    """
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
    raw_score       REAL,
    penalty         REAL NOT NULL DEFAULT 0,
    penalty_reason  TEXT NOT NULL DEFAULT '',
    submitted_at    TEXT NOT NULL DEFAULT '',
    policy_version  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (assignment, student)
)""",
    """
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
)""",
    """
CREATE TABLE IF NOT EXISTS failures (
    assignment      TEXT NOT NULL,
    student         TEXT NOT NULL,
    submission_hash TEXT NOT NULL,
    suite_version   TEXT NOT NULL,
    runs            INTEGER NOT NULL,
    PRIMARY KEY (assignment, student)
)""",
    """
CREATE TABLE IF NOT EXISTS overrides (
    assignment TEXT NOT NULL,
    student    TEXT NOT NULL,
    test       TEXT NOT NULL,
    points     REAL NOT NULL,
    reason     TEXT NOT NULL,
    by         TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (assignment, student, test)
)""",
    """
CREATE TABLE IF NOT EXISTS history (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment      TEXT NOT NULL,
    student         TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    cause           TEXT NOT NULL,
    submission_hash TEXT NOT NULL,
    suite_version   TEXT NOT NULL,
    raw_score       REAL NOT NULL,
    score           REAL NOT NULL,
    max_score       REAL NOT NULL,
    results_json    TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS history_by_student ON history (assignment, student, id)",
    """
CREATE TRIGGER IF NOT EXISTS history_no_update BEFORE UPDATE ON history
BEGIN SELECT RAISE(ABORT, 'the grade history is append-only'); END""",
    """
CREATE TRIGGER IF NOT EXISTS history_no_delete BEFORE DELETE ON history
BEGIN SELECT RAISE(ABORT, 'the grade history is append-only'); END""",
]
_ADDED_COLUMNS = {
    "raw_score": "REAL",
    "penalty": "REAL NOT NULL DEFAULT 0",
    "penalty_reason": "TEXT NOT NULL DEFAULT ''",
    "submitted_at": "TEXT NOT NULL DEFAULT ''",
    "policy_version": "TEXT NOT NULL DEFAULT ''",
}
"""columns of ``submissions`` a gradebook made before them lacks"""
DB_NAME = "gradebook.db"

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
        with self._transaction():
            self._migrate()

    @classmethod
    def existing(cls, path: Path) -> Gradebook:
        """The gradebook at ``path`` for a command that reads grades; a clear
        message when there is none (never an empty new one)."""
        if not path.is_file():
            raise UsageError(
                f"no gradebook in {path.parent}/ ({path.name}): run `grader grade` first, or "
                "pass the --out folder it wrote to"
            )
        return cls(path)

    def _migrate(self) -> None:
        """Create what is missing, in the caller's transaction: tables, the
        columns added since the first version, and a history that starts
        with the grades recorded before it existed."""
        had_history = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'history'"
        ).fetchone()
        for statement in _SCHEMA:
            self._db.execute(statement)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(submissions)")}
        for name, declaration in _ADDED_COLUMNS.items():
            if name not in have:
                self._db.execute(f"ALTER TABLE submissions ADD COLUMN {name} {declaration}")
        self._db.execute("UPDATE submissions SET raw_score = score WHERE raw_score IS NULL")
        if not had_history:
            self._db.execute(
                "INSERT INTO history (assignment, student, recorded_at, cause, submission_hash,"
                " suite_version, raw_score, score, max_score, results_json)"
                " SELECT assignment, student, graded_at, 'graded', submission_hash,"
                " suite_version, raw_score, score, max_score, results_json FROM submissions"
                " ORDER BY graded_at"
            )

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

    def policy_version(self, assignment: str, student: str) -> str | None:
        """The policy digest this student's grade was adjusted under ("" when
        recorded before gradebooks kept it; None: no grade)."""
        row = self._db.execute(
            "SELECT policy_version FROM submissions WHERE assignment = ? AND student = ?",
            (assignment, student),
        ).fetchone()
        return None if row is None else str(row[0])

    def note_policy(self, assignment: str, student: str, policy: str) -> None:
        """Keep that this grade, unchanged, was adjusted under ``policy``: a
        grade that did not change adds nothing to the history."""
        self._db.execute(
            "UPDATE submissions SET policy_version = ? WHERE assignment = ? AND student = ?",
            (policy, assignment, student),
        )

    def record(
        self, result: SubmissionResult, *, cause: str = "graded", policy: str | None = None
    ) -> None:
        """Replace this student's grade for the assignment and add it to the
        history, in one transaction. ``cause``: graded, override, rescored;
        ``policy``: the policy digest it was adjusted under (None: as before)."""
        with self._transaction():
            self._write(result, cause, policy)
            self._count_failure(result)

    def _write(self, result: SubmissionResult, cause: str, policy: str | None = None) -> None:
        key = (result.assignment, result.student)
        data = jsontext.dumps(result.to_json())
        penalty = result.penalty
        if policy is None:
            policy = self.policy_version(*key) or ""
        self._db.execute("DELETE FROM submissions WHERE assignment = ? AND student = ?", key)
        self._db.execute(
            "INSERT INTO submissions (assignment, student, submission_hash, suite_version,"
            " grader_version, graded_at, score, max_score, results_json, raw_score, penalty,"
            " penalty_reason, submitted_at, policy_version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *key,
                result.submission_hash,
                result.suite_version,
                result.grader_version,
                result.graded_at,
                result.score,
                result.max_score,
                data,
                result.raw_score,
                penalty.points if penalty else 0.0,
                penalty.reason if penalty else "",
                penalty.submitted_at if penalty else "",
                policy,
            ),
        )
        self._db.executemany(
            "INSERT INTO tests VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (*key, t.name, t.exercise, t.verdict.value, t.score, t.max_score)
                for t in result.tests
            ],
        )
        self._db.execute(
            "INSERT INTO history (assignment, student, recorded_at, cause, submission_hash,"
            " suite_version, raw_score, score, max_score, results_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *key,
                _now(),
                cause,
                result.submission_hash,
                result.suite_version,
                result.raw_score,
                result.score,
                result.max_score,
                data,
            ),
        )

    def overrides(self, assignment: str, student: str) -> tuple[Override, ...]:
        """Staff overrides of this submission, the total's first."""
        rows = self._db.execute(
            "SELECT test, points, reason, by, at FROM overrides"
            " WHERE assignment = ? AND student = ? ORDER BY test",
            (assignment, student),
        )
        return tuple(Override(*row) for row in rows)

    def override(self, result: SubmissionResult, override: Override) -> None:
        """Keep ``override`` and record ``result`` (which already shows it),
        in one transaction."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    result.assignment,
                    result.student,
                    override.test,
                    override.points,
                    override.reason,
                    override.by,
                    override.at,
                ),
            )
            self._write(result, "override")

    def history(self, assignment: str, student: str | None = None) -> list[HistoryEntry]:
        """Every grade recorded for the assignment, of one student or of
        all, by student, each student's oldest first."""
        rows = self._db.execute(
            "SELECT student, recorded_at, cause, submission_hash, suite_version, raw_score,"
            " score, max_score, results_json FROM history WHERE assignment = ?"
            " AND (? IS NULL OR student = ?) ORDER BY student, id",
            (assignment, student, student),
        )
        entries = []
        for student_, recorded, cause, digest, suite, raw, score, max_score, data in rows:
            result = SubmissionResult.from_json(json.loads(data))
            entries.append(
                HistoryEntry(
                    student=student_,
                    recorded_at=recorded,
                    cause=cause,
                    submission_hash=digest,
                    suite_version=suite,
                    raw_score=raw,
                    score=score,
                    max_score=max_score,
                    overrides=result.overrides,
                    penalty=result.penalty,
                )
            )
        return entries

    def assignments(self) -> list[str]:
        """The assignments with a grade recorded, by name."""
        rows = self._db.execute("SELECT DISTINCT assignment FROM history ORDER BY assignment")
        return [row[0] for row in rows]

    def suite_changes(self, assignment: str) -> list[ScoreChange]:
        """Scores that changed when the suite did: each current grade against
        the last one this student had under an earlier suite version, for the
        same file."""
        changes = []
        for result in self.results(assignment):
            row = self._db.execute(
                "SELECT results_json FROM history WHERE assignment = ? AND student = ?"
                " AND suite_version != ? AND submission_hash = ? ORDER BY id DESC LIMIT 1",
                (assignment, result.student, result.suite_version, result.submission_hash),
            ).fetchone()
            if row is not None:
                change = compare(SubmissionResult.from_json(json.loads(row[0])), result)
                if change is not None:
                    changes.append(change)
        return changes

    def _count_failure(self, result: SubmissionResult) -> None:
        """Count runs in a row that ended with an internal error on this file and suite."""
        key = (result.assignment, result.student)
        if not result.grader_at_fault:
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


@dataclass(frozen=True)
class HistoryEntry:
    """One grade as it was recorded."""

    student: str
    recorded_at: str
    """ISO 8601, UTC"""
    cause: str
    """graded, override, or rescored (an unchanged submission whose final
    score a new extension, submission time or late policy changed)"""
    submission_hash: str
    suite_version: str
    raw_score: float
    score: float
    max_score: float
    overrides: tuple[Override, ...]
    penalty: Penalty | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


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
