"""Run functions for the sweep tests. Importable by Dask workers and subprocesses
(put this folder on PYTHONPATH)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def square(config: dict, device: str) -> dict:
    """y = x², after ``config['sleep']`` seconds; logs each call to ``$DL_CALLS_FILE``."""
    calls = os.environ.get("DL_CALLS_FILE")
    if calls:
        with open(calls, "a") as fh:
            fh.write(f"{config['x']}\n")
    time.sleep(config.get("sleep", 0.0))
    if config.get("infra") and not os.environ.get("DL_INFRA_FIXED"):
        from derivlearn.sweep import InfrastructureError

        raise InfrastructureError("planned cache damage")
    if config.get("fail"):
        raise ValueError("planned failure")
    if config.get("nan"):
        return {"y": float("nan")}
    return {"y": config["x"] ** 2, "pid": os.getpid(), "device": device}


def configs(n: int, sleep: float = 0.0, **extra) -> list[dict]:
    return [{"study": "sweeptest", "x": i, "sleep": sleep} | extra for i in range(n)]


if __name__ == "__main__":  # python sweep_helpers.py STORE_ROOT N SLEEP: an in-process sweep
    sys.path.insert(0, str(Path(__file__).parent))
    from derivlearn.store import ResultStore
    from derivlearn.sweep import run_sweep

    root, n, sleep = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    run_sweep(square, configs(n, sleep), ResultStore(root, "sweeptest"), scheduler="inprocess",
              device="cpu", progress=False)
