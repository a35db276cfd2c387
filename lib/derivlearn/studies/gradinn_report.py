"""What the GradINN chapter shows: the answer in words, its figures and tables, and its cost.

Everything here reads the records through the analysis of :mod:`derivlearn.studies.gradinn`
(``long_frame``, ``main_rows``, ``trial_frame``, ``summarize``) and renders them for the book in
its house style: at most three panels per row and five curves per panel, one legend, log axes
ticked at the values used, numbers formatted for people. Every sentence that states a result is
built from the records, so the chapter stays right while a sweep is still filling them in.
Nothing here touches a run, its config or its key.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import numpy as np

from derivlearn import plotting
from derivlearn.claims import BADGE, VERDICTS, Claim, to_markdown
from derivlearn.plotting import log_x_at, log_y
from derivlearn.studies import gradinn as gi

MODELS = {
    "gradinn-finetuned": (plotting.PALETTE[0], "-", "o", "GradINN, F fine-tuned"),
    "gradinn-capacity": (plotting.PALETTE[9], "--", "s", "GradINN, F restricted"),
    "nn": (plotting.PALETTE[1], "-", "^", "standard NN"),
    "gp": (plotting.PALETTE[4], ":", "D", "GP"),
    "pinn": (plotting.PALETTE[2], "-.", "v", "PINN-like (knows the equation)"),
    "sobolev": (plotting.PALETTE[3], (0, (5, 1, 1, 1)), "P", "Sobolev NN (true gradients)"),
}
"""Colour, line style, marker and legend label of every model (two cues per model)."""
READING_NAMES = {"gradinn-finetuned": "F fine-tuned", "gradinn-capacity": "F restricted in capacity"}
PROBLEM_STYLE = {p: (plotting.PALETTE[i], ls, mk) for i, (p, ls, mk) in enumerate(zip(
    gi.PROBLEMS, ("-", "--", "-.", ":", (0, (5, 1, 1, 1))), ("o", "s", "^", "D", "v"), strict=True))}
"""Colour, line style and marker of every problem, where problems are the curves."""
WIDTH = 7.5
"""Figure width in inches (the book's content width is about 780 px)."""
FONT = 9
"""Smallest font size of tick labels and legends."""


# ----------------------------------------------------------------------------- formatting
def num(v: float | None, digits: int = 3) -> str:
    """A number for people: ``digits`` significant digits, no exponent between 1e-3 and 1e4,
    an en dash for a missing value."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        text = f"{v:.{digits}g}"
        return text if "e" not in text else f"{v:.{max(digits - 1, 0)}f}"
    k = math.floor(math.log10(abs(v)))
    m = v / 10**k
    exp = "10" + str(k).translate(SUPERSCRIPT)
    return f"{m:.{digits}g}×{exp}" if abs(m - 1) > 1e-9 else exp


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def ratio(v: float | None) -> str:
    """A ratio with two decimals (one from 10 on), an en dash for a missing value."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def span(values) -> str:
    """``"0.5 to 2"`` for the range of ``values`` (two significant digits), one number if they agree."""
    lo, hi = num(min(values), 2), num(max(values), 2)
    return lo if lo == hi else f"{lo} to {hi}"


def pct(s: float) -> str:
    """A noise level as a percentage: ``0.05 -> "5 %"``."""
    return f"{100 * s:g} %"


def sizes_text(ns) -> str:
    """``[25, 50] -> "N = 25 and 50"``, ``[100, 200, 400] -> "N = 100, 200 and 400"``."""
    ns = [int(n) for n in ns]
    if not ns:
        return ""
    return "N = " + (str(ns[0]) if len(ns) == 1 else ", ".join(map(str, ns[:-1])) + f" and {ns[-1]}")


def listing(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def badge(verdict: str) -> str:
    """A verdict badge; ``"not yet recorded"`` gets the grey one."""
    role = BADGE.get(verdict, BADGE[VERDICTS[3]])
    return f"{{{role}}}`{verdict}`"


def problem_axes(problems, row_height: float = 2.35):
    """A figure with one panel per problem, at most three per row. Returns the figure, the
    panels by problem and a spare panel for the legend (``None`` if the grid has none)."""
    import matplotlib.pyplot as plt

    n = len(problems)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    spare = rows * cols > n
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, row_height * rows + (0 if spare else 0.7)),
                             squeeze=False, layout="constrained")
    flat = list(axes.flat)
    for ax in flat[n + 1:]:
        ax.set_visible(False)
    return fig, dict(zip(problems, flat, strict=False)), (flat[n] if spare else None)


def legend(fig, axes, spare=None, order=None) -> None:
    """One legend for the figure: in the spare panel, else below the panels."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    if order:
        handles = {k: handles[k] for k in order if k in handles} | handles
    if not handles:
        return
    if spare is not None:
        spare.axis("off")
        spare.legend(handles.values(), handles.keys(), loc="center", fontsize=FONT, frameon=False)
    else:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", fontsize=FONT,
                   ncol=min(3, len(handles)), frameon=False)


def _style_axes(ax) -> None:
    ax.tick_params(labelsize=FONT)
    ax.title.set_fontsize(FONT + 1)


def _empty(ax, text: str = "not yet recorded") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=FONT,
            color="0.4")


def geometric_band(values) -> tuple[float, float, float]:
    """Geometric mean over the positive finite values and its 95 % t-interval (the interval of
    the claims' paired rule, applied to one model): NaN if none, no spread from one value."""
    from scipy.stats import t as student_t

    v = np.log([x for x in values if x is not None and np.isfinite(x) and x > 0])
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m, h = float(v.mean()), 0.0
    if v.size > 1:
        h = float(student_t.ppf(0.5 + gi.LEVEL / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return math.exp(m), math.exp(m - h), math.exp(m + h)


def _band(ax, x, sel, metric: str, model: str, **kw) -> bool:
    xs, c, lo, hi = [], [], [], []
    for v in sorted(set(sel[x])):
        m, a, b = geometric_band(sel[sel[x] == v][metric])
        if math.isfinite(m):
            xs.append(v)
            c.append(m)
            lo.append(a)
            hi.append(b)
    if not xs:
        return False
    color, ls, mk, label = MODELS[model]
    plotting.band(ax, xs, c, lo, hi, label=label, color=color, linestyle=ls, marker=mk, ms=3.5, **kw)
    return True


def recorded(sel, metric: str, models, problems) -> dict[str, list[str]]:
    """``{problem: [models]}``: the models with at least one finite, positive ``metric`` in
    ``sel`` per problem, for the problems that have any (what a figure draws)."""
    out: dict[str, list[str]] = {}
    for p in problems:
        s = sel[sel.problem == p]
        ms = [m for m in models if any(v is not None and np.isfinite(v) and v > 0
                                       for v in s[s.model == m][metric])]
        if ms:
            out[p] = ms
    return out


NOTE_NAMES = {"gradinn-finetuned": "GradINN with F fine-tuned", "gradinn-capacity": "GradINN with F "
              "restricted", "nn": "the standard NN", "gp": "the GP", "pinn": "the PINN-like model",
              "sobolev": "the Sobolev NN"}
"""Model names inside a sentence (the legend's names hold commas)."""


def problem_words(p: str) -> str:
    """A problem's name inside a sentence: ``"Friedman #1 with 10 inputs"``, ``"Stokes"``."""
    return gi.SHORT_NAMES[p].replace(", ", " with ")


def drawn_note(drawn: dict[str, list[str]], models, problems) -> str:
    """The sentence under a figure while some of its records are missing: which models it draws
    on which problems, and, in one sentence, what is not recorded yet (and so not drawn); ``""``
    once every model and problem has records (the caption names them)."""
    if not drawn:
        return "The figure has no records yet."
    shown = [m for m in models if any(m in ms for ms in drawn.values())]
    lacking_models = [NOTE_NAMES[m] for m in models if m not in shown]
    lacking_problems = [problem_words(p) for p in problems if p not in drawn]
    text = (f"Drawn: {listing([NOTE_NAMES[m] for m in shown])}, on "
            f"{listing([problem_words(p) for p in drawn])}.")
    missing = [x for x in ((f"{listing(lacking_models)} on every problem" if lacking_models else ""),
                           (f"{listing(lacking_problems)} for every model" if lacking_problems else "")) if x]
    if not missing:  # everything recorded is drawn, and the caption names it
        return ""
    return text + f" Not recorded yet, so not drawn: {', and '.join(missing)}."


# ----------------------------------------------------------------------------- the plan and its records
def plan_status(report, cfg: gi.GradINNConfig) -> dict[str, Any]:
    """How much of the validation protocol's plan is recorded: ``{"planned", "recorded",
    "missing": {label: runs}, "first": records of the first protocol}`` (labels as in the
    figures; the prior ablation's other priors apart)."""
    planned = [c for c in gi.run_configs(cfg) if c.get("protocol") == gi.PROTOCOL]
    missing: dict[str, int] = {}
    for c in report.missing:
        if c.get("protocol") != gi.PROTOCOL:
            continue
        model = gi.model_of(c["method"], c.get("variant"))
        label = MODELS[model][3]
        if c["method"] == "gradinn" and c["prior"] != gi.matched_prior(c["problem"], c["variant"]):
            label = f"{label}, other prior (ablation)"
        missing[label] = missing.get(label, 0) + 1
    first = sum(1 for r in report.records if r["config"].get("protocol") != gi.PROTOCOL)
    return {"planned": len(planned), "recorded": len(planned) - sum(missing.values()), "missing": missing,
            "first": first}


def status_markdown(status: dict[str, Any]) -> str:
    """A note on how complete the records are, and what is still missing."""
    n = status.get("first", 0)
    first = f" (besides the {n} runs of the first protocol)" if n else ""
    if not status["missing"]:
        return (f":::{{note}}\nAll {status['planned']} runs this chapter sets out are recorded{first}.\n"
                ":::")
    miss = "; ".join(f"{k}: {v}" for k, v in sorted(status["missing"].items(), key=lambda kv: -kv[1]))
    return (f":::{{note}}\n**Records so far.** {status['recorded']} of the {status['planned']} runs this "
            f"chapter sets out are recorded{first}. Not yet recorded (runs): {miss}. A figure "
            "or verdict that needs them says so, and fills in when they are run "
            "(`python -m derivlearn.run gradinn`).\n:::")


# ----------------------------------------------------------------------------- lambda
def lambda_shares(rows, cfg: gi.GradINNConfig, model: str) -> dict[str, dict[float, int]]:
    """How often validation selected each grid value of ``model``'s lambda, per problem, over
    every recorded seed and cell: ``{problem: {lambda: count}}``."""
    out: dict[str, dict[float, int]] = {}
    sel = rows[rows.model == model]
    for p in cfg.problems:
        vals = [float(v) for v in sel[sel.problem == p]["selected"] if v is not None and math.isfinite(v)]
        if vals:
            out[p] = {lam: sum(1 for v in vals if math.isclose(v, lam)) for lam in cfg.lams}
    return out


def lambda_reading(shares: dict[str, dict[float, int]], cfg: gi.GradINNConfig) -> dict[str, list[str]]:
    """Problems where validation puts lambda at the bottom of its grid in at least half of the
    fits (``"bottom"``), at one of the two smallest values in at least three quarters
    (``"low"``), at 1 or above in at least half (``"high"``), or none of these (``"mixed"``)."""
    low, second = sorted(cfg.lams)[:2] if len(cfg.lams) > 1 else (min(cfg.lams),) * 2
    out: dict[str, list[str]] = {"bottom": [], "low": [], "high": [], "mixed": []}
    for p, c in shares.items():
        n = sum(c.values())
        if c.get(low, 0) >= n / 2:
            out["bottom"].append(p)
        elif c.get(low, 0) + (c.get(second, 0) if second != low else 0) >= 3 * n / 4:
            out["low"].append(p)
        elif sum(k for lam, k in c.items() if lam >= 1) >= n / 2:
            out["high"].append(p)
        else:
            out["mixed"].append(p)
    return out


def lambda_sentence(rows, cfg: gi.GradINNConfig, model: str = gi.MAIN) -> str:
    """Where lambda lands, in words, with what the paired comparisons say there."""
    shares = lambda_shares(rows, cfg, model)
    if not shares:
        return ""
    r = lambda_reading(shares, cfg)
    low = min(cfg.lams)
    parts = []
    if r["bottom"]:
        k = sum(shares[p].get(low, 0) for p in r["bottom"])
        n = sum(sum(shares[p].values()) for p in r["bottom"])
        parts.append(f"Validation puts λ at the bottom of its grid ({num(low)}) in {k} of {n} fits on "
                     f"{listing(gi.SHORT_NAMES[p] for p in r['bottom'])}: there the data give the "
                     "gradient prior the least weight the grid allows, and the best λ may lie below "
                     "the grid.")
        signs = _signs_clause(rows, cfg, r["bottom"], model)
        if signs:
            parts.append(signs)
    if r["low"]:
        second = sorted(cfg.lams)[1]
        parts.append("On " + listing(
            f"{gi.SHORT_NAMES[p]} (λ ≤ {num(second)} in {shares[p].get(low, 0) + shares[p].get(second, 0)} "
            f"of {sum(shares[p].values())} fits, {num(low)} in {shares[p].get(low, 0)})" for p in r["low"])
            + " it keeps λ at the low end of the grid.")
    if r["bottom"] or r["low"]:
        parts.append("Below the grid, GradINN tends to its λ = 0 limit, U trained on the data alone: the "
                     "standard network without weight decay, one of that network's own trials. A λ "
                     "between could still help; {numref}`fig-gradinn-lambda-ablation` shows whether the "
                     "error falls or rises towards the grid's smallest λ.")
    if r["high"]:
        k = sum(c for p in r["high"] for lam, c in shares[p].items() if lam >= 1)
        n = sum(sum(shares[p].values()) for p in r["high"])
        parts.append(f"On {listing(gi.SHORT_NAMES[p] for p in r['high'])} it picks λ ≥ 1 in {k} of {n} "
                     "fits: there the data ask for a strong prior.")
    if r["mixed"]:
        parts.append(f"On {listing(gi.SHORT_NAMES[p] for p in r['mixed'])} the choice is spread over "
                     "the grid.")
    return " ".join(parts)


def lambda_figure(rows, cfg: gi.GradINNConfig):
    """Share of fits that select each lambda, per problem with records, one panel per reading of
    F with records (stacked bars, a sequential colour per grid value). Returns the figure, or
    ``None`` without records."""
    import matplotlib.pyplot as plt

    readings = [m for m in ("gradinn-finetuned", "gradinn-capacity") if lambda_shares(rows, cfg, m)]
    if not readings:
        return None
    problems = [p for p in cfg.problems if any(p in lambda_shares(rows, cfg, m) for m in readings)]
    fig, axes = plt.subplots(1, len(readings), figsize=(WIDTH, 0.45 * len(problems) + 1.4),
                             squeeze=False, sharey=True, layout="constrained")
    cmap = plt.get_cmap("viridis")
    lams = sorted(cfg.lams)
    colors = {lam: cmap(0.15 + 0.7 * i / max(len(lams) - 1, 1)) for i, lam in enumerate(lams)}
    names = [gi.SHORT_NAMES[p] for p in problems][::-1]
    for ax, m in zip(axes[0], readings, strict=True):
        shares = lambda_shares(rows, cfg, m)
        left = np.zeros(len(names))
        for lam in lams:
            w = np.array([shares.get(p, {}).get(lam, 0) / max(sum(shares.get(p, {}).values()), 1)
                          for p in problems][::-1])
            ax.barh(names, w, left=left, color=colors[lam], label=f"λ = {num(lam)}", height=0.65)
            left += w
        for i, p in enumerate(problems[::-1]):
            n = sum(shares.get(p, {}).values())
            ax.text(1.01, i, f"{n}" if n else "–", va="center", fontsize=FONT, color="0.3")
        ax.set(xlim=(0, 1), title=READING_NAMES[m], xlabel="share of the fits")
        ax.grid(False)
        _style_axes(ax)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(lams), fontsize=FONT, frameon=False)
    return fig


def lambda_note(rows, cfg: gi.GradINNConfig) -> str:
    """The sentence under :func:`lambda_figure`: its panels and what is not recorded yet."""
    return readings_note({m: list(lambda_shares(rows, cfg, m)) for m in ("gradinn-finetuned",
                                                                         "gradinn-capacity")}, cfg)


def lambda_table(rows, cfg: gi.GradINNConfig, model: str = gi.MAIN) -> str:
    """Markdown: the lambda validation selects most often per problem and training size
    (noise-free), with how many seeds chose it; a tie names every value chosen most often, and
    "all differ" says that no value was chosen twice."""
    sel = rows[(rows.model == model) & (rows.noise == 0.0)]
    head = "| problem | " + " | ".join(f"N = {n}" for n in cfg.sizes) + " |"
    out = [head, "|---|" + "---|" * len(cfg.sizes)]
    for p in cfg.problems:
        cells = []
        for n in cfg.sizes:
            v = [float(x) for x in sel[(sel.problem == p) & (sel.N == n)]["selected"]
                 if x is not None and math.isfinite(x)]
            if not v:
                cells.append("–")
                continue
            top = max(v.count(x) for x in set(v))
            modes = sorted(x for x in set(v) if v.count(x) == top)
            cells.append(f"{num(modes[0])} ({top} of {len(v)})" if len(modes) == 1 else
                         "all differ" if top == 1 else
                         f"{' or '.join(num(x) for x in modes)} ({top} each of {len(v)})")
        out.append(f"| {gi.SHORT_NAMES[p]} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def lambda_ablation_figure(trials, cfg: gi.GradINNConfig):
    """Test RMSE of every lambda trial (trained on the fit split) at the ablation size, without
    noise, per problem with records, for each reading of F with records, with the standard NN at
    its best weight decay on test data (:func:`nn_best_trial`, the oracle reading the text uses)
    as a horizontal line. Returns the figure, or ``None`` without records."""
    sel = trials[(trials.N == cfg.ablation_size) & (trials.noise == 0.0)]
    if sel.empty or not (sel.method == "gradinn").any():
        return None
    problems = list(_ablation_drawn(sel, cfg))
    if not problems:
        return None
    fig, axes, spare = problem_axes(problems)
    for p, ax in axes.items():
        s = sel[sel.problem == p]
        drawn = False
        for m in ("gradinn-finetuned", "gradinn-capacity"):
            g = s[(s.model == m) & (s.prior == gi.matched_prior(p, m.split("-")[1]))]
            drawn |= _band(ax, "value", g, "rmse", m)
        best = nn_best_trial(s)
        if best is not None:
            value, mean = best
            color, ls, _, label = MODELS["nn"]
            ax.axhline(mean, color=color, ls=ls, lw=1.2,
                       label=f"{label} (best weight decay)")
            drawn = True
        ax.set_title(gi.SHORT_NAMES[p])
        if drawn:
            log_x_at(ax, cfg.lams)
            log_y(ax)
        else:
            _empty(ax)
            ax.set_xticks([])
            ax.set_yticks([])
        _style_axes(ax)
    _label_grid(axes, "λ", "test RMSE (problem units)")  # the caption names λ
    legend(fig, axes.values(), spare)
    return fig


def best_trial(trials) -> tuple[float, float] | None:
    """``(grid value, geometric-mean test RMSE)`` of the grid value with the lowest geometric-mean
    test RMSE over the repetitions (an oracle: no verdict uses it), ``None`` without trials."""
    means = {v: geometric_band(g["rmse"])[0] for v, g in trials.groupby("value")}
    means = {v: m for v, m in means.items() if math.isfinite(m)}
    if not means:
        return None
    v = min(means, key=means.get)
    return float(v), means[v]


def nn_best_trial(sel) -> tuple[float, float] | None:
    """:func:`best_trial` of the standard NN's trials in ``sel`` (one problem, size and noise)."""
    return best_trial(sel[sel.model == "nn"])


def _ablation_drawn(sel, cfg: gi.GradINNConfig) -> dict[str, list[str]]:
    """The readings of F with trials at their matched prior, per problem with any."""
    matched = sel[[pr == gi.matched_prior(p, m.split("-")[1]) if m.startswith("gradinn") else False
                   for p, m, pr in zip(sel.problem, sel.model, sel.prior, strict=True)]]
    return recorded(matched, "rmse", ("gradinn-finetuned", "gradinn-capacity"), cfg.problems)


def ablation_note(trials, cfg: gi.GradINNConfig) -> str:
    """The sentence under :func:`lambda_ablation_figure`: what it draws, what is not recorded."""
    sel = trials[(trials.N == cfg.ablation_size) & (trials.noise == 0.0)]
    drawn = _ablation_drawn(sel, cfg) if len(sel) else {}
    return drawn_note(drawn, ("gradinn-finetuned", "gradinn-capacity"), cfg.problems)


# ----------------------------------------------------------------------------- errors against N
def _label_grid(axes: dict, xlabel: str, ylabel: str) -> None:
    panels = list(axes.values())
    cols = min(3, len(panels))
    for i, ax in enumerate(panels):
        if i % cols == 0:
            ax.set_ylabel(ylabel, fontsize=FONT)
        if i >= len(panels) - cols:
            ax.set_xlabel(xlabel, fontsize=FONT)


def size_figure(rows, cfg: gi.GradINNConfig, metric: str, models, ylabel: str, summary_markers: bool = False):
    """Mean ``metric`` over seeds (95 % band) against the training size, one panel per problem,
    noise-free, for the problems with records only (:func:`size_note` says what is drawn). With
    ``summary_markers`` the automatic summary's Friedman numbers are drawn as reference markers.
    Returns the figure, or ``None`` without records."""
    sel = rows[(rows.noise == 0.0) & rows.N.isin(cfg.sizes)]
    problems = list(recorded(sel, metric, models, cfg.problems))
    if not problems:
        return None
    fig, axes, spare = problem_axes(problems)
    for p, ax in axes.items():
        s = sel[sel.problem == p]
        drawn = False
        for m in models:
            drawn |= _band(ax, "N", s[s.model == m], metric, m)
        n = gi.PAPER_FRIEDMAN["n"]
        if summary_markers and p == "friedman1" and n in cfg.sizes:
            ax.scatter([n], [gi.PAPER_FRIEDMAN["gradinn"]],
                       **(plotting.PAPER_MARKER | {"label": "summary of the paper: GradINN"}))
            ax.scatter([n], [gi.PAPER_FRIEDMAN["nn"]], **(plotting.PAPER_MARKER | {
                "facecolors": "none", "edgecolors": "black", "color": None,
                "label": "summary of the paper: standard NN"}))
            drawn = True
        ax.set_title(gi.SHORT_NAMES[p])
        if drawn:
            log_x_at(ax, cfg.sizes)
            log_y(ax)
        else:
            _empty(ax)
        _style_axes(ax)
    _label_grid(axes, "training points N", ylabel)
    legend(fig, axes.values(), spare)
    return fig


def size_note(rows, cfg: gi.GradINNConfig, metric: str, models) -> str:
    """The sentence under :func:`size_figure`: what it draws and what is not recorded yet."""
    sel = rows[(rows.noise == 0.0) & rows.N.isin(cfg.sizes)]
    return drawn_note(recorded(sel, metric, models, cfg.problems), models, cfg.problems)


def paired_by_size(rows, cfg: gi.GradINNConfig, model: str, other: str = "nn"):
    """:func:`derivlearn.studies.gradinn.paired` of ``model`` against ``other`` at every problem
    and training size (noise-free): ``{problem: {N: result or None}}``."""
    return {p: {n: gi.paired(rows, model, other, p, n) for n in cfg.sizes} for p in cfg.problems}


def ratio_figure(rows, cfg: gi.GradINNConfig):
    """The comparison the verdicts rest on: the standard NN's RMSE over GradINN's (geometric mean
    over paired seeds, 95 % interval), one curve per problem, one panel per reading of F with
    records. Filled markers: a win or a loss; open: a tie. Returns the figure, or ``None`` without
    records."""
    import matplotlib.pyplot as plt

    readings = [m for m in ("gradinn-finetuned", "gradinn-capacity")
                if any(r for d in paired_by_size(rows, cfg, m).values() for r in d.values())]
    if not readings:
        return None
    fig, axes = plt.subplots(1, len(readings), figsize=(WIDTH, 3.6),
                             squeeze=False, sharey=True, layout="constrained")
    low = sorted(cfg.sizes)[:gi.LOW_DATA_SIZES]
    for ax, m in zip(axes[0], readings, strict=True):
        ax.set_title(READING_NAMES[m])
        ax.axvspan(low[0] / 1.2, low[-1] * 1.2, color="0.92", zorder=0,
                   label=f"low data (N = {listing(str(n) for n in low)})")
        ax.axhline(1.0, color="black", lw=0.8)
        for i, (p, d) in enumerate(paired_by_size(rows, cfg, m).items()):
            pts = [(n, r) for n, r in d.items() if r is not None]
            if not pts:
                continue
            color, ls, mk = PROBLEM_STYLE[p]
            shift = 1 + 0.035 * (i - (len(cfg.problems) - 1) / 2)
            x = np.array([n * shift for n, _ in pts])
            y = np.array([r["ratio"] for _, r in pts])
            lo = np.array([r["lo"] if math.isfinite(r["lo"]) else r["ratio"] for _, r in pts])
            hi = np.array([r["hi"] if math.isfinite(r["hi"]) else r["ratio"] for _, r in pts])
            ax.plot(x, y, color=color, ls=ls, lw=1.2, marker=mk, ms=5, label=gi.SHORT_NAMES[p])
            ax.vlines(x, lo, hi, color=color, lw=1.0)
            tie = np.array([r["outcome"] == "tie" for _, r in pts])
            if tie.any():
                ax.plot(x[tie], y[tie], mk, color=color, ms=5, mfc="white", ls="none")
        if gi.PAPER_FRIEDMAN["n"] in cfg.sizes and "friedman1" in cfg.problems:
            ax.scatter([gi.PAPER_FRIEDMAN["n"]], [gi.PAPER_FRIEDMAN["nn"] / gi.PAPER_FRIEDMAN["gradinn"]],
                       **(plotting.PAPER_MARKER | {"label": "summary of the paper (Friedman #1)"}))
        log_x_at(ax, cfg.sizes)
        ax.set_xlabel("training points N", fontsize=FONT)
        _style_axes(ax)
    for ax in axes[0]:
        if ax.has_data():
            log_y(ax)
    lims = [ax.get_ylim() for ax in axes[0] if ax.has_data()]
    if lims:
        for ax in axes[0]:
            if ax.has_data():
                ax.set_ylim(min(a for a, _ in lims), max(b for _, b in lims))
                log_y(ax)
    axes[0, 0].set_ylabel("RMSE of the standard NN / of GradINN", fontsize=FONT)
    legend(fig, axes[0], None)
    return fig


def readings_note(found: dict[str, list[str]], cfg: gi.GradINNConfig, what: str = "",
                  rest: str = "every reading") -> str:
    """The sentence under a figure with a panel per reading of F: ``found`` maps each reading to
    the problems it has records on; while some are missing, says what is drawn and what is not
    recorded yet (``""`` once everything is)."""
    shown = [m for m, ps in found.items() if ps]
    if not shown:
        return "The figure has no records yet."
    probs = [p for p in cfg.problems if any(p in found[m] for m in shown)]
    text = (f"Drawn: GradINN with {listing([READING_NAMES[m] for m in shown])}{what}, on "
            f"{listing([problem_words(p) for p in probs])}.")
    missing = [x for x in (
        (f"GradINN with {listing([READING_NAMES[m] for m in found if m not in shown])}"
         if len(shown) < len(found) else ""),
        (f"{listing([problem_words(p) for p in cfg.problems if p not in probs])} for {rest}"
         if len(probs) < len(cfg.problems) else "")) if x]
    if not missing:  # everything recorded is drawn, and the caption names it
        return ""
    return text + f" Not recorded yet, so not drawn: {', and '.join(missing)}."


def ratio_note(rows, cfg: gi.GradINNConfig) -> str:
    """The sentence under :func:`ratio_figure`: its panels and the problems it draws."""
    found = {m: [p for p, d in paired_by_size(rows, cfg, m).items() if any(d.values())]
             for m in ("gradinn-finetuned", "gradinn-capacity")}
    return readings_note(found, cfg, " against the standard NN", "either reading")


def wins_sentence(rows, cfg: gi.GradINNConfig, model: str = gi.MAIN) -> str:
    """Where ``model`` beats the standard NN beyond the seed spread, where it loses, in words."""
    res = paired_by_size(rows, cfg, model)
    wins = {p: [n for n, r in d.items() if r and r["outcome"] == "win"] for p, d in res.items()}
    losses = {p: [n for n, r in d.items() if r and r["outcome"] == "loss"] for p, d in res.items()}
    cells = sum(1 for d in res.values() for r in d.values() if r)
    if not cells:
        return ""
    ties = sum(1 for d in res.values() for r in d.values() if r and r["outcome"] == "tie")

    def where(d):
        return listing(f"{gi.SHORT_NAMES[p]} ({sizes_text(ns)})" for p, ns in d.items() if ns)

    text = []
    if any(wins.values()):
        text.append(f"GradINN ({READING_NAMES[model]}) is more accurate than the standard NN, beyond "
                    f"the spread of the repetitions, on {where(wins)}")
    if any(losses.values()):
        text.append(("and less accurate on " if text else "GradINN is less accurate than the standard "
                     "NN on ") + where(losses))
    sentence = " ".join(text) + ("; " if text else "") + \
        f"the two tie in {ties} of the {cells} cells."
    return sentence[0].upper() + sentence[1:]


def gradient_sentence(rows, cfg: gi.GradINNConfig) -> str:
    """The gradient error at the largest size: GradINN, the standard NN and the Sobolev NN."""
    n = max(cfg.sizes)
    parts = []
    for p in cfg.problems:
        m = {k: gi._mean(rows, p, k, n, 0.0, "grad_nrmse") for k in ("gradinn-finetuned", "nn", "sobolev")}
        if math.isfinite(m["gradinn-finetuned"]) and math.isfinite(m["nn"]):
            s = (f"{gi.SHORT_NAMES[p]} {num(m['gradinn-finetuned'], 2)} against {num(m['nn'], 2)}")
            if math.isfinite(m["sobolev"]):
                s += f" (Sobolev {num(m['sobolev'], 2)})"
            parts.append(s)
    if not parts:
        return ""
    return (f"At N = {n} the relative gradient error of GradINN ({READING_NAMES[gi.MAIN]}) against "
            f"the standard NN's is: {'; '.join(parts)}.")


# ----------------------------------------------------------------------------- noise
def noise_figure(rows, cfg: gi.GradINNConfig):
    """Test RMSE (clean targets) against the output noise at the noise experiment's size, one
    panel per problem with noisy records, with the noise's own standard deviation as a dashed
    line. Returns the figure, or ``None`` before any noisy training set is recorded."""
    levels = [0.0, *sorted(cfg.noises)]
    pos = {s: i for i, s in enumerate(levels)}
    sel = rows[(rows.N == cfg.noise_size) & rows.noise.isin(levels)].copy()
    sel["level"] = [pos[s] for s in sel.noise]
    problems = list(recorded(sel[sel.noise > 0], "rmse", NOISE_MODELS, cfg.problems))
    if not problems:
        return None
    fig, axes, spare = problem_axes(problems)
    for p, ax in axes.items():
        s = sel[sel.problem == p]
        drawn = False
        for m in NOISE_MODELS:
            drawn |= _band(ax, "level", s[s.model == m], "rmse", m)
        sig = [(pos[v], gi.mean_band(s[s.noise == v]["noise_sd"])[0]) for v in levels[1:]]
        sig = [(i, v) for i, v in sig if math.isfinite(v) and v > 0]
        if sig:
            ax.plot(*zip(*sig, strict=True), color="black", ls="--", lw=1.0, label="noise σ")
        ax.set_title(gi.SHORT_NAMES[p])
        ax.set_xticks(range(len(levels)), [pct(v) for v in levels])
        ax.set_xlim(-0.3, len(levels) - 0.7)
        if drawn:
            log_y(ax)
        else:
            _empty(ax)
        _style_axes(ax)
    _label_grid(axes, "noise (of the output's spread)", "test RMSE (problem units)")
    legend(fig, axes.values(), spare)
    return fig


NOISE_MODELS = ("gradinn-finetuned", "gradinn-capacity", "nn", "gp")
"""The models of the noise figure."""


def noise_note(rows, cfg: gi.GradINNConfig) -> str:
    """The sentence under :func:`noise_figure`: what it draws and what is not recorded yet."""
    sel = rows[(rows.N == cfg.noise_size) & (rows.noise > 0)]
    drawn = recorded(sel, "rmse", NOISE_MODELS, cfg.problems)
    if not drawn:
        return "The noise experiment has no records yet: neither the figure nor its table is drawn."
    return drawn_note(drawn, NOISE_MODELS, cfg.problems)


def noise_table(summary: dict[str, Any], cfg: gi.GradINNConfig) -> str:
    """Markdown, with its lead sentence: per problem and model, the first reading (status) and the
    test RMSE over the noise's standard deviation at every level; and GradINN against the standard
    NN at every level (the comparative reading)."""
    det = summary.get("claim_details", {}).get("noise", {})
    models = [m for m in (gi.MAIN, "gradinn-capacity", "nn") if det.get(m)]
    if not models:
        return ""
    comp = summary.get("claim_details", {}).get("noise_against_nn", {})
    levels = sorted(cfg.noises)
    problems = [p for p in cfg.problems if any(det[m].get(p) for m in models) or comp.get(p)]
    head = ["problem", *(NOISE_NAMES[m] for m in models)]
    if comp:
        head.append("GradINN against the NN")
    lead = (f"Per problem and model: the first rule's reading (robust; not robust; or above the noise "
            f"range, where the noise-free error is above the largest σ), then test RMSE over the noise's "
            f"standard deviation σ at {listing([pct(s) for s in levels])} noise (at most "
            f"{gi.NOISE_FLOOR:g} at every level: near the floor, the floor reading)")
    if comp:
        lead += (f"; in the last column GradINN's outcome against the standard NN at the same levels "
                 f"(comparative reading, {gi.AFTER})")
    lacking = [gi.SHORT_NAMES[p] for p in cfg.problems if p not in problems]
    if lacking:
        lead += f". Not recorded yet: {listing(lacking)}"
    out = [lead + ".", "", "| " + " | ".join(head) + " |", "|---|" + "---|" * (len(head) - 1)]
    for p in problems:
        cells = []
        for m in models:
            r = det[m].get(p)
            if r is None:
                cells.append("–")
                continue
            status = "robust" if r["robust"] else "not robust" if r["fits"] else "above the noise range"
            near = " (near the floor)" if r.get("near_floor") else ""
            cells.append(f"{status}: " + ", ".join(num(_level(r, s).get("over_sigma"), 2) for s in levels)
                         + near)
        if comp:
            c = comp.get(p)
            cells.append("–" if c is None else ", ".join(
                (c["per_level"].get(s) or c["per_level"].get(str(s)) or {}).get("outcome", "–")
                for s in levels) + (" (holds)" if c["holds"] else ""))
        out.append(f"| {gi.SHORT_NAMES[p]} | " + " | ".join(cells) + " |")
    return "\n".join(out)


# ----------------------------------------------------------------------------- priors
def prior_table(summary: dict[str, Any], cfg: gi.GradINNConfig) -> str:
    """Markdown: mean test RMSE at the ablation size for every prior of both readings of F and
    the standard NN; the matched prior of each reading in bold, en dashes where not recorded."""
    cols = [("finetuned", "smooth"), ("finetuned", "oscillatory"), ("capacity", "smooth"),
            ("capacity", "sinusoidal")]
    cols = [c for c in cols if c[0] in cfg.variants]
    head = ["F fine-tuned, smooth", "F fine-tuned, oscillatory", "F restricted, smooth",
            "F restricted, sinusoidal"]
    head = [h for h, c in zip(head, [("finetuned", "smooth"), ("finetuned", "oscillatory"),
                                     ("capacity", "smooth"), ("capacity", "sinusoidal")], strict=True)
            if c[0] in cfg.variants]
    out = ["| problem | " + " | ".join(head) + " | standard NN |", "|---|" + "---|" * (len(cols) + 1)]
    prior = summary.get("prior", {})
    for p in cfg.problems:
        row = prior.get(p, {})
        cells = []
        for var, pr in cols:
            v = num(row.get(f"{var} {pr}"))
            cells.append(f"**{v}**" if pr == gi.matched_prior(p, var) and v != "–" else v)
        out.append(f"| {gi.SHORT_NAMES[p]} | " + " | ".join(cells) + f" | {num(row.get('nn'))} |")
    return "\n".join(out)


def first_protocol_table(summary: dict[str, Any], cfg: gi.GradINNConfig) -> str:
    """Markdown: mean test RMSE at N = 100 without noise, the first protocol's GradINN (capacity
    prior, lambda = 1, no validation) and plain network beside the validation protocol's."""
    n = gi.FIRST["ablation_size"]
    key = f"N={n},noise=0"
    first, now = summary.get("first_protocol_rmse", {}), summary.get("rmse", {})
    if not first:
        return ""
    out = ["| problem | first: GradINN, F restricted, λ = 1 | first: standard NN | now: GradINN, F "
           "restricted, λ validated | now: GradINN, F fine-tuned | now: standard NN |",
           "|---|---|---|---|---|---|"]
    for p in cfg.problems:
        f, w = first.get(p, {}), now.get(p, {})
        cells = [f.get("gradinn-capacity", {}).get(key), f.get("nn", {}).get(key),
                 w.get("gradinn-capacity", {}).get(key), w.get(gi.MAIN, {}).get(key),
                 w.get("nn", {}).get(key)]
        out.append(f"| {gi.SHORT_NAMES[p]} | " + " | ".join(num(c) for c in cells) + " |")
    absent = [gi.SHORT_NAMES[p] for p in cfg.problems if not first.get(p)]
    if absent:
        out += ["", f"– : not part of the first protocol ({listing(absent)} came with the validation "
                "protocol)."]
    return "\n".join(out)


# ----------------------------------------------------------------------------- claims
SHORT_CLAIMS = {"friedman": "Friedman #1, 200 points", "low_data": "Low data",
                "pinn": "Against PINN-like models", "noise": "Noise", "gradient": "Gradients"}


def _key(claim: Claim) -> str | None:
    return gi.claim_key(claim)


SOURCE = "in italics: the summary"
"""The claim table's header: where the claims are quoted from, in a few words (a phone shows the
header on one or two lines); :data:`SOURCE_NOTE` above the table says it in full."""
SOURCE_NOTE = ("The claims in italics are quoted from the automatic summary of the paper, not verified "
               "against the full text, unless a row names another source.")


def paper_cell(claim: Claim) -> str:
    """The paper column without the label that the column's header carries once."""
    label = gi.SUMMARY_LABEL[0].upper() + gi.SUMMARY_LABEL[1:] + ": "
    return claim.paper.removeprefix(label)


PROVISIONAL_VERDICT = re.compile(rf"^{gi.PROVISIONAL} \((\d+) of (\d+) (\w+)\): (.+)$")
"""A reading's verdict on part of its planned cells, as :func:`gradinn.provisional` writes it."""


def verdict_badges(verdict: str, rd: dict[str, Any] | None = None, count: bool = True) -> str:
    """A verdict's badge; for a claim read on only part of its planned cells, "not tested" and,
    beside it, the reading so far as an outlined badge with its count of cells. ``verdict`` is a
    claim's verdict with its reading record ``rd``, or a verdict of the by-reading table (where
    the provisional form carries the count): both tables show a verdict the same way. Without
    ``count`` the count is left to the text (the answer's lines say it)."""
    m = PROVISIONAL_VERDICT.match(verdict)
    if m:
        k, n, unit, first = m.groups()
    elif rd and verdict == VERDICTS[3] and not rd.get("final") and rd.get("first") in VERDICTS[:3]:
        k, n, unit, first = rd["recorded"], rd["planned"], rd["unit"], rd["first"]
    else:
        return badge(verdict)
    return f"{badge(VERDICTS[3])} {{{BADGE[first]}-line}}`provisional: {first}`" + (
        f" {k} of {n} {unit}" if count else "")




def _table_ours(ours: str, rd: dict[str, Any] | None) -> str:
    """A claim's ``ours`` for the table, where the badge shows the provisional reading: without
    the "(would read: ...)" that the record carries."""
    if not rd or rd.get("final") or rd.get("first") not in VERDICTS[:3]:
        return ours
    return ours.replace(f" (would read: {rd['first']})", "").replace(f"{gi.PROVISIONAL}, on ", "on ", 1)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _result(r: dict[str, Any] | None, holm: str | None = None) -> str:
    if r is None:
        return "–"
    interval = "" if not math.isfinite(r["lo"]) else f" ({ratio(r['lo'])}–{ratio(r['hi'])})"
    text = f"{r['outcome']}, {ratio(r['ratio'])}{interval}"
    if holm is not None and holm != r["outcome"]:
        text += f"; after Holm's correction: {holm}"
    return text


GRID_CHANGE = ("The hyperparameter grids were widened from four to five values per model after the first "
               "results of the validation protocol were seen (validation often chose a grid's edge): λ and "
               "the PINN's and Sobolev network's weights from 0.01–10 down to 0.001, the standard network's "
               "weight decay from 0–10⁻³ up to 0.1, the GP's noise variance by one value. The 114 runs on "
               "the four-value grids were replaced by runs on the five-value grids and their records "
               "dropped (they stay in the repository's history). The rules were not changed with them.")
"""Said once with the rules: a change of protocol made after results were seen."""


def claim_table(claims: list[Claim], summary: dict[str, Any]) -> str:
    """The reproduction record as MyST Markdown in the house layout
    (:func:`derivlearn.claims.to_markdown`): the rules first, once, in a dropdown (the comparison
    rule, then each claim's rule with its later reading marked as written after the first results
    were seen), then the table, verdict first, three columns; then the verdicts under both
    readings of F and a dropdown with the comparisons cell by cell."""
    det = summary.get("claim_details", {})
    main, alt = det.get("main", gi.MAIN), det.get("alt")
    rds = [_reading(summary, k) if (k := _key(c)) else {} for c in claims]
    # what every verdict rests on is said once, above the rules, not at the end of each
    rests = re.compile(re.escape("Verdict " + gi.READING[main])
                       + r"(, at most \d+ full-batch Adam epochs per fit)?\. ?"
                       r"(?:With the capacity prior instead: [^.]*\. ?)?")
    found = next((m for c in claims if (m := rests.search(c.deviation))), None)
    later = re.compile(r" (?=(?:Stricter|Comparative|Floor) reading, written)")  # each its own sub-item
    shown = [dataclasses.replace(c, ours=_table_ours(c.ours, rd),
                                 deviation=later.sub("\n  - ", rests.sub("", c.deviation)))
             for c, rd in zip(claims, rds, strict=True)]
    table = to_markdown(shown, rules_title="How each verdict is decided (rules fixed before the results "
                        "were looked at, except those marked as written after them)", source=SOURCE,
                        paper=paper_cell)
    lines = table.splitlines()
    for i, (c, rd) in enumerate(zip(claims, rds, strict=True), 1):  # the provisional reading beside
        row = f"| {badge(c.verdict)} | {i}. "
        at = next((j for j, ln in enumerate(lines) if ln.startswith(row)), None)
        if at is not None:
            lines[at] = f"| {verdict_badges(c.verdict, rd, count=False)} | {i}. " + lines[at][len(row):]
    if lines and lines[0].startswith(":::{dropdown}"):
        said = [] if found is None else [
            f"**What the verdicts rest on.** Every verdict is {gi.READING[main].removeprefix('with ')}"
            f"{found.group(1) or ''}. The same rules read with F restricted in capacity give the verdicts "
            "in the table of both readings under the claims.", ""]
        lines[1:1] = [*said, f"**Comparisons.** {gi.RULES['tie']}", "", f"**Grids.** {GRID_CHANGE}", ""]
    at = next((j for j, ln in enumerate(lines) if ln.startswith("| verdict |")), None)
    if at is not None:
        lines[at:at] = [SOURCE_NOTE, ""]
    out = lines
    by = det.get("by_reading", {})
    if alt and by:
        out += ["", "The same rules under both readings of F (the verdicts in the table: "
                f"{READING_NAMES[main]}):", "",
                f"| claim | {READING_NAMES[main]} | {READING_NAMES[alt]} |", "|---|---|---|"]
        for i, c in enumerate(claims, 1):
            k = _key(c)
            if k in by:
                out.append(f"| {i}. {SHORT_CLAIMS[k]} | {verdict_badges(by[k][main])} | "
                           f"{verdict_badges(by[k][alt])} |")
    cells = []
    for k in ("low_data", "pinn", "gradient"):
        d = det.get(k)
        if not d:
            continue
        models = [m for m in (main, alt) if m and m in d]
        if not any(cell["result"] for m in models for cell in d[m]):
            continue
        other = "PINN" if k == "pinn" else "standard NN"
        what = "relative gradient error" if k == "gradient" else "RMSE"
        cells += [f"**{SHORT_CLAIMS[k]}** (outcome for GradINN, {what} of the {other} / GradINN, 95 % "
                  "interval):", "", "| problem | N | " + " | ".join(READING_NAMES[m] for m in models) + " |",
                  "|---|---|" + "---|" * len(models)]
        for j, cell in enumerate(d[models[0]]):
            cells.append(f"| {gi.SHORT_NAMES[cell['problem']]} | {cell['N']} | "
                         + " | ".join(_result(d[m][j]["result"], d[m][j].get("holm")) for m in models) + " |")
        cells.append("")
    fr = det.get("friedman")
    if fr:
        models = [m for m in (main, alt) if m and m in fr]
        cells += ["**Friedman #1 at N = 200** (mean test RMSE of GradINN and of the standard NN; the "
                  "ratio of the claim, the geometric mean of the paired ratios):", "",
                  "| form | " + " | ".join(READING_NAMES[m] for m in models) + " |",
                  "|---|" + "---|" * len(models)]
        for p in ("friedman1", "friedman1_5d"):
            row = []
            for m in models:
                r = fr[m].get(p)
                row.append("–" if r is None else f"{num(r['model'])} against {num(r['other'])}: "
                           f"{_result(r)}")
            cells.append(f"| {gi.SHORT_NAMES[p]} | " + " | ".join(row) + " |")
        cells.append("")
    if cells:
        out += ["", ":::{dropdown} The comparisons cell by cell", *cells, ":::"]
    return "\n".join(out)


def answer(claims: list[Claim], summary: dict[str, Any], rows, cfg: gi.GradINNConfig,
           status: dict[str, Any] | None = None, long=None) -> str:
    """The chapter's answer at the top: :func:`lead`, a few sentences. The claims one by one are
    in the claim table at the end, with what each rests on in the dropdown under it, so that
    every verdict is stated once in full. With ``long`` (:func:`gradinn.long_frame`), the low-data
    clause says when every win is a tie against the first protocol's plain network."""
    plain = plain_nn_text(long, cfg) if long is not None else ""
    ties = plain.startswith(("Both", "Each")) and "against the plain NN win" not in plain \
        and "against the plain NN loss" not in plain
    return lead(claims, summary, plain_ties=ties)


def _verdict_word(c: Claim | None, rd: dict[str, Any] | None = None) -> str:
    """A claim's verdict in words for a sentence, provisional where its plan is not complete."""
    if c is None:
        return "not in this plan"
    if rd and not rd.get("final") and rd.get("first") in VERDICTS[:3]:
        return f"so far {rd['first']}"
    return c.verdict


def lead(claims: list[Claim], summary: dict[str, Any], plain_ties: bool = False) -> str:
    """The chapter's answer in three sentences, under the question (the chapter's first
    paragraph): what we found on Friedman #1 and at low data, the other claims in a clause each
    (verdicts in words), and the later readings named once; then what we cannot check, in one
    sentence."""
    det = summary.get("claim_details", {})
    by_key = {_key(c): c for c in claims}
    found = []
    fr = det.get("friedman", {}).get(gi.MAIN, {}).get("friedman1")
    if fr is not None:
        found.append(f"on Friedman #1 at N = {gi.PAPER_FRIEDMAN['n']} the standard network's RMSE is "
                     f"{ratio(fr['ratio'])} times GradINN's (95 % interval "
                     f"{ratio(fr['lo'])}–{ratio(fr['hi'])}; "
                     f"{_verdict_word(by_key.get('friedman'), _reading(summary, 'friedman'))})")
    cells = [x["result"] for x in det.get("low_data", {}).get(gi.MAIN, []) if x["result"]]
    if cells:
        w, t, lo, n = _tally_words(cells)
        found.append(f"at the two smallest sizes GradINN wins {w}, ties {t} and loses {lo} of {n} cells "
                     f"({_verdict_word(by_key.get('low_data'), _reading(summary, 'low_data'))}"
                     + ("; each win is a tie against the first protocol's plain network, see "
                        "{numref}`fig-gradinn-ratio`" if w and plain_ties else "") + ")")
    second = ("**What we found**, " + gi.READING[gi.MAIN] + ": against a standard network regularised "
              "by validation, " + "; ".join(found) + "." if found else
              "**What we found:** no comparison is recorded yet.")
    rest = []
    res = det.get("noise", {}).get(gi.MAIN, {})
    nn = det.get("noise", {}).get("nn", {})
    if res:
        k, k_nn = sum(r['robust'] for r in res.values()), sum(r['robust'] for r in nn.values())
        rest.append(f"noise leaves GradINN robust on {k} of {len(res)} problems, the standard network on "
                    f"{k_nn} of {len(nn)}"
                    + (", as robust, not more" if k == k_nn and len(res) == len(nn) else "")
                    + f" ({_verdict_word(by_key.get('noise'), _reading(summary, 'noise'))})")
    pinn = [x for x in det.get("pinn", {}).get(gi.MAIN, []) if x["result"]]
    if pinn:
        w, t, lo, n = _tally_words([x["result"] for x in pinn])
        beats = [x for x in pinn if x["result"]["outcome"] == "loss"]
        where = ""
        if beats:
            better = [1 / x["result"]["ratio"] for x in beats]
            probs = listing(list(dict.fromkeys(gi.SHORT_NAMES[x["problem"]] for x in beats)))
            where = f", its RMSE {span(better)} times lower on {probs}"
        rest.append(f"a PINN that knows the equation beats GradINN in {lo} of {n} cells{where}, ties in {t}"
                    + (f" and loses in {w}" if w else "")
                    + f" ({_verdict_word(by_key.get('pinn'), _reading(summary, 'pinn'))})")
    grad = [x["result"] for x in det.get("gradient", {}).get(gi.MAIN, []) if x["result"]]
    if grad:
        w, t, lo, n = _tally_words(grad)
        rest.append(f"GradINN's gradients are better in {w} of {n} cells, worse in {lo} "
                    f"({_verdict_word(by_key.get('gradient'), _reading(summary, 'gradient'))}, by a rule "
                    "written after the first results)")
    later = [k for k in gi.AFTER_LABEL if _reading(summary, k).get("after_results") == VERDICTS[2]]
    if (det.get("noise_floor") or {}).get("verdict") == VERDICTS[2]:
        later.append("noise_floor")
    third = (f"{rest[0][0].upper()}{rest[0][1:]}" + "".join(f"; {x}" for x in rest[1:]) + "."
             if rest else "")
    if later:
        names = {"friedman": "a ratio of at least 2 on Friedman #1", "low_data": "Holm's correction at low "
                 "data", "noise": "noise compared with the standard network",
                 "noise_floor": f"noise within {gi.NOISE_FLOOR:g} σ of the floor"}
        third += (" The stricter readings written after the first results ("
                  + listing([names[k] for k in later])
                  + f") {'all ' if len(later) > 2 else ''}read not confirmed.")
    note = ("**What we cannot check:** the summary's own numbers and settings come from a text we could not "
            "verify against the paper, so we compare ratios, not absolute errors.")
    return "\n\n".join(x for x in (f"{second} {third}".strip(), note) if x)


# ----------------------------------------------------------------------------- protocol and cost
def protocol_markdown(cfg: gi.GradINNConfig) -> str:
    """The protocol every model gets, stated once, from the configuration."""
    def grid(vals):
        """One notation per grid: powers of ten as 10ᵏ when the grid reaches below 10⁻², else
        plain numbers ("0, 10⁻⁴, 10⁻³, 10⁻², 10⁻¹", "0.01, 0.1, 1, 10")."""
        def power(v):
            return v > 0 and abs(math.log10(v) - round(math.log10(v))) < 1e-9

        if all(v == 0 or power(v) for v in vals) and any(0 < v < 1e-2 for v in vals):
            return ", ".join("0" if v == 0 else {0: "1", 1: "10"}.get(k := round(math.log10(v)),
                                                                     "10" + str(k).translate(SUPERSCRIPT))
                             for v in vals)
        return ", ".join(num(v) for v in vals)

    return "\n".join([
        f"- **Data.** {cfg.seeds} repetitions per cell; each has its own training set (the first N points "
        "of a fixed random pool, so sizes are nested), its noise, the networks' initialisation and the "
        f"collocation points, the same for every model, so models are compared repetition by repetition. "
        f"{cfg.n_test} clean test points per problem. Inputs are mapped to [−1, 1], outputs "
        "z-scored on the training values; errors are reported in the problem's units.",
        f"- **Validation.** {num(100 * cfg.val_fraction)} % of each training set (at least 2 points) is "
        f"held out. Every model has a grid of {len(cfg.lams)} values of one hyperparameter, the same "
        f"number of trials for all: GradINN's λ ({grid(cfg.lams)}, relative to U's mean squared "
        f"gradient), the PINN's residual weight ({grid(cfg.pinn_lams)}), the Sobolev network's gradient "
        f"weight ({grid(cfg.sobolev_lams)}), the standard network's weight decay "
        f"({grid(cfg.weight_decays)}; an L2 penalty on the weights added to the loss under Adam, not "
        f"AdamW's decoupled decay) and the GP's noise variance ({grid(cfg.gp_noises)}, of the output "
        "variance; its other hyperparameters by marginal likelihood).",
        f"- **Training.** Every network: U a tanh MLP {cfg.depth} × {cfg.width} (GradINN's F the same "
        f"size), full-batch Adam, learning rate {num(cfg.lr)}, {cfg.epochs} epochs per trial, early "
        f"stopping by checkpoint (validation error every {cfg.eval_every} epochs, the best weights "
        "kept). The trial with the lowest validation error wins, and the model is refitted on all N "
        "points for that trial's number of epochs; the refit is what the test errors measure.",
        f"- **Collocation** (GradINN, PINN): {cfg.n_colloc} points per epoch, uniform in the "
        "problem's domain (outside the Stokes sphere), redrawn every epoch.",
    ])


def cost_frame(df, cfg: gi.GradINNConfig | None = None):
    """Recorded run time per model of the validation protocol: runs recorded, hours, median
    minutes per run (all seeds, all trials and the refit), and, with ``cfg``, the runs of the
    plan and their projected hours (recorded runs plus missing ones at the model's mean)."""
    import pandas as pd

    cols = ["model", "runs", "hours", "minutes per run", "planned", "projected hours"]
    if len(df) == 0 or "protocol" not in df:
        return pd.DataFrame(columns=cols)
    v = df[(df["protocol"] == gi.PROTOCOL) & (df["status"] == "ok")]
    models = [gi.model_of(m, var if isinstance(var, str) else None)
              for m, var in zip(v["method"], v.get("variant", [None] * len(v)), strict=True)]
    v = v.assign(model=models)
    planned: dict[str, int] = {}
    if cfg is not None:
        for c in gi.run_configs(cfg):
            if c.get("protocol") == gi.PROTOCOL:
                k = gi.model_of(c["method"], c.get("variant"))
                planned[k] = planned.get(k, 0) + 1
    rows = []
    for m in MODELS:
        g = v[v.model == m]
        t = g["wall_time_s"].astype(float)
        n_plan = planned.get(m)
        proj = (t.sum() + (n_plan - len(g)) * t.mean()) / 3600 if n_plan and len(g) else math.nan
        rows.append({"model": MODELS[m][3], "runs": len(g), "hours": t.sum() / 3600 if len(g) else math.nan,
                     "minutes per run": t.median() / 60 if len(g) else math.nan,
                     "planned": n_plan if n_plan is not None else math.nan, "projected hours": proj})
    return pd.DataFrame(rows, columns=cols)


def cost_markdown(frame) -> str:
    """The cost frame as a Markdown table (en dashes where nothing is recorded), with a total. The
    hours are wall-clock hours of one-thread runs. While runs of the plan are missing, two more
    columns give the runs planned and the projected hours; once every planned run is recorded
    they would repeat the recorded ones and are left out."""
    complete = len(frame) > 0 and all((not math.isfinite(p) and r == 0) or r >= p
                                      for r, p in zip(frame["runs"], frame["planned"], strict=True))
    if complete:
        out = ["| model | runs | hours (wall, one thread) | median minutes per run |", "|---|---:|---:|---:|"]
        for _, r in frame.iterrows():
            out.append(f"| {r['model']} | {int(r['runs'])} | {num(r['hours'], 2)} | "
                       f"{num(r['minutes per run'], 2)} |")
        out.append(f"| all | {int(frame['runs'].sum())} | {num(frame['hours'].sum(min_count=1), 2)} | – |")
        return "\n".join(out)
    out = ["| model | runs recorded | hours (wall, one thread) | median minutes per run | runs planned | "
           "projected hours (wall, one thread) |", "|---|---:|---:|---:|---:|---:|"]
    for _, r in frame.iterrows():
        planned = "–" if not math.isfinite(r["planned"]) else str(int(r["planned"]))
        out.append(f"| {r['model']} | {int(r['runs'])} | {num(r['hours'], 2)} | "
                   f"{num(r['minutes per run'], 2)} | {planned} | {num(r['projected hours'], 2)} |")
    if len(frame) == 0:
        return "\n".join(out + ["| all | 0 | – | – | – | – |"])
    hours = frame["hours"].sum(min_count=1)
    plan = frame["planned"].sum(min_count=1)
    proj = frame["projected hours"]
    known = proj.notna() | (frame["planned"].fillna(0) == 0)
    total = (f"{num(proj.sum(), 2)}" if known.all() else
             f"at least {num(proj.sum(), 2)}" if proj.notna().any() else "–")
    out.append(f"| all | {int(frame['runs'].sum())} | {num(hours, 2)} | – | "
               f"{int(plan) if math.isfinite(plan) else '–'} | {total} |")
    return "\n".join(out)


# ----------------------------------------------------------------------------- sentences after figures
def size_text(rows, cfg: gi.GradINNConfig, summary: dict[str, Any] | None = None) -> str:
    """After the error-against-size figure: the summary's claim, where GradINN wins or loses,
    how far our absolute errors are from the summary's, and on which side the gap lies (the
    standard NN's error against the summary's, and GradINN's after the budget check of
    ``summary``, if given)."""
    n = gi.PAPER_FRIEDMAN["n"]
    stars = " (stars)" if n in cfg.sizes and "friedman1" in cfg.problems else ""
    out = ["The summary of the paper puts GradINN more than ten times below a standard network on "
           f"Friedman #1 at N = {n}{stars}."]
    wins = wins_sentence(rows, cfg)
    if wins:
        out.append(wins)
    g = gi._mean(rows, "friedman1", gi.MAIN, n, 0.0)
    if math.isfinite(g):
        gp = {k: gi._mean(rows, "friedman1", "gp", k, 0.0) for k in cfg.sizes}
        gp = {k: v for k, v in gp.items() if math.isfinite(v)}
        text = (f"Our GradINN's error on the 10-input form at N = {n} is {num(g)}, "
                f"{num(g / gi.PAPER_FRIEDMAN['gradinn'], 2)} times the summary's "
                f"{num(gi.PAPER_FRIEDMAN['gradinn'])}")
        if gp:
            at = n if n in gp else max(gp)
            text += (f"; our GP, on the same training sets, reaches {num(gp[at])} at N = {at}, "
                     f"{num(g / gp[at], 2)} times below GradINN")
        out.append(text + ": the summary's absolute numbers come from settings we do not know, so "
                   "the verdicts compare ratios.")
        nn = gi._mean(rows, "friedman1", "nn", n, 0.0)
        if math.isfinite(nn):
            close = 0.5 < nn / gi.PAPER_FRIEDMAN["nn"] < 2
            text = (f"Our regularised standard NN's error there, {num(nn)}, is "
                    + ("close to" if close else f"{num(nn / gi.PAPER_FRIEDMAN['nn'], 2)} times")
                    + f" the summary's {num(gi.PAPER_FRIEDMAN['nn'])}"
                    + (" (if the units agree)" if close else ""))
            if close:
                text += ": the gap to the summary's ratio lies on GradINN's side"
            chk = (summary or {}).get("budget_check")
            r = (chk or {}).get("result")
            if r:
                text += (f" (with {chk['epochs']} epochs instead of {cfg.epochs}, GradINN reaches "
                         f"{num(r['model'])}, still {num(r['model'] / gi.PAPER_FRIEDMAN['gradinn'], 2)} "
                         "times the summary's)")
            out.append(text + ".")
    return " ".join(out)


def ratio_text(rows, cfg: gi.GradINNConfig, summary: dict[str, Any]) -> str:
    """After the ratio figure: the low-data tally, how large a difference can still be a tie,
    and the largest win and clearest loss."""
    det = summary.get("claim_details", {}).get("low_data", {}).get(gi.MAIN, [])
    cells = [(c["problem"], c["N"], c["result"]) for c in det if c["result"]]
    out = []
    if cells:
        w, t, lo = (sum(r["outcome"] == o for *_, r in cells) for o in ("win", "tie", "loss"))
        text = (f"In the low-data cells ({sizes_text(sorted(cfg.sizes)[:gi.LOW_DATA_SIZES])}, grey) "
                f"GradINN wins {w}, ties {t} and loses {lo} of {len(cells)}")
        ties = [(abs(math.log(r["ratio"])), p, n, r) for p, n, r in cells
                if r["outcome"] == "tie" and r["ratio"] > 0]
        if ties:
            _, p, n, r = max(ties, key=lambda x: x[0])
            interval = (f", interval {ratio(r['lo'])}–{ratio(r['hi'])}" if math.isfinite(r["lo"]) else "")
            text += (f"; with {r['seeds']} repetitions, a ratio as far from 1 as {ratio(r['ratio'])} "
                     f"({gi.SHORT_NAMES[p]}, N = {n}{interval}) is still inside the spread")
        out.append(text + ".")
    res = paired_by_size(rows, cfg, gi.MAIN)
    best = [(r["ratio"], p, n) for p, d in res.items() for n, r in d.items() if r and r["outcome"] == "win"]
    if best:
        r, p, n = max(best)
        out.append(f"The largest win is {ratio(r)} ({gi.SHORT_NAMES[p]}, N = {n}), against the "
                   f"summary's {gi.PAPER_FRIEDMAN['nn'] / gi.PAPER_FRIEDMAN['gradinn']:.1f} (star).")
    worst = [(r["ratio"], p, n) for p, d in res.items() for n, r in d.items() if r and r["outcome"] == "loss"]
    if worst:
        r, p, n = min(worst)
        out.append(f"The clearest loss is on {gi.SHORT_NAMES[p]} at N = {n}, where the standard NN's "
                   f"error is {ratio(r)} times GradINN's.")
    if not any(d for d in paired_by_size(rows, cfg, "gradinn-capacity").values() if any(d.values())):
        out.append("The restricted reading of F has no records under this protocol yet.")
    return " ".join(out)


def plain_nn_text(long, cfg: gi.GradINNConfig) -> str:
    """After the ratio figure: GradINN's low-data wins against the validated standard NN, read
    again against the first protocol's plain network (no weight decay, no early stopping) on the
    same training sets, where that network is more accurate than the validated one (``""`` where
    no win has such a record). Validation on a handful of points can hurt the network it tunes."""
    import pandas as pd

    rows = gi.main_rows(long)  # the validation protocol, GradINN with its matched prior
    first = long[long.protocol == "first"]
    out, wins = [], 0
    for p, n in gi.low_cells(cfg, cfg.problems):
        r = gi.paired(rows, gi.MAIN, "nn", p, n)
        if r is None or r["outcome"] != "win":
            continue
        wins += 1
        plain = first[(first.problem == p) & (first.model == "nn") & (first.N == n) & (first.noise == 0.0)]
        if plain.empty:
            continue
        mine = rows[(rows.problem == p) & (rows.model == gi.MAIN) & (rows.N == n) & (rows.noise == 0.0)]
        both = pd.concat([mine, plain.assign(model="plain")])
        q = gi.paired(both, gi.MAIN, "plain", p, n)
        if q is None or q["other"] >= r["other"]:
            continue
        out.append(f"{gi.SHORT_NAMES[p]} at N = {n}: validated NN {num(r['other'])}, plain NN "
                   f"{num(q['other'])}, GradINN {num(r['model'])}; against the plain NN "
                   f"{q['outcome']}, {ratio(q['ratio'])}"
                   + (f" ({ratio(q['lo'])}–{ratio(q['hi'])})" if math.isfinite(q["lo"]) else ""))
    if not out:
        return ""
    which = ("Both low-data wins are" if len(out) == wins == 2 else "Each low-data win is" if len(out) == wins
             else f"{len(out)} of the {wins} low-data wins are")
    return (f"{which} against a standard NN that validation made less accurate than the "
            "first protocol's plain network (no weight decay, no early stopping) on the same training "
            "sets (mean test RMSE): " + "; ".join(out) + ". With so few points to validate on, the "
            "baseline's tuning can cost it more than GradINN's prior gains.")


def gradient_text(rows, cfg: gi.GradINNConfig) -> str:
    """After the gradient-error figure: the means at the largest size, then the paired
    comparison of every cell with the tie rule, and how often it agrees with the values'."""
    s = gradient_sentence(rows, cfg)
    if not s:
        return ""
    grad = outcomes_by_problem(rows, cfg, cfg.problems, metric="grad_nrmse")
    value = outcomes_by_problem(rows, cfg, cfg.problems)
    n = sum(len(v) for v in grad.values())
    text = (f" Repetition by repetition, with the tie rule of the claims, GradINN's gradient error is "
            f"lower than the standard NN's beyond the spread in {len(grad['win'])} of the {n} cells "
            f"(problem and N), higher in {len(grad['loss'])} and a tie in {len(grad['tie'])}")
    big = max(cfg.sizes)
    at_big = {o: [gi.SHORT_NAMES[p] for p, m, _ in v if m == big] for o, v in grad.items()}
    if at_big["win"] or at_big["loss"]:
        text += (f"; at N = {big} it " + " and ".join(
            x for x in ((f"wins on {listing(at_big['win'])}" if at_big["win"] else ""),
                        (f"loses on {listing(at_big['loss'])}" if at_big["loss"] else "")) if x))
    text += "."
    outcome_of = {(p, m): o for o, v in value.items() for p, m, _ in v}
    same = [(p, m) for o, v in grad.items() for p, m, _ in v if outcome_of.get((p, m)) == o]
    both = [(p, m) for v in grad.values() for p, m, _ in v if (p, m) in outcome_of]
    if both:
        text += (f" The gradient's outcome is the value's ({{numref}}`fig-gradinn-size`) in {len(same)} of "
                 f"{len(both)} cells.")
    sob = [p for p in cfg.problems if math.isfinite(gi._mean(rows, p, "sobolev", big, 0.0, "grad_nrmse"))]
    if sob:
        text += " The Sobolev network, given the true gradients, shows what derivative data buy instead."
    else:
        text += " The Sobolev network (true gradients) has no records under this protocol yet."
    return s + text


NOISE_NAMES = {gi.MAIN: "GradINN, F fine-tuned", "gradinn-capacity": "GradINN, F restricted",
               "nn": "standard NN"}


def noise_text(summary: dict[str, Any], cfg: gi.GradINNConfig) -> str:
    """After the noise figure: the rule in one sentence, its reading against the standard NN's,
    the comparative reading, and whether GradINN fits the noise of its training values (``""``
    before the noise experiment has records; :func:`noise_note` says so)."""
    det = summary.get("claim_details", {}).get("noise", {})
    res, nn = det.get(gi.MAIN, {}), det.get("nn", {})
    if not res:
        return ""
    same = [p for p, r in res.items() if p in nn and r["robust"] == nn[p]["robust"]]
    differ = [gi.SHORT_NAMES[p] for p in res if p in nn and p not in same]
    first = ["The summary says GradINN stays accurate where standard approaches degrade. The first "
           "rule calls a model robust when noise adds at most its own standard deviation (dashed) to "
           "the noise-free error, and not robust when its noise-free error is already above the "
           f"largest noise. GradINN and the standard NN get the same reading on {len(same)} of "
           f"{len(res)} problems" + (f"; they differ on {listing(differ)}." if differ else ".")]
    out = first
    floor = [v["over_sigma"] for r in res.values() if r["robust"] for v in r["per_level"].values()]
    if floor and max(floor) > gi.NOISE_FLOOR:
        out.append("The rule measures what the noise adds, not the distance to the noise floor: where "
                   f"GradINN is called robust, its test RMSE is still up to {num(max(floor), 2)} σ at the "
                   "lowest noise, where its own noise-free error dominates.")
    later: list[str] = []
    fl = summary.get("claim_details", {}).get("noise_floor")
    if fl:
        near = [gi.SHORT_NAMES[p] for p, r in res.items() if r.get("near_floor")]
        later.append(f"The floor reading ({gi.AFTER}) asks for a test RMSE of at most "
                     f"{gi.NOISE_FLOOR:g} σ at every level: GradINN is that close on {fl['gradinn']} of "
                     f"{fl['problems']} problems" + (f" ({listing(near)})" if near else "")
                     + f", the standard NN on {fl['nn']}, so by this reading the claim is {fl['verdict']}.")
    comp = summary.get("claim_details", {}).get("noise_against_nn", {})
    if comp:
        holds = [gi.SHORT_NAMES[p] for p, c in comp.items() if c["holds"]]
        wins = sum(1 for c in comp.values() for r in c["per_level"].values() if r["outcome"] == "win")
        losses = sum(1 for c in comp.values() for r in c["per_level"].values() if r["outcome"] == "loss")
        n = sum(len(c["per_level"]) for c in comp.values())
        later.append(f"Against the standard NN at the same noise (the comparative reading, {gi.AFTER}), "
                   f"GradINN wins {wins} and loses "
                   f"{losses} of the {n} (problem, level) cells, and holds where the network degrades on "
                   f"{len(holds)} of {len(comp)} problems" + (f" ({listing(holds)})" if holds else "")
                   + ("; there the standard NN is robust too by the first rule, and GradINN's edge is a "
                      "win at some noise levels" if holds and all(
                          nn.get(p, {}).get("robust") for p, c in comp.items() if c["holds"]) else "")
                   + ".")
    hi = max(cfg.noises)
    train = {p: _level(r, hi).get("train_over_sigma") for p, r in res.items()}
    train = {p: v for p, v in train.items() if v is not None and math.isfinite(v)}
    below = [gi.SHORT_NAMES[p] for p, v in train.items() if v < 1]
    nn_train = [v for r in nn.values() if (v := _level(r, hi).get("train_over_sigma")) is not None
                and math.isfinite(v)]
    paragraphs = [" ".join(first), " ".join(later)]
    if train:
        text = (f"On its own noisy training values at {pct(hi)} noise, GradINN's RMSE is "
                f"{span(list(train.values()))} σ"
                + (f" (the standard NN's: {span(nn_train)} σ)" if nn_train else ""))
        text += (f"; below 1 σ on {listing(below)}: there it reproduces part of the noise." if below else
                 ": it does not fit the noise itself.")
        paragraphs.append(text)
    return "\n\n".join(p for p in paragraphs if p)


def ablation_text(trials, cfg: gi.GradINNConfig) -> str:
    """After the lambda ablation, as its own paragraphs: per problem, GradINN's best lambda against
    the standard NN's best weight decay (both the best on test data: an oracle reading, like with
    like, the line of the figure), the gap in per cent and whether it lies beyond the spread of
    the paired repetitions; where the error only grows with lambda; what the largest lambda
    costs, and our reading of why."""
    import pandas as pd

    sel = trials[(trials.N == cfg.ablation_size) & (trials.noise == 0.0)]
    if sel.empty:
        return ""
    items, grows, costly, beyond, n_problems = [], [], [], 0, 0
    for p in cfg.problems:
        s = sel[(sel.problem == p) & (sel.model == gi.MAIN) & (sel.prior == gi.matched_prior(p, "finetuned"))]
        nn = sel[(sel.problem == p) & (sel.model == "nn")]
        gb, nb = best_trial(s), best_trial(nn)
        if gb is None:
            continue
        means = {v: geometric_band(g["rmse"])[0] for v, g in s.groupby("value")}
        if nb is not None:
            both = pd.concat([s[s.value == gb[0]], nn[nn.value == nb[0]]])
            r = gi.paired(both, gi.MAIN, "nn", p, cfg.ablation_size)
            gap = 100 * (1 - gb[1] / nb[1])
            said = ("the same error as the standard NN's best" if abs(gap) < 0.5 else
                    f"an error {abs(gap):.0f} % {'below' if gap > 0 else 'above'} the standard NN's best")
            said += f" (weight decay {num(nb[0])})"
            if r is not None and math.isfinite(r["lo"]):
                beyond += r["outcome"] != "tie"
                said += (f"; paired, NN / GradINN {ratio(r['ratio'])} ({ratio(r['lo'])}–{ratio(r['hi'])}), "
                         + ("inside the spread" if r["outcome"] == "tie" else "beyond the spread"))
            items.append(f"- {gi.SHORT_NAMES[p]}: best λ = {num(gb[0])}, {said}.")
        order = [means[v] for v in sorted(means)]
        if len(order) > 1 and all(a <= b for a, b in zip(order, order[1:], strict=False)):
            chosen = s[s.chosen]
            k = int((chosen["value"] == min(means)).sum())
            grows.append((gi.SHORT_NAMES[p], k, len(chosen)))
        nn_means = {v: geometric_band(g["rmse"])[0] for v, g in nn.groupby("value")}
        top, nn_top = means.get(max(means)), nn_means.get(max(nn_means)) if nn_means else None
        n_problems += 1
        if top is not None and math.isfinite(top) and top > 1.5 * gb[1]:
            nn_cost = None if nn_top is None or nb is None else nn_top / nb[1]
            costly.append((gi.SHORT_NAMES[p], top / gb[1], nn_cost))
    text = []
    if items:
        text.append("Read as an oracle (each model's best grid value on the test data, which no verdict "
                    "uses), GradINN with F fine-tuned at its best λ against the standard NN at its "
                    "best weight decay (the line in the figure; errors are geometric means over the "
                    "repetitions):\n\n" + "\n".join(items))
        text.append(f"{'No gap' if not beyond else f'{beyond} of the {len(items)} gaps'} lies beyond the "
                    "spread of the paired repetitions" + (": at their best weights, five repetitions "
                                                          "cannot tell the two models apart at this size."
                                                          if not beyond else "."))
    tail = []
    if grows:
        picks = listing(f"{k} of {n} fits" + (f" ({g})" if len(grows) > 1 else "") for g, k, n in grows)
        tail.append(f"On {listing(g for g, _, _ in grows)} the error falls monotonically as λ decreases: "
                    "each step up in λ costs accuracy, the best weight may lie below the grid (towards "
                    f"λ = 0, the standard network without decay), and validation picks the smallest λ in "
                    f"{picks} at this size.")
    if costly:
        lo, hi = min(costly, key=lambda x: x[1]), max(costly, key=lambda x: x[1])
        nn_r = [c[2] for c in costly if c[2] is not None]
        where = (f"{ratio(lo[1])} times the best λ's on {lo[0]}" if len(costly) == 1 else
                 f"{ratio(lo[1])} ({lo[0]}) to {ratio(hi[1])} ({hi[0]}) times the best λ's")
        every = ("on every problem" if len(costly) == n_problems
                 else "on " + listing(c[0] for c in costly))
        tail.append(f"The largest λ ({num(max(cfg.lams))}) costs accuracy {every}: its error is {where}"
                    + (f", and the standard NN's largest weight decay costs it {span(nn_r)} times its best"
                       if nn_r else "")
                    + ". The two grids' largest values shrink U alike: F starts near zero and the penalty is "
                    "relative to U's own gradient energy, so a large λ pulls ∇U towards a flat field "
                    "whatever the target's scale, as a large weight decay pulls the weights towards "
                    "zero.")
    if tail:
        text.append(" ".join(tail))
    return "\n\n".join(text)


def prior_text(summary: dict[str, Any], cfg: gi.GradINNConfig) -> str:
    """After the prior table: how often the matched prior is the better one, and where the choice
    matters most."""
    prior = summary.get("prior", {})
    pairs = []
    for p in cfg.problems:
        row = prior.get(p, {})
        for var, wavy in (("finetuned", "oscillatory"), ("capacity", "sinusoidal")):
            matched = gi.matched_prior(p, var)
            a = row.get(f"{var} {matched}")
            b = row.get(f"{var} {wavy if matched == 'smooth' else 'smooth'}")
            if a is not None and b is not None:
                pairs.append((p, var, a, b))
    if not pairs:
        return ("The matched prior of each reading is in bold. The other priors are not yet recorded; "
                "this table fills in when they are.")
    better = sum(1 for *_, a, b in pairs if a < b)
    p, var, a, b = max(pairs, key=lambda x: abs(math.log(x[3] / x[2])))
    paired_ = summary.get("prior_paired", {})
    outs = [r["outcome"] for p_, v_, *_ in pairs if (r := paired_.get(p_, {}).get(v_))]
    tally = (f"; paired over the repetitions it wins {outs.count('win')}, ties {outs.count('tie')} and "
             f"loses {outs.count('loss')}" if outs else "")
    out = [f"By the mean, the matched prior (bold) is the better one in {better} of {len(pairs)} "
           f"comparisons{tally}. The choice matters most on {gi.SHORT_NAMES[p]} "
           f"({READING_NAMES[f'gradinn-{var}']}), where the other prior's error is {ratio(b / a)} times the "
           "matched one's."]
    lost = []
    for p, var, a, b in pairs:
        if a <= b:
            continue
        r = paired_.get(p, {}).get(var)
        where = "" if r is None else (
            f"; paired over the repetitions, other over matched {ratio(r['ratio'])} "
            f"({ratio(r['lo'])}–{ratio(r['hi'])}), a difference "
            + ("inside the spread" if r["outcome"] == "tie" else "beyond the spread"))
        lost.append(f"{gi.SHORT_NAMES[p]}, {READING_NAMES[f'gradinn-{var}']} "
                    f"({num(a)} against {num(b)}{where})")
    if lost:
        out.append(f"The matched prior is the worse one on {listing(lost)}.")
        lv = [p for p, var, a, b in pairs
              if var == "finetuned" and a > b and gi.matched_prior(p, var) != "smooth"]
        if lv:
            tie = all((paired_.get(p, {}).get("finetuned") or {}).get("outcome") == "tie" for p in lv)
            out.append(f"The verdicts on {listing(gi.SHORT_NAMES[p] for p in lv)} rest on the oscillatory "
                       "prior, " + ("no better there than the smooth one (a difference inside the spread)"
                                    if tie else "the worse of the two there at this size")
                       + ": the choice of prior does not favour GradINN there.")
    return " ".join(out)


def first_text(summary: dict[str, Any], cfg: gi.GradINNConfig) -> str:
    """After the first protocol's table, from the same numbers: GradINN's error over the
    standard NN's in the first protocol on every problem it recorded, then now where the
    validation protocol has both models."""
    key = f"N={gi.FIRST['ablation_size']},noise=0"
    first, now = summary.get("first_protocol_rmse", {}), summary.get("rmse", {})
    then, later, restricted = {}, {}, {}
    for p in cfg.problems:
        a = first.get(p, {}).get("gradinn-capacity", {}).get(key)
        b = first.get(p, {}).get("nn", {}).get(key)
        c = now.get(p, {}).get(gi.MAIN, {}).get(key)
        d = now.get(p, {}).get("nn", {}).get(key)
        e = now.get(p, {}).get("gradinn-capacity", {}).get(key)
        if a is not None and b is not None and b > 0:
            then[p] = a / b
        if c is not None and d is not None and d > 0:
            later[p] = c / d
        if e is not None and d is not None and d > 0:
            restricted[p] = e / d
    if not then and not later:
        return ""

    def times(d: dict[str, float]) -> str:
        items = [f"{ratio(v)} times" + (" the standard NN's" if not k else "") + f" on {problem_words(p)}"
                 for k, (p, v) in enumerate(d.items())]
        return listing(items)

    n = gi.FIRST["ablation_size"]
    out = []
    if then:
        worse = {p: v for p, v in then.items() if v > 1}
        better = {p: v for p, v in then.items() if v <= 1}
        text = f"In the first protocol (F restricted, λ = 1, no validation), GradINN's error at N = {n} was "
        text += ", and ".join(x for x in (times(worse) if worse else "",
                                          (f"{times(better)}, where it was the more accurate"
                                           if worse else f"{times(better)}") if better else "") if x)
        out.append(text + ".")
    if later:
        text = f"Now (F fine-tuned, λ chosen by validation) it is {times(later)}"
        lacking = [problem_words(p) for p in then if p not in later]
        both = [problem_words(p) for p in then if p in later]
        if lacking:
            text += (f"; {listing(lacking)} {'is' if len(lacking) == 1 else 'are'} not recorded yet "
                     "under this protocol")
            if both:
                text += f", so only {listing(both)} can be compared then and now"
        out.append(text + ".")
    fixed = [p for p, v in then.items() if v > 1 and p in restricted and restricted[p] - 1 < (v - 1) / 2]
    if fixed:
        out.append(f"With F still restricted but under the validation protocol (λ normalised and chosen by "
                   f"validation, early stopping, the refit) it is {times(restricted)}: that protocol alone "
                   f"removes most of the first protocol's excess error on "
                   f"{listing(problem_words(p) for p in fixed)}, and fine-tuning F is what helps on "
                   "Friedman #1." if any(p.startswith("friedman") and later.get(p, 9) < restricted.get(p, 0)
                                         for p in later) else
                   f"With F still restricted but under the validation protocol it is {times(restricted)}.")
    return " ".join(out)


def _tally(rows, cfg: gi.GradINNConfig, model: str) -> dict[str, int]:
    """Wins, ties and losses of ``model`` against the standard NN over every recorded
    (problem, N) cell without noise."""
    res = [r for d in paired_by_size(rows, cfg, model).values() for r in d.values() if r]
    return {o: sum(r["outcome"] == o for r in res) for o in ("win", "tie", "loss")}


def capacity_finding(rows, cfg: gi.GradINNConfig) -> str:
    """The bullet on the restricted reading of F, against the fine-tuned one, cell by cell."""
    cap, fine = _tally(rows, cfg, "gradinn-capacity"), _tally(rows, cfg, gi.MAIN)
    n_cap, n_fine = sum(cap.values()), sum(fine.values())
    if not n_cap:
        return ("- **The restricted reading of F** has no records under this protocol yet; its "
                "verdicts are listed as not yet recorded.")
    text = (f"- **The restricted reading of F** wins {cap['win']}, ties {cap['tie']} and loses "
            f"{cap['loss']} of {n_cap} cells against the regularised network; the fine-tuned reading "
            f"wins {fine['win']}, ties {fine['tie']} and loses {fine['loss']} of {n_fine}.")
    share = {k: v / n_cap for k, v in cap.items()}
    share_fine = {k: v / n_fine for k, v in fine.items()} if n_fine else share
    low = min(cfg.lams)
    shares = lambda_shares(rows, cfg, "gradinn-capacity")
    off = {p: (d.get(low, 0), sum(d.values())) for p, d in shares.items()
           if d.get(low, 0) > sum(d.values()) / 2}
    if off:
        text += (f" Validation often turns its prior down: λ = {num(low)}, the grid's smallest, in "
                 + listing(f"{k} of {n} fits on {gi.SHORT_NAMES[p]}" for p, (k, n) in off.items())
                 + "; there the restricted reading is close to the plain network, and a tie is what one "
                 "would expect.")
    if share["loss"] > share_fine["loss"]:
        text += (" Where it loses, our reading: a prior network that cannot grow (8 units, or fixed "
                 "features with a linear read-out) must explain the data's gradients with too few shapes, "
                 "so the gradient penalty pulls U towards a field it cannot match.")
    elif share["win"] < share_fine["win"]:
        text += (" Our reading: the restricted F rarely hurts once λ is chosen by validation, since "
                 "validation can switch the prior off, but without F's freedom the prior also helps "
                 "less often.")
    else:
        text += (" The two readings give the same picture, so the verdicts do not hinge on which one "
                 "the paper meant.")
    return text


def findings(rows, summary: dict[str, Any], cfg: gi.GradINNConfig) -> str:
    """What the records show, as bullets: each statement is made only when the records bear it
    out (its numbers and signs are read from them)."""
    shares = lambda_shares(rows, cfg, gi.MAIN)
    reading = lambda_reading(shares, cfg) if shares else {"bottom": [], "low": [], "high": [], "mixed": []}
    res = paired_by_size(rows, cfg, gi.MAIN)
    won = {p: [n for n, r in d.items() if r and r["outcome"] == "win"] for p, d in res.items()}
    out = []
    fried = [p for p in ("friedman1", "friedman1_5d") if won.get(p)]
    if fried:
        nf = gi.PAPER_FRIEDMAN["n"]
        r10, r5 = res.get("friedman1", {}).get(nf), res.get("friedman1_5d", {}).get(nf)
        where = "; ".join(f"{gi.SHORT_NAMES[p]}: {sizes_text(won[p])}" for p in fried)
        text = ("- **GradINN helps on Friedman #1.** It beats the regularised network beyond the "
                f"spread of the repetitions ({where})")
        if "friedman1" in reading["high"]:
            text += ", and validation keeps λ ≥ 1 on the 10-input form"
        text += "."
        if r10 and r5 and r5["ratio"] >= 0.9 * r10["ratio"]:
            text += (f" The gain is as large with the five active inputs only ({ratio(r5['ratio'])} "
                     f"against {ratio(r10['ratio'])} with all ten at N = {nf}), so it does not come from "
                     "the inactive inputs alone. Our reading: a prior network that starts flat says \"the "
                     "function changes slowly unless the data say otherwise\", a pull towards smoothness "
                     "along every input.")
        elif r10 and r5:
            text += (f" With the five active inputs only the gain shrinks ({ratio(r5['ratio'])} against "
                     f"{ratio(r10['ratio'])} with all ten at N = {nf}). Our reading: a prior network that "
                     "starts flat says \"the function changes little unless the data say so\", which is "
                     "exactly true along the inactive inputs.")
        k, n = nn_edge(rows, cfg, [(p, m) for p in fried for m in won[p]])
        if n:
            top = num(max(cfg.weight_decays))
            text += (f" In these cells the standard network chose the largest weight decay of its grid "
                     f"({top}) in {k} of {n} fits" + (
                         ", so a stronger weight decay might narrow the gap." if k >= n / 2 else
                         ": its optimum lies inside the grid, so the gap is not the grid's edge."))
        out.append(text)
    if reading["bottom"]:
        names = [gi.SHORT_NAMES[p] for p in reading["bottom"]]
        o = outcomes_by_problem(rows, cfg, reading["bottom"])
        n = sum(len(v) for v in o.values())
        if n == 1:
            what = next(k for k, v in o.items() if v)
            tally = {"win": "wins", "tie": "ties", "loss": "loses"}[what] + " in the one cell recorded"
        else:
            tally = f"wins {len(o['win'])}, ties {len(o['tie'])} and loses {len(o['loss'])} of {n} cells"
        text = (f"- **Where validation keeps λ at its smallest** ({listing(names)}), GradINN {tally} "
                "against the standard network")
        text += "."
        if o["win"]:
            text += f" It wins on {_cells_text(o['win'])}. {holm_clause(rows, cfg, o['win'], short=True)}"
        if o["loss"]:
            text += (f" It loses on {_cells_text(o['loss'])}: there even the smallest λ of the grid "
                     "costs accuracy. One candidate reason, from the loss itself: the mismatch is divided "
                     "by U's own mean squared gradient, so while F is near zero the penalty is about λ "
                     "whatever U does, a steady pull towards a flatter U that only F's catching up relaxes.")
        if not o["win"] and not o["loss"]:
            text = text[:-1] + ": at this weight the prior neither helps nor hurts beyond the spread."
        out.append(text)
    out.append(capacity_finding(rows, cfg))
    out.append("- **The paper's own numbers stay unchecked.** We could not read the paper's settings, "
               "so the chapter tests its claims with our reading, and cannot say whether the paper's "
               "setup would give the summary's RMSE 0.04.")
    return "\n".join(out)


def _reading(summary: dict[str, Any], key: str) -> dict[str, Any]:
    return summary.get("claim_details", {}).get("readings", {}).get(key, {})


def _tally_words(cells: list[dict[str, Any]]) -> tuple[int, int, int, int]:
    w, t, lo = (sum(r["outcome"] == o for r in cells) for o in ("win", "tie", "loss"))
    return w, t, lo, len(cells)


def outcomes_by_problem(rows, cfg: gi.GradINNConfig, problems, model: str = gi.MAIN,
                        metric: str = "rmse") -> dict[str, list]:
    """The paired outcomes of ``model`` against the standard NN over every noise-free size of
    ``problems``: ``{"win": [(problem, N, ratio)], "loss": [...], "tie": [...]}``."""
    out: dict[str, list] = {"win": [], "loss": [], "tie": []}
    for p in problems:
        for n in cfg.sizes:
            r = gi.paired(rows, model, "nn", p, n, metric=metric)
            if r is not None:
                out[r["outcome"]].append((p, n, r["ratio"]))
    return out


def _cells_text(cells) -> str:
    """``[(p, n, ratio)] -> "Stokes at N = 25 (ratio 1.29)"``, joined."""
    return listing(f"{gi.SHORT_NAMES[p]} at N = {n} (ratio {ratio(r)})" for p, n, r in cells)


def _signs_clause(rows, cfg: gi.GradINNConfig, problems, model: str = gi.MAIN) -> str:
    """Where ``model`` wins and loses against the standard NN on ``problems``, in words, and
    what that says about the weakest prior (used where validation keeps λ at its smallest)."""
    o = outcomes_by_problem(rows, cfg, problems, model)
    n = sum(len(v) for v in o.values())
    if not n:
        return ""
    if not o["win"] and not o["loss"]:
        return ("GradINN ties the standard NN in the one noise-free cell recorded there." if n == 1 else
                f"GradINN ties the standard NN in all {n} noise-free cells there.")
    parts = []
    if o["win"]:
        parts.append(f"beats the standard NN beyond the spread on {_cells_text(o['win'])}")
    if o["loss"]:
        parts.append(f"loses to it on {_cells_text(o['loss'])}")
    k = len(o["tie"])
    ties = "" if not k else ", and ties in the other cell" if k == 1 else f", and ties in the other {k}"
    return ("GradINN " + ", ".join(parts) + ties + ". " + holm_clause(rows, cfg, o["win"], model))


def holm_clause(rows, cfg: gi.GradINNConfig, wins, model: str = gi.MAIN, short: bool = False) -> str:
    """How many of the wins ``[(problem, N, ratio)]`` stay wins after Holm's correction over every
    noise-free (problem, N) cell compared with the standard NN, in words (``short``: in one clause,
    where the full reading is said elsewhere); ``""`` without wins.
    A single test at 5 % among many cells wins by chance alone too often to carry a reading."""
    if not wins:
        return ""
    cells = [(p, n) for p in cfg.problems for n in cfg.sizes]
    res = [gi.paired(rows, model, "nn", p, n) for p, n in cells]
    held = dict(zip(cells, gi.holm(res), strict=True))
    k = sum(held.get((p, n)) == "win" for p, n, _ in wins)
    m = sum(r is not None for r in res)
    one = len(wins) == 1
    if short:  # said in full under the figure of where lambda lands
        return ("After Holm's correction over the noise-free cells " + (
            ("it stays a win." if k else "it is a tie.") if one else f"{k} of {len(wins)} stay wins."))
    return (f"{'This win is' if one else 'Each of these wins is'} one test at 5 % among the {m} noise-free "
            f"cells compared; after Holm's correction over them, "
            + (("it stays a win." if k else "it is a tie.") if one else f"{k} of {len(wins)} stay wins.")
            + ("" if k else " We read it as no evidence that the prior helps there."))


def _level(r: dict[str, Any], s: float) -> dict[str, Any]:
    """A noise level's entry of a robustness result (its keys are strings after a JSON round trip)."""
    return r["per_level"].get(s) or r["per_level"].get(str(s)) or {}


def nn_edge(rows, cfg: gi.GradINNConfig, cells) -> tuple[int, int]:
    """How many of the standard NN's noise-free fits in ``cells`` ((problem, N)) selected the
    largest weight decay of its grid: ``(k, n)``."""
    top = max(cfg.weight_decays)
    k = n = 0
    for p, size in cells:
        s = rows[(rows.problem == p) & (rows.model == "nn") & (rows.N == size) & (rows.noise == 0.0)]
        vals = [float(v) for v in s["selected"] if v is not None and math.isfinite(v)]
        n += len(vals)
        k += sum(1 for v in vals if math.isclose(v, top))
    return k, n


def budget_text(summary: dict[str, Any]) -> str:
    """How often the epoch budget, not early stopping, ends a fit, per network model, and for
    which models that is most of their fits."""
    b = summary.get("budget", {})
    models = [m for m in MODELS if m in b and b[m]["fits"]]
    if not models:
        return ""
    rows = [f"| {MODELS[m][3]} | {b[m]['at_budget']} of {b[m]['fits']} "
            f"({round(100 * b[m]['at_budget'] / b[m]['fits'])} %) | {num(b[m]['median_kept_epoch'], 4)} |"
            for m in models]
    bound = [NOTE_NAMES[m] for m in models if b[m]["at_budget"] > b[m]["fits"] / 2]
    free = [NOTE_NAMES[m] for m in models if b[m]["at_budget"] <= b[m]["fits"] / 2]
    text = (f"**Where fits stop.** A fit keeps its weights from its best validation check. How often "
            f"that check lies in the last 2 % of the {b[models[0]]['budget']}-epoch budget:")
    tail = []
    if bound:
        tail.append(f"The budget, not early stopping, ends most fits of {listing(bound)}: they were "
                    "still improving, and might gain from a longer budget.")
    if free:
        tail.append(f"Early stopping ends most fits of {listing(free)}.")
    table = ["| model | fits ending in the last 2 % | median kept epoch |", "|---|---:|---:|", *rows]
    return "\n\n".join([text, "\n".join(table), " ".join(tail)])
