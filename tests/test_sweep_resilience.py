"""The sweep survives a dying Dask worker and a SIGKILLed driver process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from derivlearn.store import ResultStore, config_key
from derivlearn.sweep import run_sweep

import sweep_helpers as h

TESTS = Path(__file__).resolve().parent
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines()]  # every line must parse


def _wait(pred, timeout: float, what: str) -> None:
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            raise TimeoutError(what)
        time.sleep(0.05)


@pytest.mark.slow
def test_dask_cluster_worker_killed_mid_sweep(tmp_path):
    env = os.environ | {"PYTHONPATH": str(TESTS) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(DASK), "worker", addr, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(addr, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        store = ResultStore(tmp_path, "sweeptest")
        killed = {}

        def killer():
            _wait(lambda: len(_lines(store.path)) >= 4, 60, "no records arrived")
            killed["at"] = len(_lines(store.path))
            procs[1].send_signal(signal.SIGKILL)

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        rep = run_sweep(h.square, h.configs(20, sleep=0.4), store, scheduler=addr, device="cpu",
                        progress=False)
        t.join(5)
        assert procs[1].wait(5) == -signal.SIGKILL, "the worker was not killed"
        assert killed["at"] < 20, "the worker was killed only after the sweep"
        lines = _lines(store.path)
        keys = [r["key"] for r in lines]
        assert len(keys) == 20 and len(set(keys)) == 20  # every run recorded exactly once
        assert set(keys) == {config_key(c, 1) for c in h.configs(20, sleep=0.4)}
        assert all(r["status"] == "ok" for r in lines) and rep.n_failed == 0
        assert len({r["metrics"]["pid"] for r in lines}) == 2  # both workers did work
    finally:
        for p in procs:
            p.kill()
            p.wait(10)


def test_sigkilled_sweep_resumes_without_recomputing(tmp_path, monkeypatch):
    store = ResultStore(tmp_path, "sweeptest")
    proc = subprocess.Popen([sys.executable, str(TESTS / "sweep_helpers.py"), str(tmp_path),
                             "20", "0.15"])
    try:
        _wait(lambda: len(_lines(store.path)) >= 5, 60, "the sweep wrote nothing")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        proc.kill()
    done = _lines(store.path)  # every line parses
    assert 5 <= len(done) < 20
    monkeypatch.setenv("DL_CALLS_FILE", str(tmp_path / "calls"))
    rep = run_sweep(h.square, h.configs(20, sleep=0.15), store, scheduler="inprocess",
                    device="cpu", progress=False)
    recomputed = (tmp_path / "calls").read_text().split()
    assert rep.n_cached == len(done) and rep.n_run == 20 - len(done) == len(recomputed)
    assert not {int(x) for x in recomputed} & {r["config"]["x"] for r in done}
    final = _lines(store.path)
    assert len(final) == 20 and len({r["key"] for r in final}) == 20
