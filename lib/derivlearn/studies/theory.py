"""Chapter "Theory": the cost/information model R(d, r) and a test of its premise.

Horvath et al. (§2.3) assume every value or unique partial derivative carries the same
information, and note that this holds "perfectly" when a polynomial with n coefficients is
fitted from n pieces of data. We test that premise directly. For a random polynomial of total
degree p in d variables (n = C(d + p, p) coefficients) and samples that carry all unique
partials up to order r, the least number of samples that determines the polynomial is, under
the assumption,

    N_theory = ceil(n / I_eff),   I_eff = C(d + min(r, p), min(r, p)),

(partials above order p vanish and carry nothing). We find the true least number N_min by the
rank of the Hermite collocation matrix at random points, and compare. A run is one
(d, p, r, seed).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from derivlearn import cost
from derivlearn.claims import Claim, to_records, verdict
from derivlearn.params import ListOf, Range, StudyConfig, knob

STUDY = "theory"


@dataclass(frozen=True)
class TheoryConfig(StudyConfig):
    """Parameters of the theory chapter (see the notebook's ``parameters`` cell)."""

    study: ClassVar[str] = STUDY
    RESULT_VERSION: ClassVar[int] = 1  # bump in a change that alters this study's results
    # 1: the first versioned records (recomputed: the old ones came from an older monomial order)
    PROFILE_TABLE: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"d_max": 20, "r_max": 5, "identity_d_max": 50, "dims": (1, 2, 3),
                  "degrees": (2, 3), "orders": (0, 1, 2), "seeds": 1, "scheduler": "inprocess"},
        "book": {"d_max": 20, "r_max": 5, "identity_d_max": 1000, "dims": (1, 2, 3, 4, 5, 6, 7, 8),
                 "degrees": (2, 3, 4, 5), "orders": (0, 1, 2, 3), "seeds": 3},
        # full: d up to 10 at degrees up to 5. Degree 6 is left out: at d = 9 and 10 it has
        # C(d + 6, 6) = 5005 and 8008 coefficients, above the cap of check() (the rank of a
        # collocation matrix with that many columns per run); the grid is a product, so the cap
        # holds for every (d, p) only without it. Raising the cap instead would make each rank
        # computation (an SVD, cubic in the coefficients) of a (10, 6) run cost (8008 / 3003)^3,
        # about 19 times that of the largest run kept here, (10, 5).
        "full": {"d_max": 30, "r_max": 6, "identity_d_max": 10000,
                 "dims": tuple(range(1, 11)), "degrees": (2, 3, 4, 5),
                 "orders": (0, 1, 2, 3, 4), "seeds": 10},
    }

    d_max: int = knob(Range(2, 200, integer=True), "largest dimension in Figure 1")
    r_max: int = knob(Range(1, 10, integer=True), "largest derivative order in Figure 1")
    identity_d_max: int = knob(Range(1, 100000, integer=True),
                               "check R(d,1) = R(d,2) = 2/(d+1) exactly for d = 1..this")
    dims: tuple[int, ...] = knob(ListOf(Range(1, 12, integer=True)),
                                 "dimensions d of the polynomial experiment")
    degrees: tuple[int, ...] = knob(ListOf(Range(1, 8, integer=True)),
                                    "total degrees p of the random polynomials")
    orders: tuple[int, ...] = knob(ListOf(Range(0, 6, integer=True)),
                                   "derivative orders r of the samples")
    seeds: int = knob(Range(1, 100, integer=True), "random polynomials and point sets per cell")
    base_seed: int = knob(Range(0, 2**31 - 1, integer=True), "first seed", 0)

    def check(self) -> None:
        if 0 not in self.orders:
            raise ValueError(f"parameter 'orders': got {list(self.orders)}; allowed: a list that "
                             "contains 0 (value-only data is the baseline of every ratio)")
        many = [(d, r) for d in self.dims for r in self.orders if math.comb(d + r, r) > 5000]
        if many:
            raise ValueError(f"parameters 'dims' and 'orders': {many[0]} gives more than 5000 "
                             "partials per sample; allowed: C(d + r, r) <= 5000")
        big = [(d, p) for d in self.dims for p in self.degrees if math.comb(d + p, p) > 5000]
        if big:
            raise ValueError(
                f"parameters 'dims' and 'degrees': {big[0]} gives "
                f"{math.comb(sum(big[0]), big[0][1])} coefficients; allowed: at most 5000 "
                "(C(d + p, p) <= 5000)"
            )


# ----------------------------------------------------------------------------- the experiment
def multi_indices(d: int, max_order: int) -> np.ndarray:
    """All multi-indices α ∈ ℕ^d with |α| ≤ max_order, graded. *Shape:* (C(d+max_order, d), d)."""
    rows = []
    for k in range(max_order + 1):  # C(d+k-1, k) multisets of coordinates -> count vectors
        for combo in itertools.combinations_with_replacement(range(d), k):
            rows.append(np.bincount(np.array(combo, dtype=np.int64), minlength=d))
    return np.array(rows, dtype=np.int64).reshape(-1, d)


def hermite_rows(x: np.ndarray, exps: np.ndarray, derivs: np.ndarray) -> np.ndarray:
    """Rows of the Hermite collocation matrix: ∂^β x^α for every point, β and α.

    Args:
        x: points, *Shape:* (N, d).
        exps: monomial exponents α, *Shape:* (n, d).
        derivs: derivative multi-indices β, *Shape:* (m, d).

    Returns:
        *Shape:* (N · m, n): row (i, β) holds ∂^β x^α evaluated at x_i.
    """
    top = int(max(exps.max(initial=0), derivs.max(initial=0)))
    falling = np.array([[math.perm(a, b) for b in range(top + 1)] for a in range(top + 1)],
                       dtype=np.float64)  # α!/(α-β)!, zero when β > α
    coef = np.prod(falling[exps[None, :, :], derivs[:, None, :]], axis=-1)  # (m, n)
    powers = np.maximum(exps[None, :, :] - derivs[:, None, :], 0)  # (m, n, d)
    out = np.empty((x.shape[0], len(derivs), len(exps)))
    for i, xi in enumerate(x):
        out[i] = coef * np.prod(xi ** powers, axis=-1)
    return out.reshape(-1, len(exps))


def alexander_hirschowitz_exception(d: int, p: int, n_points: int) -> bool:
    """Whether values and gradients at ``n_points`` generic points in ``d`` dimensions fail to
    impose independent conditions on polynomials of degree ``p``.

    Alexander and Hirschowitz (1995): the conditions are independent except for quadrics
    (p = 2, 2 <= N <= d) and (d, p, N) in {(2, 4, 5), (3, 4, 9), (4, 4, 14), (4, 3, 7)}.
    """
    return (p == 2 and 2 <= n_points <= d) or (d, p, n_points) in {
        (2, 4, 5), (3, 4, 9), (4, 4, 14), (4, 3, 7)}


def _rank(mat: np.ndarray, rtol: float = 1e-9) -> int:
    if mat.size == 0:
        return 0
    scale = np.linalg.norm(mat, axis=0)
    scale[scale == 0] = 1.0
    s = np.linalg.svd(mat / scale, compute_uv=False)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0


def polynomial_recovery(config: dict[str, Any], device: str = "cpu") -> dict[str, Any]:
    """One run: the least number of random samples that determines a degree-p polynomial.

    Config keys: ``d``, ``degree``, ``order``, ``seed``. Runs on the CPU in float64 (the
    ``device`` argument is accepted for the sweep interface).
    """
    d, p, r, seed = config["d"], config["degree"], config["order"], config["seed"]
    rng = np.random.default_rng(seed)
    exps = multi_indices(d, p)
    derivs = multi_indices(d, r)
    n = len(exps)
    info_eff = math.comb(d + min(r, p), min(r, p))
    n_theory = math.ceil(n / info_eff)
    coeffs = rng.standard_normal(n)
    points = rng.uniform(-1.0, 1.0, size=(n + 5, d))  # generically n points always suffice

    rows = hermite_rows(points[:n_theory], exps, derivs)
    rank_at_theory = _rank(rows)
    n_min, rank = n_theory, rank_at_theory
    while rank < n:
        n_min += 1
        if n_min > len(points):
            raise RuntimeError(f"no full rank with {len(points)} points (d={d}, p={p}, r={r})")
        rows = np.vstack([rows, hermite_rows(points[n_min - 1:n_min], exps, derivs)])
        rank = _rank(rows)
    # Independent check that the rank is real: recover the coefficients from the data.
    sol, *_ = np.linalg.lstsq(rows, rows @ coeffs, rcond=None)
    rel_err = float(np.linalg.norm(sol - coeffs) / np.linalg.norm(coeffs))
    return {
        "n_coef": n,
        "info_per_sample": cost.information(d, r),
        "info_eff_per_sample": info_eff,
        "n_theory": n_theory,
        "n_min": n_min,
        "rank_deficit_at_theory": n - rank_at_theory,
        "effort_min": cost.effort(n_min, d, r),
        "coef_rel_error": rel_err,
    }


def run_configs(cfg: TheoryConfig) -> list[dict[str, Any]]:
    """One run config per (d, p, r, seed) cell of the polynomial experiment."""
    return [
        {"study": STUDY, "experiment": "polynomial_recovery", "d": d, "degree": p, "order": r,
         "seed": cfg.base_seed + s}
        for d in cfg.dims for p in cfg.degrees for r in cfg.orders for s in range(cfg.seeds)
    ]


# ----------------------------------------------------------------------------- analysis
def ratio_table(d_max: int, r_max: int):
    """R(d, r) as floats, rows d = 1..d_max, columns r = 0..r_max (a DataFrame)."""
    import pandas as pd

    return pd.DataFrame(
        {r: [float(cost.ratio(d, r)) for d in range(1, d_max + 1)] for r in range(r_max + 1)},
        index=pd.Index(range(1, d_max + 1), name="d"),
    ).rename_axis(columns="r")


def identity_holds(d_max: int) -> bool:
    """R(d,1) = R(d,2) = 2/(d+1), exactly, for every d in 1..d_max (two routes to R)."""
    return all(
        cost.ratio(d, 1) == cost.ratio(d, 2) == Fraction(2, d + 1)
        == cost.ratio_closed_form(d, 1) == cost.ratio_closed_form(d, 2)
        for d in range(1, d_max + 1)
    )


def empirical_ratios(df):
    """Measured R = effort(r) / effort(0) per (d, p, r), averaged over seeds.

    Args:
        df: records frame of the polynomial experiment (``ok`` runs).
    """
    import pandas as pd

    ok = df[df["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=["d", "degree", "order", "effort", "n_min", "n_theory",
                                     "deficit", "n_coef", "err", "R_measured", "R_model",
                                     "R_model_eff"])
    base = ok[ok["order"] == 0].groupby(["d", "degree"])["effort_min"].mean()
    g = ok.groupby(["d", "degree", "order"]).agg(
        effort=("effort_min", "mean"), n_min=("n_min", "mean"), n_theory=("n_theory", "first"),
        deficit=("rank_deficit_at_theory", "max"), n_coef=("n_coef", "first"),
        err=("coef_rel_error", "max")).reset_index()
    g["R_measured"] = [e / base[(d, p)] if (d, p) in base.index else float("nan")  # no baseline
                       for e, d, p in zip(g["effort"], g["d"], g["degree"], strict=True)]
    g["R_model"] = [float(cost.ratio(int(d), int(r))) for d, r in zip(g["d"], g["order"], strict=True)]
    g["R_model_eff"] = [  # the model with I_eff: orders above the degree carry nothing
        cost.cost(int(d), int(r)) * math.ceil(n / math.comb(int(d) + min(r, p), min(r, p))) / n
        for d, p, r, n in zip(g["d"], g["degree"], g["order"], g["n_coef"], strict=True)
    ]
    return g


def summarize(cfg: TheoryConfig, df) -> tuple[dict[str, Any], list[Claim]]:
    """Headline numbers for ``summary.json`` and the chapter's claim table."""
    import pandas as pd

    tab = ratio_table(cfg.d_max, cfg.r_max)
    ident = identity_holds(cfg.identity_d_max)
    worse = {r: [d for d in range(1, cfg.d_max + 1) if cost.ratio(d, r) > cost.ratio(d, 2)]
             for r in range(3, cfg.r_max + 1)}
    ties = {r: [d for d in range(1, cfg.d_max + 1) if cost.ratio(d, r) == cost.ratio(d, 2)]
            for r in range(3, cfg.r_max + 1)}
    decreasing = all(cost.ratio(d + 1, 1) < cost.ratio(d, 1) for d in range(1, cfg.d_max))
    emp = empirical_ratios(df)
    ok = df[df["status"] == "ok"]
    n_runs, n_failed = len(df), int((df["status"] == "failed").sum())
    match = (ok["n_min"] == ok["n_theory"]) if len(ok) else pd.Series([], dtype=bool)
    deficient = emp[emp["deficit"] > 0][["d", "degree", "order", "n_theory", "n_min"]]
    wasted = emp[(emp["order"] > emp["degree"])]
    summary = {
        "R": {str(r): {str(d): float(tab.loc[d, r]) for d in tab.index} for r in tab.columns},
        "identity_R1_eq_R2_eq_2_over_d_plus_1": {"holds": ident, "checked_d_max": cfg.identity_d_max},
        "orders_worse_than_hessian": {str(r): {"d_worse": len(v), "d_tie": ties[r]}
                                      for r, v in worse.items()},
        "polynomial_recovery": {
            "runs": n_runs, "failed": n_failed,
            "fraction_n_min_equals_theory": float(match.mean()) if len(ok) else None,
            "cells_with_rank_deficit": deficient.to_dict(orient="records"),
            "max_coef_rel_error": float(ok["coef_rel_error"].max()) if len(ok) else None,
        },
    }
    all_worse = all(len(v) == cfg.d_max - len(ties[r]) for r, v in worse.items())
    tie_sets = {tuple(t) for t in ties.values()}
    if len(tie_sets) == 1 and (only := next(iter(tie_sets))):
        tie_text = f"every order ties with r = 2 only at d = {', '.join(map(str, only))}"
    else:
        tie_text = "; ".join(f"r = {r} ties at d = {', '.join(map(str, t))}"
                             for r, t in ties.items() if t) or "no ties"
    frac = summary["polynomial_recovery"]["fraction_n_min_equals_theory"] or 0.0
    grad = emp[emp["order"] == 1]
    ah = [alexander_hirschowitz_exception(int(d), int(p), int(n))
          for d, p, n in zip(grad["d"], grad["degree"], grad["n_theory"], strict=True)]
    ah_match = bool(((grad["deficit"] > 0).to_numpy() == np.array(ah, dtype=bool)).all())
    summary["polynomial_recovery"]["gradient_deficits_match_alexander_hirschowitz"] = ah_match
    claims = [
        Claim("R(d,1) = R(d,2) = 2/(d+1)", "stated (§2.3)",
              f"holds exactly for d = 1–{cfg.identity_d_max}",
              verdict(ident), "checked in rational arithmetic with two formulas for R (the cost "
              "over the information count, and the closed form); confirmed if both give the "
              "identity at every d"),
        Claim("Higher orders (r ≥ 3) are less efficient than r = 1, 2", "Fig. 1",
              f"R(d,r) > R(d,2) at every d = 1–{cfg.d_max} for r = 3–{cfg.r_max}, except ties "
              f"({tie_text})", verdict(all_worse),
              "confirmed if R(d,r) > R(d,2) at every d where the two do not tie"
              + ("; at d = 1 every order gives R = 1: no gain at all in one dimension"
                 if any(1 in t for t in ties.values()) else "")),
        Claim("The advantage of derivatives grows with d", "Fig. 1",
              f"R(d,1) falls at every step from d = 1 to {cfg.d_max}" if decreasing
              else f"R(d,1) does not fall at every step from d = 1 to {cfg.d_max}",
              verdict(decreasing), "confirmed if R(d,1) is strictly decreasing in d"),
        Claim("Equivalent information holds for polynomial fitting", "premise of §2.3",
              f"the predicted number of points suffices in {frac:.0%} of {len(ok)} runs; "
              f"{len(deficient)} of {len(emp)} (d, p, r) cells need more; at r = 1 these are "
              + ("exactly the Alexander–Hirschowitz exceptions" if ah_match
                 else "not exactly the Alexander–Hirschowitz exceptions"),
              verdict(bool(frac == 1.0), partly=bool(frac and frac >= 0.5)),
              "confirmed if N_min = ceil(n / I_eff) in every run, partly if in at least half; "
              "derivative data at few points can be degenerate (for gradients: the square of the "
              "hyperplane through the points vanishes there with its gradient), and partials of "
              f"order above the degree carry nothing ({len(wasted)} cells with r > p)"),
    ]
    summary["claims"] = to_records(claims)
    return summary, claims


def answer(cfg: TheoryConfig, summary: dict[str, Any]) -> str:
    """The chapter's answer in Markdown, from its summary (nothing typed by hand)."""
    ident = summary["identity_R1_eq_R2_eq_2_over_d_plus_1"]
    rec = summary["polynomial_recovery"]
    frac, ah = rec["fraction_n_min_equals_theory"], rec.get("gradient_deficits_match_alexander_hirschowitz")
    r8 = summary["R"]["1"].get("8")
    how = f"exactly, for every d up to {ident['checked_d_max']}" if ident["holds"] else "not exactly"
    first = (f"**What we found.** Under the paper's model gradients and Hessians buy the same: both "
             f"cut the effort by the factor 2/(d+1) ({how}), so at d = 8 a gradient sample is worth "
             f"{1 / r8:.1f} value samples; orders 3 and above do worse at every d ≥ 2, and in one "
             "dimension no order helps.")
    if frac is None:
        return first + " The polynomial experiment has no runs in this record yet."
    return first + (f" The premise behind the model, that every unique partial derivative is worth "
                    f"one value, held for exact polynomial recovery in {frac:.0%} of "
                    f"{rec['runs'] - rec['failed']} runs; where it failed, the derivative data at few "
                    "points were degenerate" + (" (for gradients, exactly the Alexander–Hirschowitz "
                                                "exceptions)" if ah else "")
                    + " or the order exceeded the polynomial's degree. So the model is an accounting "
                    "identity whose information count is an upper bound.")


CONFIG = TheoryConfig
RUN = polynomial_recovery
