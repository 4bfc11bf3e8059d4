"""The student repository installs on its own, non-editable, and runs the course from that install.

The student tree is built exactly as the README tells instructors to publish
it (see "Keeping solutions/ private"), made into a wheel and installed into a
fresh virtual environment: no instructor/ (the grading tools), no solutions/,
nothing read from this repository at run time. The dependencies (torch, JupyterLab, ...)
come from this test's own environment through a ``.pth`` file, since this
machine has no network; course_utils itself comes only from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from support.nbgrader_course import REPO

from course_utils.standin import ensure_standin

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast

# What the README's "Keeping solutions/ private" section lists for the public student repository.
STUDENT_TREE = ("notebooks", "course_utils", "data", "jupyter_config/student", "binder", "environment.yml",
                "pyproject.toml", "Makefile", "README.md", "docs")


def _student_tree(target: Path) -> Path:
    for name in STUDENT_TREE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc",
                                                                                  "FashionMNIST"))
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh virtual environment with the student tree's wheel installed."""
    root = tmp_path_factory.mktemp("student-install")
    tree = _student_tree(root / "student")
    assert not (tree / "instructor").exists() and not (tree / "solutions").exists()
    wheels = root / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(tree)], check=True, capture_output=True, text=True)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "course-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", *map(str, wheels.glob("*.whl"))], check=True, capture_output=True, text=True)
    return python


def _run(python: Path, code: str, cwd: Path, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA_DIR", "PYTHONPATH")} | env
    result = subprocess.run([str(python), "-c", textwrap.dedent(code)], cwd=cwd, env=environment,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_wheel_holds_course_utils_and_its_data_only(installed, tmp_path):
    out = _run(installed, """
        import importlib.util, course_utils
        from course_utils.data import load_exam_scores
        X, y = load_exam_scores()
        print(course_utils.__file__)
        print(tuple(X.shape), tuple(y.shape))
        print(importlib.util.find_spec('course_grading'))
    """, cwd=tmp_path)
    location, shapes, grading = out.splitlines()
    assert Path(location).is_relative_to(installed.parent.parent), f"course_utils imported from {location}"
    assert shapes == "(300, 2) (300,)" and grading == "None"


def test_an_installed_package_keeps_downloads_out_of_site_packages(installed, tmp_path):
    out = _run(installed, "from course_utils.data import data_dir; print(data_dir())", cwd=tmp_path,
               HOME=str(tmp_path))
    assert Path(out.strip()) == tmp_path / ".cache" / "course-utils"


@pytest.mark.parametrize("notebook_id", ["00_tensors_autograd", "01_sigmoid_bce", "02_gradient_descent",
                                        "03_nn_module", "04_softmax_fashion_mnist"])
def test_the_notebooks_run_from_the_install(installed, notebook_id, tmp_path):
    # Notebook 04 reads Fashion-MNIST: the stand-in here (no network), as a student offline would.
    data = {"COURSE_DATA_DIR": str(ensure_standin())} if notebook_id.startswith("04_") else {}
    kernels = tmp_path / "jupyter" / "kernels" / "student-install"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(installed), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "student install", "language": "python"}))
    notebook = shutil.copy(REPO / "solutions" / notebook_id / f"{notebook_id}.ipynb", tmp_path)
    out = _run(installed, f"""
        import nbclient, nbformat
        nb = nbformat.read({str(notebook)!r}, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("import course_utils; print(course_utils.__file__)"))
        nbclient.NotebookClient(nb, kernel_name="student-install", timeout=300,
                                resources={{"metadata": {{"path": {str(tmp_path)!r}}}}}).execute()
        print(nb.cells[-1].outputs[0]["text"].strip())
    """, cwd=tmp_path, JUPYTER_PATH=str(tmp_path / "jupyter"), **data)
    location = Path(out.strip().splitlines()[-1])
    assert location.is_relative_to(installed.parent.parent), f"the notebook's kernel used course_utils from {location}"


@pytest.fixture(scope="module")
def student_tree(tmp_path_factory) -> Path:
    return _student_tree(tmp_path_factory.mktemp("student-commands"))


def _course_command(tree: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONDA_")} | env
    return subprocess.run([sys.executable, "-m", "course_utils", *args], cwd=tree, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_the_student_tree_sets_up_in_its_own_venv_or_the_active_conda_environment(student_tree, tmp_path):
    assert _course_command(student_tree, "where").stdout.strip() == str(student_tree / ".venv")
    conda = _course_command(student_tree, "where", CONDA_PREFIX=str(tmp_path), CONDA_DEFAULT_ENV="course")
    assert conda.stdout.strip() == str(tmp_path), "an active conda environment is used instead of a .venv"
    base = _course_command(student_tree, "where", CONDA_PREFIX=str(tmp_path), CONDA_DEFAULT_ENV="base")
    assert base.stdout.strip() == str(student_tree / ".venv"), "conda's base environment is never installed into"
    dry = subprocess.run(["make", "-n", "install"], cwd=student_tree, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, CONDA_PREFIX=str(tmp_path), CONDA_DEFAULT_ENV="course"))
    assert "course_utils install" in dry.stdout and not (student_tree / ".venv").exists()


def test_grading_in_the_student_tree_says_it_needs_the_instructor_repository(student_tree):
    result = _course_command(student_tree, "grade", "01_sigmoid_bce", "submissions.zip")
    assert result.returncode == 2 and "no instructor/ folder" in result.stderr, result.stderr
    assert not (student_tree / ".venv").exists(), "nothing is installed for a command that cannot run"
