"""GradINN (derivlearn.models.gradinn) and its baselines (derivlearn.models.baselines)."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from derivlearn.models.baselines import (
    burgers_residual,
    decay_residual,
    lotka_volterra_prey_ode,
    lotka_volterra_prey_residual,
    pinn_loss,
    pinn_residual_loss,
    sobolev_loss,
    train_pinn,
    train_sobolev,
    train_standard_nn,
)
from derivlearn.models.gradinn import (
    SinusoidalPrior,
    SmoothPrior,
    ValueNet,
    gradinn_loss,
    input_gradient,
    make_prior,
    sample_collocation,
    stream,
    train_gradinn,
)

DT = torch.float64
TINY = dict(width=8, depth=1, dtype="float64")


class Linear(nn.Module):
    """U(x) = a . x + b."""

    def __init__(self, a: Tensor, b: float) -> None:
        super().__init__()
        self.a = nn.Parameter(a.clone())
        self.b = nn.Parameter(torch.tensor(b, dtype=a.dtype))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.a + self.b


class Constant(nn.Module):
    """F(x) = c for every x."""

    def __init__(self, c: Tensor) -> None:
        super().__init__()
        self.c = nn.Parameter(c.clone())

    def forward(self, x: Tensor) -> Tensor:
        return self.c.expand(x.shape[0], -1)


def toy(n: int = 10, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """y = sin(2x) at n points in [-1, 1]; returns x (n, 1), y (n,), domain (1, 2)."""
    x = torch.linspace(-1, 1, n, dtype=DT)[:, None]
    return x, torch.sin(2 * x[:, 0]), torch.tensor([[-1.0, 1.0]], dtype=DT)


def params(m: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in m.parameters()]


# --------------------------------------------------------------------------- loss


def test_loss_zero_for_linear_u_and_constant_f():
    a = torch.tensor([0.5, -2.0, 1.5], dtype=DT)
    u, f = Linear(a, 0.25), Constant(a)
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(1), dtype=DT)
    xc = torch.randn(11, 3, generator=torch.Generator().manual_seed(2), dtype=DT)
    y = (x @ a + 0.25).detach()
    terms = gradinn_loss(u, f, x, y, xc, lam=3.0)
    assert terms.total.item() == 0.0 and terms.data.item() == 0.0 and terms.reg.item() == 0.0
    # a wrong gradient prior, or wrong data, makes it positive
    bad_f = Constant(a + torch.tensor([0.0, 0.1, 0.0], dtype=DT))
    t2 = gradinn_loss(u, bad_f, x, y, xc, lam=3.0)
    assert t2.reg.item() == pytest.approx(0.01) and t2.total.item() == pytest.approx(0.03)
    t3 = gradinn_loss(u, f, x, y + 0.1, xc, lam=3.0)
    assert t3.data.item() == pytest.approx(0.01) and t3.reg.item() == 0.0
    # lam = 0 ignores the mismatch
    assert gradinn_loss(u, bad_f, x, y, xc, lam=0.0).total.item() == 0.0


def test_loss_zero_when_f_is_autograd_gradient_of_u():
    u = ValueNet(2, 6, 2, seed=3, dtype="float64")

    class GradOfU(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return input_gradient(u, x)

    x = torch.rand(5, 2, generator=torch.Generator().manual_seed(0), dtype=DT)
    xc = torch.rand(9, 2, generator=torch.Generator().manual_seed(1), dtype=DT)
    y = u(x).detach()
    assert gradinn_loss(u, GradOfU(), x, y, xc, lam=1.0).total.item() == 0.0
    prior = SmoothPrior(2, seed=3, dtype="float64")
    terms = gradinn_loss(u, prior, x, y, xc, lam=1.0)
    assert terms.reg.item() > 0 and terms.total.item() > 0


def test_input_gradient_matches_analytic():
    u = ValueNet(3, 5, 2, seed=0, dtype="float64")
    x = torch.rand(4, 3, generator=torch.Generator().manual_seed(0), dtype=DT)
    g = input_gradient(u, x)
    eps = 1e-6
    fd = torch.stack([(u(x + eps * e) - u(x - eps * e)) / (2 * eps) for e in torch.eye(3, dtype=DT)], 1)
    torch.testing.assert_close(g, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- networks


def test_priors_shapes_seeding_and_small_start():
    x = torch.rand(6, 3, generator=torch.Generator().manual_seed(0), dtype=DT)
    for prior in ("smooth", "sinusoidal"):
        f1 = make_prior(prior, 3, seed=4, dtype="float64")
        f2 = make_prior(prior, 3, seed=4, dtype="float64")
        out = f1(x)
        assert out.shape == (6, 3) and out.dtype == DT
        torch.testing.assert_close(out, f2(x), rtol=0, atol=0)
        assert out.abs().max() < 0.5  # small output weights at the start
    sp = SinusoidalPrior(3, n_features=5, seed=0)
    assert sp.omega.shape == (5, 3) and not sp.omega.requires_grad
    assert [n for n, _ in sp.named_parameters()] == ["out.weight", "out.bias"]
    assert sum(p.numel() for p in SmoothPrior(3, hidden=8).parameters()) == 3 * 8 + 8 + 8 * 3 + 3


def test_value_net_dtype_and_shape():
    u = ValueNet(2, 4, 3, "sin", seed=1, dtype="float32")
    assert u(torch.zeros(5, 2)).shape == (5,)
    assert all(p.dtype == torch.float32 for p in u.parameters())


# --------------------------------------------------------------------------- training


def test_prior_is_trained_only_when_lam_positive():
    x, y, dom = toy(6)
    f0 = SmoothPrior(1, seed=0, dtype="float64")
    before = params(f0)
    on = train_gradinn(x, y, dom, lam=1.0, prior_net=f0, n_colloc=16, epochs=2, lr=1e-2, **TINY)
    assert all(not torch.equal(a, b) for a, b in zip(before, params(on.f), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(before, params(f0), strict=True))  # caller's F untouched
    off = train_gradinn(x, y, dom, lam=0.0, prior_net=f0, n_colloc=16, epochs=2, lr=1e-2, **TINY)
    assert all(torch.equal(a, b) for a, b in zip(before, params(off.f), strict=True))
    frozen = train_gradinn(x, y, dom, lam=1.0, prior_net=f0, freeze_prior=True, n_colloc=16, epochs=2,
                           lr=1e-2, **TINY)
    assert all(torch.equal(a, b) for a, b in zip(before, params(frozen.f), strict=True))


def test_collocation_redrawn_each_epoch_and_in_domain():
    x = torch.tensor([[0.5, 2.0]], dtype=DT)
    y = torch.tensor([1.0], dtype=DT)
    dom = torch.tensor([[0.0, 1.0], [-3.0, 5.0]], dtype=DT)
    res = train_gradinn(x, y, dom, n_colloc=32, epochs=3, record_colloc=True, prior="sinusoidal", **TINY)
    pts = res.history.colloc
    assert len(pts) == 3 and all(p.shape == (32, 2) for p in pts)
    for p in pts:
        assert (p >= dom[:, 0]).all() and (p <= dom[:, 1]).all()
    assert not torch.equal(pts[0], pts[1]) and not torch.equal(pts[1], pts[2])
    # the points come from stream(seed, 2)
    gen = stream(0, 2)
    torch.testing.assert_close(pts[0], sample_collocation(dom, 32, gen), rtol=0, atol=0)
    torch.testing.assert_close(pts[1], sample_collocation(dom, 32, gen), rtol=0, atol=0)


@pytest.mark.parametrize("prior", ["smooth", "sinusoidal"])
def test_same_seed_same_weights(prior):
    x, y, dom = toy(5)
    kw = dict(prior=prior, n_colloc=8, epochs=3, lr=1e-2, **TINY)
    r1 = train_gradinn(x, y, dom, seed=7, **kw)
    r2 = train_gradinn(x, y, dom, seed=7, **kw)
    r3 = train_gradinn(x, y, dom, seed=8, **kw)
    for m1, m2 in ((r1.u, r2.u), (r1.f, r2.f)):
        for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
            assert torch.equal(a, b), k
    assert r1.history.loss == r2.history.loss
    assert not torch.equal(r1.u.net[0].weight, r3.u.net[0].weight)


def test_baselines_seeded_and_share_initial_u():
    x, y, dom = toy(5)
    g = 2 * torch.cos(2 * x)
    a = train_sobolev(x, y, g, epochs=2, lr=1e-2, seed=3, **TINY)
    b = train_sobolev(x, y, g, epochs=2, lr=1e-2, seed=3, **TINY)
    assert torch.equal(a.u.net[0].weight, b.u.net[0].weight)
    assert a.history.reg_loss[0] > 0
    u0 = ValueNet(1, 8, 1, seed=3, dtype="float64")
    nn_res = train_standard_nn(x, y, epochs=1, lr=1e-12, seed=3, **TINY)  # one negligible step
    torch.testing.assert_close(nn_res.u.net[0].weight, u0.net[0].weight, rtol=0, atol=1e-10)


def test_lambda_schedule_recorded():
    x, y, dom = toy(5)
    res = train_gradinn(x, y, dom, lam=lambda e: 0.5 * e, n_colloc=4, epochs=3, **TINY)
    assert res.history.lam == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="'lam'"):
        train_gradinn(x, y, dom, lam=lambda e: -1.0, n_colloc=4, epochs=2, **TINY)


def test_smooth_toy_problem_both_train():
    x, y, dom = toy(10)
    kw = dict(epochs=100, lr=1e-2, seed=0, width=8, depth=2, dtype="float64")
    g = train_gradinn(x, y, dom, lam=0.1, prior="smooth", n_colloc=16, **kw)
    s = train_standard_nn(x, y, **kw)
    for h in (g.history, s.history):
        assert h.data_loss[-1] < 0.5 * h.data_loss[0]
    assert g.history.loss[-1] < g.history.loss[0]
    assert s.history.reg_loss == [0.0] * 100


# --------------------------------------------------------------------------- baselines


def test_pinn_residual_zero_for_exact_ode_solution():
    t = torch.linspace(0, 2, 17, dtype=DT)[:, None]

    def exact(z: Tensor) -> Tensor:
        return torch.exp(-z[:, 0])

    assert pinn_residual_loss(exact, decay_residual(1.0), t).item() == pytest.approx(0.0, abs=1e-28)
    terms = pinn_loss(exact, decay_residual(1.0), t, exact(t), t, lam=2.0)
    assert terms.total.item() == pytest.approx(0.0, abs=1e-28)
    assert pinn_residual_loss(exact, decay_residual(2.0), t).item() > 1e-3  # wrong rate


def test_burgers_residual_zero_for_exact_solution():
    xt = torch.rand(20, 2, generator=torch.Generator().manual_seed(0), dtype=DT)

    def exact(z: Tensor) -> Tensor:  # u = x / (1 + t) solves u_t + u u_x = nu u_xx for every nu
        return z[:, 0] / (1 + z[:, 1])

    assert pinn_residual_loss(exact, burgers_residual(0.1), xt).item() == pytest.approx(0.0, abs=1e-28)
    assert pinn_residual_loss(lambda z: z[:, 0] ** 2, burgers_residual(0.1), xt).item() > 1e-3


def test_lotka_volterra_prey_residual_zero_on_the_reference_trajectory():
    from derivlearn.problems import get

    p = get("lotka_volterra")
    t = torch.linspace(0, 10, 41, dtype=DT)[:, None]
    s = p.state(t)
    x, y = s[:, 0], s[:, 1]
    x_t, y_t = p.rhs(x, y)
    x_tt = p.alpha * x_t - p.beta * (x_t * y + x * y_t)  # d/dt of alpha x - beta x y
    r = lotka_volterra_prey_ode(x, x_t, x_tt, p.alpha, p.beta, p.gamma, p.delta, 9.0)
    assert r.abs().max().item() < 1e-9
    assert (lotka_volterra_prey_ode(x, x_t, 1.1 * x_tt, p.alpha, p.beta, p.gamma, p.delta, 9.0)
            .abs().max().item() > 1e-2)


def test_lotka_volterra_prey_residual_takes_derivatives_by_autograd():
    t = torch.linspace(0, 3, 13, dtype=DT)[:, None]
    u = lambda z: 2 + torch.sin(z[:, 0])  # noqa: E731 - any smooth trajectory
    tt = t.clone().requires_grad_(True)
    got = lotka_volterra_prey_residual()(tt, u)
    want = lotka_volterra_prey_ode(2 + torch.sin(t[:, 0]), torch.cos(t[:, 0]), -torch.sin(t[:, 0]),
                                   1.5, 1.0, 3.0, 1.0, 9.0 * 4.5)
    torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-13)
    three = lambda z: torch.full_like(z[:, 0], 3.0) + 0 * z[:, 0]  # noqa: E731 - the equilibrium
    assert pinn_residual_loss(three, lotka_volterra_prey_residual(), t).item() == 0.0
    with pytest.raises(ValueError, match="gamma"):
        lotka_volterra_prey_residual(gamma=-1.0)


def test_sobolev_loss_zero_for_exact_gradients_and_pinn_trains():
    a = torch.tensor([1.0, -1.0], dtype=DT)
    u = Linear(a, 0.0)
    x = torch.rand(4, 2, generator=torch.Generator().manual_seed(0), dtype=DT)
    assert sobolev_loss(u, x, (x @ a).detach(), a.expand(4, 2), lam=1.0).total.item() == 0.0
    assert sobolev_loss(u, x, (x @ a).detach(), 0 * x, lam=1.0).reg.item() == pytest.approx(2.0)
    t = torch.linspace(0, 1, 4, dtype=DT)[:, None]
    res = train_pinn(t, torch.exp(-t[:, 0]), torch.tensor([[0.0, 1.0]], dtype=DT), decay_residual(),
                     lam=1.0, n_colloc=16, epochs=40, lr=1e-2, **TINY)
    assert res.history.loss[-1] < res.history.loss[0]
    assert res.history.reg_loss[0] > 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, name", [
    (dict(prior="gaussian"), "prior"),
    (dict(lam=-1.0), "lam"),
    (dict(n_colloc=0), "n_colloc"),
    (dict(epochs=0), "epochs"),
    (dict(lr=0.0), "lr"),
    (dict(seed=-1), "seed"),
    (dict(width=0), "width"),
    (dict(depth=1.5), "depth"),
    (dict(activation="relu6"), "activation"),
    (dict(dtype="float16"), "dtype"),
    (dict(prior_options={"n_features": 4}), "prior_options"),
    (dict(prior_net=SmoothPrior(2)), "prior_net"),
    (dict(domain=torch.tensor([[1.0, 0.0]])), "domain"),
    (dict(domain=torch.zeros(2, 2)), "domain"),
    (dict(y=torch.zeros(3)), "y"),
    (dict(x=torch.zeros(4)), "x"),
])
def test_bad_arguments_raise(kwargs, name):
    args = dict(x=torch.zeros(4, 1), y=torch.zeros(4), domain=torch.tensor([[0.0, 1.0]]))
    args.update({k: kwargs.pop(k) for k in ("x", "y", "domain") if k in kwargs})
    with pytest.raises(ValueError, match=f"parameter '{name}'"):
        train_gradinn(args["x"], args["y"], args["domain"], epochs=kwargs.pop("epochs", 1), **kwargs)


def test_baseline_bad_arguments_raise():
    x, y, dom = toy(4)
    with pytest.raises(ValueError, match="parameter 'g'"):
        train_sobolev(x, y, torch.zeros(4, 2, dtype=DT), epochs=1)
    with pytest.raises(ValueError, match="parameter 'residual'"):
        train_pinn(x, y, dom, "not callable", epochs=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="parameter 'residual'"):
        pinn_residual_loss(lambda z: z.sum(), lambda xc, u: u(xc).sum(), x)
    with pytest.raises(ValueError, match="parameter 'epochs'"):
        train_standard_nn(x, y, epochs=0)
    with pytest.raises(ValueError, match="parameter 'sigma'"):
        SinusoidalPrior(1, sigma=0.0)
    with pytest.raises(ValueError, match="parameter 'nu'"):
        burgers_residual(-1.0)
