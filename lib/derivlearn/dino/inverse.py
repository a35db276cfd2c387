"""The outer loop DINO is built for: a MAP estimate of the parameter from noisy observations.

For observations ``q_obs = F(m_true) + noise``, noise ``N(0, sigma^2 I)``, and the Gaussian prior
``N(m_bar, C)`` with ``C = A^-1 M A^-1`` (:class:`derivlearn.solvers.pde.prior.BiLaplacianPrior`),
the MAP point minimises

    Phi(m) = ||F(m) - q_obs||^2 / (2 sigma^2) + (m - m_bar)^T C^-1 (m - m_bar) / 2.

:func:`gauss_newton_map` minimises it by Gauss-Newton with a backtracking line search. Each step
needs the map's value and Jacobian J (d_Q x d_M, d_Q = 50) at the current point, from either
the PDE (:meth:`PDEMap.observe_and_jacobian`, 50 adjoint solves) or a trained DINO surrogate
(:func:`surrogate_model`, network Jacobians), which is the comparison the chapter makes. The
Gauss-Newton system ``(J^T J / sigma^2 + C^-1) dm = -grad`` is solved exactly with the
Woodbury identity, since J has only d_Q rows:

    (J^T J / s^2 + C^-1)^-1 = C - C J^T (s^2 I + J C J^T)^-1 J C,

so a step costs d_Q + 2 applications of C (two sparse solves each with the prior's factorization)
and one d_Q x d_Q solve; no d_M x d_M matrix is formed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla
import torch
from torch import Tensor

Model = Callable[[Tensor], tuple[Tensor, Tensor]]
"""``m (d_M,) -> (q (d_Q,), J (d_Q, d_M))``, float64."""


class PriorOperators:
    """``C = A^-1 M A^-1`` and ``C^-1 = A M^-1 A`` of a BiLaplacian prior as functions on
    blocks of vectors (d_M, k), with one factorization of A and of M."""

    def __init__(self, prior) -> None:
        self.A, self.M = prior.A.tocsc(), prior.M.tocsc()
        self._a, self._m = spla.splu(self.A), spla.splu(self.M)
        self.mean = prior.mean_vector.to(torch.float64)

    def cov(self, x: np.ndarray) -> np.ndarray:
        return self._a.solve(self.M @ self._a.solve(x))

    def precision(self, x: np.ndarray) -> np.ndarray:
        return self.A @ self._m.solve(self.A @ x)


@dataclass
class MapResult:
    """The MAP point and its history: ``cost`` Phi, ``misfit`` ||F(m) - q_obs|| / ||q_obs||
    and the step's gradient norm per iteration, the number of model evaluations, the time."""

    m: Tensor
    cost: list[float] = field(default_factory=list)
    misfit: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    evaluations: int = 0
    seconds: float = 0.0
    converged: bool = False


def posterior_cost(q: Tensor, q_obs: Tensor, noise_std: float, prior: PriorOperators, m: Tensor) -> float:
    """``Phi(m)`` of the module docstring for the map's value ``q = F(m)``.
    *Shapes:* q, q_obs (d_Q,), m (d_M,)."""
    r = (q.detach().to(torch.float64) - q_obs.detach().to(torch.float64)).numpy()
    dx = (m.detach().to(torch.float64) - prior.mean).numpy()
    return float(0.5 * r @ r / float(noise_std) ** 2 + 0.5 * dx @ prior.precision(dx))


def gauss_newton_map(model: Model, q_obs: Tensor, noise_std: float, prior: PriorOperators,
                     m0: Tensor | None = None, max_iter: int = 20, rtol: float = 1e-8,
                     max_backtracks: int = 20) -> MapResult:
    """Gauss-Newton with Armijo backtracking for the MAP point (module docstring).

    Args:
        model: value and Jacobian of the map at one point (:data:`Model`).
        q_obs: observations. *Shape:* (d_Q,).
        noise_std: sigma > 0.
        prior: the prior's operators.
        m0: start (default: the prior mean). *Shape:* (d_M,).
        max_iter: Gauss-Newton iterations.
        rtol: stop when the Newton decrement ``-grad . dm`` falls below ``rtol * Phi(m0)``.
        max_backtracks: halvings of the step before giving up.
    """
    if not noise_std > 0:
        raise ValueError(f"parameter 'noise_std': must be > 0, got {noise_std!r}")
    if q_obs.ndim != 1:
        raise ValueError(f"parameter 'q_obs': must be a vector (d_Q,), got shape {tuple(q_obs.shape)}")
    t0 = time.perf_counter()
    s2 = float(noise_std) ** 2
    mbar = prior.mean.numpy()
    m = (prior.mean if m0 is None else m0).detach().to(torch.float64).numpy().copy()
    qo = q_obs.detach().to(torch.float64).numpy()
    out = MapResult(m=torch.from_numpy(m))

    def evaluate(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        q, jac = model(torch.from_numpy(x))
        out.evaluations += 1
        r = q.detach().to(torch.float64).numpy() - qo
        return (posterior_cost(q, q_obs, noise_std, prior, torch.from_numpy(x)), r,
                jac.detach().to(torch.float64).numpy())

    cost, r, jac = evaluate(m)
    cost0 = cost
    for _ in range(max_iter):
        grad = jac.T @ r / s2 + prior.precision(m - mbar)
        cj = prior.cov(jac.T)                                     # C J^T   (d_M, d_Q)
        small = s2 * np.eye(jac.shape[0]) + jac @ cj              # s^2 I + J C J^T
        cg = prior.cov(grad)
        step = -(cg - cj @ np.linalg.solve(small, jac @ cg))      # -(H^-1 grad) by Woodbury
        decrement = float(-grad @ step)
        out.cost.append(cost)
        out.misfit.append(float(np.linalg.norm(r) / np.linalg.norm(qo)))
        out.grad_norm.append(float(np.linalg.norm(grad)))
        if decrement <= rtol * max(cost0, 1e-300):
            out.converged = True
            break
        alpha = 1.0
        for _ in range(max_backtracks):
            trial = m + alpha * step
            c_new, r_new, j_new = evaluate(trial)
            if c_new <= cost - 1e-4 * alpha * decrement:
                m, cost, r, jac = trial, c_new, r_new, j_new
                break
            alpha *= 0.5
        else:
            break                                                  # no descent: stop where we are
    out.m = torch.from_numpy(m)
    out.seconds = time.perf_counter() - t0
    return out


def pde_model(pmap) -> Model:
    """The true map's value and adjoint Jacobian at one point."""
    def model(m: Tensor) -> tuple[Tensor, Tensor]:
        q, jac = pmap.observe_and_jacobian(m[None])
        return q[0], jac[0]
    return model


def surrogate_model(net) -> Model:
    """A trained DINO network's value and Jacobian (``∇g Φᵀ`` for a DIPNet) at one point."""
    from derivlearn.dino.jacobians import jacobian

    def model(m: Tensor) -> tuple[Tensor, Tensor]:
        x = m.to(net.dtype)[None]
        with torch.no_grad():
            q = net(x)[0]
        if net.is_projected:
            jg = jacobian(net.head, net.encode(x))[0]             # (d_Q, r_M)
            jac = jg @ net.phi.T
        else:
            jac = jacobian(net, x)[0]
        return q.to(torch.float64), jac.detach().to(torch.float64)
    return model


__all__ = ["MapResult", "Model", "PriorOperators", "gauss_newton_map", "pde_model", "posterior_cost",
           "surrogate_model"]
