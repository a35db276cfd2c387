"""Memory-mapped Jacobian data sets: exact reconstruction, resumable generation, projections."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from derivlearn.cachefiles import CacheDamaged
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


# ----------------------------------------------------------------------------- growth in place
def _counting(calls):
    def fn(m):
        calls.append(m.shape[0])
        return tanh_map(m)
    return fn


def _rows(data):
    return {n: np.array(data.array(n)) for n in ("m", "q", "U", "s", "V")}


def test_growth_keeps_every_sample_and_generates_only_the_new_ones(tmp_path):
    path = tmp_path / "d"
    small = JacobianData.open(path, Layout(10, D_M, D_Q))
    small.fill(tanh_map, inputs, chunk=4)           # chunks 0..3, 4..7 and the partial 8..9
    before, sums = _rows(small), dict(small._sums)
    inode = (path / "V.npy").stat().st_ino
    proj_small = np.array(small.project(torch.eye(D_M, 3, dtype=torch.float64)))
    with pytest.raises(ValueError, match="layout"):
        JacobianData.open(path, Layout(16, D_M, D_Q))  # growing is asked for explicitly
    big = JacobianData.open(path, Layout(16, D_M, D_Q), grow=True)
    assert big.layout.n_samples == 16 and (path / "V.npy").stat().st_ino == inode   # in place
    assert big.done.tolist() == [True] * 10 + [False] * 6
    calls = []
    out = big.fill(_counting(calls), inputs, chunk=4)
    assert out["generated"] == 6 and sum(calls) == 6 and calls == [2, 4]    # 10..11, 12..15
    after = _rows(big)
    for name, rows in before.items():
        assert after[name][:10].tobytes() == rows.tobytes()                  # bit-identical
    assert all(big._sums[r] == d for r, d in sums.items())                   # same checksums
    m = big.batch(slice(None), ("m",), torch.float64)["m"]
    assert torch.allclose(data_jac := big.jacobian(slice(None), torch.float64), tanh_map(m)[1], atol=1e-5)
    proj = big.project(torch.eye(D_M, 3, dtype=torch.float64))              # extended, not redone
    assert proj.shape == (16, D_Q, 3) and np.array(proj[:10]).tobytes() == proj_small.tobytes()
    assert np.allclose(proj[10:], data_jac[10:, :, :3].numpy(), atol=1e-5)
    again = JacobianData.open(path, Layout(12, D_M, D_Q), grow=True)         # a bigger one is used
    assert again.layout.n_samples == 16 and again.fill(_counting(calls), inputs)["generated"] == 0


@pytest.mark.parametrize("stop_after", [0, 2, 5])   # arrays grown before the kill (5: all)
def test_interrupted_growth_is_completed_on_open(tmp_path, monkeypatch, stop_after):
    """A kill after layout.json, after some arrays, or before the done mask loses nothing."""
    import derivlearn.jacobian_data as jd

    path = tmp_path / "d"
    small = JacobianData.open(path, Layout(8, D_M, D_Q))
    small.fill(tanh_map, inputs, chunk=4)
    before = _rows(small)
    real, real_save, grown = jd._extend_npy, jd.atomic_save_npy, []

    def killed(f, shape):
        if len(grown) == stop_after:
            raise KeyboardInterrupt("killed")
        grown.append(f)
        real(f, shape)

    def killed_save(f, arr):
        if f.name == "done.npy":
            raise KeyboardInterrupt("killed")
        real_save(f, arr)

    monkeypatch.setattr(jd, "_extend_npy", killed)
    monkeypatch.setattr(jd, "atomic_save_npy", killed_save)
    with pytest.raises(KeyboardInterrupt):
        JacobianData.open(path, Layout(12, D_M, D_Q), grow=True)
    monkeypatch.setattr(jd, "_extend_npy", real)
    monkeypatch.setattr(jd, "atomic_save_npy", real_save)
    data = JacobianData.open(path, Layout(12, D_M, D_Q), grow=True)
    assert data.done.tolist() == [True] * 8 + [False] * 4
    calls = []
    assert data.fill(_counting(calls), inputs, chunk=4)["generated"] == 4 and sum(calls) == 4
    after = _rows(data)
    assert all(after[n][:8].tobytes() == rows.tobytes() for n, rows in before.items())
    assert data.batch(slice(None), ("m",))["m"].shape == (12, D_M)   # every chunk verifies


def test_extend_npy_copies_when_the_header_has_no_room(tmp_path):
    """A header without numpy's growth padding (older writers) is replaced by a copy."""
    import struct

    from derivlearn.jacobian_data import _extend_npy

    rows = np.arange(12, dtype=np.float32).reshape(4, 3)
    body = "{'descr':'<f4','fortran_order':False,'shape':(4,3)}"
    pad = 64 - (10 + len(body) + 1) % 64                      # tight: one 64-byte block
    assert 10 + len(body) + pad + 1 == 64
    f = tmp_path / "a.npy"
    f.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body) + pad + 1)
                  + (body + " " * pad + "\n").encode() + rows.tobytes())
    inode = f.stat().st_ino
    _extend_npy(f, (1000, 3))
    out = np.load(f)
    assert f.stat().st_ino != inode                           # a new file replaced it
    assert out.shape == (1000, 3) and np.array_equal(out[:4], rows) and not out[4:].any()
    inode = f.stat().st_ino
    _extend_npy(f, (2000, 3))                                 # numpy's header has room: in place
    assert f.stat().st_ino == inode and np.array_equal(np.load(f)[:4], rows)


def test_a_data_set_opened_before_another_process_grew_it_still_works(tmp_path):
    path = tmp_path / "d"
    old = JacobianData.open(path, Layout(8, D_M, D_Q))
    old.fill(tanh_map, inputs, chunk=4)
    before = old.batch(slice(None), ("m", "V"))
    new = JacobianData.open(path, Layout(16, D_M, D_Q), grow=True)     # "another process"
    new.fill(tanh_map, inputs, chunk=4)
    old._maps.clear()
    after = old.batch(slice(None), ("m", "V"))                        # re-verified, same rows
    assert all(torch.equal(before[k], after[k]) for k in before) and old.done.shape == (8,)
    with open(path / "V.npy", "r+b") as f:                             # damage a chunk of the old part
        f.seek(npy_header_offset(path / "V.npy") + 4)
        f.write(b"\xff\xff\xff\x7f")
    old._maps.clear()
    with pytest.raises(CacheDamaged):
        old.batch([0])
    done = JacobianData.open(path).done                                 # the new samples stay done
    assert done.tolist() == [False] * 4 + [True] * 12


def npy_header_offset(f):
    from derivlearn.cachefiles import npy_header

    return npy_header(f).offset
