"""The verdict layers alone: the answer allowlist, the notebook rebuild, the feedback sanitiser.

So that a failure names the broken layer, each is tested here without nbgrader
or a kernel; the end-to-end grading tests (test_grading.py, test_autograde.py)
check them together.
"""

from __future__ import annotations

import ast
import base64
import copy
from html import escape as html_escape

import nbformat
import pytest
from support.nbgrader_course import RELEASE, read

from course_grading.allowlist import notebook_context, screen
from course_grading.cells import grade_id as cell_grade_id
from course_grading.cells import is_solution
from course_grading.feedback import feedback_html, hidden_error_text, strip_hidden_tests
from course_grading.preprocessors import (
    HIDDEN_TESTS_CALL,
    NOT_RUN_HEADER,
    MarkHiddenTests,
    RestoreAnswers,
    answer_from_boundary_source,
    rebuild,
    screen_answers,
)
from course_grading.reference import answered_source, filled_submission, solution_cells
from course_grading.results import ReviewItem
from course_utils.layout import SOLUTIONS

# The set-up of a notebook as the course writes it: what an answer may use, and may not bind again.
NOTEBOOK_SETUP = ("import math\nimport torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
                  "import matplotlib.pyplot as plt\nfrom course_utils.checks import check_close\n"
                  "from course_utils.data import minibatches\n"
                  "def sigmoid(z):\n    return z\ndef bce_loss(p, y):\n    return p\n")


def screen_in_notebook(code: str):
    """What the allowlist makes of ``code`` as the answer of a notebook with NOTEBOOK_SETUP."""
    return screen(code, notebook_context([NOTEBOOK_SETUP], {"answer": code}, {"answer": ""})["answer"])


# --- the allowlist ---------------------------------------------------------------------------------

REFUSED = {
    "IPython": "def f(x):\n    get_ipython().ast_transformers.append(x)\n    return x",
    "import sys": "import sys\ndef f(x):\n    return x",
    "import os in a function": "def f(x):\n    import os\n    return x",
    "tracing via a module attribute": "def f(x):\n    return torch.sys.settrace",
    "dunder attribute": "def f(x):\n    g = lambda y: y\n    return g.__code__",
    "private torch": "def f(x):\n    return torch._C",
    "torch function mode": "from torch.overrides import TorchFunctionMode\ndef f(x):\n    return x",
    "patch torch": "def f(x):\n    torch.allclose = lambda *a, **k: True\n    return x",
    "patch through an alias": "def f(x):\n    t = F.torch\n    t.allclose = lambda *a, **k: True\n    return x",
    "item of a module": "def f(x):\n    torch.nn.functional.__dict__['relu'] = None\n    return x",
    "global": "def f(x):\n    global check_close\n    check_close = None\n    return x",
    "data of the notebook": "def f(x):\n    X_test.zero_()\n    return x",
    "getattr": "def f(x):\n    return getattr(torch, 'all' + 'close')",
    "exec": "def f(x):\n    exec('import os')\n    return x",
    "eval in a default": "def f(x, y=eval('1')):\n    return x",
    "open": "def f(x):\n    return open('/etc/hostname').read()",
    "vars": "def f(x):\n    vars(torch).update(allclose=None)\n    return x",
    "type": "def f(x):\n    return type(x)",
    "decorator": "@minibatches\ndef f(x):\n    return x",
    "decorator with an argument": "@torch.no_grad(print('runs at definition'))\ndef f(x):\n    return x",
    "decorator from a local name": "def f(x):\n    no_grad = print\n    @no_grad\n    def g(y):\n        return y\n"
                                   "    return g",
    "always-equal class": "class Yes(nn.Module):\n    def __eq__(self, other):\n        return True",
    "class not a module": "class Yes:\n    pass",
    "override nn.Module machinery": "class M(nn.Module):\n    def parameters(self):\n        return []",
    "unbound method": "class M(nn.Module):\n    def forward(self, x):\n        self.x = x\n        return x\n"
                      "def g(x):\n    return M.forward(torch, x)",
    "format reaches attributes": "def f(x):\n    return '{0.__class__}'.format(x)",
    "deserialise": "def f(x):\n    return torch.load('x.pt', weights_only=False)",
    "numpy raw memory": "import numpy as np\ndef f(x):\n    return np.lib.stride_tricks.as_strided(x, (10**9,))",
    "global switch": "def f(x):\n    torch.set_default_dtype(torch.float64)\n    return x",
    "global hooks": "def f(x):\n    torch.nn.modules.module.register_module_forward_hook(None)\n    return x",
    "annotation evaluator": "import typing\ndef f(x):\n    return typing.get_type_hints(f)",
    "frame of a generator": "def f(x):\n    g = (i for i in x)\n    return g.gi_frame",
    "a course file writer": "from course_utils.standin import write_fashion_mnist_standin\ndef f(x):\n    return x",
    "magic": "%history\ndef f(x):\n    return x",
    "shell": "!ls /\ndef f(x):\n    return x",
    "save a figure": "def f(x):\n    plt.savefig('/tmp/x.py')\n    return x",
    "patch in a comprehension target": "def f(x):\n    return [0 for torch.allclose in [lambda *a, **k: True]]",
    "patch in a for target": "def f(x):\n    for torch.allclose in [lambda *a, **k: True]:\n        pass\n    return x",
    "patch in a with target": "def f(x):\n    with torch.no_grad() as torch.allclose:\n        return x",
    "gadget through a local alias": "def f(x):\n    t = torch\n    return t.serialization.pickle",
    "gadget through a subscript": "def f(x):\n    return [torch][0].serialization.pickle",
    "gadget through a default": "def f(x, t=torch):\n    return t.serialization",
    "call in a default": "def f(x, y=print('runs at definition')):\n    return x",
    "call in an annotation": "def f(x: print('runs at definition')):\n    return x",
    "operator through typing": "import typing\ndef f(x):\n    return typing.operator.attrgetter('sys')(typing)",
    # A base must be torch.nn.Module itself: a name that says Module can be anything (a metaclass here,
    # which builds classes with any dunder method: the first step of a chain that reached exec).
    "metaclass through a name": "import typing\nModule = typing.Type\nclass Meta(Module):\n    def f(self):\n"
                                "        return self",
    "base imported after the class": "class M(Module):\n    def f(self):\n        return self\n"
                                     "from torch.nn import Module",
    "base bound in a function": "import typing\ndef f(x):\n    Module = typing.Type\n    class M(Module):\n"
                                "        pass\n    return M",
    "base beside nn.Module": "import typing\nclass M(nn.Module, typing.Type):\n    pass",
    "attribute named Module": "import typing\nclass M(typing.Module):\n    pass",
    "super with other arguments": "class M(nn.Module):\n    def __init__(self):\n        super(nn.Module, torch).__init__()",
    "nn.Module.__init__ on another object": "class M(nn.Module):\n    def f(self):\n        nn.Module.__init__(torch)",
    "nn.Module.__init__ kept": "class M(nn.Module):\n    def f(self):\n        return nn.Module.__init__",
    "private method": "class M(nn.Module):\n    def _apply(self, fn):\n        return self",
    "dunder helper": "def __helper(x):\n    return x",
    "cuda beyond is_available": "def f(x):\n    return torch.cuda.memory_allocated()",
    # A class as a value lets its methods take any object as self: self.<name> = ... then sets any attribute.
    "class as a value": "class Tool(nn.Module):\n    def put(self, v):\n        self.relu = v\n"
                        "def f(x):\n    tool = Tool\n    tool.put(F, x)\n    return x",
    "class as an argument": "class Tool(nn.Module):\n    def put(self, v):\n        self.relu = v\n"
                            "def g(c, x):\n    c.put(F, x)\ndef f(x):\n    return g(Tool, x)",
    "nested class as a value": "def f(x):\n    class Tool(nn.Module):\n        def put(self, v):\n"
                               "            self.relu = v\n    tool = Tool\n    tool.put(F, x)\n    return x",
    "anomaly mode's stacks": "def f(x):\n    with torch.autograd.detect_anomaly():\n        y = x * 2\n"
                             "    return y.grad_fn.metadata",
    # A method read from a class written in Python is a function that takes any object as self.
    "method read from a class": "def f(x):\n    return torch.optim.lr_scheduler.StepLR.state_dict(torch)['sys']",
    "class through an alias": "def f(x):\n    cls = torch.optim.lr_scheduler.StepLR\n    return cls.state_dict(torch)",
    "imported class's method": "from torch.optim.lr_scheduler import StepLR\ndef f(x):\n"
                               "    StepLR.load_state_dict(F, {'relu': f})\n    return x",
    "class handed on": "def g(c):\n    return c.state_dict(torch)\ndef f(x):\n    return g(torch.optim.lr_scheduler.StepLR)",
    "autograd graph by hand": "def f(loss):\n    return [n for n, _ in loss.grad_fn.next_functions]",
    # Inside a callback that a torch function runs, check_avoids's TorchFunctionMode is off.
    "callback of apply_": "def f(z):\n    box = []\n    def run(v):\n        box.append(torch.sigmoid(z))\n"
                          "        return v\n    torch.zeros(1).apply_(run)\n    return box[0]",
    "calling an autograd node": "def f(loss):\n    return loss.grad_fn(torch.ones(()))",
    # State kept from call to call carries a hidden test's inputs to a later visible test's output.
    "a list as a default": "def f(z, seen=[]):\n    seen.append(z)\n    return z",
    "a set as a default": "def f(z, seen={0}):\n    seen.add(z)\n    return z",
    # A module as a value: the attributes of an alias were not followed on the real modules.
    "module in a list": "def f(x):\n    m = [torch][0]\n    grab = m.optim.lr_scheduler.StepLR.state_dict\n"
                        "    return grab(grab(m)['sys'])['modules']['os'].getpid",
    "module as an alias": "def f(x):\n    t = torch\n    t.optim.lr_scheduler.StepLR.load_state_dict(F, {})\n    return x",
    "module as a default": "def f(x, t=torch):\n    return t.optim.lr_scheduler.StepLR.state_dict(t)",
    "module through another": "def f(x):\n    t = F.torch\n    return t.optim.lr_scheduler.StepLR.state_dict(t)",
    "match on attributes": "def f(x):\n    match x:\n        case object(__class__=c):\n            return c",
    "an item of a view of a new tensor": "def f(x):\n    torch.zeros(3).view(-1)[0] = 1\n    return x",
    "an item of a call that is not a view": "def f(x):\n    x.foo(-1)[0] = 1\n    return x",
}


@pytest.mark.parametrize("code", REFUSED.values(), ids=REFUSED.keys())
def test_the_allowlist_refuses(code):
    result = screen_in_notebook(code)
    assert not result.runnable and result.source == "" and result.problems


ALLOWED = {
    "element-wise math": "def f(z):\n    return torch.where(z < 0, torch.exp(z), 1 - torch.exp(-z))",
    "numpy": "import numpy as np\ndef f(z):\n    return torch.from_numpy(1 / (1 + np.exp(-z.numpy())))",
    "grad reset": "def step(W, lr):\n    with torch.no_grad():\n        W -= lr * W.grad\n    W.grad = None",
    "module": "class M(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n        self.linear = nn.Linear(n, 1)\n"
              "    def forward(self, X):\n        return self.linear(X).squeeze(-1)",
    "comprehension and closure": "def f(xs):\n    k = 2\n    def g(y):\n        return y * k\n    return [g(x) for x in xs if x > 0]",
    "format with a spec": "def f(loss):\n    print('loss {:.3f}'.format(loss))\n    print(f'{loss:.2f}')\n    return loss",
    "notebook helpers": "def f(X, y):\n    return [len(b) for b, _ in minibatches(X, y, batch_size=2)]",
    "optimizer": "def f(model, lr):\n    opt = torch.optim.SGD(model.parameters(), lr=lr)\n    opt.param_groups[0]['lr'] = lr\n    return opt",
    "constant": "EPS = 1e-7\ndef f(p):\n    return p.clamp_min(EPS)",
    "timing and numpy randomness": "import time\nimport numpy as np\ndef f(x):\n    start = time.perf_counter()\n"
                                   "    rng = np.random.default_rng(0)\n    y = x + float(rng.normal())\n"
                                   "    print(f'{time.perf_counter() - start:.3f} s')\n    return y.cpu()",
    "module from torch.nn": "from torch.nn import Module\nclass M(Module):\n    def forward(self, x):\n        return x",
    "module by its full name": "class M(torch.nn.Module):\n    def forward(self, x):\n        return x",
    "older super": "class M(nn.Module):\n    def __init__(self):\n        super(M, self).__init__()\n"
                   "        self.linear = nn.Linear(2, 1)",
    "nn.Module.__init__(self)": "class M(nn.Module):\n    def __init__(self):\n        nn.Module.__init__(self)\n"
                                "        self.linear = nn.Linear(2, 1)",
    "no_grad decorator": "@torch.no_grad()\ndef predict(model, X):\n    return model(X) >= 0",
    "inference_mode decorator": "@torch.inference_mode\ndef predict(model, X):\n    return model(X) >= 0",
    "set_grad_enabled": "def predict(model, X):\n    with torch.set_grad_enabled(False):\n        return model(X) >= 0",
    "the same module under the notebook's name": "import torch.nn as nn\nfrom torch.nn import functional as F\n"
                                                 "def f(x):\n    return F.relu(nn.Identity()(x))",
    "underscore helper": "def _half(z):\n    return z / 2\ndef f(z):\n    return _half(z)",
    "device boilerplate": "def f(x):\n    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"
                          "    return x.to(device)",
    "autograd.functional": "def f(g, x):\n    return torch.autograd.functional.jacobian(g, x)",
    "answer classes in annotations": "class Net(nn.Module):\n    def forward(self, x):\n        return x\n"
                                     "def make(n: int) -> Net:\n    net = Net()\n    assert isinstance(net, Net)\n"
                                     "    best: Net = net\n    return best",
    "classes where they belong": "import numpy as np\ndef f(x: torch.Tensor, opt) -> torch.Tensor:\n"
                                 "    assert isinstance(x, (torch.Tensor, np.ndarray))\n"
                                 "    sched = torch.optim.lr_scheduler.StepLR(opt, 1)\n    state = sched.state_dict()\n"
                                 "    return torch.from_numpy(x.numpy().astype(np.float64)) + torch.Tensor.sigmoid(x)",
    "an item of a view of a local tensor": "def f(x, h):\n    x64 = x.to(torch.float64)\n    x64.view(-1)[0] += h\n"
                                           "    x64.reshape(-1)[1] = 0.0\n    return x64",
    "everyday attributes": "def f(model, loader, W):\n    n = len(loader.dataset)\n    mods = list(model.modules())\n"
                           "    g = W.grad\n    return torch.linalg.norm(g) / n, torch.nn.functional.relu(g), mods",
}


@pytest.mark.parametrize("code", ALLOWED.values(), ids=ALLOWED.keys())
def test_the_allowlist_lets_ordinary_answers_run(code):
    result = screen_in_notebook(code)
    assert result.runnable, result.problems
    assert compile(result.source, "<answer>", "exec")


def test_a_top_level_call_is_left_out_and_reported():
    result = screen_in_notebook("pwn = torch.ones(1)\nEPS = 1e-7\ndef f(x):\n    return x")
    assert result.runnable and "pwn" not in result.source and "EPS = 1e-07" in result.source
    assert len(result.refused) == 1 and "no other calls" in result.refused[0]


def test_answers_may_not_use_the_helpers_of_test_cells():
    """A hidden test's reference (_ref_train) would pass that test for the student."""
    hidden = "### BEGIN HIDDEN TESTS\ndef _ref_train(model, loader):\n    return [1.0]\n### END HIDDEN TESTS"
    answer = "def train(model, loader):\n    return _ref_train(model, loader)"
    context = notebook_context([NOTEBOOK_SETUP, hidden], {"a": answer}, {"a": ""}, tests=[hidden])["a"]
    assert not screen(answer, context).runnable
    assert screen(answer, notebook_context([NOTEBOOK_SETUP, hidden], {"a": answer}, {"a": ""})["a"]).runnable


def test_the_grader_imports_no_module_an_answer_names(capsys):
    """Importing runs a module: 'from this import s' printed, 'from lib2to3 import __main__' exited."""
    import sys
    for code in ("from this import s\ndef f(x):\n    return x", "import antigravity as t\ndef f(x):\n    return t.x",
                 "from lib2to3 import __main__\ndef f(x):\n    return x"):
        assert not screen_in_notebook(code).runnable
    assert "antigravity" not in sys.modules and "lib2to3.__main__" not in sys.modules
    assert "Beautiful is better" not in capsys.readouterr().out


def test_a_class_another_cell_defines_may_only_be_called():
    tool = "class Tool(nn.Module):\n    def put(self, v):\n        self.relu = v\n"
    answers = {"a": tool, "b": "def f(x):\n    tool = Tool\n    tool.put(F, x)\n    return x",
               "c": "def g(x):\n    return Tool()"}
    contexts = notebook_context([NOTEBOOK_SETUP], answers, {gid: "" for gid in answers})
    assert screen(answers["a"], contexts["a"]).runnable and screen(answers["c"], contexts["c"]).runnable
    assert not screen(answers["b"], contexts["b"]).runnable


def test_a_top_level_torch_loss_is_kept():
    result = screen_in_notebook("criterion = nn.BCEWithLogitsLoss(reduction='mean')\nact = torch.nn.Sigmoid()\n"
                                "def f(z, y):\n    return criterion(act(z), y)")
    assert result.runnable and not result.refused
    assert "criterion = nn.BCEWithLogitsLoss(reduction='mean')" in result.source and "act = " in result.source
    for code, why in (("loss = nn.BCEWithLogitsLoss(weight=print('runs'))", "a call among the arguments"),
                      ("loss = nn.functional.relu(1)", "a function, not a module"),
                      ("loss = torch.utils.data.DataLoader((1,))", "a class, not a torch.nn module"),
                      ("loss = nn.Linear(2, 1)", "a layer with parameters, which could hold data"),
                      ("loss = nn.PReLU()", "an activation with a parameter, which could hold data"),
                      ("loss = nn.MultiheadAttention(4, 2)", "an activation module with parameters"),
                      ("loss = nn.ParameterList()", "a container"),
                      ("loss = nn.MSELoss()\nfrom torch.nn import functional as nn", "nn imported again below")):
        result = screen_in_notebook(code + "\ndef f(x):\n    return x")
        assert "loss = " not in result.source and len(result.refused) == 1, (code, why)


def test_a_name_left_out_refuses_the_code_that_uses_it():
    result = screen_in_notebook("layer = nn.Linear(2, 1)\ndef f(x):\n    return layer(x)")
    assert not result.runnable and "layer is used" in result.problems[0]


def test_an_answer_may_reuse_a_notebook_name_which_the_tests_keep():
    # The answer's binding lives in the grading worker; the tests' namespace keeps the notebook's
    # (course_grading.boundary.answer refuses to bind a protected name there: tests/test_boundary.py).
    for code in ("import numpy as torch", "from torch import nn as F", "loss_fn = nn.BCEWithLogitsLoss()",
                 "def check_close(*args):\n    return None"):
        assert screen_in_notebook(code + "\ndef f(x):\n    return x").runnable, code


def test_the_rebuilt_answer_protects_every_name_of_the_notebook():
    source = read(SOLUTIONS / "01_sigmoid_bce" / "01_sigmoid_bce.ipynb")
    submitted = filled_submission(RELEASE / "01_sigmoid_bce" / "01_sigmoid_bce.ipynb", "01_sigmoid_bce")
    rebuilt = rebuild(source, submitted)
    cell = next(c for c in rebuilt.cells if cell_grade_id(c) == "nb01_bce")
    call = ast.parse(cell.source).body[0].value  # type: ignore[attr-defined]
    protected = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "protected"))
    assert {"check_close", "torch", "sigmoid", "len", "make_blobs"} <= set(protected)
    assert "bce_loss" not in protected, "the answer's own name is bound for the tests"
    assert answer_from_boundary_source(cell.source) == screen_answers(source, submitted)["nb01_bce"].source


def test_a_top_level_list_is_left_out():
    result = screen_in_notebook("SEEN = []\nPAIR = (1, 2)\ndef f(z):\n    return z")
    assert result.runnable and "SEEN" not in result.source and "PAIR = (1, 2)" in result.source
    assert len(result.refused) == 1 and "list" in result.refused[0]


def test_top_level_statements_are_dropped_not_run():
    result = screen_in_notebook("def f(x):\n    return x\nprint(f(1))\nf.__code__ = None\nfor i in range(3):\n"
                                "    pass\nEPS = 1e-7")
    assert result.runnable
    assert "print" not in result.source and "__code__" not in result.source and "for" not in result.source
    assert "EPS = 1e-07" in result.source and len(result.dropped) == 3


def test_every_reference_answer_passes_the_allowlist_untouched(assignment):
    source = read(SOLUTIONS / assignment / f"{assignment}.ipynb")
    submitted = filled_submission(RELEASE / assignment / f"{assignment}.ipynb", assignment)
    screened = screen_answers(source, submitted)
    assert set(screened) == set(solution_cells(assignment))
    for grade_id, result in screened.items():
        assert result.runnable and not result.dropped, (grade_id, result.problems, result.dropped)


# --- the notebook rebuild --------------------------------------------------------------------------

ASSIGNMENT = "01_sigmoid_bce"


def _source() -> nbformat.NotebookNode:
    return read(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def _reference() -> nbformat.NotebookNode:
    return filled_submission(RELEASE / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", ASSIGNMENT)


def test_rebuild_takes_every_cell_but_the_answers_from_the_source():
    source, submission = _source(), _reference()
    for cell in submission.cells:
        if cell.cell_type == "code" and not is_solution(cell):
            cell.source = "get_ipython().ast_transformers.append(None)  # tampered"
    submission.cells.insert(0, nbformat.v4.new_code_cell("import sys; sys.settrace(None)  # added"))
    rebuilt = rebuild(source, submission)
    assert len(rebuilt.cells) == len(source.cells)
    assert "# tampered" not in nbformat.writes(rebuilt) and "# added" not in nbformat.writes(rebuilt)
    answers = solution_cells(ASSIGNMENT)
    for got, want in zip(rebuilt.cells, source.cells):
        assert cell_grade_id(got) == cell_grade_id(want) and got.cell_type == want.cell_type
        if cell_grade_id(want) in answers:
            assert got.source.strip() == answered_source(answers[cell_grade_id(want)]).strip() or "def " in got.source
        else:
            assert got.source == want.source or "BEGIN SOLUTION" in want.source
    hidden = [c for c in rebuilt.cells if "### BEGIN HIDDEN TESTS" in c.source]
    assert hidden, "the hidden tests are in the notebook that runs"
    marked, _ = MarkHiddenTests().preprocess(rebuilt, {})  # after nbgrader's OverwriteCells
    for cell in marked.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            lines = cell.source.split("\n")
            assert lines[lines.index(next(x for x in lines if "BEGIN HIDDEN TESTS" in x)) + 1] == HIDDEN_TESTS_CALL


def test_rebuild_restores_deleted_moved_and_retyped_test_cells():
    submission = _reference()
    tests = [c for c in submission.cells if (cell_grade_id(c) or "").endswith("_tests")]
    submission.cells = [c for c in submission.cells if c not in tests[:2]]
    submission.cells.reverse()
    tests[2].cell_type = "markdown"
    rebuilt = rebuild(_source(), submission)
    assert [cell_grade_id(c) for c in rebuilt.cells] == [cell_grade_id(c) for c in _source().cells]
    assert all(c.cell_type == "code" for c in rebuilt.cells if (cell_grade_id(c) or "").endswith("_tests"))


def test_rebuild_replaces_a_refused_answer_by_the_stub_and_says_why():
    submission = _reference()
    cell = next(c for c in submission.cells if cell_grade_id(c) == "nb01_sigmoid")
    cell.source = "import os\ndef sigmoid(z):\n    return os.getcwd()"
    rebuilt = rebuild(_source(), submission)
    stub = next(c for c in rebuilt.cells if cell_grade_id(c) == "nb01_sigmoid")
    assert stub.source.startswith(NOT_RUN_HEADER) and "import os" in stub.source.splitlines()[1]
    assert "raise NotImplementedError" in stub.source and "return os.getcwd()" not in stub.source


def test_rebuild_uses_the_last_of_two_cells_claiming_one_answer():
    submission = _reference()
    cell = next(c for c in submission.cells if cell_grade_id(c) == "nb01_bce")
    early = copy.deepcopy(cell)
    early.source = "def bce_loss(p, y, eps=1e-7):\n    return 'early'"
    submission.cells.insert(0, early)
    rebuilt = rebuild(_source(), submission)
    assert "'early'" not in next(c for c in rebuilt.cells if cell_grade_id(c) == "nb01_bce").source


# --- the feedback sanitiser ------------------------------------------------------------------------

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


def _graded_notebook() -> nbformat.NotebookNode:
    nb = rebuild(_source(), _reference())
    nb, _ = RestoreAnswers().preprocess(nb, {})  # as after nbgrader's Execute
    for cell in nb.cells:
        gid = cell_grade_id(cell) or ""
        if gid == "nb01_sigmoid":
            cell.outputs = [
                nbformat.v4.new_output("display_data", data={"text/html": "<script>alert(1)</script>",
                                                             "application/javascript": "alert(2)",
                                                             "text/plain": "<b>plain</b>"}),
                nbformat.v4.new_output("stream", name="stdout", text="<script>alert(3)</script>"),
                nbformat.v4.new_output("display_data", data={"image/png": PNG}),
                nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(b"<svg/>").decode()}),
            ]
        elif gid == "nb01_sigmoid_hidden_tests":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="secret print"),
                            nbformat.v4.new_output("error", ename="AssertionError", evalue="tail <i>wrong</i>",
                                                   traceback=["Traceback with _reference_gradient"])]
        elif cell.cell_type == "code" and not gid:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="demo output")]
    return nb


def test_feedback_has_no_script_no_html_from_outputs_and_no_hidden_test_code():
    nb = _graded_notebook()
    points = {"nb01_sigmoid_tests": 1.0, "nb01_sigmoid_hidden_tests": 2.0}
    page = feedback_html(nb, {"nb01_sigmoid_tests": 1.0, "nb01_sigmoid_hidden_tests": 0.0}, points, "t <x>")
    lowered = page.lower()
    assert "<script" not in lowered and "javascript" not in lowered.replace("content-security-policy", "")
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page and "alert(1)" not in page and "alert(2)" not in page
    assert "&lt;b&gt;plain&lt;/b&gt;" in page
    assert page.count("<img") == 1, "only a real PNG becomes an image"
    assert "BEGIN HIDDEN TESTS" not in page and "_reference_gradient" not in page and "secret print" not in page
    assert "AssertionError: tail &lt;i&gt;wrong&lt;/i&gt;" in page
    assert "demo output" not in page, "outputs of cells other than answers and tests are left out"
    assert "Score: 1 / 3" in page


def test_a_refused_answer_reads_as_not_run_with_the_reason_not_as_a_blank_one():
    submission = _reference()
    cell = next(c for c in submission.cells if cell_grade_id(c) == "nb01_sigmoid")
    cell.source = "import os\ndef sigmoid(z):\n    return os.getcwd()  # <mine>"
    screened = screen_answers(_source(), submission)
    review = [ReviewItem(gid, "not run", p) for gid, s in screened.items() for p in s.problems]
    review.append(ReviewItem("nb01_bce", "left out", "line 1: a top-level assignment that is not allowed here"))
    nb = rebuild(_source(), submission)
    stub = next(c for c in nb.cells if cell_grade_id(c) == "nb01_sigmoid")
    stub.outputs = [nbformat.v4.new_output("error", ename="NotImplementedError", evalue="Write your answer here",
                                           traceback=[])]
    points = {"nb01_sigmoid_tests": 1.0, "nb01_sigmoid_hidden_tests": 2.0}
    page = feedback_html(nb, {"nb01_sigmoid_tests": 0.0, "nb01_sigmoid_hidden_tests": 0.0}, points, "t",
                         review, {"nb01_sigmoid": cell.source})
    assert "return os.getcwd()  # &lt;mine&gt;" in page, "the student sees their own answer, not the stub"
    assert "Write your answer here" not in page, "neither the stub nor its error"
    assert "The grader did not run this answer, so its tests count no points for now. Why: line 1:" in page
    assert "import os" in page.split("Why: line 1:")[1].split("</p>")[0], "the reason, in the note"
    assert "Your instructor will look at your answer and may change the mark." in page
    assert "The grader ran this answer without these top-level lines: line 1: a top-level assignment" in page
    assert "This mark is provisional" in page
    plain = feedback_html(nb, {"nb01_sigmoid_tests": 0.0, "nb01_sigmoid_hidden_tests": 0.0}, points, "t")
    assert "This mark is provisional" not in plain and "Why: " not in plain


def test_strip_hidden_tests_keeps_the_visible_part():
    source = "a = 1\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nb = 2"
    assert strip_hidden_tests(source) == "a = 1\n# (hidden tests ran here)\nb = 2"


def test_the_allowlist_parses_safely_from_several_threads():
    """make grade screens batches in threads; CPython 3.11's ast.parse is not safe there on its own.

    Finalizers run by the garbage collector in the middle of a parse switch threads, and a parse in
    another thread then fails with "SystemError: AST constructor recursion depth mismatch" (with a
    bare ast.parse here, dozens of the 800 parses fail).
    """
    import gc
    import threading

    from course_grading.allowlist import parse

    source = "\n".join(f"def f{i}(x, y=2):\n    return [a * x + y for a in range({i})]" for i in range(30))
    errors: list[Exception] = []

    class Cycle:
        def __del__(self):
            sum(range(200))

    def work():
        for _ in range(200):
            for _ in range(5):
                a, b = Cycle(), Cycle()
                a.other, b.other = b, a
            try:
                parse(source)
            except SystemError as error:
                errors.append(error)

    threshold = gc.get_threshold()
    gc.set_threshold(50)
    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.set_threshold(*threshold)
    assert not errors, errors[0]


def test_feedback_replaces_any_printed_line_of_the_hidden_tests():
    """However a student's code came to print a hidden test's line (a stack it kept, say), the page has a note."""
    from course_grading.feedback import HIDDEN_LINE_NOTE, hidden_test_lines

    nb = _graded_notebook()
    secret = hidden_test_lines(nb)
    line = max(secret, key=len)
    visible = next(c for c in nb.cells if cell_grade_id(c) == "nb01_sigmoid_tests")
    visible.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"ok\n  File x, line 3\n    {line}\nend"),
                       nbformat.v4.new_output("error", ename="ValueError", evalue=line, traceback=[])]
    points = {"nb01_sigmoid_tests": 1.0, "nb01_sigmoid_hidden_tests": 2.0}
    page = feedback_html(nb, {"nb01_sigmoid_tests": 1.0, "nb01_sigmoid_hidden_tests": 2.0}, points, "t")
    assert html_escape(line) not in page and line not in page
    assert page.count(HIDDEN_LINE_NOTE) == 2 and "ok\n" in page and "end</pre>" in page
    assert len(secret) > 5 and all("BEGIN HIDDEN" not in s for s in secret)
    visible_lines = {text.strip() for c in nb.cells for text in strip_hidden_tests(c.source).splitlines()}
    assert not secret & visible_lines, "a line students can see anyway is not hidden"


def test_a_hidden_test_shows_which_check_failed_and_its_hint_never_a_value():
    check = ("sigmoid in the left tail: got 0, expected 9.35762e-14 (1 of 2 value(s) differ).\n"
             "Looks like: the expected values with the opposite sign\nHint: exp(-|z|) only")
    shown = hidden_error_text("AssertionError", check)
    assert shown == "AssertionError: sigmoid in the left tail: not the expected result\nHint: exp(-|z|) only"
    answer = "(raised by your answer) index 7 is out of bounds for [0.87296, 0.1]"
    assert "0.87296" not in hidden_error_text("IndexError", answer) and "IndexError" in hidden_error_text(
        "IndexError", answer)
    assert hidden_error_text("AssertionError", "return w and b detached") == "AssertionError: return w and b detached"


def test_nbgraders_own_feedback_gets_the_same_rules():
    """What SafeFeedback hands nbgrader's generate_feedback: no hidden code, no HTML output, no value of a hidden check."""
    from course_grading.feedback import hidden_test_lines, safe_notebook

    nb = _graded_notebook()
    hidden = next(c for c in nb.cells if cell_grade_id(c) == "nb01_sigmoid_hidden_tests")
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a hidden input: 0.123456\n"),
                      nbformat.v4.new_output("error", ename="AssertionError",
                                             evalue="sigmoid of z near 30: got 0.5, expected 0.987654.\nHint: tails",
                                             traceback=["Cell In[7], line 3", "check_close(_p, _expected)"])]
    safe = safe_notebook(nb)
    text = nbformat.writes(safe)
    assert "BEGIN HIDDEN TESTS" not in text and not [line for line in hidden_test_lines(nb) if line in text]
    assert "alert(1)" not in text and "alert(2)" not in text, "no HTML or JavaScript output (text/plain is escaped)"
    assert "0.123456" not in text and "0.987654" not in text and "Cell In[" not in text
    assert "sigmoid of z near 30: not the expected result\\nHint: tails" in text
    assert "demo output" not in text
    assert nbformat.writes(nb).count("0.987654") == 1, "the instructor's notebook is not changed"
    assert [cell_grade_id(c) for c in safe.cells] == [cell_grade_id(c) for c in nb.cells]
