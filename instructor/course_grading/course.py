"""The one nbgrader driver: a course folder, generate, submit, autograde, read scores.

``make grade`` and the test suite both grade through :class:`Course`. Scores
are read from nbgrader's gradebook (``nbgrader`` exits 0 even when tests
fail), and bounded by the points of the source notebook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import nbformat

from course_grading import confine, forkserver, nbgrader_cli, processes
from course_grading.kernel import KERNEL_NAME, install_kernelspec
from course_utils.layout import REPO, SOLUTIONS, assignments

BIN = Path(sys.executable).parent


@lru_cache(maxsize=1)
def font_cache() -> Path:
    """matplotlib's font list, built once by the grader so that no sandbox has to build it."""
    import matplotlib
    import matplotlib.font_manager  # noqa: F401  (builds the font list on first import)

    return Path(matplotlib.get_cachedir())


def normalise(nb: nbformat.NotebookNode) -> list[str]:
    """Make a submitted notebook safe for nbgrader's own preprocessors; return notes for the report.

    A grade id used by several cells is kept on the last one only (as nbgrader
    does), and empty or malformed ``nbgrader`` metadata is removed: with either,
    nbgrader's autograde otherwise stops with a KeyError.
    """
    notes = []
    seen: set[str] = set()
    for cell in reversed(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(grade_id, str) or grade_id in seen:
            del cell.metadata["nbgrader"]
            if isinstance(grade_id, str):
                notes.append(f"cell id {grade_id} appears more than once: graded the last one")
        else:
            seen.add(grade_id)
    return notes


class Course:
    """An nbgrader course folder holding one assignment, its source copied from solutions/.

    ``confined``: autograde with every kernel in the bubblewrap sandbox
    (:mod:`course_grading.confine`) and nbgrader without a network.
    """

    def __init__(self, root: Path, assignment: str, *, confined: bool = True, template: Course | None = None) -> None:
        self.root = root
        self.assignment = assignment
        self.notebook = f"{assignment}.ipynb"
        self.confined = confined
        source = SOLUTIONS / assignment
        if not (source / self.notebook).is_file():
            raise ValueError(f"unknown assignment {assignment!r}: choose one of {', '.join(assignments())}")
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(source, root / "solutions" / assignment)
        if template is not None:
            shutil.copy(template.root / "gradebook.db", root / "gradebook.db")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["JUPYTER_RUNTIME_DIR"] = str(self.root / "runtime")
        env.pop("NBGRADER_EXECUTION", None)
        return env

    def nbgrader(self, *args: str, offline: bool = False, warm: bool = False, timeout: float = 3600,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run nbgrader here; ``offline``: without a network; ``warm``: beside a fork server of kernels."""
        command = processes.module_command(nbgrader_cli, *args, isolated=False)
        if warm:
            command = processes.module_command(forkserver, "batch", "--", *command, isolated=False)
        if offline:
            command = confine.offline_command(command)
        return subprocess.run(command, cwd=self.root, env=self.env() | (env or {}), capture_output=True, text=True,
                              timeout=timeout)

    def generate(self) -> Path:
        result = self.nbgrader("generate_assignment", self.assignment, "--force")
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-3000:]}")
        return self.release_path

    @property
    def release_path(self) -> Path:
        return self.root / "notebooks" / self.assignment / self.notebook

    def submitted_path(self, student: str) -> Path:
        return self.root / "submitted" / student / self.assignment / self.notebook

    def autograded_path(self, student: str) -> Path:
        return self.root / "autograded" / student / self.assignment / self.notebook

    def submit(self, student: str, nb: nbformat.NotebookNode) -> list[str]:
        """Place a student's notebook for autograding; returns notes about what was normalised."""
        notes = normalise(nb)
        path = self.submitted_path(student)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return notes

    def autograde(self, student: str | None = None, *, cell_timeout: int | None = None,
                  timeout: float = 3600, plain: bool = False, warm: bool | None = None) -> subprocess.CompletedProcess:
        """Autograde one student (or all) with the grading kernel; confined unless the course is not.

        ``plain``: as an instructor's own ``nbgrader autograde`` does, with the
        notebook's ordinary kernel (the course's nbgrader_config.py still applies).
        ``warm``: confined kernels are forked from a fork server
        (:mod:`course_grading.forkserver`) instead of each starting cold; by
        default unless the environment sets ``COURSE_GRADER_WARM=0``.
        """
        if warm is None:
            warm = os.environ.get(processes.WARM, "1") != "0"
        jupyter = self.root / "jupyter"
        install_kernelspec(jupyter)
        env = {"JUPYTER_PATH": str(jupyter), processes.FONT_CACHE: str(font_cache())}
        if self.confined and not plain:
            env[processes.CONFINE] = "1"
            if warm:  # the fork server imports what the notebook imports, once for the batch
                from course_grading.forkserver import notebook_imports

                source = self.root / "solutions" / self.assignment / self.notebook
                env[processes.PRELOAD] = ",".join(notebook_imports(source))
        args = ["autograde", self.assignment, "--force"]
        if not plain:
            args.append(f"--Execute.kernel_name={KERNEL_NAME}")
        if student is not None:
            args += ["--student", student]
        if cell_timeout:
            args.append(f"--Execute.timeout={cell_timeout}")
        try:
            confined = self.confined and not plain
            return self.nbgrader(*args, offline=confined, warm=confined and warm, timeout=timeout, env=env)
        finally:
            confine.remove_empty_cgroups()

    def points(self) -> dict[str, float]:
        """{grade_id: points} of the test cells, from the gradebook that generate wrote."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            nb = gb.find_notebook(self.assignment, self.assignment)
            return {cell.name: float(cell.max_score) for cell in nb.grade_cells}

    def scores(self, student: str) -> dict[str, tuple[float, float]]:
        """{grade_id: (score, max_score)} for every graded cell of a student's submission."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            submitted = gb.find_submission_notebook(self.assignment, self.assignment, student)
            return {g.name: (float(g.score), float(g.max_score)) for g in submitted.grades}

    def auto_scores(self, student: str, points: dict[str, float]) -> dict[str, float] | None:
        """Autograded scores bounded by trusted ``points``, or None if the notebook was not graded to the end."""
        from nbgrader.api import Gradebook, MissingEntry

        try:
            with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
                nb = gb.find_submission_notebook(self.assignment, self.assignment, student)
                auto = {g.name: g.auto_score for g in nb.grades}
        except MissingEntry:
            return None
        if any(auto.get(cell) is None for cell in points):
            return None
        return {cell: min(max(float(auto[cell]), 0.0), top) for cell, top in points.items()}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)
