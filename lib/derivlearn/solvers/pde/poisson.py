"""The Poisson map of the DINO chapter: ``-div(e^m grad u) = 0`` on the unit square.

``u = y`` on the bottom (y = 0) and top (y = 1) edges, natural (zero-flux) conditions on the
left and right. The parameter ``m`` is a P1 nodal vector with the BiLaplacian prior
``delta = 0.5``, ``gamma = 0.1``, mean 0; the state is P2 (as in the authors' code), the
observation the 50 point values of :mod:`derivlearn.solvers.pde.observation`.

The coefficient is ``e^m`` with ``m`` interpolated to the quadrature points first (as FEniCS
evaluates ``exp(m)`` of a P1 function); every integral uses the quadrature of order
:data:`INTORDER` (6 points per triangle). The problem is linear in u: one factorization per
sample gives the state, and the 50 adjoint solves of the Jacobian reuse it. P2 is fast enough
here (about 0.1-0.15 s per sample for ``observe`` at n = 64 on one thread, see
:mod:`derivlearn.solvers.pde.problem`), so the spec's P2 state is kept; ``state_element="P1"``
is available.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from .mesh import DEFAULT_N
from .prior import BiLaplacianPrior
from .problem import PDEMap

INTORDER = 4
"""Quadrature order of the P2 maps (exact for the P2 stiffness with a quadratic coefficient)."""


def top_bottom(locs: np.ndarray) -> np.ndarray:
    """Mask of the DOFs on the edges y = 0 and y = 1. *Shape:* (2, n) -> (n,)."""
    return np.isclose(locs[1], 0.0) | np.isclose(locs[1], 1.0)


def y_value(locs: np.ndarray) -> np.ndarray:
    """The boundary values ``u = y``. *Shape:* (2, k) -> (k,)."""
    return np.asarray(locs[1], dtype=np.float64)


class PoissonMap(PDEMap):
    """``m -> B u`` for ``-div(e^m grad u) = 0``, ``u = y`` on top and bottom.

    Args:
        n: cells per side (default 64: d_M = 4 225, 16 641 P2 DOFs).
        state_element: ``"P2"`` (default, the authors' choice) or ``"P1"``.
        batch_size: samples per block factorization.
    """

    name = "poisson"

    def __init__(self, n: int = DEFAULT_N, *, state_element: str = "P2", batch_size: int = 4) -> None:
        from .mesh import unit_square
        prior = BiLaplacianPrior(unit_square(n), delta=0.5, gamma=0.1, mean=0.0)
        super().__init__(n, state_element=state_element, intorder=INTORDER, dirichlet=top_bottom,
                         dirichlet_value=y_value, prior=prior, linear=True, symmetric=True,
                         batch_size=batch_size)

    def residual_full(self, u: Tensor, m: Tensor) -> Tensor:
        """``int e^m grad u . grad v``. *Shapes:* u (N, n_dofs), m (N, d_M) -> (N, n_dofs)."""
        return self.state.load(flux=self.coefficient(m)[..., None] * self.state.gradients(u))

    def coefficient_integrands(self, u: Tensor) -> tuple[None, Tensor]:
        """``R = load(flux = e^m grad u)``: ``a = None``, ``b = grad u``. *Shape:* b (N, E, Q, 2)."""
        return None, self.state.gradients(u)

    def tangent_local(self, u: Tensor, m: Tensor) -> Tensor:
        """Element stiffness matrices with coefficient ``e^m``. *Shape:* -> (N, E, L, L)."""
        return self.state.stiffness_local(self.coefficient(m))
