"""The grading kernel: an IPython kernel that confines and limits itself before the first cell.

Jupyter starts it from a kernelspec (see :func:`install_kernelspec`) as
``python -m course_grading.kernel -f CONNECTION_FILE``. When the grader sets
``COURSE_GRADER_CONFINE=1`` this first process only launches: it asks the
batch's fork server (``COURSE_GRADER_FORKSERVER``, see
:mod:`course_grading.forkserver`) for a warm kernel and waits for it to end,
or, when no server answers, replaces itself by bubblewrap
(:func:`course_grading.confine.kernel_command`), which starts the same module
again inside the sandbox. There, and in an unconfined run, the kernel applies
the limits of :mod:`course_grading.sandbox` and starts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

KERNEL_NAME = "course-grader"


def install_kernelspec(jupyter_dir: Path) -> Path:
    """Write the grading kernel's spec under ``jupyter_dir/kernels``; add ``jupyter_dir`` to JUPYTER_PATH."""
    folder = jupyter_dir / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "course_grading.kernel", "-f", "{connection_file}"],
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


def launch_confined(argv: list[str]) -> NoReturn:
    """Replace this process by bubblewrap running the kernel inside the sandbox."""
    from course_grading.confine import Limits, cap_processes, font_cache_from_environment, kernel_command

    limits = Limits.from_environment()
    cap_processes(limits.processes)
    connection = _connection_file(argv)
    # The sandbox gets no descriptor of nbgrader's: not its stdin (a terminal), nor the stdout and
    # stderr nbgrader logs to. It talks to nbgrader only through the kernel protocol.
    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(devnull, std)
    fd = os.open(connection, os.O_RDONLY)
    os.set_inheritable(fd, True)
    command = kernel_command(connection, fd, limits, font_cache_from_environment())
    os.execv(command[0], command)


def run_kernel(argv: list[str]) -> None:
    from course_grading import sandbox
    from course_grading.confine import Limits

    # Output that bypasses sys.stdout (os.write(1, ...), C extensions) goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.pop("NBGRADER_EXECUTION", None)
    limits = Limits.from_environment()
    if os.environ.get("COURSE_GRADER_INSIDE") == "1":
        sandbox.seed_font_cache()
    sandbox.resource_limits(limits)  # before any thread starts: every thread and child inherits them
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance(capture_fd_output=False)
    app.initialize(argv)
    sandbox.ignore_warnings()  # after IPython's own filters, which show DeprecationWarnings from __main__
    sandbox.single_process_data_loading()
    sandbox.cap_output(app.shell, limits)
    app.start()


def main() -> None:
    argv = sys.argv[1:]
    if os.environ.get("COURSE_GRADER_CONFINE") == "1" and os.environ.get("COURSE_GRADER_INSIDE") != "1":
        server = os.environ.get("COURSE_GRADER_FORKSERVER")
        if server:
            from course_grading.forkserver import launch_kernel

            sys.exit(launch_kernel(argv, server))
        launch_confined(argv)
    run_kernel(argv)


if __name__ == "__main__":
    main()
