"""The grading boundary on its own: the wire, the stand-ins, and a worker that lies.

Most tests run a real worker (:mod:`course_grading.worker`) on a thread of
this process, joined by a socket pair, so that they take milliseconds; one
starts the worker as ``make grade`` does, in a process (and a sandbox where
this machine has one). A fake worker sends what a student's code in control
of the worker could send: the trusted side must refuse it, never run it.
"""

from __future__ import annotations

import json
import math
import pickle
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_grading import boundary, wire, worker
from course_utils.checks import AUTOGRAD, LIBRARY_SIGMOID, check_avoids, check_warning_free, using_reference

HEADER = struct.Struct(">QQ")


def _thread_worker() -> tuple[socket.socket, None]:
    ours, theirs = socket.socketpair()
    threading.Thread(target=worker.serve, args=(theirs,), daemon=True).start()
    return ours, None


@pytest.fixture
def notebook(monkeypatch) -> Iterator[Callable[..., dict]]:
    """notebook(source) -> a trusted namespace in which ``source`` was defined through the boundary."""
    monkeypatch.setattr(boundary, "spawn_worker", _thread_worker)
    made: list[dict] = []

    def define(source: str, *, protected: tuple[str, ...] = ("torch", "nn", "F"), **values: object) -> dict:
        namespace: dict = {"__name__": "__main__", "torch": torch, "nn": nn, "F": F, **values}
        boundary.answer(namespace, "test", source, protected=list(protected),
                        context=[n for n in namespace if not n.startswith("__")])
        made.append(namespace)
        return namespace

    yield define
    for namespace in made:
        namespace[boundary.NAMESPACE_KEY].stop()


STABLE = '''
def sigmoid(z):
    negative = z < 0
    e = torch.exp(torch.where(negative, z, -z))
    return torch.where(negative, e / (1 + e), 1 / (1 + e))
'''


# -- the wire -------------------------------------------------------------------------------------

def _decode(tree: object, tensors: dict | None = None) -> object:
    return wire.Decoder(tensors or {}, lambda d, dec: ("handle", d)).decode(tree)


def test_the_decoder_builds_data_only():
    tensor = torch.arange(3.0)
    tree = {"D": [["a", {"L": [1, 2.5, None, True, "s"]}], ["b", {"U": [{"T": "0", "g": False, "p": False}]}],
                  ["c", {"dt": "float64"}], ["d", {"S": [2, 3]}], ["e", {"F": "nan"}], ["f", {"I": str(2**70)}]]}
    value = _decode(tree, {"0": tensor})
    assert value["a"] == [1, 2.5, None, True, "s"] and torch.equal(value["b"][0], tensor)
    assert value["c"] is torch.float64 and value["d"] == torch.Size([2, 3]) and math.isnan(value["e"])
    assert value["f"] == 2**70


@pytest.mark.parametrize("tree", [
    [1, 2],                                  # an untagged list
    {"X": 1},                                # an unknown tag
    {"L": [1], "U": [2]},                    # two tags
    {"T": "7", "g": False, "p": False},      # a tensor that is not in the message
    {"T": "0", "g": 1, "p": False},          # flags that are not booleans
    {"dt": "object"},                        # not a dtype
    {"F": "1e309"},                          # a float that is not one of the non-finite tags
    {"D": [[{"L": []}, 1]]},                 # an unhashable key
    {"N": 1, "nt": "object_"},               # not a NumPy scalar type
], ids=["untagged-list", "unknown-tag", "two-tags", "missing-tensor", "flag-types", "dtype", "float", "key",
        "numpy"])
def test_the_decoder_refuses_what_is_not_data(tree):
    with pytest.raises(wire.WireError):
        _decode(tree, {"0": torch.zeros(1)})


def test_the_decoder_caps_depth_and_count():
    deep: object = 1
    for _ in range(40):
        deep = {"L": [deep]}
    with pytest.raises(wire.WireError, match="deep"):
        _decode(deep)
    with pytest.raises(wire.WireError, match="more than"):
        wire.Decoder({}, lambda d, dec: d, wire.Caps(items=10)).decode({"L": list(range(20))})


def test_a_pickle_is_never_read_as_tensors():
    payload = pickle.dumps(torch.zeros(2))
    with pytest.raises(wire.WireError, match="safetensors"):
        wire.load_tensors(payload)


def test_frames_larger_than_the_caps_are_refused_before_they_are_read():
    a, b = socket.socketpair()
    b.sendall(HEADER.pack(10**12, 0))
    with pytest.raises(wire.WireError, match="header"):
        wire.receive(a, wire.Caps())
    b.sendall(HEADER.pack(2, 10**12) + b"{}")
    with pytest.raises(wire.WireError, match="binary"):
        wire.receive(a, wire.Caps())
    b.sendall(HEADER.pack(3, 0) + b"NaN")
    with pytest.raises(wire.WireError):
        wire.receive(a, wire.Caps())


# -- stand-ins that behave like the student's objects ---------------------------------------------

def test_a_function_returns_data_and_its_gradient_crosses_back(notebook):
    ns = notebook(STABLE)
    z = torch.tensor([-1000.0, 0.0, 2.0], requires_grad=True)
    s = ns["sigmoid"](z)
    assert type(s) is torch.Tensor and s.grad_fn is not None
    s.sum().backward()
    torch.testing.assert_close(z.grad, torch.sigmoid(z.detach()) * (1 - torch.sigmoid(z.detach())))


def test_check_avoids_records_the_calls_where_the_function_runs(notebook):
    ns = notebook("def lazy(z):\n    return map(torch.sigmoid, z)\ndef cheat(z):\n    return torch.sigmoid(z)\n"
                  + STABLE)
    assert check_avoids(ns["sigmoid"], torch.zeros(2), forbidden=LIBRARY_SIGMOID, name="s") is not None
    with pytest.raises(AssertionError, match="called torch.sigmoid"):
        check_avoids(ns["cheat"], torch.zeros(2), forbidden=LIBRARY_SIGMOID, name="cheat")
    # a lazy result computes when it is read, after the call returned: still recorded
    result = check_avoids(ns["lazy"], torch.zeros(2), forbidden=LIBRARY_SIGMOID, name="lazy")
    with pytest.raises(AssertionError, match="called torch.sigmoid"):
        list(result)


def test_check_warning_free_sees_the_workers_warnings(notebook):
    ns = notebook("import warnings\ndef noisy(z):\n    warnings.warn('overflow encountered')\n    return z\n")
    with pytest.raises(AssertionError, match="overflow encountered"):
        check_warning_free(ns["noisy"], torch.zeros(1), name="noisy")


def test_using_reference_rebinds_the_name_in_the_worker_too(notebook):
    ns = notebook("def sigmoid(z):\n    return z * 0\ndef twice(z):\n    return 2 * sigmoid(z)\n")
    z = torch.tensor([0.0])
    assert ns["twice"](z).item() == 0.0
    with using_reference(ns, sigmoid=torch.sigmoid):
        assert ns["twice"](z).item() == 1.0
    assert ns["twice"](z).item() == 0.0


def test_an_answer_cannot_replace_what_the_tests_use(notebook):
    ns = notebook("def check_close(*a, **k):\n    return None\nlen = 3\ndef mine():\n    return 1\n",
                  protected=("torch", "nn", "F", "check_close"))
    assert "check_close" not in ns and ns.get("len") is None and ns["mine"]() == 1


def test_module_mirror_parameters_forward_and_gradients(notebook):
    ns = notebook("class LR(nn.Module):\n    def __init__(self, d):\n        super().__init__()\n"
                  "        self.linear = nn.Linear(d, 1)\n    def forward(self, X):\n"
                  "        return self.linear(X).squeeze(-1)\n")
    model = ns["LR"](2)
    assert isinstance(model, nn.Module) and isinstance(model, ns["LR"]) and isinstance(model.linear, nn.Linear)
    assert (model.linear.in_features, model.linear.out_features) == (2, 1)
    with torch.no_grad():  # the test writes the mirror; the worker's module follows
        model.linear.weight.copy_(torch.tensor([[1.0, -2.0]]))
        model.linear.bias.fill_(0.5)
    out = model(torch.tensor([[1.0, 1.0], [2.0, 0.0]]))
    torch.testing.assert_close(out.detach(), torch.tensor([-0.5, 2.5]))
    model.zero_grad()
    out.sum().backward()
    torch.testing.assert_close(model.linear.weight.grad, torch.tensor([[3.0, 1.0]]))
    assert sum(p.numel() for p in model.parameters()) == 3


def test_what_a_call_changes_in_the_tests_objects_comes_back(notebook):
    ns = notebook("def train(model, opt, X, y, g):\n    idx = torch.randperm(len(X), generator=g)\n"
                  "    opt.zero_grad()\n    F.mse_loss(model(X[idx]).squeeze(-1), y[idx]).backward()\n"
                  "    opt.step()\n    return None\n"
                  "def step(w, lr):\n    with torch.no_grad():\n        w -= lr * w.grad\n    w.grad = None\n")
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(0)
    before = model.weight.detach().clone()
    ns["train"](model, opt, torch.randn(4, 2), torch.randn(4), g)
    assert not torch.equal(model.weight.detach(), before), "the test's model was trained"
    assert opt.state[model.weight]["momentum_buffer"] is not None, "the optimizer's state came back"
    assert not torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state()), "the generator advanced"
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    w.grad = torch.ones(2)
    ns["step"](w, 0.5)
    assert torch.equal(w.detach(), torch.tensor([0.5, 1.5])) and w.grad is None and w.is_leaf


def test_a_gradient_planted_in_an_input_does_not_reach_the_test(notebook):
    ns = notebook("def sigmoid(z):\n    z.grad = torch.full_like(z, 0.25)\n"
                  "    return (z * 0).detach().requires_grad_()\n")
    z = torch.tensor([0.0, 1.0], requires_grad=True)
    ns["sigmoid"](z)
    assert z.grad is None


def test_the_tests_functions_run_on_the_trusted_side_with_gradients(notebook):
    ns = notebook("def derivative(f, x0):\n    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)\n"
                  "    f(x).backward()\n    return x.grad\n"
                  "def loop(f, n):\n    return [f(i) for i in range(n)]\n")
    seen: list[int] = []

    def record(i):
        seen.append(i)
        return i * i

    record.__module__ = "__main__"  # as a function of a test cell is
    assert ns["loop"](record, 3) == [0, 1, 4] and seen == [0, 1, 2]
    cube = eval("lambda x: x ** 3", {"__name__": "__main__"})
    assert ns["derivative"](cube, 2.0).item() == pytest.approx(12.0)


def test_a_students_exception_keeps_its_type_and_its_print_is_shown(notebook, capsys):
    ns = notebook("def f(x):\n    print('working on it')\n    raise ValueError('bad x')\n"
                  "class Odd(Exception):\n    pass\ndef g():\n    raise Odd('custom')\n")
    with pytest.raises(ValueError, match="bad x"):
        ns["f"](1)
    assert "working on it" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="Odd: custom"):
        ns["g"]()


def test_objects_of_the_answer_are_never_compared_by_the_worker(notebook):
    ns = notebook("class Always:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n"
                  "def result():\n    return Always()\n")
    value = ns["result"]()
    assert isinstance(value, boundary.RemoteObject)
    assert not (value == []) and value != 0.5


# -- a worker that lies ---------------------------------------------------------------------------

def _fake_worker(answer: Callable[[socket.socket, dict], None]) -> Callable[[], tuple[socket.socket, None]]:
    def spawn() -> tuple[socket.socket, None]:
        ours, theirs = socket.socketpair()

        def run() -> None:
            try:
                while True:
                    header, _ = wire.receive(theirs, wire.Caps(blob_bytes=2**40))
                    answer(theirs, header)
            except (EOFError, OSError):
                pass
        threading.Thread(target=run, daemon=True).start()
        return ours, None
    return spawn


def _defined(sock: socket.socket, header: dict) -> bool:
    """Answer a define request honestly with one function; True if it was one."""
    if header.get("op") == "define":
        wire.send(sock, {"seq": header["seq"], "ok": True, "out": "",
                         "result": {"L": [{"U": ["f", {"H": {"id": 1, "kind": "function", "name": "f"}}]}]}})
        return True
    return False


def _lying_notebook(monkeypatch, answer: Callable[[socket.socket, dict], None], **limits: float) -> dict:
    def respond(sock: socket.socket, header: dict) -> None:
        if not _defined(sock, header):
            answer(sock, header)
    monkeypatch.setattr(boundary, "spawn_worker", _fake_worker(respond))
    namespace: dict = {"__name__": "__main__"}
    b = boundary.boundary_of(namespace)
    for name, value in limits.items():
        setattr(b, name, value)
    boundary.answer(namespace, "test", "def f(): pass", protected=[], context=[])
    return namespace


@pytest.mark.parametrize("reply", [
    lambda seq: (HEADER.pack(10**9, 0), b""),                                              # oversized header
    lambda seq: (None, {"seq": seq + 5, "ok": True, "result": 1, "out": ""}),              # another request's seq
    lambda seq: (None, {"seq": seq, "ok": True, "result": {"X": "exec"}, "out": ""}),      # an unknown tag
    lambda seq: (None, {"seq": seq, "ok": True, "result": {"T": "0", "g": False, "p": False}, "out": ""}),
    lambda seq: (None, {"seq": seq, "ok": True, "result": {"H": {"id": 9, "kind": "builtin", "name": "exec"}},
                        "out": ""}),                                                        # a handle of no kind
], ids=["oversized", "wrong-seq", "unknown-tag", "tensor-not-sent", "bad-handle"])
def test_a_malformed_answer_is_refused_and_the_worker_dropped(monkeypatch, reply):
    def answer(sock: socket.socket, header: dict) -> None:
        raw, message = reply(header["seq"])
        if raw is not None:
            sock.sendall(raw)
        else:
            wire.send(sock, message)
    ns = _lying_notebook(monkeypatch, answer)
    with pytest.raises((boundary.BoundaryError, wire.WireError)):
        ns["f"]()
    assert ns[boundary.NAMESPACE_KEY].sock is None, "a worker that broke the protocol is not asked again"


def test_a_pickle_in_the_answer_is_not_unpickled(monkeypatch):
    ran = []

    class Bomb:
        def __reduce__(self):
            return (ran.append, ("unpickled",))

    def answer(sock: socket.socket, header: dict) -> None:
        wire.send(sock, {"seq": header["seq"], "ok": True, "result": {"T": "0", "g": False, "p": False}, "out": ""},
                  pickle.dumps({"0": Bomb()}))
    ns = _lying_notebook(monkeypatch, answer)
    with pytest.raises(boundary.BoundaryError):
        ns["f"]()
    assert ran == []


def test_a_worker_that_never_answers_times_out_and_answers_are_replayed(monkeypatch):
    calls = []

    def slow_once(sock: socket.socket, header: dict) -> None:
        calls.append(header["seq"])
        if len(calls) > 1:
            wire.send(sock, {"seq": header["seq"], "ok": True, "result": 42, "out": ""})
    ns = _lying_notebook(monkeypatch, slow_once, call_seconds=0.5)
    b = ns[boundary.NAMESPACE_KEY]
    first = b.process, b.sock
    with pytest.raises(boundary.AnswerTimeout):
        ns["f"]()
    assert b.sock is None and len(b.definitions) == 1
    assert ns["f"]() == 42, "the same name works again in a new worker, its answers replayed"
    assert b.sock is not first[1] and b.generation == 2


def test_a_notebooks_time_budget_ends_its_calls(monkeypatch):
    def silent(sock: socket.socket, header: dict) -> None:
        pass
    ns = _lying_notebook(monkeypatch, silent, call_seconds=0.3)
    ns[boundary.NAMESPACE_KEY].budget_seconds = 0.5
    for _ in range(2):
        with pytest.raises(boundary.AnswerTimeout):
            ns["f"]()
    with pytest.raises(boundary.AnswerTimeout, match="time budget"):
        ns["f"]()


def test_printing_is_capped_per_notebook(monkeypatch, capsys):
    def chatty(sock: socket.socket, header: dict) -> None:
        wire.send(sock, {"seq": header["seq"], "ok": True, "result": None, "out": "x" * 200_000})
    ns = _lying_notebook(monkeypatch, chatty)
    for _ in range(3):
        ns["f"]()
    out = capsys.readouterr().out
    assert len(out) < boundary._STUDENT_OUTPUT_LIMIT + 200 and "truncated" in out


def test_a_callback_the_worker_invents_is_refused(monkeypatch):
    def invent(sock: socket.socket, header: dict) -> None:
        wire.send(sock, {"seq": header["seq"], "callback": 0, "args": {"L": []}, "kwargs": {"D": []},
                         "grad_keys": []})
    ns = _lying_notebook(monkeypatch, invent)
    with pytest.raises(boundary.BoundaryError, match="unknown callback"):
        ns["f"]()


# -- a real worker process ------------------------------------------------------------------------

@pytest.mark.slow
def test_a_worker_process_runs_the_answer_where_the_tests_are_not():
    namespace: dict = {"__name__": "__main__", "torch": torch}
    secret = "hidden reference 0.87296"
    namespace["_reference"] = secret  # a hidden test's value, in the trusted namespace
    source = STABLE + "import os, sys\ndef where():\n    return [os.getpid(), repr(sorted(globals()))]\n"
    try:
        boundary.answer(namespace, "test", source, protected=["torch"], context=["torch"])
        pid, names = namespace["where"]()
        import os
        assert pid != os.getpid()
        assert "_reference" not in names and secret not in json.dumps(names)
        torch.testing.assert_close(namespace["sigmoid"](torch.tensor([0.0])), torch.tensor([0.5]))
    finally:
        namespace[boundary.NAMESPACE_KEY].stop()


def test_a_big_tensor_crosses_once_while_it_is_unchanged(notebook, monkeypatch):
    ns = notebook("def total(X):\n    return float(X.sum())\ndef scale(X):\n    X.mul_(2)\n")
    b = ns[boundary.NAMESPACE_KEY]
    sizes: list[int] = []
    send = wire.send
    monkeypatch.setattr(wire, "send",
                        lambda sock, header, blob=b"": (sizes.append(len(blob)), send(sock, header, blob)))
    X = torch.ones(512, 1024)  # 2 MiB
    assert ns["total"](X) == ns["total"](X) == 512 * 1024
    assert sizes[0] > 2**21 > 10_000 > sizes[1], "the second call sends a key, not the data"
    ns["scale"](X)  # the worker's copy changes: so does the test's, and the next call sends it again
    assert X[0, 0].item() == 2.0 and ns["total"](X) == 2 * 512 * 1024
    X += 1  # the test changes it: sent again
    assert ns["total"](X) == 3 * 512 * 1024
    assert b._cached_bytes <= boundary._CACHE_MAX_BYTES


def test_a_tensor_reaches_the_answer_as_the_test_made_it(notebook):
    """Plain tensors travel as their bytes (boundary._PayloadPickler), any other through torch's pickling:
    either way the answer sees the same values, dtype, shape and strides."""
    ns = notebook("def seen(x):\n    return x.clone(), str(x.dtype), list(x.shape), list(x.stride()), "
                  "x.is_contiguous()\n")
    base = torch.randn(6, 4)
    for made in (torch.tensor(2.5), torch.empty(0, 3), torch.tensor([True, False]), torch.arange(6).reshape(2, 3),
                 torch.randn(3, dtype=torch.float64), torch.randn(4).to(torch.bfloat16), base.t(), base[2:4],
                 torch.randn(3, 1, 2, 2).to(memory_format=torch.channels_last),
                 torch.randint(0, 9, (5,)).to(torch.uint8)):
        value, dtype, shape, stride, contiguous = ns["seen"](made)
        assert dtype == str(made.dtype) and shape == list(made.shape) and torch.equal(value, made)
        assert stride == list(made.stride()) and contiguous == made.is_contiguous(), made


@pytest.mark.slow
def test_the_global_random_state_is_shared_with_the_answer():
    namespace: dict = {"__name__": "__main__", "torch": torch}  # a worker process: its own torch
    boundary.answer(namespace, "test", "def draw():\n    return torch.rand(3)\ndef keep(x):\n    return x\n",
                    protected=["torch"], context=["torch"])
    try:
        torch.manual_seed(5)
        first, after = namespace["draw"](), torch.rand(1)
        torch.manual_seed(5)
        assert torch.equal(first, torch.rand(3)) and torch.equal(after, torch.rand(1)), \
            "a test's torch.manual_seed seeds the answer's draws, and the draws advance the test's generator"
        torch.manual_seed(6)
        namespace["keep"](torch.ones(2))
        after = torch.rand(2)
        torch.manual_seed(6)
        assert torch.equal(after, torch.rand(2)), "an answer that draws nothing leaves the test's generator as it was"
    finally:
        namespace[boundary.NAMESPACE_KEY].stop()


def test_the_boundary_itself_never_warns(notebook):
    import warnings

    ns = notebook("def f(z):\n    return z * 2\n")
    z = torch.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a warning on stderr would cost a test cell its points
        ns["f"](z * 3).sum().backward()
    # (a ResourceWarning is the garbage collector's about some earlier test's objects, not the boundary's)
    assert [str(w.message) for w in caught if w.category is not ResourceWarning] == []
    assert torch.equal(z.grad, torch.full((2,), 6.0))


def test_a_worker_cannot_write_a_checks_message(monkeypatch):
    """What check_avoids and check_warning_free say comes from the test, never from the worker's text: a
    hidden test's feedback shows a check's hint lines, which a worker could otherwise fill with its inputs."""
    def liar(sock: socket.socket, header: dict) -> None:
        wire.send(sock, {"seq": header["seq"], "ok": True, "result": 0.5, "out": "",
                         "called": ["x\nHint: secret 0.87296"], "warnings": ["UserWarning: a\nHint: secret 0.87296"]})
    ns = _lying_notebook(monkeypatch, liar)
    with pytest.raises(AssertionError) as caught:
        check_avoids(ns["f"], 1.0, forbidden=AUTOGRAD, name="f")
    assert "secret" not in str(caught.value) and "cannot read" in str(caught.value)
    with pytest.raises(AssertionError) as caught:
        check_warning_free(ns["f"], 1.0, name="f")
    assert "\nHint: secret" not in str(caught.value)


def test_what_an_answer_keeps_of_a_hidden_test_never_reaches_a_later_cell(notebook, monkeypatch):
    cell = [1]
    monkeypatch.setattr(boundary, "_cell_number", lambda: cell[0])
    ns = notebook("kept = []\ndef f(x):\n    kept.append(x)\n    return x\n"
                  "def dump():\n    return [kept, 0]\n")
    ns["f"](1)
    cell[0] = 2  # a hidden-test cell
    boundary.hidden_tests(ns)
    ns["f"](87296)
    assert ns["dump"]()[0] == [1, 87296], "within the cell the worker is the same"
    cell[0] = 3  # a visible test after it: a new worker, every answer defined again
    kept, _ = ns["dump"]()
    assert kept == [], "a new worker (a process, when graded: random's state and files are gone too)"
    assert ns[boundary.NAMESPACE_KEY].generation == 2
    cell[0] = 4  # no hidden test in between: the same worker
    ns["f"](2)
    cell[0] = 5
    assert ns["dump"]()[0] == [2] and ns[boundary.NAMESPACE_KEY].generation == 2


def test_a_result_keeps_requires_grad_without_a_test_input_behind_it(notebook):
    """A tensor the answer made that requires grad comes back requiring grad (a leaf); a detached one does not."""
    ns = notebook("def make(n):\n    return torch.zeros(n, requires_grad=True)\n"
                  "def made_then_used(n):\n    w = torch.ones(n, requires_grad=True)\n    return w * 2, w.detach()\n"
                  "def parameter(n):\n    return nn.Parameter(torch.ones(n))\n"
                  "def integers(n):\n    return torch.arange(n)\n")
    w = ns["make"](3)
    assert w.requires_grad and w.is_leaf and w.grad is None and w.dtype == torch.float32
    twice, detached = ns["made_then_used"](2)
    assert twice.requires_grad and not detached.requires_grad and torch.equal(twice.detach(), torch.full((2,), 2.0))
    p = ns["parameter"](2)
    assert isinstance(p, nn.Parameter) and p.requires_grad
    assert not ns["integers"](3).requires_grad
    (twice.sum() + w.sum()).backward()  # the trusted side can differentiate through what came back
    assert torch.equal(w.grad, torch.ones(3))


def test_a_write_through_data_reaches_the_tests_tensor(notebook):
    """p.data -= lr * v changes p without its version counter: the test sees the new values, and the same
    version counter, as it would in one process."""
    ns = notebook("def step(params, velocities, lr):\n    for p, v in zip(params, velocities):\n"
                  "        p.data -= lr * v\n        v.data.mul_(0.5)\n"
                  "def untouched(p):\n    return float(p.data.sum())\n")
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor(0.5)
    v_w, v_b = torch.ones(2), torch.tensor(2.0)
    versions = (w._version, b._version, v_w._version, v_b._version)
    ns["step"]([w, b], [v_w, v_b], 0.1)
    assert torch.equal(w.detach(), torch.tensor([0.9, 1.9])) and w.requires_grad and w.is_leaf
    assert (w._version, b._version, v_w._version, v_b._version) == versions, \
        "as in one process, a write through .data leaves the version counter alone"
    assert torch.equal(b, torch.tensor(0.3))
    assert torch.equal(v_w, torch.full((2,), 0.5)) and torch.equal(v_b, torch.tensor(1.0))
    nan = torch.tensor([float("nan"), 1.0])
    assert ns["untouched"](nan) != 0 and nan.isnan()[0] and nan._version == 0, "an unchanged tensor is not written"
