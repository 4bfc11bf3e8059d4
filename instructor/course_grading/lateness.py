"""Late submissions: days late against a due date, and the penalty a policy takes off the total.

Times are compared as local times without a time zone, as a .zip records
them: the due date given with ``--due`` is local time (or converted to it
when it carries an offset), and nbgrader's ``duedate``, stored in UTC, is
converted to local time.

Days late are whole days, rounded up: one minute after the due date is one
day late. Canvas marks a late submission itself (``_LATE`` in the file name),
knowing each student's own due date: a marked submission is at least one day
late, and an unmarked one is not late, whatever the times say (a flag notes
the difference). Other platforms' submissions are late by their times.

The penalty is a percentage of the maximum score per day late, at most
``max_percent``; it never takes the total below zero.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

DAY = timedelta(days=1)


def parse_due(text: str) -> datetime:
    """A due date such as ``2026-12-01T23:59`` (local time) or ``2026-12-01T23:59+01:00``, as local time."""
    try:
        due = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--due must be a date and time such as 2026-12-01T23:59, got {text!r}") from None
    if due.tzinfo is not None:
        due = due.astimezone().replace(tzinfo=None)
    return due


def gradebook_due(gradebook: Path, assignment: str) -> datetime | None:
    """The assignment's ``duedate`` in nbgrader's gradebook (read only), as local time; None if unset."""
    if not gradebook.is_file():
        return None
    try:
        with sqlite3.connect(f"{gradebook.resolve().as_uri()}?mode=ro", uri=True) as db:
            row = db.execute("SELECT duedate FROM assignment WHERE name = ?", (assignment,)).fetchone()
    except sqlite3.Error:
        return None
    if not row or not row[0]:
        return None
    utc = datetime.fromisoformat(str(row[0])).replace(tzinfo=timezone.utc)
    return utc.astimezone().replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class LatePolicy:
    """A due date, and what a day late costs (percent of the maximum score, at most ``max_percent``)."""

    due: datetime | None = None
    percent_per_day: float = 0.0
    max_percent: float = 100.0

    def __post_init__(self) -> None:
        if self.percent_per_day < 0 or not 0 <= self.max_percent <= 100:
            raise ValueError("--late-penalty must be at least 0 and --late-penalty-max between 0 and 100 (percent)")
        if self.percent_per_day and self.due is None:
            raise ValueError("--late-penalty needs a due date: give --due 2026-12-01T23:59, "
                             "or set the assignment's duedate in nbgrader's gradebook")

    def days_late(self, submitted: datetime | None, marker: str, platform: str) -> tuple[int | None, list[str]]:
        """Whole days late (None without a due date), and notes for the report where the evidence disagrees."""
        if self.due is None:
            return None, []
        after = submitted is not None and submitted > self.due
        days = math.ceil((submitted - self.due) / DAY) if submitted is not None and after else 0
        if platform == "canvas":
            if marker and submitted is None:
                return 1, ["marked late by Canvas, with no submission time: counted as 1 day late"]
            if marker:
                return max(days, 1), []
            if after:
                return 0, [f"submitted {submitted:%Y-%m-%d %H:%M}, after the due date, but Canvas did not mark it "
                           "late (an extension?): not counted late"]
            return 0, []
        if submitted is None:
            return 0, ["no submission time in the download: not checked for lateness"]
        return days, []

    def penalty(self, raw_score: float, max_score: float, days: int | None) -> float:
        """Points taken off ``raw_score`` for ``days`` late, rounded to 0.01."""
        if not days or not self.percent_per_day:
            return 0.0
        percent = min(self.percent_per_day * days, self.max_percent)
        return round(min(raw_score, max_score * percent / 100), 2)
