"""Papermill smoke runs of every chapter, the parameter contract, and the whole book build."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import pytest

from derivlearn import book

pytest_plugins = ["smoke_book"]

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = book.toc_chapters(ROOT)
NOTEBOOKS = sorted({p.stem for p in (ROOT / "notebooks").glob("*.ipynb")} | set(CHAPTERS))
"""Every notebook, also one whose chapter is not yet in the table of contents (its book records
are still being computed), gets the smoke run."""


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_runs_in_smoke_profile(name, tmp_path, _isolated_store):
    out = book.execute(name, "smoke", tmp_path, ROOT)
    assert book.error_outputs(out) == []
    assert book.check_executed(out, "smoke") == []  # a build would keep this copy
    assert book.check_executed(out, "book") != []  # ... but not for another profile
    nb = json.loads(out.read_text())
    images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert images, "the chapter draws no figure"
    summaries = list(_isolated_store.glob("*/summary.smoke.json"))  # the study may be named apart
    assert len(summaries) == 1 and json.loads(summaries[0].read_text())["profile"] == "smoke"


@pytest.mark.parametrize("params, name", [
    ({"profile": "huge"}, "profile"),
    ({"profile": "smoke", "seeds": -1}, "seeds"),
])
def test_invalid_parameter_fails_with_its_name(params, name, tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(ROOT / "notebooks" / "theory.ipynb"), str(tmp_path / "o.ipynb"),
                            parameters=params, kernel_name="python3", progress_bar=False)
    assert err.value.ename == "ValueError" and f"'{name}'" in err.value.evalue


def test_unknown_parameter_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown parameter.*'sedes'.*allowed:.*'seeds'"):
        book.execute("theory", "smoke", tmp_path, ROOT, parameters={"sedes": 3})


def test_unknown_parameter_is_refused_by_the_notebook_itself(tmp_path):
    """Papermill called directly (as the book's introduction shows) only warns about an unknown
    name; the chapter itself must refuse it rather than run with the default."""
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(ROOT / "notebooks" / "theory.ipynb"), str(tmp_path / "o.ipynb"),
                            parameters={"profile": "smoke", "sedes": 3}, kernel_name="python3",
                            cwd=str(ROOT / "notebooks"), progress_bar=False)
    assert err.value.ename == "ValueError"
    assert "'sedes'" in err.value.evalue and "'seeds'" in err.value.evalue  # and what is allowed
    assert not list(tmp_path.glob("*/summary.smoke.json"))


def _study_config(name: str, source: str):
    """The config class a notebook's config cell builds with ``from_notebook``: a study's, or
    a chapter config of a library module that is not a study (the synthesis, the tutorial)."""
    import importlib
    import re

    from derivlearn import run
    from derivlearn.params import StudyConfig

    classes = [mod.CONFIG for mod in map(run.importlib.import_module,
                                         (f"derivlearn.studies.{s}" for s in run.studies()))]
    for module in ("derivlearn.synthesis", "derivlearn.tutorial"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        classes += [v for v in vars(mod).values() if isinstance(v, type) and v is not StudyConfig
                    and callable(getattr(v, "from_notebook", None)) and callable(getattr(v, "knobs", None))]
    call = r"\.from_notebook\(globals\(\), PARAMETERS\)"
    found = {c for c in classes if re.search(rf"\b{c.__name__}{call}", source)}
    assert len(found) == 1, f"{name}: no config cell calling XConfig.from_notebook"
    return found.pop()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_are_declared_once(name):
    """The parameters cell declares every knob of the study, and nothing writes them again: the
    config cell collects them with ``from_notebook`` (no 20-argument call that could miss one)."""
    import re

    path = ROOT / "notebooks" / f"{name}.ipynb"
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0].rstrip().splitlines()[-1].startswith("PARAMETERS = dir()"), name
    config = _study_config(name, "\n".join(code))
    declared = set(pm.inspect_notebook(str(path))) - {"PARAMETERS"}
    assert declared == set(config.knobs()), name
    for knob in config.knobs():
        assert not re.search(rf"\b{knob}={knob}\b", "\n".join(code[1:])), (name, knob)


def test_source_notebooks_are_clean():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert "parameters" in code[0]["metadata"].get("tags", []), path.name
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), (
            f"{path.name} has outputs in git")
        src = "".join("".join(c["source"]) for c in code)
        assert "sys.path" not in src, f"{path.name} patches sys.path"
        assert nb["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_book_builds_in_smoke_profile(smoke_book):
    """The smoke book (built once per session by the ``smoke_book`` fixture)."""
    html = smoke_book.html
    assert (html / "index.html").is_file()
    theory = html / "book" / "generated" / "theory.html"
    page = theory.read_text()
    assert "<img" in page and "Reproduction record" in page
    record = page[page.index("Reproduction record"):]
    assert "<table" in record and "confirmed" in record  # the claim table renders as a table
    for nb in (smoke_book.src / book.GENERATED).glob("*.ipynb"):
        assert book.error_outputs(nb) == []
    assert "book/intro.html" in (html / "index.html").read_text()  # opens with the intro
    assert "generated/theory.html" in (html / "book" / "intro.html").read_text()
