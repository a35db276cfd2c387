"""Figures and tables of the DINO chapter (``notebooks/dino_pde_maps.ipynb``).

Everything here reads the frames of :mod:`derivlearn.studies.dino` (``long_frame``,
``baseline_frame``, ``map_frame``, the claims) and computes nothing new; the notebook shows the
results with a few calls. Figures follow the book's style: at most two panels per row here, at
most five curves per panel, the paper's N = 4096 numbers as reference markers, and an H1 axis
that always shows them, with points below its floor drawn at the floor as open triangles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from derivlearn import plotting
from derivlearn.claims import VERDICTS, Claim
from derivlearn.studies import dino

LOSS_STYLE = {"l2": ("C0", "-", "o"), "h1": ("C3", "--", "s"), "reduced_h1": ("C2", ":", "^"),
              "reduced_h1_ms": ("C4", "-.", "D")}
NET_STYLE = {"dipnet_100_50": ("C0", "-", "o"), "dipnet_50_50": ("C1", "--", "s"),
             "generic": ("C7", ":", "^")}
H1_FLOOR = -50.0
"""Lowest H1 accuracy (%) on the H1 axes: lower values sit on the floor as open triangles."""
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


def _draw(ax, frame, metric: str, style: tuple[str, str, str], label: str, floor: float | None) -> None:
    n, mean, lo, hi = _curve(frame, metric)
    if not len(n):
        return
    color, ls, marker = style
    shown = mean if floor is None else np.maximum(mean, floor)
    ax.plot(n, shown, color=color, ls=ls, marker=marker, ms=4, label=label)
    if (hi > lo).any():
        lo_, hi_ = (lo, hi) if floor is None else (np.maximum(lo, floor), np.maximum(hi, floor))
        ax.fill_between(n, lo_, hi_, color=color, alpha=0.15, linewidth=0)
    if floor is not None and (mean < floor).any():
        off = mean < floor
        ax.plot(n[off], np.full(off.sum(), floor), ls="none", marker="v", ms=8, mfc="white",
                color=color)
        ax.plot([], [], ls="none", marker="v", ms=8, mfc="white", color="gray",
                label=f"below {floor:.0f} % (off the axis)")


def _size_axis(ax, sizes: Sequence[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(sizes))
    ax.set_xticklabels([str(n) for n in sizes])
    from matplotlib.ticker import NullLocator

    ax.xaxis.set_minor_locator(NullLocator())


def _h1_limits(ax, paper: float | None) -> None:
    lo, hi = ax.get_ylim()
    top = max(hi, 100 * paper + 10 if paper is not None else hi)
    ax.set_ylim(max(lo, H1_FLOOR - 5), min(top, 100))


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
            for loss in cfg.losses:
                _draw(ax, sel[sel.loss == loss], metric, LOSS_STYLE[loss], dino.LABEL[loss], floor)
            paper = (dino.PAPER_H1[p] if metric == "h1_accuracy" and network == "dipnet_100_50"
                     and 4096 in cfg.sizes else None)
            if paper is not None:
                ax.scatter([4096], [100 * paper], **plotting.PAPER_MARKER)
                _h1_limits(ax, paper)
            elif floor is not None:
                _h1_limits(ax, None)
            if sel.empty:
                _empty(ax)
            ax.set_title(f"{dino.LABEL_PROBLEM[p]}: {METRIC_LABEL[metric][:-4]}", fontsize=10)
            ax.set_ylabel(METRIC_LABEL[metric])
            _size_axis(ax, cfg.sizes)
        axes[i, 0].tick_params(labelsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("training samples N")
    _legend(fig, axes)
    return fig


def networks_figure(long, cfg: dino.DinoConfig, loss: str = "l2"):
    """H1 accuracy against N of the three networks trained with one loss (default L2), one
    panel per problem, the zero line marked. *Returns* the figure."""
    import matplotlib.pyplot as plt

    problems = list(cfg.problems)
    ncol = min(3, len(problems))
    nrow = math.ceil(len(problems) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.5, 2.8 * nrow + 0.6), squeeze=False, sharey=True)
    for k, p in enumerate(problems):
        ax = axes[k // ncol, k % ncol]
        sel = long[(long.problem == p) & (long.loss == loss)]
        for net in dino.PRIORITY:
            if net in cfg.networks:
                _draw(ax, sel[sel.network == net], "h1_accuracy", NET_STYLE[net], dino.LABEL[net], H1_FLOOR)
        ax.axhline(0, color="black", lw=0.8)
        _h1_limits(ax, None)
        if sel.empty:
            _empty(ax)
        ax.set_title(dino.LABEL_PROBLEM[p], fontsize=10)
        ax.set_xlabel("training samples N")
        _size_axis(ax, cfg.sizes)
    for k in range(len(problems), nrow * ncol):
        axes[k // ncol, k % ncol].set_visible(False)
    axes[0, 0].set_ylabel(f"H1 accuracy (%), {dino.LABEL[loss]} training")
    _legend(fig, axes)
    return fig


def _empty(ax) -> None:
    """A panel whose runs are not recorded yet says so (and shows no misleading axis)."""
    ax.text(0.5, 0.5, "not run yet", transform=ax.transAxes, ha="center", va="center",
            fontsize=10, color="gray")
    ax.set_yticks([])


def _legend(fig, axes) -> None:
    """One legend below the figure, from every panel's labelled artists (no duplicates)."""
    seen: dict[str, Any] = {}
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=min(5, len(seen)),
                   fontsize=9, frameon=False)


def _fmt(c: dino.Cell | None) -> str:
    if c is None:
        return "–"
    return f"{100 * c.mean:.1f}" + (f" ± {100 * c.sd:.1f}" if c.k > 1 else "")


def baseline_table(long, base, cfg: dino.DinoConfig):
    """L2 accuracy (%) at the baseline sizes: each derivative loss against plain L2 and against
    the L2 baseline with its training time (and, for MS, its Adam steps and width); mean ± sd
    over seeds. One row per (problem, network, N). *Returns* a pandas DataFrame."""
    import pandas as pd

    acc = dino.cells(long, "l2_accuracy")
    bases = dino.cells(base, "l2_accuracy") if base is not None and len(base) else {}
    rows = []
    for p in cfg.problems:
        for net in dino.PRIORITY:
            if net not in cfg.networks:
                continue
            for n in cfg.baseline_sizes:
                row = {"problem": dino.LABEL_PROBLEM[p], "network": dino.LABEL[net], "N": n,
                       "L2": _fmt(acc.get((p, net, "l2", n)))}
                for loss in dino.MAIN_DERIVATIVE_LOSSES:
                    if loss not in cfg.losses:
                        continue
                    row[dino.LABEL[loss]] = _fmt(acc.get((p, net, loss, n)))
                    row[f"L2, {dino.LABEL[loss]}'s time"] = _fmt(bases.get((p, net, "l2@time:" + loss, n)))
                if "reduced_h1_ms" in cfg.losses:
                    row["L2, MS steps"] = _fmt(bases.get((p, net, "l2@steps", n)))
                if any(v != "–" for k, v in row.items() if k not in ("problem", "network", "N")):
                    rows.append(row)
    return pd.DataFrame(rows)


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
    rows = [
        ("mesh, inputs d_M", "64 × 64, 4225", f"{cfg.mesh} × {cfg.mesh}, {d_m}"),
        ("training sizes N", "16, 64, 256, 1024, 4096", ", ".join(map(str, cfg.sizes))),
        ("training runs per cell", "1", runs),
        ("test samples", "1024", str(cfg.n_test)),
        ("active-subspace samples", "512–1024 (authors' code: 512)", str(cfg.as_samples)),
        ("optimizer", "Adam, 10⁻³, batch 32, 100 epochs",
         f"Adam, {cfg.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epochs"),
        ("DIPNet input scaling (authors' code)", "Φᵀm × 32√r / d_M",
         "as the authors: " + ", ".join(f"{s:.4f} (r = {r})" for r, s in scale.items())),
        ("DIPNet width (authors' code)", "min(50, training rows)",
         "as the authors (MS has 5 rows per sample)"),
        ("Generic output layer (authors' code)", "Glorot, zero bias", "as the authors"),
        ("L2 baselines at matched time and steps", "none",
         "N = " + ", ".join(map(str, cfg.baseline_sizes)) if cfg.baseline_sizes else "none"),
    ]
    return pd.DataFrame(rows, columns=["setting", "paper", "ours"])


def data_table(df):
    """Per map: data generation seconds per sample, stored and full-Jacobian gigabytes, with
    words for headers. *Returns* a pandas DataFrame."""
    data = dino.data_frame(df)
    data["problem"] = data["problem"].map(dino.LABEL_PROBLEM)
    return data.rename(columns={"problem": "map", "seconds_per_sample": "seconds per sample",
                                "stored_GB": "stored (GB)",
                                "full_jacobian_GB": "full Jacobians (GB)"}).set_index("map")


MAP_COLUMNS = {"noise_relative": "noise / RMS observation",
               "surrogate_output_error": "surrogate output error",
               "surrogate_to_map": "distance from the MAP point",
               "pde_misfit": "data misfit, PDE", "surrogate_misfit": "data misfit, surrogate"}


def map_table(mf):
    """Medians over the MAP cases per (map, noise): the noise and the surrogate's output error
    (both relative to the observation), the surrogate estimate's distance from the PDE's MAP
    point, and the true relative misfits. *Returns* a pandas DataFrame."""
    g = mf.assign(problem=mf["problem"].map(dino.LABEL_PROBLEM),
                  noise_kind=mf["noise_kind"].map({"fixed": "1 %", "matched": "matched"}))
    out = g.groupby(["problem", "noise_kind"])[list(MAP_COLUMNS)].median().rename(columns=MAP_COLUMNS)
    out.index.names = ["map", "noise"]
    return out


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
        if r["status"] != "ok" or c.get("kind") == "map" or c.get("match") or v not in by \
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
    """The runs of the plan that have no record yet, counted per (map, network) and N: one row
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
    text = f"{len(missing)} of the plan's {len(plan)} runs have no record yet"
    return text + (": among them " + "; ".join(lacks) if lacks else "") + "."


def answer(claims: Sequence[Claim], missing: str = "") -> str:
    """The chapter's answer in a few sentences of Markdown, from the claim table (the headline,
    the small-N gain at equal epochs and at an equal budget, the DIPNets against Generic) and,
    for an incomplete record, what is still missing (:func:`missing_words`)."""
    by = {c.claim: c for c in claims}

    def find(start: str) -> Claim:
        return next(c for t, c in by.items() if t.startswith(start))

    def said(c: Claim) -> str:
        if c.verdict == VERDICTS[3]:
            return ("not judged yet" + (" (the claim table gives a provisional reading on the first runs)"
                                        if "provisional" in c.ours else ""))
        return f"**{c.verdict}** ({c.ours})"

    head = find("DIPNet 100-50 with the full-H1 loss")
    small, budget = find("Derivative information improves"), find("The gain of derivative")
    vs = find("The DIPNets are more accurate")
    if head.verdict == VERDICTS[3]:
        first = "Our runs have not reached the paper's headline, N = 4096, yet."
    else:
        first = (f"The paper's headline, DIPNet 100-50 trained with the full-H1 loss on 4096 "
                 f"samples: {head.ours} H1 accuracy, against the paper's 42.1, 41.5 and 74.7 % "
                 f"({head.verdict}).")
    parts = [first,
             f"That derivative losses improve L2 accuracy at small N, with the same epochs as L2: "
             f"{said(small)}.",
             f"That the gain survives an L2 run given the same training time or Adam steps: "
             f"{said(budget)}.",
             f"That the DIPNets beat the Generic network: {said(vs)}."]
    if missing:
        parts.append(f"*This record is incomplete: {missing} Every number and verdict here covers "
                     "the runs that are recorded.*")
    return " ".join(parts)


def budget_words(cfg: dino.DinoConfig) -> str:
    """How the L2 baselines of the table are budgeted, with the numbers the plan uses: the
    epochs of each time-matched baseline (from :data:`dino.COST_RATIO`) and the Adam steps of
    the MS loss against L2 at each baseline size."""
    if not cfg.baseline_sizes:
        return "*This plan has no L2 baselines.*"
    nets = [n for n in dino.PRIORITY if n in cfg.networks]
    time = "; ".join(
        f"{dino.LABEL[net]}: " + ", ".join(
            f"{dino.LABEL[loss]} {dino.baseline_epochs('time:' + loss, net, 16, cfg.epochs, cfg.batch_size)}"
            for loss in dino.MAIN_DERIVATIVE_LOSSES if loss in cfg.losses)
        for net in nets)
    steps = ", ".join(
        f"{dino.steps_per_epoch('reduced_h1_ms', n, cfg.batch_size)} against "
        f"{dino.steps_per_epoch('l2', n, cfg.batch_size)} at N = {n}" for n in cfg.baseline_sizes)
    matched = " and ".join(
        f"{dino.baseline_epochs('steps', 'dipnet_100_50', n, cfg.epochs, cfg.batch_size)} epochs at N = {n}"
        for n in cfg.baseline_sizes)
    return (f"The time-matched L2 runs train {cfg.epochs} epochs times the cost of the loss per epoch "
            "over L2, as measured on our first records (a fixed table, so that a run's key does not "
            f"depend on a timing); that gives these epochs: {time}. The MS loss makes {steps} Adam "
            f"steps per epoch (batches of {cfg.batch_size}), so its steps-matched L2 run trains "
            f"{matched}, at the MS run's width.")


def map_words(mf) -> str:
    """Two sentences on the MAP runs: the surrogate's output error against the 1 % noise, and
    the distance from the PDE's MAP point at each noise level (medians over the cases)."""
    med = mf.groupby("noise_kind")[["surrogate_output_error", "surrogate_to_map",
                                    "noise_relative"]].median()
    err = float(mf["surrogate_output_error"].median())
    out = [f"The surrogate's output error at the true parameters is {100 * err:.1f} % of the "
           f"observation (median over {mf['case'].nunique()} cases), "
           + ("larger than" if err > 0.01 else "smaller than") + " the 1 % noise."]
    if {"fixed", "matched"} <= set(med.index):
        out.append(f"Its MAP estimate lies {med.loc['fixed', 'surrogate_to_map']:.2f} of the MAP "
                   f"point's distance from the prior mean away from the PDE's MAP point at 1 % "
                   f"noise, and {med.loc['matched', 'surrogate_to_map']:.2f} at the matched noise.")
    return " ".join(out)
