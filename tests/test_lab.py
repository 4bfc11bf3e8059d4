"""`make lab` serves the course to students, `make instructor` to the instructor.

`make lab`: JupyterLab starts on notebooks/, serves a notebook, and of nbgrader
shows only what students use (Validate, Assignment List). `make instructor`:
JupyterLab at the repository root with Formgrader and Create Assignment, which
reaches the source notebooks in solutions/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from support.nbgrader_course import RELEASE, REPO, SOLUTIONS, assignments, read

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast

TOKEN = "course-test-token"

# nbgrader's lab plugins (@jupyter/nbgrader's package.json) and server extensions.
STUDENT_PLUGINS = ("@jupyter/nbgrader:validate-assignment", "@jupyter/nbgrader:assignment-list")
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextlib.contextmanager
def _make(target: str, tmp_path: Path, runtime: Path | None = None) -> Iterator[tuple[str, Path]]:
    """Run `make <target>` on a free port until it answers; yield its URL and its log."""
    port = _free_port()
    log_path = tmp_path / f"{target}.log"
    log = open(log_path, "w+")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime or tmp_path / "runtime"))
    lab = subprocess.Popen(
        ["make", "--no-print-directory", target, f"PORT={port}", f"LAB_ARGS=--IdentityProvider.token={TOKEN}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _get(f"{base}/api/status")
                break
            except (ConnectionError, urllib.error.URLError, socket.timeout):
                assert lab.poll() is None, f"make {target} exited:\n" + log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(0.5)
        yield base, log_path
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
        log.close()


def _page_config(base: str) -> dict:
    """The page config JupyterLab hands to the browser (what it loads and what it disables)."""
    status, body = _get(f"{base}/lab")
    assert status == 200 and b"JupyterLab" in body
    found = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    assert found, "no jupyter-config-data in /lab"
    config = json.loads(found.group(1))
    assert "@jupyter/nbgrader" in [ext["name"] for ext in config["federated_extensions"]]
    return config


def _loaded_server_extensions(log_path: Path) -> set[str]:
    """nbgrader's server extensions that the server loaded, from the lines nbgrader logs when it loads one."""
    return set(re.findall(r"Loading the (\w+) nbgrader serverextension", log_path.read_text()))


def test_make_lab_serves_the_notebooks(tmp_path):
    first = assignments()[0]
    with _make("lab", tmp_path) as (base, log_path):
        status, body = _get(f"{base}/api/contents/{first}/{first}.ipynb")
        assert status == 200, body[:500]
        model = json.loads(body)
        assert model["type"] == "notebook" and model["path"] == f"{first}/{first}.ipynb"
        served = [cell["source"] for cell in model["content"]["cells"]]
        released = [cell.source for cell in read(RELEASE / first / f"{first}.ipynb").cells]
        assert served == released, "make lab must serve the student version in notebooks/, not solutions/"

        status, body = _get(f"{base}/api/contents")
        listed = sorted(item["name"] for item in json.loads(body)["content"])
        assert listed == assignments(), "the server's root is notebooks/, with one folder per assignment"

        status, body = _get(f"{base}/lab")
        assert status == 200 and b"JupyterLab" in body
        assert f"127.0.0.1:{base.rsplit(':', 1)[1]}/lab" in log_path.read_text(), "make lab prints the URL"


@pytest.mark.parametrize("exchange", [True, False], ids=["with an exchange", "on a laptop"])
def test_make_lab_shows_students_only_validate_and_the_assignment_list_where_there_is_an_exchange(
        tmp_path, monkeypatch, exchange):
    if exchange:
        (tmp_path / "exchange").mkdir()
    monkeypatch.setenv("COURSE_EXCHANGE", str(tmp_path / "exchange"))
    with _make("lab", tmp_path) as (base, log_path):
        disabled = set(_page_config(base)["disabledExtensions"])
        for plugin in INSTRUCTOR_PLUGINS:
            assert plugin in disabled, f"make lab must not show {plugin} to students"
        shown = STUDENT_PLUGINS if exchange else ("@jupyter/nbgrader:validate-assignment",)
        for plugin in STUDENT_PLUGINS:
            assert (plugin not in disabled) == (plugin in shown), f"make lab: {plugin} shown: {plugin in shown}"

        # Not loaded on the server either: formgrader's and the course list's pages do not exist.
        assert _get(f"{base}/formgrader")[0] == 404, "formgrader must not be served by make lab"
        assert _get(f"{base}/formgraders")[0] == 404, "the course list must not be served by make lab"
        # Validate (POST only) and the assignment list (needs a course_id) answer, but not with a 404.
        assert _get(f"{base}/assignments/validate")[0] != 404, "make lab must serve nbgrader's validate"
        assert (_get(f"{base}/assignments")[0] != 404) == exchange, "the assignment list only with an exchange"
        expected = {"validate_assignment", "assignment_list"} if exchange else {"validate_assignment"}
        assert _loaded_server_extensions(log_path) == expected, \
            "make lab loads nbgrader's validate (and, with an exchange, assignment list) server extensions only"


def test_make_lab_shuts_down_kernels_left_idle_for_half_an_hour(tmp_path):
    """Five notebooks left open hold about 4 GB: an idle kernel goes after 30 minutes."""
    with _make("lab", tmp_path) as (base, log_path):
        request = urllib.request.Request(f"{base}/api/kernels", data=b"{}", method="POST",
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            kernel = json.loads(response.read())
        try:
            deadline = time.monotonic() + 30
            while "Culling kernels" not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert "Culling kernels with idle durations > 1800 seconds at 300 second intervals" \
                in log_path.read_text(), "make lab does not shut down idle kernels"
        finally:
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/kernels/{kernel['id']}", method="DELETE",
                                                          headers={"Authorization": f"token {TOKEN}"}), timeout=30)


def test_make_instructor_serves_formgrader_and_the_solutions(tmp_path):
    first = assignments()[0]
    with _make("instructor", tmp_path) as (base, log_path):
        disabled = set(_page_config(base)["disabledExtensions"])
        for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"):
            assert plugin not in disabled, f"make instructor must show {plugin}"
        assert "formgrader" in _loaded_server_extensions(log_path), "make instructor loads formgrader"
        assert "course_grading.formgrader: student totals on Manage Students include late penalties" in \
            log_path.read_text(), "make instructor's formgrader shows totals after late penalties"

        # /formgrader redirects to Manage Assignments; its links start at the course root, which is the
        # server's root (formgrader serves an error page instead when the course is outside it).
        status, body = _get(f"{base}/formgrader")
        assert status == 200, body[:500]
        assert b'var url_prefix = ".";' in body, "formgrader's course root must be the server's root"

        # The links to the source notebooks open: solutions/ is reachable.
        status, body = _get(f"{base}/api/contents/solutions/{first}/{first}.ipynb")
        assert status == 200, body[:500]
        served = [cell["source"] for cell in json.loads(body)["content"]["cells"]]
        source = [cell.source for cell in read(SOLUTIONS / first / f"{first}.ipynb").cells]
        assert served == source


def _validate_config(runtime: Path) -> dict:
    """The kernel settings nbgrader's Validate gets in make lab: its config loaded as its handler loads it."""
    code = ("import json, os\nfrom nbgrader.apps import NbGrader\nfrom jupyter_core.paths import jupyter_config_path\n"
            "app = NbGrader()\napp.config_file_paths.append([os.getcwd(), *jupyter_config_path()])\n"
            "app.load_config_file()\nkm = app.config.KernelManager\n"
            "print(json.dumps({'transport': km.get('transport'), 'ip': km.get('ip')}))")
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(REPO / "jupyter_config" / "student"),
               JUPYTER_RUNTIME_DIR=str(runtime))
    result = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", code], cwd=REPO / "notebooks", env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_kernels_of_the_lab_and_of_validate_use_unix_sockets_and_several_validates_run_at_once(tmp_path):
    """No port race: the lab's kernels and Validate's talk over Unix sockets, and four Validates at once all pass."""
    from course_grading.reference import filled_submission

    runtime = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: a socket's path has at most 104 bytes
    try:
        with _make("lab", tmp_path, runtime) as (base, _):
            request = urllib.request.Request(f"{base}/api/kernels", data=b"{}", method="POST",
                                             headers={"Authorization": f"token {TOKEN}"})
            with urllib.request.urlopen(request, timeout=60) as response:
                kernel = json.loads(response.read())
            info = json.loads((runtime / f"kernel-{kernel['id']}.json").read_text())
            assert info["transport"] == "ipc" and info["ip"].startswith(str(runtime)), info
            settings = _validate_config(runtime)
            assert settings["transport"] == "ipc" and settings["ip"].startswith(str(runtime / "validate-")), settings
            first = assignments()[0]
            nb = filled_submission(RELEASE / first / f"{first}.ipynb", first)
            env = dict(os.environ, JUPYTER_CONFIG_PATH=str(REPO / "jupyter_config" / "student"),
                       JUPYTER_RUNTIME_DIR=str(runtime))
            runs = []
            for i in range(4):
                nbformat.write(nb, tmp_path / f"copy{i}.ipynb")
                runs.append(subprocess.Popen([str(REPO / ".venv" / "bin" / "nbgrader"), "validate", f"copy{i}.ipynb"],
                                             cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             text=True))
            outputs = [run.communicate(timeout=600)[0] for run in runs]
            assert all("Success! Your notebook passes all the tests." in out for out in outputs), outputs
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
