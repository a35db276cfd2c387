"""Test functions: registry, literature minima, float64 derivatives against finite differences."""

from __future__ import annotations

import math

import pytest
import torch

from derivlearn import functions

T64 = torch.float64


def test_registry_has_table_i_and_nd():
    assert len(functions.TABLE_I_NAMES) == 18
    assert {functions.get(n).category for n in functions.TABLE_I_NAMES} == {
        "bowl", "plate", "valley", "steep", "other"}
    assert functions.names("valley") == ["rosenbrock", "three_hump_camel", "six_hump_camel",
                                         "dixon_price"]
    assert functions.get("rosenbrock_nd", dim=8).domain.shape == (8, 2)
    assert functions.get("friedman1").dim == 10


@pytest.mark.parametrize("call, name", [
    (lambda: functions.get("rosenbrok"), "'name'"),
    (lambda: functions.get("branin", dim=3), "'dim'"),
    (lambda: functions.get("rosenbrock_nd"), "'dim'"),
    (lambda: functions.get("rosenbrock_nd", dim=1), "'dim'"),
    (lambda: functions.names("spiky"), "'category'"),
    (lambda: functions.get("branin")(torch.zeros(3, 3)), "'x'"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


WITH_MIN = [n for n in functions.TABLE_I_NAMES if functions.get(n).minimum is not None]


@pytest.mark.parametrize("name", WITH_MIN + ["rosenbrock_nd"])
def test_literature_minimum(name):
    f = functions.get(name, dim=5 if name == "rosenbrock_nd" else None)
    x = torch.tensor(f.argmin, dtype=T64)
    dom = f.domain
    assert bool(((x >= dom[:, 0]) & (x <= dom[:, 1])).all())
    torch.testing.assert_close(f(x), torch.full((len(x),), f.minimum, dtype=T64),
                               rtol=1e-9, atol=1e-9)
    # no sample of the domain goes below the minimum
    pts = f.sample(20000, torch.Generator().manual_seed(0))
    assert float(f(pts).min()) >= f.minimum - 1e-9
    # a smooth minimum is a stationary point (sum_of_different_powers too: |x|^2, |x|^3)
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x)
    assert float(g.abs().max()) < 1e-6


def test_textbook_values():
    # Goldstein-Price and Branin at points away from their minima (closed forms by hand)
    gp = functions.get("goldstein_price")(torch.tensor([[0.0, 0.0]], dtype=T64))
    assert float(gp) == pytest.approx((1 + 19) * (30 + 0))  # a = 1 + 1*19, b = 30 + 0*18
    br = functions.get("branin")(torch.tensor([[0.0, 0.0]], dtype=T64))
    assert float(br) == pytest.approx(36 + 10 * (1 - 1 / (8 * math.pi)) + 10)
    fr = functions.get("friedman1")(torch.full((1, 10), 0.5, dtype=T64))
    assert float(fr) == pytest.approx(10 * math.sin(math.pi / 4) + 5 + 2.5)


@pytest.mark.parametrize("name", [*functions.TABLE_I_NAMES, "friedman1"])
def test_gradient_and_hessian_match_central_differences(name):
    f = functions.get(name)
    x = f.sample(4, torch.Generator().manual_seed(1)).requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    h = torch.stack([torch.autograd.grad(g[:, j].sum(), x, retain_graph=True)[0]
                     for j in range(f.dim)], dim=1)  # (N, d, d)
    x = x.detach()
    scale = (f.domain[:, 1] - f.domain[:, 0])
    for j in range(f.dim):
        e = torch.zeros(f.dim, dtype=T64)
        e[j] = 1e-6 * scale[j]
        fd = (f(x + e) - f(x - e)) / (2 * e[j])
        torch.testing.assert_close(g[:, j].detach(), fd, rtol=1e-6, atol=1e-6 * fd.abs().max())
        with torch.enable_grad():
            xp = (x + e).requires_grad_(True)
            xm = (x - e).requires_grad_(True)
            gp = torch.autograd.grad(f(xp).sum(), xp)[0]
            gm = torch.autograd.grad(f(xm).sum(), xm)[0]
        fd_h = (gp - gm) / (2 * e[j])
        torch.testing.assert_close(h[:, :, j], fd_h, rtol=1e-5, atol=1e-5 * fd_h.abs().max() + 1e-9)
