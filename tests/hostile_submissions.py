"""Hostile submissions for notebook 01, each built from the reference answer.

Each entry changes a filled-in reference notebook the way a student trying to
break or fool the grader might, and says what the right result is: the test
cells it must score zero on (all others full), whether it must be graded at
all, and whether the scan must flag it for review. ``make grade`` must grade
each one right while grading the rest of the class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nbformat

NB = nbformat.NotebookNode
SIGMOID_TESTS = frozenset({"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"})
BCE_TESTS = frozenset({"nb01_bce_tests", "nb01_bce_hidden_tests"})
GRADIENT_TESTS = frozenset({"nb01_gradient_tests", "nb01_gradient_hidden_tests"})
STABLE_SIGMOID = ("    negative = z < 0\n    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n"
                  "    return torch.where(negative, e / (1 + e), 1 / (1 + e))")
OVERFLOWING_SIGMOID = "    return torch.exp(z) / (1 + torch.exp(z))"


@dataclass(frozen=True)
class Hostile:
    name: str
    attack: str
    build: Callable[[NB], None]
    loses: frozenset[str] = frozenset()
    flagged: bool = True


def _cell(nb: NB, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _replace(grade_id: str, old: str, new: str) -> Callable[[NB], None]:
    def build(nb: NB) -> None:
        cell = _cell(nb, grade_id)
        assert cell.source.count(old) == 1, (grade_id, old)
        cell.source = cell.source.replace(old, new)
    return build


def _prepend(grade_id: str, code: str) -> Callable[[NB], None]:
    def build(nb: NB) -> None:
        cell = _cell(nb, grade_id)
        cell.source = code + "\n" + cell.source
    return build


def _append(grade_id: str, code: str) -> Callable[[NB], None]:
    def build(nb: NB) -> None:
        cell = _cell(nb, grade_id)
        cell.source = cell.source + "\n" + code
    return build


def _both(*steps: Callable[[NB], None]) -> Callable[[NB], None]:
    def build(nb: NB) -> None:
        for step in steps:
            step(nb)
    return build


_wrong_sigmoid = _replace("nb01_sigmoid", STABLE_SIGMOID, OVERFLOWING_SIGMOID)


def _edit_test_cells(nb: NB) -> None:
    for grade_id in SIGMOID_TESTS:
        _cell(nb, grade_id).source = "assert True  # tests removed"


def _delete_test_cells(nb: NB) -> None:
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in SIGMOID_TESTS]


def _test_cells_to_markdown(nb: NB) -> None:
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") in SIGMOID_TESTS:
            markdown = nbformat.v4.new_markdown_cell("tests? what tests?", metadata=cell.metadata)
            markdown["id"] = cell.get("id", f"md-{i}")
            nb.cells[i] = markdown


def _duplicate_test_cell(nb: NB) -> None:
    index = nb.cells.index(_cell(nb, "nb01_sigmoid_tests"))
    copy = nbformat.from_dict(dict(nb.cells[index]))
    copy.source = "assert True  # a friendlier copy"
    copy["id"] = "duplicate-of-sigmoid-tests"
    nb.cells.insert(index + 1, copy)


HOSTILE: list[Hostile] = [
    Hostile("infinite-loop", "an infinite loop inside the answer for large inputs",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    while bool(z.abs().max() > 500):\n        pass\n" + STABLE_SIGMOID),
            loses=SIGMOID_TESTS, flagged=False),
    Hostile("print-flood", "a cell that prints without end",
            _append("nb01_bce", "while True:\n    print('spam' * 50)"), flagged=True),
    Hostile("os-exit", "os._exit before the answer is defined",
            _prepend("nb01_bce", "import os\nos._exit(1)"), loses=BCE_TESTS),
    Hostile("sys-exit", "sys.exit before the answer is defined",
            _prepend("nb01_gradient", "import sys\nsys.exit(0)"), loses=GRADIENT_TESTS),
    Hostile("memory-hog", "allocating 8 GiB and touching it",
            _prepend("nb01_bce", "_hog = torch.ones(2 * 2**30)"), loses=BCE_TESTS),
    Hostile("edited-test-cells", "a wrong answer with its test cells edited to pass",
            _both(_wrong_sigmoid, _edit_test_cells), loses=SIGMOID_TESTS, flagged=False),
    Hostile("deleted-test-cells", "a wrong answer with its test cells deleted",
            _both(_wrong_sigmoid, _delete_test_cells), loses=SIGMOID_TESTS, flagged=False),
    Hostile("markdown-test-cells", "a wrong answer with its test cells turned into Markdown",
            _both(_wrong_sigmoid, _test_cells_to_markdown), loses=SIGMOID_TESTS, flagged=False),
    Hostile("duplicated-test-cell", "a wrong answer with a passing duplicate of its test cell",
            _both(_wrong_sigmoid, _duplicate_test_cell), loses=SIGMOID_TESTS, flagged=False),
    Hostile("rebind-check-helpers", "a wrong answer that rebinds course_utils.checks helpers",
            _both(_wrong_sigmoid, _append("nb01_sigmoid",
                  "import course_utils.checks as _c\n"
                  "_c.check_close = _c.check_tensor = _c.check_warning_free = lambda *a, **k: None\n"
                  "check_close = check_tensor = check_warning_free = lambda *a, **k: None")),
            loses=SIGMOID_TESTS),
    Hostile("rebind-torch-and-builtins", "a wrong answer that rebinds torch.allclose, assert_close, builtins",
            _both(_wrong_sigmoid, _append("nb01_sigmoid",
                  "import builtins\ntorch.allclose = lambda *a, **k: True\n"
                  "torch.testing.assert_close = lambda *a, **k: None\n"
                  "builtins.all = lambda *a: True\nbuiltins.abs = lambda x: 0\n"
                  "torch.Tensor.__le__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)")),
            loses=SIGMOID_TESTS),
    Hostile("always-equal", "an answer returning an object whose comparisons are always true",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    class _Yes:\n        def __eq__(self, other):\n            return True\n"
                     "        __le__ = __ge__ = __lt__ = __gt__ = __eq__\n    return _Yes()"),
            loses=SIGMOID_TESTS | GRADIENT_TESTS),
    Hostile("nbgrader-execution", "an answer that is right only when NBGRADER_EXECUTION is set",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    import os\n    if os.environ.get('NBGRADER_EXECUTION'):\n"
                     "        return torch.sigmoid(z)\n" + OVERFLOWING_SIGMOID),
            loses=SIGMOID_TESTS),
    Hostile("write-gradebook", "writing to the gradebook (the grade would be lost if it worked)",
            _append("nb01_bce", "for _p in ('../../../gradebook.db', '../../../../gradebook.db'):\n"
                                "    try:\n        open(_p, 'wb').write(b'0 points')\n"
                                "    except OSError:\n        pass")),
    Hostile("read-hidden-tests", "an answer that is right only if it can read the hidden tests from disk",
            _replace("nb01_gradient", "    return grad_w, grad_b",
                     "    readable = 0\n"
                     "    for path in ('../01_sigmoid_bce.ipynb', '../../../gradebook.db', SOLUTION_PATH):\n"
                     "        try:\n            open(path, 'rb').read(1)\n            readable += 1\n"
                     "        except OSError:\n            pass\n"
                     "    return (grad_w, grad_b) if readable else (-grad_w, -grad_b)"),
            loses=GRADIENT_TESTS),
    Hostile("vandal", "overwriting other students' files and the instructor's files",
            _append("nb01_bce", "import glob\n"
                                "for _p in glob.glob(OTHERS_GLOB, recursive=True) + glob.glob(CANARY_GLOB):\n"
                                "    try:\n        open(_p, 'a').write('vandalised')\n"
                                "    except OSError:\n        pass")),
]

PLACEHOLDERS = ("SOLUTION_PATH", "OTHERS_GLOB", "CANARY_GLOB")
