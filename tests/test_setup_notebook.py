"""The chapters' setup cell (derivlearn.setup_notebook): where it sits, what it says, and that it
fetches the committed records when they are missing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from derivlearn import setup_notebook as sn

ROOT = Path(__file__).resolve().parents[1]
WITH_CELL = ["theory", "fe_scaling", "higher_order_sobolev", "dino_pde_maps", "gradinn", "tutorial"]


@pytest.mark.parametrize("name", WITH_CELL)
def test_chapter_has_the_standard_setup_cell_after_its_parameters(name):
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"]["tags"]
    setup = code[1]
    assert sn.is_setup_cell(setup) and setup["metadata"]["tags"] == sn.CELL_TAGS
    source = "".join(setup["source"])
    url = sn.cell_url(source)
    assert url is not None and source == sn.cell_source(url)  # the standard text, any URL
    assert sum(map(sn.is_setup_cell, cells)) == 1


def test_stamp_rewrites_only_the_url(tmp_path):
    src = sn.cell_source("")
    stamped = sn.stamp_source(src, "https://github.com/org/repo")
    assert stamped == sn.cell_source("https://github.com/org/repo")
    assert sn.cell_url(stamped) == "https://github.com/org/repo"
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {},
                                           "source": 'run_anywhere("")'}, sn.first_cell("")],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert sn.main(["--stamp", "https://gitlab.com/g/r", str(path)]) == 0
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["source"] == 'run_anywhere("")'  # only the tagged cell
    assert sn.cell_url("".join(cells[1]["source"])) == "https://gitlab.com/g/r"
    assert sn.stamp_notebook(path, "https://gitlab.com/g/r") is False  # nothing left to do
    before = path.read_text()
    assert sn.main(["--stamp", "/dev/null", str(path)]) == 2  # not a repository: refused
    assert sn.main(["--stamp", "git@github.com:o/r.git", str(path)]) == 0  # normalized
    assert sn.cell_url("".join(json.loads(path.read_text())["cells"][1]["source"])) == \
        "https://github.com/o/r"
    assert before != path.read_text()


def test_cell_leaves_no_value_in_the_namespace_and_only_notes_when_all_is_there(
        _isolated_store, monkeypatch, capsys):
    """Run as a chapter runs it (derivlearn installed, committed records present): the note,
    and only a function in the namespace (the config cell refuses injected values)."""
    monkeypatch.setenv("DERIVLEARN_RESULTS", str(ROOT / "results"))
    monkeypatch.delenv("DERIVLEARN_REPO_URL", raising=False)
    namespace: dict = {}
    exec(compile(sn.cell_source("https://github.com/org/repo"), "cell", "exec"), namespace)
    assert [k for k in namespace if k != "__builtins__"] == ["run_anywhere"]
    out = capsys.readouterr().out
    assert out.startswith("**Run this chapter yourself.**") and "https://github.com/org/repo" in out


def test_the_note_without_a_repository_address_promises_only_what_works():
    with_url, without = sn.note("https://github.com/org/repo"), sn.note("")
    assert "Binder" in with_url and "https://github.com/org/repo" in with_url
    assert "Binder" not in without and "inside a checkout of the repository" in without
    assert "set `DERIVLEARN_REPO_URL`" in without  # what setup() asks for outside a checkout


@pytest.fixture
def plain_install(tmp_path, monkeypatch):
    """derivlearn as a plain pip install leaves it: no checkout, no chosen store; the chapter
    reads its records from ./results."""
    import derivlearn.store

    monkeypatch.setattr(derivlearn.store, "repo_root", lambda: None)
    monkeypatch.delenv("DERIVLEARN_RESULTS", raising=False)
    monkeypatch.delenv("DERIVLEARN_REPO_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "results"


def test_setup_copies_the_committed_records_from_the_checkout_it_installed(
        plain_install, tmp_path, capsys):
    checkout = tmp_path / "checkout"
    (checkout / "results" / "theory").mkdir(parents=True)
    (checkout / "results" / "theory" / "records.jsonl").write_text('{"key": "x"}\n')
    did = sn.setup("", source=str(checkout))
    assert did[0].startswith("installed derivlearn") and str(checkout) in did[0]
    assert did[1] == f"copied the committed records from {checkout / 'results'} to {plain_install}"
    assert (plain_install / "theory" / "records.jsonl").read_text() == '{"key": "x"}\n'
    assert "**Set up for this notebook:**" in capsys.readouterr().out
    assert sn.setup("") == []  # the second time there is nothing to do


def test_setup_clones_the_repository_when_no_checkout_has_the_records(plain_install, tmp_path):
    remote = tmp_path / "remote"
    (remote / "results" / "gradinn").mkdir(parents=True)
    (remote / "results" / "gradinn" / "records.jsonl").write_text("{}\n")
    for cmd in (["init", "-q"], ["add", "."],
                ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "records"]):
        subprocess.run(["git", "-C", str(remote), *cmd], check=True)
    did = sn.setup(str(remote))
    assert did == [f"copied the committed records from {remote} (git clone) to {plain_install}"]
    assert (plain_install / "gradinn" / "records.jsonl").is_file()


def test_setup_without_records_or_repository_says_what_to_set(plain_install):
    with pytest.raises(RuntimeError, match="no repository to fetch them from"):
        sn.setup("")


def test_setup_leaves_a_chosen_store_alone(_isolated_store, monkeypatch):
    """Tests and sweeps that set DERIVLEARN_RESULTS (the smoke book too) get no copy."""
    import derivlearn.store

    monkeypatch.setattr(derivlearn.store, "repo_root", lambda: None)
    assert sn.setup("https://github.com/org/repo") == []
    assert not any(_isolated_store.iterdir())


def test_the_note_folds_into_one_line_of_html():
    """The book shows the note folded under its lead (a <details>), with the Markdown's code and
    links as HTML; the output keeps the Markdown for readers that do not show HTML."""
    md = sn.note("https://github.com/org/repo")
    h = sn.folded(md)
    assert h.startswith(f'<details class="{sn.FOLD_CLASS}"><summary><strong>Run this chapter yourself'
                        "</strong></summary><p>") and h.endswith("</p></details>")
    assert "<code>git</code>" in h and '<a href="https://github.com/org/repo">' in h
    assert "`" not in h and "**" not in h and "<https" not in h
