from __future__ import annotations

import builtins
import json
import math
from pathlib import Path

import numpy as np
import pytest

from derivlearn.params import PROFILES, Choice, ListOf, Range, Scheduler, resolve_device
from derivlearn.studies.theory import TheoryConfig


def test_profile_defaults_and_overrides():
    smoke = TheoryConfig.from_profile("smoke")
    book = TheoryConfig.from_profile("book")
    assert smoke.dims != book.dims
    cfg = TheoryConfig.from_profile("book", seeds=7, dims=[1, 2])
    assert cfg.seeds == 7 and cfg.dims == (1, 2)
    assert cfg.degrees == book.degrees  # untouched knobs keep the profile's value
    assert TheoryConfig.from_profile("book", seeds=None).seeds == book.seeds  # None = default


@pytest.mark.parametrize("kwargs, name", [
    ({"profile": "huge"}, "profile"),
    ({"seeds": 0}, "seeds"),
    ({"seeds": 2.5}, "seeds"),
    ({"seeds": "3"}, "seeds"),
    ({"dims": [1, 99]}, "dims[1]"),
    ({"dims": []}, "dims"),
    ({"dims": [2, 2]}, "dims"),
    ({"device": "tpu"}, "device"),
    ({"scheduler": "somewhere"}, "scheduler"),
    ({"recompute": "yes"}, "recompute"),
    ({"dims": [12], "degrees": [8]}, "dims"),  # cross-field check: too many coefficients
])
def test_bad_values_name_the_parameter_and_allowed_values(kwargs, name):
    profile = kwargs.pop("profile", "smoke")
    with pytest.raises(ValueError, match="allowed") as err:
        TheoryConfig.from_profile(profile, **kwargs)
    assert repr(name) in str(err.value) or name in str(err.value)


def test_unknown_parameter_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown parameter.*'sedes'.*allowed:.*'seeds'"):
        TheoryConfig.from_profile("smoke", sedes=3)


def test_checks():
    assert Range(0, 1)("x", 0.5) == 0.5
    assert Range(1, 5, integer=True)("n", 3.0) == 3
    with pytest.raises(ValueError, match="'x'"):
        Range(0, 1)("x", float("nan"))
    with pytest.raises(ValueError):
        Range(0, 1)("x", True)
    with pytest.raises(ValueError, match="'x'"):
        Range(0, 1)("x", 10**400)
    assert ListOf(Choice(("a", "b")))("m", ["b", "a"]) == ("b", "a")
    with pytest.raises(ValueError, match="'m\\[0\\]'"):
        ListOf(Choice(("a", "b")))("m", ["c"])
    assert Scheduler()("s", "tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError, match="'device'"):
        resolve_device("gpu0")


def test_as_dict_is_json_ready():
    import json

    d = TheoryConfig.from_profile("smoke").as_dict()
    assert json.loads(json.dumps(d))["dims"] == [1, 2, 3]


# ----------------------------------------------------------------------------- every profile
def _study_profiles():
    from derivlearn.run import studies

    return [(s, p) for s in studies() for p in PROFILES]


@pytest.mark.parametrize("study, profile", _study_profiles())
def test_every_profile_of_every_study_validates(study, profile):
    """`make book PROFILE=full` must not stop at a chapter's own profile (theory's full profile
    once had (d, p) = (9, 6), 5005 coefficients against the cap of 5000)."""
    import importlib

    mod = importlib.import_module(f"derivlearn.studies.{study}")
    cfg = mod.CONFIG.from_profile(profile)
    assert cfg.profile == profile and mod.run_configs(cfg)


# ----------------------------------------------------------------------------- scheduler
def test_scheduler_precedence(monkeypatch):
    """override > $DERIVLEARN_SCHEDULER > profile default > None (automatic)."""
    assert TheoryConfig.PROFILE_TABLE["smoke"]["scheduler"] == "inprocess"  # smoke pins one
    assert "scheduler" not in TheoryConfig.PROFILE_TABLE["book"]
    assert TheoryConfig.from_profile("smoke").scheduler == "inprocess"  # profile > nothing
    assert TheoryConfig.from_profile("book").scheduler is None  # nothing: automatic
    monkeypatch.setenv("DERIVLEARN_SCHEDULER", "tcp://head:8786")
    assert TheoryConfig.from_profile("smoke").scheduler == "tcp://head:8786"  # env > profile
    assert TheoryConfig.from_profile("book").scheduler == "tcp://head:8786"
    assert TheoryConfig.from_profile("smoke", scheduler="local").scheduler == "local"  # override
    assert TheoryConfig.from_profile("smoke", scheduler=None).scheduler == "tcp://head:8786"
    monkeypatch.setenv("DERIVLEARN_SCHEDULER", "")  # empty: as if unset
    assert TheoryConfig.from_profile("smoke").scheduler == "inprocess"


def test_scheduler_from_environment_is_validated(monkeypatch):
    from derivlearn.sweep import resolve_scheduler

    monkeypatch.setenv("DERIVLEARN_SCHEDULER", "somewhere")
    with pytest.raises(ValueError, match="DERIVLEARN_SCHEDULER.*'scheduler'.*allowed"):
        TheoryConfig.from_profile("smoke")
    with pytest.raises(ValueError, match="DERIVLEARN_SCHEDULER.*'scheduler'.*allowed"):
        resolve_scheduler(None, 3, "cpu")
    assert TheoryConfig.from_profile("smoke", scheduler="inprocess").scheduler == "inprocess"


def test_run_cli_set_scheduler_beats_the_environment(monkeypatch, capsys):
    from derivlearn import run

    monkeypatch.setenv("DERIVLEARN_SCHEDULER", "tcp://127.0.0.1:9")  # nothing listens there
    assert run.main(["theory", "--profile", "smoke", "--set", "scheduler=inprocess"]) == 0
    assert "scheduler      = 'inprocess'" in capsys.readouterr().out


# ----------------------------------------------------------------------------- from_notebook
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
IPYTHON_GLOBALS = {"__name__": "__main__", "__builtins__": builtins, "_ih": [""], "_oh": {}, "_dh": [],
                   "In": [""], "Out": {}, "get_ipython": lambda: None, "exit": object(),
                   "quit": object(), "_": "", "__": "", "___": "", "_i": "", "_ii": "", "_i1": ""}
"""What an IPython kernel defines before the first cell (``exit``/``quit`` are not callable)."""


def _parameters_cell(name: str) -> str:
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "parameters" in cell["metadata"]["tags"]
    return "".join(cell["source"])


def _notebook_namespace(injected: dict | None = None, name: str = "theory") -> dict:
    """The globals a chapter's config cell sees: IPython's, the parameters cell's, papermill's
    injected values, and the config cell's imports."""
    ns = dict(IPYTHON_GLOBALS)
    exec(_parameters_cell(name), ns)  # noqa: S102 - our own notebook's parameters cell
    ns.update(injected or {})
    ns.update({"np": np, "plt": math, "Markdown": str, "display": print, "run_study": len})
    return ns


def test_from_notebook_collects_the_declared_knobs():
    ns = _notebook_namespace({"profile": "smoke", "seeds": 2, "dims": [1, 2]})
    assert "PARAMETERS" in ns and "In" in ns["PARAMETERS"]  # dir() sees IPython's names too
    cfg = TheoryConfig.from_notebook(ns, ns["PARAMETERS"])
    assert cfg == TheoryConfig.from_profile("smoke", seeds=2, dims=[1, 2])
    ns = _notebook_namespace()
    assert TheoryConfig.from_notebook(ns, ns["PARAMETERS"]) == TheoryConfig.from_profile("book")


@pytest.mark.parametrize("injected, unknown", [
    ({"sedes": 3}, "'sedes'"),
    ({"profile": "smoke", "sedes": 3, "dimz": [1]}, "'dimz', 'sedes'"),
    ({"Seeds": 3}, "'Seeds'"),
    ({"flag": None}, "'flag'"),  # even a None (papermill -p flag None) is refused
    ({"_seeds": 3}, "'_seeds'"),  # a leading underscore is not an IPython name
])
def test_from_notebook_refuses_undeclared_injected_names(injected, unknown):
    ns = _notebook_namespace(injected)
    with pytest.raises(ValueError, match=rf"unknown parameter\(s\) \[{unknown}\].*allowed:.*'seeds'"):
        TheoryConfig.from_notebook(ns, ns["PARAMETERS"])


def test_from_notebook_validates_like_from_profile():
    ns = _notebook_namespace({"seeds": -1})
    with pytest.raises(ValueError, match="'seeds'.*allowed"):
        TheoryConfig.from_notebook(ns, ns["PARAMETERS"])
    ns = _notebook_namespace({"profile": "huge"})
    with pytest.raises(ValueError, match="'profile'.*allowed"):
        TheoryConfig.from_notebook(ns, ns["PARAMETERS"])


def test_from_notebook_edge_cases():
    ns = _notebook_namespace({"PARAMETERS": 3})  # papermill -p PARAMETERS 3
    with pytest.raises(ValueError, match="'PARAMETERS' is not a parameter"):
        TheoryConfig.from_notebook(ns, ns["PARAMETERS"])
    with pytest.raises(ValueError, match="declares no 'profile'"):
        TheoryConfig.from_notebook({"seeds": 2}, ["seeds"])
    # a second "run all" in Jupyter: the earlier run's results were there when the parameters
    # cell ran (so it declared them); they are neither knobs nor unknown parameters
    ns = dict(IPYTHON_GLOBALS, df=[1], report="r", cfg=TheoryConfig.from_profile("smoke"))
    exec(_parameters_cell("theory"), ns)  # noqa: S102
    assert TheoryConfig.from_notebook(ns, ns["PARAMETERS"]).profile == "book"
