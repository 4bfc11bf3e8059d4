"""Warm grading kernels and workers: import torch once per batch, fork each confined kernel and worker.

A fresh kernel spends most of a short notebook's grading time starting
Python and importing torch, matplotlib and IPython (about 3.5 s of CPU).
Plain nbgrader pays that once per student. Here one *fork server* per batch
pays it once:

1. ``python -m course_grading.forkserver batch -- NBGRADER...`` runs inside
   nbgrader's offline network namespace. It opens a Unix socket, starts the
   server in the same bubblewrap sandbox a kernel gets
   (:func:`course_grading.confine.sandbox_command`: read-only Python, packages,
   ``course_utils`` and data; nothing else of the host; its own user and PID
   namespaces), with two capabilities of that sandbox's user namespace,
   ``CAP_SYS_ADMIN`` and ``CAP_SETPCAP``, to build the walls below and drop
   them; then it runs nbgrader with ``COURSE_GRADER_FORKSERVER`` naming the
   socket. nbgrader and the server both die with it.
2. The server imports what every notebook imports and waits. It never runs
   student code.
3. For each kernel nbgrader starts, the kernel's launcher
   (:mod:`course_grading.kernel`) asks the server for one, and for a worker
   (:mod:`course_grading.worker`) each time that kernel asks for one; the
   server serves nothing else (no request runs code of the caller's). A
   worker gets the walls below and a network namespace of its own. The server forks
   a manager for the request, which the launcher, outside, moves into a pids
   cgroup of its own when the grader runs as root; the manager enters new
   mount, PID, IPC, UTS and cgroup namespaces and starts the child, which
   before the first cell, in this order:

   - closes every descriptor it inherited (the server's socket included);
   - is process 1 of a PID namespace of its own (it sees neither the server
     nor any other kernel of the batch, and everything in it dies with it), with a fresh
     ``/proc`` and a private ``/tmp`` and ``/dev/shm`` (tmpfs, capped; the
     read-only folders of a course that lives under ``/tmp`` stay), and
     the host's device nodes on read-only mounts (no chmod of ``/dev/null``);
   - drops every capability (effective, permitted, inheritable, ambient and
     bounding), locks the securebits that give user id 0 capabilities on
     exec, and sets ``no_new_privs``;
   - starts the kernel as process 2, which applies the resource limits of
     :mod:`course_grading.sandbox` exactly as a cold kernel does.

What is shared with the batch's other kernels, unlike a cold kernel: the
user namespace (all run as the server's user: ``nobody``, or user id 0 without
capabilities when the grader is root, whose sandbox bubblewrap cannot give
another id without locking its mounts), so the process cap
(``RLIMIT_NPROC``) counts the batch's processes together (nbgrader runs one
kernel at a time); and the server's memory, copied on write, which holds only
imported modules. Python's ``random`` and NumPy's global generator are
re-seeded in each kernel. When the server cannot start, every kernel starts
cold, still confined.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from course_grading import processes

PRELOAD = ("numpy", "torch", "torch.nn", "torch.nn.functional", "matplotlib", "matplotlib.pyplot",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", "IPython",
           "IPython.core.ultratb", "stack_data", "matplotlib_inline.backend_inline", "course_utils.checks",
           "course_utils.data", "course_utils.plots", "course_utils.training", "course_grading.sandbox",
           "course_grading.confine", "course_grading.kernel", "course_grading.boundary", "course_grading.worker",
           "course_grading.feedback", "course_grading.wire", "safetensors.torch", "cloudpickle")

_CLONE_NEWNS = 0x00020000
_CLONE_NEWCGROUP = 0x02000000
_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
WORKER_FD = 3  # where a kernel finds its connection to its worker, and a worker its connection to the kernel
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 1, 4, 24
_PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
_PR_SET_SECUREBITS = 28
_SECURE_NO_ROOT_LOCKED = 0xEF  # noroot, no_setuid_fixup, no_cap_ambient_raise, each locked; keep_caps locked off
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")  # bubblewrap's --dev binds them from the host
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def encode(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {target}")


def _prctl(option: int, arg: int = 0, arg3: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(arg3), ctypes.c_ulong(0), ctypes.c_ulong(0)),
           f"prctl {option}")


def drop_capabilities() -> None:
    """Drop every capability of this process for good, and set no_new_privs."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        _prctl(_PR_CAPBSET_DROP, cap)
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL)
    _prctl(_PR_SET_SECUREBITS, _SECURE_NO_ROOT_LOCKED)  # user id 0 gains nothing on exec
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    number = _SYS_CAPSET.get(os.uname().machine)
    if number is None:
        raise OSError(f"capset: unknown system call number on {os.uname().machine}")
    header, data = Header(_LINUX_CAPABILITY_VERSION_3, 0), (Data * 2)()
    _check(_libc.syscall(ctypes.c_long(number), ctypes.byref(header), ctypes.byref(data)), "capset")


def _die_with_parent() -> None:
    parent = os.getppid()
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _mount_points_under(folder: str) -> list[str]:
    """The mount points strictly below ``folder`` in this mount namespace, outermost first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        for escape in ("\\040", "\\011", "\\012", "\\134"):  # mountinfo escapes space, tab, newline, backslash
            point = point.replace(escape, chr(int(escape[1:], 8)))
        if point.startswith(folder.rstrip("/") + "/"):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"))


def _fresh_tmpfs(folder: str, size: int) -> None:
    """A new, empty tmpfs on ``folder``, keeping the read-only folders bound below it (a course under /tmp)."""
    kept = [(point, os.open(point, os.O_PATH)) for point in _mount_points_under(folder)]
    _mount("tmpfs", folder, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size},mode=1777")
    for point, fd in kept:
        os.makedirs(point, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", point, None, _MS_BIND | _MS_REC)
        flags = os.statvfs(point).f_flag & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC)
        _mount(None, point, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | flags)
        os.close(fd)


def _wall_in(limits) -> None:
    """As process 1 of new namespaces: private mounts, a read-only root, fresh /proc, capped /tmp and /dev/shm.

    The root and ``/dev`` are the server's tmpfs, shared by every kernel and
    worker it forks: read-only here, so that nothing one child writes there
    (IPython's configuration in ``/etc/ipython``, say) reaches another.
    """
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    for folder in ("/", "/dev"):
        flags = os.statvfs(folder).f_flag & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC)
        _mount(None, folder, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | flags)
    _fresh_tmpfs("/tmp", limits.tmp_mb * 2**20)
    _mount("tmpfs", "/dev/shm", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={limits.shm_mb * 2**20},mode=1777")
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    for node in DEVICES:
        # bubblewrap binds these from the host. Read-only (but not nodev) mounts refuse chmod, chown
        # and utime of the host's inodes, which a grader running as root would otherwise allow.
        path = f"/dev/{node}"
        if os.path.exists(path):
            flags = os.statvfs(path).f_flag & (os.ST_NOSUID | os.ST_NOEXEC)
            _mount(None, path, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | flags)
    for cover in ("sys", "sysrq-trigger", "irq", "bus"):  # as bubblewrap does: read-only
        path = f"/proc/{cover}"
        if os.path.exists(path):
            _mount(path, path, None, _MS_BIND | _MS_REC)
            _mount(None, path, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)


def _reseed() -> None:
    import random

    import numpy

    random.seed()
    numpy.random.seed()


def _start(request: dict, fds: list[int]) -> int:
    """Enter new namespaces and start the confined side of one request in them; the pid of its process 1.

    The caller (a request's manager in the server, or :func:`one`) moves into the
    new mount, IPC, UTS and cgroup namespaces itself (it holds nothing of a
    kernel's: only its connection to the launcher) and stays outside the new
    PID namespace, whose process 1 is the child started here
    (:func:`_init`). One process fewer than a separate child that unshares:
    each fork copies the server's page tables.
    """
    from course_grading.confine import Limits

    if request["kind"] not in ("kernel", "worker"):
        raise ValueError(f"a request for a {request['kind']!r}: only kernels and workers are served")
    limits = Limits.from_environment()
    flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWIPC | _CLONE_NEWUTS | _CLONE_NEWCGROUP
    if request["kind"] == "worker":
        flags |= _CLONE_NEWNET  # the student's code gets no network at all, not even loopback
    _check(_libc.unshare(flags), "unshare")
    init = os.fork()
    if init == 0:
        _init(request, fds, limits)
    return init


def _init(request: dict, fds: list[int], limits: Any) -> None:
    """Process 1 of the request's PID namespace: walls in, starts the kernel or worker, reaps; never returns."""
    try:
        os.setsid()
        _die_with_parent()
        # Keep only what the request handed over: for a kernel or a worker, the socket between
        # the two (a kernel's to its launcher) on WORKER_FD; /dev/null for the rest.
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        if fds:
            os.dup2(fds[0], WORKER_FD)
        os.closerange(WORKER_FD + 1 if fds else 3, os.sysconf("SC_OPEN_MAX"))
        _wall_in(limits)
        drop_capabilities()
        _prctl(_PR_SET_DUMPABLE, 0)
        kernel = os.fork()
        if kernel == 0:
            _run(request)
        while True:  # process 1 reaps every orphan until the kernel itself ends
            pid, status = os.wait()
            if pid == kernel:
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    except BaseException as error:  # noqa: BLE001 - a child must never return into the server's loop
        try:
            os.write(2, f"fork server child: {error!r}\n".encode())
        finally:
            os._exit(70)


def _run(request: dict) -> None:
    try:
        _reseed()
        if request["kind"] == "worker":
            from course_grading.worker import main as worker_main

            _flush_and_exit(worker_main([str(WORKER_FD)]))
        path = request.get("connection_file")  # a cold kernel's, bound read-only by bubblewrap
        if not path:
            path = "/tmp/.kernel-connection.json"
            Path(path).write_text(json.dumps(request["connection"]))
        if request.get("factory"):
            os.environ[processes.WORKER_FACTORY_FD] = str(WORKER_FD)
        from course_grading.kernel import run_kernel

        sys.argv = [sys.argv[0], "-f", path]
        run_kernel(["-f", path])
        os._exit(0)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        _flush_and_exit(code)
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        _flush_and_exit(1)


def _flush_and_exit(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


def _manage(conn: socket.socket) -> None:
    """One request, in a process forked from the server: start the child, report its end."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 2)
    request = json.loads(message)
    conn.sendall(b"pid\n")  # the launcher reads this process's pid from the credentials
    if conn.recv(3) != b"go\n":
        os._exit(1)
    try:
        child = _start(request, fds)
    except BaseException as error:  # noqa: BLE001 - reported as a child's failure would be
        os.write(2, f"fork server child: {error!r}\n".encode())
        conn.sendall(json.dumps({"exit": 70}).encode() + b"\n")
        os._exit(0)
    for fd in fds:
        os.close(fd)
    try:  # readable when the child ends: its end is reported at once, not at the next poll
        ended: list[Any] = [os.pidfd_open(child)]
    except (AttributeError, OSError):  # (Linux before 5.3)
        ended = []
    while True:
        ready, _, _ = select.select([conn, *ended], [], [], 0.5)
        if conn in ready and not conn.recv(1):  # the launcher is gone: so is the kernel
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            os._exit(0)
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            os._exit(0)


def serve(listen_fd: int, batch_fd: int) -> None:
    """The server: import once, then fork a manager per connection (inside the sandbox).

    ``batch_fd`` is the read end of a pipe whose write end only the batch
    holds: when the batch ends, however it ends, the server ends, and with it
    its sandbox and every kernel in it.
    """
    import gc
    import importlib

    from course_grading import sandbox

    gc.disable()  # no collection while modules load: every object made here lives as long as the server
    sandbox.seed_font_cache()
    # debugpy (imported by ipykernel.debugger) would warn on stderr, nbgrader's log, about frozen modules.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for name in PRELOAD:
        importlib.import_module(name)
    for name in os.environ.get(processes.PRELOAD, "").split(","):
        if name.strip():
            try:
                importlib.import_module(name.strip())
            except Exception:  # noqa: BLE001 - a kernel that needs it imports it (and reports what fails)
                pass
    import matplotlib.font_manager

    matplotlib.font_manager.fontManager  # noqa: B018 - build the font list once, here
    sandbox.one_compute_thread()
    _warm_tracebacks()
    # What is loaded now is never garbage: kept out of every collection, in the server and in each child,
    # whose collections would otherwise walk (and, writing to them, copy) all of the server's objects.
    gc.collect()
    gc.freeze()
    gc.enable()
    listener = socket.socket(fileno=listen_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # managers are reaped by the system
    while True:
        ready, _, _ = select.select([listener, batch_fd], [], [])  # type: ignore[type-var]
        if batch_fd in ready:  # end of file: the batch is gone
            os._exit(0)
        conn, _ = listener.accept()
        if os.fork() == 0:
            try:
                listener.close()
                os.close(batch_fd)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _manage(conn)
            finally:
                os._exit(1)
        conn.close()


def notebook_imports(path: Path) -> list[str]:
    """The modules a (trusted) source notebook imports, for :data:`course_grading.processes.PRELOAD`.

    notebook 04 imports torchvision, say, which imports torch._dynamo: about
    2 s that its fork server then pays once instead of every kernel.
    """
    import ast

    import nbformat

    from course_grading.allowlist import parse  # ast.parse, one thread at a time: make grade calls this from several

    found: list[str] = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.get("cell_type") != "code":
            continue
        text = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())
        try:
            tree = parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
    return sorted({name for name in found if all(part.isidentifier() for part in name.split("."))})


def _warm_tracebacks() -> None:
    """Format one traceback as a grading kernel does, so that no kernel pays for it again.

    The first error of a cell costs a fresh kernel a good part of a second: IPython's
    traceback formatter imports what it needs, parses the source files of the frames
    (the course's checks and the grading boundary) and maps every loaded module to
    its file (:func:`inspect.getmodule`). Each of these is kept in a cache that a
    forked kernel inherits. Only the server's own code runs here.
    """
    import inspect

    import stack_data
    from IPython.core.ultratb import AutoFormattedTB

    from course_grading import boundary
    from course_utils import checks

    for module in (checks, boundary):
        try:
            stack_data.Source.for_filename(inspect.getfile(module)).tree  # noqa: B018
        except Exception:  # noqa: BLE001 - a cache left cold only costs time
            pass
    try:
        checks.check_close(0.0, 1.0, name="a warm-up of the traceback formatter")
    except AssertionError as error:
        for theme in ("neutral", "linux"):  # IPython's default, and the one its kernels used before 9.0
            try:
                AutoFormattedTB(mode="Context", theme_name=theme).structured_traceback(
                    type(error), error, error.__traceback__)
            except Exception:  # noqa: BLE001
                pass


def _at(sock: socket.socket, path: str, action: str) -> None:
    """``sock.bind`` or ``sock.connect`` to ``path`` by a relative name: the folder's path may be longer
    than a socket address allows."""
    folder, name = os.path.split(path)
    here = os.getcwd()
    os.chdir(folder)
    try:
        getattr(sock, action)(name)
    finally:
        os.chdir(here)


def _connect(path: str) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _at(conn, path, "connect")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    return conn


def request(path: str, message: dict, fds: list[int], processes: int) -> int:
    """Ask the server at ``path`` for a confined child; wait for it to end; its exit code."""
    return _request_on(_connect(path), message, fds, processes)


def _request_on(conn: socket.socket, message: dict, fds: list[int], processes: int,
                sent: Any = None) -> int:
    from course_grading.confine import cap_processes

    socket.send_fds(conn, [json.dumps(message).encode()], fds)
    if sent is not None:
        sent()
    data, ancillary, _, _ = conn.recvmsg(16, socket.CMSG_SPACE(12))
    if data != b"pid\n":
        raise OSError("the fork server did not answer")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = int.from_bytes(payload[:4], sys.byteorder, signed=True)
            if os.geteuid() == 0:
                cap_processes(processes, pid)
    conn.sendall(b"go\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            return 1
        reply += chunk
    code = json.loads(reply).get("exit")  # the manager's one record: {"exit": <the child's exit code>}
    return code if isinstance(code, int) else 1


def launch_kernel(argv: list[str], path: str, factory: socket.socket) -> int | None:
    """A warm trusted kernel from the server at ``path``, given ``factory`` (the socket it asks for workers on).

    Returns the kernel's exit code, or None when no server answers (the caller starts a cold one).
    """
    from course_grading.confine import Limits
    from course_grading.kernel import _connection_file

    connection = json.loads(Path(_connection_file(argv)).read_text())
    limits = Limits.from_environment()
    try:
        return request(path, {"kind": "kernel", "connection": connection, "factory": True}, [factory.fileno()],
                       limits.processes)
    except OSError:
        return None


def start_worker(path: str, end: socket.socket, processes: int) -> None:
    """Ask the server at ``path`` for a worker on ``end`` (a socket), in walls of its own; do not wait for it.

    The worker is a sibling of the kernel, not its child: it shares neither the
    kernel's PID, mount or network namespace, nor its /tmp. It ends when the
    kernel closes its end of the socket, or with this launcher.
    """
    import threading

    conn = _connect(path)  # fails here, not in the thread, when no server answers
    fd = os.dup(end.fileno())
    def ask() -> None:
        try:
            _request_on(conn, {"kind": "worker"}, [fd], processes, sent=lambda: os.close(fd))
        except OSError:
            pass

    threading.Thread(target=ask, daemon=True).start()


def batch(command: list[str]) -> int:
    """Run ``command`` (nbgrader) with a fork server beside it; its exit code."""
    from course_grading import confine

    runtime = os.environ.get("JUPYTER_RUNTIME_DIR")
    if runtime:
        os.makedirs(runtime, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="forkserver-", dir=runtime)
    path = os.path.join(folder, "socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _at(listener, path, "bind")
    listener.listen(16)
    limits = confine.Limits.from_environment()
    batch_read, batch_write = os.pipe()  # the server ends when this process does (see serve)
    inner = processes.module_command(sys.modules[__name__], "serve", str(listener.fileno()), str(batch_read))
    server_command = confine.sandbox_command(inner, limits, font_cache=confine.font_cache_from_environment(),
                                             capabilities=confine.WALL_CAPABILITIES)
    server = subprocess.Popen(server_command, pass_fds=(listener.fileno(), batch_read),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
                              preexec_fn=_die_with_parent)  # bwrap's --die-with-parent covers what it starts
    listener.close()  # only the server holds it now: if it dies, launchers fall back to cold kernels
    os.close(batch_read)
    env = dict(os.environ)
    env[processes.FORKSERVER] = path
    try:
        # nbgrader dies with this process, as it died with bubblewrap before it had a server beside it.
        return subprocess.call(command, env=env, preexec_fn=_die_with_parent)
    finally:
        os.close(batch_write)
        server.kill()
        server.wait()
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


def one(request: dict, fd: int) -> int:
    """A cold kernel or worker: the walls of :func:`_init`, as a warm one gets them, without a server.

    Runs as what bubblewrap starts (:func:`course_grading.confine.confined_command`),
    with the fork server's sandbox and capabilities: so a cold process and a
    warm one are walled in by the same code. Returns the child's exit code.
    """
    try:
        child = _start(request, [fd])
    except BaseException as error:  # noqa: BLE001
        os.write(2, f"fork server child: {error!r}\n".encode())
        return 70
    os.close(fd)  # the child holds the socket now: when it ends, the other side sees it
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) & 0xFF


def main(argv: list[str]) -> int:
    if argv[:1] == ["one"] and len(argv) in (3, 4):
        request: dict[str, Any] = {"kind": argv[1], "factory": argv[1] == "kernel"}
        if len(argv) == 4:
            request["connection_file"] = argv[3]
        return one(request, int(argv[2]))
    if argv[:1] == ["serve"]:
        serve(int(argv[1]), int(argv[2]))
        return 0
    if argv[:1] == ["batch"] and "--" in argv:
        return batch(argv[argv.index("--") + 1:])
    print("usage: python -m course_grading.forkserver batch -- COMMAND...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
