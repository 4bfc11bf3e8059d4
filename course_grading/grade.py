"""Grade a class's submissions for one assignment in one command.

    python -m course_grading.grade ASSIGNMENT SUBMISSIONS [--out DIR] [--jobs N]

SUBMISSIONS is a folder or a .zip as a learning platform downloads it:
- Canvas: flat files ``<name>[_LATE]_<userid>_<submissionid>_<original name>.ipynb``;
- Moodle: one folder per student, ``<Full Name>_<id>_assignsubmission_file_/<file>.ipynb``;
- or simply one folder per student (``<student>/<file>.ipynb``) or ``<student>.ipynb``.

Each student is graded on their own, in a fresh nbgrader course holding only
their notebook and a copy of the gradebook. nbgrader rebuilds the notebook
from ``solutions/`` and runs only the answers' allowed definitions
(:mod:`course_grading.preprocessors`), in a kernel confined by the operating
system (:mod:`course_grading.confine`); without bubblewrap it refuses unless
``--unconfined`` is given. A failure for one student never stops the others.
When every run has ended, the results go to DIR (default
``grading/<assignment>``): ``grades.csv``, ``feedback/<student>.html`` (text
and images only, hidden tests removed), ``logs/`` (nbgrader's log per
student) and ``report.txt``, the summary also printed.
"""

from __future__ import annotations

import argparse
import csv
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

from course_grading import confine
from course_grading.course import REPO, SOLUTIONS, Course
from course_grading.feedback import feedback_html
from course_grading.preprocessors import screen_answers
from course_grading.scan import scan_notebook

CANVAS = re.compile(r"^(?P<student>[A-Za-z0-9-]+?)(?:_LATE|_late)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<student>.+?)_(?P<id>\d+)_assignsubmission_file_?$")
STUDENT_TIMEOUT_S = 1200


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
    review: list[str] = field(default_factory=list)  # answers the allowlist did not let run, with the reasons
    feedback: str | None = None

    @property
    def score(self) -> float:
        return sum(self.cells.values())


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
    """Grades submissions of one assignment, each in its own course folder and sandbox."""

    def __init__(self, assignment: str, out: Path, scratch: Path, cell_timeout: int | None = None,
                 confined: bool = True) -> None:
        self.assignment = assignment
        self.cell_timeout = cell_timeout
        self.notebook = f"{assignment}.ipynb"
        self.out = out
        self.scratch = scratch
        self.confined = confined
        self.template = Course(scratch / "template", assignment, confined=confined)
        self.template.generate()
        self.release = self.template.release_path
        self.source = nbformat.read(SOLUTIONS / assignment / self.notebook, as_version=4)
        self.points = self.template.points()
        self.confinement = "bubblewrap" if confined else "none"

    def grade(self, sub: Submission) -> Result:
        """Grade one submission; never raises (a failure is this student's status, with its cause)."""
        result = Result(sub.student, flags=list(sub.notes))
        try:
            nb = nbformat.read(sub.path, as_version=4)
            result.flags += [str(f) for f in scan_notebook(sub.path, self.release)]
        except Exception as error:  # an unreadable notebook is reported, and scores 0
            result.status = f"not graded: not a readable notebook ({type(error).__name__}: {str(error)[:120]})"
            result.flags.append("unreadable notebook")
            result.cells = {cell: 0.0 for cell in self.points}
            return result
        for grade_id, screened in screen_answers(self.source, nb).items():
            for problem in screened.problems:
                result.review.append(f"{grade_id}: {problem}")
        course = Course(self.scratch / "students" / sub.student, self.assignment, confined=self.confined,
                        template=self.template)
        try:
            result.flags += course.submit(sub.student, nb)
            run = course.autograde(sub.student, cell_timeout=self.cell_timeout, timeout=STUDENT_TIMEOUT_S)
            self._keep_log(sub.student, run.stderr)
            scores = course.auto_scores(sub.student, self.points)
            if scores is None:
                result.status = f"not graded: {failure_cause(run.stderr)}"
            else:
                result.cells = scores
                graded = nbformat.read(course.autograded_path(sub.student), as_version=4)
                result.feedback = feedback_html(graded, scores, self.points, f"{self.assignment}: {sub.student}")
        except subprocess.TimeoutExpired:
            result.status = f"not graded: grading took over {STUDENT_TIMEOUT_S} s"
        except Exception as error:
            result.status = f"not graded: {type(error).__name__}: {str(error)[:160]}"
        if result.status != "graded":
            result.cells = {cell: 0.0 for cell in self.points}
            result.feedback = None
        return result

    def _keep_log(self, student: str, log: str) -> None:
        logs = self.scratch / "logs"
        logs.mkdir(exist_ok=True)
        (logs / f"{student}.log").write_text(log)


def failure_cause(log: str) -> str:
    """The most telling line of an nbgrader log for a notebook that was not graded to the end."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for pattern in ("Kernel died", "Timeout", "timed out", "MemoryError", "Error:", "ERROR"):
        for line in lines:
            if pattern in line and "Please see" not in line:
                return f"the notebook could not be run to the end ({line[:200]})"
    return f"the notebook could not be run to the end ({(lines or ['no output'])[-1][:200]})"


def write_outputs(grader: Grader, results: list[Result], logs: Path | None = None) -> str:
    """Write grades.csv, feedback/ and report.txt (after every sandbox of the run has ended)."""
    out = grader.out
    out.mkdir(parents=True, exist_ok=True)
    cells = list(grader.points)
    total = sum(grader.points.values())
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score", "status", "flags", "needs_review", *cells])
        for r in results:
            reviewed = sorted({item.split(":", 1)[0] for item in r.review})
            writer.writerow([r.student, f"{r.score:g}", f"{total:g}", r.status, len(r.flags), " ".join(reviewed),
                             *(f"{r.cells.get(c, 0.0):g}" for c in cells)])
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for r in results:
        if r.feedback is not None:
            (feedback / f"{r.student}.html").write_text(r.feedback)
    if logs is not None and logs.is_dir():
        shutil.copytree(logs, out / "logs", dirs_exist_ok=True)
    lines = [f"{grader.assignment}: {len(results)} submission(s), {total:g} points each", ""]
    width = max([len(r.student) for r in results] + [7])
    for r in results:
        lines.append(f"{r.student:<{width}}  {r.score:>5g} / {total:g}  {r.status}"
                     + (f"  [{len(r.flags)} flag(s)]" if r.flags else "")
                     + (f"  [needs review: {len(r.review)}]" if r.review else ""))
        lines += [f"{'':<{width}}    - needs review: {item}" for item in r.review]
        lines += [f"{'':<{width}}    - {flag}" for flag in r.flags]
    flagged = sum(1 for r in results if r.flags)
    review = sum(1 for r in results if r.review)
    not_graded = sum(1 for r in results if r.status != "graded")
    lines += ["", f"grades: {out / 'grades.csv'}; feedback: {out / 'feedback'}; nbgrader logs: {out / 'logs'}",
              f"graded {len(results) - not_graded}, not graded {not_graded}, flagged for review {flagged}, "
              f"answers not run (needs review) {review}",
              f"confinement: {grader.confinement}"]
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
    parser.add_argument("--unconfined", action="store_true",
                        help="grade without OS confinement where bubblewrap is not available (trusted work only)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.cell_timeout is not None and args.cell_timeout < 1:
        parser.error("--cell-timeout must be at least 1 second")
    available, why = confine.status()
    if not available and not args.unconfined:
        print(f"make grade: refusing to grade untrusted work without OS confinement: {why}.\n"
              "Each submission runs student code; without the sandbox it could read the hidden tests or change "
              "your files. Install what is named above, or, for work you trust, add --unconfined "
              "(make grade ... GRADE_ARGS=--unconfined).", file=sys.stderr)
        return 2
    try:
        confine.Limits.from_environment()
    except ValueError as error:
        parser.error(str(error))
    out = (args.out or REPO / "grading" / args.assignment).resolve()
    with tempfile.TemporaryDirectory(prefix="course-grading-") as tmp:
        scratch = Path(tmp)
        try:
            grader = Grader(args.assignment, out, scratch, args.cell_timeout, confined=available)
        except ValueError as error:
            parser.error(str(error))
        grader.confinement = why if available else f"NONE ({why}); graded with --unconfined"
        try:
            submissions = collect(args.submissions.resolve(), grader.notebook, scratch)
        except (FileNotFoundError, ValueError, zipfile.BadZipFile) as error:
            parser.error(str(error))
        if not submissions:
            parser.error(f"no .ipynb files found in {args.submissions}")
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(grader.grade, submissions))
        # Every nbgrader run, and so every sandbox, has ended: only now is anything written to --out.
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        print(write_outputs(grader, results, scratch / "logs"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
