"""make grade's instructor workflow: who is who in a platform's download, merging, regrades, lateness, exports, stats.

Most tests run ``grade.main`` with a stand-in for the nbgrader grader (it
reads each notebook's scores from its metadata), so that they take
seconds; one test grades real notebooks of ``00_tensors_autograd``, twice.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from course_grading import confine, exports, grade, lateness, results, stats, submissions

NOTEBOOK = "01_sigmoid_bce.ipynb"
POINTS = {"t1": 1.0, "t2": 2.0}
DUE = datetime(2026, 12, 1, 23, 59)
ON_TIME = (2026, 12, 1, 12, 0, 0)
TWO_DAYS_LATE = (2026, 12, 3, 9, 30, 0)


def _nb(scores: dict[str, float], not_run: str = "") -> str:
    """A notebook the stand-in grader gives ``scores`` (and the answer ``not_run`` the allowlist refused)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nb.metadata["fake_scores"] = scores
    if not_run:
        nb.metadata["fake_not_run"] = not_run
    return nbformat.writes(nb)


FULL, PART, NONE = _nb({"t1": 1, "t2": 2}), _nb({"t1": 1, "t2": 0}), _nb({"t1": 0, "t2": 0})


class FakeGrader:
    """Grades as :class:`grade.Grader` reports, from the scores in each notebook's metadata."""

    def __init__(self, assignment, out, scratch, cell_timeout=None, confined=True):
        self.assignment, self.scratch, self.points = assignment, scratch, dict(POINTS)
        self.notebook = f"{assignment}.ipynb"
        self.confinement = "test"

    def grade(self, batch, name):
        done = []
        for sub in batch:
            result = grade.Result(sub.student, flags=list(sub.notes))
            try:
                metadata = nbformat.read(sub.path, as_version=4).metadata
                scores = metadata["fake_scores"]
                if "fake_not_run" in metadata:
                    result.review.append(results.ReviewItem(metadata["fake_not_run"], "not run", "a call to open"))
                result.cells = {cell: float(scores[cell]) for cell in POINTS}
                result.failures = {c: f"AssertionError: Hint: fix {c}" for c in POINTS if scores[c] < POINTS[c]}
                result.feedback = f"<p>{sub.student}: {sum(result.cells.values()):g}</p>"
            except Exception as error:
                result.fail(f"not a readable notebook ({type(error).__name__})")
                result.cells = {cell: 0.0 for cell in POINTS}
                result.flags.append("unreadable notebook")
            (self.scratch / "logs").mkdir(exist_ok=True)
            (self.scratch / "logs" / f"{sub.student}.log").write_text(f"log of {sub.student} from {sub.path.name}\n")
            done.append(result)
        return done


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setattr(grade, "Grader", FakeGrader)
    monkeypatch.setattr(grade, "assignment_points", lambda assignment: dict(POINTS))
    monkeypatch.setattr(confine, "status", lambda: (True, "test"))
    monkeypatch.setattr(grade, "REPO", tmp_path / "course")  # no instructor's gradebook, no due date from it


def _zip(path: Path, files: dict[str, tuple[str, tuple[int, ...]]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, (text, when) in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), text)
    return path


def _canvas(tmp_path: Path, name: str = "canvas.zip", **changes: str) -> Path:
    files = {
        f"smithjohn_12345_90001_{NOTEBOOK}": (FULL, ON_TIME),
        f"smithjohn_67890_90002_{NOTEBOOK}": (NONE, ON_TIME),  # another user of the same name
        f"pérezanamaría_LATE_22222_90003_{NOTEBOOK}": (FULL, TWO_DAYS_LATE),
        f"leebo_33333_9004_{NOTEBOOK}": (NONE, ON_TIME),
        "leebo_33333_10010_01_sigmoid_bce-1.ipynb": (PART, ON_TIME),  # the resubmission: Canvas numbers it later
        f"broken_44444_90005_{NOTEBOOK}": ("this is not a notebook", ON_TIME),
    }
    for old, text in changes.items():
        key = next(k for k in files if k.startswith(old))
        files[key] = (text, files[key][1])
    return _zip(tmp_path / name, files)


def _moodle(tmp_path: Path) -> Path:
    return _zip(tmp_path / "moodle.zip", {
        f"Ana María Pérez_501_assignsubmission_file_/{NOTEBOOK}": (FULL, ON_TIME),
        f"Ana María Pérez_502_assignsubmission_file_/{NOTEBOOK}": (PART, TWO_DAYS_LATE),
        "José Núñez_503_assignsubmission_file_/draft.ipynb": (NONE, (2026, 11, 30, 8, 0, 0)),
        f"José Núñez_503_assignsubmission_file_/{NOTEBOOK}": (FULL, ON_TIME),
        f"Broken Person_504_assignsubmission_file_/{NOTEBOOK}": ("{not json", ON_TIME),
    })


def _run(download: Path, out: Path, *args: str) -> None:
    assert grade.main(["01_sigmoid_bce", str(download), "--out", str(out), *args]) == 0


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def _lines(out: Path) -> dict[str, bytes]:
    lines = (out / "grades.csv").read_bytes().split(b"\r\n")
    return {line.split(b",", 1)[0].decode(): line for line in lines[1:] if line}


# --- identity ---------------------------------------------------------------------------------------


def test_canvas_download_gives_each_user_one_row_with_their_id_name_and_score(fake, tmp_path):
    _run(_canvas(tmp_path), tmp_path / "out")
    rows = _rows(tmp_path / "out")
    assert {s: (r["platform"], r["user_id"], r["name"], r["score"]) for s, r in rows.items()} == {
        "smithjohn-12345": ("canvas", "12345", "smithjohn", "3"),
        "smithjohn-67890": ("canvas", "67890", "smithjohn", "0"),
        "perezanamaria": ("canvas", "22222", "pérezanamaría", "3"),
        "leebo": ("canvas", "33333", "leebo", "1"),
        "broken": ("canvas", "44444", "broken", "0"),
    }
    assert rows["broken"]["status"].startswith("not graded")
    assert rows["perezanamaria"]["late_marker"] == "LATE" and rows["leebo"]["late_marker"] == ""
    assert rows["perezanamaria"]["submitted"] == "2026-12-03T09:30:00"
    details = json.loads((tmp_path / "out" / "details.json").read_text())
    assert details["leebo"]["file"] == "leebo_33333_10010_01_sigmoid_bce-1.ipynb", "the latest submission is graded"
    assert "not graded: 'leebo_33333_9004_01_sigmoid_bce.ipynb'" in details["leebo"]["flags"][0]
    report = (tmp_path / "out" / "report.txt").read_text()
    assert "perezanamaria" in report and "(pérezanamaría, canvas 22222)" in report


def test_moodle_download_keys_participants_by_id_and_shows_names_as_written(fake, tmp_path):
    _run(_moodle(tmp_path), tmp_path / "out")
    rows = _rows(tmp_path / "out")
    assert {s: (r["user_id"], r["name"], r["score"]) for s, r in rows.items()} == {
        "ana-maria-perez-501": ("501", "Ana María Pérez", "3"),
        "ana-maria-perez-502": ("502", "Ana María Pérez", "1"),
        "jose-nunez": ("503", "José Núñez", "3"),
        "broken-person": ("504", "Broken Person", "0"),
    }
    assert {r["platform"] for r in rows.values()} == {"moodle"}
    assert json.loads((tmp_path / "out" / "details.json").read_text())["jose-nunez"]["file"] == NOTEBOOK


def test_ids_stay_stable_and_a_newcomer_with_a_taken_name_gets_the_platform_id():
    first, second = ("canvas", "12345", "smithjohn"), ("canvas", "67890", "smithjohn")
    plain = ("file", "smithjohn-67890.ipynb", "smithjohn-67890")
    ids = submissions.assign_ids({first: "smithjohn", second: "smithjohn", plain: "smithjohn-67890"},
                                 {first: ("smithjohn", "smithjohn")})
    assert ids[first] == "smithjohn", "a student keeps the id of the results folder"
    assert ids[second] == "smithjohn-67890"
    assert ids[plain].startswith("smithjohn-67890-"), "ids never collide"
    assert len(set(ids.values())) == 3


def test_one_platform_id_under_two_names_stays_two_students_flagged(tmp_path):
    archive = _zip(tmp_path / "odd.zip", {f"twin-a_1003_5003_{NOTEBOOK}": (FULL, ON_TIME),
                                          f"twin-b_1003_5003_{NOTEBOOK}": (NONE, ON_TIME)})
    found = {s.student: s for s in submissions.collect(archive, NOTEBOOK, tmp_path)}
    assert set(found) == {"twin-a", "twin-b"}
    assert found["twin-a"].notes == ["canvas id 1003 also handed in under another name (twin-b): graded as another "
                                     "student; check the download"]


def test_names_become_ascii_ids_and_stay_readable():
    assert submissions.slug("Ana María Pérez") == "ana-maria-perez"
    assert submissions.slug("Øyvind Ångström-Ćosić") == "yvind-angstrom-cosic"
    assert submissions.slug("王小明") == "student"
    assert submissions.display_name("Pe\u0301rez") == "Pérez"  # as macOS writes it


def test_zip_names_without_the_utf8_flag_are_read_as_utf8():
    info = zipfile.ZipInfo("Pérez_1_assignsubmission_file_/a.ipynb".encode().decode("cp437"))
    assert submissions._member_name(info) == "Pérez_1_assignsubmission_file_/a.ipynb"
    info.flag_bits |= 0x800
    assert submissions._member_name(info) != "Pérez_1_assignsubmission_file_/a.ipynb"


# --- nothing is deleted -----------------------------------------------------------------------------


def test_regrading_one_student_leaves_every_other_row_feedback_and_log_byte_for_byte(fake, tmp_path):
    out = tmp_path / "out"
    _run(_canvas(tmp_path), out)
    before = _lines(out)
    others = {p: p.read_bytes() for kind in ("feedback", "logs") for p in (out / kind).iterdir()
              if not p.name.startswith("smithjohn-67890.")}
    (out / "grades.csv").write_bytes((out / "grades.csv").read_bytes().replace(b"leebo,leebo", b"leebo,Bo Lee"))
    edited = _lines(out)["leebo"]
    fixed = _canvas(tmp_path, "fixed.zip", smithjohn_67890=FULL, leebo_33333_10010=FULL)
    _run(fixed, out, "--student", "smithjohn-67890")
    after = _lines(out)
    assert set(after) == set(before)
    assert after["smithjohn-67890"] != before["smithjohn-67890"] and _rows(out)["smithjohn-67890"]["score"] == "3"
    assert after["leebo"] == edited, "a row edited by hand, and not regraded, is kept as edited"
    assert all(after[s] == before[s] for s in before if s not in ("smithjohn-67890", "leebo"))
    assert all(p.read_bytes() == text for p, text in others.items())
    assert (out / "feedback" / "smithjohn-67890.html").read_text() == "<p>smithjohn-67890: 3</p>"
    (history,) = (out / "history").iterdir()
    assert (history / "grades.csv").read_bytes().count(b"smithjohn-67890") == 1
    assert (history / "feedback" / "smithjohn-67890.html").read_text() == "<p>smithjohn-67890: 0</p>"
    assert "this run: 1 of 5 student(s) in the download graded" in (out / "report.txt").read_text()


def test_a_regraded_student_who_is_no_longer_graded_loses_the_old_feedback_to_history(fake, tmp_path):
    out = tmp_path / "out"
    _run(_canvas(tmp_path), out)
    _run(_canvas(tmp_path, "corrupt.zip", leebo_33333_10010="{"), out, "--student", "leebo")
    assert _rows(out)["leebo"]["status"].startswith("not graded")
    assert not (out / "feedback" / "leebo.html").exists(), "no page that no longer matches the row"
    (history,) = (out / "history").iterdir()
    assert (history / "feedback" / "leebo.html").read_text() == "<p>leebo: 1</p>"
    assert (history / "logs" / "leebo.log").read_text().endswith("leebo_33333_10010_01_sigmoid_bce-1.ipynb\n")


def test_student_can_be_named_by_platform_id_and_an_unknown_one_is_refused(fake, tmp_path, capsys):
    out = tmp_path / "out"
    _run(_canvas(tmp_path), out, "--student", "67890")
    assert set(_rows(out)) == {"smithjohn-67890"}
    with pytest.raises(SystemExit):
        grade.main(["01_sigmoid_bce", str(_canvas(tmp_path)), "--out", str(out), "--student", "nobody"])
    assert "--student nobody: no such student" in capsys.readouterr().err


def test_a_run_merges_into_the_results_of_another_download(fake, tmp_path):
    out = tmp_path / "out"
    _run(_canvas(tmp_path), out)
    canvas_rows = _lines(out)
    _run(_moodle(tmp_path), out)
    merged = _lines(out)
    assert len(merged) == 9 and all(merged[s] == line for s, line in canvas_rows.items())
    assert {r["platform"] for r in _rows(out).values()} == {"canvas", "moodle"}


def test_a_grades_csv_it_cannot_merge_with_is_refused_and_left_alone(fake, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text("student,score,max_score\nkim,3,3\n")
    with pytest.raises(SystemExit):
        grade.main(["01_sigmoid_bce", str(_canvas(tmp_path)), "--out", str(out)])
    assert "cannot merge with (columns missing: name, platform" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        grade.main(["01_sigmoid_bce", "--rebuild", "--out", str(out)])
    assert "cannot merge with (columns missing: name, platform" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        grade.main(["01_sigmoid_bce", "--out", str(out)])
    assert "SUBMISSIONS is missing" in capsys.readouterr().err
    assert (out / "grades.csv").read_text() == "student,score,max_score\nkim,3,3\n"


@pytest.mark.parametrize(("options", "message"), [
    (["--due", "1 Dec"], "--due must be a date and time such as 2026-12-01T23:59"),
    (["--late-penalty", "10"], "--late-penalty needs a due date"),
    (["--course", "."], "--course names the nbgrader course for --gradebook: add --gradebook"),
    (["--gradebook", "--course", "{tmp}"], "has no assignment '01_sigmoid_bce': release it first"),
    (["--rebuild"], "--rebuild grades nothing: leave out SUBMISSIONS, --student and --gradebook"),
])
def test_wrong_options_are_refused_before_anything_is_written(fake, tmp_path, capsys, options, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit):
        grade.main(["01_sigmoid_bce", str(_canvas(tmp_path)), "--out", str(out),
                    *(o.format(tmp=tmp_path) for o in options)])
    assert message in capsys.readouterr().err and not out.exists()


# --- lateness ---------------------------------------------------------------------------------------


def test_the_late_penalty_is_applied_and_shown_and_kept_for_regrades(fake, tmp_path):
    out = tmp_path / "out"
    _run(_moodle(tmp_path), out, "--due", "2026-12-01T23:59", "--late-penalty", "10", "--late-penalty-max", "15")
    rows = _rows(out)
    late = rows["ana-maria-perez-502"]
    assert (late["days_late"], late["raw_score"], late["penalty"], late["score"]) == ("2", "1", "0.45", "0.55")
    on_time = rows["ana-maria-perez-501"]
    assert (on_time["days_late"], on_time["penalty"], on_time["score"], on_time["due"]) == ("0", "0", "3",
                                                                                          "2026-12-01T23:59")
    assert "2 day(s) late: 1 - 0.45" in (out / "report.txt").read_text()
    _run(_moodle(tmp_path), out, "--student", "502")
    assert _rows(out)["ana-maria-perez-502"]["score"] == "0.55", "the folder's policy applies to a regrade"
    _run(_moodle(tmp_path), out, "--student", "502", "--due", "2026-12-04T00:00")
    assert _rows(out)["ana-maria-perez-502"]["score"] == "1", "an extension for one student"
    assert json.loads((out / "policy.json").read_text())["due"] == "2026-12-01T23:59"


def test_canvas_late_marker_decides_whether_a_submission_is_late():
    policy = lateness.LatePolicy(DUE, 10, 100)
    two_days = datetime(2026, 12, 3, 9, 30)
    assert policy.days_late(two_days, "LATE", "canvas") == (2, [])
    assert policy.days_late(datetime(2026, 12, 1, 12), "LATE", "canvas") == (1, [])
    assert policy.days_late(None, "late", "canvas")[0] == 1
    days, notes = policy.days_late(two_days, "", "canvas")
    assert days == 0 and "Canvas did not mark it late" in notes[0]
    assert policy.days_late(two_days, "", "moodle") == (2, [])
    assert policy.days_late(None, "", "folder")[0] == 0
    assert lateness.LatePolicy().days_late(two_days, "LATE", "canvas") == (None, [])


def test_the_penalty_is_a_share_of_the_maximum_capped_and_never_below_zero():
    policy = lateness.LatePolicy(DUE, 10, 25)
    assert policy.penalty(9, 9, 1) == 0.9
    assert policy.penalty(9, 9, 5) == 2.25
    assert policy.penalty(1, 9, 3) == 1
    assert policy.penalty(9, 9, 0) == 0


def test_late_options_are_checked_and_say_what_to_give():
    with pytest.raises(ValueError, match="--late-penalty needs a due date: give --due"):
        lateness.LatePolicy(None, 10)
    with pytest.raises(ValueError, match="--due must be a date and time such as 2026-12-01T23:59"):
        lateness.parse_due("1 Dec")
    assert lateness.parse_due("2026-12-01T23:59") == DUE


@pytest.mark.integration
def test_the_due_date_comes_from_nbgraders_gradebook_when_set(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # alembic
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("01_sigmoid_bce", duedate=datetime(2026, 12, 1, 22, 59))
        gb.add_assignment("02_gradient_descent")
    local = datetime(2026, 12, 1, 22, 59).replace(tzinfo=lateness.timezone.utc).astimezone().replace(tzinfo=None)
    assert lateness.gradebook_due(tmp_path / "gradebook.db", "01_sigmoid_bce") == local
    assert lateness.gradebook_due(tmp_path / "gradebook.db", "02_gradient_descent") is None
    assert lateness.gradebook_due(tmp_path / "missing.db", "01_sigmoid_bce") is None


# --- exports ----------------------------------------------------------------------------------------


def test_platform_files_carry_the_platform_ids_and_the_final_scores(fake, tmp_path):
    out = tmp_path / "out"
    _run(_canvas(tmp_path), out, "--canvas-column", "Notebook 1 (777)")
    _run(_moodle(tmp_path), out)
    with open(out / exports.CANVAS_FILE, newline="", encoding="utf-8") as f:
        canvas = list(csv.reader(f))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_sigmoid_bce"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "3"]
    assert sorted(canvas[2:]) == [["leebo", "33333", "", "", "", "1"],
                                  ["pérezanamaría", "22222", "", "", "", "3"],
                                  ["smithjohn", "12345", "", "", "", "3"], ["smithjohn", "67890", "", "", "", "0"]]
    with open(out / exports.MOODLE_FILE, newline="", encoding="utf-8") as f:
        moodle = list(csv.DictReader(f))
    assert {r["Identifier"]: (r["Full name"], r["Grade"], r["Maximum Grade"]) for r in moodle} == {
        "Participant 501": ("Ana María Pérez", "3.00", "3.00"),
        "Participant 502": ("Ana María Pérez", "1.00", "3.00"),
        "Participant 503": ("José Núñez", "3.00", "3.00")}
    assert all(datetime.fromisoformat(r["Last modified (grade)"]).tzinfo for r in moodle)
    report = (out / "report.txt").read_text()
    assert "2 student(s) not graded are left out of the platform files" in report
    assert "in grades.csv only" not in report


def test_exports_leave_out_students_without_a_platform_id():
    records = [results.StudentRecord("kim", "kim", "file", "kim.ipynb", score=3.0, max_score=3.0)]
    assert exports.canvas_rows(records, "A", 3) == [[*exports.CANVAS_STUDENT_COLUMNS, "A"],
                                                    ["Points Possible", "", "", "", "", "3"]]
    assert exports.moodle_rows(records, 3, datetime(2026, 1, 1)) == [exports.MOODLE_COLUMNS]


def test_a_mark_with_answers_not_run_is_provisional_everywhere_until_reviewed(fake, tmp_path):
    out = tmp_path / "out"
    held = _nb({"t1": 1, "t2": 0}, not_run="nb01_bce")
    _run(_canvas(tmp_path, leebo_33333_10010=held), out)
    _run(_moodle(tmp_path), out)
    row = _rows(out)["leebo"]
    assert row["status"] == "provisional: answers not run (nb01_bce): review them and set this to graded"
    assert (row["score"], row["needs_review"]) == ("1", "nb01_bce")
    with open(out / exports.CANVAS_FILE, newline="", encoding="utf-8") as f:
        assert "33333" not in [r[1] for r in csv.reader(f)], "a provisional mark is not in the file to import"
    with open(out / "canvas-grades-provisional.csv", newline="", encoding="utf-8") as f:
        assert list(csv.reader(f))[2:] == [["leebo", "33333", "", "", "", "1"]]
    assert not (out / "moodle-grades-provisional.csv").exists()
    report = (out / "report.txt").read_text()
    assert "canvas-grades-provisional.csv: 1 provisional mark(s) (answers not run): review those students" in report
    assert "(of them provisional, answers not run: 1)" in report
    assert "leebo  " in report and "provisional: answers not run (nb01_bce)" in report

    text = (out / "grades.csv").read_text(encoding="utf-8")  # the instructor reviewed, and gives 2 points
    line = next(line for line in text.splitlines() if line.startswith("leebo,"))
    cells = line.split(",")
    cells[10], cells[12] = "2", "graded"
    (out / "grades.csv").write_text(text.replace(line, ",".join(cells)), encoding="utf-8")
    edited = _rows(out)
    assert grade.main(["01_sigmoid_bce", "--rebuild", "--out", str(out)]) == 0
    assert _rows(out) == edited, "--rebuild grades nothing and keeps every edit"
    with open(out / exports.CANVAS_FILE, newline="", encoding="utf-8") as f:
        assert ["leebo", "33333", "", "", "", "2"] in list(csv.reader(f))
    with open(out / "canvas-grades-provisional.csv", newline="", encoding="utf-8") as f:
        assert len(list(csv.reader(f))) == 2, "no reviewed mark stays in the provisional file"
    report = (out / "report.txt").read_text()
    assert "rebuilt from grades.csv as it is" in report and "(of them provisional, answers not run: 0)" in report
    assert len(list((out / "history").iterdir())) == 2, "the report --rebuild replaced is kept in history/"


# --- statistics -------------------------------------------------------------------------------------


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def test_failure_messages_are_the_last_line_of_each_test_cells_error():
    nb = nbformat.v4.new_notebook()
    for grade_id, outputs in (("t1", [_error("AssertionError", "sigmoid: got 0.3\nexpected 0.7\nHint: 1 - p")]),
                              ("t2", [nbformat.v4.new_output("stream", name="stderr", text="warning")]),
                              ("t3", [_error("NotImplementedError", "Write your answer here")]),
                              ("t4", [])):
        cell = nbformat.v4.new_code_cell("check()")
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": True}
        cell.outputs = outputs
        nb.cells.append(cell)
    found = stats.failures(nb, {"t1": 0, "t2": 0, "t3": 0, "t4": 1}, {"t1": 1, "t2": 1, "t3": 1, "t4": 1})
    assert found == {"t1": "AssertionError: Hint: 1 - p", "t2": "no error, but output on stderr",
                     "t3": "NotImplementedError: Write your answer here"}


def test_cell_statistics_count_graded_students_and_rank_failures():
    failures = {"b": {"t1": "Hint: A"}, "c": {"t1": "Hint: A", "t2": "Hint: B"},
                "d": {"t1": "Hint: C", "t2": "Hint: B"}}

    def record(student, t1, t2, status=results.Status.GRADED):
        return results.StudentRecord(student, student, "file", student, score=t1 + t2, status=status,
                                     cells={"t1": t1, "t2": t2}, failures=failures.get(student, {}))

    records = [record("a", 1, 2), record("b", 0, 2), record("c", 0, 0), record("d", 0, 0),
               record("x", 0, 0, results.Status.NOT_GRADED)]
    t1, t2 = stats.cell_stats(records, POINTS)
    assert (t1.students, t1.full, t1.share) == (4, 1, 0.25)
    assert t1.messages.most_common() == [("Hint: A", 2), ("Hint: C", 1)]
    assert (t2.full, t2.messages.most_common()) == (2, [("Hint: B", 2)])
    lines = stats.stats_lines([t1, t2])
    assert "2 x Hint: A" in "\n".join(lines) and " 25%  (1/4)" in lines[1]


def test_histogram_of_totals_is_a_png(tmp_path):
    records = [results.StudentRecord(str(s), "", "file", "", score=s) for s in (3.0, 2.5, 0.0)]
    records.append(results.StudentRecord("x", "", "file", "", status=results.Status.NOT_GRADED))
    assert stats.save_histogram(records, 3, tmp_path / "totals.png", "01_sigmoid_bce") == 3
    assert (tmp_path / "totals.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_report_has_the_cell_statistics_and_the_histogram(fake, tmp_path):
    _run(_canvas(tmp_path), tmp_path / "out")
    report = (tmp_path / "out" / "report.txt").read_text()
    assert "test cells (4 graded students)" in report and "2 x AssertionError: Hint: fix t2" in report
    assert (tmp_path / "out" / "totals.png").is_file()


def test_a_results_folder_is_read_back_as_the_records_it_was_written_from(tmp_path):
    record = results.StudentRecord(
        "kim", "Kim", "canvas", "123", datetime(2026, 12, 3, 9, 30), "LATE", DUE, 2, 3.0, 0.6, 2.4, 3.0,
        cells={"t1": 1.0, "t2": 2.0}, file="kim.ipynb", flags=["a flag"],
        review=[results.ReviewItem("nb01_sigmoid", "left out", "import os: not allowed")],
        failures={"t2": "AssertionError: Hint: x"})
    folder = results.ResultsFolder(tmp_path, results.header(list(POINTS)))
    folder.save([record], {"kim": "<p>kim</p>"}, None, None)
    again = results.ResultsFolder.open(tmp_path, list(POINTS))
    assert again.records == {"kim": record}, "every field survives grades.csv and details.json"
    assert again.rows["kim"][8:13] == ["3", "0.6", "2.4", "3", "graded"]
    assert again.known() == {("canvas", "123", "kim"): ("kim", "Kim")}
    assert results.read_records(tmp_path) == [record]
    with pytest.raises(ValueError, match="another assignment or an older make grade"):
        results.ResultsFolder.open(tmp_path, ["other"])


@pytest.mark.parametrize(("column", "value", "message"), [
    ("score", "EX", "student kim, column score: 'EX' is not a number"),
    ("t2", "2,5", "student kim, column t2: '2,5' is not a number"),
    ("days_late", "two", "column days_late: 'two' is not a whole number"),
    ("status", "excused", "column status: 'excused' is none of 'graded', 'provisional: <why>' and 'not graded"),
])
def test_a_value_edited_into_what_its_column_cannot_hold_is_refused_by_name(tmp_path, column, value, message):
    folder = results.ResultsFolder(tmp_path, results.header(list(POINTS)))
    folder.save([results.StudentRecord("kim", "Kim", "file", "kim.ipynb", score=3.0, max_score=3.0)], {}, None, None)
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[1][rows[0].index(column)] = value
    with open(tmp_path / "grades.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    with pytest.raises(ValueError, match=re.escape(message)):
        results.ResultsFolder.open(tmp_path, list(POINTS))


def test_a_score_edited_by_hand_reaches_the_platform_files_and_the_report(fake, tmp_path):
    out = tmp_path / "out"
    _run(_canvas(tmp_path), out)
    text = (out / "grades.csv").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("leebo,"))
    cells = row.split(",")
    cells[10] = "2.5"  # score, given by hand
    (out / "grades.csv").write_text(text.replace(row, ",".join(cells)), encoding="utf-8")
    _run(_canvas(tmp_path), out, "--student", "smithjohn-67890")
    with open(out / exports.CANVAS_FILE, newline="", encoding="utf-8") as f:
        canvas = {r[1]: r[5] for r in csv.reader(f)}
    assert canvas["33333"] == "2.5"
    report = (out / "report.txt").read_text().splitlines()
    assert any(line.startswith("leebo") and "  2.5 / 3" in line for line in report)


# --- nbgrader's gradebook --------------------------------------------------------------------------


@pytest.fixture
def nbgrader_path(monkeypatch):
    """nbgrader's database code runs alembic from PATH: the virtual environment's first."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def _export(course) -> dict[str, tuple[float, float, float]]:
    """{student: (raw_score, late_submission_penalty, score)} as ``nbgrader export`` lists them."""
    done = course.nbgrader("export")
    assert done.returncode == 0, done.stderr[-2000:]
    with open(course.root / "grades.csv", newline="") as f:
        return {r["student_id"]: (float(r["raw_score"]), float(r["late_submission_penalty"] or 0), float(r["score"]))
                for r in csv.DictReader(f)}


@pytest.mark.integration
def _formgrader_students(course, monkeypatch) -> dict[str, tuple[str, float]]:
    """{student: (name, total)} as formgrader's Manage Students shows them, with the instructor's extensions."""
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from course_grading import formgrader
    from course_utils.layout import REPO

    enabled = REPO / "jupyter_config" / "instructor" / "jupyter_server_config.d" / "course.json"
    config = json.loads(enabled.read_text())
    assert config["ServerApp"]["jpserver_extensions"].get("course_grading.formgrader") is True
    monkeypatch.setattr(Gradebook, "student_dicts", Gradebook.student_dicts)  # restored after the test
    formgrader._load_jupyter_server_extension(type("App", (), {"log": logging.getLogger("test")})())
    api = NbGraderAPI(CourseDirectory(root=str(course.root)))
    # manage_students.js: last_name + ", " + first_name, each null shown as "None"
    return {s["id"]: (f"{s['last_name'] or 'None'}, {'None' if s['first_name'] is None else s['first_name']}",
                      round(s["score"], 6)) for s in api.get_students()}


@pytest.mark.integration
def test_scores_written_to_the_course_gradebook_are_what_nbgrader_export_lists(tmp_path, nbgrader_path, monkeypatch):
    from nbgrader.api import Gradebook

    from course_grading.course import Course
    from course_grading.gradebook import CourseEntry, course_id, write_to_course

    assignment = "00_tensors_autograd"
    course = Course(tmp_path / "course", assignment, confined=False)
    with pytest.raises(ValueError, match="--gradebook: .* has no assignment '00_tensors_autograd': release it first"):
        course_id(course.root, assignment)
    course.generate()
    points = course.points()
    first = next(iter(points))
    part = {cell: (top if cell == first else 0.0) for cell, top in points.items()}
    release = course.release_path
    write_to_course(course.root, assignment, [
        CourseEntry("ana-maria-perez", "Ana María Pérez", "501", datetime(2026, 12, 3, 9, 30), dict(points), 1.8,
                    release, release),
        CourseEntry("smithjohn-67890", "smithjohn", "67890", None, part, 0.0, release, release),
        CourseEntry("broken", "broken", "44444", None, None)])
    total = sum(points.values())
    assert _export(course) == {"ana-maria-perez": (total, 1.8, total - 1.8),
                               "smithjohn-67890": (points[first], 0, points[first]), "broken": (0, 0, 0)}
    assert _formgrader_students(course, monkeypatch) == {
        "ana-maria-perez": ("Ana María Pérez, ", total - 1.8), "smithjohn-67890": ("smithjohn, ", points[first]),
        "broken": ("broken, ", 0)}, "Manage Students shows export's totals and grades.csv's names"
    assert (course.root / "autograded" / "ana-maria-perez" / assignment / f"{assignment}.ipynb").is_file()
    assert (course.root / "submitted" / "ana-maria-perez" / assignment / "timestamp.txt").is_file()
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course_id(course.root, assignment)) as gb:
        assert [gb.find_student(s).lms_user_id for s in ("ana-maria-perez", "broken")] == ["501", "44444"]
        gb.find_grade(first, assignment, assignment, "smithjohn-67890").manual_score = 0.5
        gb.db.commit()
    write_to_course(course.root, assignment, [
        CourseEntry("smithjohn-67890", "smithjohn", "67890", None, dict(points), 0.0, release, release),
        CourseEntry("ana-maria-perez", "Ana María Pérez", "501", None, None)])
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course_id(course.root, assignment)) as gb:
        regraded = gb.find_grade(first, assignment, assignment, "smithjohn-67890")
        assert (regraded.auto_score, regraded.manual_score, regraded.needs_manual_grade) == (points[first], 0.5, True)
    exported = _export(course)
    assert exported["ana-maria-perez"] == (0, 0, 0), "a student no longer graded scores zero, for review"


# --- end to end, with nbgrader and the sandbox ---------------------------------------------------------


@pytest.mark.integration
def test_make_grade_end_to_end_keys_students_by_platform_id_and_regrades_one_alone(tmp_path, nbgrader_path):
    from course_grading.course import Course
    from course_grading.reference import filled_submission
    from course_utils.layout import RELEASE

    assignment = "00_tensors_autograd"
    notebook = f"{assignment}.ipynb"
    release = RELEASE / assignment / notebook
    right, blank = nbformat.writes(filled_submission(release, assignment)), release.read_text()

    def download(name: str, second_smith: str) -> Path:
        return _zip(tmp_path / name, {
            f"smithjohn_12345_90001_{notebook}": (right, ON_TIME),
            f"smithjohn_67890_90002_{notebook}": (second_smith, ON_TIME),
            f"Ana María Pérez_501_assignsubmission_file_/{notebook}": (right, TWO_DAYS_LATE),
            f"broken_44444_90005_{notebook}": ("{", ON_TIME),
        })

    out = tmp_path / "out"
    course = Course(tmp_path / "course", assignment, confined=False)  # the instructor's nbgrader course, released
    course.generate()
    into_course = ["--gradebook", "--course", str(course.root)]
    options = ["--out", str(out), "--cell-timeout", "60", "--due", "2026-12-01T23:59", "--late-penalty", "10",
               *into_course]
    assert grade.main([assignment, str(download("class.zip", blank)), *options]) == 0
    rows = _rows(out)
    top = rows["smithjohn-12345"]["max_score"]
    assert {s: (r["user_id"], r["status"] == "graded", r["score"]) for s, r in rows.items()} == {
        "smithjohn-12345": ("12345", True, top), "smithjohn-67890": ("67890", True, "0"),
        "ana-maria-perez": ("501", True, f"{float(top) * 0.8:g}"), "broken": ("44444", False, "0")}
    assert (rows["ana-maria-perez"]["raw_score"], rows["ana-maria-perez"]["days_late"]) == (top, "2")
    assert rows["ana-maria-perez"]["name"] == "Ana María Pérez"
    report = (out / "report.txt").read_text()
    assert "x NotImplementedError: " in report, "the blank notebook's failures are counted per test cell"
    assert (out / "totals.png").is_file()
    with open(out / exports.CANVAS_FILE, newline="", encoding="utf-8") as f:
        assert sorted(r[1] for r in list(csv.reader(f))[2:]) == ["12345", "67890"]
    assert "Participant 501" in (out / exports.MOODLE_FILE).read_text()

    before = _lines(out)
    kept = {p: p.read_bytes() for kind in ("feedback", "logs") for p in (out / kind).iterdir()
            if not p.name.startswith("smithjohn-67890.")}
    assert grade.main([assignment, str(download("resubmitted.zip", right)), "--out", str(out),
                       "--cell-timeout", "60", "--student", "smithjohn-67890", *into_course]) == 0
    after = _lines(out)
    assert _rows(out)["smithjohn-67890"]["score"] == top
    assert {s: line for s, line in after.items() if s != "smithjohn-67890"} == {
        s: line for s, line in before.items() if s != "smithjohn-67890"}
    assert all(p.read_bytes() == text for p, text in kept.items())
    exported = _export(course)
    assert exported == {s: (float(r["raw_score"]), float(r["penalty"]), float(r["score"]))
                        for s, r in _rows(out).items()}
    feedback = course.nbgrader("generate_feedback", assignment, "--student", "ana-maria-perez")
    assert feedback.returncode == 0, feedback.stderr[-2000:]
    assert (course.root / "feedback" / "ana-maria-perez" / assignment / f"{assignment}.html").is_file()
