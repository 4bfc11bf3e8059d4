"""What the class got right and wrong: per test cell, who got its points and the commonest failures.

The failure message of a test cell is the last line of its error in the
autograded notebook (a check's ``Hint: ...``, or ``NotImplementedError: ...``
for a stub left in), kept per student in details.json; :func:`cell_stats`
counts them over the graded students' records, and :func:`save_histogram`
draws the totals.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_grading.cells import grade_id as cell_grade_id
from course_grading.results import StudentRecord

TOP_FAILURES = 3
MESSAGE_CHARS = 160


def failure_message(cell: nbformat.NotebookNode) -> str:
    """Why a test cell lost its points, in one line: the last line of its error, or what it wrote instead."""
    outputs = cell.get("outputs", [])
    for output in outputs:
        if output.get("output_type") == "error":
            ename = str(output.get("ename", "Error"))
            lines = [line.strip() for line in str(output.get("evalue", "")).splitlines() if line.strip()]
            return f"{ename}: {lines[-1]}"[:MESSAGE_CHARS] if lines else ename[:MESSAGE_CHARS]
    if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
        return "no error, but output on stderr"
    if any(o.get("output_type") == "execute_result" for o in outputs):
        return "no error, but the cell gave a result"
    return "no error shown"


def failures(graded: nbformat.NotebookNode, scores: dict[str, float], points: dict[str, float]) -> dict[str, str]:
    """{grade id: failure message} of every test cell of an autograded notebook that lost points."""
    found = {}
    for cell in graded.cells:
        grade_id = cell_grade_id(cell)
        if grade_id in points and scores.get(grade_id, 0.0) < points[grade_id]:
            found[grade_id] = failure_message(cell) if cell.get("cell_type") == "code" else "lost its points"
    return found


@dataclass
class CellStats:
    """One test cell over the graded students: how many got its points, and the commonest failures."""

    cell: str
    points: float
    students: int = 0
    full: int = 0
    messages: Counter[str] = field(default_factory=Counter)

    @property
    def share(self) -> float:
        return self.full / self.students if self.students else 0.0


def cell_stats(records: list[StudentRecord], points: dict[str, float]) -> list[CellStats]:
    """Per test cell, over the graded students: the share that got its points, and why the others did not."""
    stats = {cell: CellStats(cell, top) for cell, top in points.items()}
    for record in records:
        if not record.graded:
            continue
        for cell, top in points.items():
            entry = stats[cell]
            entry.students += 1
            if record.cells.get(cell, 0.0) >= top:
                entry.full += 1
            else:
                entry.messages[record.failures.get(cell, "(no message kept)")] += 1
    return list(stats.values())


def stats_lines(stats: list[CellStats]) -> list[str]:
    """The report's section on test cells."""
    if not stats or not stats[0].students:
        return ["test cells: no graded students yet"]
    lines = [f"test cells ({stats[0].students} graded students): share with full points, commonest failures"]
    width = max(len(entry.cell) for entry in stats)
    for entry in stats:
        lines.append(f"  {entry.cell:<{width}}  {entry.points:>3g} pt  {entry.share:>4.0%}  "
                     f"({entry.full}/{entry.students})")
        lines += [f"      {count} x {message}" for message, count in entry.messages.most_common(TOP_FAILURES)]
    return lines


def save_histogram(records: list[StudentRecord], max_score: float, path: Path, title: str) -> int:
    """Draw the totals (after any late penalty) of the graded students to a PNG; returns how many were drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    totals = [r.score for r in records if r.graded]
    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    top = max([max_score, *totals, 1.0])
    bins = [x - 0.5 for x in range(int(top) + 2)]
    axes.hist(totals, bins=bins, color="#4c72b0", edgecolor="white")
    axes.set_xlabel(f"total (out of {max_score:g}, after any late penalty)")
    axes.set_ylabel("students")
    axes.set_title(f"{title}: {len(totals)} graded")
    axes.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]  # a MaxNLocator
    figure.tight_layout()
    figure.savefig(path)
    return len(totals)
