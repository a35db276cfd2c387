"""The process-pool sweep (derivlearn.pool): records, resumption, deadline, bad input."""

from __future__ import annotations

import pytest

from derivlearn.pool import run_pool
from derivlearn.store import ResultStore
from derivlearn.studies import theory


def _configs(n: int = 4) -> list[dict]:
    return theory.run_configs(theory.TheoryConfig.from_profile("smoke"))[:n]


def test_pool_records_every_run_once_and_resumes(tmp_path):
    store = ResultStore(tmp_path, "theory")
    out = run_pool(theory.RUN, _configs(), store, processes=2, device="cpu")
    assert out["pending"] == 4 and out["recorded"] == 4 and out["left"] == 0 and out["failed"] == 0
    assert len(store) == 4
    again = run_pool(theory.RUN, _configs(), store, processes=2, device="cpu")
    assert again["pending"] == 0 and len(store) == 4


def test_pool_stops_at_the_deadline_without_recording_runs_in_flight(tmp_path):
    store = ResultStore(tmp_path, "theory")
    out = run_pool(theory.RUN, _configs(), store, processes=1, device="cpu", deadline_s=1e-9)
    assert out["recorded"] == 0 and out["left"] == 4 and len(store) == 0


@pytest.mark.parametrize(("kwargs", "name"), [({"processes": 0}, "processes"),
                                              ({"processes": 1, "deadline_s": -1.0}, "deadline_s"),
                                              ({"processes": 1, "threads": 0}, "threads")])
def test_pool_rejects_bad_arguments(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        run_pool(theory.RUN, _configs(), ResultStore(tmp_path, "theory"), **kwargs)


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    from pathlib import Path

    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="uses /proc")
def test_sigterm_to_the_sweep_terminates_its_workers(tmp_path):
    """`kill <sweep>` must not leave workers computing unobserved runs (they did before)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    calls = tmp_path / "calls.txt"
    code = ("import sweep_helpers as h; from derivlearn.pool import run_pool; "
            "from derivlearn.store import ResultStore; "
            f"run_pool(h.square, h.configs(2, sleep=120.0), ResultStore({str(tmp_path)!r}, 'sweeptest'), "
            "processes=2, device='cpu', threads=1)")
    env = dict(os.environ, PYTHONPATH=str(tests), DL_CALLS_FILE=str(calls))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        t0 = time.monotonic()
        while not (calls.exists() and len(calls.read_text().split()) == 2):
            assert time.monotonic() - t0 < 120, "workers did not start"
            assert proc.poll() is None, "the sweep exited early"
            time.sleep(0.2)
        workers = _children(proc.pid)
        assert len(workers) >= 2
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        t0 = time.monotonic()
        while any(Path(f"/proc/{w}").exists() and "Z" not in
                  Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[:1] for w in workers):
            assert time.monotonic() - t0 < 30, "workers still running after the sweep was terminated"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
