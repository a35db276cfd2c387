"""The Sobolev loss of order K and its weighting schemes.

For predictions and targets of every order k = 0..K in the unique-partials form of
:mod:`derivlearn.derivatives`, the per-order error is a mean squared error,

    e_k = mean over samples of  sum_alpha  w_alpha (d^alpha f_pred - d^alpha f_true)^2,

with entry weights ``w_alpha`` that sum to 1:

* ``partials="all"``: ``w_alpha = (k! / alpha!) / d^k``, i.e. the plain mean over all d^k
  entries of the full tensor, every mixed partial counted as often as it occurs (Hartmann
  et al., K_M = 2^M entries in 2-D). Computed from the unique partials, so it costs nothing
  extra;
* ``partials="unique"``: ``w_alpha = 1 / C(d + k - 1, k)``, every distinct partial once
  (Schwarz symmetry).

The loss is ``L = sum_k rho_k e_k`` with ``rho_0 = 1`` (Horvath et al. eq. 1 with MSE,
Hartmann et al. eq. 6) and

* ``"equal"``: ``rho_k = 1`` (Horvath et al.);
* ``"fixed"``: ``rho_k = 1 / Var(order-k targets)`` over the training set, with the same
  entry weights (Czarnecki et al.; the "fixed rho" of Hartmann et al. Table III);
* ``"adaptive"``: per batch, ``rho_k = e_0 / e_k`` if ``e_k > 10 e_0``, else 1 (Hartmann et
  al. Algorithm 1); the factor is a constant for backpropagation. Taken literally, a batch
  with zero value error gets rho_k = 0 for every order with a non-zero error; we keep the
  rule as published (it does not occur with float data in practice).

Order K = 0 is plain value training. Every function here is batched over an ensemble axis E.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from derivlearn.derivatives import multiplicity, n_unique

PARTIALS = ("unique", "all")
WEIGHTINGS = ("equal", "fixed", "adaptive")
ADAPTIVE_THRESHOLD = 10.0
"""Hartmann et al.: rescale an order whose error exceeds this multiple of the value error."""


def entry_weights(d: int, k: int, partials: str) -> Tensor:
    """Weights of the distinct order-k partials in e_k. *Shape:* (n_unique(d, k),), float64,
    summing to 1."""
    if partials not in PARTIALS:
        raise ValueError(f"parameter 'partials': must be one of {PARTIALS}, got {partials!r}")
    if partials == "unique":
        n = n_unique(d, k)
        return torch.full((n,), 1.0 / n, dtype=torch.float64)
    return multiplicity(d, k).to(torch.float64) / float(d) ** k


def order_errors(pred: Sequence[Tensor], target: Sequence[Tensor], partials: str = "unique",
                 sample_weights: Tensor | None = None) -> Tensor:
    """Per-order mean squared errors e_k.

    Args:
        pred, target: ``[values (E, B), (E, B, n_1), ..., (E, B, n_K)]``, unique form.
        partials: ``"unique"`` or ``"all"`` (see the module docstring).
        sample_weights: *Shape:* (E, B), each row summing to 1; replaces the mean over the
            batch (used to mask padded samples when members have different training sizes).

    Returns:
        *Shape:* (E, K + 1).
    """
    if len(pred) != len(target) or not pred:
        raise ValueError(f"parameter 'target': need {len(pred)} orders like 'pred', got {len(target)}")

    def batch_mean(t: Tensor) -> Tensor:
        return t.mean(dim=-1) if sample_weights is None else (t * sample_weights).sum(dim=-1)

    errs = [batch_mean((pred[0] - target[0]) ** 2)]
    for k in range(1, len(pred)):
        d = _dim_of(pred[k].shape[-1], k)
        w = entry_weights(d, k, partials).to(pred[k])
        errs.append(batch_mean((((pred[k] - target[k]) ** 2) * w).sum(dim=-1)))
    return torch.stack(errs, dim=-1)


def _dim_of(n: int, k: int) -> int:
    """Input dimension d with C(d + k - 1, k) == n."""
    d = 1
    while n_unique(d, k) < n:
        d += 1
    if n_unique(d, k) != n:
        raise ValueError(f"parameter 'pred': {n} entries at order {k} is not C(d+k-1, k) for any d")
    return d


def fixed_rho(target: Sequence[Tensor], partials: str = "unique",
              sample_weights: Tensor | None = None) -> Tensor:
    """Inverse variance of the targets of each order over the training set (rho_0 = 1).

    *Shapes:* target ``[(E, N), (E, N, n_1), ...]``, sample_weights (E, N) summing to 1 per
    row (default uniform) -> (E, K + 1). A zero variance gives rho = 1 (the order carries no
    scale to normalize).
    """
    e, n = target[0].shape[-2], target[0].shape[-1]
    sw = (torch.full((e, n), 1.0 / n, dtype=target[0].dtype, device=target[0].device)
          if sample_weights is None else sample_weights)
    rho = [torch.ones(e, dtype=target[0].dtype, device=target[0].device)]
    for k in range(1, len(target)):
        t = target[k]
        w = entry_weights(_dim_of(t.shape[-1], k), k, partials).to(t)
        mean = ((t * w).sum(-1) * sw).sum(-1)                              # (E,)
        var = ((((t - mean[:, None, None]) ** 2) * w).sum(-1) * sw).sum(-1)  # (E,)
        rho.append(torch.where(var > 0, 1.0 / torch.where(var > 0, var, 1.0), 1.0))
    return torch.stack(rho, dim=-1)


def adaptive_rho(errors: Tensor, threshold: float = ADAPTIVE_THRESHOLD) -> Tensor:
    """Hartmann et al.'s per-batch factors. *Shape:* errors (E, K + 1) -> (E, K + 1), detached.

    ``rho_k = e_0 / e_k`` where ``e_k > threshold * e_0``, else 1; ``rho_0 = 1``.
    """
    e = errors.detach()
    e0 = e[..., :1]
    big = e > threshold * e0
    rho = torch.where(big, e0 / torch.where(big, e, torch.ones_like(e)), torch.ones_like(e))
    rho[..., 0] = 1.0
    return rho


def sobolev_loss(errors: Tensor, weighting: str = "equal", rho_fixed: Tensor | None = None) -> Tensor:
    """``sum_k rho_k e_k`` per member. *Shapes:* errors (E, K + 1), rho_fixed (E, K + 1) ->
    (E,)."""
    if weighting == "equal":
        return errors.sum(dim=-1)
    if weighting == "fixed":
        if rho_fixed is None:
            raise ValueError("parameter 'rho_fixed': required for weighting='fixed' (see fixed_rho)")
        return (errors * rho_fixed).sum(dim=-1)
    if weighting == "adaptive":
        return (errors * adaptive_rho(errors)).sum(dim=-1)
    raise ValueError(f"parameter 'weighting': must be one of {WEIGHTINGS}, got {weighting!r}")
