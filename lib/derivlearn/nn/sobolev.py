"""The Sobolev loss of order K and its weighting schemes.

For predictions and targets of every order k = 0..K in the unique-partials form of
:mod:`derivlearn.derivatives`, the per-order error is

    e_k = mean over samples of  sum_alpha  w_alpha (d^alpha f_pred - d^alpha f_true)^2,

with entry weights ``w_alpha`` set by ``partials`` and ``reduction``:

* ``partials="all"``: every mixed partial counted as often as it occurs in the full tensor
  (``k! / alpha!`` times; computed from the unique partials, so it costs nothing extra);
* ``partials="unique"``: every distinct partial once (Schwarz symmetry);
* ``reduction="mean"`` (the default): the weights are divided by the number of entries
  (``d^k`` for ``"all"``, ``C(d + k - 1, k)`` for ``"unique"``) and sum to 1, i.e. the mean over
  the entries of order k. This is our choice, not the papers';
* ``reduction="sum"``: the weights are not normalised, i.e. the sum over the entries. With
  ``partials="all"`` this is Hartmann et al.'s eq. 6: the error summed over the K_M = 2^M
  partials of order M (in 2-D), with rho_M multiplying that sum. It weights order k ``d^k``
  times more than ``"mean"``.

The loss is ``L = sum_k rho_k e_k`` with ``rho_0 = 1`` (Horvath et al. eq. 1 with MSE,
Hartmann et al. eq. 6 with ``reduction="sum"``) and

* ``"equal"``: ``rho_k = 1`` (Horvath et al.);
* ``"fixed"``: an inverse variance of the order-k targets over the training set, pooled over the
  entries with the multiplicity of ``partials`` (Czarnecki et al.; the "fixed rho" of Hartmann
  et al. Table III, "the inverse squared standard deviation for each derivative order"). The
  paper leaves ``Var = 0`` undefined (Sum Squares and Matyas at orders >= 3); the definitions
  in :data:`RHO_DEFINITIONS` name the choices (see :func:`fixed_rho`);
* ``"adaptive"``: per batch, ``rho_k = e_0 / e_k`` if ``e_k > 10 e_0``, else 1 (Hartmann et
  al. Algorithm 1), comparing the per-order error *as reduced*: under ``reduction="sum"`` the
  summed error of the order, as Algorithm 1 writes it. The factor is a constant for
  backpropagation. Taken literally, a batch with zero value error gets rho_k = 0 for every
  order with a non-zero error; we keep the rule as published (it does not occur with float
  data in practice).

Order K = 0 is plain value training. Every function here is batched over an ensemble axis E.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from derivlearn.derivatives import multiplicity, n_unique

PARTIALS = ("unique", "all")
WEIGHTINGS = ("equal", "fixed", "adaptive")
REDUCTIONS = ("mean", "sum")
"""Per-order reduction over the entries: ``"mean"`` (ours, the default) or ``"sum"`` (eq. 6)."""
RHO_DEFINITIONS = ("inverse_variance", "inverse_variance_eps", "inverse_variance_drop")
"""Fixed rho: ``"inverse_variance"`` (1 / Var, and rho = 1 where Var = 0; the default, which
made the committed records), ``"inverse_variance_eps"`` (1 / Var, and 1 / (Var + eps) = 1 / eps
where Var = 0, eps = :data:`RHO_EPS` unless given), ``"inverse_variance_drop"`` (1 / Var, and
rho = 0 where Var = 0: that order is left out of the loss)."""
RHO_EPS = 1e-3
"""The eps of ``"inverse_variance_eps"`` (in the units of the targets' variance)."""
ADAPTIVE_THRESHOLD = 10.0
"""Hartmann et al.: rescale an order whose error exceeds this multiple of the value error."""


def entry_weights(d: int, k: int, partials: str, reduction: str = "mean") -> Tensor:
    """Weights of the distinct order-k partials in e_k. *Shape:* (n_unique(d, k),), float64,
    summing to 1 (``reduction="mean"``) or to the number of entries (``"sum"``: multiplicities
    for ``partials="all"``, ones for ``"unique"``)."""
    if partials not in PARTIALS:
        raise ValueError(f"parameter 'partials': must be one of {PARTIALS}, got {partials!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"parameter 'reduction': must be one of {REDUCTIONS}, got {reduction!r}")
    if partials == "unique":
        n = n_unique(d, k)
        return torch.full((n,), 1.0 / n if reduction == "mean" else 1.0, dtype=torch.float64)
    m = multiplicity(d, k).to(torch.float64)
    return m / float(d) ** k if reduction == "mean" else m


def order_errors(pred: Sequence[Tensor], target: Sequence[Tensor], partials: str = "unique",
                 sample_weights: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Per-order squared errors e_k, averaged over the samples.

    Args:
        pred, target: ``[values (E, B), (E, B, n_1), ..., (E, B, n_K)]``, unique form.
        partials: ``"unique"`` or ``"all"`` (see the module docstring).
        reduction: ``"mean"`` or ``"sum"`` over the entries of each order (module docstring).
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
        w = entry_weights(d, k, partials, reduction).to(pred[k])
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
              sample_weights: Tensor | None = None, definition: str = "inverse_variance",
              eps: float = RHO_EPS) -> Tensor:
    """Inverse variance of the targets of each order over the training set (rho_0 = 1).

    The variance of order k pools all its entries (each distinct partial weighted by its
    multiplicity for ``partials="all"``); it is a per-entry variance, the same under both
    reductions. ``definition`` (one of :data:`RHO_DEFINITIONS`) says what a zero variance
    gives: ``"inverse_variance"`` rho = 1 (the order carries no scale to normalise; the
    default), ``"inverse_variance_eps"`` rho = 1 / (Var + eps) = 1 / eps there (and 1 / Var
    where Var > 0: adding eps there would change rho by eps / Var, under 0.5 % on every order of
    the higher-order chapter's functions, and would make every such run a near-copy of the
    ``"inverse_variance"`` one), ``"inverse_variance_drop"`` rho = 0 (the order is left out of
    the loss).

    *Shapes:* target ``[(E, N), (E, N, n_1), ...]``, sample_weights (E, N) summing to 1 per
    row (default uniform) -> (E, K + 1).
    """
    if definition not in RHO_DEFINITIONS:
        raise ValueError(f"parameter 'definition': must be one of {RHO_DEFINITIONS}, got {definition!r}")
    if definition == "inverse_variance_eps" and not eps > 0:
        raise ValueError(f"parameter 'eps': must be a number > 0, got {eps!r}")
    e, n = target[0].shape[-2], target[0].shape[-1]
    sw = (torch.full((e, n), 1.0 / n, dtype=target[0].dtype, device=target[0].device)
          if sample_weights is None else sample_weights)
    rho = [torch.ones(e, dtype=target[0].dtype, device=target[0].device)]
    for k in range(1, len(target)):
        t = target[k]
        w = entry_weights(_dim_of(t.shape[-1], k), k, partials).to(t)
        mean = ((t * w).sum(-1) * sw).sum(-1)                              # (E,)
        var = ((((t - mean[:, None, None]) ** 2) * w).sum(-1) * sw).sum(-1)  # (E,)
        if definition == "inverse_variance_eps":
            rho.append(torch.where(var > 0, 1.0 / torch.where(var > 0, var, 1.0), 1.0 / eps))
        else:
            zero = 1.0 if definition == "inverse_variance" else 0.0
            rho.append(torch.where(var > 0, 1.0 / torch.where(var > 0, var, 1.0), zero))
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


def sobolev_loss(errors: Tensor, weighting: str = "equal", rho_fixed: Tensor | None = None,
                 reduction: str | None = None, counts: Tensor | None = None,
                 stats: dict[str, Tensor] | None = None) -> Tensor:
    """``sum_k rho_k e_k`` per member. *Shapes:* errors (E, K + 1), rho_fixed (E, K + 1) ->
    (E,).

    ``errors`` come from :func:`order_errors`. ``reduction=None`` (the default) takes them as
    reduced there. ``reduction="sum"`` or ``"mean"`` with ``counts`` (*Shape:* (K + 1,), the
    number of entries of each order, e.g. ``[1, d, d^2, ...]`` for ``partials="all"``) takes
    ``errors`` as means over the entries (``order_errors(..., reduction="mean")``) and, for
    ``"sum"``, multiplies each order by its count before weighting, so that ``rho_k`` multiplies
    the summed error and the adaptive rule compares the summed error with the value error
    (Algorithm 1); ``order_errors(..., reduction="sum")`` gives the same without ``counts``.

    ``stats`` (optional, adaptive weighting only): a dict that receives ``"fired"`` (E, K + 1),
    1 where the adaptive rule rescaled the order, and ``"rho"`` (E, K + 1), the factors applied
    (detached), for diagnostics.
    """
    if reduction is not None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"parameter 'reduction': must be one of {REDUCTIONS} or None, "
                             f"got {reduction!r}")
        if reduction == "sum":
            if counts is None:
                raise ValueError("parameter 'counts': required with reduction='sum' (entries per "
                                 "order), or compute the errors with order_errors(reduction='sum')")
            errors = errors * counts.to(errors)
    if weighting == "equal":
        return errors.sum(dim=-1)
    if weighting == "fixed":
        if rho_fixed is None:
            raise ValueError("parameter 'rho_fixed': required for weighting='fixed' (see fixed_rho)")
        return (errors * rho_fixed).sum(dim=-1)
    if weighting == "adaptive":
        rho = adaptive_rho(errors)
        if stats is not None:
            e = errors.detach()
            stats["fired"] = e > ADAPTIVE_THRESHOLD * e[..., :1]
            stats["rho"] = rho
        return (errors * rho).sum(dim=-1)
    raise ValueError(f"parameter 'weighting': must be one of {WEIGHTINGS}, got {weighting!r}")
