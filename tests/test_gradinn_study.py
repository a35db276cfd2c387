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
    configs = gi.run_configs(cfg)
    cells = [(c["problem"], c["method"], c["n_train"], c["noise"], c.get("lam"), c.get("prior"))
             for c in configs]
    assert len(cells) == len(set(cells))
    assert {c[0] for c in cells if c[1] == "pinn"} == set(gi.PINN_PROBLEMS)
    assert all(c[4] is None and c[5] is None for c in cells if c[1] not in ("gradinn", "pinn", "sobolev"))
    # the matched prior is the default, the other family appears only in the prior ablation
    lv = {c[5] for c in cells if c[0] == "lotka_volterra" and c[1] == "gradinn" and c[2] != cfg.ablation_size}
    assert lv == {"sinusoidal"}
    lv_sin = next(c for c in configs if c["problem"] == "lotka_volterra" and c.get("prior") == "sinusoidal")
    assert lv_sin["prior_options"] == {"sigma": 8.0}
    pinn_lams = {c[4] for c in cells if c[1] == "pinn" and c[2] == cfg.ablation_size and c[3] == 0.0}
    assert pinn_lams == {cfg.pinn_lam, *cfg.pinn_lams}
    noisy = {(c[0], c[3]) for c in cells if c[2] == cfg.noise_size}
    assert {s for _, s in noisy} == {0.0, *cfg.noises}


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="problems"):
        gi.GradINNConfig.from_profile("smoke", problems=("nope",))
    with pytest.raises(ValueError, match="methods"):
        gi.GradINNConfig.from_profile("smoke", methods=("gradinn",))
    with pytest.raises(ValueError, match="noises"):
        gi.GradINNConfig.from_profile("smoke", noises=(1.5,))
    with pytest.raises(ValueError, match="prior"):
        gi.GradINNConfig.from_profile("smoke", prior="wiggly")


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


@pytest.mark.parametrize("method", gi.METHODS)
def test_one_run_per_method_gives_finite_errors_per_seed(method):
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("lotka_volterra",), experiments=("size",))
    c = next(c for c in gi.run_configs(cfg) if c["method"] == method)
    m = gi.run(c, "cpu")
    assert len(m["rmse"]) == cfg.seeds
    assert all(v is not None and math.isfinite(v) and v > 0 for v in m["rmse"] + m["grad_rmse"])
    assert torch.get_num_threads() >= 1


def test_a_diverging_seed_is_recorded_and_the_run_goes_on(monkeypatch):
    from derivlearn.models import baselines

    original = baselines.train_standard_nn

    def diverging_first_seed(*args, **kwargs):
        res = original(*args, **kwargs)
        if kwargs["seed"] == 0:
            res.history.loss[7] = math.nan
        return res

    monkeypatch.setattr(baselines, "train_standard_nn", diverging_first_seed)
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1",), experiments=("size",))
    c = next(c for c in gi.run_configs(cfg) if c["method"] == "nn")
    m = gi.run(c, "cpu")
    assert m["failed"][0] == "non-finite training loss at epoch 7" and m["rmse"][0] is None
    assert m["failed"][1] is None and m["rmse"][1] > 0
    monkeypatch.setattr(baselines, "train_standard_nn",
                        lambda *a, **k: (r := original(*a, **k), r.history.loss.__setitem__(0, math.inf))[0])
    with pytest.raises(gi.RunFailed, match="every seed failed: non-finite training loss at epoch 0"):
        gi.run(c, "cpu")


def _fake_frame(cfg: gi.GradINNConfig, better: str) -> pd.DataFrame:
    rows = []
    for p in cfg.problems:
        for m in ("gradinn", "nn", "pinn"):
            for n in cfg.sizes:
                if m == "pinn" and p not in gi.PINN_PROBLEMS:
                    continue
                e = 0.1 if m == better else 0.2
                rows.append({"status": "ok", "problem": p, "method": m, "n_train": n, "noise": 0.0,
                             "seed": 0, "lam": {"gradinn": cfg.lam, "pinn": cfg.pinn_lam}.get(m),
                             "prior": gi.resolve_prior(p, cfg.prior) if m == "gradinn" else None,
                             "rmse": [e, e], "nrmse": [e, e], "grad_rmse": [e, e], "grad_nrmse": [e, e],
                             "failed": [None, None]})
    return pd.DataFrame(rows)


def test_claims_follow_the_numbers():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "burgers"), sizes=(10, 200),
                                        experiments=("size",))
    summary, claims = gi.summarize(cfg, _fake_frame(cfg, "gradinn"))
    assert summary["friedman_200"]["nn_over_gradinn"] == pytest.approx(2.0)
    by = {c.claim.split(":")[0]: c.verdict for c in claims}
    assert by["Friedman #1 with 200 training points"] == "partly confirmed"  # 2 < 12.75 / 2
    assert by["GradINN beats standard NNs at low data"] == "confirmed"
    assert by["GradINN beats PINN-like approaches at low data"] == "confirmed"
    _, claims = gi.summarize(cfg, _fake_frame(cfg, "nn"))
    by = {c.claim.split(":")[0]: c.verdict for c in claims}
    assert by["GradINN beats standard NNs at low data"] == "not confirmed"
    assert by["Friedman #1 with 200 training points"] == "not confirmed"


def test_noise_claim_compares_error_growth():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "stokes"), noises=(0.1,),
                                        experiments=("noise",))
    rows = []
    for p in cfg.problems:
        for m, (e0, e1) in {"gradinn": (0.5, 0.55), "nn": (0.1, 0.3 if p == "stokes" else 0.105)}.items():
            for s, e in ((0.0, e0), (0.1, e1)):
                rows.append({"status": "ok", "problem": p, "method": m, "n_train": cfg.noise_size,
                             "noise": s, "seed": 0, "lam": cfg.lam if m == "gradinn" else None,
                             "prior": gi.resolve_prior(p, cfg.prior) if m == "gradinn" else None,
                             "rmse": [e], "nrmse": [e], "grad_rmse": [e], "grad_nrmse": [e],
                             "failed": [None]})
    _, claims = gi.summarize(cfg, pd.DataFrame(rows))
    c = next(c for c in claims if c.claim == "GradINN is robust to noise")
    # grows less on stokes only (x1.1 < x3), not on friedman1 (x1.1 > x1.05): no majority
    assert c.verdict == "not confirmed"
    assert "grows less in 1 of 2 problems" in c.ours and "lower RMSE in only 0 of 2" in c.ours
