"""The DINO training losses (paper Sections 2.1-2.3, eq. 3.5; spec "Losses").

Every loss is a plain callable ``loss(g, x, q, ...) -> scalar``: a batch mean of relative errors,
each matrix term normalised by its target's squared norm and added with weight 1 to the L2 term.

**Where the network lives.** ``g`` is a batched callable (..., n) -> (..., d_Q) and every
input-space array (``x``, the right singular vectors ``V``, the right sketch) is given in ``g``'s
input space:

* Generic: ``g = net``, ``x = m`` and the arrays in R^{d_M}.
* DIPNet: ``g = net.head``, ``x = Φᵀ m = net.encode(m)``, and the arrays projected by
  ``net.project`` (``ΦᵀV``, ``JΦ``, ...). Since ``∇f = ∇g Φᵀ``, ``∇f D = ∇g (Φᵀ D)``: every
  product is a small latent product and the 50 × 4225 network Jacobian is never formed. The
  projections are data, so they are best computed once (:func:`project_jacobian_data`).

**Full H1 for a DIPNet.** With Φ orthonormal, ``‖J − ∇g Φᵀ‖²_F = ‖JΦ − ∇g‖²_F + ‖J(I − ΦΦᵀ)‖²_F``
and ``‖J(I − ΦΦᵀ)‖²_F = ‖J‖²_F − ‖JΦ‖²_F`` does not depend on the weights. :func:`h1_loss` takes
``J = JΦ`` and the per-sample ``‖J‖²_F`` (``J_norm2``) and *adds the constant*, so the value is
the true full-H1 loss (comparable with Generic's and zero only if the network reproduces the
whole Jacobian); its gradient is that of ``‖JΦ − ∇g‖²``. Without ``J_norm2`` the constant is
zero (Generic, or a Jacobian that lies in span Φ).

**Per-epoch randomness.** Matrix subsampling (:func:`ms_blocks`) and sketching
(:func:`random_orthonormal`, :func:`sketch_jacobian`) are redrawn once per epoch by the caller
from a seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from derivlearn.dino.jacobians import value_and_jacobian_error, value_and_jacobian_times

Net = Callable[[Tensor], Tensor]

MS_NORMALIZATIONS = ("block", "full")
"""Normalisations of the subsampled reduced-H1 term: by the block's ``‖Σ_[k],[k]‖²`` (the code)
or by the full ``‖Σ_r‖²`` (so that Proposition 2.2 holds for the loss itself)."""


def _sq(a: Tensor) -> Tensor:
    """Per-sample squared Frobenius norm over all but the batch axis. *Shape:* (B, ...) -> (B,)."""
    return a.flatten(1).pow(2).sum(1)


def _check_batch(x: Tensor, q: Tensor) -> None:
    if x.ndim != 2:
        raise ValueError(f"parameter 'x': must have shape (B, n), got {tuple(x.shape)}")
    if q.ndim != 2 or q.shape[0] != x.shape[0]:
        raise ValueError(f"parameter 'q': must have shape (B={x.shape[0]}, d_Q), got {tuple(q.shape)}")


def _check_svd(q: Tensor, x: Tensor, U: Tensor, sigma: Tensor, V: Tensor) -> None:
    B, d_Q = q.shape
    if U.ndim != 3 or U.shape[:2] != (B, d_Q):
        raise ValueError(f"parameter 'U': must have shape (B={B}, d_Q={d_Q}, r), got {tuple(U.shape)}")
    r = U.shape[2]
    if tuple(sigma.shape) != (B, r):
        raise ValueError(f"parameter 'sigma': must have shape (B={B}, r={r}), got {tuple(sigma.shape)}")
    if tuple(V.shape) != (B, x.shape[1], r):
        raise ValueError(f"parameter 'V': must have shape (B={B}, n={x.shape[1]}, r={r}) in g's input "
                         f"space, got {tuple(V.shape)}")


def _l2_term(g: Net, x: Tensor, q: Tensor, f: Tensor | None = None) -> Tensor:
    """mean_b ‖q − f‖² / ‖q‖², with ``f = g(x)`` unless the values are given."""
    return (_sq(q - (g(x) if f is None else f)) / _sq(q)).mean()


def _reduced_residual(g: Net, x: Tensor, U: Tensor, sigma: Tensor, V: Tensor) -> tuple[Tensor, Tensor]:
    """``Σ_r − U_rᵀ ∇g V_r`` (B, r, r) and ``g(x)`` (B, d_Q), from r jvps per sample."""
    f, JV = value_and_jacobian_times(g, x, V)
    return torch.diag_embed(sigma) - U.transpose(1, 2) @ JV, f


# ---------------------------------------------------------------------------------------------
# The losses


def l2_loss(g: Net, x: Tensor, q: Tensor) -> Tensor:
    """L2: mean_b ‖q − f‖² / ‖q‖². *Shapes:* x (B, n), q (B, d_Q) -> scalar."""
    _check_batch(x, q)
    return _l2_term(g, x, q)


def h1_loss(g: Net, x: Tensor, q: Tensor, J: Tensor, J_norm2: Tensor | None = None) -> Tensor:
    """Full H1: L2 + mean_b ‖J − ∇f‖²_F / ‖J‖²_F (for a DIPNet via JΦ and ∇g, plus a constant).

    Args:
        g: The network (Generic) or its head (DIPNet).
        x: Inputs in g's input space. *Shape:* (B, n).
        q: Target outputs. *Shape:* (B, d_Q).
        J: Target Jacobians in g's input space: J (Generic) or JΦ (DIPNet). *Shape:* (B, d_Q, n).
        J_norm2: Per-sample ``‖J‖²_F`` of the full Jacobian, or None for ``‖J‖²_F`` of the given
            ``J`` (no complement term). *Shape:* (B,).
    """
    _check_batch(x, q)
    if J.ndim != 3 or J.shape != (x.shape[0], q.shape[1], x.shape[1]):
        raise ValueError(f"parameter 'J': must have shape (B, d_Q, n) = "
                         f"{(x.shape[0], q.shape[1], x.shape[1])}, got {tuple(J.shape)}")
    inside = _sq(J)
    if J_norm2 is None:
        full, complement = inside, torch.zeros_like(inside)
    else:
        if tuple(J_norm2.shape) != (x.shape[0],):
            raise ValueError(f"parameter 'J_norm2': must have shape (B={x.shape[0]},), "
                             f"got {tuple(J_norm2.shape)}")
        full, complement = J_norm2, (J_norm2 - inside).clamp_min(0)
    f, err = value_and_jacobian_error(g, x, J, inside)
    err = err + complement
    return _l2_term(g, x, q, f) + (err / full).mean()


def reduced_h1_loss(g: Net, x: Tensor, q: Tensor, U: Tensor, sigma: Tensor, V: Tensor) -> Tensor:
    """Reduced H1: L2 + mean_b ‖Σ_r − U_rᵀ ∇f V_r‖²_F / ‖Σ_r‖²_F (r jvps along V_r).

    Args:
        g, x, q: As for :func:`h1_loss`.
        U: Left singular vectors of J. *Shape:* (B, d_Q, r).
        sigma: Singular values. *Shape:* (B, r).
        V: Right singular vectors in g's input space (V, or ΦᵀV for a DIPNet). *Shape:* (B, n, r).
    """
    _check_batch(x, q)
    _check_svd(q, x, U, sigma, V)
    res, f = _reduced_residual(g, x, U, sigma, V)
    return _l2_term(g, x, q, f) + (_sq(res) / _sq(sigma)).mean()


def reduced_h1_ms_loss(g: Net, x: Tensor, q: Tensor, U: Tensor, sigma: Tensor, V: Tensor,
                       rows: Tensor, cols: Tensor | None = None, normalization: str = "block") -> Tensor:
    """Reduced H1 MS: L2 + mean_b ‖Σ_[k],[k] − U_[k]ᵀ ∇f V_[k]‖²_F / ‖Σ_[k],[k]‖²_F (k jvps).

    Args:
        g, x, q, U, sigma, V: As for :func:`reduced_h1_loss` (all r triplets of each sample).
        rows: Indices of the k left singular vectors of each sample, e.g. a block of
            :func:`ms_blocks`. *Shape:* (B, k).
        cols: Indices of the k right singular vectors; None for the same as ``rows`` (the spec's
            and the paper's choice). *Shape:* (B, k).
        normalization: ``"block"`` divides by the block target ``‖Σ_[k],[k]‖²_F`` (the code; with
            independent ``cols`` it can be zero) or ``"full"`` by ``‖Σ_r‖²_F``.
    """
    _check_batch(x, q)
    _check_svd(q, x, U, sigma, V)
    if normalization not in MS_NORMALIZATIONS:
        raise ValueError(f"parameter 'normalization': must be one of {MS_NORMALIZATIONS}, "
                         f"got {normalization!r}")
    r = U.shape[2]
    cols = rows if cols is None else cols
    for name, idx in (("rows", rows), ("cols", cols)):
        if idx.ndim != 2 or idx.shape[0] != x.shape[0] or idx.dtype not in (torch.int32, torch.int64):
            raise ValueError(f"parameter {name!r}: must be an integer tensor (B={x.shape[0]}, k), "
                             f"got {tuple(idx.shape)} {idx.dtype}")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= r):
            raise ValueError(f"parameter {name!r}: indices must lie in [0, r={r})")
    Uk = torch.gather(U, 2, rows[:, None, :].expand(-1, U.shape[1], -1))
    Vk = torch.gather(V, 2, cols[:, None, :].expand(-1, V.shape[1], -1))
    s_rows = torch.gather(sigma, 1, rows)
    target = (rows[:, :, None] == cols[:, None, :]).to(sigma.dtype) * s_rows[:, :, None]
    f, JV = value_and_jacobian_times(g, x, Vk)
    res = target - Uk.transpose(1, 2) @ JV
    denom = _sq(target) if normalization == "block" else _sq(sigma)
    return _l2_term(g, x, q, f) + (_sq(res) / denom).mean()


def sketched_h1_loss(g: Net, x: Tensor, q: Tensor, J_sketch: Tensor, Q_left: Tensor,
                     Q_right: Tensor) -> Tensor:
    """Sketched H1: L2 + mean_b ‖Q_lᵀ (J − ∇f) Q_r‖²_F / ‖Q_lᵀ J Q_r‖²_F (r jvps along Q_r).

    Args:
        g, x, q: As for :func:`h1_loss`.
        J_sketch: The sketched target ``Q_lᵀ J Q_r`` from :func:`sketch_jacobian`, computed in
            the full input space. *Shape:* (B, r_l, r).
        Q_left: Orthonormal left sketch. *Shape:* (d_Q, r_l).
        Q_right: The right sketch in g's input space (Q_r, or ΦᵀQ_r for a DIPNet).
            *Shape:* (n, r) or (B, n, r).
    """
    _check_batch(x, q)
    if Q_left.ndim != 2 or Q_left.shape[0] != q.shape[1]:
        raise ValueError(f"parameter 'Q_left': must have shape (d_Q={q.shape[1]}, r_l), "
                         f"got {tuple(Q_left.shape)}")
    f, JQ = value_and_jacobian_times(g, x, Q_right)
    if J_sketch.ndim != 3 or J_sketch.shape != (x.shape[0], Q_left.shape[1], JQ.shape[2]):
        raise ValueError(f"parameter 'J_sketch': must have shape (B, r_l, r) = "
                         f"{(x.shape[0], Q_left.shape[1], JQ.shape[2])}, got {tuple(J_sketch.shape)}")
    res = J_sketch - Q_left.T @ JQ
    return _l2_term(g, x, q, f) + (_sq(res) / _sq(J_sketch)).mean()


def nullspace_sketched_h1_loss(g: Net, x: Tensor, q: Tensor, U: Tensor, sigma: Tensor, V: Tensor,
                               Q_left: Tensor, Q_right: Tensor, VtQ: Tensor | None = None,
                               d_M: int | None = None) -> Tensor:
    """Reduced H1 + null space: + mean_b c (‖Q_lᵀ(I−UUᵀ)∇f Q_r‖² + ‖Q_lᵀ∇f(I−VVᵀ)Q_r‖²) / ‖Σ_r‖².

    The two sketched null-space terms of Proposition 2.1 ((2.6c)+(2.6b) and (2.6d)+(2.6b), as the
    spec lists them) have zero targets, so they are normalised by the reduced term's target
    ``‖Σ_r‖²_F`` and scaled by ``c = (d_Q / r_l)(d_M / r_s)``. For Haar sketches
    ``E[Q Qᵀ] = (rank / dim) I``, so ``c ‖Q_lᵀ A Q_r‖²`` is an unbiased estimate of ``‖A‖²_F``:
    without ``c`` a rank-50 right sketch in d_M = 4225 would keep about 1/85 of each null-space
    term and the loss would be reduced H1 in all but name. With r = d_Q (the paper's setting),
    ``J = UΣVᵀ`` exactly and ``I − UUᵀ = 0``, so the loss is then an unbiased estimate of the
    full-H1 loss. ``∇f(I − VVᵀ)Q_r = ∇f Q_r − (∇f V)(VᵀQ_r)`` reuses the r jvps along V of the
    reduced term: r + r_s jvps per sample.

    Args:
        g, x, q, U, sigma, V: As for :func:`reduced_h1_loss`.
        Q_left: Orthonormal left sketch. *Shape:* (d_Q, r_l).
        Q_right: Right sketch in g's input space (Q_r, or ΦᵀQ_r). *Shape:* (n, r_s) or (B, n, r_s).
        VtQ: ``VᵀQ_r`` computed in the full input space. Required for a DIPNet (projected V and
            Q_r no longer give it); None computes it from the given V and Q_right. *Shape:*
            (B, r, r_s).
        d_M: Dimension of the space the right sketch was drawn in; required with ``VtQ``.
            None (only without ``VtQ``) takes ``g``'s input dimension, right for Generic.
    """
    _check_batch(x, q)
    _check_svd(q, x, U, sigma, V)
    if Q_left.ndim != 2 or Q_left.shape[0] != q.shape[1]:
        raise ValueError(f"parameter 'Q_left': must have shape (d_Q={q.shape[1]}, r_l), "
                         f"got {tuple(Q_left.shape)}")
    if not (Q_right.ndim == 2 and Q_right.shape[0] == x.shape[1]
            or Q_right.ndim == 3 and Q_right.shape[:2] == x.shape):
        raise ValueError(f"parameter 'Q_right': must have shape (n, r_s) or (B, n, r_s) with "
                         f"(B, n) = {tuple(x.shape)}, got {tuple(Q_right.shape)}")
    r_s = Q_right.shape[-1]
    if VtQ is None:
        VtQ = V.transpose(1, 2) @ Q_right
    elif d_M is None:
        raise ValueError("parameter 'd_M': required with 'VtQ' (the dimension the right sketch was "
                         "drawn in, e.g. 4225; g's input dimension is r_M for a DIPNet)")
    if VtQ.shape != (x.shape[0], V.shape[2], r_s):
        raise ValueError(f"parameter 'VtQ': must have shape (B, r, r_s) = "
                         f"{(x.shape[0], V.shape[2], r_s)}, got {tuple(VtQ.shape)}")
    d_full = x.shape[1] if d_M is None else d_M
    if not isinstance(d_full, int) or d_full < r_s:
        raise ValueError(f"parameter 'd_M': must be an integer >= r_s = {r_s}, got {d_M!r}")
    f, JV = value_and_jacobian_times(g, x, V)
    JQ = value_and_jacobian_times(g, x, Q_right)[1]   # a shared Q_r meets W_1 once per batch
    res = torch.diag_embed(sigma) - U.transpose(1, 2) @ JV
    left = JQ - U @ (U.transpose(1, 2) @ JQ)          # (I − UUᵀ) ∇f Q_r
    right = JQ - JV @ VtQ                              # ∇f (I − VVᵀ) Q_r
    scale = (Q_left.shape[0] / Q_left.shape[1]) * (d_full / r_s)
    null = scale * (_sq(Q_left.T @ left) + _sq(Q_left.T @ right))
    return _l2_term(g, x, q, f) + ((_sq(res) + null) / _sq(sigma)).mean()


LOSSES = {"l2": l2_loss, "h1": h1_loss, "reduced_h1": reduced_h1_loss,
          "reduced_h1_ms": reduced_h1_ms_loss, "sketched_h1": sketched_h1_loss,
          "nullspace_sketched_h1": nullspace_sketched_h1_loss}
"""The losses by name."""


# ---------------------------------------------------------------------------------------------
# Per-epoch randomness and data preparation


def ms_blocks(n_samples: int, r: int = 50, k: int = 10,
              generator: torch.Generator | None = None, shared: bool = False) -> tuple[Tensor, Tensor]:
    """One epoch of matrix subsampling: each sample's r triplets permuted into r/k blocks of k.

    As in the authors' code, every (sample, block) pair is one training row of the epoch, so an
    epoch has ``n_samples * r / k`` rows; shuffle and batch them like samples. By default each
    sample gets its own permutation (ours); with ``shared`` one permutation serves every sample
    of the epoch, as the authors' ``flatten_data`` draws it.

    Returns:
        ``(sample, block)``: the sample index of each row (n·r/k,) and its k triplet indices
        (n·r/k, k), usable as ``rows`` of :func:`reduced_h1_ms_loss`.
    """
    for name, v in (("n_samples", n_samples), ("r", r), ("k", k)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"parameter {name!r}: must be an integer >= 1, got {v!r}")
    if r % k:
        raise ValueError(f"parameter 'k': must divide r={r}, got {k}")
    if shared:
        perms = torch.argsort(torch.rand(1, r, generator=generator), dim=1).expand(n_samples, r)
    else:
        perms = torch.argsort(torch.rand(n_samples, r, generator=generator), dim=1)
    blocks = perms.reshape(n_samples * (r // k), k)
    sample = torch.arange(n_samples).repeat_interleave(r // k)
    return sample, blocks


def random_orthonormal(d: int, r: int, generator: torch.Generator | None = None,
                       dtype: torch.dtype = torch.float64) -> Tensor:
    """A Haar-random matrix with orthonormal columns (QR of a Gaussian, signs fixed). *Shape:* (d, r)."""
    if not isinstance(r, int) or not isinstance(d, int) or not 1 <= r <= d:
        raise ValueError(f"parameter 'r': must be an integer in [1, d={d}], got {r!r}")
    G = torch.randn(d, r, generator=generator, dtype=torch.float64)
    Q, R = torch.linalg.qr(G)
    Q = Q * torch.sign(torch.diagonal(R))
    return Q.to(dtype)


def sketch_jacobian(J: Tensor, Q_left: Tensor, Q_right: Tensor) -> Tensor:
    """The sketched targets ``Q_lᵀ J Q_r``. *Shapes:* J (B, d_Q, d_M), Q_left (d_Q, r_l),
    Q_right (d_M, r) -> (B, r_l, r)."""
    if J.ndim != 3:
        raise ValueError(f"parameter 'J': must have shape (B, d_Q, d_M), got {tuple(J.shape)}")
    return Q_left.T @ (J @ Q_right)


def project_jacobian_data(phi: Tensor, J: Tensor | None = None,
                          V: Tensor | None = None) -> dict[str, Tensor]:
    """A DIPNet's latent training data from full-space data (compute once, not per batch).

    Returns a dict with ``"J_phi"`` = JΦ (B, d_Q, r_M) and ``"J_norm2"`` = ‖J‖²_F (B,) when
    ``J`` (B, d_Q, d_M) is given, and ``"V_phi"`` = ΦᵀV (B, r_M, r) when ``V`` (B, d_M, r) is given.
    """
    out: dict[str, Tensor] = {}
    if J is not None:
        out["J_phi"] = J @ phi
        out["J_norm2"] = _sq(J)
    if V is not None:
        out["V_phi"] = phi.T @ V
    return out


def reduced_svd(J: Tensor, r: int = 50) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample rank-r SVD ``J ≈ U_r Σ_r V_rᵀ``. *Shapes:* J (B, d_Q, d_M) ->
    U (B, d_Q, r), sigma (B, r), V (B, d_M, r)."""
    if J.ndim != 3:
        raise ValueError(f"parameter 'J': must have shape (B, d_Q, d_M), got {tuple(J.shape)}")
    if not isinstance(r, int) or not 1 <= r <= min(J.shape[1:]):
        raise ValueError(f"parameter 'r': must be an integer in [1, {min(J.shape[1:])}], got {r!r}")
    U, S, Vh = torch.linalg.svd(J, full_matrices=False)
    return U[:, :, :r], S[:, :r], Vh[:, :r, :].transpose(1, 2)
