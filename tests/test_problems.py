"""Reference problems of the GradINN chapter: gradients, closed-form properties, references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from derivlearn import problems
from derivlearn.problems import Burgers, LotkaVolterra, StokesSphere
from derivlearn.problems.burgers import NU

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _central_fd(p: problems.Problem, x: torch.Tensor, h: float) -> torch.Tensor:
    cols = []
    for j in range(p.dim):
        e = torch.zeros(p.dim, dtype=F64)
        e[j] = h
        cols.append((p.value(x + e) - p.value(x - e)) / (2 * h))
    return torch.stack(cols, dim=1)


# --------------------------------------------------------------------------- registry and API


def test_registry_names_and_interface():
    assert problems.names() == ["friedman1", "friedman1_5d", "stokes", "lotka_volterra",
                                "lotka_volterra_predator", "burgers"]
    for name in problems.names():
        p = problems.get(name)
        assert p.name == name
        assert p.domain.shape == (p.dim, 2) and p.domain.dtype == F64
        x = p.sample(7, _gen(1))
        assert x.shape == (7, p.dim) and x.dtype == F64
        assert torch.equal(x, p.sample(7, _gen(1)))  # seeded
        lo, hi = p.domain[:, 0], p.domain[:, 1]
        assert bool(((x >= lo) & (x <= hi)).all())
        v, g = p.value(x), p.gradient(x)
        assert v.shape == (7,) and g.shape == (7, p.dim)
        assert v.dtype == F64 and g.dtype == F64
        assert torch.equal(p(x), v)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="allowed: .*'burgers'"):
        problems.get("nope")
    p = problems.get("stokes")
    bads = (torch.zeros(3, 3, dtype=F64), torch.zeros(3, dtype=F64), torch.zeros(3, 2, dtype=torch.int64))
    for bad in bads:
        with pytest.raises(ValueError, match="parameter 'x'"):
            p.value(bad)
        with pytest.raises(ValueError, match="parameter 'x'"):
            p.gradient(bad)
    with pytest.raises(ValueError, match="parameter 'n'"):
        p.sample(0, _gen())
    with pytest.raises(ValueError, match="parameter 'a'"):
        StokesSphere(a=-1.0)
    with pytest.raises(ValueError, match="parameter 'extent'"):
        StokesSphere(a=2.0, extent=1.5)
    with pytest.raises(ValueError, match="parameter 'component'.*'prey'"):
        LotkaVolterra(component="fox")
    with pytest.raises(ValueError, match="parameter 'x'"):
        LotkaVolterra().value(torch.tensor([[11.0]], dtype=F64))
    with pytest.raises(ValueError, match="parameter 'n_nodes'"):
        Burgers(n_nodes=3)
    with pytest.raises(ValueError, match="parameter 'x'"):
        problems.get("friedman1").value(torch.zeros(2, 5, dtype=F64))
    b = Burgers()
    z = torch.zeros(4, dtype=F64)
    with pytest.raises(ValueError, match="common shape"):
        b.residual(z, z, z, torch.zeros(5, dtype=F64))
    with pytest.raises(ValueError, match="common shape"):
        LotkaVolterra().residual(z, z, z, z, torch.zeros(3, dtype=F64))


# --------------------------------------------------------------------------- gradients vs finite differences


@pytest.mark.parametrize("name", problems.names())
def test_gradient_matches_central_differences(name):
    p = problems.get(name)
    x = p.sample(200, _gen(2))
    h = 1e-6
    if name.startswith("lotka"):
        h = 1e-5
        x = x.clamp(2 * h, p.domain[0, 1].item() - 2 * h)
    if name == "burgers":
        x[:, 1] = x[:, 1].clamp(min=2 * h)  # the central stencil must stay in t >= 0
    g, fd = p.gradient(x), _central_fd(p, x, h)
    err = ((g - fd).abs() / (1 + g.abs())).max().item()
    # measured: friedman1 1e-9, stokes 4e-10, Lotka-Volterra 2e-9, burgers 1e-8 (|u_x| up to ~140)
    assert err < 1e-6, err


def test_friedman_inactive_inputs_have_zero_gradient():
    p = problems.get("friedman1")
    g = p.gradient(p.sample(50, _gen(3)))
    assert torch.equal(g[:, 5:], torch.zeros(50, 5, dtype=F64))


def test_friedman_five_active_inputs_form():
    """The 5-input form is the 10-input one without its inactive inputs."""
    p5, p10 = problems.get("friedman1_5d"), problems.get("friedman1")
    assert (p5.dim, p10.dim) == (5, 10) and p5.name == "friedman1_5d"
    assert torch.equal(p5.domain, p10.domain[:5])
    x = p10.sample(64, _gen(4))
    torch.testing.assert_close(p5.value(x[:, :5]), p10.value(x), rtol=0, atol=0)
    torch.testing.assert_close(p5.gradient(x[:, :5]), p10.gradient(x)[:, :5], rtol=0, atol=0)
    x0 = torch.tensor([[0.5, 0.5, 0.5, 0.0, 0.0]], dtype=F64)  # 10 sin(pi/4)
    assert p5.value(x0).item() == pytest.approx(10 * math.sin(math.pi / 4))
    for bad in (7, True, "5"):
        with pytest.raises(ValueError, match="parameter 'n_inputs'"):
            problems.Friedman1(n_inputs=bad)
    with pytest.raises(ValueError, match="parameter 'x'"):
        p5.value(torch.zeros(2, 10, dtype=F64))


# --------------------------------------------------------------------------- Stokes


def test_stokes_sample_outside_sphere():
    p = StokesSphere(a=1.0)
    x = p.sample(4000, _gen(4))
    r = torch.linalg.vector_norm(x, dim=1)
    assert x.shape == (4000, 2) and bool((r >= 1.0).all()) and bool(p.contains(x).all())
    assert bool((x[:, 1] >= 0).all()) and bool((x.abs() <= 3.0).all())
    # uniform on the box minus the half disc: the fraction with x > 0 is 1/2
    assert abs((x[:, 0] > 0).double().mean().item() - 0.5) < 0.03


@pytest.mark.parametrize(("a", "U"), [(1.0, 1.0), (0.7, 2.5)])
def test_stokes_boundary_and_far_field(a, U):
    p = StokesSphere(a=a, U=U)
    th = torch.linspace(0, math.pi, 37, dtype=F64)
    surf = torch.stack((a * torch.cos(th), a * torch.sin(th)), dim=1)
    assert p.value(surf).abs().max().item() < 1e-14
    # no slip: the whole gradient (hence the velocity) vanishes on the surface
    assert p.gradient(surf).abs().max().item() < 1e-14
    axis = torch.stack((torch.linspace(-3, 3, 41, dtype=F64), torch.zeros(41, dtype=F64)), dim=1)
    axis = axis[axis[:, 0].abs() >= a]
    assert torch.equal(p.value(axis), torch.zeros(len(axis), dtype=F64))
    for r in (1e2, 1e4, 1e6):
        far = torch.stack((r * torch.cos(th[1:-1]), r * torch.sin(th[1:-1])), dim=1)
        rel = (p.value(far) / (0.5 * U * far[:, 1] ** 2) - 1).abs().max().item()
        assert rel < 1.5 * a / r * 1.0001
        vel = p.velocity(far)
        assert (vel - torch.tensor([U, 0.0], dtype=F64)).abs().max().item() < 2 * abs(U) * a / r


# --------------------------------------------------------------------------- Lotka-Volterra


def test_lotka_volterra_reference():
    p = LotkaVolterra()
    q = problems.get("lotka_volterra_predator")
    t = torch.linspace(0, 10, 2001, dtype=F64).unsqueeze(1)
    s = p.state(t)
    assert torch.allclose(s[0], torch.tensor([1.0, 1.0], dtype=F64), rtol=0, atol=1e-14)
    assert torch.equal(p.value(t), s[:, 0]) and torch.equal(q.value(t), s[:, 1])
    inv = p.invariant(s[:, 0], s[:, 1])
    drift = (inv - inv[0]).abs().max().item()
    assert drift < 1e-9, drift  # measured 5e-11
    # the ODE residual vanishes on the reference: exactly with the exact derivatives ...
    dx, dy = p.gradient(t)[:, 0], q.gradient(t)[:, 0]
    assert p.residual(t[:, 0], s[:, 0], s[:, 1], dx, dy).abs().max().item() == 0.0
    # ... and up to the finite-difference error with derivatives of the dense output
    tin = t[1:-1]
    h = 1e-5
    sp, sm = p.state(tin + h), p.state(tin - h)
    d = (sp - sm) / (2 * h)
    si = p.state(tin)
    res = p.residual(tin[:, 0], si[:, 0], si[:, 1], d[:, 0], d[:, 1])
    assert res.shape == (1999, 2)
    assert res.abs().max().item() < 1e-6  # measured 7e-9
    # the trajectory is a genuine predator-prey cycle on [0, 10]
    assert 0.1 < s[:, 0].min().item() and s[:, 0].max().item() < 10


def test_lotka_volterra_residual_is_differentiable():
    p = LotkaVolterra()
    x = torch.tensor([1.0, 2.0], dtype=F64, requires_grad=True)
    r = p.residual(torch.zeros(2, dtype=F64), x, torch.ones(2, dtype=F64), torch.zeros(2, dtype=F64),
                   torch.zeros(2, dtype=F64))
    (g,) = torch.autograd.grad(r[:, 0].sum(), x)
    assert torch.allclose(g, torch.full((2,), -(1.5 - 1.0), dtype=F64))


# --------------------------------------------------------------------------- Burgers


def _burgers_fd(m: int, t_ends: tuple[float, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Conservative central differences in x, SSP-RK3 in time, Dirichlet zero boundaries."""
    x = np.linspace(-1.0, 1.0, m + 1)
    dx = x[1] - x[0]
    u = -np.sin(np.pi * x)
    u[0] = u[-1] = 0.0

    def rhs(v: np.ndarray) -> np.ndarray:
        r = np.zeros_like(v)
        f = 0.5 * v * v
        r[1:-1] = -(f[2:] - f[:-2]) / (2 * dx) + NU * (v[2:] - 2 * v[1:-1] + v[:-2]) / dx ** 2
        return r

    out, t = [], 0.0
    for t_end in t_ends:
        n = int(np.ceil((t_end - t) / (0.3 * min(dx * dx / NU, dx))))
        dt = (t_end - t) / n
        for _ in range(n):
            u1 = u + dt * rhs(u)
            u2 = 0.75 * u + 0.25 * (u1 + dt * rhs(u1))
            u = u / 3 + 2 / 3 * (u2 + dt * rhs(u2))
        t = t_end
        out.append(u.copy())
    return x, out


def test_burgers_matches_finite_difference_solve():
    m = 2000
    x, snaps = _burgers_fd(m, (0.25, 0.5))
    xs = np.array([-0.75, -0.5, -0.25, -0.05, -0.02, 0.0, 0.02, 0.05, 0.25, 0.5, 0.75])
    idx = np.rint((xs + 1) / 2 * m).astype(int)
    p = Burgers()
    for t_end, u in zip((0.25, 0.5), snaps, strict=True):
        pts = torch.from_numpy(np.stack((x[idx], np.full(len(idx), t_end)), axis=1))
        err = np.abs(p.value(pts).numpy() - u[idx]).max()
        assert err < 1e-3, (t_end, err)  # measured 3e-5 (t = 0.25), 1.1e-4 (t = 0.5, at x = ±0.02)


def test_burgers_quadrature_converged():
    x = Burgers().sample(300, _gen(5))
    x[:50, 1] = 1.0  # the latest time is the hardest for the quadrature
    diff = (Burgers(n_nodes=256).value(x) - Burgers(n_nodes=512).value(x)).abs().max().item()
    assert diff < 1e-12, diff  # measured ~1e-15


def test_burgers_residual_of_reference_is_small():
    p = Burgers()
    x = p.sample(400, _gen(6))
    u, u_t, u_x, u_xx = p.derivatives(x)
    r = p.residual(u, u_t, u_x, u_xx)
    scale = (u * u_x).abs().max().item()  # ~50 near the shock
    assert r.abs().max().item() < 1e-10 * scale  # measured ~3e-14 absolute


def test_burgers_initial_and_boundary_conditions():
    p = Burgers()
    xs = torch.linspace(-1, 1, 101, dtype=F64)
    init = torch.stack((xs, torch.zeros_like(xs)), dim=1)
    assert torch.equal(p.value(init), -torch.sin(math.pi * xs))
    u, u_t, u_x, u_xx = p.derivatives(init)
    assert torch.allclose(u_x, -math.pi * torch.cos(math.pi * xs), rtol=0, atol=1e-12)
    assert torch.allclose(u_xx, math.pi ** 2 * torch.sin(math.pi * xs), rtol=0, atol=1e-10)
    assert p.residual(u, u_t, u_x, u_xx).abs().max().item() < 1e-12
    # u_t is continuous at t = 0 (the t = 0 value comes from the PDE, t > 0 from the quadrature)
    later = torch.stack((xs, torch.full_like(xs, 1e-8)), dim=1)
    assert (p.gradient(later)[:, 1] - u_t).abs().max().item() < 1e-6
    ts = torch.linspace(0, 1, 51, dtype=F64)
    for side in (-1.0, 1.0):
        bnd = torch.stack((torch.full_like(ts, side), ts), dim=1)
        assert p.value(bnd).abs().max().item() < 1e-14
