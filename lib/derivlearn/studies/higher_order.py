"""Chapter "Higher-order Sobolev training" (Hartmann, Kissel & Diepold §III).

2-D test functions of Table I, training data with exact derivatives up to order 5, z-score
transform (eqs. 1-3), an MLP 2 x 200 tanh trained with Adam (lr 1e-3) in 10 batches per epoch,
early stopping with patience 10 restoring the best validation epoch, validation and test sets of
4000 points, 10 repetitions.

A run is one (function, order, N, weighting, partials); its repetitions (own training sample,
own z-score transform, own initialisation) train as one ensemble. Four experiments share runs:

* ``curves`` (Fig. 1): the five example functions, orders 0-5, every N, adaptive rho;
* ``categories`` (Fig. 2): all 18 functions, orders 0-4, adaptive rho;
* ``table3`` (Table III): the five functions, orders 1-5, three N, fixed rho (the adaptive
  counterparts come from ``curves``);
* ``partials``: the five functions, orders 1-5, one N, unique partials instead of all.

**The paper's "Error".** We read it as the mean squared error of the value predictions on the
test set, in the transformed (z-scored) output units of each repetition, i.e. the MSE divided by
the variance of that repetition's training outputs. This makes the numbers comparable across
functions, as Fig. 1 suggests (Branin and Michalewicz errors of order 0.01-100 despite output
ranges of order 300 and 2). Every record also holds the MSE in the original units.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from derivlearn import functions as testfns
from derivlearn.claims import VERDICTS, Claim, verdict
from derivlearn.derivatives import derivative_tensors
from derivlearn.params import Choice, ListOf, Range, StudyConfig, knob
from derivlearn.transforms import Scaling

STUDY = "higher_order_sobolev"
EXAMPLES = ("sum_squares", "matyas", "six_hump_camel", "michalewicz", "branin")
EXPERIMENTS = ("curves", "categories", "table3", "partials")
PAPER_TABLE3 = {  # Hartmann et al. Table III: mean error fixed rho / adaptive rho, rows N, cols order 1-5
    "sum_squares": {100: (1, 0.8, 100, 80, 20), 550: (0.6, 0.4, 32, 460, 440), 1000: (1, 0.3, 19, 290, 415)},
    "matyas": {100: (1.2, 0.5, 11, 0.25, 0.1), 550: (1, 0.5, 8, 63, 0.85), 1000: (0.9, 0.3, 4, 100, 9)},
    "six_hump_camel": {100: (1, 2, 6, 29, 22), 550: (0.5, 1.7, 25, 95, 113), 1000: (0.5, 1.2, 18, 85, 111)},
    "michalewicz": {100: (1.4, 0.8, 1.4, 1.7, 1.5), 550: (0.9, 1.15, 9.8, 13.4, 15.9),
                    1000: (0.9, 1.1, 7.2, 12.7, 15.2)},
    "branin": {100: (0.9, 0.3, 0.1, 0.8, 4), 550: (1.3, 0.2, 0.3, 38, 54), 1000: (1.4, 0.1, 0.1, 57, 121)},
}


@dataclass(frozen=True)
class HigherOrderConfig(StudyConfig):
    """Parameters of the higher-order Sobolev chapter (see the notebook's ``parameters`` cell)."""

    study: ClassVar[str] = STUDY
    RESULT_VERSION: ClassVar[int] = 1  # bump in a change that alters this study's results
    # 1: the records of the code that first versioned results
    PROFILE_TABLE: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"functions": ("sum_squares", "branin", "easom"), "examples": ("sum_squares", "branin"),
                  "orders": (0, 1, 3), "category_orders": (0, 1), "sizes": (20, 40),
                  "category_sizes": (20,), "table_sizes": (20,), "partials_size": 20, "reps": 2,
                  "n_val": 200, "n_test": 200, "width": 16, "max_epochs": 5, "scheduler": "inprocess"},
        "book": {"functions": tuple(testfns.TABLE_I_NAMES), "examples": EXAMPLES,
                 "orders": (0, 1, 2, 3, 4, 5), "category_orders": (0, 1, 2, 3, 4),
                 "sizes": (100, 550, 1000), "category_sizes": (100, 550, 1000),
                 "table_sizes": (100, 550, 1000), "partials_size": 550, "reps": 5,
                 "max_epochs": 1000},
        "full": {"functions": tuple(testfns.TABLE_I_NAMES), "examples": EXAMPLES,
                 "orders": (0, 1, 2, 3, 4, 5), "category_orders": (0, 1, 2, 3, 4),
                 "sizes": (100, 250, 550, 750, 1000), "category_sizes": (100, 250, 550, 750, 1000),
                 "table_sizes": (100, 550, 1000), "partials_size": 550, "reps": 10,
                 "max_epochs": 100_000},
    }

    functions: tuple[str, ...] = knob(ListOf(Choice(tuple(testfns.TABLE_I_NAMES))),
                                      "Table I functions of Fig. 2")
    examples: tuple[str, ...] = knob(ListOf(Choice(tuple(testfns.TABLE_I_NAMES))),
                                     "example functions of Fig. 1, Table III and the partials comparison")
    orders: tuple[int, ...] = knob(ListOf(Range(0, 5, integer=True)), "derivative orders of Fig. 1")
    category_orders: tuple[int, ...] = knob(ListOf(Range(0, 5, integer=True)), "orders of Fig. 2")
    sizes: tuple[int, ...] = knob(ListOf(Range(2, 100_000, integer=True)), "training sizes of Fig. 1")
    category_sizes: tuple[int, ...] = knob(ListOf(Range(2, 100_000, integer=True)),
                                           "training sizes of Fig. 2")
    table_sizes: tuple[int, ...] = knob(ListOf(Range(2, 100_000, integer=True)),
                                        "training sizes of Table III")
    partials_size: int = knob(Range(2, 100_000, integer=True), "training size of the partials comparison")
    experiments: tuple[str, ...] = knob(ListOf(Choice(EXPERIMENTS)), "experiments to run", EXPERIMENTS)
    reps: int = knob(Range(1, 100, integer=True), "repetitions per run (paper: 10)")
    base_seed: int = knob(Range(0, 2**31 - 1, integer=True), "first seed", 0)
    n_val: int = knob(Range(10, 10**6, integer=True), "validation points (paper: 4000)", 4000)
    n_test: int = knob(Range(10, 10**6, integer=True), "test points (paper: 4000)", 4000)
    width: int = knob(Range(1, 4096, integer=True), "hidden width (paper: 200)", 200)
    lr: float = knob(Range(1e-9, 1.0), "Adam learning rate (paper: 1e-3)", 1e-3)
    n_batches: int = knob(Range(1, 10_000, integer=True), "batches per epoch (paper: 10)", 10)
    patience: int = knob(Range(1, 10**6, integer=True), "early-stopping patience (paper: 10)", 10)
    max_epochs: int = knob(Range(1, 10**7, integer=True), "epoch limit (paper: none)")
    dtype: str = knob(Choice(("float32", "float64")), "precision", "float32")

    def check(self) -> None:
        if 0 not in self.orders or 0 not in self.category_orders:
            raise ValueError("parameters 'orders', 'category_orders': must contain 0 (value training is "
                             "the baseline of every comparison)")


# ----------------------------------------------------------------------------- runs
def run_configs(cfg: HigherOrderConfig) -> list[dict[str, Any]]:
    """Run configs of the chosen experiments, each (function, order, N, weighting, partials) once."""
    cells: list[tuple[str, int, int, str, str]] = []
    if "curves" in cfg.experiments:
        cells += [(f, k, n, "adaptive", "all") for f in cfg.examples for k in cfg.orders for n in cfg.sizes]
    if "categories" in cfg.experiments:
        cells += [(f, k, n, "adaptive", "all") for f in cfg.functions for k in cfg.category_orders
                  for n in cfg.category_sizes]
    if "table3" in cfg.experiments:
        for f in cfg.examples:
            for n in cfg.table_sizes:
                for k in cfg.orders:
                    if k:
                        cells += [(f, k, n, "fixed", "all"), (f, k, n, "adaptive", "all")]
    if "partials" in cfg.experiments:
        cells += [(f, k, cfg.partials_size, "adaptive", p) for f in cfg.examples for k in cfg.orders
                  if k for p in ("all", "unique")]
    seen, out = set(), []
    for f, k, n, w, p in cells:
        if (f, k, n, w, p) in seen:
            continue
        seen.add((f, k, n, w, p))
        out.append({"study": STUDY, "function": f, "order": k, "n_train": n,
                    "weighting": w if k else "equal", "partials": p if k else "all",
                    "reps": cfg.reps, "seed": cfg.base_seed, "n_val": cfg.n_val, "n_test": cfg.n_test,
                    "width": cfg.width, "lr": cfg.lr, "n_batches": cfg.n_batches,
                    "patience": cfg.patience, "max_epochs": cfg.max_epochs, "dtype": cfg.dtype})
    # value training has no weighting or partials: keep one run per (f, n)
    uniq = {}
    for c in out:
        uniq.setdefault((c["function"], c["order"], c["n_train"], c["weighting"], c["partials"]), c)
    return list(uniq.values())


def _points(f: testfns.TestFunction, n: int, seed: int) -> Tensor:
    return f.sample(n, torch.Generator().manual_seed(seed))


RUN_OPTIONS = {"reduction": ("mean", "sum"), "init": ("torch", "glorot"),
               "rho": ("inverse_variance", "inverse_variance_eps", "inverse_variance_drop"),
               "rho_units": ("transformed", "original"), "units": ("transformed", "original"),
               "diagnostics": (False, True)}
"""Optional keys of a run config and their values; an absent key means the first value, the
behaviour that made the committed records (so their configs, and hashes, do not name them):

* ``"reduction"``: the Sobolev loss over the partials of an order, mean or sum (eq. 6);
* ``"init"``: the MLP initialisation, PyTorch's or Glorot-uniform with zero biases (Keras');
* ``"rho"``: the fixed rho's definition (:data:`derivlearn.nn.sobolev.RHO_DEFINITIONS`), and
  ``"rho_eps"`` (a number > 0, default :data:`derivlearn.nn.sobolev.RHO_EPS`) for the eps one;
* ``"rho_units"``: fixed rho from the z-scored training targets or from the original ones;
* ``"units"``: ``"original"`` adds the metric ``"error_original"``, the test MSE of the
  back-transformed predictions in the function's own units (``"error"`` stays z-scored);
* ``"diagnostics"``: True adds, for adaptive rho, the metrics ``"adaptive_fired"`` and
  ``"adaptive_mean_rho"`` (per repetition, per order 0..K: the fraction of training steps in
  which the rule rescaled the order, and the mean factor over all steps).
"""


def _option(config: dict[str, Any], key: str):
    v = config.get(key, RUN_OPTIONS[key][0])
    if v not in RUN_OPTIONS[key] or (key == "diagnostics" and not isinstance(v, bool)):
        raise ValueError(f"parameter {key!r}: must be one of {RUN_OPTIONS[key]}, got {v!r}")
    return v


def run(config: dict[str, Any], device: str = "cpu") -> dict[str, Any]:
    """Train ``reps`` networks (one ensemble) and evaluate them on the test set. Optional
    config keys: :data:`RUN_OPTIONS`."""
    from derivlearn.nn import sobolev
    from derivlearn.nn.train import TrainSpec, engine_of, train_ensemble

    opts = {key: _option(config, key) for key in RUN_OPTIONS}
    rho_eps = config.get("rho_eps", sobolev.RHO_EPS)

    f = testfns.get(config["function"])
    k, n, reps, seed = config["order"], config["n_train"], config["reps"], config["seed"]
    fid = testfns.TABLE_I_NAMES.index(config["function"])
    x_val = _points(f, config["n_val"], 10_000 + fid)
    x_test = _points(f, config["n_test"], 20_000 + fid)
    y_val, y_test = f(x_val), f(x_test)
    xs, tgs, xvs, yvs, xts, yts, var, raws, scalings = [], [], [], [], [], [], [], [], []
    for r in range(reps):
        x = _points(f, n, seed * 100_003 + 1_000 * fid + r)
        derivs = derivative_tensors(f, x, k, form="unique")
        s = Scaling.fit("zscore", x, derivs[0])
        raws.append(derivs)
        scalings.append(s)
        xs.append(s.x(x))
        tgs.append(s.derivatives(derivs, form="unique"))
        xvs.append(s.x(x_val))
        yvs.append(s.y(y_val))
        xts.append(s.x(x_test))
        yts.append(s.y(y_test))
        var.append(float(1 / s.c ** 2))
    targets = [torch.stack([t[j] for t in tgs]) for j in range(k + 1)]
    spec = TrainSpec(width=config["width"], depth=2, activation="tanh", order=k,
                     weighting=config["weighting"], partials=config["partials"], lr=config["lr"],
                     n_batches=config["n_batches"], patience=config["patience"],
                     max_epochs=config["max_epochs"], dtype=config["dtype"], device=device,
                     engine=engine_of(config, k), reduction=opts["reduction"], init=opts["init"],
                     rho=opts["rho"], rho_eps=rho_eps, diagnostics=opts["diagnostics"])
    rho_targets = None
    if opts["rho_units"] == "original":
        rho_targets = [torch.stack([t[j] for t in raws]) for j in range(k + 1)]
    t0 = time.perf_counter()
    res = train_ensemble(spec, torch.stack(xs), targets, torch.stack(xvs), torch.stack(yvs),
                         seeds=[seed * 1000 + r for r in range(reps)], rho_targets=rho_targets)
    seconds = time.perf_counter() - t0
    pred = res.predict(torch.stack(xts))[0].double().cpu()
    yt = torch.stack(yts)
    mse = ((pred - yt) ** 2).mean(dim=1)
    err, err_raw = [], []
    for r in range(reps):
        ok = res.failed[r] is None
        err.append(float(mse[r]) if ok else None)
        err_raw.append(float(mse[r]) * var[r] if ok else None)
    out = {"error": err, "error_raw": err_raw, "epochs": res.epochs, "best_epoch": res.best_epoch,
           "failed": res.failed, "seconds": seconds,
           "seconds_per_epoch": seconds / max(1, sum(res.epochs) / reps)}
    if opts["units"] == "original":
        y_orig = y_test.double().cpu()
        out["error_original"] = [
            float(((scalings[r].y_inverse(pred[r]) - y_orig) ** 2).mean()) if res.failed[r] is None
            else None for r in range(reps)]
    if opts["diagnostics"] and res.adaptive is not None:
        out["adaptive_fired"] = res.adaptive["fired"]
        out["adaptive_mean_rho"] = res.adaptive["mean_rho"]
    return out


# ----------------------------------------------------------------------------- analysis
def long_frame(df):
    """One row per (run, repetition) of the ``ok`` runs."""
    import pandas as pd

    rows = []
    for _, rec in df[df["status"] == "ok"].iterrows():
        cat = testfns.get(rec["function"]).category
        for r, e in enumerate(rec["error"]):
            rows.append({"function": rec["function"], "category": cat, "order": int(rec["order"]),
                         "N": int(rec["n_train"]), "weighting": rec["weighting"],
                         "partials": rec["partials"], "rep": r, "error": e,
                         "seconds_per_epoch": rec["seconds_per_epoch"]})
    return pd.DataFrame(rows, columns=["function", "category", "order", "N", "weighting", "partials",
                                       "rep", "error", "seconds_per_epoch"])


def mean_ci(values) -> tuple[float, float]:
    """Mean and 95 % confidence half-width (normal approximation) of the finite values."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return math.nan, math.nan
    return float(v.mean()), float(1.96 * v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


def log_mean_ci(values) -> tuple[float, float, float]:
    """Geometric mean and its 95 % band (normal approximation in log space) of the positive
    finite values: ``(mean, low, high)``. Errors spread over decades, so the arithmetic band of
    :func:`mean_ci` can reach below zero on a log axis."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x) and x > 0], dtype=float)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    m, h = mean_ci(np.log(v))
    return float(np.exp(m)), float(np.exp(m - h)), float(np.exp(m + h))


def main_rows(long):
    """The runs of Figs. 1 and 2: adaptive rho, all partials (and value training)."""
    return long[(long["partials"] == "all") & (long["weighting"].isin(["adaptive", "equal"]))]


def table3(long, examples, sizes, orders):
    """Mean error with fixed rho over mean error with adaptive rho, per (function, N, order)."""
    import pandas as pd

    rows = []
    for f in examples:
        for n in sizes:
            row = {"function": f, "N": n}
            for k in orders:
                if k == 0:
                    continue
                sel = long[(long.function == f) & (long.N == n) & (long.order == k)
                           & (long.partials == "all")]
                fx = mean_ci(sel[sel.weighting == "fixed"]["error"])[0]
                ad = mean_ci(sel[sel.weighting == "adaptive"]["error"])[0]
                row[k] = fx / ad if np.isfinite(fx) and np.isfinite(ad) and ad > 0 else math.nan
            rows.append(row)
    return pd.DataFrame(rows)


def summarize(cfg: HigherOrderConfig, df) -> tuple[dict[str, Any], list[Claim]]:
    """Headline numbers for ``summary.json`` and the chapter's claim table."""
    long = long_frame(df)
    main = main_rows(long)
    summary: dict[str, Any] = {"runs": len(df), "failed_runs": int((df["status"] == "failed").sum())
                               if len(df) else 0, "mean_error": {}, "table3": {}, "partials": {}}
    for (f, k, n), g in main.groupby(["function", "order", "N"]):
        summary["mean_error"].setdefault(f, {}).setdefault(str(k), {})[str(n)] = mean_ci(g["error"])[0]
    t3 = table3(long, cfg.examples, cfg.table_sizes, cfg.orders)
    for _, row in t3.iterrows():
        summary["table3"].setdefault(row["function"], {})[str(row["N"])] = {
            str(k): (None if not np.isfinite(row[k]) else float(row[k])) for k in cfg.orders if k}
    part = long[(long.N == cfg.partials_size) & (long.weighting == "adaptive")]
    for (f, k), g in part.groupby(["function", "order"]):
        a, u = g[g.partials == "all"], g[g.partials == "unique"]
        if len(a) and len(u):
            summary["partials"].setdefault(f, {})[str(k)] = {
                "error_all": mean_ci(a["error"])[0], "error_unique": mean_ci(u["error"])[0],
                "unique_over_all": mean_ci(u["error"])[0] / mean_ci(a["error"])[0]}
    summary["category_relative"] = {c: {str(k): v for k, v in d.items()}
                                    for c, d in category_relative(summary, cfg).items()}
    return summary, _claims(cfg, summary)


def _err(summary, f, k, n):
    v = summary["mean_error"].get(f, {}).get(str(k), {}).get(str(n))
    return v if v is not None and np.isfinite(v) else None


IMPROVES = 0.8
"""An order "improves" on the one below if its mean error is below this fraction of it (20 %)."""
ADAPTIVE_SAME = (0.5, 2.0)
"""Fixed/adaptive error quotients in this band count as "about equal"."""
ADAPTIVE_BETTER = 2.0
"""A quotient above this counts as "much better" for the adaptive rho."""


def category_relative(summary: dict[str, Any], cfg: HigherOrderConfig) -> dict[str, dict[int, float]]:
    """Per category and order: the mean over functions and the sizes of Fig. 2 of the error
    divided by the value-training error of the same function and size."""
    cats: dict[str, dict[int, list[float]]] = {}
    for f in cfg.functions:
        c = testfns.get(f).category
        for k in cfg.category_orders:
            for n in cfg.category_sizes:
                e, e0 = _err(summary, f, k, n), _err(summary, f, 0, n)
                if e is not None and e0:
                    cats.setdefault(c, {}).setdefault(k, []).append(e / e0)
    return {c: {k: float(np.mean(v)) for k, v in d.items()} for c, d in cats.items()}


def _useful_order(rel: dict[int, float]) -> int | None:
    """The lowest order whose mean error is within 1 / IMPROVES of the lowest over all orders:
    "improves up to order k" (None without data). Unlike :func:`_last_improving`, a plateau
    followed by a further drop (0.5, 0.5, 0.1) does not end the improvement."""
    vals = {k: v for k, v in rel.items() if v is not None and math.isfinite(v)}
    if 0 not in vals:
        return None
    best = min(vals.values())
    return min(k for k, v in vals.items() if v <= best / IMPROVES)


def _last_improving(rel: dict[int, float]) -> int | None:
    """Highest order reached by a chain of improvements from order 0 (None without data)."""
    if 0 not in rel:
        return None
    k = 0
    while k + 1 in rel and rel[k + 1] < IMPROVES * rel[k]:
        k += 1
    return k


BARELY = (IMPROVES, 1 / IMPROVES)
"""Order K+1 "barely helps" over order K if its mean error is within this band of order K's:
neither a 20 % gain (below ``IMPROVES``) nor a loss of more than 25 % (above ``1 / IMPROVES``)."""


def improves_then_barely(rel: dict[int, float], want: int) -> tuple[bool | None, bool | None]:
    """Both halves of "keeps improving up to order ``want``, and order ``want + 1`` barely
    helps" for one function's mean errors by order: ``(improves, barely)``, where
    ``improves`` is :func:`_useful_order` ``== want`` (on the orders up to ``want``, so that a
    failure at ``want + 1`` does not move it) and ``barely`` says the error at ``want + 1``
    over the error at ``want`` lies in :data:`BARELY`. None for a half without data."""
    vals = {k: v for k, v in rel.items() if v is not None and math.isfinite(v)}
    low = {k: v for k, v in vals.items() if k <= want}
    useful = _useful_order(low) if want in low else None
    improves = None if useful is None else useful == want
    barely = None
    if want in vals and want + 1 in vals and vals[want] > 0:
        barely = BARELY[0] <= vals[want + 1] / vals[want] <= BARELY[1]
    return improves, barely


def claim2_verdict(per_f: dict[str, dict[int, float]], want: int = 4) -> str:
    """The corrected rule of claim 2 ("Sum Squares and Matyas keep improving up to order 4;
    order 5 barely helps"): every function must satisfy both halves of
    :func:`improves_then_barely` for "confirmed"; "partly confirmed" if any half holds for
    any function; "not tested" if a half lacks data. Not yet used by the chapter, whose rule
    (in :func:`_claims`) checks only the first half."""
    halves = [improves_then_barely(rel, want) for rel in per_f.values()]
    if not halves or any(h is None for pair in halves for h in pair):
        return VERDICTS[3]
    return verdict(all(a and b for a, b in halves), partly=any(a or b for a, b in halves))


def _claims(cfg: HigherOrderConfig, summary: dict[str, Any]) -> list[Claim]:
    claims = []
    n_mid = sorted(cfg.sizes)[len(cfg.sizes) // 2]
    rule = (f"'improves up to order k': k is the lowest order whose mean error is within "
            f"1/{IMPROVES:g} of the lowest over all orders (the chain 'each order {IMPROVES:g}x the one "
            "below' is shown too); errors are z-scored test MSEs, means over repetitions")
    # 1. Sobolev beats value training for the examples except Michalewicz
    wins, losses = [], []
    for f in cfg.examples:
        e0 = [_err(summary, f, 0, n) for n in cfg.sizes]
        best = [min([v for k in cfg.orders if k and (v := _err(summary, f, k, n)) is not None],
                    default=None) for n in cfg.sizes]
        pairs = [(a, b) for a, b in zip(e0, best, strict=True) if a is not None and b is not None]
        if pairs:
            (wins if all(b < a for a, b in pairs) else losses).append(f)
    expect_loss = {"michalewicz"} & set(cfg.examples)
    claims.append(Claim("Sobolev training beats value training for all example functions except "
                        "Michalewicz", "Fig. 1: 'ST overall outperforms VT for all the functions "
                        "except Michalewicz'",
                        f"the best Sobolev order beats order 0 at every N for {wins}; not for {losses}",
                        verdict(set(losses) == expect_loss and set(wins) == set(cfg.examples) - expect_loss,
                                partly=bool(wins)) if wins or losses else VERDICTS[3],
                        "; ".join(f"Sobolev training also wins on {f}, the paper's exception"
                                  for f in sorted(expect_loss & set(wins)))))
    # 2./3. improvement with order on the examples, at the middle size
    per_f = {f: {k: v for k in cfg.orders if (v := _err(summary, f, k, n_mid)) is not None}
             for f in cfg.examples}
    for fs_, want, label, paper in (
            (("sum_squares", "matyas"), 4, "keep improving up to order 4; order 5 barely helps",
             "Fig. 1: 'the error decreases ... up to the fourth order. The fifth order barely leads to a "
             "further improvement'"),
            (("six_hump_camel", "branin"), 1, "barely improve beyond order 1",
             "Fig. 1: 'the error does barely decrease by using derivatives with higher order than 1'")):
        fs_ = [f for f in fs_ if f in cfg.examples]
        if not fs_ or max(cfg.orders) <= want:
            continue
        reached = {f: _useful_order(per_f[f]) for f in fs_}
        txt = "; ".join(f"{f}: errors by order " + ", ".join(f"{v:.3g}" for v in per_f[f].values())
                        + f" (improves up to order {reached[f]}; chain up to "
                        f"{_last_improving(per_f[f])})" for f in fs_)
        ok = all(r == want for r in reached.values())
        claims.append(Claim(f"{' and '.join(fs_)} {label}", paper, f"N = {n_mid}: {txt}",
                            verdict(ok, partly=any(r == want for r in reached.values()))
                            if all(r is not None for r in reached.values()) else VERDICTS[3], rule))
    # 4.-6. categories (Fig. 2)
    rel = category_relative(summary, cfg)
    for cats, want, label, paper in (
            (("bowl", "plate"), 3, "Bowl- and plate-shaped functions improve up to order 3",
             "Fig. 2: 'performance can be improved by using derivatives up to the order of 3'"),
            (("valley", "other"), 1, "Valley-shaped and other functions gain nothing beyond order 1",
             "Fig. 2: 'no improvement by using derivatives higher than order 1'"),
            (("steep",), 0, "Steep ridges/drops gain little from Sobolev training",
             "Fig. 2: 'higher order derivatives can barely be used to reduce the test error'")):
        have = {c: _useful_order(rel.get(c, {})) for c in cats}
        txt = "; ".join(f"{c}: error / value error by order "
                        + ", ".join(f"{v:.2f}" for v in rel.get(c, {}).values())
                        + f" (improves up to order {have[c]}; chain up to "
                        f"{_last_improving(rel.get(c, {}))})" for c in cats if c in rel)
        tested = all(v is not None for v in have.values())
        ok = all(v is not None and (v == want if want else v <= 1) for v in have.values())
        claims.append(Claim(label, paper, txt or "no data", verdict(ok, partly=any(
            v == want for v in have.values())) if tested else VERDICTS[3], rule))
    # 7. adaptive against fixed rho (Table III)
    t3 = summary["table3"]
    q1 = [v for f in t3 for n in t3[f] if (v := t3[f][n].get("1")) is not None]
    hi = {f: [v for n in t3.get(f, {}) for k, v in t3[f][n].items() if int(k) >= 3 and v is not None]
          for f in ("sum_squares", "six_hump_camel", "michalewicz")}
    same = [v for v in q1 if ADAPTIVE_SAME[0] <= v <= ADAPTIVE_SAME[1]]
    better = {f: sum(v > ADAPTIVE_BETTER for v in vs) for f, vs in hi.items()}
    tested = bool(q1) and all(hi.values())
    ok = tested and len(same) == len(q1) and all(better[f] == len(hi[f]) for f in hi)
    # partly: a majority holds for one of the two statements (order 1, or one function at order >= 3)
    partly = 2 * len(same) > len(q1) or any(2 * better[f] > len(hi[f]) for f in hi if hi[f])
    all_hi = [v for vs in hi.values() for v in vs]
    below = sum(v < 1 for v in all_hi)
    claims.append(Claim("Adaptive ρ is about equal to fixed ρ at order 1, and much better at order ≥ 3 "
                        "for Sum Squares, Six Hump Camel and Michalewicz",
                        "Table III: 'almost the same results for derivative order one'; 'much better "
                        "results for derivative orders higher than two'",
                        f"order 1: {len(same)} of {len(q1)} quotients fixed/adaptive within "
                        f"{ADAPTIVE_SAME}; order ≥ 3: quotient > {ADAPTIVE_BETTER:g} in "
                        + ", ".join(f"{f} {better[f]} of {len(hi[f])}" for f in hi),
                        verdict(ok, partly=partly) if tested else VERDICTS[3],
                        f"at order ≥ 3 the fixed ρ gives the lower mean error in {below} of {len(all_hi)} "
                        "cells of these three functions (quotient < 1)" if all_hi else ""))
    return claims


CONFIG = HigherOrderConfig
RUN = run
