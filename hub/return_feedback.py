"""Put `make grade`'s feedback pages where nbgrader's release_feedback returns them through the exchange.

    python hub/return_feedback.py 01_sigmoid_bce [--course DIR] [--results DIR]

`make grade` writes one page per student to ``grading/<assignment>/feedback/``
(no hidden tests, no script). nbgrader's ``release_feedback`` sends what it
finds in ``feedback/<student>/<assignment>/`` of the course folder, each page
beside the ``timestamp.txt`` and ``submission_secret.txt`` that ``nbgrader
collect`` left in ``submitted/<student>/<assignment>/``: the secret is what
lets only that student's server find the page. This copies each graded
student's page there; then release it (Formgrader, Manage Assignments,
"release feedback", or ``nbgrader release_feedback <assignment>``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from course_grading.results import read_records


def stage(assignment: str, course: Path, results: Path) -> list[str]:
    """Copy each graded student's feedback page into the course's feedback/ folder; return their ids."""
    staged = []
    for record in read_records(results):
        page = results / "feedback" / f"{record.student}.html"
        # A hub's submissions come as one folder per nbgrader student id: the platform's user id.
        student = record.user_id if record.platform == "folder" else record.student
        submitted = course / "submitted" / student / assignment
        if not record.graded or not page.is_file() or not (submitted / "submission_secret.txt").is_file():
            continue
        target = course / "feedback" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, target / f"{assignment}.html")
        for name in ("timestamp.txt", "submission_secret.txt"):
            shutil.copyfile(submitted / name, target / name)
        staged.append(student)
    return staged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="assignment id, e.g. 01_sigmoid_bce")
    parser.add_argument("--course", type=Path, default=Path("."), help="the nbgrader course folder (default: .)")
    parser.add_argument("--results", type=Path, help="make grade's results (default: COURSE/grading/ASSIGNMENT)")
    args = parser.parse_args(argv)
    results = args.results or args.course / "grading" / args.assignment
    if not (results / "grades.csv").is_file():
        parser.error(f"no grades.csv in {results}: run make grade first (or give --results)")
    staged = stage(args.assignment, args.course, results)
    print(f"feedback of {len(staged)} student(s) staged in {args.course / 'feedback'}: {', '.join(staged) or 'none'}\n"
          f"release it: Formgrader > Manage Assignments, or nbgrader release_feedback {args.assignment}")
    return 0 if staged else 1


if __name__ == "__main__":
    sys.exit(main())
