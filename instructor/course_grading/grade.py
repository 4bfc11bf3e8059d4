"""Grade a class's submissions for one assignment in one command.

    python -m course_grading.grade ASSIGNMENT SUBMISSIONS [--out DIR] [--jobs N] [--student ID ...]
        [--due 2026-12-01T23:59] [--late-penalty PERCENT_PER_DAY] [--late-penalty-max PERCENT]
        [--canvas-column TITLE] [--gradebook [--course DIR]]
    python -m course_grading.grade ASSIGNMENT --rebuild [--out DIR]

SUBMISSIONS is a folder or a .zip as a learning platform downloads it
(Canvas, Moodle, or one folder or file per student: see
:mod:`course_grading.submissions`); each student is known by the platform's id.

Each student is graded on their own, in a fresh nbgrader course holding only
their notebook and a copy of the gradebook. nbgrader rebuilds the notebook
from ``solutions/`` and runs only the answers' allowed definitions
(:mod:`course_grading.preprocessors`), in a kernel confined by the operating
system (:mod:`course_grading.confine`); without bubblewrap it refuses unless
``--unconfined`` is given. A failure for one student never stops the others.
When every run has ended, the results are merged into DIR (default
``grading/<assignment>``) student by student, nothing deleted
(:mod:`course_grading.results`): ``grades.csv``, ``feedback/<student>.html``
(text and images only, hidden tests removed), ``logs/`` (nbgrader's log per
student), the platforms' import files (:mod:`course_grading.exports`),
``totals.png`` and ``report.txt``, the summary also printed, with each test
cell's statistics (:mod:`course_grading.stats`). ``--student`` regrades only
the students named; a due date and a penalty apply :mod:`course_grading.lateness`;
``--gradebook`` also records the run in the course's nbgrader gradebook
(:mod:`course_grading.gradebook`). ``--rebuild`` grades nothing: it writes
the report, the platform files and the histogram again from grades.csv as it
is, after an edit by hand (a provisional mark reviewed, say).
"""

from __future__ import annotations

import argparse
import os
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
from course_grading.cells import grade_id as cell_grade_id
from course_grading.cells import points as cell_points
from course_grading.course import Course, font_cache
from course_grading.exports import write_exports
from course_grading.feedback import feedback_html
from course_grading.gradebook import CourseEntry, course_id, write_to_course
from course_grading.lateness import LatePolicy, gradebook_due, parse_due
from course_grading.preprocessors import answer_cells, screen_answers
from course_grading.results import ResultsFolder, ReviewItem, Status, StudentRecord, points_text
from course_grading.scan import scan_notebook
from course_grading.stats import cell_stats, failures, save_histogram, stats_lines
from course_grading.submissions import CANVAS, MOODLE, Submission, collect, slug, student_id  # noqa: F401
from course_utils.layout import REPO, SOLUTIONS

LOG_CHARS = 200_000  # kept of each student's part of nbgrader's log
STUDENT_TIMEOUT_S = 1200  # the most one student's notebook may take; a batch gets this per student
HISTOGRAM = "totals.png"


@dataclass
class Result:
    """The grader's outcome of one student's notebook; :func:`student_record` adds who, when and the penalty."""

    student: str
    status: Status = Status.GRADED
    cause: str = ""  # why the notebook was not graded
    cells: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    review: list[ReviewItem] = field(default_factory=list)  # answers the allowlist did not let run
    feedback: str | None = None
    failures: dict[str, str] = field(default_factory=dict)  # test cell -> the last line of its error
    handed_in: Path | None = None  # the notebook nbgrader graded, and the graded one (until the run ends)
    autograded: Path | None = None

    @property
    def score(self) -> float:
        return sum(self.cells.values())

    def fail(self, cause: str) -> None:
        """The notebook could not be graded, for ``cause``: it scores 0."""
        self.status, self.cause = Status.NOT_GRADED, cause


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
                result.fail(f"not a readable notebook ({type(error).__name__}: {str(error)[:120]})")
                result.flags.append("unreadable notebook")
        if pending:
            self._grade_pending(course, batch, pending, results)
        for result in results.values():
            if result.status is not Status.GRADED:
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
                    flags, review = self._review(sub, pending[sub.student])
                    results[sub.student].flags += flags
                    results[sub.student].review += review
            try:
                log = run.result().stderr
            except subprocess.TimeoutExpired as error:
                log = (error.stderr or b"").decode(errors="replace") if isinstance(error.stderr, bytes) else (
                    error.stderr or "")
                log += f"\n[make grade] the batch took over {timeout} s and was stopped"
        self._read_results(course, pending, results, log)

    def _review(self, sub: Submission, nb: nbformat.NotebookNode) -> tuple[list[str], list[ReviewItem]]:
        """Flags from the scan, and the answers the allowlist does not let run (with the reasons)."""
        # The grade depends on neither: a failure of either is noted for a human, and the other still counts.
        flags: list[str] = []
        review: list[ReviewItem] = []
        try:
            flags += [str(f) for f in scan_notebook(sub.path, self.release)]
        except Exception as error:
            flags.append(f"could not be scanned ({type(error).__name__}: {str(error)[:120]})")
        try:
            for grade_id, screened in screen_answers(self.source, nb).items():
                review += [ReviewItem(grade_id, "not run", problem) for problem in screened.problems]
                review += [ReviewItem(grade_id, "left out", item) for item in screened.refused]
        except Exception as error:  # nbgrader's own screening may have refused an answer: a human looks at all
            reason = f"answers could not be screened ({type(error).__name__}: {str(error)[:120]})"
            flags.append(reason)
            review.append(ReviewItem("every answer", "not screened", reason))
        return flags, review

    def _read_results(self, course: Course, pending: dict[str, nbformat.NotebookNode], results: dict[str, Result],
                      log: str) -> None:
        logs = split_log(log, list(pending))
        for student, handed_in in pending.items():
            result = results[student]
            self._keep_log(student, logs[student][-LOG_CHARS:])
            try:
                scores = course.auto_scores(student, self.points)
                if scores is None:
                    result.fail(failure_cause(logs[student]))
                    continue
                graded = nbformat.read(course.autograded_path(student), as_version=4)
                spent = time_budget_spent(graded)
                if spent:
                    result.fail(spent)
                    continue
                result.cells = scores = no_credit_for_results_or_errors(graded, scores)
                result.failures = failures(graded, scores, self.points)
                result.handed_in, result.autograded = course.submitted_path(student), course.autograded_path(student)
                answers = {gid: str(cell.source) for gid, cell in answer_cells(handed_in).items()}
                result.feedback = feedback_html(graded, scores, self.points, f"{self.assignment}: {student}",
                                                result.review, answers)
            except Exception as error:
                result.fail(f"{type(error).__name__}: {str(error)[:160]}")

    def _keep_log(self, student: str, log: str) -> None:
        logs = self.scratch / "logs"
        logs.mkdir(exist_ok=True)
        (logs / f"{student}.log").write_text(log)


def time_budget_spent(graded: nbformat.NotebookNode) -> str:
    """"time budget: ..." when the student's answers ran out of the notebook's time budget, else "".

    The budget (``COURSE_GRADER_STUDENT_SECONDS``) is kept by the trusted kernel
    (:class:`course_grading.boundary.Boundary`): once spent, every later call of
    the student's code fails at once, so one student never holds up the class.
    The error's name can only come from the grader: a student's exception
    reaches the notebook as a builtin exception or a RuntimeError.
    """
    for cell in graded.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "AnswerTimeout" \
                    and "time budget" in str(output.get("evalue", "")):
                return f"time budget: {str(output.get('evalue'))[:160]}"
    return ""


def no_credit_for_results_or_errors(graded: nbformat.NotebookNode, scores: dict[str, float]) -> dict[str, float]:
    """A second look at each test cell's outputs, independent of nbgrader's: an error, or any output
    value (test cells end in a statement, so they have none), means no points for that cell."""
    checked = dict(scores)
    for cell in graded.cells:
        grade_id = cell_grade_id(cell)
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
        if expected is not None and line.startswith(
                f"[AutogradeApp | INFO] Creating/updating student with ID '{expected}'"):
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


def student_record(sub: Submission, result: Result, points: dict[str, float], policy: LatePolicy) -> StudentRecord:
    """A student's record: who and when (from the download), the grader's result, the late penalty."""
    total = sum(points.values())
    days, notes = policy.days_late(sub.submitted, sub.late_marker, sub.platform)
    raw = result.score
    penalty = policy.penalty(raw, total, days)
    status, cause = result.status, result.cause
    if status is Status.GRADED and result.review:
        answers = " ".join(sorted({item.grade_id for item in result.review}))
        status, cause = Status.PROVISIONAL, f"answers not run ({answers}): review them and set this to graded"
    return StudentRecord(
        sub.student, sub.name, sub.platform, sub.user_id, sub.submitted, sub.late_marker, policy.due, days,
        raw_score=raw, penalty=penalty, score=max(raw - penalty, 0.0), max_score=total, status=status,
        cause=cause, cells={c: result.cells.get(c, 0.0) for c in points}, file=sub.path.name,
        flags=result.flags + notes, review=list(result.review), failures=dict(result.failures))


def course_entry(record: StudentRecord, result: Result) -> CourseEntry:
    """What nbgrader's gradebook gets of one student (see :mod:`course_grading.gradebook`)."""
    return CourseEntry(record.student, record.name, record.user_id, record.submitted,
                       dict(record.cells) if record.graded else None, record.penalty, result.handed_in,
                       result.autograded, review=record.provisional)


@dataclass
class Run:
    """What this run did, for the report: the students graded, and how many submissions were in the download."""

    students: list[str]
    found: int
    confinement: str
    policy: LatePolicy
    gradebook: Path | None = None  # the course folder whose gradebook got this run's students
    gradebook_error: str = ""


def report_lines(folder: ResultsFolder, points: dict[str, float], assignment: str, run: Run) -> list[str]:
    """The report: one line per student of the merged results (with their flags), then the totals."""
    records = folder.sorted_records()
    total = sum(points.values())
    policy = folder.policy or run.policy  # the class's; a regrade of some students may have had another due date
    lines = [f"{assignment}: {len(records)} student(s), {total:g} points each"]
    if policy.due:
        lines.append(f"due {policy.due:%Y-%m-%d %H:%M}; late penalty {policy.percent_per_day:g}% of {total:g} "
                     f"points per day late, at most {policy.max_percent:g}%")
    lines.append("")
    width = max([len(r.student) for r in records] + [7])
    for r in records:
        late = ""
        if r.days_late:
            late = f"  [{r.days_late} day(s) late: {points_text(r.raw_score)} - {points_text(r.penalty)}]"
        elif r.late_marker:
            late = f"  [marked {r.late_marker}]"
        if r.due != policy.due:
            late += f"  [due {r.due.isoformat(timespec='minutes') if r.due else 'none'}]"
        lines.append(f"{r.student:<{width}}  {points_text(r.score):>5} / {points_text(r.max_score)}  {r.status_text}"
                     f"  ({r.name}, {r.platform} {r.user_id})" + late
                     + (f"  [{len(r.flags)} flag(s)]" if r.flags else "")
                     + (f"  [needs review: {len(r.review)}]" if r.review else ""))
        lines += [f"{'':<{width}}    - needs review: {item}" for item in r.review]
        lines += [f"{'':<{width}}    - {flag}" for flag in r.flags]
    flagged = sum(1 for r in records if r.flags)
    review = sum(1 for r in records if r.review)
    not_graded = sum(1 for r in records if not r.graded)
    provisional = sum(1 for r in records if r.provisional)
    this_run = [folder.records[s] for s in run.students]
    kept = len(records) - len(this_run)
    out = folder.path
    lines += ["", f"grades: {out / 'grades.csv'}; feedback: {out / 'feedback'}; nbgrader logs: {out / 'logs'}",
              f"this run: {len(this_run)} of {run.found} student(s) in the download graded "
              f"({sum(1 for r in this_run if not r.graded)} not graded); "
              f"{kept} other student(s) kept as they were" if run.found else
              "this run: rebuilt from grades.csv as it is (edits by hand included); nothing graded",
              f"graded {len(records) - not_graded} (of them provisional, answers not run: {provisional}), "
              f"not graded {not_graded}, flagged for review {flagged}, answers not run (needs review) {review}",
              f"confinement: {run.confinement}"]
    if run.gradebook is not None and run.gradebook_error:
        lines.append(f"nbgrader gradebook: NOT written to {run.gradebook / 'gradebook.db'}: {run.gradebook_error}; "
                     "the results above are complete: rerun with --gradebook once the cause is fixed")
    elif run.gradebook is not None:
        lines.append(f"nbgrader gradebook: this run's {len(this_run)} student(s) written to "
                     f"{run.gradebook / 'gradebook.db'} (graded notebooks in {run.gradebook / 'autograded'})")
    return lines


def write_outputs(folder: ResultsFolder, points: dict[str, float], assignment: str, run: Run,
                  canvas_column: str) -> str:
    """Write report.txt, the platforms' files and totals.png from the merged results; returns the summary."""
    records = folder.sorted_records()
    total = sum(points.values())
    lines = report_lines(folder, points, assignment, run)
    lines += ["", *write_exports(records, folder.path, canvas_column, total)]
    lines += ["", *stats_lines(cell_stats(records, points))]
    drawn = save_histogram(records, total, folder.path / HISTOGRAM, assignment)
    lines.append(f"histogram of the {drawn} graded totals: {folder.path / HISTOGRAM}")
    summary = "\n".join(_printable(line) for line in lines)
    (folder.path / "report.txt").write_text(summary + "\n", encoding="utf-8")
    return summary


def late_policy(args: argparse.Namespace, stored: LatePolicy | None, gradebook: Path, assignment: str) -> LatePolicy:
    """The options given; else the results folder's policy; else nbgrader's due date for the assignment."""
    due = parse_due(args.due) if args.due else (stored.due if stored and stored.due else
                                                gradebook_due(gradebook, assignment))
    per_day = args.late_penalty if args.late_penalty is not None else (stored.percent_per_day if stored else 0.0)
    most = args.late_penalty_max if args.late_penalty_max is not None else (stored.max_percent if stored else 100.0)
    return LatePolicy(due, per_day, most)


def chosen_students(submissions: list[Submission], wanted: list[str], source: Path) -> list[Submission]:
    """The submissions of the students named by ``--student`` (a student id or the platform's user id)."""
    chosen = [s for s in submissions if s.student in wanted or s.user_id in wanted]
    found = {s.student for s in chosen} | {s.user_id for s in chosen}
    missing = [w for w in wanted if w not in found]
    if missing:
        known = ", ".join(s.student for s in submissions[:20]) + (", ..." if len(submissions) > 20 else "")
        raise ValueError(f"--student {', '.join(missing)}: no such student in {source}; give a student id "
                         f"of grades.csv or the platform's user id (students there: {known or 'none'})")
    return chosen


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="assignment id, e.g. 01_sigmoid_bce")
    parser.add_argument("submissions", type=Path, nargs="?", help="folder or .zip of submissions as downloaded")
    parser.add_argument("--rebuild", action="store_true",
                        help="grade nothing: rebuild report.txt, the platform files and totals.png from the results "
                             "folder's grades.csv as it is (after you edited it by hand)")
    parser.add_argument("--out", type=Path, help="results folder (default: grading/<assignment>); "
                        "an existing one is merged into, student by student")
    parser.add_argument("--student", action="append", default=[], metavar="ID",
                        help="grade only this student (student id or platform user id); repeatable")
    parser.add_argument("--due", help="due date, local time, e.g. 2026-12-01T23:59 "
                        "(default: the results folder's, else nbgrader's duedate for the assignment)")
    parser.add_argument("--late-penalty", type=float, metavar="PERCENT_PER_DAY",
                        help="percent of the maximum score taken off per day late (default 0)")
    parser.add_argument("--late-penalty-max", type=float, metavar="PERCENT",
                        help="the most the late penalty takes off, in percent (default 100)")
    parser.add_argument("--canvas-column", metavar="TITLE",
                        help="assignment column of canvas-grades.csv, as in Canvas's export, e.g. "
                             "'Notebook 1 (12345)' (default: the assignment id)")
    parser.add_argument("--gradebook", action="store_true",
                        help="also write the scores and graded notebooks into the course's nbgrader gradebook, "
                             "submitted/ and autograded/, for formgrader, nbgrader export and generate_feedback")
    parser.add_argument("--course", type=Path, metavar="DIR",
                        help="the nbgrader course folder for --gradebook (default: the repository root)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="students graded at once (default: 2 or the number of cores)")
    parser.add_argument("--cell-timeout", type=int, help="seconds a cell may run (default: nbgrader_config.py's)")
    parser.add_argument("--unconfined", action="store_true",
                        help="grade without OS confinement where bubblewrap is not available (trusted work only)")
    args = parser.parse_args(argv)
    if args.rebuild and (args.submissions is not None or args.student or args.gradebook):
        parser.error("--rebuild grades nothing: leave out SUBMISSIONS, --student and --gradebook")
    if not args.rebuild and args.submissions is None:
        parser.error("SUBMISSIONS is missing: give the folder or .zip of submissions as downloaded "
                     "(or --rebuild, to rebuild the report from grades.csv)")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.cell_timeout is not None and args.cell_timeout < 1:
        parser.error("--cell-timeout must be at least 1 second")
    if args.course is not None and not args.gradebook:
        parser.error("--course names the nbgrader course for --gradebook: add --gradebook, or leave --course out")
    args.course = (args.course or REPO).resolve()
    if args.due:
        try:
            parse_due(args.due)
        except ValueError as error:
            parser.error(str(error))
    return parser, args


def assignment_points(assignment: str) -> dict[str, float]:
    """{grade_id: points} of the assignment's test cells, from its source notebook in solutions/."""
    source = SOLUTIONS / assignment / f"{assignment}.ipynb"
    if not source.is_file():
        raise ValueError(f"unknown assignment {assignment!r}: no {source}")
    return cell_points(nbformat.read(source, as_version=4))


def rebuild(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``--rebuild``: the report, the platform files and the histogram again, from grades.csv as it is."""
    out = (args.out or REPO / "grading" / args.assignment).resolve()
    if not (out / "grades.csv").is_file():
        parser.error(f"--rebuild: no grades.csv in {out}: grade the class first (or give --out)")
    try:
        points = assignment_points(args.assignment)
        folder = ResultsFolder.open(out, list(points))
    except ValueError as error:
        parser.error(str(error))
    policy = folder.policy or late_policy(args, None, args.course / "gradebook.db", args.assignment)
    folder.save([], {}, None, None)  # grades.csv as it is; the old report to history/
    print(write_outputs(folder, points, args.assignment, Run([], 0, "none: --rebuild graded nothing", policy),
                        args.canvas_column or args.assignment))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    if args.rebuild:
        return rebuild(parser, args)
    available, why = confine.status()
    if not available and not confine.can_limit_kernels():
        print(f"make grade: grading cannot run on this system: {why}, and even --unconfined needs the process "
              "limits of Linux or macOS. On Windows, grade in WSL 2 (Ubuntu) or on a Linux machine.",
              file=sys.stderr)
        return 2
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
            folder = ResultsFolder.open(out, list(grader.points))
            policy = late_policy(args, folder.policy, args.course / "gradebook.db", args.assignment)
            if args.gradebook:
                course_id(args.course, args.assignment)
            submissions = collect(args.submissions.resolve(), grader.notebook, scratch, folder.known())
            if not submissions:
                raise ValueError(f"no .ipynb files found in {args.submissions}")
            found = len(submissions)
            if args.student:
                submissions = chosen_students(submissions, args.student, args.submissions)
        except (FileNotFoundError, ValueError, zipfile.BadZipFile) as error:
            parser.error(str(error))
        grader.confinement = why if available else f"NONE ({why}); graded with --unconfined"
        batches = [submissions[i::args.jobs] for i in range(args.jobs)]
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = pool.map(grader.grade, [b for b in batches if b], [f"batch{i}" for i, b in enumerate(batches) if b])
        by_student = {r.student: r for batch in done for r in batch}
        records = [student_record(sub, by_student[sub.student], grader.points, policy) for sub in submissions]
        # Every nbgrader run, and so every sandbox, has ended: only now is anything written to --out.
        folder.save(records, {r.student: by_student[r.student].feedback for r in records}, scratch / "logs",
                    None if args.student else policy)
        run = Run([r.student for r in records], found, grader.confinement, policy,
                  args.course if args.gradebook else None)
        if args.gradebook:
            try:
                write_to_course(args.course, args.assignment,
                                [course_entry(r, by_student[r.student]) for r in records])
            except Exception as error:  # the results folder is complete: say so, and what failed
                run.gradebook_error = f"{type(error).__name__}: {str(error)[:300]}"
        print(write_outputs(folder, grader.points, args.assignment, run, args.canvas_column or args.assignment))
    return 1 if run.gradebook_error else 0


if __name__ == "__main__":
    sys.exit(main())
