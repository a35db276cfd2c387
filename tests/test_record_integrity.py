"""Store lines are validated on read, keys follow the result version, and infrastructure errors
are never recorded as a run's failure."""

from __future__ import annotations

import json
import warnings

import pytest

from derivlearn.pool import run_pool
from derivlearn.store import ResultStore, config_key, make_record
from derivlearn.sweep import RunsLeft, run_sweep

import sweep_helpers as h


def _store(tmp_path, n=4):
    store = ResultStore(tmp_path, "sweeptest")
    run_sweep(h.square, h.configs(n), store, scheduler="inprocess", device="cpu", progress=False)
    return store


def _rewrite_line(store, i, edit):
    lines = store.path.read_text().splitlines()
    rec = json.loads(lines[i])
    edit(rec)
    lines[i] = json.dumps(rec)
    store.path.write_text("\n".join(lines) + "\n")


def _calls(tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("DL_CALLS_FILE", str(calls))
    return lambda: sorted(int(x) for x in calls.read_text().split()) if calls.exists() else []


@pytest.mark.parametrize("damage,why", [
    (lambda r: r.pop("status"), "'status' is None"),
    (lambda r: r.pop("metrics"), "without a 'metrics'"),
    (lambda r: r.update(status="weird"), "'status' is 'weird'"),
    (lambda r: r["config"].update(x=7), "not the hash"),           # config edited, key kept
    (lambda r: r.update(result_version=2), "not the hash"),         # version edited, key kept
    (lambda r: r.update(result_version="1"), "'result_version'"),
    (lambda r: r.pop("config"), "no 'config'"),
    (lambda r: r.update(status="failed", reason=None), "without a 'reason'"),
])
def test_an_invalid_record_is_skipped_with_a_warning_naming_the_line_and_recomputed(
        tmp_path, monkeypatch, damage, why):
    store = _store(tmp_path)
    _rewrite_line(store, 2, damage)
    fresh = ResultStore(tmp_path, "sweeptest")
    with pytest.warns(RuntimeWarning, match=rf"records.jsonl:3: skipping an invalid record \(.*{why}"):
        assert len(fresh) == 3
    calls = _calls(tmp_path, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report = run_sweep(h.square, h.configs(4), fresh, scheduler="inprocess", device="cpu",
                           progress=False)
    assert calls() == [2] and report.n_run == 1 and report.n_failed == 0
    assert [r["config"]["x"] for r in report.records] == [0, 1, 2, 3]


def test_swapped_keys_are_never_served_for_the_wrong_config(tmp_path, monkeypatch):
    store = _store(tmp_path)
    lines = store.path.read_text().splitlines()
    a, b = json.loads(lines[0]), json.loads(lines[1])
    a["key"], b["key"] = b["key"], a["key"]
    store.path.write_text("\n".join([json.dumps(a), json.dumps(b)] + lines[2:]) + "\n")
    fresh = ResultStore(tmp_path, "sweeptest")
    with pytest.warns(RuntimeWarning, match="not the hash"):
        got = fresh.lookup(h.configs(4))
    assert got[0] is None and got[1] is None
    assert all(r is None or r["config"] == c for r, c in zip(got, h.configs(4), strict=True))
    calls = _calls(tmp_path, monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run_sweep(h.square, h.configs(4), fresh, scheduler="inprocess", device="cpu", progress=False)
    assert calls() == [0, 1]


def test_a_non_utf8_byte_is_an_error_naming_file_and_line(tmp_path):
    store = _store(tmp_path)
    data = store.path.read_bytes().split(b"\n")
    data[1] = data[1][:20] + b"\xff" + data[1][20:]
    store.path.write_bytes(b"\n".join(data))
    with pytest.raises(ValueError, match=r"records.jsonl:2: corrupt record"):
        ResultStore(tmp_path, "sweeptest").records()
    with pytest.raises(ValueError, match=r"records.jsonl:2: corrupt record"):
        ResultStore(tmp_path, "sweeptest").compact()


def test_compact_drops_invalid_records_with_a_warning(tmp_path):
    store = _store(tmp_path)
    _rewrite_line(store, 0, lambda r: r.update(status="weird"))
    with pytest.warns(RuntimeWarning, match="records.jsonl:1: dropping an invalid record"):
        assert store.compact() == 1
    assert len(ResultStore(tmp_path, "sweeptest")) == 3


def test_append_refuses_an_invalid_record(tmp_path):
    rec = make_record({"study": "s", "x": 1}, status="ok", metrics={"y": 1})
    rec["config"]["x"] = 2
    with pytest.raises(ValueError, match="not the hash"):
        ResultStore(tmp_path, "s").append(rec)


# ----------------------------------------------------------------------------- versions
def test_the_result_version_enters_the_key():
    c = {"study": "s", "x": 1}
    assert config_key(c, 1) != config_key(c, 2) != config_key(c)
    assert config_key(c, 1) == "9c91368de3c4f79d"  # golden: a change of scheme loses every store's runs
    rec = make_record(c, status="ok", metrics={}, version=3)
    assert rec["result_version"] == 3 and rec["key"] == config_key(c, 3)
    with pytest.raises(ValueError, match="'version'"):
        make_record(c, status="ok", metrics={}, version=0)


def test_records_of_an_older_version_are_recomputed_not_served(tmp_path, monkeypatch):
    store = _store(tmp_path)
    calls = _calls(tmp_path, monkeypatch)
    report = run_sweep(h.square, h.configs(4), store, scheduler="inprocess", device="cpu",
                       progress=False, version=2)
    assert calls() == [0, 1, 2, 3] and report.n_cached == 0
    assert {r["result_version"] for r in report.records} == {2}
    # a per-config version recomputes only the runs whose version moved
    report = run_sweep(h.square, h.configs(4), store, scheduler="inprocess", device="cpu",
                       progress=False, version=lambda c: 3 if c["x"] == 1 else 2)
    assert calls() == [0, 1, 1, 2, 3] and report.n_run == 1
    assert store.lookup(h.configs(4), version=2)[1]["result_version"] == 2  # older one kept
    newest = lambda c: 3 if c["x"] == 1 else 2  # noqa: E731
    assert store.compact(keep=h.configs(4), version=newest) == 5  # 9 lines, 4 kept


def test_migrate_gives_unversioned_records_a_version_and_keeps_their_results(tmp_path):
    store = ResultStore(tmp_path, "s")
    store.dir.mkdir(parents=True)
    legacy = []
    for x in range(3):
        rec = make_record({"study": "s", "x": x}, status="ok", metrics={"y": x})
        rec.pop("result_version")
        rec["key"] = config_key(rec["config"])  # how records were keyed before versions
        legacy.append(json.dumps(rec))
    store.path.write_text("\n".join(legacy) + "\n")
    assert store.lookup([{"study": "s", "x": 0}]) == [None]  # not served before migration
    assert store.migrate(1) == 3 and store.migrate(1) == 0
    got = ResultStore(tmp_path, "s").lookup([{"study": "s", "x": x} for x in range(3)])
    assert [r["metrics"]["y"] for r in got] == [0, 1, 2]


# ----------------------------------------------------------------------------- infrastructure
@pytest.mark.parametrize("where", ["inprocess", "pool"])
def test_infrastructure_errors_leave_the_run_pending_and_a_rerun_does_it(tmp_path, monkeypatch, where):
    store = ResultStore(tmp_path, "sweeptest")
    cfgs = h.configs(4)
    cfgs[1]["infra"] = True
    monkeypatch.delenv("DL_INFRA_FIXED", raising=False)

    def sweep():
        if where == "pool":
            return run_pool(h.square, cfgs, store, 1, "cpu", threads=1)
        return run_sweep(h.square, cfgs, store, scheduler="inprocess", device="cpu", progress=False)

    with pytest.raises(RunsLeft, match="1 run.*planned cache damage.*run the sweep again"):
        sweep()
    assert len(store) == 3 and store.lookup(cfgs)[1] is None  # the others are recorded
    monkeypatch.setenv("DL_INFRA_FIXED", "1")  # the cache healed
    sweep()
    assert store.lookup(cfgs)[1]["status"] == "ok"


@pytest.mark.parametrize("metrics", [{}, {"y": None, "pid": None, "device": None}])
def test_an_ok_record_without_a_metric_value_is_skipped(tmp_path, metrics):
    store = _store(tmp_path)
    _rewrite_line(store, 1, lambda r: r.update(metrics=metrics))
    with pytest.warns(RuntimeWarning, match="records.jsonl:2: .*without a single metric value"):
        assert ResultStore(tmp_path, "sweeptest").lookup(h.configs(4))[1] is None


def test_migrate_never_lets_an_old_line_beat_a_newer_record(tmp_path):
    store = ResultStore(tmp_path, "s")
    store.append(make_record({"study": "s", "x": 0}, status="ok", metrics={"y": 3}))  # current
    old = make_record({"study": "s", "x": 0}, status="ok", metrics={"y": 12345})
    old.pop("result_version")
    old["key"] = config_key(old["config"])  # an unversioned line, appended after it
    with open(store.path, "a") as fh:
        fh.write(json.dumps(old) + "\n")
    assert store.migrate(1) == 1
    assert ResultStore(tmp_path, "s").lookup([{"study": "s", "x": 0}])[0]["metrics"]["y"] == 3


# ----------------------------------------------------------------------------- compute off
def test_with_compute_off_a_chapter_reads_the_store_and_lists_what_is_missing(tmp_path, monkeypatch):
    from derivlearn.studies import theory
    from derivlearn.sweep import run_study

    cfg = theory.TheoryConfig.from_profile("smoke", compute=True)
    store = ResultStore(tmp_path, "theory")
    configs = theory.run_configs(cfg)
    run_study(cfg, theory.RUN, configs[:3], store)
    calls = []
    monkeypatch.setattr(theory, "polynomial_recovery", lambda c, d: calls.append(c))
    monkeypatch.setenv("DERIVLEARN_COMPUTE", "0")
    off = theory.TheoryConfig.from_profile("smoke")
    assert not off.compute_enabled and theory.TheoryConfig.from_profile("smoke", compute=True).compute_enabled
    report = run_study(off, theory.polynomial_recovery, configs, store)
    assert not calls and report.n_run == 0 and len(report.records) == 3
    assert report.missing == [dict(c) for c in configs[3:]]
    assert "not in the store yet" in str(report) and len(report.frame()) == 3


def test_the_book_build_of_the_book_profile_turns_compute_off(tmp_path, monkeypatch):
    import os

    from derivlearn import book

    seen = {}

    def execute(name, profile, out, root=None, parameters=None):
        seen[profile] = os.environ.get("DERIVLEARN_COMPUTE")
        raise RuntimeError("stop after the first chapter")

    monkeypatch.setattr(book, "execute", execute)
    for profile, expected in (("smoke", None), ("book", "0")):
        monkeypatch.delenv("DERIVLEARN_COMPUTE", raising=False)
        with pytest.raises(RuntimeError, match="stop"):
            book.build(profile, workdir=tmp_path)
        assert seen[profile] == expected
