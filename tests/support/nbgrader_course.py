"""What the tests need of the nbgrader driver, re-exported from :mod:`course_grading.course`.

The tests grade through the same :class:`~course_grading.course.Course` as
``make grade``; the kernels are confined whenever this machine can confine
them (see :func:`course_grading.confine.status`).
"""

from __future__ import annotations

from pathlib import Path

from course_grading import confine
from course_grading.course import Course as _Course
from course_grading.course import read
from course_grading.reference import (  # noqa: F401  (re-exported for the tests)
    SOLUTION_MARKERS,
    answered_source,
    filled_submission,
    solution_cells,
)
from course_utils.layout import RELEASE, REPO, SOLUTIONS, assignments

__all__ = ["REPO", "RELEASE", "SOLUTIONS", "HIDDEN_MARKERS", "REFERENCE", "BLANK", "Course", "assignments",
           "notebook_name", "read"]

HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
REFERENCE = "reference"  # the student who hands in the reference solution
BLANK = "blank"  # the student who hands in the release untouched


def notebook_name(assignment: str) -> str:
    return f"{assignment}.ipynb"


def Course(root: Path, assignment: str) -> _Course:  # noqa: N802  (a factory with the class's name)
    """A course folder for the round trip, confined where this machine allows it."""
    return _Course(root, assignment, confined=confine.status()[0])
