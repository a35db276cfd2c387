"""MAP estimation by Gauss-Newton with PDE or surrogate derivatives (the DINO outer loop)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from derivlearn.dino.inverse import PriorOperators, gauss_newton_map, pde_model, surrogate_model
from derivlearn.dino.networks import DinoNet
from derivlearn.solvers import pde


@pytest.fixture(scope="module")
def poisson():
    return pde.get("poisson", 8)


def test_linear_gaussian_map_is_the_posterior_mean_after_one_step(poisson):
    prior = PriorOperators(poisson.prior)
    d_m = poisson.n_params
    G = torch.randn(5, d_m, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    m_true = poisson.sample_prior(1, 3)[0]
    sigma = 0.05
    q = G @ m_true + sigma * torch.randn(5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    res = gauss_newton_map(lambda m: (G @ m, G), q, sigma, prior)
    C = poisson.prior.covariance()
    mbar = poisson.prior.mean_vector.numpy()
    g = G.numpy()
    exact = mbar + C @ g.T @ np.linalg.solve(g @ C @ g.T + sigma ** 2 * np.eye(5), q.numpy() - g @ mbar)
    assert np.allclose(res.m.numpy(), exact, rtol=1e-8, atol=1e-10)
    assert res.converged and res.evaluations == 2  # the start and the one full step


def test_gauss_newton_on_the_poisson_map_descends_and_converges(poisson):
    prior = PriorOperators(poisson.prior)
    m_true = poisson.sample_prior(1, 5)[0]
    sigma = 0.005
    q_obs = poisson.observe(m_true[None])[0]
    q_obs = q_obs + sigma * torch.randn(q_obs.shape, generator=torch.Generator().manual_seed(2),
                                        dtype=torch.float64)
    res = gauss_newton_map(pde_model(poisson), q_obs, sigma, prior, max_iter=15)
    assert res.converged
    assert all(b <= a for a, b in zip(res.cost, res.cost[1:], strict=False))
    assert res.misfit[-1] < res.misfit[0] and res.grad_norm[-1] < 1e-6 * res.grad_norm[0]


def test_surrogate_model_gives_the_network_jacobian_in_parameter_space():
    g = torch.Generator().manual_seed(0)
    phi = torch.linalg.qr(torch.randn(30, 8, generator=g, dtype=torch.float64))[0]
    for basis in (None, phi):
        net = DinoNet(30, 4, [8, 6], basis, dtype=torch.float64, seed=1)
        m = torch.randn(30, generator=g, dtype=torch.float64)
        q, jac = surrogate_model(net)(m)
        dense = torch.autograd.functional.jacobian(lambda v, f=net: f(v[None])[0], m)
        assert torch.allclose(q, net(m[None])[0].detach()) and torch.allclose(jac, dense, atol=1e-12)


def test_bad_input_names_the_parameter(poisson):
    prior = PriorOperators(poisson.prior)
    with pytest.raises(ValueError, match="noise_std"):
        gauss_newton_map(lambda m: (m[:2], torch.eye(2, m.numel())), torch.zeros(2), 0.0, prior)
    with pytest.raises(ValueError, match="q_obs"):
        gauss_newton_map(lambda m: (m[:2], torch.eye(2, m.numel())), torch.zeros(2, 1), 1.0, prior)
