"""Figures, tables and text of the higher-order Sobolev chapter (:mod:`.higher_order`).

Everything here reads a :func:`~derivlearn.studies.higher_order.long_frame`, the
:class:`~derivlearn.studies.higher_order.Cells` of a reading, or the summary; nothing computes
runs. Every figure is drawn also without records (its panels then say so), so that the chapter
renders from a record set in which the runs of its plan are still missing.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from derivlearn import functions as testfns
from derivlearn import plotting
from derivlearn.claims import VERDICTS, Claim, badge
from derivlearn.studies import higher_order as ho

WIDTH = 7.5
"""Figure width in inches (the book's content width is about 7-8 in)."""
LEGEND = 9
"""Legend font size (pt)."""
NO_RUNS = "no runs recorded yet"
FUNCTION_STYLE = {"sum_squares": ("C0", "o"), "matyas": ("C1", "s"), "six_hump_camel": ("C2", "^"),
                  "michalewicz": ("C3", "D"), "branin": ("C4", "v")}
SIZE_MARKERS = ("o", "s", "^", "D", "v")


def size_colors(sizes: Sequence[int]) -> dict[int, Any]:
    """A sequential colour per training size (N is ordinal): light to dark."""
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    s = sorted(sizes)
    return {n: cmap(0.85 - 0.75 * i / max(1, len(s) - 1)) for i, n in enumerate(s)}


def _grid(n_panels: int, height: float = 2.5, legend_panel: bool = True):
    """Panels in rows of at most three; with ``legend_panel`` one spare panel is kept (off)
    for the legend when the last row has room. *Returns* (fig, axes list, spare axis or None)."""
    import matplotlib.pyplot as plt

    ncol = min(3, max(1, n_panels + (1 if legend_panel and n_panels >= 3 else 0)))
    total = n_panels + (1 if legend_panel and n_panels % ncol else 0)
    nrow = max(1, math.ceil(total / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(WIDTH, height * nrow + 0.4), squeeze=False)
    flat = list(axes.flat)
    spare = None
    for ax in flat[n_panels:]:
        ax.axis("off")
    if legend_panel and len(flat) > n_panels:
        spare = flat[n_panels]
    return fig, flat[:n_panels], spare


def _empty(ax, text: str = NO_RUNS) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=LEGEND,
            color="0.4")


def _legend(fig, spare, handles, labels, ncol: int = 3) -> None:
    """Lay the figure out and draw its legend once: in the spare panel, or below the panels."""
    if spare is not None:
        fig.tight_layout()
        spare.legend(handles, labels, loc="center", fontsize=LEGEND, frameon=False)
        return
    rows = math.ceil(len(labels) / ncol)
    h = fig.get_figheight()
    fig.tight_layout(rect=(0, (0.3 * rows + 0.15) / h, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=LEGEND, frameon=False)


def _agg(values, how: str) -> float:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v):
        return math.nan
    return float({"mean": np.mean, "median": np.median, "min": np.min, "max": np.max}[how](v))


def error_figure(long, cfg: ho.HigherOrderConfig, units: str = "original"):
    """Fig. 1 as error against the maximal derivative order: one panel per example function,
    one colour per N (mean over repetitions as a line, median as open circles, the range of
    the repetitions shaded)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    col = "error" if units == "original" else "error_z"
    main = ho.main_rows(long)
    colors = size_colors(cfg.sizes)
    fig, axes, spare = _grid(len(cfg.examples))
    for i, (ax, f) in enumerate(zip(axes, cfg.examples, strict=True)):
        drawn = False
        for n in sorted(cfg.sizes):
            sel = main[(main["function"] == f) & (main["N"] == n)]
            ks = [k for k in cfg.orders if np.isfinite(_agg(sel[sel["order"] == k][col], "mean"))]
            if not ks:
                continue
            stats = {h: [_agg(sel[sel["order"] == k][col], h) for k in ks]
                     for h in ("mean", "median", "min", "max")}
            ax.fill_between(ks, stats["min"], stats["max"], color=colors[n], alpha=0.15, linewidth=0)
            ax.plot(ks, stats["mean"], "-", color=colors[n], lw=1.6)
            ax.plot(ks, stats["median"], "o", mfc="none", color=colors[n], ms=5)
            # a mean that rests on a stalled repetition gets a black cross
            bad = [(k, m) for k, m in zip(ks, stats["mean"], strict=True)
                   if bool(sel[sel["order"] == k]["stalled"].astype(bool).any())]
            if bad:
                ax.plot([k for k, _ in bad], [m for _, m in bad], "x", color="black", ms=6, mew=1.4)
            drawn = True
        if drawn:
            ax.set_yscale("log")
        else:
            _empty(ax)
        ax.set_title(ho.label(f), fontsize=10)
        ax.set_xticks(list(cfg.orders))
        if i % 3 == 0:
            ax.set_ylabel(ho.UNIT_LABEL[units])
        if i >= len(cfg.examples) - 3:
            ax.set_xlabel("maximal derivative order")
    handles = [Line2D([], [], color=colors[n], lw=1.6) for n in sorted(cfg.sizes)]
    labels = [f"N = {n}" for n in sorted(cfg.sizes)]
    handles += [Line2D([], [], color="0.3", lw=1.6),
                Line2D([], [], color="0.3", marker="o", mfc="none", ls=""), Patch(color="0.3", alpha=0.15),
                Line2D([], [], color="black", marker="x", ls="", mew=1.4)]
    labels += ["mean over repetitions", "median", "range of repetitions", "mean with a stalled repetition"]
    _legend(fig, spare, handles, labels)
    return fig


def category_frame(long, cfg: ho.HigherOrderConfig):
    """Per (category, function, order, N): the mean over repetitions of the error (original
    units) divided by value training's mean error of the same function and N (``rel``), and
    whether either cell has a stalled repetition (``stalled``)."""
    import pandas as pd

    main = ho.main_rows(long)
    main = main[main["function"].isin(cfg.functions) & main["order"].isin(cfg.category_orders)
                & main["N"].isin(cfg.category_sizes)]
    if not len(main):
        return pd.DataFrame(columns=["category", "function", "order", "N", "rel", "stalled"])
    g = main.assign(stalled=main["stalled"].astype(bool)).groupby(["category", "function", "order", "N"])
    m = g.agg(error=("error", "mean"), stalled=("stalled", "any")).reset_index()
    base = m[m["order"] == 0].set_index(["function", "N"])
    m["rel"] = [e / base["error"].get((f, n), math.nan) for e, f, n in zip(m["error"], m["function"], m["N"],
                                                                             strict=True)]
    # a ratio rests on a stalled repetition if its own cell or value training's has one
    m["stalled"] = [bool(st) or bool(base["stalled"].get((f, n), False))
                    for st, f, n in zip(m["stalled"], m["function"], m["N"], strict=True)]
    return m


def category_figure(long, cfg: ho.HigherOrderConfig):
    """Fig. 2: per category, the error relative to value training against the maximal order,
    one colour per N: the mean over the category's functions (line) and their range (shaded)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    m = category_frame(long, cfg)
    cats = [c for c in ("bowl", "plate", "valley", "steep", "other")
            if any(testfns.get(f).category == c for f in cfg.functions)]
    colors = size_colors(cfg.category_sizes)
    fig, axes, spare = _grid(len(cats))
    for i, (ax, cat) in enumerate(zip(axes, cats, strict=True)):
        drawn = False
        for n in sorted(cfg.category_sizes):
            sel = m[(m["category"] == cat) & (m["N"] == n)]
            ks = [k for k in cfg.category_orders if np.isfinite(_agg(sel[sel["order"] == k]["rel"], "mean"))]
            if not ks:
                continue
            mean = [_agg(sel[sel["order"] == k]["rel"], "mean") for k in ks]
            lo = [_agg(sel[sel["order"] == k]["rel"], "min") for k in ks]
            hi = [_agg(sel[sel["order"] == k]["rel"], "max") for k in ks]
            ax.fill_between(ks, lo, hi, color=colors[n], alpha=0.15, linewidth=0)
            ax.plot(ks, mean, "-o", color=colors[n], lw=1.6, ms=4)
            bad = [(k, v) for k, v in zip(ks, mean, strict=True)
                   if bool(sel[sel["order"] == k]["stalled"].astype(bool).any())]
            if bad:  # a category mean that rests on a stalled repetition
                ax.plot([k for k, _ in bad], [v for _, v in bad], "x", color="black", ms=6, mew=1.4)
            drawn = True
        if drawn:
            ax.axhline(1.0, color="black", lw=0.8)
            plotting.log_y(ax)  # a few labelled ticks (1-2-5 in a short range), no overprinted minors
        else:
            _empty(ax)
        n_f = sum(testfns.get(f).category == cat for f in cfg.functions)
        ax.set_title(f"{ho.label(cat)} ({n_f} functions)", fontsize=10)
        ax.set_xticks(list(cfg.category_orders))
        if i % 3 == 0:
            ax.set_ylabel("error / value-training error")
        if i >= len(cats) - 3:
            ax.set_xlabel("maximal derivative order")
    handles = [Line2D([], [], color=colors[n], marker="o", lw=1.6, ms=4)
               for n in sorted(cfg.category_sizes)]
    labels = [f"N = {n}" for n in sorted(cfg.category_sizes)]
    handles += [Patch(color="0.3", alpha=0.15), Line2D([], [], color="black", lw=0.8),
                Line2D([], [], color="black", marker="x", ls="", mew=1.4)]
    labels += ["range over the functions", "value training", "rests on a stalled repetition"]
    _legend(fig, spare, handles, labels)
    return fig


def table3_figure(c: ho.Cells, cfg: ho.HigherOrderConfig):
    """Table III, ours against the paper's, one panel per fixed-rho definition: each point a
    (function, N, order) cell with our quotient over the paper's, the diagonal the paper's
    table; the panel title gives the definition's distance to the paper (mean |log10 ratio|)
    over the cells every definition has (:func:`derivlearn.studies.higher_order.table3_distances`),
    and the cells it rests on."""
    from matplotlib.lines import Line2D

    sizes = sorted(set(cfg.table_sizes))
    markers = {n: SIZE_MARKERS[i % len(SIZE_MARKERS)] for i, n in enumerate(sizes)}
    fig, axes, _ = _grid(len(cfg.rho_definitions), height=2.4, legend_panel=False)
    lim = (0.01, 3000)  # quotients beyond are drawn at the edge
    ks = [k for k in cfg.orders if k]
    # distances over the same cells for every definition (the sizes all of them have); the main
    # definition's over every size only while the others have none
    dists = ho.table3_distances(cfg, c)
    for i, (ax, d) in enumerate(zip(axes, cfg.rho_definitions, strict=True)):
        t3 = ho.table3(c, d, cfg.examples, sizes, ks)
        drawn = False
        for f in cfg.examples:
            color, _ = FUNCTION_STYLE.get(f, ("0.5", "o"))
            for n in sizes:
                pts = [(ho.paper_quotient(f, n, k), q) for k, q in t3[f][n].items()]
                pts = [(p, q) for p, q in pts if p is not None and q is not None and q > 0]
                if pts:
                    p, q = zip(*pts, strict=True)
                    ax.scatter(p, np.clip(q, *lim), color=color, marker=markers[n], s=22, alpha=0.85,
                               clip_on=False)  # a quotient beyond the axes sits on its edge, whole
                    drawn = True
        ax.plot(lim, lim, "--", color="black", lw=0.8)
        ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim)
        at = dists[d] if dists[d]["cells"] else dists[d].get("all_sizes", dists[d])
        sub = (f"distance {at['distance']:.2f}, {at['cells']} cells" if at["distance"] is not None else
               "distance: when complete" if drawn else NO_RUNS)  # short: three titles share a row
        ax.set_title(ho.rho_label(d, short=True) + "\n" + sub, fontsize=9)
        if not drawn:
            _empty(ax)
        if i % 3 == 0:
            ax.set_ylabel("ours: fixed / adaptive")
        if i >= len(cfg.rho_definitions) - 3:
            ax.set_xlabel("paper: fixed / adaptive")
    handles = [Line2D([], [], color=FUNCTION_STYLE.get(f, ("0.5", "o"))[0], marker="o", ls="")
               for f in cfg.examples]
    labels = [ho.label(f) for f in cfg.examples]
    handles += [Line2D([], [], color="0.3", marker=markers[n], ls="") for n in sizes]
    labels += [f"N = {n}" for n in sizes]
    handles.append(Line2D([], [], color="black", ls="--", lw=0.8))
    labels.append("ours = paper")
    # matplotlib fills a legend column by column: interleave, so that the functions make the
    # first row and the sizes (then the diagonal) the second
    nf, ncol = len(cfg.examples), max(len(cfg.examples), len(labels) - len(cfg.examples))
    order = [i for c in range(ncol) for i in (c, nf + c) if i < len(labels) and (i < nf) == (i == c)]
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    rows = math.ceil(len(cfg.rho_definitions) / 3)
    fig.set_size_inches(WIDTH, 2.6 * rows + 1.0)
    _legend(fig, None, handles, labels, ncol=ncol)
    return fig


def adaptive_figure(long, cfg: ho.HigherOrderConfig, n: int | None = None):
    """What the adaptive rule did in the runs of the highest order at one N (default: the
    middle Table III size): per loss order j, the fraction of training steps in which it
    rescaled the order (left) and the mean factor rho_j it applied (right), one line per
    example function (means over the repetitions)."""
    import matplotlib.pyplot as plt

    diag = ho.adaptive_diagnostics(long)
    kmax = max(cfg.orders)
    n = n if n is not None else sorted(cfg.table_sizes)[len(cfg.table_sizes) // 2]
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 3.0))
    sel = diag[(diag["N"] == n) & (diag["order"] == kmax)] if len(diag) else diag
    # the functions whose lines lie highest (most often rescaled) first, with the largest rings:
    # lines that coincide (at 100 %) then show as concentric rings
    level = {f: float(sel[sel["function"] == f]["fired"].mean()) if len(sel) else 0.0 for f in cfg.examples}
    order = sorted(cfg.examples, key=lambda f: -(level[f] if np.isfinite(level[f]) else -1))
    for i, f in enumerate(order):
        g = sel[sel["function"] == f] if len(sel) else sel
        if not len(g):
            continue
        color, _ = FUNCTION_STYLE.get(f, ("0.5", "o"))
        ms = 4 + 2.5 * (len(cfg.examples) - 1 - i)
        style = {"marker": "o", "color": color, "ms": ms, "mfc": "none", "mew": 1.3}
        a.plot(g["j"], 100 * g["fired"], "-", label=ho.label(f), **style)
        b.plot(g["j"], g["mean_rho"], "-", **style)
    a.set(xlabel="derivative order j in the loss", ylabel="steps that rescale order j (%)",
          ylim=(-3, 103), xticks=list(range(1, kmax + 1)))
    b.set(xlabel="derivative order j in the loss", ylabel=r"mean $\rho_j$ applied", yscale="log",
          xticks=list(range(1, kmax + 1)))
    if len(sel):
        a.legend(fontsize=LEGEND, frameon=False)
    else:
        _empty(a)
        _empty(b)
    fig.suptitle(f"order-{kmax} runs, N = {n}", fontsize=10)
    fig.tight_layout()
    return fig


def sci(x: float) -> str:
    """A number as a power of ten in plain text, one significant figure: 7 × 10⁻¹³ (between
    0.01 and 1000 as a plain number)."""
    if x == 0 or 0.01 <= abs(x) < 1000:
        return f"{x:.1g}"
    return ho.pow10(x, 1)


def _fmt(x: float | None) -> str:
    return ho._g(x)


UNLEARNED = {"fixed": "*", "adaptive": "°", "both": "*°", "": ""}
"""Marks a Table III quotient whose fixed-ρ (``*``) or adaptive (``°``) run did not learn in most
of its repetitions (:meth:`derivlearn.studies.higher_order.Cells.quotient_unlearned`)."""
UNLEARNED_NOTE = ("\\* The fixed-ρ network did not learn in most of its repetitions (z-scored test MSE "
                  "above 0.3, whatever its best epoch): the adaptive ρ wins because the fixed one fails, "
                  "and the quotient's size measures that failure. ° The adaptive network did not learn: "
                  "the quotient is small because the adaptive ρ fails. \\*° Neither learned.")


def table3_main(c: ho.Cells, cfg: ho.HigherOrderConfig, definition: str | None = None):
    """Table III under one definition (default: the main one), every size: rows (function,
    N), columns the orders, each cell 'ours (paper)'. *Returns* a pandas DataFrame."""
    import pandas as pd

    d = definition or cfg.rho_definitions[0]
    ks = [k for k in cfg.orders if k]
    t3 = ho.table3(c, d, cfg.examples, sorted(cfg.table_sizes), ks)
    rows = []
    for f in cfg.examples:
        for n in sorted(cfg.table_sizes):
            row = {"function": ho.label(f), "N": n}
            for k in ks:
                p = ho.paper_quotient(f, n, k)
                mark = UNLEARNED[c.quotient_unlearned(f, k, n, d)] if t3[f][n][k] is not None else ""
                row[f"order {k}"] = f"{_fmt(t3[f][n][k])}{mark} ({_fmt(p)})"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["function", "N"])


KISSEL_CODE = ("[the second author's first-order code]"
               "(https://github.com/MatthiasKi/SobolevTrainingApproxDerivatives)")
"""The second author's public first-order Sobolev code (TensorFlow 1.x), the only code of the
authors found; the higher-order code is not public."""

ZERO_SHORT = {"one": "ρ = 1", "eps": "1/(Var+ε)", "drop": "left out"}
"""The rule where an order's variance is zero, in a table header."""


def ablation_table(c: ho.Cells, cfg: ho.HigherOrderConfig, n: int | None = None):
    """Table III at one N (default: the first ablation size) under every definition, the
    paper's quotient first, and each definition's distance to the paper in the last row.
    *Returns* a pandas DataFrame of formatted numbers, with two header rows (the data the
    variance is taken on, then the rule where it is zero)."""
    import pandas as pd

    n = n if n is not None else (cfg.ablation_sizes or cfg.table_sizes)[0]
    frame = ho.table3_frame(c, cfg.rho_definitions, cfg.examples, n, cfg.orders)
    if not len(frame):
        return frame
    out = frame.copy()
    names = {ho.label(f): f for f in cfg.examples}
    by_label = {ho.rho_label(d, short=True): d for d in cfg.rho_definitions}
    for col in out.columns[2:]:
        d = by_label.get(col)
        def mark(fn, k, d=d) -> str:
            return UNLEARNED[c.quotient_unlearned(names[fn], int(k), n, d)] if d and fn in names else ""

        out[col] = [_fmt(v) + mark(fn, k) if v is not None and not (isinstance(v, float) and math.isnan(v))
                    else "–" for v, fn, k in zip(out[col], frame["function"], frame["order"], strict=True)]
    out.loc[out.index[-1], "paper"] = ""
    out = out.set_index(["function", "order"])
    # two header rows (data, then the rule where Var = 0), so the table fits a page's column
    top = {"zscored": "transformed", "original": "original units"}
    names = {ho.rho_label(d, short=True): d for d in cfg.rho_definitions}
    cols = [("", "paper")] + [(top[ho.FIXED_RHO[names[c]][0]], ZERO_SHORT[ho.FIXED_RHO[names[c]][1]])
                              for c in out.columns[1:]]
    out.columns = pd.MultiIndex.from_tuples(cols)
    return out


def verdicts_by_definition(summary: Mapping[str, Any], cfg: ho.HigherOrderConfig) -> str:
    """The Table III claims' verdicts per fixed-rho definition, at the sizes every definition
    has: one row per definition, one column per claim (numbered as in the claim table), the
    claims named once above it (Markdown with badges); empty text when no size has every
    definition yet."""
    first = len(ho.FIG_RULES) + 1
    cols, names = [], []
    sizes: list[int] = []
    for i, (name, _, _) in enumerate(ho.TABLE3_RULES):
        d = summary["claim_details"][name]["by_reading"]["original/mean"]
        sizes = d["ablation_sizes"]
        if d["by_definition"]:
            cols.append((first + i, d["by_definition"]))
            names.append(f"{first + i}: {name[0].lower()}{name[1:]}")
    if not cols:
        return ""
    head = ("| fixed ρ | " + " | ".join(f"claim {k}" for k, _ in cols) + " |\n"
            + "|---" * (len(cols) + 1) + "|")
    rows = [f"| {ho.rho_label(x, short=True)} | " + " | ".join(badge(b[x]["verdict"]) for _, b in cols) + " |"
            for x in cfg.rho_definitions]
    return (f"**Verdicts per fixed-ρ definition** at N = {', '.join(map(str, sizes))}, where every "
            f"definition has every cell. Claims {'; '.join(names)}.\n\n" + head + "\n" + "\n".join(rows))


def partials_table(summary: Mapping[str, Any], cfg: ho.HigherOrderConfig):
    """The unique-over-all partials error ratio (``summary["partials"]``): one row per example
    function in the chapter's order, one column per order. *Returns* a pandas DataFrame of
    formatted numbers (empty without records)."""
    import pandas as pd

    part = summary.get("partials") or {}
    ks = sorted({int(k) for d in part.values() for k in d})
    def ratio(f: str, k: int) -> str:
        return ho._g((part[f].get(str(k)) or {}).get("unique_over_all"))

    rows = [{"function": ho.label(f), **{f"order {k}": ratio(f, k) for k in ks}}
            for f in cfg.examples if f in part]
    return pd.DataFrame(rows)


def partials_words(summary: Mapping[str, Any], cfg: ho.HigherOrderConfig) -> str:
    """One sentence on the unique/all ratios: their median, how many lie in [0.5, 2], the largest."""
    part = summary.get("partials") or {}
    r = [(v["unique_over_all"], f, int(k)) for f, d in part.items() for k, v in d.items()
         if v.get("unique_over_all") is not None]
    if not r:
        return ""
    vals = sorted(x for x, _, _ in r)
    top = max(r)
    return (f"Median ratio {ho._g(float(np.median(vals)))}; between 0.5 and 2 in "
            f"{sum(0.5 <= x <= 2 for x in vals)} of {len(vals)} (function, order) cells; the largest, "
            f"{ho._g(top[0])}, on {ho.label(top[1])} at order {top[2]}. The all-partials loss counts a "
            "mixed partial as often as it occurs among the $2^k$, so it weights the mixed partials "
            "more; at order 1 there is none in two dimensions, and the two losses are the same run.")


def settings_table(cfg: ho.HigherOrderConfig):
    """Where our settings follow the paper, where they differ, and our reading where it is
    silent. *Returns* a pandas DataFrame (setting, paper, ours)."""
    import pandas as pd

    rows = [
        ("loss per derivative order", "eq. 6: ρ_j times the error summed over the 2^j partials",
         "summed over all 2^j partials, as printed" if cfg.reduction == "sum" else
         "mean over the 2^j partials (not the paper's)"),
        ("adaptive ρ", "Alg. 1: per batch, ρ_j = e_0 / e_j if e_j > 10 e_0, else 1",
         "the same, e_j the summed error of order j; ρ_j held constant in backpropagation "
         "(our reading: the paper does not say)"),
        ("fixed ρ", "'inverse squared standard deviation for each derivative order'",
         f"six readings (transformed or original targets; where Var = 0: ρ = 1, 1/(Var + ε) "
         f"with ε = {ho.RHO_EPS:g}, or the order left out); main: "
         f"{ho.rho_label(cfg.rho_definitions[0])}"),
        ("'Error'", "not defined", "test MSE in the function's own units (our reading: it matches "
         "the axes of the paper's Fig. 1 and "
         f"{KISSEL_CODE}); z-scored beside"),
        ("initialisation", "not stated", "Glorot-uniform weights, zero biases (our reading: the "
         "default of the authors' framework, Keras, which that first-order code uses); at "
         "patience 10 some repetitions stall on it, because the zero biases make the start an odd "
         "function (see 'Stalled repetitions')" if cfg.init == "glorot" else "PyTorch's default"),
        ("derivative scaling (eq. 3)", "printed as (1/γ) α₁^r₁ α₂^r₂ d",
         "γ d / (α₁^r₁ α₂^r₂), the chain rule of eqs. 1-2 (the printed form inverts it)"),
        ("network, optimiser", "2 × 200 tanh, linear output; Adam, lr 10⁻³",
         f"2 × {cfg.width} tanh; Adam, lr {cfg.lr:g}"),
        ("batches, stopping", "10 batches per epoch; early stopping, patience 10",
         f"{cfg.n_batches} batches; patience {cfg.patience}, best validation epoch restored, "
         f"at most {cfg.max_epochs} epochs"),
        ("validation, test points", "4000, 4000", f"{cfg.n_val}, {cfg.n_test}"),
        ("repetitions", "10", str(cfg.reps)),
        ("training sizes", "Fig. 1: about 100-1000; Table III: 100, 550, 1000",
         f"Fig. 1: {', '.join(map(str, cfg.sizes))}; Table III: {', '.join(map(str, cfg.table_sizes))}"),
        ("precision", "not stated", cfg.dtype),
    ]
    return pd.DataFrame(rows, columns=["setting", "paper", "ours"]).set_index("setting")


SUBSCRIPTS = {"ρ_j": "ρⱼ", "2^j": "2ʲ", "e_0": "e₀", "e_j": "eⱼ"}


def settings_markdown(cfg: ho.HigherOrderConfig) -> str:
    """:func:`settings_table` as a Markdown table (every cell in full; the notation of the text)."""
    frame = settings_table(cfg)

    def cell(text: str) -> str:
        for a, b in SUBSCRIPTS.items():
            text = text.replace(a, b)
        return text.replace("|", "\\|")

    out = [":::{div} phone-cards settings-cards", "", "| setting | paper | ours |", "|---|---|---|"]
    out += [f"| {cell(str(k))} | {cell(str(r['paper']))} | {cell(str(r['ours']))} |"
            for k, r in frame.iterrows()]
    return "\n".join(out + ["", ":::"])  # on a phone, a card per setting (derivlearn.css)


def missing_table(missing: Sequence[Mapping[str, Any]], cfg: ho.HigherOrderConfig):
    """The runs of the plan without a record, counted per part of the plan and N. *Returns*
    a pandas DataFrame (empty when nothing is missing)."""
    import pandas as pd

    from derivlearn.store import canonical_json

    part_of = {canonical_json(c): p for p, cs in ho.plan(cfg).items() for c in cs}
    rows: dict[tuple[str, int], int] = {}
    for c in missing:
        key = (part_of.get(canonical_json(c), "?"), int(c["n_train"]))
        rows[key] = rows.get(key, 0) + 1
    order = {p: i for i, p in enumerate(ho.PARTS)}
    out = sorted(rows.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1]))
    return pd.DataFrame([(p, n, v) for (p, n), v in out], columns=["part of the plan", "N", "runs"])


STRONG = 0.2
"""The findings call a gain strong where the best Sobolev order's error is below this fraction of
value training's (a factor 5)."""


def best_order_ratios(summary: Mapping[str, Any], cfg: ho.HigherOrderConfig) -> dict[str, dict[int, float]]:
    """Per example function with every size recorded: the best Sobolev order's mean error over
    value training's, per N (adaptive ρ, original units)."""
    me = summary.get("mean_error", {})
    gain: dict[str, dict[int, float]] = {}
    for f in cfg.examples:
        e = me.get(f, {})
        per_n = {}
        for n in cfg.sizes:
            v0 = (e.get("0") or {}).get(str(n))
            vs = [(e.get(str(k)) or {}).get(str(n)) for k in cfg.orders if k]
            if v0 and all(v is not None for v in vs) and vs:
                per_n[n] = min(vs) / v0
        if len(per_n) == len(cfg.sizes):
            gain[f] = per_n
    return gain


def gain_words(summary: Mapping[str, Any], cfg: ho.HigherOrderConfig) -> str:
    """Where derivatives pay off (Fig. 14): per example function the best Sobolev order's mean
    error over value training's at each N, grouped as strong at every N (below :data:`STRONG`),
    at some N only, or by at most a small factor; ``""`` while runs are missing."""
    gain = best_order_ratios(summary, cfg)
    if not gain:
        return ""
    strong = {f: max(g.values()) for f, g in gain.items() if max(g.values()) < STRONG}
    some = {f: g for f, g in gain.items() if f not in strong and min(g.values()) < STRONG}
    weak = {f: g for f, g in gain.items() if f not in strong and f not in some}
    text = []
    if strong:
        text.append(f"Derivatives pay off most on {listing_words(ho.label(f) for f in strong)}: the best "
                    f"Sobolev order's error is {listing_words(ho._g(g) for g in strong.values())} of value "
                    "training's even at the least favourable N")
    for f, g in some.items():
        ns = sorted(g)
        text.append(f"on {ho.label(f)} only at some sizes ({listing_words(ho._g(g[n]) for n in ns)} of value "
                    f"training's at N = {listing_words(str(n) for n in ns)})")
    if weak:
        best = min(min(g.values()) for g in weak.values())
        worst = max(max(g.values()) for g in weak.values())
        text.append(f"on {listing_words(ho.label(f) for f in weak)} by at most a factor "
                    f"{1 / best:.2g} at any N ({ho._g(best)} to {ho._g(worst)} of value training's)")
    stall_n = sorted({c["N"] for c in (summary.get("stalls") or {}).get("cells", [])
                      if c["definition"] == "-" and c["function"] in set(some) | set(weak)})
    if stall_n:
        text[-1] += (f"; at N = {', '.join(map(str, stall_n))} some of these numbers rest on stalled "
                     "repetitions")
    first = "; ".join(text)
    return first[0].upper() + first[1:] + "."


def category_words(summary: Mapping[str, Any]) -> str:
    """What Fig. 15 shows: per category, the best Sobolev order's error over value training's
    (means over the category's functions and the sizes) and the order that reaches it."""
    rel = summary.get("category_relative") or {}
    trained = summary.get("category_relative_trained") or {}

    def best(r: Mapping[str, Any]) -> tuple[int, float] | None:
        ks = {int(k): v for k, v in r.items() if int(k) and v is not None}
        return (min(ks, key=ks.get), min(ks.values())) if ks else None

    parts = []
    for cat, r in rel.items():
        b = best(r)
        if b is None:
            continue
        k, v = b
        text = (f"{ho.label(cat).lower()} {ho._g(v)} (order {k})" if v < 1
                else f"{ho.label(cat).lower()} no order below value training (the best, order {k}, at "
                     f"{v:#.2g}× value training's error)")
        t = best(trained.get(cat) or {})
        if t is not None and not 1 / 1.5 <= t[1] / v <= 1.5:  # the stalls move it by more than 1.5x
            text += f", without stalled repetitions {ho._g(t[1])} (order {t[0]})"
        parts.append(text)
    if not parts:
        return ""
    return ("At the best order, the error relative to value training, averaged over each category's "
            f"functions and the sizes, is: {'; '.join(parts)}.")


def findings(summary: Mapping[str, Any], cfg: ho.HigherOrderConfig) -> str:
    """What the records show, in a few sentences with their numbers, from ``summary.json``:
    where derivatives pay off (the best Sobolev order's error over value training's at the least
    favourable N, per example function), how often the adaptive ρ is much better at orders of 3
    and more (quotients above 2, under the main and the closest fixed-ρ definition, against the
    paper's), how far our Table III is from the paper's, and how many repetitions stalled.
    ``""`` while the example functions' runs are missing."""
    first = gain_words(summary, cfg)
    if not first:
        return ""
    out = [first]
    t3, paper = summary.get("table3", {}), summary.get("table3_paper", {})
    dist = summary.get("table3_distance", {})
    main = cfg.rho_definitions[0]
    known = {d: v["distance"] for d, v in dist.items() if v.get("distance") is not None}
    closest = min(known, key=known.get) if known else None

    unlearned = summary.get("table3_unlearned") or {}

    def above(d: str) -> tuple[int, int, int]:
        """Quotients above 2 at orders >= 3, all such quotients, and how many of the first rest
        on a run that did not learn."""
        bad = {(f, str(n), str(k)) for f, n, k, side in unlearned.get(d, []) if side in ("fixed", "both")}
        qs = [(q, (f, n, k)) for f in cfg.examples for n, row in (t3.get(d, {}).get(f) or {}).items()
              for k, q in row.items() if int(k) >= 3 and q is not None]
        return (sum(q > 2 for q, _ in qs), len(qs), sum(q > 2 and key in bad for q, key in qs))

    pq = [q for f in cfg.examples for n, row in (paper.get(f) or {}).items() for k, q in row.items()
          if int(k) >= 3 and q is not None and str(n) in {str(x) for x in cfg.table_sizes}]
    if t3.get(main):
        k, n, u = above(main)
        said = (f"The adaptive ρ beats the fixed one by more than a factor 2 at orders of 3 and more in {k} "
                f"of {n} cells")
        if closest and closest != main and t3.get(closest):
            k2, n2, u2 = above(closest)
            said += f" ({k2} of {n2} under the definition closest to the paper's table)"
        if pq:
            said += f", against {sum(q > 2 for q in pq)} of {len(pq)} in the paper"
        said += "."
        if u or (closest and closest != main and t3.get(closest) and u2):
            said += (f" In {u} of those {k} cells"
                     + (f" ({u2} of {k2} under the closest definition)" if closest != main and t3.get(closest)
                        else "")
                     + " the fixed-ρ network did not learn in most repetitions: the adaptive ρ wins there "
                     "because the fixed one fails.")
        out.append(said)
    if closest:
        groups: dict[str, list[float]] = {}
        for d, v in known.items():
            groups.setdefault(ho.FIXED_RHO[d][0], []).append(10 ** v)
        def span(fs: list[float]) -> str:
            lo, hi = f"{min(fs):.2g}", f"{max(fs):.2g}"
            return lo if lo == hi else f"{lo} to {hi}"

        spans = [f"{'the original-unit' if data == 'original' else 'the transformed'} readings {span(fs)}"
                 for data, fs in sorted(groups.items())]
        out.append(f"Our Table III is a typical factor {10 ** known[closest]:.2g} from the paper's under the "
                   f"closest reading of the fixed ρ ({ho.rho_label(closest)}; {'; '.join(spans)}).")
    chk = summary.get("init_check")
    if chk:
        n = len(chk["differ"]) + len(chk["agree"])
        by = {r["claim"]: r for r in chk.get("claims", [])}
        changed = "; ".join(f"*{c}*" + (f", {by[c]['glorot']} → {by[c]['torch']}" if c in by else "")
                            for c in chk["differ"])
        out.append(f"Trained again from PyTorch's start at N = {', '.join(map(str, chk['sizes']))}, "
                   f"{len(chk['agree'])} of {n} verdicts stay the same"
                   + (f" ({len(chk['differ'])} change: {changed})" if chk["differ"] else "") + ".")
    st = summary.get("stalls") or {}
    if st.get("stalled"):
        fixed = sum(c["stalled"] for c in st["cells"] if c["definition"] != "-")
        said = (f"{st['stalled']} of {st['repetitions']} repetitions stalled before they learned "
                f"({ho._g(100 * st['stalled'] / st['repetitions'])} %; {{ref}}`more below <ho-stalls>`): "
                f"{st['stalled'] - fixed} values-only or adaptive, {fixed} fixed-ρ")
        ck = (chk or {}).get("stalls") or {}
        if "fixed" in ck.get("glorot", {}):
            said += (f". From PyTorch's start the first kind goes away ({ck['glorot']['other']} → "
                     f"{ck['torch']['other']} at N = {', '.join(map(str, chk['sizes']))}): our reading of "
                     "the initialisation causes it. The fixed-ρ runs that the check trains again (the "
                     f"main definition only) stall about as often ({ck['glorot']['fixed']} → "
                     f"{ck['torch']['fixed']}), so those stalls are not the start's doing alone")
        out.append(said + "; every claim is graded again without them where its cells keep a repetition.")
    return " ".join(out)


def _stall_kind(c: Mapping[str, Any]) -> str:
    if c["order"] == 0:
        return "values only"
    if c["definition"] == "-":
        return "adaptive ρ"
    return f"fixed ρ ({ho.rho_label(c['definition'], short=True)})"


PAPER_FIG1_TOP = 100.0
"""The top of the error axes of the paper's Fig. 1 (10²)."""


def _glorot_first(fan_in: int = 2, fan_out: int = 200) -> float:
    """Glorot-uniform's bound on the first layer's weights."""
    return (6 / (fan_in + fan_out)) ** 0.5


def _torch_first(fan_in: int = 2) -> float:
    """PyTorch's ``nn.Linear`` bound on the first layer's weights."""
    return 1 / fan_in ** 0.5


def _above_paper_axis(summary: Mapping[str, Any], st: Mapping[str, Any]) -> str:
    """A sentence on the Fig. 1 cells (example functions, adaptive or values only) with a stalled
    repetition whose mean error lies above the top of the paper's axes, or ``""``."""
    me = summary.get("mean_error", {})
    fig1 = set(summary.get("table3_paper") or {})  # the example functions, Fig. 1's panels
    over = []
    for c in st["cells"]:
        if c["definition"] != "-" or c["function"] not in fig1:
            continue
        e = ((me.get(c["function"]) or {}).get(str(c["order"])) or {}).get(str(c["N"]))
        if e is not None and e > PAPER_FIG1_TOP:
            over.append((e, c))
    if not over:
        return ""
    e, c = max(over, key=lambda x: x[0])
    return (f" The paper's Fig. 1 stays below 10², while {len(over)} of our Fig. 1 cells with a stalled "
            f"repetition lie above it (the highest: {ho.label(c['function'])}, {_stall_kind(c)}"
            + (f", order {c['order']}" if c["order"] else "") + f", N = {c['N']}: {ho._g(e)}), so the "
            "authors' runs probably did not stall this way: their start or protocol may differ from "
            "our reading.")


def stall_text(summary: Mapping[str, Any], top: int = 4) -> str:
    """How many repetitions stalled (:func:`derivlearn.studies.higher_order.stalled`), of which
    kind of run, where (the ``top`` functions with the most, their worst cells grouped), how the
    count moves with the cut, all from ``summary["stalls"]``; and what the probe
    ``benchmarks/higher_order_stalls.py`` found (``summary["stall_probe"]``, when the chapter has
    it), each sentence from its counts. ``""`` when none stalled."""
    st = summary.get("stalls") or {}
    if not st.get("stalled"):
        return ""
    kinds: dict[str, int] = {}
    per_f: dict[str, list[Mapping[str, Any]]] = {}
    for c in st["cells"]:
        k = _stall_kind(c)
        kinds[k] = kinds.get(k, 0) + c["stalled"]
        per_f.setdefault(c["function"], []).append(c)
    kind_words = "; ".join(f"{k}: {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    worst = sorted(per_f, key=lambda f: -sum(c["stalled"] for c in per_f[f]))[:top]
    most = listing_words(f"{ho.label(f)} ({sum(c['stalled'] for c in per_f[f])})" for f in worst)
    full = sorted((c for c in st["cells"] if c["stalled"] == c["repetitions"]),
                  key=lambda c: (c["N"], c["function"], c["order"]))
    every = ""
    if full:
        named = "; ".join(f"{ho.label(c['function'])}, {_stall_kind(c)}"
                          + (f", order {c['order']}" if c["order"] else "") + f", N = {c['N']}"
                          for c in full[:3])
        every = (f" In {len(full)} cell{'s' if len(full) != 1 else ''} every repetition stalled"
                 + (f", among them {named}" if len(full) > 3 else f": {named}") + ".")
    cut = st.get("by_epoch_cut") or {}
    cuts = ", ".join(f"{v} with a best epoch of at most {k}" for k, v in cut.items() if k != "any")
    out = [f"A repetition *stalled* if its z-scored test MSE is above {ho.STALL_MSE:g} and its kept "
           f"weights come from one of its first {ho.STALL_EPOCHS} epochs: it stopped before it learned. "
           f"{st['stalled']} of {st['repetitions']} repetitions did "
           f"({ho._g(100 * st['stalled'] / st['repetitions'])} %), in {len(st['cells'])} "
           f"cell{'s' if len(st['cells']) != 1 else ''}. By kind of run: {kind_words}. Most on "
           f"{most}.{every} The count depends on the cut: "
           + (f"{cuts}, {cut['any']} at any epoch. " if cut else "")
           + ("" if (summary.get("init_check") or {}).get("stalls") else
              "With PyTorch's initialisation and the mean over partials the chapter's first settings had "
              "none (their records are in the repository's history).")]
    probe = summary.get("stall_probe") or {}
    fs = probe.get("functions") or {}
    if fs:
        reps = probe["reps"] * len(fs)
        n = {s_: sum(v["starts"][s_]["stalled"] for v in fs.values()) for s_ in probe["starts"]}
        names = {"glorot": "the chapter's start", "torch": "PyTorch's",
                 "glorot W, torch b": "Glorot's weights with PyTorch's random biases",
                 "torch W, zero b": "PyTorch's weights with zero biases",
                 "glorot, layer-1 W x4": "Glorot's weights with the first layer scaled to PyTorch's size"}
        counts = "; ".join(f"{names.get(k, k)}: {v} of {reps}" for k, v in n.items())
        g = n.get("glorot", 0)
        fixes = [k for k in ("glorot W, torch b", "glorot, layer-1 W x4") if k in n and n[k] <= g / 4]
        if g and fixes:
            cause = ("Each of these changes to the chapter's start removes most of the stalls: "
                     + listing_words(f"{names[k]} ({n[k]} of {reps})" for k in fixes) + ".")
            if n.get("torch W, zero b", 0) > g / 4:
                cause += (f" PyTorch's weights with zero biases still stall in {n['torch W, zero b']} of "
                          f"{reps}")
                if "glorot, layer-1 W x4" in fixes:
                    cause += (", more often than Glorot's with the first layer scaled to the same size; "
                              "why, the probe does not tell")
                cause += "."
        else:
            cause = "The probe does not single out one cause."
        shares = ", ".join(f"{ho.label(f)} {ho.even_share(f):.2f}" for f in fs)
        out.append(
            f"\n\n**Why.** A probe ({{repo}}`benchmarks/higher_order_stalls.py`) trains values-only "
            f"networks at N = {probe['N']} on {listing_words(ho.label(f) for f in fs)}, {probe['reps']} "
            f"repetitions each with the chapter's data and settings, from five starts. Stalled: {counts}. "
            f"{cause} With zero biases and tanh, an odd activation, the network starts as an odd "
            "function of its z-scored input, $f(-x) = -f(x)$ (a test checks it); a target that is even "
            "about the centre of its data has nothing such a start can fit until its biases grow. The "
            "pull on the biases comes from the curvature of tanh, which is weak while the first "
            f"layer's weights are small (their bound is {_glorot_first():.2g} for Glorot's start, "
            f"{_torch_first():.2g} for PyTorch's, with 2 inputs and 200 units), and at N = {probe['N']} a "
            "patience of 10 epochs is 100 Adam steps. The even part holds this "
            f"share of the probed functions' variance: {shares}. The probe says nothing about the "
            "functions it does not train, nor about Sobolev or fixed-ρ runs.")
    out.append("\n\n**What we do about it.** We keep the stalled repetitions in the main reading: they "
               "are what the paper's protocol (patience 10, no restarts mentioned) does from the start "
               "we read as the authors' (Keras' defaults)." + _above_paper_axis(summary, st)
               + " A stalled repetition "
               "dominates its cell's mean, so every claim is also graded on the means without stalled "
               "repetitions where its cells keep one, and the claim table marks the rows where that "
               "reading's verdict differs."
               + (" The check below trains the runs of two sizes again from PyTorch's start."
                  if summary.get("init_check") else ""))
    return "".join(out)


def init_check_markdown(summary: Mapping[str, Any]) -> str:
    """The initialisation check (:func:`derivlearn.studies.higher_order.init_check`) as its rule
    (the first version in a dropdown), a Markdown table of verdicts (Glorot, Glorot without
    stalled repetitions, PyTorch) and what they say; ``""`` while its runs are not all recorded."""
    chk = summary.get("init_check")
    if not chk:
        return ""
    st, dev = chk["stalls"], chk.get("devices") or {}
    rows = [f"| {r['claim']} | {badge(r['glorot'])} | {badge(r['glorot_trained'])} | {badge(r['torch'])} |"
            for r in chk["claims"]]
    head = (":::{div} phone-cards start-cards\n\n"
            "| claim | Glorot (the chapter's) | Glorot, without stalled repetitions | PyTorch's start |\n"
            "|---|---|---|---|")
    differ, agree = chk["differ"], chk["agree"]
    n = len(differ) + len(agree)
    said = (f"{len(differ)} of the {n} verdicts graded under both starts change with the start"
            + (f" ({'; '.join(differ)})" if differ else "") + ".")
    untested = len(chk["claims"]) - n
    if untested:
        said += f" {untested} cannot be graded under one of the starts."
    both = [r for r in chk["claims"] if VERDICTS[3] not in (r["glorot_trained"], r["torch"])]
    same = sum(r["glorot_trained"] == r["torch"] for r in both)

    def where(init: str) -> str:
        d = dev.get(init) or {}
        return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))

    sizes = ", ".join(map(str, chk["sizes"]))
    first = chk.get("first") or {}
    graded_first = [r for r in first.get("claims", []) if VERDICTS[3] not in (r["glorot"], r["torch"])]
    moved = [r for r in graded_first if r["glorot"] != r["torch"]]
    first_words = ""
    if first:
        how = "; ".join(f"*{r['claim']}*, {r['glorot']} → {r['torch']}" for r in moved)
        first_words = (f" Under the rule as first written (N = {', '.join(map(str, first['sizes']))} only) "
                       f"{len(moved)} of the {len(graded_first)} verdicts it can grade change"
                       + (f": {how}" if moved else "") + ".")
    kinds = ""
    if "fixed" in st["glorot"]:
        kinds = (f" Values-only and adaptive runs: {st['glorot']['other']} stalled from Glorot's start, "
                 f"{st['torch']['other']} from PyTorch's; fixed-ρ runs: {st['glorot']['fixed']} and "
                 f"{st['torch']['fixed']}.")
    versions = chk.get("torch_version") or {}
    dirty = chk.get("dirty") or {}
    prov = ""
    if versions:
        prov = (f" Torch {', '.join(versions.get('glorot', []))} for Glorot's runs, "
                f"{', '.join(versions.get('torch', []))} for PyTorch's.")
    if any(dirty.values()):
        prov += (f" {dirty.get('torch', 0)} of PyTorch's and {dirty.get('glorot', 0)} of Glorot's runs were "
                 "made from a working tree with uncommitted changes to the chapter's text and report; the "
                 "training code (derivlearn.nn, the data and the study's run function) is the same in the "
                 "commits before and after them.")
    return (f"**Does the start decide a verdict?** {chk['rule']}\n\n"
            f":::{{dropdown}} The rule as first written\n{chk['rule_first']}\n:::\n\n{head}\n"
            + "\n".join(rows) + "\n\n:::"
            + f"\n\nAt N = {sizes} ({chk['runs']} runs per start): {said}{first_words} Stalled "
            f"repetitions: {st['glorot']['stalled']} of {st['glorot']['repetitions']} from Glorot's start, "
            f"{st['torch']['stalled']} of {st['torch']['repetitions']} from PyTorch's.{kinds} The reading "
            f"without stalled repetitions gives PyTorch's verdict on {same} of the {len(both)} claims "
            f"both can grade. Where the runs ran: Glorot's {where('glorot')}; PyTorch's "
            f"{where('torch')} (both float32; a GPU may sum in another order, so a run there can differ "
            f"in its last digits, more where training is chaotic).{prov}"
            + "".join(f"\n\n*{r['claim']}*: Glorot's start {r['ours']['glorot']}; PyTorch's "
                      f"{r['ours']['torch']}." for r in chk["claims"] if r["claim"] in differ))


def gap_text(summary: Mapping[str, Any], cfg: ho.HigherOrderConfig) -> str:
    """Where our Table III (main fixed-ρ definition) differs most from the paper's, by how much,
    and the likeliest reason the records show: the low orders of the smooth functions, Michalewicz
    at high orders, and how often the adaptive rule rescales the orders of 2 and more (its mean ρ)
    in the highest-order runs. ``""`` without the cells it needs."""
    t3 = summary.get("table3", {}).get(cfg.rho_definitions[0], {})
    paper = summary.get("table3_paper", {})
    sizes = [str(n) for n in cfg.table_sizes]

    def pairs(fs, orders):
        return [(q, p) for f in fs for n in sizes for k in orders
                if (q := ((t3.get(f) or {}).get(n) or {}).get(str(k))) is not None
                and (p := ((paper.get(f) or {}).get(n) or {}).get(str(k))) is not None and q > 0 and p > 0]

    out = []
    smooth = [f for f in ("sum_squares", "matyas", "branin") if f in cfg.examples]
    low = pairs(smooth, (1, 2))
    if low:
        factor = 10 ** float(np.mean([math.log10(p / q) for q, p in low]))
        ours, theirs = [q for q, _ in low], [p for _, p in low]
        out.append(f"Where our Table III differs most from the paper's: at orders 1 and 2 our quotients for "
                   f"{listing_words(ho.label(f) for f in smooth)} are a typical factor {factor:.2g} "
                   f"{'below' if factor > 1 else 'above'} the paper's (ours {ho._g(min(ours))} to "
                   f"{ho._g(max(ours))}, the paper's {ho._g(min(theirs))} to {ho._g(max(theirs))}), under "
                   f"the main fixed ρ ({ho.rho_label(cfg.rho_definitions[0])}).")
    mich = pairs(["michalewicz"] if "michalewicz" in cfg.examples else [], (3, 4, 5))
    if mich:
        ours, theirs = [q for q, _ in mich], [p for _, p in mich]
        out.append(f"For Michalewicz at orders 3 to 5 ours are {ho._g(min(ours))} to {ho._g(max(ours))}, "
                   f"the paper's {ho._g(min(theirs))} to {ho._g(max(theirs))}.")
    ad = summary.get("adaptive", {})
    fired, rho, names = [], [], []
    for f in ("michalewicz", "six_hump_camel", "branin"):
        for by_k in (ad.get(f) or {}).values():
            if not by_k:
                continue
            top = by_k[max(by_k, key=int)]
            for j, v in top.items():
                if int(j) >= 2 and v.get("fired") is not None:
                    fired.append(v["fired"])
                    rho.append(v["mean_rho"])
            names.append(f)
    if out and fired:
        names = list(dict.fromkeys(names))
        out.append(f"What the adaptive rule does there ({{numref}}`fig-ho-adaptive`): on "
                   f"{listing_words(ho.label(f) for f in names)} it rescales the orders of 2 and more in at "
                   f"least {ho._g(100 * min(fired))} % of the steps of the highest-order runs, with mean "
                   f"weights from {sci(min(rho))} to {sci(max(rho))}: each such order then enters the loss "
                   "at the value error's size ($\\rho_j e_j = e_0$), not at its own, so no derivative order "
                   "outweighs the values, while a fixed ρ lets the worst-fitted orders dominate. Whether "
                   "that explains the gap to the paper the records cannot tell; it is a conjecture, and "
                   "it says nothing about the gap at orders 1 and 2.")
    return " ".join(out)


def claim_table(claims: Sequence[Claim]) -> str:
    """The claim table in the house layout (:func:`derivlearn.claims.to_markdown`), short enough to
    scan on a phone: the claim cell names where the paper says it ("the paper's Fig. 1"), and the
    paper's words go first in the claim's entry of "More on each result" under the table."""
    import dataclasses

    from derivlearn.claims import to_markdown

    def where(c: Claim) -> str:  # a quote goes under the table; a number stays in the cell
        head, sep, words = c.paper.partition(": ")
        return c.paper if not sep else f"the paper's {head}" + ("" if words.startswith("'") else f": {words}")

    shown = []
    for c in claims:
        head, sep, words = c.paper.partition(": ")
        quote = f"The paper ({head}): {words}." if sep and words.startswith("'") else ""
        shown.append(dataclasses.replace(c, detail=" ".join(x for x in (quote, c.detail) if x)))
    return to_markdown(shown, paper=where)


def listing_words(items) -> str:
    """``"a, b and c"``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def lead(summary: Mapping[str, Any], claims: Sequence[Claim], cfg: ho.HigherOrderConfig,
         n_missing: int, n_planned: int, cpu_hours: str = "") -> str:
    """The chapter's answer first, in three sentences with their key numbers (where derivatives pay
    off, the Table III headline, the verdict counts), then :func:`findings` in a dropdown."""
    strong = [(f, max(g.values())) for f, g in best_order_ratios(summary, cfg).items()
              if max(g.values()) < STRONG]
    text = []
    if strong:
        names = listing_words(ho.label(f) for f, _ in strong)
        worst = listing_words(ho._g(g) for _, g in strong)
        text.append(f"Trained with the adaptive ρ, derivatives pay off strongly on {names}, where the best "
                    "Sobolev order's error is at "
                    f"most {worst} of value training's at every size; on the other example functions they "
                    "help much less, or only at some sizes"
                    + (", and how much there depends on the networks' start (see the check on it)"
                       if (summary.get("init_check") or {}).get("differ") else "") + ".")
    t3, paper = summary.get("table3", {}), summary.get("table3_paper", {})
    main = cfg.rho_definitions[0]
    known = {d: v["distance"] for d, v in (summary.get("table3_distance") or {}).items()
             if v.get("distance") is not None}
    name9 = ho.TABLE3_RULES[2][0]
    by_def = (((summary.get("claim_details") or {}).get(name9) or {}).get("by_reading") or {}).get(
        "original/mean", {}).get("by_definition") or {}
    qs = [q for f in cfg.examples for n, row in (t3.get(main, {}).get(f) or {}).items()
          for k, q in row.items() if int(k) >= 3 and q is not None]
    pq = [q for f in cfg.examples for n, row in (paper.get(f) or {}).items() for k, q in row.items()
          if int(k) >= 3 and q is not None and str(n) in {str(x) for x in cfg.table_sizes}]
    if qs and pq:
        said = (f"The paper's adaptive ρ beats a fixed one by more than a factor 2 at orders of 3 and more "
                f"in {sum(q > 2 for q in pq)} of {len(pq)} of its Table III cells, ours in "
                f"{sum(q > 2 for q in qs)} of {len(qs)}")
        per_def = []
        for tab in t3.values():
            q = [x for f in cfg.examples for row in (tab.get(f) or {}).values() for k, x in row.items()
                 if int(k) >= 3 and x is not None]
            if q:
                per_def.append(sum(x > 2 for x in q))
        if len(per_def) > 1:
            said += f" under the main reading of the fixed ρ ({min(per_def)} to {max(per_def)} under the six"
            bad = [side for x in (summary.get("table3_unlearned") or {}).values() for *_, side in x]
            said += (", where a fixed-ρ network that did not learn makes many of the large ones)"
                     if bad else ")")
        if by_def and all(v["verdict"] == VERDICTS[2] for v in by_def.values()):
            said += f", and that claim is not confirmed under any of {len(by_def)} readings of the fixed ρ"
        if known:
            said += (f"; our Table III is a typical factor {10 ** min(known.values()):.2g} from the paper's "
                     "under the closest reading")
        text.append(said + ".")
    text.append(answer(claims, n_missing, n_planned, cpu_hours))
    out = "**What we found.** " + " ".join(text)
    more = findings(summary, cfg)
    if more:
        out += f"\n\n:::{{dropdown}} What we found, in more detail\n{more}\n:::"
    return out


def answer(claims: Sequence[Claim], n_missing: int, n_planned: int, cpu_hours: str = "") -> str:
    """The verdicts in counts, from the claim table (after :func:`findings`)."""
    by = {c.claim: c for c in claims}

    if all(c.verdict == VERDICTS[3] for c in claims):
        return ("None of the runs with the paper's loss as printed is recorded yet "
                f"({n_missing} of {n_planned} runs of the plan are missing; they are listed at the "
                "end of the chapter), so every claim below reads *not tested*."
                + (f" The sweep that computes them takes an estimated {cpu_hours}." if cpu_hours else ""))
    figs = [by[name] for name, _, _ in ho.FIG_RULES]
    t3 = [by[name] for name, _, _ in ho.TABLE3_RULES]

    def count(cs: Sequence[Claim]) -> str:
        parts = [f"{sum(c.verdict == x for c in cs)} {x}" for x in VERDICTS
                 if any(c.verdict == x for c in cs)]
        return ", ".join(parts)

    depends = [c for c in t3 if "depends on the definition" in c.ours]

    def main_verdict(c: Claim) -> str:  # the main definition's, named in the row where they differ
        m = re.search(r"main: ([a-z ]+)\)", c.ours)
        return m.group(1) if m else c.verdict

    mains = [dataclasses.replace(c, verdict=main_verdict(c)) for c in t3]
    text = [f"The {{ref}}`claim table <ho-claims>` grades the paper's six statements on which orders help "
            f"(Figs. 1 and 2) as {count(figs)}, and its four on the adaptive against the fixed ρ "
            f"(Table III) as {count(t3)}"
            + (f": {len(depends)} of them {'depends' if len(depends) == 1 else 'depend'} on how the fixed ρ "
               f"is defined, which the paper leaves open (under the main definition alone: {count(mains)})."
               if depends else ".")]
    if n_missing:
        text.append(f"*This record is incomplete: {n_missing} of {n_planned} runs of the plan have no "
                    "record yet (listed at the end of the chapter); verdicts that need them read "
                    "'not tested'.*")
    return " ".join(text)


def cost_markdown(cost) -> str:
    """The plan's cost (:func:`derivlearn.studies.higher_order.plan_cost`) as a Markdown table:
    runs, how many are recorded (of them on a GPU), the recorded CPU-hours, a fresh run's
    estimate on the reference machine, and, while runs are missing, the estimate of what is left."""
    left = bool((cost["stored"] < cost["runs"]).any())
    head = ["part", "runs", "recorded (on a GPU)", "recorded CPU hours", "fresh run, CPU hours (estimate)"]
    head += ["left, CPU hours (estimate)"] if left else []
    rows = []
    for r in cost.to_dict("records"):
        row = [str(r["part"]), str(r["runs"]), f"{r['stored']} ({r['on GPU']})",
               f"{r['recorded CPU-h']:.1f}", f"{r['fresh CPU-h low']:.1f} to {r['fresh CPU-h high']:.1f}"]
        if left:
            row.append(f"{r['CPU-h low']:.1f} to {r['CPU-h high']:.1f}")
        rows.append(row)
    tot = ["all", str(int(cost["runs"].sum())), f"{int(cost['stored'].sum())} ({int(cost['on GPU'].sum())})",
           f"{cost['recorded CPU-h'].sum():.1f}",
           f"{cost['fresh CPU-h low'].sum():.1f} to {cost['fresh CPU-h high'].sum():.1f}"]
    if left:
        tot.append(f"{cost['CPU-h low'].sum():.1f} to {cost['CPU-h high'].sum():.1f}")
    rows.append([f"**{x}**" for x in tot])
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def quotient_devices(records, cfg: ho.HigherOrderConfig) -> str:
    """Which Table III quotients divide a run on one device by a run on the other: per fixed-ρ
    definition, how many of its quotients (at every Table III size) read a fixed run
    (:func:`derivlearn.studies.higher_order.canonical_run`) that ran elsewhere than the adaptive
    run it is divided by. ``""`` when no quotient does. Records built from a tree with uncommitted
    changes among them are counted."""
    from derivlearn.store import config_key

    plan = {config_key(c, cfg.version_of(c)): c for c in ho.run_configs(cfg)}
    where: dict[tuple, str] = {}
    dirty: set[tuple] = set()
    for r in records:
        c = plan.get(r.get("key"))
        if c is None or r.get("status") != "ok" or c.get("partials", "all") != "all":
            continue
        dev = "GPU" if str((r.get("env") or {}).get("device", "cpu")).startswith("cuda") else "CPU"
        key = ((c["function"], c["order"], c["n_train"], ho.definition_of(c)) if c["weighting"] == "fixed"
               else (c["function"], c["order"], c["n_train"]))
        where[key] = dev
        if str((r.get("version") or {}).get("git", "")).endswith("+dirty"):
            dirty.add(key)
    counts = []
    used_dirty: set[tuple] = set()
    for d in cfg.rho_definitions:
        mixed = total = 0
        for f in cfg.examples:
            for n in cfg.table_sizes:
                for k in (k for k in cfg.orders if k):
                    kf, df = ho.canonical_run(f, k, d)
                    a, b = where.get((f, k, n)), where.get((f, kf, n, df))
                    if a is None or b is None:
                        continue
                    total += 1
                    mixed += a != b
                    used_dirty |= {(f, k, n), (f, kf, n, df)} & dirty
        if mixed:
            counts.append(f"({ho.rho_label(d, short=True)}) {mixed} of its {total}")
    if not counts:
        return ""
    return ("**Devices.** Some Table III quotients divide a run on one device by a run on the other: "
            f"{'; '.join(counts)}; the others compare runs on the same device. Both are float32, and a GPU "
            "may sum in another order, so such a run can differ from a CPU run in its last digits, and "
            "more where training is chaotic: another draw of the same method, not another method."
            + (f" {len(used_dirty)} of the runs behind these quotients were made from a working tree with "
               "uncommitted changes (their version says '+dirty')." if used_dirty else ""))


def beside_plan_cost(summary: Mapping[str, Any], records, cfg: ho.HigherOrderConfig) -> str:
    """What the chapter computed beside its plan: the initialisation check's runs (recorded CPU
    time) and the stall probe's CPU time; ``""`` when neither is there."""
    from derivlearn.store import config_key

    parts = []
    if summary.get("init_check"):
        keys = {config_key(c, cfg.version_of(c)) for c in ho.run_configs(ho.init_check_config(cfg, "torch"))}
        mine = [r for r in records if r.get("key") in keys and r.get("status") == "ok"]
        hours = sum(float(r.get("cpu_time_s") or 0.0) for r in mine) / 3600
        parts.append(f"the initialisation check's {len(mine)} runs from PyTorch's start, "
                     f"{hours:.2f} CPU-hours")
    probe = summary.get("stall_probe") or {}
    if probe.get("cpu_seconds"):
        parts.append(f"the stall probe, {probe['cpu_seconds'] / 60:.1f} CPU-minutes")
    return f"Beside the plan: {listing_words(parts)}." if parts else ""


def hardware_words(records, cfg: ho.HigherOrderConfig) -> str:
    """Where the recorded runs of the plan ran (:func:`derivlearn.provenance.where_runs_ran`)."""
    from derivlearn.provenance import where_runs_ran

    return where_runs_ran(records, ho.run_configs(cfg), cfg.version_of)

