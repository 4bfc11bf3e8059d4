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


def one_compute_thread() -> int:
    """Let torch compute on one thread in this process (``OMP_NUM_THREADS``, when set, says how many).

    ``make grade`` grades ``--jobs`` notebooks at once, each with a kernel and
    a worker: more threads only contend for the same cores, and OpenMP's
    waiting threads then slow torch down many times over (a matrix product
    of a training step took ten times as long on two threads as on one). A
    notebook that sets one thread itself (``torch.set_num_threads(1)``, as
    notebook 04 does) sets it in the trusted kernel, never in the worker
    that runs the answers: this sets it there too, and the results no longer
    depend on the machine's number of cores.
    """
    import torch

    try:
        threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        threads = 1
    torch.set_num_threads(threads)
    return threads


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


def brief_exception_history(shell: Any) -> None:
    """Keep only an error's name and message in IPython's history, not a second traceback.

    IPython 9 formats the traceback of every failed cell twice: once for the
    notebook, once more for its history (read only by the ``%notebook`` magic).
    The formatting is most of the cost of a failed cell (a blank submission
    fails in nine of them); the notebook's own traceback is not affected.
    """
    if not hasattr(shell, "_format_exception_for_storage"):
        return

    def brief(exception: BaseException, filename: Any = None, running_compiled_code: bool = False) -> dict[str, Any]:
        try:
            message = str(exception)
        except Exception:  # noqa: BLE001 - an exception may fail to print
            message = ""
        return {"ename": type(exception).__name__, "evalue": message, "traceback": []}

    shell._format_exception_for_storage = brief


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
