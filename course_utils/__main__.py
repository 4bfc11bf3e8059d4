"""The course's commands, on any platform: ``python -m course_utils <command>``.

Run from a copy of the course repository with any Python 3.10+ (the set-up
needs nothing but the standard library)::

    python -m course_utils lab          # set up if needed, then JupyterLab on notebooks/
    python -m course_utils test         # set up (with the test tools), then the test suite
    python -m course_utils standin      # the synthetic Fashion-MNIST stand-in (offline machines)
    python -m course_utils grade ASSIGNMENT SUBMISSIONS   # instructors (needs instructor/)

The set-up goes into the active conda environment if there is one (not
``base``), else into ``.venv`` beside this package, and is skipped when it is
up to date (newer than ``pyproject.toml``). ``make lab``, ``make test`` and the
Makefile's other targets call these commands; on Windows, where there is
usually no ``make``, run them directly (``py -m course_utils lab``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

from course_utils.layout import INSTRUCTOR, JUPYTER_CONFIG, RELEASE, REPO, VENV

STAMP_NAME = ".course-installed.json"
WINDOWS = os.name == "nt"


class SetupError(Exception):
    """The set-up cannot go on; the message says what to do."""


def environment() -> Path:
    """The Python environment the course uses: an active conda environment (not base), else ``.venv``."""
    conda = os.environ.get("CONDA_PREFIX")
    if conda and os.environ.get("CONDA_DEFAULT_ENV", "base") != "base":
        return Path(conda)
    return VENV


def is_conda(env: Path) -> bool:
    return (env / "conda-meta").is_dir()


def environment_python(env: Path) -> Path:
    """The interpreter of ``env``, with the platform's folder layout."""
    if WINDOWS:
        return env / ("python.exe" if is_conda(env) else "Scripts/python.exe")
    return env / "bin" / "python"


def has_grading_tools() -> bool:
    """True in the instructor's repository, which holds the grading tools' distribution (instructor/)."""
    return (INSTRUCTOR / "pyproject.toml").is_file()


# What each kind of user gets, each profile holding the one before it: a student the course's package and
# JupyterLab with nbgrader's Validate; an instructor also the grading tools (instructor/, where present); the
# test suite also pytest, the linters and JupyterHub (the tests run the hub's semester loop).
PROFILES = ("student", "instructor", "test")
COMMAND_PROFILES = {"lab": "student", "standin": "student", "instructor": "instructor", "grade": "instructor",
                    "test": "test"}


def _requirements(profile: str) -> list[str]:
    """The editable installs of a profile: the student package with its extras, and the grading tools."""
    extras = "course,test,hub" if profile == "test" else "course"
    targets = ["-e", f"{REPO}[{extras}]"]
    if profile != "student" and has_grading_tools():
        targets += ["-e", str(INSTRUCTOR)]
    return targets


def _sources() -> list[Path]:
    return [REPO / "pyproject.toml", *([INSTRUCTOR / "pyproject.toml"] if has_grading_tools() else [])]


def _installed_profile(record: dict) -> str:
    """The profile a stamp records (a stamp from before profiles says only whether the tests were set up)."""
    profile = record.get("profile")
    if profile in PROFILES:
        return str(profile)
    return "test" if record.get("test") else "instructor"


def up_to_date(env: Path, profile: str) -> bool:
    """True if ``env`` was set up for this copy of the course after the last change to its project
    files, with at least what ``profile`` needs."""
    stamp = env / STAMP_NAME
    try:
        record = json.loads(stamp.read_text())
        newest = max(p.stat().st_mtime for p in _sources())
        enough = PROFILES.index(_installed_profile(record)) >= PROFILES.index(profile)
        return stamp.stat().st_mtime >= newest and enough and record.get("course") == str(REPO) \
            and environment_python(env).is_file()
    except (OSError, ValueError, AttributeError):
        return False


def _has_pip(python: Path) -> bool:
    return python.is_file() and subprocess.run([str(python), "-m", "pip", "--version"],
                                               capture_output=True).returncode == 0


def _create_venv(env: Path) -> None:
    """A new virtual environment with pip (replacing a half-made one); a clear error if Python cannot."""
    try:
        venv.create(env, clear=env.exists(), with_pip=True)
    except (SystemExit, OSError, subprocess.CalledProcessError) as error:
        shutil.rmtree(env, ignore_errors=True)
        raise SetupError(f"could not create the virtual environment {env} ({error}). On Debian or Ubuntu "
                         "install the venv module first: sudo apt-get install python3-venv") from None


def _step(number: int, total: int, text: str) -> None:
    print(f"[{number}/{total}] {text}", flush=True)


def install(profile: str = "student") -> Path:
    """Set up the course's environment for ``profile`` (see :data:`PROFILES`) if needed; returns its Python."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    env = environment()
    python = environment_python(env)
    if up_to_date(env, profile):
        return python
    conda = is_conda(env)
    if not conda and sys.version_info < (3, 10):
        raise SetupError(f"the course needs Python 3.10 or newer; this is {sys.version.split()[0]}: "
                         "run this command with a newer python")
    where = f"the conda environment {env}" if conda else f"{env} (a virtual environment)"
    print(f"Setting up the course in {where}. This happens once, and again only when pyproject.toml changes.")
    started = time.monotonic()
    if not conda and not _has_pip(python):
        _step(1, 3, f"creating {env.name}")
        _create_venv(env)
    else:
        _step(1, 3, f"using {env}")
    if conda:  # conda manages its own pip
        _step(2, 3, "checking that the conda environment has the course's libraries (environment.yml)")
        _check_conda_libraries(python)
    else:
        _step(2, 3, "updating pip")
        _run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    _step(3, 3, "installing the course and what it needs: PyTorch is the big download, usually 2 to 10 minutes")
    if not conda:
        _install_cpu_torch(python)
    # conda installs the libraries (environment.yml); pip adds only the course's own packages.
    _run_shown([str(python), "-m", "pip", "install", *(["--no-deps"] if conda else []), *_requirements(profile)])
    if profile != "student" and has_grading_tools():
        # What grading will be able to do here (OS confinement or not), said once at set-up.
        subprocess.run([str(python), "-m", "course_grading.confine"], check=False)
    (env / STAMP_NAME).write_text(json.dumps({"profile": profile, "course": str(REPO)}))
    print(f"Set-up done in {time.monotonic() - started:.0f} s.", flush=True)
    return python


def _check_conda_libraries(python: Path) -> None:
    """A conda environment gets only the course's own packages from pip: the libraries must be there."""
    result = subprocess.run([str(python), "-c", "import torch, torchvision, matplotlib, jupyterlab, nbgrader"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        missing = (result.stderr.strip().splitlines() or ["an import failed"])[-1]
        raise SetupError(f"the active conda environment lacks what the course needs ({missing}): create it from "
                         "the course's file, conda env create -f environment.yml, and activate it "
                         "(or deactivate conda to use a .venv)")


# PyTorch's own index of CPU-only builds. On Linux pip's default PyTorch includes CUDA (several GB the
# course never uses); from this index torch and torchvision are CPU builds (a few hundred MB).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
DEFAULT_INDEX = "https://pypi.org/simple"  # for what the CPU index does not hold


def _wants_cpu_torch() -> bool:
    """Linux on x86_64, where pip's default PyTorch is the CUDA build (elsewhere it is the CPU build already);
    ``COURSE_TORCH_INDEX=default`` in the environment keeps pip's default."""
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64") \
        and os.environ.get("COURSE_TORCH_INDEX", "cpu") != "default"


def torch_requirements() -> list[str]:
    """torch's and torchvision's version ranges, as pyproject.toml gives them."""
    text = (REPO / "pyproject.toml").read_text()
    return [re.search(rf'"({name}[<>=!~][^";]*)"', text).group(1)  # type: ignore[union-attr]
            for name in ("torch", "torchvision")]


def cpu_torch_command(python: Path) -> list[str]:
    """pip installing torch and torchvision together from PyTorch's CPU-only index."""
    return [str(python), "-m", "pip", "install", "--index-url", TORCH_CPU_INDEX, "--extra-index-url", DEFAULT_INDEX,
            *torch_requirements()]


def _index_reachable(url: str, timeout: float = 10.0) -> str:
    """"" if ``url`` answers, else why not."""
    try:
        with urllib.request.urlopen(f"{url}/torch/", timeout=timeout):
            return ""
    except (OSError, ValueError) as error:
        return str(getattr(error, "reason", error))[:120] or type(error).__name__


def _install_cpu_torch(python: Path) -> None:
    """The CPU builds of torch and torchvision where pip's default would be CUDA's; one line if it cannot."""
    if not _wants_cpu_torch():
        return
    if subprocess.run([str(python), "-c", "import torch, torchvision"], capture_output=True).returncode == 0:
        return  # already there (a CPU build, or one the user chose)
    problem = _index_reachable(TORCH_CPU_INDEX)
    if problem:
        print(f"PyTorch's CPU-only index ({TORCH_CPU_INDEX}) cannot be reached ({problem}): PyTorch comes from "
              "the default index instead, on Linux a build with CUDA of several GB.", flush=True)
        return
    print(f"PyTorch from its CPU-only index ({TORCH_CPU_INDEX}): the course runs on the CPU.", flush=True)
    _run_shown(cpu_torch_command(python))


def _run_shown(command: list[str]) -> None:
    """Run a set-up step with pip's own output and progress shown; a failure names the command.

    Python warnings are off for it: setuptools' notice about editable installs (a box of asterisks) says
    nothing a student can act on.
    """
    result = subprocess.run(command, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    if result.returncode != 0:
        raise SetupError(f"this step failed (exit code {result.returncode}, pip's message above): {' '.join(command)}")


def _run(command: list[str]) -> None:
    """Run a set-up step; its own output is shown only if it fails (pip's and setuptools' notices are long)."""
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        print(result.stdout, file=sys.stderr)
        raise SetupError(f"this step failed (exit code {result.returncode}): {' '.join(command)}")


def lab_command(python: Path, role: str, port: int, extra: list[str]) -> list[str]:
    """JupyterLab for a role: students on notebooks/, idle kernels shut down; instructors at the root."""
    folder = RELEASE if role == "student" else REPO
    command = [str(python), "-m", "jupyterlab", f"--notebook-dir={folder}", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.allow_root=True"]
    if role == "student":
        # A kernel idle for 30 minutes is shut down (five open notebooks hold about 4 GB).
        command += ["--MappingKernelManager.cull_idle_timeout=1800", "--MappingKernelManager.cull_interval=300"]
    return command + extra


DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")  # nbgrader's, where a course's hub or server shares one


def has_exchange() -> bool:
    """True where nbgrader's exchange is there to fetch and submit through (``COURSE_EXCHANGE`` names
    another folder): only then does a student's JupyterLab show the Assignment List."""
    return Path(os.environ.get("COURSE_EXCHANGE") or DEFAULT_EXCHANGE).is_dir()


def _environ(python: Path, role: str | None = None) -> dict[str, str]:
    """os.environ with the environment's scripts first on PATH (nbgrader runs helpers such as
    ``alembic`` from PATH) and, for a JupyterLab role, ``jupyter_config/<role>/`` searched first (for a
    student without an exchange, ``jupyter_config/student/without-exchange/`` before it: no Assignment List,
    whose every call would fail)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])
    if role is not None:
        first = [JUPYTER_CONFIG / role]
        if role == "student" and not has_exchange():
            first.insert(0, JUPYTER_CONFIG / role / "without-exchange")
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [*map(str, first), *([env["JUPYTER_CONFIG_PATH"]] if env.get("JUPYTER_CONFIG_PATH") else [])])
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False,
                                     epilog="Options a command does not know are passed on to JupyterLab, pytest "
                                            "or the grader.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("where", help="print the environment folder the course uses").add_argument(
        "--relative", action="store_true", help="relative to the current folder when inside it (for make)")
    setup = commands.add_parser("install", help="set up the environment (skipped when up to date)")
    setup.add_argument("--profile", choices=PROFILES, default="student",
                       help="student: the course and JupyterLab; instructor: also the grading tools; "
                            "test: also the test tools and JupyterHub (default: student)")
    setup.add_argument("--test", dest="profile", action="store_const", const="test", help="the same as --profile test")
    # The commands that start another tool leave -h and that tool's options to it.
    for name, text in (("lab", "JupyterLab on notebooks/, as a student"),
                       ("instructor", "JupyterLab at the repository root with Formgrader")):
        commands.add_parser(name, help=text, add_help=False, allow_abbrev=False).add_argument(
            "--port", type=int, default=8888)
    commands.add_parser("test", help="the test suite (pytest options pass through)", add_help=False)
    commands.add_parser("standin", help="write the synthetic Fashion-MNIST stand-in").add_argument(
        "folder", nargs="?", help="default: .cache/fashion-mnist-standin")
    commands.add_parser("grade", help="grade a class (instructors): ASSIGNMENT SUBMISSIONS [options]", add_help=False)
    args, passed_on = parser.parse_known_args(argv)
    if passed_on and args.command in ("where", "install", "standin"):
        parser.error(f"unrecognized arguments: {' '.join(passed_on)}")

    try:
        if args.command == "where":
            env = environment()
            inside = args.relative and env.is_relative_to(Path.cwd())
            print(env.relative_to(Path.cwd()) if inside else env)
            return 0
        if args.command == "grade" and not has_grading_tools():
            raise SetupError("this copy of the course has no instructor/ folder (the student version): "
                             "grading needs the instructor's repository")
        profile = args.profile if args.command == "install" else COMMAND_PROFILES[args.command]
        python = install(profile)
        if args.command == "install":
            return 0
        role = {"lab": "student", "instructor": "instructor"}.get(args.command)
        if role is not None:
            command = lab_command(python, role, args.port, passed_on)
        elif args.command == "test":
            command = [str(python), "-m", "pytest", *passed_on]
        elif args.command == "standin":
            command = [str(python), "-m", "course_utils.standin", *([args.folder] if args.folder else [])]
        else:
            command = [str(python), "-m", "course_grading.grade", *passed_on]
        # Paths the user gives (submissions, a stand-in folder) are read from where the command was run.
        return subprocess.run(command, cwd=REPO if args.command == "test" else None,
                              env=_environ(python, role)).returncode
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
