"""The unit-square triangular mesh and the finite-element tables the PDE maps assemble with.

:func:`unit_square` builds the mesh of the DINO chapter: ``n x n`` squares, each split into two
triangles along the diagonal from lower left to upper right (DOLFIN's ``"right"`` diagonal),
``(n + 1)^2`` vertices (4 225 at the default ``n = 64``). Bases come from scikit-fem
(:class:`skfem.Basis`): P1 (the parameter space) and P2 (the state of Poisson and
reaction-diffusion).

:class:`ElementTables` extracts from a scikit-fem basis everything the vectorized torch assembly
needs (local-to-global DOF map, basis values and gradients at the quadrature points, quadrature
weights times Jacobian determinants), so that residuals and tangent matrices are a few
``einsum`` and ``index_add`` calls over all elements and samples at once, with no Python loop
over elements.
"""

from __future__ import annotations

import numpy as np
import skfem
import torch
from torch import Tensor

DEFAULT_N = 64
"""Cells per side of the chapter's mesh (64 x 64 squares, 8 192 triangles, 4 225 vertices)."""

ELEMENTS = ("P1", "P2")
"""The Lagrange elements available through :func:`element`."""


def unit_square(n: int = DEFAULT_N) -> skfem.MeshTri:
    """The unit square with ``n x n`` cells, each split into two triangles.

    Args:
        n: cells per side, an integer >= 1.

    Returns:
        A :class:`skfem.MeshTri` with ``(n + 1)^2`` vertices and ``2 n^2`` triangles and the
        boundaries ``"left"``, ``"right"``, ``"bottom"``, ``"top"``.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"parameter 'n': must be an integer >= 1, got {n!r}")
    x = np.linspace(0.0, 1.0, n + 1)
    return skfem.MeshTri.init_tensor(x, x).with_defaults()


def element(name: str) -> skfem.Element:
    """The scikit-fem Lagrange triangle ``"P1"`` or ``"P2"``."""
    if name == "P1":
        return skfem.ElementTriP1()
    if name == "P2":
        return skfem.ElementTriP2()
    raise ValueError(f"parameter 'name': must be one of {ELEMENTS}, got {name!r}")


def basis(mesh: skfem.MeshTri, name: str, intorder: int) -> skfem.CellBasis:
    """A scikit-fem basis of element ``name`` (``"P1"``/``"P2"``) with quadrature of order
    ``intorder``."""
    return skfem.Basis(mesh, element(name), intorder=intorder)


def cell_diameter(mesh: skfem.MeshTri) -> np.ndarray:
    """Circumdiameter of every triangle (DOLFIN's ``CellDiameter``): ``a b c / (2 |T|)``.

    *Shape:* (E,).
    """
    p = mesh.p[:, mesh.t]  # (2, 3, E)
    a = np.linalg.norm(p[:, 1] - p[:, 0], axis=0)
    b = np.linalg.norm(p[:, 2] - p[:, 1], axis=0)
    c = np.linalg.norm(p[:, 0] - p[:, 2], axis=0)
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area = 0.5 * np.abs(e1[0] * e2[1] - e1[1] * e2[0])
    return a * b * c / (2.0 * area)


class ElementTables:
    """Per-element tables of a scalar scikit-fem basis, as float64 torch tensors.

    Args:
        basis: a scalar :class:`skfem.CellBasis` (E elements, L local DOFs, Q quadrature points).

    Attributes:
        n_dofs: number of global DOFs.
        dofs: local-to-global DOF map. *Shape:* (E, L), int64.
        phi: basis values at the quadrature points. *Shape:* (E, Q, L).
        dphi: basis gradients at the quadrature points. *Shape:* (E, Q, L, 2).
        dx: quadrature weights times ``|det J|``. *Shape:* (E, Q).
    """

    def __init__(self, basis: skfem.CellBasis) -> None:
        self.n_dofs = int(basis.N)
        self.dofs = torch.from_numpy(np.ascontiguousarray(basis.element_dofs.T).astype(np.int64))
        self.phi = torch.from_numpy(np.stack([np.asarray(f[0]) for f in basis.basis], axis=-1)).double()
        self.dphi = torch.from_numpy(np.stack([np.moveaxis(f[0].grad, 0, -1) for f in basis.basis],
                                              axis=-2)).double()
        self.dx = torch.from_numpy(np.asarray(basis.dx, dtype=np.float64))

    @property
    def n_local(self) -> int:
        """L, the number of local DOFs per element."""
        return int(self.dofs.shape[1])

    def gather(self, u: Tensor) -> Tensor:
        """Element DOF values. *Shape:* (N, n_dofs) -> (N, E, L)."""
        return u.index_select(1, self.dofs.reshape(-1)).reshape(u.shape[0], *self.dofs.shape)

    def values(self, u: Tensor) -> Tensor:
        """Field values at the quadrature points. *Shape:* (N, n_dofs) -> (N, E, Q)."""
        return torch.einsum("eql,nel->neq", self.phi, self.gather(u))

    def gradients(self, u: Tensor) -> Tensor:
        """Field gradients at the quadrature points. *Shape:* (N, n_dofs) -> (N, E, Q, 2)."""
        return torch.einsum("eqld,nel->neqd", self.dphi, self.gather(u))

    def load(self, s: Tensor | None = None, flux: Tensor | None = None) -> Tensor:
        """Global vector ``int s v + flux . grad v`` for every basis function v.

        *Shapes:* s (N, E, Q), flux (N, E, Q, 2) (already multiplied by nothing: the
        quadrature weights ``dx`` are applied here) -> (N, n_dofs).
        """
        loc = None
        if s is not None:
            loc = torch.einsum("neq,eql->nel", s * self.dx, self.phi)
        if flux is not None:
            f = torch.einsum("neqd,eqld->nel", flux * self.dx[..., None], self.dphi)
            loc = f if loc is None else loc + f
        if loc is None:
            raise ValueError("parameters 's', 'flux': give at least one")
        out = torch.zeros(loc.shape[0], self.n_dofs, dtype=loc.dtype, device=loc.device)
        return out.index_add(1, self.dofs.reshape(-1), loc.reshape(loc.shape[0], -1))

    def mass_local(self, c: Tensor) -> Tensor:
        """Element matrices ``int c phi_j phi_i``. *Shape:* c (N, E, Q) -> (N, E, L, L), [i, j]."""
        return torch.einsum("neq,eqi,eqj->neij", c * self.dx, self.phi, self.phi)

    def stiffness_local(self, k: Tensor) -> Tensor:
        """Element matrices ``int k grad phi_j . grad phi_i`` for a scalar coefficient k (N, E, Q)
        or a tensor coefficient k (N, E, Q, 2, 2). *Shape:* -> (N, E, L, L), [i, j]."""
        if k.ndim == 3:
            return torch.einsum("neq,eqid,eqjd->neij", k * self.dx, self.dphi, self.dphi)
        return torch.einsum("neqab,eqia,eqjb->neij", k * self.dx[..., None, None], self.dphi, self.dphi)

    def advection_local(self, w: Tensor) -> Tensor:
        """Element matrices ``int (w . grad phi_j) phi_i``. *Shape:* w (N, E, Q, 2) -> (N, E, L, L)."""
        return torch.einsum("neqd,eqjd,eqi->neij", w * self.dx[..., None], self.dphi, self.phi)

    def streamline_local(self, w: Tensor) -> Tensor:
        """Element matrices ``int (w . grad phi_j)(w . grad phi_i)``. *Shape:* w (N, E, Q, 2) ->
        (N, E, L, L)."""
        wd = torch.einsum("neqd,eqld->neql", w, self.dphi)
        return torch.einsum("eq,neqi,neqj->neij", self.dx, wd, wd)
