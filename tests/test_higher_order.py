"""Higher-order Sobolev study: the plan (parts, priorities, keys), one run end to end, and the
claim rules on synthetic records that make each verdict come out."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from derivlearn import functions
from derivlearn.claims import VERDICTS
from derivlearn.store import ResultStore, config_key, records_frame
from derivlearn.studies import higher_order as ho

CONFIRMED, PARTLY, NOT_CONFIRMED, NOT_TESTED = VERDICTS
ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- plan
def test_book_plan_parts_in_priority_order_each_run_once():
    cfg = ho.HigherOrderConfig.from_profile("book")
    parts = ho.plan(cfg)
    assert list(parts) == list(ho.PARTS)
    configs = ho.run_configs(cfg)
    assert configs == [c for p in parts.values() for c in p]
    keys = [config_key(c, cfg.version_of(c)) for c in configs]
    assert len(keys) == len(set(keys))
    assert [len(p) for p in parts.values()] == [385, 37, 74]
    main = parts["main sweep"]
    assert {c["n_train"] for c in parts["ablation"]} == {550}
    assert {c["n_train"] for c in parts["ablation, more sizes"]} == {100, 1000}
    # the main sweep's Table III uses the main definition; the ablation adds the runs of the
    # other five that differ from it (eps where a Var = 0; drop only ever reads a lower order)
    assert {ho.definition_of(c) for c in main if c["weighting"] == "fixed"} == {"zscored_one"}
    ab = {ho.definition_of(c) for c in parts["ablation"]}
    assert ab == {"original_one", "zscored_eps", "original_eps"}
    assert {(c["function"], c["order"]) for c in parts["ablation"] if "eps" in c["rho"]} == {
        (f, k) for f in ("sum_squares", "matyas") for k in (3, 4, 5)}
    assert all(c.get("engine") == ("jet2" if c["order"] == 2 else None) for c in configs)
    for c in configs:
        assert (c["reduction"], c["init"], c["units"]) == ("sum", "glorot", "original")
        assert c.get("diagnostics") is (True if c["weighting"] == "adaptive" else None)
        assert ("rho" in c) == (c["weighting"] == "fixed")
        assert cfg.version_of(c) == 2


def test_drop_shares_the_rho_one_run_where_no_order_has_zero_variance():
    assert ho.zero_variance_orders("sum_squares", 5) == (3, 4, 5)
    assert ho.zero_variance_orders("matyas", 5, "original") == (3, 4, 5)
    for f in ("six_hump_camel", "michalewicz", "branin"):
        assert ho.zero_variance_orders(f, 5) == ()
    assert ho.canonical_rho("branin", 4, "original_drop") == "original_one"
    assert ho.canonical_rho("sum_squares", 2, "zscored_drop") == "zscored_one"
    assert ho.canonical_run("sum_squares", 2, "zscored_drop") == (2, "zscored_one")
    # eps differs from one only where Var = 0: elsewhere the cells share the rho = 1 run
    assert ho.canonical_run("branin", 4, "zscored_eps") == (4, "zscored_one")
    assert ho.canonical_run("sum_squares", 2, "original_eps") == (2, "original_one")
    assert ho.canonical_run("sum_squares", 3, "zscored_eps") == (3, "zscored_eps")
    # orders 3-5 left out: the loss of the order-2 run
    for k in (3, 4, 5):
        assert ho.canonical_run("sum_squares", k, "zscored_drop") == (2, "zscored_one")
        assert ho.canonical_run("matyas", k, "original_drop") == (2, "original_one")
    cfg = ho.HigherOrderConfig.from_profile("book")
    assert ho.fixed_config(cfg, "branin", 4, 550, "zscored_drop") == ho.fixed_config(
        cfg, "branin", 4, 550, "zscored_one")
    assert ho.fixed_config(cfg, "branin", 4, 550, "zscored_eps") == ho.fixed_config(
        cfg, "branin", 4, 550, "zscored_one")
    assert ho.fixed_config(cfg, "sum_squares", 4, 550, "zscored_drop") == ho.fixed_config(
        cfg, "sum_squares", 2, 550, "zscored_one")
    eps = ho.fixed_config(cfg, "sum_squares", 4, 550, "original_eps")
    assert (eps["rho"], eps["rho_units"], eps["rho_eps"]) == ("inverse_variance_eps", "original", ho.RHO_EPS)
    c = ho.Cells("original", "mean", err={("sum_squares", 4, 550): 2.0},
                 fixed={("sum_squares", 2, 550, "zscored_one"): 6.0})
    assert c.quotient("sum_squares", 4, 550, "zscored_drop") == 3.0


def test_leaving_out_vanishing_orders_trains_the_lower_order_run():
    """Sum Squares' orders 3 and 4 vanish: with them left out (rho = 0) the run is the order-2
    run with rho = 1 up to round-off (another derivative engine), in float64."""
    cfg = ho.HigherOrderConfig.from_profile("smoke", dtype="float64")
    low = ho.fixed_config(cfg, "sum_squares", 2, 20, "zscored_one")
    high = {k: v for k, v in low.items() if k != "engine"} | {"order": 4} | ho.rho_keys("zscored_drop")
    a, b = ho.run(dict(low), "cpu"), ho.run(high, "cpu")
    assert a["error"] == pytest.approx(b["error"], rel=1e-8)
    assert a["error_original"] == pytest.approx(b["error_original"], rel=1e-8)
    eps = {k: v for k, v in low.items() if k != "engine"} | {"order": 4} | ho.rho_keys("zscored_eps")
    assert ho.run(eps, "cpu")["error"] != pytest.approx(a["error"], rel=1e-3)  # 1/eps on orders 3, 4


def test_new_runs_are_not_served_the_first_plans_records():
    cfg = ho.HigherOrderConfig.from_profile("book")
    stored = {r["key"] for r in ResultStore(ROOT / "results", ho.STUDY).records()
              if r.get("result_version", 1) == 1}  # the first plan's records
    keys = {config_key(c, cfg.version_of(c)) for c in ho.run_configs(cfg)}
    assert not keys & stored
    legacy = {k: v for k, v in ho.run_configs(cfg)[0].items()
              if k not in ("reduction", "init", "units", "diagnostics")}
    assert cfg.version_of(legacy) == 1  # the first plan's records stay readable as they were


def test_smoke_plan_and_bad_parameters():
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    parts = ho.plan(cfg)
    assert all(parts.values())
    assert {c["n_train"] for c in parts["ablation, more sizes"]} == {40}
    with pytest.raises(ValueError, match="orders"):
        ho.HigherOrderConfig.from_profile("smoke", orders=(1, 2))
    with pytest.raises(ValueError, match="rho_definitions"):
        ho.HigherOrderConfig.from_profile("smoke", rho_definitions=("zscored_huge",))
    only = ho.HigherOrderConfig.from_profile("smoke", experiments=("curves", "table3", "ablation"))
    assert not ho.plan(only)["ablation, more sizes"]


def test_one_run_records_original_units_and_the_adaptive_diagnostics():
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    c = next(c for c in ho.run_configs(cfg) if c["order"] == 3 and c["weighting"] == "adaptive")
    m = ho.run(c, "cpu")
    assert len(m["error"]) == cfg.reps and all(e > 0 for e in m["error"])
    assert m["error_original"] == pytest.approx(m["error_raw"], rel=1e-5)
    assert len(m["adaptive_fired"]) == cfg.reps and len(m["adaptive_fired"][0]) == 4
    assert all(0 < r <= 1 for r in m["adaptive_mean_rho"][0])


def test_plan_cost_uses_the_epochs_of_matching_records():
    cfg = ho.HigherOrderConfig.from_profile("smoke", experiments=("curves",))
    configs = ho.run_configs(cfg)
    c = configs[0]
    rec = {"status": "ok", "config": {k: v for k, v in c.items() if k != "reduction"},
           "metrics": {"epochs": [10, 30]}}
    cost = ho.plan_cost(cfg, [rec])
    assert list(cost["part"]) == list(ho.PARTS) and cost["runs"].tolist()[0] == len(configs)

    def t(x):
        return ho.epoch_seconds(x["n_train"], x["order"]) * x["reps"] / 5

    # other cells: the longest epochs of the records of the same (order, N), else 100
    others = sum(t(x) * (30 if (x["order"], x["n_train"]) == (c["order"], c["n_train"]) else 100)
                 for x in configs[1:])
    assert cost["CPU-h low"][0] * 3600 == pytest.approx(t(c) * 20 + others)
    assert cost["CPU-h high"][0] * 3600 == pytest.approx(t(c) * 30 + others)
    # nothing of the current settings stored: a fresh run costs what is left, nothing is recorded
    assert cost["fresh CPU-h low"][0] == pytest.approx(cost["CPU-h low"][0])
    assert cost["recorded CPU-h"][0] == 0 and cost["on GPU"][0] == 0
    # a run of the current settings counts as stored, and its epochs over the first plan's of the
    # same cell scale the estimates that rest on the first plan's records
    now = {"status": "ok", "config": c, "metrics": {"epochs": [20, 60]}, "cpu_time_s": 5400.0,
           "env": {"device": "cuda"}}
    legacy2 = {"status": "ok", "config": {k: v for k, v in configs[1].items() if k != "reduction"},
               "metrics": {"epochs": [10, 30]}}
    scaled = ho.plan_cost(cfg, [rec, now, legacy2])
    assert scaled["stored"][0] == 1 and scaled.attrs == {"epoch_ratio": 2.0, "ratio_cells": 1}
    sizes: dict = {}
    for r in (rec, now, legacy2):
        key = (r["config"]["order"], r["config"]["n_train"])
        sizes.setdefault(key, []).append(max(r["metrics"]["epochs"]))
    rest = sum(t(x) * (float(np.median(sizes[key])) if (key := (x["order"], x["n_train"])) in sizes else 100)
               for x in configs[2:])
    assert scaled["CPU-h high"][0] * 3600 == pytest.approx(t(configs[1]) * 60 + rest)
    # the stored run: its recorded time, and its own epochs in the fresh estimate
    assert scaled["recorded CPU-h"][0] == pytest.approx(1.5) and scaled["on GPU"][0] == 1
    assert scaled["fresh CPU-h high"][0] * 3600 == pytest.approx(t(c) * 60 + t(configs[1]) * 60 + rest)
    assert ho.epoch_seconds(550, 3) == ho.EPOCH_CPU_SECONDS[(550, 3)]
    assert ho.EPOCH_CPU_SECONDS[(100, 3)] < ho.epoch_seconds(300, 3) < ho.EPOCH_CPU_SECONDS[(550, 3)]


# ----------------------------------------------------------------------------- synthetic records
FUNCS = ("sum_squares", "matyas", "six_hump_camel", "michalewicz", "branin",
         "sphere", "trid", "booth", "powersum", "rosenbrock", "beale", "easom")


def _cfg(**kw):
    return ho.HigherOrderConfig.from_profile("book", functions=FUNCS, reps=3, **kw)


NO_DROP = tuple(d for d in ho.FIXED_RHO if not d.endswith("_drop"))
"""The fixed-rho definitions a world of per-cell quotients can follow: "order left out" reads
Sum Squares' and Matyas' order-2 fixed run at orders 3-5 (ho.canonical_run)."""


def paper_world(f: str, k: int, n: int, weighting: str, definition: str | None) -> float | list[float]:
    """Errors that follow every statement of the paper: each claim comes out confirmed."""
    small = n == 100
    cat = functions.get(f).category
    if weighting == "fixed":  # fixed = adaptive x the paper's quotient, under every definition
        return paper_world(f, k, n, "adaptive", None) * ho.paper_quotient(f, n, k)
    if k == 0:
        return 1.0
    if f in ("sum_squares", "matyas"):
        return 0.5 ** min(k, 4) * (0.95 if k == 5 else 1.0) * (0.8 if small else 1.0)
    if cat in ("bowl", "plate"):
        return 0.5 ** min(k, 3) * (0.8 if small else 1.0)
    if cat in ("valley", "other"):
        return 0.35 if (small and k >= 2 and f in ("six_hump_camel", "branin")) else 0.5
    return 1.0  # steep: no gain


World = Callable[[str, int, int, str, "str | None"], "float | list[float]"]


def records(cfg, world: World, drop: Callable[[dict], bool] = lambda c: False) -> list[dict]:
    out = []
    for i, c in enumerate(ho.run_configs(cfg)):
        if drop(c):
            continue
        e = world(c["function"], c["order"], c["n_train"], c["weighting"], ho.definition_of(c))
        reps = e if isinstance(e, list) else [e] * cfg.reps
        m = {"error": [v / 2 for v in reps], "error_raw": reps, "error_original": reps,
             "epochs": [50] * cfg.reps, "best_epoch": [40] * cfg.reps, "failed": [None] * cfg.reps,
             "seconds": 1.0, "seconds_per_epoch": 0.1 * (1 + c["order"])}
        if c["weighting"] == "adaptive":
            m["adaptive_fired"] = [[0.0] + [0.5] * c["order"]] * cfg.reps
            m["adaptive_mean_rho"] = [[1.0] + [0.1] * c["order"]] * cfg.reps
        out.append({"key": str(i), "status": "ok", "reason": None, "wall_time_s": 1.0,
                    "config": c, "metrics": m})
    return out


def verdicts(cfg, world: World, drop=lambda c: False) -> dict[str, str]:
    summary, claims = ho.summarize(cfg, records_frame(records(cfg, world, drop)))
    assert [c["verdict"] for c in summary["claims"]] == [c.verdict for c in claims]
    return {c.claim: c.verdict for c in claims}


def claim(start: str) -> str:
    names = [n for n, _, _ in ho.FIG_RULES] + [n for n, _, _ in ho.TABLE3_RULES] + [ho.CLOSENESS[0]]
    (name,) = [n for n in names if n.startswith(start)]
    return name


def tweak(base: World = paper_world, **changes) -> World:
    """``base`` with some cells replaced: changes maps a predicate name to (predicate, value)."""
    def world(f, k, n, w, d):
        for pred, value in changes.values():
            if pred(f, k, n, w, d):
                return value(f, k, n, w, d) if callable(value) else value
        return base(f, k, n, w, d)
    return world


def times(factor, base: World = paper_world):
    return lambda f, k, n, w, d: base(f, k, n, w, d) * factor


def test_the_paper_world_confirms_every_claim():
    cfg = _cfg(rho_definitions=NO_DROP)
    v = verdicts(cfg, paper_world)
    assert set(v.values()) == {CONFIRMED}, v
    assert len(v) == len(ho.FIG_RULES) + len(ho.TABLE3_RULES) + 1


def test_an_empty_record_set_tests_nothing_and_says_so():
    cfg = _cfg()
    summary, claims = ho.summarize(cfg, records_frame([]))
    assert {c.verdict for c in claims} == {NOT_TESTED}
    assert all("not all runs recorded yet" in c.ours or "not recorded yet" in c.ours for c in claims)
    assert set(summary["table3"]) == set(ho.FIXED_RHO)
    assert summary["claims"][0].keys() == {"claim", "paper", "ours", "verdict", "rule"}


SOBOLEV = lambda fs: lambda f, k, n, w, d: f in fs and k > 0 and w != "fixed"  # noqa: E731
CASES = {
    # claim: (partly world, not-confirmed world, a run whose absence leaves it untested)
    "Sobolev training beats": (
        tweak(a=(SOBOLEV(("sum_squares",)), times(30))),
        tweak(a=(SOBOLEV(("sum_squares", "matyas", "branin")), times(30))),
        lambda c: c["function"] == "branin" and c["order"] == 0 and c["n_train"] == 550),
    "Sum Squares and Matyas": (
        tweak(a=(lambda f, k, n, w, d: f == "matyas" and k == 5 and w != "fixed",
                 lambda f, k, n, w, d: 10 * paper_world(f, 4, n, w, d))),
        tweak(a=(SOBOLEV(("sum_squares", "matyas")), lambda f, k, n, w, d: 2.0 ** k)),
        lambda c: c["function"] == "matyas" and c["order"] == 5 and c["weighting"] == "adaptive"),
    "Six Hump Camel and Branin": (
        tweak(a=(lambda f, k, n, w, d: f == "branin" and k >= 2 and w != "fixed", 0.05)),
        tweak(a=(lambda f, k, n, w, d: f in ("branin", "six_hump_camel") and k >= 2 and w != "fixed",
                 0.05)),
        lambda c: c["function"] == "six_hump_camel" and c["order"] == 1 and c["n_train"] == 100),
    "Bowl- and plate-shaped": (
        tweak(a=(lambda f, k, n, w, d: functions.get(f).category == "plate" and w != "fixed", 1.0)),
        tweak(a=(lambda f, k, n, w, d: functions.get(f).category in ("plate", "bowl")
                 and w != "fixed", 1.0)),
        lambda c: c["function"] == "trid" and c["order"] == 3 and c["n_train"] == 1000),
    "Valley-shaped and other": (
        tweak(a=(lambda f, k, n, w, d: functions.get(f).category == "other" and k and w != "fixed",
                 2.0)),
        tweak(a=(lambda f, k, n, w, d: functions.get(f).category in ("other", "valley") and k
                 and w != "fixed", 2.0)),
        lambda c: c["function"] == "rosenbrock" and c["order"] == 2),
    "Steep ridges": (
        tweak(a=(lambda f, k, n, w, d: functions.get(f).category == "steep" and k and w != "fixed",
                 0.5)),
        tweak(a=(lambda f, k, n, w, d: functions.get(f).category == "steep" and k and w != "fixed",
                 lambda f, k, n, w, d: 0.5 ** k)),
        lambda c: c["function"] == "easom" and c["order"] == 0),
    "Adaptive ρ is about as good": (
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and k == 1 and n == 100, 5.0)),
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and k == 1, 5.0)),
        lambda c: c["weighting"] == "fixed" and c["order"] == 1 and c["n_train"] == 100),
    "Adaptive ρ is worse": (
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and f == "branin" and k == 3, 3.0)),
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and f in ("branin", "matyas") and k in (2, 3), 3.0)),
        lambda c: c["weighting"] == "fixed" and c["function"] == "matyas" and c["order"] == 2),
    "Adaptive ρ is much better": (
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and f == "michalewicz" and k >= 3,
                 lambda f, k, n, w, d: 0.5 * paper_world(f, k, n, "adaptive", d))),
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and f in ("michalewicz", "sum_squares") and k >= 3,
                 lambda f, k, n, w, d: 0.5 * paper_world(f, k, n, "adaptive", d))),
        lambda c: c["weighting"] == "fixed" and c["function"] == "sum_squares" and c["order"] == 4
        and c["n_train"] == 1000),
    "For Matyas": (
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and f == "matyas" and k >= 3 and n == 100,
                 lambda f, k, n, w, d: 2 * paper_world(f, k, n, "adaptive", d))),
        tweak(a=(lambda f, k, n, w, d: w == "fixed" and f == "matyas" and k >= 3,
                 lambda f, k, n, w, d: (2 if n == 100 else 0.5) * paper_world(f, k, n, "adaptive", d))),
        lambda c: c["weighting"] == "fixed" and c["function"] == "matyas" and c["order"] == 5
        and c["n_train"] == 100),
    "Our Table III": (
        tweak(a=(lambda f, k, n, w, d: w == "fixed",
                 lambda f, k, n, w, d: 5 * paper_world(f, k, n, w, d))),
        tweak(a=(lambda f, k, n, w, d: w == "fixed",
                 lambda f, k, n, w, d: 100 * paper_world(f, k, n, w, d))),
        lambda c: c["weighting"] == "fixed" and c["function"] == "sum_squares" and c["order"] == 1),
}


@pytest.mark.parametrize("start", list(CASES))
def test_each_claim_can_come_out_partly_not_confirmed_and_not_tested(start):
    cfg = _cfg(rho_definitions=NO_DROP)
    partly, not_confirmed, missing = CASES[start]
    name = claim(start)
    assert verdicts(cfg, partly)[name] == PARTLY
    assert verdicts(cfg, not_confirmed)[name] == NOT_CONFIRMED
    assert verdicts(cfg, paper_world, drop=missing)[name] == NOT_TESTED


def test_a_table3_verdict_that_depends_on_the_definition_says_so():
    cfg = _cfg()
    world = tweak(a=(lambda f, k, n, w, d: w == "fixed" and k == 1 and d.startswith("original"), 5.0))
    summary, claims = ho.summarize(cfg, records_frame(records(cfg, world)))
    c = next(c for c in claims if c.claim == claim("Adaptive ρ is about as good"))
    assert c.verdict == PARTLY  # confirmed under the transformed-data definitions, not the others
    assert "depends on the definition" in c.ours
    assert "confirmed under transformed (all 3)" in c.detail, c.detail
    d = summary["claim_details"][c.claim]["by_reading"]["original/mean"]
    assert d["depends"] is True and d["main"]["verdict"] == CONFIRMED
    assert {v["verdict"] for v in d["by_definition"].values()} == {CONFIRMED, NOT_CONFIRMED}
    same = next(c for c in claims if c.claim == claim("Adaptive ρ is worse"))
    assert "the same verdict under every fixed-ρ definition" in same.ours
    assert "all 6 fixed-ρ definitions at N = " in same.detail


def test_closeness_names_the_definition_nearest_the_paper():
    cfg = _cfg(rho_definitions=NO_DROP)
    # original units match the paper, except that rho = 1 where Var = 0 (Sum Squares and Matyas
    # at orders 3-5) is 3 times off; 1/(Var + eps) reads its own runs there and rho = 1's elsewhere
    vanishing = {(f, k) for f in ("sum_squares", "matyas") for k in (3, 4, 5)}
    world = tweak(a=(lambda f, k, n, w, d: w == "fixed" and not (
                        d == "original_eps" or (d == "original_one" and (f, k) not in vanishing)),
                     lambda f, k, n, w, d: 3 * paper_world(f, k, n, w, d)))
    summary, claims = ho.summarize(cfg, records_frame(records(cfg, world)))
    c = next(c for c in claims if c.claim == ho.CLOSENESS[0])
    assert c.verdict == CONFIRMED and "original units, Var = 0: 1/(Var + ε)" in c.detail
    assert c.ours == ("closest (original, 1/(Var + ε)): a typical factor 1 from the paper "
                      "(partly: ≤ 10; confirmed: ≤ 2)")
    details = summary["claim_details"][c.claim]["by_reading"]["original/mean"]
    assert details["closest"] == "original_eps"
    # every 'ours' cell scans in a line or two: a long one is the count of checks that hold,
    # its numbers under the table (the claim's detail)
    for cl in claims:
        assert len(cl.ours.split(f" {ho.OTHER_READINGS}")[0]) <= ho.SHORT_OURS, cl.ours
    counted = [cl for cl in claims if cl.ours.split(" (")[0].endswith("checks hold")]
    assert counted and all(cl.detail and cl.detail[0].isupper() for cl in counted)
    assert details["by_definition"]["zscored_one"]["distance"] == pytest.approx(math.log10(3))
    assert summary["table3_distance"]["zscored_one"]["distance"] == pytest.approx(math.log10(3))
    # with the other definitions at N = 550 only, every distance is over the same cells
    only550 = records(cfg, world, drop=lambda c: c["n_train"] != 550 and c["weighting"] == "fixed"
                      and ho.definition_of(c) != "zscored_one")
    dist = ho.summarize(cfg, records_frame(only550))[0]["table3_distance"]
    assert {d: (v["cells"], v["sizes"]) for d, v in dist.items()} == {
        d: (dist["zscored_one"]["cells"], [550]) for d in cfg.rho_definitions}
    assert dist["zscored_one"]["all_sizes"]["cells"] > dist["zscored_one"]["cells"] > 0


def test_a_table3_claim_says_why_the_definitions_are_not_compared():
    cfg = _cfg(rho_definitions=NO_DROP)
    # the ablation at N = 550 only: the Matyas rule needs the smallest N, so it cannot grade them
    only550 = _cfg(rho_definitions=NO_DROP, experiments=tuple(e for e in cfg.experiments
                                                              if e != "ablation_extra"))
    claims = ho.summarize(only550, records_frame(records(only550, paper_world)))[1]
    c = next(c for c in claims if c.claim == claim("For Matyas"))
    assert "the fixed-ρ definitions cannot be graded on it" in c.ours
    assert "at N = 550 the fixed-ρ definitions cannot be graded on this claim (needs N = 100" in c.detail
    assert "not recorded yet" not in c.ours
    # one cell without a finite error at the one ablation size: named, not "not recorded"
    gone = lambda c: (c["n_train"] == 550 and c["function"] == "matyas" and c["order"] == 5  # noqa: E731
                      and ho.definition_of(c) == "original_eps")
    claims = ho.summarize(only550, records_frame(records(only550, paper_world, drop=gone)))[1]
    c = next(c for c in claims if c.claim == claim("Adaptive ρ is about as good"))
    assert "not compared yet (1 cell lacks a finite error)" in c.ours  # short in the row ...
    cells = ho.cells(ho.long_frame(records_frame(records(only550, paper_world, drop=gone))))
    full = ho.ablation_gaps_text(only550, cells)                      # ... named once under the table
    assert "1 cell lacks a finite error" in full and "Matyas, order 5, N = 550 (original" in full


def test_means_and_medians_that_disagree_are_both_named():
    cfg = _cfg()
    # one repetition in three fails badly on Sum Squares: the mean loses to value training,
    # the median wins
    world = tweak(a=(SOBOLEV(("sum_squares",)),
                     lambda f, k, n, w, d: [paper_world(f, k, n, w, d)] * 2 + [100.0]))
    summary, claims = ho.summarize(cfg, records_frame(records(cfg, world)))
    c = next(c for c in claims if c.claim == claim("Sobolev training beats"))
    # the row says that another reading differs; the detail under the table says which and how
    assert c.verdict == PARTLY and c.ours.endswith(ho.OTHER_READINGS)
    assert "Verdict with medians: confirmed" in c.detail
    by = summary["claim_details"][c.claim]["by_reading"]
    assert by["original/median"]["verdict"] == CONFIRMED


def test_summary_holds_table3_for_every_definition_and_the_diagnostics():
    cfg = _cfg()
    summary, _ = ho.summarize(cfg, records_frame(records(cfg, paper_world)))
    for d in ho.FIXED_RHO:
        t = summary["table3"][d]
        assert t["branin"]["550"]["4"] == pytest.approx(38)
        # order left out: Matyas' orders 3-5 vanish, the cell reads the order-2 fixed run
        low = (paper_world("matyas", 2, 100, "adaptive", None) * ho.paper_quotient("matyas", 100, 2)
               / paper_world("matyas", 5, 100, "adaptive", None))
        assert t["matyas"]["100"]["5"] == pytest.approx(low if d.endswith("_drop") else 0.1)
    assert summary["table3"]["zscored_one"]["sum_squares"]["100"]["3"] == pytest.approx(100)
    assert summary["table3_paper"]["sum_squares"]["550"]["4"] == 460
    assert summary["mean_error"]["branin"]["1"]["550"] == pytest.approx(0.5)
    assert summary["error"]["zscored/mean"]["branin"]["1"]["550"] == pytest.approx(0.25)
    a = summary["adaptive"]["branin"]["550"]["5"]
    assert a["3"] == {"fired": pytest.approx(0.5), "mean_rho": pytest.approx(0.1)}
    assert summary["cost"]["epoch"]["nn"]["5"] == pytest.approx(6.0)
    diag = ho.adaptive_diagnostics(ho.long_frame(records_frame(records(cfg, paper_world))))
    assert set(diag["j"]) == {1, 2, 3, 4, 5}


def test_rule_helpers():
    assert ho._useful_order({0: 1.0, 1: 0.5, 2: 0.5, 3: 0.1, 4: 0.11}) == 3  # a plateau does not stop it
    assert ho._useful_order({0: 1.0, 1: 0.5, 2: 0.45, 3: 0.44}) == 1  # 0.5 <= 0.44 / 0.8
    assert ho._useful_order({1: 0.5}) is None
    assert ho._last_improving({0: 1.0, 1: 0.5, 2: 0.3, 3: 0.29, 4: 0.1}) == 2
    assert ho.improves_then_barely({0: 1.0, 1: 0.5, 2: 0.25, 3: 0.12, 4: 0.06, 5: 1.08}, 4) == (True, False)
    assert ho.improves_then_barely({0: 1.0, 4: 0.5}, 4) == (None, None)
    assert ho.grade([("a", True), ("b", False)]) == PARTLY
    assert ho.grade([("a", True), ("b", False), ("c", False)]) == NOT_CONFIRMED
    assert ho.grade([("a", True), ("b", None)]) == NOT_TESTED
    assert ho.grade([]) == NOT_TESTED
    # the Table III rules on the paper's own table: every claim holds
    assert ho.distance({"branin": {550: {4: 380.0}}}, [550]) == (pytest.approx(1.0), 1)


def test_log_mean_ci_is_a_geometric_band_that_stays_positive():
    m, lo, hi = ho.log_mean_ci([1e-4, 1e-2, 1.0, None, float("nan")])
    assert m == pytest.approx(1e-2) and 0 < lo < m < hi
    assert lo * hi == pytest.approx(m * m)
    assert all(math.isnan(v) for v in ho.log_mean_ci([None, -1.0]))


# ----------------------------------------------------------------------------- the chapter's report
def test_report_draws_every_figure_with_and_without_records():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from derivlearn.studies import higher_order_report as rep

    cfg = _cfg()
    for recs in ([], records(cfg, paper_world)):
        long = ho.long_frame(records_frame(recs))
        c = ho.cells(long)
        for fig in (rep.error_figure(long, cfg), rep.category_figure(long, cfg),
                    rep.table3_figure(c, cfg), rep.adaptive_figure(long, cfg)):
            assert fig.get_figwidth() == rep.WIDTH
            plt.close(fig)
        assert rep.table3_main(c, cfg).shape == (15, 5)
        assert len(rep.ablation_table(c, cfg)) == 26  # 25 cells and the distance row
    summary, claims = ho.summarize(cfg, records_frame(records(cfg, paper_world)))
    assert "{bdg-success}`confirmed`" in rep.verdicts_by_definition(summary, cfg)
    assert "grades the paper's six statements on which orders help (Figs. 1 and 2) as 6 confirmed" in \
        rep.answer(claims, 0, 10)
    empty, none = ho.summarize(cfg, records_frame([]))
    assert rep.verdicts_by_definition(empty, cfg) == ""
    assert "None of the runs" in rep.answer(none, 10, 10, "5 CPU-hours")
    missing = rep.missing_table(ho.run_configs(cfg)[:3] + ho.plan(cfg)["ablation"][:2], cfg)
    assert missing["runs"].sum() == 5
    assert list(missing["part of the plan"].unique()) == ["main sweep", "ablation"]


def test_the_chapter_says_which_runs_ran_on_a_gpu():
    from derivlearn.store import make_record
    from derivlearn.studies import higher_order_report as hr

    cfg = ho.HigherOrderConfig.from_profile("smoke")
    plan = ho.run_configs(cfg)[:3]
    recs = [make_record(c, status="ok", version=cfg.version_of(c), env=env)
            for c, env in zip(plan, ({"device": "cuda", "gpu": "NVIDIA H200"}, {"device": "cuda"},
                                     {"device": "cpu"}), strict=True)]
    text = hr.hardware_words(recs, cfg)
    assert "2 of the 3 runs ran on a GPU (NVIDIA H200)" in text
    assert "the other 1 on the CPU" in text
    assert hr.hardware_words(recs[2:], cfg) == ""  # all on the CPU: nothing to say


def test_where_runs_ran_counts_only_the_plan_and_says_nothing_when_all_ran_on_the_cpu():
    from derivlearn.provenance import where_runs_ran
    from derivlearn.store import make_record

    cfg = ho.HigherOrderConfig.from_profile("smoke")
    plan = ho.run_configs(cfg)[:3]
    envs = ({"device": "cuda", "gpu": "NVIDIA H200"}, {"device": "cpu"}, {"device": "cpu"})
    recs = [make_record(c, status="ok", version=cfg.version_of(c), env=env)
            for c, env in zip(plan, envs, strict=True)]
    # a record of a config outside the plan is not counted
    other = make_record(plan[0] | {"seed": 12345}, status="ok", version=cfg.version_of(plan[0]),
                        env={"device": "cuda"})
    text = where_runs_ran([*recs, other], plan, cfg.version_of)
    assert "1 of the 3 runs ran on a GPU (NVIDIA H200)" in text
    assert "the other 2 on the CPU" in text
    assert where_runs_ran(recs[1:], plan, cfg.version_of) == ""
    assert where_runs_ran([], plan, cfg.version_of) == ""


def test_a_stalled_repetition_is_counted_and_left_out_of_its_own_reading():
    import pandas as pd

    assert ho.stalled(0.9, 1) and not ho.stalled(0.9, ho.STALL_EPOCHS + 1) and not ho.stalled(0.1, 1)
    assert not ho.stalled(0.9, None)
    rows = [{"function": "sum_squares", "category": "bowl", "order": 0, "N": 100, "weighting": "adaptive",
             "partials": "all", "definition": "-", "rep": r, "error": e, "error_z": z,
             "seconds_per_epoch": 0.1, "fired": None, "mean_rho": None, "best_epoch": b,
             "stalled": ho.stalled(z, b)}
            for r, (e, z, b) in enumerate(((4000.0, 1.0, 1), (10.0, 0.01, 150), (20.0, 0.02, 170)))]
    long = pd.DataFrame(rows)
    assert ho.cells(long, "original", "mean").err[("sum_squares", 0, 100)] == pytest.approx(4030 / 3)
    assert ho.cells(long, "original", "trained").err[("sum_squares", 0, 100)] == pytest.approx(15.0)
    counts = ho.stall_counts(long)
    assert (counts["stalled"], counts["repetitions"]) == (1, 3)
    assert counts["cells"] == [{"function": "sum_squares", "weighting": "adaptive", "order": 0, "N": 100,
                                "definition": "-", "stalled": 1, "repetitions": 3}]
    with pytest.raises(ValueError, match="'stat'"):
        ho.cells(long, "original", "max")


def test_the_findings_and_the_stall_text_read_their_numbers_from_the_summary():
    from derivlearn.studies import higher_order_report as hr

    cfg = ho.HigherOrderConfig.from_profile("smoke", examples=("sum_squares", "branin"))
    me = {"sum_squares": {str(k): {str(n): (1.0 if k == 0 else 0.01) for n in cfg.sizes} for k in cfg.orders},
          "branin": {str(k): {str(n): 1.0 for n in cfg.sizes} for k in cfg.orders}}
    summary = {"mean_error": me, "table3_distance": {"original_eps": {"distance": 1.0},
                                                      "zscored_one": {"distance": None}},
               "stalls": {"stalled": 2, "repetitions": 20, "cells": [
                   {"function": "branin", "weighting": "adaptive", "order": 3, "N": 100,
                    "definition": "-", "stalled": 2, "repetitions": 5}]}}
    text = hr.findings(summary, cfg)
    assert text.startswith("Derivatives pay off most on Sum Squares: the best Sobolev order's error is "
                           "0.01 of value training's even at the least favourable N")
    assert "on Branin by at most a factor 1 at any N (1 to 1 of value training's)" in text
    assert "a typical factor 10 from the paper's under the closest reading" in text
    assert "the original-unit readings 10)" in text and "2 of 20 repetitions stalled" in text
    check = {"sizes": [100, 550], "agree": ["A"], "differ": ["Claim B holds"],
             "claims": [{"claim": "Claim B holds", "glorot": "confirmed", "torch": "not confirmed"}],
             "stalls": {"glorot": {"other": 2, "fixed": 1}, "torch": {"other": 0, "fixed": 1}}}
    text = hr.findings({**summary, "init_check": check}, cfg)
    assert ("Trained again from PyTorch's start at N = 100, 550, 1 of 2 verdicts stay the same (1 change: "
            "*Claim B holds*, confirmed → not confirmed).") in text
    assert "2 values-only or adaptive, 0 fixed-ρ. From PyTorch's start the first kind goes away (2 → 0" \
        in text
    assert "stall about as often (1 → 1), so those stalls are not the start's doing alone" in text
    # a function that gains strongly at one size only
    me["branin"]["1"][str(cfg.sizes[0])] = 0.05
    assert "on Branin only at some sizes (0.05 and 1 of value training's at N = 20 and 40)" in \
        hr.findings(summary, cfg)
    stall = hr.stall_text(summary)
    assert "2 of 20 repetitions did (10 %), in 1 cell. By kind of run: adaptive ρ: 2." in stall
    assert "Most on Branin (2)." in stall and "every repetition" not in stall
    assert "Why" not in stall  # no probe in this summary
    probe = {"N": 100, "reps": 10, "starts": ["glorot", "torch", "glorot W, torch b", "torch W, zero b"],
             "functions": {"beale": {"even_share": 0.99, "starts": {
                 "glorot": {"stalled": 6}, "torch": {"stalled": 0}, "glorot W, torch b": {"stalled": 0},
                 "torch W, zero b": {"stalled": 4}}}}}
    why = hr.stall_text({**summary, "stall_probe": probe})
    assert "the chapter's start: 6 of 10; PyTorch's: 0 of 10" in why
    assert "removes most of the stalls: Glorot's weights with PyTorch's random biases (0 of 10)." in why
    assert "PyTorch's weights with zero biases still stall in 4 of 10" in why
    assert f"Beale {ho.even_share('beale'):.2f}" in why  # computed, not read from the probe's file
    assert ho.even_share("sum_squares") > 0.999 and ho.even_share("powersum") < 0.1
    probe["functions"]["beale"]["starts"]["glorot W, torch b"]["stalled"] = 5
    assert "does not single out one cause" in hr.stall_text({**summary, "stall_probe": probe})
    assert hr.stall_text({"stalls": {"stalled": 0}}) == "" and hr.findings({}, cfg) == ""


def test_the_gap_text_says_how_far_our_table_iii_is_from_the_papers_and_why():
    from derivlearn.studies import higher_order_report as hr

    cfg = ho.HigherOrderConfig.from_profile("smoke", examples=("sum_squares", "michalewicz"),
                                            table_sizes=(100,))
    main = cfg.rho_definitions[0]
    summary = {"table3": {main: {"sum_squares": {"100": {"1": 0.01, "2": 0.1}},
                                 "michalewicz": {"100": {"3": 0.9, "4": 1.0, "5": 0.8}}}},
               "table3_paper": {"sum_squares": {"100": {"1": 1.0, "2": 1.0}},
                                "michalewicz": {"100": {"3": 9.0, "4": 10.0, "5": 8.0}}},
               "adaptive": {"michalewicz": {"100": {"5": {"1": {"fired": 0.5, "mean_rho": 0.1},
                                                          "2": {"fired": 0.99, "mean_rho": 1e-3}}}}}}
    text = hr.gap_text(summary, cfg)
    # log10 ratios 2 and 1: a typical factor 10^1.5
    assert "our quotients for Sum Squares are a typical factor 32 below the paper's" in text
    assert "For Michalewicz at orders 3 to 5 ours are 0.8 to 1, the paper's 8 to 10." in text
    assert "on Michalewicz it rescales the orders of 2 and more in at least 99 % of the steps" in text
    assert hr.gap_text({}, cfg) == ""


def test_the_claim_table_names_the_papers_figure_and_quotes_it_under_the_table():
    from derivlearn.claims import Claim
    from derivlearn.studies import higher_order_report as hr

    claims = [Claim("Order 4 helps", "Fig. 1: 'the error decreases'", "6 of 12 checks hold",
                    "partly confirmed", "rule", "Sum Squares: improves up to order 4."),
              Claim("Close to Table III", "Table III: quotients from 0.1 to 460", "a factor 10",
                    "not confirmed", "rule")]
    table = hr.claim_table(claims)
    assert "| 1. Order 4 helps (*the paper's Fig. 1*) | 6 of 12 checks hold |" in table
    assert "- **1. Order 4 helps.** The paper (Fig. 1): 'the error decreases'. Sum Squares" in table
    assert "(*the paper's Table III: quotients from 0.1 to 460*)" in table
    assert "- **2." not in table.split("More on each result")[1]


class _FakeStore:
    """Answers ``lookup`` from a function of the config (None: not recorded)."""

    def __init__(self, make):
        self.make = make

    def lookup(self, configs, version=1):
        return [self.make(c) for c in configs]


def _record(c, errors):
    return {"key": "k", "status": "ok", "config": c,
            "metrics": {"error": errors, "error_original": errors, "error_raw": errors,
                        "best_epoch": [50] * len(errors), "epochs": [60] * len(errors),
                        "seconds_per_epoch": 0.1}}


def test_init_check_grades_both_initialisations_and_waits_for_every_run():
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    n = cfg.ablation_sizes[0]
    check = ho.init_check_config(cfg, "torch")
    assert check.init == "torch" and check.sizes == check.table_sizes == (n,)
    assert all(c["n_train"] == n for c in ho.run_configs(check))
    assert "init" in ho.run_configs(check)[0] and ho.run_configs(check)[0]["init"] == "torch"

    def make(c):
        # PyTorch start: every order helps; Glorot start: Sobolev training is worse than values
        k = c["order"]
        if c["init"] == "torch":
            e = 1.0 / (1 + k) if c["weighting"] != "fixed" else 2.0 / (1 + k)
        else:
            e = 1.0 + k if c["weighting"] != "fixed" else 1.0
        return _record(c, [e * 0.01] * c["reps"])

    out = ho.init_check(cfg, _FakeStore(make))
    assert out["sizes"] == [n] and out["runs"] == len(ho.run_configs(check))
    assert out["devices"] == {"glorot": {"CPU": out["runs"]}, "torch": {"CPU": out["runs"]}}
    assert set(out["differ"]) | set(out["agree"]) <= {r["claim"] for r in out["claims"]}
    assert not set(out["differ"]) & set(out["agree"])
    # a claim that one start cannot grade is counted neither way
    assert all(r["claim"] not in out["differ"] + out["agree"] for r in out["claims"]
               if "not tested" in (r["glorot"], r["torch"]))
    assert ho.init_check_sizes(ho.HigherOrderConfig.from_profile("book")) == (100, 550)
    assert [r["claim"] for r in out["claims"]] == [ho.FIG_RULES[i][0] if i < len(ho.FIG_RULES)
                                                   else ho.TABLE3_RULES[i - len(ho.FIG_RULES)][0]
                                                   for i in ho.INIT_CHECK_CLAIMS]
    first = out["claims"][0]  # Sobolev beats values: yes with PyTorch's start, no with Glorot's
    assert first["torch"] == "confirmed" and first["glorot"] == "not confirmed"
    assert first["claim"] in out["differ"]
    assert out["stalls"]["glorot"] == {"stalled": 0, "repetitions": len(ho.run_configs(check)) * cfg.reps,
                                       "fixed": 0, "other": 0}
    assert out["first"]["sizes"] == [n] and len(out["first"]["claims"]) == len(ho.INIT_CHECK_CLAIMS_FIRST)
    assert out["dirty"] == {"glorot": 0, "torch": 0}
    # one run missing: nothing to say yet
    assert ho.init_check(cfg, _FakeStore(lambda c: None if c["order"] == 1 else make(c))) is None


@pytest.mark.parametrize("data", ["transformed", "original"])
def test_eps_changes_a_nonzero_variance_rho_by_under_half_a_percent(data):
    """What the chapter and `fixed_rho`'s docstring say: where an order's variance is not zero,
    adding eps = RHO_EPS would change rho by eps / Var < 0.5 %, on every order of the example
    functions (the training sets of the first repetition at every Table III size)."""

    from derivlearn.nn import sobolev

    cfg = ho.HigherOrderConfig.from_profile("book")
    worst = 0.0
    for f in cfg.examples:
        fn = functions.get(f)
        fid = functions.TABLE_I_NAMES.index(f)
        for n in cfg.table_sizes:
            x = ho._points(fn, n, 1_000 * fid)  # seed 0, repetition 0
            d = ho.derivative_tensors(fn, x, 5, form="unique")
            t = d if data == "original" else ho.Scaling.fit("zscore", x, d[0]).derivatives(d, form="unique")
            rho = sobolev.fixed_rho([v[None].double() for v in t], "all")[0]
            for k in range(1, 6):
                if float(t[k].abs().max()) > 0:  # Var > 0: rho = 1 / Var
                    worst = max(worst, sobolev.RHO_EPS * float(rho[k]))
    assert 0 < worst < 0.005


def test_quotient_devices_names_the_quotients_that_divide_a_cpu_run_by_a_gpu_run():
    from derivlearn.studies import higher_order_report as hr

    cfg = ho.HigherOrderConfig.from_profile("smoke")
    recs = []
    for c in ho.run_configs(cfg):
        dev = "cuda" if c["weighting"] == "adaptive" else "cpu"
        recs.append({"key": config_key(c, cfg.version_of(c)), "status": "ok", "config": c,
                     "env": {"device": dev}, "version": {"git": "abc"}})
    text = hr.quotient_devices(recs, cfg)
    assert text.startswith("**Devices.** Some Table III quotients divide a run on one device by a run on "
                           "the other: ")
    n = len(cfg.examples) * len(cfg.table_sizes) * len([k for k in cfg.orders if k])
    assert f"(transformed, ρ = 1) {n} of its {n}" in text  # fixed runs on the CPU, adaptive on a GPU
    for r in recs:
        r["env"]["device"] = "cpu"
    assert hr.quotient_devices(recs, cfg) == ""
