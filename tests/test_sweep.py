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


# ----------------------------------------------------------------- unwritable stores (2.12, 2.13)
@pytest.mark.parametrize("scheduler", ["inprocess", "local"])
def test_an_unwritable_store_fails_before_the_first_run(tmp_path, monkeypatch, scheduler):
    """A store root that is a regular file fails even for root: the error must come before any
    run is computed (it came when the first finished run was appended, losing that run)."""
    monkeypatch.setenv("DL_CALLS_FILE", str(tmp_path / "calls"))
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OSError, match="not writable"):
        run_sweep(h.square, h.configs(3), ResultStore(afile, "sweeptest"), scheduler=scheduler,
                  n_workers=1, device="cpu", progress=False)
    assert calls(tmp_path / "calls") == [] and afile.read_text() == "x"


def test_a_read_only_store_fails_before_the_first_run(tmp_path, monkeypatch):
    import os
    import stat

    monkeypatch.setenv("DL_CALLS_FILE", str(tmp_path / "calls"))
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(root, os.W_OK):
            pytest.skip("running as a user who can write to a read-only folder (root)")
        with pytest.raises(OSError, match="not writable"):
            run_sweep(h.square, h.configs(3), ResultStore(root, "sweeptest"),
                      scheduler="inprocess", device="cpu", progress=False)
        assert calls(tmp_path / "calls") == []
    finally:
        root.chmod(stat.S_IRWXU)


# ----------------------------------------------------------------- a wrong scheduler address (7.5)
def _dask_bytes_are_recognized():
    from derivlearn.sweep import _looks_like_dask

    # the first bytes a distributed 2026.8 scheduler sends on accepting a connection
    assert _looks_like_dask(b":\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00")
    assert not _looks_like_dask(b"HTTP/1.0 200 OK\r\n")
    assert not _looks_like_dask(b"SSH-2.0-OpenSSH_9")


def test_dask_handshake_recognition():
    _dask_bytes_are_recognized()


def _sweep_against(address, tmp_path, monkeypatch):
    """Run a sweep on ``address`` with a 3 s connect limit; return (error, seconds)."""
    import multiprocessing
    import threading
    import time

    monkeypatch.setenv("DERIVLEARN_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("DL_CALLS_FILE", str(tmp_path / "calls"))
    threads = {t for t in threading.enumerate() if type(t).__name__ != "TMonitor"}  # tqdm's
    t0 = time.monotonic()
    with pytest.raises(ConnectionError) as err:
        run_sweep(h.square, h.configs(2), ResultStore(tmp_path, "sweeptest"), scheduler=address,
                  device="cpu", progress=False)
    seconds = time.monotonic() - t0
    left = {t for t in threading.enumerate() if type(t).__name__ != "TMonitor"} - threads
    assert not left, f"the connection attempt left threads running: {left}"
    assert multiprocessing.active_children() == []
    assert calls(tmp_path / "calls") == [] and len(ResultStore(tmp_path, "sweeptest")) == 0
    return str(err.value), seconds


def test_an_http_server_at_the_scheduler_address_is_named_not_waited_for(tmp_path, monkeypatch):
    """Like typing the dashboard port (8787): the sweep hung with no output."""
    import http.server
    import threading

    class Dashboard(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Dashboard)  # one thread, started below
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"tcp://127.0.0.1:{server.server_address[1]}"
        message, seconds = _sweep_against(address, tmp_path, monkeypatch)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert seconds < 45
    assert f"an HTTP server answered at {address}" in message and "dashboard" in message
    assert "8786" in message


def test_a_silent_listener_at_the_scheduler_address_is_an_error(tmp_path, monkeypatch):
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # the kernel accepts connections; nobody ever answers
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        message, seconds = _sweep_against(address, tmp_path, monkeypatch)
    assert seconds < 45
    assert f"something accepted the connection at {address} but never answered as a Dask " \
           "scheduler within 3 s" in message


def test_records_give_cpu_time_beside_wall_time(tmp_path):
    """A run that waits costs wall time but almost no CPU time; both are recorded."""
    store = ResultStore(tmp_path, "sweeptest")
    rec = run_sweep(h.square, h.configs(1, sleep=0.3), store, scheduler="inprocess",
                    device="cpu").records[0]
    assert rec["wall_time_s"] >= 0.3 and 0 <= rec["cpu_time_s"] < 0.15
    assert store.get(rec["key"])["cpu_time_s"] == rec["cpu_time_s"]
    import os

    import torch

    # what ran it: on the CPU, the core count and torch's threads (on CUDA, the GPU's name)
    assert rec["env"]["device"] == "cpu" and rec["env"]["cpus"] == os.cpu_count()
    assert rec["env"]["threads"] == torch.get_num_threads()
