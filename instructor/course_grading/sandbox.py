"""What the grading kernel does to itself before the first cell runs.

These layers complete the operating-system confinement of
:mod:`course_grading.confine` (which they do not replace):

- resource limits: memory (``RLIMIT_DATA``), CPU seconds, the size of any
  file written, and the number of processes and threads (counted inside the
  sandbox's own user namespace);
- a cap on how much a cell can print;
- no warning is printed: nbgrader takes the points of a test cell that writes to
  stderr, and a warning from correct code (``float()`` of a tensor that
  requires grad, ``.T`` of a vector) must not cost them. A test that means to
  grade warnings checks them itself (``course_utils.checks.check_warning_free``);
- a ``DataLoader`` loads in the kernel's own process, whatever ``num_workers``
  says: nothing a worker process pickles is ever unpickled in the kernel (a
  pickle can name any function, ``exec`` included).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import warnings
from pathlib import Path
from typing import Any, TextIO

from course_grading.confine import Limits


def resource_limits(limits: Limits) -> list[str]:
    """Apply memory, CPU, file-size and process limits to this process and its children."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing the kernel
    applied = []
    for name, limit, value in (("memory", resource.RLIMIT_DATA, limits.memory_mb * 2**20),
                               ("cpu", resource.RLIMIT_CPU, limits.cpu_seconds),
                               ("file size", resource.RLIMIT_FSIZE, limits.file_mb * 2**20),
                               ("processes", resource.RLIMIT_NPROC, limits.processes)):
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, value))
        applied.append(f"{name}={value}")
    return applied


def ignore_warnings() -> None:
    warnings.simplefilter("ignore")


def single_process_data_loading() -> None:
    """Make every ``torch.utils.data.DataLoader`` load in this process (``num_workers=0``)."""
    import inspect

    from torch.utils.data import dataloader

    original = dataloader.DataLoader.__init__
    signature = inspect.signature(original)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.arguments["num_workers"] = 0
        for name, value in (("prefetch_factor", None), ("persistent_workers", False), ("timeout", 0),
                            ("multiprocessing_context", None)):
            if name in bound.arguments:
                bound.arguments[name] = value
        original(*bound.args, **bound.kwargs)

    dataloader.DataLoader.__init__ = __init__  # type: ignore[method-assign]


def seed_font_cache(host_cache: Path = Path("/run/host-matplotlib")) -> None:
    """Give matplotlib the grader's font list, so it does not rebuild it in every sandbox."""
    target = Path(os.environ.get("MPLCONFIGDIR", "/tmp/matplotlib"))
    target.mkdir(parents=True, exist_ok=True)
    if host_cache.is_dir():
        for font_list in host_cache.glob("fontlist-*.json"):
            shutil.copy(font_list, target / font_list.name)


class CappedStream:
    """Wraps a text stream; after ``limit`` characters in one cell, further writes are dropped."""

    def __init__(self, stream: TextIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.new_cell()

    def new_cell(self, info: Any = None) -> None:
        self._left = self._limit
        self._noted = False

    def write(self, text: str) -> int:
        if self._left > 0:
            self._stream.write(text[: self._left])
            self._left -= len(text)
        elif not self._noted:
            self._noted = True
            self._stream.write("\n[output truncated by the grading kernel]\n")
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def cap_output(shell: Any, limits: Limits) -> None:
    """Cap what each cell may print on stdout and stderr."""
    import sys

    limit = limits.output_kb * 1024
    sys.stdout = out = CappedStream(sys.stdout, limit)
    sys.stderr = err = CappedStream(sys.stderr, limit)
    shell.events.register("pre_run_cell", out.new_cell)
    shell.events.register("pre_run_cell", err.new_cell)
