"""Differentiable sparse linear solve with a fixed sparsity pattern, to any derivative order.

A sparse matrix ``K`` is given by a fixed index structure (``rows``, ``cols``, ``n``) and
differentiable ``values`` (entry ``p`` of ``values`` is added at ``K[rows[p], cols[p]]``;
repeated coordinates are summed). :func:`sparse_solve` returns ``u = K^{-1} b`` for a
right-hand side ``b`` of shape (n,) or a block (n, k), differentiable with respect to both
``values`` and ``b``.

Method. The forward pass factorizes ``K`` once with SuperLU (:func:`scipy.sparse.linalg.splu`)
and solves. The backward pass is the adjoint system: for an incoming gradient ``g = dL/du``,
``lam = K^{-T} g`` by a transposed solve with the *same* factorization, then
``dL/db = lam`` and ``dL/dvalues[p] = -lam[rows[p]] * u[cols[p]]`` (summed over the columns
of a block right-hand side). The backward pass is itself written with differentiable torch
operations and calls the same solve again (with the cached factorization and the transposed
flag flipped), so autograd differentiates through it: Hessians and higher derivatives are
exact, and every further order reuses the one factorization (only triangular solves are
added). The factorization travels through the graph in a :class:`Factorization` handle.

Ordering. The fill-reducing ordering depends on the pattern only; :class:`SparsePattern`
computes it once (SuperLU's COLAMD by default) and afterwards factorizes the symmetrically
permuted matrix with SuperLU's natural ordering, which saves the ordering step in every
factorization.

Batches. N independent systems with one sparsity pattern are one block-diagonal system.
:meth:`SparsePattern.solve` takes them along a trailing axis, values (nnz, N) and right-hand
sides (n, N) or (n, N, k), and factorizes the block-diagonal matrix once (SuperLU sees the
blocks one after the other, each with the pattern's ordering); the trailing layout lets the
adjoint gather whole rows of N samples. :meth:`SparsePattern.batched_solve` is the same with
the batch axis first, and :func:`block_diagonal` gives the index structure of the explicit
block-diagonal matrix. Under :func:`torch.func.vmap` over right-hand sides (several Hessian
rows in one reverse pass) the vmapped batch becomes extra columns of one solve.

Assembly. :class:`SparseLinearMap` applies a fixed sparse matrix to a differentiable input
(e.g. per-element quantities to stiffness values), differentiable to any order.

Example:
    >>> rows, cols = torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1])
    >>> vals = torch.tensor([2.0, 1.0, 4.0], dtype=torch.float64, requires_grad=True)
    >>> u = sparse_solve(vals, rows, cols, 2, torch.tensor([2.0, 9.0], dtype=torch.float64))
    >>> u.detach()
    tensor([1., 2.], dtype=torch.float64)
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import splu
from torch import Tensor

ORDERINGS = ("MMD_AT_PLUS_A", "COLAMD", "MMD_ATA", "NATURAL")
"""Column orderings of SuperLU (``permc_spec`` of :func:`scipy.sparse.linalg.splu`)."""


class Factorization:
    """A SuperLU factorization of N systems of one pattern, passed through the autograd graph
    as a handle.

    Attributes:
        pattern: the index structure the matrices were built from.
        batch: N, the number of systems (blocks of the factorized block-diagonal matrix).
        lu: the :class:`scipy.sparse.linalg.SuperLU` object.
        n_solves: number of solve calls made with this factorization (right-hand-side
            blocks, not columns), for cost accounting.
    """

    def __init__(self, pattern: SparsePattern, batch: int, lu, order: np.ndarray | None) -> None:
        self.pattern = pattern
        self.batch = batch
        self.lu = lu
        self.n_solves = 0
        self._order = order  # LU unknown q is entry order[q] of the flattened (n, N) layout

    def solve_numpy(self, b: np.ndarray, transpose: bool) -> np.ndarray:
        """``K^{-1} b`` or, with ``transpose``, ``K^{-T} b`` for every system.

        *Shape:* b (n, N) or (n, N, k) -> like b; column ``s`` of the batch axis belongs to
        system ``s``.
        """
        self.n_solves += 1
        shape = b.shape
        flat = np.asarray(b, dtype=np.float64).reshape(shape[0] * shape[1], -1)
        trans = "T" if transpose else "N"
        if self._order is None:
            x = self.lu.solve(np.ascontiguousarray(flat), trans=trans)
        else:
            y = self.lu.solve(np.ascontiguousarray(flat[self._order]), trans=trans)
            x = np.empty_like(y)
            x[self._order] = y
        return x.reshape(shape)


class _Solve(torch.autograd.Function):
    """``u = K^{-1} b`` (or ``K^{-T} b``) for N systems with a given factorization;
    differentiable to any order. *Shapes:* values (nnz, N), b (n, N) or (n, N, k).

    Under :func:`torch.vmap` a batched right-hand side becomes extra columns of one block
    solve; batched ``values`` (different matrices) are not supported.
    """

    @staticmethod
    def forward(values: Tensor, b: Tensor, fact: Factorization, transpose: bool) -> Tensor:
        u_np = fact.solve_numpy(b.detach().cpu().numpy(), transpose)
        return torch.from_numpy(u_np).to(device=b.device, dtype=b.dtype)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        values, _, fact, transpose = inputs
        ctx.fact = fact
        ctx.transpose = transpose
        ctx.save_for_backward(values, output)

    @staticmethod
    def backward(ctx, g: Tensor):
        values, u = ctx.saved_tensors
        fact: Factorization = ctx.fact
        need_values, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (need_values or need_b):
            return None, None, None, None
        # adjoint system with the same factorization (transposed relative to the forward)
        lam = _Solve.apply(values, g, fact, not ctx.transpose)
        grad_values = None
        if need_values:
            pat = fact.pattern
            r, c = (pat.cols, pat.rows) if ctx.transpose else (pat.rows, pat.cols)
            # -lam[r] * u[c]: gathers of whole rows (all N systems), the sign on the short factor
            prod = (-lam).index_select(0, r.to(lam.device)) * u.index_select(0, c.to(u.device))
            grad_values = prod.sum(-1) if prod.ndim == 3 else prod
        return grad_values, (lam if need_b else None), None, None

    @staticmethod
    def vmap(info, in_dims, values: Tensor, b: Tensor, fact: Factorization, transpose: bool):
        if in_dims[0] is not None:
            raise NotImplementedError("sparse solve under vmap: batched matrix values are not supported "
                                      "(pass independent systems along the batch axis of 'values')")
        if in_dims[1] is None:
            return _Solve.apply(values, b, fact, transpose), None
        bb = b.movedim(in_dims[1], -1)  # (n, N, B) or (n, N, k, B)
        u = _Solve.apply(values, bb.reshape(bb.shape[0], bb.shape[1], -1), fact, transpose)
        return u.reshape(bb.shape), bb.ndim - 1


class SparsePattern:
    """Fixed index structure of a square sparse matrix; factorizes and solves for given values.

    Args:
        rows, cols: coordinates of the stored entries. *Shape:* (nnz,), integer.
        n: matrix size.
        ordering: SuperLU fill-reducing column ordering, one of :data:`ORDERINGS`
            (default ``"COLAMD"``, SuperLU's general choice).
        symmetric: tell SuperLU to prefer diagonal pivots (``SymmetricMode``,
            ``diag_pivot_thresh=0.01``); it still pivots where a diagonal entry is too small.
            ``False`` (default): SuperLU's partial pivoting.
        permutation: a symmetric fill-reducing permutation to use instead of computing one
            (new-to-old order, (n,)).

    The ordering depends on the pattern only, so it is computed once here (SuperLU's
    ``ordering`` of a diagonally dominant matrix of this pattern) and every factorization
    then runs on the symmetrically permuted matrix with ``permc_spec="NATURAL"``; the
    conversion of values to SuperLU's CSC input is a precomputed gather (per batch size). If
    the pattern lacks a diagonal entry, SuperLU orders at every factorization instead
    (:attr:`permutation` is ``None``).
    """

    def __init__(self, rows: Tensor, cols: Tensor, n: int, *, ordering: str = "COLAMD",
                 symmetric: bool = False, permutation: Tensor | np.ndarray | None = None) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"parameter 'n': must be an integer >= 1, got {n!r}")
        rows = torch.as_tensor(rows)
        cols = torch.as_tensor(cols)
        if rows.ndim != 1 or cols.shape != rows.shape:
            raise ValueError(f"parameters 'rows', 'cols': expected equal shapes (nnz,), got "
                             f"{tuple(rows.shape)} and {tuple(cols.shape)}")
        if rows.dtype.is_floating_point or cols.dtype.is_floating_point or rows.dtype == torch.bool:
            raise ValueError("parameters 'rows', 'cols': must be integer tensors")
        if rows.numel() and (int(rows.min()) < 0 or int(cols.min()) < 0
                             or int(rows.max()) >= n or int(cols.max()) >= n):
            raise ValueError(f"parameters 'rows', 'cols': indices must lie in [0, {n - 1}]")
        if ordering not in ORDERINGS:
            raise ValueError(f"parameter 'ordering': must be one of {ORDERINGS}, got {ordering!r}")
        self.rows = rows.to(torch.int64).cpu()
        self.cols = cols.to(torch.int64).cpu()
        self.n = n
        self.ordering = ordering
        self.symmetric = bool(symmetric)
        if permutation is not None:
            perm = np.asarray(permutation, dtype=np.int64)
            if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
                raise ValueError(f"parameter 'permutation': must be a permutation of range({n})")
        elif ordering == "NATURAL":
            perm = None
        else:
            perm = self._structural_ordering()
        self.permutation: np.ndarray | None = perm
        r, c = self.rows.numpy(), self.cols.numpy()
        if perm is not None:  # positions in the permuted matrix K[p][:, p]
            inv = np.empty(n, dtype=np.int64)
            inv[perm] = np.arange(n)
            r, c = inv[r], inv[c]
        key = c * n + r
        order = np.argsort(key, kind="stable")
        self._unique = bool(np.all(np.diff(key[order]) > 0))
        self._r, self._c = r, c
        self._csc_order = order
        self._indices = r[order]
        self._indptr = np.searchsorted(c[order], np.arange(n + 1))
        self._batch_cache: dict[int, tuple] = {}

    def _structural_ordering(self) -> np.ndarray | None:
        r, c = self.rows.numpy(), self.cols.numpy()
        diag = r == c
        if not np.isin(np.arange(self.n), r[diag]).all():
            return None
        vals = np.where(diag, np.bincount(r, minlength=self.n)[r] + 1.0, -1.0)
        a = sp.csc_matrix((vals, (r, c)), shape=(self.n, self.n))
        lu = splu(a, permc_spec=self.ordering, diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
        return np.argsort(lu.perm_c)

    @property
    def nnz(self) -> int:
        """Number of stored entries (with repetitions)."""
        return int(self.rows.numel())

    def matrix(self, values: Tensor | np.ndarray) -> sp.csc_matrix:
        """The SciPy CSC matrix ``K`` for ``values`` (detached, not permuted). *Shape:* (nnz,)."""
        v = values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)
        if v.shape != (self.nnz,):
            raise ValueError(f"parameter 'values': expected shape ({self.nnz},), got {v.shape}")
        return sp.csc_matrix((v.astype(np.float64), (self.rows.numpy(), self.cols.numpy())),
                             shape=(self.n, self.n))

    def _batch_layout(self, nb: int) -> tuple:
        """For N = nb systems: the block-diagonal CSC structure (blocks in sequence) and the
        order of the LU unknowns in the flattened (n, N) layout."""
        if nb not in self._batch_cache:
            if len(self._batch_cache) >= 8:
                self._batch_cache.clear()
            n, nnz = self.n, self.nnz
            s = np.arange(nb)
            if self._unique:
                gather = (self._csc_order[None, :] * nb + s[:, None]).reshape(-1)
                indices = (self._indices[None, :] + n * s[:, None]).reshape(-1).astype(np.int32)
                indptr = np.concatenate([self._indptr[:-1][None, :] + nnz * s[:, None],
                                         [[nb * nnz]]], axis=None).astype(np.int32)
                csc = (gather, indices, indptr)
            else:
                csc = ((self._r[None, :] + n * s[:, None]).reshape(-1),
                       (self._c[None, :] + n * s[:, None]).reshape(-1))
            # LU unknown (s, j) is the permuted unknown j of system s: entry perm[j] * N + s
            perm = np.arange(n) if self.permutation is None else self.permutation
            order = (perm[None, :] * nb + s[:, None]).reshape(-1)
            if self.permutation is None and nb == 1:
                order = None
            self._batch_cache[nb] = (csc, order)
        return self._batch_cache[nb]

    def factorize(self, values: Tensor | np.ndarray) -> Factorization:
        """One SuperLU factorization of N systems. *Shape:* values (nnz,) or (nnz, N)."""
        v = values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)
        v = v.astype(np.float64, copy=False)
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or v.shape[0] != self.nnz:
            raise ValueError(f"parameter 'values': expected shape ({self.nnz},) or ({self.nnz}, N), "
                             f"got {v.shape}")
        nb = v.shape[1]
        csc, order = self._batch_layout(nb)
        size = nb * self.n
        flat = v.reshape(-1)  # entry p of system s at p * N + s
        if self._unique:
            a = sp.csc_matrix((flat[csc[0]], csc[1], csc[2]), shape=(size, size))
        else:
            a = sp.csc_matrix((v.T.reshape(-1), csc), shape=(size, size))
        opts = {"SymmetricMode": True} if self.symmetric else {}
        lu = splu(a, permc_spec=self.ordering if self.permutation is None else "NATURAL",
                  diag_pivot_thresh=0.01 if self.symmetric else 1.0, options=opts)
        return Factorization(self, nb, lu, order)

    def solve(self, values: Tensor, b: Tensor, fact: Factorization | None = None,
              transpose: bool = False) -> Tensor:
        """Differentiable ``K^{-1} b`` (``K^{-T} b`` with ``transpose``).

        *Shapes:* one system: values (nnz,), b (n,) or (n, k); N systems along a trailing
        batch axis: values (nnz, N), b (n, N) or (n, N, k); the result has the shape of b.
        The matrices are factorized here unless ``fact`` (from :meth:`factorize` with the same
        values) is given; all derivative orders reuse that one factorization.
        """
        if not isinstance(values, Tensor) or values.ndim not in (1, 2) or values.shape[0] != self.nnz:
            shape = tuple(values.shape) if isinstance(values, Tensor) else type(values).__name__
            raise ValueError(f"parameter 'values': expected shape ({self.nnz},) or ({self.nnz}, N), "
                             f"got {shape}")
        single = values.ndim == 1
        nb = 1 if single else values.shape[1]
        lead = (self.n,) if single else (self.n, nb)
        if not isinstance(b, Tensor) or b.ndim - len(lead) not in (0, 1) \
                or tuple(b.shape[:len(lead)]) != lead:
            shape = tuple(b.shape) if isinstance(b, Tensor) else type(b).__name__
            raise ValueError(f"parameter 'b': expected shape {lead} or {(*lead, 'k')}, got {shape}")
        if not (values.dtype.is_floating_point and b.dtype.is_floating_point):
            raise ValueError(f"parameters 'values', 'b': must be floating point, got {values.dtype} "
                             f"and {b.dtype}")
        dtype = torch.promote_types(values.dtype, b.dtype)
        values, b = values.to(dtype), b.to(dtype)
        if single:
            values, b = values[:, None], b[:, None]
        if fact is None:
            fact = self.factorize(values)
        elif fact.pattern is not self or fact.batch != nb:
            raise ValueError(f"parameter 'fact': not a factorization of {nb} system(s) of this pattern")
        u = _Solve.apply(values, b, fact, bool(transpose))
        return u[:, 0] if single else u

    def batched_solve(self, values: Tensor, b: Tensor) -> Tensor:
        """:meth:`solve` for N systems with the batch axis first.

        *Shapes:* values (N, nnz), b (N, n) or (N, n, k) -> like b.
        """
        if not isinstance(values, Tensor) or values.ndim != 2 or values.shape[1] != self.nnz:
            shape = tuple(values.shape) if isinstance(values, Tensor) else type(values).__name__
            raise ValueError(f"parameter 'values': expected shape (N, {self.nnz}), got {shape}")
        nb = values.shape[0]
        if not isinstance(b, Tensor) or b.ndim not in (2, 3) or b.shape[:2] != (nb, self.n):
            shape = tuple(b.shape) if isinstance(b, Tensor) else type(b).__name__
            raise ValueError(f"parameter 'b': expected shape ({nb}, {self.n}) or ({nb}, {self.n}, k), "
                             f"got {shape}")
        return self.solve(values.T, b.movedim(0, 1)).movedim(1, 0)

    def block_diagonal(self, batch: int) -> SparsePattern:
        """Pattern of the explicit block-diagonal matrix of ``batch`` copies (same options; the
        ordering is this pattern's, repeated per block). :meth:`solve` with a batch axis
        factorizes the same matrix without building this pattern."""
        rows, cols, n = block_diagonal(self.rows, self.cols, self.n, batch)
        perm = None if self.permutation is None else \
            (self.permutation[None, :] + self.n * np.arange(batch)[:, None]).reshape(-1)
        return SparsePattern(rows, cols, n, ordering=self.ordering, symmetric=self.symmetric,
                             permutation=perm)


def block_diagonal(rows: Tensor, cols: Tensor, n: int, batch: int) -> tuple[Tensor, Tensor, int]:
    """Index structure of ``batch`` diagonal copies of one pattern.

    *Shapes:* rows, cols (nnz,) -> (batch * nnz,), with matrix size ``batch * n``; the values of
    sample ``s`` are entries ``s * nnz ... (s + 1) * nnz - 1``, i.e. ``values (batch, nnz)``
    flattened row-major, and its unknowns ``s * n ... (s + 1) * n - 1``.
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValueError(f"parameter 'batch': must be an integer >= 1, got {batch!r}")
    off = (torch.arange(batch, dtype=torch.int64) * n)[:, None]
    return (rows.to(torch.int64)[None, :] + off).reshape(-1), \
        (cols.to(torch.int64)[None, :] + off).reshape(-1), batch * n


def sparse_solve(values: Tensor, rows: Tensor, cols: Tensor, n: int, b: Tensor) -> Tensor:
    """Differentiable solve of ``K u = b``, ``K[rows[p], cols[p]] += values[p]``.

    *Shapes:* values, rows, cols (nnz,); b (n,) or (n, k) -> u like b. Gradients and higher
    derivatives with respect to ``values`` and ``b`` are exact and reuse one factorization.
    For repeated solves with one pattern, build a :class:`SparsePattern` once (it computes
    the fill-reducing ordering).
    """
    return SparsePattern(rows, cols, n).solve(values, b)


class _Apply(torch.autograd.Function):
    """``y = A x`` for a fixed sparse ``A`` and x (k, M); linear, so differentiable to any order
    (the backward applies ``A^T`` with this same Function)."""

    @staticmethod
    def forward(x: Tensor, lin: SparseLinearMap, transpose: bool) -> Tensor:
        return (lin._at if transpose else lin._a) @ x

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.lin, ctx.transpose = inputs[1], inputs[2]

    @staticmethod
    def backward(ctx, g: Tensor):
        return _Apply.apply(g, ctx.lin, not ctx.transpose), None, None

    @staticmethod
    def vmap(info, in_dims, x: Tensor, lin: SparseLinearMap, transpose: bool):
        if in_dims[0] is None:
            return _Apply.apply(x, lin, transpose), None
        xx = x.movedim(in_dims[0], -1)  # (k, M, B)
        y = _Apply.apply(xx.reshape(xx.shape[0], -1), lin, transpose)
        return y.reshape(y.shape[0], *xx.shape[1:]), 2


class SparseLinearMap:
    """A fixed sparse matrix ``A`` (m, k) applied to a differentiable input.

    Args:
        rows, cols, values: coordinates and values of the entries (repeated coordinates are
            summed). *Shape:* (nnz,).
        shape: ``(m, k)``.

    :meth:`columns` maps x (k, M) -> ``A x`` (m, M); calling the map applies it along the
    last axis, (..., k) -> (..., m). Gradients apply ``A^T`` (and derivatives of any order
    exist, the map being linear); both work under :func:`torch.func.vmap`. ``A`` and ``A^T``
    are kept as torch CSR tensors (float64), so neither direction transposes at run time.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                 shape: tuple[int, int]) -> None:
        m, k = shape
        a = sp.csr_matrix((np.asarray(values, dtype=np.float64), (np.asarray(rows), np.asarray(cols))),
                          shape=(m, k))
        a.sum_duplicates()
        self.shape = (m, k)
        self.nnz = int(a.nnz)
        self._a = _torch_csr(a)
        self._at = _torch_csr(a.T.tocsr())

    def columns(self, x: Tensor) -> Tensor:
        """``A x``. *Shape:* (k, M) -> (m, M)."""
        if x.ndim != 2 or x.shape[0] != self.shape[1]:
            raise ValueError(f"parameter 'x': expected shape ({self.shape[1]}, M), got {tuple(x.shape)}")
        return _Apply.apply(x.to(torch.float64), self, False)

    def __call__(self, x: Tensor) -> Tensor:
        """``x A^T`` along the last axis. *Shape:* (..., k) -> (..., m)."""
        if x.ndim < 1 or x.shape[-1] != self.shape[1]:
            raise ValueError(f"parameter 'x': last axis must have {self.shape[1]} entries, got "
                             f"{tuple(x.shape)}")
        flat = x.reshape(-1, self.shape[1])
        return self.columns(flat.T).T.reshape(*x.shape[:-1], self.shape[0])


def _torch_csr(a: sp.csr_matrix) -> Tensor:
    a.sort_indices()
    with warnings.catch_warnings():  # torch flags CSR tensors as beta; we use the CPU product only
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(torch.from_numpy(a.indptr.astype(np.int32)),  # int32: no index
                                       torch.from_numpy(a.indices.astype(np.int32)),  # copy per product
                                       torch.from_numpy(a.data.astype(np.float64)), size=a.shape,
                                       check_invariants=True)
