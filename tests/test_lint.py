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


def _code_strings(path) -> list[str]:
    """The string constants of a module's code: docstrings and comments left out."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_the_graders_processes_and_settings_are_named_in_one_module():
    """Every ``python -m`` the grader starts is built from an imported module, and every COURSE_GRADER_*
    variable is named in course_grading.processes alone, so the flow can be followed by imports."""
    from course_grading import processes

    named = {value for name, value in vars(processes).items() if name.isupper() and isinstance(value, str)}
    assert processes.ALLOWLIST == "COURSE_GRADER_ALLOWLIST" and len(named) >= 12
    offenders = []
    for path in sorted(PACKAGES["course_grading"].glob("*.py")):
        if path.name == "processes.py":
            continue
        for text in _code_strings(path):
            if "COURSE_GRADER" in text or text == "-m":
                offenders.append(f"{path.name}: {text!r}")
    assert not offenders, offenders


def test_the_grader_parses_python_only_through_the_thread_safe_parse():
    """CPython 3.11's ast.parse fails now and then when threads parse at once ("AST constructor recursion
    depth mismatch"), and make grade grades batches in threads: every parse goes through allowlist.parse."""
    offenders = []
    for path in sorted(PACKAGES["course_grading"].glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "parse"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "ast"):
                offenders.append(f"{path.name}:{node.lineno}")
    assert [where.split(":")[0] for where in offenders] == ["allowlist.py"], offenders
