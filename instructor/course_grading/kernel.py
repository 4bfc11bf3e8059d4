"""The grading kernel: an IPython kernel that confines and limits itself before the first cell.

Jupyter starts it from a kernelspec (see :func:`install_kernelspec`) as
``python -m course_grading.kernel -f CONNECTION_FILE``. When the grader sets
``COURSE_GRADER_CONFINE=1`` this first process only launches (:func:`launch`): it
asks the batch's fork server (``COURSE_GRADER_FORKSERVER``, see
:mod:`course_grading.forkserver`) for a warm kernel, or, when no server answers,
starts it in bubblewrap (:func:`course_grading.confine.kernel_command`), which
starts the same module again inside the sandbox; it stays beside the kernel to
start its workers, and returns the kernel's exit code. There, and in an unconfined run, the kernel applies
the limits of :mod:`course_grading.sandbox` and starts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from course_grading import processes

KERNEL_NAME = "course-grader"


def install_kernelspec(jupyter_dir: Path) -> Path:
    """Write the grading kernel's spec under ``jupyter_dir/kernels``; add ``jupyter_dir`` to JUPYTER_PATH."""
    folder = jupyter_dir / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": processes.module_command(sys.modules[__name__], "-f", "{connection_file}", isolated=False),
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        # The sandbox runs in a session of its own, out of reach of a signal to nbgrader's
        # process group: a cell that times out is interrupted by a message instead.
        "interrupt_mode": "message",
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def _connection_file(argv: list[str]) -> str:
    return argv[argv.index("-f") + 1]


def launch(argv: list[str]) -> int:
    """The launcher: start the trusted kernel, serve it workers for the student's code, return its exit code.

    The kernel comes warm from the batch's fork server when there is one
    (``COURSE_GRADER_FORKSERVER``), else cold in bubblewrap. Either way this
    process stays beside it and, each time the kernel asks on its factory
    socket, starts a worker in walls of its own (:func:`serve_workers`).
    """
    import socket
    import threading

    from course_grading.confine import Limits

    limits = Limits.from_environment()
    kernel_side, launcher_side = socket.socketpair()
    server = os.environ.get(processes.FORKSERVER)
    threading.Thread(target=serve_workers, args=(launcher_side, server, limits), daemon=True).start()
    if server:
        from course_grading.forkserver import launch_kernel

        code = launch_kernel(argv, server, kernel_side)
        if code is not None:
            return code
    return run_confined(argv, kernel_side)


def serve_workers(sock: Any, server: str | None, limits: Any) -> None:
    """Answer each request of the kernel (a byte on ``sock``) with the socket of a new worker.

    A worker comes from the fork server (its own namespaces, network included)
    or, without one, from bubblewrap (:func:`course_grading.confine.worker_command`).
    """
    import socket
    import subprocess

    from course_grading.confine import cap_processes, worker_command

    cold: list[subprocess.Popen[bytes]] = []
    while _asked(sock):
        kernel_end, worker_end = socket.socketpair()
        started = False
        if server:
            from course_grading.forkserver import start_worker

            try:
                start_worker(server, worker_end, limits.processes)
                started = True
            except OSError:
                pass
        if not started:  # in cgroups of its own (a root grader's): its memory is not its kernel's
            cold.append(subprocess.Popen(worker_command(worker_end.fileno(), confined=True),
                                         pass_fds=(worker_end.fileno(),), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         preexec_fn=lambda: cap_processes(limits.processes)))
        worker_end.close()
        socket.send_fds(sock, [b"w"], [kernel_end.fileno()])
        kernel_end.close()
        cold = [p for p in cold if p.poll() is None]


def _asked(sock: Any) -> bool:
    """Whether the kernel asks for another worker (False once it has closed the socket, or ended)."""
    try:
        return bool(sock.recv(1))
    except OSError:  # the kernel ended without closing it (a reset connection): it asks no more
        return False


def run_confined(argv: list[str], factory: Any) -> int:
    """Run the kernel in bubblewrap as a child of this process; its exit code."""
    import subprocess

    from course_grading.confine import Limits, font_cache_from_environment, kernel_command

    limits = Limits.from_environment()
    connection = _connection_file(argv)
    fd = os.open(connection, os.O_RDONLY)
    os.set_inheritable(fd, True)
    command = kernel_command(fd, factory.fileno(), limits, font_cache_from_environment())
    # The sandbox gets no descriptor of nbgrader's: not its stdin (a terminal), nor the stdout and
    # stderr nbgrader logs to. It talks to nbgrader only through the kernel protocol.
    return subprocess.call(command, pass_fds=(fd, factory.fileno()), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_kernel(argv: list[str]) -> None:
    from course_grading import sandbox
    from course_grading.confine import Limits

    # Output that bypasses sys.stdout (os.write(1, ...), C extensions) goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.pop("NBGRADER_EXECUTION", None)
    limits = Limits.from_environment()
    if os.environ.get(processes.INSIDE) == "1":
        sandbox.seed_font_cache()
    sandbox.resource_limits(limits)  # before any thread starts: every thread and child inherits them
    sandbox.one_compute_thread()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance(capture_fd_output=False)
    app.initialize(argv)
    sandbox.ignore_warnings()  # after IPython's own filters, which show DeprecationWarnings from __main__
    sandbox.single_process_data_loading()
    sandbox.cap_output(app.shell, limits)
    sandbox.brief_exception_history(app.shell)
    app.start()


def main() -> None:
    argv = sys.argv[1:]
    if os.environ.get(processes.CONFINE) == "1" and os.environ.get(processes.INSIDE) != "1":
        from course_grading.confine import Limits, cap_processes

        cap_processes(Limits.from_environment().processes)
        sys.exit(launch(argv))
    run_kernel(argv)


if __name__ == "__main__":
    main()
