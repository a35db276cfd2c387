"""derivative_tensors and the index helpers: finite differences, independent sympy closed forms,
hand-derived closed forms, index bookkeeping, the naive route, create_graph and bad input.

Every test function of the registry is checked to order 3 by finite differences of the
library's own lower-order tensor, and the 18 Table I functions plus n-D Rosenbrock (d = 3) and
Friedman #1 to order 5 against sympy expressions re-typed here from the textbook formulas (with
the repository's documented deviations: McCormick with (x1 + x2)^2, Styblinski-Tang with 1/3).
Hand-derived closed forms (no sympy) to order 5: sphere, sum_squares, booth, matyas,
styblinski_tang (polynomials), mccormick (sin(x1 + x2)) and easom (cos * Gaussian factors).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter

import numpy as np
import pytest
import sympy as sp
import torch

from derivlearn import functions
from derivlearn.derivatives import (
    MAX_ORDER,
    derivative_tensors,
    directional,
    exponents,
    full_to_unique,
    multiplicity,
    n_unique,
    unique_indices,
    unique_to_full,
)

T64 = torch.float64
EPS = torch.finfo(T64).eps
ND_DIM = 3  # dimension of rosenbrock_nd in these tests
ALL_NAMES = functions.names()
SYMPY_NAMES = [*functions.TABLE_I_NAMES, "rosenbrock_nd", "friedman1"]


def _get(name: str) -> functions.TestFunction:
    return functions.get(name, dim=ND_DIM if name == "rosenbrock_nd" else None)


def _points(f: functions.TestFunction, n: int, seed: int, margin: float = 0.1) -> torch.Tensor:
    """``n`` seeded points in the inner ``1 - 2 margin`` part of the domain. For
    sum_of_different_powers, |x2| >= 0.15, away from the kink of |x2|^3 (not C^3 at 0)."""
    g = torch.Generator().manual_seed(seed)
    dom = f.domain
    u = margin + (1 - 2 * margin) * torch.rand(n, f.dim, generator=g, dtype=T64)
    x = dom[:, 0] + u * (dom[:, 1] - dom[:, 0])
    if f.name == "sum_of_different_powers":
        x[:, 1] = torch.where(x[:, 1] >= 0, 0.15 + 0.7 * x[:, 1], -0.15 + 0.7 * x[:, 1])
    return x


def _amax(t: torch.Tensor) -> torch.Tensor:
    """Largest |entry| per row. (N, ...) -> (N,)"""
    return t.abs().reshape(t.shape[0], -1).amax(dim=1)


def _full_from_partials(partial, n: int, d: int, k: int) -> torch.Tensor:
    """Full (n, d, ..., d) tensor whose entry (i_1, ..., i_k) is ``partial(alpha)``, alpha the
    exponent vector (count of each input among the i_j); built without the library's maps."""
    out = torch.empty(n, *([d] * k), dtype=T64)
    cache: dict[tuple[int, ...], torch.Tensor] = {}
    for idx in itertools.product(range(d), repeat=k):
        alpha = tuple(idx.count(i) for i in range(d))
        if alpha not in cache:
            cache[alpha] = torch.tensor(np.broadcast_to(np.asarray(partial(alpha), dtype=float), (n,)),
                                        dtype=T64)
        out[(slice(None), *idx)] = cache[alpha]
    return out


# ============================================================================ 1. finite differences
FD_REL_STEP = 1e-5  # h_j = 1e-5 * width of input j
FD_ROUND_SAFETY = 100.0  # rounding of an autograd evaluation: <= 100 eps * (tensor magnitude)
FD_TRUNC_SAFETY = 2.0
FD_RTOL = 1e-9


def _fd_compare(f, x: torch.Tensor, k: int):
    """Central differences of the order-(k-1) tensor along each input j against the order-k
    tensor; returns (exact, fd, tol), all (N, d, ..., d) with the FD direction on the last axis.

    For direction j with step h_j the central difference of T = T_{k-1} is
    ``dT/dx_j + (h_j^2 / 6) d^3T/dx_j^3 (xi) + rounding``, so per entry
    ``|fd - exact| <= 2 h_j^2/6 max|T_{k+2}(x)| + 100 eps max|T_{k-1}(x)| / h_j + 1e-9 |exact|``:
    the truncation bound (factor 2 for xi != x; h is tiny so T_{k+2} barely changes over
    [x - h, x + h]), the rounding of the two evaluations of T_{k-1} divided by 2 h (factor 100
    for cancellation among the summed terms), and a relative slack for the O(h^4) remainder.
    """
    n, d = x.shape
    h = FD_REL_STEP * (f.domain[:, 1] - f.domain[:, 0])  # (d,)
    ders = derivative_tensors(f, x, k + 2, form="unique")
    m_hi, m_lo = _amax(ders[k + 2]), _amax(ders[k - 1])  # (N,)
    exact = derivative_tensors(f, x, k)[k]  # (N, d, ..., d)
    shifted = torch.stack([x[:, None, :] + torch.diag(h), x[:, None, :] - torch.diag(h)], dim=1)
    low = derivative_tensors(f, shifted.reshape(-1, d), k - 1)[k - 1].reshape(n, 2, d, *([d] * (k - 1)))
    fd = ((low[:, 0] - low[:, 1]) / (2 * h.reshape(1, d, *([1] * (k - 1))))).movedim(1, -1)
    atol = (FD_TRUNC_SAFETY * h**2 / 6 * m_hi[:, None]
            + FD_ROUND_SAFETY * EPS * m_lo[:, None] / h)  # (N, d): point, direction
    tol = atol.reshape(n, *([1] * (k - 1)), d) + FD_RTOL * exact.abs()
    return exact, fd, tol


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("name", ALL_NAMES)
def test_matches_central_differences_of_lower_order(name, k):
    """Order-k tensor = central FD of the order-(k-1) tensor, every test function, k <= 3;
    and the same comparison rejects a tensor with one entry perturbed by 1e-5 of its scale."""
    f = _get(name)
    x = _points(f, 3, seed=10 + k)
    exact, fd, tol = _fd_compare(f, x, k)
    err = (fd - exact).abs()
    assert bool((err <= tol).all()), (f"{name} k={k}: worst err/tol {float((err / tol).max()):.3g}, "
                                      f"max err {float(err.max()):.3g}")
    # meta: the comparison can fail (the tolerance is far below the tensors' scale)
    scale = torch.maximum(_amax(exact), _amax(derivative_tensors(f, x, k - 1)[k - 1]))
    bad = exact.clone()
    flat = bad.reshape(bad.shape[0], -1)
    j = int(flat[0].abs().argmax())
    flat[0, j] += 1e-5 * float(scale[0])
    assert not bool(((fd - bad).abs() <= tol).all()), f"{name} k={k}: perturbed tensor passed"


# ============================================================================ 2. sympy closed forms
def _sym_abs_pow(t, p: int):
    return sp.Piecewise((t**p, t >= 0), ((-t) ** p, True))


def _sym_expr(name: str, xs) -> sp.Expr:
    """Textbook formulas (Surjanovic & Bingham's Virtual Library of Simulation Experiments, and
    Hartmann et al. Table I where the repository keeps the printed form), typed independently."""
    pi, R = sp.pi, sp.Rational
    x1, x2 = xs[0], xs[1]
    if name == "sphere":
        return x1**2 + x2**2
    if name == "sum_of_different_powers":  # sum |x_i|^(i+1)
        return _sym_abs_pow(x1, 2) + _sym_abs_pow(x2, 3)
    if name == "sum_squares":  # sum i x_i^2
        return x1**2 + 2 * x2**2
    if name == "trid":
        return (x1 - 1) ** 2 + (x2 - 1) ** 2 - x1 * x2
    if name == "booth":
        return (x1 + 2 * x2 - 7) ** 2 + (2 * x1 + x2 - 5) ** 2
    if name == "mccormick":  # repository variant (x1 + x2)^2 (textbook: (x1 - x2)^2), see note
        return sp.sin(x1 + x2) + (x1 + x2) ** 2 - R(3, 2) * x1 + R(5, 2) * x2 + 1
    if name == "matyas":
        return R(26, 100) * (x1**2 + x2**2) - R(48, 100) * x1 * x2
    if name == "powersum":  # sum_k ((sum_i x_i^k) - b_k)^2, b = (8, 18) for d = 2
        return (x1 + x2 - 8) ** 2 + (x1**2 + x2**2 - 18) ** 2
    if name == "rosenbrock":
        return 100 * (x2 - x1**2) ** 2 + (x1 - 1) ** 2
    if name == "three_hump_camel":
        return 2 * x1**2 - R(105, 100) * x1**4 + x1**6 / 6 + x1 * x2 + x2**2
    if name == "six_hump_camel":
        return (4 - R(21, 10) * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2
    if name == "dixon_price":  # (x1 - 1)^2 + sum_{i>=2} i (2 x_i^2 - x_{i-1})^2
        return (x1 - 1) ** 2 + 2 * (2 * x2**2 - x1) ** 2
    if name == "easom":
        return -sp.cos(x1) * sp.cos(x2) * sp.exp(-((x1 - pi) ** 2) - (x2 - pi) ** 2)
    if name == "michalewicz":  # m = 10
        return -sum(sp.sin(xi) * sp.sin(i * xi**2 / pi) ** 20 for i, xi in enumerate(xs, start=1))
    if name == "styblinski_tang":  # factor 1/3 as printed in Table I (textbook: 1/2), see note
        return R(1, 3) * sum(xi**4 - 16 * xi**2 + 5 * xi for xi in xs)
    if name == "beale":
        return ((R(3, 2) - x1 + x1 * x2) ** 2 + (R(9, 4) - x1 + x1 * x2**2) ** 2
                + (R(21, 8) - x1 + x1 * x2**3) ** 2)
    if name == "branin":
        b, c, t = R(51, 10) / (4 * pi**2), 5 / pi, 1 / (8 * pi)
        return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * sp.cos(x1) + 10
    if name == "goldstein_price":
        a = 1 + (x1 + x2 + 1) ** 2 * (19 - 14 * x1 + 3 * x1**2 - 14 * x2 + 6 * x1 * x2 + 3 * x2**2)
        b = 30 + (2 * x1 - 3 * x2) ** 2 * (18 - 32 * x1 + 12 * x1**2 + 48 * x2 - 36 * x1 * x2
                                           + 27 * x2**2)
        return a * b
    if name == "rosenbrock_nd":
        return sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (xs[i] - 1) ** 2 for i in range(len(xs) - 1))
    if name == "friedman1":
        return 10 * sp.sin(pi * x1 * x2) + 20 * (xs[2] - R(1, 2)) ** 2 + 10 * xs[3] + 5 * xs[4]
    raise KeyError(name)


@functools.cache
def _sym_partials(name: str, dim: int):
    """Symbols, expression and ``alpha -> numpy function`` for all partials up to order 5."""
    xs = sp.symbols(f"x1:{dim + 1}", real=True)
    expr = _sym_expr(name, xs)
    exprs = {(0,) * dim: expr}
    level = [(0,) * dim]
    for _ in range(MAX_ORDER):
        level = sorted({tuple(a + (j == i) for j, a in enumerate(p)) for p in level for i in range(dim)})
        for alpha in level:  # differentiate the parent (one less in the last nonzero slot)
            i = max(j for j in range(dim) if alpha[j])
            parent = exprs[tuple(a - (j == i) for j, a in enumerate(alpha))]
            exprs[alpha] = sp.diff(parent, xs[i])
    fns = {}
    for alpha, e in exprs.items():
        if e.is_number:
            fns[alpha] = (lambda v: lambda *_: float(v))(e)
        else:
            fns[alpha] = sp.lambdify(xs, e, modules="numpy")
    return xs, expr, fns


def _sym_tensors(name: str, x: torch.Tensor, order: int) -> list[torch.Tensor]:
    n, d = x.shape
    _, _, fns = _sym_partials(name, d)
    cols = [x[:, i].numpy() for i in range(d)]
    return [_full_from_partials(lambda a: fns[a](*cols), n, d, k) for k in range(order + 1)]


SYM_RTOL = 1e-9


def _assert_close_scaled(got: list[torch.Tensor], want: list[torch.Tensor], rtol: float, what: str):
    """Every entry of every order within ``rtol * max|want_k|`` at its point (plus a tiny floor
    of ``1e-3 rtol`` times the largest magnitude of any order there, for vanishing tensors)."""
    floor = torch.stack([_amax(w) for w in want]).amax(dim=0)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.shape == w.shape, (what, k, g.shape, w.shape)
        n = w.shape[0]
        tol = (rtol * _amax(w) + 1e-3 * rtol * floor).reshape(n, *([1] * (w.ndim - 1)))
        err = (g - w).abs()
        assert bool((err <= tol).all()), (f"{what} order {k}: worst err/tol "
                                          f"{float((err / tol).max()):.3g}, max err {float(err.max()):.3g}")


@pytest.mark.parametrize("name", SYMPY_NAMES)
def test_matches_sympy_closed_form_to_order_5(name):
    """All full tensors of orders 0..5 against sympy derivatives of an independently typed
    formula, at random points, to 1e-9 relative to the tensor's magnitude at each point."""
    f = _get(name)
    x = _points(f, 4, seed=20, margin=0.05)
    got = derivative_tensors(f, x, MAX_ORDER)
    _assert_close_scaled(got, _sym_tensors(name, x, MAX_ORDER), SYM_RTOL, name)


def test_sympy_comparison_can_fail():
    """Meta: the sympy comparison rejects a tensor with one entry off by 1e-8 relative, and a
    formula with the other Styblinski-Tang factor (1/2 instead of 1/3)."""
    f = _get("goldstein_price")
    x = _points(f, 2, seed=21)
    got = derivative_tensors(f, x, 3)
    want = _sym_tensors("goldstein_price", x, 3)
    _assert_close_scaled(got, want, SYM_RTOL, "unperturbed")
    bad = [t.clone() for t in got]
    bad[3][1, 0, 1, 1] += 1e-8 * float(_amax(want[3])[1])
    with pytest.raises(AssertionError):
        _assert_close_scaled(bad, want, SYM_RTOL, "perturbed")
    st = _get("styblinski_tang")
    x = _points(st, 2, seed=22)
    with pytest.raises(AssertionError):
        _assert_close_scaled([t * 1.5 for t in derivative_tensors(st, x, 2)],
                             _sym_tensors("styblinski_tang", x, 2), SYM_RTOL, "factor 1/2")


# ============================================================================ 3. hand-derived forms
def _hand_sphere(x, alpha):
    k = sum(alpha)
    if k == 0:
        return (x**2).sum(-1)
    if k == 1:
        return 2 * x[:, 0 if alpha[0] else 1]
    return torch.full((x.shape[0],), 2.0 if (k == 2 and max(alpha) == 2) else 0.0, dtype=T64)


def _hand_sum_squares(x, alpha):  # x1^2 + 2 x2^2
    k = sum(alpha)
    x1, x2 = x.unbind(-1)
    if k == 0:
        return x1**2 + 2 * x2**2
    if k == 1:
        return 2 * x1 if alpha[0] else 4 * x2
    val = {(2, 0): 2.0, (0, 2): 4.0}.get(alpha, 0.0)
    return torch.full_like(x1, val)


def _hand_booth(x, alpha):
    # f = (x1 + 2 x2 - 7)^2 + (2 x1 + x2 - 5)^2 = 5 x1^2 + 8 x1 x2 + 5 x2^2 - 34 x1 - 38 x2 + 74
    x1, x2 = x.unbind(-1)
    table = {(0, 0): (x1 + 2 * x2 - 7) ** 2 + (2 * x1 + x2 - 5) ** 2,
             (1, 0): 10 * x1 + 8 * x2 - 34, (0, 1): 8 * x1 + 10 * x2 - 38,
             (2, 0): 10.0, (1, 1): 8.0, (0, 2): 10.0}
    return torch.as_tensor(table.get(alpha, 0.0), dtype=T64).expand(x.shape[0])


def _hand_matyas(x, alpha):
    x1, x2 = x.unbind(-1)
    table = {(0, 0): 0.26 * (x1**2 + x2**2) - 0.48 * x1 * x2,
             (1, 0): 0.52 * x1 - 0.48 * x2, (0, 1): 0.52 * x2 - 0.48 * x1,
             (2, 0): 0.52, (1, 1): -0.48, (0, 2): 0.52}
    return torch.as_tensor(table.get(alpha, 0.0), dtype=T64).expand(x.shape[0])


def _hand_styblinski_tang(x, alpha):
    # separable: (1/3) sum p(x_i), p = t^4 - 16 t^2 + 5 t; mixed partials vanish
    k = sum(alpha)
    if k == 0:
        return (x**4 - 16 * x**2 + 5 * x).sum(-1) / 3
    if max(alpha) != k:
        return torch.zeros(x.shape[0], dtype=T64)
    t = x[:, alpha.index(k)]
    p = [None, 4 * t**3 - 32 * t + 5, 12 * t**2 - 32, 24 * t, torch.full_like(t, 24.0),
         torch.zeros_like(t)]
    return p[k] / 3


def _hand_mccormick(x, alpha):
    # f = sin(s) + s^2 - 1.5 x1 + 2.5 x2 + 1, s = x1 + x2 (repository variant); every partial of
    # order k depends on s only: sin^(k)(s) = sin(s + k pi/2), plus the polynomial part
    k = sum(alpha)
    x1, x2 = x.unbind(-1)
    s = x1 + x2
    if k == 0:
        return torch.sin(s) + s**2 - 1.5 * x1 + 2.5 * x2 + 1
    if k == 1:
        return torch.cos(s) + 2 * s + (-1.5 if alpha[0] else 2.5)
    if k == 2:
        return -torch.sin(s) + 2
    return torch.sin(s + k * math.pi / 2)


# Hermite polynomials (physicists'): d^j/du^j exp(-u^2) = (-1)^j H_j(u) exp(-u^2)
_HERMITE = [lambda u: torch.ones_like(u), lambda u: 2 * u, lambda u: 4 * u**2 - 2,
            lambda u: 8 * u**3 - 12 * u, lambda u: 16 * u**4 - 48 * u**2 + 12,
            lambda u: 32 * u**5 - 160 * u**3 + 120 * u]


def _easom_factor(t, n):
    """n-th derivative of g(t) = cos(t) exp(-(t - pi)^2) by Leibniz:
    sum_j C(n, j) cos^(n-j)(t) (-1)^j H_j(t - pi) exp(-(t - pi)^2), cos^(m)(t) = cos(t + m pi/2)."""
    u = t - math.pi
    return sum(math.comb(n, j) * torch.cos(t + (n - j) * math.pi / 2) * (-1) ** j * _HERMITE[j](u)
               for j in range(n + 1)) * torch.exp(-(u**2))


def _hand_easom(x, alpha):
    # f = -g(x1) g(x2): d^(a1, a2) f = -g^(a1)(x1) g^(a2)(x2)
    return -_easom_factor(x[:, 0], alpha[0]) * _easom_factor(x[:, 1], alpha[1])


HAND = {"sphere": _hand_sphere, "sum_squares": _hand_sum_squares, "booth": _hand_booth,
        "matyas": _hand_matyas, "styblinski_tang": _hand_styblinski_tang,
        "mccormick": _hand_mccormick, "easom": _hand_easom}


@pytest.mark.parametrize("name", list(HAND))
def test_matches_hand_derived_closed_form_to_order_5(name):
    """Orders 0..5 against partials written out by hand (polynomials; McCormick's sin(x1 + x2);
    Easom's product of cos(t) exp(-(t - pi)^2) factors via Leibniz and Hermite polynomials)."""
    f = _get(name)
    x = _points(f, 5, seed=30, margin=0.05)
    n, d = x.shape
    want = [_full_from_partials(lambda a: HAND[name](x, a), n, d, k) for k in range(MAX_ORDER + 1)]
    got = derivative_tensors(f, x, MAX_ORDER)
    _assert_close_scaled(got, want, 1e-11, name)


# ============================================================================ 4. index helpers
DK = [(d, k) for d in range(1, 5) for k in range(1, MAX_ORDER + 1)]


def _random_symmetric(n: int, d: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """Exactly symmetric random tensor: one random value per multiset of indices."""
    vals: dict[tuple[int, ...], torch.Tensor] = {}
    t = torch.empty(n, *([d] * k), dtype=T64)
    for idx in itertools.product(range(d), repeat=k):
        key = tuple(sorted(idx))
        if key not in vals:
            vals[key] = torch.randn(n, generator=gen, dtype=T64)
        t[(slice(None), *idx)] = vals[key]
    return t


@pytest.mark.parametrize("d, k", DK)
def test_index_helpers(d, k):
    """Counts, exponent vectors and multiplicities against a brute-force count over all d**k
    index tuples; round trips between the full and the unique form."""
    assert n_unique(d, k) == math.comb(d + k - 1, k)
    idx = unique_indices(d, k)
    assert idx.shape == (n_unique(d, k), k) and idx.dtype == torch.int64
    assert [tuple(r) for r in idx.tolist()] == sorted(itertools.combinations_with_replacement(range(d), k))
    alpha = exponents(d, k)
    assert alpha.shape == (n_unique(d, k), d)
    assert bool((alpha.sum(dim=1) == k).all()) and bool((alpha >= 0).all())
    assert len({tuple(a) for a in alpha.tolist()}) == n_unique(d, k)
    counts = Counter(tuple(sorted(t)) for t in itertools.product(range(d), repeat=k))
    mult = multiplicity(d, k)
    assert int(mult.sum()) == d**k
    for row, a, m in zip(idx.tolist(), alpha.tolist(), mult.tolist(), strict=True):
        assert a == [row.count(i) for i in range(d)]
        assert m == counts[tuple(row)] == math.factorial(k) // math.prod(math.factorial(c) for c in a)
    gen = torch.Generator().manual_seed(40 + 10 * d + k)
    t = _random_symmetric(3, d, k, gen)
    u = full_to_unique(t, k)
    assert u.shape == (3, n_unique(d, k))
    assert torch.equal(unique_to_full(u, d, k), t)
    v = torch.randn(2, 3, n_unique(d, k), generator=gen, dtype=T64)
    full = unique_to_full(v, d, k)
    assert full.shape == (2, 3, *([d] * k))
    assert torch.equal(full_to_unique(full, k), v)
    for tup in itertools.product(range(d), repeat=k):  # entry (i_1..i_k) = partial of sorted tuple
        r = [tuple(x) for x in idx.tolist()].index(tuple(sorted(tup)))
        assert torch.equal(full[(slice(None), slice(None), *tup)], v[..., r])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_index_helpers_order_0(d):
    """Order 0 (the value): one partial, the empty index tuple, exponent vector 0, multiplicity
    1 (``_check_dk`` and ``n_unique`` accept k = 0, and the docstrings promise these shapes)."""
    assert n_unique(d, 0) == 1
    assert unique_indices(d, 0).shape == (1, 0)
    assert torch.equal(exponents(d, 0), torch.zeros(1, d, dtype=torch.int64))
    assert torch.equal(multiplicity(d, 0), torch.ones(1, dtype=torch.int64))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_unique_full_round_trip_order_0(d):
    v = torch.randn(4, 1, generator=torch.Generator().manual_seed(42), dtype=T64)
    full = unique_to_full(v, d, 0)
    assert torch.equal(full, v[:, 0])
    assert torch.equal(full_to_unique(full, 0), v)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("name", ["branin", "rosenbrock_nd", "friedman1"])
def test_unique_form_is_full_to_unique_of_full(name, symmetric):
    f = _get(name)
    x = _points(f, 3, seed=41)
    order = 4 if name != "friedman1" or symmetric else 3
    full = derivative_tensors(f, x, order, form="full", symmetric=symmetric)
    uniq = derivative_tensors(f, x, order, form="unique", symmetric=symmetric)
    assert torch.equal(uniq[0], full[0])
    for k in range(1, order + 1):
        assert uniq[k].shape == (x.shape[0], n_unique(f.dim, k))
        assert torch.equal(uniq[k], full_to_unique(full[k], k))


# ============================================================================ 5./6. routes, symmetry
@pytest.mark.parametrize("name", ["goldstein_price", "michalewicz", "rosenbrock_nd", "easom"])
def test_naive_route_equals_symmetric_route(name):
    """symmetric=False (every entry differentiated) equals the unique-partials route to 1e-12
    relative, orders 0..4, in both forms."""
    f = _get(name)
    x = _points(f, 4, seed=50)
    for form in ("full", "unique"):
        sym = derivative_tensors(f, x, 4, form=form, symmetric=True)
        naive = derivative_tensors(f, x, 4, form=form, symmetric=False)
        _assert_close_scaled(naive, sym, 1e-12, f"{name} {form}")


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("name", ["beale", "easom", "rosenbrock_nd"])
def test_full_tensors_are_symmetric(name, symmetric):
    """Orders 3 and 4 are invariant under every permutation of the derivative axes (exactly on
    the symmetric route, which expands unique partials; to 1e-12 relative on the naive route,
    whose mixed partials come from different differentiation orders)."""
    f = _get(name)
    x = _points(f, 3, seed=60)
    ders = derivative_tensors(f, x, 4, symmetric=symmetric)
    for k in (3, 4):
        t = ders[k]
        tol = 1e-12 * float(t.abs().max())
        for p in itertools.permutations(range(1, k + 1)):
            tp = t.permute(0, *p)
            if symmetric:
                assert torch.equal(tp, t)
            else:
                assert float((tp - t).abs().max()) <= tol


# ============================================================================ 7. create_graph
def test_create_graph_differentiates_through_a_parameter():
    """f(x) = sum_i a_i x_i^3: Hessian diag(6 a_i x_i), so d/da_i sum(H) = 6 sum_n x_ni;
    third derivative 6 a_i on the diagonal, so d/da_i sum(T3) = 6 N; d/dx sum(H) = 6 a."""
    a = torch.tensor([0.5, -1.2, 2.0], dtype=T64, requires_grad=True)

    def f(x):
        return (a * x**3).sum(-1)

    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(70), dtype=T64)
    for symmetric in (True, False):
        for form in ("full", "unique"):
            ders = derivative_tensors(f, x, 3, form=form, symmetric=symmetric, create_graph=True)
            hess = ders[2] if form == "full" else unique_to_full(ders[2], 3, 2)
            torch.testing.assert_close(hess, torch.diag_embed(6 * a.detach() * x), rtol=1e-14, atol=0)
            (ga,) = torch.autograd.grad(hess.sum(), a, retain_graph=True)
            torch.testing.assert_close(ga, 6 * x.sum(dim=0), rtol=1e-14, atol=0)
            (ga3,) = torch.autograd.grad(ders[3].sum(), a)
            assert torch.equal(ga3, torch.full((3,), 6.0 * x.shape[0], dtype=T64))
    # with respect to x too, when x itself requires grad
    xg = x.clone().requires_grad_(True)
    hess = derivative_tensors(f, xg, 2, create_graph=True)[2]
    (gx,) = torch.autograd.grad(hess.sum(), xg)
    torch.testing.assert_close(gx, (6 * a.detach()).expand(5, 3), rtol=1e-14, atol=0)
    # without create_graph the results are detached
    assert not any(t.requires_grad for t in derivative_tensors(f, x, 2))


def test_order_0_and_vanishing_derivatives():
    """Order 0 is the value alone; a function that does not depend on x, and the orders above a
    polynomial's degree, give exact zeros (the no-graph and unused-input branches)."""
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(75), dtype=T64)
    for form in ("full", "unique"):
        (v,) = derivative_tensors(_sq, x, 0, form=form)
        assert torch.equal(v, _sq(x))
    for symmetric in (True, False):
        const = derivative_tensors(lambda z: torch.ones(z.shape[0], dtype=T64), x, 3, symmetric=symmetric)
        assert torch.equal(const[0], torch.ones(4, dtype=T64))
        assert all(torch.equal(t, torch.zeros(4, *([3] * k), dtype=T64)) for k, t in enumerate(const) if k)
        quad = derivative_tensors(_sq, x, 4, symmetric=symmetric)
        assert torch.equal(quad[2], 2 * torch.eye(3, dtype=T64).expand(4, 3, 3))
        assert not quad[3].any() and not quad[4].any()


# ============================================================================ 8. bad input
def _sq(x):
    return (x**2).sum(-1)


@pytest.mark.parametrize("call, param", [
    (lambda: derivative_tensors(_sq, torch.zeros(2, 2, dtype=T64), 2, form="diag"), "'form'"),
    (lambda: derivative_tensors(_sq, torch.zeros(2, 2, dtype=T64), -1), "'order'"),
    (lambda: derivative_tensors(_sq, torch.zeros(2, 2, dtype=T64), 1.5), "'order'"),
    (lambda: derivative_tensors(_sq, torch.zeros(2, dtype=T64), 1), "'x'"),
    (lambda: derivative_tensors(_sq, torch.zeros(2, 2, 2, dtype=T64), 1), "'x'"),
    (lambda: derivative_tensors(lambda x: x**2, torch.zeros(2, 2, dtype=T64), 1), "'f'"),
    (lambda: derivative_tensors(lambda x: x.sum(), torch.zeros(2, 2, dtype=T64), 1), "'f'"),
    (lambda: derivative_tensors(lambda x: x.sum(-1, keepdim=True), torch.zeros(2, 2, dtype=T64), 1),
     "'f'"),
    (lambda: n_unique(0, 2), "'d'"),
    (lambda: n_unique(2, -1), "'order'"),
    (lambda: unique_to_full(torch.zeros(2, 4, dtype=T64), 2, 2), "'u'"),
    (lambda: full_to_unique(torch.zeros(2, 2, 3, dtype=T64), 2), "'t'"),
])
def test_bad_input_names_the_parameter(call, param):
    with pytest.raises(ValueError, match=param):
        call()


# ============================================================================ 9. directional
@functools.cache
def _sym_directional(name: str, dim: int, k: int):
    """``(x, v) -> d^k/dt^k f(x + t v) at t = 0`` from the sympy expression (univariate in t)."""
    xs, expr, _ = _sym_partials(name, dim)
    vs = sp.symbols(f"v1:{dim + 1}", real=True)
    t = sp.Symbol("t", real=True)
    line = expr.xreplace({xi: xi + t * vi for xi, vi in zip(xs, vs, strict=True)})
    return sp.lambdify([*xs, *vs], sp.diff(line, t, k).subs(t, 0), modules="numpy")


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("name", ["branin", "michalewicz", "goldstein_price", "rosenbrock_nd"])
def test_directional_is_derivative_along_a_line(name, k):
    """directional(T_k, v) = d^k/dt^k f(x + t v) at t = 0 (sympy, one variable t), for one
    shared direction (d,) and for one direction per point (N, d)."""
    f = _get(name)
    x = _points(f, 4, seed=80 + k)
    n, d = x.shape
    gen = torch.Generator().manual_seed(90 + k)
    tk = derivative_tensors(f, x, k)[k]
    fn = _sym_directional(name, d, k)
    for v in (torch.randn(d, generator=gen, dtype=T64), torch.randn(n, d, generator=gen, dtype=T64)):
        vv = v.expand(n, d)
        want = torch.tensor(np.broadcast_to(
            fn(*[x[:, i].numpy() for i in range(d)], *[vv[:, i].numpy() for i in range(d)]), (n,)),
            dtype=T64)
        got = directional(tk, v)
        assert got.shape == (n,)
        scale = float(tk.abs().max()) * float(vv.abs().sum(1).max()) ** k
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12 * scale)
