"""The common machinery of the PDE maps: state solve, observation and exact adjoint Jacobian.

A map ``m -> q = B u(m)`` is given by a residual ``R(u, m)`` on the state space, assembled in
torch as a differentiable function of the P1 parameter vector ``m`` (:meth:`PDEMap.residual_full`),
and its tangent ``dR/du`` as element matrices (:meth:`PDEMap.tangent_local`). Dirichlet DOFs are
eliminated: the unknowns are the free DOFs, the state is ``lift + free part``.

Solve. Newton on the free DOFs from the lift (zero free part); every step factorizes the
tangent once with :class:`~derivlearn.solvers.sparse.SparsePattern` (one SuperLU factorization
of the block-diagonal matrix of a chunk of samples). A linear problem takes exactly one step.
A nonlinear one stops when the Newton update satisfies ``max|du| <= newton_tol (1 + max|u|)``
for every sample (default ``newton_tol = 1e-10``); with quadratic convergence the state is then
accurate to far below that.

Jacobian. ``J = -B (dR/du)^-1 dR/dm``: 50 adjoint solves ``(dR/du)^T lam_k = B_k^T`` (one block
solve with the transposed flag, reusing the last Newton factorization), then ``lam_k^T dR/dm``.
Every map here depends on m only through the coefficient ``c = e^m`` at the quadrature points,
linearly (:meth:`PDEMap.coefficient_integrands`), so ``dR/dm`` has closed-form element blocks
(E x L x 3, :meth:`PDEMap.sensitivity_local`) and the 50 products are one gather, one
contraction and one scatter. A map without that structure falls back to 50 vector-Jacobian
products of the torch residual (:func:`torch.func.vjp` under :func:`torch.func.vmap`); the tests
check that both routes agree to 1e-12. The element blocks made the Jacobian 2-3x cheaper than the
VJP route (same inputs, same machine). For a nonlinear map the last factorization belongs to
the iterate before the final update, a relative difference of at most ``newton_tol`` in the
tangent. ``J`` is Euclidean in the nodal vector (no mass-matrix weighting).

Cost at n = 64, one thread, per sample, in chunks of 4 (``benchmarks/pde_cost.py`` on the shared
2-core machine under load, so upper bounds; forward, then forward + Jacobian): Poisson (P2,
16 641 DOFs) 0.14 s and 0.55 s; reaction-diffusion (P2, Newton) 0.72 s and 1.14 s (1.6x); CRD
(P1, Newton from u = 0) 0.38 s and 0.50 s (1.3x). Of the Jacobian's share, most is the 50
adjoint solves (P2: about 0.2 s).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import skfem
import torch
from torch import Tensor

from .assembly import ReducedPattern
from .mesh import ElementTables, basis, unit_square
from .observation import N_OBS, observation_operator
from .prior import BiLaplacianPrior


class PDEMap:
    """Base class of the parameter-to-observable maps ``m (d_M) -> q (50)``.

    Args:
        n: cells per side of the unit-square mesh.
        state_element: ``"P1"`` or ``"P2"``.
        intorder: order of the quadrature used for every integral.
        dirichlet: DOF locations (2, n_dofs) -> boolean mask of the Dirichlet DOFs.
        dirichlet_value: DOF locations (2, k) -> prescribed values (k,).
        prior: the parameter prior (P1 on the same mesh).
        linear: the residual is affine in u (one Newton step is exact).
        symmetric: the tangent is symmetric (SuperLU prefers diagonal pivots).
        newton_tol: Newton stopping tolerance on the update (see the module docstring).
        max_newton: Newton iteration limit (``RuntimeError`` beyond it).
        batch_size: samples per factorization (memory bound of the Jacobian).

    Attributes:
        name: the map's name in :func:`derivlearn.solvers.pde.get`.
        mesh, state_basis, param_basis: scikit-fem mesh and bases (same quadrature).
        state, param: :class:`~derivlearn.solvers.pde.mesh.ElementTables` of the two bases.
        free_dofs, dirichlet_dofs: global state DOFs. *Shape:* (n_free,), (n_dir,).
        lift: the state with the Dirichlet values and zero free part. *Shape:* (n_dofs,).
        observation_matrix: ``B`` on the full state (scipy CSR, (50, n_dofs)).
        reduced: the :class:`~derivlearn.solvers.pde.assembly.ReducedPattern` of the tangent.
        n_params: d_M.
        n_outputs: d_Q = 50.
        newton_iterations: Newton steps taken in the last chunk solved.
    """

    name = "pde"

    def __init__(self, n: int, *, state_element: str, intorder: int,
                 dirichlet: Callable[[np.ndarray], np.ndarray],
                 dirichlet_value: Callable[[np.ndarray], np.ndarray],
                 prior: BiLaplacianPrior, linear: bool, symmetric: bool, newton_tol: float = 1e-10,
                 max_newton: int = 30, batch_size: int = 4) -> None:
        self.n = n
        self.mesh = unit_square(n)
        self.state_basis = basis(self.mesh, state_element, intorder)
        self.param_basis = self.state_basis.with_element(skfem.ElementTriP1())
        self.state = ElementTables(self.state_basis)
        self.param = ElementTables(self.param_basis)
        locs = self.state_basis.doflocs
        mask = np.asarray(dirichlet(locs), dtype=bool)
        self.dirichlet_dofs = np.nonzero(mask)[0]
        self.free_dofs = np.nonzero(~mask)[0]
        self._free = torch.from_numpy(self.free_dofs)
        lift = np.zeros(self.state.n_dofs)
        lift[self.dirichlet_dofs] = dirichlet_value(locs[:, self.dirichlet_dofs])
        self.lift = torch.from_numpy(lift)
        self.reduced = ReducedPattern(self.state.dofs, self.state.n_dofs, self.free_dofs, symmetric=symmetric)
        self.observation_matrix = observation_operator(self.state_basis)
        self._b_free = torch.from_numpy(self.observation_matrix[:, self.free_dofs].toarray())
        self._q_lift = torch.from_numpy(self.observation_matrix @ lift)
        self.prior = prior
        self.n_params = prior.dim
        self.n_outputs = N_OBS
        self.linear = bool(linear)
        self.newton_tol = float(newton_tol)
        self.max_newton = int(max_newton)
        self.batch_size = int(batch_size)
        self.newton_iterations = 0
        if self.param.n_dofs != self.n_params:
            raise ValueError("parameter 'prior': must live on the P1 space of the same mesh")

    # -- the problem: residual and tangent (subclasses) -------------------------------------

    def residual_full(self, u: Tensor, m: Tensor) -> Tensor:
        """``R(u, m)`` on all state DOFs, differentiable in m.

        *Shapes:* u (N, n_dofs), m (N, d_M) -> (N, n_dofs).
        """
        raise NotImplementedError

    def tangent_local(self, u: Tensor, m: Tensor) -> Tensor:
        """Element matrices of ``dR/du``. *Shapes:* u (N, n_dofs), m (N, d_M) -> (N, E, L, L)."""
        raise NotImplementedError

    def coefficient_integrands(self, u: Tensor) -> tuple[Tensor | None, Tensor | None] | None:
        """How the parameter enters the residual: ``(a, b)`` such that

            R(u, m) = R_0(u) + load(s = c a, flux = c b),   c = coefficient(m) = e^m,

        with ``a`` (N, E, Q) or None and ``b`` (N, E, Q, 2) or None. Subclasses that give it get
        the fast Jacobian of :meth:`sensitivity_local`; ``None`` (the default) falls back to
        vmapped VJPs of :meth:`residual_full`.
        """
        return None

    def sensitivity_local(self, u: Tensor, m: Tensor) -> Tensor:
        """Element blocks of ``dR/dm``: ``G[n, e, l, j] = dR_(dofs[e, l]) / dm_(param dofs[e, j])``
        for one element's contribution, from :meth:`coefficient_integrands`:

            G = sum_q dx c (a phi_l + b . grad phi_l) psi_j,   psi the P1 parameter basis,

        since ``dc_q / dm_j = c_q psi_j(q)``. *Shapes:* u (N, n_dofs), m (N, d_M) -> (N, E, L, 3).
        """
        terms = self.coefficient_integrands(u)
        if terms is None:
            raise NotImplementedError(f"{type(self).__name__} does not give coefficient_integrands")
        return self._blocks(terms, m)

    def _blocks(self, terms: tuple[Tensor | None, Tensor | None], m: Tensor) -> Tensor:
        """:meth:`sensitivity_local` from given ``(a, b)``. *Shape:* -> (N, E, L, 3)."""
        a, b = terms
        cdx = self.coefficient(m) * self.state.dx                          # (N, E, Q)
        psi = self.param.phi                                               # (E, Q, 3)
        out = 0
        if a is not None:
            out = out + torch.einsum("neq,eql,eqj->nelj", cdx * a, self.state.phi, psi)
        if b is not None:
            out = out + torch.einsum("neqd,eqld,eqj->nelj", cdx[..., None] * b, self.state.dphi, psi)
        return out

    # -- helpers -------------------------------------------------------------------------------

    def coefficient(self, m: Tensor) -> Tensor:
        """``e^m`` at the quadrature points (m interpolated, then exponentiated).

        *Shape:* (N, d_M) -> (N, E, Q).
        """
        return torch.exp(self.param.values(m))

    def full_state(self, u_free: Tensor) -> Tensor:
        """The state from its free part. *Shape:* (N, n_free) -> (N, n_dofs)."""
        u = self.lift.to(u_free.dtype).expand(u_free.shape[0], -1).clone()
        u[:, self._free] = u_free
        return u

    def residual(self, u_free: Tensor, m: Tensor) -> Tensor:
        """``R`` on the free DOFs. *Shapes:* u_free (N, n_free), m (N, d_M) -> (N, n_free)."""
        return self.residual_full(self.full_state(u_free), m)[:, self._free]

    def sample_prior(self, n_samples: int, seed: int) -> Tensor:
        """Prior draws (see :class:`~derivlearn.solvers.pde.prior.BiLaplacianPrior`).

        *Shape:* -> (n_samples, d_M), float64.
        """
        return self.prior.sample(n_samples, seed)

    def _check(self, m: Tensor) -> Tensor:
        if not isinstance(m, Tensor) or m.ndim != 2 or m.shape[1] != self.n_params:
            shape = tuple(m.shape) if isinstance(m, Tensor) else type(m).__name__
            raise ValueError(f"parameter 'm': expected shape (N, {self.n_params}), got {shape}")
        if not m.dtype.is_floating_point:
            raise ValueError(f"parameter 'm': must be floating point, got {m.dtype}")
        return m.detach().to(torch.float64)

    def _chunks(self, m: Tensor):
        for i in range(0, m.shape[0], self.batch_size):
            yield m[i:i + self.batch_size]

    # -- solve, observe, Jacobian --------------------------------------------------------------

    def _newton(self, m: Tensor):
        """Free state, tangent values and the last factorization for a chunk of samples."""
        pat = self.reduced.pattern
        u = torch.zeros(m.shape[0], self.reduced.n, dtype=torch.float64)
        for it in range(1, self.max_newton + 1):
            uf = self.full_state(u)
            r = self.residual_full(uf, m)[:, self._free]
            vals = self.reduced.values(self.tangent_local(uf, m))
            fact = pat.factorize(vals)
            du = pat.solve(vals, r.T.contiguous(), fact=fact).T
            u = u - du
            if self.linear or bool((du.abs().amax(1) <= self.newton_tol * (1 + u.abs().amax(1))).all()):
                self.newton_iterations = it
                return u, vals, fact
        raise RuntimeError(f"{self.name}: Newton did not converge in {self.max_newton} iterations")

    def solve(self, m: Tensor) -> Tensor:
        """The state ``u(m)`` on all DOFs. *Shape:* (N, d_M) -> (N, n_dofs)."""
        m = self._check(m)
        with torch.no_grad():
            out = [self.full_state(self._newton(c)[0]) for c in self._chunks(m)]
        return torch.cat(out) if out else torch.empty(0, self.state.n_dofs, dtype=torch.float64)

    def _observe_free(self, u: Tensor) -> Tensor:
        return u @ self._b_free.T + self._q_lift

    def observe(self, m: Tensor) -> Tensor:
        """``q = B u(m)``. *Shape:* (N, d_M) -> (N, 50)."""
        m = self._check(m)
        with torch.no_grad():
            out = [self._observe_free(self._newton(c)[0]) for c in self._chunks(m)]
        return torch.cat(out) if out else torch.empty(0, N_OBS, dtype=torch.float64)

    def _jacobian_chunk(self, m: Tensor, u: Tensor, vals: Tensor, fact) -> Tensor:
        nb = m.shape[0]
        rhs = self._b_free.T[:, None, :].expand(-1, nb, -1).contiguous()   # (n_free, N, 50)
        with torch.no_grad():
            lam = self.reduced.pattern.solve(vals, rhs, fact=fact, transpose=True)
        uf = self.full_state(u)
        terms = self.coefficient_integrands(uf)
        if terms is None:
            _, vjp = torch.func.vjp(lambda mm: self.residual_full(uf, mm)[:, self._free], m)
            (g,) = torch.func.vmap(vjp)(lam.permute(2, 1, 0))      # (50, N, d_M)
            return -g.permute(1, 0, 2)
        # lam^T dR/dm element by element: gather the adjoints, contract with the element blocks
        g_loc = self._blocks(terms, m)                              # (N, E, L, 3)
        full = torch.zeros(nb, N_OBS, self.state.n_dofs, dtype=lam.dtype)
        full[:, :, self._free] = lam.permute(1, 2, 0)
        lam_e = full[:, :, self.state.dofs]                         # (N, 50, E, L)
        per = torch.stack([(lam_e * g_loc[:, None, :, :, j]).sum(-1) for j in range(g_loc.shape[-1])],
                          dim=-1)                                    # (N, 50, E, 3)
        g = torch.zeros(nb, N_OBS, self.n_params, dtype=lam.dtype)
        g.index_add_(2, self.param.dofs.reshape(-1), per.reshape(nb, N_OBS, -1))
        return -g

    def observe_and_jacobian(self, m: Tensor) -> tuple[Tensor, Tensor]:
        """``q`` and the exact ``J = dq/dm`` with one Newton solve per sample and the adjoint
        solves reusing its last factorization. *Shapes:* (N, d_M) -> (N, 50), (N, 50, d_M)."""
        m = self._check(m)
        qs, js = [], []
        for c in self._chunks(m):
            with torch.no_grad():
                u, vals, fact = self._newton(c)
            qs.append(self._observe_free(u))
            js.append(self._jacobian_chunk(c, u, vals, fact).detach())
        if not qs:
            return (torch.empty(0, N_OBS, dtype=torch.float64),
                    torch.empty(0, N_OBS, self.n_params, dtype=torch.float64))
        return torch.cat(qs), torch.cat(js)

    def jacobian(self, m: Tensor) -> Tensor:
        """The exact Jacobian ``dq/dm``. *Shape:* (N, d_M) -> (N, 50, d_M)."""
        return self.observe_and_jacobian(m)[1]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={self.n}, state={type(self.state_basis.elem).__name__}, "
                f"n_params={self.n_params}, n_state={self.state.n_dofs})")
