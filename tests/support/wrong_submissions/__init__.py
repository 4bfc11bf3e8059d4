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
"""

from __future__ import annotations

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

    @property
    def student(self) -> str:
        return f"wrong-{self.name}"

    @property
    def changes(self) -> dict[str, tuple[str, str]]:
        """{answer cell: (old, new)} for :func:`course_grading.reference.filled_submission`."""
        return {self.cell: (self.old, self.new)} | {cell: (old, new) for cell, old, new in self.also}


def wrong(assignment: str, name: str, mistake: str, cell: str, old: str, new: str, loses: set[str],
          also: tuple[tuple[str, str, str], ...] = ()) -> WrongSubmission:
    return WrongSubmission(assignment, name, mistake, cell, old, new, frozenset(loses), also)


CATALOGUE: list[WrongSubmission] = []
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    CATALOGUE += importlib.import_module(f"{__name__}.{_module}").WRONG
