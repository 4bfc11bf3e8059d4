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
    """Whether a student's notebook was graded to the end; grades.csv's status column starts with it."""

    GRADED = "graded"
    NOT_GRADED = "not graded"


def is_graded(record: Mapping[str, Any]) -> bool:
    """True for a row of grades.csv whose notebook was graded (not one that failed, with its cause)."""
    return record.get("status") == Status.GRADED.value


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


@dataclass
class Graded:
    """One student's outcome of this run, as the results folder stores it."""

    row: list[str]
    details: dict[str, Any]
    feedback: str | None = None

    @property
    def student(self) -> str:
        return self.row[0]


@dataclass
class ResultsFolder:
    """grades.csv's rows (as written), details.json and policy.json of one results folder."""

    path: Path
    header: list[str]
    rows: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    policy: LatePolicy | None = None

    @classmethod
    def open(cls, path: Path, cells: list[str]) -> ResultsFolder:
        """The folder's results so far (none if it is new); refuses a grades.csv this run cannot merge with."""
        folder = cls(path, header(cells))
        grades = path / "grades.csv"
        if not grades.is_file():
            return folder
        with open(grades, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or rows[0] != folder.header:
            found = rows[0] if rows else []
            missing = [c for c in folder.header if c not in found]
            raise ValueError(
                f"--out {path} holds a grades.csv this run cannot merge with (columns missing: "
                f"{', '.join(missing) or 'none, but in another order'}): it is from another assignment or an "
                "older make grade. Choose another --out, or move that folder away.")
        for row in rows[1:]:
            if row:
                folder.rows[row[0]] = row
        for name in ("details.json", "policy.json"):
            if (path / name).is_file():
                try:
                    data = json.loads((path / name).read_text(encoding="utf-8"))
                    if name == "details.json":
                        folder.details = dict(data)
                    else:
                        folder.policy = policy_from_json(data)
                except (ValueError, TypeError, AttributeError) as error:
                    raise ValueError(f"{path / name} cannot be read ({error}): restore it from {path / 'history'}, "
                                     "or move it away") from None
        return folder

    def record(self, student: str) -> dict[str, str]:
        """A student's row as {column: value}."""
        return dict(zip(self.header, self.rows[student]))

    def records(self) -> list[dict[str, str]]:
        """Every row as {column: value}, sorted by student id."""
        return [self.record(student) for student in sorted(self.rows)]

    def known(self) -> dict[Key, tuple[str, str]]:
        """{(platform, user id, name slug): (student id, name)} of every student in the folder."""
        return {(r["platform"], from_spreadsheet_text(r["user_id"]), slug(from_spreadsheet_text(r["name"]))):
                (r["student"], from_spreadsheet_text(r["name"])) for r in self.records()}

    def save(self, graded: list[Graded], logs: Path | None, policy: LatePolicy | None) -> None:
        """Merge this run's students in, keeping a copy of what changes in history/."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._keep_history([g.student for g in graded])
        for g in graded:
            self.rows[g.student] = g.row
            self.details[g.student] = g.details
        feedback = self.path / "feedback"
        feedback.mkdir(exist_ok=True)
        for g in graded:
            page = feedback / f"{g.student}.html"
            if g.feedback is not None:
                page.write_text(g.feedback, encoding="utf-8")
            elif page.exists():
                page.unlink()  # an older page, kept in history/: it no longer matches the row
        if logs is not None and logs.is_dir():
            shutil.copytree(logs, self.path / "logs", dirs_exist_ok=True)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(self.header)
        writer.writerows(self.rows[student] for student in sorted(self.rows))
        _write_atomically(self.path / "grades.csv", buffer.getvalue())
        _write_atomically(self.path / "details.json", json.dumps(self.details, indent=1, sort_keys=True,
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
