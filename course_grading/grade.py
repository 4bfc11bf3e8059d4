"""Grade a class's submissions for one assignment in one command.

    python -m course_grading.grade ASSIGNMENT SUBMISSIONS [--out DIR] [--jobs N]

SUBMISSIONS is a folder or a .zip as a learning platform downloads it:
- Canvas: flat files ``<name>[_LATE]_<userid>_<submissionid>_<original name>.ipynb``;
- Moodle: one folder per student, ``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb``;
- or simply one folder per student (``<student>/<file>.ipynb``) or ``<student>.ipynb``.

Each student is graded on their own, in a fresh nbgrader course holding only
their notebook and a copy of the gradebook, by the grading kernel
(:mod:`course_grading.kernel`), so nothing one submission does can reach
another's files, the instructor's gradebook or the hidden tests on disk. A
failure for one student never stops the others. The results go to DIR
(default ``grading/<assignment>``): ``grades.csv``, ``feedback/<student>.html``
(hidden-test code removed) and ``report.txt``, the summary also printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_grading.kernel import KERNEL_NAME, install_kernelspec
from course_grading.scan import Flag, scan_notebook

REPO = Path(__file__).resolve().parent.parent
CANVAS = re.compile(r"^(?P<student>[A-Za-z0-9-]+?)(?:_LATE|_late)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<student>.+?)_(?P<id>\d+)_assignsubmission_file_?$")
STUDENT_TIMEOUT_S = 1200
FEEDBACK_CONFIG = """
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course_grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
"""


def slug(text: str) -> str:
    """A student id nbgrader accepts: lowercase letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "student"


@dataclass
class Submission:
    student: str
    path: Path
    notes: list[str] = field(default_factory=list)


@dataclass
class Result:
    student: str
    status: str = "graded"
    cells: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    feedback: Path | None = None

    @property
    def score(self) -> float:
        return sum(self.cells.values())


def prepare(submission: Path, target: Path) -> list[str]:
    """Copy a submitted notebook for nbgrader, normalising what nbgrader cannot handle.

    A grade id used by several cells is kept on the last one only (as nbgrader
    does), and empty ``nbgrader`` metadata is removed: with both, nbgrader's
    autograde otherwise stops with a KeyError. Returns notes for the report.
    """
    nb = nbformat.read(submission, as_version=4)
    notes = []
    seen: set[str] = set()
    for cell in reversed(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if grade_id is None or grade_id in seen:
            del cell.metadata["nbgrader"]
            if grade_id is not None:
                notes.append(f"cell id {grade_id} appears more than once: graded the last one")
        else:
            seen.add(grade_id)
    nbformat.write(nb, target)
    return notes


def collect(source: Path, notebook: str, scratch: Path) -> list[Submission]:
    """Find each student's notebook in a folder or a .zip named as LMS downloads name them."""
    if source.is_file() and source.suffix == ".zip":
        folder = scratch / "unzipped"
        with zipfile.ZipFile(source) as archive:
            for member in archive.infolist():
                target = (folder / member.filename).resolve()
                if not target.is_relative_to(folder.resolve()):
                    raise ValueError(f"{source} holds a path outside the archive: {member.filename}")
            archive.extractall(folder)
        source = folder
    if not source.is_dir():
        raise FileNotFoundError(f"SUBMISSIONS must be a folder or a .zip file, got {source}")
    found: dict[str, list[Path]] = {}
    for path in sorted(source.rglob("*.ipynb")):
        if any(part.startswith((".", "__MACOSX")) for part in path.relative_to(source).parts):
            continue
        relative = path.relative_to(source)
        canvas = CANVAS.match(path.stem)
        if len(relative.parts) == 1:
            student = canvas["student"] if canvas else path.stem
        else:
            top = relative.parts[0]
            moodle = MOODLE.match(top)
            student = moodle["student"] if moodle else top
        found.setdefault(slug(student), []).append(path)
    submissions = []
    for student, paths in sorted(found.items()):
        named = [p for p in paths if notebook in p.name]
        chosen = sorted(named or paths)[-1]
        sub = Submission(student, chosen)
        if len(paths) > 1:
            sub.notes.append(f"{len(paths)} notebooks found, graded {chosen.name}")
        submissions.append(sub)
    return submissions


class Grader:
    def __init__(self, assignment: str, out: Path, scratch: Path, cell_timeout: int | None = None) -> None:
        self.assignment = assignment
        self.cell_timeout = cell_timeout
        self.notebook = f"{assignment}.ipynb"
        self.out = out
        self.scratch = scratch
        self.jupyter = scratch / "jupyter"
        install_kernelspec(self.jupyter)
        self.template = self._template_course()
        self.release = self.template / "notebooks" / assignment / self.notebook
        self.points = self._points()

    def _env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, **extra)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["JUPYTER_PATH"] = str(self.jupyter)
        env.pop("NBGRADER_EXECUTION", None)
        return env

    def _nbgrader(self, course: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course,
                              env=self._env(**(env or {})), capture_output=True, text=True, timeout=STUDENT_TIMEOUT_S)

    def _template_course(self) -> Path:
        course = self.scratch / "template"
        source = REPO / "solutions" / self.assignment
        if not (source / self.notebook).is_file():
            known = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
            raise SystemExit(f"unknown ASSIGNMENT {self.assignment!r}: choose one of {', '.join(known)}")
        shutil.copytree(source, course / "solutions" / self.assignment)
        shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
        result = self._nbgrader(course, "generate_assignment", self.assignment, "--force")
        if result.returncode != 0:
            raise SystemExit(f"nbgrader generate_assignment failed:\n{result.stderr[-3000:]}")
        return course

    def _points(self) -> dict[str, float]:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.template / 'gradebook.db'}") as gb:
            nb = gb.find_notebook(self.assignment.removesuffix(".ipynb"), self.assignment)
            return {cell.name: float(cell.max_score) for cell in nb.grade_cells}

    def grade(self, sub: Submission) -> Result:
        result = Result(sub.student, flags=list(sub.notes))
        try:
            result.flags += [str(f) for f in scan_notebook(sub.path, self.release)]
        except Exception as error:  # an unreadable notebook is graded (it will score 0) and flagged
            result.flags.append(f"unreadable notebook: {type(error).__name__}: {error}")
        course = self.scratch / "students" / sub.student
        try:
            self._grade_in(course, sub, result)
        except subprocess.TimeoutExpired:
            result.status = f"not graded: grading took over {STUDENT_TIMEOUT_S} s"
        except Exception as error:
            result.status = f"not graded: {type(error).__name__}: {error}"
        if result.status != "graded":
            result.cells = {cell: 0.0 for cell in self.points}
        return result

    def _grade_in(self, course: Path, sub: Submission, result: Result) -> None:
        submitted = course / "submitted" / sub.student / self.assignment
        submitted.mkdir(parents=True)
        shutil.copy(self.template / "gradebook.db", course / "gradebook.db")
        config = (REPO / "nbgrader_config.py").read_text() + FEEDBACK_CONFIG
        (course / "nbgrader_config.py").write_text(config)
        try:
            result.flags += prepare(sub.path, submitted / self.notebook)
        except Exception as error:
            result.status = f"not graded: not a readable notebook ({type(error).__name__})"
            return
        report = course / "sandbox.jsonl"  # the kernel appends what it applied and saw (see sandbox.py)
        options = [f"--Execute.kernel_name={KERNEL_NAME}"]
        if self.cell_timeout:
            options.append(f"--Execute.timeout={self.cell_timeout}")
        autograde = self._nbgrader(course, "autograde", self.assignment, "--student", sub.student, "--force",
                                   *options, env={"COURSE_GRADER_REPORT": str(report)})
        scores = self._scores(course, sub.student)
        if scores is None:
            last = (autograde.stderr.strip().splitlines() or ["no output"])[-1]
            result.status = f"not graded: the notebook could not be run to the end ({last[:160]})"
            return
        result.cells = scores
        if report.is_file():
            events = [json.loads(line)["event"] for line in report.read_text().splitlines() if line.strip()]
            result.flags += [f"sandbox: {e}" for e in events if e.startswith("rebound")]
        feedback = self._nbgrader(course, "generate_feedback", self.assignment, "--student", sub.student, "--force")
        html = course / "feedback" / sub.student / self.assignment / f"{self.assignment}.html"
        if feedback.returncode == 0 and html.is_file():
            target = self.out / "feedback" / f"{sub.student}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(html, target)
            result.feedback = target

    def _scores(self, course: Path, student: str) -> dict[str, float] | None:
        """Autograded scores, read from the student's gradebook and bounded by the trusted points."""
        from nbgrader.api import Gradebook, MissingEntry

        try:
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                nb = gb.find_submission_notebook(self.assignment, self.assignment, student)
                auto = {g.name: g.auto_score for g in nb.grades}
        except (MissingEntry, Exception):
            return None
        if any(auto.get(cell) is None for cell in self.points):
            return None
        return {cell: min(max(float(auto[cell]), 0.0), points) for cell, points in self.points.items()}


def write_outputs(grader: Grader, results: list[Result]) -> str:
    out = grader.out
    out.mkdir(parents=True, exist_ok=True)
    cells = list(grader.points)
    total = sum(grader.points.values())
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score", "status", "flags", *cells])
        for r in results:
            writer.writerow([r.student, f"{r.score:g}", f"{total:g}", r.status, len(r.flags),
                             *(f"{r.cells.get(c, 0.0):g}" for c in cells)])
    lines = [f"{grader.assignment}: {len(results)} submission(s), {total:g} points each", ""]
    width = max([len(r.student) for r in results] + [7])
    for r in results:
        lines.append(f"{r.student:<{width}}  {r.score:>5g} / {total:g}  {r.status}"
                     + (f"  [{len(r.flags)} flag(s)]" if r.flags else ""))
        lines += [f"{'':<{width}}    - {flag}" for flag in r.flags]
    flagged = sum(1 for r in results if r.flags)
    not_graded = sum(1 for r in results if r.status != "graded")
    lines += ["", f"grades: {out / 'grades.csv'}; feedback: {out / 'feedback'}",
              f"graded {len(results) - not_graded}, not graded {not_graded}, flagged for review {flagged}"]
    summary = "\n".join(lines)
    (out / "report.txt").write_text(summary + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="assignment id, e.g. 01_sigmoid_bce")
    parser.add_argument("submissions", type=Path, help="folder or .zip of submissions as downloaded")
    parser.add_argument("--out", type=Path, help="results folder (default: grading/<assignment>)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="students graded at once (default: 2 or the number of cores)")
    parser.add_argument("--cell-timeout", type=int, help="seconds a cell may run (default: nbgrader_config.py's)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.cell_timeout is not None and args.cell_timeout < 1:
        parser.error("--cell-timeout must be at least 1 second")
    out = (args.out or REPO / "grading" / args.assignment).resolve()
    with tempfile.TemporaryDirectory(prefix="course-grading-") as tmp:
        scratch = Path(tmp)
        grader = Grader(args.assignment, out, scratch, args.cell_timeout)
        try:
            submissions = collect(args.submissions.resolve(), grader.notebook, scratch)
        except (FileNotFoundError, ValueError, zipfile.BadZipFile) as error:
            parser.error(str(error))
        if not submissions:
            parser.error(f"no .ipynb files found in {args.submissions}")
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(grader.grade, submissions))
        print(write_outputs(grader, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
