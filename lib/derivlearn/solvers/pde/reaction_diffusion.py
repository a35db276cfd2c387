"""The reaction-diffusion map of the DINO chapter, solved by Newton.

``-div(e^m grad u) + u^3 = sum_i s_i g_i`` on the unit square, with the boundary conditions of
the Poisson map (``u = y`` on y = 0 and y = 1, zero flux on the left and right). Twenty-five
sources sit on the 5 x 5 grid ``linspace(0.25, 0.75, 5)^2`` (x the outer loop),
``g_i(x) = exp(-|x - x_i|^2 / w^2) / (2 pi w^2)`` with ``w = 0.1`` (the exponent divides by
``w^2``, not ``2 w^2``, as in the authors' code), strengths ``s_i = -0.25`` for even ``i`` and
``+0.25`` for odd ``i`` (13 negative, 12 positive). Prior: BiLaplacian, ``delta = 1``,
``gamma = 0.1``, mean -1. State P2, quadrature of order
:data:`~derivlearn.solvers.pde.poisson.INTORDER` (the source is integrated with the same rule).

Newton starts from the lift (``u = y`` on the Dirichlet edges, zero elsewhere) and stops on the
update, ``max|du| <= 1e-10 (1 + max|u|)`` (see :mod:`derivlearn.solvers.pde.problem`); the
cubic term is monotone, so it converges from there in a handful of steps.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .mesh import DEFAULT_N, unit_square
from .poisson import INTORDER, top_bottom, y_value
from .prior import BiLaplacianPrior
from .problem import PDEMap

WIDTH = 0.1
"""Width w of the Gaussian sources."""

STRENGTH = 0.25
"""Magnitude of the source strengths."""


def source_centres() -> np.ndarray:
    """The 25 source centres, x the outer loop. *Shape:* (25, 2)."""
    c = np.linspace(0.25, 0.75, 5)
    xx, yy = np.meshgrid(c, c, indexing="ij")
    return np.stack([xx.reshape(-1), yy.reshape(-1)], axis=1)


def source_strengths() -> np.ndarray:
    """``s_i``: -0.25 for even i, +0.25 for odd i. *Shape:* (25,)."""
    return np.where(np.arange(25) % 2 == 0, -STRENGTH, STRENGTH)


def source(x: np.ndarray) -> np.ndarray:
    """``sum_i s_i g_i(x)``. *Shape:* x (2, ...) -> (...)."""
    out = np.zeros(x.shape[1:])
    for c, s in zip(source_centres(), source_strengths(), strict=True):
        r2 = (x[0] - c[0]) ** 2 + (x[1] - c[1]) ** 2
        out += s * np.exp(-r2 / WIDTH**2) / (2 * np.pi * WIDTH**2)
    return out


class ReactionDiffusionMap(PDEMap):
    """``m -> B u`` for ``-div(e^m grad u) + u^3 = f``, ``u = y`` on top and bottom.

    Args:
        n: cells per side (default 64).
        state_element: ``"P2"`` (default) or ``"P1"``.
        newton_tol: Newton stopping tolerance on the update.
        batch_size: samples per block factorization.
    """

    name = "reaction_diffusion"

    def __init__(self, n: int = DEFAULT_N, *, state_element: str = "P2", newton_tol: float = 1e-10,
                 batch_size: int = 4) -> None:
        prior = BiLaplacianPrior(unit_square(n), delta=1.0, gamma=0.1, mean=-1.0)
        super().__init__(n, state_element=state_element, intorder=INTORDER, dirichlet=top_bottom,
                         dirichlet_value=y_value, prior=prior, linear=False, symmetric=True,
                         newton_tol=newton_tol, batch_size=batch_size)
        f_q = torch.from_numpy(source(np.asarray(self.state_basis.global_coordinates())))  # (E, Q)
        self.forcing = self.state.load(s=f_q[None])[0]

    def residual_full(self, u: Tensor, m: Tensor) -> Tensor:
        """``int e^m grad u . grad v + u^3 v - f v``. *Shapes:* u (N, n_dofs), m (N, d_M) ->
        (N, n_dofs)."""
        uq = self.state.values(u)
        r = self.state.load(s=uq**3, flux=self.coefficient(m)[..., None] * self.state.gradients(u))
        return r - self.forcing

    def coefficient_integrands(self, u: Tensor) -> tuple[None, Tensor]:
        """``e^m`` multiplies the diffusion flux only: ``a = None``, ``b = grad u`` (N, E, Q, 2)."""
        return None, self.state.gradients(u)

    def tangent_local(self, u: Tensor, m: Tensor) -> Tensor:
        """Element matrices of ``int e^m grad du . grad v + 3 u^2 du v``. *Shape:* -> (N, E, L, L)."""
        uq = self.state.values(u)
        return self.state.stiffness_local(self.coefficient(m)) + self.state.mass_local(3 * uq**2)
