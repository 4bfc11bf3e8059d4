"""The course installs where students are: what resolves for each platform, and the conda file.

pip's ``--dry-run --platform`` cannot answer this: it evaluates environment
markers for the machine it runs on (here Linux), not for the platform asked
for, so it would pull the CUDA packages into a macOS resolution and miss the
Intel-macOS NumPy limit. uv's resolver takes the target platform for both
wheels and markers, and reads only metadata. These tests need the package
index (pypi.org) and skip with the reason when it cannot be reached.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from support.nbgrader_course import REPO

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast

# conda-forge's names for the packages pyproject.toml lists under PyPI's.
CONDA_NAMES = {"torch": "pytorch"}
UNREACHABLE = ("dns error", "Failed to fetch", "client error (Connect)", "error sending request",
               "Could not connect", "timed out")


def _pyproject_requirements() -> list[Requirement]:
    """The course's requirements and the instructor's grading tools' (instructor/pyproject.toml), the course
    itself left out."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    instructor = REPO / "instructor" / "pyproject.toml"  # not in the students' copy
    grading = tomllib.loads(instructor.read_text())["project"]["dependencies"] if instructor.is_file() else []
    found = [Requirement(r) for r in project["dependencies"] + extras["course"] + extras["test"] + extras["hub"]]
    return found + [req for r in grading if (req := Requirement(r)).name != project["name"]
                    and req.name not in {f.name for f in found}]


def _conda_requirements() -> dict[str, tuple[SpecifierSet, str]]:
    """{name: (versions, build)} of environment.yml's conda packages (MatchSpec "name versions [build]")."""
    spec = yaml.safe_load((REPO / "environment.yml").read_text())
    assert spec["channels"] == ["conda-forge"]
    found = {}
    for entry in spec["dependencies"]:
        if not isinstance(entry, str) or entry in ("pip", ) or entry.startswith("python="):
            continue
        name, versions, *build = entry.split()
        found[name] = (SpecifierSet(versions), build[0] if build else "")
    return found


def test_environment_yml_lists_what_pyproject_lists_with_the_same_versions():
    conda = _conda_requirements()
    wanted = {}
    for req in _pyproject_requirements():
        # conda's solver applies the Intel-macOS NumPy limit by itself (the pytorch package pins it):
        # the file carries the requirement of every other platform.
        if req.marker and not req.marker.evaluate({"platform_system": "Linux", "platform_machine": "x86_64"}):
            continue
        wanted[CONDA_NAMES.get(req.name, req.name)] = req.specifier
    assert sorted(conda) == sorted(wanted), "environment.yml and pyproject.toml list different packages"
    for name, specifier in wanted.items():
        assert conda[name][0] == specifier, f"{name}: environment.yml says {conda[name][0]}, pyproject.toml {specifier}"


def test_environment_yml_takes_the_cpu_builds_of_pytorch_and_torchvision():
    conda = _conda_requirements()
    assert conda["pytorch"][1] == "cpu_*" and conda["torchvision"][1] == "cpu_*", \
        "without the cpu_* build string conda-forge may choose a CUDA build"


def _resolve(*args: str) -> dict[str, str]:
    """{package: version} that uv resolves for the arguments, or skip when the index is out of reach."""
    if shutil.which("uv") is None and subprocess.run([sys.executable, "-m", "uv", "--version"],
                                                     capture_output=True).returncode != 0:
        pytest.skip("uv is not installed (it comes with the test extra: pip install -e '.[test]')")
    result = subprocess.run([sys.executable, "-m", "uv", "pip", "compile", "--no-header", "--quiet",
                             "--python-version", "3.11", *args], capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and any(text in result.stderr for text in UNREACHABLE):
        pytest.skip(f"the package index cannot be reached: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    return dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", result.stdout, re.M))


@pytest.mark.parametrize("platform", ["x86_64-pc-windows-msvc", "x86_64-apple-darwin", "aarch64-apple-darwin"])
def test_the_student_package_resolves_on_each_platform(platform):
    pinned = _resolve(str(REPO / "pyproject.toml"), "--extra", "course", "--python-platform", platform)
    for name in ("torch", "torchvision", "numpy", "matplotlib", "jupyterlab", "nbgrader"):
        assert name in pinned, f"{name} is missing from the resolution for {platform}"
    assert not [n for n in pinned if n.startswith("nvidia-")], f"CUDA libraries resolved for {platform}"
    if platform == "x86_64-apple-darwin":
        # torch 2.2 is the last release for Intel Macs, and it was built against NumPy 1.
        assert pinned["torch"].startswith("2.2."), pinned["torch"]
        assert pinned["numpy"].startswith("1."), f"Intel macOS would get NumPy {pinned['numpy']} with torch 2.2"


def test_the_set_up_installs_cpu_builds_of_torch_and_torchvision_together_on_linux(tmp_path):
    """Installed together from PyTorch's CPU index (course_utils' set-up on Linux x86_64), torchvision cannot
    pull a CUDA torch back in."""
    from course_utils.__main__ import cpu_torch_command

    command = cpu_torch_command(Path("python"))
    index, extra = command[command.index("--index-url") + 1], command[command.index("--extra-index-url") + 1]
    assert index == "https://download.pytorch.org/whl/cpu"
    wanted = tmp_path / "cpu.in"
    wanted.write_text("\n".join(command[-2:]) + "\n")
    # pip takes the best version over all its indexes: 2.x+cpu sorts above 2.x, so the CPU build wins.
    pinned = _resolve(str(wanted), "--index-url", index, "--extra-index-url", extra,
                      "--index-strategy", "unsafe-best-match", "--python-platform", "x86_64-unknown-linux-gnu")
    assert pinned["torch"].endswith("+cpu") and pinned["torchvision"].endswith("+cpu"), pinned
    assert not [n for n in pinned if n.startswith("nvidia-")], pinned
