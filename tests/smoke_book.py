"""Pytest plugin: the smoke-profile book, built once per session, from a checkout whose git
remote ``origin`` is a fake GitHub repository.

Test modules load it with ``pytest_plugins = ["smoke_book"]`` (and do not import it: pytest
rewrites its asserts only when it imports it first) and request the ``smoke_book`` fixture;
pytest registers the plugin once, so every module shares one build.

The fake checkout is a folder with ``git init`` and ``origin`` set to :data:`FAKE_ORIGIN`, whose
entries are symbolic links to the real checkout's files: the build reads the real chapters and
configuration, and only the remote differs (the real checkout is not touched).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from derivlearn import book

ROOT = Path(__file__).resolve().parents[1]
FAKE_ORIGIN = "git@github.com:derivlearn-test/derivlearn-fork.git"
FAKE_URL = "https://github.com/derivlearn-test/derivlearn-fork"
SKIP = {".git", ".venv", ".cache", "_build"}


@dataclass
class SmokeBook:
    html: Path  # the HTML folder (index.html)
    src: Path  # the staged sources (_config.yml, book/generated/*.ipynb)
    root: Path  # the fake checkout
    output: str  # what the build printed
    seconds: float


def make_fake_checkout(where: Path, origin: str | None = FAKE_ORIGIN) -> Path:
    """A folder that is the real checkout for the build, except for its git remote."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(where)], check=True)
    if origin:
        subprocess.run(["git", "-C", str(where), "remote", "add", "origin", origin], check=True)
    for item in ROOT.iterdir():
        if item.name not in SKIP:
            (where / item.name).symlink_to(item)
    return where


@pytest.fixture
def fake_checkout():
    """:func:`make_fake_checkout`, for tests that need a checkout with (or without) a remote."""
    return make_fake_checkout


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> SmokeBook:
    """``book.build("smoke")`` of :func:`fake_checkout`, its results and caches in temporary
    folders (session fixtures run before the per-test isolation of ``conftest.py``)."""
    tmp = tmp_path_factory.mktemp("smoke_book")
    root = make_fake_checkout(tmp / "checkout")
    env = {"DERIVLEARN_RESULTS": str(tmp / "results"), "DERIVLEARN_CACHE": str(tmp / "cache"),
           "DERIVLEARN_PROGRESS": "0", "DERIVLEARN_REPO_URL": None,
           "DERIVLEARN_REPO_BRANCH": None, "DERIVLEARN_COMPUTE": None}
    old = {k: os.environ.get(k) for k in env}
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    out = io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out):
            index = book.build("smoke", root, workdir=tmp / "work")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return SmokeBook(html=index.parent, src=tmp / "work" / "_build" / "src", root=root,
                     output=out.getvalue(), seconds=time.perf_counter() - t0)
