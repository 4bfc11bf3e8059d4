"""Flag code in a submission that a human should look at before trusting its score.

A static scan, line by line, of the code cells a student changed or added. A
flag is not a verdict: it says where to look and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

# (category, pattern): the first matching category names the line's flag.
RULES: list[tuple[str, re.Pattern[str]]] = [
    ("patches torch, builtins or course_utils", re.compile(
        r"\b(torch|nn|F|np|numpy|math|builtins|course_utils|checks|Tensor)(\.\w+)+\s*=[^=]"
        r"|\bsetattr\s*\(|__builtins__|\bimport\s+builtins|\bfrom\s+builtins\b|\bsys\.modules\b"
        r"|__dict__|__class__\s*=|\bglobals\s*\(\s*\)")),
    ("rebinds a check helper", re.compile(r"^\s*(check_close|check_tensor|check_warning_free)\s*=")),
    ("defines comparisons that may always succeed", re.compile(
        r"\bdef\s+(__eq__|__ne__|__le__|__ge__|__lt__|__gt__|__bool__|__torch_function__|__float__)\b")),
    ("reads NBGRADER_EXECUTION", re.compile(r"NBGRADER_EXECUTION")),
    ("uses IPython internals", re.compile(
        r"\bget_ipython\b|showtraceback|\b_ih\b|\bIn\s*\[|\b_oh\b|history_manager|\bevents\.(register|unregister)")),
    ("inspects the call stack", re.compile(r"\binspect\.|\bsys\._getframe|\bf_back\b|\bf_globals\b|\bf_locals\b")),
    ("ends or signals the process", re.compile(
        r"\bos\._exit\b|\bsys\.exit\b|\bos\.kill\b|\bos\.abort\b|\bsignal\.|\bsubprocess\b|\bos\.system\b"
        r"|\bos\.fork\b|\bmultiprocessing\b|\bthreading\b|\bctypes\b")),
    ("touches files", re.compile(
        r"""\bopen\s*\([^)]*['"][wax]\+?b?['"]|\.\.[/\\]|gradebook|\bshutil\.|\bos\.(remove|unlink|rename|replace)\b"""
        r"|rmtree|\.write_(text|bytes)\s*\(|\bos\.chdir\b")),
    ("uses the network", re.compile(r"\bsocket\b|\burllib\b|\brequests\.|\bhttp\.client\b")),
    ("redirects output", re.compile(r"\bsys\.(stdout|stderr|__stdout__|__stderr__)\b|\bos\.dup2?\b")),
    ("allocates a lot of memory", re.compile(r"\*\*\s*(3\d|[4-9]\d)\b|\b\d+e(9|1\d)\b|\bbytearray\s*\(")),
    ("loops without a bound", re.compile(r"^\s*while\s+(True|1)\s*:")),
]


@dataclass(frozen=True)
class Flag:
    cell: int
    line: int
    category: str
    code: str

    def __str__(self) -> str:
        return f"cell {self.cell} line {self.line}: {self.category}: {self.code.strip()[:80]}"


def scan_notebook(submission: Path, release: Path | None = None) -> list[Flag]:
    """Flags for the code cells of ``submission`` that differ from every cell of ``release``."""
    nb = nbformat.read(submission, as_version=4)
    unchanged = set()
    if release is not None:
        unchanged = {c.source for c in nbformat.read(release, as_version=4).cells if c.cell_type == "code"}
    flags = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.source in unchanged:
            continue
        for number, line in enumerate(cell.source.splitlines(), start=1):
            code = line.split("#", 1)[0] if "#" in line and not re.search(r"""['"].*#""", line) else line
            for category, pattern in RULES:
                if pattern.search(code):
                    flags.append(Flag(index, number, category, line))
                    break
    return flags
