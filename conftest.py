"""Repository-wide pytest set-up: every test runs on a synthetic Fashion-MNIST stand-in.

These machines (and CI) cannot download Fashion-MNIST. Unless ``COURSE_DATA_DIR``
is already set, the stand-in is generated once into ``.cache/fashion-mnist-standin/``
(never into ``data/``, where it would shadow a student's real download) and
``COURSE_DATA_DIR`` is pointed at it. The variable is inherited by nbval's
kernels and by the nbgrader subprocesses of the round-trip tests.
"""

from __future__ import annotations

import os

import pytest

from course_utils.standin import ensure_standin


def pytest_configure(config):
    if not os.environ.get("COURSE_DATA_DIR"):
        os.environ["COURSE_DATA_DIR"] = str(ensure_standin())


def pytest_collection_modifyitems(items):
    """nbval's cells of the solution notebooks run in a kernel: integration tests."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.integration)
