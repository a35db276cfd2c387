"""Derivative data of any order: full symmetric tensors and the compact unique-partials form.

A k-th derivative of a scalar function of d inputs has d^k entries but, by the symmetry of
mixed partials (Schwarz), only ``C(d + k - 1, k)`` distinct ones. We index the distinct ones by
*sorted index tuples* ``(i_1 <= i_2 <= ... <= i_k)`` in the order of
:func:`itertools.combinations_with_replacement` (equivalently by exponent vectors ``alpha``
with ``|alpha| = k``, :func:`exponents`). Each distinct partial occurs ``k! / alpha!`` times in
the full tensor (:func:`multiplicity`).

:func:`derivative_tensors` computes either form for any differentiable torch function that
acts row-wise on a batch, by repeated reverse-mode differentiation of only the distinct
partials (one ``autograd.grad`` call per distinct partial of the order below), or, with
``symmetric=False``, by the naive route that differentiates every entry of the full tensor
(the route of Hartmann et al.; kept as the reference for benchmarks).

Example:
    >>> f = lambda x: (x ** 3).sum(-1)
    >>> v, g, h = derivative_tensors(f, torch.ones(4, 2, dtype=torch.float64), order=2)
    >>> h[0]
    tensor([[6., 0.],
            [0., 6.]], dtype=torch.float64)
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import torch
from torch import Tensor

MAX_ORDER = 5
"""Highest order the library's losses and tests cover (the routines themselves have no cap)."""

FORMS = ("full", "unique")


# ----------------------------------------------------------------------------- index sets
@functools.cache
def _tuples(d: int, k: int) -> tuple[tuple[int, ...], ...]:
    return tuple(itertools.combinations_with_replacement(range(d), k))


def _check_dk(d: int, k: int) -> None:
    if not isinstance(d, int) or d < 1:
        raise ValueError(f"parameter 'd': must be an integer >= 1, got {d!r}")
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"parameter 'order': must be an integer >= 0, got {k!r}")


def n_unique(d: int, k: int) -> int:
    """Number of distinct k-th partials of a function of d inputs, ``C(d + k - 1, k)``."""
    _check_dk(d, k)
    return math.comb(d + k - 1, k)


def unique_indices(d: int, k: int) -> Tensor:
    """Sorted index tuples of the distinct k-th partials. *Shape:* (n_unique, k), int64."""
    _check_dk(d, k)
    return torch.tensor(_tuples(d, k), dtype=torch.int64).reshape(len(_tuples(d, k)), k)


def exponents(d: int, k: int) -> Tensor:
    """Exponent vectors ``alpha`` (``|alpha| = k``) of the distinct partials, in the order of
    :func:`unique_indices`. *Shape:* (n_unique, d), int64."""
    idx = unique_indices(d, k)
    out = torch.zeros(idx.shape[0], d, dtype=torch.int64)
    if k:
        out.scatter_add_(1, idx, torch.ones_like(idx))
    return out


def multiplicity(d: int, k: int) -> Tensor:
    """How often each distinct partial occurs in the full tensor, ``k! / alpha!``.
    *Shape:* (n_unique,), int64; sums to ``d**k``."""
    alpha = exponents(d, k)
    fact = torch.tensor([math.factorial(int(a)) for a in alpha.flatten()], dtype=torch.int64)
    return math.factorial(k) // fact.reshape(alpha.shape).prod(dim=1)


@functools.cache
def _full_to_unique_map(d: int, k: int) -> Tensor:
    """For each flat entry of the full tensor, the row of its distinct partial. (d**k,)"""
    pos = {t: i for i, t in enumerate(_tuples(d, k))}
    return torch.tensor([pos[tuple(sorted(t))] for t in itertools.product(range(d), repeat=k)],
                        dtype=torch.int64)


def unique_to_full(u: Tensor, d: int, k: int) -> Tensor:
    """Expand distinct partials to the full symmetric tensor.

    *Shape:* u (..., n_unique) -> (..., d, ..., d) with k trailing axes of size d.
    """
    _check_dk(d, k)
    if u.shape[-1] != n_unique(d, k):
        raise ValueError(f"parameter 'u': last axis must have C(d+k-1, k) = {n_unique(d, k)} "
                         f"entries for d={d}, k={k}, got {u.shape[-1]}")
    full = u[..., _full_to_unique_map(d, k).to(u.device)]
    return full.reshape(*u.shape[:-1], *([d] * k))


def full_to_unique(t: Tensor, k: int) -> Tensor:
    """Pick the distinct partials (sorted index tuples) of a full symmetric tensor.

    *Shape:* t (..., d, ..., d) with k trailing axes -> (..., n_unique).
    """
    _check_dk(1, k)
    if k == 0:
        return t[..., None]
    d = t.shape[-1]
    if t.ndim < k or any(s != d for s in t.shape[t.ndim - k:]):
        raise ValueError(f"parameter 't': expected {k} trailing axes of equal size, "
                         f"got shape {tuple(t.shape)}")
    flat = t.reshape(*t.shape[:t.ndim - k], d ** k)
    strides = torch.tensor([d ** (k - 1 - j) for j in range(k)], dtype=torch.int64)
    rows = (unique_indices(d, k) * strides).sum(dim=1).to(t.device)
    return flat[..., rows]


# ----------------------------------------------------------------------------- derivatives
def _grad(y: Tensor, x: Tensor, create_graph: bool) -> Tensor:
    if not y.requires_grad:  # y does not depend on x (e.g. a vanishing polynomial term)
        return torch.zeros_like(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=create_graph,
                               retain_graph=True, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def derivative_tensors(f: Callable[[Tensor], Tensor], x: Tensor, order: int, *,
                       form: str = "full", symmetric: bool = True,
                       create_graph: bool = False) -> list[Tensor]:
    """Values and all derivatives up to ``order`` of a row-wise scalar function.

    Args:
        f: ``(N, d) -> (N,)``; row ``n`` of the output may depend on row ``n`` of the input
            only (true for test functions, solvers evaluated per sample and networks).
        x: inputs. *Shape:* (N, d).
        order: highest derivative order, >= 0.
        form: ``"full"`` for symmetric tensors, ``"unique"`` for distinct partials.
        symmetric: use the symmetry of mixed partials (one backward pass per distinct
            partial of the order below). ``False`` differentiates every entry of the full
            tensor, ``d**(k-1)`` backward passes for order k: the naive route, for benchmarks.
        create_graph: keep the graph, so that the results can be differentiated again (with
            respect to ``x`` or to parameters inside ``f``); needed for Sobolev training by
            autograd.

    Returns:
        ``form="full"``: ``[values (N,), gradients (N, d), Hessians (N, d, d), ...]``;
        ``form="unique"``: ``[values (N,), (N, n_unique(d, 1)), (N, n_unique(d, 2)), ...]``.
    """
    if form not in FORMS:
        raise ValueError(f"parameter 'form': must be one of {FORMS}, got {form!r}")
    if not isinstance(order, int) or order < 0:
        raise ValueError(f"parameter 'order': must be an integer >= 0, got {order!r}")
    if x.ndim != 2:
        raise ValueError(f"parameter 'x': expected shape (N, d), got {tuple(x.shape)}")
    n, d = x.shape
    with torch.enable_grad():
        xg = x if (x.requires_grad and create_graph) else x.detach().requires_grad_(True)
        y = f(xg)
        if y.shape != (n,):
            raise ValueError(f"parameter 'f': must map (N, d) to (N,), returned shape "
                             f"{tuple(y.shape)} for input {tuple(x.shape)}")
        out: list[Tensor] = [y]
        if symmetric:
            # level[t] holds d/dx_t D for sorted tuples t of the current order
            level = {(): y}
            for k in range(1, order + 1):
                nxt: dict[tuple[int, ...], Tensor] = {}
                for t, val in level.items():
                    g = _grad(val, xg, create_graph or k < order)
                    for i in range(t[-1] if t else 0, d):
                        nxt[t + (i,)] = g[:, i]
                level = nxt
                u = torch.stack([level[t] for t in _tuples(d, k)], dim=1)
                out.append(u if form == "unique" else unique_to_full(u, d, k))
        else:
            prev = y.reshape(n, 1)
            for k in range(1, order + 1):
                cols = [_grad(prev[:, j], xg, create_graph or k < order)
                        for j in range(prev.shape[1])]
                prev = torch.stack(cols, dim=1).reshape(n, d ** k)
                full = prev.reshape(n, *([d] * k))
                out.append(full_to_unique(full, k) if form == "unique" else full)
    if not create_graph:
        out = [t.detach() for t in out]
    return out


def directional(full: Tensor, v: Tensor) -> Tensor:
    """Contract a k-th derivative tensor with a direction k times.

    *Shapes:* full (N, d, ..., d) with k axes of size d, v (d,) or (N, d) -> (N,).
    """
    k = full.ndim - 1
    out = full
    for _ in range(k):
        out = (out * (v if v.ndim == 1 else v.reshape(v.shape[0], *([1] * (out.ndim - 2)),
                                                       v.shape[1]))).sum(-1)
    return out
