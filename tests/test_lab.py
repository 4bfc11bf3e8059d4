"""`make lab` serves the course: JupyterLab starts on notebooks/ and serves a notebook."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from nbgrader_course import RELEASE, REPO, assignments, read

TOKEN = "course-test-token"


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


def test_make_lab_serves_the_notebooks(tmp_path):
    port = _free_port()
    log = open(tmp_path / "lab.log", "w+")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    lab = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_ARGS=--IdentityProvider.token={TOKEN}"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    first = assignments()[0]
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, body = _get(f"{base}/api/contents/{first}/{first}.ipynb")
                break
            except (ConnectionError, urllib.error.URLError, socket.timeout):
                assert lab.poll() is None, "make lab exited:\n" + (tmp_path / "lab.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s"
                time.sleep(0.5)
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
        log.flush()
        assert f"127.0.0.1:{port}/lab" in (tmp_path / "lab.log").read_text(), "make lab prints the URL"
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
        log.close()
