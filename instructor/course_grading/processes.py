"""How make grade's processes start one another, and the settings they pass on, each named once.

``make grade`` (:mod:`course_grading.grade`) runs nbgrader
(:mod:`course_grading.nbgrader_cli`), beside a fork server of warm kernels
and workers (:mod:`course_grading.forkserver`); nbgrader starts the grading
kernel (:mod:`course_grading.kernel`), whose test cells call the answers in
workers (:mod:`course_grading.boundary` on the trusted side,
:mod:`course_grading.worker` in the sandbox). Each of those runs as
``python -m <module>``: :func:`module_command` builds that command from the
imported module, so the flow can be followed by its imports.

Settings cross from one process to the next as environment variables, named
here and read only by the module that uses them. Set one in the environment
of ``make grade`` to change it for a run (the limits, the time budgets, the
wire cap, ``COURSE_GRADER_ALLOWLIST=off`` for tests); the others are set by
the grader itself.
"""

from __future__ import annotations

import sys
from types import ModuleType

#: Also the prefix of each limit of :class:`course_grading.confine.Limits`: ``COURSE_GRADER_MEMORY_MB``, ...
PREFIX = "COURSE_GRADER_"

ALLOWLIST = PREFIX + "ALLOWLIST"  # "off": the answers go to the worker unscreened (tests only)
WARM = PREFIX + "WARM"  # "0": kernels start cold, each in a sandbox of its own, instead of from a fork server
CALL_SECONDS = PREFIX + "CALL_SECONDS"  # the longest one call of an answer may take (default 120)
STUDENT_SECONDS = PREFIX + "STUDENT_SECONDS"  # one student's worker time in all (default 600)
WIRE_MB = PREFIX + "WIRE_MB"  # the largest message between a worker and the trusted side, in MB
WORKER_LIMITS = PREFIX + "LIMITS"  # "0": a worker sets no resource limits of its own (tests of the worker alone)

CONFINE = PREFIX + "CONFINE"  # "1": nbgrader's kernel is the confined grading kernel (set by make grade)
INSIDE = PREFIX + "INSIDE"  # "1": this process runs inside the sandbox (set by the sandbox)
FORKSERVER = PREFIX + "FORKSERVER"  # the socket of the batch's fork server (set by ``forkserver batch``)
PRELOAD = PREFIX + "PRELOAD"  # more modules for the fork server to import, comma-separated (the notebook's imports)
WORKER_FACTORY_FD = PREFIX + "WORKER_FACTORY_FD"  # the kernel's socket to the launcher that starts its workers
FONT_CACHE = PREFIX + "FONT_CACHE"  # the grader's matplotlib font cache, given read-only to every sandbox

#: Set by the grader for its own process tree only: a sandbox does not inherit them.
OUTSIDE_ONLY = (CONFINE, FORKSERVER)


def module_command(module: ModuleType, *args: str, isolated: bool = True) -> list[str]:
    """``python [-I] -m <module> args...`` with this interpreter; ``isolated``: Python's ``-I`` (no
    user site, no ``PYTHONPATH``, not the working folder on the path)."""
    spec = module.__spec__
    if spec is None:
        raise ValueError(f"{module!r} was not imported as a module, so it cannot be run with -m")
    return [sys.executable, *(["-I"] if isolated else []), "-m", spec.name, *args]
