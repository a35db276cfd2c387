"""Command-line errors are one line `error: <message>` on stderr with a documented exit status,
never a traceback (python -m derivlearn.run, python -m derivlearn.book)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from derivlearn import book
from derivlearn import run as cli
from derivlearn.studies import theory
from derivlearn.sweep import InfrastructureError

SMALL = ["theory", "--profile", "smoke", "--set", "dims=[1]", "--set", "seeds=1"]


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv,needle", [
    (["nosuch"], "parameter 'study': got 'nosuch'"),
    (["theory", "--set", "dims=[1, 2"], "parameter '--set dims': cannot read '[1, 2' as YAML"),
    (["theory", "--set", "dims=: :"], "parameter '--set dims'"),
    (["theory", "--set", "seeds=1", "--set", "dims=!!python/object/apply:os.system [x]"],
     "parameter '--set dims'"),
    (SMALL + ["--processes", "0"], "parameter '--processes'"),
    (["theory", "--set", "seeds=-3"], "parameter 'seeds'"),
])
def test_run_errors_are_one_line_and_exit_2(argv, needle, capsys):
    assert cli.main(argv) == cli.EXIT_USAGE == 2
    assert needle in _one_error_line(capsys.readouterr().err)


def test_a_bad_connect_timeout_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("DERIVLEARN_CONNECT_TIMEOUT", "soon")
    monkeypatch.setenv("DERIVLEARN_SCHEDULER", "tcp://127.0.0.1:1")
    assert cli.main(SMALL) == 2
    assert "parameter 'DERIVLEARN_CONNECT_TIMEOUT': got 'soon'" in \
        _one_error_line(capsys.readouterr().err)


def test_python_dash_m_run_prints_one_line(tmp_path):
    """The real entry point: no traceback, exit status 2."""
    out = subprocess.run([sys.executable, "-m", "derivlearn.run", "theory", "--profile", "smoke",
                          "--set", "dims=[1, 2"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120, check=False)
    assert out.returncode == 2
    assert "'--set dims'" in _one_error_line(out.stderr)


def _lost(config, device):
    raise InfrastructureError("the cache is damaged")


def test_runs_lost_to_infrastructure_errors_exit_4(monkeypatch, capsys, _isolated_store):
    monkeypatch.setattr(theory, "RUN", _lost)
    assert cli.main(SMALL + ["--set", "scheduler=inprocess"]) == cli.EXIT_RUNS_LOST == 4
    line = _one_error_line(capsys.readouterr().err)
    assert "were lost to an infrastructure failure" in line and "run the sweep again" in line
    assert not (_isolated_store / "theory" / "records.jsonl").read_bytes()  # nothing recorded


def test_failed_runs_exit_1(monkeypatch, capsys):
    def fails(config, device):
        raise ArithmeticError("planned")

    monkeypatch.setattr(theory, "RUN", fails)
    assert cli.main(SMALL + ["--set", "scheduler=inprocess"]) == cli.EXIT_FAILED == 1


@pytest.mark.parametrize("argv,needle", [
    (["--profile", "smok"], "parameter 'profile': got 'smok'"),
    (["--only", "theroy"], "parameter 'only': got 'theroy'"),
])
def test_book_errors_are_one_line_and_exit_2(argv, needle, capsys, tmp_path):
    assert book.main(argv + ["--workdir", str(tmp_path)]) == 2
    assert needle in _one_error_line(capsys.readouterr().err)


def test_a_study_is_also_named_by_its_results_folder(capsys):
    """``higher_order_sobolev`` (the results folder the notebook's message names) runs the
    ``higher_order`` study: the prune dry run of an isolated store answers for it."""
    from derivlearn.run import run_cli

    assert run_cli(["higher_order_sobolev", "--profile", "smoke", "--prune"]) == 0
    assert "higher_order_sobolev" in capsys.readouterr().out
