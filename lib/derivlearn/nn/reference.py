"""The plain training loop: one ``torch.nn.Sequential``, ``torch.optim.Adam``, nested autograd.

This is the readable specification of a Sobolev training run, line by line what a textbook
would write. :func:`derivlearn.nn.train.train_ensemble` computes the same thing for many runs
at once, and the tests check that both give the same weights. Use this loop to read or adapt
the method; use the ensemble trainer to run studies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from derivlearn.derivatives import derivative_tensors
from derivlearn.nn import sobolev
from derivlearn.nn.mlp import init_params
from derivlearn.nn.train import TrainSpec, batch_slices, shuffle_generator


@dataclass
class ReferenceResult:
    model: nn.Sequential
    best_epoch: int
    epochs: int
    best_val_mse: float
    stop_reason: str
    train_loss: list[float]
    val_mse: list[float]


def train_reference(spec: TrainSpec, x: Tensor, targets: Sequence[Tensor], x_val: Tensor,
                    y_val: Tensor, seed: int) -> ReferenceResult:
    """Train one network. *Shapes:* x (N, d), targets ``[(N,), (N, n_1), ...]`` (unique form),
    x_val (M, d), y_val (M,)."""
    dt = spec.torch_dtype
    x, x_val, y_val = x.to(dt), x_val.to(dt), y_val.to(dt)
    targets = [t.to(dt) for t in targets[:spec.order + 1]]
    n, d = x.shape
    model = init_params(spec.mlp_spec(d), [seed], dtype=dt).to_module(0)
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr, betas=spec.betas, eps=spec.eps,
                           weight_decay=spec.weight_decay)
    gen = shuffle_generator(seed)
    rho_fixed = (sobolev.fixed_rho([t[None] for t in targets], spec.partials)
                 if spec.weighting == "fixed" else None)
    var_val = float(((y_val - y_val.mean()) ** 2).mean())

    def f(z: Tensor) -> Tensor:
        return model(z)[:, 0]

    best_val, best_epoch, best_state = math.inf, 0, None
    reason, losses, vals = "max_epochs", [], []
    epoch = 0
    for epoch in range(1, spec.max_epochs + 1):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for sl in batch_slices(n, spec):
            idx = perm[sl]
            opt.zero_grad()
            pred = derivative_tensors(f, x[idx], spec.order, form="unique", create_graph=True)
            errs = sobolev.order_errors([p[None] for p in pred], [t[idx][None] for t in targets],
                                        spec.partials)
            loss = sobolev.sobolev_loss(errs, spec.weighting, rho_fixed)[0]
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        with torch.no_grad():
            val = float(((f(x_val) - y_val) ** 2).mean())
        losses.append(total / n)
        vals.append(val)
        if not (math.isfinite(val) and math.isfinite(total)):
            reason = "nonfinite"
            break
        if val < best_val:
            best_val, best_epoch = val, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        if spec.target_r2 is not None and var_val > 0 and 1 - val / var_val >= spec.target_r2:
            reason = "target"
            break
        if spec.patience is not None and epoch - best_epoch >= spec.patience:
            reason = "patience"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return ReferenceResult(model, best_epoch, epoch, best_val, reason, losses, vals)
