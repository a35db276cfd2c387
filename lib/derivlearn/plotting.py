"""One figure style for the whole book."""

from __future__ import annotations

import math
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
        "figure.dpi": 160,  # the notebooks' PNGs: sharp at 640 CSS px on a 2x phone screen
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


def tick_label(v: float, _pos=None) -> str:
    """A log axis's tick label: plain decimals from 0.001 to 9999, else m×10^k."""
    if v <= 0:
        return ""
    if 1e-3 <= v < 1e4:
        return f"{v:g}"
    k = math.floor(math.log10(v) + 1e-9)
    m = v / 10**k
    return f"$10^{{{k}}}$" if abs(m - 1) < 1e-6 else f"${m:g}\\times 10^{{{k}}}$"


def log_x_at(ax, values) -> None:
    """A log x axis ticked and labelled at ``values`` only (the sizes used), no minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    values = sorted({float(v) for v in values})
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(values))
    ax.xaxis.set_major_formatter(FuncFormatter(tick_label))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(values[0] / 1.25, values[-1] * 1.25)


def log_y(ax) -> None:
    """A log y axis with a few labelled ticks (decades, or 1-2-5 steps inside a short range) and
    unlabelled minor ticks, so that no labels overprint."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    lo, hi = max(lo, 1e-12), max(hi, 1e-12)
    pad = (hi / lo) ** 0.04 if hi > lo else 1.1  # a margin, so that no curve runs along an edge
    lo, hi = lo / pad, hi * pad
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for subs in ((1,), (1, 3), (1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in subs if lo <= m * 10.0**k <= hi]
        if len(ticks) >= 3:
            break
    if len(ticks) > 6:  # a long range: every other decade
        ticks = ticks[::2]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(tick_label))
    ax.yaxis.set_minor_locator(LogLocator(subs="all"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(lo, hi)
