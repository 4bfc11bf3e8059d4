"""A throw-away nbgrader course for tests: generate, submit, autograde, read scores.

Scores are always read from the gradebook database, never from an exit code
(``nbgrader`` exits 0 even when tests fail).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from course_grading.kernel import KERNEL_NAME, install_kernelspec
from course_grading.reference import (  # noqa: F401  (re-exported for the tests)
    SOLUTION_MARKERS,
    answered_source,
    filled_submission,
    solution_cells,
)

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
RELEASE = REPO / "notebooks"
BIN = Path(sys.executable).parent

HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def assignments() -> list[str]:
    """The assignment ids: one folder per numbered notebook in solutions/."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and re.match(r"\d\d_", p.name))


def notebook_name(assignment: str) -> str:
    return f"{assignment}.ipynb"


def nbgrader_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("NBGRADER_EXECUTION", None)
    return env


class Course:
    """An nbgrader course directory holding one assignment copied from solutions/."""

    def __init__(self, root: Path, assignment: str) -> None:
        self.root = root
        self.assignment = assignment
        self.notebook = notebook_name(assignment)
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(SOLUTIONS / assignment, root / "solutions" / assignment)

    def nbgrader(self, *args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "nbgrader"), *args], cwd=self.root, env=nbgrader_env() | (env or {}),
            capture_output=True, text=True, timeout=timeout,
        )

    def generate(self) -> Path:
        result = self.nbgrader("generate_assignment", self.assignment, "--force")
        assert result.returncode == 0, result.stderr[-3000:]
        return self.release_path

    @property
    def release_path(self) -> Path:
        return self.root / "notebooks" / self.assignment / self.notebook

    def submit(self, student: str, nb: nbformat.NotebookNode) -> None:
        folder = self.root / "submitted" / student / self.assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / self.notebook)

    def autograde(self) -> subprocess.CompletedProcess:
        """Autograde every submission with the sandboxed grading kernel that `make grade` uses."""
        jupyter = self.root / "jupyter"
        install_kernelspec(jupyter)
        return self.nbgrader("autograde", self.assignment, "--force", f"--Execute.kernel_name={KERNEL_NAME}",
                             env={"JUPYTER_PATH": str(jupyter)})

    def scores(self, student: str) -> dict[str, tuple[float, float]]:
        """{grade_id: (score, max_score)} for every graded cell of a student's submission."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            submitted = gb.find_submission_notebook(self.notebook.removesuffix(".ipynb"), self.assignment, student)
            return {g.name: (float(g.score), float(g.max_score)) for g in submitted.grades}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)
