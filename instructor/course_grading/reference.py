"""Submissions built from the reference solution: for checking the grader itself.

The release notebook with every answer cell filled in from ``solutions/``
gets full marks; one small text change to an answer makes a wrong
submission. The tests and the grading benchmark use these.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from course_grading.cells import grade_id, is_solution
from course_utils.layout import SOLUTIONS

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def answered_source(source: str) -> str:
    """A solution cell as a student would hand it in: the solution, without the markers."""
    return "\n".join(line for line in source.splitlines() if not any(m in line for m in SOLUTION_MARKERS))


def solution_cells(assignment: str) -> dict[str, str]:
    """{grade_id: source} of the answer cells of the reference solution."""
    nb = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    return {cell_id: c.source for c in nb.cells if is_solution(c) and (cell_id := grade_id(c)) is not None}


def filled_submission(release: Path, assignment: str,
                      changes: dict[str, tuple[str, str]] | None = None) -> nbformat.NotebookNode:
    """The release notebook with every answer cell filled in from the reference solution.

    ``changes`` maps a grade id to one ``(old, new)`` text replacement applied
    to that cell's answer: a small, reviewable wrong submission.
    """
    answers = solution_cells(assignment)
    changes = dict(changes or {})
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        cell_id = grade_id(cell)
        if cell_id in answers:
            source = answered_source(answers[cell_id])
            if cell_id in changes:
                old, new = changes.pop(cell_id)
                if source.count(old) != 1:
                    raise ValueError(f"{cell_id}: the text to replace must occur exactly once: {old!r}")
                source = source.replace(old, new)
            cell.source = source
    if changes:
        raise ValueError(f"no answer cell named {sorted(changes)} in {assignment}")
    return nb
