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
import hashlib
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
from course_grading.allowlist import gadget_attributes
from course_grading.course import REPO, SOLUTIONS, Course, font_cache
from course_grading.feedback import feedback_html
from course_grading.preprocessors import screen_answers
from course_grading.scan import scan_notebook

CANVAS = re.compile(r"^(?P<student>[A-Za-z0-9-]+?)(?:_LATE|_late)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<student>.+?)_(?P<id>\d+)_assignsubmission_file_?$")
LOG_CHARS = 200_000  # kept of each student's part of nbgrader's log
STUDENT_TIMEOUT_S = 1200  # the most one student's notebook may take; a batch gets this per student


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
    # (name slug, who: the platform's user id, or else the file or folder as handed in) -> notebooks
    people: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(source.rglob("*.ipynb")):
        if any(part.startswith((".", "__MACOSX")) for part in path.relative_to(source).parts):
            continue
        relative = path.relative_to(source)
        canvas = CANVAS.match(path.stem)
        if len(relative.parts) == 1:
            student, who = (canvas["student"], canvas["user"]) if canvas else (path.stem, f"file {path.name}")
        else:
            top = relative.parts[0]
            moodle = MOODLE.match(top)
            student, who = (moodle["student"], moodle["id"]) if moodle else (top, f"folder {top}")
        people.setdefault((slug(student), who), []).append(path)
    found = {student_id(name, who, people): paths for (name, who), paths in people.items()}
    submissions = []
    for student, paths in sorted(found.items()):
        named = [p for p in paths if notebook.removesuffix(".ipynb") in p.name]
        chosen = max(named or paths, key=_submission_order)
        sub = Submission(student, chosen)
        if len(paths) > 1:
            sub.notes.append(f"{len(paths)} notebooks found, graded {chosen.name!r}")
        submissions.append(sub)
    return submissions


def student_id(name: str, who: str, people: dict[tuple[str, str], list[Path]]) -> str:
    """The name slug, unless several people share it: then the platform id, or a digest of the file name.

    Two people are never merged, whatever their names: a file that only looks
    like another student's (``carol_.ipynb`` beside ``carol.ipynb``) is another student.
    """
    if sum(1 for other, _ in people if other == name) == 1:
        return name
    if who.isdigit():
        return f"{name}-{who}"
    return f"{name}-{hashlib.sha256(who.encode()).hexdigest()[:6]}"


def _submission_order(path: Path) -> tuple[int, str]:
    """Later submissions last: Canvas numbers them (the submission id), otherwise by name."""
    canvas = CANVAS.match(path.stem)
    return (int(canvas["sub"]) if canvas else -1, path.name)


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
        with ThreadPoolExecutor(max_workers=1) as pool:
            generated = pool.submit(self.template.generate)
            # While nbgrader generates the release: import what screening answers needs, once.
            gadget_attributes()
            font_cache()
            generated.result()
        self.release = self.template.release_path
        self.source = nbformat.read(SOLUTIONS / assignment / self.notebook, as_version=4)
        self.points = self.template.points()
        self.confinement = "bubblewrap" if confined else "none"

    def grade(self, batch: list[Submission], name: str) -> list[Result]:
        """Grade a batch of submissions in one nbgrader run; never raises.

        Each student still gets a fresh kernel in a sandbox of its own; one
        nbgrader process (and course folder, and gradebook copy) per batch
        only saves starting nbgrader again for every student. A failure is
        that student's status, with its cause.
        """
        results = {sub.student: Result(sub.student, flags=list(sub.notes)) for sub in batch}
        course = Course(self.scratch / "batches" / name, self.assignment, confined=self.confined,
                        template=self.template)
        pending: dict[str, nbformat.NotebookNode] = {}
        for sub in batch:
            result = results[sub.student]
            try:
                nb = nbformat.read(sub.path, as_version=4)
                result.flags += course.submit(sub.student, nb)
                pending[sub.student] = nb
            except Exception as error:  # an unreadable notebook is reported, and scores 0
                result.status = f"not graded: not a readable notebook ({type(error).__name__}: {str(error)[:120]})"
                result.flags.append("unreadable notebook")
        if pending:
            self._grade_pending(course, batch, pending, results)
        for result in results.values():
            if result.status != "graded":
                result.cells = {cell: 0.0 for cell in self.points}
                result.feedback = None
        return [results[sub.student] for sub in batch]

    def _grade_pending(self, course: Course, batch: list[Submission], pending: dict[str, nbformat.NotebookNode],
                       results: dict[str, Result]) -> None:
        timeout = STUDENT_TIMEOUT_S * len(pending)
        with ThreadPoolExecutor(max_workers=1) as pool:
            run = pool.submit(course.autograde, cell_timeout=self.cell_timeout, timeout=timeout)
            for sub in batch:  # the report's notes, while nbgrader grades
                if sub.student in pending:
                    self._review(sub, pending[sub.student], results[sub.student])
            try:
                log = run.result().stderr
            except subprocess.TimeoutExpired as error:
                log = (error.stderr or b"").decode(errors="replace") if isinstance(error.stderr, bytes) else (
                    error.stderr or "")
                log += f"\n[make grade] the batch took over {timeout} s and was stopped"
        self._read_results(course, list(pending), results, log)

    def _review(self, sub: Submission, nb: nbformat.NotebookNode, result: Result) -> None:
        """Flags from the scan, and the answers the allowlist does not let run (with the reasons)."""
        try:
            result.flags += [str(f) for f in scan_notebook(sub.path, self.release)]
            for grade_id, screened in screen_answers(self.source, nb).items():
                result.review += [f"{grade_id}: not run: {problem}" for problem in screened.problems]
                result.review += [f"{grade_id}: left out: {item}" for item in screened.refused]
        except Exception as error:  # the grade does not depend on this review: note it for a human
            result.flags.append(f"could not be scanned ({type(error).__name__}: {str(error)[:120]})")

    def _read_results(self, course: Course, students: list[str], results: dict[str, Result], log: str) -> None:
        logs = split_log(log, students)
        for student in students:
            result = results[student]
            self._keep_log(student, logs[student][-LOG_CHARS:])
            try:
                scores = course.auto_scores(student, self.points)
                if scores is None:
                    result.status = f"not graded: {failure_cause(logs[student])}"
                    continue
                graded = nbformat.read(course.autograded_path(student), as_version=4)
                result.cells = scores = no_credit_for_results_or_errors(graded, scores)
                result.feedback = feedback_html(graded, scores, self.points, f"{self.assignment}: {student}")
            except Exception as error:
                result.status = f"not graded: {type(error).__name__}: {str(error)[:160]}"

    def _keep_log(self, student: str, log: str) -> None:
        logs = self.scratch / "logs"
        logs.mkdir(exist_ok=True)
        (logs / f"{student}.log").write_text(log)


def no_credit_for_results_or_errors(graded: nbformat.NotebookNode, scores: dict[str, float]) -> dict[str, float]:
    """A second look at each test cell's outputs, independent of nbgrader's: an error, or any output
    value (test cells end in a statement, so they have none), means no points for that cell."""
    checked = dict(scores)
    for cell in graded.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in checked and cell.get("cell_type") == "code":
            if any(o.get("output_type") in ("error", "execute_result") for o in cell.get("outputs", [])):
                checked[grade_id] = 0.0
    return checked


def split_log(log: str, students: list[str]) -> dict[str, str]:
    """nbgrader's log of a batch, cut into each student's part.

    nbgrader grades a batch's students in sorted order and starts each with a
    "Creating/updating student" line: only the next expected student's marker,
    at the start of a line, opens a new part, so a marker that turns up out of
    turn (text a kernel got into the log) cannot move lines to a classmate.
    """
    parts = {student: "" for student in students}
    order = sorted(students)
    current: str | None = None
    for line in log.splitlines(keepends=True):
        expected = order[order.index(current) + 1] if current is not None and current != order[-1] else (
            order[0] if current is None else None)
        if expected is not None and line.startswith(f"[AutogradeApp | INFO] Creating/updating student with ID '{expected}'"):
            current = expected
        if current is not None:
            parts[current] += line
        else:
            for student in parts:
                parts[student] += line
    return parts


def failure_cause(log: str) -> str:
    """The most telling line of an nbgrader log for a notebook that was not graded to the end."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for pattern in ("Kernel died", "Timeout", "timed out", "MemoryError", "Error:", "ERROR"):
        for line in lines:
            if pattern in line and "Please see" not in line:
                return f"the notebook could not be run to the end ({line[:200]})"
    return f"the notebook could not be run to the end ({(lines or ['no output'])[-1][:200]})"


def _printable(line: str) -> str:
    """One line of the report: control characters (from file names, say) cannot start a new line."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in line)


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
    summary = "\n".join(_printable(line) for line in lines)
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
        batches = [submissions[i::args.jobs] for i in range(args.jobs)]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = pool.map(grader.grade, [b for b in batches if b], [f"batch{i}" for i, b in enumerate(batches) if b])
        by_student = {r.student: r for batch in done for r in batch}
        results = [by_student[sub.student] for sub in submissions]
        # Every nbgrader run, and so every sandbox, has ended: only now is anything written to --out.
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        print(write_outputs(grader, results, scratch / "logs"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
