"""FE-scaling study: configuration, data cache, splits, effort read-off and claims."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from derivlearn import cost, stats
from derivlearn.derivatives import derivative_tensors
from derivlearn.store import cache_dir
from derivlearn.studies import fe_scaling as fs


@pytest.mark.parametrize("override,name", [
    ({"problems": ("beam",)}, "problems"),
    ({"methods": ("svm",)}, "methods"),
    ({"dims": (9,)}, "dims"),
    ({"sizes": (421,)}, "sizes"),
    ({"n_test": 500, "n_val": 100}, "n_test"),
    ({"frame_element_size": 0.0}, "frame_element_size"),
])
def test_bad_config_names_the_parameter(override, name):
    with pytest.raises(ValueError, match=name):
        fs.FEScalingConfig.from_profile("book", **override)


def test_rosenbrock_d1_is_the_line_x2_0_and_higher_d_the_standard_sum():
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)[:, None]
    two = torch.cat([x, torch.zeros_like(x)], dim=1)
    from derivlearn import functions

    ref = functions.get("rosenbrock_nd", dim=2)
    assert torch.allclose(fs.evaluate("rosenbrock", 1, x)[0], ref(two))
    x3 = torch.rand(5, 3, dtype=torch.float64) * 2 - 1
    assert torch.allclose(fs.evaluate("rosenbrock", 3, x3)[0], functions.get("rosenbrock_nd", dim=3)(x3))
    v, g, h = fs.evaluate("rosenbrock", 3, x3)
    ref3 = derivative_tensors(functions.get("rosenbrock_nd", dim=3), x3, 2)
    assert torch.allclose(g, ref3[1]) and torch.allclose(h, ref3[2])


def test_dataset_is_cached_and_keyed_by_its_arguments():
    a = fs.dataset("rosenbrock", 2, 30, 0)
    files = list((cache_dir() / fs.STUDY).glob("*.pt"))
    assert len(files) == 1
    b = fs.dataset("rosenbrock", 2, 30, 0)
    assert torch.equal(a["x"], b["x"]) and len(list((cache_dir() / fs.STUDY).glob("*.pt"))) == 1
    c = fs.dataset("rosenbrock", 2, 30, 1)
    assert not torch.equal(a["x"], c["x"]) and len(list((cache_dir() / fs.STUDY).glob("*.pt"))) == 2
    assert a["x"].shape == (30, 2) and a["hess"].shape == (30, 2, 2)
    assert float(a["x"].min()) >= -1 and float(a["x"].max()) <= 1


def test_split_is_disjoint_and_complete():
    test, val, pool = fs.split(100, 20, 10, 3)
    allidx = torch.cat([test, val, pool])
    assert len(set(allidx.tolist())) == 100 and (len(test), len(val), len(pool)) == (20, 10, 70)


def test_scaling_maps_inputs_to_unit_box_and_keeps_derivatives_consistent():
    data = fs.dataset("rosenbrock", 2, 40, 0)
    bounds = fs.problem_bounds("rosenbrock", 2)
    s, (y, g, h), x = fs.scaled(data, bounds)
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    assert float(y.min()) == pytest.approx(0) and float(y.max()) == pytest.approx(1)
    # dy~/dx~ = c * dy/dx / a: the slope over the unit box times the box width over the y range
    assert torch.allclose(g, data["grad"] * 2 / (data["y"].max() - data["y"].min()))


def _long(rows):
    return pd.DataFrame(rows, columns=["problem", "d", "method", "seed", "N", "effort", "r2", "failed"])


def test_effort_to_target_takes_the_first_size_reaching_it_and_median_over_seeds():
    rows = []
    for seed, curve in enumerate([[0.5, 0.95, 0.999], [0.5, 0.8, 0.995], [0.1, 0.2, 0.3]]):
        for n, r2 in zip([1, 2, 4], curve, strict=True):
            rows.append(["rosenbrock", 3, "nn1", seed, n, cost.effort(n, 3, 1), r2, None])
    eff = fs.effort_to_target(_long(rows), 0.9, interpolate=False)
    row = eff.iloc[0]
    # per seed on the grid: 4, 8, inf -> median 8 (two of three reached)
    assert row["median"] == 8 and row["reached"] == 2 and row["seeds"] == 3
    # interpolated in log N against log(1 - R^2): seed 1 crosses 0.9 between N = 2 (0.8) and 4 (0.995)
    n1 = 2 * 2 ** (math.log(0.2 / 0.1) / math.log(0.2 / 0.005))
    assert fs.effort_to_target(_long(rows), 0.9).iloc[0]["median"] == pytest.approx(2 * n1)
    assert fs.crossing([1, 2, 4], [0.5, 0.95, 0.999], 0.5) == 1.0  # reached at the first size
    assert fs.crossing([1, 2], [0.1, None], 0.5) == math.inf
    eff99 = fs.effort_to_target(_long(rows), 0.998)
    assert math.isnan(eff99.iloc[0]["median"])  # only one of three seeds reaches 0.998


def test_run_records_metrics_per_size_and_effort():
    cfg = fs.FEScalingConfig.from_profile("smoke", problems=("rosenbrock",), dims=(2,),
                                          methods=("gp", "nn1"), checks=())
    configs = fs.run_configs(cfg)
    # the GP and the network of the paper arm, then the network of the no-decay arm
    assert [(c["method"], c.get("arm")) for c in configs] == [("gp", None), ("nn1", None),
                                                              ("nn1", "no_decay")]
    assert configs[0]["seed"] == cfg.base_seed
    assert configs[2]["weight_decay"] == 0.0 and configs[2]["max_epochs"] == cfg.check_epochs
    nn2 = fs.run_configs(fs.FEScalingConfig.from_profile("smoke", methods=("nn2",), checks=()))
    assert all(("engine" in c) == ("arm" in c) for c in nn2)  # the records' engine; the new arm's
    assert {c["engine"] for c in nn2 if "arm" in c} == {"jet2"}
    for c in configs:
        m = fs.run(c, "cpu")
        assert len(m["r2"]) == len(cfg.sizes) and all(r is not None for r in m["r2"])
        order = fs.ORDER[c["method"]]
        assert m["effort"] == [cost.effort(n, 2, order) for n in cfg.sizes]


def test_gp_fits_above_the_observation_cap_are_skipped_with_a_reason():
    cfg = fs.FEScalingConfig.from_profile("smoke", problems=("rosenbrock",), dims=(2,),
                                          methods=("gegp",), gp_max_observations=10)
    m = fs.run(fs.run_configs(cfg)[0], "cpu")
    # sizes (2, 6): 2 x 3 = 6 observations fit, 6 x 3 = 18 are skipped
    assert m["r2"][0] is not None and m["r2"][1] is None
    assert m["failed"][1].startswith("skipped")


def test_gp_sizes_after_convergence_are_skipped_with_a_reason():
    cfg = fs.FEScalingConfig.from_profile("smoke", problems=("rosenbrock",), dims=(1,),
                                          methods=("gegp",), sizes=(3, 5, 8, 12), gp_stop_r2=0.5,
                                          targets=(0.2, 0.4),
                                          gp_iterations=50)
    m = fs.run(fs.run_configs(cfg)[0], "cpu")
    done = [r for r in m["r2"] if r is not None]
    first_skip = len(done)
    assert first_skip >= 2 and min(done[-2:]) >= 0.5 and first_skip < 4
    assert all(f.startswith("skipped: converged") for f in m["failed"][first_skip:])


def test_parallel_workers_generate_a_dataset_once(monkeypatch):
    import threading
    import time

    calls = []
    real = fs._generate

    def slow(*args):
        calls.append(args)
        time.sleep(0.3)
        return real(*args)

    monkeypatch.setattr(fs, "_generate", slow)
    out = []
    threads = [threading.Thread(target=lambda: out.append(fs.dataset("rosenbrock", 2, 20, 5)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(out) == 3
    assert all(torch.equal(o["x"], out[0]["x"]) for o in out)


@pytest.mark.parametrize("override,name", [
    ({"sizes": (5, 3)}, "sizes"),
    ({"sizes": (3, 3)}, "sizes"),
    ({"gp_stop_r2": 0.95}, "gp_stop_r2"),
])
def test_sizes_ascending_and_gp_stop_above_targets(override, name):
    with pytest.raises(ValueError, match=name):
        fs.FEScalingConfig.from_profile("book", **override)


def _summary(cells):
    """effort_to_target from {(problem, method, target, d): effort or None}."""
    out: dict = {}
    for (p, m, t, d), v in cells.items():
        out.setdefault(p, {}).setdefault(m, {}).setdefault(str(t), {})[str(d)] = v
    return {"effort_to_target": out}


def _claim(claims, start):
    return next(c for c in claims if c.claim.startswith(start))


def test_claim_enhanced_beats_plain_counts_only_plain_reaching_as_a_loss():
    cfg = fs.FEScalingConfig.from_profile("book", problems=("rosenbrock",), dims=(4, 8),
                                          methods=("gp", "gegp"))
    base = {("rosenbrock", "gp", 0.99, 4): 100.0, ("rosenbrock", "gegp", 0.99, 4): 40.0}
    won = fs._claims(cfg, _summary({**base, ("rosenbrock", "gegp", 0.99, 8): 90.0}))
    assert _claim(won, "GE-GPR beats").verdict == "confirmed"  # d=8: only GE-GPR reaches it
    lost = fs._claims(cfg, _summary({**base, ("rosenbrock", "gp", 0.99, 8): 300.0}))
    assert _claim(lost, "GE-GPR beats").verdict == "partly confirmed"  # d=8: only GPR reaches it
    none = fs._claims(cfg, _summary({}))
    assert _claim(none, "GE-GPR beats").verdict == "not tested"


def test_claim_theory_follow_uses_the_factor_band():
    cfg = fs.FEScalingConfig.from_profile("book", problems=("rosenbrock",), dims=(3, 7),
                                          methods=("gp", "gegp"))
    exact = {("rosenbrock", "gp", 0.99, d): 100.0 for d in (3, 7)}
    exact.update({("rosenbrock", "gegp", 0.99, d): 100.0 * 2 / (d + 1) for d in (3, 7)})
    assert _claim(fs._claims(cfg, _summary(exact)), "GE-GPR follows").verdict == "confirmed"
    flat = dict(exact)
    flat[("rosenbrock", "gegp", 0.99, 7)] = 100.0  # ratio 1 where theory says 0.25
    assert _claim(fs._claims(cfg, _summary(flat)), "GE-GPR follows").verdict == "partly confirmed"


def test_claim_hessian_nn_needs_high_wins_no_low_wins_and_never_beats_first_order():
    cfg = fs.FEScalingConfig.from_profile("book", problems=("rosenbrock",), dims=(2, 6),
                                          methods=("nn0", "nn1", "nn2"))
    paper_like = {("rosenbrock", "nn0", 0.9, 2): 10.0, ("rosenbrock", "nn2", 0.9, 2): 20.0,
                  ("rosenbrock", "nn1", 0.9, 2): 5.0, ("rosenbrock", "nn1", 0.99, 6): 50.0,
                  ("rosenbrock", "nn2", 0.99, 6): 80.0}  # nn0 never reaches 0.99 at d=6: a win
    assert _claim(fs._claims(cfg, _summary(paper_like)), "Hessian NN").verdict == "confirmed"
    beats_first = dict(paper_like)
    beats_first[("rosenbrock", "nn2", 0.99, 6)] = 40.0
    assert _claim(fs._claims(cfg, _summary(beats_first)), "Hessian NN").verdict == "partly confirmed"
    low_win = dict(paper_like)
    low_win[("rosenbrock", "nn2", 0.9, 2)] = 5.0
    assert _claim(fs._claims(cfg, _summary(low_win)), "Hessian NN").verdict != "confirmed"


def test_long_frame_carries_converged_gp_scores_and_marks_failed_runs():
    df = pd.DataFrame([
        {"status": "ok", "problem": "rosenbrock", "d": 2, "method": "gegp", "seed": 0,
         "sizes": [1, 2, 3, 5], "r2": [0.5, 0.99995, 0.99996, None],
         "failed": [None, None, None, "skipped: converged (test R^2 >= 0.9999 at two smaller sizes)"]},
        {"status": "failed", "problem": "rosenbrock", "d": 2, "method": "gp", "seed": 0,
         "sizes": [1, 2, 3, 5], "r2": float("nan"), "failed": float("nan"), "reason": "boom"},
    ])
    long = fs.long_frame(df)
    ge = long[long.method == "gegp"]
    assert list(ge["r2"]) == [0.5, 0.99995, 0.99996, 0.99996]
    gp = long[long.method == "gp"]
    assert gp["r2"].isna().all() and all("boom" in f for f in gp["failed"])
    assert list(gp["effort"]) == [1, 2, 3, 5] and list(ge["effort"]) == [2, 4, 6, 10]


def test_budget_sums_run_time_and_counts_late_best_epochs():
    df = pd.DataFrame([
        {"status": "ok", "problem": "frame", "method": "nn1", "seconds": 3600.0,
         "stop_reason": ["target", "patience", "max_epochs"], "best_epoch": [100, 7000, 3000]},
        {"status": "ok", "problem": "frame", "method": "gp", "seconds": 1800.0,
         "stop_reason": None, "best_epoch": None},
        {"status": "failed", "problem": "rosenbrock", "method": "nn0", "seconds": 99.0,
         "stop_reason": None, "best_epoch": None},
    ])
    b = fs.budget(df, late_epoch=5000)
    assert b["hours"] == {"frame": {"nn1": 1.0, "gp": 0.5}} and b["total_hours"] == 1.5
    assert (b["nn_members"], b["nn_not_at_target"], b["late_best_fraction"]) == (3, 2, 0.5)
    assert b["capped_fraction"] == 0.5  # of the two members off target, one hit the epoch cap


def test_summary_counts_only_real_fit_failures_not_missing_or_skipped_reasons():
    # Records of several methods in one frame: pandas turns the NN records' None reasons into
    # NaN, which once counted as 5720 "failed fits" in the book summary.
    cfg = fs.FEScalingConfig.from_profile("smoke")
    base = {"status": "ok", "problem": "rosenbrock", "d": 2, "seed": 0, "sizes": [1, 2, 3],
            "r2": [0.1, 0.2, None], "seconds": 1.0, "stop_reason": None, "best_epoch": None}
    df = pd.DataFrame([
        {**base, "method": "nn0", "failed": [None, None, None]},
        {**base, "method": "gp", "failed": [None, "skipped: converged (...)", "Cholesky failed"]},
        {**base, "method": "gegp", "failed": [float("nan")] * 3},
        {**base, "method": "nn1", "status": "failed", "reason": "NaN loss", "r2": float("nan"),
         "failed": float("nan")},
    ])
    summary, _ = fs.summarize(cfg, df)
    assert (summary["failed_runs"], summary["failed_fits"], summary["skipped_fits"]) == (1, 1, 1)


def test_checks_rerun_value_and_first_order_nets_with_one_setting_changed():
    cfg = fs.FEScalingConfig.from_profile("smoke", seeds=4, dims=(1, 2, 4))
    assert cfg.checks == tuple(fs.CHECKS)
    configs = fs.run_configs(cfg)
    cells = {(p, 4, m, s) for p in fs.PROBLEMS for m in ("nn0", "nn1") for s in range(3)}
    # d = 4 (the first "higher d"), NN and Sobolev-1 NN, both problems, the first three seeds
    for kind, key, value in (("budget_check", "max_epochs", 60), ("wd_check", "weight_decay", 0.0)):
        chk = [c for c in configs if c.get("kind") == kind]
        assert {(c["problem"], c["d"], c["method"], c["seed"]) for c in chk} == cells
        assert all(c[key] == value for c in chk)
    no_check = fs.FEScalingConfig.from_profile("smoke", seeds=4, dims=(1, 2, 4), checks=())
    assert [c for c in configs if "kind" not in c] == fs.run_configs(no_check)  # sweep keys unchanged
    with pytest.raises(ValueError, match="check_epochs"):
        fs.FEScalingConfig.from_profile("smoke", check_epochs=30)  # not above max_epochs = 30
    with pytest.raises(ValueError, match="checks"):
        fs.FEScalingConfig.from_profile("smoke", checks=("lr",))


def test_check_table_compares_effort_on_the_same_seeds():
    def rec(seed, r2, cap, kind=None, wd=1e-3):
        out = {"status": "ok", "problem": "rosenbrock", "d": 4, "method": "nn0", "seed": seed,
               "sizes": [10, 100], "r2": r2, "failed": [None, None], "max_epochs": cap,
               "weight_decay": wd}
        return out | ({"kind": kind} if kind else {})
    df_all = pd.DataFrame([
        rec(0, [0.5, 0.8], 100), rec(1, [0.5, 0.95], 100), rec(2, [0.5, 0.8], 100),
        rec(3, [0.99, 0.99], 100),                      # a seed without a check run: left out
        rec(0, [0.95, 0.99], 500, "budget_check"), rec(1, [0.5, 0.95], 500, "budget_check"),
        rec(2, [0.5, 0.8], 500, "budget_check"), rec(0, [0.5, 0.6], 100, "wd_check", 0.0)])
    df, check = fs.split_check(df_all)
    assert len(df) == 4 and len(check) == 4
    tab = fs.check_table(df, check, (0.9,)).set_index("check")
    ep = tab.loc["epochs"]
    assert (ep.setting, ep.sweep_value, ep.check_value, ep.seeds) == ("max_epochs", 100, 500, 3)
    assert (ep.reached, ep.reached_check) == (1, 2)
    assert math.isnan(ep.effort)                     # one of three seeds: no median
    assert 10 < ep.effort_check < 100                # seeds 0 and 1 reach it, 0 at N < 100
    assert (ep.best_r2, ep.best_r2_check) == (0.8, 0.95)
    wd = tab.loc["weight_decay"]                     # compared with seed 0 only
    assert (wd.sweep_value, wd.check_value, wd.seeds) == (1e-3, 0.0, 1)
    assert (wd.best_r2, wd.best_r2_check) == (0.8, 0.6)


def test_point_claims_read_for_people_and_name_their_rule():
    cfg = fs.FEScalingConfig.from_profile("book", problems=("frame",), dims=(4, 5, 6, 8),
                                          methods=("nn0", "nn1"), targets=(0.9,))
    summary = _summary({("frame", "nn1", 0.9, d): 5.0 for d in (4, 5, 6)})  # only NN1 reaches it
    claims = fs._claims(cfg, summary)
    beats = _claim(claims, "Sobolev NN (order 1) beats")
    assert beats.verdict == "confirmed"
    assert beats.ours == "wins at d = 4–6; neither reaches it at d = 8 (R² ≥ 0.9)"
    follow = _claim(claims, "Sobolev NN (order 1) follows")
    assert "only the Sobolev NN reaches R² ≥ 0.9 at d = 4–6" in follow.ours and follow.verdict == "not tested"
    for c in claims:  # no Python reprs in reader-facing text, and every row names its rule
        assert not any(x in c.ours for x in ("[", "]", "True", "False", "None", "'")), c.ours
        assert c.deviation.startswith("Point rule")


def test_fmt_dims_and_pairs():
    assert fs.fmt_dims([]) == "none" and fs.fmt_dims([4]) == "4"
    assert fs.fmt_dims([8, 4, 5, 6]) == "4–6, 8" and fs.fmt_dims([1, 2, 5]) == "1, 2, 5"
    assert fs.fmt_pairs([(0.99, 5), (0.9, 4), (0.99, 4)]) == "R² ≥ 0.9 at d = 4; R² ≥ 0.99 at d = 4, 5"
    assert fs.fmt_pairs([]) == "none"


def test_arms_start_with_the_paper_arm_and_split_apart():
    with pytest.raises(ValueError, match="'arms'"):
        fs.FEScalingConfig.from_profile("smoke", arms=("no_decay",))
    import pandas as pd

    df = pd.DataFrame({"method": ["nn0", "nn0", "nn0"], "arm": [None, "no_decay", None],
                       "kind": [None, None, "wd_check"]})
    assert fs.split_check(df)[0].index.tolist() == [0]
    assert fs.arm_frame(df, "no_decay").index.tolist() == [1]
    assert fs.arm_frame(df, "paper").index.tolist() == [0]


def test_sensitivity_checks_of_the_book_profile():
    cfg = fs.FEScalingConfig.from_profile("book")
    configs = fs.run_configs(cfg)
    by_kind = {}
    for c in configs:
        by_kind.setdefault(c.get("kind"), []).append(c)
    for kind in ("budget_check", "wd_check", "val_check"):
        assert {c["d"] for c in by_kind[kind]} == {4, 6}
        assert {c["method"] for c in by_kind[kind]} == {"nn0", "nn1"}
        assert "arm" not in by_kind[kind][0]
    order = by_kind["order_check"]
    assert {c["problem"] for c in order} == {"frame"} and {c["d"] for c in order} == {2, 4, 6}
    assert all(c["activation_order"] == "loads_first" for c in order)
    assert all(c.get("arm") == "no_decay" and c["weight_decay"] == 0.0
               for c in order if c["method"].startswith("nn"))
    assert {c["method"] for c in order} == {"gp", "gegp", "nn0", "nn1"}
    # the existing d = 4 checks keep their configs (and so their records)
    assert {"kind": "wd_check"}.items() <= by_kind["wd_check"][0].items()


def test_loads_first_activates_the_loads_and_matches_the_table_order():
    assert fs.active_parameters(2, "loads_first") == [6, 7]
    assert fs.active_parameters(4, "loads_first") == [6, 7, 0, 1]
    assert fs.active_parameters(3) == [0, 1, 2]
    with pytest.raises(ValueError, match="'activation_order'"):
        fs.active_parameters(2, "random")
    b = fs.problem_bounds("frame", 8, "loads_first")
    x = b[:, 0] + 0.37 * (b[:, 1] - b[:, 0])
    v1, g1, h1 = fs.evaluate("frame", 8, x[None], 1.0, "loads_first")
    perm = fs.active_parameters(8, "loads_first")
    x_table = torch.empty(8, dtype=torch.float64)
    x_table[perm] = x
    v0, g0, h0 = fs.evaluate("frame", 8, x_table[None], 1.0)
    assert torch.allclose(v1, v0, rtol=1e-12)
    assert torch.allclose(g1[0], g0[0][perm], rtol=1e-10)
    assert torch.allclose(h1[0], h0[0][perm][:, perm], rtol=1e-10)


def test_a_validation_set_per_seed_keeps_the_training_subsets():
    test, val, pool = fs.split(600, 120, 60, 0)
    order = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(3))]
    v3 = fs.seed_validation(val, order, 300, 3)
    assert len(v3) == 60 and len(set(v3.tolist())) == 60
    assert not set(v3.tolist()) & set(order[:300].tolist()) and not set(v3.tolist()) & set(test.tolist())
    assert not torch.equal(v3, fs.seed_validation(val, order, 300, 4))
    assert torch.equal(v3, fs.seed_validation(val, order, 300, 3))


def test_bootstrap_ratios_and_the_band_count():
    rows = []
    for seed in range(5):  # nn1 reaches R^2 0.9 at N = 10 on every seed, nn0 at N = 40 (seed 4: never)
        for method, n_hit in (("nn0", 40 if seed < 4 else None), ("nn1", 10)):
            for n in (10, 20, 40):
                rows.append({"problem": "frame", "d": 3, "method": method, "seed": seed, "N": n,
                             "r2": 0.95 if n_hit and n >= n_hit else 0.5})
    long = pd.DataFrame(rows)
    tab, rep = fs.bootstrap_ratios(long, [0.9], [("nn1", "nn0")], reps=500, seed=0)
    assert len(tab) == 1 and rep.shape == (500, 1)
    row = tab.iloc[0]
    med = fs.effort_to_target(long, 0.9).set_index("method")["median"]  # seed 4 of nn0: never
    assert med["nn1"] == 10 * cost.cost(3, 1)  # reached at the first size: no interpolation
    assert row.ratio == pytest.approx(med["nn1"] / med["nn0"]) and row.theory == pytest.approx(0.5)
    assert row.lo <= row.ratio <= row.hi and row.n_seeds == 5
    band = fs.band_count(tab, rep)
    assert band["within"] == 1 and band["of"] == 1 and 0 <= band["lo"] <= band["hi"] <= 1


def test_paired_ratio_agrees_with_the_table_and_pairs_the_seeds():
    rows = [{"problem": "frame", "d": 3, "method": m, "seed": s, "N": n,
             "r2": 0.95 if n >= (10 if m == "nn1" else 20 + 20 * (s % 2)) else 0.5}
            for s in range(6) for m in ("nn0", "nn1") for n in (10, 20, 40)]
    long = pd.DataFrame(rows)
    tab, _ = fs.bootstrap_ratios(long, [0.9], [("nn1", "nn0")], reps=300, seed=3)
    per = fs.seed_efforts(long, 0.9)
    # one cell, method nn1 "against" nn0 relabelled as another arm: the table's row again
    other = per[per.method == "nn0"].assign(method="nn1")
    point, lo, hi = fs.paired_ratio(per, other, ("frame", 3, "nn1"), reps=300, seed=3)
    row = tab.iloc[0]
    assert (point, lo, hi) == pytest.approx((row.ratio, row.lo, row.hi))
    # only the seeds both arms ran count: dropping seeds from one arm changes the pairing
    p5, _, _ = fs.paired_ratio(per, other[other.seed != 1], ("frame", 3, "nn1"), reps=300, seed=3)
    keep = per.seed != 1
    ea = per[keep & (per.method == "nn1")]["effort"].to_numpy(float)
    eb = per[keep & (per.method == "nn0")]["effort"].to_numpy(float)  # seeds 0, 2, 3, 4, 5
    assert p5 == pytest.approx(stats.upper_quantile(ea, 0.5) / stats.upper_quantile(eb, 0.5))
    assert p5 != pytest.approx(point)
    assert all(math.isnan(v) for v in fs.paired_ratio(per, other, ("frame", 9, "nn1")))


def test_interval_outcomes():
    assert fs.interval_outcome(0.0, 0.0) == "win"  # only the derivative model reaches the target
    assert fs.interval_outcome(0.3, 0.9) == "win"
    assert fs.interval_outcome(0.3, 1.2) == "tie"
    assert fs.interval_outcome(1.1, math.inf) == "loss"
    assert fs.interval_outcome(math.nan, math.nan) is None


def test_arm_claims_grade_each_arm_with_intervals():
    cfg = fs.FEScalingConfig.from_profile("smoke", dims=(1, 2, 4, 5))
    rows = []
    for problem in ("frame", "rosenbrock"):
        for d in (1, 2, 4, 5):
            for seed in range(5):
                for method, score in (("nn0", 0.5), ("nn1", 0.999), ("nn2", 0.999)):
                    for n in (10, 20):
                        rows.append({"problem": problem, "d": d, "method": method, "seed": seed,
                                     "N": n, "r2": score})
    claims = fs.arm_claims(cfg, pd.DataFrame(rows), "no_decay", reps=200)
    by = {c.claim: c for c in claims}
    follows = by["Sobolev NN (order 1) follows 2/(d+1) on the frame (no-decay arm)"]
    assert follows.verdict == "not tested" and "more that only the Sobolev NN reaches" in follows.ours
    beats = [c for c in claims if c.claim.startswith("Sobolev NN (order 1) beats")]
    assert len(beats) == 2 and all(c.verdict == "confirmed" for c in beats)
    assert all(c.ours == "wins at d = 4, 5 (R² ≥ 0.99); only the Sobolev NN reaches it at d = 4, 5"
               and c.deviation == fs.RULE_BEATS for c in beats)
    hess = [c for c in claims if c.claim.startswith("Hessian NN")]
    # NN2 also beats NN at the low target at d < 4 (the value NN never reaches it): partly
    assert len(hess) == 2 and all(c.verdict == "partly confirmed" for c in hess)
    read = fs.arm_readings(cfg, pd.DataFrame(rows), "no_decay", reps=200)
    assert read["beats"]["frame"]["outcomes"] == {4: "win", 5: "win"}
    assert read["hessian"]["rosenbrock"]["low_wins"] == [1, 2]


def test_resamples_where_neither_network_reaches_the_target_count_against_a_win_and_a_loss():
    rep = np.array([0.5] * 90 + [np.nan] * 10)
    assert fs.interval_outcome(*stats.interval(rep)) == "win"      # the first reading skipped them
    lo, hi = fs.ratio_interval(rep)
    assert (lo, hi) == (0.0, math.inf) and fs.interval_outcome(lo, hi) == "tie"
    assert fs.interval_outcome(*fs.ratio_interval(np.array([0.5] * 99 + [np.nan]))) == "win"
    assert fs.interval_outcome(*fs.ratio_interval(np.array([2.0] * 90 + [np.nan] * 10))) == "tie"
    assert all(math.isnan(x) for x in fs.ratio_interval(np.array([np.nan] * 5)))
    # a point ratio that is undefined (neither median reaches it) has no interval: no outcome
    rows = [{"problem": "frame", "d": 4, "method": m, "seed": s, "N": n,
             "r2": 0.95 if (m == "nn1" and s < 2 and n == 40) else 0.5}
            for s in range(5) for m in ("nn0", "nn1") for n in (10, 40)]
    tab, _ = fs.bootstrap_ratios(pd.DataFrame(rows), [0.9], [("nn1", "nn0")], reps=200)
    row = tab.iloc[0]
    assert math.isnan(row.ratio) and math.isnan(row.lo) and math.isnan(row.hi)
    assert fs.interval_outcome(row.lo, row.hi) is None


def test_the_theory_band_and_the_hessian_parts_decide_with_the_interval():
    cfg = fs.FEScalingConfig.from_profile("smoke", dims=(1, 2, 4, 5))

    def frame(scores):
        return pd.DataFrame([{"problem": p, "d": d, "method": m, "seed": s, "N": n, "r2": scores[m]}
                             for p in ("frame", "rosenbrock") for d in (1, 2, 4, 5) for s in range(5)
                             for m in scores for n in (10, 20)])

    # NN2 wins over NN at d >= 4 (a) and never over NN1 (c), but also at d < 4 (b fails): partly
    read = fs.arm_readings(cfg, frame({"nn0": 0.5, "nn1": 0.999, "nn2": 0.999}), "no_decay", reps=200)
    h = read["hessian"]["frame"]
    assert h["high_wins"] == [4, 5] and h["low_wins"] and not h["beats_first_order"]
    assert h["verdict"] == h["point_verdict"] == "partly confirmed"
    f = read["follow"]
    assert f["verdict"] == fs._verdict(f["of"] > 0, f["lo"] == f["of"], partly=f["hi"] > 0)
    # a Hessian NN that never wins at d >= 4 is not confirmed, even though it never beats NN1
    # (the first rule called that partly)
    h = fs.arm_readings(cfg, frame({"nn0": 0.5, "nn1": 0.999, "nn2": 0.5}), "no_decay",
                        reps=200)["hessian"]["frame"]
    assert not h["high_wins"] and not h["beats_first_order"]
    assert h["verdict"] == "not confirmed" and h["point_verdict"] == "partly confirmed"
    claims = fs.arm_claims(cfg, frame({"nn0": 0.5, "nn1": 0.999, "nn2": 0.5}), "no_decay", reps=200)
    c = next(c for c in claims if c.claim.startswith("Hessian NN") and "(frame" in c.claim)
    assert c.ours.endswith(fs.FIRST_READING + "partly confirmed")


def test_cap_table_counts_members_stopped_by_the_epoch_cap_per_arm_and_the_budget_gives_cpu_time():
    df = pd.DataFrame([
        {"status": "ok", "problem": "frame", "d": 4, "method": "nn0", "arm": None, "kind": None,
         "max_epochs": 20000, "stop_reason": ["max_epochs", "target", "patience"], "best_epoch": [1, 2, 3],
         "seconds": 3600.0, "wall_time_s": 3700.0, "cpu_time_s": 1800.0},
        {"status": "ok", "problem": "frame", "d": 4, "method": "nn0", "arm": "no_decay", "kind": None,
         "max_epochs": 100000, "stop_reason": ["target", "target"], "best_epoch": [1, 2],
         "seconds": 3600.0, "wall_time_s": 3600.0, "cpu_time_s": None},
        {"status": "ok", "problem": "frame", "d": 4, "method": "nn0", "arm": None, "kind": "budget_check",
         "max_epochs": 100000, "stop_reason": ["max_epochs"], "best_epoch": [1],
         "seconds": 60.0, "wall_time_s": 60.0, "cpu_time_s": 60.0},
        {"status": "ok", "problem": "frame", "d": 4, "method": "gp", "arm": None, "kind": None,
         "max_epochs": None, "stop_reason": None, "best_epoch": None,
         "seconds": 60.0, "wall_time_s": 60.0, "cpu_time_s": None}])
    t = fs.cap_table(df)
    assert t[["arm", "cap", "members", "capped"]].values.tolist() == [["no_decay", 100000, 2, 0],
                                                                        ["paper", 20000, 3, 1]]
    b = fs.budget(df[df["method"] != "gp"].iloc[:2])
    assert b["cpu_runs"] == 1 and b["cpu_hours"] == pytest.approx(0.5)
    assert b["wall_hours_of_cpu_runs"] == pytest.approx(3700 / 3600)
    assert b["gpu_runs"] == 0 and b["gpu_wall_hours"] == 0.0
    on_gpu = df[df["method"] != "gp"].iloc[:2].assign(ran_on=["gpu", "cpu"])
    b = fs.budget(on_gpu)  # the GPU run's host CPU time is not CPU-hours
    assert b["cpu_runs"] == 0 and b["cpu_hours"] == 0.0 and b["total_hours"] == pytest.approx(2.0)
    assert b["gpu_runs"] == 1 and b["gpu_wall_hours"] == pytest.approx(3700 / 3600)
