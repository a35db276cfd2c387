"""Accuracy metrics for surrogate predictions and their derivatives.

All functions accept torch tensors of matching shape, reduce over every axis, and return a
Python float, so that results go straight into a run record.

* :func:`r2_score` is Horvath et al. eq. (2), ``1 - SS_res / SS_tot``.
* :func:`rmse` is the root mean squared error.
* :func:`relative_l2` is ``||pred - true||_2 / ||true||_2``.
* :func:`derivative_errors` applies :func:`rmse` and :func:`relative_l2` to every derivative
  order of a prediction, as returned by :func:`derivlearn.derivatives.derivative_tensors`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _pair(pred: Tensor, true: Tensor) -> tuple[Tensor, Tensor]:
    if pred.shape != true.shape:
        raise ValueError(f"parameter 'pred': shape {tuple(pred.shape)} does not match "
                         f"'true' {tuple(true.shape)}")
    if true.numel() == 0:
        raise ValueError("parameter 'true': empty tensor")
    return pred.detach().to(torch.float64), true.detach().to(torch.float64)


def r2_score(pred: Tensor, true: Tensor) -> float:
    """Coefficient of determination (Horvath et al. eq. 2). *Shapes:* any, equal.

    ``1 - sum((true - pred)^2) / sum((true - mean(true))^2)``; 1 is perfect, 0 is the mean
    predictor, negative is worse than the mean. A constant ``true`` gives ``nan`` unless the
    prediction is exact (then 1).
    """
    p, t = _pair(pred, true)
    ss_res = torch.sum((t - p) ** 2)
    ss_tot = torch.sum((t - t.mean()) ** 2)
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else float("nan")
    return float(1.0 - ss_res / ss_tot)


def mse(pred: Tensor, true: Tensor) -> float:
    """Mean squared error over all entries. *Shapes:* any, equal."""
    p, t = _pair(pred, true)
    return float(torch.mean((p - t) ** 2))


def rmse(pred: Tensor, true: Tensor) -> float:
    """Root mean squared error over all entries. *Shapes:* any, equal."""
    return mse(pred, true) ** 0.5


def relative_l2(pred: Tensor, true: Tensor) -> float:
    """``||pred - true||_2 / ||true||_2`` over all entries (``inf`` if ``true`` is 0 and
    ``pred`` is not). *Shapes:* any, equal."""
    p, t = _pair(pred, true)
    num = torch.linalg.vector_norm(p - t)
    den = torch.linalg.vector_norm(t)
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return float(num / den)


def derivative_errors(pred: Sequence[Tensor], true: Sequence[Tensor]) -> dict[str, float]:
    """Errors per derivative order.

    Args:
        pred, true: ``[values (N,), gradients (N, d), Hessians (N, d, d), ...]`` or the unique
            form ``[(N,), (N, n_1), (N, n_2), ...]``, the same form on both sides.

    Returns:
        ``{"rmse_0": ..., "rel_l2_0": ..., "r2_0": ..., "rmse_1": ..., "rel_l2_1": ..., ...}``
        (``r2`` for the values only).
    """
    if len(pred) != len(true):
        raise ValueError(f"parameter 'pred': {len(pred)} orders, 'true' has {len(true)}")
    out: dict[str, float] = {}
    for k, (p, t) in enumerate(zip(pred, true, strict=True)):
        out[f"rmse_{k}"] = rmse(p, t)
        out[f"rel_l2_{k}"] = relative_l2(p, t)
    out["r2_0"] = r2_score(pred[0], true[0])
    return out
