from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from derivlearn.store import (
    ResultStore,
    config_key,
    default_root,
    make_record,
    open_store,
    to_jsonable,
)


def rec(x, status="ok", **kw):
    return make_record({"study": "s", "x": x}, status=status,
                       metrics=kw.pop("metrics", {"y": x * 2.0}), **kw)


def test_key_is_stable_and_order_independent():
    a = {"study": "s", "method": "gp", "n": 10, "lr": 0.005, "sizes": (1, 2)}
    b = dict(reversed(list(a.items())))
    assert config_key(a) == config_key(b)
    assert config_key(a) == config_key(a | {"sizes": [1, 2]})  # tuples and lists alike
    assert config_key(a) != config_key(a | {"lr": 0.0051})
    # Golden value: the hash must not change between versions, or stores lose their runs.
    assert config_key({"study": "s", "x": 1}) == "ad43d6e7d5e1e1ba"


def test_append_get_and_last_record_wins(tmp_path):
    store = ResultStore(tmp_path, "s")
    store.append(rec(1))
    store.append(rec(2))
    store.append(rec(1, metrics={"y": 99.0}))
    assert len(store) == 2
    assert store.get(config_key({"study": "s", "x": 1}, 1))["metrics"]["y"] == 99.0
    assert store.compact() == 1
    lines = store.path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(ln) for ln in lines)
    assert ResultStore(tmp_path, "s").get(config_key({"study": "s", "x": 1}, 1))["metrics"]["y"] == 99


def test_record_content(tmp_path):
    r = rec(3)
    for field in ("key", "study", "config", "metrics", "status", "reason", "wall_time_s",
                  "version", "env", "created"):
        assert field in r
    assert r["version"]["derivlearn"] and r["version"]["torch"]
    with pytest.raises(ValueError, match="reason"):
        make_record({"study": "s"}, status="failed")
    with pytest.raises(ValueError, match="'status'"):
        make_record({"study": "s"}, status="done")


def test_torn_write_is_skipped_on_read_and_cut_on_next_append(tmp_path):
    store = ResultStore(tmp_path, "s")
    store.append(rec(1))
    with open(store.path, "ab") as fh:  # a process died half-way through a line
        fh.write(b'{"key": "abc", "stat')
    with pytest.warns(RuntimeWarning, match="incomplete last line"):
        assert len(ResultStore(tmp_path, "s")) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store.append(rec(2))
    lines = store.path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(ln) for ln in lines[:-1])
    assert len(ResultStore(tmp_path, "s")) == 2


def test_corrupt_middle_line_is_an_error(tmp_path):
    store = ResultStore(tmp_path, "s")
    store.path.parent.mkdir(parents=True)
    store.path.write_text('{"key": "a", "status": "ok"}\nnot json\n')
    with pytest.raises(ValueError, match="records.jsonl:2"):
        store.records()


def test_to_jsonable_converts_numbers_and_refuses_objects():
    import torch

    out = to_jsonable({"a": np.float32(1.5), "b": np.arange(3), "c": torch.tensor([1.0, 2.0]),
                       "d": float("nan"), "e": (1, 2)})
    assert out == {"a": 1.5, "b": [0, 1, 2], "c": [1.0, 2.0], "d": None, "e": [1, 2]}
    with pytest.raises(TypeError, match="cannot store"):
        to_jsonable({"f": object()})


def test_frame_and_lookup(tmp_path):
    store = ResultStore(tmp_path, "s")
    for x in range(3):
        store.append(rec(x))
    df = store.frame([{"study": "s", "x": 2}, {"study": "s", "x": 0}])
    assert sorted(df["x"]) == [0, 2] and set(df["y"]) == {0.0, 4.0}
    assert store.lookup([{"study": "s", "x": 9}]) == [None]


def test_summary_paths(tmp_path):
    store = ResultStore(tmp_path, "s")
    p = store.write_summary({"a": 1.0}, "book")
    assert p.name == "summary.json" and json.loads(p.read_text())["a"] == 1.0
    assert store.write_summary({"a": 1}, "smoke").name == "summary.smoke.json"
    # same numbers: the file (and its version stamp) is kept; new numbers: rewritten
    body = json.loads(p.read_text()) | {"version": {"git": "older"}}
    p.write_text(json.dumps(body))
    store.write_summary({"a": 1.0}, "book")
    assert json.loads(p.read_text())["version"] == {"git": "older"}
    store.write_summary({"a": 2.0}, "book")
    assert json.loads(p.read_text())["a"] == 2.0 and json.loads(p.read_text())["version"]["torch"]


def test_a_summary_from_a_dirty_tree_takes_the_clean_commit_that_reproduces_it(tmp_path, monkeypatch):
    import derivlearn.store as st

    store = ResultStore(tmp_path, "s")
    monkeypatch.setattr(st, "version_info", lambda: {"git": "abc+dirty"})
    p = store.write_summary({"a": 1.0}, "book")
    monkeypatch.setattr(st, "version_info", lambda: {"git": "def"})
    store.write_summary({"a": 1.0}, "book")  # same numbers, now from a clean commit: restamped
    assert json.loads(p.read_text())["version"] == {"git": "def"}
    monkeypatch.setattr(st, "version_info", lambda: {"git": "ghi+dirty"})
    store.write_summary({"a": 1.0}, "book")  # a dirty tree never replaces a clean stamp
    assert json.loads(p.read_text())["version"] == {"git": "def"}


def test_default_roots(monkeypatch, tmp_path):
    monkeypatch.delenv("DERIVLEARN_RESULTS")
    monkeypatch.setenv("DERIVLEARN_CACHE", str(tmp_path))
    assert default_root("smoke") == tmp_path / "results-smoke"
    assert default_root("book").name == "results"
    assert open_store("theory", "smoke").dir == tmp_path / "results-smoke" / "theory"
    with pytest.raises(ValueError, match="'study'"):
        ResultStore(tmp_path, "../evil")


def test_records_frame_says_which_records_ran_on_a_gpu():
    from derivlearn.store import records_frame

    recs = [{"key": "a", "status": "ok", "config": {"d": 1}, "metrics": {}, "env": {"device": "cuda:0"}},
            {"key": "b", "status": "ok", "config": {"d": 2}, "metrics": {}, "env": {"device": "cpu"}},
            {"key": "c", "status": "ok", "config": {"d": 3}, "metrics": {}}]  # before records had env
    assert records_frame(recs)["ran_on"].tolist() == ["gpu", "cpu", "cpu"]
