"""House style of the chapters (book-style.md), checked on the source notebooks and summaries.

These catch the regressions a reader notices first: setup code shown before the chapter says
anything, a figure without a caption or alt text, Python reprs in a claim table, and the
project's internal words ("seed" for the papers a chapter started from, "issue") in text.
"""

import json
import re

import pytest

from derivlearn.book import toc_chapters
from derivlearn.store import repo_root

ROOT = repo_root()
CHAPTERS = toc_chapters(ROOT)
HIDDEN = {"hide-input", "remove-input", "remove-cell"}
REPR = re.compile(r"\[\]|\['|\bTrue\b|\bFalse\b|\bNone\b|\bnan\b")
INTERNAL = re.compile(r"\bseeds?\b|\bissues?\b", re.IGNORECASE)


def _cells(name):
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    for cell in nb["cells"]:
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        yield cell["cell_type"], set(cell.get("metadata", {}).get("tags", [])), cell.get("metadata", {}), src


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_visible_code_before_the_first_section(name):
    for kind, tags, _, src in _cells(name):
        if kind == "markdown" and re.search(r"^## ", src, re.MULTILINE):
            return
        if kind == "code":
            assert tags & HIDDEN, f"{name}: a visible code cell before the first section:\n{src[:200]}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_figure_has_a_caption_a_name_and_alt_text(name):
    for kind, _, meta, src in _cells(name):
        if kind != "code" or not re.search(r"plt\.show\(\)|display\(fig\b", src):
            continue
        nb = meta.get("mystnb", {})
        fig, img = nb.get("figure", {}), nb.get("image", {})
        assert fig.get("caption") and fig.get("name") and img.get("alt"), \
            f"{name}: a figure without caption, name or alt text:\n{src[:200]}"
        # on a phone the figure keeps a legible width and scrolls (book/_static/derivlearn.css)
        assert "phone-wide" in str(fig.get("classes", "")).split(), \
            f"{name}: a figure without the phone-wide class:\n{src[:200]}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_figures_written_in_markdown_are_phone_wide_too(name):
    """A figure directive in a Markdown cell (a glued figure, one inside a dropdown) carries the
    class itself."""
    for kind, _, _, src in _cells(name):
        if kind != "markdown":
            continue
        for block in re.findall(r"```\{(?:glue:)?figure\}.*?```", src, re.DOTALL):
            assert re.search(r"^:figclass:.*\bphone-wide\b", block, re.MULTILINE), \
                f"{name}: a figure without the phone-wide class:\n{block[:200]}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_internal_words_in_text(name):
    for kind, _, _, src in _cells(name):
        if kind == "markdown":
            text = re.sub(r"`[^`]*`|\{[a-z:]+\}`[^`]*`|\([^)]*\.(py|json|jsonl|ipynb)\)", "", src)
            hit = INTERNAL.search(text)
            around = text[max(0, hit.start() - 80):hit.end() + 80] if hit else ""
            assert hit is None, f"{name}: internal word {hit.group()!r} in: {around!r}"


@pytest.mark.parametrize("study", sorted(p.parent.name for p in (ROOT / "results").glob("*/summary.json")))
def test_claim_tables_read_in_words(study):
    summary = json.loads((ROOT / "results" / study / "summary.json").read_text())
    for c in summary.get("claims", []):
        for key in ("claim", "paper", "ours", "verdict"):
            hit = REPR.search(str(c.get(key, "")))
            assert hit is None, f"{study}: a Python repr {hit.group()!r} in the claims' {key}: {c[key]!r}"
        words = INTERNAL.search(" ".join(str(c.get(k, "")) for k in ("claim", "paper", "ours", "rule")))
        assert words is None, f"{study}: internal word {words.group()!r} in claim {c['claim']!r}"


def test_a_phone_wide_figure_keeps_its_caption_in_view_while_it_scrolls():
    css = (ROOT / "book" / "_static" / "derivlearn.css").read_text()
    rule = re.search(r"figure\.phone-wide figcaption\s*\{([^}]*)\}", css)
    assert rule and "position: sticky" in rule[1] and "left: 0" in rule[1]


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_answer_sits_right_under_the_question(name):
    """A chapter that computes its answer (``answer.show``) pastes it in its first cell, under
    the question, and the book removes the cell that computes it (book-style: answer first)."""
    from derivlearn import answer

    cells = list(_cells(name))
    shows = [(tags, src) for kind, tags, _, src in cells if kind == "code" and "answer.show(" in src]
    if not shows:
        return
    assert len(shows) == 1, f"{name}: one answer per chapter"
    (tags, _), = shows
    assert tags == {"remove-cell"}, f"{name}: the answer cell is removed from the page ({tags})"
    kind, _, _, first = cells[0]
    assert kind == "markdown" and first.rstrip().endswith(answer.paste()), name
