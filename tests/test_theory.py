"""The polynomial experiment of the theory chapter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivlearn.studies import theory


def test_multi_indices_count_unique_partials():
    for d in range(1, 5):
        for k in range(5):
            idx = theory.multi_indices(d, k)
            assert len(idx) == math.comb(d + k, k) == len({tuple(r) for r in idx})


def test_hermite_rows_are_derivatives_float64_central_differences():
    rng = np.random.default_rng(0)
    d, p = 3, 4
    exps = theory.multi_indices(d, p)
    derivs = theory.multi_indices(d, 2)
    x = rng.uniform(-1, 1, size=(1, d))
    rows = theory.hermite_rows(x, exps, derivs)  # (m, n)
    value = lambda z: theory.hermite_rows(z[None], exps, derivs[:1])[0]  # noqa: E731
    h = 1e-5
    for j, beta in enumerate(derivs):
        if beta.sum() == 1:
            e = beta.astype(float) * h
            fd = (value(x[0] + e) - value(x[0] - e)) / (2 * h)
            np.testing.assert_allclose(rows[j], fd, rtol=1e-7, atol=1e-8)
        elif beta.sum() == 2:
            a, b = np.flatnonzero(beta) if (beta == 1).sum() == 2 else (np.argmax(beta),) * 2
            ea, eb = np.eye(d)[a] * h, np.eye(d)[b] * h
            fd = (value(x[0] + ea + eb) - value(x[0] + ea - eb) - value(x[0] - ea + eb)
                  + value(x[0] - ea - eb)) / (4 * h * h)
            np.testing.assert_allclose(rows[j], fd, rtol=1e-5, atol=1e-5)


def test_alexander_hirschowitz_cases():
    ah = theory.alexander_hirschowitz_exception
    assert ah(2, 2, 2) and ah(5, 2, 4) and ah(2, 4, 5) and ah(4, 3, 7)
    assert not ah(1, 2, 2) and not ah(2, 3, 4) and not ah(3, 3, 5) and not ah(2, 4, 6)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("p", [2, 3, 4])
def test_gradient_data_rank_matches_alexander_hirschowitz(d, p):
    m = theory.polynomial_recovery({"d": d, "degree": p, "order": 1, "seed": 1})
    expected_deficit = theory.alexander_hirschowitz_exception(d, p, m["n_theory"])
    assert (m["rank_deficit_at_theory"] > 0) == expected_deficit
    assert m["coef_rel_error"] < 1e-9


def test_values_only_need_exactly_n_samples_and_orders_above_degree_are_wasted():
    m0 = theory.polynomial_recovery({"d": 3, "degree": 3, "order": 0, "seed": 0})
    assert m0["n_min"] == m0["n_coef"] == 20
    m = theory.polynomial_recovery({"d": 1, "degree": 2, "order": 4, "seed": 0})
    assert m["info_eff_per_sample"] == 3 and m["n_min"] == 1


def test_summary_and_claims():
    import pandas as pd

    cfg = theory.TheoryConfig.from_profile("smoke")
    rows = [dict(c, status="ok", **theory.polynomial_recovery(c)) for c in theory.run_configs(cfg)]
    summary, claims = theory.summarize(cfg, pd.DataFrame(rows))
    assert summary["identity_R1_eq_R2_eq_2_over_d_plus_1"]["holds"] is True
    assert claims[0].verdict == "confirmed"
    # (d=2, p=2, r=1) is an Alexander-Hirschowitz exception, so the premise is only partly true
    assert claims[3].verdict == "partly confirmed"
    assert summary["R"]["1"]["8"] == pytest.approx(2 / 9)
    assert summary["polynomial_recovery"]["gradient_deficits_match_alexander_hirschowitz"]


def test_config_needs_the_value_baseline_and_bounded_partials():
    with pytest.raises(ValueError, match="'orders'"):
        theory.TheoryConfig.from_profile("smoke", orders=[1, 2])
    with pytest.raises(ValueError, match="'dims' and 'orders'"):
        theory.TheoryConfig.from_profile("smoke", dims=[12], degrees=[2], orders=[0, 6])


def test_multi_indices_are_fast_in_high_dimension():
    import time

    t0 = time.perf_counter()
    idx = theory.multi_indices(12, 6)
    assert len(idx) == math.comb(18, 6) and time.perf_counter() - t0 < 5


def test_summary_survives_failed_runs():
    import pandas as pd

    cfg = theory.TheoryConfig.from_profile("smoke")
    rows = [dict(c, status="ok", **theory.polynomial_recovery(c)) for c in theory.run_configs(cfg)]
    for r in rows:
        if r["order"] == 0 and r["d"] == 2:
            r["status"] = "failed"  # the baseline of d = 2 is missing
    summary, claims = theory.summarize(cfg, pd.DataFrame(rows))
    assert summary["polynomial_recovery"]["failed"] == 2
    failed_all = pd.DataFrame([dict(c, status="failed") for c in theory.run_configs(cfg)])
    summary, claims = theory.summarize(cfg, failed_all)
    assert summary["polynomial_recovery"]["fraction_n_min_equals_theory"] is None
