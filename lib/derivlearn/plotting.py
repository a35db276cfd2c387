"""One figure style for the whole book."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl

PALETTE: tuple[str, ...] = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                            "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
PAPER_MARKER = {"marker": "*", "s": 90, "color": "black", "zorder": 5, "label": "paper"}
"""Scatter style for numbers read from a paper, drawn next to ours."""


def use_style() -> None:
    """Set the book's matplotlib defaults (call once per notebook)."""
    mpl.rcParams.update({
        "figure.figsize": (7.0, 4.2),
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": mpl.cycler(color=list(PALETTE)),
        "legend.frameon": False,
        "font.size": 10,
    })


def band(ax, x: Sequence[float], center: Sequence[float], lo: Sequence[float],
         hi: Sequence[float], label: str, color: str | None = None, **kw) -> None:
    """A line with a shaded uncertainty band."""
    (line,) = ax.plot(x, center, label=label, color=color, **kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
