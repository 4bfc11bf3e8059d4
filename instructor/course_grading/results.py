"""The results folder of one assignment, merged student by student: nothing in it is ever deleted.

``grades.csv`` has one row per student, keyed by the platform's id (columns
``platform``, ``user_id`` and the ``name`` it came with; ``student`` is the id
the files are named by).
A run replaces the rows of the students it graded and keeps every other row
as it was, byte for byte (edits by hand included). Before anything is
rewritten, the previous ``grades.csv``, ``details.json`` and ``report.txt``,
and the feedback and log of each regraded student, are copied to
``history/<date-time>/``. ``details.json`` keeps, per student, what the
report shows beyond the row (flags, answers to review, failure messages);
``policy.json`` the late policy of the last whole-class run.

Everything downstream of the grader reads one :class:`StudentRecord` per
student: the report, the platform files, the statistics, the histogram, the
nbgrader gradebook and the hub's feedback return. A row kept from an earlier
run is parsed into one once, when the folder is opened; a value edited by hand
into something its column cannot hold (``EX`` as a score) is refused then,
with the student and the column named.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from course_grading.lateness import LatePolicy
from course_grading.submissions import Key, slug


class Status(str, Enum):
    """Whether a student's notebook was graded to the end, and whether its marks are final; grades.csv's status
    column starts with it.

    A mark is provisional when the grader did not run part of the student's
    answers (the allowlist refused it): it stands until an instructor has
    looked, and then changes the status to ``graded`` by hand (and the mark, if
    need be).
    """

    GRADED = "graded"
    PROVISIONAL = "provisional"
    NOT_GRADED = "not graded"


def spreadsheet_text(value: str) -> str:
    """A name or id that a spreadsheet shows as text: one that starts like a formula (=, +, -, @, a tab or a
    carriage return) gets a leading apostrophe, so that opening grades.csv or a platform file runs nothing."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def from_spreadsheet_text(value: str) -> str:
    """The name or id :func:`spreadsheet_text` was given."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


COLUMNS = ("student", "name", "platform", "user_id", "submitted", "late_marker", "due", "days_late",
           "raw_score", "penalty", "score", "max_score", "status", "flags", "needs_review")


def header(cells: list[str]) -> list[str]:
    """grades.csv's columns: who, when, the scores, then one column per test cell."""
    return [*COLUMNS, *cells]


@dataclass(frozen=True)
class ReviewItem:
    """Part of an answer the allowlist did not let run: which answer, what happened to it, and why."""

    grade_id: str
    verdict: str  # "not run" (the whole answer) or "left out" (one top-level statement)
    reason: str

    def __str__(self) -> str:
        return f"{self.grade_id}: {self.verdict}: {self.reason}"

    @classmethod
    def parse(cls, text: str) -> ReviewItem:
        """The item :meth:`__str__` wrote (details.json keeps items as text)."""
        grade_id, verdict, reason = (text.split(": ", 2) + ["", ""])[:3]
        return cls(grade_id, verdict, reason)


@dataclass
class StudentRecord:
    """One student's outcome: what grades.csv, details.json, the report, the platform files, the statistics
    and the gradebook all read.

    Made once by the grader (:func:`course_grading.grade.student_record`), or
    parsed once from a row of grades.csv (:meth:`from_row`, a row edited by
    hand included); nothing downstream reads a number back from text.
    """

    student: str
    name: str
    platform: str
    user_id: str
    submitted: datetime | None = None
    late_marker: str = ""
    due: datetime | None = None
    days_late: int | None = None
    raw_score: float = 0.0
    penalty: float = 0.0
    score: float = 0.0  # after the late penalty: what the platforms get
    max_score: float = 0.0
    status: Status = Status.GRADED
    cause: str = ""  # why the notebook was not graded
    cells: dict[str, float] = field(default_factory=dict)  # test cell -> points
    file: str = ""  # the file handed in
    flags: list[str] = field(default_factory=list)
    review: list[ReviewItem] = field(default_factory=list)  # answers the allowlist did not let run
    failures: dict[str, str] = field(default_factory=dict)  # test cell -> the last line of its error

    @property
    def graded(self) -> bool:
        """The notebook was graded to the end (its marks may still be provisional)."""
        return self.status is not Status.NOT_GRADED

    @property
    def provisional(self) -> bool:
        return self.status is Status.PROVISIONAL

    @property
    def status_text(self) -> str:
        """grades.csv's status column: "graded", "provisional: <why>" or "not graded: <cause>"."""
        return self.status.value if self.status is Status.GRADED else f"{self.status.value}: {self.cause}"

    @property
    def needs_review(self) -> list[str]:
        """The answers (grade ids) a human should look at."""
        return sorted({item.grade_id for item in self.review})

    def row(self, cells: list[str]) -> list[str]:
        """The record as a row of grades.csv with test cells ``cells``."""
        return [self.student, spreadsheet_text(self.name), self.platform, spreadsheet_text(self.user_id),
                self.submitted.isoformat(timespec="seconds") if self.submitted else "", self.late_marker,
                self.due.isoformat(timespec="minutes") if self.due else "",
                "" if self.days_late is None else str(self.days_late), points_text(self.raw_score),
                points_text(self.penalty), points_text(self.score), points_text(self.max_score), self.status_text,
                str(len(self.flags)), " ".join(self.needs_review),
                *(points_text(self.cells.get(c, 0.0)) for c in cells)]

    def details(self) -> dict[str, Any]:
        """The record's entry in details.json: what the report shows beyond the row."""
        return {"file": self.file, "flags": self.flags, "review": [str(item) for item in self.review],
                "failures": self.failures}

    @classmethod
    def from_row(cls, header: list[str], row: list[str], details: Mapping[str, Any]) -> StudentRecord:
        """Parse a row of grades.csv (and its details.json entry); a value that is not what its column holds
        raises a ValueError that names the student and the column."""
        values = dict(zip(header, row + [""] * (len(header) - len(row))))
        student = values["student"]

        def parsed(column: str, parse: Any) -> Any:
            text = values[column]
            try:
                return parse(text) if text else None
            except ValueError:
                raise ValueError(f"grades.csv, student {student}, column {column}: {text!r} is not "
                                 f"{_KINDS[parse]}: correct it by hand, or restore grades.csv from history/") from None

        status, _, cause = values["status"].partition(": ")
        if status not in (s.value for s in Status):
            raise ValueError(f"grades.csv, student {student}, column status: {values['status']!r} is none of "
                             "'graded', 'provisional: <why>' and 'not graded: <cause>': correct it by hand, or "
                             "restore grades.csv from history/")
        flags = details.get("flags", [])
        return cls(
            student, from_spreadsheet_text(values["name"]), values["platform"],
            from_spreadsheet_text(values["user_id"]), parsed("submitted", datetime.fromisoformat),
            values["late_marker"], parsed("due", datetime.fromisoformat), parsed("days_late", int),
            parsed("raw_score", float) or 0.0, parsed("penalty", float) or 0.0, parsed("score", float) or 0.0,
            parsed("max_score", float) or 0.0, Status(status), cause,
            {c: parsed(c, float) or 0.0 for c in header[len(COLUMNS):]}, str(details.get("file", "")),
            [str(f) for f in flags] if isinstance(flags, list) else [],
            [ReviewItem.parse(str(item)) for item in details.get("review", []) or []],
            {str(k): str(v) for k, v in (details.get("failures", {}) or {}).items()})


_KINDS = {float: "a number", int: "a whole number", datetime.fromisoformat: "a date and time (2026-12-01T23:59)"}


def points_text(value: float) -> str:
    """A score as grades.csv writes it: 9, 7.2, 0.45."""
    return f"{round(value, 4):g}"


@dataclass
class ResultsFolder:
    """The records of one results folder (grades.csv parsed once, with details.json) and its policy.json."""

    path: Path
    header: list[str]
    records: dict[str, StudentRecord] = field(default_factory=dict)
    rows: dict[str, list[str]] = field(default_factory=dict)  # grades.csv as written: a row not regraded stays so
    policy: LatePolicy | None = None

    @property
    def cells(self) -> list[str]:
        """The test cells, in grades.csv's order."""
        return self.header[len(COLUMNS):]

    @classmethod
    def open(cls, path: Path, cells: list[str]) -> ResultsFolder:
        """The folder's results so far (none if it is new); refuses a grades.csv this run cannot merge with."""
        folder = cls(path, header(cells))
        grades = path / "grades.csv"
        if not grades.is_file():
            return folder
        rows = _read_csv(grades)
        if not rows or rows[0] != folder.header:
            found = rows[0] if rows else []
            missing = [c for c in folder.header if c not in found]
            raise ValueError(
                f"--out {path} holds a grades.csv this run cannot merge with (columns missing: "
                f"{', '.join(missing) or 'none, but in another order'}): it is from another assignment or an "
                "older make grade. Choose another --out, or move that folder away.")
        details: dict[str, Any] = {}
        for name in ("details.json", "policy.json"):
            if (path / name).is_file():
                try:
                    data = json.loads((path / name).read_text(encoding="utf-8"))
                    if name == "details.json":
                        details = dict(data)
                    else:
                        folder.policy = policy_from_json(data)
                except (ValueError, TypeError, AttributeError) as error:
                    raise ValueError(f"{path / name} cannot be read ({error}): restore it from {path / 'history'}, "
                                     "or move it away") from None
        for row in rows[1:]:
            if row:
                entry = details.get(row[0], {})
                folder.rows[row[0]] = row
                folder.records[row[0]] = StudentRecord.from_row(folder.header, row,
                                                                entry if isinstance(entry, dict) else {})
        return folder

    def sorted_records(self) -> list[StudentRecord]:
        """Every student's record, sorted by student id."""
        return [self.records[student] for student in sorted(self.records)]

    def known(self) -> dict[Key, tuple[str, str]]:
        """{(platform, user id, name slug): (student id, name)} of every student in the folder."""
        return {(r.platform, r.user_id, slug(r.name)): (r.student, r.name) for r in self.records.values()}

    def save(self, records: list[StudentRecord], feedback: Mapping[str, str | None], logs: Path | None,
             policy: LatePolicy | None) -> None:
        """Merge this run's students in (``feedback``: each one's page, or None), keeping a copy of what
        changes in history/."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._keep_history([r.student for r in records])
        for record in records:
            self.records[record.student] = record
            self.rows[record.student] = record.row(self.cells)
        pages = self.path / "feedback"
        pages.mkdir(exist_ok=True)
        for record in records:
            page = pages / f"{record.student}.html"
            text = feedback.get(record.student)
            if text is not None:
                page.write_text(text, encoding="utf-8")
            elif page.exists():
                page.unlink()  # an older page, kept in history/: it no longer matches the row
        if logs is not None and logs.is_dir():
            shutil.copytree(logs, self.path / "logs", dirs_exist_ok=True)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(self.header)
        writer.writerows(self.rows[student] for student in sorted(self.rows))
        _write_atomically(self.path / "grades.csv", buffer.getvalue())
        details = {student: record.details() for student, record in self.records.items()}
        _write_atomically(self.path / "details.json", json.dumps(details, indent=1, sort_keys=True,
                                                                 ensure_ascii=False) + "\n")
        if policy is not None:
            self.policy = policy
            _write_atomically(self.path / "policy.json", json.dumps(policy_to_json(policy), indent=1) + "\n")

    def _keep_history(self, students: list[str]) -> None:
        if not (self.path / "grades.csv").is_file():
            return
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        history = self.path / "history" / stamp
        number = 2
        while history.exists():
            history = self.path / "history" / f"{stamp}-{number}"
            number += 1
        history.mkdir(parents=True)
        for name in ("grades.csv", "details.json", "report.txt", "policy.json"):
            if (self.path / name).is_file():
                shutil.copy2(self.path / name, history / name)
        for student in students:
            for kind, suffix in (("feedback", ".html"), ("logs", ".log")):
                old = self.path / kind / f"{student}{suffix}"
                if old.is_file():
                    (history / kind).mkdir(exist_ok=True)
                    shutil.copy2(old, history / kind / old.name)


def read_records(path: Path) -> list[StudentRecord]:
    """The records of the results folder ``path`` (its grades.csv and details.json), sorted by student id."""
    rows = _read_csv(path / "grades.csv")
    cells = rows[0][len(COLUMNS):] if rows and rows[0][:len(COLUMNS)] == list(COLUMNS) else []
    return ResultsFolder.open(path, cells).sorted_records()


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(partial, path)


def policy_to_json(policy: LatePolicy) -> dict[str, Any]:
    return {"due": policy.due.isoformat(timespec="minutes") if policy.due else None,
            "late_penalty_percent_per_day": policy.percent_per_day, "late_penalty_max_percent": policy.max_percent}


def policy_from_json(data: dict[str, Any]) -> LatePolicy:
    due = data.get("due")
    return LatePolicy(datetime.fromisoformat(due) if due else None, float(data.get("late_penalty_percent_per_day", 0)),
                      float(data.get("late_penalty_max_percent", 100)))
