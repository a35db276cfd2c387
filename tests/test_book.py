"""The book build keeps an executed chapter only after checking it (fabricated copies, no kernels)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from derivlearn import book

ROOT = Path(__file__).resolve().parents[1]


def fake_executed(path: Path, profile: str = "smoke", statuses=("completed",) * 4,
                  error: bool = False, exception: bool | None = None, finished: bool = True,
                  parameters: dict | None = None) -> Path:
    """A notebook as papermill leaves it: ``metadata.papermill`` on the notebook and each cell.

    A killed run has no end time and cells still ``running``/``pending``; a failed one has
    ``exception`` set, a ``failed`` cell and an error output.
    """
    cells = []
    for i, status in enumerate(statuses):
        cell = {"cell_type": "code", "execution_count": i + 1, "id": f"c{i}", "source": "x = 1",
                "metadata": {"papermill": {"status": status, "exception": status == "failed",
                                           "start_time": None, "end_time": None,
                                           "duration": None}},
                "outputs": []}
        if error and status == "failed":
            cell["outputs"] = [{"output_type": "error", "ename": "RuntimeError",
                                "evalue": "injected failure", "traceback": []}]
        cells.append(cell)
    params = {"profile": profile} if parameters is None else parameters
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
          "metadata": {"kernelspec": {"name": "python3"},
                       "papermill": {"parameters": params, "exception": exception,
                                     "start_time": "2026-01-01T00:00:00",
                                     "end_time": "2026-01-01T00:01:00" if finished else None,
                                     "input_path": "x.ipynb", "output_path": str(path)}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


KILLED = {"statuses": ("completed", "completed", "running", "pending", "pending"),
          "finished": False}
FAILED = {"statuses": ("completed", "failed", "pending"), "error": True, "exception": True}


def test_check_executed_passes_a_complete_copy(tmp_path):
    assert book.check_executed(fake_executed(tmp_path / "a.ipynb", "book"), "book") == []


@pytest.mark.parametrize("kind, kwargs, says", [
    ("killed", KILLED, ["did not finish", "1 running", "2 pending"]),
    ("interrupted (papermill then marks later cells completed)",
     {"statuses": ("completed", "running", "completed")}, ["1 running"]),
    ("failed", FAILED, ["run failed", "1 failed", "RuntimeError: injected failure"]),
    ("error output only", {"statuses": ("completed", "failed"), "error": True},
     ["error outputs", "injected failure"]),
    ("other profile", {"profile": "smoke"}, ["profile 'smoke', not 'book'"]),
    ("no profile", {"parameters": {}}, ["profile None"]),
    ("other parameters", {"parameters": {"profile": "book", "seeds": 1}}, ["['seeds']"]),
])
def test_check_executed_detects(kind, kwargs, says, tmp_path):
    kwargs = {"profile": "book"} | kwargs
    problems = book.check_executed(fake_executed(tmp_path / "a.ipynb", **kwargs), "book")
    text = "; ".join(problems)
    assert problems and all(s in text for s in says), (kind, problems)


def test_check_executed_detects_unexecuted_and_broken_files(tmp_path):
    assert book.check_executed(tmp_path / "missing.ipynb", "book") == ["no executed copy"]
    torn = tmp_path / "torn.ipynb"
    torn.write_text('{"cells": [')
    assert "not a readable notebook" in book.check_executed(torn, "book")[0]
    plain = tmp_path / "plain.ipynb"
    plain.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4}))
    assert "not executed by papermill" in book.check_executed(plain, "book")[0]


@pytest.fixture
def fake_build(monkeypatch):
    """``book.build`` with papermill and jupyter-book replaced: records what it executes."""
    executed: list[str] = []

    def execute(name, profile, out_dir, root=None, parameters=None):
        executed.append(name)
        return fake_executed(out_dir / f"{name}.ipynb", profile)

    real_run = subprocess.run

    def run(cmd, check=False, cwd=None, **kwargs):
        if "--path-output" not in cmd:  # not jupyter-book (git, for the repository's URL)
            return real_run(cmd, check=check, cwd=cwd, **kwargs)
        out = Path(cmd[cmd.index("--path-output") + 1])
        (out / "_build" / "html").mkdir(parents=True, exist_ok=True)
        (out / "_build" / "html" / "index.html").write_text("<html></html>")
        executed.append("jupyter-book")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(book, "execute", execute)
    monkeypatch.setattr(book.subprocess, "run", run)
    return executed


def test_build_only_reexecutes_kept_copies_that_fail_their_checks(fake_build, tmp_path, capsys):
    names = book.toc_chapters(ROOT)
    assert len(names) >= 5
    generated = tmp_path / "_build" / "src" / book.GENERATED
    good, killed, failed, other = names[1], names[2], names[3], names[4]
    for name in names:
        fake_executed(generated / f"{name}.ipynb", "book")
    fake_executed(generated / f"{killed}.ipynb", "book", **KILLED)
    fake_executed(generated / f"{failed}.ipynb", "book", **FAILED)
    fake_executed(generated / f"{other}.ipynb", "smoke")

    index = book.build("book", ROOT, workdir=tmp_path, only=[names[0]])

    assert index.is_file()
    assert sorted(fake_build[:-1]) == sorted([names[0], killed, failed, other])
    assert good not in fake_build and fake_build[-1] == "jupyter-book"
    out = capsys.readouterr().out
    assert f"{good}: kept the existing executed copy (checked)" in out
    assert f"{killed}: not keeping the existing executed copy: the run did not finish" in out
    assert f"{other}: not keeping the existing executed copy: executed under profile 'smoke'" in out
    for name in names:
        assert book.check_executed(generated / f"{name}.ipynb", "book") == []


def test_build_never_renders_a_copy_that_fails_its_checks(fake_build, monkeypatch, tmp_path):
    def half_execute(name, profile, out_dir, root=None, parameters=None):
        fake_build.append(name)
        return fake_executed(out_dir / f"{name}.ipynb", profile, **KILLED)

    monkeypatch.setattr(book, "execute", half_execute)
    with pytest.raises(RuntimeError, match="fail their checks.*did not finish"):
        book.build("smoke", ROOT, workdir=tmp_path)
    assert "jupyter-book" not in fake_build
