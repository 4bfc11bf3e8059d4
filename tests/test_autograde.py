"""The nbgrader round trip: right, blank and wrong work get the right marks.

Each assignment is generated and autograded in a temporary course directory;
scores come from the gradebook.
"""

from __future__ import annotations

import pytest
from support.nbgrader_course import BLANK, REFERENCE, solution_cells
from support.tally import tally
from support.wrong_submissions import CATALOGUE

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast


def test_reference_solution_gets_full_marks(graded_course, assignment):
    scores = graded_course(assignment).scores(REFERENCE)
    assert scores, f"{assignment} has no graded cells"
    lost = {cell: s for cell, s in scores.items() if s[0] != s[1]}
    assert not lost, f"the reference solution lost points on {lost}"


def test_untouched_release_gets_zero(graded_course, assignment):
    scores = graded_course(assignment).scores(BLANK)
    earned = {cell: s for cell, s in scores.items() if s[0] != 0}
    assert not earned, f"the unmodified release earned points on {earned}"


@tally("wrong submissions caught (nbgrader round trip)")
def test_wrong_submission_loses_exactly_its_points(graded_course, wrong):
    scores = graded_course(wrong.assignment).scores(wrong.student)
    assert wrong.loses <= scores.keys(), f"unknown grade ids {sorted(wrong.loses - scores.keys())}"
    kept_wrongly = sorted(cell for cell in wrong.loses if scores[cell][0] != 0)
    lost_wrongly = sorted(cell for cell in scores.keys() - wrong.loses if scores[cell][0] != scores[cell][1])
    assert not kept_wrongly, f"{wrong.name} ({wrong.mistake}) kept the points of {kept_wrongly}"
    assert not lost_wrongly, f"{wrong.name} lost points it should keep: {lost_wrongly}"


def test_every_exercise_has_a_wrong_submission(assignment):
    covered = {w.cell for w in CATALOGUE if w.assignment == assignment}
    missing = sorted(solution_cells(assignment).keys() - covered)
    assert not missing, f"answer cells with no wrong submission in tests/support/wrong_submissions/: {missing}"


@tally("right-but-different submissions given full marks")
def test_right_but_different_submission_gets_full_marks(graded_course, right):
    scores = graded_course(right.assignment).scores(right.student)
    lost = {cell: s for cell, s in scores.items() if s[0] != s[1]}
    assert scores and not lost, f"{right.name} is correct but lost points on {lost}"
