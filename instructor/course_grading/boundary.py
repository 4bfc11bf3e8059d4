"""The trusted side of the grading boundary: the student's names, bound to stand-ins for a worker's objects.

When a notebook is graded, its set-up cells, demos and every visible and
hidden test run in the trusted kernel; the student's answer cells run only in
a worker process (:mod:`course_grading.worker`), confined by the operating
system. :class:`course_grading.preprocessors.RebuildFromSource` turns each
answer cell into a call of :func:`answer`, which sends the cell's source to
the worker and binds the names it defines to stand-ins here:

- a function (or a class that is not a module) becomes a :class:`RemoteFunction`:
  calling it sends the arguments into the worker (pickled: test code and test
  objects may go in) and reads the result back as data (:mod:`course_grading.wire`);
- an ``nn.Module`` subclass becomes a class of this side whose instances are
  mirrors (:class:`RemoteModule`): the worker's module's structure, rebuilt
  here from torch.nn classes and parameters that are data, with ``forward``
  sent to the worker;
- a lazy result (a generator, a map) becomes a :class:`RemoteIterator`; any
  other object a :class:`RemoteObject`, whose attributes are read through its
  handle (and never compared by the worker: ``==`` is identity).

After a call, what the answer changed in the arguments comes back as data and
is written into the test's own objects: tensors' values (and ``.grad``, unless
the result carries a gradient), generators' states, optimizers' state dicts
and modules' parameters. A result that requires grad is joined to the test's
inputs by :class:`_Bridge`, an autograd function whose backward asks the worker
for the vector-Jacobian product. The worker can answer wrongly, slowly or
not at all; it cannot make this side run its code: nothing it sends is
unpickled, and its answers can only be None, numbers, strings, tensors,
dtypes, sizes, tuples, lists, dicts and handles.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import types
import weakref
from collections.abc import Callable
from typing import Any

import torch

from course_grading import processes, wire
from course_grading.confine import worker_command

NAMESPACE_KEY = "__course_boundary__"
_STUDENT_OUTPUT_LIMIT = 256 * 1024  # characters of the student's printing shown per notebook
_CACHE_MIN_BYTES = 2**20  # a tensor this big crosses once while it is unchanged ...
_CACHE_MAX_BYTES = 2**30  # ... and the worker keeps at most this much of them


class AnswerTimeout(Exception):
    """The student's code did not finish in time."""


class BoundaryError(RuntimeError):
    """The worker broke the protocol or ended; the answer's code can no longer be run."""


def _limit_seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# -- starting a worker ----------------------------------------------------------------------------

def how_workers_run() -> tuple[bool, str]:
    """(confined, explanation): how this machine runs a grading worker."""
    if os.environ.get(processes.WORKER_FACTORY_FD):
        return True, "workers started by make grade's kernel launcher, each in walls of its own"
    from course_grading.confine import status

    available, why = status()
    if available:
        return True, f"each worker in its own sandbox ({why})"
    return False, f"workers run WITHOUT the operating-system sandbox: {why}"


_FACTORY: socket.socket | None = None
_ASKED = 0  # workers asked of the launcher and not yet taken


def _factory() -> socket.socket | None:
    """The socket to make grade's kernel launcher (``COURSE_GRADER_WORKER_FACTORY_FD``), or None."""
    global _FACTORY
    factory = os.environ.get(processes.WORKER_FACTORY_FD)
    if factory and _FACTORY is None:
        _FACTORY = socket.socket(fileno=int(factory))
        _FACTORY.settimeout(60)
    return _FACTORY if factory else None


def ask_for_worker() -> None:
    """Have the launcher start the next worker now, when it is known to be needed soon (the running one
    serves a hidden test, and so no later cell): it is ready when the next cell asks. Only one at a time,
    and none otherwise: a worker started for nothing costs a student's grading the copy of the fork
    server's memory, three times over."""
    global _ASKED
    try:
        factory = _factory()
        if factory is not None and _ASKED == 0:
            factory.sendall(b"w")
            _ASKED += 1
    except OSError:
        pass  # spawn_worker asks again, and reports what fails


def spawn_worker() -> tuple[socket.socket, subprocess.Popen[bytes] | None]:
    """A connected worker: from make grade's kernel launcher (``COURSE_GRADER_WORKER_FACTORY_FD``), or a new one.

    Inside make grade's sandbox the kernel never starts a worker itself: one
    started here would share the kernel's walls (its /tmp, its processes).
    """
    global _ASKED
    if os.environ.get(processes.WORKER_FACTORY_FD):
        try:
            factory = _factory()
            if factory is None:
                raise OSError("no launcher to ask")
            if _ASKED == 0:
                factory.sendall(b"w")
                _ASKED += 1
            # The launcher answers in order: the worker asked for first (maybe by ask_for_worker, before).
            _, fds, _, _ = socket.recv_fds(factory, 1, 1)
            _ASKED -= 1
        except OSError as error:
            raise BoundaryError(f"no worker could be started: {error}") from None
        if not fds:
            raise BoundaryError("no worker could be started")
        return socket.socket(fileno=fds[0]), None
    if os.environ.get(processes.INSIDE) == "1":
        raise BoundaryError("a grading kernel inside the sandbox has no way to start a worker")
    ours, theirs = socket.socketpair()
    confined, _ = how_workers_run()
    env = dict(os.environ)
    process = subprocess.Popen(worker_command(theirs.fileno(), confined), pass_fds=(theirs.fileno(),),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env, start_new_session=True)
    theirs.close()
    return ours, process


# -- pickling into the worker ---------------------------------------------------------------------

class _Outgoing:
    """What one request sends: tensors, generators, optimizers and modules found in its arguments."""

    def __init__(self) -> None:
        self.tensors: list[torch.Tensor] = []
        self.tensor_index: dict[int, int] = {}
        self.generators: list[torch.Generator] = []
        self.optimizers: list[Any] = []
        self.modules: dict[int, RemoteModule] = {}
        self.rng: torch.Tensor | None = None  # torch's global generator as it was sent

    def generator(self, generator: torch.Generator) -> int:
        for index, known in enumerate(self.generators):
            if known is generator:
                return index
        self.generators.append(generator)
        return len(self.generators) - 1

    def tensor(self, tensor: torch.Tensor) -> int:
        index = self.tensor_index.get(id(tensor))
        if index is None:
            index = self.tensor_index[id(tensor)] = len(self.tensors)
            self.tensors.append(tensor)
        return index


def _pickler_class() -> type:
    import cloudpickle

    from course_grading import worker as worker_module

    class Pickler(cloudpickle.CloudPickler):
        outgoing: _Outgoing

        def persistent_id(self, obj: Any) -> Any:
            if isinstance(obj, torch.Tensor):
                return ("T", self.outgoing.tensor(obj))
            if isinstance(obj, torch.Generator):
                return ("G", self.outgoing.generator(obj))
            handle = _handle_of(obj)
            if handle is not None:
                if isinstance(obj, RemoteModule):
                    self.outgoing.modules[handle] = obj
                return ("H", handle)
            return None

        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, torch.optim.Optimizer):
                self.outgoing.optimizers.append(obj)
                return (worker_module._tracked_optimizer,
                        (len(self.outgoing.optimizers) - 1, type(obj), obj.__getstate__()))
            return super().reducer_override(obj)

    return Pickler


def _handle_of(obj: Any) -> int | None:
    try:
        stand_in = object.__getattribute__(obj, "_course_stand_in")
    except AttributeError:
        return None
    if not isinstance(stand_in, _StandIn):
        return None
    _check_generation(stand_in)
    return stand_in.handle


class _StandIn:
    def __init__(self, boundary: Boundary, handle: int, generation: int, name: str) -> None:
        self.boundary, self.handle, self.generation, self.name = boundary, handle, generation, name
        self.defined_name: str | None = None  # a name an answer cell bound: found again in a restarted worker


# -- the boundary ---------------------------------------------------------------------------------

class Boundary:
    """The trusted kernel's connection to its worker, restarted (and the answers replayed) when it fails."""

    def __init__(self) -> None:
        self.caps = wire.Caps.from_environment()
        self.call_seconds = _limit_seconds(processes.CALL_SECONDS, 120.0)
        self.budget_seconds = _limit_seconds(processes.STUDENT_SECONDS, 600.0)
        self.spent = 0.0
        self.sock: socket.socket | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self.seq = 0
        self.definitions: list[tuple[str, str, dict[str, Any]]] = []
        self.stand_ins: dict[int, Any] = {}
        self.defined: dict[str, _StandIn] = {}
        self.hidden_cell: int | None = None  # the cell whose hidden tests run now
        self.seen_hidden: int | None = None  # the cell of hidden tests the running worker has served
        self.replaying = False
        self.module_classes: dict[str, type] = {}  # the class here of each nn.Module subclass of the answers
        self.printed = 0
        self.tokens = 0
        self.released: list[int] = []
        self._cache: dict[int, tuple[Any, int, int, int]] = {}  # id -> (weak ref, version, key, bytes)
        self._cache_key = 0
        self._cached_bytes = 0
        self._forget: list[int] = []
        self.callbacks: list[Callable[..., Any]] = []
        self.callback_ids: dict[int, int] = {}
        self.callback_graphs: dict[int, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
        self._pickler = _pickler_class()

    # -- process ----------------------------------------------------------------------------------
    def _ensure(self) -> socket.socket:
        if self.sock is None:
            self.sock, self.process = spawn_worker()
            self.generation += 1
            self.stand_ins.clear()
            self.defined.clear()
            self._cache.clear()
            self._cached_bytes = 0
            self._forget = []
            self.replaying = True  # what the answers print was shown when they first ran
            try:
                for grade_id, source, context in self.definitions:  # a new worker gets every answer again
                    try:
                        self._define(grade_id, source, context)
                    except (BoundaryError, AnswerTimeout, wire.WireError):
                        raise
                    except Exception:  # noqa: BLE001 - the answer's own error, reported when it first ran
                        pass
            finally:
                self.replaying = False
        return self.sock

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            self.process.wait()
            self.process = None

    # -- one request ------------------------------------------------------------------------------
    def _payload(self, body: Any, outgoing: _Outgoing,
                 grad_inputs: Callable[[_Outgoing], list[Any]] | None = None) -> bytes:
        """``body`` pickled for the worker, with the tensors and generators it holds sent beside it."""
        buffer = io.BytesIO()
        pickler = self._pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.outgoing = outgoing
        pickler.dump(body)
        pushes = {}
        for handle, module in list(outgoing.modules.items()):
            pushes[handle] = {name: outgoing.tensor(t) for name, t in _named_state(module)}
        # torch's global generator, so that torch.manual_seed in a test seeds the answer's draws too
        outgoing.rng = torch.get_rng_state() if body.get("op") in ("call", "define") else None
        payload = {
            "tensors": [self._tensor_entry(t) for t in outgoing.tensors],
            "forget": self._forget,
            "generators": [g.get_state() for g in outgoing.generators],
            "pushes": pushes,
            "grad_inputs": grad_inputs(outgoing) if grad_inputs else [],
            "rng": outgoing.rng,
            "body": buffer.getvalue(),
        }
        self._forget = []
        buffer = io.BytesIO()
        _PayloadPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
        return buffer.getvalue()

    def _tensor_entry(self, t: torch.Tensor) -> tuple[Any, ...]:
        """How one tensor travels: its data, or the key of the worker's copy when it is big and unchanged.

        A data set passed call after call (notebook 04 trains on 50,000 images an
        epoch) crosses once: the worker keeps its copy under a key for as long as
        the test's tensor lives and is not changed (its version counter).
        """
        grad = t.grad if t.is_leaf else None  # (reading .grad of a non-leaf tensor warns, on stderr)
        flags = (bool(t.requires_grad), isinstance(t, torch.nn.Parameter), None if grad is None else grad.detach())
        size = t.numel() * t.element_size()
        if size < _CACHE_MIN_BYTES or t.requires_grad:
            return (_own_data(t), *flags, None)
        known = self._cache.get(id(t))
        if known is not None and known[0]() is t and known[1] == t._version:
            return ("cached", *flags, known[2])
        self._cache_key += 1
        self._cache[id(t)] = (weakref.ref(t), t._version, self._cache_key, size)
        self._cached_bytes += size
        while self._cached_bytes > _CACHE_MAX_BYTES and len(self._cache) > 1:  # the oldest goes first
            oldest = next(iter(self._cache))
            _, _, key, old_size = self._cache.pop(oldest)
            self._cached_bytes -= old_size
            self._forget.append(key)
        return (_own_data(t), *flags, self._cache_key)

    def hidden_tests_begin(self) -> None:
        """A hidden test region starts: the worker that serves it will serve no later cell (see ``_request``)."""
        self.hidden_cell = _cell_number()

    def _request(self, body: dict[str, Any], outgoing: _Outgoing | None = None,
                 grad_inputs: Callable[[_Outgoing], list[Any]] | None = None) -> tuple[dict[str, Any], dict]:
        if self.spent >= self.budget_seconds:
            raise AnswerTimeout(f"the answers used up this notebook's time budget ({self.budget_seconds:g} s)")
        cell = _cell_number()
        if self.seen_hidden is not None and cell != self.seen_hidden:
            # This worker has seen a hidden test's inputs, which an answer may keep (in any state it can
            # reach) and show in a later visible test's output: a new worker, with every answer again.
            self.seen_hidden = None
            self.stop()
        tainted = self.hidden_cell is not None and cell == self.hidden_cell and self.seen_hidden != cell
        if self.hidden_cell is not None and cell == self.hidden_cell:
            self.seen_hidden = cell
        sock = self._ensure()
        if tainted:  # this worker serves no later cell: the next one can start now
            ask_for_worker()
        outgoing = outgoing or _Outgoing()
        for key in ("args", "kwargs", "names"):
            if key in body:
                body[key] = self._callbacks_in(body[key])
        data = self._payload(body, outgoing, grad_inputs)
        self.seq += 1
        seq = self.seq
        start = time.monotonic()
        deadline = start + min(self.call_seconds, self.budget_seconds - self.spent)
        try:
            wire.send(sock, {"seq": seq, "kind": "request", "op": str(body.get("op"))}, data)
            while True:
                header, blob = wire.receive(sock, self.caps, deadline)
                if type(header) is not dict or header.get("seq") != seq:
                    raise wire.WireError("an answer to another request")
                tensors = wire.load_tensors(blob)
                if "callback" in header or "callback_vjp" in header:
                    reply = self._run_callback(header, tensors)
                    wire.send(sock, {"seq": seq, "kind": "return"}, reply)
                    continue
                break
        except TimeoutError:
            self.stop()
            raise AnswerTimeout(f"the answer did not finish within {deadline - start:.0f} s") from None
        except KeyboardInterrupt:  # nbgrader's cell timeout interrupts the trusted kernel
            self.stop()
            raise
        except (wire.WireError, EOFError, OSError) as error:
            self.stop()
            raise BoundaryError(f"the answer's process failed: {error}") from None
        finally:
            self.spent += time.monotonic() - start
        out = header.get("out")
        if type(out) is str and out and not self.replaying:
            self._print(out)
        return header, tensors

    # -- callbacks: the tests' own functions, called by the answer, run here ----------------------
    def _callbacks_in(self, value: Any, depth: int = 0) -> Any:
        """``value`` with each function of the notebook's own (a test's lambda, a stand-in step) replaced
        by a callback: the answer may call it, but it runs here, on what the answer sends as data."""
        from course_grading.worker import Callback

        if depth > 8:
            return value
        if isinstance(value, types.FunctionType) and getattr(value, "__module__", None) == "__main__":
            index = self.callback_ids.get(id(value))
            if index is None:
                index = self.callback_ids[id(value)] = len(self.callbacks)
                self.callbacks.append(value)
            return Callback(index, value.__name__[:100])
        if type(value) in (list, tuple):
            return type(value)(self._callbacks_in(v, depth + 1) for v in value)
        if type(value) is dict:
            return {k: self._callbacks_in(v, depth + 1) for k, v in value.items()}
        return value

    def _run_callback(self, header: dict[str, Any], tensors: dict[str, torch.Tensor]) -> bytes:
        """Run what the worker asked for (a callback, or the gradient of one's result); the reply, pickled."""
        outgoing = _Outgoing()
        body: dict[str, Any]
        try:
            if "callback_vjp" in header:
                body = {"value": self._callback_vjp(header, tensors)}
            else:
                body = self._callback(header, tensors)
        except (wire.WireError, BoundaryError):
            raise
        except Exception as error:  # noqa: BLE001 - the test's function failed: the answer sees an error
            body = {"error": f"{type(error).__name__}: {error}"[:500]}
        return self._payload(body, outgoing)

    def _callback(self, header: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
        index = header.get("callback")
        if type(index) is not int or not 0 <= index < len(self.callbacks):
            raise wire.WireError("a call of an unknown callback")
        grad_keys = header.get("grad_keys", [])
        if type(grad_keys) is not list or not all(type(k) is str and k in tensors for k in grad_keys):
            raise wire.WireError("a callback's gradient inputs are not in the message")
        inputs = []
        for key in grad_keys:
            if tensors[key].is_floating_point():
                tensors[key].requires_grad_(True)
                inputs.append((key, tensors[key]))
        versions = {key: t._version for key, t in tensors.items()}
        decoder = wire.Decoder(tensors, self.stand_in, self.caps)
        args, kwargs = decoder.decode(header.get("args")), decoder.decode(header.get("kwargs"))
        if type(args) is not list or type(kwargs) is not dict or not all(type(k) is str for k in kwargs):
            raise wire.WireError("a callback's arguments are malformed")
        with torch.enable_grad():
            value = self.callbacks[index](*args, **kwargs)
        changed = {key: t.detach() for key, t in tensors.items() if t._version != versions[key]}
        body: dict[str, Any] = {"value": value, "sync": changed, "graph": None}
        found: list[torch.Tensor] = []
        _tensors_in(value, found)
        outputs = [t for t in found if t.requires_grad]
        if outputs and inputs:
            self.callback_graphs[len(self.callback_graphs)] = (outputs, [t for _, t in inputs])
            body["graph"] = len(self.callback_graphs) - 1
            body["outputs"] = outputs
            body["inputs"] = [key for key, _ in inputs]
        return body

    def _callback_vjp(self, header: dict[str, Any], tensors: dict[str, torch.Tensor]) -> list[Any]:
        graph = header.get("callback_vjp")
        if type(graph) is not int or graph not in self.callback_graphs:
            raise wire.WireError("the gradient of an unknown callback result")
        outputs, inputs = self.callback_graphs[graph]
        grads = wire.Decoder(tensors, self.stand_in, self.caps).decode(header.get("grads"))
        if type(grads) is not list or len(grads) != len(outputs):
            raise wire.WireError("a callback's output gradients are malformed")
        pairs = []
        for output, grad in zip(outputs, grads):
            if isinstance(grad, torch.Tensor) and grad.shape == output.shape:
                pairs.append((output, grad.to(output.dtype)))
            elif grad is not None:
                raise wire.WireError("an output gradient of the wrong shape")
        if not pairs:
            return [None] * len(inputs)
        found = torch.autograd.grad([o for o, _ in pairs], inputs, [g for _, g in pairs], allow_unused=True,
                                    retain_graph=True)
        return [None if g is None else g.detach() for g in found]

    def _print(self, text: str) -> None:
        left = _STUDENT_OUTPUT_LIMIT - self.printed
        if left > 0:
            sys.stdout.write(text[:left])
            if len(text) > left:
                sys.stdout.write("\n[output truncated by the grader]\n")
        self.printed += len(text)

    def _decoded(self, header: dict[str, Any], tensors: dict[str, torch.Tensor],
                 bridge: list[torch.Tensor] | None = None) -> Any:
        if header.get("ok") is not True:
            raise _student_error(header.get("error"))
        if bridge is not None and isinstance(header.get("graph"), int):
            keys = header.get("graph_keys")
            if type(keys) is not list or not all(type(k) is str and k in tensors for k in keys):
                raise wire.WireError("a gradient for tensors that are not in the answer")
            inputs = bridge
            outputs = _Bridge.apply(self, header["graph"], [tensors[k] for k in keys], *inputs)
            if isinstance(outputs, torch.Tensor):
                outputs = (outputs,)
            tensors = dict(tensors)
            tensors.update(zip(keys, outputs))
            weakref.finalize(outputs[0], self.released.append, header["graph"])
        decoder = wire.Decoder(tensors, self.stand_in, self.caps)
        try:
            return decoder.decode(header.get("result"))
        except wire.WireError:
            self.stop()
            raise

    # -- operations -------------------------------------------------------------------------------
    def define(self, grade_id: str, source: str, context: dict[str, Any]) -> list[tuple[str, Any]]:
        """Run an answer cell's source in the worker; (name, stand-in or value) for each name it bound."""
        self._ensure()
        definition = (grade_id, source, context)
        try:
            found = self._define(grade_id, source, context)
        except (AnswerTimeout, KeyboardInterrupt, BoundaryError, wire.WireError):
            raise  # a cell that never finished is not run again in a new worker
        except BaseException:
            self.definitions.append(definition)  # it finished, with the answer's own error
            raise
        self.definitions.append(definition)
        return found

    def _define(self, grade_id: str, source: str, context: dict[str, Any]) -> list[tuple[str, Any]]:
        header, tensors = self._request({"op": "define", "source": source, "filename": f"<answer {grade_id}>",
                                         "context": context})
        names = self._decoded(header, tensors)
        if type(names) is not list:
            raise wire.WireError("define did not answer with a list")
        found = []
        for entry in names:
            if type(entry) is not tuple or len(entry) != 2 or type(entry[0]) is not str:
                raise wire.WireError("a defined name that is not (name, value)")
            found.append(entry)
            stand_in = _stand_in_of(entry[1])
            if stand_in is not None:
                stand_in.defined_name = entry[0]
                self.defined[entry[0]] = stand_in
        return found

    def call(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any], *,
             avoid: dict[str, Any] | None = None, warn: bool = False, name: str = ""
             ) -> tuple[Any, list[str], list[str]]:
        """Call ``target`` (a stand-in) in the worker: (result, forbidden calls it made, its warnings)."""
        __tracebackhide__ = True  # IPython shows an answer's error without the grader's frames (cheaper too)
        body = {"op": "call", "target": target, "args": args, "kwargs": kwargs, "avoid": avoid, "name": name,
                "warn": warn}
        trusted: list[torch.Tensor] = []

        def grad_inputs(outgoing: _Outgoing) -> list[Any]:
            """The inputs that may receive a gradient from the result, in the worker's terms."""
            specs: list[Any] = []
            for handle, module in outgoing.modules.items():
                for pname, parameter in module.named_parameters():
                    if parameter.requires_grad:
                        specs.append(("M", handle, pname))
                        trusted.append(parameter)
            pushed = {id(t) for module in outgoing.modules.values() for _, t in _named_state(module)}
            for index, tensor in enumerate(outgoing.tensors):
                if tensor.requires_grad and tensor.is_floating_point() and id(tensor) not in pushed:
                    specs.append(("T", index))
                    trusted.append(tensor)
            return specs

        fresh = _Outgoing()
        header, tensors = self._request(body, fresh, grad_inputs)
        result = self._decoded(header, tensors, trusted)
        self._apply_sync(header.get("sync"), tensors, fresh, skip_grads=isinstance(header.get("graph"), int))
        if avoid is not None and isinstance(result, RemoteIterator):
            result._course_avoid = frozenset(avoid)  # what reading it may not call
        return result, _forbidden_calls(header.get("called", []), avoid), _warnings(header.get("warnings", []))

    def simple(self, op: str, **fields: Any) -> tuple[Any, dict[str, Any]]:
        __tracebackhide__ = True
        header, tensors = self._request({"op": op, **fields})
        return self._decoded(header, tensors), header

    def vjp(self, graph: int, generation: int, grads: list[torch.Tensor | None]) -> list[Any]:
        if generation != self.generation:
            raise BoundaryError("the answer's process was restarted: this result's gradient is gone")
        found, _ = self.simple("vjp", graph=graph, grads=grads)
        return found if type(found) is list else []

    def bind(self, names: dict[str, Any]) -> int:
        self.tokens += 1
        self.simple("bind", token=self.tokens, names=names)
        return self.tokens

    def unbind(self, token: int) -> None:
        if self.sock is not None:
            self.simple("unbind", token=token)

    # -- what comes back --------------------------------------------------------------------------
    def stand_in(self, description: dict[str, Any], decoder: wire.Decoder) -> Any:
        """The trusted stand-in of a worker object (the same one each time the handle comes back)."""
        handle, kind, name = description.get("id"), description.get("kind"), description.get("name")
        if type(handle) is not int or type(kind) is not str or type(name) is not str:
            raise wire.WireError("a malformed handle")
        known = self.stand_ins.get(handle)
        if kind == "module":
            tree = decoder.decode(description.get("tree"), 1)
            if known is None:
                known = _build_mirror(self, handle, tree, name)
            else:
                _pull_tree(known, tree)
        elif known is None:
            stand_in = _StandIn(self, handle, self.generation, _one_line(name))
            if kind in ("function", "class"):
                known = RemoteFunction(stand_in)
            elif kind == "module_class":
                known = _remote_module_class(stand_in)
            elif kind == "iterator":
                known = RemoteIterator(stand_in)
            elif kind == "object":
                known = RemoteObject(stand_in)
            else:
                raise wire.WireError("an unknown kind of handle")
        self.stand_ins[handle] = known
        return known

    def _apply_sync(self, sync: Any, tensors: dict[str, torch.Tensor], outgoing: _Outgoing, skip_grads: bool) -> None:
        decoder = wire.Decoder(tensors, self.stand_in, self.caps)
        state = decoder.decode(sync) if sync is not None else {}
        if type(state) is not dict:
            raise wire.WireError("a malformed record of changes")
        for change in state.get("tensors", []):
            index = change.get("i") if type(change) is dict else None
            if type(index) is not int or not 0 <= index < len(outgoing.tensors):
                raise wire.WireError("a change to a tensor that was not sent")
            _write_back(outgoing.tensors[index], change, skip_grads)
        rng = state.get("rng")
        if isinstance(rng, torch.Tensor) and rng.dtype == torch.uint8 and rng.shape == torch.get_rng_state().shape:
            torch.set_rng_state(rng)
        elif "rng" not in state and outgoing.rng is not None:  # the answer drew nothing: the state as it was sent
            torch.set_rng_state(outgoing.rng)
        generators = state.get("generators", [])
        for generator, new in zip(outgoing.generators, generators):
            if isinstance(new, torch.Tensor) and new.dtype == torch.uint8 and new.dim() == 1:
                generator.set_state(new)
        for index, optimizer_state in state.get("optimizers", []):
            if type(index) is int and 0 <= index < len(outgoing.optimizers) and type(optimizer_state) is dict:
                try:
                    outgoing.optimizers[index].load_state_dict(optimizer_state)
                except Exception as error:  # noqa: BLE001 - a malformed state is the answer's fault
                    raise RuntimeError(f"the optimizer's state after the answer could not be read: {error}"[:300]
                                       ) from None
        for handle, named in state.get("modules", []):
            module = self.stand_ins.get(handle)
            if isinstance(module, RemoteModule) and type(named) is dict:
                _load_named(module, named)


_BYTES_DTYPES = {d: str(d).removeprefix("torch.") for d in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16, torch.int8,
    torch.uint8, torch.bool, torch.complex64, torch.complex128)}


class _PayloadPickler(pickle.Pickler):
    """Pickles a request's payload (into the worker: trusted data), each plain tensor as its bytes.

    torch's own pickling of a tensor goes through ``torch.save`` (a pickler of
    its own and a storage record per tensor): most of a short call's time.
    A dense, contiguous CPU tensor that owns its storage travels as dtype, shape
    and raw bytes instead, and the worker builds an equal tensor from them
    (:func:`course_grading.worker._tensor_from_bytes`); any other tensor is
    pickled by torch as before.
    """

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is torch.Tensor:
            dtype = _BYTES_DTYPES.get(obj.dtype)
            if dtype is not None and _travels_as_bytes(obj):
                from course_grading.worker import _tensor_from_bytes

                raw = memoryview(obj.reshape(-1).view(torch.uint8).numpy())  # type: ignore[arg-type]
                return _tensor_from_bytes, (dtype, tuple(obj.shape), pickle.PickleBuffer(raw))
        return NotImplemented


def _travels_as_bytes(t: torch.Tensor) -> bool:
    """A tensor the worker rebuilds exactly from its dtype, shape and bytes: the same strides included."""
    if t.layout != torch.strided or t.device.type != "cpu" or t.requires_grad or t.is_conj() or t.is_neg():
        return False
    if t.storage_offset() != 0 or t.untyped_storage().nbytes() != t.numel() * t.element_size() or t.__dict__:
        return False
    expected, step = [], 1
    for size in reversed(t.shape):
        expected.append(step)
        step *= size
    return tuple(t.stride()) == tuple(reversed(expected))


def _own_data(t: torch.Tensor) -> torch.Tensor:
    """The tensor's values alone: a view of a bigger tensor (X_train[:10_000]) would pickle all of it."""
    data = t.detach().to("cpu")
    if data.untyped_storage().nbytes() > data.numel() * data.element_size():
        data = data.clone()
    return data


def _tensors_in(value: Any, found: list[torch.Tensor], depth: int = 0) -> None:
    if isinstance(value, torch.Tensor):
        found.append(value)
    elif depth < 8 and type(value) in (list, tuple):
        for item in value:
            _tensors_in(item, found, depth + 1)
    elif depth < 8 and type(value) is dict:
        for item in value.values():
            _tensors_in(item, found, depth + 1)


UNREADABLE = "(a record the grader cannot read)"


def _forbidden_calls(called: Any, avoid: Any) -> list[str]:
    """The forbidden calls a worker reports: only names the test itself forbade (a worker's own text never
    reaches a message: it could carry a hidden test's inputs into the feedback)."""
    if called == []:
        return []
    if type(called) is not list or not all(type(c) is str and avoid is not None and c in avoid for c in called):
        return [UNREADABLE]
    return list(dict.fromkeys(called))[:20]


def _warnings(warned: Any) -> list[str]:
    """The warnings a worker reports, each on one line of at most 300 characters (a check puts it on the
    first line of its message, which a hidden test's feedback never shows)."""
    if type(warned) is not list or not all(type(w) is str for w in warned):
        return [UNREADABLE]
    return [" ".join(w.split())[:300] for w in warned[:20]]


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]


def _named_state(module: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    return list(module.named_parameters()) + list(module.named_buffers())


def _write_back(original: torch.Tensor, change: dict[str, Any], skip_grads: bool) -> None:
    data = change.get("data")
    if isinstance(data, torch.Tensor):
        with torch.no_grad():
            if data.shape == original.shape and change.get("unversioned") is True:
                original.data.copy_(data.to(original.dtype))  # as the answer wrote it: its version unchanged
            elif data.shape == original.shape:
                original.copy_(data.to(original.dtype))
            elif original.is_leaf:
                original.data = data.to(original.dtype)
    if "grad" in change and not skip_grads and original.is_leaf and original.requires_grad:
        grad = change["grad"]
        if grad is None:
            original.grad = None
        elif isinstance(grad, torch.Tensor) and grad.shape == original.shape:
            original.grad = grad.to(original.dtype)


def _load_named(module: torch.nn.Module, named: dict[str, Any]) -> None:
    own = dict(_named_state(module))
    with torch.no_grad():
        for name, value in named.items():
            target = own.get(name)
            if target is not None and isinstance(value, torch.Tensor):
                if target.shape == value.shape:
                    target.copy_(value.to(target.dtype))
                else:
                    target.data = value.to(target.dtype)


def _student_error(error: Any) -> BaseException:
    if type(error) is not dict:
        return BoundaryError("the answer failed")
    kind, message, trace = error.get("type"), error.get("message"), error.get("trace")
    kind = kind if type(kind) is str else "Exception"
    message = message if type(message) is str else ""
    lines = [line for line in trace if type(line) is str][:8] if type(trace) is list else []
    cls = getattr(builtins, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or kind in ("StopIteration", "StopAsyncIteration"):
        cls = RuntimeError
        message = f"{kind[:80]}: {message}"
    from course_grading.feedback import ANSWER_RAISED

    text = f"{ANSWER_RAISED} {message[:2000]}"
    if lines:
        text += "\n(in your answer: " + "; ".join(lines) + ")"
    try:
        return cls(text)
    except Exception:  # noqa: BLE001 - an exception class with another signature
        return RuntimeError(f"{kind[:80]}: {text}")


# -- gradients across the boundary ----------------------------------------------------------------

class _Bridge(torch.autograd.Function):
    """Outputs computed in the worker, joined to the trusted inputs they depend on."""

    @staticmethod
    def forward(ctx: Any, boundary: Boundary, graph: int, outputs: list[torch.Tensor],
                *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ctx.boundary, ctx.graph, ctx.generation = boundary, graph, boundary.generation
        ctx.shapes = [(t.shape, t.dtype) for t in inputs]
        return tuple(t.clone() for t in outputs)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> Any:
        found = ctx.boundary.vjp(ctx.graph, ctx.generation, [None if g is None else g.contiguous() for g in grads])
        result: list[Any] = [None, None, None]
        for index, (shape, dtype) in enumerate(ctx.shapes):
            value = found[index] if index < len(found) else None
            if isinstance(value, torch.Tensor) and value.shape == shape:
                result.append(value.to(dtype))
            elif value is None:
                result.append(None)
            else:
                raise BoundaryError("the answer's gradient does not have the input's shape")
        return tuple(result)


# -- stand-ins ------------------------------------------------------------------------------------

class RemoteFunction:
    """A function (or plain class) of the student's, called in the worker."""

    def __init__(self, stand_in: _StandIn) -> None:
        object.__setattr__(self, "_course_stand_in", stand_in)
        self.__name__ = self.__qualname__ = stand_in.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self.__course_call__(args, kwargs, avoid=None, warn=False, name="")[0]

    def __course_call__(self, args: tuple[Any, ...], kwargs: dict[str, Any], *, avoid: dict[str, Any] | None,
                        warn: bool, name: str) -> tuple[Any, list[str], list[str]]:
        __tracebackhide__ = True
        stand_in = object.__getattribute__(self, "_course_stand_in")
        _check_generation(stand_in)
        return stand_in.boundary.call(self, args, kwargs, avoid=avoid, warn=warn, name=name)

    def __repr__(self) -> str:
        return f"<answer {object.__getattribute__(self, '_course_stand_in').name}>"


def _stand_in_of(obj: Any) -> _StandIn | None:
    try:
        stand_in = object.__getattribute__(obj, "_course_stand_in")
    except AttributeError:
        return None
    return stand_in if isinstance(stand_in, _StandIn) else None


def _check_generation(stand_in: _StandIn) -> None:
    """Make sure the worker runs; a name an answer defined is found again in a restarted one."""
    boundary = stand_in.boundary
    boundary._ensure()
    if stand_in.generation == boundary.generation:
        return
    current = boundary.defined.get(stand_in.defined_name or "")
    if current is None:
        raise BoundaryError("the answer's process was restarted after a failure: this object is gone")
    stand_in.handle, stand_in.generation = current.handle, current.generation


class RemoteIterator:
    """A lazy result (a generator, a map): each item is computed in the worker when it is asked for."""

    def __init__(self, stand_in: _StandIn) -> None:
        self._course_stand_in = stand_in
        self._course_avoid: frozenset[str] | None = None

    def __iter__(self) -> RemoteIterator:
        return self

    def __next__(self) -> Any:
        __tracebackhide__ = True
        stand_in = self._course_stand_in
        _check_generation(stand_in)
        value, header = stand_in.boundary.simple("next", target=self)
        if header.get("stop") is True:
            raise StopIteration
        called = _forbidden_calls(header.get("called", []), self._course_avoid)
        if called:
            raise AssertionError(f"a lazy result: called {', '.join(called)} while it was read, which this exercise "
                                 "does not allow.\nHint: write that computation yourself, as the exercise asks")
        return value

    def __repr__(self) -> str:
        return f"<lazy result of an answer: {self._course_stand_in.name}>"


class RemoteObject:
    """Any other object of the student's: attributes are read in the worker; ``==`` is identity here."""

    def __init__(self, stand_in: _StandIn) -> None:
        object.__setattr__(self, "_course_stand_in", stand_in)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        stand_in = object.__getattribute__(self, "_course_stand_in")
        _check_generation(stand_in)
        return stand_in.boundary.simple("getattr", target=self, name=name)[0]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        stand_in = object.__getattribute__(self, "_course_stand_in")
        _check_generation(stand_in)
        return stand_in.boundary.call(self, args, kwargs)[0]

    def __repr__(self) -> str:
        return f"<object of an answer: {object.__getattribute__(self, '_course_stand_in').name}>"


class RemoteModule(torch.nn.Module):
    """A mirror of a student's ``nn.Module``: torch.nn layers and parameters here, ``forward`` in the worker.

    Before a call the mirror's parameters and buffers go to the worker, after it
    the worker's come back; gradients reach the mirror's parameters through
    :class:`_Bridge`.
    """

    _course_stand_in: _StandIn | None = None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        stand_in = self._course_stand_in
        if stand_in is None:
            raise BoundaryError("only the outermost module of an answer can be called by a test")
        _check_generation(stand_in)
        return stand_in.boundary.call(self, args, kwargs)[0]


def _remote_module_class(stand_in: _StandIn) -> type:
    """A class here that stands for the student's ``nn.Module`` subclass: calling it builds one in the worker."""

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        _check_generation(stand_in)
        return stand_in.boundary.call(_ClassTarget(stand_in), args, kwargs)[0]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        pass  # built by the worker's __init__, mirrored when it came back

    name = stand_in.name.rsplit(".", 1)[-1]
    cls = type(name if name.isidentifier() else "AnswerModule", (RemoteModule,),
               {"__new__": __new__, "__init__": __init__, "__module__": "__main__"})
    stand_in.boundary.module_classes[stand_in.name] = cls
    return cls


class _ClassTarget:
    """The worker's class itself, as the target of a call (pickled as its handle)."""

    def __init__(self, stand_in: _StandIn) -> None:
        self._course_stand_in = stand_in


_TORCH_NN_NAMES = frozenset(name for name in dir(torch.nn) if isinstance(getattr(torch.nn, name), type)
                            and issubclass(getattr(torch.nn, name), torch.nn.Module))


def _build_mirror(boundary: Boundary, handle: int, tree: Any, name: str) -> RemoteModule:
    cls = boundary.module_classes.get(name) or _remote_module_class(
        _StandIn(boundary, handle, boundary.generation, name))
    mirror: RemoteModule = torch.nn.Module.__new__(cls)
    torch.nn.Module.__init__(mirror)
    object.__setattr__(mirror, "_course_stand_in", _StandIn(boundary, handle, boundary.generation, name))
    _fill(mirror, tree, depth=0)
    return mirror


def _fill(module: torch.nn.Module, tree: Any, depth: int) -> None:
    if type(tree) is not dict or depth > 8:
        raise wire.WireError("a malformed module")
    module.training = tree.get("training") is True
    attrs = tree.get("attrs")
    if type(attrs) is dict:
        for key, value in attrs.items():
            if type(key) is str and key.isidentifier() and not key.startswith("_") and type(value) in (
                    int, float, bool, str) and key not in _RESERVED_ATTRS:
                module.__dict__[key] = value
    for key, value in _pairs(tree.get("params")):
        module.register_parameter(key, None if value is None else torch.nn.Parameter(
            value.detach().clone(), requires_grad=bool(value.requires_grad) or value.is_floating_point()))
    for key, value in _pairs(tree.get("buffers")):
        module.register_buffer(key, None if value is None else value.detach().clone())
    for key, child_tree in _pairs(tree.get("children")):
        class_name = child_tree.get("class") if type(child_tree) is dict else None
        if type(class_name) is str and class_name in _TORCH_NN_NAMES:
            cls = getattr(torch.nn, class_name)
        else:
            cls = RemoteModule
        child = torch.nn.Module.__new__(cls)
        torch.nn.Module.__init__(child)
        _fill(child, child_tree, depth + 1)
        module.add_module(key, child)


_RESERVED_ATTRS = frozenset(dir(torch.nn.Module))


def _pairs(value: Any) -> list[tuple[str, Any]]:
    if type(value) is not list:
        return []
    pairs = []
    for item in value:
        if type(item) in (tuple, list) and len(item) == 2 and type(item[0]) is str and item[0].isidentifier():
            pairs.append((item[0], item[1]))
    return pairs


def _pull_tree(module: RemoteModule, tree: Any) -> None:
    """Refresh a known mirror's parameters from a module description that came back again."""
    def walk(mod: torch.nn.Module, node: Any, depth: int) -> None:
        if type(node) is not dict or depth > 8:
            return
        with torch.no_grad():
            for key, value in _pairs(node.get("params")) + _pairs(node.get("buffers")):
                own = getattr(mod, key, None)
                if isinstance(own, torch.Tensor) and isinstance(value, torch.Tensor) and own.shape == value.shape:
                    own.copy_(value.to(own.dtype))
        for key, child in _pairs(node.get("children")):
            sub = mod._modules.get(key)
            if sub is not None:
                walk(sub, child, depth + 1)

    walk(module, tree, 0)


# -- the answer cells -----------------------------------------------------------------------------

def _cell_number() -> int | None:
    """The number of the notebook cell running now (IPython's execution count), or None outside IPython."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


def hidden_tests(namespace: dict[str, Any]) -> None:
    """The first line of every hidden-test region when a notebook is graded (the rebuild puts it there).

    The worker that serves this cell's calls serves no later cell: the next
    cell gets a new worker, with every answer defined again, so that nothing
    an answer kept of a hidden test's inputs (in a list, a module's buffers,
    ``random``'s state, a file) can reach a visible test's output.
    """
    boundary = namespace.get(NAMESPACE_KEY)
    if isinstance(boundary, Boundary):
        boundary.hidden_tests_begin()


def boundary_of(namespace: dict[str, Any]) -> Boundary:
    """The notebook's boundary, made on first use and kept in its namespace."""
    boundary = namespace.get(NAMESPACE_KEY)
    if not isinstance(boundary, Boundary):
        boundary = namespace[NAMESPACE_KEY] = Boundary()
    return boundary


def answer(namespace: dict[str, Any], grade_id: str, source: str, *, protected: list[str],
           context: list[str]) -> None:
    """Run an answer cell's ``source`` in the worker and bind what it defines in ``namespace``.

    ``context`` names values of the notebook (its imports, its set-up) that
    the answer reads: they are sent in. A name the answer defines is bound here
    unless it is ``protected`` (a builtin, or a name another cell of the
    notebook binds: its helpers, imports, data and the other answers' names);
    so an answer can never replace anything the tests use but its own names.
    """
    boundary = boundary_of(namespace)
    sent = {}
    for name in context:
        if name in namespace:
            value = namespace[name]
            try:  # only what can travel: a figure or an open file stays here
                probe = boundary._pickler(io.BytesIO())
                probe.outgoing = _Outgoing()
                probe.dump(value)
            except Exception:  # noqa: BLE001
                continue
            sent[name] = value
    names = boundary.define(grade_id, source, sent)
    refused = set(protected) | set(dir(builtins))
    for name, value in names:
        if name not in refused and not name.startswith("__"):
            namespace[name] = value
