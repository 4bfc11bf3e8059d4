"""Colab and Binder: the first code cell of every notebook, the README's links and binder/.

Every notebook's first code cell installs the course's package on Google Colab
and does nothing anywhere else (a student's machine, Binder, the grader). It,
the README's "Open in Colab" and "Launch Binder" links name one public student
repository; binder/ is what repo2docker reads to build that repository.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from support.nbgrader_course import RELEASE, REPO, SOLUTIONS, assignments, notebook_name, read

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

COLAB_TEST = '"google.colab" in sys.modules'
CELL_ID = "colab-install"
BINDER = REPO / "binder"
# The files repo2docker reads in binder/ (it then ignores any at the repository root).
REPO2DOCKER_FILES = {"requirements.txt", "runtime.txt", "postBuild", "start", "apt.txt", "environment.yml"}


def _first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


def _notebooks() -> list[Path]:
    return [folder / a / notebook_name(a) for a in assignments() for folder in (SOLUTIONS, RELEASE)]


def _colab_source() -> str:
    return _first_code_cell(read(SOLUTIONS / assignments()[0] / notebook_name(assignments()[0]))).source


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _cell_repository(source: str) -> str:
    found = re.findall(r"git\+https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?\"", source)
    assert len(found) == 1, f"the Colab cell should install from one GitHub repository, found {found}"
    return found[0]


def _readme_links() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """([(repository, branch, path)] of the Colab links, [(repository, ref, folder)] of the Binder links)."""
    readme = (REPO / "README.md").read_text()
    colab = re.findall(r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([\w.-]+)/([^\s)>\]]+)",
                       readme)
    binder = re.findall(r"https://mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/([\w.-]+)\?urlpath=lab/tree/([^\s)>\]&]+)",
                        readme)
    return colab, binder


# --- (a) the cell ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: str(p.relative_to(REPO)))
def test_first_code_cell_is_the_colab_cell(path):
    nb = read(path)
    cell = _first_code_cell(nb)
    before = nb.cells[:nb.cells.index(cell)]
    assert all(c.cell_type == "markdown" for c in before)
    assert cell.source == _colab_source(), f"{path.name}: the Colab cell differs from notebook 00's"
    assert COLAB_TEST in cell.source and cell.get("id") == CELL_ID
    assert not cell.metadata.get("nbgrader"), "the Colab cell is a plain cell: not graded, not an answer"
    assert cell.outputs == [], "the Colab cell prints nothing off Colab"
    # benchmarks/bench.py and the hostile submissions find the set-up cell by skipping this one.
    assert sum("google.colab" in c.source for c in nb.cells) == 1


def test_colab_cell_gives_answers_no_names():
    """The grader lets an answer use names that other cells import: `sys` must not become one."""
    from course_grading.allowlist import defined_names

    assert defined_names([_colab_source()]) == set(), (
        "the grader's allowlist reads the Colab cell as Python: answers could then use what it imports")


# --- (b) what it does, in a real IPython shell ----------------------------------------------------

RUN_CELL = textwrap.dedent("""
    import json, sys, types
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    source, colab, report = sys.argv[1], sys.argv[2] == "colab", sys.argv[3]
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    calls = []
    shell.register_magic_function(lambda line: calls.append(line), magic_kind="line", magic_name="pip")
    if colab:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    result = shell.run_cell(source)
    with open(report, "w") as f:
        json.dump({"success": result.success, "pip": calls}, f)
""")


def _run_cell(tmp_path: Path, mode: str) -> tuple[dict, subprocess.CompletedProcess]:
    report = tmp_path / "report.json"
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")}
    proc = subprocess.run([sys.executable, "-c", RUN_CELL, _colab_source(), mode, str(report)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(report.read_text()), proc


def test_colab_cell_does_nothing_off_colab(tmp_path):
    result, proc = _run_cell(tmp_path, "plain")
    assert result == {"success": True, "pip": []}
    assert proc.stdout == "" and proc.stderr == "", "the cell writes nothing (stderr would zero a test cell)"


def test_colab_cell_installs_the_student_package_on_colab(tmp_path):
    result, proc = _run_cell(tmp_path, "colab")
    repository = _readme_links()[1][0][0]
    name = _project()["name"]
    expected = f'install --quiet "{name} @ git+https://github.com/{repository}"'
    assert result == {"success": True, "pip": [expected]}
    assert proc.stdout == "" and proc.stderr == ""
    # The shell passes the line to `python -m pip`: one requirement, named as pyproject.toml names the package.
    words = shlex.split(result["pip"][0])
    assert words[:2] == ["install", "--quiet"] and len(words) == 3
    requirement = Requirement(words[2])
    assert canonicalize_name(requirement.name) == canonicalize_name(name)
    assert requirement.url == f"git+https://github.com/{repository}"


# --- (c) one repository everywhere ---------------------------------------------------------------

def test_colab_cell_and_readme_links_name_the_same_repository():
    colab, binder = _readme_links()
    repository = _cell_repository(_colab_source())
    assert colab and binder, "README.md has no Open in Colab or no Launch Binder link"
    assert {r for r, _, _ in colab} == {repository}, f"README's Colab links and the Colab cell ({repository}) differ"
    assert {r for r, _, _ in binder} == {repository}, f"README's Binder link and the Colab cell ({repository}) differ"
    linked = {path for _, _, path in colab}
    for a in assignments():
        assert f"notebooks/{a}/{notebook_name(a)}" in linked, f"README has no Open in Colab link for {a}"
    for path in linked:
        assert (REPO / path).is_file(), f"README's Colab link opens {path}, which does not exist"
    for _, _, folder in binder:
        assert folder == "notebooks" and (REPO / folder).is_dir(), f"the Binder link opens {folder}/"


# --- (d) binder/ ------------------------------------------------------------------------------------

def test_binder_holds_only_files_repo2docker_reads():
    found = {p.name for p in BINDER.iterdir()}
    assert found <= REPO2DOCKER_FILES, f"repo2docker ignores {sorted(found - REPO2DOCKER_FILES)}"
    assert {"requirements.txt", "runtime.txt", "postBuild", "start"} <= found


def test_binder_requirements_install_the_course_with_cpu_torch():
    """repo2docker runs `pip install -r binder/requirements.txt` at the repository root."""
    extras = set(_project()["optional-dependencies"])
    index_urls, local = [], []
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("--extra-index-url"):
            index_urls.append(line.split(None, 1)[1])
            continue
        target = line[len("-e"):].strip() if line.startswith("-e ") else line
        if target.startswith("."):
            match = re.fullmatch(r"(\.[^\[]*)(?:\[([\w,-]+)\])?", target)
            assert match, f"cannot read {line!r}"
            folder = (REPO / match.group(1)).resolve()
            assert folder == REPO.resolve() and (folder / "pyproject.toml").is_file(), f"{line!r}: not this repository"
            wanted = set((match.group(2) or "").split(",")) - {""}
            assert wanted <= extras, f"{line!r}: pyproject.toml has no extra {sorted(wanted - extras)}"
            local.append(wanted)
            continue
        try:
            Requirement(line)
        except InvalidRequirement as err:
            raise AssertionError(f"binder/requirements.txt: {line!r} is not a requirement: {err}") from None
    assert index_urls == ["https://download.pytorch.org/whl/cpu"], "CPU-only torch: --extra-index-url of its wheels"
    assert local == [{"course"}], "the course's package with its `course` extra (JupyterLab, nbgrader's Validate)"


def test_binder_runtime_is_a_python_the_package_supports():
    match = re.fullmatch(r"python-(3\.\d+)\n?", (BINDER / "runtime.txt").read_text())
    assert match, "runtime.txt holds python-3.X"
    assert SpecifierSet(_project()["requires-python"]).contains(match.group(1))


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_binder_scripts_are_executable_bash(script):
    path = BINDER / script
    assert os.access(path, os.X_OK), f"binder/{script} is not executable"
    assert path.read_text().startswith("#!/bin/bash\n")
    check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_binder_start_gives_jupyterlab_the_student_config(tmp_path):
    student = (REPO / "jupyter_config" / "student").resolve()
    assert (student / "labconfig" / "page_config.json").is_file()
    show = [str(BINDER / "start"), sys.executable, "-c", "import os; print(os.environ['JUPYTER_CONFIG_PATH'])"]
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    alone = subprocess.run(show, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert alone.stdout.strip() == str(student)
    after = subprocess.run(show, cwd=tmp_path, env={**env, "JUPYTER_CONFIG_PATH": "/elsewhere"},
                           capture_output=True, text=True, check=True)
    assert after.stdout.strip() == f"{student}:/elsewhere"


@pytest.mark.slow
def test_binder_post_build_loads_fashion_mnist(tmp_path):
    """On the stand-in here (no network); on Binder it downloads the real data into the image."""
    assert os.environ.get("COURSE_DATA_DIR"), "conftest.py points COURSE_DATA_DIR at the stand-in"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run([str(BINDER / "postBuild")], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and "was not downloaded" not in run.stdout, run.stdout + run.stderr
