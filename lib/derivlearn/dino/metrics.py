"""Generalisation accuracies of the DINO chapter (paper eq. 3.6), in two forms.

For per-sample relative errors ``e_b = ‖target_b − pred_b‖ / ‖target_b‖``:

* **paper** (eq. 3.6): ``1 − mean_b e_b``, the form we report;
* **code** (the authors' Keras metrics): ``1 − sqrt(mean_b e_b²)``. The code evaluated it per batch
  and Keras averaged the batch values; here it is taken over all samples at once.

By Jensen's inequality the code's form is never above the paper's. Three accuracies:

* L2: target q, prediction f (Euclidean norm);
* H1 semi-norm: target J, prediction ∇f (Frobenius). For a DIPNet pass JΦ, ∇g and the full
  ``‖J‖²_F``: ``‖J − ∇gΦᵀ‖² = ‖JΦ − ∇g‖² + ‖J‖² − ‖JΦ‖²`` (Φ orthonormal, see
  :mod:`derivlearn.dino.losses`);
* reduced H1: target Σ_r, prediction ``U_rᵀ ∇f V_r`` (Frobenius).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class Accuracy(NamedTuple):
    """An accuracy in the paper's form (eq. 3.6) and in the authors' code's form."""

    paper: float
    code: float


def _sq(a: Tensor) -> Tensor:
    return a.flatten(1).pow(2).sum(1)


def relative_errors(target: Tensor, pred: Tensor, target_norm2: Tensor | None = None) -> Tensor:
    """Per-sample relative errors ``‖target − pred‖ / ‖target‖`` over all but the first axis.

    Args:
        target: Targets. *Shape:* (N, ...).
        pred: Predictions, same shape.
        target_norm2: Optional full squared target norms (N,) when ``target`` and ``pred`` are
            projections (DIPNet H1); the missing part ``target_norm2 − ‖target‖²`` is added to the
            squared error.

    Returns:
        *Shape:* (N,).
    """
    if target.shape != pred.shape or target.ndim < 1 or target.shape[0] < 1:
        raise ValueError(f"parameter 'pred': must have the shape of 'target' {tuple(target.shape)}, "
                         f"got {tuple(pred.shape)}")
    t = target.reshape(target.shape[0], -1)
    err = _sq(t - pred.reshape(t.shape))
    norm2 = _sq(t)
    if target_norm2 is not None:
        if tuple(target_norm2.shape) != (t.shape[0],):
            raise ValueError(f"parameter 'target_norm2': must have shape (N={t.shape[0]},), "
                             f"got {tuple(target_norm2.shape)}")
        err = err + (target_norm2 - norm2).clamp_min(0)
        norm2 = target_norm2
    if bool((norm2 <= 0).any()):
        raise ValueError("parameter 'target': every sample must have a non-zero norm")
    return torch.sqrt(err / norm2)


def accuracy_from_errors(rel: Tensor) -> Accuracy:
    """Both forms from per-sample relative errors: ``1 − mean e`` and ``1 − sqrt(mean e²)``."""
    if rel.ndim != 1 or rel.numel() < 1:
        raise ValueError(f"parameter 'rel': must be a non-empty vector, got shape {tuple(rel.shape)}")
    rel = rel.detach().to(torch.float64)
    return Accuracy(float(1 - rel.mean()), float(1 - torch.sqrt((rel ** 2).mean())))


def l2_accuracy(q: Tensor, f: Tensor) -> Accuracy:
    """L2 accuracy, 1 − E[‖q − f‖ / ‖q‖]. *Shapes:* q (N, d_Q), f (N, d_Q)."""
    return accuracy_from_errors(relative_errors(q, f))


def h1_accuracy(J: Tensor, Jf: Tensor, J_norm2: Tensor | None = None) -> Accuracy:
    """H1 semi-norm accuracy, 1 − E[‖J − ∇f‖_F / ‖J‖_F].

    *Shapes:* J, Jf (N, d_Q, d_M); or for a DIPNet JΦ and ∇g (N, d_Q, r_M) with J_norm2 (N,) = ‖J‖²_F.
    """
    return accuracy_from_errors(relative_errors(J, Jf, J_norm2))


def reduced_h1_accuracy(sigma: Tensor, UtJfV: Tensor) -> Accuracy:
    """Reduced H1 accuracy, 1 − E[‖Σ_r − U_rᵀ∇f V_r‖_F / ‖Σ_r‖_F].

    *Shapes:* sigma (N, r) singular values, UtJfV (N, r, r).
    """
    if sigma.ndim != 2:
        raise ValueError(f"parameter 'sigma': must have shape (N, r), got {tuple(sigma.shape)}")
    return accuracy_from_errors(relative_errors(torch.diag_embed(sigma), UtJfV))
