"""Run programs as a student's answers run: each as the answer cell of a fresh grading worker.

``python tests/support/worker_client.py cold|warm PROGRAMS_JSON``: each program
is defined (so run) in a worker started as ``make grade`` starts one: cold, in
bubblewrap (:func:`course_grading.confine.worker_command`), or warm, from the
batch's fork server (``COURSE_GRADER_FORKSERVER``, set by ``forkserver batch``).
What a program prints comes back through the boundary and is printed here; an
error in a program makes the exit status 1, with the error on stderr.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from course_grading import boundary
from course_grading.confine import Limits, cap_processes, worker_command


def main(start: str, programs: list[str]) -> int:
    started: list[subprocess.Popen[bytes]] = []

    def spawn() -> tuple[socket.socket, None]:
        ours, theirs = socket.socketpair()
        if start == "warm":
            from course_grading.forkserver import start_worker

            start_worker(os.environ["COURSE_GRADER_FORKSERVER"], theirs, Limits.from_environment().processes)
        else:
            limits = Limits.from_environment()
            started.append(subprocess.Popen(worker_command(theirs.fileno(), confined=True),
                                            pass_fds=(theirs.fileno(),),  # as the kernel's launcher starts one
                                            preexec_fn=lambda: cap_processes(limits.processes)))
        theirs.close()
        return ours, None

    boundary.spawn_worker = spawn
    status = 0
    for program in programs:
        namespace: dict = {"__name__": "__main__"}
        try:
            boundary.answer(namespace, "probe", program, protected=[], context=[])
        except BaseException as error:  # noqa: BLE001 - reported, as a failed test would be
            print(f"{type(error).__name__}: {error}", file=sys.stderr)
            status = 1
        finally:
            found = namespace.get(boundary.NAMESPACE_KEY)
            if found is not None:
                found.stop()
    for process in started:
        process.wait(timeout=60)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], json.loads(sys.argv[2])))
