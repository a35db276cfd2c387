from __future__ import annotations

import pytest

from derivlearn.store import ResultStore
from derivlearn.sweep import resolve_scheduler, run_sweep

import sweep_helpers as h


def calls(path):
    return path.read_text().split() if path.exists() else []


def test_inprocess_sweep_records_every_run_and_skips_them_next_time(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_CALLS_FILE", str(tmp_path / "calls"))
    store = ResultStore(tmp_path, "sweeptest")
    rep = run_sweep(h.square, h.configs(5), store, scheduler="inprocess", device="cpu")
    assert rep.n_run == 5 and rep.n_cached == 0 and len(store) == 5
    assert [r["metrics"]["y"] for r in rep.records] == [0, 1, 4, 9, 16]
    rep2 = run_sweep(h.square, h.configs(6), store, scheduler="inprocess", device="cpu")
    assert rep2.n_run == 1 and rep2.n_cached == 5
    assert len(calls(tmp_path / "calls")) == 6
    rep3 = run_sweep(h.square, h.configs(6), store, scheduler="inprocess", device="cpu",
                     recompute=True)
    assert rep3.n_run == 6 and len(store.path.read_text().splitlines()) == 6  # compacted


def test_failures_are_recorded_with_reason_and_do_not_stop_the_sweep(tmp_path):
    store = ResultStore(tmp_path, "sweeptest")
    cfgs = h.configs(3) + [{"study": "sweeptest", "x": 10, "fail": True},
                           {"study": "sweeptest", "x": 11, "nan": True}] + h.configs(5)[3:]
    rep = run_sweep(h.square, cfgs, store, scheduler="inprocess", device="cpu")
    status = {r["config"]["x"]: (r["status"], r["reason"]) for r in rep.records}
    assert status[10][0] == "failed" and "ValueError: planned failure" in status[10][1]
    assert status[11] == ("failed", "non-finite metric(s): y")
    assert rep.n_failed == 2 and sum(s == "ok" for s, _ in status.values()) == 5
    # failed runs are kept; retry_failed reruns exactly those
    rep2 = run_sweep(h.square, cfgs, store, scheduler="inprocess", device="cpu", retry_failed=True)
    assert rep2.n_run == 2


def test_local_cluster_sweep(tmp_path):
    store = ResultStore(tmp_path, "sweeptest")
    rep = run_sweep(h.square, h.configs(8, sleep=0.2), store, scheduler="local", n_workers=2,
                    device="cpu")
    assert rep.where == "local" and len(store) == 8 and rep.n_failed == 0
    assert len({r["metrics"]["pid"] for r in rep.records}) == 2  # really two processes


def test_scheduler_resolution(monkeypatch):
    assert resolve_scheduler(None, 3, "cpu") == "inprocess"
    assert resolve_scheduler("auto", 100, "cuda") == "inprocess"
    monkeypatch.setenv("DERIVLEARN_SCHEDULER", "tcp://127.0.0.1:8786")
    assert resolve_scheduler(None, 100, "cpu") == "tcp://127.0.0.1:8786"
    with pytest.raises(ValueError, match="'scheduler'"):
        resolve_scheduler("cloud", 1, "cpu")


def test_bad_input(tmp_path):
    store = ResultStore(tmp_path, "sweeptest")
    with pytest.raises(ValueError, match="duplicate"):
        run_sweep(h.square, h.configs(2) * 2, store, device="cpu")
    with pytest.raises(ValueError, match="'device'"):
        run_sweep(h.square, h.configs(2), store, device="tpu")


def nonfinite_kinds(config, device):
    import numpy as np
    import torch

    from derivlearn.sweep import RunFailed

    kind = config["kind"]
    if kind == "empty_runfailed":
        raise RunFailed()
    if kind == "unstorable":
        from fractions import Fraction
        return {"y": Fraction(1, 3)}
    return {"np32": {"y": np.float32("nan")}, "torch": {"y": torch.tensor(float("nan"))},
            "list": {"curve": [1.0, float("inf")]}, "intkey": {1: float("nan")}}[kind]


def test_every_bad_outcome_is_a_failed_record_in_process(tmp_path):
    store = ResultStore(tmp_path, "sweeptest")
    kinds = ["np32", "torch", "list", "intkey", "empty_runfailed", "unstorable"]
    cfgs = [{"study": "sweeptest", "kind": k} for k in kinds]
    rep = run_sweep(nonfinite_kinds, cfgs, store, scheduler="inprocess", device="cpu")
    reasons = {r["config"]["kind"]: r["reason"] for r in rep.records}
    assert all(r["status"] == "failed" for r in rep.records)
    assert reasons["list"] == "non-finite metric(s): curve[1]"
    assert reasons["intkey"] == "non-finite metric(s): 1"
    assert reasons["empty_runfailed"] == "RunFailed"
    assert reasons["unstorable"].startswith("TypeError: cannot store")
