"""Reduced bases of the DIPNets: active subspace (input), POD and derivative outer product (output).

**Active subspace (AS).** The dominant eigenpairs of the generalized eigenproblem

    E[JᵀJ] v = λ C⁻¹ v,        E[JᵀJ] ≈ H = (1/N) Σ_i J_iᵀ J_i,

with C the prior covariance. With any factor ``C = L Lᵀ`` and ``v = L w`` it is the symmetric
problem ``Lᵀ H L w = λ w``, and ``Lᵀ H L = GᵀG / N`` with ``G`` the stacked ``J_i L`` (N·d_Q, d_M).
It is solved matrix-free by Lanczos (:func:`scipy.sparse.linalg.eigsh` on ``w -> Gᵀ(G w)/N``);
no d_M × d_M matrix is formed. The prior enters as

* ``cov_factor`` (and ``cov_factor_t``): callables applying L and Lᵀ to (d_M, k) arrays, e.g.
  ``L = C^{1/2} = A⁻¹`` for ``C = A⁻²`` (symmetric, so ``cov_factor_t`` may be omitted) or the
  sampling factor ``A⁻¹ M^{1/2}``;
* ``cov`` and ``precision``: callables applying C and C⁻¹ (a generalized Lanczos solve);
* ``cov`` as a small dense matrix (tests): its symmetric square root is used as L.

The eigenvectors are C⁻¹-orthonormal. As in the authors' code, the first r columns are then
orthonormalised by (Euclidean) QR, with the signs fixed so that R has a positive diagonal, and the
result is the fixed input basis Φ of a DIPNet. The authors then divide it by
``(d_M / (32 r)) ‖Φ‖_F`` (:func:`authors_input_scale`); a DIPNet applies that constant at its
head's input (:mod:`derivlearn.dino.networks`), so Φ itself stays orthonormal here.

**Output bases.** POD of the training outputs (left singular vectors of the centred outputs,
bias = mean), the spec's choice; or the derivative outer-product basis, eigenvectors of
``E[J Jᵀ]`` (d_Q × d_Q), the alternative the paper describes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse.linalg as spla
import torch
from torch import Tensor

ArrayOp = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ActiveSubspace:
    """The AS input basis. *Shapes:* basis (d_M, r) orthonormal (Φ), eigenvalues (r,) descending,
    eigenvectors (d_M, r) C⁻¹-orthonormal."""

    basis: Tensor
    eigenvalues: Tensor
    eigenvectors: Tensor


@dataclass(frozen=True)
class OutputBasis:
    """An output basis and bias for the last layer. *Shapes:* basis (d_Q, r) orthonormal,
    bias (d_Q,), values (r,) (singular values for POD, eigenvalues for E[JJᵀ])."""

    basis: Tensor
    bias: Tensor
    values: Tensor


def _np64(a: object, name: str) -> np.ndarray:
    if isinstance(a, Tensor):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"parameter {name!r}: must be finite")
    return arr


def _check_rank(rank: object, upper: int) -> None:
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= upper:
        raise ValueError(f"parameter 'rank': must be an integer in [1, {upper}], got {rank!r}")


def orthonormalize(V: np.ndarray | Tensor) -> Tensor:
    """QR orthonormalisation with a positive diagonal of R (same span, same column order).

    *Shape:* (d, r) -> (d, r), float64.
    """
    A = _np64(V, "V")
    if A.ndim != 2 or A.shape[1] > A.shape[0]:
        raise ValueError(f"parameter 'V': must be a tall matrix (d, r), got shape {A.shape}")
    Q, R = np.linalg.qr(A)
    s = np.sign(np.diag(R))
    s[s == 0] = 1.0
    return torch.from_numpy(Q * s)


def authors_input_scale(phi: np.ndarray | Tensor) -> float:
    """The authors' input-projector scaling ``c``: their fixed input layer is ``c Φ`` with
    ``c = 1 / ((d_M / (32 r)) ‖Φ‖_F)`` for a QR-orthonormalised Φ (d_M, r), i.e. ``32 √r / d_M``
    (0.0536 for r = 50 and 0.0757 for r = 100 at d_M = 4225). From ``modify_projectors`` in
    ``dino/surrogate_construction/dataUtilities.py`` (authors' first commit, a5d6100), which
    applies it to the AS and KLE bases and to a random input basis alike.
    """
    A = _np64(phi, "phi")
    if A.ndim != 2 or not 1 <= A.shape[1] <= A.shape[0]:
        raise ValueError(f"parameter 'phi': must be a tall matrix (d_M, r), got shape {A.shape}")
    d_m, r = A.shape
    return 1.0 / ((d_m / (32.0 * r)) * float(np.linalg.norm(A)))


def active_subspace(J: np.ndarray | Tensor, rank: int, *, cov_factor: ArrayOp | None = None,
                    cov_factor_t: ArrayOp | None = None, cov: ArrayOp | np.ndarray | Tensor | None = None,
                    precision: ArrayOp | None = None, tol: float = 0.0,
                    seed: int = 0) -> ActiveSubspace:
    """The AS basis of ``E[JᵀJ] v = λ C⁻¹ v`` from Jacobian samples, orthonormalised by QR.

    Args:
        J: Jacobian samples. *Shape:* (N, d_Q, d_M).
        rank: Number r of eigenvectors kept (1 <= r < d_M).
        cov_factor: Callable applying a factor L of ``C = L Lᵀ``. *Shape:* (d_M, k) -> (d_M, k).
        cov_factor_t: Callable applying Lᵀ; None if L is symmetric (e.g. ``C^{1/2}``).
        cov: Callable applying C (with ``precision``), or a dense SPD matrix (d_M, d_M) for small
            problems. None together with ``cov_factor`` None means C = I.
        precision: Callable applying C⁻¹; required with a callable ``cov``.
        tol: Lanczos tolerance (0 = machine precision).
        seed: Seed of the Lanczos start vector.

    Returns:
        The orthonormal basis Φ, the eigenvalues and the C⁻¹-orthonormal eigenvectors.

    Raises:
        ValueError: On bad shapes, a bad rank or an inconsistent prior specification.
    """
    Jn = _np64(J, "J")
    if Jn.ndim != 3:
        raise ValueError(f"parameter 'J': must have shape (N, d_Q, d_M), got {Jn.shape}")
    N, d_Q, d_M = Jn.shape
    _check_rank(rank, d_M - 1)
    G = Jn.reshape(N * d_Q, d_M)
    v0 = np.random.default_rng(seed).standard_normal(d_M)
    dense_cov = cov is not None and not callable(cov)
    if cov_factor is not None and cov is not None:
        raise ValueError("parameter 'cov': give either 'cov_factor' or 'cov', not both")
    if callable(cov) and precision is None:
        raise ValueError("parameter 'precision': required when 'cov' is a callable")
    if dense_cov:
        C = _np64(cov, "cov")
        if C.shape != (d_M, d_M):
            raise ValueError(f"parameter 'cov': must have shape (d_M={d_M}, d_M), got {C.shape}")
        lam, Q = np.linalg.eigh((C + C.T) / 2)
        if lam.min() <= 0:
            raise ValueError("parameter 'cov': must be symmetric positive definite")
        sqrtC = (Q * np.sqrt(lam)) @ Q.T
        cov_factor = lambda X: sqrtC @ X  # noqa: E731
    if callable(cov):
        prec = precision
        assert prec is not None

        def h_mv(x: np.ndarray) -> np.ndarray:
            return G.T @ (G @ x.reshape(d_M)) / N

        Hop = spla.LinearOperator((d_M, d_M), matvec=h_mv, dtype=np.float64)
        Mop = spla.LinearOperator((d_M, d_M), matvec=lambda x: np.asarray(prec(x.reshape(d_M, 1))).ravel(),
                                  dtype=np.float64)
        Minv = spla.LinearOperator((d_M, d_M), matvec=lambda x: np.asarray(cov(x.reshape(d_M, 1))).ravel(),
                                   dtype=np.float64)
        lam, vecs = spla.eigsh(Hop, k=rank, M=Mop, Minv=Minv, which="LA", tol=tol, v0=v0)
    else:
        L = cov_factor if cov_factor is not None else (lambda X: X)
        Lt = cov_factor_t if cov_factor_t is not None else L
        GL = np.asarray(Lt(G.T)).T  # rows J_i L, (N d_Q, d_M)

        def mv(w: np.ndarray) -> np.ndarray:
            return GL.T @ (GL @ w.reshape(d_M)) / N

        op = spla.LinearOperator((d_M, d_M), matvec=mv, dtype=np.float64)
        lam, W = spla.eigsh(op, k=rank, which="LA", tol=tol, v0=v0)
        vecs = np.asarray(L(W))
    order = np.argsort(lam)[::-1]
    lam, vecs = lam[order], vecs[:, order]
    # fix signs: largest-magnitude entry of each eigenvector positive
    idx = np.argmax(np.abs(vecs), axis=0)
    vecs = vecs * np.sign(vecs[idx, np.arange(vecs.shape[1])])
    return ActiveSubspace(orthonormalize(vecs), torch.from_numpy(lam.copy()), torch.from_numpy(vecs))


def active_subspace_dense(J: np.ndarray | Tensor, rank: int, cov: np.ndarray | Tensor) -> ActiveSubspace:
    """Reference: the AS basis by a dense generalized eigensolver (``scipy.linalg.eigh``).

    Forms d_M × d_M matrices; for tests and small problems only. Arguments as
    :func:`active_subspace` with a dense ``cov`` (d_M, d_M).
    """
    Jn = _np64(J, "J")
    if Jn.ndim != 3:
        raise ValueError(f"parameter 'J': must have shape (N, d_Q, d_M), got {Jn.shape}")
    N, d_Q, d_M = Jn.shape
    _check_rank(rank, d_M)
    G = Jn.reshape(N * d_Q, d_M)
    H = G.T @ G / N
    lam, vecs = scipy.linalg.eigh(H, np.linalg.inv(_np64(cov, "cov")))
    lam, vecs = lam[::-1][:rank], vecs[:, ::-1][:, :rank]
    idx = np.argmax(np.abs(vecs), axis=0)
    vecs = vecs * np.sign(vecs[idx, np.arange(rank)])
    return ActiveSubspace(orthonormalize(vecs), torch.from_numpy(lam.copy()), torch.from_numpy(vecs.copy()))


def pod_basis(q: np.ndarray | Tensor, rank: int = 50) -> OutputBasis:
    """POD of output samples: the leading left singular vectors of the centred outputs, bias = mean.

    Args:
        q: Output samples. *Shape:* (N, d_Q).
        rank: Number of modes r (<= d_Q; 50 in the paper, where r = d_Q = 50).

    Returns:
        basis (d_Q, r), bias (d_Q,) = the mean output, values (r,) = singular values / sqrt(N).
    """
    Q = _np64(q, "q")
    if Q.ndim != 2:
        raise ValueError(f"parameter 'q': must have shape (N, d_Q), got {Q.shape}")
    N, d_Q = Q.shape
    _check_rank(rank, d_Q)
    mean = Q.mean(axis=0)
    U, S, _ = np.linalg.svd((Q - mean).T, full_matrices=True)
    U = U[:, :rank]
    S = np.concatenate([S, np.zeros(max(0, d_Q - S.size))])[:rank] / np.sqrt(N)
    idx = np.argmax(np.abs(U), axis=0)
    U = U * np.sign(U[idx, np.arange(rank)])
    return OutputBasis(torch.from_numpy(U.copy()), torch.from_numpy(mean), torch.from_numpy(S))


def derivative_outer_product_basis(J: np.ndarray | Tensor, rank: int = 50,
                                   q: np.ndarray | Tensor | None = None) -> OutputBasis:
    """Output basis from the dominant eigenvectors of ``E[J Jᵀ]`` (d_Q × d_Q, paper eq. 2.25).

    Args:
        J: Jacobian samples. *Shape:* (N, d_Q, d_M).
        rank: Number of eigenvectors r (<= d_Q).
        q: Optional output samples (N, d_Q) for the bias (their mean); None gives a zero bias.
    """
    Jn = _np64(J, "J")
    if Jn.ndim != 3:
        raise ValueError(f"parameter 'J': must have shape (N, d_Q, d_M), got {Jn.shape}")
    N, d_Q, _ = Jn.shape
    _check_rank(rank, d_Q)
    K = np.einsum("nij,nkj->ik", Jn, Jn) / N
    lam, U = np.linalg.eigh(K)
    lam, U = lam[::-1][:rank], U[:, ::-1][:, :rank]
    idx = np.argmax(np.abs(U), axis=0)
    U = U * np.sign(U[idx, np.arange(rank)])
    if q is None:
        bias = np.zeros(d_Q)
    else:
        Q = _np64(q, "q")
        if Q.ndim != 2 or Q.shape[1] != d_Q:
            raise ValueError(f"parameter 'q': must have shape (N, d_Q={d_Q}), got {Q.shape}")
        bias = Q.mean(axis=0)
    return OutputBasis(torch.from_numpy(U.copy()), torch.from_numpy(bias), torch.from_numpy(lam.copy()))
