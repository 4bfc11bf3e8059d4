"""The README's set-up promises: a second `make test`/`make lab` skips the install."""

from __future__ import annotations

import os
import subprocess

from support.nbgrader_course import REPO


def _dry_run(*targets: str) -> str:
    return subprocess.run(["make", "--no-print-directory", "-n", *targets], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout


def test_an_installed_environment_is_not_installed_again():
    assert "course_utils install" not in _dry_run("install", "test", "lab")


def test_a_changed_pyproject_triggers_the_install(tmp_path):
    from course_utils.__main__ import STAMP_NAME, environment

    stamp = environment() / STAMP_NAME
    before = stamp.stat()
    try:
        old = (REPO / "pyproject.toml").stat().st_mtime - 60
        os.utime(stamp, (old, old))  # as if pyproject.toml had changed since the last install
        assert "course_utils install" in _dry_run("install")
    finally:
        os.utime(stamp, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_the_makefile_finds_the_assignments_course_utils_layout_finds(tmp_path):
    from course_utils import layout

    printer = tmp_path / "print.mk"
    printer.write_text("print-assignments:\n\t@echo $(ASSIGNMENTS)\n")
    out = subprocess.run(["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", str(printer),
                          "print-assignments"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.split() == layout.assignments() and len(out.split()) == 5
    assert f"solutions/{layout.ASSIGNMENT_PATTERN}" in (REPO / "Makefile").read_text()
