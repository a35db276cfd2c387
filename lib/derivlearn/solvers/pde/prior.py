"""The BiLaplacian Gaussian prior of the DINO chapter on the P1 parameter space.

``C = A^-2`` in operator form, with ``A = delta I - gamma div(Theta grad)`` and homogeneous
Neumann conditions (no Robin term), ``Theta = [[1.25, 0.75], [0.75, 1.25]]`` (the authors'
code). Discretized with P1 elements, ``A`` is the matrix ``delta M + gamma K_Theta`` (M the mass
matrix, ``K_Theta`` the anisotropic stiffness matrix), and samples are

    m = mean + A^-1 M^{1/2} xi,   xi ~ N(0, I),

so the covariance of the nodal vector is exactly ``A^-1 M A^-1`` (the prior precision is
``A M^-1 A``).

Mass-matrix square root. We use the *exact* quadrature factor, as hippylib does: with the
quadrature of order 2 (three points per triangle, exact for P1 x P1), ``M = S S^T`` where
``S[i, (e, q)] = sqrt(w_q |det J_e|) phi_i(x_eq)`` is a sparse (n, 3 E) matrix, and ``xi`` has
one standard normal entry per quadrature point (3 E = 24 576 at n = 64). No lumping is involved.
``A`` is factorized once (:class:`~derivlearn.solvers.sparse.SparsePattern`), and sampling is one
block solve with many right-hand sides.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem
import torch
from skfem.helpers import dot, grad
from torch import Tensor

from derivlearn.solvers.sparse import SparsePattern

THETA = np.array([[1.25, 0.75], [0.75, 1.25]])
"""The anisotropy tensor of the authors' code (the paper's text has the identity)."""


class BiLaplacianPrior:
    """Gaussian prior ``N(mean, A^-1 M A^-1)`` with ``A = delta M + gamma K_Theta`` on P1.

    Args:
        mesh: the triangular mesh.
        delta, gamma: the coefficients of ``A`` (both > 0).
        mean: the constant prior mean.
        theta: the anisotropy tensor (2, 2), symmetric positive definite; default :data:`THETA`.

    Attributes:
        dim: d_M, the number of P1 nodes.
        A: the matrix ``delta M + gamma K_Theta`` (scipy CSR, (d_M, d_M)).
        M: the P1 mass matrix (scipy CSR, (d_M, d_M)).
        sqrt_mass: ``S`` with ``S S^T = M`` exactly (scipy CSR, (d_M, 3 E)).
        mean_vector: the mean as a nodal vector. *Shape:* (d_M,).
    """

    def __init__(self, mesh: skfem.MeshTri, delta: float, gamma: float, mean: float = 0.0,
                 theta: np.ndarray | None = None) -> None:
        if not delta > 0:
            raise ValueError(f"parameter 'delta': must be > 0, got {delta!r}")
        if not gamma > 0:
            raise ValueError(f"parameter 'gamma': must be > 0, got {gamma!r}")
        th = THETA if theta is None else np.asarray(theta, dtype=np.float64)
        if th.shape != (2, 2) or not np.allclose(th, th.T) or np.linalg.eigvalsh(th).min() <= 0:
            raise ValueError("parameter 'theta': must be a symmetric positive definite (2, 2) array")
        self.delta, self.gamma, self.mean, self.theta = float(delta), float(gamma), float(mean), th
        basis = skfem.Basis(mesh, skfem.ElementTriP1(), intorder=2)
        self.dim = int(basis.N)

        @skfem.BilinearForm
        def mass(u, v, _):
            return u * v

        @skfem.BilinearForm
        def aniso(u, v, _):
            gu = grad(u)
            return dot((th[0, 0] * gu[0] + th[0, 1] * gu[1], th[1, 0] * gu[0] + th[1, 1] * gu[1]), grad(v))

        self.M = mass.assemble(basis).tocsr()
        self.A = (self.delta * self.M + self.gamma * aniso.assemble(basis)).tocsr()
        e, q = basis.dx.shape
        w = np.sqrt(basis.dx)  # (E, Q)
        rows = np.repeat(basis.element_dofs.T[:, None, :], q, axis=1)          # (E, Q, 3)
        vals = np.stack([np.asarray(f[0]) for f in basis.basis], axis=-1) * w[..., None]
        cols = np.broadcast_to(np.arange(e * q).reshape(e, q)[..., None], rows.shape)
        self.sqrt_mass = sp.csr_matrix((vals.reshape(-1), (rows.reshape(-1), cols.reshape(-1))),
                                       shape=(self.dim, e * q))
        self.mean_vector = torch.full((self.dim,), self.mean, dtype=torch.float64)
        coo = self.A.tocoo()
        self._pattern = SparsePattern(torch.from_numpy(coo.row.astype(np.int64)),
                                      torch.from_numpy(coo.col.astype(np.int64)), self.dim, symmetric=True)
        self._values = torch.from_numpy(coo.data.astype(np.float64))
        self._fact = self._pattern.factorize(self._values)

    def solve_A(self, b: Tensor) -> Tensor:
        """``A^-1 b`` for a block of right-hand sides. *Shape:* b (d_M, k) -> (d_M, k)."""
        return self._pattern.solve(self._values, b, fact=self._fact)

    def covariance(self) -> np.ndarray:
        """The dense covariance ``A^-1 M A^-1`` (for small meshes and tests). *Shape:* (d_M, d_M)."""
        x = self.solve_A(torch.eye(self.dim, dtype=torch.float64)).numpy()
        return x.T @ (self.M @ x)

    def sample(self, n_samples: int, seed: int) -> Tensor:
        """``n_samples`` draws ``mean + A^-1 S xi``, ``xi`` standard normal from a torch generator
        seeded with ``seed``. *Shape:* -> (n_samples, d_M), float64."""
        if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 0:
            raise ValueError(f"parameter 'n_samples': must be an integer >= 0, got {n_samples!r}")
        gen = torch.Generator().manual_seed(int(seed))
        if n_samples == 0:
            return torch.empty(0, self.dim, dtype=torch.float64)
        # sample-major draws: the first k samples do not depend on n_samples
        xi = torch.randn(n_samples, self.sqrt_mass.shape[1], generator=gen, dtype=torch.float64)
        rhs = torch.from_numpy(np.asarray(self.sqrt_mass @ xi.numpy().T))
        return self.mean_vector + self.solve_A(rhs).T.contiguous()
