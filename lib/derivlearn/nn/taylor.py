"""Taylor-mode derivatives of an MLP: all unique partials up to order K in one forward pass.

Nested reverse-mode autograd builds a graph per derivative entry; the naive route of Hartmann
et al. (every one of the 2 + 4 + ... + 2^5 entries by its own backward pass) costs about 200
value steps per training step at order 5. We instead push *univariate Taylor polynomials*
through the network (Griewank, Utke & Walther, Math. Comp. 2000):

1. Along each direction v_p, p = 1..P, the curve x(t) = x + t v_p enters the network as the
   polynomial x + t v_p. Every layer maps truncated Taylor coefficients (degree K) to Taylor
   coefficients: linear layers act on each coefficient, and activations use the recurrences
   of their ODEs (``tanh' = 1 - tanh^2``, ``sigmoid' = sigmoid - sigmoid^2``,
   ``sin' = cos``), O(K^2) elementwise products per layer.
2. The output coefficient of degree k along v_p is ``sum_{|alpha| = k} v_p^alpha / alpha! *
   d^alpha f``. With the P = C(d + K - 1, K) directions ``v_p = alpha_p / K`` (the lattice
   points of the simplex), this linear system is square and well conditioned at degree K and
   of full column rank at lower degrees, so a fixed matrix (pseudo-inverse, precomputed)
   turns the coefficients into the unique partials of every order k <= K.

The whole computation is a handful of batched tensor operations, differentiable with respect
to the weights by ordinary autograd, so it can drive a Sobolev loss. For order 1 the
directions are the unit vectors and the result is the gradient by forward mode.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from derivlearn.derivatives import exponents
from derivlearn.nn.mlp import MLPParams, forward

TAYLOR_ACTIVATIONS = ("tanh", "sigmoid", "sin")


@functools.cache
def _plan(d: int, order: int) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Directions (P, d) and, per order k = 1..K, the map (n_k, P) from degree-k Taylor
    coefficients to unique partials. float64 on CPU (cast by the caller)."""
    alpha_k = exponents(d, order).to(torch.float64)
    dirs = alpha_k / order
    maps = []
    for k in range(1, order + 1):
        a = exponents(d, k).to(torch.float64)
        fact = torch.tensor([math.prod(math.factorial(int(t)) for t in row) for row in a],
                            dtype=torch.float64)
        m = (dirs[:, None, :] ** a[None, :, :]).prod(-1) / fact[None, :]   # (P, n_k)
        maps.append(torch.linalg.pinv(m))                                     # (n_k, P)
    return dirs, tuple(maps)


def _mac(terms: list[tuple[float, Tensor, Tensor]]) -> Tensor:
    """sum of coef * a * b over terms (fused multiply-adds)."""
    c, a, b = terms[0]
    acc = a * b if c == 1 else (a * b) * c
    for c, a, b in terms[1:]:
        acc = torch.addcmul(acc, a, b, value=c)
    return acc


def _square_series(y: list[Tensor | None], k: int) -> Tensor | None:
    """Degree-k coefficient of (sum_j y_j t^j)^2, using symmetry."""
    terms = []
    for j in range((k + 1) // 2):
        if y[j] is not None and y[k - j] is not None:
            terms.append((2.0, y[j], y[k - j]))
    if k % 2 == 0 and y[k // 2] is not None:
        terms.append((1.0, y[k // 2], y[k // 2]))
    return _mac(terms) if terms else None


def _ode_step(z: list[Tensor | None], w: list[Tensor | None], k: int) -> Tensor | None:
    """y_k = (1/k) sum_{j=1..k} j z_j w_{k-j}: the degree-k coefficient of y with y' = w z'."""
    terms = [(j / k, z[j], w[k - j]) for j in range(1, k + 1)
             if z[j] is not None and w[k - j] is not None]
    return _mac(terms) if terms else None


def activation_series(name: str, z: list[Tensor | None]) -> list[Tensor | None]:
    """Taylor coefficients of act(z(t)) from those of z(t) (``None`` = zero coefficient).

    *Shapes:* z[0] (E, 1, B, H), z[k] (E, P, B or 1, H) -> same layout.
    """
    order = len(z) - 1
    y: list[Tensor | None] = [None] * (order + 1)
    if name == "sin":
        c: list[Tensor | None] = [None] * (order + 1)
        y[0], c[0] = torch.sin(z[0]), torch.cos(z[0])
        for k in range(1, order + 1):
            y[k] = _ode_step(z, c, k)
            if k < order:
                ck = _ode_step(z, y, k)
                c[k] = None if ck is None else -ck
        return y
    w: list[Tensor | None] = [None] * (order + 1)
    if name == "tanh":
        y[0] = torch.tanh(z[0])
        w[0] = 1 - y[0] * y[0]
    elif name == "sigmoid":
        y[0] = torch.sigmoid(z[0])
        w[0] = y[0] - y[0] * y[0]
    else:
        raise ValueError(f"parameter 'activation': Taylor mode supports {TAYLOR_ACTIVATIONS}, "
                         f"got {name!r}; use engine='autograd'")
    for k in range(1, order + 1):
        y[k] = _ode_step(z, w, k)
        if k < order:
            sq = _square_series(y, k)
            if name == "tanh":
                w[k] = None if sq is None else -sq
            else:  # sigmoid: w = y - y^2
                w[k] = y[k] if sq is None else (y[k] - sq if y[k] is not None else -sq)
    return y


def _linear(z: list[Tensor | None], w: Tensor, b: Tensor) -> list[Tensor | None]:
    """Apply x -> x W^T + b to every coefficient (bias on the value only), one bmm for all
    dense coefficients. *Shapes:* w (E, out, in), b (E, out)."""
    e = w.shape[0]
    wt = w.transpose(1, 2)
    out: list[Tensor | None] = [None] * len(z)
    out[0] = torch.baddbmm(b[:, None, :], z[0][:, 0], wt)[:, None]
    dense = [k for k in range(1, len(z)) if z[k] is not None]
    if dense:
        shapes = [z[k].shape for k in dense]
        flat = torch.cat([z[k].reshape(e, -1, z[k].shape[-1]) for k in dense], dim=1)
        res = torch.bmm(flat, wt)
        sizes = [s[1] * s[2] for s in shapes]
        for k, part, s in zip(dense, torch.split(res, sizes, dim=1), shapes, strict=True):
            out[k] = part.reshape(s[0], s[1], s[2], w.shape[1])
    return out


def mlp_derivatives(params: MLPParams, x: Tensor, order: int) -> list[Tensor]:
    """Values and unique partials up to ``order`` of every member, by Taylor mode.

    Args:
        params: an ensemble of E networks with a Taylor-capable activation.
        x: inputs. *Shape:* (E, B, d), or (B, d) shared by all members.
        order: highest derivative order, >= 0.

    Returns:
        ``[values (E, B), (E, B, n_1), ..., (E, B, n_order)]`` in the order of
        :func:`derivlearn.derivatives.unique_indices`.
    """
    spec = params.spec
    if spec.activation not in TAYLOR_ACTIVATIONS:
        raise ValueError(f"parameter 'activation': Taylor mode supports {TAYLOR_ACTIVATIONS}, "
                         f"got {spec.activation!r}; use engine='autograd'")
    if not isinstance(order, int) or order < 0:
        raise ValueError(f"parameter 'order': must be an integer >= 0, got {order!r}")
    e = params.members
    x = x if x.ndim == 3 else x.expand(e, *x.shape)
    if order == 0:
        return [forward(params, x)]
    dirs, maps = _plan(spec.d, order)
    dirs = dirs.to(x)
    z: list[Tensor | None] = [None] * (order + 1)
    z[0] = x[:, None]                                                   # (E, 1, B, d)
    z[1] = dirs[None, :, None, :].expand(e, -1, -1, -1)                  # (E, P, 1, d)
    n = len(params.weights)
    for li, (w, b) in enumerate(zip(params.weights, params.biases, strict=True)):
        z = _linear(z, w, b)
        if li < n - 1:
            z = activation_series(spec.activation, z)
    out = [z[0][:, 0, :, 0]]
    for k in range(1, order + 1):
        coef = z[k]
        if coef is None:  # identically zero (cannot happen for these activations)
            coef = x.new_zeros(e, dirs.shape[0], x.shape[1], 1)
        coef = coef[..., 0].expand(e, -1, x.shape[1])                   # (E, P, B)
        out.append(torch.einsum("epb,np->ebn", coef, maps[k - 1].to(x)))
    return out
