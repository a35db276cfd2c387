"""FEniCS-free PDE maps of the DINO chapter (seed 002_): ``m (P1 nodal vector) -> q (50 points)``.

Each map (:func:`get`) has ``n_params`` (d_M, 4 225 at the default n = 64), ``n_outputs`` (50),
``sample_prior(n_samples, seed)``, ``observe(m)``, ``jacobian(m)`` and ``observe_and_jacobian(m)``
(*shapes:* m (N, d_M) -> q (N, 50), J (N, 50, d_M), float64). The residuals are assembled in torch
as differentiable functions of m on scikit-fem meshes and bases, every linear solve goes through
:mod:`derivlearn.solvers.sparse`, and the Jacobian is exact: 50 adjoint solves per sample that
reuse the last factorization, then vector-Jacobian products of the residual
(:mod:`derivlearn.solvers.pde.problem`).

Modules: :mod:`.mesh` (mesh, bases, element tables), :mod:`.assembly` (sparse pattern on the free
DOFs), :mod:`.observation` (the operator B), :mod:`.prior` (BiLaplacian prior), :mod:`.problem`
(Newton, observation, Jacobian), :mod:`.poisson`, :mod:`.reaction_diffusion`, :mod:`.crd` and
:mod:`.navier_stokes` (the cached Re = 100 velocity of the CRD map).
"""

from __future__ import annotations

from .mesh import DEFAULT_N
from .problem import PDEMap

NAMES = ("poisson", "reaction_diffusion", "crd")
"""The maps :func:`get` builds."""


def names() -> tuple[str, ...]:
    """The names accepted by :func:`get`."""
    return NAMES


def get(name: str, n: int = DEFAULT_N) -> PDEMap:
    """The PDE map ``name`` on the ``n x n`` unit-square mesh.

    Args:
        name: one of :data:`NAMES`.
        n: cells per side (default 64, d_M = 4 225).

    Returns:
        A :class:`~derivlearn.solvers.pde.problem.PDEMap`.
    """
    if name == "poisson":
        from .poisson import PoissonMap
        return PoissonMap(n)
    if name == "reaction_diffusion":
        from .reaction_diffusion import ReactionDiffusionMap
        return ReactionDiffusionMap(n)
    if name == "crd":
        from .crd import CRDMap
        return CRDMap(n)
    raise ValueError(f"parameter 'name': must be one of {NAMES}, got {name!r}")


__all__ = ["DEFAULT_N", "NAMES", "PDEMap", "get", "names"]
