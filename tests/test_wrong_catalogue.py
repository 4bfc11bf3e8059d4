"""The wrong-submission catalogue as a student meets it: caught before handing in, with a hint that points the
right way and does not hand over the code.

These checks read the catalogue only (no kernel); the round trip
(``tests/test_autograde.py``) checks that each hint is what the student is shown.
"""

from __future__ import annotations

from support.nbgrader_course import solution_cells
from support.tally import tally
from support.wrong_submissions import CATALOGUE, MIN_FRAGMENT, code_fragments, is_visible_test, quoted_code

VISIBLE_SHARE = 0.95


def test_visible_checks_catch_at_least_95_percent_of_the_wrong_catalogue():
    hidden_only = [f"{w.assignment}:{w.name}" for w in CATALOGUE if not w.visible]
    share = 1 - len(hidden_only) / len(CATALOGUE)
    print(f"visible checks catch {len(CATALOGUE) - len(hidden_only)} of {len(CATALOGUE)} wrong submissions "
          f"({share:.0%}); only hidden tests: {hidden_only}")
    assert share >= VISIBLE_SHARE, f"visible checks catch {share:.1%} of the catalogue: {hidden_only}"


@tally("wrong submissions with the hint written for them, or the reason only a hidden test can catch them")
def test_each_wrong_submission_names_its_hint_or_why_only_hidden_tests_catch_it(wrong):
    if wrong.visible:
        assert wrong.hint and not wrong.hidden_because, \
            f"{wrong.name}: give the hint its first failing visible test shows (hint=...), and no hidden_because"
        assert not quoted_code(wrong.hint, solution_cells(wrong.assignment)[wrong.cell]), \
            f"{wrong.name}: the hint quotes the answer's code"
    else:
        assert wrong.hidden_because and not wrong.hint, \
            f"{wrong.name}: no visible check catches it: say why only hidden data can (hidden_because=...)"


def test_the_quoted_code_rule_tells_a_line_from_an_idea():
    answer = ("def f(z, X, d):\n    ### BEGIN SOLUTION\n    w = torch.zeros(d, dtype=X.dtype, requires_grad=True)\n"
              "    w.backward()\n    return z.squeeze(-1)\n    ### END SOLUTION\n")
    assert {"torch.zeros(d,dtype=X.dtype,requires_grad=True)", "dtype=X.dtype", ".squeeze(-1)"} <= \
        code_fragments(answer)
    assert quoted_code("hint: .squeeze(-1), not .squeeze()", answer) == [".squeeze(-1)"]
    assert quoted_code("hint: torch.zeros(d, dtype=X.dtype, requires_grad=True)", answer)
    assert not quoted_code("hint: make the weights in the dtype of X, and let autograd track them", answer)
    assert not quoted_code("hint: call backward() on the loss", answer), "a method's name is an idea, not a line"
    assert all(len(f) >= MIN_FRAGMENT for f in code_fragments(answer))


def test_visible_and_hidden_test_cells_are_told_apart():
    assert is_visible_test("nb01_sigmoid_tests") and not is_visible_test("nb01_sigmoid_hidden_tests")
    assert not is_visible_test("nb01_sigmoid")
