"""Feedback a student can read safely: text and images only, hidden tests removed.

:func:`feedback_html` turns an autograded notebook (the one rebuilt from the
source and executed) into a standalone HTML page with no script at all:

- Markdown and code come from the instructor's source and the student's own
  answers, and are escaped; test cells lose their hidden-test region;
- outputs are kept only for the answer cells and the visible test cells, and
  only as escaped text and validated PNG images (no HTML or JavaScript from
  any output); a hidden test cell shows only its score and the last line of
  its error (``AssertionError: ...``); other cells show no output;
- every graded cell shows its score;
- an output line that holds a line of the hidden tests as written (found
  nowhere else in the notebook) is replaced by a note; a line the student's
  code changed (encoded, reversed) is not recognised.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from typing import Any

import mistune
from nbformat.notebooknode import NotebookNode

from course_grading.cells import grade_id as cell_grade_id
from course_grading.cells import is_solution

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN " + "HIDDEN TESTS", "### END " + "HIDDEN TESTS"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 20_000
MAX_IMAGE_BYTES = 2 * 2**20
MAX_IMAGES = 20
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.cell { margin: 1rem 0; } .score { font-weight: bold; } .lost { color: #b00020; } .full { color: #1b5e20; }
.out { background: #fff; border-left: 3px solid #ccc; } .err { border-left: 3px solid #b00020; color: #b00020; }
img { max-width: 100%; }
"""
_markdown = mistune.create_markdown(escape=True)


def strip_hidden_tests(source: str) -> str:
    """The source with every hidden-test region removed (and a note where it was)."""
    lines, hidden, noted = [], False, False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            hidden = True
            if not noted:
                lines.append("# (hidden tests ran here)")
                noted = True
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


HIDDEN_LINE_NOTE = "[a line of the hidden tests was here]"


def hidden_test_lines(nb: NotebookNode, shortest: int = 12) -> frozenset[str]:
    """The lines of the notebook's hidden tests (stripped, at least ``shortest`` characters) that stand
    nowhere else in it: the code the feedback must never show."""
    hidden: set[str] = set()
    public: set[str] = set()
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        inside = False
        for line in ("".join(text) if isinstance(text, list) else str(text)).splitlines():
            if BEGIN_HIDDEN in line:
                inside = True
            elif END_HIDDEN in line:
                inside = False
            else:
                (hidden if inside else public).add(line.strip())
    return frozenset(line for line in hidden - public if len(line) >= shortest)


def _text(text: Any, secret: frozenset[str] = frozenset()) -> str:
    text = "".join(text) if isinstance(text, list) else str(text)
    if secret:  # before the cut, which could leave the start of a hidden line
        text = "\n".join(HIDDEN_LINE_NOTE if any(s in line for s in secret) else line for line in text.split("\n"))
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[... cut]"
    return html.escape(text)


def _png(data: Any) -> str | None:
    text = "".join(data) if isinstance(data, list) else str(data)
    if len(text) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(PNG_MAGIC):
        return None
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(raw).decode()}">'


def _error_line(output: NotebookNode, secret: frozenset[str]) -> str:
    return (f'<pre class="out err">{_text(output.get("ename", "Error"), secret)}: '
            f'{_text(output.get("evalue", ""), secret)}</pre>')


ANSWER_RAISED = "(raised by your answer)"  # how course_grading.boundary starts a student's exception's message
_CHECK_FAILURE = re.compile(r"^(?P<name>.{1,200}?): got .*, expected ")


def hidden_error_text(ename: str, evalue: str) -> str:
    """What a student sees of a hidden test's error: which check failed and its hint, never a value.

    A check helper's message ("NAME: got X, expected Y. / Looks like: ... / Hint: ...")
    keeps its name (the kind of input, as the test names it) and its hints; an
    exception the student's own code raised keeps only its type (its message
    could carry the hidden test's inputs); a test's own ``assert`` keeps its
    message, which the course writes without values (a test checks it).
    """
    lines = str(evalue).split("\n")
    hints = [line for line in lines[1:] if line.startswith("Hint:")]
    if lines[0].startswith(ANSWER_RAISED):
        return f"{ename}, raised by your code while a hidden test ran (its message is not shown)"
    found = _CHECK_FAILURE.match(lines[0])
    head = f"{found.group('name')}: not the expected result" if found else lines[0]
    return "\n".join([f"{ename}: {head}", *hints])


def _hidden_error_line(output: NotebookNode, secret: frozenset[str]) -> str:
    text = hidden_error_text(str(output.get("ename", "Error")), str(output.get("evalue", "")))
    return f'<pre class="out err">{_text(text, secret)}</pre>'


def _outputs(cell: NotebookNode, errors_only: bool, secret: frozenset[str]) -> list[str]:
    parts: list[str] = []
    images = 0
    for output in cell.get("outputs", [])[:100]:
        kind = output.get("output_type")
        if kind == "error":
            parts.append(_hidden_error_line(output, secret) if errors_only else _error_line(output, secret))
        elif errors_only:
            continue
        elif kind == "stream":
            css = "out err" if output.get("name") == "stderr" else "out"
            parts.append(f'<pre class="{css}">{_text(output.get("text", ""), secret)}</pre>')
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            image = _png(data["image/png"]) if "image/png" in data and images < MAX_IMAGES else None
            if image:
                images += 1
                parts.append(image)
            elif "text/plain" in data:
                parts.append(f'<pre class="out">{_text(data["text/plain"], secret)}</pre>')
    return parts


def feedback_html(nb: NotebookNode, scores: dict[str, float], points: dict[str, float], title: str) -> str:
    """A standalone page for one student: score, then each cell as described above."""
    total, top = sum(scores.values()), sum(points.values())
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="score">Score: {total:g} / {top:g}</p>']
    secret = hidden_test_lines(nb)
    for cell in nb.cells:
        grade_id = cell_grade_id(cell)
        text = cell.get("source", "")
        source = "".join(text) if isinstance(text, list) else str(text)
        parts = ['<div class="cell">']
        if cell.get("cell_type") == "markdown":
            parts.append(str(_markdown(source)))
        elif cell.get("cell_type") == "code":
            hidden = BEGIN_HIDDEN in source
            parts.append(f"<pre>{_text(strip_hidden_tests(source) if hidden else source)}</pre>")
            if grade_id in points:
                got = scores.get(grade_id, 0.0)
                css = "full" if got == points[grade_id] else "lost"
                parts.append(f'<p class="score {css}">{html.escape(grade_id)}: {got:g} / {points[grade_id]:g}</p>')
            if is_solution(cell) or grade_id in points:
                parts += _outputs(cell, errors_only=hidden, secret=secret)
        parts.append("</div>")
        body.append("\n".join(parts))
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
