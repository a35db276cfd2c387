"""Shared fixtures: every test writes results and caches to temporary folders, never to results/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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
    return root
