"""The command-line sweep runner (python -m derivlearn.run)."""

from __future__ import annotations

import json

import pytest

from derivlearn import run as cli


def test_lists_the_runnable_studies():
    assert {"theory", "fe_scaling"} <= set(cli.studies())


def test_runs_a_sweep_into_the_profile_store(_isolated_store, capsys):
    assert cli.main(["theory", "--profile", "smoke", "--set", "dims=[1, 2]", "--set", "seeds=1"]) == 0
    lines = (_isolated_store / "theory" / "records.jsonl").read_text().splitlines()
    assert lines and all(json.loads(x)["status"] == "ok" for x in lines)
    assert "sweep theory" in capsys.readouterr().out
    # a second call finds everything in the store
    assert cli.main(["theory", "--profile", "smoke", "--set", "dims=[1, 2]", "--set", "seeds=1"]) == 0
    assert "0 computed" in capsys.readouterr().out


@pytest.mark.parametrize("argv,name", [
    (["nosuch"], "study"),
    (["theory", "--set", "sedes=3"], "--set"),
    (["theory", "--set", "seeds"], "--set"),
    (["theory", "--profile", "huge"], "profile"),
])
def test_bad_arguments_name_the_parameter(argv, name):
    with pytest.raises(ValueError, match=name):
        cli.main(argv)


def test_prune_drops_records_of_configs_the_sweep_no_longer_has(_isolated_store, capsys):
    args = ["theory", "--profile", "smoke", "--set", "dims=[1, 2]", "--set", "seeds=1"]
    cli.main(args)
    path = _isolated_store / "theory" / "records.jsonl"
    n_before = len(path.read_text().splitlines())
    assert cli.main(["theory", "--profile", "smoke", "--set", "dims=[1]", "--set", "seeds=1",
                     "--prune"]) == 0
    kept = [json.loads(x) for x in path.read_text().splitlines()]
    assert 0 < len(kept) < n_before and all(r["config"]["d"] == 1 for r in kept)
