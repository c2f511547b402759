"""Reports and exports written for the smoke course."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path


def test_student_output_is_escaped_in_the_report(smoke_reports: Path) -> None:
    page = (smoke_reports / "noisy" / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_report_shows_score_notices_and_hints(smoke_reports: Path) -> None:
    page = (smoke_reports / "exits" / "report.html").read_text()
    assert "0 / 5" in page
    assert "Cell 1, line 1: SyntaxError" in page
    assert "Hint: Negative inputs become zero." in page


def test_class_index_links_every_student(smoke_reports: Path) -> None:
    page = (smoke_reports / "index.html").read_text()
    students = sorted(p.name for p in smoke_reports.iterdir() if p.is_dir())
    for student in students:
        assert f'href="{student}/report.html"' in page
    assert len(students) == 14


def test_grades_csv_has_points_per_exercise(smoke_reports: Path) -> None:
    with (smoke_reports / "grades.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows["loop"]["score"] == "2"
    assert rows["loop"]["relu"] == "0"
    assert rows["loop"]["make_var"] == "2"
    assert rows["good"]["percent"] == "100.0"


def test_gradebook_has_one_row_per_submission_and_test(smoke_reports: Path) -> None:
    with sqlite3.connect(smoke_reports.parent / "gradebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone() == (14,)
        assert db.execute("SELECT COUNT(*) FROM tests").fetchone() == (14 * 4,)
        assert db.execute(
            "SELECT verdict FROM tests WHERE student = 'memory' ORDER BY name"
        ).fetchall() == [("passed",), ("passed",), ("memory",), ("memory",)]
