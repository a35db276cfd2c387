"""Overhead of the sweep executor and the results store, measured in one run.

Prints, for trivially cheap runs (so that only overhead is measured):
* store append and load throughput (records/s);
* per-run cost in process, on a 2-worker LocalCluster (with and without its start-up);
* the ratio of the two, i.e. how expensive a run must be before Dask pays for itself.

Usage: python benchmarks/sweep_overhead.py [n_runs]
"""

from __future__ import annotations

import sys
import tempfile
import time

from derivlearn.store import ResultStore, make_record
from derivlearn.sweep import run_sweep


def noop(config: dict, device: str) -> dict:
    return {"y": config["i"] * 1.0}


def main(n: int = 200) -> None:
    configs = [{"study": "bench", "i": i} for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(tmp, "append")
        recs = [make_record(c, status="ok", metrics={"y": 1.0}) for c in configs]
        t0 = time.perf_counter()
        for r in recs:
            store.append(r)
        t_append = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert len(ResultStore(tmp, "append")) == n
        t_load = time.perf_counter() - t0

        t0 = time.perf_counter()
        run_sweep(noop, configs, ResultStore(tmp, "inproc"), scheduler="inprocess",
                  device="cpu", progress=False)
        t_inproc = time.perf_counter() - t0

        t0 = time.perf_counter()
        rep = run_sweep(noop, configs, ResultStore(tmp, "local"), scheduler="local",
                        n_workers=2, device="cpu", progress=False)
        t_local = time.perf_counter() - t0

        t0 = time.perf_counter()
        rep2 = run_sweep(noop, configs, ResultStore(tmp, "local"), scheduler="local",
                         device="cpu", progress=False)
        t_skip = time.perf_counter() - t0
        assert rep.n_run == n and rep2.n_run == 0

    print(f"sweep overhead, {n} no-op runs (one run each)")
    print(f"{'what':<42}{'total s':>10}{'per run ms':>12}")
    rows = [("store append (fsync'd, locked)", t_append), ("store load (JSON parse)", t_load),
            ("sweep in process", t_inproc), ("sweep on LocalCluster(2), incl. start-up", t_local),
            ("re-run, everything in the store", t_skip)]
    for name, t in rows:
        print(f"{name:<42}{t:>10.3f}{1e3 * t / n:>12.2f}")
    print(f"ratio LocalCluster / in process: {t_local / t_inproc:.1f}x "
          "(Dask pays off once one run costs more than about "
          f"{2 * (t_local - t_inproc) / n * 1e3:.0f} ms on 2 cores)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
