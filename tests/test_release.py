"""notebooks/ is exactly what nbgrader generates from solutions/, and leaks nothing."""

from __future__ import annotations

import ast
import difflib
import re

import pytest
from support.nbgrader_course import (
    HIDDEN_MARKERS,
    RELEASE,
    SOLUTION_MARKERS,
    SOLUTIONS,
    assignments,
    notebook_name,
    read,
)

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast


def test_release_has_one_folder_per_assignment():
    released = sorted(p.name for p in RELEASE.iterdir() if p.is_dir())
    assert released == assignments(), "notebooks/ and solutions/ hold different assignments: run `make release`"


def test_release_is_in_sync_with_solutions(generated_course, assignment):
    fresh = generated_course(assignment).release_path.read_text()
    committed = (RELEASE / assignment / notebook_name(assignment)).read_text()
    if fresh != committed:
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                                 "committed", "regenerated"))[:60])
        raise AssertionError(f"notebooks/{assignment} is out of date: run `make release`\n{diff}")


def test_release_folder_holds_only_the_notebook(generated_course, assignment):
    fresh = {p.name for p in generated_course(assignment).release_path.parent.iterdir()}
    committed = {p.name for p in (RELEASE / assignment).iterdir()}
    assert committed == fresh, f"notebooks/{assignment} holds {sorted(committed)}, nbgrader makes {sorted(fresh)}"


def _secret_lines(assignment: str) -> set[str]:
    """Lines that appear only inside solution or hidden-test regions of the source notebook."""
    secret: set[str] = set()
    public: set[str] = set()
    for cell in read(SOLUTIONS / assignment / notebook_name(assignment)).cells:
        inside = False
        for line in cell.source.splitlines():
            if any(m in line for m in (SOLUTION_MARKERS[0], HIDDEN_MARKERS[0])):
                inside = True
            elif any(m in line for m in (SOLUTION_MARKERS[1], HIDDEN_MARKERS[1])):
                inside = False
            elif len(re.findall(r"\w", line)) >= 4:
                (secret if inside else public).add(line.strip())
    return secret - public


def test_no_solution_or_hidden_test_reaches_the_release(assignment):
    secret = _secret_lines(assignment)
    assert secret, ("the solution notebook has no solution or hidden-test lines: "
                    "is the leak check looking in the right place?")
    for path in sorted((RELEASE / assignment).rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
            assert marker not in text, f"{path.relative_to(RELEASE)} contains the marker {marker!r}"
        sources = read(path).cells if path.suffix == ".ipynb" else []
        lines = {line.strip() for cell in sources for line in cell.source.splitlines()} | {
            line.strip() for line in text.splitlines()}
        leaked = sorted(secret & lines)
        assert not leaked, f"{path.relative_to(RELEASE)} leaks solution or hidden-test lines: {leaked[:5]}"


_UNSTABLE = re.compile(r"\bat 0x[0-9a-fA-F]{4,}|\b0x[0-9a-fA-F]{8,}\b|Wall time:|CPU times:|\d+(\.\d+)? ?(ms|µs|s) ± ")


def test_stored_solution_outputs_carry_no_addresses_or_timings(assignment):
    nb = read(SOLUTIONS / assignment / notebook_name(assignment))
    for index, cell in enumerate(nb.cells):
        assert "execution" not in cell.metadata, (
            f"cell {index} of {assignment} stores execution timestamps: re-run `make execute`")
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")] + [v for k, v in output.get("data", {}).items() if k.startswith("text/")]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else text
                match = _UNSTABLE.search(text)
                assert not match, f"cell {index} of {assignment} stores an unstable output: {match.group(0)!r}"


def test_the_release_carries_no_test_markers_and_the_solutions_keep_theirs(assignment):
    released = (RELEASE / assignment / f"{assignment}.ipynb").read_text()
    assert "NBVAL" not in released, f"nbval markers reached the student version of {assignment}"
    assert "NBVAL_CHECK_OUTPUT" in (SOLUTIONS / assignment / f"{assignment}.ipynb").read_text(), (
        f"solutions/{assignment} has no output check left for nbval")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("print(x)  # NBVAL_CHECK_OUTPUT", "print(x)"),
        ("# NBVAL_SKIP\nx = 1\n\ny = 2", "x = 1\n\ny = 2"),
        ("a = 1\t#NBVAL_IGNORE_OUTPUT\nb = 2", "a = 1\nb = 2"),
        ("s = '# not a marker'  # keep this comment", "s = '# not a marker'  # keep this comment"),
    ],
)
def test_strip_test_markers_removes_only_nbval_comments(source, expected):
    from course_grading.preprocessors import strip_test_markers

    assert strip_test_markers(source) == expected


def _interpolated_values(region: str) -> list[str]:
    """What a hidden-test region's own messages interpolate beyond the kind of input: each f-string of an
    ``assert`` message may name loop variables (the input's label or size) and ``type(x).__name__``, nothing
    computed from the answer (the feedback shows these messages whole)."""
    tree = ast.parse(region)
    labels = {name.id for node in ast.walk(tree) if isinstance(node, (ast.For, ast.comprehension))
              for name in ast.walk(node.target) if isinstance(name, ast.Name)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and isinstance(node.msg, ast.JoinedStr):
            for part in node.msg.values:
                if not isinstance(part, ast.FormattedValue):
                    continue
                value = part.value
                allowed = (isinstance(value, ast.Name) and value.id in labels) or (
                    isinstance(value, ast.Attribute) and value.attr == "__name__" and isinstance(value.value, ast.Call)
                    and isinstance(value.value.func, ast.Name) and value.value.func.id == "type")
                if not allowed:
                    found.append(ast.unparse(value))
    return found


def test_hidden_tests_own_messages_show_no_value_of_the_answer(assignment):
    """A hidden test's message says what kind of input failed, never what the answer gave on it."""
    nb = read(SOLUTIONS / assignment / notebook_name(assignment))
    offenders = []
    for cell in nb.cells:
        for region in re.findall(rf"{HIDDEN_MARKERS[0]}\n(.*?){HIDDEN_MARKERS[1]}", cell.source, re.S):
            offenders += [f"{cell.metadata.get('nbgrader', {}).get('grade_id')}: {{{v}}}"
                          for v in _interpolated_values(region)]
    assert not offenders, offenders


def test_the_hidden_message_rule_tells_a_label_from_a_value():
    region = ("for _n in (1, 2):\n    _r = f(_n)\n    assert _r.ok, f'f of {_n} items: {type(_r).__name__}'\n"
              "assert g(), f'g gave {_r.tolist()} and {_r}'\n")
    assert _interpolated_values(region) == ["_r.tolist()", "_r"]


def test_nbval_markers_stand_on_lines_of_their_own(assignment):
    """nbval reads a marker only from a comment line of its own: `print(x)  # NBVAL_CHECK_OUTPUT` checks nothing."""
    nb = read(SOLUTIONS / assignment / notebook_name(assignment))
    inline = [line for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()
              if "NBVAL_" in line and not re.fullmatch(r"\s*#\s*NBVAL_[A-Z_]+\s*", line)]
    assert not inline, inline
    checked = [cell for cell in nb.cells if cell.cell_type == "code"
               and re.search(r"^\s*#\s*NBVAL_CHECK_OUTPUT\s*$", cell.source, re.M)]
    assert checked and all(cell.outputs for cell in checked), "every checked cell has a stored output to compare"
