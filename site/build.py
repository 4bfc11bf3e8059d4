"""Build the course's website: the student notebooks and the docs, as a static site (Jupyter Book).

    python site/build.py [--out DIR]        (or: make site)

Only the standard library is needed to start: Jupyter Book 1 (which builds
without network) is installed once into ``.cache/site-venv``. The book's
source is assembled in ``DIR/source`` from ``README.md`` (the home page),
``docs/*.md`` and the student notebooks in ``notebooks/`` (never
``solutions/``), laid out as in the repository so that each notebook's launch
buttons (Colab, Binder, a JupyterHub given by ``COURSE_SITE_HUB``) open the
same file of the public repository. A link to a file the site does not hold
becomes a link to it on GitHub. The notebooks are not executed. The last
line printed is the path of the built ``index.html``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOL_VENV = REPO / ".cache" / "site-venv"
JUPYTER_BOOK = "jupyter-book>=1.0,<2"
TITLE = "Logistic and softmax regression with PyTorch"
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/([^/\s]+/[^/\s]+)/blob/([^/\s]+)/")
LINK = re.compile(r"(\]\(|^\[[^\]]+\]:\s*)([^)\s]+)", re.M)  # inline links and reference definitions


def repository() -> tuple[str, str]:
    """The public student repository and branch, as the README's Open in Colab links name them."""
    found = COLAB_LINK.search((REPO / "README.md").read_text(encoding="utf-8"))
    if found is None:
        raise SystemExit("site: README.md has no Open in Colab link to take the public repository from")
    return found.group(1), found.group(2)


def notebooks() -> list[Path]:
    """The student notebooks, relative to the repository: notebooks/<id>/<id>.ipynb."""
    return sorted(p.relative_to(REPO) for p in REPO.glob("notebooks/[0-9][0-9]_*/[0-9][0-9]_*.ipynb"))


def docs() -> list[Path]:
    return sorted(p.relative_to(REPO) for p in (REPO / "docs").glob("*.md")) if (REPO / "docs").is_dir() else []


def rewrite_links(text: str, page: Path, pages: set[Path], repo: str, branch: str) -> str:
    """Relative links to pages the site holds stay (README.md is index.md); any other becomes a GitHub link."""
    def fix(match: re.Match[str]) -> str:
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target, re.I):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = Path(os.path.normpath(page.parent / path))
        if resolved == Path("README.md"):
            resolved = Path("index.md")
        if resolved in pages:
            link = os.path.relpath(resolved, page.parent) + (f"#{anchor}" if anchor else "")
        else:
            link = f"https://github.com/{repo}/blob/{branch}/{resolved.as_posix()}" + (f"#{anchor}" if anchor else "")
        return match.group(1) + link
    return LINK.sub(fix, text)


def assemble(source: Path) -> None:
    """The book's source: index.md (the README), docs/, notebooks/, _config.yml and _toc.yml."""
    repo, branch = repository()
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    pages = {Path("index.md"), *docs(), *notebooks()}
    for page, origin in [(Path("index.md"), Path("README.md")), *((d, d) for d in docs())]:
        (source / page).parent.mkdir(parents=True, exist_ok=True)
        text = (REPO / origin).read_text(encoding="utf-8")
        (source / page).write_text(rewrite_links(text, page, pages, repo, branch), encoding="utf-8")
    for notebook in notebooks():
        (source / notebook).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / notebook, source / notebook)
    hub = os.environ.get("COURSE_SITE_HUB", "")
    config = {
        "title": TITLE,
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "repository": {"url": f"https://github.com/{repo}", "path_to_book": "", "branch": branch},
        "launch_buttons": {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org",
                           "colab_url": "https://colab.research.google.com", "jupyterhub_url": hub},
        "html": {"use_repository_button": True},
        "sphinx": {"config": {"html_show_copyright": False, "suppress_warnings": ["myst.header"]}},
    }
    toc = {"format": "jb-book", "root": "index",
           "parts": [{"caption": "The notebooks", "chapters": [{"file": n.with_suffix("").as_posix()}
                                                              for n in notebooks()]}]}
    if docs():
        toc["parts"].append({"caption": "Guides", "chapters": [{"file": d.with_suffix("").as_posix()}
                                                             for d in docs()]})
    # JSON is YAML: no YAML library is needed here.
    (source / "_config.yml").write_text(json.dumps(config, indent=1) + "\n")
    (source / "_toc.yml").write_text(json.dumps(toc, indent=1) + "\n")


def tool() -> Path:
    """The jupyter-book command of the site's own environment, installed on first use."""
    bin_dir = TOOL_VENV / ("Scripts" if os.name == "nt" else "bin")
    command = bin_dir / ("jupyter-book.exe" if os.name == "nt" else "jupyter-book")
    stamp = TOOL_VENV / ".installed"
    if command.is_file() and stamp.is_file() and stamp.read_text() == JUPYTER_BOOK:
        return command
    print(f"installing {JUPYTER_BOOK} into {TOOL_VENV} (once)", flush=True)
    venv.create(TOOL_VENV, clear=TOOL_VENV.exists(), with_pip=True)
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", JUPYTER_BOOK])
    if done.returncode != 0:
        raise SystemExit(f"site: could not install {JUPYTER_BOOK} (pip's message above)")
    stamp.write_text(JUPYTER_BOOK)
    return command


def build(out: Path) -> Path:
    """Assemble and build the site in ``out``; returns the path of its index.html."""
    source = out / "source"
    assemble(source)
    done = subprocess.run([str(tool()), "build", str(source), "--path-output", str(out), "--builder", "html"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        print(done.stdout[-5000:], file=sys.stderr)
        raise SystemExit("site: jupyter-book build failed (its output above)")
    index = out / "_build" / "html" / "index.html"
    if not index.is_file():
        raise SystemExit(f"site: the build wrote no {index}")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "site", help="default: .cache/site")
    args = parser.parse_args(argv)
    print(build(args.out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
