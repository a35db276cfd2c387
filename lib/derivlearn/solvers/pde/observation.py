"""The 50-point observation operator ``q = B u`` of the DINO chapter.

The points are ``x`` in ``linspace(0.1, 0.9, 10)`` times ``y`` in ``linspace(0.1, 0.5, 5)``, with
``x`` the outer loop (point ``k = 5 i + j`` is ``(x_i, y_j)``). ``B`` evaluates a finite-element
function at these points (scikit-fem's :meth:`skfem.CellBasis.probes`), a sparse (50, n_dofs)
matrix with the basis-function values of the containing triangle in each row.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem

N_OBS = 50
"""d_Q, the number of observations."""


def observation_points() -> np.ndarray:
    """The 50 observation points, ``x`` the outer loop. *Shape:* (50, 2)."""
    x = np.linspace(0.1, 0.9, 10)
    y = np.linspace(0.1, 0.5, 5)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    return np.stack([xx.reshape(-1), yy.reshape(-1)], axis=1)


def observation_operator(basis: skfem.CellBasis, points: np.ndarray | None = None) -> sp.csr_matrix:
    """Point evaluation of a field of ``basis`` at ``points`` (default :func:`observation_points`).

    *Shape:* points (K, 2) -> B (K, n_dofs), sparse.
    """
    pts = observation_points() if points is None else np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"parameter 'points': expected shape (K, 2), got {pts.shape}")
    return sp.csr_matrix(basis.probes(pts.T))
