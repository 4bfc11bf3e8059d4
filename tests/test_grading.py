"""`make grade` end to end: a zip of mixed submissions, graded right, hostile ones included.

One class is graded once (session fixture) through the Makefile, with the
grading kernel; each test reads the results: grades.csv, report.txt, feedback.
"""

from __future__ import annotations

import csv
import json
import subprocess
import tempfile
import zipfile

import nbformat
import pytest

from conftest import record
from hostile_submissions import HOSTILE, PLACEHOLDERS
from nbgrader_course import REPO, RELEASE, SOLUTIONS, filled_submission, read
from wrong_submissions import CATALOGUE

ASSIGNMENT = "01_sigmoid_bce"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
WRONG = [w for w in CATALOGUE if w.assignment == ASSIGNMENT]
TWIN = WRONG[0]
CELL_TIMEOUT = 10


def _canvas(student: str, number: int) -> str:
    return f"{student}_{1000 + number}_{5000 + number}_{NOTEBOOK}"


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    canary = root / "instructor"
    canary.mkdir()
    (canary / "grades-from-last-year.txt").write_text("keep me")
    values = {
        "SOLUTION_PATH": repr(str(SOLUTIONS / ASSIGNMENT / NOTEBOOK)),
        "OTHERS_GLOB": repr(f"{tempfile.gettempdir()}/course-grading-*/**/*.ipynb"),
        "CANARY_GLOB": repr(f"{canary}/*"),
    }
    release = RELEASE / ASSIGNMENT / NOTEBOOK
    files: dict[str, str] = {}

    def add(name: str, nb: nbformat.NotebookNode) -> None:
        files[name] = nbformat.writes(nb)

    add(_canvas("reference", 1), filled_submission(release, ASSIGNMENT))
    add(_canvas("blank", 2).replace("_1002", "_LATE_1002"), read(release))
    add(f"Jane Roe_777_assignsubmission_file_/{NOTEBOOK}", filled_submission(release, ASSIGNMENT))
    for twin in ("twin-a", "twin-b"):
        add(_canvas(twin, 3), filled_submission(release, ASSIGNMENT, {TWIN.cell: (TWIN.old, TWIN.new)}))
    for i, wrong in enumerate(WRONG):
        add(_canvas(wrong.student, 10 + i), filled_submission(release, ASSIGNMENT, {wrong.cell: (wrong.old, wrong.new)}))
    for i, hostile in enumerate(HOSTILE):
        nb = filled_submission(release, ASSIGNMENT)
        hostile.build(nb)
        for cell in nb.cells:
            for key in PLACEHOLDERS:
                cell.source = cell.source.replace(key, values[key])
        add(_canvas(f"hostile-{hostile.name}", 40 + i), nb)
    files[_canvas("broken", 90)] = "this is not a notebook"
    files["readme.txt"] = "not a submission"

    archive = root / "download.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    out = root / "results"
    make = subprocess.run(
        ["make", "--no-print-directory", "grade", f"ASSIGNMENT={ASSIGNMENT}", f"SUBMISSIONS={archive}",
         f"GRADE_ARGS=--out {out} --cell-timeout {CELL_TIMEOUT} --jobs 2"],
        cwd=REPO, capture_output=True, text=True, timeout=3000,
    )
    assert make.returncode == 0, make.stdout[-3000:] + make.stderr[-3000:]
    with open(out / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"rows": rows, "out": out, "stdout": make.stdout, "canary": canary}


def _cells(row: dict) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k.startswith("nb01_")}


def test_every_student_is_graded_and_reported(graded_class):
    rows = graded_class["rows"]
    expected = {"reference", "blank", "jane-roe", "twin-a", "twin-b", "broken"} | {w.student for w in WRONG} \
        | {f"hostile-{h.name}" for h in HOSTILE}
    assert set(rows) == expected
    assert rows["reference"]["score"] == rows["reference"]["max_score"] == "9"
    assert rows["jane-roe"]["score"] == "9", "a Moodle-style folder is collected under the student's name"
    assert rows["blank"]["score"] == "0"
    assert "reference" in graded_class["stdout"] and "flagged for review" in graded_class["stdout"]
    assert (graded_class["out"] / "report.txt").read_text().strip() in graded_class["stdout"]


def test_a_broken_notebook_is_not_graded_and_does_not_stop_the_others(graded_class):
    row = graded_class["rows"]["broken"]
    assert row["status"].startswith("not graded") and row["score"] == "0"
    assert int(row["flags"]) >= 1


def test_the_same_submission_graded_twice_gets_identical_scores(graded_class):
    rows = graded_class["rows"]
    assert _cells(rows["twin-a"]) == _cells(rows["twin-b"])
    assert {k for k, v in _cells(rows["twin-a"]).items() if v == 0} == TWIN.loses


@pytest.mark.parametrize("nb01_wrong", WRONG, ids=[w.name for w in WRONG])
def test_wrong_submissions_lose_the_same_points_under_make_grade(graded_class, nb01_wrong):
    cells = _cells(graded_class["rows"][nb01_wrong.student])
    lost = {cell for cell, score in cells.items() if score == 0}
    assert lost == nb01_wrong.loses


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_submission_gets_the_right_score(graded_class, hostile):
    ok = False
    try:
        row = graded_class["rows"][f"hostile-{hostile.name}"]
        assert row["status"] == "graded", row["status"]
        cells = _cells(row)
        full = json.loads(json.dumps(_cells(graded_class["rows"]["reference"])))
        lost = {cell for cell, score in cells.items() if score != full[cell]}
        assert lost == hostile.loses, f"{hostile.attack}: lost {sorted(lost)}, expected {sorted(hostile.loses)}"
        assert all(cells[c] == 0 for c in hostile.loses)
        if hostile.flagged:
            assert int(row["flags"]) > 0, f"{hostile.attack} was not flagged for review"
        ok = True
    finally:
        record("hostile submissions graded right", ok)


def test_nothing_of_the_instructor_or_of_other_students_is_changed(graded_class):
    assert (graded_class["canary"] / "grades-from-last-year.txt").read_text() == "keep me"
    out = graded_class["out"]
    others = [p for p in (out / "feedback").glob("*.html") if p.name != "hostile-vandal.html"] + [out / "grades.csv"]
    assert len(others) > 20 and not any("vandalised" in p.read_text() for p in others)
    assert graded_class["rows"]["reference"]["score"] == "9"


def test_feedback_reveals_no_hidden_test_code(graded_class):
    feedback = sorted((graded_class["out"] / "feedback").glob("*.html"))
    graded = [s for s, row in graded_class["rows"].items() if row["status"] == "graded"]
    assert sorted(p.stem for p in feedback) == sorted(graded)
    hidden = [line.strip() for line in (SOLUTIONS / ASSIGNMENT / NOTEBOOK).read_text().split("\\n")
              if line.strip().startswith('"_') or "_reference_gradient" in line]
    for page in feedback:
        html = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "_reference_gradient" not in html and "_z64" not in html, page.name
        assert "hidden tests ran here" in html
    assert hidden, "the hidden-test lines to look for were found in the solution"


def test_feedback_still_says_why_a_hidden_test_failed(graded_class):
    html = (graded_class["out"] / "feedback" / "wrong-sigmoid-cancellation.html").read_text()
    assert "sigmoid in the left tail" in html, "the failing check's message is kept"
