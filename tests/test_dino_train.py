"""DINO training loop and evaluation on a small synthetic Jacobian data set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from derivlearn.dino.jacobians import jacobian
from derivlearn.dino.metrics import h1_accuracy, l2_accuracy, reduced_h1_accuracy
from derivlearn.dino.networks import build_network
from derivlearn.dino.train import LOSS_NAMES, DinoTrainSpec, evaluate, train_dino
from derivlearn.jacobian_data import JacobianData, Layout

D_M, D_Q, S = 120, 10, 60
A = torch.randn(D_Q, D_M, generator=torch.Generator().manual_seed(3), dtype=torch.float64) / D_M ** 0.5


def smooth_map(m):
    q = torch.tanh(m @ A.T) + 1.5
    return q, (1 - (q - 1.5) ** 2)[:, :, None] * A[None]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = JacobianData.open(tmp_path_factory.mktemp("dino") / "d", Layout(S, D_M, D_Q))
    d.fill(smooth_map, lambda a, b: torch.randn(b - a, D_M, generator=torch.Generator().manual_seed(a),
                                                dtype=torch.float64), chunk=20)
    return d


def basis(r):
    return torch.linalg.qr(torch.randn(D_M, r, generator=torch.Generator().manual_seed(r),
                                       dtype=torch.float64))[0]


def net(kind, dtype=torch.float64, seed=0):
    phi = None if kind == "generic" else basis(50 if kind == "dipnet_50_50" else 100)
    return build_network(kind, D_M, phi, D_Q, dtype=dtype, seed=seed)


@pytest.mark.parametrize("loss", LOSS_NAMES)
@pytest.mark.parametrize("kind", ["generic", "dipnet_50_50"])
def test_every_loss_trains_both_network_kinds(data, loss, kind):
    spec = DinoTrainSpec(loss=loss, epochs=3, batch_size=16, dtype="float64", ms_k=5, sketch_rank=5)
    out = train_dino(spec, net(kind), data, np.arange(40), np.arange(40, 60))
    assert out["failed"] is None and len(out["loss"]) == 3 and all(np.isfinite(out["loss"]))
    for k in ("l2_accuracy", "h1_accuracy", "reduced_h1_accuracy"):
        assert out[k] <= 1 and out[f"{k}_code"] <= out[k] + 1e-12  # RMS >= mean of errors


@pytest.mark.parametrize("loss", ["h1", "reduced_h1", "reduced_h1_ms", "nullspace_sketched_h1"])
def test_generic_held_and_streamed_data_train_alike(data, loss, monkeypatch):
    """Holding a Generic network's V / J in RAM changes nothing but the time."""
    import derivlearn.dino.train as T

    spec = DinoTrainSpec(loss=loss, epochs=2, batch_size=16, dtype="float64", ms_k=5, sketch_rank=5)
    held = train_dino(spec, net("generic"), data, np.arange(40), np.arange(40, 60))
    monkeypatch.setattr(T, "HOLD_BYTES", 0)
    streamed = train_dino(spec, net("generic"), data, np.arange(40), np.arange(40, 60))
    assert np.allclose(held["loss"], streamed["loss"], rtol=1e-12, atol=0)
    assert held["h1_accuracy"] == pytest.approx(streamed["h1_accuracy"], rel=1e-12)


def test_training_lowers_the_loss_and_is_seeded(data):
    spec = DinoTrainSpec(loss="reduced_h1", epochs=15, batch_size=8, dtype="float64", lr=3e-3)
    a = train_dino(spec, net("dipnet_50_50"), data, np.arange(40))
    b = train_dino(spec, net("dipnet_50_50"), data, np.arange(40))
    assert a["loss"][-1] < 0.5 * a["loss"][0]
    assert a["loss"] == b["loss"]


@pytest.mark.parametrize("kind", ["generic", "dipnet_100_50"])
def test_evaluate_matches_dense_metrics(data, kind):
    model = net(kind)
    idx = np.arange(40, 60)
    got = evaluate(model, data, idx, chunk=7)  # the data are stored in float32: compare to 1e-6
    m = data.batch(idx, ("m", "q", "U", "s", "V"), torch.float64)
    J = data.jacobian(idx, torch.float64)
    Jf = jacobian(model, m["m"]).detach()                       # dense 10 x 120 network Jacobians
    with torch.no_grad():
        f = model(m["m"])
    assert got["l2_accuracy"] == pytest.approx(l2_accuracy(m["q"], f).paper, rel=1e-6)
    assert got["h1_accuracy"] == pytest.approx(h1_accuracy(J, Jf).paper, rel=1e-6)
    red = m["U"].transpose(1, 2) @ Jf @ m["V"]
    assert got["reduced_h1_accuracy"] == pytest.approx(reduced_h1_accuracy(m["s"], red).paper, rel=1e-6)


def test_bad_input_names_the_parameter(data, tmp_path):
    with pytest.raises(ValueError, match="loss"):
        DinoTrainSpec(loss="h2")
    with pytest.raises(ValueError, match="batch_size"):
        DinoTrainSpec(batch_size=0)
    with pytest.raises(ValueError, match="net"):
        train_dino(DinoTrainSpec(dtype="float32"), net("generic", torch.float64), data, np.arange(4))
    empty = JacobianData.open(tmp_path / "e", Layout(4, D_M, D_Q))
    with pytest.raises(ValueError, match="train_idx"):
        train_dino(DinoTrainSpec(dtype="float64"), net("generic"), empty, np.arange(4))


def test_the_authors_ms_scheme_shares_the_permutation_and_restarts_adam(data, monkeypatch):
    """The authors' code: one block permutation per epoch for every sample, and a fresh Adam
    optimizer every epoch (train_h1_network compiles a new one per outer epoch)."""
    from derivlearn.dino import losses as L

    sample, blocks = L.ms_blocks(4, 10, 5, torch.Generator().manual_seed(0), shared=True)
    per = blocks.reshape(4, 2, 5)
    assert (per == per[:1]).all() and sorted(per[0].flatten().tolist()) == list(range(10))
    _, own = L.ms_blocks(4, 10, 5, torch.Generator().manual_seed(0))
    assert not (own.reshape(4, 2, 5) == own.reshape(4, 2, 5)[:1]).all()
    made = []
    real = torch.optim.Adam

    class Counting(real):
        def __init__(self, *a, **k):
            made.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(torch.optim, "Adam", Counting)
    out = {}
    for scheme in ("ours", "authors"):
        made.clear()
        spec = DinoTrainSpec(loss="reduced_h1_ms", epochs=3, batch_size=16, dtype="float64", ms_k=5,
                             ms_scheme=scheme)
        out[scheme] = train_dino(spec, net("dipnet_50_50"), data, np.arange(40))
        assert len(made) == (3 if scheme == "authors" else 1)
    assert out["ours"]["steps"] == out["authors"]["steps"]
    assert out["ours"]["loss"] != out["authors"]["loss"]
    with pytest.raises(ValueError, match="ms_scheme"):
        DinoTrainSpec(ms_scheme="theirs")
