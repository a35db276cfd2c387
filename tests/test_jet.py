"""Closed-form order-2 jets (derivlearn.nn.jet): exact against nested autograd and finite
differences, and the same training as the autograd engine."""

from __future__ import annotations

import pytest
import torch

from derivlearn import functions
from derivlearn.derivatives import derivative_tensors, full_to_unique, unique_indices
from derivlearn.nn import jet, sobolev
from derivlearn.nn.jet import mlp_jet, weighted_gram, weighted_gram_rows
from derivlearn.nn.mlp import MLPParams, MLPSpec, forward, init_params
from derivlearn.nn.train import TrainSpec, network_derivatives, train_ensemble

# the closed-form engines; jet2 in both of its layouts (sample-last for narrow networks,
# sample-major from jet.ROWS_MIN_WIDTH on)
ENGINES = ("jet2", "jet2-rows", "forward2")
# (d, width, depth, members, activation)
CASES = [(1, 5, 1, 1, "tanh"), (1, 7, 2, 3, "sin"), (2, 6, 2, 2, "tanh"), (2, 4, 3, 1, "sigmoid"),
         (5, 9, 2, 4, "tanh"), (5, 3, 4, 2, "sin"), (8, 16, 2, 2, "tanh"), (8, 11, 3, 3, "sigmoid")]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Norm-wise relative difference max|a - b| / max|b|."""
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def _case(d: int, width: int, depth: int, members: int, activation: str, n: int = 13):
    params = init_params(MLPSpec(d, width, depth, activation), list(range(10, 10 + members)))
    g = torch.Generator().manual_seed(d * 100 + width)
    x = torch.rand(members, n, d, generator=g, dtype=torch.float64) * 4 - 2
    targets = [torch.randn(members, n, generator=g, dtype=torch.float64),
               torch.randn(members, n, d, generator=g, dtype=torch.float64),
               torch.randn(members, n, d * (d + 1) // 2, generator=g, dtype=torch.float64)]
    return params, x, targets


def _loss_grads(params: MLPParams, x, targets, engine: str, order: int) -> list[torch.Tensor]:
    """Parameter gradients of the summed Sobolev loss (fixed weights: every order counts)."""
    work = [t.clone().requires_grad_(True) for t in params.tensors()]
    p = MLPParams.from_tensors(params.spec, work)
    pred = network_derivatives(p, x, order, engine)
    rho = torch.tensor([1.0, 0.7, 0.3][:order + 1], dtype=torch.float64).expand(x.shape[0], -1)
    loss = sobolev.sobolev_loss(sobolev.order_errors(pred, targets[:order + 1], "all"), "fixed", rho)
    return list(torch.autograd.grad(loss.sum(), work))


@pytest.mark.parametrize("case", CASES, ids=[f"d{c[0]}-{c[2]}x{c[1]}-E{c[3]}-{c[4]}" for c in CASES])
@pytest.mark.parametrize("engine", ENGINES)
def test_jet_equals_nested_autograd(case, engine, monkeypatch):
    """Values, gradients, unique second partials and the parameter gradients of a Sobolev loss
    agree with nested reverse mode to 1e-12 (float64), orders 1 and 2."""
    monkeypatch.setattr(jet, "ROWS_MIN_WIDTH", 1 if engine == "jet2-rows" else 10 ** 9)
    engine = engine.removesuffix("-rows")
    params, x, targets = _case(*case)
    for order in (1, 2):
        ref = network_derivatives(params, x, order, "autograd")
        out = network_derivatives(params, x, order, engine)
        assert [t.shape for t in out] == [t.shape for t in ref]
        for k, (a, b) in enumerate(zip(out, ref, strict=True)):
            assert rel(a, b) < 1e-12, (order, k, rel(a, b))
        for a, b in zip(_loss_grads(params, x, targets, engine, order),
                        _loss_grads(params, x, targets, "autograd", order), strict=True):
            assert rel(a, b) < 1e-12, (order, rel(a, b))


def test_unique_order_and_central_differences():
    """The second partials come in the order of derivatives.unique_indices / full_to_unique,
    and match central differences of the network's values (independent of any autograd)."""
    d = 5
    params, x, _ = _case(d, 10, 3, 2, "tanh", n=6)
    v, g, h = mlp_jet(params, x, 2)
    idx = unique_indices(d, 2)
    assert torch.equal(idx, torch.triu_indices(d, d).T)
    step = 1e-3
    eye = torch.eye(d, dtype=torch.float64) * step
    fd = torch.empty(*x.shape[:2], d, d, dtype=torch.float64)
    for i in range(d):
        for j in range(d):
            fd[..., i, j] = (forward(params, x + eye[i] + eye[j]) - forward(params, x + eye[i] - eye[j])
                             - forward(params, x - eye[i] + eye[j])
                             + forward(params, x - eye[i] - eye[j])) / (4 * step ** 2)
    assert rel(h, full_to_unique(fd, 2)) < 1e-5
    for p, (i, j) in enumerate(idx.tolist()):
        assert rel(h[..., p], fd[..., i, j]) < 1e-5
    fd1 = torch.stack([(forward(params, x + eye[i]) - forward(params, x - eye[i])) / (2 * step)
                       for i in range(d)], dim=-1)
    assert rel(g, fd1) < 1e-6
    assert rel(v, forward(params, x)) < 1e-14


def test_shared_inputs_order_zero_and_bad_arguments():
    params, x, _ = _case(3, 6, 2, 2, "tanh")
    shared = mlp_jet(params, x[0], 2)
    for a, b in zip(shared, mlp_jet(params, x[0].expand(2, -1, -1), 2), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(mlp_jet(params, x, 0)[0], forward(params, x))
    with pytest.raises(ValueError, match="order"):
        mlp_jet(params, x, 3)
    with pytest.raises(ValueError, match="hessian"):
        mlp_jet(params, x, 2, hessian="reverse")
    relu = init_params(MLPSpec(3, 6, 2, "relu"), [0])
    with pytest.raises(ValueError, match="activation"):
        mlp_jet(relu, x, 1)
    with pytest.raises(ValueError, match="engine"):
        TrainSpec(order=3, engine="jet2")
    with pytest.raises(ValueError, match="engine"):
        TrainSpec(order=2, engine="forward2", activation="relu")
    assert TrainSpec(order=0, engine="jet2", activation="relu").order == 0


def test_weighted_gram_gradients():
    g = torch.Generator().manual_seed(3)
    j = torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    mu = torch.randn(2, 4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(weighted_gram, (j, mu))
    assert torch.autograd.gradgradcheck(weighted_gram, (j, mu))
    jr = j.detach()[0].permute(2, 1, 0).contiguous().requires_grad_(True)    # (N, d, H)
    mur = mu.detach()[0].T.contiguous().requires_grad_(True)                  # (N, H)
    assert torch.allclose(weighted_gram_rows(jr, mur), weighted_gram(j, mu)[0].T, rtol=1e-14)
    assert torch.autograd.gradcheck(weighted_gram_rows, (jr, mur))
    assert torch.autograd.gradgradcheck(weighted_gram_rows, (jr, mur))


def test_auto_engine_rule():
    assert TrainSpec(order=2).resolved_engine() == "jet2"
    assert TrainSpec(order=2, activation="sin").resolved_engine() == "jet2"
    assert TrainSpec(order=2, activation="relu").resolved_engine() == "autograd"
    assert TrainSpec(order=1).resolved_engine() == "autograd"
    assert TrainSpec(order=3).resolved_engine() == "taylor"
    assert TrainSpec(order=2, engine="autograd").resolved_engine() == "autograd"


@pytest.mark.parametrize("setup", [{"n_batches": 3}, {"n_train": [40, 25, 12]}],
                         ids=["minibatches", "unequal-sizes"])
def test_training_with_jet_equals_autograd(setup):
    """A short float64 ensemble training (own seeds, own subsets, early stopping, weight decay)
    ends with the same weights, epochs and validation history with engine 'jet2' as with
    'autograd' (measured: 2e-12 relative after 150 epochs)."""
    f = functions.get("rosenbrock_nd", dim=3)
    g = torch.Generator().manual_seed(0)
    x, xv = f.sample(120, g), f.sample(40, g)
    tg = derivative_tensors(f, x, 2, form="unique")
    scale = [1.0, 0.1, 0.01]
    sub = torch.stack([torch.randperm(120, generator=g)[:40] for _ in range(3)])
    xs, ts = x[sub], [t[sub] * s for t, s in zip(tg, scale, strict=True)]
    setup = dict(setup)
    n_train = setup.pop("n_train", None)
    results = {}
    for engine in ("autograd", "jet2"):
        spec = TrainSpec(width=12, depth=2, order=2, engine=engine, lr=3e-2, weight_decay=1e-4,
                         max_epochs=150, patience=5, dtype="float64", **setup)
        results[engine] = train_ensemble(spec, xs, ts, xv, f(xv), seeds=[1, 2, 3], n_train=n_train)
    a, b = results["autograd"], results["jet2"]
    assert (a.epochs, a.best_epoch, a.stop_reason) == (b.epochs, b.best_epoch, b.stop_reason)
    for ta, tb in zip(a.params.tensors(), b.params.tensors(), strict=True):
        assert rel(tb, ta) < 1e-10
    for ha, hb in zip(a.history["val_mse"], b.history["val_mse"], strict=True):
        assert hb == pytest.approx(ha, rel=1e-10)
