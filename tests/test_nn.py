"""Training core: Taylor-mode network derivatives, Sobolev loss and weighting, transforms,
ensemble training against the plain reference loop."""

from __future__ import annotations

import math

import pytest
import torch

from derivlearn import functions, metrics
from derivlearn.derivatives import derivative_tensors, full_to_unique, n_unique, unique_to_full
from derivlearn.nn import sobolev
from derivlearn.nn.mlp import MLPSpec, forward, init_params
from derivlearn.nn.reference import train_reference
from derivlearn.nn.taylor import mlp_derivatives
from derivlearn.nn.train import TrainSpec, batch_slices, network_derivatives, train_ensemble
from derivlearn.transforms import Scaling

F64 = torch.float64


def _net(d: int, act: str = "tanh", members: int = 2, width: int = 6, depth: int = 3):
    return init_params(MLPSpec(d, width, depth, act), list(range(members)), dtype=F64)


# ----------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "sin"])
@pytest.mark.parametrize("d,order", [(1, 5), (2, 5), (3, 4), (8, 2)])
def test_taylor_matches_nested_autograd(act, d, order):
    p = _net(d, act)
    x = torch.randn(2, 5, d, dtype=F64, generator=torch.Generator().manual_seed(d))
    got = mlp_derivatives(p, x, order)
    ref = network_derivatives(p, x, order, "autograd")
    for k, (a, b) in enumerate(zip(got, ref, strict=True)):
        assert a.shape == (2, 5) + ((n_unique(d, k),) if k else ())
        assert torch.allclose(a, b, rtol=1e-11, atol=1e-13 * float(b.detach().abs().max())), k


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "sin"])
def test_network_derivatives_match_finite_differences(act):
    """Order k from Taylor mode equals central differences of order k-1 (float64)."""
    d, order, h = 2, 5, 1e-5
    p = _net(d, act, members=1)
    x = torch.randn(1, 4, d, dtype=F64, generator=torch.Generator().manual_seed(1))
    full = [unique_to_full(t[0], d, k) if k else t[0]
            for k, t in enumerate(mlp_derivatives(p, x, order))]
    for k in range(1, order + 1):
        for i in range(d):
            e = torch.zeros(d, dtype=F64)
            e[i] = h
            lo = mlp_derivatives(p, x - e, k - 1)[k - 1][0]
            hi = mlp_derivatives(p, x + e, k - 1)[k - 1][0]
            fd = (hi - lo) / (2 * h)
            fd = fd if k == 1 else unique_to_full(fd, d, k - 1)
            exact = full[k][..., i] if k > 1 else full[1][:, i]
            scale = float(full[k].abs().max())
            assert torch.allclose(exact, fd, atol=1e-6 * scale, rtol=0), (k, i)


def test_ensemble_members_are_independent_networks():
    p = _net(3, members=3)
    x = torch.randn(7, 3, dtype=F64)
    out = forward(p, x)
    for m in range(3):
        assert torch.allclose(out[m], p.to_module(m)(x)[:, 0], rtol=1e-14, atol=1e-14)
    assert MLPSpec(8, 200, 2).n_weights == 9 * 200 + 201 * 200 + 201


# ----------------------------------------------------------------------------- loss
def _targets(d=2, order=3, members=2, n=9):
    p = _net(d, members=members)
    x = torch.randn(members, n, d, dtype=F64, generator=torch.Generator().manual_seed(3))
    return p, x, mlp_derivatives(p, x, order)


@pytest.mark.parametrize("weighting", sobolev.WEIGHTINGS)
@pytest.mark.parametrize("partials", sobolev.PARTIALS)
def test_sobolev_loss_zero_for_own_target_and_positive_otherwise(weighting, partials):
    p, x, own = _targets()
    rho = sobolev.fixed_rho(own, partials)
    errs = sobolev.order_errors(own, own, partials)
    assert torch.equal(sobolev.sobolev_loss(errs, weighting, rho), torch.zeros(2, dtype=F64))
    for k in range(len(own)):
        other = [t.clone() for t in own]
        other[k][0, 0] += 0.1
        if weighting == "adaptive":  # e_0 = 0 would give rho_k = 0 (see test_adaptive_rho_rule)
            other[0][0, 0] += 0.01
        loss = sobolev.sobolev_loss(sobolev.order_errors(own, other, partials), weighting, rho)
        assert loss[0] > 0 and loss[1] == 0, k


def test_all_partials_weighting_is_the_mean_over_full_tensors():
    d, order = 3, 3
    p, x, pred = _targets(d=d, order=order)
    target = [t + 0.01 * torch.randn_like(t) for t in pred]
    errs = sobolev.order_errors(pred, target, "all")
    for k in range(1, order + 1):
        direct = ((unique_to_full(pred[k], d, k) - unique_to_full(target[k], d, k)) ** 2)
        direct = direct.reshape(2, pred[k].shape[1], -1).mean(dim=(1, 2))
        assert torch.allclose(errs[:, k], direct, rtol=1e-12)
    uniq = sobolev.order_errors(pred, target, "unique")
    for k in range(1, order + 1):
        assert torch.allclose(uniq[:, k], ((pred[k] - target[k]) ** 2).mean(dim=(1, 2)), rtol=1e-12)


def test_adaptive_rho_rule():
    """rho_j = e_0 / e_j where e_j > 10 e_0, else 1 (Hartmann et al. Algorithm 1)."""
    errs = torch.tensor([[2.0, 5.0, 20.0, 20.0001, 1000.0],
                         [0.0, 1e-3, 0.0, 7.0, 1.0]], dtype=F64, requires_grad=True)
    rho = sobolev.adaptive_rho(errs)
    expected = torch.tensor([[1.0, 1.0, 1.0, 2.0 / 20.0001, 2.0 / 1000.0],
                             [1.0, 0.0, 1.0, 0.0, 0.0]], dtype=F64)
    assert torch.allclose(rho, expected, rtol=1e-15, atol=0)
    assert not rho.requires_grad
    # in the loss a rescaled order contributes e_0 in value, but its gradient is scaled
    loss = sobolev.sobolev_loss(errs, "adaptive")
    loss.sum().backward()
    assert torch.allclose(errs.grad, expected)
    assert float(loss[0].detach()) == pytest.approx(2 + 5 + 20 + 2 + 2)


def test_fixed_rho_is_inverse_variance():
    t = [torch.zeros(1, 4, dtype=F64), torch.tensor([[[1.0, 3.0], [3.0, 1.0], [1.0, 1.0], [3.0, 3.0]]],
                                                    dtype=F64)]
    rho = sobolev.fixed_rho(t, "unique")
    assert rho[0, 0] == 1 and rho[0, 1] == pytest.approx(1.0)
    t[1] = 3 * t[1]
    assert sobolev.fixed_rho(t, "unique")[0, 1] == pytest.approx(1 / 9)
    t[1] = torch.ones_like(t[1])
    assert sobolev.fixed_rho(t, "unique")[0, 1] == 1  # zero variance: no rescaling


def test_loss_bad_input():
    with pytest.raises(ValueError, match="weighting"):
        sobolev.sobolev_loss(torch.ones(1, 2), "bogus")
    with pytest.raises(ValueError, match="rho_fixed"):
        sobolev.sobolev_loss(torch.ones(1, 2), "fixed")
    with pytest.raises(ValueError, match="partials"):
        sobolev.entry_weights(2, 1, "some")


# ----------------------------------------------------------------------------- transforms
@pytest.mark.parametrize("kind", ["zscore", "minmax", "identity"])
def test_transforms_rescale_derivatives_exactly_and_invert(kind):
    f = functions.get("branin")
    x = f.sample(30, torch.Generator().manual_seed(0))
    order = 4
    full = derivative_tensors(f, x, order)
    s = Scaling.fit(kind, x, full[0], bounds=f.domain if kind == "minmax" else None)

    def scaled(xs):  # the scaled function y~(x~)
        return s.y(f(s.x_inverse(xs)))

    direct = derivative_tensors(scaled, s.x(x), order)
    got = s.derivatives(full)
    uniq = s.derivatives([full[0]] + [full_to_unique(t, k) for k, t in enumerate(full) if k], "unique")
    for k in range(order + 1):
        assert torch.allclose(got[k], direct[k], rtol=1e-10, atol=1e-10 * float(direct[k].abs().max()))
        u = full_to_unique(got[k], k) if k else got[0]
        assert torch.allclose(uniq[k], u, rtol=1e-12, atol=1e-14)
    back = s.derivatives_inverse(got)
    for a, b in zip(back, full, strict=True):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-10)
    assert torch.allclose(s.x_inverse(s.x(x)), x, rtol=1e-13)
    if kind == "zscore":
        assert torch.allclose(s.x(x).mean(0), torch.zeros(2, dtype=F64), atol=1e-12)
        assert torch.allclose(s.y(full[0]).std(unbiased=False), torch.tensor(1.0, dtype=F64))
    if kind == "minmax":
        ys = s.y(full[0])
        assert float(ys.min()) == pytest.approx(0) and float(ys.max()) == pytest.approx(1)


def test_transform_degenerate_single_sample_and_bad_kind():
    x = torch.tensor([[0.5, 0.5]], dtype=F64)
    y = torch.tensor([2.0], dtype=F64)
    for kind in ("zscore", "minmax"):
        s = Scaling.fit(kind, x, y)
        assert torch.isfinite(s.a).all() and torch.isfinite(s.c)
        assert float(s.y(y)) == 0.0
    with pytest.raises(ValueError, match="kind"):
        Scaling.fit("robust", x, y)


# ----------------------------------------------------------------------------- training
def _problem(order: int, members: int = 3, n: int = 40):
    f = functions.get("six_hump_camel")
    g = torch.Generator().manual_seed(0)
    x = f.sample(150, g)
    xv = f.sample(80, g)
    tg = derivative_tensors(f, x, order, form="unique")
    sub = torch.stack([torch.randperm(150, generator=g)[:n] for _ in range(members)])
    return x[sub], [t[sub] for t in tg], xv, f(xv)


@pytest.mark.parametrize("order,weighting,partials,engine,batching", [
    (0, "equal", "unique", "auto", {"n_batches": 3}),
    (1, "adaptive", "all", "autograd", {"batch_size": 16}),
    (2, "fixed", "unique", "taylor", {}),
    (3, "adaptive", "all", "taylor", {"n_batches": 4}),
])
def test_ensemble_equals_sequential_reference(order, weighting, partials, engine, batching):
    """Each member of a batched ensemble (own seed, own subset, own early stopping) ends with
    the weights of the plain one-network loop (nn.Sequential + torch.optim.Adam + autograd)."""
    x, tg, xv, yv = _problem(order)
    spec = TrainSpec(width=12, depth=2, order=order, weighting=weighting, partials=partials,
                     engine=engine, lr=1e-2, weight_decay=1e-3, max_epochs=40, patience=4,
                     dtype="float64", **batching)
    res = train_ensemble(spec, x, tg, xv, yv, seeds=[5, 6, 7])
    for m, seed in enumerate([5, 6, 7]):
        ref = train_reference(spec, x[m], [t[m] for t in tg], xv, yv, seed=seed)
        assert (res.best_epoch[m], res.epochs[m], res.stop_reason[m]) == \
            (ref.best_epoch, ref.epochs, ref.stop_reason)
        for a, b in zip(ref.model.parameters(), res.params.tensors(), strict=True):
            assert torch.allclose(a, b[m], rtol=1e-9, atol=1e-11)
        assert res.history["val_mse"][m] == pytest.approx(ref.val_mse, rel=1e-9)


def test_members_stop_independently_and_best_epoch_is_restored():
    x, tg, xv, yv = _problem(1, members=4)
    spec = TrainSpec(width=16, order=1, lr=5e-3, max_epochs=300, patience=5, dtype="float64")
    res = train_ensemble(spec, x, tg, xv, yv, seeds=[0, 1, 2, 3])
    assert len(set(res.epochs)) > 1  # members stopped at different epochs
    pred = res.predict(xv)[0]
    for m in range(4):
        assert res.stop_reason[m] == "patience" and res.failed[m] is None
        assert res.epochs[m] - res.best_epoch[m] == 5
        assert metrics.mse(pred[m], yv) == pytest.approx(res.best_val_mse[m], rel=1e-10)
        assert res.best_val_mse[m] == pytest.approx(min(res.history["val_mse"][m]), rel=1e-15)


def test_target_score_stops_training():
    x, tg, xv, yv = _problem(0, members=2, n=100)
    s = Scaling.fit("zscore", x[0], tg[0][0])
    x, tg, xv, yv = s.x(x), [s.y(tg[0])], s.x(xv), s.y(yv)
    spec = TrainSpec(width=32, order=0, lr=1e-2, max_epochs=2000, patience=None, target_r2=0.9,
                     dtype="float64")
    res = train_ensemble(spec, x, tg, xv, yv, seeds=[0, 1])
    for m in range(2):
        assert res.stop_reason[m] == "target"
        assert metrics.r2_score(res.predict(xv)[0][m], yv) >= 0.9
        assert res.epochs[m] < 2000


def test_nonfinite_member_is_recorded_and_others_continue():
    x, tg, xv, yv = _problem(1, members=3)
    tg = [t.clone() for t in tg]
    tg[1][1, 0, 0] = float("nan")  # member 1 sees a NaN gradient target
    spec = TrainSpec(width=8, order=1, max_epochs=5, patience=None, dtype="float64")
    res = train_ensemble(spec, x, tg, xv, yv, seeds=[0, 1, 2])
    assert res.failed[0] is None and res.failed[2] is None
    assert res.stop_reason[1] == "nonfinite" and "non-finite" in res.failed[1]
    assert res.epochs[0] == res.epochs[2] == 5 and res.epochs[1] == 1


def test_float32_training_and_shared_data():
    x, tg, xv, yv = _problem(2, members=1)
    spec = TrainSpec(width=16, order=2, max_epochs=3, patience=None)
    res = train_ensemble(spec, x[0], [t[0] for t in tg], xv, yv, seeds=[0, 1])
    assert res.params.weights[0].dtype == torch.float32
    out = res.predict(xv, order=2)
    assert [t.shape for t in out] == [(2, 80), (2, 80, 2), (2, 80, 3)]
    assert not torch.equal(out[0][0], out[0][1])  # seeds differ


def test_batch_slices_follow_tensor_split():
    for n, nb in [(100, 10), (7, 3), (3, 10), (1, 1)]:
        spec = TrainSpec(n_batches=nb)
        sizes = [s.stop - s.start for s in batch_slices(n, spec)]
        assert sizes == [len(t) for t in torch.tensor_split(torch.arange(n), min(nb, n))]
    assert [s.stop - s.start for s in batch_slices(10, TrainSpec(batch_size=4))] == [4, 4, 2]
    assert batch_slices(10, TrainSpec()) == [slice(0, 10)]


@pytest.mark.parametrize("field,value", [
    ("order", -1), ("partials", "some"), ("weighting", "dynamic"), ("engine", "jax"),
    ("lr", 0.0), ("weight_decay", -1.0), ("batch_size", 0), ("n_batches", 0), ("max_epochs", 0),
    ("patience", 0), ("target_r2", 1.5), ("dtype", "float16"), ("activation", "swish"),
    ("width", 0), ("depth", 0), ("device", "tpu"), ("reduction", "max"), ("init", "he"),
    ("rho", "std"), ("rho_eps", 0.0), ("diagnostics", 1),
])
def test_train_spec_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        TrainSpec(**{field: value})


def test_train_spec_combinations_and_data_shapes():
    with pytest.raises(ValueError, match="batch_size"):
        TrainSpec(batch_size=4, n_batches=2)
    with pytest.raises(ValueError, match="engine"):
        TrainSpec(order=2, engine="taylor", activation="relu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device"):
            TrainSpec(device="cuda")
    assert TrainSpec(order=3).resolved_engine() == "taylor"
    assert TrainSpec(order=2).resolved_engine() == "jet2"  # the fastest measured (nn.train)
    assert TrainSpec(order=3, activation="relu").resolved_engine() == "autograd"
    x, tg, xv, yv = _problem(1, members=1)
    with pytest.raises(ValueError, match="targets"):
        train_ensemble(TrainSpec(order=2), x, tg, xv, yv, seeds=[0])
    with pytest.raises(ValueError, match="seeds"):
        train_ensemble(TrainSpec(order=1), x, tg, xv, yv, seeds=[])


# ----------------------------------------------------------------------------- metrics
def test_metrics():
    t = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64)
    assert metrics.r2_score(t, t) == 1.0
    assert metrics.r2_score(torch.full_like(t, 2.5), t) == 0.0
    assert metrics.rmse(t + 1, t) == 1.0
    assert metrics.relative_l2(2 * t, t) == pytest.approx(1.0)
    errs = metrics.derivative_errors([t, t[:, None]], [t, t[:, None] + 2])
    assert errs["rmse_0"] == 0 and errs["rmse_1"] == 2 and errs["r2_0"] == 1
    assert math.isnan(metrics.r2_score(t, torch.ones_like(t)))
    with pytest.raises(ValueError, match="pred"):
        metrics.rmse(t, t[:2])


def test_members_with_different_training_sizes_equal_reference():
    """Full-batch members of unequal size (padded, masked) train like separate plain loops."""
    x, tg, xv, yv = _problem(2, members=3, n=30)
    sizes = [1, 12, 30]
    spec = TrainSpec(width=8, order=2, weighting="fixed", lr=1e-2, max_epochs=25, patience=5,
                     dtype="float64")
    pad = [t.clone() for t in tg]
    pad[0][0, 1:] = float("nan")  # padding may hold anything, even NaN
    res = train_ensemble(spec, x, pad, xv, yv, seeds=[0, 1, 2], n_train=sizes)
    for m, k in enumerate(sizes):
        ref = train_reference(spec, x[m, :k], [t[m, :k] for t in tg], xv, yv, seed=m)
        assert (res.best_epoch[m], res.epochs[m]) == (ref.best_epoch, ref.epochs)
        for a, b in zip(ref.model.parameters(), res.params.tensors(), strict=True):
            assert torch.allclose(a, b[m], rtol=1e-9, atol=1e-11)
    with pytest.raises(ValueError, match="n_train"):
        train_ensemble(TrainSpec(n_batches=2), x, tg, xv, yv, seeds=[0, 1, 2], n_train=sizes)
    with pytest.raises(ValueError, match="n_train"):
        train_ensemble(spec, x, tg, xv, yv, seeds=[0, 1, 2], n_train=[0, 1, 2])


def test_study_runs_keep_the_engine_of_their_records():
    from derivlearn.nn.train import engine_of

    assert engine_of({}, 2) == "autograd" and engine_of({}, 1) == "autograd"  # before engines
    assert engine_of({}, 4) == "auto" and engine_of({"engine": "jet2"}, 2) == "jet2"
