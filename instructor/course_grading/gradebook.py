"""make grade's results in the course's own nbgrader gradebook, as after ``nbgrader autograde``.

With ``--gradebook``, each student graded in the run is written into the
course folder (the repository root, or ``--course DIR``): the notebook as
handed in to ``submitted/<student>/<assignment>/``, the graded notebook to
``autograded/<student>/<assignment>/``, and the student, the submission
(time), each test cell's automatic score and the late penalty to
``gradebook.db``. formgrader (manual grading, comments), ``nbgrader export``
and ``nbgrader generate_feedback`` then work on them as on nbgrader's own.

As in nbgrader's autograde, a manual score given in formgrader is kept, and
the cell is marked for review again. A provisional mark (answers the grader
did not run) has every cell marked for review. A student who could not be
graded gets zero on every cell of an earlier submission, marked for review.
"""

from __future__ import annotations

import shutil
import sqlite3
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbgrader.api import Gradebook


@dataclass
class CourseEntry:
    """What the gradebook gets of one student of the run."""

    student: str
    name: str
    user_id: str
    submitted: datetime | None
    cells: dict[str, float] | None  # None: not graded
    penalty: float = 0.0
    handed_in: Path | None = None
    autograded: Path | None = None
    review: bool = False  # the marks are provisional: every cell is marked for manual grading


def course_id(course: Path, assignment: str) -> str:
    """The course id the assignment was released under; refuses a gradebook without the assignment."""
    db = course / "gradebook.db"
    row = None
    if db.is_file():
        try:
            with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as connection:
                row = connection.execute("SELECT course_id FROM assignment WHERE name = ?", (assignment,)).fetchone()
        except sqlite3.Error:
            row = None
    if row is None:
        raise ValueError(f"--gradebook: {db} has no assignment {assignment!r}: release it first "
                         f"(make release, or nbgrader generate_assignment {assignment} in {course})")
    return str(row[0])


def write_to_course(course: Path, assignment: str, entries: list[CourseEntry]) -> None:
    """Record each entry in the course's gradebook and copy its notebooks where nbgrader keeps them."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    notebook = f"{assignment}.ipynb"
    database = f"sqlite:///{course / 'gradebook.db'}"
    with warnings.catch_warnings(), Gradebook(database, course_id(course, assignment)) as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush notes
        for entry in entries:
            # The whole name as the last name (a platform's name cannot be split reliably), no first name: formgrader
            # and nbgrader export show it as grades.csv does (formgrader shows a missing first name as "None").
            gb.update_or_create_student(entry.student, last_name=entry.name, first_name="", lms_user_id=entry.user_id)
            if entry.cells is None:
                try:
                    gb.find_submission(assignment, entry.student)
                except MissingEntry:
                    continue
                scores = {grade.name: 0.0 for grade in gb.find_submission_notebook(
                    assignment, assignment, entry.student).grades}
                _save_scores(gb, assignment, entry.student, scores, 0.0, review=True)
                continue
            for folder, source in (("submitted", entry.handed_in), ("autograded", entry.autograded)):
                if source is not None:
                    target = course / folder / entry.student / assignment / notebook
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
            stamp = {"timestamp": entry.submitted.astimezone()} if entry.submitted else {}
            if entry.submitted:
                stamp_file = course / "submitted" / entry.student / assignment / "timestamp.txt"
                stamp_file.parent.mkdir(parents=True, exist_ok=True)
                stamp_file.write_text(entry.submitted.astimezone().isoformat())
            gb.update_or_create_submission(assignment, entry.student, **stamp)
            _save_scores(gb, assignment, entry.student, entry.cells, entry.penalty, review=entry.review)


def _save_scores(gb: Gradebook, assignment: str, student: str, scores: dict[str, float], penalty: float,
                 review: bool) -> None:
    """Automatic scores and the late penalty of one submission; manual scores stay, marked for review."""
    for cell, score in scores.items():
        grade = gb.find_grade(cell, assignment, assignment, student)
        grade.auto_score = score
        grade.needs_manual_grade = review or grade.manual_score is not None
    gb.find_submission_notebook(assignment, assignment, student).late_submission_penalty = penalty
    gb.db.commit()
