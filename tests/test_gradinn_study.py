"""GradINN study (derivlearn.studies.gradinn): run plan, units, data, one run, claims."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from derivlearn import problems
from derivlearn.models.baselines import pinn_residual_loss
from derivlearn.studies import gradinn as gi

DT = torch.float64


def test_run_plan_has_each_cell_once_and_pinn_only_where_an_equation_is_known():
    cfg = gi.GradINNConfig.from_profile("book")
    every = [c for c in gi.run_configs(cfg) if c.get("protocol") == gi.PROTOCOL]
    # the budget check: the Friedman claim's cell again, for GradINN and the NN, at budget_epochs
    check = [c for c in every if c.get("check")]
    assert {(c["problem"], c["method"], c["n_train"], c["epochs"], c["check"]) for c in check} == {
        ("friedman1", m, gi.PAPER_FRIEDMAN["n"], cfg.budget_epochs, "budget") for m in ("gradinn", "nn")}
    assert cfg.budget_epochs == 20_000 and len(check) == 2 and check[0].get("variant") in (None, "finetuned")
    configs = [c for c in every if not c.get("check")]
    cells = [(c["problem"], c["method"], c["n_train"], c["noise"], c.get("variant"), c.get("prior"))
             for c in configs]
    assert len(cells) == len(set(cells))
    assert {c[0] for c in cells if c[1] == "pinn"} == set(gi.PINN_PROBLEMS)
    assert {c[0] for c in cells} == set(gi.PROBLEMS) >= {"friedman1", "friedman1_5d"}
    assert all(c[4] is None and c[5] is None for c in cells if c[1] != "gradinn")
    # both readings of F at every size with their matched prior; all priors in the ablation
    for v in gi.VARIANTS:
        lv = {c[5] for c in cells if c[0] == "lotka_volterra" and c[4] == v and c[2] != cfg.ablation_size}
        assert lv == {gi.matched_prior("lotka_volterra", v)} != {"smooth"}
        assert {c[2] for c in cells if c[4] == v and c[0] == "stokes"} == set(cfg.sizes)
        abl = {c[5] for c in cells if c[4] == v and c[2] == cfg.ablation_size and c[0] == "burgers"}
        assert abl == set(gi.PRIORS[v])
    osc = next(c for c in configs if c.get("prior") == "oscillatory")
    assert osc["prior_options"] == {"sigma": gi.OSCILLATORY_SIGMA}
    noisy = {(c[0], c[3]) for c in cells if c[2] == cfg.noise_size}
    assert {s for _, s in noisy} == {0.0, *cfg.noises}
    assert {c[1] for c in cells if c[3] > 0} == set(gi.NOISE_METHODS)
    # the same protocol for every method: one grid of one length, the same budget for networks
    assert {len(next(iter(c["grid"].values()))) for c in configs} == {5}
    assert all(list(c["grid"]) == [gi.HYPERPARAMETER[c["method"]]] for c in configs)
    assert {(c["epochs"], c["eval_every"], c["lr"]) for c in configs if c["method"] != "gp"} == {
        (cfg.epochs, cfg.eval_every, cfg.lr)}
    assert {c["val_fraction"] for c in configs} == {0.2}
    # the runs the claims rest on come first, so that a sweep cut short still has them
    tiers = [gi._tier(c) for c in configs]
    assert tiers == sorted(tiers) and configs[0]["method"] == "gradinn" and configs[1]["method"] == "nn"


def test_the_first_protocol_keeps_its_committed_records():
    """The book plan holds the committed records of the first protocol under their keys, at
    result version 1, and the validation protocol's runs are versioned apart."""
    from pathlib import Path

    from derivlearn.store import ResultStore, config_key

    cfg = gi.GradINNConfig.from_profile("book")
    committed = ResultStore(Path(__file__).resolve().parents[1] / "results", "gradinn").records()
    first = {r["key"] for r in committed if "protocol" not in r["config"]}
    assert len(first) == 164
    planned = {config_key(c, cfg.version_of(c)) for c in gi.run_configs(cfg)}
    assert first <= planned
    assert {config_key(c, cfg.version_of(c)) for c in gi.first_configs()} == first
    assert {cfg.version_of(c) for c in gi.first_configs()} == {cfg.RESULT_VERSION}
    new = next(c for c in gi.run_configs(cfg) if c.get("protocol"))
    assert cfg.version_of(new) == cfg.PROTOCOL_VERSION
    assert "first" not in gi.GradINNConfig.PROFILE_TABLE["smoke"]["experiments"]


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="problems"):
        gi.GradINNConfig.from_profile("smoke", problems=("nope",))
    with pytest.raises(ValueError, match="methods"):
        gi.GradINNConfig.from_profile("smoke", methods=("gradinn",))
    with pytest.raises(ValueError, match="noises"):
        gi.GradINNConfig.from_profile("smoke", noises=(1.5,))
    with pytest.raises(ValueError, match="variants"):
        gi.GradINNConfig.from_profile("smoke", variants=("wiggly",))
    with pytest.raises(ValueError, match="same number of trials"):
        gi.GradINNConfig.from_profile("smoke", lams=(0.1, 1.0, 10.0))
    with pytest.raises(ValueError, match="lams"):
        gi.GradINNConfig.from_profile("smoke", lams=(0.0, 1.0))  # lambda = 0 is the standard NN
    with pytest.raises(ValueError, match="sizes"):
        gi.GradINNConfig.from_profile("smoke", sizes=(3, 20))


def test_units_round_trip_and_transform_gradients_by_the_chain_rule():
    p = problems.get("stokes")
    x = p.sample(16, torch.Generator().manual_seed(0))
    u = gi.Units(p.domain[:, 0], p.domain[:, 1], 0.3, 2.0)
    torch.testing.assert_close(u.x_back(u.x(x)), x)
    xs = u.x(x)
    assert xs.min() >= -1 and xs.max() <= 1
    g = p.gradient(x)
    torch.testing.assert_close(u.grad_back(u.grad(g)), g)
    # d ys / d xs of ys = y(x(xs)) scaled: chain rule by autograd equals Units.grad
    xs_ = xs.clone().requires_grad_(True)
    torch.testing.assert_close(_stokes_psi(x), p.value(x))
    ys = u.y(_stokes_psi(u.x_back(xs_)))
    (gs,) = torch.autograd.grad(ys.sum(), xs_)
    torch.testing.assert_close(gs, u.grad(g))


def _stokes_psi(x: torch.Tensor) -> torch.Tensor:
    """The Stokes stream function in torch operations (a = U = 1), for autograd."""
    r = x.pow(2).sum(dim=1).sqrt()
    return 0.5 * x[:, 1] ** 2 * (1 - 1.5 / r + 0.5 / r ** 3)


def test_physical_residual_vanishes_for_the_exact_burgers_solution_in_training_units():
    from derivlearn.models.baselines import burgers_residual

    p = problems.get("burgers")
    units = gi.Units(p.domain[:, 0], p.domain[:, 1], 0.1, 0.7)

    def exact_scaled(xs: torch.Tensor) -> torch.Tensor:  # u = x / (1 + t) solves Burgers for every nu
        x = units.x_back(xs)
        return units.y(x[:, 0] / (1 + x[:, 1]))

    xs = torch.rand(32, 2, generator=torch.Generator().manual_seed(1), dtype=DT) * 2 - 1
    r = gi.physical_residual(burgers_residual(0.05), units)
    assert pinn_residual_loss(exact_scaled, r, xs).item() < 1e-26
    assert pinn_residual_loss(lambda z: z[:, 0] ** 2, r, xs).item() > 1e-3


def test_training_sets_are_nested_noisy_and_reproducible():
    x1, y1, _, sd = gi.training_set("friedman1", 3, 20, 0.0, with_grad=False)
    x2, y2, g2, sd2 = gi.training_set("friedman1", 3, 40, 0.1, with_grad=True)
    assert torch.equal(x1, x2[:20]) and sd == 0.0 and sd2 > 0
    clean = problems.get("friedman1").value(x2)
    assert torch.equal(y1, clean[:20])
    resid = (y2 - clean) / sd2
    assert 0.5 < float(resid.std()) < 1.5
    assert g2.shape == (40, 10) and torch.all(g2[:, 5:] == 0)  # inactive inputs get no noise
    x3, y3, _, _ = gi.training_set("friedman1", 3, 40, 0.1, with_grad=False)
    assert torch.equal(x3, x2) and torch.equal(y3, y2)
    assert not torch.equal(gi.training_set("friedman1", 4, 20, 0.0, False)[0], x1)


def test_the_five_input_friedman_form_sees_the_same_data_and_splits():
    for n, noise in ((30, 0.0), (40, 0.1)):
        x10, y10, g10, sd10 = gi.training_set("friedman1", 2, n, noise, with_grad=True)
        x5, y5, g5, sd5 = gi.training_set("friedman1_5d", 2, n, noise, with_grad=True)
        assert torch.equal(x5, x10[:, :5]) and torch.equal(y5, y10) and sd5 == sd10
        assert torch.equal(g5, g10[:, :5])
    t10, t5 = gi.test_set("friedman1", 50), gi.test_set("friedman1_5d", 50)
    assert torch.equal(t5[0], t10[0][:, :5]) and torch.equal(t5[1], t10[1])
    for a, b in zip(gi.split("friedman1", 3, 25, 0.2), gi.split("friedman1_5d", 3, 25, 0.2), strict=True):
        assert torch.equal(a, b)


def test_validation_split_is_seeded_disjoint_and_covers_the_training_set():
    fit, val = gi.split("stokes", 1, 25, 0.2)
    assert len(val) == 5 and len(fit) == 20
    assert sorted(torch.cat([fit, val]).tolist()) == list(range(25))
    assert torch.equal(gi.split("stokes", 1, 25, 0.2)[1], val)
    assert not torch.equal(gi.split("stokes", 2, 25, 0.2)[1], val)
    assert len(gi.split("stokes", 1, 4, 0.2)[1]) == 2  # at least two validation points
    with pytest.raises(ValueError, match="n_train"):
        gi.split("stokes", 1, 3, 0.2)


def test_no_collocation_point_inside_the_stokes_sphere():
    p = problems.get("stokes")
    units = gi.Units(p.domain[:, 0], p.domain[:, 1], 0.0, 1.0)
    xs = gi.collocation_sampler("stokes", units)(20_000, torch.Generator().manual_seed(0))
    assert xs.min() >= -1 and xs.max() <= 1
    assert bool(p.contains(units.x_back(xs)).all())
    # and the box problems fill their whole box
    pb = problems.get("burgers")
    ub = gi.Units(pb.domain[:, 0], pb.domain[:, 1], 0.0, 1.0)
    xb = gi.collocation_sampler("burgers", ub)(20_000, torch.Generator().manual_seed(0))
    assert xb.min() < -0.99 and xb.max() > 0.99


@pytest.mark.parametrize("model", ["gradinn-finetuned", "gradinn-capacity", "nn", "pinn", "sobolev", "gp"])
def test_one_validation_run_per_method_selects_by_validation_and_records_it(model):
    method, _, variant = model.partition("-")
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("lotka_volterra",), experiments=("size",))
    c = next(c for c in gi.run_configs(cfg) if c["method"] == method
             and c.get("variant") == (variant or None))
    m = gi.run(c, "cpu")
    (name, grid), = c["grid"].items()
    assert name == gi.HYPERPARAMETER[method] and len(grid) == 2
    assert len(m["rmse"]) == cfg.seeds and m["failed"] == [None] * cfg.seeds
    assert all(v is not None and math.isfinite(v) and v > 0
               for v in m["rmse"] + m["grad_rmse"] + m["train_rmse"])
    assert len(m["trial_val_mse"]) == cfg.seeds and all(len(r) == len(grid) for r in m["trial_val_mse"])
    for s in range(cfg.seeds):  # the selected value has the lowest validation error of the seed's trials
        vals = m["trial_val_mse"][s]
        assert m["selected"][s] == grid[min(range(len(grid)), key=lambda k: (vals[k], k))]
        if method != "gp":
            assert m["epochs"][s] == m["trial_epoch"][s][grid.index(m["selected"][s])]
            assert m["epochs"][s] % c["eval_every"] == 0 or m["epochs"][s] == c["epochs"]
    assert m["noise_sd"] == [0.0] * cfg.seeds
    assert torch.get_num_threads() >= 1


def test_the_refit_is_the_selected_trial_retrained_on_all_points():
    """The refit starts from the trial's initial weights, trains on all N points with the selected
    value for the selected epochs; with the validation points dropped it would be the trial."""
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1",), experiments=("size",), seeds=1)
    c = next(c for c in gi.run_configs(cfg) if c["method"] == "nn")
    x_test, y_test, _ = gi.test_set("friedman1", c["n_test"])
    data = [gi._seed_data(c, 0)]
    out = gi._fit_networks(c, data, [1e-4, 1e-4], x_test, y_test)  # two equal trials tie: the first wins
    assert out["chosen"] == [0]
    trial_rmse = out["trial_rmse"][0]
    assert trial_rmse[0] == pytest.approx(trial_rmse[1], rel=1e-6)
    refit = out["refit"][0]
    assert refit["selected"] == 1e-4 and refit["epochs"] == out["trial_epoch"][0][0]
    # refit on the fit split only: then it reproduces the trial exactly
    only_fit = gi._Seed(**{**data[0].__dict__, "xs": data[0].xs[data[0].fit], "ys": data[0].ys[data[0].fit],
                           "y": data[0].y[data[0].fit], "fit": torch.arange(len(data[0].fit)),
                           "val": data[0].val[:0]})
    from derivlearn.models import gradinn as G

    u, _ = gi._initial(c, [only_fit], [0])
    again = G.fit_ensemble(gi._objective(c, [only_fit], [0], torch.tensor([1e-4]), "all"), u,
                           lr=c["lr"], stop_at=[refit["epochs"]])
    pred, _ = gi._evaluate(again.u, [only_fit], [0], x_test)
    assert float((pred[0] - y_test).pow(2).mean().sqrt()) == pytest.approx(trial_rmse[0], rel=1e-6)


def test_a_diverging_seed_is_recorded_and_the_run_goes_on(monkeypatch):
    from derivlearn.models import baselines

    original = baselines.train_standard_nn

    def diverging_first_seed(*args, **kwargs):
        res = original(*args, **kwargs)
        if kwargs["seed"] == 0:
            res.history.loss[7] = math.nan
        return res

    monkeypatch.setattr(baselines, "train_standard_nn", diverging_first_seed)
    c = dict(next(c for c in gi.first_configs() if c["method"] == "nn" and c["problem"] == "friedman1"),
             seeds=2, epochs=30, n_train=10, n_test=100)  # the first protocol, at smoke size
    m = gi.run(c, "cpu")
    assert m["failed"][0] == "non-finite training loss at epoch 7" and m["rmse"][0] is None
    assert m["failed"][1] is None and m["rmse"][1] > 0
    monkeypatch.setattr(baselines, "train_standard_nn",
                        lambda *a, **k: (r := original(*a, **k), r.history.loss.__setitem__(0, math.inf))[0])
    with pytest.raises(gi.RunFailed, match="every seed failed: non-finite training loss at epoch 0"):
        gi.run(c, "cpu")


# --------------------------------------------------------------------------- claim rules


def _rec(problem, model, n, noise, rmse, noise_sd=None, grad=None):
    method, _, variant = model.partition("-")
    k = len(rmse)
    grid = [0.1, 1.0]
    grad = list(rmse) if grad is None else list(grad)
    return {"status": "ok", "protocol": gi.PROTOCOL, "problem": problem, "method": method,
            "variant": variant or None,
            "prior": gi.matched_prior(problem, variant) if variant else None, "n_train": n, "noise": noise,
            "seed": 0, "grid": {gi.HYPERPARAMETER[method]: grid}, "rmse": list(rmse), "nrmse": list(rmse),
            "grad_rmse": grad, "grad_nrmse": grad, "train_rmse": list(rmse),
            "noise_sd": [noise_sd if noise_sd is not None else 0.0] * k, "selected": [1.0] * k,
            "epochs": [100] * k, "failed": [None] * k, "trial_val_mse": [[0.2, 0.1]] * k,
            "trial_rmse": [list(rmse[:1]) * 2] * k, "trial_epoch": [[100, 100]] * k}


SPREAD = (1.0, 1.1, 0.9, 1.05, 0.95)


def _frame(cfg, error, grad=None):
    """Records of every model at every size without noise; ``error(problem, model, n)`` gives the
    mean RMSE, spread over five seeds by the factors SPREAD (``grad``, the same for the gradient
    error; the RMSE's without it)."""
    rows = []
    for p in cfg.problems:
        for n in cfg.sizes:
            for m in ("gradinn-finetuned", "gradinn-capacity", "nn", "pinn"):
                if m == "pinn" and p not in gi.PINN_PROBLEMS:
                    continue
                g = None if grad is None else [grad(p, m, n) * f for f in SPREAD]
                rows.append(_rec(p, m, n, 0.0, [error(p, m, n) * f for f in SPREAD], grad=g))
    return pd.DataFrame(rows)


def _by(claims):
    return {c.claim.split(":")[0].split(" (")[0].split(", where")[0]: c for c in claims}


def test_paired_comparison_calls_a_difference_inside_the_seed_spread_a_tie():
    def rows(a, b):
        df = pd.DataFrame([_rec("stokes", "gradinn-finetuned", 25, 0.0, a), _rec("stokes", "nn", 25, 0.0, b)])
        return gi.main_rows(gi.long_frame(df))

    a = [1.0, 1.1, 0.9, 1.05, 0.95]
    win = gi.paired(rows(a, [2 * v for v in a]), "gradinn-finetuned", "nn", "stokes", 25)
    assert win["outcome"] == "win" and win["ratio"] == pytest.approx(2.0) and win["lo"] == pytest.approx(2.0)
    loss = gi.paired(rows(a, [0.5 * v for v in a]), "gradinn-finetuned", "nn", "stokes", 25)
    assert loss["outcome"] == "loss"
    # GradINN better on average (ratio 1.1), but the seeds disagree: inside the spread, a tie
    mixed = gi.paired(rows(a, [1.6, 0.8, 1.4, 0.9, 1.25]), "gradinn-finetuned", "nn", "stokes", 25)
    assert mixed["ratio"] > 1.05 and mixed["lo"] < 1 < mixed["hi"] and mixed["outcome"] == "tie"
    assert gi.paired(rows(a[:1], [3.0]), "gradinn-finetuned", "nn", "stokes", 25)["outcome"] == "tie"
    assert gi.paired(rows(a, a), "gradinn-finetuned", "pinn", "stokes", 25) is None


def test_low_data_and_pinn_verdicts_follow_the_tally():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "burgers"), sizes=(25, 50, 200),
                                        experiments=("size",))
    assert [gi.tally_verdict(o) for o in (["win", "win"], ["win", "tie", "tie"], ["win", "win", "loss"],
                                          ["tie", "tie"], ["win", "loss", "loss"])] == [
        "confirmed", "partly confirmed", "partly confirmed", "not confirmed", "not confirmed"]

    def error(p, m, n):  # GradINN twice as good as the NN everywhere, the PINN better than both
        return {"gradinn-finetuned": 1.0, "gradinn-capacity": 1.0, "nn": 2.0, "pinn": 0.5}[m]

    summary, claims = gi.summarize(cfg, _frame(cfg, error))
    by = _by(claims)
    low = by["GradINN beats standard networks at low data"]
    pinn = by["GradINN beats PINN-like approaches at low data"]
    assert low.verdict == "confirmed" and "4 wins, 0 ties, 0 losses in 4 cells" in low.ours
    cells = summary["claim_details"]["low_data"]["gradinn-finetuned"]
    assert {c["N"] for c in cells} == {25, 50}  # only the two smallest sizes are low data
    assert pinn.verdict == "not confirmed" and "0 wins, 0 ties, 2 losses in 2 cells" in pinn.ours
    assert "Burgers" in pinn.ours and "Friedman" not in pinn.ours  # only where the equation is known
    assert "strictly more information" in pinn.deviation
    for c in (low, pinn):
        assert c.paper.startswith("Summary of the paper (not verified against the full text)")
    # ties everywhere: not confirmed, whatever the means say
    by = _by(gi.summarize(cfg, _frame(cfg, lambda p, m, n: 1.0))[1])
    assert by["GradINN beats standard networks at low data"].verdict == "not confirmed"


def test_friedman_verdict_needs_a_win_outside_the_spread_and_names_its_source():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "friedman1_5d"), sizes=(25, 200),
                                        experiments=("size",))
    # the committed rule, and the stricter reading written after the first results (a ratio of at
    # least 2 for "partly"): a ratio of 1.5 is partly confirmed by the first, not by the second
    for nn_error, expected, strict in ((10.0, "confirmed", "confirmed"),
                                       (3.0, "partly confirmed", "partly confirmed"),
                                       (1.5, "partly confirmed", "not confirmed"),
                                       (1.0, "not confirmed", "not confirmed"),
                                       (0.5, "not confirmed", "not confirmed")):
        summary, claims = gi.summarize(cfg, _frame(cfg, lambda p, m, n, e=nn_error: e if m == "nn" else 1.0))
        c = _by(claims)["Friedman #1 with 200 training points"]
        assert c.verdict == expected, nn_error
        reading = summary["claim_details"]["readings"]["friedman"]
        assert (reading["first"], reading["after_results"], reading["final"]) == (expected, strict, True)
        # one short line in the table; the second reading's verdict in the detail under it
        assert c.ours.startswith("NN / GradINN = ") and "later reading" not in c.ours and len(c.ours) < 80
        assert f"stricter reading (a ratio of at least 2), {gi.AFTER}: {strict}" in c.detail
        assert gi.RULES_AFTER["friedman"] in c.deviation and c.deviation.startswith(gi.RULES["friedman"])
        # one ratio everywhere: the claim's paired geometric mean, under a name that says so
        fr = summary["friedman1_200"]
        assert fr["nn_over_gradinn_paired_geomean"] == pytest.approx(nn_error)
        assert fr["nn_over_gradinn_repetitions"] == 5 and "nn_over_gradinn" not in fr
        assert "5 active inputs" in c.detail
        assert c.paper.startswith("Summary of the paper (not verified against the full text)")
    assert summary["friedman1_5d_200"]["gradinn-capacity"] == pytest.approx(1.0)


def test_every_verdict_says_what_it_rests_on_and_gives_the_capacity_reading():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "lotka_volterra"),
                                        sizes=(25, 50, 200), experiments=("size",))

    def error(p, m, n):  # the fine-tuned F wins, the capacity prior loses
        return {"gradinn-finetuned": 1.0, "gradinn-capacity": 4.0, "nn": 2.0, "pinn": 2.0}[m]

    summary, claims = gi.summarize(cfg, _frame(cfg, error))
    judged = [c for c in claims if c.verdict != "not tested"]
    assert len(judged) == 4  # Friedman, low data, PINN, gradients
    for c in judged:
        assert gi.READING["gradinn-finetuned"] in c.deviation
        assert "With the capacity prior instead: not confirmed" in c.deviation
    assert [c["verdict"] for c in summary["claims"]] == [c.verdict for c in claims]
    assert all(set(c) - {"detail"} == {"claim", "paper", "ours", "verdict", "rule"}
               for c in summary["claims"])
    assert summary["claim_details"]["by_reading"]["low_data"] == {
        "gradinn-finetuned": "confirmed", "gradinn-capacity": "not confirmed"}
    assert summary["claim_rules"] == gi.RULES
    assert set(summary["rmse"]["friedman1"]) == {"gradinn-finetuned", "gradinn-capacity", "nn"}
    assert summary["selected"]["lotka_volterra"]["gradinn-capacity"]["N=25,noise=0"] == [1.0] * 5


def test_noise_robustness_is_error_over_noise_and_a_model_that_never_fits_is_not_robust():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes", "burgers", "lotka_volterra"),
                                        noises=(0.01, 0.1), noise_size=100, experiments=("noise",))
    sigma = {0.01: 0.02, 0.1: 0.2}

    def recs(p, m, errors):
        return [_rec(p, m, 100, s, [e * f for f in SPREAD], sigma.get(s, 0.0)) for s, e in errors.items()]

    rows = []
    # stokes: GradINN fits (0.05 < 0.2) and noise adds less than sigma: robust;
    # the NN fits but amplifies the noise (adds 3 sigma at 10 %): not robust
    rows += recs("stokes", "gradinn-finetuned", {0.0: 0.05, 0.01: 0.06, 0.1: 0.2})
    rows += recs("stokes", "nn", {0.0: 0.01, 0.01: 0.03, 0.1: 0.61})
    # burgers: GradINN's error is flat, but far above every noise level: it never fits
    rows += recs("burgers", "gradinn-finetuned", {0.0: 1.0, 0.01: 1.0, 0.1: 1.0})
    rows += recs("burgers", "nn", {0.0: 0.05, 0.01: 0.06, 0.1: 0.2})
    # lotka-volterra: robust
    rows += recs("lotka_volterra", "gradinn-finetuned", {0.0: 0.01, 0.01: 0.02, 0.1: 0.1})
    rows += recs("lotka_volterra", "nn", {0.0: 0.01, 0.01: 0.02, 0.1: 0.1})
    summary, claims = gi.summarize(cfg, pd.DataFrame(rows))
    long = gi.main_rows(gi.long_frame(pd.DataFrame(rows)))
    r = gi.noise_robustness(long, cfg, "gradinn-finetuned", "burgers")
    assert not r["fits"] and not r["robust"]
    assert r["per_level"][0.1]["over_sigma"] == pytest.approx(5.0)
    assert r["per_level"][0.1]["added_over_sigma"] == pytest.approx(0.0)  # flat, yet not robust
    assert gi.noise_robustness(long, cfg, "gradinn-finetuned", "stokes")["robust"]
    assert not gi.noise_robustness(long, cfg, "nn", "stokes")["robust"]
    c = next(c for c in claims if c.claim == "GradINN is robust to noise")
    assert c.verdict == "partly confirmed"  # robust on 2 of 3 problems
    assert "GradINN robust on 2 of 3 problems" in c.ours
    assert "GradINN's noise-free error is above the noise range on Burgers" in c.detail
    # the floor reading (written after the first results): test RMSE at most 2 sigma at every
    # level holds on Lotka-Volterra only (Stokes: 3 sigma at 1 %), for both models
    assert summary["claim_details"]["noise_floor"] == {"gradinn": 1, "nn": 1, "problems": 3,
                                                       "verdict": "not confirmed"}
    assert "close to the floor on 1 of 3 problems, standard NN on 1 of 3: not confirmed" in c.detail
    assert gi.RULES_AFTER["noise_floor"] in c.deviation
    assert "standard NN robust on 2 of 3" in c.ours
    assert c.paper.startswith("Summary of the paper (not verified against the full text)")
    # the comparative reading (written after the first results): GradINN holds where the network
    # degrades on Stokes (robust where the NN is not), not on Burgers (it does not fit, although it
    # wins at every level) nor on Lotka-Volterra (a tie at every level): 1 of 3, not confirmed
    comp = summary["claim_details"]["noise_against_nn"]
    assert {p: x["holds"] for p, x in comp.items()} == {"stokes": True, "burgers": False,
                                                          "lotka_volterra": False}
    assert [r["outcome"] for r in comp["burgers"]["per_level"].values()] == ["loss", "loss"]
    assert summary["claim_details"]["readings"]["noise"]["after_results"] == "not confirmed"
    assert "holds where the network degrades on 1 of 3 problems: not confirmed" in c.detail
    assert r["per_level"][0.1]["train_over_sigma"] == pytest.approx(5.0)  # train RMSE 1.0, sigma 0.2
    rows = [r for r in rows if not (r["problem"] == "burgers" and r["method"] == "gradinn")]
    rows += recs("burgers", "gradinn-finetuned", {0.0: 0.05, 0.01: 0.06, 0.1: 0.1})
    summary, claims = gi.summarize(cfg, pd.DataFrame(rows))
    c = next(c for c in claims if c.claim == "GradINN is robust to noise")
    assert c.verdict == "confirmed"
    # now GradINN fits Burgers, and beats the NN at 10 % (0.1 against 0.2): 2 of 3, partly
    assert summary["claim_details"]["noise_against_nn"]["burgers"]["holds"]
    assert summary["claim_details"]["readings"]["noise"]["after_results"] == "partly confirmed"


def test_a_claim_or_reading_without_records_says_so_instead_of_being_judged_on_nothing():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "lotka_volterra"),
                                        sizes=(25, 50, 200), experiments=("size",))
    df = _frame(cfg, lambda p, m, n: {"gradinn-finetuned": 1.0, "nn": 2.0, "pinn": 2.0}.get(m, 1.0))
    df = df[df.variant != "capacity"]  # the capacity reading: not recorded yet
    df = df[~((df.method == "nn") & (df.problem == "lotka_volterra") & (df.n_train == 50))]
    summary, claims = gi.summarize(cfg, df)
    by = _by(claims)
    low = by["GradINN beats standard networks at low data"]
    # 3 of the 4 planned cells: the reading so far is provisional, the claim not tested yet
    assert low.verdict == "not tested"
    assert low.ours.startswith("provisional, on 3 of the 4 planned cells: 3 wins, 0 ties, 0 losses in 3 "
                               "cells, against the regularised standard NN (would read: confirmed)")
    assert "later reading" not in low.ours
    assert f"{gi.AFTER}: 3 wins, 0 ties, 0 losses: would read confirmed" in low.detail
    reading = summary["claim_details"]["readings"]["low_data"]
    assert (reading["recorded"], reading["planned"], reading["final"]) == (3, 4, False)
    assert summary["claim_details"]["by_reading"]["low_data"]["gradinn-finetuned"] == \
        "provisional (3 of 4 cells): confirmed"
    assert "With the capacity prior instead: not yet recorded" in low.deviation
    assert summary["claim_details"]["by_reading"]["low_data"]["gradinn-capacity"] == gi.NOT_RECORDED
    df = df[df.method != "pinn"]  # no PINN record at all: listed, not tested, not judged
    pinn = _by(gi.summarize(cfg, df)[1])["GradINN beats PINN-like approaches at low data"]
    assert pinn.verdict == "not tested" and pinn.ours == gi.NOT_RECORDED


def test_verdicts_are_final_only_on_the_planned_cells_of_the_configuration():
    """The planned cells come from the plan (run_configs): the PINN only where the equation is
    known, GradINN with each reading's matched prior; a claim on part of them is provisional."""
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "lotka_volterra"),
                                        sizes=(25, 50, 200), experiments=("size",))
    plan = gi.planned_cells(cfg)
    assert ("lotka_volterra", "pinn", 25, 0.0) in plan and ("friedman1", "pinn", 25, 0.0) not in plan
    assert ("lotka_volterra", "gradinn-finetuned", 25, 0.0) in plan
    df = _frame(cfg, lambda p, m, n: {"pinn": 0.5}.get(m, 1.0))
    df = df[~((df.method == "pinn") & (df.n_train == 50))]  # one of the two PINN cells
    summary, claims = gi.summarize(cfg, df)
    pinn = _by(claims)["GradINN beats PINN-like approaches at low data"]
    assert pinn.verdict == "not tested" and "provisional, on 1 of the 2 planned cells" in pinn.ours
    assert "(would read: not confirmed)" in pinn.ours
    full = _by(gi.summarize(cfg, _frame(cfg, lambda p, m, n: {"pinn": 0.5}.get(m, 1.0)))[1])
    assert full["GradINN beats PINN-like approaches at low data"].verdict == "not confirmed"


def test_holm_keeps_clear_wins_and_drops_a_marginal_one():
    def rows(cells):
        recs = []
        for (p, n), (a, b) in cells.items():
            recs += [_rec(p, "gradinn-finetuned", n, 0.0, a), _rec(p, "nn", n, 0.0, b)]
        return gi.main_rows(gi.long_frame(pd.DataFrame(recs)))

    a = [1.0, 1.1, 0.9, 1.05, 0.95]
    marginal = [1.3, 1.2, 1.0, 1.5, 1.1]  # a win by the interval, p just below 5 %
    cells = {("stokes", 25): (a, marginal), ("stokes", 50): (a, a), ("burgers", 25): (a, a),
             ("burgers", 50): (a, a)}
    r = rows(cells)
    res = [gi.paired(r, "gradinn-finetuned", "nn", p, n) for p, n in cells]
    assert res[0]["outcome"] == "win" and 0.01 < res[0]["p"] < 0.05
    assert gi.holm(res) == ["tie", "tie", "tie", "tie"]
    assert gi.holm([res[0], None]) == ["win", None]  # one cell: no correction
    clear = {("stokes", 25): (a, [2 * v for v in a]), ("stokes", 50): (a, [3 * v for v in a])} | {
        k: v for k, v in cells.items() if k[0] == "burgers"}
    res = [gi.paired(rows(clear), "gradinn-finetuned", "nn", p, n) for p, n in clear]
    assert gi.holm(res) == ["win", "win", "tie", "tie"]


def test_low_data_stricter_reading_is_printed_beside_the_committed_verdict():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes", "burgers"), sizes=(25, 50, 200),
                                        experiments=("size",))
    marginal = [1.3, 1.2, 1.0, 1.5, 1.1]

    df = _frame(cfg, lambda p, m, n: 1.0)
    sel = (df.method == "nn") & (df.problem == "stokes") & (df.n_train == 25)
    df.loc[sel, "rmse"] = pd.Series([marginal] * int(sel.sum()), index=df.index[sel])
    summary, claims = gi.summarize(cfg, df)
    low = _by(claims)["GradINN beats standard networks at low data"]
    assert low.verdict == "partly confirmed"  # the committed rule: one win, no loss
    assert low.ours == "1 win, 3 ties, 0 losses in 4 cells, against the regularised standard NN"
    assert low.detail.endswith(f"Stricter reading (Holm's correction), {gi.AFTER}: 0 wins, 4 ties, 0 "
                               "losses: not confirmed.")
    assert summary["claim_details"]["readings"]["low_data"]["after_results"] == "not confirmed"
    assert [c["holm"] for c in summary["claim_details"]["low_data"]["gradinn-finetuned"]] == ["tie"] * 4
    # a clear win everywhere survives the correction: both readings confirm
    summary, claims = gi.summarize(cfg, _frame(cfg, lambda p, m, n: 2.0 if m == "nn" else 1.0))
    assert summary["claim_details"]["readings"]["low_data"]["after_results"] == "confirmed"


def test_the_gradient_claim_pairs_gradient_errors_with_the_tie_rule_and_says_its_rule_is_late():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes", "burgers"), sizes=(25, 200),
                                        experiments=("size",))
    # the same values, but GradINN's gradients twice as good on Stokes: 2 wins, 2 ties
    summary, claims = gi.summarize(cfg, _frame(cfg, lambda p, m, n: 1.0, grad=lambda p, m, n: 2.0 if (
        m == "nn" and p == "stokes") else 1.0))
    c = _by(claims)["GradINN predicts gradients more accurately than a standard network"]
    assert c.verdict == "partly confirmed"  # wins in 2 of 4, no loss
    assert c.ours == ("gradient error (a later rule): 2 wins, 2 ties, 0 losses in 4 cells, "
                      "against the regularised standard NN")
    assert c.detail == (f"The rule was {gi.AFTER}; after Holm's correction for the 4 cells: "
                        "2 wins, 2 ties, 0 losses.")
    assert c.deviation.startswith(gi.RULES_AFTER["gradient"])
    assert _by(claims)["GradINN beats standard networks at low data"].verdict == "not confirmed"
    # the sign flipped: worse gradients on Stokes, not confirmed
    summary, claims = gi.summarize(cfg, _frame(cfg, lambda p, m, n: 1.0, grad=lambda p, m, n: 0.5 if (
        m == "nn" and p == "stokes") else 1.0))
    c = _by(claims)["GradINN predicts gradients more accurately than a standard network"]
    assert c.verdict == "not confirmed" and "0 wins, 2 ties, 2 losses" in c.ours
    assert summary["claim_rules_after_results"] == gi.RULES_AFTER


def test_the_share_of_fits_ended_by_the_budget_is_read_from_the_records():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes",), sizes=(25,), experiments=("size",))
    df = _frame(cfg, lambda p, m, n: 1.0)
    df["epochs"] = [[cfg.epochs, cfg.epochs, 1, 2, cfg.epochs]] * len(df)
    b = gi.summarize(cfg, df)[0]["budget"]
    assert b["nn"] == {"fits": 5, "at_budget": 3, "median_kept_epoch": float(cfg.epochs),
                       "budget": cfg.epochs}


def test_the_method_cells_toy_run_trains_f_towards_the_gradient_of_u():
    from derivlearn.models.gradinn import PriorNet, ValueNet, data_loss, input_gradient

    def loss(u, f, x, y, xc, lam):
        g = input_gradient(u, xc)
        return data_loss(u, x, y) + lam * (g - f(xc)).pow(2).sum(dim=1).mean() / g.detach().pow(2).sum(
            dim=1).mean()

    fit = gi.method_demo(loss, ValueNet(2, 8, 1, seed=0), PriorNet(2, "smooth", 8, 1, seed=0), epochs=30)
    assert set(fit) == {"gap_start", "gap_end", "data_mse"} and fit["gap_end"] < fit["gap_start"]
