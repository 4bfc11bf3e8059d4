"""Catalogue of wrong submissions: each a small change to the reference solution.

One module per notebook (``nb01.py``, ...) defines ``WRONG``, a list of
:class:`WrongSubmission`. Every entry names the answer cell it changes, the
text it replaces (which must occur exactly once in that cell's answer) and the
test cells (grade ids) that must score zero for it. The round trip checks that
it loses exactly those points and keeps all the others. The numbers in
``mistake`` refer to the list of mistakes in the course design.

``also`` changes more answer cells of the same submission, each ``(cell, old,
new)``: a later exercise that calls the wrong earlier one, say, to show that
one mistake costs points once (only where it is made).

What the student sees: ``hint`` is part of the message of the first visible
test cell (in the notebook's order) that the mistake fails, the words written
for that mistake; the round trip checks that it is shown, and that no message
shown quotes the reference answer's code (:func:`code_fragments`). A mistake
that only a hidden test catches says why in ``hidden_because`` (a property
only hidden data can show); the catalogue's share caught by a visible check
is kept at 95 % or more (``tests/test_wrong_catalogue.py``).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class WrongSubmission:
    assignment: str
    name: str
    mistake: str
    cell: str
    old: str
    new: str
    loses: frozenset[str]
    also: tuple[tuple[str, str, str], ...] = ()
    hint: str = ""  # shown by the first visible test cell it fails
    hidden_because: str = ""  # why no visible check can catch it (only when it loses hidden tests alone)

    @property
    def visible(self) -> bool:
        """A visible test cell catches the mistake: the student sees it before handing in."""
        return any(is_visible_test(cell) for cell in self.loses)

    @property
    def student(self) -> str:
        return f"wrong-{self.name}"

    @property
    def changes(self) -> dict[str, tuple[str, str]]:
        """{answer cell: (old, new)} for :func:`course_grading.reference.filled_submission`."""
        return {self.cell: (self.old, self.new)} | {cell: (old, new) for cell, old, new in self.also}


def wrong(assignment: str, name: str, mistake: str, cell: str, old: str, new: str, loses: set[str],
          also: tuple[tuple[str, str, str], ...] = (), *, hint: str = "", hidden_because: str = "") -> WrongSubmission:
    return WrongSubmission(assignment, name, mistake, cell, old, new, frozenset(loses), also, hint, hidden_because)


def is_visible_test(grade_id: str) -> bool:
    """A test cell the student runs (``nb01_sigmoid_tests``), not a hidden one (``nb01_sigmoid_hidden_tests``)."""
    return grade_id.endswith("_tests") and not grade_id.endswith("_hidden_tests")


MIN_FRAGMENT = 10  # characters, spaces left out


def code_fragments(answer: str) -> set[str]:
    """Pieces of a reference answer (between its solution markers, if it has them) that a message must not
    quote, spaces left out: every call (also without its receiver, ``.squeeze(-1)``), keyword argument,
    operation, comparison and subscript of at least 10 characters."""
    lines = answer.splitlines()
    begin = next((i for i, line in enumerate(lines, 1) if "### BEGIN SOLUTION" in line), 0)
    end = next((i for i, line in enumerate(lines, 1) if "### END SOLUTION" in line), len(lines) + 1)
    found: set[str] = set()
    for node in ast.walk(ast.parse(answer)):
        if not begin < getattr(node, "lineno", begin) < end:
            continue
        pieces = []
        if isinstance(node, (ast.Call, ast.BinOp, ast.Subscript, ast.Compare)):
            pieces.append(ast.unparse(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            arguments = [ast.unparse(a) for a in node.args] + [ast.unparse(k) for k in node.keywords]
            if arguments:  # ".backward()" names an idea; ".squeeze(-1)" is the line
                pieces.append(f".{node.func.attr}({', '.join(arguments)})")
        if isinstance(node, ast.keyword) and node.arg is not None:
            pieces.append(ast.unparse(node))
        found |= {p.replace(" ", "") for p in pieces if len(p.replace(" ", "")) >= MIN_FRAGMENT}
    return found


def quoted_code(message: str, answer: str) -> list[str]:
    """The fragments of ``answer``'s code that ``message`` quotes (none for a hint that names the idea)."""
    text = message.replace(" ", "")
    return sorted(f for f in code_fragments(answer) if f in text)


CATALOGUE: list[WrongSubmission] = []
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    CATALOGUE += importlib.import_module(f"{__name__}.{_module}").WRONG
