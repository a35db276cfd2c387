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
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from derivlearn.params import PROFILES, check_choice
from derivlearn.store import repo_root

GENERATED = "book/generated"


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


def _stage(root: Path, src: Path) -> None:
    """Copy the book's sources (config, toc, ``book/``) into ``src``, keeping executed copies.

    The book is built from this staged folder, never from the checkout itself, so that no
    stray Markdown file (a cache's README, a scratch note) can enter or break the build.
    """
    src.mkdir(parents=True, exist_ok=True)
    for f in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / f, src / f)
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
