"""Run a chapter's notebook outside the book: the standard setup cell and what it calls.

Every chapter notebook carries one setup cell, right after its ``parameters`` cell (the
papermill contract keeps that one first), tagged ``hide-input`` and ``derivlearn-setup``: the
book shows its output, a short note on running the chapter yourself, and hides its code. The
cell's source is :data:`CELL_SOURCE` with the repository's URL filled in; it defines one
function and calls it, so it leaves no value in the notebook's namespace (the config cell
refuses values that the parameters cell did not declare).

* On Binder, or in a checkout where ``make`` built the environment, ``derivlearn`` and the
  committed records are there: the cell only shows the note.
* On Colab or a bare Jupyter, the cell clones the repository (``git clone --depth 1`` into
  ``./derivlearn-repo``; a notebook inside a checkout's ``notebooks/`` uses that checkout),
  installs it with pip (the dependencies of ``pyproject.toml``, so Colab keeps its own torch),
  and :func:`setup` copies the committed records (``results/``) to where the chapter reads
  them when they are missing. It says what it did.

Command line::

    python -m derivlearn.setup_notebook --print-cell [URL]   # the cell's source, to copy
    python -m derivlearn.setup_notebook --stamp [URL] [NOTEBOOK ...]

``--stamp`` writes the repository URL (default: that of the book build, see
:func:`derivlearn.book.repository`) into the setup cells of the given notebooks (default: all of
``notebooks/``); the book build writes it into the downloadable copies by itself.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CELL_TAG = "derivlearn-setup"
CELL_TAGS = ["hide-input", CELL_TAG]

CELL_SOURCE = '''\
def run_anywhere(repo_url):
    """Outside the book: on Binder this notebook runs as it is. On Colab or a bare Jupyter,
    this installs derivlearn and fetches the committed records (results/) when they are
    missing, and says what it did (it needs git and pip)."""
    import importlib.util
    import os
    import subprocess
    import sys

    repo_url = os.environ.get("DERIVLEARN_REPO_URL") or repo_url
    source = None
    if importlib.util.find_spec("derivlearn") is None:  # not installed: clone and pip install
        checkout = os.path.abspath("..")  # this notebook in a checkout's notebooks/ folder?
        inside = os.path.isfile(os.path.join(checkout, "lib", "derivlearn", "setup_notebook.py"))
        source = checkout if inside else os.path.abspath("derivlearn-repo")
        if not os.path.isdir(source):
            if not repo_url:
                raise RuntimeError("derivlearn is not installed and this notebook names no "
                                   "repository: set DERIVLEARN_REPO_URL to the project's URL")
            subprocess.run(["git", "clone", "--quiet", "--depth", "1", repo_url, source],
                           check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)
        importlib.invalidate_caches()
    from derivlearn.setup_notebook import setup
    setup(repo_url, source=source)


run_anywhere("{repo_url}")
'''
"""The setup cell's source; ``{repo_url}`` is the repository's web address (may be empty)."""

_CALL = re.compile(r'^run_anywhere\("([^"\n]*)"\)[ \t]*$', re.MULTILINE)


def cell_source(repo_url: str = "") -> str:
    """The setup cell's source for a repository URL."""
    return CELL_SOURCE.replace("{repo_url}", repo_url.replace('"', ""))


def first_cell(repo_url: str = "") -> dict:
    """The setup cell as an nbformat 4 code cell (no outputs), tagged ``hide-input``."""
    return {"cell_type": "code", "execution_count": None, "id": "derivlearn-setup",
            "metadata": {"tags": list(CELL_TAGS)}, "outputs": [],
            "source": cell_source(repo_url).splitlines(keepends=True)}


def is_setup_cell(cell: dict) -> bool:
    return (cell.get("cell_type") == "code"
            and CELL_TAG in ((cell.get("metadata") or {}).get("tags") or []))


def stamp_source(source: str, repo_url: str) -> str:
    """``source`` with the URL of its ``run_anywhere("...")`` call replaced by ``repo_url``."""
    return _CALL.sub(lambda m: f'run_anywhere("{repo_url}")', source)


def cell_url(source: str) -> str | None:
    """The URL a setup cell's source names (``""`` if none), or ``None`` if it has no call."""
    m = _CALL.search(source)
    return m.group(1) if m else None


def stamp_notebook(path: Path, repo_url: str) -> bool:
    """Write ``repo_url`` into the setup cell of a notebook file; ``True`` if it changed."""
    text = path.read_text()
    nb = json.loads(text)
    changed = False
    for cell in nb.get("cells", []):
        if is_setup_cell(cell):
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            new = stamp_source(src, repo_url)
            if new != src:
                cell["source"] = new.splitlines(keepends=True)
                changed = True
    if changed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return changed


# --- what the cell calls ----------------------------------------------------------------------


def _has_records(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*/records.jsonl"))


def _committed_results(source: str | None) -> Path | None:
    if source and _has_records(Path(source) / "results"):
        return Path(source) / "results"
    return None


def _clone(repo_url: str, into: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", repo_url, str(into)], check=True)


def note(repo_url: str = "") -> str:
    """The note the cell shows when nothing had to be done (what the book shows)."""
    if not repo_url:  # a book built without the repository's address: say what works without it
        return ("**Run this chapter yourself.** Download it (`.ipynb`) from the top of the page and "
                "run it inside a checkout of the repository, after `pip install -e .` there: it reads "
                "the committed records (`results/`). Elsewhere, set `DERIVLEARN_REPO_URL` to the "
                "repository's address first; the setup cell (its code is hidden here) then installs "
                "`derivlearn` and fetches the records, and says what it did; it needs `git` and `pip`.")
    return ("**Run this chapter yourself.** Open it on Binder or Colab with the launch button (the "
            "rocket) at the top of the page, or download it (`.ipynb`). On Binder it runs as it is. "
            "Elsewhere the setup cell (its code is hidden here) installs `derivlearn` and fetches the "
            "committed records (`results/`) when they are missing, and says what it did; it needs "
            f"`git` and `pip`. The code and the records: <{repo_url}>.")


def setup(repo_url: str = "", source: str | None = None) -> list[str]:
    """Make the committed records available to the chapter, and say what was done.

    The chapter reads its ``book``-profile records from the committed ``results/`` of the
    checkout ``derivlearn`` runs from. When there is no such checkout (a plain pip install,
    as the cell makes on Colab), the records are copied from ``source``, or from a fresh clone
    of ``repo_url``, to where the chapter then reads them (``./results``). A store chosen with
    ``$DERIVLEARN_RESULTS`` is left as it is.

    Args:
        repo_url: the repository (``$DERIVLEARN_REPO_URL`` wins), cloned when the records are
            needed and ``source`` does not have them.
        source: the checkout the cell just installed ``derivlearn`` from, if it did.

    Returns the sentences it displayed about what it did (empty when nothing was needed; then
    it displays :func:`note`).
    """
    import derivlearn
    from derivlearn.store import default_root, repo_root

    repo_url = os.environ.get("DERIVLEARN_REPO_URL") or repo_url
    did: list[str] = []
    if source:
        did.append(f"installed derivlearn {derivlearn.__version__} with pip from {source}")
    results = default_root("book")
    chosen = bool(os.environ.get("DERIVLEARN_RESULTS"))
    root = repo_root()
    if not chosen and not _has_records(results) and not (root and _has_records(root / "results")):
        committed = _committed_results(source)
        if committed is None:
            if not repo_url:
                raise RuntimeError(f"no committed records in {results}, and no repository to "
                                   "fetch them from: set DERIVLEARN_REPO_URL")
            tmp = Path(tempfile.mkdtemp(prefix="derivlearn-"))
            _clone(repo_url, tmp / "repo")
            committed = tmp / "repo" / "results"
            if not _has_records(committed):
                raise RuntimeError(f"{repo_url} has no committed records (results/)")
            origin = f"{repo_url} (git clone)"
        else:
            origin = str(committed)
        shutil.copytree(committed, results, dirs_exist_ok=True)
        did.append(f"copied the committed records from {origin} to {results}")
    if did:
        _show("**Set up for this notebook:** " + "; ".join(did) + ".")
    else:
        _show(note(repo_url), folded(note(repo_url)))
    return did


FOLD_CLASS = "derivlearn-run"
"""CSS class of the folded note (book/_static/derivlearn.css)."""


def folded(markdown: str) -> str:
    """The note as HTML folded under its bold lead (``<details>``): one line at the top of a
    chapter, so that the chapter's answer follows closely, opened by a click. Handles the
    note's Markdown only: ``**lead.**``, inline code and ``<url>`` links."""
    lead, _, body = markdown.partition("** ")
    text = html.escape(body)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"&lt;(https?://[^&\s]+)&gt;", r'<a href="\1">\1</a>', text)
    summary = html.escape(lead.strip("*").rstrip("."))
    return (f'<details class="{FOLD_CLASS}"><summary><strong>{summary}</strong></summary>'
            f"<p>{text}</p></details>")


def _show(markdown: str, as_html: str | None = None) -> None:
    """Display Markdown in a notebook (IPython is loaded there), else print it. With ``as_html``,
    the output carries both: the book and Jupyter show the HTML, other readers the Markdown."""
    display = sys.modules.get("IPython.display")
    ipython = sys.modules.get("IPython")
    if display is None or ipython is None or ipython.get_ipython() is None:
        print(markdown)
    elif as_html is None:
        display.display(display.Markdown(markdown))
    else:
        display.display({"text/html": as_html, "text/markdown": markdown}, raw=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m derivlearn.setup_notebook", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--print-cell", nargs="?", const=None, default=False, metavar="URL",
                       help="print the setup cell's source (URL: default the repository's)")
    group.add_argument("--stamp", nargs="?", const=None, default=False, metavar="URL",
                       help="write URL (default: the repository's) into the notebooks' setup cells")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    args = ap.parse_args(argv)
    url = args.print_cell if args.print_cell is not False else args.stamp
    if url is None:
        from derivlearn import book

        url, _, how = book.repository()
        if url is None:
            print(f"error: no repository URL ({how})", file=sys.stderr)
            return 2
    if url:
        from derivlearn.book import normalize_repo_url

        web = normalize_repo_url(url)
        if web is None:
            print(f"error: {url!r} is not the address of a repository (https://host/org/repo or "
                  "git@host:org/repo.git)", file=sys.stderr)
            return 2
        url = web
    if args.print_cell is not False:
        print(cell_source(url), end="")
        return 0
    paths = args.notebooks
    if not paths:
        from derivlearn.store import repo_root

        root = repo_root()
        paths = sorted((root or Path.cwd()).joinpath("notebooks").glob("*.ipynb"))
    for path in paths:
        if stamp_notebook(path, url):
            print(f"{path}: setup cell now names {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
