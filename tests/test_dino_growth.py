"""The DINO data grow in place: adding training sizes or test samples generates only the new
samples and trains only the new runs; the segments reproduce the samples of the records made
before them (the version-1 layout [test 256 | AS 256 | pool], chunks seeded by global start)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from derivlearn.jacobian_data import ARRAYS, JacobianData, Layout
from derivlearn.store import ResultStore
from derivlearn.studies import dino
from derivlearn.sweep import run_sweep

SMALL = {"problems": ("poisson",), "networks": ("generic", "dipnet_100_50"), "losses": ("l2",),
         "sketch_problems": (), "map_problems": ()}


def _sweep(root, **over):
    cfg = dino.DinoConfig.from_profile("smoke", **{**SMALL, **over})
    return run_sweep(dino.run, dino.run_configs(cfg), ResultStore(root, "dino"), scheduler="inprocess",
                     progress=False, version=cfg.version_of)


def _chunks(folder):
    """Per data set of the problem: its recorded chunk checksums and the arrays' inodes."""
    out = {}
    for name, path in (("pool", folder), ("test", folder / "test"), ("as", folder / "as")):
        if (path / "layout.json").exists():
            sums = json.loads((path / "checksums.json").read_text())["chunks"]
            out[name] = ({(a, b): d for a, b, d in sums},
                         {n: (path / f"{n}.npy").stat().st_ino for n in ARRAYS})
    return out


def test_extending_sizes_and_test_samples_generates_and_trains_only_what_is_new(tmp_path, monkeypatch):
    monkeypatch.setattr(dino, "GENERATED", {})
    first = _sweep(tmp_path / "r")
    assert first.n_run == 2 and dino.GENERATED == {("poisson", "pool"): 16, ("poisson", "test"): 16,
                                                     ("poisson", "as"): 16}
    folder = dino.data_folder("poisson", 10, 0)
    before = _chunks(folder)
    records = {r["key"]: r for r in first.records}

    dino.GENERATED.clear()                                  # a larger training size
    grown = _sweep(tmp_path / "r", sizes=(8, 40))
    assert grown.n_cached == 2 and grown.n_run == 2           # the N = 8 runs are served
    assert all(records[k] == ResultStore(tmp_path / "r", "dino").get(k) for k in records)
    assert dino.GENERATED == {("poisson", "pool"): 32}       # samples 16..47 only
    after = _chunks(folder)
    for seg, (sums, inodes) in before.items():                # old chunks untouched, in place
        assert {r: d for r, d in after[seg][0].items() if r in sums} == sums
        assert after[seg][1] == inodes

    dino.GENERATED.clear()                                  # more test samples
    more = _sweep(tmp_path / "r", sizes=(8, 40), n_test=20)
    assert more.n_run == 4                                  # a new test set: new results
    assert dino.GENERATED == {("poisson", "test"): 16}       # samples 16..31 only
    assert _chunks(folder)["test"][0].items() >= before["test"][0].items()

    dino.GENERATED.clear()                                  # nothing new: nothing generated or run
    again = _sweep(tmp_path / "r", sizes=(8, 40), n_test=20)
    assert again.n_run == 0 and dino.GENERATED == {}


@pytest.mark.parametrize("seed", [0, 3])
def test_segments_reproduce_the_legacy_samples_bit_for_bit(tmp_path, seed):
    """The version-1 code generated the book data set [test 256 | AS 256 | pool 1024] by
    ``fill(observe_and_jacobian, lambda a, b: sample_prior(b - a, seed * 1_000_003 + a),
    chunk=16)``; its chunks at global starts 0 (test), 256 (AS), 512 and 528 (pool) against
    the segments' first chunks."""
    pmap = dino.pde_map("poisson", 10)
    lay = Layout(16, pmap.n_params, pmap.n_outputs)
    for name, pos, g0 in (("test", 0, 0), ("as", 0, 256), ("pool", 0, 512), ("pool", 16, 528)):
        legacy = JacobianData.open(tmp_path / f"legacy-{g0}", lay)
        legacy.fill(pmap.observe_and_jacobian,
                    lambda a, b, g0=g0: pmap.sample_prior(b - a, seed * 1_000_003 + g0 + a), chunk=16)
        new = dino.segment("poisson", 10, seed, name, pos + 16)
        for arr in ARRAYS:
            got, want = np.array(new.array(arr)[pos:pos + 16]), np.array(legacy.array(arr))
            assert got.tobytes() == want.tobytes(), (name, pos, arr)
    # test and AS samples beyond the legacy 256 come from their own streams, not the pool's
    legacy_pool = pmap.sample_prior(16, seed * 1_000_003 + 512).numpy()
    for name in ("test", "as"):
        beyond = dino._inputs(pmap, name, seed, 256, 272).numpy()
        assert not np.isin(beyond, legacy_pool).any()
        assert np.array_equal(dino._inputs(pmap, name, seed, 250, 260).numpy()[6:],
                              beyond[:4])                   # a draw depends on its position only
