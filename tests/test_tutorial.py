"""The tutorial chapter: its smoke run, its derivative checks, its exercises and its size.

The chapter is executed once (profile ``smoke``) for the whole module. Its derivative checks
glue their errors (MyST-NB ``glue``, names ``check-*``) and write them to its summary, and the
tests read them from the executed notebook, so a check that breaks fails here, not only on the
page.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import papermill as pm
import pytest

from derivlearn import book
from derivlearn import setup_notebook as sn

ROOT = Path(__file__).resolve().parents[1]
NAME = "tutorial"
SOURCE = ROOT / "notebooks" / f"{NAME}.ipynb"
CHECKS = {
    # glued name: largest allowed error (float64 throughout)
    "check-func-gradient": 1e-12,   # torch.func against derivative_tensors, test function
    "check-func-hessian": 1e-10,
    "check-frame-gradient": 1e-6,   # FE frame: adjoint derivatives against central differences
    "check-frame-hessian": 1e-6,
    "check-gegp-slope": 1e-8,       # GE-GP: slope task against the slope of its mean
    "check-projection": 1e-12,      # DIPNet: grad f = grad g Phi^T
    "check-pde-jacobian": 1e-6,     # Poisson map: adjoint Jacobian against central differences
}
HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
SECTION = re.compile(r"^## (\d)\. ", re.MULTILINE)


def _source() -> dict:
    return json.loads(SOURCE.read_text())


def _text(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _sections(nb: dict) -> dict[int, list[dict]]:
    """The cells of each numbered section (``## 1.`` to ``## 6.``), up to the next heading."""
    out: dict[int, list[dict]] = {}
    current = None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and re.search(r"^## ", _text(cell), re.MULTILINE):
            m = SECTION.search(_text(cell))
            current = int(m.group(1)) if m else None
            if current is not None:
                out[current] = []
        if current is not None:
            out[current].append(cell)
    return out


def _glued(nb: dict) -> dict[str, str]:
    """Every glued value's plain-text form, by name."""
    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            meta = (o.get("metadata") or {}).get("scrapbook")
            if meta:
                text = o["data"].get(meta["mime_prefix"] + "text/plain", "")
                out[meta["name"]] = text if isinstance(text, str) else "".join(text)
    return out


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The chapter executed at the smoke profile, with empty results and cache folders."""
    folder = tmp_path_factory.mktemp("tutorial")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DERIVLEARN_RESULTS", str(folder / "results"))
        mp.setenv("DERIVLEARN_CACHE", str(folder / "cache"))
        mp.setenv("DERIVLEARN_PROGRESS", "0")
        mp.delenv("DERIVLEARN_SCHEDULER", raising=False)
        mp.delenv("DERIVLEARN_COMPUTE", raising=False)
        path = book.execute(NAME, "smoke", folder / "out", ROOT)
    return folder, json.loads(path.read_text()), path


def test_the_tutorial_follows_the_introduction():
    assert book.toc_chapters(ROOT)[0] == NAME


def test_smoke_run_is_clean_and_needs_no_records(executed):
    folder, nb, path = executed
    assert book.check_executed(path, "smoke") == []
    images = [o for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 4, "the chapter draws its figures"
    written = sorted(p.relative_to(folder / "results").as_posix()
                     for p in (folder / "results").rglob("*") if p.is_file())
    assert written == ["tutorial/summary.smoke.json"], f"the tutorial wrote {written}"
    total = float(_glued(nb)["runtime-total"])
    assert total < 180, f"the smoke run took {total:.0f} s"


def test_derivative_checks_are_small(executed):
    glued = _glued(executed[1])
    missing = sorted(set(CHECKS) - set(glued))
    assert not missing, f"checks not reported: {missing}"
    for name, limit in CHECKS.items():
        err = float(glued[name])
        assert math.isfinite(err) and 0 <= err < limit, f"{name}: {err:.2e} (limit {limit:.0e})"


def test_summary_holds_the_checks(executed):
    summary = json.loads((executed[0] / "results" / "tutorial" / "summary.smoke.json").read_text())
    assert summary["profile"] == "smoke" and "claims" not in summary  # no chapter of claims
    checks = summary["checks"]
    assert len(checks) == len(CHECKS)
    assert sorted(checks.values()) == sorted(float(v) for k, v in _glued(executed[1]).items()
                                             if k in CHECKS)


def test_checks_print_their_errors(executed):
    printed = "".join(_text({"source": o.get("text", "")}) for c in executed[1]["cells"]
                      for o in c.get("outputs", []) if o["output_type"] == "stream")
    for words in ("largest difference between the two routes", "from central differences",
                  "∇f − ∇g Φᵀ"):
        assert words in printed


def test_every_glued_name_is_defined(executed):
    glued = set(_glued(executed[1]))
    used = set()
    for cell in _source()["cells"]:
        if cell["cell_type"] == "markdown":
            used |= set(re.findall(r"\{glue(?::text)?\}`([\w-]+)", _text(cell)))
            used |= set(re.findall(r"```\{glue(?::figure)?\} ([\w-]+)", _text(cell)))
    assert used and used <= glued, f"used but not glued: {sorted(used - glued)}"


def test_each_section_shows_10_to_25_lines_and_ends_with_exercises():
    sections = _sections(_source())
    assert sorted(sections) == [1, 2, 3, 4, 5, 6]
    for number, cells in sections.items():
        visible = [ln for c in cells if c["cell_type"] == "code"
                   and not HIDDEN & set(c["metadata"].get("tags", []))
                   for ln in _text(c).splitlines() if ln.strip()]
        assert 10 <= len(visible) <= 25, (number, len(visible))
        exercises = [c for c in cells if c["cell_type"] == "markdown"
                     and re.match(rf"\(tutorial-ex{number}\d\)=\n\*\*Exercise {number}\.\d", _text(c))]
        assert 1 <= len(exercises) <= 2, (number, len(exercises))


PAGE_WIDTH = 76  # characters of code that fit the book's content width


def test_code_a_reader_can_see_fits_the_page():
    """Code cells (hidden input unfolds) and code blocks of the text wrap at the page width; the
    standard setup cell is shared by every chapter and is not this chapter's to wrap."""
    too_wide = []
    for i, cell in enumerate(_source()["cells"]):
        tags = set(cell["metadata"].get("tags", []))
        if cell["cell_type"] == "code" and not tags & {"remove-cell", sn.CELL_TAG}:
            shown = _text(cell)
        elif cell["cell_type"] == "markdown":
            shown = "\n".join(re.findall(r"```(?:python|bash)\n(.*?)```", _text(cell), re.DOTALL))
        else:
            continue
        too_wide += [(i, line) for line in shown.splitlines() if len(line) > PAGE_WIDTH]
    assert not too_wide, too_wide


def test_methods_follow_the_papers():
    """Section 4's loss is Hartmann et al.'s eq. 6 (the error summed over all partials of an
    order); section 5's DIPNet has the authors' input scaling, as in the DINO chapter."""
    sections = _sections(_source())
    code = {n: "".join(_text(c) for c in cells if c["cell_type"] == "code")
            for n, cells in sections.items()}
    assert 'partials="all", reduction="sum"' in code[4]
    assert code[4].count('"all", reduction="sum"') >= 3  # the batch, 4.1 and 4.2
    assert "input_scale=bases.authors_input_scale(phi)" in code[5]


def test_solutions_are_hidden_and_are_the_code_that_runs():
    cells = _source()["cells"]
    solutions = [i for i, c in enumerate(cells) if "solution" in c["metadata"].get("tags", [])]
    assert len(solutions) >= 6
    for i in solutions:
        assert "remove-cell" in cells[i]["metadata"]["tags"]
        text = _text(cells[i - 1])
        assert cells[i - 1]["cell_type"] == "markdown" and "::::{dropdown} Solution" in text
        assert ":open:" not in text  # hidden by default
        block = re.search(r"```python\n(.*?)\n```", text, re.DOTALL)
        assert block and block.group(1) == _text(cells[i]), f"solution of cell {i} differs"


def test_figures_have_captions_labels_and_alt_text():
    for cell in _source()["cells"]:
        fig = (cell["metadata"].get("mystnb") or {})
        if cell["cell_type"] == "code" and "plt.show()" in _text(cell):
            assert fig["figure"]["caption"] and fig["figure"]["name"].startswith("fig-tutorial-")
            assert len(fig["image"]["alt"]) > 40
        if cell["cell_type"] == "markdown":
            for block in re.findall(r"```\{glue:figure\}[^\n]*\n(.*?)```", _text(cell), re.DOTALL):
                assert ":alt: " in block
                assert re.search(r"^:name: fig-tutorial-", block, re.M), block  # numbered
                caption = "\n".join(x for x in block.splitlines() if not x.startswith(":"))
                assert len(caption.strip()) > 40, block  # the directive's body is its caption


def test_reader_facing_text_has_no_internal_words(executed):
    nb = executed[1]
    text = [_text(c) for c in nb["cells"] if c["cell_type"] == "markdown"]
    text += [_text({"source": o.get("text", "")}) for c in nb["cells"] for o in c.get("outputs", [])
             if o["output_type"] == "stream" and o["name"] == "stdout"]
    text += [str(c["metadata"].get("mystnb", "")) for c in nb["cells"]]
    for words in text:
        words = re.sub(r"```.*?```|`[^`]*`", "", words, flags=re.DOTALL)  # code is not prose
        hit = re.search(r"\b(seeds?|issues?|specs?)\b", words, re.IGNORECASE)
        assert hit is None, words[max(0, hit.start() - 80):hit.end() + 80]


def test_source_is_clean():
    nb = _source()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"]["tags"]
    assert _text(code[0]).rstrip().splitlines()[-1].startswith("PARAMETERS = dir()")
    assert set(pm.inspect_notebook(str(SOURCE))) - {"PARAMETERS"} == {"profile"}
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    setup = code[1]  # the chapters' standard setup cell, then nothing that reads results/
    assert sn.is_setup_cell(setup) and _text(setup) == sn.cell_source(sn.cell_url(_text(setup)))
    assert "results/" not in "".join(_text(c) for c in code[2:])


@pytest.mark.parametrize("params, name", [({"profile": "huge"}, "profile"),
                                          ({"profile": "smoke", "steps": 3}, "steps")])
def test_bad_parameters_are_refused_by_the_notebook(params, name, tmp_path):
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(SOURCE), str(tmp_path / "o.ipynb"), parameters=params,
                            kernel_name="python3", cwd=str(ROOT / "notebooks"), progress_bar=False)
    assert err.value.ename == "ValueError" and f"'{name}'" in err.value.evalue
