from __future__ import annotations

import pytest

from derivlearn.params import Choice, ListOf, Range, Scheduler, resolve_device
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
