"""Claim tables: claim | paper | ours | verdict | deviation, one per study chapter.

Verdicts are computed by the study from its numbers; this module only holds and renders them.
"""

from __future__ import annotations

from collections.abc import Iterable
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

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"parameter 'verdict': got {self.verdict!r}; allowed: {VERDICTS}")


def verdict(ok: bool, partly: bool = False) -> str:
    """``'confirmed'`` if ok, else ``'partly confirmed'`` if partly, else ``'not confirmed'``."""
    return VERDICTS[0] if ok else VERDICTS[1] if partly else VERDICTS[2]


def claim_table(claims: Iterable[Claim]):
    """A pandas DataFrame with the five columns, ready to display."""
    import pandas as pd

    return pd.DataFrame([asdict(c) for c in claims],
                        columns=["claim", "paper", "ours", "verdict", "deviation"])


def to_markdown(claims: Iterable[Claim]) -> str:
    """The claim table as a Markdown table (rendered with ``IPython.display.Markdown``)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    rows = ["| claim | paper | ours | verdict | deviation |", "|---|---|---|---|---|"]
    for c in claims:
        rows.append("| " + " | ".join(cell(x) for x in (c.claim, c.paper, c.ours,
                                                        f"**{c.verdict}**", c.deviation)) + " |")
    return "\n".join(rows)


def to_records(claims: Iterable[Claim]) -> list[dict[str, str]]:
    """The claim table for ``summary.json``: one dict per claim with the keys claim, paper,
    ours, verdict and rule (the rule that decides the verdict, with the settings it rests on)."""
    return [{"claim": c.claim, "paper": c.paper, "ours": c.ours, "verdict": c.verdict,
             "rule": c.deviation} for c in claims]
