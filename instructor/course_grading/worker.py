"""The grading worker: the only process that runs a student's code, and what it answers.

``python -m course_grading.worker FD`` serves one notebook's grading over the
connected socket ``FD``, confined (see :mod:`course_grading.boundary` for who
starts it and how). It executes the answer cells' definitions in its own
namespace and then answers requests of the trusted process, one at a time:
call this function or method with these arguments, read this attribute, take
the next item of this iterator, give the vector-Jacobian product of that
call's result. Requests arrive as pickles (trusted code and data may travel
into the worker); every answer leaves as data (:mod:`course_grading.wire`).

Nothing here is trusted by the grader: a student's code can replace any of it.
The trusted side checks every answer; this module only makes honest answers
possible.
"""

from __future__ import annotations

import builtins
import io
import linecache
import os
import pickle
import socket
import sys
import traceback
import warnings
from collections import OrderedDict
from typing import Any

import torch

from course_grading import processes, wire

KEPT_GRAPHS = 64  # results whose gradient the trusted side may still ask for


class _Capped(io.StringIO):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self._left = limit

    def write(self, text: str) -> int:
        if self._left > 0:
            super().write(text[: self._left])
            self._left -= len(text)
        return len(text)


def _tracked_optimizer(index: int, cls: Any, state: dict[str, Any]) -> Any:
    """Unpickle an optimizer the trusted side passed in, and remember it to send its state back."""
    optimizer = cls.__new__(cls)
    optimizer.__setstate__(state)
    _CURRENT.optimizers[index] = optimizer
    return optimizer


class _Request:
    def __init__(self) -> None:
        self.tensors: list[torch.Tensor] = []
        self.versions: list[tuple[int, Any, int]] = []
        # A copy of each tensor that crossed with its data: a write through .data (p.data -= lr * v) changes
        # a tensor without its version counter, and the test must see it as it would in one process.
        self.copies: list[torch.Tensor | None] = []
        self.generators: list[torch.Generator] = []
        self.optimizers: dict[int, Any] = {}
        self.modules: dict[int, Any] = {}
        self.rng: torch.Tensor | None = None  # torch's global generator as the trusted side sent it


def _tensor_from_bytes(dtype: str, shape: tuple[int, ...], data: Any) -> torch.Tensor:
    """A tensor the trusted side sent as dtype, shape and bytes (``boundary._PayloadPickler``)."""
    flat = torch.frombuffer(bytearray(data) if type(data) is bytes else data, dtype=torch.uint8) if len(data) else (
        torch.empty(0, dtype=torch.uint8))
    return flat.view(getattr(torch, dtype)).reshape(shape).clone()  # (a storage of its own, resizable as usual)


_CURRENT = _Request()
_WORKER: Worker | None = None
_FROM_TRUSTED = wire.Caps(header_bytes=2**20, blob_bytes=2**40)


def _load_payload(outer: dict[str, Any], request: _Request, worker: Worker) -> tuple[Any, _Request]:
    """Unpickle what the trusted side sent: its tensors and generators beside the body, handles resolved."""
    for key in outer.get("forget", []):
        worker.cache.pop(key, None)
    for data, requires_grad, is_parameter, grad, key in outer["tensors"]:
        if isinstance(data, str):  # "cached": the worker's copy of a big tensor that has not changed
            tensor = worker.cache[key]
            request.tensors.append(tensor)
            request.versions.append((tensor._version, tensor.grad, _version(tensor.grad)))
            request.copies.append(None)  # a big data set: only its version counter tells a change
            continue
        tensor = data  # unpickled just now: nobody else holds it
        if key is not None:
            worker.cache[key] = tensor
        if is_parameter:
            tensor = torch.nn.Parameter(tensor, requires_grad=requires_grad)
        elif requires_grad and tensor.is_floating_point():
            tensor.requires_grad_(True)
        if grad is not None:
            tensor.grad = grad.clone()
        request.tensors.append(tensor)
        request.versions.append((tensor._version, tensor.grad, _version(tensor.grad)))
        request.copies.append(None if key is not None else tensor.detach().clone())
    for state in outer["generators"]:
        generator = torch.Generator()
        generator.set_state(state)
        request.generators.append(generator)

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            kind, index = pid
            if kind == "T":
                return request.tensors[index]
            if kind == "G":
                return request.generators[index]
            if kind == "H":
                obj = worker.handles[index]
                if isinstance(obj, torch.nn.Module):
                    request.modules[index] = obj
                return obj
            raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")

    return Unpickler(io.BytesIO(outer["body"])).load(), request


class Callback:
    """A function of the tests' that the answer may call: it runs in the trusted process, on data.

    The arguments go out as data (tensors, numbers, handles of the worker's
    objects); what the function changed in them comes back and is written into
    the worker's tensors; a result that requires grad is joined to the
    arguments by :class:`_ReverseBridge`, whose backward asks the trusted side.
    """

    def __init__(self, index: int, name: str) -> None:
        self.index, self.__name__ = index, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        worker = _WORKER
        if worker is None:
            raise RuntimeError("a callback outside the grading worker")
        encoder = _SourceEncoder(worker.describe)
        saved, worker._encoder = worker._encoder, encoder
        try:
            tree_args, tree_kwargs = encoder.encode(list(args)), encoder.encode(dict(kwargs))
        finally:
            worker._encoder = saved
        sources = dict(encoder.sources)
        grad_keys = [k for k, t in sources.items() if t.requires_grad and t.is_floating_point()]
        wire.send(worker.sock, {"seq": worker.current_seq, "callback": self.index, "args": tree_args,
                                "kwargs": tree_kwargs, "grad_keys": grad_keys}, encoder.blob())
        body = worker.wait_return()
        if "error" in body:
            raise RuntimeError(f"the test's function {self.__name__} failed: {body['error']}")
        with torch.no_grad():
            for key, new in body["sync"].items():
                target = sources.get(key)
                if target is not None and target.shape == new.shape:
                    target.copy_(new)
        value = body["value"]
        if body.get("graph") is not None:
            outputs = body["outputs"]
            inputs = [sources[key] for key in body["inputs"]]
            bridged = _ReverseBridge.apply(worker, body["graph"], outputs, *inputs)
            value = _replace(value, {id(o): b for o, b in zip(outputs, bridged)})
        return value

    def __reduce__(self) -> Any:
        return (Callback, (self.index, self.__name__))


def _replace(value: Any, mapping: dict[int, Any], depth: int = 0) -> Any:
    if isinstance(value, torch.Tensor):
        return mapping.get(id(value), value)
    if depth < 8 and type(value) in (list, tuple):
        return type(value)(_replace(v, mapping, depth + 1) for v in value)
    if depth < 8 and type(value) is dict:
        return {k: _replace(v, mapping, depth + 1) for k, v in value.items()}
    return value


class _ReverseBridge(torch.autograd.Function):
    """A callback's result, joined to the worker's tensors it was computed from."""

    @staticmethod
    def forward(ctx: Any, worker: Worker, graph: int, outputs: list[torch.Tensor],
                *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ctx.worker, ctx.graph = worker, graph
        ctx.shapes = [(t.shape, t.dtype) for t in inputs]
        return tuple(t.detach().clone() for t in outputs)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> Any:
        worker = ctx.worker
        encoder = _SourceEncoder(worker.describe)
        tree = encoder.encode([None if g is None else g.detach() for g in grads])
        wire.send(worker.sock, {"seq": worker.current_seq, "callback_vjp": ctx.graph, "grads": tree}, encoder.blob())
        found = worker.wait_return().get("value") or []
        result: list[Any] = [None, None, None]
        for index, (shape, dtype) in enumerate(ctx.shapes):
            value = found[index] if index < len(found) else None
            result.append(value.to(dtype) if isinstance(value, torch.Tensor) and value.shape == shape else None)
        return tuple(result)


class Worker:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.handles: dict[int, Any] = {}
        self.handle_ids: dict[int, int] = {}
        self.graphs: OrderedDict[int, tuple[list[torch.Tensor], list[torch.Tensor]]] = OrderedDict()
        self.avoid: dict[int, tuple[dict[str, Any] | None, str]] = {}
        self.bound: dict[int, dict[str, Any]] = {}
        self.calls = 0
        self.grad_inputs: list[Any] = []
        self._encoder = _SourceEncoder(self.describe)
        self.current_seq: Any = None
        self.cache: dict[int, torch.Tensor] = {}  # big tensors of the tests', kept while unchanged

    # -- the loop ---------------------------------------------------------------------------------
    def serve(self) -> None:
        global _WORKER
        _WORKER = self
        while True:
            try:
                header, blob = wire.receive(self.sock, _FROM_TRUSTED)
            except EOFError:
                return
            self.reply(header.get("seq"), blob)

    def wait_return(self) -> dict[str, Any]:
        """Wait for the trusted side's answer to a callback, serving what it asks meanwhile."""
        while True:
            header, blob = wire.receive(self.sock, _FROM_TRUSTED)
            if header.get("kind") == "return":
                body, _ = _load_payload(pickle.loads(blob), _Request(), self)
                return body
            self.reply(header.get("seq"), blob)

    def reply(self, seq: Any, blob: bytes) -> None:
        global _CURRENT
        saved_state = _CURRENT, self._encoder, self.grad_inputs, self.current_seq
        _CURRENT = _Request()
        self.current_seq = seq
        try:
            self._reply(seq, blob)
        finally:
            _CURRENT, self._encoder, self.grad_inputs, self.current_seq = saved_state

    def _reply(self, seq: Any, blob: bytes) -> None:
        out = _Capped(64 * 1024)
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        encoder = self._encoder = _SourceEncoder(self.describe)
        answer: dict[str, Any] = {"seq": seq}
        try:
            request = self.load(blob)
            op = request.pop("op")
            result, extra = getattr(self, f"op_{op}")(encoder, **request)
            answer.update(ok=True, result=result, **extra)
        except BaseException as error:  # noqa: BLE001 - every failure is reported to the trusted side
            if isinstance(error, KeyboardInterrupt | SystemExit) and not isinstance(error, SystemExit):
                raise
            encoder = self._encoder = _SourceEncoder(self.describe)
            answer.update(ok=False, error={"type": type(error).__name__,
                                           "message": _message(error),
                                           "trace": _student_trace(error)})
        finally:
            sys.stdout, sys.stderr = saved
        answer["out"] = out.getvalue()
        try:
            blob = encoder.blob()
            wire.send(self.sock, answer, blob)
        except (TypeError, ValueError) as error:
            wire.send(self.sock, {"seq": seq, "ok": False, "out": answer["out"],
                                  "error": {"type": "TypeError", "message": str(error)[:500], "trace": []}})

    def load(self, blob: bytes) -> dict[str, Any]:
        outer = pickle.loads(blob)  # written by the trusted side
        body, request = _load_payload(outer, _CURRENT, self)
        self.grad_inputs = outer.get("grad_inputs", [])
        if outer.get("rng") is not None:
            torch.set_rng_state(outer["rng"])
            request.rng = outer["rng"]
        for index, state in outer.get("pushes", {}).items():
            module = self.handles[index]
            request.modules[index] = module
            _load_module_state(module, {name: request.tensors[i] for name, i in state.items()})
        return body

    # -- handles ----------------------------------------------------------------------------------
    def handle(self, obj: Any) -> int:
        number = self.handle_ids.get(id(obj))
        if number is None:
            number = len(self.handles) + 1
            self.handles[number] = obj
            self.handle_ids[id(obj)] = number
        return number

    def describe(self, obj: Any) -> dict[str, Any] | None:
        """A handle description of ``obj`` (see boundary.Boundary.stand_in)."""
        number = self.handle(obj)
        name = str(getattr(obj, "__qualname__", None) or type(obj).__qualname__)[:200]
        if isinstance(obj, type):
            kind = "module_class" if issubclass(obj, torch.nn.Module) else "class"
        elif isinstance(obj, torch.nn.Module):
            encoder = self._encoder
            encoder.recording = False  # a module's parameters are its state, not outputs of a call
            try:
                tree = encoder.encode(self.structure(obj))
            finally:
                encoder.recording = True
            return {"id": number, "kind": "module", "name": type(obj).__qualname__[:200], "tree": tree}
        elif hasattr(obj, "__next__"):
            kind = "iterator"
        elif callable(obj):
            kind = "function"
        else:
            kind = "object"
        return {"id": number, "kind": kind, "name": name}

    def structure(self, module: torch.nn.Module, depth: int = 0) -> dict[str, Any]:
        kind = type(module)
        library = kind.__module__.startswith("torch.nn.") and getattr(torch.nn, kind.__name__, None) is kind
        attrs = {k: v for k, v in vars(module).items()
                 if not k.startswith("_") and type(v) in (int, float, bool, str) and k != "training"}
        return {"class": kind.__name__ if library else None, "name": kind.__qualname__[:200],
                "training": bool(module.training), "attrs": attrs,
                "params": [[n, p] for n, p in module._parameters.items()],
                "buffers": [[n, b] for n, b in module._buffers.items()],
                "children": [[n, self.structure(c, depth + 1)] for n, c in module._modules.items()
                             if c is not None and depth < 8]}

    # -- operations -------------------------------------------------------------------------------
    def op_define(self, encoder: wire.Encoder, source: str, filename: str, context: dict[str, Any]
                  ) -> tuple[Any, dict[str, Any]]:
        for name, value in context.items():
            self.namespace.setdefault(name, value)
        before = dict(self.namespace)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for tracebacks
        exec(compile(source, filename, "exec"), self.namespace)  # the student's answer cell
        names = []
        for name, value in self.namespace.items():
            if name.startswith("__") or (name in before and before[name] is value):
                continue
            try:
                names.append([name, encoder.encode(value) if _is_data(value) else {"H": self.describe(value)}])
            except TypeError:
                continue
        return {"L": [{"U": [n, v]} for n, v in names]}, {}

    def op_call(self, encoder: wire.Encoder, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                avoid: dict[str, Any] | None, name: str, warn: bool) -> tuple[Any, dict[str, Any]]:
        grad_inputs = self.grad_inputs
        extra: dict[str, Any] = {}
        recorder = _recorder(avoid)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always" if warn else "ignore")
            if recorder is not None:
                with recorder:
                    value = target(*args, **kwargs)
            else:
                value = target(*args, **kwargs)
        if recorder is not None:
            extra["called"] = list(recorder.called)
            if hasattr(value, "__next__") and not isinstance(value, torch.Tensor):
                self.avoid[self.handle(value)] = (avoid, name)
        if warn:
            extra["warnings"] = [f"{w.category.__name__}: {str(w.message)[:300]}" for w in caught[:20]]
        result = encoder.encode(value)
        self._keep_graph(encoder, grad_inputs, extra)
        extra["sync"] = self.sync(encoder, skip_grads=bool(extra.get("graph")))
        return result, extra

    def _keep_graph(self, encoder: wire.Encoder, grad_inputs: list[Any], extra: dict[str, Any]) -> None:
        outputs = [(key, t) for key, t in self._sources(encoder) if t.requires_grad and t.is_floating_point()]
        inputs = [self._grad_input(spec) for spec in grad_inputs]
        if outputs and inputs:
            self.calls += 1
            self.graphs[self.calls] = ([t for _, t in outputs], inputs)
            while len(self.graphs) > KEPT_GRAPHS:
                self.graphs.popitem(last=False)
            extra["graph"] = self.calls
            extra["graph_keys"] = [key for key, _ in outputs]

    def _sources(self, encoder: wire.Encoder) -> list[tuple[str, torch.Tensor]]:
        return list(getattr(encoder, "sources", {}).items())

    def _grad_input(self, spec: Any) -> torch.Tensor:
        if spec[0] == "T":
            return _CURRENT.tensors[spec[1]]
        module = self.handles[spec[1]]
        return module.get_parameter(spec[2])

    def sync(self, encoder: wire.Encoder, skip_grads: bool) -> Any:
        request = _CURRENT
        tensors = []
        for index, (tensor, (version, grad, grad_version), copy) in enumerate(
                zip(request.tensors, request.versions, request.copies)):
            changed: dict[str, Any] = {}
            if tensor._version != version:
                changed["data"] = encoder.tensor(tensor.detach())
            elif copy is not None and not _same(tensor, copy):  # written through .data: its version is the same
                changed["data"] = encoder.tensor(tensor.detach())
                changed["unversioned"] = True
            if not skip_grads and (tensor.grad is not grad or _version(tensor.grad) != grad_version):
                changed["grad"] = None if tensor.grad is None else encoder.tensor(tensor.grad.detach())
            if changed:
                tensors.append({"D": [["i", index], *([k, v] for k, v in changed.items())]})
        rng = torch.get_rng_state()
        unchanged = request.rng is not None and torch.equal(rng, request.rng)  # the trusted side keeps its own
        return {"D": [["tensors", {"L": tensors}], *([] if unchanged else [["rng", encoder.tensor(rng)]]),
                      ["generators", {"L": [encoder.tensor(g.get_state()) for g in request.generators]}],
                      ["optimizers", {"L": [{"U": [i, encoder.encode(o.state_dict())]}
                                            for i, o in request.optimizers.items()]}],
                      ["modules", {"L": [{"U": [i, self.module_state(encoder, m)]}
                                         for i, m in request.modules.items()]}]]}

    def module_state(self, encoder: wire.Encoder, module: torch.nn.Module) -> Any:
        named = list(module.named_parameters()) + list(module.named_buffers())
        return {"D": [[name, encoder.tensor(t.detach())] for name, t in named]}

    def op_vjp(self, encoder: wire.Encoder, graph: int, grads: list[Any]) -> tuple[Any, dict[str, Any]]:
        outputs, inputs = self.graphs[graph]
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None]
        found = torch.autograd.grad([o for o, _ in pairs], inputs, [g for _, g in pairs], allow_unused=True,
                                    retain_graph=True)
        return encoder.encode(list(found)), {}

    def op_getattr(self, encoder: wire.Encoder, target: Any, name: str) -> tuple[Any, dict[str, Any]]:
        return encoder.encode(getattr(target, name)), {}

    def op_next(self, encoder: wire.Encoder, target: Any) -> tuple[Any, dict[str, Any]]:
        avoid, name = self.avoid.get(self.handle(target), (None, ""))
        recorder = _recorder(avoid)
        try:
            if recorder is not None:
                with recorder:
                    value = next(target)
            else:
                value = next(target)
        except StopIteration:
            return None, {"stop": True}
        extra = {"called": list(recorder.called)} if recorder is not None else {}
        return encoder.encode(value), extra

    def op_repr(self, encoder: wire.Encoder, target: Any) -> tuple[Any, dict[str, Any]]:
        return repr(target)[:2000], {}

    def op_bind(self, encoder: wire.Encoder, token: int, names: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        missing = object()
        self.bound[token] = {k: self.namespace.get(k, missing) for k in names}
        self.namespace.update(names)
        return None, {}

    def op_unbind(self, encoder: wire.Encoder, token: int) -> tuple[Any, dict[str, Any]]:
        for key, value in self.bound.pop(token, {}).items():
            if type(value) is object:
                self.namespace.pop(key, None)
            else:
                self.namespace[key] = value
        return None, {}

    def op_release(self, encoder: wire.Encoder, graphs: list[int]) -> tuple[Any, dict[str, Any]]:
        for graph in graphs:
            self.graphs.pop(graph, None)
        return None, {}


class _SourceEncoder(wire.Encoder):
    """Remembers the worker's own tensor behind each key, for the gradient of a result."""

    def __init__(self, handle: Any) -> None:
        super().__init__(handle)
        self.sources: dict[str, torch.Tensor] = {}
        self.recording = True

    def tensor(self, value: torch.Tensor) -> dict[str, Any]:
        tree = super().tensor(value)
        if self.recording:
            self.sources.setdefault(tree["T"], value)
        return tree


def _same(tensor: torch.Tensor, copy: torch.Tensor) -> bool:
    """Whether ``tensor`` still holds what ``copy`` does (nan equal to nan): its shape, dtype and values."""
    value = tensor.detach()
    return value.shape == copy.shape and value.dtype == copy.dtype and bool(
        torch.equal(value, copy) or (value.is_floating_point() and torch.allclose(value, copy, rtol=0, atol=0,
                                                                                  equal_nan=True)))


def _version(tensor: torch.Tensor | None) -> int:
    return -1 if tensor is None else int(tensor._version)


def _is_data(value: Any) -> bool:
    return value is None or type(value) in (bool, int, float, str) or isinstance(value, torch.Tensor)


def _load_module_state(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    own = dict(module.named_parameters()) | dict(module.named_buffers())
    with torch.no_grad():
        for name, value in state.items():
            target = own.get(name)
            if target is None:
                continue
            if target.shape == value.shape:
                target.copy_(value)
            else:
                target.data = value.detach().clone()


def _recorder(forbidden: dict[str, Any] | None) -> Any:
    """check_avoids' recorder for ``forbidden`` (name -> torch function), or None."""
    if forbidden is None:
        return None
    from course_utils import checks

    return checks._CallRecorder(forbidden)


def _message(error: BaseException) -> str:
    try:
        return str(error)[:2000]
    except Exception:  # noqa: BLE001 - a student's exception may fail to print
        return "(the message could not be printed)"


def _student_trace(error: BaseException) -> list[str]:
    """The lines of the student's own code in the traceback (file names of answers only)."""
    lines = []
    for frame in traceback.extract_tb(error.__traceback__)[-8:]:
        if frame.filename.startswith("<answer "):
            lines.append(f"{frame.filename[1:-1]}, line {frame.lineno}, in {frame.name}: {(frame.line or '')[:200]}")
    return lines


def main(argv: list[str]) -> int:
    fd = int(argv[0])
    sock = socket.socket(fileno=fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(devnull, std)
    os.close(devnull)
    if os.environ.get(processes.WORKER_LIMITS, "1") == "1":
        from course_grading import sandbox
        from course_grading.confine import Limits

        sandbox.resource_limits(Limits.from_environment())
        sandbox.single_process_data_loading()
    from course_grading.sandbox import one_compute_thread

    one_compute_thread()
    warnings.simplefilter("ignore")
    import matplotlib

    matplotlib.use("Agg")
    serve(sock)
    return 0


def serve(sock: socket.socket) -> None:
    """Serve requests on ``sock`` until the trusted side closes it."""
    Worker(sock).serve()


if __name__ == "__main__":
    # Run as the imported module, not as __main__: what the trusted side pickles names
    # course_grading.worker (Callback, _tracked_optimizer), and there must be one of it.
    from course_grading import worker as _module

    sys.exit(_module.main(sys.argv[1:]))
