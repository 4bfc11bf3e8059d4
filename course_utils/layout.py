"""Where things are in a copy of the course repository, defined once.

The course's commands, the grading tools, the benchmarks and the tests read
these names instead of building paths of their own; the Makefile's list of
assignments follows :data:`ASSIGNMENT_PATTERN` too (a test compares them).
Outside a copy of the repository (an installed package) only
:func:`in_repository` is meaningful.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

__all__ = ["REPO", "SOLUTIONS", "RELEASE", "DATA", "STANDIN", "INSTRUCTOR", "JUPYTER_CONFIG", "VENV",
           "ASSIGNMENT_PATTERN", "assignments", "in_repository"]

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"  # the instructor's notebooks: nbgrader's source
RELEASE = REPO / "notebooks"  # the student version, generated from SOLUTIONS
DATA = REPO / "data"  # small data and the Fashion-MNIST download cache
STANDIN = REPO / ".cache" / "fashion-mnist-standin"  # the synthetic Fashion-MNIST (course_utils.standin)
INSTRUCTOR = REPO / "instructor"  # the grading tools' distribution (not in the student repository)
JUPYTER_CONFIG = REPO / "jupyter_config"  # one folder of Jupyter config per role
VENV = REPO / ".venv"
ASSIGNMENT_PATTERN = "[0-9][0-9]_*"  # an assignment is a folder of SOLUTIONS named like 01_sigmoid_bce


def assignments(folder: Path = SOLUTIONS) -> list[str]:
    """The assignment ids, sorted: the folders of ``folder`` whose names match :data:`ASSIGNMENT_PATTERN`."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and fnmatch.fnmatch(p.name, ASSIGNMENT_PATTERN))


def in_repository() -> bool:
    """True when this package is the one inside a copy of the course repository (not an installed copy)."""
    return (REPO / "pyproject.toml").is_file()
