"""Higher-order Sobolev study (draft): run plan, one run end to end, Table III orientation."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from derivlearn import functions
from derivlearn.studies import higher_order as ho


def test_run_plan_has_each_cell_once_and_value_training_once_per_size():
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    configs = ho.run_configs(cfg)
    cells = [(c["function"], c["order"], c["n_train"], c["weighting"], c["partials"]) for c in configs]
    assert len(cells) == len(set(cells))
    assert all((c[3], c[4]) == ("equal", "all") for c in cells if c[1] == 0)
    assert {c[3] for c in cells if c[1] > 0} == {"adaptive", "fixed"}
    assert {c[4] for c in cells if c[1] > 0} == {"all", "unique"}


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="orders"):
        ho.HigherOrderConfig.from_profile("smoke", orders=(1, 2))
    with pytest.raises(ValueError, match="functions"):
        ho.HigherOrderConfig.from_profile("smoke", functions=("nope",))


def test_one_run_gives_an_error_per_repetition():
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    c = next(c for c in ho.run_configs(cfg) if c["order"] == 3)
    m = ho.run(c, "cpu")
    assert len(m["error"]) == cfg.reps and all(e is not None and e > 0 for e in m["error"])
    assert all(r > 0 for r in m["error_raw"])


def test_table3_is_fixed_over_adaptive():
    rows = [{"function": "branin", "category": "other", "order": 1, "N": 10, "weighting": w,
             "partials": "all", "rep": r, "error": e, "seconds_per_epoch": 0.1}
            for w, e in (("fixed", 4.0), ("adaptive", 2.0)) for r in range(2)]
    t = ho.table3(pd.DataFrame(rows), ["branin"], [10], [0, 1])
    assert t.loc[0, 1] == 2.0
    assert math.isnan(ho.table3(pd.DataFrame(rows[:2]), ["branin"], [10], [0, 1]).loc[0, 1])


def test_useful_order_is_the_lowest_order_near_the_best():
    assert ho._useful_order({0: 1.0, 1: 0.5, 2: 0.5, 3: 0.1, 4: 0.11}) == 3  # a plateau does not stop it
    assert ho._useful_order({0: 1.0, 1: 0.5, 2: 0.45, 3: 0.44}) == 1  # 0.5 <= 0.44 / 0.8
    assert ho._useful_order({0: 1.0, 1: 1.1}) == 0
    assert ho._useful_order({1: 0.5}) is None


def test_last_improving_follows_the_chain_of_20_percent_gains():
    assert ho._last_improving({0: 1.0, 1: 0.5, 2: 0.3, 3: 0.29, 4: 0.1}) == 2  # 0.29 > 0.8 * 0.3
    assert ho._last_improving({0: 1.0, 1: 0.9}) == 0
    assert ho._last_improving({}) is None


def test_claims_from_a_synthetic_summary():
    cfg = ho.HigherOrderConfig.from_profile("book")
    errs = {}
    for f in cfg.functions:
        chain = {"bowl": 3, "plate": 3, "valley": 1, "other": 1, "steep": 0}[functions.get(f).category]
        for k in range(6):
            errs[(f, k)] = 0.5 ** min(k, chain)
    summary = {"mean_error": {f: {str(k): {str(n): errs[(f, k)] * (2 if f == "michalewicz" and k else 1)
                                           for n in cfg.sizes + cfg.category_sizes}
                                  for k in range(6)} for f in cfg.functions},
               "table3": {f: {str(n): {str(k): (1.0 if k == 1 else 5.0) for k in range(1, 6)}
                              for n in cfg.table_sizes} for f in cfg.examples}}
    claims = {c.claim: c.verdict for c in ho._claims(cfg, summary)}
    assert claims["Bowl- and plate-shaped functions improve up to order 3"] == "confirmed"
    assert claims["Valley-shaped and other functions gain nothing beyond order 1"] == "confirmed"
    assert claims["Steep ridges/drops gain little from Sobolev training"] == "confirmed"
    adaptive = next(v for c, v in claims.items() if c.startswith("Adaptive"))
    assert adaptive == "confirmed"
    first = next(v for c, v in claims.items() if c.startswith("Sobolev training beats"))
    assert first == "confirmed"  # michalewicz's Sobolev errors are worse (x2), the others better


def test_log_mean_ci_is_a_geometric_band_that_stays_positive():
    m, lo, hi = ho.log_mean_ci([1e-4, 1e-2, 1.0, None, float("nan")])
    assert m == pytest.approx(1e-2) and 0 < lo < m < hi
    assert lo * hi == pytest.approx(m * m)  # symmetric in log space
    assert all(math.isnan(v) for v in ho.log_mean_ci([None, -1.0]))


def test_claim2_corrected_rule_checks_both_halves():
    good = {0: 1.0, 1: 0.5, 2: 0.25, 3: 0.12, 4: 0.06, 5: 0.055}   # up to 4, then barely
    worse5 = {0: 1.0, 1: 0.5, 2: 0.25, 3: 0.12, 4: 0.06, 5: 1.08}  # order 5 18x worse (issue 19)
    big5 = {0: 1.0, 1: 0.5, 2: 0.25, 3: 0.12, 4: 0.06, 5: 0.01}    # order 5 helps a lot
    stops2 = {0: 1.0, 1: 0.5, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1}      # stops improving at 2
    assert ho.improves_then_barely(good, 4) == (True, True)
    assert ho.improves_then_barely(worse5, 4) == (True, False)
    assert ho.improves_then_barely(big5, 4) == (True, False)
    assert ho.improves_then_barely(stops2, 4) == (False, True)
    assert ho.improves_then_barely({0: 1.0, 4: 0.5}, 4) == (True, None)
    assert ho.claim2_verdict({"sum_squares": good, "matyas": good}) == "confirmed"
    assert ho.claim2_verdict({"sum_squares": worse5, "matyas": worse5}) == "partly confirmed"
    assert ho.claim2_verdict({"sum_squares": good, "matyas": worse5}) == "partly confirmed"
    assert ho.claim2_verdict({"sum_squares": {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0, 4: 5.0, 5: 50.0}}) \
        == "not confirmed"
    assert ho.claim2_verdict({"sum_squares": {0: 1.0, 4: 0.5}}) == "not tested"
    assert ho.claim2_verdict({}) == "not tested"
    # the chapter's current rule (first half only) calls the worse-order-5 case confirmed
    assert ho._useful_order(worse5) == 4
