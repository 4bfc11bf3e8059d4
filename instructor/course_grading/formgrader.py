"""formgrader's student totals with the late penalty taken off, as ``nbgrader export`` and grades.csv give them.

nbgrader's formgrader lists each student's total on Manage Students from
``Gradebook.student_dicts``, the sum of their cell scores, before any late
penalty; ``nbgrader export``, the feedback and ``make grade``'s grades.csv
take it off (per assignment, never below zero). With this server extension,
enabled in the instructor's JupyterLab (``jupyter_config/instructor``), the
page shows the same totals as the others. It changes what formgrader reads,
nothing in the gradebook.
"""

from __future__ import annotations

from typing import Any

from nbgrader.api import Gradebook

_student_dicts = Gradebook.student_dicts  # nbgrader's own


def student_dicts(self: Gradebook) -> list[dict[str, Any]]:
    """nbgrader's student dictionaries, each ``score`` the sum over assignments of max(0, score - penalty)."""
    students = _student_dicts(self)
    penalised: dict[str, float] = {}
    for student in self.students:
        penalised[student.id] = sum(max(0.0, float(s.score) - float(s.late_submission_penalty or 0.0))
                                    for s in student.submissions)
    for entry in students:
        if entry["id"] in penalised:
            entry["score"] = penalised[entry["id"]]
    return students


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "course_grading.formgrader"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    Gradebook.student_dicts = student_dicts
    server_app.log.info("course_grading.formgrader: student totals on Manage Students include late penalties")
