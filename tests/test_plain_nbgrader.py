"""The plain nbgrader path: an instructor's own ``nbgrader autograde`` with the course's config.

nbgrader starts its ordinary kernel there, but the verdict protection applies:
nbgrader_config.py puts the notebook rebuild, the grading boundary (the answers
run in a worker process of their own, in bubblewrap where the machine has it)
and the answer allowlist into nbgrader's autograde pipeline. A submission
whose answers return always-equal objects and which rebinds the comparison
helpers took 41 % of the course's points on this path before; it gets nothing,
with the allowlist on and off.
"""

from __future__ import annotations

import html
import re

import pytest
from support.nbgrader_course import read

from course_grading.cells import is_solution
from course_grading.course import Course
from course_grading.feedback import hidden_test_lines
from course_grading.reference import filled_submission

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast

ASSIGNMENT = "00_tensors_autograd"
ALWAYS_EQUAL = '''
class _Yes:
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    __le__ = __ge__ = __lt__ = __gt__ = __eq__
    def __getattr__(self, name):
        return self
    def __call__(self, *args, **kwargs):
        return self
    def __float__(self):
        return 0.0

import builtins, torch, course_utils.checks as _checks
torch.allclose = torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
builtins.isinstance = lambda *a: True
_checks.check_close = _checks.check_tensor = lambda *a, **k: None
check_close = check_tensor = lambda *a, **k: None
'''


def _off_by_one(nb):
    """pairwise_differences one too large: every visible and hidden check_close of it fails with values."""
    for cell in nb.cells:
        if is_solution(cell) and "def pairwise_differences" in cell.source:
            cell.source = "def pairwise_differences(a, b):\n    return a[:, None] - b[None, :] + 1\n"
    return nb


def _attack(nb):
    for cell in nb.cells:
        if is_solution(cell):
            name = cell.source.split("def ", 1)[1].split("(", 1)[0]
            cell.source = ALWAYS_EQUAL + f"\ndef {name}(*args, **kwargs):\n    return _Yes()\n"
    return nb


@pytest.fixture(scope="module", params=["on", "off"], ids=["allowlist-on", "allowlist-off"])
def plain_course(tmp_path_factory, request):
    course = Course(tmp_path_factory.mktemp("plain"), ASSIGNMENT, confined=False)
    course.generate()
    course.submit("reference", filled_submission(course.release_path, ASSIGNMENT))
    course.submit("always-equal", _attack(read(course.release_path)))
    course.submit("off-by-one", _off_by_one(read(course.release_path)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_GRADER_ALLOWLIST", request.param)
        result = course.autograde(plain=True)
    assert result.returncode == 0, result.stderr[-3000:]
    course.allowlist = request.param  # type: ignore[attr-defined]
    return course


def test_plain_autograde_gives_the_reference_full_marks(plain_course):
    scores = plain_course.scores("reference")
    assert scores and all(got == top for got, top in scores.values()), scores


def test_plain_autograde_gives_always_equal_answers_and_rebound_helpers_nothing(plain_course):
    scores = plain_course.scores("always-equal")
    earned = {cell: got for cell, (got, _) in scores.items() if got}
    assert not earned, f"the attack earned {earned}"


def test_plain_autograde_ran_the_rebuilt_notebook(plain_course):
    graded = read(plain_course.autograded_path("always-equal"))
    text = "\n".join(c.source for c in graded.cells)
    if plain_course.allowlist == "on":
        assert "torch.allclose = " not in text and "The grader did not run this answer" in text
    else:  # it ran, in the worker, and the graded notebook shows it as written
        assert "torch.allclose = " in text and "The grader did not run this answer" not in text


def test_plain_generate_feedback_shows_no_hidden_test_or_value_from_one(plain_course):
    result = plain_course.nbgrader("generate_feedback", ASSIGNMENT)
    assert result.returncode == 0, result.stderr[-3000:]
    page = (plain_course.root / "feedback" / "off-by-one" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    text = html.unescape(page)
    secret = hidden_test_lines(read(plain_course.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    assert secret and not [line for line in secret if line in text]
    assert "BEGIN HIDDEN" not in text and "(hidden tests ran here)" in text
    # the hidden check says which kind of input failed, never what it expected
    assert "pairwise_differences of lengths (5, 3): not the expected result" in text
    assert not re.search(r"pairwise_differences of lengths \(5, 3\): got", text)
    # the visible check keeps its values, and the page its scores
    assert re.search(r"pairwise_differences[^\n]*: got ", text)
    # an error is its one line: a traceback would show the test's source
    assert "most recent call last" not in text and "Cell In[" not in text
