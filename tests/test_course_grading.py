"""course_grading units: collecting LMS downloads, normalising notebooks, scanning, the sandbox pieces."""

from __future__ import annotations

import io
import sys
import zipfile

import nbformat
import pytest

from course_grading import grade, sandbox, scan


def _nb(*sources: str, grade_ids: tuple[str | None, ...] = ()) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        gid = grade_ids[i] if i < len(grade_ids) else None
        if gid:
            cell.metadata["nbgrader"] = {"grade_id": gid, "grade": True, "solution": False, "locked": True,
                                         "points": 1, "schema_version": 3}
        nb.cells.append(cell)
    return nb


def _write(path, nb=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb or _nb("x = 1"), path)


def test_collect_understands_canvas_moodle_folders_and_plain_files(tmp_path):
    src = tmp_path / "download"
    _write(src / "smithjane_1001_5001_01_sigmoid_bce.ipynb")
    _write(src / "doejohn_LATE_1002_5002_01_sigmoid_bce-1.ipynb")
    _write(src / "Ana María Pérez_42_assignsubmission_file_" / "01_sigmoid_bce.ipynb")
    _write(src / "lee" / "work.ipynb")
    _write(src / "kim.ipynb")
    _write(src / "__MACOSX" / "._kim.ipynb")
    _write(src / "lee" / ".ipynb_checkpoints" / "work-checkpoint.ipynb")
    found = {s.student: s.path.name for s in grade.collect(src, "01_sigmoid_bce.ipynb", tmp_path)}
    assert found == {
        "smithjane": "smithjane_1001_5001_01_sigmoid_bce.ipynb",
        "doejohn": "doejohn_LATE_1002_5002_01_sigmoid_bce-1.ipynb",
        "ana-mar-a-p-rez": "01_sigmoid_bce.ipynb",
        "lee": "work.ipynb",
        "kim": "kim.ipynb",
    }


def test_collect_prefers_the_assignment_notebook_and_notes_extras(tmp_path):
    src = tmp_path / "download"
    _write(src / "lee" / "scratch.ipynb")
    _write(src / "lee" / "01_sigmoid_bce.ipynb")
    (sub,) = grade.collect(src, "01_sigmoid_bce.ipynb", tmp_path)
    assert sub.path.name == "01_sigmoid_bce.ipynb"
    assert sub.notes == ["2 notebooks found, graded 01_sigmoid_bce.ipynb"]


def test_collect_reads_a_zip_and_refuses_paths_outside_it(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("smithjane_1_2_01_sigmoid_bce.ipynb", nbformat.writes(_nb("x = 1")))
    (sub,) = grade.collect(archive, "01_sigmoid_bce.ipynb", tmp_path / "scratch")
    assert sub.student == "smithjane"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../escape.ipynb", "{}")
    with pytest.raises(ValueError, match="outside the archive"):
        grade.collect(evil, "01_sigmoid_bce.ipynb", tmp_path / "scratch2")
    with pytest.raises(FileNotFoundError, match="SUBMISSIONS must be a folder or a .zip"):
        grade.collect(tmp_path / "missing", "01_sigmoid_bce.ipynb", tmp_path)


def test_prepare_keeps_the_last_of_duplicated_grade_ids_and_drops_empty_metadata(tmp_path):
    nb = _nb("first", "second", "plain", grade_ids=("t1", "t1", None))
    nb.cells[2].metadata["nbgrader"] = {}
    src, dst = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    notes = grade.prepare(src, dst)
    out = nbformat.read(dst, as_version=4)
    assert "nbgrader" not in out.cells[0].metadata
    assert out.cells[1].metadata["nbgrader"]["grade_id"] == "t1"
    assert "nbgrader" not in out.cells[2].metadata
    assert notes == ["cell id t1 appears more than once: graded the last one"]


def test_prepare_rejects_a_file_that_is_not_a_notebook(tmp_path):
    (tmp_path / "in.ipynb").write_text("not json")
    with pytest.raises(Exception):
        grade.prepare(tmp_path / "in.ipynb", tmp_path / "out.ipynb")


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("torch.allclose = lambda *a, **k: True", "patches torch, builtins or course_utils"),
        ("import builtins", "patches torch, builtins or course_utils"),
        ("setattr(torch, 'equal', f)", "patches torch, builtins or course_utils"),
        ("course_utils.checks.check_close = f", "patches torch, builtins or course_utils"),
        ("check_close = lambda *a, **k: None", "rebinds a check helper"),
        ("    def __eq__(self, other):", "defines comparisons that may always succeed"),
        ("if os.environ.get('NBGRADER_EXECUTION'):", "reads NBGRADER_EXECUTION"),
        ("get_ipython().showtraceback = f", "uses IPython internals"),
        ("src = In[-1]", "uses IPython internals"),
        ("frame = sys._getframe(1)", "inspects the call stack"),
        ("os._exit(0)", "ends or signals the process"),
        ("open('../../gradebook.db', 'wb')", "touches files"),
        ("x = bytearray(2**34)", "allocates a lot of memory"),
        ("import socket", "uses the network"),
        ("sys.stdout = open(os.devnull)", "redirects output"),
        ("while True:", "loops without a bound"),
    ],
)
def test_scan_flags_each_kind_of_suspicious_line(tmp_path, line, category):
    _write(tmp_path / "s.ipynb", _nb("def f(x):\n    return x", line))
    flags = scan.scan_notebook(tmp_path / "s.ipynb")
    assert [f.category for f in flags] == [category]
    assert flags[0].cell == 1 and flags[0].line == 1


def test_scan_ignores_ordinary_code_comments_and_unchanged_cells(tmp_path):
    ordinary = ("import torch\nz = torch.exp(-x.abs())\nassert torch.allclose(a, b)\n"
                "loss = (p == y).float().mean()  # open('x', 'w') in a comment\nw = w - lr * grad")
    _write(tmp_path / "s.ipynb", _nb(ordinary, "while True:\n    break"))
    _write(tmp_path / "release.ipynb", _nb("while True:\n    break"))
    assert scan.scan_notebook(tmp_path / "s.ipynb", tmp_path / "release.ipynb") == []


def test_capped_stream_drops_output_past_the_limit_per_cell():
    buffer = io.StringIO()
    stream = sandbox.CappedStream(buffer, 10)
    stream.write("0123456789abc")
    stream.write("more")
    assert buffer.getvalue() == "0123456789\n[output truncated by the grading kernel]\n"
    stream.new_cell()
    stream.write("next")
    assert buffer.getvalue().endswith("next")


def test_refuse_exit_on_the_main_thread():
    with pytest.raises(SystemExit, match="disabled in the grading kernel"):
        sandbox._refuse_exit(3)


def test_landlock_reports_what_it_did_or_why_not():
    if not sys.platform.startswith("linux"):
        pytest.skip("Landlock is Linux only")
    # Only inspect the description in a child, so this test process stays unrestricted.
    import subprocess

    code = ("from pathlib import Path; from course_grading.sandbox import landlock; import sys\n"
            "print(landlock([Path(p) for p in (sys.prefix, '/usr', '/lib', '/lib64', '/proc')] , [Path('/dev/null')]))\n"
            "try:\n    open('/etc/hostname').read()\n    print('read allowed')\nexcept OSError:\n    print('read denied')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    if out.startswith("landlock ABI"):
        assert out.strip().endswith("read denied"), out
    else:
        assert "not" in out.splitlines()[0] or "refused" in out.splitlines()[0]
