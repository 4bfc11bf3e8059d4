"""The nbgrader round trip: right, blank and wrong work get the right marks.

Each assignment is generated and autograded in a temporary course directory;
scores come from the gradebook.
"""

from __future__ import annotations

import pytest
from support.nbgrader_course import BLANK, REFERENCE, read, solution_cells
from support.tally import tally
from support.wrong_submissions import CATALOGUE, is_visible_test, quoted_code

from course_grading.cells import grade_id

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


def _shown(cell) -> str:
    """What a test cell shows the student when it fails: its error's name and message."""
    return "\n".join(f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                     if o.get("output_type") == "error")


@tally("wrong submissions shown the hint written for their mistake")
def test_wrong_submission_is_shown_the_hint_written_for_it(graded_course, wrong):
    if not wrong.visible:
        return  # only hidden tests catch it; tests/test_wrong_catalogue.py checks that it says why
    course = graded_course(wrong.assignment)
    graded = read(course.autograded_path(wrong.student))
    failing = [c for c in graded.cells if is_visible_test(grade_id(c) or "") and grade_id(c) in wrong.loses]
    assert failing, f"{wrong.name}: no visible test cell of {sorted(wrong.loses)} in the graded notebook"
    shown = _shown(failing[0])
    assert wrong.hint in shown, f"{wrong.name} ({wrong.mistake}) is shown {shown!r}, not the hint {wrong.hint!r}"
    answers = solution_cells(wrong.assignment)
    quoted = {cell: q for cell in {wrong.cell, *(c for c, _, _ in wrong.also)}
              if (q := quoted_code(shown, answers[cell]))}
    assert not quoted, f"{wrong.name}: the message shown quotes the answer's code: {quoted}"


def test_every_exercise_has_a_wrong_submission(assignment):
    covered = {w.cell for w in CATALOGUE if w.assignment == assignment}
    missing = sorted(solution_cells(assignment).keys() - covered)
    assert not missing, f"answer cells with no wrong submission in tests/support/wrong_submissions/: {missing}"


@tally("right-but-different submissions given full marks")
def test_right_but_different_submission_gets_full_marks(graded_course, right):
    scores = graded_course(right.assignment).scores(right.student)
    lost = {cell: s for cell, s in scores.items() if s[0] != s[1]}
    assert scores and not lost, f"{right.name} is correct but lost points on {lost}"
