"""The limits the grading kernel applies to itself before any student cell runs.

Student code runs with the grader's permissions, in the same process as the
tests (see the README's "Hardened grading"). The grading kernel narrows that:

- resource limits: memory (``RLIMIT_DATA``), CPU seconds, size of any file written;
- Linux Landlock: the kernel may read only the Python installation, system
  folders, ``course_utils``, the data folders and its own working folder, and
  write only to its working folder and a private temporary folder; it may not
  open TCP connections or listen (Landlock ABI 4 or newer);
- a cap on how much a cell can print;
- ``NBGRADER_EXECUTION`` is removed, so code cannot tell grading from a normal run;
- after every cell, names the tests rely on (builtins, torch functions and
  tensor methods, ``course_utils.checks``) are put back if a cell rebound
  them, and the rebinding is reported.

Each layer is applied where the platform allows it and reported otherwise.
"""

from __future__ import annotations

import builtins
import ctypes
import json
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

# Defaults, each overridable by an environment variable of the grader.
MEMORY_MB = int(os.environ.get("COURSE_GRADER_MEMORY_MB", "4096"))
CPU_SECONDS = int(os.environ.get("COURSE_GRADER_CPU_SECONDS", "900"))
FILE_MB = int(os.environ.get("COURSE_GRADER_FILE_MB", "64"))
OUTPUT_KB = int(os.environ.get("COURSE_GRADER_OUTPUT_KB", "512"))

# --- Landlock (linux/landlock.h) ------------------------------------------
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_REMOVE_DIR, _FS_REMOVE_FILE, _FS_MAKE_CHAR, _FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
_FS_MAKE_REG, _FS_MAKE_SOCK, _FS_MAKE_FIFO, _FS_MAKE_BLOCK, _FS_MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_FS_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_PR_SET_NO_NEW_PRIVS = 38


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _fs_write_rights(abi: int) -> int:
    rights = (_FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE_CHAR | _FS_MAKE_DIR | _FS_MAKE_REG
              | _FS_MAKE_SOCK | _FS_MAKE_FIFO | _FS_MAKE_BLOCK | _FS_MAKE_SYM)
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    return rights


def landlock(read: list[Path], write: list[Path]) -> str:
    """Restrict this thread (where IPython runs cells) and its future children.

    Returns a short description of what was applied, or why nothing was.
    """
    if not sys.platform.startswith("linux"):
        return "landlock: not Linux, filesystem and network not restricted"
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(_SYS_CREATE_RULESET, None, 0, 1)
    if abi < 1:
        return "landlock: not available in this kernel, filesystem and network not restricted"
    write_rights = _fs_write_rights(abi)
    attr = _RulesetAttr(_FS_READ | write_rights, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 4 else ctypes.sizeof(ctypes.c_uint64)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return f"landlock: ruleset refused ({os.strerror(ctypes.get_errno())})"
    try:
        for paths, rights in ((read, _FS_READ), (write, _FS_READ | write_rights)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights if path.is_dir() else rights & (_FS_EXECUTE | _FS_READ_FILE | _FS_WRITE_FILE
                                                                     | (_FS_TRUNCATE if abi >= 3 else 0))
                    rule = _PathBeneathAttr(allowed, fd)
                    libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
                finally:
                    os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "landlock: no_new_privs refused, not applied"
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            return f"landlock: restrict_self refused ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"landlock ABI {abi}: filesystem restricted" + (", TCP bind/connect denied" if abi >= 4 else "")


def resource_limits() -> str:
    """Memory, CPU time and file size limits for this process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing the kernel
    applied = []
    for name, limit, value in (("memory", resource.RLIMIT_DATA, MEMORY_MB * 2**20),
                               ("cpu", resource.RLIMIT_CPU, CPU_SECONDS),
                               ("file size", resource.RLIMIT_FSIZE, FILE_MB * 2**20)):
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, hard))
        applied.append(f"{name}={value}")
    return "rlimits: " + ", ".join(applied)


class CappedStream:
    """Wraps a text stream; after ``limit`` characters in one cell, further writes are dropped."""

    def __init__(self, stream: TextIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self.new_cell()

    def new_cell(self, info: Any = None) -> None:
        self._left = self._limit
        self._noted = False

    def write(self, text: str) -> int:
        if self._left > 0:
            self._stream.write(text[: self._left])
            self._left -= len(text)
        elif not self._noted:
            self._noted = True
            self._stream.write("\n[output truncated by the grading kernel]\n")
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


_BUILTINS = ("abs", "all", "any", "bool", "callable", "dict", "enumerate", "filter", "float", "getattr", "hasattr",
             "id", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object",
             "open", "print", "range", "repr", "round", "set", "setattr", "sorted", "str", "sum", "super", "tuple",
             "type", "zip", "AssertionError", "Exception", "TypeError", "ValueError")
_MISSING = object()


def _protected() -> list[tuple[Any, str]]:
    """(owner, attribute) pairs the tests rely on and that student code must not rebind."""
    import torch
    import torch.nn.functional as F

    import course_utils.checks as checks

    pairs: list[tuple[Any, str]] = [(builtins, name) for name in _BUILTINS]
    pairs += [(torch, name) for name in ("allclose", "isclose", "equal", "all", "any", "isfinite", "tensor",
                                         "as_tensor", "exp", "log", "sigmoid", "softmax", "log_softmax",
                                         "zeros", "ones", "randn", "rand", "randperm", "manual_seed",
                                         "Generator", "no_grad", "where", "argmax", "stack", "cat", "eye",
                                         "linspace", "arange", "Tensor")]
    pairs += [(torch.testing, "assert_close")]
    pairs += [(F, name) for name in ("cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                     "softmax", "log_softmax", "logsigmoid", "softplus", "nll_loss")]
    for tensor_type in (torch.Tensor, torch._C.TensorBase):
        pairs += [(tensor_type, name) for name in (
            "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__sub__",
            "__abs__", "abs", "all", "any", "item", "tolist", "float", "double", "detach", "to", "sum", "mean",
            "max", "min", "eq", "allclose", "equal", "backward", "clone", "numel", "dim", "size", "shape",
            "is_floating_point", "__torch_function__")]
    pairs += [(checks, name) for name in checks.__all__]
    return pairs


def watch_rebinding(shell: Any, report: Callable[[str], None]) -> None:
    """After every cell, restore protected names a cell rebound, and report each one.

    Each name is compared in its owner's own ``__dict__``, so an attribute a
    class inherits is "unchanged" as long as nobody sets it on that class.
    """
    snapshot = [(owner, name, vars(owner).get(name, _MISSING)) for owner, name in _protected()]
    user_ns = shell.user_ns
    helper_names = ("check_close", "check_tensor", "check_warning_free")
    helpers: dict[str, Any] = {}

    def restore(result: Any = None) -> None:
        for owner, name, original in snapshot:
            if vars(owner).get(name, _MISSING) is original:
                continue
            try:
                if original is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            except (AttributeError, TypeError):
                pass
            report(f"rebound {getattr(owner, '__name__', owner)}.{name}")
        for name in helper_names:
            if name not in helpers:
                if name in user_ns:
                    helpers[name] = user_ns[name]
            elif user_ns.get(name) is not helpers[name]:
                user_ns[name] = helpers[name]
                report(f"rebound the notebook name {name}")

    shell.events.register("post_run_cell", restore)


def report_to(path: str | None) -> Callable[[str], None]:
    """A function that appends one JSON line per event to ``path`` (opened now, before Landlock)."""
    if not path:
        return lambda message: None
    stream = open(path, "a", buffering=1)  # noqa: SIM115 - kept open for the kernel's lifetime

    def report(message: str) -> None:
        stream.write(json.dumps({"event": message}) + "\n")

    return report


_real_exit = os._exit


def _refuse_exit(status: int = 0) -> None:
    """os._exit for the grading kernel: refused where cells run, kept for the kernel's own threads."""
    if threading.current_thread() is threading.main_thread():
        raise SystemExit(f"os._exit({status}) is disabled in the grading kernel")
    _real_exit(status)


def enter(shell: Any) -> list[str]:
    """Apply every layer to the running kernel; return what was applied."""
    os.environ.pop("NBGRADER_EXECUTION", None)
    report = report_to(os.environ.pop("COURSE_GRADER_REPORT", None))
    os._exit = _refuse_exit  # a cell that calls it fails; the kernel and the later cells carry on

    # Import what the notebooks use before the filesystem closes.
    import matplotlib
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    import course_utils.checks  # noqa: F401
    import course_utils.data as data
    import course_utils.plots  # noqa: F401

    # Cells run in a private folder below the one nbgrader chose: the notebook
    # nbgrader writes there (hidden tests included) stays out of reach.
    work = Path.cwd() / "sandbox"
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    os.environ["TMPDIR"] = str(tmp)
    import tempfile

    tempfile.tempdir = str(tmp)

    python_dirs = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    python_dirs |= {Path(p).resolve() for p in sys.path if p and Path(p).is_dir() and Path(p).resolve() != work.parent}
    read = sorted(python_dirs) + [Path(p) for p in ("/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", "/sys",
                                                    "/opt", "/dev")]
    read += [Path(course_utils.checks.__file__).resolve().parent, data._REPO_DATA_DIR, data.data_dir(),
             Path(matplotlib.get_cachedir()), Path(matplotlib.get_configdir())]
    write = [work, Path("/dev/null"), Path("/dev/shm")]
    applied = [resource_limits()]
    applied.append(landlock([p for p in read if p.exists()], write))

    limit = OUTPUT_KB * 1024
    sys.stdout = out = CappedStream(sys.stdout, limit)
    sys.stderr = err = CappedStream(sys.stderr, limit)
    shell.events.register("pre_run_cell", out.new_cell)
    shell.events.register("pre_run_cell", err.new_cell)
    watch_rebinding(shell, report)
    applied.append(f"output cap {OUTPUT_KB} KB per stream and cell; rebinding watched")
    for line in applied:
        report(line)
    return applied
