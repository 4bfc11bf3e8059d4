"""Flag code in a submission that a human should look at: a scan of the syntax tree.

The scan reads each code cell a student changed or added as Python's parser
does (IPython magics and shell escapes are flagged as such), so a name built
up at run time for ``getattr``, a base64 payload handed to ``exec``, a swapped
``__code__``, ``vars(...).update`` or a reach into IPython are found however
they are spelled. A flag is not a verdict: what runs is decided by the
allowlist (:mod:`course_grading.allowlist`); the scan says where to look.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_grading.allowlist import ALLOWED_MODULES, parse

DYNAMIC_CALLS = {
    "getattr": "reads an attribute by a computed name", "setattr": "sets an attribute by a computed name",
    "delattr": "deletes an attribute", "vars": "reaches a namespace (vars)", "globals": "reaches a namespace (globals)",
    "locals": "reaches a namespace (locals)", "eval": "runs code from a string (eval)",
    "exec": "runs code from a string (exec)", "compile": "compiles code from a string",
    "__import__": "imports by a computed name", "open": "opens a file", "breakpoint": "starts a debugger",
    "get_ipython": "uses IPython internals", "display": "sends rich output",
}
IPYTHON_NAMES = {"In", "Out", "_ih", "_oh", "_ii", "_iii", "_i", "exit", "quit"}
PAYLOAD_MODULES = {"base64", "codecs", "marshal", "pickle", "zlib", "binascii", "types"}
SYSTEM_MODULES = {"sys", "os", "subprocess", "threading", "multiprocessing", "ctypes", "signal", "socket", "shutil",
                  "inspect", "gc", "importlib", "builtins", "IPython", "ipykernel", "traceback", "atexit", "asyncio",
                  "urllib", "http", "requests", "pathlib", "tempfile", "glob", "io", "resource", "warnings"}
# Names an answer has no reason to define again: builtins and the checks the tests call. (The tests keep
# their own; course_grading.boundary binds none of these. A redefinition is worth a human look.)
CHECK_NAMES = frozenset({"check_close", "check_tensor", "check_avoids", "check_warning_free", "using_reference",
                         "report_pass"})
TEST_NAMES = frozenset(dir(__import__("builtins"))) | CHECK_NAMES
COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__index__",
               "__torch_function__", "__torch_dispatch__", "__array_ufunc__", "__hash__", "__len__"}


@dataclass(frozen=True)
class Flag:
    cell: int
    line: int
    category: str
    code: str

    def __str__(self) -> str:
        return f"cell {self.cell} line {self.line}: {self.category}: {self.code.strip()[:80]}"


def _module_root(name: str) -> str:
    return name.split(".")[0]


def flags_for_source(source: str, cell: int = 0) -> list[Flag]:
    """Flags for one cell's code."""
    lines = source.splitlines()
    flags: list[Flag] = []

    def add(line: int, category: str) -> None:
        flag = Flag(cell, line, category, lines[line - 1] if 0 < line <= len(lines) else "")
        if flag not in flags:
            flags.append(flag)

    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(("%", "!")):
            add(number, "IPython magic or shell command")
    parsed = "\n".join("pass  # " + line if line.lstrip().startswith(("%", "!")) else line for line in lines)
    try:
        tree = parse(parsed)
    except SyntaxError as error:
        add(error.lineno or 1, "not valid Python")
        return flags
    except (ValueError, RecursionError, MemoryError):
        add(1, "code the parser could not read")
        return flags
    modules: set[str] = set()
    for node in ast.walk(tree):
        lineno: int = getattr(node, "lineno", 1)
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules.add(alias.asname or _module_root(alias.name))
                if _module_root(alias.name) in PAYLOAD_MODULES:
                    add(lineno, f"imports {alias.name} (decodes or builds code)")
                elif alias.name not in ALLOWED_MODULES:
                    add(lineno, f"imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            modules.update(a.asname or a.name for a in node.names)
            if _module_root(module) in PAYLOAD_MODULES:
                add(lineno, f"imports from {module} (decodes or builds code)")
            elif node.level or module not in ALLOWED_MODULES:
                add(lineno, f"imports from {'.' * node.level}{module}")
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store) and node.id in CHECK_NAMES:
                add(lineno, f"binds {node.id} again (a check the tests use)")
            elif node.id in DYNAMIC_CALLS:
                add(lineno, DYNAMIC_CALLS[node.id])
            elif node.id in IPYTHON_NAMES:
                add(lineno, "uses IPython internals")
            elif node.id.startswith("__"):
                add(lineno, f"reaches interpreter internals ({node.id})")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and node.attr != "__init__":
                add(lineno, f"reaches interpreter internals (.{node.attr})")
            elif node.attr.startswith("_") and isinstance(node.value, ast.Name) and node.value.id != "self":
                add(lineno, f"uses a private attribute (.{node.attr})")
            elif node.attr in {"b64decode", "a85decode", "b32decode", "decompress", "loads", "FunctionType",
                               "CodeType", "settrace", "setprofile", "_getframe", "update"} and \
                    (node.attr != "update" or isinstance(node.value, ast.Call)):
                add(lineno, f"uses {node.attr}")
            if isinstance(node.ctx, ast.Store):
                root = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in modules | {"torch", "nn", "F", "np", "math", "builtins"}:
                    add(lineno, f"patches {root.id}.{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "NBGRADER_EXECUTION" in node.value:
            add(lineno, "reads NBGRADER_EXECUTION")
        elif isinstance(node, ast.FunctionDef) and node.name in COMPARISONS:
            add(lineno, f"defines {node.name} (comparisons that may always succeed)")
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in TEST_NAMES:
            add(lineno, f"defines {node.name} again (a builtin or a check the tests use)")
        elif isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value:
            add(lineno, "loops without a bound")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            add(lineno, "rebinds names outside the function")
        elif _large_constant(node):
            add(lineno, "allocates a lot of memory")
    return flags


def _large_constant(node: ast.AST, limit: int = 10**8) -> bool:
    """An integer literal, or a power of literals, of at least ``limit`` (e.g. 2**30)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value >= limit
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, exponent = node.left, node.right
        if isinstance(base, ast.Constant) and isinstance(exponent, ast.Constant) \
                and isinstance(base.value, int) and isinstance(exponent.value, int):
            return base.value >= 2 and 0 <= exponent.value and exponent.value * (base.value.bit_length() - 1) >= 27
    return False


def scan_notebook(submission: Path, release: Path | None = None) -> list[Flag]:
    """Flags for the code cells of ``submission`` that differ from every cell of ``release``."""
    nb = nbformat.read(submission, as_version=4)
    unchanged = set()
    if release is not None:
        unchanged = {c.source for c in nbformat.read(release, as_version=4).cells if c.cell_type == "code"}
    flags = []
    for index, cell in enumerate(nb.cells):
        source = cell.get("source", "")
        if cell.get("cell_type") != "code" or not isinstance(source, str) or source in unchanged:
            continue
        flags += flags_for_source(source, index)
    return flags
