"""Do the records follow from the code? Recompute a seeded sample of every chapter's records.

Run keys hold the run config and the study's result version (``RESULT_VERSION``), not the code.
A change that alters results must bump the version, so that the old records are recomputed
instead of served. These tests catch a change that forgot to:

* **committed records** (``results/<study>``): a seeded sample of the cheap runs of each chapter
  is recomputed and compared under the tolerance stated per chapter;
* **stand-ins** (``tests/golden/<study>.jsonl``) where a chapter's committed runs are too long
  for a test (DINO needs a 4608-sample Jacobian data set): smoke-sized records computed by the
  current code, recomputed here. After a deliberate change, bump the study's version and write
  them again with ``OMP_NUM_THREADS=1 .venv/bin/python tests/test_reproduce.py <study>``.

Everything runs with one BLAS thread (conftest), as the reference records were computed: the
same code may round differently with another thread count.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from derivlearn import reproduce
from derivlearn.store import ResultStore, config_key
from derivlearn.sweep import execute

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"

# (results folder, study module, how many, which records are cheap enough, rtol, atol, why)
COMMITTED = [
    ("theory", "theory", 5, lambda r: True, 1e-12, 0.0,
     "computed in process with 1 thread: reproduced to round-off, including the 1e-15 "
     "coefficient errors that changed when the monomial order changed"),
    ("fe_scaling", "fe_scaling", 2,
     lambda r: r["config"]["problem"] == "rosenbrock" and r["config"]["d"] <= 2
     and r["config"]["method"] in ("gp", "hegp", "nn2") and r["wall_time_s"] < 6,
     reproduce.RTOL, reproduce.ATOL, "CPU records"),
    ("fe_scaling", "fe_scaling", 1,  # a Hessian network: catches a change of its engine
     lambda r: r["config"]["method"] == "nn2" and r["config"]["d"] == 1 and r["wall_time_s"] < 2,
     reproduce.RTOL, reproduce.ATOL, "CPU records, nested autograd"),
    ("gradinn", "gradinn", 2, lambda r: r["config"]["method"] == "gp" and r["wall_time_s"] < 3,
     reproduce.RTOL, reproduce.ATOL, "CPU records"),
    ("higher_order_sobolev", "higher_order", 1, lambda r: r["wall_time_s"] < 6, 1e-4, 1e-9,
     "float32 records computed on a GPU; the CPU rounds differently (measured: up to 6e-6 "
     "relative)"),
]

# (study module, indices into run_configs(smoke)) of the stand-in records
STAND_INS = {
    "dino": lambda cfgs: [c for c in cfgs if c.get("kind") != "map" and (c["network"], c["loss"]) in {
        ("generic", "l2"), ("dipnet_100_50", "reduced_h1_ms"),
        ("dipnet_100_50", "nullspace_sketched_h1")}],
}


def _module(name: str):
    return importlib.import_module(f"derivlearn.studies.{name}")


@pytest.mark.parametrize("folder,module,n,cheap,rtol,atol,why", COMMITTED,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(COMMITTED)])
def test_committed_records_follow_from_the_code(folder, module, n, cheap, rtol, atol, why):
    mod = _module(module)
    cfg = mod.CONFIG.from_profile("book")
    records = ResultStore(ROOT / "results", folder).records()
    current = [r for r in records if r.get("result_version") == cfg.version_of(r["config"])]
    picked = reproduce.sample(current, n, seed=2026, where=cheap)
    assert len(picked) == n, f"{folder}: only {len(picked)} cheap records at the current version"
    for rec in picked:
        diffs = reproduce.verify(mod.RUN, rec, "cpu", rtol=rtol, atol=atol)
        assert not diffs, (f"{folder} record {rec['key']} ({why}) no longer follows from the "
                           f"code; bump RESULT_VERSION and recompute: {diffs[:5]}")


def test_theory_sample_includes_the_largest_cell():
    """The audit's d = 8, p = 5, r = 2 records, where round-off is largest."""
    mod = _module("theory")
    recs = [r for r in ResultStore(ROOT / "results", "theory").records()
            if (r["config"]["d"], r["config"]["degree"], r["config"]["order"]) == (8, 5, 2)]
    assert recs
    for rec in recs[:2]:
        assert not reproduce.verify(mod.RUN, rec, "cpu", rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("module", sorted(STAND_INS))
def test_stand_in_records_follow_from_the_code(module):
    mod = _module(module)
    path = GOLDEN / f"{module}.jsonl"
    golden = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert golden, path
    cfg = mod.CONFIG.from_profile("smoke")
    for rec in golden:
        version = cfg.version_of(rec["config"])
        assert rec["key"] == config_key(rec["config"], version), (
            f"{path}: a stand-in of result version {rec['result_version']}, the code is at "
            f"{version}; write them again: OMP_NUM_THREADS=1 python tests/test_reproduce.py {module}")
        diffs = reproduce.verify(mod.RUN, rec, "cpu")
        assert not diffs, (f"{module} stand-in {rec['key']} no longer follows from the code; "
                           f"bump RESULT_VERSION and write the stand-ins again: {diffs[:5]}")


def test_verify_detects_a_changed_metric():
    """The check itself can fail: a stored metric moved by more than the tolerance."""
    mod = _module("theory")
    rec = reproduce.sample(ResultStore(ROOT / "results", "theory").records(), 1, seed=1)[0]
    bad = json.loads(json.dumps(rec))
    bad["metrics"]["n_min"] += 1
    assert any("n_min" in d for d in reproduce.verify(mod.RUN, bad, "cpu"))
    assert reproduce.differences({"a": 1e-15}, {"a": 2e-15}, rtol=1e-12, atol=0.0)
    assert not reproduce.differences({"seconds": 1.0}, {"seconds": 2.0})


def write_stand_ins(module: str) -> Path:
    """Compute the stand-in records of ``module`` with the current code (1 thread)."""
    import torch

    torch.set_num_threads(1)
    mod = _module(module)
    cfg = mod.CONFIG.from_profile("smoke")
    lines = []
    for c in STAND_INS[module](mod.run_configs(cfg)):
        rec = execute(mod.RUN, c, "cpu", cfg.version_of(c))
        if rec["status"] != "ok":
            raise RuntimeError(f"stand-in {c} failed: {rec['reason']}")
        lines.append(json.dumps(rec, sort_keys=True))
    GOLDEN.mkdir(exist_ok=True)
    path = GOLDEN / f"{module}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


if __name__ == "__main__":  # OMP_NUM_THREADS=1 .venv/bin/python tests/test_reproduce.py dino
    import os
    import tempfile

    os.environ.setdefault("DERIVLEARN_CACHE", tempfile.mkdtemp(prefix="derivlearn-golden-"))
    for name in sys.argv[1:] or sorted(STAND_INS):
        print(write_stand_ins(name))
