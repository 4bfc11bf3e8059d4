"""How long `make grade` takes on this machine: one full-course submission, and a class of 30.

Usage: make bench-grading   (or: python benchmarks/grading.py [--class-assignment ID] [--jobs N])

Builds synthetic submissions from the reference solution (course_grading.reference):
- one student's full course: the reference answer to every assignment, each
  graded with `python -m course_grading.grade`, times added up;
- a class of 30 for one assignment: a third right, a third blank, a third
  with one answer left blank, graded in one run by make grade, and the same
  30 notebooks graded side by side by plain ``nbgrader autograde`` (one
  process, the ordinary kernel, no sandbox) with the course's config.
Every score is checked against what the submission deserves, and the run
stops if one is wrong: a timing of a wrong grading means nothing. Notebook
04's data are chosen as ``make bench`` chooses them (the stand-in if the real
Fashion-MNIST is not in ``data/``).
Ends with one line:
  bench-grading: full_course_s=<s> class30_s=<s> class30_per_student_s=<s> plain30_per_student_s=<s>
                 speedup_vs_plain=<x> class_assignment=<id> jobs=<n> cores=<n>
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from bench import choose_data  # benchmarks/bench.py, beside this file

from course_grading.cells import is_solution
from course_grading.course import Course
from course_grading.reference import filled_submission
from course_utils.layout import RELEASE, assignments


def grade(assignment: str, folder: Path, jobs: int) -> tuple[float, dict[str, tuple[float, float]]]:
    """Seconds to grade ``folder`` with make grade's command, and each student's (score, max_score)."""
    out = folder.parent / f"results-{assignment}"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "course_grading.grade", assignment, str(folder), "--out",
                    str(out), "--jobs", str(jobs)],
                   check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    with open(out / "grades.csv", newline="") as f:
        scores = {row["student"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(f)}
    return seconds, scores


def grade_plain(assignment: str, folder: Path) -> tuple[float, dict[str, tuple[float, float]]]:
    """Seconds for plain `nbgrader autograde` of every notebook in ``folder`` (after generate), and the scores."""
    course = Course(folder.parent / f"plain-{assignment}", assignment, confined=False)
    course.generate()
    students = []
    for path in sorted(folder.glob("*.ipynb")):
        student = path.name.split("_", 1)[0]
        course.submit(student, nbformat.read(path, as_version=4))
        students.append(student)
    start = time.perf_counter()
    result = course.autograde(plain=True)
    seconds = time.perf_counter() - start
    expect(result.returncode == 0, f"plain nbgrader autograde failed: {result.stderr[-2000:]}")
    scores = {}
    for student in students:
        cells = course.scores(student)
        scores[student] = (sum(s for s, _ in cells.values()), sum(t for _, t in cells.values()))
    return seconds, scores


def expect(condition: bool, message: str) -> None:
    """A timing of a grading that went wrong means nothing: stop."""
    if not condition:
        sys.exit(f"bench-grading: {message}")


def class_of(assignment: str, n: int, folder: Path) -> None:
    release = RELEASE / assignment / f"{assignment}.ipynb"
    blank = nbformat.read(release, as_version=4)
    for i in range(n):
        nb = filled_submission(release, assignment)
        if i % 3 == 1:
            nb = blank
        elif i % 3 == 2:  # one answer left as handed out
            first = next(j for j, c in enumerate(nb.cells) if is_solution(c))
            nb.cells[first] = blank.cells[first]
        nbformat.write(nb, folder / f"student{i:02d}_{1000 + i}_{2000 + i}_{assignment}.ipynb")


def main() -> None:
    parser = argparse.ArgumentParser(description="Time make grade on synthetic submissions.")
    parser.add_argument("--class-assignment", default="01_sigmoid_bce")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    print(f"data for notebook 04: {choose_data()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        root = Path(tmp)
        full_course = 0.0
        for assignment in assignments():
            folder = root / "full" / assignment
            folder.mkdir(parents=True)
            release = RELEASE / assignment / f"{assignment}.ipynb"
            nbformat.write(filled_submission(release, assignment), folder / f"{assignment}.ipynb")
            seconds, scores = grade(assignment, folder, args.jobs)
            expect(len(scores) == 1 and all(score == top > 0 for score, top in scores.values()),
                   f"the reference answer to {assignment} did not get full marks: {scores}")
            print(f"  {assignment}: one reference submission graded in {seconds:.1f} s (full marks)", flush=True)
            full_course += seconds
        folder = root / "class" / args.class_assignment
        folder.mkdir(parents=True)
        class_of(args.class_assignment, 30, folder)
        class_s, scores = grade(args.class_assignment, folder, args.jobs)
        full = sum(score == top for score, top in scores.values())
        zero = sum(score == 0 for score, _ in scores.values())
        expect(len(scores) == 30 and full == 10 and zero == 10,
               f"expected 30 students, 10 with full marks and 10 with none; got {len(scores)}, {full}, {zero}")
        print(f"  class of 30 for {args.class_assignment}: make grade in {class_s:.1f} s "
              f"({full} full marks, {zero} zero, {30 - full - zero} in between, as built)", flush=True)
        plain_s, plain_scores = grade_plain(args.class_assignment, folder)
        expect(sorted(plain_scores.values()) == sorted(scores.values()),
               "plain nbgrader and make grade gave the class different scores")
        print(f"  the same class with plain nbgrader autograde: {plain_s:.1f} s (same scores)", flush=True)
    print(f"  per student: make grade {class_s / 30:.2f} s, plain nbgrader {plain_s / 30:.2f} s")
    print(f"bench-grading: full_course_s={full_course:.1f} class30_s={class_s:.1f} "
          f"class30_per_student_s={class_s / 30:.2f} plain30_per_student_s={plain_s / 30:.2f} "
          f"speedup_vs_plain={plain_s / class_s:.2f} class_assignment={args.class_assignment} "
          f"jobs={args.jobs} cores={os.cpu_count()}")


if __name__ == "__main__":
    main()
