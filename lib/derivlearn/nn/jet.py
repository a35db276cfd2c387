"""Closed-form second-order jets of an MLP ensemble: values, input gradients and Hessians.

Nested reverse mode (:func:`derivlearn.derivatives.derivative_tensors`) gets the Hessian of a
network by d backward passes through the graph of its gradient, and the Sobolev loss then
differentiates through all of them again. For order <= 2 the derivatives have a short closed
form, layer by layer, that plain autograd differentiates with respect to the weights in one
backward pass. For a hidden layer ``z = W h + b``, ``a = act(z)`` with input Jacobian ``J_h``
and Hessian ``H_h`` of ``h``:

    J_z = W J_h,                 J_a = act'(z) * J_z,
    H_z = W H_h,                 H_a = act''(z) * (J_z (x) J_z) + act'(z) * H_z,

(``*`` elementwise over the units, ``(x)`` the outer product over the input indices). Two
ways to get the Hessian of the scalar output ``f = w^T a_L + c`` from this:

* ``hessian="forward"``: propagate ``H`` itself, only its upper triangle ``i <= j`` (the
  ``P = d(d+1)/2`` unique partials). Each hidden-to-hidden layer multiplies P + d + 1 rows per
  sample by ``W``: cheap for narrow networks, dominated by the P-row product for wide ones.
* ``hessian="adjoint"`` (default): unroll the recurrence. Linear layers have no curvature,
  so the Hessian is a sum over the hidden layers,

      H_f = sum_l  J_{z_l}^T diag(lambda_l * act''(z_l)) J_{z_l},
      lambda_L = w,   lambda_{l-1} = W_l^T (lambda_l * act'(z_l)),

  with the adjoints ``lambda_l = df/da_l`` of one reverse sweep, written out explicitly (no
  autograd inside). The gradient is the end of that sweep, ``W_1^T (lambda_1 * act'(z_1))``.
  Per hidden-to-hidden layer this multiplies only d + 2 rows per sample by ``W`` (the forward
  Jacobian, the value and the adjoint), and the layer sums are small (d x d per unit).

The first layer is special in both: ``J_{z_1} = W_1`` does not depend on the sample and
``H_{z_1} = 0``, so its Hessian terms contract a per-sample vector with the fixed matrix of
products ``W_1[h, i] W_1[h, j]`` (one matrix product). In the adjoint route the second
layer's Jacobian ``J_{z_2} = W_2 diag(act'(z_1)) W_1`` is one matrix product of the fixed
(H_2 d, H_1) matrix ``W_2[k, h] W_1[h, i]`` with ``act'(z_1)``, with no per-sample ``J_{a_1}``.

Cost: the adjoint route's floor is the Jacobian product of each hidden-to-hidden layer,
``H^2 d`` multiply-adds per sample forward and twice that backward (there is no way around
the (H, d) Jacobian per sample: each of its entries is a different length-H sum), against
``H^2`` and ``2 H^2`` for the value step; everything else is elementwise.

Layouts: narrow networks keep the sample axis last (activations (E, H, B), Jacobians
(E, H, d, B)), so that every elementwise pass is contiguous and vectorised; networks with a
hidden layer of at least :data:`ROWS_MIN_WIDTH` units keep the units last ((E, B, d, H)),
where the per-sample Gram sums ``J^T diag(mu) J`` are batched matrix products worth their
per-matrix overhead. Both layouts give the same results to round-off.

Everything is batched over the ensemble layout of :mod:`derivlearn.nn.mlp` (weights
``(E, n_out, n_in)``). Results are in the unique-partials order of
:mod:`derivlearn.derivatives` (sorted index pairs ``(i, j)``, ``i <= j``, row by row: the
order of :func:`torch.triu_indices`), and agree with nested autograd to round-off
(``tests/test_jet.py``: below 3e-15 relative in float64, derivatives and parameter gradients
of a Sobolev loss).
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from derivlearn.nn.mlp import MLPParams, forward

JET_ACTIVATIONS = ("tanh", "sigmoid", "sin")
"""Activations with closed-form first and second derivatives here."""
HESSIAN_MODES = ("adjoint", "forward")
GRADIENT_MODES = ("adjoint", "forward")
ROWS_MIN_WIDTH = 32
"""Order 2, ``hessian="adjoint"``: networks with a hidden layer at least this wide use the
sample-major layout (Gram sums by batched matrix products), narrower ones the sample-last
layout (vectorised passes); see ``benchmarks/training_cost.py``."""


def activation_jet(name: str, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``act(z)``, ``act'(z)`` and ``act''(z)``, elementwise. *Shapes:* z (...) -> 3 x (...)."""
    if name == "tanh":
        a = torch.tanh(z)
        d1 = 1 - a * a
        return a, d1, -2 * a * d1
    if name == "sigmoid":
        a = torch.sigmoid(z)
        d1 = a - a * a
        return a, d1, d1 - 2 * a * d1
    if name == "sin":
        a = torch.sin(z)
        return a, torch.cos(z), -a
    raise ValueError(f"parameter 'activation': closed-form jets support {JET_ACTIVATIONS}, "
                     f"got {name!r}; use engine='autograd'")


@functools.cache
def _pairs(d: int) -> tuple[Tensor, Tensor, Tensor]:
    """Row, column and flat position (``i * d + j``) of the unique second partials, in the
    order of :func:`derivlearn.derivatives.unique_indices` (``i <= j``, row-major).
    *Shapes:* (P,) x 3, int64 on the CPU."""
    iu = torch.triu_indices(d, d)
    return iu[0], iu[1], iu[0] * d + iu[1]


_DEVICE_PAIRS: dict[tuple[int, str], tuple[Tensor, Tensor, Tensor]] = {}


def _pairs_on(d: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    key = (d, str(device))
    if key not in _DEVICE_PAIRS:
        i, j, flat = _pairs(d)
        _DEVICE_PAIRS[key] = (i.to(device), j.to(device), flat.to(device))
    return _DEVICE_PAIRS[key]


class _WeightedGram(torch.autograd.Function):
    """``T[e, p, n] = sum_h mu[e, h, n] J[e, h, i_p, n] J[e, h, j_p, n]``, with a hand-written
    backward. *Shapes:* J (E, H, d, N), mu (E, H, N), flat (P,) -> (E, P, N).

    The sample axis is last, so every product is a contiguous, vectorised pass (a batched
    matrix product of one small d x H block per sample is dominated by per-matrix overhead).
    Backward, with ``G`` the incoming gradient scattered to (E, d, d, N) and ``S = G + G^T``:
    ``V = S J`` (over the input index), ``grad_J = mu * V``, ``grad_mu = sum_i J_i V_i / 2``.
    Both directions write into one preallocated buffer each instead of a fresh tensor per
    input index (fresh large tensors cost page faults). Twice differentiable: under
    ``create_graph`` the backward uses out-of-place operations on the saved inputs.
    """

    @staticmethod
    def forward(ctx, j: Tensor, mu: Tensor, flat: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(j, mu, flat)
        e, h, d, n = j.shape
        k = j * mu[:, :, None, :]
        out = j.new_empty(e, flat.shape[0], n)
        buf = torch.empty_like(j)
        row = 0
        for i in range(d):
            prod = torch.mul(j[:, :, i:, :], k[:, :, i:i + 1, :], out=buf[:, :, :d - i, :])
            torch.sum(prod, dim=1, out=out[:, row:row + d - i, :])
            row += d - i
        return out

    @staticmethod
    def backward(ctx, gout: Tensor):  # type: ignore[override]
        j, mu, flat = ctx.saved_tensors
        e, _, d, n = j.shape
        g = gout.new_zeros(e, d * d, n).index_copy(1, flat, gout).reshape(e, d, d, n)
        s = g + g.transpose(1, 2)
        if torch.is_grad_enabled():  # create_graph: differentiable, out of place
            v = s[:, None, :, 0, :] * j[:, :, 0:1, :]                         # (E, H, d, N)
            for c in range(1, d):
                v = v + s[:, None, :, c, :] * j[:, :, c:c + 1, :]
            return v * mu[:, :, None, :], 0.5 * (j * v).sum(2), None
        v = torch.mul(s[:, None, :, 0, :], j[:, :, 0:1, :])
        for c in range(1, d):
            v.addcmul_(s[:, None, :, c, :], j[:, :, c:c + 1, :])
        gmu = (j * v).sum(2).mul_(0.5)
        return v.mul_(mu[:, :, None, :]), gmu, None


def weighted_gram(j: Tensor, mu: Tensor) -> Tensor:
    """Unique entries (upper triangle, row by row) of ``sum_h mu[e, h, n] J[e, h, :, n]
    J[e, h, :, n]^T`` for every member e and sample n.

    *Shapes:* j (E, H, d, N), mu (E, H, N) -> (E, d(d+1)/2, N)."""
    return _WeightedGram.apply(j, mu, _pairs_on(j.shape[2], j.device)[2])


class _WeightedGramRows(torch.autograd.Function):
    """The same Gram sums for the sample-major layout, by batched matrix products (efficient
    once each sample's d x H block is large enough to amortise the per-matrix overhead).
    *Shapes:* J (N, d, H), mu (N, H), flat (P,) -> (N, P). Backward: ``V = S J`` by one
    batched product, ``grad_J = mu * V``, ``grad_mu = sum_i J_i V_i / 2``."""

    @staticmethod
    def forward(ctx, j: Tensor, mu: Tensor, flat: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(j, mu, flat)
        n, d, _ = j.shape
        g = torch.bmm(j * mu[:, None, :], j.transpose(1, 2))                     # (N, d, d)
        return g.reshape(n, d * d).index_select(1, flat)

    @staticmethod
    def backward(ctx, gout: Tensor):  # type: ignore[override]
        j, mu, flat = ctx.saved_tensors
        n, d, _ = j.shape
        g = gout.new_zeros(n, d * d).index_copy(1, flat, gout).reshape(n, d, d)
        v = torch.bmm(g + g.transpose(1, 2), j)                                  # (N, d, H)
        gmu = 0.5 * (j * v).sum(1)
        return v * mu[:, None, :], gmu, None


def weighted_gram_rows(j: Tensor, mu: Tensor) -> Tensor:
    """:func:`weighted_gram` for the sample-major layout. *Shapes:* j (N, d, H), mu (N, H) ->
    (N, d(d+1)/2)."""
    return _WeightedGramRows.apply(j, mu, _pairs_on(j.shape[1], j.device)[2])


def mlp_jet(params: MLPParams, x: Tensor, order: int, hessian: str = "adjoint",
            gradient: str = "adjoint") -> list[Tensor]:
    """Values, input gradients and unique second partials of every member, in closed form.

    Args:
        params: an ensemble of E networks ``d -> H_1 -> ... -> H_L -> 1`` with an activation
            in :data:`JET_ACTIVATIONS` (any activation for order 0).
        x: inputs. *Shape:* (E, B, d), or (B, d) shared by all members.
        order: 0, 1 or 2.
        hessian: order 2: ``"adjoint"`` (layer sum with the reverse-sweep adjoints) or
            ``"forward"`` (upper triangle propagated forward); see the module docstring.
        gradient: order 1: ``"adjoint"`` (the reverse sweep written out) or ``"forward"``
            (d tangents propagated forward). Order 2 takes the gradient from the Hessian's
            route (the adjoint sweep, or the forward Jacobian).

    Returns:
        ``[values (E, B)]``, ``+ [gradients (E, B, d)]`` for order >= 1,
        ``+ [second partials (E, B, d(d+1)/2)]`` for order 2, in unique-partials order.
        Differentiable with respect to the weights (and to ``x``) by ordinary autograd.

    Internally every tensor keeps the sample axis last: activations (E, H, B), Jacobians
    (E, H, d, B), Hessians (E, H, P, B); the results are transposed views of that layout.
    """
    spec = params.spec
    if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order <= 2:
        raise ValueError(f"parameter 'order': closed-form jets need 0, 1 or 2, got {order!r}")
    if hessian not in HESSIAN_MODES:
        raise ValueError(f"parameter 'hessian': must be one of {HESSIAN_MODES}, got {hessian!r}")
    if gradient not in GRADIENT_MODES:
        raise ValueError(f"parameter 'gradient': must be one of {GRADIENT_MODES}, got {gradient!r}")
    if order > 0 and spec.activation not in JET_ACTIVATIONS:
        raise ValueError(f"parameter 'activation': closed-form jets support {JET_ACTIVATIONS}, "
                         f"got {spec.activation!r}; use engine='autograd'")
    e = params.members
    x = x if x.ndim == 3 else x.expand(e, *x.shape)
    if order == 0:
        return [forward(params, x)]
    if (order == 2 and hessian == "forward") or (order == 1 and gradient == "forward"):
        return _forward(params, x, order)
    if order == 2 and max(w.shape[1] for w in params.weights[:-1]) >= ROWS_MIN_WIDTH:
        return _adjoint_rows(params, x)
    return _adjoint(params, x, order)


def _adjoint(params: MLPParams, x: Tensor, order: int) -> list[Tensor]:
    """Forward sweep (values; for order 2 also the Jacobians J_z of layers 2..L), then the
    explicit reverse sweep of the adjoints; the Hessian as the sum of the layer terms."""
    name = params.spec.activation
    ws, bs = params.weights, params.biases
    n_hidden = len(ws) - 1
    e, b, d = x.shape
    h = x.transpose(1, 2)                                                      # (E, d, B)
    ja: Tensor | None = None            # Jacobian of the activations (E, H, d, B), layers >= 2
    saved: list[tuple[Tensor, Tensor, Tensor | None]] = []   # act', act'', J_z (None: layer 1)
    for li in range(n_hidden):
        w = ws[li]
        z = torch.baddbmm(bs[li][:, :, None], w, h)                            # (E, H, B)
        h, s1, s2 = activation_jet(name, z)
        jz = None
        if order == 2 and li == 1:
            # J_z2 = W2 diag(act'(z1)) W1 = M act'(z1) with M[(k, i), h] = W2[k, h] W1[h, i]:
            # no per-sample J_a1, only the (H2 d, H1) matrix M
            m = w[:, :, None, :] * ws[0].transpose(1, 2)[:, None, :, :]          # (E, H2, d, H1)
            jz = torch.bmm(m.reshape(e, -1, w.shape[2]), saved[0][0]).reshape(e, -1, d, b)
        elif order == 2 and li > 1:
            assert ja is not None
            jz = torch.bmm(w, ja.reshape(e, ja.shape[1], d * b)).reshape(e, -1, d, b)
        if order == 2 and 0 < li < n_hidden - 1:
            ja = s1[:, :, None, :] * jz                                         # (E, H, d, B)
        saved.append((s1, s2, jz))
    wo = ws[-1]
    f = torch.baddbmm(bs[-1][:, :, None], wo, h)[:, 0, :]                      # (E, B)
    lam = wo.transpose(1, 2)                                                   # (E, H_L, 1)
    hess: Tensor | None = None
    for li in range(n_hidden - 1, -1, -1):
        s1, s2, jz = saved[li]
        if order == 2:
            mu = lam * s2                                                      # (E, H, B)
            if jz is None:  # layer 1: sum_h mu[h, b] W1[h, i] W1[h, j], one matrix product
                iu, ju, _ = _pairs_on(d, x.device)
                w1 = ws[0]
                term = torch.bmm((w1[:, :, iu] * w1[:, :, ju]).transpose(1, 2), mu)  # (E, P, B)
            else:
                term = weighted_gram(jz, mu)
            hess = term if hess is None else hess + term
        lam = torch.bmm(ws[li].transpose(1, 2), lam * s1)                      # (E, H_prev, B)
    out = [f, lam.transpose(1, 2)]                                             # lam: gradient
    if hess is not None:
        out.append(hess.transpose(1, 2))
    return out


def _adjoint_rows(params: MLPParams, x: Tensor) -> list[Tensor]:
    """Order 2 of :func:`_adjoint` in the sample-major layout (units last): activations
    (E, B, H), Jacobians (E, B, d, H); the Gram sums by batched matrix products."""
    name = params.spec.activation
    ws, bs = params.weights, params.biases
    n_hidden = len(ws) - 1
    e, b, d = x.shape
    h = x
    ja: Tensor | None = None
    saved: list[tuple[Tensor, Tensor, Tensor | None]] = []
    for li in range(n_hidden):
        wt = ws[li].transpose(1, 2)
        z = torch.baddbmm(bs[li][:, None, :], h, wt)                           # (E, B, H)
        h, s1, s2 = activation_jet(name, z)
        jz = None
        if li == 1:  # J_z2 = act'(z1) M' with M'[h, (i, k)] = W1[h, i] W2[k, h]
            w1 = ws[0]
            m = w1[:, :, :, None] * wt[:, :, None, :]                          # (E, H1, d, H2)
            jz = torch.bmm(saved[0][0], m.reshape(e, w1.shape[1], -1)).reshape(e, b, d, -1)
        elif li > 1:
            assert ja is not None
            jz = torch.bmm(ja.reshape(e, b * d, ja.shape[-1]), wt).reshape(e, b, d, -1)
        if 0 < li < n_hidden - 1:
            assert jz is not None
            ja = s1[:, :, None, :] * jz                                         # (E, B, d, H)
        saved.append((s1, s2, jz))
    wo = ws[-1]
    f = torch.baddbmm(bs[-1][:, None, :], h, wo.transpose(1, 2))[..., 0]       # (E, B)
    lam = wo                                                                   # (E, 1, H_L)
    hess: Tensor | None = None
    for li in range(n_hidden - 1, -1, -1):
        s1, s2, jz = saved[li]
        mu = lam * s2                                                          # (E, B, H)
        if jz is None:
            iu, ju, _ = _pairs_on(d, x.device)
            w1 = ws[0]
            term = torch.bmm(mu, w1[:, :, iu] * w1[:, :, ju])                  # (E, B, P)
        else:
            hl = jz.shape[-1]
            term = weighted_gram_rows(jz.reshape(e * b, d, hl), mu.reshape(e * b, hl))
            term = term.reshape(e, b, -1)
        hess = term if hess is None else hess + term
        lam = torch.bmm(lam * s1, ws[li])                                      # (E, B, H_prev)
    assert hess is not None
    return [f, lam, hess]


def _forward(params: MLPParams, x: Tensor, order: int) -> list[Tensor]:
    """Forward propagation of the value, the Jacobian and (order 2) the upper triangle of the
    Hessian through every layer. *Internal shapes:* J (E, H, d, B), H (E, H, P, B)."""
    name = params.spec.activation
    ws, bs = params.weights, params.biases
    e, b, d = x.shape
    iu, ju, _ = _pairs_on(d, x.device)
    p = iu.shape[0]
    h = x.transpose(1, 2)
    ja: Tensor | None = None
    ha: Tensor | None = None
    for li in range(len(ws) - 1):
        w = ws[li]
        z = torch.baddbmm(bs[li][:, :, None], w, h)
        h, s1, s2 = activation_jet(name, z)
        if ja is None:  # layer 1: J_z = W_1, H_z = 0
            jz = w[:, :, :, None]                                              # (E, H, d, 1)
            if order == 2:
                ha = s2[:, :, None, :] * (w[:, :, iu] * w[:, :, ju])[:, :, :, None]
        else:
            hp = w.shape[2]
            jz = torch.bmm(w, ja.reshape(e, hp, d * b)).reshape(e, -1, d, b)
            if order == 2:
                assert ha is not None
                hz = torch.bmm(w, ha.reshape(e, hp, p * b)).reshape(e, -1, p, b)
                jj = jz[:, :, iu, :] * jz[:, :, ju, :]
                ha = torch.addcmul(s2[:, :, None, :] * jj, s1[:, :, None, :], hz)
        ja = s1[:, :, None, :] * jz
    assert ja is not None
    wo, bo = ws[-1], bs[-1]
    f = torch.baddbmm(bo[:, :, None], wo, h)[:, 0, :]
    grad = torch.bmm(wo, ja.reshape(e, -1, d * b)).reshape(e, d, b).transpose(1, 2)
    if order == 1:
        return [f, grad]
    assert ha is not None
    hess = torch.bmm(wo, ha.reshape(e, -1, p * b)).reshape(e, p, b).transpose(1, 2)
    return [f, grad, hess]


__all__ = ["GRADIENT_MODES", "HESSIAN_MODES", "JET_ACTIVATIONS", "activation_jet", "mlp_jet",
           "weighted_gram"]
