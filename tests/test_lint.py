"""The code base stays clean: ruff and mypy (configured in pyproject.toml), module lists, one version."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
import tomllib

import course_utils
from course_utils.layout import INSTRUCTOR, REPO

PACKAGES = {"course_utils": REPO / "course_utils", "course_grading": INSTRUCTOR / "course_grading"}


def _tool(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = _tool("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_mypy_finds_nothing():
    result = _tool("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_the_package_docstring_lists_every_module(package):
    folder = PACKAGES[package]
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
    modules = {p.stem for p in folder.glob("*.py") if p.stem not in ("__init__", "__main__")}
    listed = set(re.findall(rf":mod:`{package}\.(\w+)`", docstring))
    assert modules == listed, f"not in the docstring: {sorted(modules - listed)}; gone: {sorted(listed - modules)}"


def test_the_version_is_written_once_and_both_distributions_agree():
    student = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in student["project"] and student["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "course_utils.__version__"}, "the student package reads its version from course_utils.__version__"
    grading = tomllib.loads((INSTRUCTOR / "pyproject.toml").read_text())["project"]
    assert grading["version"] == course_utils.__version__, "release the two distributions together"
    names = {student["project"]["name"], grading["name"]}
    assert names == {"logistic-softmax-course", "logistic-softmax-course-grading"}
