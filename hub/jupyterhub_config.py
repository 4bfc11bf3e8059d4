"""JupyterHub for the course on one machine: `jupyterhub -f hub/jupyterhub_config.py` (as root).

The Littlest JupyterHub's conventions where they fit: one Unix account per
user, created on their first start, each server a systemd unit with its own
memory and CPU limits (jupyterhub-systemdspawner), idle servers stopped by
jupyterhub-idle-culler, and the proxy configurable-http-proxy. The course
adds nbgrader's exchange for its course id (read from the course's
``nbgrader_config.py``, the one place it is defined) and two roles: members
of the group ``instructors`` start in the course folder with Formgrader (and
a terminal for ``make grade``); everyone else is a student, with Assignment
List and Validate only. hub/README.md explains each setting below.

Settings come from the environment, so that this file is the same on every
machine; the defaults are those of hub/README.md's installation.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from traitlets.config import PyFileConfigLoader

c = get_config()  # noqa: F821  (provided by JupyterHub)

HUB = Path(__file__).resolve().parent
# The instructors' course folder: a clone of the private repository (solutions/, gradebook.db).
COURSE_DIR = Path(os.environ.get("COURSE_HUB_COURSE_DIR", HUB.parent)).resolve()
# The hub's own files: its database, cookie secret and the Jupyter config every server reads.
STATE = Path(os.environ.get("COURSE_HUB_STATE", "/srv/course-hub"))
EXCHANGE = Path(os.environ.get("COURSE_HUB_EXCHANGE", "/srv/nbgrader/exchange"))
# Fashion-MNIST, downloaded once for the class (COURSE_DATA_DIR of every kernel).
DATA = Path(os.environ.get("COURSE_HUB_DATA", STATE / "data"))
INSTRUCTORS = {name for name in os.environ.get("COURSE_HUB_INSTRUCTORS", "").split(",") if name}
ADMINS = {name for name in os.environ.get("COURSE_HUB_ADMINS", "").split(",") if name}
ROSTER = Path(os.environ.get("COURSE_HUB_ROSTER", STATE / "roster.txt"))  # one student user name per line
# "create": one Unix account per user, made on first start. "shared": every server runs as the
# hub's own account (only for a test spawner such as SimpleLocalProcessSpawner).
UNIX_USERS = os.environ.get("COURSE_HUB_UNIX_USERS", "create")
# Per-user limits (hub/README.md, "Sizing", for the measurements behind them).
STUDENT_MEMORY = os.environ.get("COURSE_HUB_STUDENT_MEMORY", "3G")
STUDENT_CPUS = float(os.environ.get("COURSE_HUB_STUDENT_CPUS", "1"))
INSTRUCTOR_MEMORY = os.environ.get("COURSE_HUB_INSTRUCTOR_MEMORY", "8G")
INSTRUCTOR_CPUS = float(os.environ.get("COURSE_HUB_INSTRUCTOR_CPUS", "2"))
IDLE_SECONDS = int(os.environ.get("COURSE_HUB_IDLE_SECONDS", "3600"))
INSTRUCTOR_GROUP = "instructors"


def course_id(course_dir: Path) -> str:
    """The course id of the course's nbgrader_config.py (``CourseDirectory.course_id``)."""
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir))
    found = loader.load_config().get("CourseDirectory", {}).get("course_id", "")
    if not found:
        raise SystemExit(f"{course_dir / 'nbgrader_config.py'} sets no CourseDirectory.course_id: "
                         "the hub's exchange needs it (COURSE_HUB_COURSE_DIR names the course folder)")
    return str(found)


def publish_jupyter_config(course_dir: Path, target: Path) -> Path:
    """Copy each role's Jupyter config and the hub's nbgrader config where every account can read them."""
    for role in ("student", "instructor"):
        shutil.copytree(course_dir / "jupyter_config" / role, target / role, dirs_exist_ok=True)
    shutil.copytree(HUB / "jupyter_config", target / "common", dirs_exist_ok=True)
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)
    return target


def read_roster(path: Path) -> set[str]:
    """The user names listed in the roster file, one per line (``#`` starts a comment)."""
    if not path.is_file():
        return set()
    return {line.split("#")[0].strip() for line in path.read_text().splitlines()} - {""}


def is_instructor(user: object) -> bool:
    """Whether the hub user belongs to the instructors' group."""
    return any(group.name == INSTRUCTOR_GROUP for group in getattr(user, "groups", []))


def ensure_unix_user(name: str, instructor: bool) -> None:
    """Create the user's Unix account (and home) unless it exists; instructors join the Unix group too."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
        account = pwd.getpwnam(name)
    if account.pw_uid < 1000:
        raise RuntimeError(f"hub user {name!r} is a system account on this machine: refusing to start it")
    # useradd's default (Debian 12: 0755) lets every account read every home: a student's is theirs alone.
    os.chmod(account.pw_dir, 0o700)
    if instructor:
        try:
            grp.getgrnam(INSTRUCTOR_GROUP)
        except KeyError:
            subprocess.run(["groupadd", INSTRUCTOR_GROUP], check=True)
        subprocess.run(["usermod", "--append", "--groups", INSTRUCTOR_GROUP, name], check=True)


def prepare_server(spawner: object) -> None:
    """Before a server starts: its role's config, the course's exchange and data, its limits."""
    instructor = is_instructor(spawner.user)
    role = "instructor" if instructor else "student"
    if UNIX_USERS == "create":
        ensure_unix_user(spawner.user.name, instructor)
    spawner.environment = {**spawner.environment,
        # The role's config first (jupyter_config/<role>/), then the exchange's (hub/jupyter_config/).
        "JUPYTER_CONFIG_PATH": os.pathsep.join(str(USER_CONFIG / part) for part in (role, "common")),
        "COURSE_ID": COURSE_ID,
        "COURSE_EXCHANGE": str(EXCHANGE),
        "COURSE_DATA_DIR": str(DATA),
    }
    if UNIX_USERS == "shared" and not instructor:
        spawner.environment = {**spawner.environment, "COURSE_STUDENT_ID": spawner.user.name}  # who submits
    if instructor:  # formgrader's course folder is the server's root
        spawner.notebook_dir = str(COURSE_DIR)
        spawner.environment = {**spawner.environment, "COURSE_DIR": str(COURSE_DIR)}
    spawner.mem_limit = INSTRUCTOR_MEMORY if instructor else STUDENT_MEMORY
    spawner.cpu_limit = INSTRUCTOR_CPUS if instructor else STUDENT_CPUS


COURSE_ID = course_id(COURSE_DIR)
for folder in (STATE, DATA):
    folder.mkdir(parents=True, exist_ok=True)
USER_CONFIG = publish_jupyter_config(COURSE_DIR, STATE / "jupyter_config")
# nbgrader's exchange: every account writes to inbound/, so the root is world-writable and sticky.
EXCHANGE.mkdir(parents=True, exist_ok=True)
os.chmod(EXCHANGE, 0o1777)

# The hub and its proxy (configurable-http-proxy, from npm: hub/README.md).
c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_BIND_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
proxy = shutil.which("configurable-http-proxy", path=f"{HUB / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}")
if proxy:
    c.ConfigurableHTTPProxy.command = [proxy]

# Who may log in: any authenticator of JupyterHub's (hub/README.md, "Authentication").
c.JupyterHub.authenticator_class = os.environ.get("COURSE_HUB_AUTHENTICATOR", "pam")
c.Authenticator.allowed_users = read_roster(ROSTER) | INSTRUCTORS
c.Authenticator.admin_users = ADMINS
# A valid Unix account name that make grade and nbgrader take as the student id unchanged.
c.Authenticator.username_pattern = r"^(?=.{1,32}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$"
c.JupyterHub.load_groups = {INSTRUCTOR_GROUP: {"users": sorted(INSTRUCTORS)}}

# Each user's server: JupyterLab from this environment, one systemd unit with its own limits.
c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
c.Spawner.cmd = [str(Path(sys.prefix) / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.pre_spawn_hook = prepare_server
# A kernel left idle for 30 minutes is shut down, as in `make lab` (five open notebooks hold 3 GB).
c.Spawner.args = ["--MappingKernelManager.cull_idle_timeout=1800", "--MappingKernelManager.cull_interval=300"]
c.SystemdSpawner.username_template = "{USERNAME}"  # the Unix account is the hub user name
c.SystemdSpawner.isolate_tmp = True
c.SystemdSpawner.isolate_devices = True
c.SystemdSpawner.disable_user_sudo = True
c.SystemdSpawner.unit_name_template = "jupyter-{USERNAME}-singleuser"

# A server without activity for an hour is stopped (its files stay).
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_SECONDS}", "--cull-every=300"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
