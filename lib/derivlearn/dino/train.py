"""Training and evaluation of a DINO network on a memory-mapped Jacobian data set.

:func:`train_dino` trains one network (Generic or DIPNet, :mod:`~derivlearn.dino.networks`) with
one loss of :mod:`~derivlearn.dino.losses` by Adam in minibatches, then evaluates the three
accuracies of :mod:`~derivlearn.dino.metrics` on a test subset.

Data handling (see :mod:`derivlearn.jacobian_data`): the training subset's inputs, outputs and
singular values are read into RAM once. What a loss needs of the Jacobian is prepared once in
the network's input space where it is small (a DIPNet's ``JΦ`` and ``ΦᵀV``: 50 × r_M numbers per
sample). Where it is large (a Generic network's ``V`` and ``J``: 4225 × 50 per sample) the
training subset's ``Vᵀ`` (rows = the tangents of :mod:`~derivlearn.dino.jacobians`) or ``J`` is
held once in RAM up to :data:`HOLD_BYTES` (2 GiB: N = 2540 in float32), else read per batch
from the memory map. Holding ``Vᵀ`` halves the reduced-H1 epoch of Generic (measured: 0.274 to
0.143 s at N = 64, Poisson), as the per-batch read and transposing copy disappear.

Per-epoch randomness (sample order, matrix-subsampling blocks, sketches) comes from one
generator seeded by ``spec.seed``; the network's initialisation is seeded by the caller.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from derivlearn.dino import losses as L
from derivlearn.dino.jacobians import jacobian, jacobian_times
from derivlearn.dino.metrics import accuracy_from_errors, relative_errors
from derivlearn.dino.networks import DinoNet
from derivlearn.jacobian_data import JacobianData

LOSS_NAMES = ("l2", "h1", "reduced_h1", "reduced_h1_ms", "sketched_h1", "nullspace_sketched_h1")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


MS_SCHEMES = ("ours", "authors")


@dataclass(frozen=True)
class DinoTrainSpec:
    """A training run: loss, Adam learning rate, batch size, epochs, seed, precision, and the
    matrix-subsampling block size ``ms_k`` and sketch rank ``sketch_rank`` (spec defaults).

    ``ms_scheme`` (the MS loss only): ``"ours"`` keeps one Adam optimizer for the whole run and
    draws each sample's block permutation on its own; ``"authors"`` does what the authors' code
    does (``train_dino`` with ``shuffle_every_epoch``): a fresh Adam optimizer every epoch (its
    moments and bias correction restart) and one block permutation shared by all samples."""

    loss: str = "l2"
    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 100
    seed: int = 0
    dtype: str = "float32"
    ms_k: int = 10
    sketch_rank: int = 50
    ms_scheme: str = "ours"

    def __post_init__(self) -> None:
        if self.ms_scheme not in MS_SCHEMES:
            raise ValueError(f"parameter 'ms_scheme': must be one of {MS_SCHEMES}, got {self.ms_scheme!r}")
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"parameter 'loss': must be one of {LOSS_NAMES}, got {self.loss!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"parameter 'dtype': must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"parameter 'lr': must be a number > 0, got {self.lr!r}")
        for name in ("batch_size", "epochs", "ms_k", "sketch_rank"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"parameter {name!r}: must be an integer >= 1, got {v!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


HOLD_BYTES = 2 << 30
"""A training subset's ``Vᵀ`` (a Generic network's reduced losses, any network's sketched losses)
or ``J`` (a Generic network's H1 loss) up to this size is held in RAM (one copy of the training
subset; the whole data set stays a memory map); above it, it is read per batch."""


class _Subset:
    """The arrays of one subset of a data set, in the network's input space (see module doc)."""

    def __init__(self, net: DinoNet, data: JacobianData, idx: np.ndarray, dtype: torch.dtype,
                 need_v: bool, need_j: bool, sketch: bool = False, hold: bool = True) -> None:
        self.net, self.data, self.idx, self.dtype = net, data, np.asarray(idx), dtype
        b = data.batch(self.idx, ("m", "q", "U", "s"), torch.float64)
        self.m, self.q = b["m"], b["q"].to(dtype)
        self.U, self.s = b["U"].to(dtype), b["s"].to(dtype)
        self.x = net.encode(self.m.to(dtype)) if net.is_projected else self.m.to(dtype)
        self.J_norm2 = (b["s"] ** 2).sum(1).to(dtype)
        self.V_phi = self.J_phi = self.Vt = self.J_full = None
        held = len(self.idx) * data.layout.d_m * data.layout.rank * torch.finfo(dtype).bits // 8
        hold_v = (need_v and not net.is_projected) or sketch
        if hold and (hold_v or (need_j and not net.is_projected)) and held <= HOLD_BYTES:
            # Generic (and the sketches' VᵀQ_r of any network): hold the subset's Vᵀ (N, r, d_M)
            # or J (N, d_Q, d_M) in RAM once (0.87 GB at N = 1024, r = d_Q = 50, float32),
            # instead of reading V from the memory map and transposing it (for the tangents' row
            # layout) or rebuilding J = UΣVᵀ every batch
            chunks = [self.idx[a:a + 256] for a in range(0, len(self.idx), 256)]
            if hold_v:
                self.Vt = torch.cat([data.batch(c, ("V",), dtype)["V"].transpose(1, 2).contiguous()
                                     for c in chunks])
            if need_j and not net.is_projected:
                self.J_full = torch.cat([data.jacobian(c, dtype) for c in chunks])
        if net.is_projected:
            phi = net.phi.to(torch.float64)
            if need_v:
                self.V_phi = torch.cat([phi.T @ data.batch(self.idx[a:a + 256], ("V",), torch.float64)["V"]
                                        for a in range(0, len(self.idx), 256)]).to(dtype)
            if need_j:
                self.J_phi = torch.from_numpy(np.array(data.project(phi)[self.idx])).to(dtype)

    def __len__(self) -> int:
        return len(self.idx)

    def V(self, rows: Tensor) -> Tensor:
        """Right singular vectors in the network's input space. *Shape:* (B, n, r)."""
        if self.V_phi is not None:
            return self.V_phi[rows]
        if self.Vt is not None and not self.net.is_projected:
            return self.Vt[rows].transpose(1, 2)          # a view: the tangents' rows are contiguous
        return self.data.batch(self.idx[rows.numpy()], ("V",), self.dtype)["V"]

    def V_full(self, rows: Tensor) -> Tensor:
        """Right singular vectors in R^{d_M}. *Shape:* (B, d_M, r)."""
        if self.Vt is not None:
            return self.Vt[rows].transpose(1, 2)
        return self.data.batch(self.idx[rows.numpy()], ("V",), self.dtype)["V"]

    def J(self, rows: Tensor) -> Tensor:
        """The Jacobian in the network's input space (J, or JΦ). *Shape:* (B, d_Q, n)."""
        if self.J_phi is not None:
            return self.J_phi[rows]
        if self.J_full is not None:
            return self.J_full[rows]
        return self.data.jacobian(self.idx[rows.numpy()], self.dtype)


def _batch_loss(spec: DinoTrainSpec, net: DinoNet, d: _Subset, rows: Tensor,
                ms_rows: Tensor | None, sketch: tuple[Tensor, Tensor, Tensor] | None) -> Tensor:
    g = net.head if net.is_projected else net
    x, q = d.x[rows], d.q[rows]
    if spec.loss == "l2":
        return L.l2_loss(g, x, q)
    if spec.loss == "h1":
        return L.h1_loss(g, x, q, d.J(rows), d.J_norm2[rows] if net.is_projected else None)
    U, s = d.U[rows], d.s[rows]
    if spec.loss == "reduced_h1":
        return L.reduced_h1_loss(g, x, q, U, s, d.V(rows))
    if spec.loss == "reduced_h1_ms":
        return L.reduced_h1_ms_loss(g, x, q, U, s, d.V(rows), ms_rows)
    q_left, q_right, q_right_g = sketch  # type: ignore[misc]
    v_full = d.V_full(rows)
    vtq = v_full.transpose(1, 2) @ q_right                                   # (B, r, r_s)
    if spec.loss == "sketched_h1":
        j_sketch = q_left.T @ ((U * s[:, None, :]) @ vtq)                    # Q_l^T J Q_r
        return L.sketched_h1_loss(g, x, q, j_sketch, q_left, q_right_g)
    return L.nullspace_sketched_h1_loss(g, x, q, U, s, d.V(rows), q_left, q_right_g, vtq,
                                        d_M=int(q_right.shape[0]))


def evaluate(net: DinoNet, data: JacobianData, idx: np.ndarray, chunk: int = 64) -> dict[str, float]:
    """L2, H1 and reduced-H1 accuracies (paper and code forms) on the samples ``idx``.

    Per-sample relative errors are computed chunk by chunk, so at most one chunk of Jacobians
    (target and network) is in RAM."""
    d = _Subset(net, data, idx, net.dtype, need_v=True, need_j=True, hold=False)
    g = net.head if net.is_projected else net
    with torch.no_grad():
        f = g(d.x)
    h1_rel, red_rel = [], []
    for a in range(0, len(d), chunk):
        rows = torch.arange(a, min(a + chunk, len(d)))
        x = d.x[rows]
        jg = jacobian(g, x).detach()                                     # (B, d_Q, n)
        h1_rel.append(relative_errors(d.J(rows), jg, d.J_norm2[rows] if net.is_projected else None))
        utjv = d.U[rows].transpose(1, 2) @ jacobian_times(g, x, d.V(rows)).detach()
        red_rel.append(relative_errors(torch.diag_embed(d.s[rows]), utjv))
    l2 = accuracy_from_errors(relative_errors(d.q, f))
    h1 = accuracy_from_errors(torch.cat(h1_rel))
    rh1 = accuracy_from_errors(torch.cat(red_rel))
    return {"l2_accuracy": l2.paper, "l2_accuracy_code": l2.code, "h1_accuracy": h1.paper,
            "h1_accuracy_code": h1.code, "reduced_h1_accuracy": rh1.paper,
            "reduced_h1_accuracy_code": rh1.code}


def train_dino(spec: DinoTrainSpec, net: DinoNet, data: JacobianData, train_idx: np.ndarray,
               test_idx: np.ndarray | None = None, test_data: JacobianData | None = None) -> dict[str, Any]:
    """Train ``net`` in place and return its history and (with ``test_idx``) test accuracies.

    Args:
        spec: loss, optimizer and epoch settings.
        net: a fresh network of :func:`derivlearn.dino.networks.build_network` in ``spec.dtype``.
        data: the Jacobian data set; all samples in ``train_idx`` must be done.
        train_idx, test_idx: sample indices. *Shapes:* (N_train,), (N_test,).
        test_data: the data set of ``test_idx`` (default: ``data``); those samples must be done.

    Returns:
        ``{"loss": [mean training loss per epoch], "seconds": training time,
        "seconds_per_epoch": ..., "steps": ..., **accuracies}``; a non-finite loss stops training
        and is reported as ``"failed"`` (accuracies are then not computed).
    """
    if not isinstance(spec, DinoTrainSpec):
        raise ValueError(f"parameter 'spec': expected a DinoTrainSpec, got {type(spec).__name__}")
    dtype = DTYPES[spec.dtype]
    if net.dtype != dtype:
        raise ValueError(f"parameter 'net': its dtype {net.dtype} differs from spec.dtype {spec.dtype!r}")
    train_idx = np.asarray(train_idx)
    if train_idx.ndim != 1 or len(train_idx) < 1:
        raise ValueError("parameter 'train_idx': must be a non-empty vector of sample indices")
    test_data = data if test_data is None else test_data
    for name, ix, d in (("train_idx", train_idx, data), ("test_idx", test_idx, test_data)):
        if ix is not None and not d.done[np.asarray(ix)].all():
            raise ValueError(f"parameter {name!r}: some samples are not generated yet")
    need_v = spec.loss in ("reduced_h1", "reduced_h1_ms", "nullspace_sketched_h1")
    d = _Subset(net, data, train_idx, dtype, need_v=need_v, need_j=spec.loss == "h1",
                sketch=spec.loss in ("sketched_h1", "nullspace_sketched_h1"))
    gen = torch.Generator().manual_seed(int(spec.seed))
    opt = torch.optim.Adam(net.parameters(), lr=spec.lr)
    n, r = len(d), data.layout.rank
    history, steps, failed = [], 0, None
    t0 = time.perf_counter()
    for epoch in range(spec.epochs):
        sample_rows, ms_all, sketch = torch.arange(n), None, None
        if spec.loss == "reduced_h1_ms":
            authors = spec.ms_scheme == "authors"
            sample_rows, ms_all = L.ms_blocks(n, r, min(spec.ms_k, r), generator=gen, shared=authors)
            if authors and epoch:
                opt = torch.optim.Adam(net.parameters(), lr=spec.lr)
        if spec.loss in ("sketched_h1", "nullspace_sketched_h1"):
            k = min(spec.sketch_rank, r)
            q_left = L.random_orthonormal(data.layout.d_q, k, gen, dtype)
            q_right = L.random_orthonormal(data.layout.d_m, min(spec.sketch_rank, data.layout.d_m), gen,
                                           dtype)
            sketch = (q_left, q_right, net.project(q_right))
        order = torch.randperm(len(sample_rows), generator=gen)
        total = 0.0
        for a in range(0, len(order), spec.batch_size):
            pick = order[a:a + spec.batch_size]
            rows = sample_rows[pick]
            opt.zero_grad(set_to_none=True)
            loss = _batch_loss(spec, net, d, rows, None if ms_all is None else ms_all[pick], sketch)
            loss.backward()
            opt.step()
            steps += 1
            total += float(loss.detach()) * len(pick)
        history.append(total / len(order))
        if not math.isfinite(history[-1]):
            failed = f"non-finite training loss at epoch {epoch + 1}"
            break
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"loss": history, "seconds": seconds, "steps": steps,
                           "seconds_per_epoch": seconds / max(1, len(history)), "failed": failed}
    if test_idx is not None and failed is None:
        out.update(evaluate(net, test_data, np.asarray(test_idx)))
    return out


__all__ = ["DTYPES", "LOSS_NAMES", "MS_SCHEMES", "DinoTrainSpec", "evaluate", "train_dino"]
