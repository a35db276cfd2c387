"""Figures and tables of the DINO chapter (``notebooks/dino_pde_maps.ipynb``).

Everything here reads the frames of :mod:`derivlearn.studies.dino` (``long_frame``,
``baseline_frame``, ``map_frame``, the claims) and computes nothing new; the notebook shows the
results with a few calls. Figures follow the book's style: at most three panels per row, at
most five curves per panel, the paper's N = 4096 numbers as reference markers, and an H1 axis
that always shows them, with points below its floor drawn at the floor as open triangles. The
``*_words`` functions say in a sentence or two what a figure or table shows, from the same frames.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from derivlearn import plotting
from derivlearn.claims import VERDICTS, Claim, badge, to_markdown
from derivlearn.studies import dino
from derivlearn.tables import styled  # noqa: F401  (the notebook's report_.styled)

LOSS_STYLE = {"l2": ("C0", "-", "o"), "h1": ("C3", "--", "s"), "reduced_h1": ("C2", ":", "^"),
              "reduced_h1_ms": ("C4", "-.", "D")}
NET_STYLE = {"dipnet_100_50": ("C0", "-", "o"), "dipnet_50_50": ("C1", "--", "s"),
             "generic": ("C7", ":", "^")}
H1_FLOOR = -50.0
"""Lowest H1 accuracy (%) on the H1 axes: lower values sit on the floor as open triangles."""
LOSS_WORDS = {"l2": "L2", "h1": "full-H1", "reduced_h1": "reduced-H1", "reduced_h1_ms": "MS"}
"""Loss names inside a sentence ("the full-H1 loss")."""
METRIC_LABEL = {"l2_accuracy": "L2 accuracy (%)", "h1_accuracy": "H1 accuracy (%)",
                "reduced_h1_accuracy": "reduced-H1 accuracy (%)"}


def _curve(frame, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """N, mean, min and max over seeds of ``metric`` (in %), per N with a value."""
    g = frame.dropna(subset=[metric]).groupby("N")[metric]
    if not len(g):
        return (np.zeros(0),) * 4
    agg = g.agg(["mean", "min", "max"])
    return (agg.index.to_numpy(dtype=float), 100 * agg["mean"].to_numpy(),
            100 * agg["min"].to_numpy(), 100 * agg["max"].to_numpy())


OFF_SHIFT = (1.0, 1.08, 1 / 1.08, 1.08**2, 1.08**-2)
"""Horizontal factors of the floor's open triangles, one per curve of a panel, so that two
curves below the floor at the same N do not hide each other."""
OFF_LABEL = (-7, 7, -17, 17, -27)
"""Vertical offsets (points) of the values written at the floor's triangles, one per curve of a
panel: below, above, further below, ..., so that two values at the same N do not overlap."""


def _draw(ax, frame, metric: str, style: tuple[str, str, str], label: str, floor: float | None,
          k: int = 0) -> np.ndarray:
    """One curve with its band; values below ``floor`` are drawn at the floor, with an open
    triangle at each mean below it (shifted sideways by :data:`OFF_SHIFT` ``[k]``, the ``k``-th
    curve of the panel) and its value written under it. *Returns* the values (in %, before the
    floor) of the curve and its band, for the panel's y range (:func:`_h1_ylim`)."""
    n, mean, lo, hi = _curve(frame, metric)
    if not len(n):
        return np.zeros(0)
    color, ls, marker = style
    shown = mean if floor is None else np.maximum(mean, floor)
    ax.plot(n, shown, color=color, ls=ls, marker=marker, ms=4, label=label)
    if (hi > lo).any():
        lo_, hi_ = (lo, hi) if floor is None else (np.maximum(lo, floor), np.maximum(hi, floor))
        ax.fill_between(n, lo_, hi_, color=color, alpha=0.15, linewidth=0)
    if floor is not None and (mean < floor).any():
        off = mean < floor
        x = n[off] * OFF_SHIFT[k % len(OFF_SHIFT)]
        ax.plot(x, np.full(off.sum(), floor), ls="none", marker="v", ms=8, mfc="white",
                color=color, clip_on=False)
        dy = OFF_LABEL[k % len(OFF_LABEL)]
        for xi, v in zip(x, mean[off], strict=True):
            ax.annotate(f"{v:.0f}".replace("-", "\u2212"), (xi, floor), xytext=(0, dy),
                        textcoords="offset points", ha="center", va="top" if dy < 0 else "bottom",
                        fontsize=8,
                        color=color)
        ax.plot([], [], ls="none", marker="v", ms=8, mfc="white", color="gray",
                label=f"below {floor:.0f} %, value written beside it".replace("-", "\u2212"))
    return np.concatenate([mean, lo, hi])


def _size_axis(ax, sizes: Sequence[int]) -> None:
    """A log axis with ticks at the training sizes only, over the same range in every panel
    (an empty panel too)."""
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log")
    ax.set_xlim(min(sizes) / 2, max(sizes) * 1.5)  # room left of the first size for a value label
    ax.set_xticks(list(sizes))
    ax.set_xticklabels([str(n) for n in sizes])
    ax.xaxis.set_minor_locator(NullLocator())


def _h1_ylim(values: Sequence[np.ndarray], marks: Sequence[float] = ()) -> tuple[float, float]:
    """The y range (%) of H1 panels that shows every drawn value, 0 and the reference ``marks``:
    values below :data:`H1_FLOOR` are drawn at the floor, so the range then reaches 22 points
    below it, where the floor's open triangles and their values are visible."""
    v = np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in values]
                       + [np.zeros(1), np.asarray(marks, dtype=float)])
    v = v[np.isfinite(v)]
    shown = np.maximum(v, H1_FLOOR)
    lo, hi = float(shown.min()), float(shown.max())
    margin = max(0.06 * (hi - lo), 3.0)
    bottom = H1_FLOOR - 22 if (v < H1_FLOOR).any() else max(lo - margin, H1_FLOOR - 5)
    return bottom, hi + margin


def accuracy_figure(long, cfg: dino.DinoConfig, network: str = "dipnet_100_50"):
    """L2 and H1 accuracy against N of one network, one curve per loss (mean over seeds, band
    from the lowest to the highest seed), one row per problem; the paper's N = 4096 H1 accuracy
    of DIPNet 100-50 with the full-H1 loss as a star. *Returns* the matplotlib figure."""
    import matplotlib.pyplot as plt

    problems = list(cfg.problems)
    fig, axes = plt.subplots(len(problems), 2, figsize=(7.5, 2.6 * len(problems) + 0.6),
                             squeeze=False, sharex=True)
    for i, p in enumerate(problems):
        sel = long[(long.problem == p) & (long.network == network)]
        for j, metric in enumerate(("l2_accuracy", "h1_accuracy")):
            ax = axes[i, j]
            floor = H1_FLOOR if metric == "h1_accuracy" else None
            drawn = [_draw(ax, sel[sel.loss == loss], metric, LOSS_STYLE[loss], dino.LABEL[loss], floor,
                           k) for k, loss in enumerate(cfg.losses)]
            paper = (dino.PAPER_H1[p] if metric == "h1_accuracy" and network == "dipnet_100_50"
                     and 4096 in cfg.sizes else None)
            if paper is not None:
                ax.scatter([4096], [100 * paper], **plotting.PAPER_MARKER)
            if floor is not None:       # after every curve of the panel: the range covers them all
                ax.set_ylim(*_h1_ylim(drawn, [] if paper is None else [100 * paper]))
            if sel.empty:
                _empty(ax)
            ax.set_title(f"{dino.LABEL_PROBLEM[p]}: {METRIC_LABEL[metric][:-4]}", fontsize=10)
            ax.set_ylabel(METRIC_LABEL[metric])
            _size_axis(ax, cfg.sizes)
            ax.tick_params(labelsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("training samples N")
    _legend(fig, axes, ncol=3)
    return fig


def networks_figure(long, cfg: dino.DinoConfig, loss: str = "l2"):
    """H1 accuracy against N of the three networks trained with one loss (default L2), one
    panel per problem, the zero line marked. *Returns* the figure."""
    import matplotlib.pyplot as plt

    problems = list(cfg.problems)
    ncol = min(3, len(problems))
    nrow = math.ceil(len(problems) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.5, 2.8 * nrow + 0.6), squeeze=False, sharey=True)
    drawn = []
    for k, p in enumerate(problems):
        ax = axes[k // ncol, k % ncol]
        sel = long[(long.problem == p) & (long.loss == loss)]
        for k, net in enumerate(x for x in dino.PRIORITY if x in cfg.networks):
            drawn.append(_draw(ax, sel[sel.network == net], "h1_accuracy", NET_STYLE[net],
                               dino.LABEL[net], H1_FLOOR, k))
        ax.axhline(0, color="black", lw=0.8)
        if sel.empty:
            _empty(ax)
        ax.set_title(dino.LABEL_PROBLEM[p], fontsize=10)
        ax.set_xlabel("training samples N")
        _size_axis(ax, cfg.sizes)
    for k in range(len(problems), nrow * ncol):
        axes[k // ncol, k % ncol].set_visible(False)
    # The panels share their y axis: one range, set once every panel is drawn, covers them all.
    axes[0, 0].set_ylim(*_h1_ylim(drawn))
    axes[0, 0].set_ylabel(f"H1 accuracy (%), {dino.LABEL[loss]} training")
    _legend(fig, axes)
    return fig


def _empty(ax) -> None:
    """A panel without a recorded run says so. Its own y tick labels are hidden when its y axis
    is its own (they would label nothing); a y axis shared with other panels keeps its ticks,
    which belong to those panels too."""
    ax.text(0.5, 0.5, "no run recorded", transform=ax.transAxes, ha="center", va="center",
            fontsize=10, color="gray")
    if len(ax.get_shared_y_axes().get_siblings(ax)) == 1:
        ax.tick_params(axis="y", labelleft=False)


def _legend(fig, axes, ncol: int = 6) -> None:
    """One legend below the figure, from every panel's labelled artists (no duplicates), in
    rows of at most ``ncol`` entries (fewer, longer rows stay legible when a phone shrinks a
    tall figure)."""
    seen: dict[str, Any] = {}
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    ncol = min(ncol, max(len(seen), 1))
    rows = math.ceil(len(seen) / ncol)
    labels = list(seen)
    if rows > 1 and len(labels) == rows * ncol:   # matplotlib fills columns first: read by rows
        labels = [labels[r * ncol + c] for c in range(ncol) for r in range(rows)]
    bottom = (0.15 + 0.22 * rows) / fig.get_size_inches()[1]
    fig.tight_layout(rect=(0, max(bottom, 0.07) if rows > 1 else 0.07, 1, 1))
    if seen:
        fig.legend([seen[x] for x in labels], labels, loc="lower center", ncol=ncol,
                   fontsize=10 if ncol < 6 else 9, frameon=False, columnspacing=1.0,
                   handlelength=1.8)


def _fmt(c: dino.Cell | None) -> str:
    """A cell's mean ± sd in %, one decimal, with true minus signs; "–" without a value."""
    if c is None:
        return "–"
    return (f"{100 * c.mean:.1f}" + (f" ± {100 * c.sd:.1f}" if c.k > 1 else "")).replace("-", "\u2212")


BASELINE_COLUMNS = ("map", "network", "N", "loss", "with the loss", "L2, same epochs",
                    "L2, same time", "L2, same steps")
"""The columns of :func:`baseline_table`."""


def baseline_table(long, base, cfg: dino.DinoConfig):
    """L2 accuracy (%) at the baseline sizes in long form: one row per (map, network, N,
    derivative loss), with the loss's accuracy, plain L2 with the same epochs, the L2 baseline
    given the loss's training time, and (MS only) the L2 baseline given its Adam steps and
    width; mean ± sd over the runs. *Returns* a pandas DataFrame (columns
    :data:`BASELINE_COLUMNS`, a plain range index)."""
    import pandas as pd

    acc = dino.cells(long, "l2_accuracy")
    bases = dino.cells(base, "l2_accuracy") if base is not None and len(base) else {}
    rows = []
    for p in cfg.problems:
        for net in dino.PRIORITY:
            if net not in cfg.networks:
                continue
            for n in cfg.baseline_sizes:
                for loss in dino.MAIN_DERIVATIVE_LOSSES:
                    if loss not in cfg.losses:
                        continue
                    vals = [_fmt(acc.get((p, net, loss, n))), _fmt(acc.get((p, net, "l2", n))),
                            _fmt(bases.get((p, net, "l2@time:" + loss, n))),
                            _fmt(bases.get((p, net, "l2@steps", n))) if loss == "reduced_h1_ms" else ""]
                    if vals[0] != "–" or any(v not in ("–", "") for v in vals[2:]):
                        rows.append(dict(zip(BASELINE_COLUMNS, [dino.LABEL_PROBLEM[p], dino.LABEL[net],
                                                                n, LOSS_NAME[loss], *vals], strict=True)))
    return pd.DataFrame(rows, columns=list(BASELINE_COLUMNS))


LOSS_NAME = {"l2": "L2", "h1": "full H1", "reduced_h1": "reduced H1", "reduced_h1_ms": "MS"}
"""Short loss names for table cells."""


def budget_table(cfg: dino.DinoConfig):
    """The epochs of the L2 baselines: per (network, N), the time-matched run of each derivative
    loss (:data:`dino.COST_RATIO` times the epochs) and the steps-matched run of MS. *Returns* a
    pandas DataFrame."""
    import pandas as pd

    rows = []
    for net in dino.PRIORITY:
        if net not in cfg.networks:
            continue
        for n in cfg.baseline_sizes:
            row: dict[str, Any] = {"network": dino.LABEL[net], "N": n}
            for loss in dino.MAIN_DERIVATIVE_LOSSES:
                if loss in cfg.losses:
                    row[f"same time as {LOSS_NAME[loss]}"] = dino.baseline_epochs(
                        "time:" + loss, net, n, cfg.epochs, cfg.batch_size)
            if "reduced_h1_ms" in cfg.losses:
                row["same steps as MS"] = dino.baseline_epochs("steps", net, n, cfg.epochs,
                                                               cfg.batch_size)
            rows.append(row)
    return pd.DataFrame(rows)


def _power(v: float) -> str:
    """A learning rate as the paper writes it: 0.001 gives "10⁻³"; others as they are."""
    e = math.log10(v) if v > 0 else 0.5
    if e == int(e):
        return "10" + str(int(e)).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{v:g}"


def settings_table(cfg: dino.DinoConfig):
    """The settings of this run next to the paper's, one row each, with where ours differ.
    *Returns* a pandas DataFrame (setting, paper, ours)."""
    import pandas as pd

    from derivlearn.dino.bases import authors_input_scale

    d_m = (cfg.mesh + 1) ** 2
    scale = {r: authors_input_scale(np.eye(d_m, r)) for r in (50, 100) if r < d_m}
    few = [n for n in cfg.sizes if n < cfg.single_seed_from]
    runs = (f"{cfg.seeds} up to N = {max(few)}, 1 from N = {cfg.single_seed_from}"
            if cfg.seeds > 1 and few and len(few) < len(cfg.sizes) else str(cfg.seeds))
    if cfg.generic_l2_big_seeds > 1 and "generic" in cfg.networks and len(few) < len(cfg.sizes):
        runs += f" ({cfg.generic_l2_big_seeds} for Generic's L2 there)"
    rows = [
        ("mesh, inputs d_M", "64 × 64, 4225", f"{cfg.mesh} × {cfg.mesh}, {d_m}"),
        ("training sizes N", "16, 64, 256, 1024, 4096", ", ".join(map(str, cfg.sizes))),
        ("training runs per cell", "1", runs),
        ("test samples", "1024", str(cfg.n_test)),
        ("active-subspace samples", "not stated (authors' code: 512 per process)", str(cfg.as_samples)),
        ("optimizer", "Adam, 10⁻³, batch 32, 100 epochs",
         f"Adam, {_power(cfg.lr)}, batch {cfg.batch_size}, {cfg.epochs} epochs"),
        ("DIPNet input scaling (authors' code)", "Φᵀm × 32√r / d_M",
         "as the authors: " + ", ".join(f"{s:.4f} (r = {r})" for r, s in scale.items())),
        ("DIPNet width (authors' code)", "min(50, training rows)",
         "as the authors (MS has 5 rows per sample)"),
        ("Generic output layer (authors' code)", "Glorot, zero bias", "as the authors"),
        ("L2 baselines at matched time and steps", "none",
         "N = " + ", ".join(map(str, cfg.baseline_sizes)) if cfg.baseline_sizes else "none"),
        ("MS optimizer and permutation (authors' code)", "fresh Adam each epoch, one permutation",
         "one Adam, a permutation per sample; the authors' scheme measured once"
         if cfg.authors_ms_problems else "one Adam, a permutation per sample"),
    ]
    left = [dino.LABEL[x] for x in cfg.losses if x not in cfg.generic_big_losses]
    big = [n for n in cfg.sizes if n >= cfg.single_seed_from]
    if "generic" in cfg.networks and left and big:
        rows.append(("left out (CPU budget)", "–", f"Generic with {' and '.join(left)} at N = "
                     + ", ".join(map(str, big))))
    return pd.DataFrame(rows, columns=["setting", "paper", "ours"])


def data_table(df, pde_cost: Mapping[str, Any] | None = None):
    """Per map: data generation seconds per sample as the run that generated the data recorded
    them (forward solve, Jacobian and SVD, while other sweeps shared the machine), stored and
    full-Jacobian gigabytes, with words for headers; with ``pde_cost`` (the rows of
    ``benchmarks/pde_cost.py --json``), also the forward solve and Jacobian measured on a quiet
    machine. *Returns* a pandas DataFrame."""
    data = dino.data_frame(df)
    quiet = {r["map"]: r["forward_jacobian_s"] for r in (pde_cost or {}).get("rows", [])}
    if quiet:
        data.insert(2, "quiet", data["problem"].map(quiet))
    data["problem"] = data["problem"].map(dino.LABEL_PROBLEM)
    return data.rename(columns={"problem": "map", "seconds_per_sample": "seconds per sample (under load)",
                                "quiet": "forward and Jacobian, quiet machine (s)",
                                "stored_GB": "stored (GB)",
                                "full_jacobian_GB": "full Jacobians (GB)"}).set_index("map")


MAP_COLUMNS = {"noise_relative": "noise / RMS observation",
               "surrogate_output_error": "surrogate output error",
               "surrogate_to_map": "distance from the MAP point",
               "pde_misfit": "data misfit, PDE", "surrogate_misfit": "data misfit, surrogate"}


def _fixed_noise(mf, noise: float | None) -> float:
    """The fixed noise level of the MAP runs (relative to the RMS observation): ``noise`` (the
    configuration's ``map_noise``), else what the fixed-noise cases recorded."""
    if noise is not None:
        return float(noise)
    return float(mf.loc[mf["noise_kind"] == "fixed", "noise_relative"].median())


def _pct_g(v: float) -> str:
    """A relative level in % with no needless digits: 0.01 gives "1 %", 0.025 "2.5 %"."""
    return f"{100 * v:.3g} %"


def map_table(mf, noise: float | None = None):
    """Medians over the MAP cases per (map, noise): the noise and the surrogate's output error
    (both relative to the observation), the surrogate estimate's distance from the PDE's MAP
    point, and the true relative misfits. ``noise`` names the fixed noise level (the
    configuration's ``map_noise``; by default the level the fixed cases recorded).
    *Returns* a pandas DataFrame."""
    fixed = _pct_g(_fixed_noise(mf, noise))
    g = mf.assign(problem=mf["problem"].map(dino.LABEL_PROBLEM),
                  noise_kind=mf["noise_kind"].map({"fixed": fixed, "matched": "matched"}))
    out = g.groupby(["problem", "noise_kind"])[list(MAP_COLUMNS)].median().rename(columns=MAP_COLUMNS)
    out.index.names = ["map", "noise"]
    return out


def ms_scheme_table(ms):
    """:func:`derivlearn.studies.dino.ms_scheme_frame` for people: one row per (map, N), the
    accuracies (%) of our MS scheme and the authors', mean ± sd over the training runs."""
    import pandas as pd

    rows: dict[tuple, dict[str, Any]] = {}
    names = {"l2_accuracy": "L2", "h1_accuracy": "H1", "reduced_h1_accuracy": "reduced H1"}
    for r in ms.itertuples():
        row = rows.setdefault((r.problem, r.N), {"map": dino.LABEL_PROBLEM.get(r.problem, r.problem),
                                                 "N": r.N, "runs": r.runs})
        m = names[r.metric]
        row[f"{m}, ours"] = f"{r.ours:.1f} ± {r.ours_sd:.1f}"
        row[f"{m}, authors'"] = f"{r.authors:.1f} ± {r.authors_sd:.1f}"
    return pd.DataFrame(list(rows.values()))


def ms_scheme_words(ms) -> str:
    """One sentence: how far the authors' MS scheme moves each accuracy, against the spread."""
    if not len(ms):
        return ""
    names = {"l2_accuracy": "L2", "h1_accuracy": "H1", "reduced_h1_accuracy": "reduced-H1"}
    parts = []
    for m, g in ms.groupby("metric", sort=False):
        inside = int(((g["difference"].abs()) <= g[["ours_sd", "authors_sd"]].max(axis=1)).sum())
        lo, hi = (f"{v:+.1f}".replace("-", "\u2212") for v in (g["difference"].min(), g["difference"].max()))
        parts.append(f"{names[m]} accuracy by {lo} to {hi} "
                     f"points ({inside} of {len(g)} sizes inside the spread of the runs)")
    text = "The authors' scheme moves " + "; ".join(parts) + "."
    l2 = ms[ms["metric"] == "l2_accuracy"]
    if len(l2):
        n0 = int(l2["N"].min())
        up = l2[(l2["N"] == n0) & (l2["difference"] > l2[["ours_sd", "authors_sd"]].max(axis=1))]
        if len(up):
            r = up.iloc[0]
            text += (f" At the smallest N ({n0}) it gains {r['difference']:.1f} points of L2 accuracy beyond "
                     f"the spread ({r['authors']:.1f} % against {r['ours']:.1f} %): the small-N rows of the "
                     "claim table, which use our scheme, understate what the MS loss does in the authors' "
                     "code there.")
    return text


def version_effect(records: Sequence[Mapping[str, Any]]):
    """What the authors' networks (result version 2: input scaling, POD width, Generic's output
    layer) change against our first networks (version 1), on the runs both made: the same map,
    network, loss, N and training run (the first), plain runs only. Per (network, loss): the
    cells compared and the median change in L2 and H1 accuracy, in points.
    *Returns* a pandas DataFrame (empty when no run was made by both)."""
    import pandas as pd

    by: dict[int, dict[tuple, Mapping[str, Any]]] = {1: {}, 2: {}}
    for r in records:
        c, v = r["config"], r.get("result_version", 1)
        if r["status"] != "ok" or c.get("kind") == "map" or c.get("match") or c.get("ms_scheme") \
                or v not in by \
                or c["seed"] != c.get("data_seed", c["seed"]):
            continue
        by[v][(c["problem"], c["network"], c["loss"], c["n_train"])] = r["metrics"]
    rows = []
    for key in sorted(set(by[1]) & set(by[2])):
        old, new = by[1][key], by[2][key]
        rows.append({"network": dino.LABEL[key[1]], "loss": dino.LABEL[key[2]],
                     "L2": 100 * (new["l2_accuracy"] - old["l2_accuracy"]),
                     "H1": 100 * (new["h1_accuracy"] - old["h1_accuracy"])})
    if not rows:
        return pd.DataFrame(columns=["network", "loss", "cells", "L2 accuracy change (points)",
                                     "H1 accuracy change (points)"])
    g = pd.DataFrame(rows).groupby(["network", "loss"], sort=False)
    return pd.DataFrame({"cells": g.size(), "L2 accuracy change (points)": g["L2"].median(),
                         "H1 accuracy change (points)": g["H1"].median()}).reset_index()


def missing_table(missing: Sequence[Mapping[str, Any]]):
    """The runs of the plan that have no record, counted per (map, network) and N: one row
    per (map, network), one column per N. *Returns* a pandas DataFrame (empty when nothing is
    missing)."""
    import pandas as pd

    rows: dict[tuple, int] = {}
    for c in missing:
        key = (dino.LABEL_PROBLEM.get(c["problem"], c["problem"]),
               "MAP demonstration" if c.get("kind") == "map" else dino.LABEL[c["network"]],
               int(c["n_train"]))
        rows[key] = rows.get(key, 0) + 1
    if not rows:
        return pd.DataFrame(columns=["map", "network"])
    long = pd.DataFrame([(*k, v) for k, v in rows.items()], columns=["map", "network", "N", "runs"])
    wide = long.pivot_table(index=["map", "network"], columns="N", values="runs", aggfunc="sum",
                            fill_value=0)
    wide.columns = [f"N = {n}" for n in wide.columns]
    return wide


def missing_words(plan: Sequence[Mapping[str, Any]], missing: Sequence[Mapping[str, Any]]) -> str:
    """What an incomplete record still lacks, in words: each map, network, size, loss and kind
    of run none of whose planned runs is recorded ("every CRD run", ...), else the count."""
    if not missing:
        return ""
    key = [dict(c) for c in missing]
    lacks = []

    def every(label: str, test) -> None:
        planned = [c for c in plan if test(c)]
        if planned and len([c for c in key if test(c)]) == len(planned):
            lacks.append(label)

    for p in dino.PROBLEMS:
        every(f"every {dino.LABEL_PROBLEM[p]} run", lambda c, p=p: c["problem"] == p)
    for net in dino.NETWORKS:
        every(f"every {dino.LABEL[net]} run",
              lambda c, net=net: c.get("kind") != "map" and c["network"] == net)
    for n in sorted({int(c["n_train"]) for c in plan}):
        every(f"every run at N = {n}", lambda c, n=n: c.get("kind") != "map" and int(c["n_train"]) == n)
    every("the second and third training runs of each cell",
          lambda c: c.get("kind") != "map" and c["seed"] != c["data_seed"])
    every("the L2 runs at matched time and Adam steps", lambda c: bool(c.get("match")))
    every("the sketched losses", lambda c: c.get("loss") in dino.EXTRA_LOSSES)
    every("the MAP demonstration", lambda c: c.get("kind") == "map")
    text = f"{len(missing)} of the {len(plan)} planned runs have no record"
    return text + (", among them " + _and(lacks) if lacks else "") + "."


def _signed(points: float) -> str:
    """A difference in points with its sign, a true minus for negatives: "−0.3", "+1.2"."""
    return f"{points:+.1f}".replace("-", "\u2212")


def _num(v: float) -> str:
    """A percentage value to one decimal with a true minus: "−67.4"."""
    return f"{v:.1f}".replace("-", "\u2212")


def _cap(text: str) -> str:
    """``text`` with its first letter capitalised ("reaction-diffusion" starts a sentence)."""
    return text[:1].upper() + text[1:]


def _and(items: Sequence[str], conj: str = "and") -> str:
    """"a", "a and b", "a, b and c" (or another conjunction)."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {conj} " + items[-1]


def _means(frame, metric: str, keys: Sequence[str]) -> dict[Any, float]:
    """Mean of ``metric`` (in %) over the recorded runs per ``keys``, cells with a value only."""
    if frame is None or not len(frame):
        return {}
    g = frame.dropna(subset=[metric]).groupby(list(keys))[metric].mean()
    return {k: 100 * float(v) for k, v in g.items()}


def headline_words(claims: Sequence[Claim], long=None, cfg: dino.DinoConfig | None = None) -> str:
    """The headline in a sentence or two: per map, our H1 accuracy of DIPNet 100-50 with the
    full-H1 loss at N = 4096 (mean over its runs in ``long``, :func:`dino.long_frame`) against
    the paper's (:data:`dino.PAPER_H1`) and the difference in points; the maps without a run;
    the same accuracy in the form of the authors' code; and the claim table's verdict. Without
    ``long``, the claim's "ours" stands in for the numbers."""
    head = next(c for c in claims if c.claim.startswith("DIPNet 100-50 with the full-H1 loss"))
    problems = [p for p in dino.PROBLEMS if cfg is None or p in cfg.problems]
    what = "DIPNet 100-50 trained with the full-H1 loss on 4096 samples"
    if cfg is not None and 4096 not in cfg.sizes:
        return f"This plan stops below the paper's headline, {what}."
    got = _provisional(head.ours)
    judged = (f" Verdict: **{head.verdict}**." if head.verdict != VERDICTS[3] else
              f" Provisionally, on {got[2]}, the claim would read {got[1]}." if got else
              " The claim table gives no verdict on it yet.")
    if long is None:
        paper = _and([f"{100 * dino.PAPER_H1[p]:.1f} % ({dino.LABEL_PROBLEM[p]})" for p in problems])
        return f"The paper's headline, {what}: the paper reports {paper}; ours: {head.ours}." + judged
    sel = long[(long.network == "dipnet_100_50") & (long.loss == "h1") & (long.N == 4096)]
    eq, code = _means(sel, "h1_accuracy", ["problem"]), _means(sel, "h1_accuracy_code", ["problem"])
    ran = [p for p in problems if p in eq]
    if not ran:
        return f"No run of the paper's headline, {what}, is recorded."
    each = [f"{_num(eq[p])} % on {dino.LABEL_PROBLEM[p]} (paper {100 * dino.PAPER_H1[p]:.1f} %, "
            f"{_signed(eq[p] - 100 * dino.PAPER_H1[p])} points)" for p in ran]
    text = (f"Our DIPNet 100-50, trained with the full-H1 loss on 4096 samples as in the paper's "
            f"headline, reaches an H1 accuracy of {_and(each)}.")
    rest = [dino.LABEL_PROBLEM[p] for p in problems if p not in ran]
    if rest:
        text += f" {_cap(_and(rest))} {'has' if len(rest) == 1 else 'have'} no run at N = 4096."
    shown = [p for p in ran if p in code]
    if shown:
        text += (" In the form of the authors' code (RMS errors over the test samples) the same "
                 "runs give " + _and([f"{_num(code[p])} %" + (f" ({dino.LABEL_PROBLEM[p]})"
                                                           if len(shown) > 1 else "")
                                      for p in shown]) + ".")
    return text + judged


def tally(long, base, loss: str, against: str, sizes: Sequence[int] | None = None
          ) -> tuple[int, int, int, int, tuple | None]:
    """L2 accuracy of ``loss`` against an L2 run, over the (map, network, N) cells with both,
    N in ``sizes`` (default: every N): ``against`` is "l2" (plain L2, the same epochs), "time"
    (the L2 baseline given the loss's time) or "steps" (given the MS loss's Adam steps). Cells
    compared with :func:`dino.compare` (a difference inside the spread of the runs is a tie).
    *Returns* (wins, ties, losses, cells, example), the example being the first cell in the
    order map, network (DIPNet 100-50 first), N: (map, network, N, the loss's mean, L2's mean),
    means in %."""
    acc = dino.cells(long, "l2_accuracy") if long is not None and len(long) else {}
    other = acc if against == "l2" else (
        dino.cells(base, "l2_accuracy") if base is not None and len(base) else {})
    key = {"l2": "l2", "time": "l2@time:" + loss, "steps": "l2@steps"}[against]
    outcomes, example = [], None
    for p in dino.PROBLEMS:
        for net in dino.PRIORITY:
            for n in sorted({k[3] for k in acc}):
                if sizes is not None and n not in sizes:
                    continue
                a, b = acc.get((p, net, loss, n)), other.get((p, net, key, n))
                o = dino.compare(a, b)
                if o is None:
                    continue
                outcomes.append(o)
                if example is None:
                    example = (p, net, n, 100 * a.mean, 100 * b.mean)
    w, t, lo = outcomes.count(1), outcomes.count(0), outcomes.count(-1)
    return w, t, lo, len(outcomes), example


def _wtl_words(c: Sequence[Any], plural: bool = False) -> str:
    """"wins 1 of 6 cells and ties 5" from a :func:`tally` ("win", "tie", "lose" with ``plural``)."""
    w, t, lo, n = c[:4]
    s_ = "" if plural else "s"
    parts = ([f"win{s_} {w} of {n} cells"] + ([f"tie{s_} {t}"] if t else [])
             + ([f"lose{s_} {lo}"] if lo else []))
    return _and(parts)


def book_cost_words(df, cfg: dino.DinoConfig) -> str:
    """What this chapter's own record cost, from its records: the runs of the plan recorded,
    their recorded training hours (elapsed, and CPU hours where a record measures them), and
    each map's data (:func:`dino.data_frame`: size, and generation time at its measured rate for
    the plan's samples). ``""`` without records."""
    from derivlearn.store import config_key

    if df is None or not len(df) or "key" not in df:
        return ""
    keys = {config_key(c, cfg.version_of(c)) for c in dino.run_configs(cfg)}
    mine = df[df["key"].isin(keys) & (df["status"] == "ok")].drop_duplicates("key", keep="last")
    if not len(mine):
        return ""
    wall = float(mine["wall_time_s"].fillna(0).sum()) / 3600
    cpu = mine["cpu_time_s"].dropna() if "cpu_time_s" in mine else mine["wall_time_s"].iloc[:0]
    text = (f"**This book's own record** holds {len(mine)} runs of its plan: {wall:.1f} hours of "
            "recorded training time"
            + (f" ({float(cpu.sum()) / 3600:.1f} CPU-hours measured on the {len(cpu)} runs that "
               "record CPU time; the rest is elapsed time, partly on shared cores)" if len(cpu) else "")
            + ".")
    data = dino.data_frame(df)
    if len(data):
        n = cfg.n_samples
        text += f" The data of a map ({n} samples with their Jacobians): " + "; ".join(
            f"{dino.LABEL_PROBLEM.get(r.problem, r.problem)} {r.stored_GB:.1f} GB, about "
            f"{r.seconds_per_sample * n / 3600:.1f} h to generate" for r in data.itertuples()) + "."
    return text


def first_baselines_words(long, base, first, cfg: dino.DinoConfig) -> str:
    """The time-matched comparisons of the claim on optimizer work read with the superseded
    baselines (``first``, :func:`dino.baseline_frame` of :data:`dino.FIRST_BASELINES`) beside the
    current ones (``base``): the derivative losses' wins, ties and losses in each. ``""`` without
    superseded baselines."""
    if first is None or not len(first) or not cfg.baseline_sizes:
        return ""
    sizes = list(cfg.baseline_sizes)
    losses = [x for x in dino.MAIN_DERIVATIVE_LOSSES if x in cfg.losses]
    old = [tally(long, first, x, "time", sizes) for x in losses]
    old = [c for c in old if c[3]]
    if not old:
        return ""
    # the current baselines on the same cells only, so that the two readings count alike
    keys = set(dino.cells(first, "l2_accuracy"))
    now_base = base[[(p, net, f"l2@{m}", n) in keys for p, net, m, n in zip(
        base["problem"], base["network"], base["match"], base["N"], strict=True)]] if (
        base is not None and len(base)) else base
    now = [c for x in losses if (c := tally(long, now_base, x, "time", sizes))[3]]
    total = lambda cs: tuple(sum(c[i] for c in cs) for i in range(4))  # noqa: E731
    runs = len(first)
    return (f"A first table of cost ratios, measured on fewer runs before this one, gave other "
            f"epochs; its {runs} time-matched baseline run{'s' if runs != 1 else ''} are kept beside "
            f"the records ({dino.FIRST_BASELINES}). On the cells both tables have, the derivative "
            f"losses against L2 given their time {_wtl_words(total(old), True)} with the first "
            f"table's baselines, and {_wtl_words(total(now), True)} with the current ones.")


def _example(e: tuple, loss: str, other: str) -> str:
    p, net, n, a, b = e
    return (f"{dino.LABEL[net]} on {dino.LABEL_PROBLEM[p]} at N = {n}: L2 accuracy {_num(a)} % with "
            f"the {LOSS_WORDS[loss]} loss against {_num(b)} % for {other}")


def _cost_ratio(long, n: int) -> tuple[float, float] | None:
    """The lowest and highest median over (map, network) of a main derivative loss's training
    seconds over L2's at N = ``n`` (same map, network and training run; both train the same
    epochs), or None."""
    if long is None or not len(long) or "seconds" not in long:
        return None
    sec = {(r.problem, r.network, r.loss, r.seed): r.seconds for r in long[long.N == n].itertuples()}
    med = []
    for loss in dino.MAIN_DERIVATIVE_LOSSES:
        r = [t / sec[(p, net, "l2", s)] for (p, net, x, s), t in sec.items()
             if x == loss and sec.get((p, net, "l2", s)) and t == t]
        if r:
            med.append(float(np.median(r)))
    return (min(med), max(med)) if med else None


def small_n_words(long, base, cfg: dino.DinoConfig, provisional: bool = True) -> str:
    """What the runs say about the small-N question, in words, from the records: at the smallest
    N, each derivative loss against plain L2 with the same epochs; at the baseline sizes, the MS
    loss against L2 given its Adam steps and each derivative loss against L2 given its time
    (:func:`tally`, an example cell each); then what follows, and the per-epoch cost of the
    derivative losses at the smallest N. ``provisional`` marks it so. Empty without runs."""
    n = min(cfg.sizes)
    # the cells the claim table reads: those with all their planned runs
    long, base = dino.complete(cfg, long), dino.complete(cfg, base)
    losses = [x for x in dino.MAIN_DERIVATIVE_LOSSES if x in cfg.losses]
    eq = {x: tally(long, base, x, "l2", [n]) for x in losses}
    eq = {x: c for x, c in eq.items() if c[3]}
    if not eq:
        return ""
    groups: dict[str, list[str]] = {}
    for x, c in eq.items():
        w, t, lo, m = c[:4]
        how = ("beat" if 2 * w > m else "tie with" if 2 * t > m else "lose to" if 2 * lo > m
               else "are mixed against")
        groups.setdefault(how, []).append(x)
    said = []
    for how, xs in groups.items():
        each = [f"{eq[x][0] if how == 'beat' else eq[x][1] if how == 'tie with' else eq[x][2]} "
                f"of {eq[x][3]}" for x in xs]
        counts = each[0] + (" cells each" if len(set(each)) == 1 and len(each) > 1 else
                            "" if len(each) == 1 else "") if len(set(each)) == 1 else _and(each)
        counts += "" if counts.endswith("each") else " cells"
        names = _and([LOSS_WORDS[x] for x in xs])
        verb = how if len(xs) > 1 else {"beat": "beats", "tie with": "ties with", "lose to": "loses to",
                                        "are mixed against": "is mixed against"}[how]
        wins = [eq[x][0] for x in xs]
        won = ""  # the wins of a loss that mostly ties or loses: said, not hidden in the majority
        if how in ("tie with", "lose to") and any(wins):
            one = len(xs) == 1
            won = (f" and win{'s' if one else ''} {wins[0]}" + ("" if one else " each") if len(set(wins)) == 1
                   else f" and win {_and([str(w) for w in wins])} respectively")
        said.append(f"the {names} loss{'es' if len(xs) > 1 else ''} {verb} it"
                    + ("" if how == "are mixed against" else f" ({counts}{won})"))
    winners = groups.get("beat", [])
    text = (("*Provisional, on the runs recorded so far:* " if provisional else "")
            + f"{'at' if provisional else 'At'} N = {n}, against plain L2 with the same {cfg.epochs} epochs, "
            + "; ".join(said))
    if winners:
        text = text[:-1] + f"; {_example(eq[winners[0]][4], winners[0], 'L2')})"
    text += "."
    sizes = list(cfg.baseline_sizes)
    at = f"N = {' and '.join(map(str, sizes))}"
    steps = tally(long, base, "reduced_h1_ms", "steps", sizes) if "reduced_h1_ms" in losses else (0,) * 4
    # how far L2 given MS's Adam steps catches up: MS wins in at most a quarter of the cells,
    # in at most half, or in more than half
    reach = ("all" if steps[0] * 4 <= steps[3] else "part" if steps[0] * 2 <= steps[3] else "none"
             ) if steps[3] else None
    if steps[3]:
        text += (" Given the MS loss's Adam steps and width, L2 "
                 + {"all": "catches up with MS", "part": "catches up with MS only in part",
                    "none": "stays behind MS"}[reach]
                 + f": at {at} MS {_wtl_words(steps)} "
                 + f"({_example(steps[4], 'reduced_h1_ms', 'that L2 run')}).")
    timed = {x: tally(long, base, x, "time", sizes) for x in losses}
    timed = {x: c for x, c in timed.items() if c[3]}
    if timed:
        total = tuple(sum(c[i] for c in timed.values()) for i in range(4))
        x0 = next(iter(timed))
        text += (f" Against L2 given their training time, the derivative losses {_wtl_words(total, True)} "
                 f"({_example(timed[x0][4], x0, 'that L2 run')}; these L2 runs got more or less "
                 "time than intended, see {ref}`the caveat <dino-small-n>`).")
    msg = []
    if winners and steps[3] and "reduced_h1_ms" in winners:
        if reach == "all":
            msg.append("the MS loss's gain is what L2 reaches with the same Adam steps: it comes from "
                       "the extra optimizer work rather than from the Jacobian")
        elif reach == "part":
            msg.append(f"part of the MS loss's gain survives an L2 run with its Adam steps (MS still wins "
                       f"{steps[0]} of {steps[3]} cells): it comes partly from the extra optimizer work")
        else:
            msg.append("the MS loss's gain survives an L2 run with its Adam steps")
    elif not winners:
        msg.append("no derivative loss improves on L2 at small N with the same epochs")
    if msg:
        text += (" So far, " if provisional else " So ") + "; ".join(msg) + "."
    cost = _cost_ratio(long, n)
    if cost and msg:
        text += (f" Meanwhile a derivative-loss run costs {cost[0]:.1f} to {cost[1]:.1f} times an L2 "
                 f"run of the same epochs at N = {n}.")
    return text


def answer(claims: Sequence[Claim], missing: str = "", long=None,
           cfg: dino.DinoConfig | None = None, base=None) -> str:
    """The chapter's answer in a few sentences of Markdown, from the claim table and the
    records (``long``, :func:`dino.long_frame`; ``base``, :func:`dino.baseline_frame`): the
    headline against the paper (:func:`headline_words`), the small-N question in words
    (:func:`small_n_words`, marked provisional while its claims are), the DIPNets against
    Generic, and, for an incomplete record, what is missing (:func:`missing_words`). Without
    the records, the claim table's verdicts and readings."""
    by = {c.claim: c for c in claims}

    def find(start: str) -> Claim:
        return next(c for t, c in by.items() if t.startswith(start))

    def said(c: Claim) -> str:
        if c.verdict != VERDICTS[3]:
            return f"**{c.verdict}** ({c.ours})"
        got = _provisional(c.ours)
        if got is None:
            return "not judged yet"
        body, reading, _ = got
        return f"not judged yet; provisionally it would read {reading} ({body})"

    small, budget = find("Derivative information improves"), find("The gain of derivative")
    ms = find("The matrix-subsampled")
    vs = find("The DIPNets are more accurate")
    parts = [headline_words(claims, long, cfg)]
    words = small_n_words(long, base, cfg, provisional=VERDICTS[3] in
                          (small.verdict, budget.verdict, ms.verdict)) if (
        long is not None and cfg is not None) else ""
    def short(c: Claim) -> str:
        if c.verdict != VERDICTS[3]:
            return f"**{c.verdict}**"
        got = _provisional(c.ours)
        return "not judged yet" + (f" (provisionally {got[1]})" if got else "")

    if words:
        parts.append(words)
        parts.append(f"The claim table's verdicts on this question: derivative information improves L2 "
                     f"accuracy at small N, {short(small)}; the gain is more than extra optimizer steps "
                     f"or time (every comparison must win a majority of its cells), {short(budget)}; the "
                     f"MS loss is notably effective, {short(ms)}.")
    else:
        parts += [f"That derivative losses improve L2 accuracy at small N, with the same epochs as "
                  f"L2: {said(small)}.",
                  f"That the gain survives an L2 run given the same training time or Adam steps: "
                  f"{said(budget)}."]
    parts.append(f"That the DIPNets beat the Generic network: {said(vs)}.")

    rest = [(start, what) for start, what in (
        ("Of the L2-trained networks", "only the DIPNets beat the zero map under L2 training"),
        ("Reduced-H1 losses give", "the reduced losses are best in reduced-H1 accuracy and full H1 in H1 "
                                   "accuracy at the largest N"),
        ("On CRD, plain L2", "on CRD plain L2 is best by a small margin")) if any(
        t.startswith(start) for t in by)]
    if rest:
        parts.append("The paper's other statements, row by row in the claim table: "
                     + "; ".join(f"{what}, {short(find(start))}" for start, what in rest) + ".")
    if missing:
        parts.append(f"*This record is incomplete: {missing} Every number and verdict here covers "
                     "the runs that are recorded.*")
    return " ".join(parts)


_PROVISIONAL = (re.compile(r"^provisional, on (\d+ of the \d+) planned ((?:\([^)]*\) )?cells): (.*); "
                           r"would read: (.+)$"),
                re.compile(r"^provisional, on cells that do not have all their runs yet: (.*); "
                           r"would read: (.+)$"))


def _provisional(ours: str) -> tuple[str, str, str] | None:
    """(the numbers, the verdict they would give, how many planned cells) of a provisional
    "ours" (:func:`dino.claim_table`), or None."""
    m = _PROVISIONAL[0].match(ours)
    if m:
        return m.group(3), m.group(4), f"{m.group(1).replace(' the ', ' ')} planned {m.group(2)}"
    m = _PROVISIONAL[1].match(ours)
    if m:
        return m.group(1), m.group(2), "no cell complete"
    return None


SHORT_VERDICT = {"confirmed": "confirmed", "partly confirmed": "partly",
                 "not confirmed": "not confirmed", "not tested": "not tested"}
LINE_BADGE = {"confirmed": "bdg-success-line", "partly confirmed": "bdg-warning-line",
              "not confirmed": "bdg-danger-line"}


def claim_markdown(claims: Sequence[Claim]) -> str:
    """The claim table as MyST Markdown (:func:`derivlearn.claims.to_markdown`), except that a
    row that is not tested yet but has a provisional reading shows that reading as a second,
    outlined badge ("provisional: partly") with the number of planned cells it rests on, and
    its "ours" cell gives only the numbers."""
    shown, extra = [], {}
    for i, c in enumerate(claims):
        got = _provisional(c.ours) if c.verdict == VERDICTS[3] else None
        if got:
            ours, reading, rests = got
            c = dataclasses.replace(c, ours=ours)
            extra[i] = (f"{{{LINE_BADGE.get(reading, 'bdg-muted-line')}}}`provisional: "
                        f"{SHORT_VERDICT[reading]}` ({rests})")
        shown.append(c)
    lines = to_markdown(shown).splitlines()
    first = next(k for k, line in enumerate(lines) if line.startswith("|---")) + 1
    for i, more in extra.items():
        head = f"| {badge(VERDICTS[3])} |"
        lines[first + i] = head[:-1] + more + " |" + lines[first + i][len(head):]
    return "\n".join(lines)


def accuracy_words(long, cfg: dino.DinoConfig, network: str = "dipnet_100_50") -> str:
    """What :func:`accuracy_figure` shows, in a sentence per map, from the recorded runs (means
    over a cell's runs): at the largest N where the full-H1 loss ran, its H1 accuracy against L2
    training's (and the loss that is higher still, if any); at the smallest N with L2 and a
    derivative loss, the loss with the highest L2 accuracy and its lead over L2."""
    sel = long[long.network == network] if len(long) else long
    out = []
    explained = False
    for p in cfg.problems:
        s = sel[sel.problem == p] if len(sel) else sel
        h1 = _means(s, "h1_accuracy", ["loss", "N"])
        l2 = _means(s, "l2_accuracy", ["loss", "N"])
        name = dino.LABEL_PROBLEM[p]
        if not h1 and not l2:
            out.append(f"on {name}, no run is recorded.")
            continue
        said = []
        full = [n for (loss, n) in h1 if loss == "h1"]
        if full:
            n = max(full)
            x = f"at N = {n} the full-H1 loss reaches {_num(h1[('h1', n)])} % H1 accuracy"
            if ("l2", n) in h1:
                x += f", L2 training {_num(h1[('l2', n)])} %"
            top = max((loss for (loss, m) in h1 if m == n), key=lambda loss: h1[(loss, n)])
            if top != "h1":
                x += f", and the {LOSS_WORDS.get(top, top)} loss is higher still at {_num(h1[(top, n)])} %"
            red = _means(s, "reduced_h1_accuracy", ["loss", "N"]) if len(s) else {}
            at = {loss: v for (loss, m), v in red.items() if m == n}
            if at:
                best = max(at, key=at.get)
                what = ("" if explained else " (the Jacobian's accuracy on the singular directions "
                                             "of the map's, which the reduced losses train)")
                explained = True
                x += (f"; in reduced-H1 accuracy{what} the {LOSS_WORDS.get(best, best)} "
                      f"loss is highest, {_num(at[best])} %")
            said.append(x)
        small = sorted(n for (loss, n) in l2 if loss == "l2"
                       and any(m == n and o != "l2" for (o, m) in l2))
        if small:
            n = small[0]
            top = max((loss for (loss, m) in l2 if m == n), key=lambda loss: l2[(loss, n)])
            if top == "l2":
                said.append(f"at N = {n} L2 training has the highest L2 accuracy, "
                            f"{_num(l2[('l2', n)])} %")
            else:
                said.append(f"at N = {n} the {LOSS_WORDS.get(top, top)} loss has the highest L2 "
                            f"accuracy, {_num(l2[(top, n)])} % against L2's {_num(l2[('l2', n)])} % "
                            f"({_signed(round(l2[(top, n)], 1) - round(l2[('l2', n)], 1))} points)")
        if said:
            out.append(f"on {name}, " + "; ".join(said) + ".")
    return (f"In numbers ({dino.LABEL[network]}, means over a cell's runs): "
            + " ".join(o if i == 0 else _cap(o) for i, o in enumerate(out)))


def networks_words(long, cfg: dino.DinoConfig, loss: str = "l2") -> str:
    """What :func:`networks_figure` shows, in a sentence per map, from the recorded runs: each
    network's highest H1 accuracy over N (mean over a cell's runs) and which of them exceed 0 %."""
    sel = long[long.loss == loss] if len(long) else long
    nets = [n for n in dino.PRIORITY if n in cfg.networks]
    out = []
    for p in cfg.problems:
        s = sel[sel.problem == p] if len(sel) else sel
        h1 = _means(s, "h1_accuracy", ["network", "N"])
        name = dino.LABEL_PROBLEM[p]
        best = {}
        for net in nets:
            got = {n: v for (k, n), v in h1.items() if k == net}
            if got:
                n = max(got, key=got.get)
                best[net] = (got[n], n)
        if not best:
            out.append(f"on {name}, no run is recorded.")
            continue
        peaks = _and([f"{dino.LABEL[net]} {_num(v)} % (N = {n})" for net, (v, n) in best.items()])
        above = [dino.LABEL[net] for net, (v, _) in best.items() if v > 0]
        tail = (f"{_and(above)} above 0 %" if above else "none above 0 %")
        absent = [dino.LABEL[net] for net in nets if net not in best]
        none = f"; no run of {_and(absent, 'or')}" if absent else ""
        out.append(f"on {name}, {peaks}; {tail}{none}.")
    return (f"In numbers, the highest H1 accuracy over N of each network trained with "
            f"{dino.LABEL[loss]} (means over a cell's runs, values below the axis included): "
            + " ".join(o if i == 0 else _cap(o) for i, o in enumerate(out)))


def training_cost_words(bench: Mapping[str, Any] | None) -> str:
    """What the quiet-machine benchmark (the rows of ``benchmarks/dino_training_cost.py
    --json``) gives, for comparison with the table of recorded ratios: per network, the seconds
    per epoch of each main derivative loss over L2, and the floor of the same run. Empty
    without the benchmark."""
    if not bench or not bench.get("rows"):
        return ""
    rows: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in bench["rows"]:
        rows.setdefault(r["network"], {})[r["loss"]] = r
    per = []
    for net in dino.PRIORITY:
        got = [rows.get(net, {}).get(loss) for loss in dino.MAIN_DERIVATIVE_LOSSES]
        if not all(got):
            continue
        ratios = _and([f"{r['ratio']:.1f}" for r in got])
        floors = sorted({r["floor"] for r in got if r.get("floor") is not None})
        floor = f" against a floor of {_and([f'{f:.1f}' for f in floors])} ×" if floors else ""
        per.append(f"{ratios} × L2 for {dino.LABEL[net]}{floor}")
    if not per:
        return ""
    losses = _and([LOSS_WORDS[loss] for loss in dino.MAIN_DERIVATIVE_LOSSES])
    how = ", ".join(([f"N = {bench['n']}"] if "n" in bench else [])
                    + ([f"batch {bench['batch']}"] if "batch" in bench else []) + ["one thread"])
    return (f"On a quiet machine ({how}), {{repo}}`benchmarks/dino_training_cost.py` gives the "
            f"{losses} losses per epoch {'; '.join(per)}.")


def budget_words(cfg: dino.DinoConfig) -> str:
    """How the L2 baselines of the table are budgeted, in words: the time-matched run trains k
    times the epochs, k the loss's per-epoch cost over L2 from a fixed table
    (:data:`dino.COST_RATIO`, epochs in :func:`budget_table`); the MS loss's Adam steps per
    epoch against L2's at each baseline size, and the epochs of its steps-matched run."""
    if not cfg.baseline_sizes:
        return "*This plan has no L2 baselines.*"
    steps = ", ".join(
        f"{dino.steps_per_epoch('reduced_h1_ms', n, cfg.batch_size)} against "
        f"{dino.steps_per_epoch('l2', n, cfg.batch_size)} at N = {n}" for n in cfg.baseline_sizes)
    matched = " and ".join(
        f"{dino.baseline_epochs('steps', 'dipnet_100_50', n, cfg.epochs, cfg.batch_size)} epochs at N = {n}"
        for n in cfg.baseline_sizes)
    return (f"**The baselines.** The time-matched L2 run of a derivative loss trains k × {cfg.epochs} "
            "epochs, where k is that loss's cost per epoch over L2's for the same network and N, "
            "measured on the first runs of this plan and then fixed, so that a baseline does not "
            "depend on the timing of its own run (an earlier table: below the epochs table). "
            "It is matched in epochs from a measured cost, not in wall "
            f"time. The MS loss makes {steps} Adam steps per epoch (batches of {cfg.batch_size}), "
            f"so its steps-matched L2 run trains {matched}, at the MS run's width. The epochs:")


def _ratios(long, base) -> dict[tuple, list[float]]:
    """Per (network, N): the seconds of each time-matched L2 run over those of the run it is
    matched to (same map, network, N and training run)."""
    runs = {(r.problem, r.network, r.loss, r.N, r.seed): r.seconds for r in long.itertuples()}
    ratios: dict[tuple, list[float]] = {}
    for r in base.itertuples():
        if not str(r.match).startswith("time:"):
            continue
        own = runs.get((r.problem, r.network, str(r.match)[5:], r.N, r.seed))
        if own and own == own and r.seconds == r.seconds and own > 0:
            ratios.setdefault((r.network, r.N), []).append(r.seconds / own)
    return ratios


def _own_spread(long, base) -> tuple[tuple, float, float] | None:
    """The cell (map, network, loss, N) of a derivative loss with a time-matched baseline whose
    runs' seconds differ most (highest over lowest), with its lowest and highest seconds;
    None without a cell of two runs or more."""
    matched = {(r.problem, r.network, str(r.match)[5:], r.N) for r in base.itertuples()
               if str(r.match).startswith("time:")}
    best = None
    for key, g in long.groupby(["problem", "network", "loss", "N"]):
        t = g["seconds"].dropna()
        if key in matched and len(t) > 1 and t.min() > 0:
            if best is None or t.max() / t.min() > best[2] / best[1]:
                best = (key, float(t.min()), float(t.max()))
    return best


def baseline_time_words(long, base, cfg: dino.DinoConfig | None = None) -> str:
    """A caveat on the time-matched L2 runs: the time they actually got, their seconds over
    those of the run they are matched to (median and range per network and N, and over all
    pairs), and what follows: more than 1.25 times leans the time comparison towards L2, less
    than 0.8 towards the derivative loss; then the steps-matched comparison alone, which no
    timing enters (:func:`tally`; with ``cfg``, on the cells with all their planned runs, as the
    claim table reads them). Empty without such pairs."""
    if base is None or not len(base) or not len(long):
        return ""
    ratios = _ratios(long, base)
    if not ratios:
        return ""
    parts = [f"{dino.LABEL[net]} at N = {n} {np.median(v):.2f} ({min(v):.2f} to {max(v):.2f})"
             for (net, n), v in sorted(ratios.items(),
                                       key=lambda kv: (dino.PRIORITY.index(kv[0][0]), kv[0][1]))]
    every = [x for v in ratios.values() for x in v]
    med = float(np.median(every))
    text = ("**Caveat: the time-matched runs did not get the same time.** Their recorded wall time "
            "over that of the derivative run they are matched to is "
            f"{med:.2f} (median over {len(every)} pairs; per network and N, median and range: "
            + "; ".join(parts) + "). The runs shared a loaded machine, so these times are noisy. ")
    if med > 1.25:
        text += ("Most time-matched L2 runs got more time than the derivative run they are judged "
                 "against, so the time comparison leans towards L2 and cannot by itself show that the "
                 "derivative losses do not pay for their time.")
    elif med < 0.8:
        text += ("Most time-matched L2 runs got less time than the derivative run they are judged "
                 "against, so the time comparison leans towards the derivative losses.")
    else:
        text += "In the median they got about the same time."
    spread = _own_spread(long, base)
    if spread and spread[2] >= 2 * spread[1]:
        (p, net, loss, n), lo_, hi_ = spread
        text += (f" Much of the spread is the derivative runs' own: the runs of one cell took up to "
                 f"{hi_ / lo_:.0f} times as long as each other ({LOSS_WORDS[loss]} loss, "
                 f"{dino.LABEL[net]} on {dino.LABEL_PROBLEM[p]} at N = {n}: {lo_:.1f} to {hi_:.1f} s).")
    full = (long, base) if cfg is None else (dino.complete(cfg, long), dino.complete(cfg, base))
    ms = (tally(*full, "reduced_h1_ms", "steps")
          if {"l2_accuracy"} <= set(long.columns) & set(base.columns) else (0,) * 4)
    if ms[3]:
        text += (" The steps-matched comparison depends on no timing and is the clean test: on it "
                 f"alone, the MS loss {_wtl_words(ms)} against L2 given its Adam steps.")
    return text


def map_words(mf, noise: float | None = None) -> str:
    """Two sentences on the MAP runs: the surrogate's output error against the fixed noise
    level (``noise``, the configuration's ``map_noise``; by default the level the fixed cases
    recorded), and the distance from the PDE's MAP point at each noise level (medians over the
    cases)."""
    med = mf.groupby("noise_kind")[["surrogate_output_error", "surrogate_to_map",
                                    "noise_relative"]].median()
    level = _fixed_noise(mf, noise)
    err = float(mf["surrogate_output_error"].median())
    out = [f"The surrogate's output error at the true parameters is {100 * err:.1f} % of the "
           f"observation (median over {mf['case'].nunique()} cases), "
           + ("larger than" if err > level else "smaller than") + f" the {_pct_g(level)} noise."]
    if {"fixed", "matched"} <= set(med.index):
        fixed, matched = med.loc["fixed", "surrogate_to_map"], med.loc["matched", "surrogate_to_map"]
        out.append(f"Its MAP estimate lies {fixed:.2f} of the MAP "
                   f"point's distance from the prior mean away from the PDE's MAP point at "
                   f"{_pct_g(level)} noise, and {matched:.2f} at "
                   "the matched noise.")
        if matched >= 0.9 * fixed:
            apart = "noise_draw" not in mf or bool((mf["noise_draw"] != "shared").any())
            out.append("Matching the noise to the surrogate's output error barely moves its MAP "
                       "estimate: that error is not what keeps it from the PDE's MAP point; the "
                       "shape of the surrogate's misfit, set by its Jacobian, is the likelier cause"
                       + (" (the two noise levels also draw different noise, so this is one comparison, "
                          "not a controlled one)." if apart
                          else "; both levels scale the same noise draw."))
        else:
            out.append(f"Matching the noise to the surrogate's output error brings its MAP estimate "
                       f"closer, by {100 * (1 - matched / fixed):.0f} %: that part of the distance comes "
                       "from the output error; what remains at the matched noise comes from the shape "
                       "of the surrogate's misfit, set by its Jacobian.")
    if "surrogate_converged" in mf:
        conv = mf["surrogate_converged"].astype(bool)
        if not conv.all():
            k = int((~conv).sum())
            out.append(f"{k} of the {len(conv)} surrogate MAP solves stopped before "
                       + ("its convergence test held; its estimate is" if k == 1 else
                          "their convergence tests held; their estimates are") + " counted as it stands.")
    return " ".join(out)
