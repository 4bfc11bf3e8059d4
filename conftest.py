"""Repository-wide pytest set-up: every test runs on a synthetic Fashion-MNIST stand-in.

These machines (and CI) cannot download Fashion-MNIST. Unless ``COURSE_DATA_DIR``
is already set, the stand-in is generated once into ``.cache/fashion-mnist-standin/``
(never into ``data/``, where it would shadow a student's real download) and
``COURSE_DATA_DIR`` is pointed at it. The variable is inherited by nbval's
kernels and by the nbgrader subprocesses of the round-trip tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
STANDIN = REPO / ".cache" / "fashion-mnist-standin"


def ensure_standin(folder: Path = STANDIN) -> Path:
    """Write the stand-in into ``folder`` unless it is already there; safe if several runs race."""
    from course_utils.data import STANDIN_MARKER, fashion_mnist_raw_dir, write_fashion_mnist_standin

    if not (fashion_mnist_raw_dir(folder) / STANDIN_MARKER).is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            write_fashion_mnist_standin(scratch)
            if folder.exists() and not (fashion_mnist_raw_dir(folder) / STANDIN_MARKER).is_file():
                shutil.rmtree(folder)  # an incomplete cache from an interrupted run
            try:
                scratch.rename(folder)  # atomic: another run sees all of it or none
            except OSError:
                pass  # another run got there first
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    write_fashion_mnist_standin(folder)  # checks the marker; rewrites only an outdated stand-in
    return folder


def pytest_configure(config):
    if not os.environ.get("COURSE_DATA_DIR"):
        os.environ["COURSE_DATA_DIR"] = str(ensure_standin())
