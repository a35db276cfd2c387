"""Higher-order Sobolev study (draft): run plan, one run end to end, Table III orientation."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from derivlearn.studies import higher_order as ho


def test_run_plan_has_each_cell_once_and_value_training_once_per_size():
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    configs = ho.run_configs(cfg)
    cells = [(c["function"], c["order"], c["n_train"], c["weighting"], c["partials"]) for c in configs]
    assert len(cells) == len(set(cells))
    assert all((c[3], c[4]) == ("equal", "all") for c in cells if c[1] == 0)
    assert {c[3] for c in cells if c[1] > 0} == {"adaptive", "fixed"}
    assert {c[4] for c in cells if c[1] > 0} == {"all", "unique"}


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="orders"):
        ho.HigherOrderConfig.from_profile("smoke", orders=(1, 2))
    with pytest.raises(ValueError, match="functions"):
        ho.HigherOrderConfig.from_profile("smoke", functions=("nope",))


def test_one_run_gives_an_error_per_repetition():
    cfg = ho.HigherOrderConfig.from_profile("smoke")
    c = next(c for c in ho.run_configs(cfg) if c["order"] == 3)
    m = ho.run(c, "cpu")
    assert len(m["error"]) == cfg.reps and all(e is not None and e > 0 for e in m["error"])
    assert all(r > 0 for r in m["error_raw"])


def test_table3_is_fixed_over_adaptive():
    rows = [{"function": "branin", "category": "other", "order": 1, "N": 10, "weighting": w,
             "partials": "all", "rep": r, "error": e, "seconds_per_epoch": 0.1}
            for w, e in (("fixed", 4.0), ("adaptive", 2.0)) for r in range(2)]
    t = ho.table3(pd.DataFrame(rows), ["branin"], [10], [0, 1])
    assert t.loc[0, 1] == 2.0
    assert math.isnan(ho.table3(pd.DataFrame(rows[:2]), ["branin"], [10], [0, 1]).loc[0, 1])
