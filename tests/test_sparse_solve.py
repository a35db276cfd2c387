"""The differentiable sparse solve (derivlearn.solvers.sparse): values, gradients and Hessians
against dense solves and central differences, block-diagonal batching, vmap, one factorization
per forward pass at every derivative order, and bad input.

All float64. Tolerances: agreement with dense ``torch.linalg.solve`` (and with autograd through
it) 1e-10 relative, since both are backward-stable solves of well-conditioned systems (we
measured ~1e-14); central differences (step 1e-6) 1e-6 relative (truncation ~1e-12, rounding
~1e-10; we measured ~1e-9).
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from derivlearn.solvers import sparse
from derivlearn.solvers.sparse import SparseLinearMap, SparsePattern, block_diagonal, sparse_solve

F64 = torch.float64


def random_system(n: int, seed: int, density: float = 0.25, nonsymmetric: bool = True):
    """A well-conditioned random sparse matrix (coordinates, values) and a right-hand side."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(n, n, generator=g) < density
    mask |= torch.eye(n, dtype=torch.bool)
    if not nonsymmetric:
        mask |= mask.T
    rows, cols = mask.nonzero(as_tuple=True)
    vals = torch.randn(rows.numel(), generator=g, dtype=F64)
    vals = torch.where(rows == cols, vals.abs() + n * density + 2.0, vals)  # diagonally dominant
    b = torch.randn(n, generator=g, dtype=F64)
    return rows, cols, vals, b


def dense(rows: Tensor, cols: Tensor, vals: Tensor, n: int) -> Tensor:
    """Differentiable dense matrix (repeated coordinates summed)."""
    return torch.zeros(n * n, dtype=vals.dtype).index_add(0, rows * n + cols, vals).reshape(n, n)


def rel_err(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())  # callers pass detached tensors


def loss(u: Tensor) -> Tensor:
    """A nonlinear scalar of the solution, so that Hessians have a nonzero u-u block."""
    return (u ** 3).sum() / 3 + (torch.arange(u.numel(), dtype=u.dtype) * u.reshape(-1)).sum()


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("transpose", [False, True])
def test_solve_matches_dense(k, transpose):
    n = 40
    rows, cols, vals, b = random_system(n, seed=1)
    if k is not None:
        b = torch.randn(n, k, generator=torch.Generator().manual_seed(2), dtype=F64)
    pat = SparsePattern(rows, cols, n)
    assert pat.permutation is not None  # precomputed COLAMD ordering
    u = pat.solve(vals, b, transpose=transpose)
    a = dense(rows, cols, vals, n)
    ref = torch.linalg.solve(a.T if transpose else a, b)
    assert u.shape == b.shape
    assert rel_err(u, ref) < 1e-10
    assert rel_err(sparse_solve(vals, rows, cols, n, b), torch.linalg.solve(a, b)) < 1e-10
    # without a precomputed ordering (SuperLU orders at each factorization): the same solution
    nat = SparsePattern(rows, cols, n, ordering="NATURAL")
    assert nat.permutation is None
    assert rel_err(nat.solve(vals, b, transpose=transpose), ref) < 1e-10


def test_repeated_coordinates_are_summed():
    n = 12
    rows, cols, vals, b = random_system(n, seed=3)
    extra = torch.arange(0, vals.numel(), 3)  # split every third entry into two halves
    r2, c2 = torch.cat([rows, rows[extra]]), torch.cat([cols, cols[extra]])
    v2 = torch.cat([vals, vals[extra] / 2])
    v2[extra] = vals[extra] / 2
    v2 = v2.requires_grad_(True)
    u = sparse_solve(v2, r2, c2, n, b)
    ref_v = v2.detach().clone().requires_grad_(True)
    ref = torch.linalg.solve(dense(r2, c2, ref_v, n), b)
    assert rel_err(u.detach(), ref.detach()) < 1e-10
    (g,) = torch.autograd.grad(loss(u), v2)
    (g_ref,) = torch.autograd.grad(loss(ref), ref_v)
    assert rel_err(g, g_ref) < 1e-10


def _scalar(pat: SparsePattern, n_vals: int):
    """x = (values, b) -> loss(K(values)^{-1} b)."""
    def f(x: Tensor) -> Tensor:
        return loss(pat.solve(x[:n_vals], x[n_vals:]))
    return f


def _scalar_dense(rows, cols, n, n_vals: int):
    def f(x: Tensor) -> Tensor:
        return loss(torch.linalg.solve(dense(rows, cols, x[:n_vals], n), x[n_vals:]))
    return f


@pytest.mark.parametrize("transpose", [False, True])
def test_gradient_and_hessian_exact(transpose):
    """Gradient and Hessian w.r.t. (values, b) through the solve: equal to autograd through a
    dense solve, to central differences of the value (gradient) and of the gradient (Hessian)."""
    n = 10
    rows, cols, vals, b = random_system(n, seed=4)
    pat = SparsePattern(rows, cols, n)
    nv = vals.numel()
    x0 = torch.cat([vals, b])

    def f(x: Tensor) -> Tensor:
        return loss(pat.solve(x[:nv], x[nv:], transpose=transpose))

    def f_dense(x: Tensor) -> Tensor:
        a = dense(rows, cols, x[:nv], n)
        return loss(torch.linalg.solve(a.T if transpose else a, x[nv:]))

    def grad(fun, x: Tensor) -> Tensor:
        x = x.detach().clone().requires_grad_(True)
        return torch.autograd.grad(fun(x), x)[0]

    g = grad(f, x0)
    h = torch.autograd.functional.hessian(f, x0)
    assert rel_err(g, grad(f_dense, x0)) < 1e-10
    assert rel_err(h, torch.autograd.functional.hessian(f_dense, x0)) < 1e-10
    assert rel_err(h, h.T) < 1e-12
    step = 1e-6
    eye = torch.eye(x0.numel(), dtype=F64) * step
    fd_g = torch.stack([(f(x0 + e) - f(x0 - e)) / (2 * step) for e in eye])
    fd_h = torch.stack([(grad(f, x0 + e) - grad(f, x0 - e)) / (2 * step) for e in eye])
    assert rel_err(g, fd_g) < 1e-6
    assert rel_err(h, fd_h) < 1e-6
    # the comparison has teeth: a Hessian off by 1e-4 in one entry is rejected
    bad = h.clone()
    bad[3, 5] += 1e-4 * h.abs().max()
    assert rel_err(bad, fd_h) > 1e-6


def test_third_derivative_through_the_solve():
    """The backward is itself differentiable to any order: a third directional derivative of
    the solve equals central differences of the second."""
    n = 8
    rows, cols, vals, b = random_system(n, seed=5)
    pat = SparsePattern(rows, cols, n)
    v = torch.randn(vals.numel(), generator=torch.Generator().manual_seed(6), dtype=F64)

    def d2(t: float) -> Tensor:
        s = torch.tensor(t, dtype=F64, requires_grad=True)
        y = loss(pat.solve(vals + s * v, b))
        (g1,) = torch.autograd.grad(y, s, create_graph=True)
        (g2,) = torch.autograd.grad(g1, s, create_graph=True)
        return g2

    s = torch.tensor(0.0, dtype=F64, requires_grad=True)
    y = loss(pat.solve(vals + s * v, b))
    g1 = torch.autograd.grad(y, s, create_graph=True)[0]
    g2 = torch.autograd.grad(g1, s, create_graph=True)[0]
    g3 = torch.autograd.grad(g2, s)[0]
    step = 1e-5
    fd = (d2(step) - d2(-step)).detach() / (2 * step)
    assert abs(float(g3 - fd)) < 1e-6 * abs(float(g3))


@pytest.mark.parametrize("ordering", ["COLAMD", "NATURAL"])
@pytest.mark.parametrize("k", [None, 2])
def test_batch_equals_separate_solves(k, ordering):
    """N systems of one pattern in one factorization (batch axis last, or first with
    batched_solve) equal N separate solves, values and gradients; also with repeated
    coordinates and without a precomputed ordering."""
    n, nb = 15, 4
    rows, cols, _, _ = random_system(n, seed=7)
    rows, cols = torch.cat([rows, rows[:5]]), torch.cat([cols, cols[:5]])  # some repeated entries
    g = torch.Generator().manual_seed(8)
    vals = torch.randn(nb, rows.numel(), generator=g, dtype=F64)
    vals = torch.where(rows == cols, vals.abs() + 8.0, vals).requires_grad_(True)
    b = torch.randn(nb, n, *(() if k is None else (k,)), generator=g, dtype=F64).requires_grad_(True)
    pat = SparsePattern(rows, cols, n, ordering=ordering)
    u = pat.batched_solve(vals, b)
    u_last = pat.solve(vals.T, b.movedim(0, 1))
    ref = torch.stack([pat.solve(vals[s], b[s]) for s in range(nb)])
    assert u.shape == b.shape and u_last.shape == b.movedim(0, 1).shape
    assert rel_err(u.detach(), ref.detach()) < 1e-12
    assert rel_err(u_last.movedim(1, 0).detach(), ref.detach()) < 1e-12
    gv, gb = torch.autograd.grad(loss(u), (vals, b))
    gv_ref, gb_ref = torch.autograd.grad(loss(ref), (vals, b))
    assert rel_err(gv, gv_ref) < 1e-12 and rel_err(gb, gb_ref) < 1e-12
    fact = pat.factorize(vals.detach().T)
    assert fact.batch == nb
    with pytest.raises(ValueError, match="parameter 'fact'"):
        pat.solve(vals[0], b[0], fact=fact)


def test_block_diagonal_index_structure():
    """The explicit block-diagonal pattern (helper) solves like the batch axis."""
    n, nb = 15, 3
    rows, cols, _, _ = random_system(n, seed=14)
    g = torch.Generator().manual_seed(15)
    vals = torch.randn(nb, rows.numel(), generator=g, dtype=F64)
    vals = torch.where(rows == cols, vals.abs() + 8.0, vals)
    b = torch.randn(nb, n, generator=g, dtype=F64)
    r2, c2, n2 = block_diagonal(rows, cols, n, nb)
    assert n2 == nb * n and r2.numel() == nb * rows.numel()
    assert torch.equal(r2[rows.numel():2 * rows.numel()], rows + n)
    assert torch.equal(c2[-rows.numel():], cols + (nb - 1) * n)
    pat = SparsePattern(rows, cols, n)
    blk = pat.block_diagonal(nb)
    assert (blk.permutation[n:2 * n] == pat.permutation + n).all()
    u = blk.solve(vals.reshape(-1), b.reshape(-1)).reshape(nb, n)
    assert rel_err(u, pat.batched_solve(vals, b)) < 1e-12
    assert rel_err(sparse_solve(vals.reshape(-1), r2, c2, n2, b.reshape(-1)).reshape(nb, n), u) < 1e-12


def test_vmap_over_right_hand_sides():
    """Batched right-hand sides under torch.func.vmap (used for Hessian rows) become one block
    solve; batched matrix values are refused."""
    n = 12
    rows, cols, vals, _ = random_system(n, seed=9)
    pat = SparsePattern(rows, cols, n)
    fact = pat.factorize(vals)
    bs = torch.randn(5, n, generator=torch.Generator().manual_seed(10), dtype=F64)
    u = torch.func.vmap(lambda b: pat.solve(vals, b, fact=fact))(bs)
    assert rel_err(u, torch.linalg.solve(dense(rows, cols, vals, n), bs.T).T) < 1e-10
    assert fact.n_solves == 1  # one block solve for the 5 right-hand sides
    with pytest.raises(NotImplementedError, match="batched matrix values"):
        torch.func.vmap(lambda v: pat.solve(v, bs[0], fact=fact))(vals.expand(3, -1))


def test_one_factorization_per_forward(monkeypatch):
    """splu runs once per forward pass, however many derivative orders are taken."""
    n = 10
    rows, cols, vals, b = random_system(n, seed=11)
    pat = SparsePattern(rows, cols, n)  # its ordering was computed here, before counting
    calls = []
    real = sparse.splu

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sparse, "splu", counting)
    x = torch.cat([vals, b]).requires_grad_(True)
    f = _scalar(pat, vals.numel())
    y = f(x)
    (g,) = torch.autograd.grad(y, x, create_graph=True)
    rows_h = [torch.autograd.grad(g[i], x, retain_graph=True)[0] for i in range(0, x.numel(), 7)]
    assert len(calls) == 1
    assert len(rows_h) > 1
    # the dense route agrees on those Hessian rows
    h_ref = torch.autograd.functional.hessian(_scalar_dense(rows, cols, n, vals.numel()), x.detach())
    assert rel_err(torch.stack(rows_h), h_ref[::7]) < 1e-10
    # and a factorization handed in explicitly is never redone
    fact = pat.factorize(vals)
    for _ in range(3):
        pat.solve(vals, b, fact=fact)
    assert len(calls) == 2


def test_pattern_without_diagonal_falls_back():
    """A pattern missing a diagonal entry still solves (SuperLU orders at each factorization)."""
    rows = torch.tensor([0, 1, 1, 2, 2])
    cols = torch.tensor([1, 0, 2, 1, 2])
    vals = torch.tensor([2.0, 3.0, 1.0, 1.0, 4.0], dtype=F64)
    pat = SparsePattern(rows, cols, 3)
    assert pat.permutation is None
    b = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    assert rel_err(pat.solve(vals, b), torch.linalg.solve(dense(rows, cols, vals, 3), b)) < 1e-12


def test_bad_input():
    rows, cols, vals, b = random_system(6, seed=12)
    pat = SparsePattern(rows, cols, 6)
    with pytest.raises(ValueError, match="parameter 'n'"):
        SparsePattern(rows, cols, 0)
    with pytest.raises(ValueError, match="parameters 'rows', 'cols'.*equal shapes"):
        SparsePattern(rows, cols[:-1], 6)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\]"):
        SparsePattern(rows, cols, 5)
    with pytest.raises(ValueError, match="must be integer"):
        SparsePattern(rows.double(), cols, 6)
    with pytest.raises(ValueError, match="parameter 'ordering'"):
        SparsePattern(rows, cols, 6, ordering="AMD")
    with pytest.raises(ValueError, match="parameter 'permutation'"):
        SparsePattern(rows, cols, 6, permutation=[0, 1, 2, 3, 4, 4])
    with pytest.raises(ValueError, match="parameter 'values'"):
        pat.solve(vals[:-1], b)
    with pytest.raises(ValueError, match="parameter 'b'"):
        pat.solve(vals, b[:-1])
    with pytest.raises(ValueError, match="floating point"):
        pat.solve(vals, torch.ones(6, dtype=torch.int64))
    with pytest.raises(ValueError, match="parameter 'values'"):
        pat.batched_solve(vals, b[None])
    with pytest.raises(ValueError, match="parameter 'b'"):
        pat.batched_solve(vals[None], b)
    with pytest.raises(ValueError, match="parameter 'batch'"):
        block_diagonal(rows, cols, 6, 0)
    other = SparsePattern(rows, cols, 6)
    with pytest.raises(ValueError, match="parameter 'fact'"):
        pat.solve(vals, b, fact=other.factorize(vals))


def test_sparse_linear_map():
    """A fixed sparse map applied along the last axis: equal to the dense product, with the
    transpose as gradient, exact second derivatives through it, and vmap support."""
    g = torch.Generator().manual_seed(13)
    m, k = 9, 14
    rows = torch.randint(0, m, (40,), generator=g).numpy()
    cols = torch.randint(0, k, (40,), generator=g).numpy()
    vals = torch.randn(40, generator=g, dtype=F64).numpy()
    lin = SparseLinearMap(rows, cols, vals, (m, k))
    a = dense(torch.from_numpy(rows), torch.from_numpy(cols), torch.from_numpy(vals), max(m, k))[:m, :k]
    x = torch.randn(3, 2, k, generator=g, dtype=F64, requires_grad=True)
    y = lin(x)
    assert y.shape == (3, 2, m)
    assert rel_err(y.detach(), x.detach() @ a.T) < 1e-13
    w = torch.randn(3, 2, m, generator=g, dtype=F64)
    (gx,) = torch.autograd.grad((y * w).sum(), x)
    assert rel_err(gx, w @ a) < 1e-13
    # second derivatives through the map: the Hessian of |A x|^2 is 2 A^T A
    h = torch.autograd.functional.hessian(lambda z: (lin(z) ** 2).sum(), x.detach()[0, 0])
    assert rel_err(h, 2 * a.T @ a) < 1e-13
    v = torch.func.vmap(lin)(x.detach())
    assert rel_err(v, x.detach() @ a.T) < 1e-13
    with pytest.raises(ValueError, match="parameter 'x'"):
        lin(torch.ones(3, k + 1, dtype=F64))
