"""``grader export canvas|moodle|csv|nbgrader``: each file is written and read
back with Python's ``csv`` module as the target system reads it; nobody on
the roster or in the gradebook is dropped; cells are safe in a spreadsheet."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest

from grader import assignments, exporters, results
from grader.errors import ConfigError
from grader.exporters import ExportFormat, ExportRequest, canvas
from grader.outdir import OutDir
from grader.policy import roster
from grader.policy.gradebook import Gradebook
from tests.helpers import COURSE, run_grader

ROSTER = (
    "student,name,email,lms_id,sis_id,login,section\n"
    'alice,"Liddell, Alice",alice@uni.example,101,S-1,aliddell,A\n'
    "zoë,Zoë Ångström,zoe@uni.example,102,S-2,zangstrom,B\n"
    'carol,=HYPERLINK("http://evil"),carol@uni.example,103,S-3,carol,@A\n'
)


def result(student: str, points: tuple[float, float], **extra: object) -> results.SubmissionResult:
    tests = tuple(
        results.TestResult(f"test_{i}", "relu", 5.0, p, results.Verdict.PASSED)
        for i, p in enumerate(points)
    )
    base = results.SubmissionResult(
        assignment="00_smoke",
        student=student,
        submission_hash="h-" + student,
        suite_version="v1",
        grader_version="0",
        graded_at="2026-12-02T00:00:00+00:00",
        execution_time=1.0,
        tests=tests,
    )
    return dataclasses.replace(base, **extra)  # type: ignore[arg-type]


@pytest.fixture
def graded(tmp_path: Path) -> ExportRequest:
    """A gradebook with alice (late, 8 -> 6.4), zoë (10), and mallory (not on the roster);
    carol is on the roster without a submission."""
    out = tmp_path / "reports"
    late = results.Penalty(
        submitted_at="2026-12-03T10:00:00+00:00",
        source=results.TimeSource.GIT,
        due="2026-12-01T23:59:00+00:00",
        percent=20.0,
        points=1.6,
        reason="1 d 10 h 1 min late: 2 days × 10% = 20% off",
    )
    with Gradebook(out / "gradebook.db") as book:
        book.record(result("alice", (5, 3), penalty=late))
        book.record(result("zoë", (5, 5)))
        book.record(result("mallory", (0, 5)))
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    return ExportRequest(
        assignments=(assignments.load(COURSE, "00_smoke").info,),
        course=COURSE,
        out=OutDir(out),
        output=None,
        roster=roster,
        echo=lambda line: None,
    )


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


MOODLE_FIELDS = {"username": "login", "email": "email", "idnumber": "sis_id"}
"""a Moodle user field -> the roster column that holds it (docs/instructors/exports.md)"""


def people(request: ExportRequest) -> list[roster.Person]:
    assert request.roster is not None
    return list(roster.load(request.roster).values())


def identity(request: ExportRequest, student: str, identifier: str) -> str:
    """``student``'s value of the Moodle user field ``identifier``."""
    [person] = [p for p in people(request) if p.student == student]
    return str(getattr(person, MOODLE_FIELDS[identifier]))


def moodle_import(path: Path, users: list[roster.Person], identifier: str) -> dict[str, str]:
    """Moodle's CSV import (``grade/import/csv/classes/load_data.php``): the
    identifier column looked up in the user field it was mapped to; an
    unknown value aborts the import. Returns the grade each user gets."""
    column = MOODLE_FIELDS[identifier]
    header, *rows = read(path)
    assert header[0] == identifier
    grades: dict[str, str] = {}
    for row in rows:
        found = [u for u in users if row[0] and getattr(u, column) == row[0]]
        assert len(found) == 1, f"Moodle aborts the import: no user with {identifier} {row[0]!r}"
        assert found[0].student not in grades, f"two rows for {found[0].student}"
        grades[found[0].student] = row[1]
    return grades


def canvas_import(path: Path, users: list[roster.Person]) -> dict[str, str]:
    """Canvas's gradebook import: a row is its user by ID, else SIS User ID;
    a row matching no user is not importable. The grade each user gets."""
    header, possible, *rows = read(path)
    assert header[:5] == canvas.IDENTITY and possible[0] == "Points Possible"
    grades: dict[str, str] = {}
    for row in rows:
        found = [u for u in users if row[1] and u.lms_id == row[1]]
        found = found or [u for u in users if row[2] and u.sis_id == row[2]]
        assert len(found) == 1, f"Canvas cannot import the row {row}"
        assert found[0].student not in grades, f"two rows for {found[0].student}"
        grades[found[0].student] = row[5]
    return grades


@pytest.fixture
def impostor(graded: ExportRequest, tmp_path: Path) -> ExportRequest:
    """alice and dan on the roster (dan without any LMS identity); a
    submission whose file a student named ``aliddell`` (alice's login) and
    ``101`` (her Canvas ID), neither on the roster."""
    out = tmp_path / "impostor"
    with Gradebook(out / "gradebook.db") as book:
        book.record(result("alice", (5, 3)))
        book.record(result("dan", (5, 5)))
        book.record(result("aliddell", (0, 0)))
        book.record(result("101", (0, 0)))
    users = tmp_path / "users.csv"
    users.write_text(ROSTER.splitlines()[0] + "\n" + ROSTER.splitlines()[1] + "\ndan,Dan\n")
    return dataclasses.replace(graded, out=OutDir(out), roster=users)


@pytest.mark.parametrize("identifier", ["username", "email", "idnumber"])
def test_moodle_gives_each_grade_to_its_own_student(
    impostor: ExportRequest, identifier: str
) -> None:
    """Read back as Moodle matches it: every identity is a roster user's, and
    a file named after another student's login never becomes that login."""
    lines: list[str] = []
    request = dataclasses.replace(impostor, identifier=identifier, echo=lines.append)
    path, *apart = ExportFormat.MOODLE.export(request)
    assert moodle_import(path, people(request), identifier) == {"alice": "8"}
    assert apart == [path.with_name(path.stem + "-unmatched.csv")]
    column = MOODLE_FIELDS[identifier]
    assert read(apart[0]) == [
        ["student", "on_roster", "why", "00_smoke"],
        ["dan", "yes", f"no {column} on the roster", "10"],
        ["101", "no", "not on the roster", "0"],
        ["aliddell", "no", "not on the roster", "0"],
    ]
    assert any(f"3 student(s) left out of {path.name}" in line for line in lines)


def test_canvas_gives_each_grade_to_its_own_student(impostor: ExportRequest) -> None:
    path, *apart = ExportFormat.CANVAS.export(impostor)
    assert canvas_import(path, people(impostor)) == {"alice": "8"}
    assert [row[0] for row in read(apart[0])[1:]] == ["dan", "101", "aliddell"]


@pytest.mark.parametrize("format_name", ["canvas", "moodle"])
def test_an_import_can_carry_the_raw_score_and_the_penalty(
    graded: ExportRequest, format_name: str
) -> None:
    request = dataclasses.replace(graded, adjustment_columns=True, identifier="username")
    path = ExportFormat(format_name).export(request)[0]
    header, *rows = read(path)
    extra = ["Smoke test raw score", "Smoke test late penalty"]
    assert header[-2:] == extra
    [alice] = [row for row in rows if "aliddell" in row]
    grade = header.index("Smoke test")
    assert (alice[grade], alice[-2], alice[-1]) == ("6.4", "8", "1.6")
    plain = ExportFormat(format_name).export(dataclasses.replace(request, adjustment_columns=False))
    assert not set(extra) & set(read(plain[0])[0])


def test_every_format_module_has_its_row_a_summary_and_an_export() -> None:
    assert set(ExportFormat) == exporters.modules()
    for export_format in ExportFormat:
        assert isinstance(export_format.module.SUMMARY, str) and export_format.summary
        assert callable(export_format.export)


def test_canvas_columns_points_possible_and_every_student(graded: ExportRequest) -> None:
    assignment = dataclasses.replace(graded.assignments[0], lms_id="4711")
    [path, apart] = ExportFormat.CANVAS.export(
        dataclasses.replace(graded, assignments=(assignment,))
    )
    header, possible, *rows = read(path)
    assert header == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Smoke test (4711)",
    ]
    assert possible == ["Points Possible", "", "", "", "", "10"]
    by_id = {row[1]: row for row in rows}
    assert by_id["101"] == ["Liddell, Alice", "101", "S-1", "aliddell", "A", "6.4"]
    assert by_id["102"][0] == "Zoë Ångström" and by_id["102"][5] == "10"
    # on the roster without a submission: zero by default; a formula is quoted
    assert by_id["103"] == ['\'=HYPERLINK("http://evil")', "103", "S-3", "carol", "'@A", "0"]
    # a submission the roster does not list is not importable: it is listed apart
    assert "" not in by_id and len(rows) == 3
    assert canvas_import(path, people(graded)) == {"alice": "6.4", "zoë": "10", "carol": "0"}
    assert apart == path.with_name(path.stem + "-unmatched.csv") and read(apart) == [
        ["student", "on_roster", "why", "00_smoke"],
        ["mallory", "no", "not on the roster", "5"],
    ]


def test_missing_blank_leaves_the_cell_empty(graded: ExportRequest) -> None:
    request = dataclasses.replace(graded, missing="blank", output=graded.out.root / "c.csv")
    [path, _] = ExportFormat.CANVAS.export(request)
    assert path == graded.out.root / "c.csv"
    rows = {row[0]: row for row in read(path)[2:]}
    assert rows['\'=HYPERLINK("http://evil")'][5] == ""


def test_moodle_identifier_grade_and_feedback(graded: ExportRequest) -> None:
    for identifier, alice in (
        ("username", "aliddell"),
        ("email", "alice@uni.example"),
        ("idnumber", "S-1"),
    ):
        [path, _] = ExportFormat.MOODLE.export(dataclasses.replace(graded, identifier=identifier))
        header, *rows = read(path)
        assert header == [identifier, "Smoke test", "Smoke test feedback"]
        by_id = {row[0]: row for row in rows}
        assert by_id[alice][1] == "6.4"
        assert by_id[alice][2].startswith("tests 8/10; late -1.6: 1 d 10 h 1 min late")
        assert by_id[alice][2].endswith("final 6.4/10")
        assert by_id[identity(graded, "zoë", identifier)][1:] == ["10", "tests 10/10"]
        assert "mallory" not in by_id and len(rows) == 3
        grades = moodle_import(path, people(graded), identifier)
        assert grades == {"alice": "6.4", "zoë": "10", "carol": "0"}


def test_csv_has_raw_and_final_scores(graded: ExportRequest) -> None:
    [path] = ExportFormat.CSV.export(graded)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"alice", "zoë", "carol", "mallory"}
    alice = rows["alice"]
    assert (alice["raw_score"], alice["late_penalty"], alice["score"]) == ("8", "1.6", "6.4")
    assert alice["late_reason"].startswith("1 d 10 h 1 min late")
    assert (rows["carol"]["status"], rows["carol"]["score"]) == ("missing", "0")
    assert rows["mallory"]["on_roster"] == "no"


def test_nbgrader_grades_csv_columns(graded: ExportRequest) -> None:
    [path] = ExportFormat.NBGRADER.export(graded)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = {row["student_id"]: row for row in reader}
    assert reader.fieldnames == [
        "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
        "email", "raw_score", "late_submission_penalty", "score", "max_score",
    ]  # fmt: skip
    alice = rows["alice"]
    assert (alice["last_name"], alice["first_name"]) == ("Liddell", "Alice")
    assert (alice["raw_score"], alice["late_submission_penalty"], alice["score"]) == (
        "8", "1.6", "6.4",
    )  # fmt: skip
    assert alice["timestamp"] == "2026-12-03T10:00:00+00:00"
    assert (rows["zoë"]["first_name"], rows["zoë"]["last_name"]) == ("Zoë", "Ångström")
    assert (rows["carol"]["score"], rows["carol"]["max_score"]) == ("0", "10")


def test_cli_export_lists_who_the_lms_will_not_match(graded: ExportRequest, tmp_path: Path) -> None:
    target = tmp_path / "canvas.csv"
    done = run_grader(
        "--root", str(COURSE), "export", "canvas", "00_smoke", "--out", str(graded.out.root),
        "--roster", str(graded.roster), "-o", str(target),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {target}" in done.stdout
    assert "no roster entry" in done.stderr and "mallory" in done.stderr
    assert "without a submission" in done.stderr and "carol" in done.stderr
    apart = tmp_path / "canvas-unmatched.csv"
    assert "1 student(s) left out of canvas.csv" in done.stderr and str(apart) in done.stderr
    assert f"wrote {apart}" in done.stdout
    assert len(read(target)) == 2 + 3 and read(apart)[1][0] == "mallory"


def test_cli_export_without_a_gradebook_says_so(tmp_path: Path) -> None:
    done = run_grader("--root", str(COURSE), "export", "csv", "00_smoke", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "no gradebook in" in done.stderr and "Traceback" not in done.stderr


def test_roster_mistakes_name_the_line(tmp_path: Path, graded: ExportRequest) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_text("student,mail\nalice,a@x\n")
    request = dataclasses.replace(graded, roster=roster)
    done = run_grader(
        "--root", str(COURSE), "export", "csv", "00_smoke", "--out", str(graded.out.root),
        "--roster", str(roster),
    )  # fmt: skip
    assert done.returncode == 2 and "unknown column mail" in done.stderr
    roster.write_text("student,name\nalice,A\nalice,B\n")
    with pytest.raises(ConfigError, match=r"bad\.csv:3: student alice is listed twice"):
        ExportFormat.CSV.export(request)


def test_a_spreadsheet_bom_is_read(graded: ExportRequest, tmp_path: Path) -> None:
    roster = tmp_path / "excel.csv"
    roster.write_bytes("\ufeffstudent,name\nalice,Alice\n".encode())
    [path] = ExportFormat.CSV.export(dataclasses.replace(graded, roster=roster))
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0]["name"] == "Alice" and rows[0]["on_roster"] == "yes"


@pytest.mark.parametrize("format_name", ["canvas", "moodle", "csv", "nbgrader"])
def test_no_cell_of_any_format_is_a_formula(
    graded: ExportRequest, tmp_path: Path, format_name: str
) -> None:
    roster = tmp_path / "hostile.csv"
    roster.write_text(
        "student,name,email,login,sis_id,section\n"
        'alice,"+SUM(1,2)",-2+3@x,@cmd,"\tx","\r=1"\n'
        "zoë,=1+1,=zoe,=u,=s,=t\n",
        encoding="utf-8",
    )
    request = dataclasses.replace(graded, roster=roster, identifier="username")
    path = ExportFormat(format_name).export(request)[0]
    cells = [cell for row in read(path) for cell in row]
    for cell in cells:
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or _number(cell), cell
    assert any(c.startswith("'+SUM(1") for c in cells) or format_name == "moodle"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
