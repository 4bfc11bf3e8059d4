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

Each answer that may run becomes a call of :func:`course_grading.boundary.answer`
(:func:`boundary_source`): the kernel that nbgrader runs, and with it every
set-up cell, demo and test, never runs the student's code; the answer's
definitions run in a worker process, and the tests call them through
stand-ins whose results come back as data. After execution
:class:`RestoreAnswers` puts the student's own code back into the answer
cells, for the feedback and formgrader. ``COURSE_GRADER_ALLOWLIST=off`` in the
environment skips the allowlist: the whole answer cell goes to the worker
(the tests use it to prove the boundary holds on its own).
"""

from __future__ import annotations

import ast
import copy
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearOutput, ClearSolutions, LockCells, NbGraderPreprocessor

from course_grading import processes
from course_grading.allowlist import Context, Screened, notebook_context, parse, screen
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


def screen_answers(source: NotebookNode, submitted: NotebookNode,
                   contexts: dict[str, Context] | None = None) -> dict[str, Screened]:
    """{grade_id: what may run} for every answer cell of the source, from the submission's answers
    (``contexts``: :func:`_contexts` of the two, when the caller has them already)."""
    answers = answer_cells(submitted)
    given = {gid: cell.source for gid, cell in answers.items() if gid in _reference_answers(source)}
    contexts = _contexts(source, submitted) if contexts is None else contexts
    if not allowlist_on():
        return {gid: Screened(text) for gid, text in given.items()}
    return {gid: screen(text, contexts[gid]) for gid, text in given.items()}


def allowlist_on() -> bool:
    """False when ``COURSE_GRADER_ALLOWLIST=off``: answers go to the worker unscreened (for tests)."""
    value = os.environ.get(processes.ALLOWLIST, "on").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{processes.ALLOWLIST} must be 'on' or 'off', got {value!r}")
    return value == "on"


BOUNDARY_MARK = "# The grader runs this answer in its sandboxed worker (course_grading.boundary)."
HIDDEN_TESTS_CALL = "__import__('course_grading.boundary', fromlist=['hidden_tests']).hidden_tests(globals())"


def mark_hidden_tests(source: str) -> str:
    """A test cell's source with :func:`course_grading.boundary.hidden_tests` called where its hidden tests begin."""
    lines = source.split("\n")
    for index, line in enumerate(lines):
        if "BEGIN HIDDEN TESTS" in line:
            lines.insert(index + 1, HIDDEN_TESTS_CALL)
            return "\n".join(lines)
    return source


def _read_names(source: str) -> set[str]:
    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


@lru_cache(maxsize=1024)
def _cell_bindings(source: str) -> frozenset[str]:
    """Names a code cell binds at the top level (IPython magics and shell lines left out); kept for each
    source, as a batch asks for the same notebook's cells once per student."""
    text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(bound)


def boundary_source(grade_id: str, answer: str, context: Context, notebook_names: set[str]) -> str:
    """The source of an answer cell as the grader runs it: the answer goes to the worker as a string.

    ``notebook_names`` are the names the notebook's set-up and demo cells bind
    (never a test's): of those, the ones the answer reads are sent to the worker.
    """
    sent = sorted(_read_names(answer) & notebook_names)
    return (f"{BOUNDARY_MARK}\n"
            f"__import__('course_grading.boundary', fromlist=['answer']).answer(\n"
            f"    globals(), {grade_id!r}, {answer!r},\n"
            f"    protected={sorted(context.protected)!r},\n"
            f"    context={sent!r})\n")


def answer_from_boundary_source(source: str) -> str | None:
    """The student's answer inside a cell made by :func:`boundary_source`, or None."""
    if not source.startswith(BOUNDARY_MARK):
        return None
    try:
        call = parse(source).body[0]
        value = call.value.args[2]  # type: ignore[attr-defined]
        answer = ast.literal_eval(value)
    except (SyntaxError, ValueError, IndexError, AttributeError):
        return None
    return answer if isinstance(answer, str) else None


def notebook_bindings(source: NotebookNode) -> set[str]:
    """Names bound by the notebook's code cells that are neither answers nor tests."""
    names: set[str] = set()
    test_names: set[str] = set()
    for cell in source.cells:
        if cell.cell_type != "code" or utils.is_solution(cell):
            continue
        if utils.is_grade(cell):
            test_names |= _cell_bindings(cell.source)
        else:
            names |= _cell_bindings(cell.source)
    return names - test_names


def _reference_answers(source: NotebookNode) -> dict[str, str]:
    return {cell_id: c.source for c in source.cells if is_solution(c) and (cell_id := grade_id(c)) is not None}


def _contexts(source: NotebookNode, submitted: NotebookNode) -> dict[str, Context]:
    """{grade_id: what the notebook around each submitted answer defines and binds} (allowlist.notebook_context)."""
    answers = answer_cells(submitted)
    reference = _reference_answers(source)
    given = {gid: answers[gid].source for gid in reference if gid in answers}
    others = [c.source for c in source.cells if c.cell_type == "code" and not utils.is_solution(c)]
    tests = [c.source for c in source.cells if c.cell_type == "code" and utils.is_grade(c) and not utils.is_solution(c)]
    return notebook_context(others, given, reference, tests)


def rebuild(source: NotebookNode, submitted: NotebookNode, config: Any = None) -> NotebookNode:
    """The notebook to execute: the source's cells, with the submission's screened answers."""
    release = release_version(source, config)
    contexts = _contexts(source, submitted)
    screened = screen_answers(source, submitted, contexts)
    names = notebook_bindings(source)
    for cell in release.cells:
        if not utils.is_solution(cell):
            continue
        gid = grade_id(cell) or ""
        result = screened.get(gid)
        if result is None:
            continue  # not answered: the stub stays
        if result.runnable:
            cell.source = boundary_source(gid, result.source, contexts[gid], names)
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
        from course_grading.boundary import how_workers_run

        confined, why = how_workers_run()
        if not confined:
            self.log.warning("%s: the answers run in a worker process of their own, but %s", name, why)
        return rebuilt, resources


class MarkHiddenTests(NbGraderPreprocessor):
    """Start every hidden-test region with :data:`HIDDEN_TESTS_CALL`, so that no later cell reaches the worker
    that served it (see :func:`course_grading.boundary.hidden_tests`).

    Listed after ``OverwriteCells`` in ``Autograde.sanitize_preprocessors``:
    that one puts every test cell back as the gradebook has it.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int
                        ) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type == "code" and isinstance(cell.get("source"), str) and not utils.is_solution(cell):
            cell.source = mark_hidden_tests(cell.source)
        return cell, resources


class RestoreAnswers(NbGraderPreprocessor):
    """After execution, show each answer cell with the student's code, not the call that ran it in the worker.

    Listed right after ``Execute`` in ``Autograde.autograde_preprocessors``.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int
                        ) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type == "code" and isinstance(cell.get("source"), str):
            answer = answer_from_boundary_source(cell.source)
            if answer is not None:
                cell.source = answer
            cell.source = cell.source.replace(HIDDEN_TESTS_CALL + "\n", "")
        return cell, resources


class SafeFeedback(NbGraderPreprocessor):
    """What ``nbgrader generate_feedback`` shows a student: the rules of ``make grade``'s feedback
    (:func:`course_grading.feedback.safe_notebook`): no hidden test, no value from one, no HTML output.

    Listed after ``GetGrades`` in ``GenerateFeedback.preprocessors``; the
    autograded notebook formgrader shows the instructor is not changed.
    """

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        from course_grading.feedback import safe_notebook

        return safe_notebook(nb), resources


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
