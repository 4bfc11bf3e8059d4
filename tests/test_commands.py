"""The course's commands without make (``python -m course_utils ...``): set-up, stand-in, passing options on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.nbgrader_course import REPO

import course_utils.__main__ as commands
from course_utils.data import STANDIN_MARKER, fashion_mnist_raw_dir

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast


def test_the_first_set_up_says_each_step_and_nothing_of_pips_or_setuptools_notices(tmp_path, monkeypatch, capfd):
    env = tmp_path / "venv"
    monkeypatch.setattr(commands, "environment", lambda: env)
    # The course's own package only: the libraries would be the same download for every test run.
    monkeypatch.setattr(commands, "_requirements", lambda profile: ["--no-deps", "-e", str(REPO)])
    python = commands.install()
    out, err = capfd.readouterr()
    steps = [line for line in out.splitlines() if line.startswith("[")]
    assert [s[:5] for s in steps] == ["[1/3]", "[2/3]", "[3/3]"], out
    assert "PyTorch is the big download" in out and "minutes" in out, "the long step says how long it takes"
    assert "Set-up done" in out
    assert "Successfully installed logistic-softmax-course" in out, "pip's own output (and progress) is shown"
    if commands._wants_cpu_torch():
        assert "CPU-only index (https://download.pytorch.org/whl/cpu)" in out, "it says where PyTorch comes from"
    for noise in ("Warning", "*****", "!!", "DEPRECATION"):
        assert noise not in out + err, f"set-up output shows {noise!r}:\n{out}{err}"
    assert python == commands.environment_python(env) and python.is_file()
    where = subprocess.run([str(python), "-c", "import course_utils; print(course_utils.__file__)"],
                           capture_output=True, text=True).stdout.strip()
    assert Path(where) == REPO / "course_utils" / "__init__.py", "the course is installed into that environment"

    assert commands.install() == python
    out, err = capfd.readouterr()
    assert out == "" and err == "", "an environment that is up to date is not set up again"
    assert not commands.up_to_date(env, "test"), "asking for the test tools installs again"
    assert not commands.up_to_date(env, "instructor"), "asking for the grading tools installs again"


def test_a_failed_step_shows_its_output_and_names_the_command(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(commands, "environment", lambda: tmp_path / "venv")
    monkeypatch.setattr(commands, "_requirements", lambda profile: ["--no-index", "no-such-package-for-the-course"])
    with pytest.raises(commands.SetupError, match="this step failed .*no-such-package-for-the-course"):
        commands.install()
    assert "no-such-package-for-the-course" in capfd.readouterr().err


def test_windows_paths(monkeypatch, tmp_path):
    monkeypatch.setattr(commands, "WINDOWS", True)
    assert commands.environment_python(tmp_path) == tmp_path / "Scripts" / "python.exe"
    (tmp_path / "conda-meta").mkdir()
    assert commands.environment_python(tmp_path) == tmp_path / "python.exe"


def test_standin_command_writes_the_stand_in_where_it_is_told(tmp_path):
    result = subprocess.run([sys.executable, "-m", "course_utils", "standin", str(tmp_path / "fmnist")],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"COURSE_DATA_DIR={tmp_path / 'fmnist'}"
    assert (fashion_mnist_raw_dir(tmp_path / "fmnist") / STANDIN_MARKER).is_file()


def test_options_a_command_does_not_know_are_passed_on(monkeypatch):
    ran = []
    monkeypatch.setattr(commands, "install", lambda profile="student": Path("/env/bin/python"))
    monkeypatch.setattr(commands.subprocess, "run", lambda command, **kw: ran.append((command, kw)) or
                        subprocess.CompletedProcess(command, 0))
    assert commands.main(["lab", "--port=9999", "--ip=0.0.0.0"]) == 0
    command, kw = ran.pop()
    assert command[:3] == ["/env/bin/python", "-m", "jupyterlab"] and "--port=9999" in command
    assert command[-1] == "--ip=0.0.0.0" and f"--notebook-dir={REPO / 'notebooks'}" in command
    student = REPO / "jupyter_config" / "student"
    expected = [str(student)] if commands.has_exchange() else [str(student / "without-exchange"), str(student)]
    assert kw["env"]["JUPYTER_CONFIG_PATH"].split(commands.os.pathsep)[:len(expected)] == expected
    assert commands.main(["grade", "01_sigmoid_bce", "subs.zip", "--gradebook"]) == 0
    command, kw = ran.pop()
    assert command[1:] == ["-m", "course_grading.grade", "01_sigmoid_bce", "subs.zip", "--gradebook"]
    assert kw["cwd"] is None, "paths given to grade are read from where the command was run"
    assert kw["env"]["PATH"].startswith("/env/bin"), "nbgrader finds its helpers in the course's environment"
    with pytest.raises(SystemExit):
        commands.main(["where", "--bogus"])


def test_a_conda_environment_without_the_libraries_is_refused_with_the_way_out(tmp_path):
    import venv

    venv.create(tmp_path / "bare", with_pip=False)  # stands for a conda environment made for something else
    with pytest.raises(commands.SetupError, match="conda env create -f environment.yml"):
        commands._check_conda_libraries(commands.environment_python(tmp_path / "bare"))


def test_a_venv_python_cannot_make_is_removed_and_the_fix_named(tmp_path, monkeypatch):
    def debian_without_venv(env, **kwargs):
        (env / "bin").mkdir(parents=True)
        raise SystemExit(1)  # what Debian's python3 does without python3-venv, after printing its hint

    monkeypatch.setattr(commands.venv, "create", debian_without_venv)
    with pytest.raises(commands.SetupError, match="apt-get install python3-venv"):
        commands._create_venv(tmp_path / "venv")
    assert not (tmp_path / "venv").exists(), "a half-made environment is not left to be taken as ready"


def test_a_stamp_from_another_copy_of_the_course_is_not_up_to_date(tmp_path, monkeypatch):
    env = tmp_path / "env"
    python = commands.environment_python(env)
    python.parent.mkdir(parents=True)
    python.write_text("")
    (env / commands.STAMP_NAME).write_text('{"test": true, "course": "/elsewhere/course"}')
    assert not commands.up_to_date(env, "student")
    (env / commands.STAMP_NAME).write_text(f'{{"test": true, "course": "{commands.REPO}"}}')
    assert commands.up_to_date(env, "test"), "a stamp from before profiles"
    (env / commands.STAMP_NAME).write_text(f'{{"profile": "student", "course": "{commands.REPO}"}}')
    assert commands.up_to_date(env, "student") and not commands.up_to_date(env, "instructor")


def test_each_command_installs_what_its_user_needs(monkeypatch):
    asked = []
    monkeypatch.setattr(commands, "install", lambda profile="student": asked.append(profile) or Path("/env/bin/python"))
    monkeypatch.setattr(commands.subprocess, "run", lambda command, **kw: subprocess.CompletedProcess(command, 0))
    for argv in (["lab"], ["standin"], ["instructor"], ["grade", "01_sigmoid_bce", "x.zip"], ["test"],
                 ["install"], ["install", "--test"], ["install", "--profile", "instructor"]):
        assert commands.main(argv) == 0
    assert asked == ["student", "student", "instructor", "instructor", "test", "student", "test", "instructor"]
    assert commands._requirements("student") == ["-e", f"{REPO}[course]"], "no test tools, hub or grading tools"
    assert commands._requirements("test")[:2] == ["-e", f"{REPO}[course,test,hub]"]
    assert str(commands.INSTRUCTOR) in commands._requirements("instructor")


def test_a_student_installs_no_test_tools_no_hub_and_no_grading_tools(tmp_path):
    """What pip would install into a fresh environment for each profile, resolved without installing it."""
    import json
    import venv

    venv.create(tmp_path / "venv", with_pip=True)
    python = commands.environment_python(tmp_path / "venv")

    def resolved(profile: str) -> set[str]:
        report = tmp_path / f"{profile}.json"
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--dry-run", "--report", str(report),
                        *commands._requirements(profile)], check=True, capture_output=True, text=True,
                       timeout=600, env=dict(commands.os.environ, PYTHONWARNINGS="ignore"))
        return {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}

    student, tests = resolved("student"), resolved("test")
    teacher_only = {"pytest", "nbval", "ruff", "mypy", "uv", "jupyterhub", "logistic-softmax-course-grading",
                    "safetensors", "cloudpickle", "latex2mathml"}
    assert {"torch", "torchvision", "jupyterlab", "nbgrader", "logistic-softmax-course"} <= student
    assert not student & teacher_only, f"a student would get {sorted(student & teacher_only)}"
    assert teacher_only <= tests, f"the test profile lacks {sorted(teacher_only - tests)}"


def test_linux_takes_pytorch_from_its_cpu_index_or_says_in_one_line_why_not(tmp_path, monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(commands.platform, "system", lambda: "Linux")
    monkeypatch.setattr(commands.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(commands, "_run_shown", ran.append)
    bare = tmp_path / "bare"
    import venv

    venv.create(bare, with_pip=False)  # a Python without torch
    python = commands.environment_python(bare)
    monkeypatch.setattr(commands, "_index_reachable", lambda url: "")
    commands._install_cpu_torch(python)
    assert ran == [[str(python), "-m", "pip", "install", "--index-url", "https://download.pytorch.org/whl/cpu",
                    "--extra-index-url", "https://pypi.org/simple", "torch>=2.2,<3", "torchvision>=0.17,<1"]]
    assert "PyTorch from its CPU-only index" in capsys.readouterr().out
    monkeypatch.setattr(commands, "_index_reachable", lambda url: "Name or service not known")
    commands._install_cpu_torch(python)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(ran) == 1 and len(lines) == 1 and "cannot be reached (Name or service not known)" in lines[0]
    monkeypatch.setenv("COURSE_TORCH_INDEX", "default")
    commands._install_cpu_torch(python)
    monkeypatch.delenv("COURSE_TORCH_INDEX")
    monkeypatch.setattr(commands.platform, "system", lambda: "Darwin")
    commands._install_cpu_torch(python)
    assert len(ran) == 1 and capsys.readouterr().out == "", "elsewhere pip's default PyTorch is the CPU build"
    commands._install_cpu_torch(Path(sys.executable))
    assert len(ran) == 1, "a PyTorch already there is kept"


def test_a_student_without_an_exchange_gets_no_assignment_list(monkeypatch, tmp_path):
    student = REPO / "jupyter_config" / "student"
    monkeypatch.setenv("COURSE_EXCHANGE", str(tmp_path / "none"))
    paths = commands._environ(Path("/env/bin/python"), "student")["JUPYTER_CONFIG_PATH"].split(commands.os.pathsep)
    assert paths[:2] == [str(student / "without-exchange"), str(student)]
    (tmp_path / "none").mkdir()
    paths = commands._environ(Path("/env/bin/python"), "student")["JUPYTER_CONFIG_PATH"].split(commands.os.pathsep)
    assert paths[0] == str(student), "with an exchange, the Assignment List stays"
    paths = commands._environ(Path("/env/bin/python"), "instructor")["JUPYTER_CONFIG_PATH"].split(commands.os.pathsep)
    assert paths[0] == str(REPO / "jupyter_config" / "instructor")
