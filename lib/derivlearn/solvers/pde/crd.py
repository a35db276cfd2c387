"""The convection-reaction-diffusion (CRD) map of the DINO chapter, solved by Newton.

``-k Lap u + v . grad u + c e^m u^3 = f`` on the unit square with ``u = 0`` on the whole
boundary, ``k = 0.01``, ``c = 1``, and the streamline term of the authors' code added to the
weak form:

    int k grad u . grad p + (v . grad u) p + c e^m u^3 p + (h / |v|) (v . grad u)(v . grad p) - f p,

with ``|v| = sqrt(v . v + 1e-6)`` and ``h`` the cell circumdiameter (DOLFIN's ``CellDiameter``,
:func:`~derivlearn.solvers.pde.mesh.cell_diameter`). The source is
``f = max(0.5, exp(-25 ((x - 0.7)^2 + (y - 0.7)^2)))`` as in the spec. The velocity ``v`` is the
Re = 100 Navier-Stokes solution (P2, :func:`~derivlearn.solvers.pde.navier_stokes.velocity`,
computed once per mesh size and cached on disk), evaluated at the quadrature points. State P1,
quadrature of order 4 for every integral. Prior: BiLaplacian, ``delta = 1`` (the paper; one
script of the code passes 0.5), ``gamma = 0.1``, mean 0.

Newton starts from u = 0 and stops on the update, ``max|du| <= 1e-10 (1 + max|u|)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .mesh import DEFAULT_N, cell_diameter, unit_square
from .navier_stokes import velocity
from .prior import BiLaplacianPrior
from .problem import PDEMap

DIFFUSION = 0.01
"""k."""

REACTION = 1.0
"""c."""

INTORDER = 4
"""Quadrature order of the CRD map."""


def boundary(locs: np.ndarray) -> np.ndarray:
    """Mask of the DOFs on the whole boundary. *Shape:* (2, n) -> (n,)."""
    x, y = locs
    return np.isclose(x, 0.0) | np.isclose(x, 1.0) | np.isclose(y, 0.0) | np.isclose(y, 1.0)


def source(x: np.ndarray) -> np.ndarray:
    """``f = max(0.5, exp(-25 |x - (0.7, 0.7)|^2))``. *Shape:* x (2, ...) -> (...)."""
    return np.maximum(0.5, np.exp(-25.0 * ((x[0] - 0.7) ** 2 + (x[1] - 0.7) ** 2)))


class CRDMap(PDEMap):
    """``m -> B u`` for the convection-reaction-diffusion problem of the module docstring.

    Args:
        n: cells per side (default 64).
        delta: the prior's delta (1.0, the paper; the code's other script uses 0.5).
        newton_tol: Newton stopping tolerance on the update.
        batch_size: samples per block factorization.
    """

    name = "crd"

    def __init__(self, n: int = DEFAULT_N, *, delta: float = 1.0, newton_tol: float = 1e-10,
                 batch_size: int = 4) -> None:
        prior = BiLaplacianPrior(unit_square(n), delta=delta, gamma=0.1, mean=0.0)
        super().__init__(n, state_element="P1", intorder=INTORDER, dirichlet=boundary,
                         dirichlet_value=lambda locs: np.zeros(locs.shape[1]), prior=prior, linear=False,
                         symmetric=False, newton_tol=newton_tol, batch_size=batch_size)
        bv, v = velocity(n)
        vq = np.moveaxis(np.asarray(bv.interpolate(v)), 0, -1)          # (E, Q, 2)
        if vq.shape[:2] != tuple(self.state.dx.shape):
            raise RuntimeError("velocity and state quadrature differ")
        self.velocity_q = torch.from_numpy(np.ascontiguousarray(vq))
        speed = torch.sqrt((self.velocity_q**2).sum(-1) + 1e-6)
        h = torch.from_numpy(cell_diameter(self.mesh))[:, None]
        self.tau = h / speed                                                     # (E, Q)
        f_q = torch.from_numpy(source(np.asarray(self.state_basis.global_coordinates())))
        self.forcing = self.state.load(s=f_q[None])[0]

    def residual_full(self, u: Tensor, m: Tensor) -> Tensor:
        """The weak form of the module docstring. *Shapes:* u (N, n_dofs), m (N, d_M) -> (N, n_dofs)."""
        gu = self.state.gradients(u)                                  # (N, E, Q, 2)
        uq = self.state.values(u)
        adv = (gu * self.velocity_q).sum(-1)                          # v . grad u
        s = adv + REACTION * self.coefficient(m) * uq**3
        flux = DIFFUSION * gu + (self.tau * adv)[..., None] * self.velocity_q
        return self.state.load(s=s, flux=flux) - self.forcing

    def coefficient_integrands(self, u: Tensor) -> tuple[Tensor, None]:
        """``e^m`` multiplies the reaction only: ``a = REACTION u^3`` (N, E, Q), ``b = None``."""
        return REACTION * self.state.values(u) ** 3, None

    def tangent_local(self, u: Tensor, m: Tensor) -> Tensor:
        """Element matrices of ``dR/du``. *Shape:* -> (N, E, L, L)."""
        nb = u.shape[0]
        uq = self.state.values(u)
        v = self.velocity_q.expand(nb, -1, -1, -1)
        k = torch.full_like(uq, DIFFUSION)
        return (self.state.stiffness_local(k) + self.state.advection_local(v)
                + self.state.streamline_local(self.tau.sqrt()[..., None] * v)
                + self.state.mass_local(3 * REACTION * self.coefficient(m) * uq**2))
