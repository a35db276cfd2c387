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
