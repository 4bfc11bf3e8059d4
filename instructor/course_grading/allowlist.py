"""Which answer code the grader runs: an allowlist checked on the syntax tree.

A student's answer cell is never run as written. :func:`screen` keeps its
definitions (imports, functions, classes, plain names given a constant, a
name, an attribute or a ``torch.nn`` loss or activation such as
``nn.CrossEntropyLoss()``), drops every other top-level statement (a demo
call, a ``print``, a loop), and checks what it keeps against an allowlist:

- imports only from the modules the course uses (``torch`` and its public
  submodules, ``numpy``, ``math``, a few standard ones, ``course_utils.data``);
- names that are local, allowed builtins, or functions, classes and modules
  the notebook or the answers define or import (never data such as
  ``X_train``, so a function cannot change what the tests read); no new
  binding of a name the rest of the notebook uses (``check_close``, ``bool``),
  except an import that binds it to the very same module (``import torch.nn
  as nn`` where the notebook has ``from torch import nn``);
- no attribute that starts with an underscore (``__code__``, ``__class__``,
  ``torch._C``, ...), except ``super().__init__`` (or ``super(C, self)``, or
  ``nn.Module.__init__(self)``); no name that starts with two, no method
  name that starts with one (a helper function may be called ``_helper``);
- no attribute that leads out of the allowlist, whatever it is read from:
  :func:`gadget_attributes` walks the allowed modules and collects the name
  of every attribute that holds another module or a function reaching the
  interpreter; a written list adds APIs that reach files, raw memory or
  global switches (``load``, ``save``, ``tofile``, ``as_strided``, ``set_*``);
  a chain that starts at a module's name is also followed on the real modules;
- attributes are assigned only on ``self`` in a method, or ``grad``,
  ``data`` and ``requires_grad`` on a local tensor;
- no list or set as a default value or a top-level value (kept from call to
  call, it would carry a hidden test's inputs to a later test's output);
- no callbacks run by a torch function (``Tensor.apply_``, ``torch.cond``,
  ...) and no autograd node (``grad_fn``): ``check_avoids`` would not see
  what they run;
- no call where code runs at definition time (default values, annotations,
  decorators other than ``torch.no_grad()``, ``torch.inference_mode()`` and
  ``torch.enable_grad()``), no ``global``/``nonlocal``, ``async``, ``match``,
  IPython magics or shell commands;
- classes only derive from ``torch.nn.Module`` itself: a base is followed on
  the real modules from a name only an import binds, so a name that merely
  says ``Module`` (``Module = typing.Type``, a metaclass) is refused;
- a class may only be called, be a base, a decorator, an annotation or
  ``isinstance``'s second argument: handed on, or asked for a method written
  in Python, it gives a function that takes any object as ``self``
  (``StepLR.state_dict(torch)`` is ``torch.__dict__``);
- of the notebook's imports, an answer uses modules, functions, classes and
  values nobody can change, never its data (``AUTOGRAD.update(...)``).

An answer that breaks a rule is not run at all: its exercise is graded as
unanswered and the report says "needs review" with the reasons. Correct
answers never need any of the refused constructs.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import string
import threading
import types
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

MAX_SOURCE_CHARS = 50_000

# module -> names that may be imported from it ("*": any public name not denied; a set: only
# those, and only with ``from module import name``).
ALLOWED_MODULES: dict[str, str | frozenset[str]] = {
    "torch": "*", "torch.nn": "*", "torch.nn.functional": "*", "torch.nn.init": "*", "torch.optim": "*",
    "torch.optim.lr_scheduler": "*", "torch.utils": "*",
    "torch.utils.data": "*", "torch.autograd": "*", "torch.distributions": "*", "torch.linalg": "*",
    "torch.special": "*", "torch.autograd.functional": "*",
    "numpy": "*", "numpy.random": "*", "numpy.linalg": "*", "math": "*", "typing": "*",
    "collections": "*", "collections.abc": "*",
    "itertools": "*", "functools": "*", "__future__": "*", "time": "*", "random": "*",
    "course_utils.data": frozenset({"minibatches", "train_test_split", "make_blobs", "load_exam_scores"}),
    "course_utils.training": frozenset({"make_sgd", "make_softmax_model", "SOFTMAX_RECIPE"}),
}

ALLOWED_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "callable", "chr", "dict", "divmod", "enumerate", "filter", "float", "frozenset",
    "hash", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "ord", "pow",
    "print", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip", "super",
    "complex", "bytes", "NotImplemented", "Ellipsis",
    "Exception", "ArithmeticError", "AssertionError", "IndexError", "KeyError", "LookupError",
    "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration", "TypeError", "ValueError",
    "ZeroDivisionError", "UserWarning", "Warning",
})

# Attributes that reach files, the interpreter, raw memory or global switches.
DENIED_ATTRIBUTES = frozenset({
    "load", "loads", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile", "tofile",
    "from_file", "memmap", "fromregex", "DataSource", "open", "compile", "jit", "export", "fx",
    "hub", "package", "library", "ops", "classes", "overrides", "cpp_extension", "ctypes", "ctypeslib", "f2py",
    "distutils", "testing", "multiprocessing", "distributed", "cuda", "mps", "xpu", "backends", "profiler",
    "as_strided", "as_strided_", "stride_tricks", "lib", "untyped_storage", "storage", "data_ptr", "share_memory_",
    "format_map", "hooks", "sys", "os", "builtins", "importlib", "inspect", "utils_hooks",
    "use_deterministic_algorithms", "seterr", "seterrcall", "setbufsize", "dynamo", "compiler", "func", "monitor",
    "detect_anomaly", "metadata",  # anomaly mode keeps each autograd node's stack: the tests' source lines
    "get_origin", "get_args",  # typing.get_origin(typing.Type) is the builtin type
    "fget", "fset", "fdel",  # a property's functions, read from its class, take any object as self
    "next_functions", "variable", "grad_fn",  # the autograd graph by hand: autograd unseen by check_avoids
    # callbacks run by a torch function: inside one, check_avoids's TorchFunctionMode is off
    "apply_", "map_", "map2_", "cond", "while_loop", "vmap",
    "mro", "f_locals", "f_globals", "f_back", "f_code", "gi_frame", "gi_code", "cr_frame", "cr_code",
    "ag_frame", "ag_code", "tb_frame", "tb_next", "source", "info", "lookfor", "getsource", "get_type_hints",
    "ForwardRef", "singledispatch", "singledispatchmethod", "cached_property", "savefig", "imsave", "imread",
    "print_figure", "print_png", "write_png", "rc_file", "style", "model_zoo", "download_url_to_file",
    "tensorboard", "bottleneck", "collect_env", "mobile_optimizer", "checkpoint", "sharing", "update_wrapper",
    "wraps", "swap_tensors", "attrgetter", "methodcaller",
})
DENIED_PREFIXES = ("set_", "register_module_", "_")
ALLOWED_DESPITE_PREFIX = frozenset({"set_grad_enabled"})  # a context manager, like torch.no_grad
GRAD_MODES = ("no_grad", "inference_mode", "enable_grad")  # the only decorators an answer may use
ASSIGNABLE_ATTRIBUTES = frozenset({"grad", "data", "requires_grad"})
# nn.Module's own public attributes (torch 2.x): an answer's module may not redefine them.
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu",
    "cuda", "double", "dump_patches", "eval", "float", "get_buffer", "get_extra_state", "get_parameter",
    "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children",
    "named_modules", "named_parameters", "parameters", "register_backward_hook", "register_buffer",
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
    "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook",
    "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
    "type", "xpu", "zero_grad",
})


@dataclass
class Screened:
    """The code of one answer cell that may run, and why the rest does not."""

    source: str
    problems: list[str] = field(default_factory=list)  # why the answer does not run at all
    dropped: list[str] = field(default_factory=list)  # top-level statements left out (they never run)
    refused: list[str] = field(default_factory=list)  # of those, the ones that broke a rule: worth a human look

    @property
    def runnable(self) -> bool:
        return not self.problems


def defined_names(sources: Iterable[str]) -> set[str]:
    """Top-level names that cells define as functions, classes or imports (not data)."""
    names: set[str] = set()
    for source in sources:
        tree = _parse(source)
        if tree is not None:
            names |= _definitions_in(tree.body)
    return names


def _definitions_in(body: Iterable[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names
                         if a.name != "*" and _usable(_import_value(node.module or "", a.name)))
    return names


def _usable(value: object) -> bool:
    """Whether an answer may use a name imported as ``value``: a module, a function or class, or a value
    nobody can change (a number, a dtype, a frozen dataclass); never a dict, a list or a tensor of the
    notebook's (``AUTOGRAD.update(...)`` would empty the calls a test forbids)."""
    if value is _MISSING or isinstance(value, types.ModuleType) or callable(value):
        return True
    if isinstance(value, (int, float, complex, str, bytes, type(None))) or type(value).__name__ in ("dtype", "device"):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_usable(v) and not callable(v) for v in value)
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params is not None and params.frozen)


def _bound_names(node: ast.AST) -> set[str]:
    """Names a function, lambda or comprehension binds in its own scope."""
    bound: set[str] = set()
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        for gen in node.generators:
            bound |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        return bound
    args = node.args  # type: ignore[attr-defined]  # a FunctionDef or a Lambda
    for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
        if a is not None:
            bound.add(a.arg)
    body = node.body  # type: ignore[attr-defined]
    stack: list[ast.AST] = list(body) if isinstance(body, list) else [body]
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(child.name)  # its body is a scope of its own
            continue
        if isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            bound.add(child.id)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in child.names)
        elif isinstance(child, ast.ExceptHandler) and child.name:
            bound.add(child.name)
        stack.extend(ast.iter_child_nodes(child))
    return bound


@dataclass(frozen=True)
class Context:
    """What an answer cell may use and bind, from the notebook around it (see :func:`notebook_context`).

    ``names``: functions, classes and modules the notebook and the answers define or import;
    ``protected``: names the answer may not bind (builtins, and whatever the rest of the notebook
    binds: a test must find its helpers and data as the notebook made them);
    ``imports``: the notebook's own imports (an answer may repeat them);
    ``modules``: {name: (module, attribute or "")} of the notebook's and the answer's imports;
    ``classes``: the names of every class the notebook and the answers define (at any depth).
    """

    names: frozenset[str] = frozenset()
    protected: frozenset[str] = frozenset()
    imports: frozenset[tuple[str, str, str]] = frozenset()
    modules: tuple[tuple[str, tuple[str, str]], ...] = ()
    classes: frozenset[str] = frozenset()


def class_names(sources: Iterable[str]) -> set[str]:
    """The names of the classes that cells define, at any depth."""
    return {node.name for source in sources for node in ast.walk(_parse(source) or ast.Module(body=[], type_ignores=[]))
            if isinstance(node, ast.ClassDef)}


def _imports(tree: ast.Module) -> tuple[set[tuple[str, str, str]], dict[str, tuple[str, str]]]:
    """The (module, name, alias) triples of a module's top-level imports, and {bound name: (module, attr)}."""
    triples: set[tuple[str, str, str]] = set()
    modules: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                triples.add((a.name, "", a.asname or ""))
                if a.asname:
                    modules[a.asname] = (a.name, "")
                else:
                    modules[a.name.split(".")[0]] = (a.name.split(".")[0], "")
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for a in node.names:
                triples.add((node.module, a.name, a.asname or ""))
                modules[a.asname or a.name] = (node.module, a.name)
    return triples, modules


def _top_level_bindings(tree: ast.Module) -> set[str]:
    """Every name a cell binds at the top level (definitions, imports, assignments, loop variables)."""
    bound: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        stack.extend(ast.iter_child_nodes(node))
    return bound


# CPython 3.11's ast.parse keeps a recursion depth in state that all threads share: a thread switch
# inside one parse (a finalizer run by the garbage collector) can make a parse in another thread fail
# with "SystemError: AST constructor recursion depth mismatch". make grade screens batches in threads.
_PARSE_LOCK = threading.RLock()


def parse(source: str) -> ast.Module:
    """``ast.parse(source)``, one thread at a time (see ``_PARSE_LOCK``)."""
    with _PARSE_LOCK:
        return ast.parse(source)


@lru_cache(maxsize=1024)
def _parse(source: str) -> ast.Module | None:
    """The tree of ``source``, or None; kept, as every caller only reads it: a notebook's own cells are
    parsed once per batch, not once for every student (the tree of an answer is :func:`screen`'s own)."""
    try:
        return parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def notebook_context(others: Iterable[str], answers: dict[str, str],
                     source_answers: dict[str, str], tests: Iterable[str] = ()) -> dict[str, Context]:
    """{grade_id: Context} for each answer: ``others`` are the sources of the notebook's other code cells,
    ``answers`` the submitted answers and ``source_answers`` the instructor's, by grade id; ``tests``
    those of ``others`` that are test cells, whose helpers (a reference ``_ref_train``) no answer may use."""
    others = list(others)
    names = defined_names(others + list(answers.values())) - defined_names(tests)
    classes = class_names(others + list(answers.values()))
    imports: set[tuple[str, str, str]] = set()
    modules: dict[str, tuple[str, str]] = {}
    bound_by_others: set[str] = set()
    for text in others:
        tree = _parse(text)
        if tree is not None:
            triples, found = _imports(tree)
            imports |= triples
            modules.update(found)
            bound_by_others |= _top_level_bindings(tree)
    own = {gid: _top_level_bindings(_parse(text) or ast.Module(body=[], type_ignores=[]))
           for gid, text in source_answers.items()}
    contexts = {}
    for gid in answers:
        protected = set(dir(builtins)) | bound_by_others
        for other_gid, bound in own.items():
            if other_gid != gid:
                protected |= bound
        protected -= own.get(gid, set())
        contexts[gid] = Context(frozenset(names), frozenset(protected), frozenset(imports),
                                tuple(sorted(modules.items())), frozenset(classes))
    return contexts


_FORBIDDEN_VALUES: list[object] = [getattr(builtins, n) for n in (
    "getattr", "setattr", "delattr", "vars", "globals", "locals", "eval", "exec", "compile", "open", "__import__",
    "type", "object", "breakpoint", "input", "memoryview", "id", "dir", "help")]


_REFLECTIVE_MODULES = frozenset({"operator", "_operator", "builtins", "sys", "os", "posix", "pickle", "_pickle",
                                 "copyreg", "io", "_io", "marshal", "importlib", "inspect", "ctypes", "_ctypes",
                                 "subprocess", "threading", "_thread", "gc", "types", "code", "codeop", "runpy",
                                 "pickletools", "shelve", "socket", "signal", "functools"})
_HARMLESS_FUNCTOOLS = frozenset({"reduce", "partial", "lru_cache", "cache", "cmp_to_key", "total_ordering"})


def _forbidden_value(value: object) -> bool:
    """A builtin or a function from a module that reaches the interpreter (getattr, exec, pickle, operator, ...)."""
    if any(value is f for f in _FORBIDDEN_VALUES):
        return True
    module = getattr(value, "__module__", None)
    if not isinstance(module, str) or module.split(".")[0] not in _REFLECTIVE_MODULES:
        return False
    return not (module == "functools" and getattr(value, "__name__", "") in _HARMLESS_FUNCTOOLS)


class _Checker(ast.NodeVisitor):
    """Walks kept code and records every rule it breaks."""

    def __init__(self, allowed_globals: set[str], modules: dict[str, tuple[str, str]] | None = None,
                 allowed_module_names: set[str] | None = None, rebound: set[str] | None = None,
                 own_imports: dict[str, int] | None = None, classes: Iterable[str] = ()) -> None:
        self.globals = allowed_globals
        self.modules = dict(modules or {})
        self.rebound = rebound or set()  # names the answer binds at its top level other than by an import
        self.own_imports = own_imports or {}  # {name: line} of the answer's own top-level imports
        self.allowed_modules = set(ALLOWED_MODULES) | (allowed_module_names or set())
        self.problems: list[str] = []
        self.scopes: list[set[str]] = []
        self.self_names: list[tuple[int, str]] = []  # (scope depth, name of a method's first parameter)
        self.classes: set[str] = set()  # the classes defined so far in the code checked
        # Every class the notebook and the answers define: called to make an instance, nothing else. As a
        # value (``tool = Tool; tool.put(torch, x)``) its methods take any object as self, and their
        # self.<name> = ... would set any attribute of it.
        self.class_names = set(classes)
        # Nodes where a class may stand: called, a base, a decorator, an annotation, isinstance's second
        # argument. Anywhere else, a class written in Python hands out its methods unbound: called with
        # any object as self (torch.optim.lr_scheduler.StepLR.state_dict(torch)), they read or write
        # that object's __dict__.
        self.class_ok: set[int] = set()

    def problem(self, node: ast.AST, message: str) -> None:
        text = f"line {getattr(node, 'lineno', '?')}: {message}"
        if text not in self.problems:
            self.problems.append(text)

    # --- scopes -------------------------------------------------------------
    def _resolve(self, name: str) -> int | None:
        for depth in range(len(self.scopes) - 1, -1, -1):
            if name in self.scopes[depth]:
                return depth
        return None

    def _is_self(self, name: str) -> bool:
        depth = self._resolve(name)
        return depth is not None and (depth, name) in self.self_names

    def _in_scope(self, node: ast.AST, body: Iterable[ast.AST], self_name: str | None = None) -> None:
        self.scopes.append(_bound_names(node))
        if self_name is not None:
            self.self_names.append((len(self.scopes) - 1, self_name))
        for child in body:
            self.visit(child)
        if self_name is not None:
            self.self_names.pop()
        self.scopes.pop()

    # --- definitions ----------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef, method_of: str | None = None) -> None:
        for decorator in node.decorator_list:
            if self._is_grad_mode(decorator, node.lineno):
                self.class_ok.update(id(n) for n in ast.walk(decorator))
                self.visit(decorator)
            else:
                self.problem(node, f"the only decorators allowed here are torch.no_grad(), torch.inference_mode() "
                                   f"and torch.enable_grad() ({node.name})")
        # A helper may be called _helper; a method may not (nn.Module's machinery is named so), nor any __name.
        if node.name.startswith("__" if not method_of else "_") and not (method_of and node.name == "__init__"):
            self.problem(node, f"names starting with {'__' if not method_of else 'an underscore'} are not "
                               f"allowed here ({node.name})")
        args = node.args
        # Defaults and annotations are evaluated when the function is defined, at the top level of
        # the kernel: only constants, names and attributes there, never a call. A default is never a
        # list or a set either: one kept from call to call would carry a hidden test's inputs along.
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self._simple(default, f"the default values of {node.name}")
            if not is_immutable_value(default):
                self.problem(default, f"the default values of {node.name} may not be lists or sets (use a tuple)")
            self.visit(default)
        for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if a is not None:
                self._check_identifier(a, a.arg)
                if a.annotation is not None:
                    self._simple(a.annotation, f"the annotations of {node.name}")
                    self.class_ok.update(id(n) for n in ast.walk(a.annotation))
                    self.visit(a.annotation)
        if node.returns is not None:
            self._simple(node.returns, f"the annotations of {node.name}")
            self.class_ok.update(id(n) for n in ast.walk(node.returns))
            self.visit(node.returns)
        self_name = None
        positional = args.posonlyargs + args.args
        if method_of and positional:
            self_name = positional[0].arg
            if self_name in _assigned_names(node):
                self.problem(node, f"{node.name}: the parameter {self_name} is assigned to")
                self_name = None
        self._in_scope(node, node.body, self_name)

    def _is_grad_mode(self, decorator: ast.expr, line: int) -> bool:
        """``@torch.no_grad()``, ``@torch.inference_mode()`` or ``@torch.enable_grad()``, with or without ()."""
        if isinstance(decorator, ast.Call):
            if decorator.args or decorator.keywords:
                return False
            decorator = decorator.func
        value = self.resolved(decorator, line)
        return value is not _MISSING and any(value is _import_value("torch", mode) for mode in GRAD_MODES)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.problem(node, "async functions are not allowed here")

    def _simple(self, node: ast.expr, where: str) -> None:
        if not is_simple_expression(node):
            self.problem(node, f"{where} may only be constants, names and attributes (no calls)")

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        self._in_scope(node, [node.body])

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        self.visit(node.generators[0].iter)
        self.scopes.append(_bound_names(node))
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
            for cond in gen.ifs:
                self.visit(cond)
            self._check_target(gen.target)
        for part in ((node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)):
            self.visit(part)
        self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.add(node.name)
        if node.decorator_list or node.keywords:
            self.problem(node, f"class {node.name}: decorators and class keywords are not allowed here")
        if len(node.bases) == 1 and self._is_named_tuple_base(node.bases[0], node.lineno):
            self._named_tuple_body(node)
            return
        if not node.bases or not all(self._is_module_base(b, node.lineno) for b in node.bases):
            self.problem(node, f"class {node.name} must derive from nn.Module or typing.NamedTuple (and nothing else)")
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                if item.name in MODULE_ATTRIBUTES:
                    self.problem(item, f"class {node.name} may not override nn.Module.{item.name}")
                self.visit_FunctionDef(item, method_of=node.name)
            elif isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
                continue
            elif isinstance(item, ast.Pass):
                continue
            else:
                self.problem(item, f"class {node.name}: only methods and a docstring are allowed in its body")

    def resolved(self, expr: ast.expr, line: int | None = None) -> object:
        """The real object a chain ``name.attr.attr`` names, if ``name`` is bound by an import and by
        nothing else of this answer (and, given ``line``, by no import of the answer below it); else _MISSING."""
        attrs: list[str] = []
        root = expr
        while isinstance(root, ast.Attribute):
            attrs.append(root.attr)
            root = root.value
        if (not isinstance(root, ast.Name) or root.id not in self.modules or root.id in self.rebound
                or self._resolve(root.id) is not None
                or (line is not None and self.own_imports.get(root.id, 0) > line)):
            return _MISSING
        value = _import_value(*self.modules[root.id])
        for attr in reversed(attrs):
            if value is _MISSING:
                break
            value = getattr(value, attr, _MISSING)
        return value

    def _is_named_tuple_base(self, base: ast.expr, class_line: int) -> bool:
        """Whether ``base`` is ``typing.NamedTuple`` itself (a returned pair with names, say)."""
        value = self.resolved(base, class_line)
        if value is _MISSING or value is not _import_value("typing", "NamedTuple"):
            return False
        self.class_ok.update(id(n) for n in ast.walk(base))
        self.visit(base)
        return True

    def _named_tuple_body(self, node: ast.ClassDef) -> None:
        """A NamedTuple holds fields (annotated names, with a constant default at most) and a docstring."""
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and (
                    item.value is None or isinstance(item.value, ast.Constant)) and is_simple_expression(
                    item.annotation):
                self._simple(item.annotation, f"the annotation of {item.target.id}")
            elif isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant) or isinstance(item, ast.Pass):
                continue
            else:
                self.problem(item, f"class {node.name}: a NamedTuple holds only annotated fields and a docstring")

    def _is_module_base(self, base: ast.expr, class_line: int) -> bool:
        """Whether ``base`` is ``torch.nn.Module`` itself when the class is made, not a name that says Module.

        It must be a name bound by an import (the notebook's, which no answer may bind again, or one
        of this answer's, above the class) followed by attributes, and lead to ``torch.nn.Module`` on
        the real modules: ``Module = typing.Type; class Meta(Module)`` would make a metaclass.
        """
        value = self.resolved(base, class_line)
        if value is _MISSING:
            return False
        self.class_ok.update(id(n) for n in ast.walk(base))
        self.visit(base)
        return value is _import_value("torch.nn", "Module")

    # --- statements -----------------------------------------------------------
    def visit_Global(self, node: ast.Global) -> None:
        self.problem(node, "global is not allowed here")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.problem(node, "nonlocal is not allowed here")

    def visit_Match(self, node: ast.AST) -> None:
        self.problem(node, "match statements are not allowed here")

    def visit_Await(self, node: ast.Await) -> None:
        self.problem(node, "await is not allowed here")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                self.problem(node, f"import {alias.name}: only {_module_list()} may be imported")
            elif ALLOWED_MODULES[alias.name] != "*":
                self.problem(node, f"import {alias.name}: use from {alias.name} import <name> "
                                   f"({', '.join(sorted(ALLOWED_MODULES[alias.name]))})")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module not in ALLOWED_MODULES:
            self.problem(node, f"from {'.' * node.level}{module} import ...: only {_module_list()} may be imported")
            return
        names = ALLOWED_MODULES[module]
        for alias in node.names:
            if alias.name == "*" or not self._allowed_attribute(alias.name) or (
                    names != "*" and alias.name not in names):
                self.problem(node, f"from {module} import {alias.name} is not allowed here")
            else:
                self._refused_value(node, f"{module}.{alias.name}", _import_value(module, alias.name))

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._check_target(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self._check_target(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.class_ok.update(id(n) for n in ast.walk(node.annotation))
        self.visit(node.annotation)
        self._check_target(node.target)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._check_target(node.target)
        for child in node.body + node.orelse:
            self.visit(child)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._check_target(item.optional_vars)
        for child in node.body:
            self.visit(child)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._check_target(node.target)

    def _check_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self._check_identifier(target, target.id)
            if self._resolve(target.id) is None and self.scopes:
                self.problem(target, f"assigning the global name {target.id} is not allowed here")
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
        elif isinstance(target, ast.Starred):
            self._check_target(target.value)
        elif isinstance(target, ast.Attribute):
            self.visit(target.value)
            root = _root_name(target)
            if not self._allowed_attribute(target.attr):
                self.problem(target, f".{target.attr} is not allowed here")
                return
            if isinstance(target.value, ast.Name) and self._is_self(target.value.id):
                return
            if root is not None and self._resolve(root) is not None and target.attr in ASSIGNABLE_ATTRIBUTES:
                return
            self.problem(target, f"assigning the attribute .{target.attr} is not allowed here "
                                 "(only self.<name> in a method, or .grad/.data/.requires_grad of a local tensor)")
        elif isinstance(target, ast.Subscript):
            self.visit(target)
            root = _root_name(target, through_views=True)
            if root is None or self._resolve(root) is None:
                self.problem(target, "assigning an item of something that is not a local variable is not allowed here")
        else:
            self.problem(target, "this assignment target is not allowed here")

    # --- expressions ------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.class_names and id(node) not in self.class_ok:
            self.problem(node, f"the class {node.id} may only be called here, to make an instance ({node.id}(...))")
        self._class_as_value(node, node.id)
        self._load_name(node)

    def _class_as_value(self, node: ast.Name | ast.Attribute, path: str) -> None:
        value = self.resolved(node)
        if id(node) not in self.class_ok and isinstance(value, types.ModuleType):
            self.problem(node, f"the module {path} may only start a name here (torch.exp), not be a value: "
                               "an alias's attributes are not checked")
        elif id(node) not in self.class_ok and isinstance(value, type) and _python_class(value):
            self.problem(node, f"the class {path} may only be called here (or be a base, an annotation, "
                               "isinstance's second argument), not handed on or asked for its methods")

    def _load_name(self, node: ast.Name) -> None:
        self._check_identifier(node, node.id)
        if isinstance(node.ctx, ast.Load) and self._resolve(node.id) is None:
            if node.id not in self.globals and node.id not in ALLOWED_BUILTINS:
                if hasattr(builtins, node.id):
                    self.problem(node, f"{node.id}() is not allowed here")
                else:
                    self.problem(node, f"the name {node.id} is not allowed here: use only the function's "
                                       "arguments, its own variables, and functions or modules the notebook defines")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "__init__" and self._is_super(node.value):
            self.visit(node.value)
            return
        if node.attr == "is_available" and isinstance(node.value, ast.Attribute) and node.value.attr == "cuda" \
                and self.resolved(node.value) is _import_value("torch", "cuda"):
            self.class_ok.add(id(node.value.value))
            self.visit(node.value.value)  # device boilerplate: torch.cuda.is_available() (False in the sandbox)
            return
        if node.attr == "format":
            if not _is_plain_template(node.value):
                self.problem(node, ".format is allowed on a literal string with plain fields only "
                                   "({}, {0}, {name:.3f})")
            return
        if self._allowed_attribute(node.attr):
            self._check_chain(node)  # refuses a method written in Python read from its class
            self._class_as_value(node, node.attr)
            self.class_ok.add(id(node.value))
        else:
            self.problem(node, f".{node.attr} is not allowed here")
        self.visit(node.value)

    def _check_chain(self, node: ast.Attribute) -> None:
        """Follow ``module.a.b`` on the real modules: no module outside the allowlist, no reflective function."""
        attrs: list[str] = []
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            attrs.append(root.attr)
            root = root.value
        if not isinstance(root, ast.Name) or root.id not in self.modules or self._resolve(root.id) is not None:
            return
        value = _import_value(*self.modules[root.id])
        path = root.id
        for attr in reversed(attrs):
            if value is _MISSING:
                return
            if isinstance(value, type) and isinstance(_static(value, attr), (types.FunctionType, staticmethod)):
                self.problem(node, f"{path}.{attr} is a method read from its class: call it on an instance")
                return
            value = getattr(value, attr, _MISSING)
            path += f".{attr}"
            if self._refused_value(node, path, value):
                return

    def _refused_value(self, node: ast.AST, path: str, value: object) -> bool:
        if isinstance(value, types.ModuleType) and value.__name__ not in self.allowed_modules:
            self.problem(node, f"{path} is the module {value.__name__}, which is not allowed here")
            return True
        if value is not _MISSING and _forbidden_value(value):
            self.problem(node, f"{path} is not allowed here")
            return True
        return False

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "super":
            if not self._is_super(node):
                self.problem(node, "super() takes no arguments here, or super(ThisClass, self)")
            elif node.args:
                self.visit(node.args[1])  # super(C, self): the class is named, not handed on
            return
        self.class_ok.add(id(func))  # a class called makes an instance, whose methods get it as self
        if isinstance(func, ast.Name) and func.id in ("isinstance", "issubclass") and len(node.args) == 2:
            kinds = node.args[1]
            self.class_ok.update(id(n) for n in ([kinds, *kinds.elts] if isinstance(kinds, ast.Tuple) else [kinds]))
        if isinstance(func, ast.Name) and func.id in self.class_names:
            self._load_name(func)  # Tool(...): an instance, whose methods get it as self
            for part in [*node.args, *node.keywords]:
                self.visit(part)
            return
        if (isinstance(func, ast.Attribute) and func.attr == "__init__" and not node.keywords and node.args
                and isinstance(node.args[0], ast.Name) and self._is_self(node.args[0].id)
                and self.resolved(func.value) is _import_value("torch.nn", "Module")):
            for arg in node.args:  # nn.Module.__init__(self): the older spelling of super().__init__()
                self.visit(arg)
            return
        self.generic_visit(node)

    def _is_super(self, node: ast.expr) -> bool:
        """``super()``, or ``super(C, self)`` in a method of the answer's class C."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
                and not node.keywords):
            return False
        if not node.args:
            return True
        return (len(node.args) == 2 and all(isinstance(a, ast.Name) for a in node.args)
                and node.args[0].id in self.classes and self._resolve(node.args[0].id) is None  # type: ignore[attr-defined]
                and self._is_self(node.args[1].id))  # type: ignore[attr-defined]

    def _allowed_attribute(self, name: str) -> bool:
        return ((not name.startswith(DENIED_PREFIXES) or name in ALLOWED_DESPITE_PREFIX)
                and name not in DENIED_ATTRIBUTES and name not in gadget_attributes())

    def _check_identifier(self, node: ast.AST, name: str) -> None:
        if name.startswith("__"):
            self.problem(node, f"the name {name} is not allowed here")


_MISSING = object()
_SIMPLE_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.BinOp, ast.Tuple, ast.List, ast.Set,
                 ast.Subscript, ast.Load, ast.unaryop, ast.operator, ast.Slice)


def is_simple_expression(node: ast.expr) -> bool:
    """Constants, names, attributes, subscripts and arithmetic of those: nothing that calls code."""
    return all(isinstance(n, _SIMPLE_NODES) for n in ast.walk(node))


def is_immutable_value(node: ast.expr) -> bool:
    """No list or set display: a value kept at the top level or as a default that no call can change."""
    return not any(isinstance(n, (ast.List, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp))
                   for n in ast.walk(node))


# The only packages the grader imports to look at what an answer names: importing a module runs it
# (``from this import s`` prints, ``from lib2to3 import __main__`` exits), on the grader's side.
IMPORTABLE_ROOTS = frozenset({"torch", "numpy", "math", "typing", "collections", "itertools", "functools",
                              "__future__", "time", "random", "course_utils", "matplotlib"})


def _importable(module: str) -> bool:
    parts = module.split(".")
    return parts[0] in IMPORTABLE_ROOTS and not any(p.startswith("_") for p in parts[1:])


def _import_value(module: str, attr: str = "") -> object:
    """The object ``from module import attr`` (or ``import module``) gives, imported here, on the grader's
    side; _MISSING for a module outside IMPORTABLE_ROOTS, which is never imported."""
    if not _importable(module):
        return _MISSING
    try:
        value: object = importlib.import_module(module)
    except (Exception, SystemExit):  # a module that does not import cannot be checked, nor import in the kernel
        return _MISSING
    if attr:
        value = getattr(value, attr, _MISSING)
        if value is _MISSING and _importable(f"{module}.{attr}"):
            try:
                value = importlib.import_module(f"{module}.{attr}")
            except (Exception, SystemExit):
                return _MISSING
    return value


# Attribute names that correct answers use and that some object also uses for a module outside
# the allowlist (W.grad, x.cpu(), model.modules(), loader.dataset, np.random, ...): allowed, but
# everything those modules hold is checked as the allowlist's own modules are.
EVERYDAY_ATTRIBUTES = frozenset({
    "grad", "cpu", "char", "modules", "functional", "utils", "linalg", "random", "dataset", "sampler", "data",
    "function", "normal", "parameter", "sparse", "nested", "masked", "fft", "special", "init", "optim", "nn",
    "distributions", "autograd", "lr_scheduler", "abc", "uniform", "bernoulli", "categorical", "multinomial",
    "poisson", "gamma", "beta", "exponential", "geometric", "laplace", "binomial", "dataloader", "polynomial",
    # the names of torch.nn's module files, which answers use for their own layers (self.linear, ...)
    "linear", "loss", "module", "container", "conv", "dropout", "flatten", "padding", "pooling", "normalization",
    "activation", "distance", "fold", "rnn", "transformer", "batchnorm", "instancenorm", "upsampling", "adaptive",
    "sparse", "lazy", "channelshuffle", "pixelshuffle",
})


# Modules the notebooks import for their own cells (answers may use what they bind, not import them).
NOTEBOOK_MODULES = ("matplotlib.pyplot", "course_utils.checks", "course_utils.data", "course_utils.plots",
                    "course_utils.training")


@lru_cache(maxsize=1)
def gadget_attributes() -> frozenset[str]:
    """Attribute names that lead, from anything an answer can reach, out of the allowlist.

    Walks the allowed modules (and the public classes they define), and the
    modules that everyday attribute names lead to, a few levels deep: the name
    of every attribute whose value is a module outside the allowlist, or a
    function that reaches the interpreter (``exec``, ``getattr``,
    ``update_wrapper``, ``attrgetter``, ``Unpickler``, ...), is refused
    wherever it appears, whatever object it is read from. So ``t = torch;
    t.serialization`` and ``[torch][0].serialization`` are refused as
    ``torch.serialization`` is.
    """
    denied: set[str] = set()
    seen: set[int] = set()
    frontier: list[tuple[object, int]] = []
    for name in [*ALLOWED_MODULES, *NOTEBOOK_MODULES]:
        module = _import_value(name)
        if module is not _MISSING:
            frontier.append((module, 0))
    while frontier:
        owner, depth = frontier.pop()
        if id(owner) in seen or depth > 3:
            continue
        seen.add(id(owner))
        holders = [owner]
        if isinstance(owner, types.ModuleType):
            holders += [v for k, v in list(vars(owner).items()) if isinstance(v, type) and not k.startswith("_")]
        for holder in holders:
            for name in dir(holder):
                if name.startswith("_"):
                    continue
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        value = getattr(holder, name)
                except Exception:
                    continue
                if isinstance(value, types.ModuleType):
                    if value.__name__ in ALLOWED_MODULES:
                        frontier.append((value, depth + 1))
                    elif name in EVERYDAY_ATTRIBUTES:
                        frontier.append((value, depth + 1))
                    else:
                        denied.add(name)
                elif callable(value) and _forbidden_value(value) and name not in EVERYDAY_ATTRIBUTES:
                    denied.add(name)
    return frozenset(denied)


def _assigned_names(node: ast.FunctionDef) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}


# Tensor methods that return a view of (or the same data as) the tensor they are called on: an item of
# x.view(-1) is an item of x, so assigning one writes only into the local x.
VIEW_METHODS = frozenset({"view", "view_as", "reshape", "flatten", "ravel", "squeeze", "unsqueeze", "t",
                          "transpose", "permute", "narrow", "select", "expand", "detach", "contiguous"})


def _root_name(node: ast.expr, through_views: bool = False) -> str | None:
    """The variable an attribute or item chain starts from (``x`` of ``x.a[0]``); with ``through_views``,
    also through calls of :data:`VIEW_METHODS` (``x`` of ``x.view(-1)[i]``)."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif (through_views and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in VIEW_METHODS):
            node = node.func.value
        else:
            break
    return node.id if isinstance(node, ast.Name) else None


def _is_plain_template(node: ast.expr) -> bool:
    """A literal format string whose fields name no attribute or item ("{0.x}", "{0[k]}")."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    try:
        fields = [f for _, f, spec, _ in string.Formatter().parse(node.value) if f is not None]
        specs = [spec for _, f, spec, _ in string.Formatter().parse(node.value) if spec]
    except ValueError:
        return False
    return not any("." in f or "[" in f for f in fields) and not any("{" in spec for spec in specs)


def _module_list() -> str:
    return ", ".join(sorted(m for m in ALLOWED_MODULES if m != "__future__"))


def _statement_kind(node: ast.stmt) -> str:
    return type(node).__name__.lower()


def screen(source: str, context: Context | Iterable[str] = ()) -> Screened:
    """The part of an answer cell that may run, or the reasons it may not.

    ``context`` says what the notebook around the answer defines and binds
    (:func:`notebook_context`); a plain set of names is the names alone.
    """
    if not isinstance(context, Context):
        context = Context(names=frozenset(context))
    if len(source) > MAX_SOURCE_CHARS:
        return Screened("", [f"the cell has {len(source)} characters (at most {MAX_SOURCE_CHARS})"])
    magic = next((line.strip() for line in source.splitlines() if line.lstrip().startswith(("%", "!"))), None)
    if magic is not None:
        return Screened("", [f"IPython magics and shell commands are not allowed in an answer: {magic[:60]}"])
    try:
        tree = parse(source)
    except SyntaxError as error:
        return Screened("", [f"not valid Python: {error.msg} (line {error.lineno})"])
    except (ValueError, RecursionError, MemoryError) as error:
        return Screened("", [f"the code could not be read: {type(error).__name__}"])
    try:
        return _screen(tree, context)
    except (RecursionError, MemoryError):
        return Screened("", ["the code is nested too deeply to check"])


def _screen(tree: ast.Module, context: Context) -> Screened:
    definitions: list[ast.stmt] = []
    assignments: list[ast.Assign | ast.AnnAssign] = []
    dropped: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            definitions.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
                isinstance(t, ast.Name) for t in (node.targets if isinstance(node, ast.Assign) else [node.target])):
            assignments.append(node)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            definitions.append(node)
        elif not isinstance(node, ast.Pass):
            dropped.append(f"line {node.lineno}: a top-level {_statement_kind(node)} statement (only definitions run)")
    kept_tree = ast.Module(body=definitions, type_ignores=[])
    names = set(context.names) | _definitions_in(definitions)
    names |= {t.id for n in assignments  # type: ignore[attr-defined]  # plain names: checked when collected
              for t in (n.targets if isinstance(n, ast.Assign) else [n.target])}
    triples, own_modules = _imports(kept_tree)
    modules = dict(context.modules) | own_modules
    module_names = {module if not attr else f"{module}.{attr}" for module, attr in modules.values()}
    rebound = {t.id for n in assignments  # type: ignore[attr-defined]
               for t in (n.targets if isinstance(n, ast.Assign) else [n.target])}
    rebound |= {n.name for n in definitions if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
    own_imports: dict[str, int] = {}
    for node in definitions:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for bound in _imports(ast.Module(body=[node], type_ignores=[]))[1]:
                own_imports[bound] = max(own_imports.get(bound, 0), node.lineno)
    classes = set(context.classes) | {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    checker = _Checker(names, modules, module_names, rebound, own_imports, classes)
    for node in definitions:
        checker.visit(node)
    # An answer may bind a name the notebook uses (a loss_fn like the demo's): the grading boundary keeps
    # the notebook's own binding for the tests (course_grading.boundary.answer), this one lives in the worker.
    kept = list(definitions)
    refused: list[str] = []
    for node in assignments:  # a constant such as EPS = 1e-7 is kept; anything the rules refuse is dropped
        alone = _Checker(names, modules, module_names, rebound, own_imports, classes)
        if node.value is not None and _is_partial(node.value, alone, node.lineno):
            alone.class_ok.update(id(n) for n in ast.walk(node.value.args[0]))  # type: ignore[attr-defined]
        alone.visit(node)
        if node.value is not None and not is_immutable_value(node.value):
            alone.problem(node, "a top-level value may not be a list or a set (use a tuple)")
        if node.value is not None and not is_simple_expression(node.value) \
                and not isinstance(node.value, ast.Lambda) \
                and not _builds_a_torch_module(node.value, alone, node.lineno) \
                and not _is_partial(node.value, alone, node.lineno):
            alone.problem(node, "a top-level value may only be a constant, a name, an attribute, a lambda, "
                                "functools.partial(...) or a torch.nn module such as nn.CrossEntropyLoss() "
                                "(no other calls)")
        if alone.problems:
            reason = alone.problems[0].split(": ", 1)[-1]
            refused.append(f"line {node.lineno}: a top-level assignment that is not allowed here ({reason})")
        else:
            kept.append(node)
    # A name left out must not be used by what runs: the answer would fail later with a NameError.
    left_out = {t.id for n in assignments if n not in kept  # type: ignore[attr-defined]
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target])}
    left_out -= {t.id for n in kept if isinstance(n, (ast.Assign, ast.AnnAssign))  # type: ignore[attr-defined]
                 for t in (n.targets if isinstance(n, ast.Assign) else [n.target])} | _definitions_in(definitions)
    for node in kept:
        for used in ast.walk(node):
            if isinstance(used, ast.Name) and isinstance(used.ctx, ast.Load) and used.id in left_out:
                checker.problem(used, f"{used.id} is used, but its top-level line was left out (see below)")
    if checker.problems:
        return Screened("", checker.problems, dropped + refused, refused)
    kept.sort(key=lambda n: n.lineno)
    return Screened(_unparse(kept), [], dropped + refused, refused)


def _static(owner: type, attr: str) -> object:
    try:
        return inspect.getattr_static(owner, attr)
    except AttributeError:
        return _MISSING


@lru_cache(maxsize=None)
def _python_class(value: type) -> bool:
    """A class with methods written in Python (C types such as numpy.float64 check their self)."""
    return any(isinstance(_static(value, name), (types.FunctionType, staticmethod)) for name in dir(value))


def _binds_the_same(module: str, name: str, alias: str, notebook: tuple[str, str] | None) -> bool:
    """Whether an answer's import binds its name to the very module the notebook's import binds it to
    (``import torch.nn as nn`` where the notebook has ``from torch import nn``)."""
    if notebook is None:
        return False
    mine = _import_value(module.split(".")[0]) if not (name or alias) else _import_value(module, name)
    return isinstance(mine, types.ModuleType) and mine is _import_value(*notebook)


def _builds_a_torch_module(value: ast.expr, checker: _Checker, line: int) -> bool:
    """``nn.CrossEntropyLoss()``, ``nn.Sigmoid()``: a torch.nn loss or activation made from constants and names
    (no layer with parameters, no container: nothing made to hold data from call to call)."""
    if not isinstance(value, ast.Call):
        return False
    made = checker.resolved(value.func, line)
    module = _import_value("torch.nn", "Module")
    return (isinstance(made, type) and isinstance(module, type) and issubclass(made, module)
            and made.__module__ in ("torch.nn.modules.loss", "torch.nn.modules.activation")
            and not _owns_parameters(made)
            and all(is_simple_expression(a) for a in [*value.args, *(k.value for k in value.keywords)]))


def _owns_parameters(made: type) -> bool:
    """A torch.nn class whose constructor makes parameters (``nn.PReLU``, ``nn.MultiheadAttention``): they
    could hold data from call to call. A class whose source cannot be read counts as one."""
    if made not in _OWNS_PARAMETERS:
        try:
            _OWNS_PARAMETERS[made] = "Parameter(" in inspect.getsource(made.__init__)  # type: ignore[misc]
        except (OSError, TypeError):
            _OWNS_PARAMETERS[made] = True
    return _OWNS_PARAMETERS[made]


_OWNS_PARAMETERS: dict[type, bool] = {}


def _is_partial(value: ast.expr, checker: _Checker, line: int) -> bool:
    """``functools.partial(torch.optim.SGD, momentum=0.9)``: a function with some arguments fixed, from
    names, attributes and constants."""
    if not isinstance(value, ast.Call) or not value.args:
        return False
    return (checker.resolved(value.func, line) is _import_value("functools", "partial")
            and all(is_simple_expression(a) for a in [*value.args, *(k.value for k in value.keywords)]))


def _unparse(nodes: list[ast.stmt]) -> str:
    return ast.unparse(ast.Module(body=nodes, type_ignores=[])) + "\n" if nodes else ""
