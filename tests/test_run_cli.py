"""The command-line sweep runner (python -m derivlearn.run)."""

from __future__ import annotations

import json

import pytest

from derivlearn import run as cli
from derivlearn import store as store_mod
from derivlearn.studies import theory

SMALL = ["theory", "--profile", "smoke", "--set", "dims=[1, 2]", "--set", "seeds=1"]


def test_lists_the_runnable_studies():
    assert {"theory", "fe_scaling"} <= set(cli.studies())


def test_runs_a_sweep_into_the_profile_store(_isolated_store, capsys):
    assert cli.main(SMALL) == 0
    lines = (_isolated_store / "theory" / "records.jsonl").read_text().splitlines()
    assert lines and all(json.loads(x)["status"] == "ok" for x in lines)
    assert "sweep theory" in capsys.readouterr().out
    # a second call finds everything in the store
    assert cli.main(SMALL) == 0
    assert "0 computed" in capsys.readouterr().out


@pytest.mark.parametrize("argv,name", [
    (["nosuch"], "study"),
    (["theory", "--set", "sedes=3"], "--set"),
    (["theory", "--set", "seeds"], "--set"),
    (["theory", "--profile", "huge"], "profile"),
    (["theory", "--set", "dims=[1, 2"], "--set dims"),
    (["theory", "--set", "dims=!!python/object/apply:os.system [echo]"], "--set dims"),
    # small smoke sweeps: without the checks these would run
    (SMALL + ["--processes", "0"], "--processes"),
    (SMALL + ["--processes", "-2"], "--processes"),
    (SMALL + ["--deadline", "5"], "--deadline"),
    (SMALL + ["--yes"], "--yes"),
])
def test_bad_arguments_name_the_parameter(argv, name):
    with pytest.raises(ValueError, match=f"parameter '{name}'"):
        cli.run_cli(argv)


def test_processes_zero_is_refused_not_ignored(_isolated_store):
    """`--processes 0` used to be the "no pool" default and silently ran the ordinary sweep."""
    with pytest.raises(ValueError, match=r"parameter '--processes': must be an integer >= 1, got 0"):
        cli.run_cli(SMALL + ["--processes", "0"])
    assert not (_isolated_store / "theory" / "records.jsonl").exists()


def test_prune_shows_what_it_would_drop_and_drops_only_with_yes(_isolated_store, capsys):
    cli.main(SMALL)
    path = _isolated_store / "theory" / "records.jsonl"
    before = path.read_bytes()
    n_before = len(before.splitlines())
    capsys.readouterr()
    prune = ["theory", "--profile", "smoke", "--set", "dims=[1]", "--set", "seeds=1", "--prune"]
    assert cli.main(prune) == 0  # a dry run
    out = capsys.readouterr().out
    n_stale = sum(json.loads(x)["config"]["d"] != 1 for x in before.splitlines())
    assert f"--prune would drop {n_stale} record(s)" in out and "--yes" in out
    assert out.count("e.g. {") == min(n_stale, cli.PRUNE_EXAMPLES) and '"d": 2' in out
    assert path.read_bytes() == before
    assert cli.main(prune + ["--yes"]) == 0
    kept = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(kept) == n_before - n_stale and all(r["config"]["d"] == 1 for r in kept)
    assert f"dropped {n_stale} line(s)" in capsys.readouterr().out


def test_deadline_with_runs_left_exits_3(_isolated_store, capsys):
    """A job script must tell "done" from "stopped at the deadline" (it exited 0 for both)."""
    rc = cli.main(SMALL + ["--processes", "1", "--deadline", "1e-9"])
    assert rc == cli.EXIT_DEADLINE == 3
    assert "stopped at the deadline with 12 run(s) left" in capsys.readouterr().out
    assert cli.main(SMALL + ["--processes", "1"]) == 0  # the next call finishes the sweep


def test_exit_codes_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        cli.run_cli(["--help"])
    out = capsys.readouterr().out
    for code in cli.EXIT_CODES:
        assert f"\n  {code}  " in out


# ------------------------------------------------------------------ where relative paths go
@pytest.mark.parametrize("var", ["DERIVLEARN_RESULTS", "DERIVLEARN_CACHE"])
def test_a_relative_store_or_cache_is_relative_to_the_repository(monkeypatch, tmp_path, var):
    """The CLI runs in the root, the notebooks in notebooks/: both must use one folder."""
    root = store_mod.repo_root()
    assert root is not None
    monkeypatch.setenv(var, "myresults")
    seen = set()
    for cwd in (root, root / "notebooks", tmp_path):
        monkeypatch.chdir(cwd)
        seen.add(store_mod.default_root("book") if var == "DERIVLEARN_RESULTS"
                 else store_mod.cache_dir())
    assert seen == {root / "myresults"}


def test_without_a_repository_a_relative_store_is_relative_to_the_working_directory(
        monkeypatch, tmp_path):
    monkeypatch.setattr(store_mod, "repo_root", lambda: None)
    monkeypatch.setenv("DERIVLEARN_RESULTS", "myresults")
    monkeypatch.setenv("DERIVLEARN_CACHE", "mycache")
    monkeypatch.chdir(tmp_path)
    assert store_mod.default_root("book") == tmp_path / "myresults"
    assert store_mod.cache_dir() == tmp_path / "mycache"
    monkeypatch.setenv("DERIVLEARN_RESULTS", str(tmp_path / "abs"))
    assert store_mod.default_root("smoke") == tmp_path / "abs"


# ------------------------------------------------------------------ unwritable stores
def _counting_run(calls):
    def run(config, device):
        calls.append(config)
        return theory.RUN(config, device)
    return run


@pytest.mark.parametrize("pool", [False, True])
def test_an_unwritable_store_fails_before_any_run(monkeypatch, tmp_path, capsys, pool):
    """DERIVLEARN_RESULTS naming a file (fails even as root): error before the first run."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder\n")
    monkeypatch.setenv("DERIVLEARN_RESULTS", str(afile))
    calls: list = []
    monkeypatch.setattr(theory, "RUN", _counting_run(calls))
    argv = SMALL + (["--processes", "1"] if pool else [])
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "not writable" in err[0]
    assert calls == [] and afile.read_text() == "not a folder\n"
