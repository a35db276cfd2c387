"""Caches that detect damage and heal (issue 16, part 3): atomic writes of every cache file,
per-chunk checksums of the Jacobian data, size checks on open, and damage that is rebuilt or
raised as ``CacheDamaged`` (an infrastructure error: never a recorded ``failed`` run)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from derivlearn import cachefiles
from derivlearn import jacobian_data as jd
from derivlearn.cachefiles import CacheDamaged
from derivlearn.jacobian_data import ARRAYS, JacobianData, Layout
from derivlearn.sweep import InfrastructureError

D_M, D_Q, S, CHUNK = 12, 5, 10, 4
A = torch.randn(D_Q, D_M, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def tanh_map(m):
    """q = tanh(A m) and its Jacobian diag(1 - q^2) A."""
    q = torch.tanh(m @ A.T)
    return q, (1 - q ** 2)[:, :, None] * A[None]


def inputs(start, stop):
    g = torch.Generator().manual_seed(1000 + start)
    return torch.randn(stop - start, D_M, generator=g, dtype=torch.float64)


def filled(path: Path) -> JacobianData:
    data = JacobianData.open(path, Layout(S, D_M, D_Q), meta={"chunk": CHUNK})
    data.fill(tanh_map, inputs, chunk=CHUNK)
    return data


def arrays(path: Path) -> dict[str, np.ndarray]:
    return {n: np.load(path / f"{n}.npy").copy() for n in ARRAYS}


def zero_second_half(f: Path) -> None:
    """Overwrite the second half of a file with zeros, size unchanged (a "corrupted chunk")."""
    size = f.stat().st_size
    with open(f, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(bytes(size - size // 2))


def cut(f: Path, size: int) -> None:
    with open(f, "r+b") as fh:
        fh.truncate(size)


# ----------------------------------------------------------------------------- Jacobian data
def test_truncated_array_is_resized_and_its_lost_chunks_regenerated(tmp_path):
    data = filled(tmp_path / "d")
    before = arrays(data.path)
    cut(data.path / "V.npy", (data.path / "V.npy").stat().st_size // 2)
    again = JacobianData.open(data.path)                     # checks sizes against the layout
    head = cachefiles.npy_header(data.path / "V.npy")
    assert head.file_size == head.expected_size
    assert again.done[:4].all() and not again.done[4:].any()  # the chunks past the cut
    assert again.fill(tanh_map, inputs, chunk=CHUNK)["generated"] == 6
    again.verify()
    after = arrays(data.path)
    assert all(np.array_equal(before[n], after[n]) for n in ARRAYS)  # regenerated bit for bit


def test_zero_filled_chunk_fails_its_checksum_names_the_file_and_is_regenerated(tmp_path):
    data = filled(tmp_path / "d")
    before = arrays(data.path)
    zero_second_half(data.path / "V.npy")                    # size unchanged
    again = JacobianData.open(data.path)
    assert again.done.all()                                   # the size check cannot see it
    with pytest.raises(CacheDamaged, match=r"V\.npy") as err:
        again.batch(slice(None))
    assert isinstance(err.value, InfrastructureError) and err.value.path.name == "V.npy"
    assert again.batch(slice(0, 4))["V"].shape == (4, D_M, D_Q)   # the intact first chunk
    assert not again.done[4:].any()                           # damaged chunks unmarked
    assert again.fill(tanh_map, inputs, chunk=CHUNK)["generated"] == 6
    assert torch.equal(again.batch(slice(None))["V"], torch.from_numpy(before["V"]))


def test_each_chunk_is_verified_once_per_process(tmp_path, monkeypatch):
    data = filled(tmp_path / "d")
    calls = []
    monkeypatch.setattr(jd, "digest", lambda *a: calls.append(1) or cachefiles.digest(*a))
    data.batch([0, 5])
    n = len(calls)
    assert n == 2 * len(ARRAYS)                               # chunks 0..3 and 4..7
    for _ in range(3):
        data.batch([1, 6], ("V",))
        JacobianData.open(data.path).batch([2])               # another instance, same process
    assert len(calls) == n
    data.batch([9])
    assert len(calls) == n + len(ARRAYS)


def test_reading_samples_not_generated_raises_cache_damaged(tmp_path):
    data = JacobianData.open(tmp_path / "d", Layout(S, D_M, D_Q))
    with pytest.raises(CacheDamaged, match="not generated"):
        data.batch([0])


@pytest.mark.parametrize("damage", ["done_empty", "done_cut", "checksums_empty", "layout_cut",
                                    "header_zeroed"])
def test_damaged_small_file_is_rebuilt(tmp_path, damage):
    data = filled(tmp_path / "d")
    before, p = arrays(data.path), data.path
    if damage == "done_empty":
        cut(p / "done.npy", 0)
    elif damage == "done_cut":
        cut(p / "done.npy", 100)
    elif damage == "checksums_empty":
        cut(p / jd.SUMS, 0)
    elif damage == "layout_cut":
        cut(p / "layout.json", 50)
    else:
        with open(p / "q.npy", "r+b") as fh:
            fh.write(bytes(16))
    again = JacobianData.open(p, Layout(S, D_M, D_Q), meta={"chunk": CHUNK})
    out = again.fill(tanh_map, inputs, chunk=CHUNK)
    # a lost array, or lost checksums (nothing can verify the data then), regenerate everything
    assert out["generated"] == (S if damage in ("header_zeroed", "checksums_empty") else 0)
    again.verify()
    assert again.done.all()
    assert all(np.array_equal(before[n], a) for n, a in arrays(p).items())


def test_damaged_layout_without_the_layout_raises_cache_damaged_naming_it(tmp_path):
    data = filled(tmp_path / "d")
    cut(data.path / "layout.json", 50)
    with pytest.raises(CacheDamaged, match=r"layout\.json"):
        JacobianData.open(data.path)


@pytest.mark.parametrize("damage", ["cut", "zeros"])
def test_damaged_projection_is_recomputed(tmp_path, damage):
    data = filled(tmp_path / "d")
    phi = torch.linalg.qr(torch.randn(D_M, 3, dtype=torch.float64,
                                      generator=torch.Generator().manual_seed(1)))[0]
    first = np.array(data.project(phi))
    (f,) = data.path.glob("proj_*.npy")
    if damage == "cut":
        cut(f, f.stat().st_size // 2)
    else:
        zero_second_half(f)
        os.utime(f, ns=(0, 0))      # a new stamp even within the file system's time resolution
    assert np.array_equal(np.array(data.project(phi)), first)


def test_done_samples_without_a_checksum_are_regenerated_not_trusted(tmp_path):
    data = filled(tmp_path / "d")
    before = arrays(data.path)
    (data.path / jd.SUMS).unlink()                            # lost (or written before checksums)
    with open(data.path / "q.npy", "r+b") as fh:              # and one flipped bit in q
        fh.seek(-3, os.SEEK_END)
        byte = fh.read(1)
        fh.seek(-3, os.SEEK_END)
        fh.write(bytes([byte[0] ^ 0x10]))
    again = JacobianData.open(data.path)
    assert not again.done.any()
    assert again.fill(tanh_map, inputs, chunk=CHUNK)["generated"] == S
    again.verify()
    assert all(np.array_equal(before[n], a) for n, a in arrays(data.path).items())


def test_every_cache_file_is_replaced_atomically_after_fsync(tmp_path, monkeypatch):
    replaced, synced = [], []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append(Path(b).name), real_replace(a, b)))
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    data = filled(tmp_path / "d")
    data.project(torch.eye(D_M, 2, dtype=torch.float64))
    names = set(replaced)
    assert {"layout.json", "done.npy", jd.SUMS, *(f"{n}.npy" for n in ARRAYS)} <= names
    assert any(n.startswith("proj_") and n.endswith(".npy") for n in names)
    assert replaced.count("done.npy") == 1 + 3                # created, then once per chunk
    assert len(synced) >= 2 * len(replaced)                   # each file and its folder
    assert not list(data.path.glob(".*tmp*"))


def test_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path):
    f = tmp_path / "x.npy"
    cachefiles.atomic_save_npy(f, np.arange(3))
    with pytest.raises(ValueError), cachefiles.atomic_path(f) as tmp:
        tmp.write_bytes(b"half")
        raise ValueError("killed")
    assert np.array_equal(cachefiles.load_npy(f, (3,)), np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]
    cut(f, 20)
    with pytest.raises(CacheDamaged, match=r"x\.npy"):
        cachefiles.load_npy(f)


# ----------------------------------------------------------------------------- fe_scaling, Navier-Stokes
def _planted_payload(marker: Path):
    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    return {"x": Payload()}


def test_fe_scaling_cache_never_unpickles_code_and_regenerates_damage(tmp_path, monkeypatch):
    from derivlearn.studies import fe_scaling

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # torch.load's default: unsafe
    first = fe_scaling.dataset("rosenbrock", 2, 20, 0)
    (f,) = (Path(os.environ["DERIVLEARN_CACHE"]) / "fe_scaling").glob("*.pt")
    marker = tmp_path / "PWNED"
    torch.save(_planted_payload(marker), f)
    cachefiles.checksum_path(f).unlink()                       # as a cache from before checksums
    again = fe_scaling.dataset("rosenbrock", 2, 20, 0)
    assert not marker.exists()
    assert torch.equal(again["hess"], first["hess"])
    for size in (f.stat().st_size // 2, 0):                    # cut, emptied: regenerated
        cut(f, size)
        assert torch.equal(fe_scaling.dataset("rosenbrock", 2, 20, 0)["x"], first["x"])
    zero_second_half(f)                                        # same size: the checksum sees it
    os.utime(f, ns=(0, 0))
    assert torch.equal(fe_scaling.dataset("rosenbrock", 2, 20, 0)["y"], first["y"])


def test_navier_stokes_cache_is_atomic_and_recomputed_when_damaged(monkeypatch):
    from derivlearn.solvers.pde import navier_stokes as ns

    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append(Path(b)), real_replace(a, b)))
    _, v = ns.velocity(4)
    path = ns.cache_path(4)
    assert replaced == [path]
    for size in (path.stat().st_size // 2, 0):
        cut(path, size)
        assert np.array_equal(ns.velocity(4)[1], v)


def test_torch_load_is_weights_only_everywhere():
    import re

    root = Path(__file__).resolve().parents[1]
    calls = [(p, line) for p in (root / "lib").rglob("*.py")
             for line in p.read_text().splitlines() if re.search(r"\btorch\.load\(", line)]
    assert calls and all("weights_only=True" in line for _, line in calls), calls


# ----------------------------------------------------------------------------- end to end (dino)
SMOKE = {"problems": ("poisson",), "networks": ("dipnet_100_50",), "losses": ("l2",),
         "sketch_problems": (), "map_problems": ()}


def _sweep(root: Path):
    from derivlearn.store import ResultStore
    from derivlearn.studies import dino
    from derivlearn.sweep import run_sweep

    cfg = dino.DinoConfig.from_profile("smoke", **SMOKE)
    return run_sweep(dino.run, dino.run_configs(cfg), ResultStore(root, "dino"), scheduler="inprocess",
                     progress=False, version=dino.DinoConfig.RESULT_VERSION)


def _metrics(rec):
    return {k: v for k, v in rec["metrics"].items() if "seconds" not in k}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A complete smoke cache of the Poisson data set and the records of one clean sweep."""
    root, replaced, real_replace = tmp_path_factory.mktemp("pristine"), [], os.replace
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DERIVLEARN_CACHE", str(root / "cache"))
        mp.setattr(os, "replace", lambda a, b: (replaced.append(Path(b).name), real_replace(a, b)))
        records = _sweep(root / "results").records
    (folder,) = (root / "cache" / "dino").iterdir()
    return root / "cache", folder.name, records, set(replaced)


def test_dino_cache_files_are_written_atomically(pristine):
    *_, replaced = pristine
    assert {"layout.json", "done.npy", jd.SUMS, "generation.json", "as_4_100.npy",
            "as_4_100.npy.sha256"} <= replaced


DAMAGES = {
    "V_truncated": lambda d: cut(d / "V.npy", (d / "V.npy").stat().st_size // 2),
    "V_zero_filled": lambda d: zero_second_half(d / "V.npy"),
    "done_empty": lambda d: cut(d / "done.npy", 0),
    "done_cut": lambda d: cut(d / "done.npy", 100),
    "layout_cut": lambda d: cut(d / "layout.json", 50),
    "generation_empty": lambda d: cut(d / "generation.json", 0),
    "basis_cut": lambda d: [cut(f, f.stat().st_size // 2) for f in d.glob("as_*.npy")],
    "basis_zero_filled": lambda d: [zero_second_half(f) for f in d.glob("as_*.npy")],
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_dino_sweep_never_records_cache_damage_and_a_rerun_heals(pristine, damage, tmp_path):
    from derivlearn.sweep import RunsLeft

    cache, name, clean, _ = pristine
    mine = Path(os.environ["DERIVLEARN_CACHE"])
    shutil.copytree(cache, mine, dirs_exist_ok=True)
    DAMAGES[damage](mine / "dino" / name)
    from derivlearn.store import ResultStore

    results, lost = tmp_path / "results", 0
    for _ in range(2):                                         # a lost run stays pending
        try:
            report = _sweep(results)
            break
        except RunsLeft as exc:
            lost += 1
            assert "CacheDamaged" in str(exc) and "V.npy" in str(exc)
            assert len(ResultStore(results, "dino")) == 0     # nothing recorded, no "failed" row
    else:
        pytest.fail("the re-run did not heal the cache")
    # the zero-filled chunk is found while reading (checksum): that run is lost, the re-run heals;
    # every other damage is found when the cache opens and healed within the run
    assert lost == (damage == "V_zero_filled")
    assert [r["status"] for r in report.records] == ["ok"] * len(clean)
    for got, want in zip(report.records, clean, strict=True):
        assert _metrics(got) == _metrics(want)                # the same results as a clean cache
        unknown = damage == "generation_empty"                # a time cannot be rebuilt
        assert (got["metrics"]["data_seconds_per_sample"] is None) == unknown
