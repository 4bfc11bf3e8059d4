"""Operating-system confinement of a grading kernel, with bubblewrap.

Each submission's kernel runs inside ``bwrap`` (bubblewrap, the sandbox
Flatpak uses), set up before Python starts and covering every thread and
child process of the kernel:

- its own user, PID, IPC and UTS namespaces: it sees and can signal only its
  own processes, and all of them die with it (``--die-with-parent``); it runs
  as user ``nobody`` of its namespace (user id 0 without capabilities for a
  root grader), with no capabilities; the walls each process then builds
  around itself are the fork server's (:func:`confined_command`), so a cold
  process and a warm one are walled in by the same code;
- a filesystem built from nothing: Python, the virtual environment, system
  libraries, ``course_utils`` and the data folders read-only; the kernel's
  connection file read-only; a private ``/tmp`` and ``/dev/shm``, each a small
  ``tmpfs`` (which caps the bytes it can write); nothing else of the host,
  so no ``solutions/``, gradebook, other students' files or home folder;
- no network: nbgrader itself runs in a network namespace of its own that
  holds only a loopback interface (:func:`offline_command`), and the kernel
  shares it to talk to nbgrader;
- resource limits the kernel sets on itself before any cell runs: memory,
  CPU seconds, file size, and the number of processes (see
  :mod:`course_grading.sandbox`; for a grader running as root, whose
  processes that limit does not bind, a pids cgroup: :func:`cap_processes`).

:func:`status` tells whether this machine can do it, and what to install if not.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from course_grading import forkserver, processes

NOBODY = 65534  # the sandbox's user id inside its own user namespace
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap; "
    "Arch: sudo pacman -S bubblewrap)"
)


@dataclass(frozen=True)
class Limits:
    """Per-submission limits, each overridable by an environment variable of the grader."""

    memory_mb: int = 4096
    cpu_seconds: int = 900
    file_mb: int = 64
    processes: int = 64
    tmp_mb: int = 256
    shm_mb: int = 64
    output_kb: int = 512
    sandbox_memory_mb: int = 6144  # all processes of one kernel or worker together (a root grader's cgroup)

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a whole number of at least 1, got {value!r}")

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Limits:
        """Limits from ``COURSE_GRADER_<NAME>`` variables (e.g. COURSE_GRADER_MEMORY_MB); bad values are refused."""
        env = os.environ if env is None else env
        values = {}
        for name in cls.__dataclass_fields__:
            key = processes.PREFIX + name.upper()
            if key in env:
                try:
                    values[name] = int(env[key])
                except ValueError:
                    raise ValueError(f"{key} must be a whole number, got {env[key]!r}") from None
                if values[name] < 1:
                    raise ValueError(f"{key} must be at least 1, got {values[name]}")
        return cls(**values)  # checked again by __post_init__, as any Limits


@lru_cache(maxsize=1)
def status() -> tuple[bool, str]:
    """(available, explanation): can this machine confine a kernel with bubblewrap?"""
    if not sys.platform.startswith("linux"):
        return False, f"OS confinement needs Linux (this is {sys.platform}); grade on a Linux machine"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}"
    probe = [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "true"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bubblewrap could not be run: {error}"
    if result.returncode != 0:
        return False, ("bubblewrap cannot create namespaces here (" + result.stderr.strip()[:200] + "): enable "
                       "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 "
                       "also kernel.apparmor_restrict_unprivileged_userns=0)")
    return True, f"bubblewrap at {bwrap}"


def can_limit_kernels() -> bool:
    """True where a grading kernel can set its own limits (POSIX ``resource``): not on Windows."""
    try:
        import resource  # noqa: F401
    except ImportError:
        return False
    return True


CGROUP_PREFIX = "course-grader-"


def _cgroup_root(controller: str) -> Path | None:
    """A cgroup folder of ``controller`` ("pids", "memory") this (root) process may create groups in, or None."""
    for root in (Path("/sys/fs/cgroup") / controller, Path("/sys/fs/cgroup")):
        if (root / "cgroup.procs").is_file() and os.access(root, os.W_OK):
            if root.name == controller or controller in (root / "cgroup.subtree_control").read_text(errors="ignore"):
                return root
    return None


def _pids_cgroup_root() -> Path | None:
    return _cgroup_root("pids")


def cap_processes(limit: int, pid: int | None = None, memory_mb: int | None = None) -> str:
    """Put this process, or ``pid``, (and so the sandbox it becomes) under a cap on processes and threads.

    An unprivileged grader gets it from RLIMIT_NPROC, which the kernel sets on
    itself inside its user namespace. The kernel does not apply that limit to
    root, so a grader running as root uses a pids cgroup instead.
    """
    if os.geteuid() != 0:
        return "processes: RLIMIT_NPROC"
    root = _pids_cgroup_root()
    if root is None:
        return "processes: not capped (running as root without a writable pids cgroup)"
    pid = os.getpid() if pid is None else pid
    group = root / f"{CGROUP_PREFIX}{pid}"
    group.mkdir(exist_ok=True)
    (group / "pids.max").write_text(str(limit))
    (group / "cgroup.procs").write_text(str(pid))
    memory_mb = Limits.from_environment().sandbox_memory_mb if memory_mb is None else memory_mb
    return f"processes: pids cgroup {group}; " + cap_memory(memory_mb, pid)


def cap_memory(limit_mb: int, pid: int) -> str:
    """Cap the memory of ``pid`` and every process it starts, together (a root grader's memory cgroup).

    Each process also limits itself (``RLIMIT_DATA``, :mod:`course_grading.sandbox`),
    but a sandbox of 64 processes could otherwise hold 64 times that.
    """
    root = _cgroup_root("memory")
    if root is None:
        return "memory: per process only (no writable memory cgroup)"
    group = root / f"{CGROUP_PREFIX}{pid}"
    group.mkdir(exist_ok=True)
    limit = str(limit_mb * 2**20)
    (group / ("memory.limit_in_bytes" if root.name == "memory" else "memory.max")).write_text(limit)
    (group / "cgroup.procs").write_text(str(pid))
    return f"memory: cgroup {group}"


def remove_empty_cgroups() -> None:
    """Remove the cgroups of kernels and workers that have ended (a group still in use stays)."""
    if os.geteuid() != 0:
        return
    for root in {_cgroup_root("pids"), _cgroup_root("memory")} - {None}:
        for group in root.glob(f"{CGROUP_PREFIX}*"):  # type: ignore[union-attr]
            try:
                group.rmdir()
            except OSError:
                pass


def offline_command(argv: list[str]) -> list[str]:
    """``argv`` (nbgrader) in a network namespace of its own: loopback only, no way out."""
    return [shutil.which("bwrap") or "bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent",
            "--", *argv]


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot find the package {name}")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def readable_paths() -> list[Path]:
    """Host folders the kernel may read: Python, packages, course_utils, data (nothing else of the host).

    Never the working folder nbgrader starts the kernel in (the notebook with
    its hidden tests is written there), nor the repository root (solutions/).
    """
    paths = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    paths |= {Path(p).resolve() for p in site.getsitepackages()}
    if site.ENABLE_USER_SITE and Path(site.getusersitepackages()).is_dir():
        paths.add(Path(site.getusersitepackages()).resolve())
    course_utils = _package_dir("course_utils")
    paths |= {course_utils, _package_dir("course_grading"), course_utils.parent / "data"}
    if os.environ.get("COURSE_DATA_DIR"):
        paths.add(Path(os.environ["COURSE_DATA_DIR"]).resolve())
    return sorted(p for p in paths if p.exists())


def font_cache_from_environment() -> Path | None:
    """The grader's matplotlib font cache (``COURSE_GRADER_FONT_CACHE``) that sandboxes are given, if set."""
    folder = os.environ.get(processes.FONT_CACHE)
    return Path(folder) if folder else None


def sandbox_command(inner: list[str], limits: Limits, *, files: tuple[tuple[int, str], ...] = (),
                    font_cache: Path | None = None, capabilities: tuple[str, ...] = ()) -> list[str]:
    """The bwrap command line that runs ``inner`` confined as described above.

    ``files`` are (open inheritable descriptor, path inside) pairs: bwrap copies
    each into the sandbox as a read-only file. ``capabilities`` (of the
    sandbox's own user namespace) are kept; only the fork server asks for any.
    """
    argv = [shutil.which("bwrap") or "bwrap",
            "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "grader", "--clearenv"]
    if not (capabilities and os.geteuid() == 0):
        # As root, bubblewrap maps another user id through a second user namespace, which locks
        # the sandbox's mounts: the fork server (which mounts /proc for each kernel) keeps root's.
        argv += ["--uid", str(NOBODY), "--gid", str(NOBODY)]
    for capability in capabilities:
        argv += ["--cap-add", capability]
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        argv += ["--ro-bind-try", top, top]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/alternatives"):
        argv += ["--ro-bind-try", etc, etc]
    argv += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp",
             "--size", str(limits.shm_mb * 2**20), "--tmpfs", "/dev/shm"]
    for path in readable_paths():
        argv += ["--ro-bind", str(path), str(path)]
    if font_cache is not None and font_cache.is_dir():
        argv += ["--ro-bind", str(font_cache), "/run/host-matplotlib"]
    for fd, inside in files:
        argv += ["--ro-bind-data", str(fd), inside]
    argv += ["--chdir", "/tmp"]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
           "MPLCONFIGDIR": "/tmp/matplotlib", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", processes.INSIDE: "1"}
    for key, value in os.environ.items():
        if key.startswith("COURSE_") and key not in processes.OUTSIDE_ONLY:
            env[key] = value
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if key in os.environ:
            env[key] = os.environ[key]
    for key, value in sorted(env.items()):
        argv += ["--setenv", key, value]
    return [*argv, "--", *inner]


CONNECTION_INSIDE = "/run/course-grader/kernel-connection.json"  # a cold kernel's copy of its connection file
WALL_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETPCAP")  # of the sandbox's own user namespace, dropped at once


def confined_command(kind: str, fd: int, limits: Limits, *, files: tuple[tuple[int, str], ...] = (),
                     connection: str | None = None, font_cache: Path | None = None) -> list[str]:
    """The bwrap command line of a cold ``kind`` ("kernel" or "worker") on the inherited socket ``fd``.

    A cold process gets exactly the walls a warm one does: bubblewrap builds
    the fork server's sandbox, in which :func:`course_grading.forkserver.one`
    runs the code that walls in each child the server forks (new namespaces,
    a network of its own for a worker, read-only root and ``/dev``, every
    capability dropped). ``connection``: a kernel's connection file, inside.
    """
    inner = processes.module_command(forkserver, "one", kind, str(fd))
    if connection is not None:
        inner.append(connection)
    return sandbox_command(inner, limits, files=files, font_cache=font_cache, capabilities=WALL_CAPABILITIES)


def worker_command(fd: int, confined: bool) -> list[str]:
    """The command that starts a grading worker on the inherited socket ``fd``; confined (cold, as
    :func:`confined_command` says) when ``confined``."""
    if not confined:
        from course_grading import worker  # torch: imported only where a worker starts unconfined

        return processes.module_command(worker, str(fd))
    return confined_command("worker", fd, Limits.from_environment(), font_cache=font_cache_from_environment())


def kernel_command(connection_fd: int, factory_fd: int, limits: Limits,
                   font_cache: Path | None = None) -> list[str]:
    """The bwrap command line that runs a cold grading kernel, which asks for workers on ``factory_fd``.

    ``connection_fd`` is an open, inheritable descriptor of ``connection_file``:
    bwrap copies it into the sandbox, as :data:`CONNECTION_INSIDE` (outside the
    ``/tmp`` each process gets afresh), so nothing of the grader's folder is bound.
    """
    return confined_command("kernel", factory_fd, limits, files=((connection_fd, CONNECTION_INSIDE),),
                            connection=CONNECTION_INSIDE, font_cache=font_cache)


if __name__ == "__main__":
    available, why = status()
    print(f"grading sandbox: {'available' if available else 'NOT available'}: {why}")
    if not available:
        print("make grade refuses untrusted work until it is (or pass GRADE_ARGS=--unconfined for work you trust)")
