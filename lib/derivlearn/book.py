"""Build the book: papermill executes each chapter, then jupyter-book renders it (execution off).

Command line (what ``make book`` runs)::

    python -m derivlearn.book [--profile smoke|book|full] [--only theory] [--workdir DIR]

Every notebook ``notebooks/<name>.ipynb`` whose executed copy ``book/generated/<name>`` is
listed in ``_toc.yml`` is run through papermill with ``-p profile <profile>`` and kernel
``python3``. A failing cell stops the build (papermill raises); the executed copies are then
checked for error outputs, and ``jupyter-book build`` runs with warnings as errors.

With ``--only``, the other chapters keep their executed copies only if :func:`check_executed`
finds nothing wrong with them (a run that was killed or failed, or one under another profile);
a copy that fails a check is executed again, with the reason printed. Before rendering, every
chapter's copy is checked once more, so the book never publishes a chapter it has not checked.

The book is staged in ``_build/src`` (config, toc, ``book/`` and the executed notebooks in
``_build/src/book/generated``) and rendered to ``_build/html``; both are git-ignored.
``--workdir DIR`` puts that ``_build`` folder in ``DIR`` instead (the tests use this).

Reaching the code. The repository's URL comes from ``$DERIVLEARN_REPO_URL``, else from
``git remote get-url origin`` (``git@host:org/repo.git`` and ``https://host/org/repo.git`` become
``https://host/org/repo``; the branch from ``$DERIVLEARN_REPO_BRANCH``, else the checked-out
branch, else ``main``). With a URL on GitHub, GitLab or Bitbucket, the staged ``_config.yml``
gets the repository and issues buttons and the Binder launch button (Colab too on GitHub); the
launch buttons open ``notebooks/<name>.ipynb``, the source of the chapter. Without one, the
buttons are left out and the build prints why. Links to files of the repository: the role
``{repo}`lib/derivlearn/solvers/frame.py``` (or a module, ``{repo}`derivlearn.solvers.frame```,
or with a title, ``{repo}`the frame <benchmarks/frame_cost.py>```) in a page, and
:func:`repo_link` in a notebook's Markdown output; a target that does not exist in the checkout
is a build warning (an error under ``-W``). This module is also the Sphinx extension that
provides the role (``sphinx.extra_extensions`` in ``_config.yml``).

The downloadable notebooks carry no paths of the build: papermill's ``input_path`` and
``output_path`` are removed from their metadata, and the setup cell names the repository
(:mod:`derivlearn.setup_notebook`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from derivlearn.params import PROFILES, check_choice
from derivlearn.store import repo_root

GENERATED = "book/generated"
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
"""Files at the root of the checkout that the staged book needs besides ``book/``."""
BINDERHUB_URL = "https://mybinder.org"
COLAB_URL = "https://colab.research.google.com"
PROVIDERS = ("github", "gitlab", "bitbucket")
"""Hosts whose repositories the book theme's buttons understand (by a word in the host name)."""


def _root(root: Path | None) -> Path:
    root = root or repo_root()
    if root is None:
        raise RuntimeError("the book is built from a derivlearn checkout (editable install)")
    return root


def toc_chapters(root: Path | None = None) -> list[str]:
    """Names of the notebooks the book executes, in ``_toc.yml`` order."""
    import yaml

    root = _root(root)
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            f = node.get("file")
            if isinstance(f, str) and f.startswith(GENERATED + "/"):
                names.append(f[len(GENERATED) + 1:].removesuffix(".ipynb"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    for name in names:
        if not (root / "notebooks" / f"{name}.ipynb").is_file():
            raise FileNotFoundError(f"_toc.yml lists {GENERATED}/{name}, but "
                                    f"notebooks/{name}.ipynb does not exist")
    return names


def error_outputs(path: Path) -> list[str]:
    """Error outputs (``ename: evalue``) found in an executed notebook."""
    nb = json.loads(path.read_text())
    errs = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errs.append(f"{out.get('ename')}: {out.get('evalue')}")
    return errs


def check_executed(path: Path, profile: str) -> list[str]:
    """What is wrong with an executed copy of a chapter, for a build under ``profile``.

    Reads what papermill recorded (``metadata.papermill`` of the notebook and of each cell) and
    returns one sentence per problem; an empty list means the copy may be published:

    * the file is missing or not a notebook, or papermill did not execute it;
    * the run did not finish (killed): no end time, or cells still ``pending``/``running``;
    * the run failed: papermill recorded an exception, or a cell has an error output;
    * it ran under another profile, or with parameters the build does not pass.
    """
    try:
        nb = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return ["no executed copy"]
    except (OSError, ValueError) as err:
        return [f"not a readable notebook ({type(err).__name__}: {err})"]
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return ["not a notebook (no list of cells)"]
    meta = (nb.get("metadata") or {}).get("papermill")
    if not isinstance(meta, dict):
        return ["not executed by papermill (no metadata.papermill)"]
    problems = []
    params = meta.get("parameters") or {}
    got = params.get("profile")
    if got != profile:
        problems.append(f"executed under profile {got!r}, not {profile!r}")
    extra = sorted(set(params) - {"profile"})
    if extra:
        problems.append(f"executed with parameters the build does not pass: {extra}")
    if meta.get("exception"):
        problems.append("the run failed (papermill recorded an exception)")
    if not meta.get("end_time"):
        problems.append("the run did not finish (no end time: killed?)")
    status: dict[str, int] = {}
    for cell in nb["cells"]:
        s = ((cell.get("metadata") or {}).get("papermill") or {}).get("status", "missing")
        if s != "completed":
            status[s] = status.get(s, 0) + 1
    if status:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(status.items()))
        problems.append(f"cells not completed: {counts}")
    errs = error_outputs(path)
    if errs:
        problems.append(f"error outputs: {errs}")
    return problems


def execute(name: str, profile: str, out_dir: Path, root: Path | None = None,
            parameters: dict | None = None) -> Path:
    """Run ``notebooks/<name>.ipynb`` through papermill into ``out_dir/<name>.ipynb``."""
    import papermill as pm

    root = _root(root)
    check_choice("profile", profile, PROFILES)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}.ipynb"
    params = {"profile": profile} | dict(parameters or {})
    source = root / "notebooks" / f"{name}.ipynb"
    known = set(pm.inspect_notebook(str(source))) - {"PARAMETERS"}  # the declared names
    unknown = sorted(set(params) - known)
    if unknown:  # papermill itself only warns, and the run would silently ignore them
        raise ValueError(f"unknown parameter(s) {unknown} for notebooks/{name}.ipynb; "
                         f"allowed: {sorted(known)}")
    pm.execute_notebook(
        str(source), str(out), parameters=params,
        kernel_name="python3", cwd=str(root / "notebooks"), progress_bar=False,
    )
    errs = error_outputs(out)
    if errs:
        raise RuntimeError(f"{out}: error outputs: {errs}")
    return out


# --- the repository: URL, buttons, links to files ------------------------------------------------


def normalize_repo_url(url: str | None) -> str | None:
    """The web address of a repository from a git remote URL, or ``None`` if it has none.

    ``git@github.com:org/repo.git``, ``ssh://git@github.com/org/repo.git``,
    ``git+https://github.com/org/repo`` and ``https://user@github.com/org/repo.git/`` all give
    ``https://github.com/org/repo``. A local path or ``file://`` URL has no web address.
    """
    url = (url or "").strip()
    if not url:
        return None
    url = url.removeprefix("git+")
    m = re.fullmatch(r"(?:[\w.-]+@)?([\w.-]+\.[A-Za-z]{2,}):(?!//)/?(.+)", url)  # scp-like
    if m:
        host, path = m.groups()
    else:
        m = re.fullmatch(r"(?:https?|ssh|git)://(?:[^@/]+@)?([^/:]+)(?::\d+)?/(.+)", url)
        if not m:
            return None
        host, path = m.groups()
    path = path.strip("/").removesuffix(".git").strip("/")
    if path.count("/") < 1 or not host or "." not in host:
        return None
    return f"https://{host.lower()}/{path}"


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def repository(root: Path | None = None) -> tuple[str | None, str, str]:
    """``(url, branch, how)``: the repository's web address (``None`` if unknown), its branch,
    and a sentence saying where the URL came from or why there is none.

    ``$DERIVLEARN_REPO_URL`` wins over ``git remote get-url origin``; the branch is
    ``$DERIVLEARN_REPO_BRANCH``, else the checked-out branch, else ``main``.
    """
    root = _root(root)
    branch = (os.environ.get("DERIVLEARN_REPO_BRANCH")
              or (b if (b := _git(root, "rev-parse", "--abbrev-ref", "HEAD")) not in (None, "HEAD")
                  else None)
              or "main")
    env = os.environ.get("DERIVLEARN_REPO_URL", "").strip()
    if env:
        url = normalize_repo_url(env)
        if url is None:
            return None, branch, (f"DERIVLEARN_REPO_URL={env!r} is not the address of a "
                                  "repository (https://host/org/repo or git@host:org/repo.git)")
        return url, branch, "from DERIVLEARN_REPO_URL"
    origin = _git(root, "remote", "get-url", "origin")
    if origin is None:
        return None, branch, ("the checkout has no remote 'origin' and DERIVLEARN_REPO_URL is "
                              "not set")
    url = normalize_repo_url(origin)
    if url is None:
        return None, branch, (f"the remote 'origin' ({origin}) has no web address; set "
                              "DERIVLEARN_REPO_URL")
    return url, branch, "from git remote 'origin'"


def provider(url: str | None) -> str | None:
    """``github``, ``gitlab`` or ``bitbucket`` (a word in the host name), else ``None``."""
    if not url:
        return None
    host = url.split("/")[2]
    return next((p for p in PROVIDERS if p in host), None)


def module_path(target: str) -> str:
    """A repository path for a file, folder or module name: ``derivlearn.solvers.frame`` ->
    ``lib/derivlearn/solvers/frame.py`` (or ``.../frame`` for a package); paths are kept."""
    target = target.strip()
    if "/" in target or not re.fullmatch(r"derivlearn(\.\w+)*", target):
        return target.strip("/")
    parts = target.split(".")
    root = repo_root()
    base = "lib/" + "/".join(parts)
    if root is not None and (root / base).is_dir():
        return base
    return base + ".py"


def repo_file_url(target: str, url: str | None = None, branch: str | None = None) -> str | None:
    """The web address of a file or folder of the repository (a path from its root, or a
    module name such as ``derivlearn.solvers.frame``); ``None`` without a repository URL.

    ``url`` and ``branch`` default to :func:`repository` of this checkout (which honours
    ``$DERIVLEARN_REPO_URL``).
    """
    if url is None:
        url, found_branch, _ = repository()
        branch = branch or found_branch
    if not url:
        return None
    path = module_path(target)
    root = repo_root()
    kind = "tree" if (root is not None and (root / path).is_dir()) else "blob"
    if provider(url) == "bitbucket":
        kind = "src"
    return f"{url}/{kind}/{branch or 'main'}/{path}"


def repo_link(target: str, text: str | None = None) -> str:
    """Markdown for a link to a file of the repository, for a notebook's ``Markdown`` output:
    ``[`text`](url)``, or just ```text``` when the repository URL is unknown."""
    text = text or target
    url = repo_file_url(target)
    return f"[`{text}`]({url})" if url else f"`{text}`"


def book_config(root: Path | None = None) -> tuple[dict, list[str]]:
    """``_config.yml`` as the build uses it, with the repository and its buttons filled in, and
    the sentences the build prints about them."""
    import yaml

    root = _root(root)
    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    url, branch, how = repository(root)
    html = config.setdefault("html", {})
    launch = config.setdefault("launch_buttons", {})
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["derivlearn_repo_root"] = str(root)
    sphinx_config["derivlearn_repo_url"] = url or ""  # links to files need no theme support
    sphinx_config["derivlearn_repo_branch"] = branch
    kind = provider(url)
    if url and kind is None:
        how = (f"{url} ({how}) is not on GitHub, GitLab or Bitbucket, whose repositories the "
               "book theme's buttons understand; links to files are kept")
    if url is None or kind is None:
        html["use_repository_button"] = html["use_issues_button"] = False
        html["use_edit_page_button"] = False
        launch.update(binderhub_url="", colab_url="", jupyterhub_url="", thebe=False)
        config.pop("repository", None)
        return config, [f"no repository buttons or launch buttons: {how}"]
    config["repository"] = {"url": url, "branch": branch, "path_to_book": ""}
    html["use_repository_button"] = html["use_issues_button"] = True
    launch["binderhub_url"] = BINDERHUB_URL
    launch["colab_url"] = COLAB_URL if kind == "github" else ""
    launch.setdefault("notebook_interface", "classic")
    launch["thebe"] = False
    shown = "repository, issues and Binder" + (" and Colab" if kind == "github" else "")
    return config, [f"repository {url} (branch {branch}, {how}): {shown} buttons"]


def _write_yaml(path: Path, data: dict) -> None:
    import yaml

    path.write_text("# Written by derivlearn.book from the checkout's _config.yml.\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def scrub_notebook(path: Path, repo_url: str | None = None) -> None:
    """Remove the build's paths from an executed notebook's metadata (papermill's
    ``input_path`` and ``output_path``), tag papermill's injected parameters cell
    ``remove-cell`` (the page shows the chapter, not the build's parameters; the downloaded
    notebook keeps it), and write ``repo_url`` into its setup cell, so that the notebook a
    reader downloads runs elsewhere. What :func:`check_executed` reads stays."""
    from derivlearn import setup_notebook

    nb = json.loads(path.read_text())
    meta = (nb.get("metadata") or {}).get("papermill")
    changed = False
    if isinstance(meta, dict):
        for key in ("input_path", "output_path"):
            if meta.pop(key, None) is not None:
                changed = True
    for cell in nb.get("cells", []):     # papermill's injected parameters: not for readers
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            changed = True
    if repo_url:
        for cell in nb.get("cells", []):
            if setup_notebook.is_setup_cell(cell):
                src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                new = setup_notebook.stamp_source(src, repo_url)
                if new != src:
                    cell["source"] = new
                    changed = True
    if changed:
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


# --- the Sphinx extension: the {repo} role and the launch buttons' target --------------------


def _repo_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    # Runs only inside a Sphinx build, which has loaded docutils: the library itself does not
    # depend on it (it comes with jupyter-book, the `book` extra).
    nodes = sys.modules["docutils.nodes"]
    text = text.replace("\x00", "")  # docutils' escapes (utils.unescape)
    m = re.fullmatch(r"(.+?)\s*(?<!\x00)<(.*?)>", text, re.DOTALL)
    title, target = (m.group(1), m.group(2)) if m else (text, text)
    config = inliner.document.settings.env.config
    path = module_path(target)
    root = config.derivlearn_repo_root
    messages = []
    if root and not (Path(root) / path).exists():
        messages.append(inliner.reporter.warning(
            f"{{repo}}: {target!r} ({path}) is not in the repository", line=lineno))
    literal = nodes.literal(title, title)
    url = config.derivlearn_repo_url
    if not url:
        return [literal], messages
    node = nodes.reference(rawtext, "", literal, classes=["repo-link"],
                           refuri=repo_file_url(path, url, config.derivlearn_repo_branch))
    return [node], messages


def _retarget_launch_buttons(app, pagename, templatename, context, doctree) -> None:
    """Launch buttons open the chapter's source ``notebooks/<name>.ipynb`` (the executed copy
    under ``book/generated`` is not in the repository; the download button, a relative link to
    the executed copy the build ships under ``_sources``, is left alone), and the unused thebe
    loader's CDN
    address is dropped from the page."""
    notebook = re.compile(re.escape(GENERATED) + r"/([^/?#&]+\.ipynb)")

    def walk(buttons):
        for b in buttons or []:
            if isinstance(b, dict):
                url = b.get("url")
                if isinstance(url, str) and "://" in url:  # launch buttons; a download stays local
                    b["url"] = notebook.sub(r"notebooks/\1", url)
                walk(b.get("buttons"))

    walk(context.get("header_buttons"))
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        context["script_files"] = [
            s for s in scripts
            if "THEBE_JS_URL" not in str((getattr(s, "attributes", None) or {}).get("body", ""))
            and not str(getattr(s, "filename", s)).endswith("sphinx-thebe.js")]


def setup(app):
    """Sphinx extension (``sphinx.extra_extensions: [derivlearn.book]``)."""
    app.add_config_value("derivlearn_repo_url", "", "env")
    app.add_config_value("derivlearn_repo_branch", "main", "env")
    app.add_config_value("derivlearn_repo_root", "", "env")
    app.add_role("repo", _repo_role, override=True)  # docutils keeps roles per process
    app.connect("html-page-context", _retarget_launch_buttons, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _stage(root: Path, src: Path) -> None:
    """Copy the book's sources (config, toc, ``book/``) into ``src``, keeping executed copies.

    The book is built from this staged folder, never from the checkout itself, so that no
    stray Markdown file (a cache's README, a scratch note) can enter or break the build.
    """
    src.mkdir(parents=True, exist_ok=True)
    for f in BOOK_FILES:
        shutil.copy2(root / f, src / f)
    config, notes = book_config(root)
    for note in notes:
        print(f"[book] {note}", flush=True)
    _write_yaml(src / "_config.yml", config)
    dst = src / "book"
    dst.mkdir(exist_ok=True)
    for old in dst.iterdir():
        if old.name != "generated":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    for item in (root / "book").iterdir():
        if item.name in ("generated", "_build"):
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name)
        else:
            shutil.copy2(item, dst / item.name)


@contextlib.contextmanager
def _env(**values: str | None):
    """Set environment variables (those given as ``None`` are left alone) for a block."""
    old = {k: os.environ.get(k) for k, v in values.items() if v is not None}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _execute_chapters(names: list[str], profile: str, src: Path, root: Path,
                      only: list[str] | None) -> None:
    """Execute the chapters into ``src/book/generated``, keeping the checked copies of the
    chapters not in ``only``."""
    for name in names:
        target = src / GENERATED / f"{name}.ipynb"
        if only and name not in only and target.exists():
            problems = check_executed(target, profile)
            if not problems:
                print(f"[book] {name}: kept the existing executed copy (checked)")
                continue
            print(f"[book] {name}: not keeping the existing executed copy: "
                  + "; ".join(problems), flush=True)
        t0 = time.perf_counter()
        print(f"[book] executing notebooks/{name}.ipynb (profile={profile}) ...", flush=True)
        execute(name, profile, src / GENERATED, root)
        print(f"[book] {name}: {time.perf_counter() - t0:.1f} s", flush=True)


def build(profile: str = "book", root: Path | None = None, workdir: Path | None = None,
          only: list[str] | None = None) -> Path:
    """Execute the chapters and build the HTML book. Returns the path of ``index.html``.

    Args:
        profile: ``smoke``, ``book`` or ``full``.
        root: the checkout (default: the one this package is installed from).
        workdir: where to stage and build (default: the checkout's ``_build/``). The sources
            are staged in ``workdir/_build/src`` and the HTML lands in ``workdir/_build/html``.
        only: execute only these chapters; the others keep their executed copies, if
            :func:`check_executed` passes them under ``profile`` (else they are executed too).

    Raises:
        RuntimeError: a chapter's executed copy fails :func:`check_executed` just before
            rendering (the book is not built).
    """
    root = _root(root)
    check_choice("profile", profile, PROFILES)
    names = toc_chapters(root)
    for n in only or []:
        check_choice("only", n, names)
    out = (workdir or root).resolve()
    src = out / "_build" / "src"
    _stage(root, src)
    os.environ.setdefault("DERIVLEARN_PROGRESS", "0")  # kernels inherit it: no bars in the book
    if profile == "book":  # the committed records only: a sweep still in progress is reported,
        os.environ.setdefault("DERIVLEARN_COMPUTE", "0")  # not computed during the build
    url, _, _ = repository(root)
    with _env(DERIVLEARN_REPO_URL=url):  # the chapters' setup cells and repo_link name it
        _execute_chapters(names, profile, src, root, only)
    for name in names:  # the downloadable copies: no build paths, the repository named
        if (target := src / GENERATED / f"{name}.ipynb").is_file():
            scrub_notebook(target, url)
    bad = {n: p for n in names if (p := check_executed(src / GENERATED / f"{n}.ipynb", profile))}
    if bad:  # never publish a chapter that was not checked (a copy changed during the build)
        raise RuntimeError("executed chapters fail their checks: " + "; ".join(
            f"{n}: {', '.join(p)}" for n, p in bad.items()))
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb if jb.exists() else "jupyter-book"), "build", str(src), "--path-output",
           str(out), "-W", "--keep-going", "--quiet"]
    print("[book] " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=src)
    index = out / "_build" / "html" / "index.html"
    if not index.is_file():
        raise RuntimeError(f"jupyter-book finished but {index} is missing")
    return index


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m derivlearn.book", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default=os.environ.get("PROFILE") or "book",
                    help="smoke | book | full (default: book)")
    ap.add_argument("--only", nargs="*", help="execute only these chapters (others are kept)")
    ap.add_argument("--workdir", type=Path, help="stage and build the book in this folder")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        index = build(args.profile, workdir=args.workdir, only=args.only)
    except ValueError as exc:  # a bad parameter: one line, not a traceback
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
        return 2
    print(f"[book] built in {time.perf_counter() - t0:.0f} s: {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
