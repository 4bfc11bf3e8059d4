"""Feedback a student can read safely: text and images only, hidden tests removed.

:func:`feedback_html` turns an autograded notebook (the one rebuilt from the
source and executed) into a standalone HTML page with no script at all:

- Markdown and code come from the instructor's source and the student's own
  answers, and are escaped; test cells lose their hidden-test region;
- outputs are kept only for the answer cells and the visible test cells, and
  only as escaped text and validated PNG images (no HTML or JavaScript from
  any output); a hidden test cell shows only its score and the last line of
  its error (``AssertionError: ...``); other cells show no output;
- Markdown math, ``$...$`` and ``$$...$$``, is cut out before the Markdown is
  rendered and shown as MathML (which browsers draw without script): the
  formula is converted by latex2mathml and its tree rebuilt here from an
  allowlist of MathML elements and attributes, with every text escaped; a
  formula that does not convert is shown as escaped text in ``<code>``;
- every graded cell shows its score;
- an output line that holds a line of the hidden tests as written (found
  nowhere else in the notebook) is replaced by a note; a line the student's
  code changed (encoded, reversed) is not recognised.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import functools
import html
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element

import mistune
import nbformat
from latex2mathml.converter import convert_to_element
from nbformat.notebooknode import NotebookNode

from course_grading.cells import grade_id as cell_grade_id
from course_grading.cells import is_solution
from course_grading.results import ReviewItem

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN " + "HIDDEN TESTS", "### END " + "HIDDEN TESTS"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 20_000
MAX_IMAGE_BYTES = 2 * 2**20
MAX_IMAGES = 20
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.cell { margin: 1rem 0; } .score { font-weight: bold; } .lost { color: #b00020; } .full { color: #1b5e20; }
.note { background: #fff8e1; border-left: 3px solid #f9a825; padding: .4rem .6rem; }
.out { background: #fff; border-left: 3px solid #ccc; } .err { border-left: 3px solid #b00020; color: #b00020; }
img { max-width: 100%; } code.math-error { color: #b00020; }
"""
_markdown = mistune.create_markdown(escape=True)


# --- math: $...$ and $$...$$ as MathML --------------------------------------------------------------

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
MATH_ERROR_CLASS = "math-error"  # the <code> of a formula that did not convert
MAX_FORMULA = 4000  # characters of LaTeX; a longer formula is shown as text
MAX_FORMULAS = 1000  # formulas of one cell converted; the rest are shown as text (the course's have < 50)
# Presentation MathML only: what latex2mathml writes, less what could link or load (href, src).
_MATHML_TAGS = frozenset({
    "math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt",
    "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "merror",
})
_MATHML_ATTRIBUTES = frozenset({
    "accent", "accentunder", "align", "columnalign", "columnlines", "columnspacing", "columnspan", "depth",
    "displaystyle", "equalcolumns", "equalrows", "fence", "form", "frame", "framespacing", "height",
    "largeop", "linebreak", "linethickness", "lspace", "mathbackground", "mathcolor", "mathsize",
    "mathvariant", "maxsize", "minsize", "movablelimits", "notation", "rowalign", "rowlines", "rowspacing",
    "rowspan", "rspace", "scriptlevel", "separator", "stretchy", "symmetric", "voffset", "width",
})
_SAFE_VALUE = re.compile(r"[\w .,%#+-]{0,80}")  # lengths, names, colours: no quote, bracket or colon
# The optional space after a row break, \\[2ex]: latex2mathml would print it; MathML spaces rows by itself.
_ROW_SPACE = re.compile(r"(\\\\)\s*\[\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*(?:ex|em|pt|mm|cm|in|bp|pc|dd|cc|sp|mu)\s*\]")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_BLANK_LINE = re.compile(r"\n[ \t]*(?:\n|$)")
_BACKTICKS = re.compile(r"`+")


class _NotMathML(ValueError):
    """The converter made an element that is not on the allowlist."""


def _mathml_text(text: str) -> str:
    # latex2mathml writes symbols as character references ("&#x003C3;") and leaves \text{...} as written:
    # read both as a browser would, then escape everything.
    return html.escape(html.unescape(text), quote=False)


def _mathml(element: Element, out: list[str]) -> None:
    tag = element.tag
    if not isinstance(tag, str) or tag not in _MATHML_TAGS or tag == "math":
        raise _NotMathML(str(tag))
    attributes = ""
    for name, value in sorted(element.attrib.items()):
        value = html.unescape(str(value))
        if name in _MATHML_ATTRIBUTES and _SAFE_VALUE.fullmatch(value):
            attributes += f' {name}="{html.escape(value)}"'
    out.append(f"<{tag}{attributes}>")
    if element.text:
        out.append(_mathml_text(element.text))
    for child in element:
        _mathml(child, out)
        if child.tail:
            out.append(_mathml_text(child.tail))
    out.append(f"</{tag}>")


@functools.lru_cache(maxsize=4096)  # every student's page has the instructor's formulas
def formula_html(latex: str, display: bool = False) -> str:
    """One formula as MathML (``<math display="block">`` for ``$$...$$``), or, if it does not convert,
    as escaped text in ``<code class="math-error">``. Never raises; never lets the formula write a tag,
    an attribute or a URL of its own."""
    delimiter = "$$" if display else "$"
    try:
        if len(latex) > MAX_FORMULA:
            raise ValueError("formula too long")
        root = convert_to_element(_ROW_SPACE.sub(r"\1", latex), display="block" if display else "inline")
        if root.tag != "math" or root.text or any(child.tail for child in root):
            raise _NotMathML(str(root.tag))
        out = [f'<math xmlns="{MATHML_NS}" display="{"block" if display else "inline"}">']
        for child in root:
            _mathml(child, out)
        out.append("</math>")
        return "".join(out)
    except Exception:  # any failure of the converter (it raises many kinds, RecursionError too)
        return f'<code class="{MATH_ERROR_CLASS}">{html.escape(delimiter + latex + delimiter)}</code>'


def _escaped(source: str, k: int) -> bool:
    """True if the character at ``k`` follows an odd number of backslashes."""
    before = k
    while before > 0 and source[before - 1] == "\\":
        before -= 1
    return (k - before) % 2 == 1


def _first(positions: list[int], start: int, end: int) -> int:
    """The first of the sorted ``positions`` in [start, end), or -1."""
    at = bisect.bisect_left(positions, start)
    return positions[at] if at < len(positions) and positions[at] < end else -1


def split_math(source: str) -> list[tuple[str, str]]:
    """Markdown cut into ``("text", markdown)``, ``("inline", latex)`` and ``("display", latex)`` pieces.

    The usual rule: ``$$...$$`` is display math; ``$...$`` is inline math when
    the opening ``$`` has no space just after it and the next ``$`` (the
    closing one) no space just before it and no digit just after it, so
    "costs $5 and $6" stays text. (Unlike pandoc, a ``$`` that cannot close
    does not let the formula run on to a later one: the opening ``$`` is then
    a dollar sign, and a slip such as ``$a = $`` spoils only itself.)
    ``\\$`` is a dollar sign. A formula does not cross a blank line; code
    spans and fenced code blocks hold no math. Linear in the length of the
    source (up to a logarithm), whatever it holds.
    """
    n = len(source)
    paragraph_ends = [m.start() for m in _BLANK_LINE.finditer(source)] + [n]
    dollars = [m.start() for m in re.finditer(r"\$", source) if not _escaped(source, m.start())]
    inline_closers = {k for k in dollars if not source[k - 1].isspace() and not source[k + 1:k + 2].isdigit()}
    display_closers = [k for k in dollars if source.startswith("$$", k)]
    backtick_runs: dict[int, list[int]] = {}
    for backticks in _BACKTICKS.finditer(source):
        backtick_runs.setdefault(len(backticks.group()), []).append(backticks.start())

    pieces: list[tuple[str, str]] = []
    text_start = i = 0
    while i < n:
        char = source[i]
        fence = _FENCE.match(source, i) if i == 0 or source[i - 1] == "\n" else None
        if fence:  # a fenced code block, to its closing fence (or the end of the cell)
            marker = fence.group(1)
            closing = re.compile(rf"\n {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*(?:\n|$)")
            found = closing.search(source, fence.end())
            i = found.end() if found else n
            continue
        if char == "\\":
            i += 2
            continue
        end = paragraph_ends[bisect.bisect_left(paragraph_ends, i)]
        if char == "`":  # a code span: to the next run of as many backticks, within the paragraph
            opening = _BACKTICKS.match(source, i)
            length = opening.end() - i if opening else 1
            close = _first(backtick_runs.get(length, []), i + length, end)
            i = close + length if close != -1 else i + length
            continue
        if char == "$":
            display = source.startswith("$$", i)
            opened = i + (2 if display else 1)
            if display or (opened < n and not source[opened].isspace() and source[opened] != "$"):
                close = _first(display_closers if display else dollars, opened, end)
                if close != -1 and (display or close in inline_closers) and source[opened:close].strip():
                    pieces.append(("text", source[text_start:i]))
                    pieces.append(("display" if display else "inline", source[opened:close]))
                    i = text_start = close + (2 if display else 1)
                    continue
            i = opened
            continue
        i += 1
    pieces.append(("text", source[text_start:]))
    return [(kind, text) for kind, text in pieces if text or kind != "text"]


_TAG = re.compile(r"(<[^>]*>)")


def markdown_html(source: str) -> str:
    """Markdown as escaped HTML (mistune), with its formulas as MathML (:func:`formula_html`).

    The formulas are cut out first, so that Markdown never sees their ``_``,
    ``*`` or ``\\,``; each is replaced by a random token that Markdown leaves
    alone, and the token, after rendering, by the formula's MathML. A token
    that ends inside a tag (a link's address, an image's alt text) or inside
    code gets the formula's escaped source instead.
    """
    nonce = secrets.token_hex(8)
    formulas: list[tuple[str, bool]] = []
    parts: list[str] = []
    for kind, text in split_math(source):
        if kind == "text":
            parts.append(text)
        else:
            parts.append(f"MATH{nonce}X{len(formulas)}X")
            formulas.append((text, kind == "display"))
    rendered = str(_markdown("".join(parts)))
    if not formulas:
        return rendered
    token = re.compile(rf"MATH{nonce}X(\d+)X")

    def source_text(found: re.Match[str]) -> str:
        latex, display = formulas[int(found.group(1))]
        delimiter = "$$" if display else "$"
        return html.escape(delimiter + latex + delimiter)

    def mathml(found: re.Match[str]) -> str:
        number = int(found.group(1))
        if number >= MAX_FORMULAS:
            return f'<code class="{MATH_ERROR_CLASS}">{source_text(found)}</code>'
        return formula_html(*formulas[number])

    out: list[str] = []
    in_code = 0
    for piece in _TAG.split(rendered):
        if piece.startswith("<"):
            name = re.match(r"</?(\w+)", piece)
            if name and name.group(1).lower() in ("code", "pre"):
                in_code = max(0, in_code + (-1 if piece.startswith("</") else 1))
            out.append(token.sub(source_text, piece))
        else:
            out.append(token.sub(source_text if in_code else mathml, piece))
    return "".join(out)


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


def _plain(text: Any, secret: frozenset[str] = frozenset()) -> str:
    """``text`` with every line of the hidden tests replaced by a note, cut to :data:`MAX_TEXT`."""
    text = "".join(text) if isinstance(text, list) else str(text)
    if secret:  # before the cut, which could leave the start of a hidden line
        text = "\n".join(HIDDEN_LINE_NOTE if any(s in line for s in secret) else line for line in text.split("\n"))
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "\n[... cut]"
    return text


def _text(text: Any, secret: frozenset[str] = frozenset()) -> str:
    """:func:`_plain`, escaped for HTML."""
    return html.escape(_plain(text, secret))


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


def safe_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy of an autograded notebook with the rules above applied, for nbgrader's own
    ``generate_feedback`` (:class:`course_grading.preprocessors.SafeFeedback`).

    Cells keep their metadata (nbgrader's scores are read from it); hidden-test
    regions are cut from the sources; outputs stay only on answer and graded
    cells, as text and PNG images, with every line of the hidden tests
    replaced; a hidden test cell keeps only its error, as
    :func:`hidden_error_text` gives it; an error's traceback becomes its one
    line (a traceback shows the test's source).
    """
    safe = copy.deepcopy(nb)
    secret = hidden_test_lines(nb)
    for cell in safe.cells:
        if cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        source = "".join(text) if isinstance(text, list) else str(text)
        hidden = BEGIN_HIDDEN in source
        if hidden:
            cell.source = strip_hidden_tests(source)
        shown = is_solution(cell) or bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))
        outputs = []
        for output in cell.get("outputs", [])[:100] if shown else []:
            kind = output.get("output_type")
            if kind == "error":
                if hidden:
                    line = hidden_error_text(str(output.get("ename", "Error")), str(output.get("evalue", "")))
                else:
                    line = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                line = _plain(line, secret)
                outputs.append(nbformat.v4.new_output("error", ename=str(output.get("ename", "Error"))[:100],
                                                      evalue=line, traceback=[line]))
            elif hidden:
                continue
            elif kind == "stream":
                outputs.append(nbformat.v4.new_output("stream", name="stdout" if output.get("name") != "stderr"
                                                      else "stderr", text=_plain(output.get("text", ""), secret)))
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "image/png" in data and _png(data["image/png"]):
                    outputs.append(nbformat.v4.new_output("display_data", data={"image/png": data["image/png"]}))
                elif "text/plain" in data:
                    outputs.append(nbformat.v4.new_output("display_data",
                                                          data={"text/plain": _plain(data["text/plain"], secret)}))
        cell.outputs = outputs
        cell.execution_count = None
    return safe


NOT_RUN_NOTE = ("The grader did not run this answer, so its tests count no points for now. Why: {reasons}. "
                "Your instructor will look at your answer and may change the mark.")
LEFT_OUT_NOTE = ("The grader ran this answer without these top-level lines: {reasons}. The rest of it was graded; "
                 "your instructor will look at these lines and may change the mark.")
PROVISIONAL_NOTE = ("This mark is provisional: the grader did not run part of your answers (see the notes below), "
                    "and your instructor will review them.")


def feedback_html(nb: NotebookNode, scores: dict[str, float], points: dict[str, float], title: str,
                  review: Sequence[ReviewItem] = (), answers: Mapping[str, str] | None = None) -> str:
    """A standalone page for one student: score, then each cell as described above.

    ``review``: the parts of the answers the grader did not run (with the
    reasons), each shown as a note on its answer cell; an answer that did not
    run at all is shown as the student wrote it (``answers``: {grade id:
    source}), not as the stub that ran in its place.
    """
    total, top = sum(scores.values()), sum(points.values())
    body = [f"<h1>{html.escape(title)}</h1>", f'<p class="score">Score: {total:g} / {top:g}</p>']
    if review:
        body.append(f'<p class="note">{html.escape(PROVISIONAL_NOTE)}</p>')
    not_run: dict[str, list[str]] = {}
    left_out: dict[str, list[str]] = {}
    for item in review:
        (not_run if item.verdict == "not run" else left_out).setdefault(item.grade_id, []).append(item.reason)
    secret = hidden_test_lines(nb)
    for cell in nb.cells:
        grade_id = cell_grade_id(cell)
        text = cell.get("source", "")
        source = "".join(text) if isinstance(text, list) else str(text)
        parts = ['<div class="cell">']
        if cell.get("cell_type") == "markdown":
            parts.append(markdown_html(source))
        elif cell.get("cell_type") == "code" and grade_id in not_run and is_solution(cell):
            parts.append(f"<pre>{_text((answers or {}).get(grade_id, ''))}</pre>")
            parts.append(f'<p class="note">{html.escape(NOT_RUN_NOTE.format(reasons="; ".join(not_run[grade_id])))}'
                         "</p>")
        elif cell.get("cell_type") == "code":
            hidden = BEGIN_HIDDEN in source
            parts.append(f"<pre>{_text(strip_hidden_tests(source) if hidden else source)}</pre>")
            if grade_id in left_out and is_solution(cell):
                reasons = "; ".join(left_out[grade_id])
                parts.append(f'<p class="note">{html.escape(LEFT_OUT_NOTE.format(reasons=reasons))}</p>')
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
