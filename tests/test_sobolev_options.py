"""Options of the Sobolev loss and of the MLP for issue 19: the per-order reduction (mean or
eq. 6's sum), fixed-rho definitions and units, Glorot initialisation, adaptive-rho diagnostics,
and the higher-order study's optional config keys. Defaults keep today's behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from derivlearn import functions
from derivlearn.derivatives import derivative_tensors
from derivlearn.nn import sobolev
from derivlearn.nn.mlp import MLPSpec, forward, init_params
from derivlearn.nn.train import TrainSpec, train_ensemble
from derivlearn.studies import higher_order as ho

F64 = torch.float64


def _pair():
    """One member, two samples, d = 2, orders 0-2 (unique form: d11, d12, d22)."""
    pred = [torch.tensor([[1.0, 2.0]], dtype=F64),
            torch.tensor([[[1.0, 0.0], [0.0, 2.0]]], dtype=F64),
            torch.tensor([[[1.0, 1.0, 0.0], [0.0, 0.0, 3.0]]], dtype=F64)]
    target = [torch.tensor([[0.0, 2.0]], dtype=F64),
              torch.zeros(1, 2, 2, dtype=F64), torch.zeros(1, 2, 3, dtype=F64)]
    return pred, target


def _hand(reduction: str) -> list[float]:
    # squared errors per sample; full tensors: order 1 has 2 entries, order 2 has 4 (d12 twice)
    e0 = (1.0 + 0.0) / 2
    s1 = [1.0 + 0.0, 0.0 + 4.0]                 # sums over the 2 entries, per sample
    s2 = [1.0 + 2 * 1.0 + 0.0, 0.0 + 0.0 + 9.0]  # d11^2 + 2 d12^2 + d22^2, per sample
    if reduction == "mean":
        return [e0, (s1[0] / 2 + s1[1] / 2) / 2, (s2[0] / 4 + s2[1] / 4) / 2]
    return [e0, (s1[0] + s1[1]) / 2, (s2[0] + s2[1]) / 2]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_order_errors_reduction_matches_hand_computation(reduction):
    pred, target = _pair()
    got = sobolev.order_errors(pred, target, "all", reduction=reduction)
    assert got[0].tolist() == pytest.approx(_hand(reduction))
    # unique partials: each distinct partial once (mean over 3, or their sum)
    u = sobolev.order_errors(pred, target, "unique", reduction=reduction)
    s2 = [2.0, 9.0]
    want = (s2[0] + s2[1]) / 2 / (3 if reduction == "mean" else 1)
    assert float(u[0, 2]) == pytest.approx(want)


def test_default_reduction_is_the_mean():
    pred, target = _pair()
    assert torch.equal(sobolev.order_errors(pred, target, "all"),
                       sobolev.order_errors(pred, target, "all", reduction="mean"))
    assert TrainSpec().reduction == "mean"
    with pytest.raises(ValueError, match="reduction"):
        sobolev.order_errors(pred, target, "all", reduction="max")
    with pytest.raises(ValueError, match="reduction"):
        TrainSpec(reduction="max")


def test_sobolev_loss_under_both_reductions_by_hand():
    pred, target = _pair()
    rho = torch.tensor([[1.0, 0.5, 0.25]], dtype=F64)
    for red in ("mean", "sum"):
        e = _hand(red)
        errs = sobolev.order_errors(pred, target, "all", reduction=red)
        assert float(sobolev.sobolev_loss(errs, "fixed", rho)[0]) == pytest.approx(
            e[0] + 0.5 * e[1] + 0.25 * e[2])
        assert float(sobolev.sobolev_loss(errs, "equal")[0]) == pytest.approx(sum(e))
    # rho multiplies the *sum* of order k (eq. 6): the mean errors times the counts 1, d, d^2
    mean = sobolev.order_errors(pred, target, "all", reduction="mean")
    counts = torch.tensor([1.0, 2.0, 4.0])
    s = _hand("sum")
    assert float(sobolev.sobolev_loss(mean, "fixed", rho, reduction="sum", counts=counts)[0]) == \
        pytest.approx(s[0] + 0.5 * s[1] + 0.25 * s[2])
    assert torch.allclose(sobolev.sobolev_loss(mean, "adaptive", reduction="sum", counts=counts),
                          sobolev.sobolev_loss(sobolev.order_errors(pred, target, "all",
                                                                    reduction="sum"), "adaptive"))
    with pytest.raises(ValueError, match="counts"):
        sobolev.sobolev_loss(mean, "equal", reduction="sum")


def test_adaptive_rule_compares_the_summed_error_under_sum():
    # e_0 = 1; order 2 has mean error 3 over its 4 entries (sum 12): the rule fires (12 > 10 e_0)
    # only under the sum, and then scales the order's summed error to e_0
    mean = torch.tensor([[1.0, 1.0, 3.0]], dtype=F64)
    summed = mean * torch.tensor([1.0, 2.0, 4.0], dtype=F64)
    st_mean, st_sum = {}, {}
    assert float(sobolev.sobolev_loss(mean, "adaptive", stats=st_mean)[0]) == pytest.approx(1 + 1 + 3)
    assert float(sobolev.sobolev_loss(summed, "adaptive", stats=st_sum)[0]) == pytest.approx(1 + 2 + 1)
    assert st_mean["fired"].tolist() == [[False, False, False]]
    assert st_sum["fired"].tolist() == [[False, False, True]]
    assert st_sum["rho"][0].tolist() == pytest.approx([1.0, 1.0, 1 / 12])


def test_fixed_rho_definitions_for_a_zero_variance_order():
    # order 1 varies (entries 0 and 2 -> pooled var 1), order 2 is constant (var 0)
    t = [torch.zeros(1, 2, dtype=F64), torch.tensor([[[0.0, 0.0], [2.0, 2.0]]], dtype=F64),
         torch.full((1, 2, 3), 5.0, dtype=F64)]
    base = sobolev.fixed_rho(t, "all")
    assert base[0].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert torch.equal(base, sobolev.fixed_rho(t, "all", definition="inverse_variance"))
    eps = sobolev.fixed_rho(t, "all", definition="inverse_variance_eps", eps=1e-2)
    assert eps[0].tolist() == pytest.approx([1.0, 1.0, 100.0])   # eps only where Var = 0
    assert sobolev.fixed_rho(t, "all", definition="inverse_variance_eps")[0, 2] == \
        pytest.approx(1 / sobolev.RHO_EPS)
    assert sobolev.fixed_rho(t, "all", definition="inverse_variance_drop")[0].tolist() == \
        pytest.approx([1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="definition"):
        sobolev.fixed_rho(t, "all", definition="std")
    assert TrainSpec().rho == "inverse_variance"
    with pytest.raises(ValueError, match="rho_eps"):
        TrainSpec(rho="inverse_variance_eps", rho_eps=0.0)


def test_glorot_init_has_its_bounds_and_zero_biases():
    spec = MLPSpec(2, 200, 2)
    p = init_params(spec, [0, 1], init="glorot")
    for li, (w, b) in enumerate(zip(p.weights, p.biases, strict=True)):
        fan_in, fan_out = spec.sizes[li], spec.sizes[li + 1]
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.9 * bound
        assert torch.count_nonzero(b) == 0
    assert not torch.equal(p.weights[1][0], p.weights[1][1])  # own seed per member
    assert torch.equal(init_params(spec, [1], init="glorot").weights[1][0], p.weights[1][1])
    torch_default = init_params(spec, [0])
    assert torch.equal(torch_default.weights[0], init_params(spec, [0], init="torch").weights[0])
    assert torch.count_nonzero(torch_default.biases[0]) > 0
    with pytest.raises(ValueError, match="init"):
        init_params(spec, [0], init="he")
    assert TrainSpec().init == "torch"
    with pytest.raises(ValueError, match="init"):
        TrainSpec(init="he")


def test_glorot_start_is_an_odd_function_and_torch_start_is_not():
    """Why Glorot-started networks stall on even functions (benchmarks/higher_order_stalls.py):
    with zero biases and tanh the network is exactly odd at the start, f(-x) = -f(x)."""
    spec = MLPSpec(2, 200, 2, "tanh")
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    g = init_params(spec, [0, 1], init="glorot")
    assert torch.allclose(forward(g, -x), -forward(g, x), rtol=0, atol=1e-15)
    t = init_params(spec, [0, 1], init="torch")
    assert float((forward(t, -x) + forward(t, x)).abs().max()) > 1e-2


def _data(order: int, n: int = 24):
    f = functions.get("branin")
    g = torch.Generator().manual_seed(0)
    x = f.sample(n, g)
    xv = f.sample(30, g)
    t = derivative_tensors(f, x, order, form="unique")
    c = 1 / t[0].std()  # roughly unit scale (the study z-scores)
    return x, [d * c for d in t], xv, f(xv) * c


def _spec(**kw):
    base = dict(width=8, order=2, partials="all", weighting="adaptive", n_batches=2, max_epochs=4,
                patience=None, dtype="float64")
    return TrainSpec(**{**base, **kw})


def test_options_reach_the_training_and_defaults_are_unchanged():
    x, t, xv, yv = _data(2)
    ref = train_ensemble(_spec(), x, t, xv, yv, seeds=[0, 1])
    same = train_ensemble(_spec(reduction="mean", init="torch", diagnostics=True), x, t, xv, yv,
                          seeds=[0, 1])
    for a, b in zip(ref.params.tensors(), same.params.tensors(), strict=True):
        assert torch.equal(a, b)  # diagnostics do not touch the training
    assert ref.adaptive is None
    for kw in ({"reduction": "sum"}, {"init": "glorot"}):
        other = train_ensemble(_spec(**kw), x, t, xv, yv, seeds=[0, 1])
        assert not torch.equal(other.params.weights[1], ref.params.weights[1]), kw


def test_fixed_rho_options_reach_the_training():
    x, t, xv, yv = _data(2)
    fixed = _spec(weighting="fixed")
    ref = train_ensemble(fixed, x, t, xv, yv, seeds=[0])
    same = train_ensemble(fixed, x, t, xv, yv, seeds=[0], rho_targets=t)
    assert torch.equal(ref.params.weights[1], same.params.weights[1])
    scaled = train_ensemble(fixed, x, t, xv, yv, seeds=[0], rho_targets=[t[0], t[1] * 10, t[2]])
    assert not torch.equal(ref.params.weights[1], scaled.params.weights[1])
    eps_spec = _spec(weighting="fixed", rho="inverse_variance_eps", rho_eps=1e-2)
    eps = train_ensemble(eps_spec, x, t, xv, yv, seeds=[0])
    assert torch.equal(ref.params.weights[1], eps.params.weights[1])  # no order with Var = 0
    flat = [t[0], t[1], torch.zeros_like(t[2])]                          # order 2: Var = 0
    one = train_ensemble(fixed, x, flat, xv, yv, seeds=[0])
    eps = train_ensemble(eps_spec, x, flat, xv, yv, seeds=[0])
    assert not torch.equal(one.params.weights[1], eps.params.weights[1])  # rho_2 = 100, not 1
    with pytest.raises(ValueError, match="rho_targets"):
        train_ensemble(fixed, x, t, xv, yv, seeds=[0], rho_targets=t[:2])


def test_adaptive_diagnostics_count_the_rule_per_order():
    x, t, xv, yv = _data(2)
    t = [t[0], t[1], t[2] * 100]  # order 2 far off at the start: the rule must fire there
    res = train_ensemble(_spec(diagnostics=True), x, t, xv, yv, seeds=[0, 1])
    a = res.adaptive
    assert a["steps"] == [8.0, 8.0]  # 4 epochs x 2 batches
    for m in range(2):
        fired, rho = a["fired"][m], a["mean_rho"][m]
        assert len(fired) == len(rho) == 3
        assert fired[0] == 0 and rho[0] == 1
        assert fired[2] > 0 and rho[2] < 1
        assert all(0 <= v <= 1 for v in fired) and all(0 < v <= 1 for v in rho)
    # not recorded for other weightings
    assert train_ensemble(_spec(weighting="fixed", diagnostics=True), x, t, xv, yv,
                          seeds=[0]).adaptive is None


def _smoke_config(**extra):
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    c = next(c for c in ho.run_configs(cfg) if c["order"] == 1 and c["weighting"] == "adaptive"
             and c["partials"] == "all")
    c = {k: v for k, v in c.items() if k not in ho.RUN_OPTIONS and k != "rho_eps"}  # the defaults
    return {**c, "n_train": 20, "max_epochs": 3, **extra}


def test_study_run_options_add_metrics_only_when_asked():
    base = ho.run(_smoke_config(), "cpu")
    assert not {"error_original", "adaptive_fired", "adaptive_mean_rho"} & set(base)
    explicit = ho.run(_smoke_config(reduction="mean", init="torch", rho="inverse_variance",
                                    rho_units="transformed", units="transformed",
                                    diagnostics=False), "cpu")
    assert explicit["error"] == base["error"]  # naming the defaults changes nothing
    m = ho.run(_smoke_config(units="original", diagnostics=True), "cpu")
    assert m["error"] == base["error"]
    assert m["error_original"] == pytest.approx(m["error_raw"], rel=1e-6)
    assert len(m["adaptive_fired"]) == len(m["error"]) and len(m["adaptive_fired"][0]) == 2
    other = ho.run(_smoke_config(reduction="sum", init="glorot"), "cpu")
    assert other["error"] != base["error"]
    with pytest.raises(ValueError, match="reduction"):
        ho.run(_smoke_config(reduction="max"), "cpu")


def test_study_run_fixed_rho_in_original_units():
    c = _smoke_config(weighting="fixed", function="branin")
    base = ho.run(c, "cpu")
    orig = ho.run({**c, "rho_units": "original"}, "cpu")
    drop = ho.run({**c, "rho": "inverse_variance_drop"}, "cpu")
    assert orig["error"] != base["error"]
    assert drop["error"] == base["error"]  # branin's first derivatives vary: nothing to drop
