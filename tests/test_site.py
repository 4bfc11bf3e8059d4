"""`make site`: the course as a static website, built offline from the student notebooks and the docs.

The site is built once into a temporary folder (Jupyter Book, installed on
first use into ``.cache/site-venv``), then read as a visitor's browser would:
every notebook has a page with its launch links, every link inside the site
resolves, and nothing of the solutions, the hidden tests or the answer keys is
anywhere in it.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from support.nbgrader_course import RELEASE, REPO, SOLUTIONS, assignments

pytestmark = pytest.mark.integration  # kernels, nbgrader, servers or installs: not in make test-fast

MARKERS = (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))
MIN_LINE = 16  # characters: shorter lines ("return x") also occur in text students see


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, str(REPO / "site" / "build.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    index = Path(done.stdout.strip().splitlines()[-1])
    assert index == out / "_build" / "html" / "index.html" and index.is_file(), "the last line is index.html's path"
    return index.parent


def _text(path: Path) -> str:
    """What a file of the site says: an HTML page's text without its tags, anything else as it is."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(re.sub(r"<[^>]+>", "", raw)) if path.suffix == ".html" else raw


def _secret_lines() -> set[str]:
    """Lines of the solutions, hidden tests and answer keys that students never see."""
    # What students see anyway: the student notebooks, the README and the docs (a line of an answer may be
    # quoted in the text that explains it).
    shown = "\n".join([cell.source for nb in RELEASE.glob("*/*.ipynb")
                       for cell in nbformat.read(nb, as_version=4).cells]
                      + [p.read_text() for p in [REPO / "README.md", *(REPO / "docs").glob("*.md")]])
    secret = set()
    for path in SOLUTIONS.glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if any(line.strip().startswith(begin) for begin, _ in MARKERS):
                    inside = True
                elif any(line.strip().startswith(end) for _, end in MARKERS):
                    inside = False
                elif inside or (cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")):
                    secret.add(line.strip())
    for key in (SOLUTIONS / "answer_keys").glob("*"):
        if key.is_file():
            secret |= {line.strip() for line in key.read_text(errors="replace").splitlines()}
    return {line for line in secret if len(line) >= MIN_LINE and line not in shown}


def test_every_notebook_has_a_page_with_its_launch_links(site):
    for assignment in assignments():
        page = site / "notebooks" / assignment / f"{assignment}.html"
        assert page.is_file(), f"no page for {assignment}"
        text = page.read_text(encoding="utf-8")
        path = f"notebooks/{assignment}/{assignment}.ipynb"
        assert "colab.research.google.com/github/" in text and path in text, f"{assignment}: no Colab launch link"
        assert "mybinder.org/v2/gh/" in text, f"{assignment}: no Binder launch link"


def test_no_solution_hidden_test_or_answer_key_line_is_anywhere_in_the_site(site):
    secret = _secret_lines()
    assert len(secret) > 200, "the solutions hold hundreds of lines students never see"
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js", ".txt", ".ipynb", ".md", ".json"):
            text = _text(path)
            leaked = [line for line in secret if line in text]
            assert not leaked, f"{path.relative_to(site)} shows {leaked[:3]}"


def test_every_link_inside_the_site_resolves(site):
    broken = []
    for page in site.rglob("*.html"):
        if page.is_relative_to(site / "_static"):
            continue  # the theme's templates, not pages
        for target in re.findall(r'(?:href|src)="([^"]+)"', page.read_text(encoding="utf-8")):
            url = urlparse(html.unescape(target))
            if url.scheme or url.netloc or not url.path:
                continue
            if not (page.parent / unquote(url.path)).exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert not broken, f"{len(broken)} broken link(s): {broken[:10]}"
