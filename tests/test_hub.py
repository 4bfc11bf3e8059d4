"""The semester loop on the course's JupyterHub (hub/jupyterhub_config.py), end to end on this machine.

JupyterHub and its proxy (configurable-http-proxy, from npm into hub/node_modules)
run on 127.0.0.1 with one instructor and three students, each server in a home
folder of its own under the test's temporary folder (tests/support/hub_config.py). The
instructor releases 01_sigmoid_bce through Formgrader; each student fetches it,
fills it in (right, blank, wrong), validates and submits it, all through the
hub's REST API and nbgrader's server extensions; the instructor collects,
grades with `make grade`, returns the feedback through the exchange, and each
student fetches their own page and no one else's.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from support.nbgrader_course import REPO, Course, filled_submission
from support.wrong_submissions import CATALOGUE

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast

ASSIGNMENT = "01_sigmoid_bce"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
INSTRUCTOR = "teacher"
WRONG = next(w for w in CATALOGUE if w.assignment == ASSIGNMENT and w.name == "bce-no-clamp")
# Each student's work: the reference solution, the notebook as fetched, one known mistake.
STUDENTS = {"ada": "right", "ben": "blank", "cai": "wrong"}
PROXY = REPO / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"


def _proxy_command() -> str | None:
    """configurable-http-proxy from hub/node_modules (npm install --prefix hub), else from PATH."""
    if shutil.which("node") is None:
        return None
    return str(PROXY) if PROXY.exists() else shutil.which("configurable-http-proxy")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A running hub: REST calls to the hub and, through its proxy, to the users' servers."""

    def __init__(self, url: str, admin_token: str, log: Path) -> None:
        self.url, self.admin_token, self.log, self.tokens = url, admin_token, log, {}

    def call(self, method: str, path: str, body: dict | None = None, *, user: str | None = None,
             timeout: float = 120) -> tuple[int, object]:
        """One request as the admin service, or as ``user`` with their own token; returns (status, JSON or text)."""
        token = self.tokens[user] if user else self.admin_token
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"token {token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text

    def ok(self, method: str, path: str, body: dict | None = None, *, user: str | None = None) -> object:
        """A request that must succeed; its JSON."""
        status, answer = self.call(method, path, body, user=user)
        assert 200 <= status < 300, f"{method} {path} as {user or 'admin'}: HTTP {status}: {str(answer)[:2000]}\n" \
                                    f"hub log:\n{self.log.read_text()[-3000:]}"
        return answer

    def start_server(self, name: str) -> None:
        """Start a user's server through the hub and wait until it is ready; keep a token of theirs."""
        status, answer = self.call("POST", f"/hub/api/users/{name}")
        assert status in (201, 409), f"creating user {name}: HTTP {status}: {answer}"  # 409: the hub made it
        self.ok("POST", f"/hub/api/users/{name}/server")
        deadline = time.monotonic() + 90
        while not self.ok("GET", f"/hub/api/users/{name}")["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, f"{name}'s server did not start:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.5)
        self.tokens[name] = self.ok("POST", f"/hub/api/users/{name}/tokens", {"note": "semester test"})["token"]


def _processes_with(marker: str) -> list[int]:
    """Process ids whose environment carries the test run's marker."""
    found = []
    needle = f"HUB_TEST_RUN={marker}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Hub, Course]]:
    """JupyterHub with the course's config on free ports, the instructor's course folder; all gone afterwards."""
    try:
        import jupyterhub  # noqa: F401
        import jupyterhub_idle_culler  # noqa: F401
    except ImportError as error:
        pytest.skip(f"JupyterHub is not installed ({error}): pip install the hub extra (jupyterhub, "
                    "jupyterhub-idle-culler, jupyterhub-systemdspawner)")
    proxy = _proxy_command()
    if proxy is None:
        pytest.skip("configurable-http-proxy (npm) not found: install it with `npm install --prefix hub` "
                    "(needs node and npm)")
    course = Course(tmp_path / "course", ASSIGNMENT)
    shutil.copytree(REPO / "jupyter_config", course.root / "jupyter_config")  # the course folder is a clone
    (tmp_path / "roster.txt").write_text("".join(f"{name}\n" for name in STUDENTS))
    port, marker, token = _free_port(), secrets.token_hex(8), secrets.token_hex(16)
    env = dict(os.environ,
               PATH=f"{PROXY.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               COURSE_HUB_COURSE_DIR=str(course.root), COURSE_HUB_STATE=str(tmp_path / "state"),
               COURSE_HUB_EXCHANGE=str(tmp_path / "exchange"), COURSE_HUB_DATA=os.environ["COURSE_DATA_DIR"],
               COURSE_HUB_INSTRUCTORS=INSTRUCTOR, COURSE_HUB_ROSTER=str(tmp_path / "roster.txt"),
               COURSE_HUB_UNIX_USERS="shared", COURSE_HUB_BIND_URL=f"http://127.0.0.1:{port}",
               HUB_TEST_HOMES=str(tmp_path / "home"), HUB_TEST_PASSWORD=secrets.token_hex(8),
               HUB_TEST_HUB_PORT=str(_free_port()), HUB_TEST_PROXY_API_PORT=str(_free_port()),
               HUB_TEST_PROXY_TOKEN=secrets.token_hex(16), HUB_TEST_ADMIN_TOKEN=token, HUB_TEST_RUN=marker,
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    (tmp_path / "state").mkdir()
    log_path = tmp_path / "hub.log"
    with open(log_path, "w") as log:
        config = REPO / "tests" / "support" / "hub_config.py"
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)],
                                   cwd=tmp_path / "state", env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    running = Hub(f"http://127.0.0.1:{port}", token, log_path)
    try:
        deadline = time.monotonic() + 60
        while running.call("GET", "/hub/api/")[0] != 200 if _answers(port) else True:
            assert process.poll() is None, f"jupyterhub exited:\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the hub did not answer within 60 s:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.5)
        yield running, course
    finally:
        process.send_signal(signal.SIGTERM)  # the hub stops the servers it started, and its proxy
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The hub's servers and proxy end after it, each in its own time: wait for them, not for a fixed time.
        deadline = time.monotonic() + STOP_SECONDS
        while (left := _processes_with(marker)) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert not left, f"processes left running {STOP_SECONDS} s after the hub stopped: {left}"


STOP_SECONDS = 120  # for the hub, then for its servers and proxy, to end (a busy machine took 28 s)


def _answers(port: int) -> bool:
    """Whether something accepts connections on the port."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _filled(hub: Hub, student: str, work: str, scratch: Path) -> dict:
    """The student's fetched notebook, read through their server and filled in as ``work`` says."""
    fetched = hub.ok("GET", f"/user/{student}/api/contents/{NOTEBOOK}", user=student)["content"]
    path = scratch / f"{student}.ipynb"
    nbformat.write(nbformat.from_dict(fetched), path)
    if work == "right":
        return filled_submission(path, ASSIGNMENT)
    if work == "wrong":
        return filled_submission(path, ASSIGNMENT, WRONG.changes)
    return fetched


def _course_id(folder: Path) -> str:
    """CourseDirectory.course_id of the folder's nbgrader_config.py."""
    from traitlets.config import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config().CourseDirectory.course_id


def _grades(path: Path) -> dict[str, dict[str, str]]:
    """grades.csv's rows by student id."""
    with open(path, newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_semester_loop_on_a_local_hub(hub: tuple[Hub, Course], tmp_path: Path) -> None:
    hub, course = hub
    course_id = _course_id(course.root)
    services = {s["name"] for s in hub.ok("GET", "/hub/api/services").values()}
    assert "idle-culler" in services, "the hub stops idle servers with jupyterhub-idle-culler"
    assert hub.ok("GET", "/hub/api/groups/instructors")["users"] == [INSTRUCTOR]
    for name in [INSTRUCTOR, *STUDENTS]:
        hub.start_server(name)

    # Roles: Formgrader for the instructor only; Assignment List and Validate for everyone.
    formgrader = f"/user/{INSTRUCTOR}/formgrader/api/assignment/{ASSIGNMENT}"
    assert hub.call("GET", f"/user/{INSTRUCTOR}/formgrader", user=INSTRUCTOR)[0] == 200
    for student in STUDENTS:
        assert hub.call("GET", f"/user/{student}/formgrader", user=student)[0] == 404, "students have no Formgrader"
        assert hub.call("GET", f"/user/{student}/formgraders", user=student)[0] == 404, "nor a course list"
    assert hub.call("GET", "/user/ben/api/contents", user="ada")[0] in (403, 404), "a student reaches only their server"

    # Release: generate the student version and put it in the exchange, through Formgrader.
    for action in ("assign", "release"):
        answer = hub.ok("POST", f"{formgrader}/{action}", {}, user=INSTRUCTOR)
        assert answer["success"], f"Formgrader's {action} failed: {answer}"

    # Each student: fetch, fill in, validate, submit (Assignment List and Validate's server extensions).
    released = nbformat.read(course.release_path, as_version=4)
    body = {"course_id": course_id, "assignment_id": ASSIGNMENT}
    for student, work in STUDENTS.items():
        listed = hub.ok("GET", f"/user/{student}/assignments?course_id={course_id}", user=student)
        assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(ASSIGNMENT, "released")], listed
        hub.ok("POST", f"/user/{student}/assignments/fetch", body, user=student)
        fetched = hub.ok("GET", f"/user/{student}/api/contents/{NOTEBOOK}", user=student)["content"]
        assert [c["source"] for c in fetched["cells"]] == [c.source for c in released.cells]
        hub.ok("PUT", f"/user/{student}/api/contents/{NOTEBOOK}",
               {"type": "notebook", "format": "json", "content": _filled(hub, student, work, tmp_path)}, user=student)
        validated = hub.ok("POST", f"/user/{student}/assignments/validate", {"path": NOTEBOOK}, user=student)
        assert validated["success"], validated
        failed = set(validated["value"]) & {"failed", "errors"}
        assert bool(failed) == (work != "right"), f"{student} ({work}): Validate said {validated['value']}"
        submitted = hub.ok("POST", f"/user/{student}/assignments/submit", body, user=student)
        assert submitted["success"], submitted
        assert [a["student_id"] for a in submitted["value"] if a["status"] == "submitted"] == [student], submitted

    # Collect through Formgrader, grade with make grade into the course's gradebook.
    answer = hub.ok("POST", f"{formgrader}/collect", {}, user=INSTRUCTOR)
    assert answer["success"], answer
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == sorted(STUDENTS)
    results = tmp_path / "grading"
    graded = subprocess.run(["make", "--no-print-directory", "grade", f"ASSIGNMENT={ASSIGNMENT}",
                             f"SUBMISSIONS={course.root / 'submitted'}",
                             f"GRADE_ARGS=--gradebook --course {course.root} --out {results}"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert graded.returncode == 0, f"make grade failed:\n{graded.stdout[-3000:]}\n{graded.stderr[-3000:]}"
    points = course.points()
    total = sum(points.values())
    expected = {"ada": total, "ben": 0.0, "cai": total - sum(points[cell] for cell in WRONG.loses)}
    rows = _grades(results / "grades.csv")
    assert {s: float(r["score"]) for s, r in rows.items()} == expected, graded.stdout[-3000:]
    assert {s: course.auto_scores(s, points) is not None for s in STUDENTS} == dict.fromkeys(STUDENTS, True)

    # Feedback: make grade's pages, returned through the exchange; each student finds their own only.
    staged = subprocess.run([sys.executable, str(REPO / "hub" / "return_feedback.py"), ASSIGNMENT,
                             "--course", str(course.root), "--results", str(results)],
                            capture_output=True, text=True, timeout=60)
    assert staged.returncode == 0, staged.stdout + staged.stderr
    answer = hub.ok("POST", f"{formgrader}/release_feedback", {}, user=INSTRUCTOR)
    assert answer["success"], answer
    pages = {s: (results / "feedback" / f"{s}.html").read_text() for s in STUDENTS}
    for student in STUDENTS:
        listed = hub.ok("POST", f"/user/{student}/assignments/fetch_feedback", body, user=student)
        (submission,) = [s for a in listed["value"] if a["status"] == "submitted" for s in a["submissions"]]
        assert submission["has_local_feedback"] and not submission["feedback_updated"], submission
        folder = f"{ASSIGNMENT}/feedback/{urllib.parse.quote(submission['timestamp'])}"
        files = hub.ok("GET", f"/user/{student}/api/contents/{folder}", user=student)["content"]
        assert [f["name"] for f in files] == [f"{ASSIGNMENT}.html"], files
        page = hub.ok("GET", f"/user/{student}/api/contents/{folder}/{ASSIGNMENT}.html", user=student)["content"]
        assert page == pages[student], f"{student} must get their own feedback page"
        assert all(page != pages[other] for other in STUDENTS if other != student)


# The cluster path (hub/k8s/): checked here without a cluster.

K8S = REPO / "hub" / "k8s"
CHART = K8S / "z2jh-4.4.0"


def _merged(defaults: object, values: object) -> object:
    """Helm's merge of a values file over the chart's defaults: maps merge key by key, anything else replaces."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        return {key: _merged(defaults.get(key), values[key]) if key in values else defaults[key]
                for key in defaults.keys() | values.keys()}
    return values


def _values() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((K8S / "values.yaml").read_text())


def _gib(quantity: str) -> float:
    """A Kubernetes memory quantity such as '1.5G' or '14G' in GiB (G read as GiB, as KubeSpawner does)."""
    assert quantity[-1] == "G", f"memory given as {quantity!r}: write it in G"
    return float(quantity[:-1])


def test_values_file_is_valid_for_the_chart() -> None:
    """hub/k8s/values.yaml over the chart's defaults passes the chart's own values schema (as `helm install`)."""
    yaml = pytest.importorskip("yaml")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((CHART / "values.schema.json").read_text())
    merged = _merged(yaml.safe_load((CHART / "values.yaml").read_text()), _values())
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(merged)]
    assert not errors, "values.yaml does not fit the chart's schema:\n" + "\n".join(errors)
    wrong = _merged(yaml.safe_load((CHART / "values.yaml").read_text()), {"singleuser": {"memory": {"limt": "3G"}}})
    assert list(jsonschema.Draft7Validator(schema).iter_errors(wrong)), "the schema must refuse a misspelt key"
    for name, code in _values()["hub"]["extraConfig"].items():
        compile(code, f"hub.extraConfig.{name}", "exec")


def test_values_file_has_the_course_id_of_nbgrader_config() -> None:
    """The exchange's course id in the cluster is the one nbgrader_config.py defines."""
    assert _values()["singleuser"]["extraEnv"]["COURSE_ID"] == _course_id(REPO)


def test_sizing_follows_from_the_measured_figures() -> None:
    """Per-user memory from the notebooks' measured peaks; nodes for 200 students; CPU for grading them."""
    values = _values()
    sizing, user = values["custom"]["sizing"], values["singleuser"]
    anonymous, peak = sizing["kernel_anonymous_mib"], sizing["kernel_peak_mib"]
    limit_mib, guarantee_mib = _gib(user["memory"]["limit"]) * 1024, _gib(user["memory"]["guarantee"]) * 1024
    # The worst a student reaches before idle kernels are shut down: all five notebooks open.
    all_open = sizing["server_mib"] + sum(anonymous.values()) + sizing["shared_libraries_mib"]
    # Working on notebook 04 and pressing Validate, which runs the notebook in a second kernel.
    validating = sizing["server_mib"] + peak["04"] + anonymous["04"]
    assert limit_mib >= max(all_open, validating), (limit_mib, all_open, validating)
    assert guarantee_mib >= sizing["server_mib"] + peak["04"], "the guarantee holds one open notebook 04"
    node = sizing["node"]
    per_node = min(node["allocatable_memory_gib"] * 1024 // guarantee_mib, node["cpu"] // user["cpu"]["guarantee"])
    assert sizing["nodes_for_students"] * per_node >= sizing["students"], (per_node, sizing["nodes_for_students"])
    # Grading: the instructor's pod runs `make grade --jobs N`, one core and one batch's memory per job.
    hook = values["hub"]["extraConfig"]["course-roles"]
    assert f"spawner.cpu_guarantee, spawner.cpu_limit = 2, {sizing['grading_jobs']}" in hook
    instructor_mib = float(hook.split('spawner.mem_limit = "4G", "')[1].split("G")[0]) * 1024
    assert sizing["grading_jobs"] * sizing["grading_job_mib"] <= instructor_mib
    minutes = sizing["students"] * sizing["grading_seconds_per_student_on_2_cores"] * 2 / sizing["grading_jobs"] / 60
    assert minutes <= 10, f"grading 200 students of notebook 04 takes {minutes:.0f} min"


def test_the_pinned_proxy_installs_without_an_engine_warning_on_this_node(tmp_path):
    """hub/package-lock.json pins configurable-http-proxy and what it needs to versions this machine's Node runs."""
    if shutil.which("npm") is None:
        pytest.skip("npm not found: .ci/run installs nodejs and npm where it can")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(REPO / "hub" / name, tmp_path / name)
    done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=warn"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and any(s in done.stderr for s in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED")):
        pytest.skip(f"the npm registry cannot be reached: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "EBADENGINE" not in done.stdout + done.stderr, done.stderr[-2000:]
