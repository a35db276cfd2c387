"""Batched GradINN and baselines (derivlearn.models.gradinn.fit_ensemble and the objectives)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from derivlearn.models import baselines
from derivlearn.models import gradinn as G

DT = torch.float64
BOX2 = torch.tensor([[-1.0, 1.0], [-1.0, 1.0]], dtype=DT)


def _x(e: int, b: int, d: int, seed: int = 0) -> Tensor:
    return torch.rand(e, b, d, generator=torch.Generator().manual_seed(seed), dtype=DT) * 2 - 1


# --------------------------------------------------------------------------- stacks


@pytest.mark.parametrize("activation", ["tanh", "sin", "sigmoid", "softplus"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_closed_form_input_gradient_equals_autograd(activation, depth):
    u = G.stack_modules([G.ValueNet(3, 8, depth, activation, seed=s, dtype="float64") for s in range(4)])
    x = _x(4, 7, 3)
    v, g = G.value_and_gradient(u, x)
    xr = x.clone().requires_grad_(True)
    out = G.stack_forward(u, xr)[..., 0]
    (g_ref,) = torch.autograd.grad(out.sum(), xr)
    torch.testing.assert_close(v, out.detach(), rtol=0, atol=0)
    torch.testing.assert_close(g, g_ref, rtol=1e-12, atol=1e-14)
    # and it is differentiable in the weights by one ordinary backward pass
    w = u.replace([t.clone().requires_grad_(True) for t in u.tensors()])
    g_w = G.value_and_gradient(w, x)[1]
    grads = torch.autograd.grad(g_w.pow(2).sum(), w.tensors(), allow_unused=True)
    (g_ag,) = torch.autograd.grad(G.stack_forward(w, xr)[..., 0].sum(), xr, create_graph=True)
    ref = torch.autograd.grad(g_ag.pow(2).sum(), w.tensors(), allow_unused=True)
    for a, b, t in zip(grads, ref, w.tensors(), strict=True):  # (the last bias never enters a gradient)
        z = torch.zeros_like(t)
        torch.testing.assert_close(z if a is None else a, z if b is None else b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("make", [
    lambda s: G.ValueNet(2, 8, 2, seed=s, dtype="float64"),
    lambda s: G.PriorNet(2, "smooth", 8, 2, seed=s, dtype="float64"),
    lambda s: G.PriorNet(2, "oscillatory", 8, 3, sigma=5.0, seed=s, dtype="float64"),
    lambda s: G.SmoothPrior(2, seed=s, dtype="float64"),
    lambda s: G.SinusoidalPrior(2, sigma=3.0, seed=s, dtype="float64"),
], ids=["value", "finetuned-smooth", "finetuned-oscillatory", "capacity-smooth", "capacity-sinusoidal"])
def test_a_stack_evaluates_each_module(make):
    mods = [make(s) for s in (3, 4, 5)]
    st = G.stack_modules(mods)
    x = _x(1, 11, 2)[0]
    out = G.stack_forward(st, x.expand(3, -1, -1))
    for e, m in enumerate(mods):
        ref = m(x)
        torch.testing.assert_close(out[e].reshape(ref.shape), ref, rtol=0, atol=1e-15)
    # only the sinusoidal capacity prior has a fixed (frozen) layer: its frequencies
    assert st.frozen == ((True, False) if isinstance(mods[0], G.SinusoidalPrior) else (False,) * len(st.acts))


def test_finetuned_prior_initialisation_is_the_prior():
    d = 4
    smooth = G.PriorNet(d, "smooth", 32, 2, seed=1, dtype="float64")
    w = smooth.layers[0].weight.detach()
    assert float(w.abs().max()) <= 1 / math.sqrt(d) and float(w.abs().max()) > 0.8 / math.sqrt(d)
    osc = G.PriorNet(d, "oscillatory", 256, 1, sigma=8.0, seed=1, dtype="float64")
    assert 7.0 < float(osc.layers[0].weight.detach().std()) < 9.0
    x = torch.rand(500, d, generator=torch.Generator().manual_seed(0), dtype=DT) * 2 - 1
    for f in (smooth, osc):  # F starts small (output weights within +-0.01, zero bias)
        assert float(f.layers[-1].weight.abs().max()) <= 0.01 and float(f.layers[-1].bias.abs().max()) == 0
        assert float(f(x).abs().max()) < 0.01 * 256
    # seeded, and every layer is trained
    assert torch.equal(G.PriorNet(d, seed=1, dtype="float64").layers[0].weight, w)
    assert all(p.requires_grad for p in smooth.parameters())
    # the oscillatory prior's field varies faster than the smooth one (mean squared x-gradient)
    def roughness(f):
        xr = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xr)[:, 0].sum(), xr)
        return float(g.pow(2).mean() / f(x)[:, 0].var())
    assert roughness(G.PriorNet(d, "oscillatory", 32, 2, sigma=8.0, seed=1, dtype="float64")) \
        > 10 * roughness(G.PriorNet(d, "smooth", 32, 2, seed=1, dtype="float64"))
    with pytest.raises(ValueError, match="parameter 'kind'"):
        G.PriorNet(d, "wiggly")


def test_relative_mismatch_is_scale_free():
    g, f = _x(3, 50, 2, 1), _x(3, 50, 2, 2)
    r = G.relative_mismatch(g, f)
    torch.testing.assert_close(G.relative_mismatch(7.0 * g, 7.0 * f), r)
    unscaled = G.relative_mismatch(g, f, normalize=False)
    torch.testing.assert_close(r * g.pow(2).sum(dim=2).mean(dim=1), unscaled)
    # the scale is held constant: only the numerator carries a gradient
    gg = g.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(G.relative_mismatch(gg, f).sum(), gg)
    scale = g.pow(2).sum(dim=2).mean(dim=1)
    torch.testing.assert_close(grad, 2 * (g - f) / (50 * scale[:, None, None]))


# --------------------------------------------------------------------------- training


def _reference_gradinn(x, y, xcs, lam, seed, epochs, lr=1e-2):
    """One GradINN trained alone with modules and autograd (double backward), the same loss."""
    u = G.ValueNet(2, 8, 2, seed=seed, dtype="float64")
    f = G.PriorNet(2, "smooth", 8, 2, seed=seed, dtype="float64")
    opt = torch.optim.Adam(list(u.parameters()) + list(f.parameters()), lr=lr)
    for ep in range(epochs):
        opt.zero_grad()
        g = G.input_gradient(u, xcs[ep])
        mis = ((g - f(xcs[ep])) ** 2).sum(dim=1).mean() / g.detach().pow(2).sum(dim=1).mean()
        (((u(x) - y) ** 2).mean() + lam * mis).backward()
        opt.step()
    return u, f


def test_ensemble_members_equal_networks_trained_alone():
    seeds, lams = [0, 0, 1], [0.1, 2.0, 0.1]
    x, y = _x(1, 12, 2, 5)[0], torch.sin(3 * _x(1, 12, 2, 5)[0]).sum(dim=1)
    u = G.stack_modules([G.ValueNet(2, 8, 2, seed=s, dtype="float64") for s in seeds])
    f = G.stack_modules([G.PriorNet(2, "smooth", 8, 2, seed=s, dtype="float64") for s in seeds])
    draws = G.CollocationDraws(G.box_sampler(BOX2), seeds, 16, DT, chunk=4)
    seen: list[Tensor] = []

    def colloc(epoch):
        seen.append(draws(epoch))
        return seen[-1]

    obj = G.gradinn_objective(x.expand(3, -1, -1), y.expand(3, -1), colloc, torch.tensor(lams, dtype=DT))
    fit = G.fit_ensemble(obj, u, f, lr=1e-2, stop_at=[9, 9, 9], epochs=9)
    assert torch.equal(seen[0][0], seen[0][1]) and not torch.equal(seen[0][0], seen[0][2])
    for e, (s, lam) in enumerate(zip(seeds, lams, strict=True)):
        ru, rf = _reference_gradinn(x, y, [c[e] for c in seen], lam, s, 9)
        mine = G.stack_modules([ru])
        for a, b in zip(fit.u.select([e]).tensors(), mine.tensors(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
        for a, b in zip(fit.f.select([e]).tensors(), G.stack_modules([rf]).tensors(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    assert fit.epoch == [9, 9, 9] and all(v is None for v in fit.failed)


def _nn_fit(**kw):
    x = _x(2, 20, 2, 3)
    y = torch.sin(2 * x).sum(dim=2)
    u = G.stack_modules([G.ValueNet(2, 8, 2, seed=s, dtype="float64") for s in (0, 1)])
    obj = baselines.nn_objective(x, y, torch.tensor([0.0, 1e-3], dtype=DT))
    return G.fit_ensemble(obj, u, lr=1e-2, **kw), x, y


def test_validation_mode_keeps_the_best_checked_weights_and_stop_mode_the_asked_epoch():
    xv = _x(2, 8, 2, 4)
    yv = torch.sin(2 * xv).sum(dim=2)
    fit, _, _ = _nn_fit(epochs=60, x_val=xv, y_val=yv, eval_every=7)
    for e in range(2):
        assert fit.epoch[e] % 7 == 0 or fit.epoch[e] == 60
        kept = float((G.stack_forward(fit.u.select([e]), xv[e:e + 1])[..., 0] - yv[e]).pow(2).mean())
        assert kept == pytest.approx(fit.val_mse[e], rel=1e-12)
        # no checked epoch is better: retrain to each checked epoch (stop mode) and compare
        for ep in [*range(7, 60, 7), 60]:
            again, _, _ = _nn_fit(stop_at=[ep, ep])
            v = float((G.stack_forward(again.u.select([e]), xv[e:e + 1])[..., 0] - yv[e]).pow(2).mean())
            assert v >= fit.val_mse[e] - 1e-12
            if ep == fit.epoch[e]:
                for a, b in zip(again.u.select([e]).tensors(), fit.u.select([e]).tensors(), strict=True):
                    torch.testing.assert_close(a, b, rtol=0, atol=0)
    stop, _, _ = _nn_fit(stop_at=[5, 12])
    assert stop.epoch == [5, 12] and stop.epochs_run == 12 and all(math.isnan(v) for v in stop.val_mse)
    with pytest.raises(ValueError, match="x_val/stop_at"):
        _nn_fit(epochs=3)


def test_a_diverging_member_is_marked_and_the_others_train_on():
    x = _x(2, 10, 1)
    y = x[..., 0]
    u = G.stack_modules([G.ValueNet(1, 4, 1, seed=s, dtype="float64") for s in (0, 1)])
    nan_at = 3

    def obj(u_, f_, epoch):
        data = (G.stack_forward(u_, x)[..., 0] - y).pow(2).mean(dim=1)
        poison = torch.tensor([math.nan if epoch >= nan_at else 0.0, 0.0], dtype=DT)
        return G.EnsembleLoss(data + poison, data, poison)

    fit = G.fit_ensemble(obj, u, epochs=10, x_val=x, y_val=y, eval_every=2)
    assert fit.failed[0] == f"non-finite training loss at epoch {nan_at}" and fit.failed[1] is None
    assert fit.epoch[0] == 2 and fit.epoch[1] > 2  # member 0 keeps its last finite checkpoint


def test_weight_decay_sobolev_and_pinn_objectives():
    x = _x(2, 9, 2, 7)
    y = x.sum(dim=2)
    u = G.stack_modules([G.ValueNet(2, 6, 2, seed=s, dtype="float64") for s in (0, 1)])
    wd = torch.tensor([0.0, 0.5], dtype=DT)
    t = baselines.nn_objective(x, y, wd)(u, None, 0)
    sq = sum(p.pow(2).sum() for p in G.ValueNet(2, 6, 2, seed=1, dtype="float64").parameters())
    torch.testing.assert_close(t.total[1] - t.data[1], 0.25 * sq)
    assert float(t.total[0]) == float(t.data[0])
    # Sobolev: zero gradient term for U's own gradients, scale-free in the gradients' units
    _, g_own = G.value_and_gradient(u, x)
    lam = torch.ones(2, dtype=DT)
    assert float(baselines.sobolev_objective(x, y, g_own.detach(), lam)(u, None, 0).reg.abs().max()) == 0
    r1 = baselines.sobolev_objective(x, y, g_own.detach() + 1.0, lam)(u, None, 0).reg
    torch.testing.assert_close(r1, ((torch.ones(2)).double() * 2) / (g_own + 1).pow(2).sum(dim=2).mean(dim=1))
    # PINN: the flattened ensemble gives each member's own residual loss
    xc = _x(2, 13, 2, 8)
    res = baselines.burgers_residual(0.05)
    t = baselines.pinn_objective(x, y, lambda ep: xc, res, lam)(u, None, 0)
    for e in range(2):
        mod = G.ValueNet(2, 6, 2, seed=e, dtype="float64")
        torch.testing.assert_close(t.reg[e], baselines.pinn_residual_loss(mod, res, xc[e]))


def test_collocation_draws_follow_the_sampler_and_the_seed_streams():
    def upper_half(n, gen):
        return G.sample_collocation(torch.tensor([[-1.0, 1.0], [0.0, 1.0]], dtype=DT), n, gen)

    draws = G.CollocationDraws(upper_half, [4, 9, 4], 10, torch.float32, chunk=3)
    pts = [draws(ep) for ep in range(7)]
    assert all(p.shape == (3, 10, 2) and p.dtype == torch.float32 for p in pts)
    assert all(bool((p[..., 1] >= 0).all()) for p in pts)
    assert all(torch.equal(p[0], p[2]) and not torch.equal(p[0], p[1]) for p in pts)
    assert not torch.equal(pts[0], pts[1])
    again = G.CollocationDraws(upper_half, [4], 10, torch.float32, chunk=3)
    assert all(torch.equal(again(ep)[0], pts[ep][0]) for ep in range(7))
    with pytest.raises(ValueError, match="parameter 'epoch'"):
        again(3)
