"""Memory-mapped Jacobian data sets: exact reconstruction, resumable generation, projections."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from derivlearn.jacobian_data import JacobianData, Layout

D_M, D_Q = 12, 5
A = torch.randn(D_Q, D_M, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def tanh_map(m):
    """q = tanh(A m) and its Jacobian diag(1 - q^2) A."""
    q = torch.tanh(m @ A.T)
    return q, (1 - q ** 2)[:, :, None] * A[None]


def inputs(start, stop):
    g = torch.Generator().manual_seed(1000 + start)  # deterministic per chunk
    return torch.randn(stop - start, D_M, generator=g, dtype=torch.float64)


def test_fill_stores_values_and_an_exact_svd_of_the_jacobian(tmp_path):
    data = JacobianData.open(tmp_path / "d", Layout(10, D_M, D_Q))
    out = data.fill(tanh_map, inputs, chunk=4)
    assert out["generated"] == 10 and data.done.all()
    m = data.batch(slice(None), ("m",), torch.float64)["m"]
    q, jac = tanh_map(m)
    assert torch.allclose(data.batch(slice(None), ("q",))["q"].double(), q, atol=1e-6)
    assert torch.allclose(data.jacobian(slice(None), torch.float64), jac, atol=1e-5)
    assert data.nbytes() >= 10 * Layout(10, D_M, D_Q).bytes_per_sample()
    phi = torch.linalg.qr(torch.randn(D_M, 3, dtype=torch.float64))[0]
    proj = data.project(phi)
    assert proj.shape == (10, D_Q, 3)
    assert np.allclose(proj, (jac @ phi).numpy(), atol=1e-5)
    assert data.project(phi) is not None and len(list((tmp_path / "d").glob("proj_*.npy"))) == 1


def test_interrupted_generation_resumes_with_only_the_missing_chunks(tmp_path):
    calls = []

    def flaky(m):
        calls.append(m.shape[0])
        if len(calls) == 2:
            raise RuntimeError("killed")
        return tanh_map(m)

    data = JacobianData.open(tmp_path / "d", Layout(10, D_M, D_Q))
    with pytest.raises(RuntimeError):
        data.fill(flaky, inputs, chunk=4)
    assert data.done.sum() == 4
    again = JacobianData.open(tmp_path / "d")
    out = again.fill(tanh_map, inputs, chunk=4)
    assert out["generated"] == 6 and again.done.all()
    m = again.batch(slice(None), ("m",), torch.float64)["m"]
    assert torch.allclose(m, torch.cat([inputs(0, 4), inputs(4, 8), inputs(8, 10)]).float().double())


def test_bad_input_names_the_parameter(tmp_path):
    with pytest.raises(ValueError, match="path"):
        JacobianData.open(tmp_path / "none")
    JacobianData.open(tmp_path / "d", Layout(4, D_M, D_Q))
    with pytest.raises(ValueError, match="layout"):
        JacobianData.open(tmp_path / "d", Layout(5, D_M, D_Q))
    with pytest.raises(ValueError, match="layout.n_samples"):
        JacobianData.open(tmp_path / "e", Layout(0, D_M, D_Q))
    data = JacobianData.open(tmp_path / "d")
    with pytest.raises(ValueError, match="name"):
        data.array("J")
    with pytest.raises(ValueError, match="phi"):
        data.project(torch.zeros(3, 2))
