"""nbgrader preprocessors that keep the verdict out of the student's reach.

:class:`RebuildFromSource` runs first when nbgrader autogrades a notebook
(``nbgrader_config.py`` puts it in ``Autograde.sanitize_preprocessors``, so
``make grade`` and a plain ``nbgrader autograde`` both use it). It throws the
submitted notebook away except for its answer cells, and builds the notebook
that is executed from the instructor's source in ``solutions/``:

- every cell that is not an answer cell (set-up, explanations, demos, visible
  and hidden tests) comes from the source, in the source's order; cells a
  student added, deleted, moved, edited or turned into Markdown count for
  nothing;
- each answer cell holds only what :func:`course_grading.allowlist.screen`
  lets run (its definitions); an answer that breaks the allowlist is replaced
  by the unanswered stub, with the reasons in a comment.

So no code of the student runs at the top level of the kernel: nothing can
register IPython hooks, rewrite later cells, trace the tests or patch torch
before a test cell runs. What the student's functions may do when a test
calls them is limited by the allowlist.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearOutput, ClearSolutions, LockCells, NbGraderPreprocessor

from course_grading.allowlist import Screened, notebook_context, screen
from course_grading.cells import grade_id, is_solution

NOT_RUN_HEADER = "# The grader did not run this answer (it needs review):"


def answer_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """{grade_id: cell} of a submitted notebook's code cells that claim an answer's id (the last one wins)."""
    found: dict[str, NotebookNode] = {}
    for cell in nb.cells:
        cell_id = grade_id(cell)
        if cell.get("cell_type") == "code" and cell_id is not None and isinstance(cell.get("source"), str):
            found[cell_id] = cell
    return found


def release_version(source: NotebookNode, config: Any = None) -> NotebookNode:
    """The source notebook as nbgrader stores it in the gradebook: solutions cleared, tests kept."""
    nb = copy.deepcopy(source)
    resources: dict[str, Any] = {}
    for step in (LockCells, ClearSolutions, ClearOutput):
        nb, resources = step(config=config).preprocess(nb, resources)
    return nb


def screen_answers(source: NotebookNode, submitted: NotebookNode) -> dict[str, Screened]:
    """{grade_id: what may run} for every answer cell of the source, from the submission's answers."""
    answers = answer_cells(submitted)
    reference = {cell_id: c.source for c in source.cells if is_solution(c) and (cell_id := grade_id(c)) is not None}
    given = {gid: answers[gid].source for gid in reference if gid in answers}
    others = [c.source for c in source.cells if c.cell_type == "code" and not utils.is_solution(c)]
    tests = [c.source for c in source.cells if c.cell_type == "code" and utils.is_grade(c) and not utils.is_solution(c)]
    contexts = notebook_context(others, given, reference, tests)
    return {gid: screen(text, contexts[gid]) for gid, text in given.items()}


def rebuild(source: NotebookNode, submitted: NotebookNode, config: Any = None) -> NotebookNode:
    """The notebook to execute: the source's cells, with the submission's screened answers."""
    release = release_version(source, config)
    screened = screen_answers(source, submitted)
    for cell in release.cells:
        if not utils.is_solution(cell):
            continue
        result = screened.get(grade_id(cell) or "")
        if result is None:
            continue  # not answered: the stub stays
        if result.runnable:
            cell.source = result.source
        else:
            reasons = [f"#  - {p}".replace("\n", " ")[:200] for p in result.problems]
            cell.source = "\n".join([NOT_RUN_HEADER, *reasons, cell.source])
    return release


class RebuildFromSource(NbGraderPreprocessor):
    """Replace the submitted notebook by the source's cells and the screened answers."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        coursedir = CourseDirectory(config=self.config)
        assignment = resources["nbgrader"]["assignment"]
        name = resources["nbgrader"]["notebook"]
        path = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{name}.ipynb"
        source = nbformat.read(path, as_version=4)
        rebuilt = rebuild(source, nb, self.config)
        self.log.info("Rebuilt %s from %s with the submitted answers", name, path)
        return rebuilt, resources


_NBVAL_MARKER = re.compile(r"[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*$", re.MULTILINE)


def strip_test_markers(source: str) -> str:
    """``source`` without nbval's ``# NBVAL_...`` comments (a line holding only one goes entirely)."""
    lines = []
    for line in source.split("\n"):
        stripped = _NBVAL_MARKER.sub("", line)
        if stripped or not line.strip():
            lines.append(stripped)
    return "\n".join(lines)


class StripTestMarkers(NbGraderPreprocessor):
    """Remove the course's test machinery (nbval's ``# NBVAL_CHECK_OUTPUT`` comments) from the student version.

    Listed first in ``GenerateAssignment.preprocessors`` (``nbgrader_config.py``):
    the markers stay in ``solutions/``, where nbval checks the outputs.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int
                        ) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type == "code":
            cell.source = strip_test_markers(cell.source)
        return cell, resources
