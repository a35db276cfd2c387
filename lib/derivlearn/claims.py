"""Claim tables: claim | paper | ours | verdict | deviation, one per study chapter.

Verdicts are computed by the study from its numbers; this module only holds and renders them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

VERDICTS = ("confirmed", "partly confirmed", "not confirmed", "not tested")


@dataclass(frozen=True)
class Claim:
    """One row of a reproduction record."""

    claim: str
    paper: str
    ours: str
    verdict: str
    deviation: str = ""
    detail: str = ""
    """What the decisive number in ``ours`` rests on, beyond one line (shown in a dropdown under
    the table, numbered like the rows; the house rule: no long cells)."""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"parameter 'verdict': got {self.verdict!r}; allowed: {VERDICTS}")


def verdict(ok: bool, partly: bool = False) -> str:
    """``'confirmed'`` if ok, else ``'partly confirmed'`` if partly, else ``'not confirmed'``."""
    return VERDICTS[0] if ok else VERDICTS[1] if partly else VERDICTS[2]


def claim_table(claims: Iterable[Claim]):
    """A pandas DataFrame with the six columns, ready to display."""
    import pandas as pd

    return pd.DataFrame([asdict(c) for c in claims],
                        columns=["claim", "paper", "ours", "verdict", "deviation", "detail"])


BADGE = {"confirmed": "bdg-success", "partly confirmed": "bdg-warning",
         "not confirmed": "bdg-danger", "not tested": "bdg-muted"}
"""The sphinx-design badge role of each verdict ("not tested" is grey: the book's theme draws
``bdg-secondary`` orange, next to "partly confirmed")."""


def badge(verdict_: str) -> str:
    """A verdict as a MyST sphinx-design badge, e.g. ``{bdg-success}`confirmed```."""
    if verdict_ not in BADGE:
        raise ValueError(f"parameter 'verdict_': got {verdict_!r}; allowed: {VERDICTS}")
    return f"{{{BADGE[verdict_]}}}`{verdict_}`"


CARD_CLASSES = "phone-cards claim-cards"
"""CSS classes of the block around a claim table: on a phone each row becomes a card."""


def to_markdown(claims: Iterable[Claim], rules_title: str = "How each verdict is decided",
                source: str = "the paper", paper: Callable[[Claim], str] | None = None,
                details_title: str = "More on each result") -> str:
    """The claim table as MyST Markdown (rendered with ``IPython.display.Markdown`` under
    ``nb_render_markdown_format: myst``).

    The rules that decide the verdicts come first, once, numbered like the rows, in a dropdown;
    then one row per claim: the verdict as a badge first (so that it stays in view on a phone),
    the claim with the paper's statement under it, and ours. Three columns fit a 420 px screen.
    A claim's ``detail`` (what its one-line result rests on) goes to a second dropdown under the
    table, numbered like the rows.

    Args:
        source: what the claims' statements are quoted from, said once in the header.
        paper: the statement shown for a claim (default: its ``paper``), e.g. without a label
            that ``source`` already gives.
        details_title: the title of the dropdown with the claims' details.
    """
    claims = list(claims)

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    rows = []
    # an item per claim that has one, with the row's number written out (a Markdown ordered
    # list would renumber 1, 2, 4 as 1, 2, 3)
    rules = [f"- **{i}. {c.claim}.** {c.deviation}" for i, c in enumerate(claims, 1) if c.deviation]
    if rules:
        rows += [f":::{{dropdown}} {rules_title}", *rules, ":::", ""]
    # on a phone each row becomes a card (book/_static/derivlearn.css: phone-cards, claim-cards)
    rows += [f":::{{div}} {CARD_CLASSES}", "",
             f"| verdict | claim ({cell(source)}) | ours |", "|---|---|---|"]
    for i, c in enumerate(claims, 1):
        said = c.paper if paper is None else paper(c)
        rows.append(f"| {badge(c.verdict)} | {i}. {cell(c.claim)} (*{cell(said)}*) | {cell(c.ours)} |")
    rows += ["", ":::"]
    more = [f"- **{i}. {c.claim}.** {c.detail}" for i, c in enumerate(claims, 1) if c.detail]
    if more:
        rows += ["", f":::{{dropdown}} {details_title}", *more, ":::"]
    return "\n".join(rows)


def to_records(claims: Iterable[Claim]) -> list[dict[str, str]]:
    """The claim table for ``summary.json``: one dict per claim with the keys claim, paper,
    ours, verdict and rule (the rule that decides the verdict, with the settings it rests on),
    and ``detail`` where the claim has one (what its one-line result rests on)."""
    return [{"claim": c.claim, "paper": c.paper, "ours": c.ours, "verdict": c.verdict,
             "rule": c.deviation} | ({"detail": c.detail} if c.detail else {}) for c in claims]
