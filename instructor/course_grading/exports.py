"""Grades in the files the learning platforms import, matched by the ids their downloads gave.

- ``canvas-grades.csv``, for Canvas's Gradebook > Import: the columns Student,
  ID (the Canvas user id), SIS User ID, SIS Login ID and Section (left empty:
  Canvas matches a row by ID), then one column for the assignment, after a
  "Points Possible" row. Canvas matches the column to an assignment by its
  title, ``Name (assignment id)`` as in its own export; any other title is
  offered as a new assignment, or to map to one, on the import page.
- ``moodle-grades.csv``, for Moodle's assignment > "Upload grading worksheet"
  (offline grading worksheet): Identifier (``Participant <id>``), Full name,
  Grade, Maximum Grade and Last modified (grade). Moodle requires Identifier,
  Grade and Last modified (grade); it skips a grade changed in Moodle after
  that time, unless told to ignore it.

Scores are the final ones (after any late penalty), from each student's
record: grades.csv's ``score`` column, so that a row edited by hand is
exported as edited. A student who was not graded is left out of both files,
so that the platform keeps whatever grade it has, for you to decide; the
report counts them. A provisional mark (part of the answers not run, status
``provisional`` in grades.csv) goes to ``canvas-grades-provisional.csv`` or
``moodle-grades-provisional.csv`` instead, in the same format: import it once
you have reviewed those students (or set their status to ``graded`` and run
again).
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from course_grading.results import StudentRecord, points_text, spreadsheet_text

CANVAS_FILE = "canvas-grades.csv"
MOODLE_FILE = "moodle-grades.csv"
PROVISIONAL = "-provisional"  # canvas-grades-provisional.csv, moodle-grades-provisional.csv
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)"]


def _exported(record: StudentRecord, platform: str) -> bool:
    return record.platform == platform and record.graded


def canvas_rows(records: list[StudentRecord], column: str, max_score: float) -> list[list[str]]:
    """The rows of Canvas's import file: header, Points Possible, then one row per Canvas student."""
    rows = [[*CANVAS_STUDENT_COLUMNS, column], ["Points Possible", "", "", "", "", f"{max_score:g}"]]
    for record in records:
        if _exported(record, "canvas"):
            rows.append([spreadsheet_text(record.name), spreadsheet_text(record.user_id), "", "", "",
                         points_text(record.score)])
    return rows


def moodle_rows(records: list[StudentRecord], max_score: float, now: datetime) -> list[list[str]]:
    """The rows of Moodle's grading worksheet: header, then one row per Moodle participant."""
    modified = now.astimezone().isoformat(timespec="seconds")
    rows = [list(MOODLE_COLUMNS)]
    for record in records:
        if _exported(record, "moodle"):
            rows.append([f"Participant {spreadsheet_text(record.user_id)}", spreadsheet_text(record.name),
                         f"{record.score:.2f}", f"{max_score:.2f}", modified])
    return rows


def write_exports(records: list[StudentRecord], folder: Path, assignment_column: str, max_score: float,
                  now: datetime | None = None) -> list[str]:
    """Write the platform files that have students; returns the report's lines about them."""
    lines = []
    final = [r for r in records if not r.provisional]
    provisional = [r for r in records if r.provisional]
    for name, platform, header_rows, make in (
            (CANVAS_FILE, "Canvas", 2, lambda chosen: canvas_rows(chosen, assignment_column, max_score)),
            (MOODLE_FILE, "Moodle", 1, lambda chosen: moodle_rows(chosen, max_score, now or datetime.now()))):
        rows = make(final)
        if len(rows) > header_rows:
            _write_csv(folder / name, rows)
            lines.append(f"{name}: {len(rows) - header_rows} student(s), to import into {platform}")
        held = folder / name.replace(".csv", f"{PROVISIONAL}.csv")
        rows = make(provisional)
        if len(rows) > header_rows or held.exists():  # rewritten when it exists, so that no reviewed mark stays
            _write_csv(held, rows)
        if len(rows) > header_rows:
            lines.append(f"{held.name}: {len(rows) - header_rows} provisional mark(s) (answers not run): review "
                         f"those students before you import it into {platform}")
    not_graded = sum(1 for r in records if r.platform in ("canvas", "moodle") and not r.graded)
    if not_graded:
        lines.append(f"{not_graded} student(s) not graded are left out of the platform files, for you to decide")
    others = sum(1 for r in records if r.platform not in ("canvas", "moodle"))
    if others:
        lines.append(f"{others} student(s) from plain folders or files are in grades.csv only (no platform id)")
    return lines


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
