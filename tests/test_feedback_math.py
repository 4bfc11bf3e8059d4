"""The feedback page's math: Markdown's $...$ and $$...$$ as MathML, drawn without script, and safe.

course_grading.feedback cuts the formulas out before Markdown sees them,
converts each with latex2mathml and rebuilds the MathML from an allowlist;
these tests render the course's own notebooks and hostile formulas.
"""

from __future__ import annotations

import html
import random
import re
import time
from html.parser import HTMLParser

import nbformat
import pytest

from course_grading.feedback import (
    _MATHML_TAGS,
    MATH_ERROR_CLASS,
    feedback_html,
    formula_html,
    markdown_html,
    split_math,
)
from course_utils.layout import SOLUTIONS, assignments

HTML_TAGS = {"html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "h3", "h4", "p", "pre", "code",
             "em", "strong", "ul", "ol", "li", "a", "img", "blockquote", "hr", "br"}
# Slips in the notebooks' Markdown that the usual $ rule leaves as text (JupyterLab's MathJax pairs any two $):
# none is allowed; a new one is fixed in the notebook ("$0 \cdot (-\infty) =$", not "$0 \cdot (-\infty) = $").
KNOWN_STRAY_DOLLARS: dict[str, list[str]] = {}


def _notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)


def _markdown_sources(assignment: str) -> list[str]:
    return [cell.source for cell in _notebook(assignment).cells if cell.cell_type == "markdown"]


FALLBACK = f'<code class="{MATH_ERROR_CLASS}">'


def _tags(page: str) -> set[str]:
    return {name.lower() for name in re.findall(r"</?([A-Za-z][\w-]*)", page)}


class _Elements(HTMLParser):
    """Every start tag of a page, with its attributes, as a browser's parser reads them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


# One formula of each notebook, as written there, and pieces of the MathML it must become.
ONE_FORMULA = {
    "00_tensors_autograd": (
        r"$(r \times k)\,(k \times c)$",
        ['<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">',
         "<mi>r</mi><mo>×</mo><mi>k</mi><mo stretchy=\"false\">)</mo>"
         '<mspace width="0.167em"></mspace><mo stretchy="false">(</mo><mi>k</mi><mo>×</mo><mi>c</mi>']),
    "01_sigmoid_bce": (
        r"$$\sigma(z) = \begin{cases} \dfrac{1}{1+e} & z \ge 0,\\[2ex] \dfrac{e}{1+e} & z < 0. \end{cases}$$",
        ['<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mrow><mi>σ</mi>',
         '<mo fence="true" form="prefix" stretchy="true">{</mo><mtable><mtr><mtd columnalign="left">',
         "<mfrac><mrow><mn>1</mn></mrow><mrow><mn>1</mn><mo>+</mo><mi>e</mi></mrow></mfrac>",
         "<mi>z</mi><mo>≥</mo><mn>0</mn><mo>,</mo></mtd></mtr><mtr>",  # \\[2ex] is a row break, no "[2ex]"
         "<mi>z</mi><mo>&lt;</mo><mn>0</mn><mo>.</mo></mtd></mtr></mtable>"]),
    "02_gradient_descent": (
        r"$$w \leftarrow w - \eta\,\nabla_w L, \qquad b \leftarrow b - \eta\,\frac{\partial L}{\partial b},$$",
        ['display="block"',
         '<mi>w</mi><mo>←</mo><mi>w</mi><mo>−</mo><mi>η</mi><mspace width="0.167em"></mspace>'
         "<msub><mo>∇</mo><mi>w</mi></msub><mi>L</mi>",
         "<mfrac><mrow><mo>∂</mo><mi>L</mi></mrow><mrow><mo>∂</mo><mi>b</mi></mrow></mfrac>"]),
    "03_nn_module": (
        r"$\ell = -[\,y\log\sigma(z) + (1-y)\log(1-\sigma(z))\,]$",
        ['display="inline"',
         '<mi>ℓ</mi><mo>=</mo><mo>−</mo><mo stretchy="false">[</mo><mspace width="0.167em"></mspace><mi>y</mi>'
         "<mi>log</mi><mi>σ</mi>",
         '<mspace width="0.167em"></mspace><mo stretchy="false">]</mo>']),
    "04_softmax_fashion_mnist": (
        r"$$\operatorname{softmax}(z)_j = \frac{e^{z_j}}{\sum_{l=1}^{k} e^{z_l}}, \qquad j = 1, \dots, k.$$",
        ['display="block"', "<mo>softmax</mo>",
         "<mfrac><mrow><msup><mi>e</mi><mrow><msub><mi>z</mi><mi>j</mi></msub></mrow></msup></mrow>"
         "<mrow><msubsup><mo>∑</mo><mrow><mi>l</mi><mo>=</mo><mn>1</mn></mrow><mrow><mi>k</mi></mrow></msubsup>",
         '<mspace width="2em"></mspace><mi>j</mi>', "<mo>…</mo>"]),
}


def test_every_notebook_has_a_formula_checked_here():
    assert sorted(ONE_FORMULA) == assignments()


@pytest.mark.parametrize("notebook_id", sorted(ONE_FORMULA))
def test_a_formula_of_each_notebook_is_mathml_in_its_feedback_page(notebook_id):
    written, pieces = ONE_FORMULA[notebook_id]
    assert any(written in source for source in _markdown_sources(notebook_id)), "the notebook still has it"
    page = feedback_html(_notebook(notebook_id), {}, {}, notebook_id)
    for piece in pieces:
        assert piece in page, piece
    latex = written.strip("$")
    assert latex not in page and html.escape(latex, quote=False) not in page, "no raw LaTeX left"
    markdown = re.sub(r"<pre[\s\S]*?</pre>", "", page)  # the code cells
    assert "\\," not in markdown and "\\begin" not in markdown, "every formula of the notebook is MathML"
    assert "<script" not in page.lower() and FALLBACK not in page


def test_every_formula_of_the_solution_notebooks_converts():
    count = 0
    for assignment in assignments():
        stray = []
        for source in _markdown_sources(assignment):
            for kind, text in split_math(source):
                if kind == "text":
                    outside_code = re.sub(r"(`+)[\s\S]*?\1", "", text)
                    stray += re.findall(r"(?<!\\)\$[^$\n]*\$?", outside_code)
                    continue
                count += 1
                mathml = formula_html(text, display=kind == "display")
                where = f"{assignment}: {kind} {text!r}"
                assert mathml.startswith("<math ") and FALLBACK not in mathml, where
                assert "\\" not in mathml, f"{where}: a command latex2mathml does not know is printed as text"
                assert not re.search(r"<mn>[^<]*[A-Za-z]", mathml), f"{where}: a length printed as a number"
                assert _tags(mathml) <= _MATHML_TAGS, where
        for slip in stray:
            assert any(slip.startswith(known) for known in KNOWN_STRAY_DOLLARS.get(assignment, [])), \
                f"{assignment}: a $ that the usual rule does not pair, shown as written: {slip!r}"
    assert count > 400, "the course's notebooks hold hundreds of formulas"


@pytest.mark.parametrize("text", [
    "costs $5 and $6",
    "a $20,000 and $30,000 budget",
    "from $5 to $10 each",
    "pay $ 5 now",
    "the $ sign, and US$",  # a space just after the opening $: not math
    r"an escaped \$x\$ pair",
])
def test_dollar_signs_that_are_not_math_stay_text(text):
    assert split_math(text) == [("text", text)]
    rendered = markdown_html(text)
    assert "<math" not in rendered and FALLBACK not in rendered
    assert text.replace("\\$", "$") in rendered


def test_the_dollar_rule_next_to_math():
    assert split_math("$x$ costs $5") == [("inline", "x"), ("text", " costs $5")]
    assert split_math("$5 or $x$") == [("text", "$5 or "), ("inline", "x")]
    assert split_math("$a$ and $$b$$") == [("inline", "a"), ("text", " and "), ("display", "b")]
    assert split_math("$a = $ b and $c$") == [("text", "$a = $ b and "), ("inline", "c")], \
        "a $ that cannot close does not stretch the formula to a later one"
    assert split_math("$x$1") == [("text", "$x$1")]
    assert split_math("$a\n\nb$") == [("text", "$a\n\nb$")], "no formula across a blank line"
    assert split_math("$$\n x^2\n$$") == [("display", "\n x^2\n")]
    assert split_math("`$x$` and\n```\n$y$\n```\n$z$") == [("text", "`$x$` and\n```\n$y$\n```\n"), ("inline", "z")]


def test_math_is_cut_out_before_markdown():
    rendered = markdown_html(r"A *word*, $a_1 * b_2 * c_3$ and $x\,y$, then _e_.")
    assert "<em>word</em>" in rendered and "<em>e</em>" in rendered
    assert rendered.count("<em>") == 2, "the formula's _ and * are not emphasis"
    assert "<msub><mi>a</mi><mn>1</mn></msub><mo>*</mo>" in rendered
    assert '<mi>x</mi><mspace width="0.167em"></mspace><mi>y</mi>' in rendered


def test_a_formula_in_code_or_in_a_link_is_text():
    rendered = markdown_html("    indented $x$ code\n\n[a link](http://example.org/$y$) ![alt $z$](i.png)")
    assert "<code>indented $x$ code</code>" in rendered
    assert 'href="http://example.org/$y$"' in rendered and 'alt="alt $z$"' in rendered
    assert "<math" not in rendered


def test_a_formula_that_does_not_convert_is_escaped_text_in_code():
    rendered = markdown_html(r"Broken: $\frac{<b>}{$ and fine: $x$.")
    assert f"{FALLBACK}$\\frac{{&lt;b&gt;}}{{$</code>" in rendered
    assert "<b>" not in rendered and "<mi>x</mi>" in rendered
    assert formula_html("x" * 5000).startswith(FALLBACK), "an overlong formula is not converted"
    many = markdown_html(" ".join(f"$x_{{{i}}}$" for i in range(1200)))
    assert many.count("<math ") == 1000 and many.count(FALLBACK) == 200, "a cell converts at most 1000 formulas"


HOSTILE = [
    r"$</math><script>alert(1)</script>$",
    r"$\href{javascript:alert(1)}{x}$",
    r'$\color{red" onclick="alert(2)}{x}$',
    r"$\style{background:url(javascript:alert(3))}{x}$",
    r"$\text{<img src=x onerror=alert(4)>}$",
    r"$\text{&lt;script&gt;alert(5)&lt;/script&gt;}$",
    r"$$\mathrm{<svg onload=alert(6)>}$$",
    r"$\frac{<script>alert(7)</script>}{$",
    r"$\unicode{<script>}$",
]


def test_hostile_formulas_cannot_write_a_tag_an_attribute_or_a_url():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("\n\n".join(HOSTILE))]
    page = feedback_html(nb, {}, {}, "t")
    lowered = page.lower()
    assert "<script" not in lowered and "javascript" not in lowered
    elements = _Elements(page).found
    assert {tag for tag, _ in elements} <= HTML_TAGS | _MATHML_TAGS
    for tag, attributes in elements:
        if tag in _MATHML_TAGS:
            assert set(attributes) <= {"xmlns", "display", "mathvariant", "stretchy"}, (tag, attributes)
        else:
            assert not {name for name in attributes if name.startswith("on") or name in ("href", "src", "style")}
    assert page.count("<math ") + page.count(FALLBACK) == len(HOSTILE)
    assert "&lt;img\xa0src=x\xa0onerror=alert(4)&gt;</mtext>" in page, "\\text{...} is shown as text (no-break spaces)"
    assert f"{FALLBACK}$\\frac{{&lt;script&gt;alert(7)&lt;/script&gt;}}{{$</code>" in page


def test_formula_html_never_raises_and_writes_only_mathml():
    rng = random.Random(0)
    alphabet = list("{}[]()^_&$\\<>\"'=:;/ xyz019") + ["\\frac", "\\begin{cases}", "\\end{cases}", "\\\\",
                                                       "\\text{", "\\href{", "\\left", "\\right", "\\sqrt["]
    for _ in range(300):
        latex = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25)))
        out = formula_html(latex, display=rng.random() < 0.5)
        assert out.startswith(("<math ", FALLBACK)), latex
        assert _tags(out) <= _MATHML_TAGS | {"code"}, latex
        attributes = re.findall(r'\s([\w-]+)="', out)
        assert not {a for a in attributes if a.startswith("on") or a in ("href", "src", "style")}, latex


def test_cutting_out_math_takes_linear_time_on_hostile_markdown():
    start = time.perf_counter()
    for text in ("$a " * 100_000, "``a`" * 50_000, "$$a " * 50_000, "\\$" * 100_000):
        split_math(text)
    assert time.perf_counter() - start < 10
