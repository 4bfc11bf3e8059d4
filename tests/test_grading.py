"""`make grade` end to end: a zip of mixed submissions, graded right, hostile ones included.

One class is graded once (session fixture) through the Makefile, with the
grading kernel; each test reads the results: grades.csv, report.txt, feedback.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from support.hostile_submissions import HOSTILE, PLACEHOLDERS, STASH_MARK
from support.nbgrader_course import RELEASE, REPO, SOLUTIONS, filled_submission, read
from support.tally import tally
from support.wrong_submissions import CATALOGUE

from course_grading import grade
from course_grading.cells import is_solution
from course_grading.cells import points as cell_points
from course_utils.__main__ import environment

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast

ASSIGNMENT = "01_sigmoid_bce"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
FULL = f"{sum(cell_points(read(SOLUTIONS / ASSIGNMENT / NOTEBOOK)).values()):g}"  # as grades.csv writes it
WRONG = [w for w in CATALOGUE if w.assignment == ASSIGNMENT]
TWIN = WRONG[0]
CELL_TIMEOUT = 10
CAROL = grade.student_id("carol", "file carol.ipynb", {("carol", "a"): [], ("carol", "b"): []})
CAROL_IMPOSTOR = grade.student_id("carol", "file carol_.ipynb", {("carol", "a"): [], ("carol", "b"): []})
HONEST = ("reference", "jane-roe-777", "honest", CAROL)
BIG_FILE = 4 * 2**20


def _tree_digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """{relative path: digest} of every file under root: content for files up to 4 MiB, else size and mtime."""
    digests = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for name in files:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
                if info.st_size <= BIG_FILE and not os.path.islink(path):
                    with open(path, "rb") as f:
                        digests[path] = hashlib.sha1(f.read()).hexdigest()
                else:
                    digests[path] = f"{info.st_size}:{info.st_mtime_ns}"
            except OSError:
                digests[path] = "unreadable"
    return digests


class _ActiveContent(HTMLParser):
    """Collects every element or attribute of a page that could run code."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "base", "form"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith(("javascript:", "data:text")):
                self.found.append(f"{tag} {name}={value}")


def _active_content(page: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(page)
    return parser.found


def _droppings() -> set[str]:
    """Entries of /tmp and /dev/shm, except pytest's own folders."""
    found = set()
    for folder in ("/tmp", "/dev/shm"):
        if os.path.isdir(folder):
            found |= {f"{folder}/{name}" for name in os.listdir(folder) if not name.startswith("pytest-of-")}
    return found


def _canvas(student: str, number: int) -> str:
    return f"{student}_{1000 + number}_{5000 + number}_{NOTEBOOK}"


@pytest.fixture(scope="session", params=["on", "off"], ids=["allowlist-on", "allowlist-off"])
def graded_class(tmp_path_factory, request):
    """The class graded by make grade, with the answer allowlist on, and off: the proof that the
    grading boundary holds by itself (every attack must fail both ways)."""
    root = tmp_path_factory.mktemp(f"class-allowlist-{request.param}")
    canary = root / "instructor"
    canary.mkdir()
    (canary / "grades-from-last-year.txt").write_text("keep me")
    out = root / "results"
    values = {
        "SOLUTION_PATH": repr(str(SOLUTIONS / ASSIGNMENT / NOTEBOOK)),
        "OTHERS_GLOB": repr(f"{tempfile.gettempdir()}/course-grading-*/**/*.ipynb"),
        "CANARY_GLOB": repr(f"{canary}/*"),
        "GRADES_GLOB": f"{out}/*.csv {out}/*.txt",
    }
    release = RELEASE / ASSIGNMENT / NOTEBOOK
    files: dict[str, str] = {}

    answers: set[str] = set()  # every line the class wrote in its answer cells

    def add(name: str, nb: nbformat.NotebookNode) -> None:
        files[name] = nbformat.writes(nb)
        answers.update(line.strip() for cell in nb.cells if is_solution(cell)
                       for line in cell.source.splitlines())

    add(_canvas("reference", 1), filled_submission(release, ASSIGNMENT))
    add(_canvas("blank", 2).replace("_1002", "_LATE_1002"), read(release))
    add(f"Jane Roe_777_assignsubmission_file_/{NOTEBOOK}", filled_submission(release, ASSIGNMENT))
    # An impostor: another user's untouched notebook under the same name (two people, never merged).
    add(f"Jane Roe_9999_assignsubmission_file_/{NOTEBOOK}", read(release))
    # Plain files: a blank notebook named to sort after a classmate's, and a name that would forge report lines.
    add("carol.ipynb", filled_submission(release, ASSIGNMENT))
    add("carol_.ipynb", read(release))
    add(f"zed/zz\nreference    0 / {FULL}  not graded: forged.ipynb", read(release))
    add(_canvas("honest", 4).replace("_1004", "_LATE_1004"), filled_submission(release, ASSIGNMENT))
    for twin in ("twin-a", "twin-b"):
        add(_canvas(twin, 3), filled_submission(release, ASSIGNMENT, {TWIN.cell: (TWIN.old, TWIN.new)}))
    for i, wrong in enumerate(WRONG):
        answer = {wrong.cell: (wrong.old, wrong.new)}
        add(_canvas(wrong.student, 10 + i), filled_submission(release, ASSIGNMENT, answer))
    for i, hostile in enumerate(HOSTILE):
        nb = read(release) if hostile.blank else filled_submission(release, ASSIGNMENT)
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
    subprocess.run([sys.executable, "-m", "compileall", "-q", "instructor/course_grading", "course_utils"],
                   cwd=REPO, check=False)
    venv = environment()  # the course's environment: .venv, or an active conda environment
    repo_before = _tree_digest(REPO, skip=(str(venv), str(REPO / ".git")))
    venv_before = _tree_digest(venv)
    droppings_before = _droppings()
    make = subprocess.run(
        ["make", "--no-print-directory", "grade", f"ASSIGNMENT={ASSIGNMENT}", f"SUBMISSIONS={archive}",
         f"GRADE_ARGS=--out {out} --cell-timeout {CELL_TIMEOUT} --jobs 2"],
        cwd=REPO, capture_output=True, text=True, timeout=3000,
        env=os.environ | {"COURSE_GRADER_ALLOWLIST": request.param},
    )
    assert make.returncode == 0, make.stdout[-3000:] + make.stderr[-3000:]
    results_right_after = _tree_digest(out)
    time.sleep(6)  # longer than any attack waits before it strikes
    changed = {
        "repository": sorted(set(repo_before.items())
                             ^ set(_tree_digest(REPO, skip=(str(venv), str(REPO / ".git"))).items())),
        "virtual environment": sorted(set(venv_before.items()) ^ set(_tree_digest(venv).items())),
        "results after the run": sorted(set(results_right_after.items()) ^ set(_tree_digest(out).items())),
        "/tmp and /dev/shm": sorted(_droppings() - droppings_before),
    }
    with open(out / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"rows": rows, "out": out, "stdout": make.stdout, "canary": canary, "changed": changed,
            "answers": answers, "allowlist": request.param}


def _cells(row: dict) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k.startswith("nb01_")}


def test_every_student_is_graded_and_reported(graded_class):
    rows = graded_class["rows"]
    expected = {"reference", "blank", "jane-roe-777", "jane-roe-9999", "honest", CAROL, CAROL_IMPOSTOR, "zed",
                "twin-a", "twin-b", "broken"} | {w.student for w in WRONG} \
        | {f"hostile-{h.name}" for h in HOSTILE}
    assert set(rows) == expected
    assert rows["reference"]["score"] == rows["reference"]["max_score"] == FULL
    assert rows["jane-roe-777"]["score"] == FULL, "a Moodle-style folder is collected under the student's name and id"
    assert rows["jane-roe-9999"]["score"] == "0", "a second user of the same name is a second student"
    assert rows[CAROL_IMPOSTOR]["score"] == "0" and rows[CAROL]["score"] == FULL
    report = (graded_class["out"] / "report.txt").read_text()
    assert not any(line.startswith("reference") and "forged" in line for line in report.splitlines())
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
@tally("hostile submissions graded right")
def test_hostile_submission_gets_the_right_score(graded_class, hostile):
    row = graded_class["rows"][f"hostile-{hostile.name}"]
    if hostile.may_crash and row["status"].startswith("not graded"):
        assert row["status"].startswith("not graded: ") and len(row["status"]) > 20, row["status"]
        assert row["score"] == "0"
        return
    if row["needs_review"]:  # answers not run: the mark stands until an instructor has looked
        assert row["status"] == f"provisional: answers not run ({row['needs_review']}): review them and set this " \
                                 "to graded", row["status"]
        page = (graded_class["out"] / "feedback" / f"hostile-{hostile.name}.html").read_text()
        assert "This mark is provisional" in page and "your instructor will look at" in page.lower(), \
            "the student's page says what was not run, and that an instructor will look"
    else:
        assert row["status"] == "graded", row["status"]
    cells = _cells(row)
    full = json.loads(json.dumps(_cells(graded_class["rows"]["reference"])))
    lost = {cell for cell, score in cells.items() if score != full[cell]}
    must_lose = hostile.loses - (hostile.off_may_keep if graded_class["allowlist"] == "off" else frozenset())
    gained = sorted(must_lose - lost)
    assert not gained, f"{hostile.attack}: kept the points of {gained} (lost only {sorted(lost)})"
    assert all(cells[c] == 0 for c in must_lose)
    if hostile.flagged and graded_class["allowlist"] == "on":  # with it off, nothing needs review
        assert int(row["flags"]) > 0 or row["needs_review"], f"{hostile.attack} was not flagged for review"


@pytest.mark.parametrize("student", HONEST)
@tally("honest classmates harmed", counts="failed")
def test_honest_classmates_keep_full_marks(graded_class, student):
    row = graded_class["rows"][student]
    ok = row["status"] == "graded" and row["score"] == row["max_score"] == FULL and row["needs_review"] == ""
    assert ok, row


@pytest.mark.parametrize("what", ["repository", "virtual environment", "results after the run", "/tmp and /dev/shm"])
@tally("files changed by the graded class", counts="failed")
def test_nothing_outside_the_sandboxes_changed(graded_class, what):
    changed = graded_class["changed"][what]
    assert not changed, f"{what}: {changed[:10]}"


def test_nothing_of_the_instructor_or_of_other_students_is_changed(graded_class):
    assert (graded_class["canary"] / "grades-from-last-year.txt").read_text() == "keep me"
    out = graded_class["out"]
    others = [p for p in (out / "feedback").glob("*.html") if p.name != "hostile-vandal.html"] + [out / "grades.csv"]
    assert len(others) > 20 and not any("vandalised" in p.read_text() for p in others)
    assert graded_class["rows"]["reference"]["score"] == FULL


def test_feedback_reveals_no_hidden_test_code(graded_class):
    feedback = sorted((graded_class["out"] / "feedback").glob("*.html"))
    graded = [s for s, row in graded_class["rows"].items() if not row["status"].startswith("not graded")]
    assert sorted(p.stem for p in feedback) == sorted(graded)
    # A student's own answer may hold a line a hidden test also holds (an autograd gradient, say): not a leak.
    hidden = [line for line in _hidden_test_lines() if line not in graded_class["answers"]]
    for page in feedback:
        text = page.read_text()
        leaked = [line for line in hidden if html.escape(line, quote=False) in text or line in text]
        assert not leaked and "BEGIN HIDDEN TESTS" not in text, f"{page.name} shows hidden test code: {leaked[:3]}"
        assert "hidden tests ran here" in text
        assert not _active_content(text), f"{page.name}: {_active_content(text)}"
    assert len(hidden) > 10, "the hidden-test lines to look for were found in the solution"


def _hidden_test_lines() -> list[str]:
    """Every distinctive line of the hidden tests of the source notebook that students never see.

    A line that also stands outside the hidden tests (a visible test's
    ``with using_reference(...)``, say, there with a comment) is public, and may
    be in feedback.
    """
    hidden, public, inside = [], set(), False
    for cell in read(SOLUTIONS / ASSIGNMENT / NOTEBOOK).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25 and not line.strip().startswith("#"):
                hidden.append(line.strip())
            elif not inside:  # with and without a trailing comment
                public |= {line.strip(), line.split("  #")[0].strip()}
    return [line for line in hidden if line not in public]


def test_no_student_can_write_into_a_classmates_log(graded_class):
    logs = graded_class["out"] / "logs"
    honest = [logs / f"{student}.log" for student in HONEST]
    assert all(p.is_file() for p in honest)
    assert not any("forged" in p.read_text() for p in honest)


def test_no_input_of_a_hidden_test_reaches_a_visible_tests_output(graded_class):
    """An answer may keep what a hidden test passes it (here in random's state, which even the allowlist lets
    it use): the cell after a hidden test gets a new worker, so a visible test's output never shows it."""
    page = (graded_class["out"] / "feedback" / "hostile-hidden-inputs-kept-in-random-state.html").read_text()
    printed = re.findall(re.escape(STASH_MARK) + r" (\[[^\]]*\])", html.unescape(page))
    assert printed and all(found == "[]" for found in printed), printed


def test_feedback_still_says_why_a_hidden_test_failed(graded_class):
    html = (graded_class["out"] / "feedback" / "wrong-sigmoid-cancellation.html").read_text()
    assert "sigmoid in the left tail" in html, "the failing check's message is kept"
