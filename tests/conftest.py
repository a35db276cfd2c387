"""Shared fixtures: every test writes results and caches to temporary folders, never to results/."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before numpy or torch is imported: OpenBLAS fixes its thread count when it loads (the
# reproduction tests compare round-off-sized numbers that depend on it).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

# One thread per process: the tests' tensors are small, and on the 2-core reference machine a
# second thread competing with running sweeps made the suite up to 10x slower (measured: the DINO
# tests took 392 s with torch's default 2 threads beside two sweeps, 20 s with 1). Notebook
# kernels and sweep workers inherit the environment variable.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
if str(TESTS) not in sys.path:  # the helper run functions in sweep_helpers.py
    sys.path.insert(0, str(TESTS))


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("results")
    monkeypatch.setenv("DERIVLEARN_RESULTS", str(root))
    monkeypatch.setenv("DERIVLEARN_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("DERIVLEARN_PROGRESS", "0")
    monkeypatch.delenv("DERIVLEARN_SCHEDULER", raising=False)
    monkeypatch.delenv("DERIVLEARN_COMPUTE", raising=False)  # a book build in process sets it
    return root
