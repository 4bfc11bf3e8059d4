"""nbgrader's cell metadata, read in one place, safely for cells a student may have edited.

Whether a cell is an answer is nbgrader's own :func:`nbgrader.utils.is_solution`,
asked only where the ``nbgrader`` metadata is a mapping: a submission can hold
anything there, so these functions check first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbformat import NotebookNode

__all__ = ["grade_id", "is_solution", "points"]


def _metadata(cell: Mapping[str, Any]) -> Mapping[str, Any] | None:
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return meta if isinstance(meta, Mapping) else None


def grade_id(cell: Mapping[str, Any]) -> str | None:
    """The cell's nbgrader grade id, or None (no nbgrader metadata, or no string id)."""
    meta = _metadata(cell)
    found = meta.get("grade_id") if meta is not None else None
    return found if isinstance(found, str) else None


def is_solution(cell: NotebookNode) -> bool:
    """An answer cell, as nbgrader decides it (False for metadata that is not a mapping)."""
    # (imported here: importing nbgrader takes a second, which the grading kernel, whose
    # boundary reads course_grading.feedback, does not need to pay)
    from nbgrader import utils

    return _metadata(cell) is not None and bool(utils.is_solution(cell))



def points(nb: NotebookNode) -> dict[str, float]:
    """{grade_id: points} of the notebook's graded cells, in order (as nbgrader's gradebook records them)."""
    found = {}
    for cell in nb.cells:
        meta = _metadata(cell)
        if meta is not None and meta.get("grade") and grade_id(cell) is not None:
            found[str(grade_id(cell))] = float(meta.get("points", 0))
    return found
