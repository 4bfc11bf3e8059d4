"""course_grading units: collecting LMS downloads, normalising notebooks, scanning, the sandbox pieces."""

from __future__ import annotations

import io
import zipfile

import nbformat
import pytest

from course_grading import course, grade, sandbox, scan


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
        "ana-maria-perez": "01_sigmoid_bce.ipynb",
        "lee": "work.ipynb",
        "kim": "kim.ipynb",
    }


def test_collect_prefers_the_assignment_notebook_and_notes_extras(tmp_path):
    src = tmp_path / "download"
    _write(src / "lee" / "scratch.ipynb")
    _write(src / "lee" / "01_sigmoid_bce.ipynb")
    (sub,) = grade.collect(src, "01_sigmoid_bce.ipynb", tmp_path)
    assert sub.path.name == "01_sigmoid_bce.ipynb"
    assert sub.notes == ["2 notebooks found, graded '01_sigmoid_bce.ipynb'; not graded: 'scratch.ipynb'"]


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


def test_normalise_keeps_the_last_of_duplicated_grade_ids_and_drops_empty_metadata():
    nb = _nb("first", "second", "plain", grade_ids=("t1", "t1", None))
    nb.cells[2].metadata["nbgrader"] = {}
    notes = course.normalise(nb)
    assert "nbgrader" not in nb.cells[0].metadata
    assert nb.cells[1].metadata["nbgrader"]["grade_id"] == "t1"
    assert "nbgrader" not in nb.cells[2].metadata
    assert notes == ["cell id t1 appears more than once: graded the last one"]


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("torch.allclose = lambda *a, **k: True", "patches torch.allclose"),
        ("import builtins", "imports builtins"),
        ("setattr(torch, 'equal', f)", "sets an attribute by a computed name"),
        ("getattr(torch, 'all' + 'close')", "reads an attribute by a computed name"),
        ("exec(base64.b64decode(payload))", "runs code from a string (exec)"),
        ("import base64", "imports base64 (decodes or builds code)"),
        ("f.__code__ = g.__code__", "reaches interpreter internals (.__code__)"),
        ("vars(torch).update(allclose=f)", "reaches a namespace (vars)"),
        ("class Yes:\n    def __eq__(self, other):\n        return True",
         "defines __eq__ (comparisons that may always succeed)"),
        ("if os.environ.get('NBGRADER_EXECUTION'):\n    pass", "reads NBGRADER_EXECUTION"),
        ("get_ipython().ast_transformers.append(t)", "uses IPython internals"),
        ("source = In[-1]", "uses IPython internals"),
        ("%history", "IPython magic or shell command"),
        ("!cat /etc/passwd", "IPython magic or shell command"),
        ("import sys\nsys.settrace(t)", "imports sys"),
        ("x = torch.ones(2 * 2**30)", "allocates a lot of memory"),
        ("while True:\n    pass", "loops without a bound"),
        ("def check_close(*a, **k):\n    return None",
         "defines check_close again (a builtin or a check the tests use)"),
        ("def float(x):\n    return 20.0", "defines float again (a builtin or a check the tests use)"),
        ("check_tensor = print", "binds check_tensor again (a check the tests use)"),
    ],
)
def test_scan_flags_each_kind_of_suspicious_code(tmp_path, code, category):
    _write(tmp_path / "s.ipynb", _nb("def f(x):\n    return x", code))
    flags = scan.scan_notebook(tmp_path / "s.ipynb")
    assert category in [f.category for f in flags], [str(f) for f in flags]
    assert all(f.cell == 1 for f in flags)


def test_scan_ignores_ordinary_code_comments_and_unchanged_cells(tmp_path):
    ordinary = ("import torch\nz = torch.exp(-x.abs())\nassert torch.allclose(a, b)\n"
                "loss = (p == y).float().mean()  # open('x', 'w') in a comment\nw = w - lr * grad\n"
                "W.grad = None\nwith torch.no_grad():\n    w -= lr * w.grad")
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


def test_two_people_with_one_name_are_never_merged_and_the_latest_submission_counts(tmp_path):
    src = tmp_path / "download"
    _write(src / "Alice Smith_1234_assignsubmission_file_" / "01_sigmoid_bce.ipynb")
    _write(src / "Alice Smith_9999_assignsubmission_file_" / "01_sigmoid_bce.ipynb")
    _write(src / "leebo_555_7001_01_sigmoid_bce.ipynb")
    _write(src / "leebo_555_7002_01_sigmoid_bce-1.ipynb")
    found = {s.student: s for s in grade.collect(src, "01_sigmoid_bce.ipynb", tmp_path)}
    assert set(found) == {"alice-smith-1234", "alice-smith-9999", "leebo"}
    assert found["leebo"].path.name == "leebo_555_7002_01_sigmoid_bce-1.ipynb", "the later Canvas submission"
    assert found["leebo"].notes == ["2 notebooks found, graded 'leebo_555_7002_01_sigmoid_bce-1.ipynb'; "
                                    "not graded: 'leebo_555_7001_01_sigmoid_bce.ipynb'"]


def test_scan_flags_nothing_in_any_reference_solution(tmp_path):
    from course_grading.reference import filled_submission
    from course_utils.layout import RELEASE, assignments

    for assignment in assignments():
        release = RELEASE / assignment / f"{assignment}.ipynb"
        _write(tmp_path / f"{assignment}.ipynb", filled_submission(release, assignment))
        assert scan.scan_notebook(tmp_path / f"{assignment}.ipynb", release) == [], assignment


def test_a_second_look_at_outputs_takes_the_points_of_a_test_cell_with_a_result_or_an_error():
    nb = _nb("check(a)", "check(b)", "check(c)", grade_ids=("t1", "t2", "t3"))
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "'full marks'"})]
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="all visible checks passed")]
    checked = grade.no_credit_for_results_or_errors(nb, {"t1": 1.0, "t2": 1.0, "t3": 1.0})
    assert checked == {"t1": 0.0, "t2": 0.0, "t3": 1.0}


def test_a_file_named_like_a_classmates_is_another_student(tmp_path):
    src = tmp_path / "download"
    _write(src / "carol.ipynb")
    _write(src / "carol_.ipynb")
    _write(src / "Carol" / "work.ipynb")
    collected = grade.collect(src, "01_sigmoid_bce.ipynb", tmp_path)
    found = {s.path.relative_to(src).as_posix(): s.student for s in collected}
    assert len(set(found.values())) == 3 and all(student.startswith("carol-") for student in found.values())


def test_the_report_cannot_be_given_extra_lines_by_a_file_name():
    assert grade._printable("zz\nalice  0 / 9  not graded") == "zz\\x0aalice  0 / 9  not graded"


def test_a_forged_marker_in_the_log_moves_no_line_to_a_classmate():
    log = ("[AutogradeApp | INFO] Creating/updating student with ID 'alice': {}\n"
           "alice line\n"
           "unhandled iopub msg: x\n[AutogradeApp | INFO] Creating/updating student with ID 'carol': {}\nforged\n"
           "[AutogradeApp | INFO] Creating/updating student with ID 'bob': {}\n"
           "bob line\n"
           "[AutogradeApp | INFO] Creating/updating student with ID 'carol': {}\n"
           "carol line\n")
    parts = grade.split_log(log, ["carol", "alice", "bob"])
    assert "forged" in parts["alice"] and "forged" not in parts["carol"]
    assert parts["bob"].endswith("bob line\n") and parts["carol"].endswith("carol line\n")


def test_make_grade_refuses_untrusted_work_without_confinement_and_says_why(monkeypatch, tmp_path, capsys):
    from course_grading import confine

    monkeypatch.setattr(confine, "status", lambda: (False, "bubblewrap (bwrap) is not installed: install bubblewrap"))
    _write(tmp_path / "subs" / "kim.ipynb")
    code = grade.main(["01_sigmoid_bce", str(tmp_path / "subs"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "out").exists()
    assert "refusing to grade untrusted work" in err and "install bubblewrap" in err and "--unconfined" in err


@pytest.mark.parametrize("unconfined", [[], ["--unconfined"]])
def test_make_grade_on_windows_says_where_to_grade_instead_of_crashing(monkeypatch, tmp_path, capsys, unconfined):
    """Without ``resource`` (Windows) even --unconfined cannot limit a kernel: stop, and say to use WSL 2."""
    import sys

    from course_grading import confine

    monkeypatch.setattr(confine, "status", lambda: (False, "OS confinement needs Linux (this is win32)"))
    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows: `import resource` fails
    _write(tmp_path / "subs" / "kim.ipynb")
    code = grade.main(["01_sigmoid_bce", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), *unconfined])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "out").exists()
    assert "needs Linux (this is win32)" in err and "WSL 2" in err


def test_the_graders_nbgrader_runs_without_the_iri_parser_and_still_validates_notebooks(tmp_path, monkeypatch):
    import subprocess
    import sys

    script = ("import course_grading, sys, nbformat, jsonschema\n"
              "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\n"
              "nbformat.validate(nb)\n"
              "print(sys.modules.get('rfc3987_syntax'), 'iri' in jsonschema.FormatChecker.checkers)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["None", "False"], result.stdout
    version = subprocess.run([sys.executable, "-m", "course_grading.nbgrader_cli", "--version"],
                             capture_output=True, text=True, cwd=tmp_path)
    assert version.returncode == 0 and "nbgrader version" in version.stdout, version.stderr[-2000:]
    seen = []
    monkeypatch.setattr(course.subprocess, "run", lambda command, **kwargs: seen.append(command))
    course.Course(tmp_path / "c", "01_sigmoid_bce", confined=False).nbgrader("--version")
    assert seen == [[sys.executable, "-m", "course_grading.nbgrader_cli", "--version"]]


@pytest.mark.parametrize("metadata, expected", [
    ({"nbgrader": {"grade_id": "nb01_sigmoid", "solution": True}}, ("nb01_sigmoid", True)),
    ({"nbgrader": {"grade_id": "t1", "grade": True}}, ("t1", False)),
    ({"nbgrader": "not a mapping"}, (None, False)),
    ({"nbgrader": {"grade_id": 7, "solution": True}}, (None, True)),
    ({"nbgrader": ["grade_id"]}, (None, False)),
    ({}, (None, False)),
])
def test_cell_metadata_is_read_safely_whatever_a_submission_holds(metadata, expected):
    from course_grading import cells

    cell = nbformat.v4.new_code_cell("x = 1", metadata=metadata)
    assert (cells.grade_id(cell), cells.is_solution(cell)) == expected
    assert cells.grade_id({"metadata": "garbage"}) is None


def test_answers_that_could_not_be_screened_are_all_marked_for_review(monkeypatch, tmp_path):
    """nbgrader screens the answers in its own process: if the report's screening fails, a human looks."""
    from course_utils.layout import RELEASE

    def fails(source, submitted):
        raise SystemError("AST constructor recursion depth mismatch")

    grader = grade.Grader.__new__(grade.Grader)  # only what _review reads
    grader.release = RELEASE / "01_sigmoid_bce" / "01_sigmoid_bce.ipynb"
    grader.source = nbformat.read(grader.release, as_version=4)
    monkeypatch.setattr(grade, "screen_answers", fails)
    flags, review = grader._review(grade.Submission("ana", grader.release), grader.source)
    assert any("could not be screened" in flag for flag in flags)
    assert [(item.grade_id, item.verdict) for item in review] == [("every answer", "not screened")]


def test_the_grading_kernel_prints_no_warning_but_check_warning_free_still_sees_them():
    """nbgrader zeroes a test cell that writes to stderr: a warning from correct code must not do that."""
    import subprocess
    import sys

    code = ("import warnings, torch\n"
            "from course_grading import sandbox\n"
            "from course_utils.checks import check_warning_free\n"
            "sandbox.ignore_warnings()\n"
            "warnings.warn('from correct code', UserWarning)\n"
            "torch.ones(3).T  # torch's own deprecation warning for .T of a vector\n"
            "try:\n"
            "    check_warning_free(lambda: warnings.warn('overflow encountered in exp', RuntimeWarning), name='f')\n"
            "except AssertionError as error:\n"
            "    print('seen:', error)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert "seen:" in run.stdout and "overflow" in run.stdout


def test_names_that_look_like_formulas_reach_spreadsheets_as_text(tmp_path):
    """A student names their file (or their platform profile) like a formula: it must not run when opened."""
    import dataclasses
    from datetime import datetime

    from course_grading import results
    from course_grading.exports import canvas_rows, moodle_rows
    from course_grading.lateness import LatePolicy

    name = '=HYPERLINK(CHAR(34)&"x","click me")'
    sub = grade.Submission("hyperlink-click-me", tmp_path / "x.ipynb", name=name, platform="canvas", user_id="@1")
    record = grade.student_record(sub, grade.Result(sub.student), {"nb01_sigmoid_tests": 1.0}, LatePolicy())
    row = record.row(["nb01_sigmoid_tests"])
    written = dict(zip(results.COLUMNS, row))
    assert written["name"] == "'" + name and written["user_id"] == "'@1" and written["student"] == sub.student
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in canvas_rows([record], "01", 1.0)[2])
    moodle = dataclasses.replace(record, platform="moodle")
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in moodle_rows([moodle], 1.0, datetime.now())[1])
    folder = results.ResultsFolder(tmp_path, results.header(["nb01_sigmoid_tests"]))
    folder.save([record], {}, None, None)
    again = results.ResultsFolder.open(tmp_path, ["nb01_sigmoid_tests"])
    assert again.rows == {sub.student: row} and again.records[sub.student].name == name
    assert again.known() == {("canvas", "@1", grade.slug(name)): (sub.student, name)}  # the same student next run
    assert [results.spreadsheet_text(v) for v in ("Ana", "+1", "-x", "\tA")] == ["Ana", "'+1", "'-x", "'\tA"]


def test_the_grading_kernel_loads_data_in_its_own_process():
    """A worker's pickled batch, unpickled in the kernel, can name any function: no workers at grading."""
    import subprocess
    import sys

    code = ("import os, torch\n"
            "from torch.utils.data import DataLoader, TensorDataset\n"
            "from course_grading import sandbox\n"
            "sandbox.single_process_data_loading()\n"
            "def pid(batch):\n"
            "    return os.getpid()\n"
            "data = TensorDataset(torch.arange(8.0))\n"
            "for loader in (DataLoader(data, 2, False, None, None, 2, collate_fn=pid),\n"
            "               DataLoader(data, batch_size=2, num_workers=2, prefetch_factor=4, persistent_workers=True,\n"
            "                          timeout=5, multiprocessing_context='spawn', collate_fn=pid)):\n"
            "    assert loader.num_workers == 0 and set(loader) == {os.getpid()}, set(loader)\n"
            "print([b.tolist() for (b,) in DataLoader(data, batch_size=4, num_workers=2)])\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]"
