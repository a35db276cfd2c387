"""The FE-scaling chapter's report (derivlearn.studies.fe_report): both arms, partial records,
the claim table, the checks' verdicts, the figures' layout and summary.json."""

from __future__ import annotations

import json
import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from derivlearn import cost
from derivlearn.claims import to_records
from derivlearn.store import records_frame
from derivlearn.studies import fe_report as fr
from derivlearn.studies import fe_scaling as fs
from derivlearn.typeset import plain

matplotlib.use("Agg")
SIZES = (2, 5, 10, 20, 40)


def _metrics(c: dict) -> dict:
    """Synthetic run metrics: R² rises with the effort; the paper arm's value NN stalls at 0.9."""
    d, m = c["d"], c["method"]
    order = fs.ORDER[m]
    scale = 3.0 * d * (0.6 if order else 1.0) * (1.3 if c.get("activation_order") == "loads_first" else 1)
    r2 = [1 - math.exp(-n * cost.cost(d, order) / scale) for n in c["sizes"]]
    if m == "nn0" and c.get("arm") is None and c.get("weight_decay", 0) > 0:
        r2 = [min(r, 0.9) for r in r2]
    metrics = {"r2": r2, "failed": [None] * len(r2), "seconds": 1.0}
    if m.startswith("nn"):
        metrics["stop_reason"] = ["target" if r > 0.997 else "patience" for r in r2]
        metrics["best_epoch"] = [100] * len(r2)
    return {"key": str(id(c)), "status": "ok", "config": c, "metrics": metrics}


def _records(cfg, keep=lambda c: True):
    configs = fs.run_configs(cfg)
    got = [c for c in configs if keep(c)]
    return records_frame([_metrics(c) for c in got]), [c for c in configs if not keep(c)]


@pytest.fixture(scope="module")
def cfg():
    return fs.FEScalingConfig.from_profile("smoke", dims=(2, 4, 6), sizes=SIZES, seeds=3, n_samples=100,
                                           n_test=20, n_val=20)


@pytest.fixture(scope="module")
def partial(cfg):
    """Every run except the no-decay arm's Hessian networks and the activation-order check."""
    records, missing = _records(cfg, lambda c: not (c.get("arm") == "no_decay" and c["method"] == "nn2")
                                and c.get("kind") != "order_check")
    return fr.analyse(cfg, records, missing, reps=200)


def test_fmt_num():
    assert [fr.fmt_num(v) for v in (0.0371, 0.4, 1.47, 12.3, 234.1, math.inf, math.nan, None, 0.0)] == \
        ["0.037", "0.40", "1.5", "12", "234", "∞", "—", "—", "0"]


def test_effort_intervals_bracket_the_median_over_seeds():
    rows = [{"problem": "frame", "d": 2, "method": "nn0", "seed": s, "N": n, "r2": r}
            for s, hit in enumerate((5, 10, 20, None)) for n, r in
            ((5, 0.95 if hit == 5 else 0.5), (10, 0.95 if hit in (5, 10) else 0.5),
             (20, 0.95 if hit in (5, 10, 20) else 0.5))]
    tab = fr.effort_intervals(pd.DataFrame(rows), [0.9], reps=300)
    (r,) = tab.itertuples()
    assert (r.reached, r.seeds) == (3, 4)
    per = sorted(fs.seed_efforts(pd.DataFrame(rows), 0.9)["effort"])  # 5, <10, <20, inf
    assert r.median == per[2] and r.lo <= r.median <= r.hi  # the upper of the two middle values
    assert math.isinf(r.hi)                             # resamples with two or more inf seeds


def test_both_arms_side_by_side_and_missing_runs_not_tested(cfg, partial):
    arms = [fr.arm_of_claim(c) for c in partial.claims if c.claim.startswith(("Sobolev", "Hessian"))]
    assert arms == ["paper", "no_decay"] * (len(arms) // 2) and len(arms) == 2 * (1 + 2 + 2)
    hess = [c for c in partial.claims if c.claim.startswith("Hessian") and "no-decay" in c.claim]
    assert all(c.verdict == "not tested" and c.ours.startswith("no records") for c in hess)
    assert fr.find(partial.claims, "Sobolev NN (order 1) beats", "paper", "rosenbrock") is not None
    prog = partial.progress.set_index("part")
    assert prog.loc["no_decay", "recorded"] < prog.loc["no_decay", "planned"]
    assert prog.loc["activation_order", "recorded"] == 0 and prog.loc["paper", "recorded"] == \
        prog.loc["paper", "planned"]
    text = fr.progress_markdown(partial)
    assert "no-decay arm" in text and "activation order check: 0 of" in text


def test_reader_text_has_no_python_reprs(partial):
    texts = [fr.answer_markdown(partial), fr.claim_table_markdown(partial), fr.which_arm_markdown(partial),
             fr.validation_markdown(partial), fr.order_markdown(partial), fr.budget_markdown(partial),
             fr.nn_check_markdown(partial, "weight_decay"), fr.nn_check_sentence(partial, "epochs"),
             *(f(partial, p) for f in (fr.figure_note_effort, fr.figure_note_ratio, fr.figure_note_score)
               for p in ("frame", "rosenbrock"))]
    for t in texts:
        t = plain(t).replace("(0.40)", "").replace("(0.67)", "").replace("(0.29)", "")
        for bad in ("True", "False", "None", "nan", "inf"):   # words: "information" is fine
            assert not re.search(rf"\b{bad}\b", t), (bad, t)
        for bad in ("[]", "['", "(0."):
            assert bad not in t, (bad, t)
    table = fr.claim_table_markdown(partial)
    rows = [r for r in table.splitlines() if re.search(r"\| \d+\. ", r)]  # numbered in the claim column
    assert len(rows) == len({fr.claim_name(c) for c in partial.claims})  # arms side by side
    net = [r for r in rows if "paper arm" not in r and "Sobolev NN (order 1) beats" in r]
    assert len(net) == 2 and all(r.count("{bdg-") == 2 for r in net)  # one verdict per arm
    gp = [r for r in rows if r.startswith("| {bdg-")]          # GP rows: verdict | claim | ours
    assert gp and all("GE-GPR" in r for r in gp)
    assert all(re.match(r"\| \d+\. ", r) for r in rows if r not in gp)  # networks: the claim first
    # on a phone each row is a card: both tables sit in a phone-cards block with their labels' class
    assert ":::{div} phone-cards claim-cards" in table and ":::{div} phone-cards arm-cards" in table
    assert table.index(":::{div} phone-cards claim-cards") < table.index(gp[0])
    assert table.index(":::{div} phone-cards arm-cards") < table.index(net[0])
    assert all(len(re.sub(r"\{bdg-\w+\}`[^`]*` ", "", plain(cell))) <= 180
               for r in rows for cell in r.strip("| ").split(" | ")
               if not re.match(r"\d+\. ", cell))  # short cells (the badge aside) besides the claim's
    assert table.count("Rule 2 (beats the value NN)") == 1   # each rule once, not per row
    assert "earlier point rules" in table


def test_summary_holds_both_arms_and_the_claim_table(partial):
    s = fr.chapter_summary(partial)
    json.dumps(s, allow_nan=False)
    assert set(s["arms"]) == {"paper", "no_decay"}
    assert s["claims"] == to_records(partial.claims)
    e = s["arms"]["no_decay"]["effort_to_target"]["frame"]["nn1"]["0.99"]["4"]
    assert e["lo"] <= e["median"] <= e["hi"] and e["seeds"] == 3
    assert s["arms"]["paper"]["follows_theory"]["of"] >= 1
    assert {"progress", "validation", "activation_order", "point_rule_readings"} <= set(s)


def _validation_report(fixed, per_seed, fixed_nd=None, per_seed_nd=None):
    """A report whose stops hold the paper arm's frame d = 4 runs and the first validation check
    (3 seeds, ``(stopped, below)`` per seed), and optionally the no-decay arm's and the second."""
    rows = []
    parts = [("paper", fixed), ("val_split", per_seed)]
    if fixed_nd is not None:
        parts += [("no_decay", fixed_nd), ("val_split_nd", per_seed_nd)]
    for group, (stopped, below) in parts:
        for seed in range(3):
            rows.append({"group": group, "problem": "frame", "d": 4, "method": "nn0", "seed": seed,
                         "stopped": stopped, "below": below})
    cfg = fs.FEScalingConfig.from_profile("smoke")
    return fr.Report(cfg, *([None] * 3), long={"paper": None, "no_decay": None}, efforts={}, ratios={},
                     readings={}, point_summary={}, point_claims=[], claims=[], checks=pd.DataFrame(),
                     progress=pd.DataFrame(columns=["part", "recorded", "planned"]),
                     stops=pd.DataFrame(rows))


def test_validation_rule_reads_the_share_at_frame_d4():
    rep_with = _validation_report
    assert fr.validation_numbers(rep_with((4, 2), (4, 0)))["verdict"] == "explained"
    assert fr.validation_numbers(rep_with((4, 2), (4, 1)))["verdict"] == "partly explained"
    assert fr.validation_numbers(rep_with((4, 2), (4, 2)))["verdict"] == "not explained"
    assert fr.validation_numbers(rep_with((1, 1), (1, 0)))["verdict"] == "not tested"


def test_two_validation_checks_are_combined_by_their_rule():
    v = fr.validation_numbers(_validation_report((4, 2), (4, 2), (4, 2), (4, 2)))
    assert v["verdicts"] == {"val_split": "not explained", "val_split_nd": "not explained"}
    assert v["verdict"] == "not explained"
    v = fr.validation_numbers(_validation_report((4, 2), (4, 2), (4, 2), (4, 0)))
    assert v["verdicts"]["val_split_nd"] == "explained" and v["verdict"] == "disagree"
    assert "**The two checks disagree**" in fr._validation_sentence(v, None)
    # a check with too few members gives no reading: the other one decides
    v = fr.validation_numbers(_validation_report((4, 2), (4, 2), (1, 1), (1, 0)))
    assert v["verdicts"]["val_split_nd"] == "not tested" and v["verdict"] == "not explained"


def test_validation_margin_counts_the_members_that_change_a_reading():
    # 4 of 12 below against 7 of 11: not explained; one fewer below (3 of 12) would read partly
    cell = {"stopped_fixed": 11, "below_fixed": 7, "stopped_per_seed": 12, "below_per_seed": 4}
    assert fr._val_verdict(cell) == "not explained" and fr.val_margin(cell) == -1
    cell = {"stopped_fixed": 10, "below_fixed": 10, "stopped_per_seed": 10, "below_per_seed": 0}
    assert fr._val_verdict(cell) == "explained" and fr.val_margin(cell) == 2   # 2 of 10 is above 10 %
    assert fr.val_margin({**cell, "stopped_per_seed": 3, "below_per_seed": 1}) is None  # too few: no test


def test_activation_order_rule():
    cfg = fs.FEScalingConfig.from_profile("smoke", dims=(2, 4), sizes=SIZES, seeds=3, n_samples=100,
                                          n_test=20, n_val=20, checks=("activation_order",),
                                          problems=("frame",), methods=("gp", "nn0", "nn1"))
    records, missing = _records(cfg)
    rep = fr.analyse(cfg, records, missing, reps=50)
    o = fr.order_numbers(rep)
    assert o["pairs"] > 0 and o["verdict"] == "matters little"  # loads first: 1.3x the effort
    assert 1.2 < o["max_factor"] < 1.4
    assert "matters little" in fr.order_markdown(rep)
    assert fr.order_numbers(fr.analyse(cfg, *_records(cfg, lambda c: c.get("kind") != "order_check"),
                                       reps=50))["verdict"] == "not tested"


@pytest.mark.parametrize("make", [fr.score_figure, fr.effort_figure, fr.ratio_figure])
def test_figures_fit_the_page(partial, make):
    import matplotlib.pyplot as plt

    for problem in ("frame",) if make is not fr.ratio_figure else ("frame", "rosenbrock"):
        fig = make(partial, problem)
        fig.canvas.draw()
        grid = fig.axes[0].get_subplotspec().get_gridspec()
        assert grid.ncols <= 3 and fig.get_size_inches()[0] <= 8
        for ax in fig.axes:
            labelled = [lab for lab in ax.get_legend_handles_labels()[1] if not lab.startswith("_")]
            assert len(labelled) <= 5, labelled
            ticks = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
            assert all(t.get_fontsize() >= 9 for t in ticks)  # inner panels share their labels
            assert ax.get_legend() is None                    # one legend, for the whole figure
        assert len(fig.legends) == 1 and fig.legends[0].get_texts()[0].get_fontsize() >= 9
        plt.close(fig)


def test_paper_markers_only_where_the_paper_gives_the_ratio(partial):
    import matplotlib.pyplot as plt

    fig = fr.ratio_figure(partial, "frame")
    stars = [ax for ax in fig.axes if any(lab == "paper: follows 2/(d+1)"
                                          for lab in ax.get_legend_handles_labels()[1])]
    assert stars and all("NN" in ax.get_title() for ax in stars)
    plt.close(fig)
    fig = fr.ratio_figure(partial, "rosenbrock")
    stars = [ax.get_title() for ax in fig.axes
             if "paper: follows 2/(d+1)" in ax.get_legend_handles_labels()[1]]
    assert stars == ["GP, R² ≥ 0.99"]
    plt.close(fig)


def test_answer_is_built_from_the_claims(partial):
    text = fr.answer_markdown(partial)
    f = partial.readings["no_decay"]["follow"]
    assert f"at **{f['within']} of {f['of']} (target, d) pairs**" in plain(text)
    assert "{bdg-" in text and np.isfinite(f["within"])


def test_an_arm_claim_is_provisional_until_its_planned_runs_are_recorded(cfg):
    one = next(c for c in fs.run_configs(cfg) if c.get("arm") == "no_decay" and c["method"] == "nn1"
               and c["problem"] == "frame" and c.get("kind") is None)
    records, missing = _records(cfg, lambda c: c != one and c.get("kind") != "order_check")
    rep = fr.analyse(cfg, records, missing, reps=200)
    no_decay = {c.claim: c for c in rep.claims if fr.arm_of_claim(c) == "no_decay"}
    follow = no_decay["Sobolev NN (order 1) follows 2/(d+1) on the frame (no-decay arm)"]
    have, need = fr.planned_runs(cfg, missing, "no_decay", "follow", "frame")
    assert (have, need) == (need - 1, need) and need > 0
    assert follow.verdict == "not tested"
    assert follow.ours.startswith(f"provisional, on {have} of the {need} planned runs: ")
    assert "; would read: " in follow.ours
    ros = no_decay["Sobolev NN (order 1) beats the value NN at d ≥ 4 (Rosenbrock, no-decay arm)"]
    assert not ros.ours.startswith("provisional")   # Rosenbrock's runs are all there


def test_readings_under_the_rules_as_first_written_leave_the_cells_for_a_dropdown(partial):
    table = fr.claim_table_markdown(partial)
    assert fs.FIRST_READING not in table
    hess = [c for c in partial.claims if c.claim.startswith("Hessian NN") and fs.FIRST_READING in c.ours]
    assert hess   # the smoke records: NN2 also wins at d < 4 and over NN1 somewhere
    assert "Under the rules as first written these rows read:" in table


@pytest.mark.parametrize("intervals, verdict", [
    ([(1.1, 1.6), (0.7, 1.4)], "matters little"),
    ([(2.5, 4.0), (0.7, 1.4)], "matters"),          # one cell's interval beyond a factor 2
    ([(0.9, 3.0), (0.7, 1.4)], "cannot tell"),      # one cell's interval straddles the factor
])
def test_activation_order_is_judged_with_paired_intervals(intervals, verdict):
    rows = [{"check": "activation_order", "method": "nn0", "target": 0.99, "d": d, "effort": 10.0,
             "effort_check": 10.0 * (lo + hi) / 2, "seeds": 3, "ratio": (lo + hi) / 2,
             "ratio_lo": lo, "ratio_hi": hi} for d, (lo, hi) in zip((2, 4), intervals, strict=True)]

    class Rep:
        checks = pd.DataFrame(rows)

    o = fr.order_numbers(Rep)
    assert o["verdict"] == verdict and o["pairs"] == 2
    assert o["median_factor"] == pytest.approx(np.median([max(r["ratio"], 1 / r["ratio"]) for r in rows]))


def test_the_cap_sentence_counts_both_arms(partial):
    s = fr.cap_sentence(partial)
    assert s.startswith("In the paper arm, 0 of ") and "in the no-decay arm, 0 of " in s
    assert "-epoch cap" in s and "None" not in s


def test_what_remains_of_the_validation_anomaly_follows_the_check(partial):
    text = fr.validation_remains(partial)
    verdict = fr.validation_numbers(partial)["verdict"]
    assert "0.997" in text and ("does not remove it" in text) == (verdict == "not explained")


def test_the_answer_says_a_provisional_reading_is_provisional(cfg):
    one = next(c for c in fs.run_configs(cfg) if c.get("arm") == "no_decay" and c["method"] == "nn1"
               and c["problem"] == "frame" and c.get("kind") is None)
    rep = fr.analyse(cfg, *_records(cfg, lambda c: c != one and c.get("kind") != "order_check"), reps=200)
    text = fr.answer_markdown(rep)
    assert "(provisional: " in text and " runs recorded, would read " in text


def test_a_provisional_row_with_a_first_reading_keeps_both_in_the_table(partial):
    """A row read on part of its runs that also differs under the rule as first written: the
    first reading's badge goes under the table, the "would read" stays in the row (this once
    raised: the whole tail was taken for a verdict)."""
    import dataclasses

    c = next(c for c in partial.claims if fr.arm_of_claim(c) is not None)
    odd = dataclasses.replace(c, ours=f"wins at d = 4{fs.FIRST_READING}partly confirmed; would read: "
                                      "not confirmed", verdict="not tested")
    rep = dataclasses.replace(partial, claims=[odd if x is c else x for x in partial.claims])
    table = plain(fr.claim_table_markdown(rep))
    assert "wins at d = 4 (first rule: partly confirmed); would read: not confirmed" in table
    assert "{bdg-warning}`partly confirmed`" in table  # the first reading, under the table


def test_gp_claims_read_the_intervals_and_keep_the_median_reading():
    """A GE-GPR / GPR interval that straddles 1 is a tie, so a row the medians confirm is partly
    confirmed, with the median reading printed beside it."""
    from derivlearn.claims import Claim

    cfg = fs.FEScalingConfig.from_profile("smoke", dims=(4, 5, 6), problems=("frame",))
    hi = max(cfg.targets)
    cells = {4: (0.5, 0.4, 0.8), 5: (0.61, 0.50, 1.03), 6: (0.0, 0.0, 0.3)}
    table = pd.DataFrame([{"problem": "frame", "target": hi, "d": d, "enh": "gegp", "base": "gp", "ratio": r,
                           "lo": lo, "hi": up, "theory": 2 / (d + 1)} for d, (r, lo, up) in cells.items()])
    point = Claim("GE-GPR beats GPR at d ≥ 4 (frame)", fs.PAPER["beats"], "wins at d = 4–6",
                  "confirmed", fs.RULE_POINT)
    (c,) = fs.gp_claims(cfg, table, np.zeros((10, len(table))), [point])
    assert c.verdict == "partly confirmed" and c.deviation == fs.RULE_GP_BEATS
    assert c.ours.startswith("wins at d = 4, 6; ties at d = 5 (R² ≥ 0.99); only GE-GPR reaches it at d = 6")
    assert c.ours.endswith(f"{fs.FIRST_READING}confirmed")
    # the same verdict under both rules: no first reading
    table.loc[table["d"] == 5, "hi"] = 0.9
    (c,) = fs.gp_claims(cfg, table, np.zeros((10, len(table))), [point])
    assert c.verdict == "confirmed" and fs.FIRST_READING not in c.ours


def test_count_interval_wording():
    assert fs.count_interval(9.0, 12.0) == "95 % interval 9–12"
    assert fs.count_interval(4.0, 4.0) == "95 % interval: exactly 4"
    assert fs.count_interval(math.nan, math.nan) == "95 % interval –––"


def test_order_ratios_show_where_the_order_moves_the_first_order_ratio():
    rows = [{"method": m, "target": 0.99, "d": 4, "table": t, "loads_first": lf, "seeds": 3}
            for m, t, lf in (("nn0", 184.0, 15.0), ("nn1", 5.8, 7.4))]
    rows += [{"method": m, "target": 0.9, "d": 4, "table": t, "loads_first": lf, "seeds": 3}
             for m, t, lf in (("nn0", 11.0, 7.0), ("nn1", 4.6, 2.4))]
    o = {"rows": rows}
    got = {r["target"]: r for r in fr.order_ratios(o)}
    assert got[0.99]["table"] == pytest.approx(5.8 / 184)
    assert got[0.99]["loads_first"] == pytest.approx(7.4 / 15)
    assert got[0.99]["theory"] == pytest.approx(0.4)
    assert [r["target"] for r in fr.order_moved(o)] == [0.99]   # 0.032 -> 0.49 crosses into the band
    assert "0.032 in Table 1's order and 0.49 with the loads first" in fr.order_ratio_sentence(o)


def test_capped_members_below_the_target_are_counted_before_the_first_crossing(cfg):
    """A member stopped at the epoch cap below the target counts only at sizes before its run
    first reaches the target; which networks they are decides the sentence."""
    configs = [c for c in fs.run_configs(cfg) if c.get("arm") == "no_decay" and c.get("kind") is None]
    recs = []
    for c in configs:
        r = _metrics(c)
        if c["method"] == "nn0" and c["problem"] == "frame" and c["d"] == 4 and c["seed"] == 0:
            n = len(c["sizes"])
            r["metrics"]["r2"] = [0.5, 0.8, 0.995, 0.7, 0.999][:n]
            r["metrics"]["stop_reason"] = ["max_epochs", "patience", "target", "max_epochs", "target"][:n]
        recs.append(r)
    rep = fr.analyse(cfg, records_frame(recs), [], reps=20)
    b = fr.cap_bias(rep, "no_decay")
    # the capped member at the first size (0.5) counts; the one after the crossing (0.7) does not
    assert b["members"] == {"nn0": 1} and b["where"]["nn0"] == [("frame", 4)] and b["lower_target"] == 1
    s = fr.cap_bias_sentence(rep, "no_decay")
    assert s.startswith("In the no-decay arm, 1 capped member ends below R² 0.99 (1 also below 0.9)")
    assert "1 value-network member in 1 repetition (the frame, d = 4)" in s
    assert "may be too low (flattering the derivative network)" in s   # a capped value network
    assert s.endswith("no verdict would change.")
    (m,) = fr.capped_members(rep, "no_decay", "nn0")
    assert (m["problem"], m["d"], m["N"], m["r2"]) == ("frame", 4, SIZES[0], 0.5)
    assert fr.cap_worst_case(rep, "no_decay", ("nn1", "nn2"), reps=20) == []   # none of theirs capped


def test_a_verdict_that_rests_on_capped_value_networks_says_so(partial):
    """cap_fragile marks the claim in its "ours" (before any first reading), and the answer."""
    import dataclasses

    c = next(c for c in partial.claims if c.claim.startswith("Sobolev NN (order 1) beats")
             and fr.arm_of_claim(c) == "no_decay")
    marked = dataclasses.replace(c, ours=f"{c.ours}; {fr.FRAGILE} not confirmed")
    rep = dataclasses.replace(partial, claims=[marked if x is c else x for x in partial.claims])
    text = plain(fr.answer_markdown(rep))
    assert "it would read not confirmed if the value networks stopped at the" in text


def test_the_anomaly_with_the_loads_first_is_counted_on_the_same_repetitions():
    rows = []
    for group, below in (("no_decay", 2), ("activation_order", 0)):
        for seed in range(3):
            rows.append({"group": group, "problem": "frame", "d": 4, "method": "nn0", "seed": seed,
                         "stopped": 4, "below": below})
    cfg = fs.FEScalingConfig.from_profile("smoke")
    rep = fr.Report(cfg, *([None] * 3), long={"paper": None, "no_decay": None}, efforts={}, ratios={},
                    readings={}, point_summary={}, point_claims=[], claims=[], checks=pd.DataFrame(),
                    progress=pd.DataFrame(columns=["part", "recorded", "planned"]), stops=pd.DataFrame(rows))
    assert fr.order_stops(rep) == [{"d": 4, "stopped_table": 12, "below_table": 6, "stopped_loads": 12,
                                    "below_loads": 0}]
    s = plain(fr._order_stops_sentence(rep))
    assert "0 of 12 target-stopped members end below test R² 0.99 at d = 4, against 6 of 12" in s


def test_value_ceiling_names_how_the_value_network_stopped(partial):
    # the paper arm's synthetic value NN stalls at R² 0.9: it misses 0.99 at every d
    s = fr.value_ceiling(partial, "paper", "frame")
    assert s.startswith("Where the paper arm's value NN misses R² ≥ 0.99 on the frame (d = 2, 4, 6)")
    assert "every member stops by patience" in s and " at d = 2 and " in s and " at d = 6 (range" in s
    assert "(d = 4, 6)" in fr.value_ceiling(partial, "no_decay", "frame")  # it reaches it at d = 2
    assert fr.value_ceiling(partial, "no_decay", "rosenbrock").count("misses") <= 1


def test_the_no_decay_epoch_cap_check_regrades_the_arm_with_its_value_networks(partial):
    """The check's value networks replace the sweep's at its d; with identical records (the
    synthetic runs do not depend on the cap) every claim reads the same, and the text says so."""
    claims = fr.cap_check_claims(partial, reps=50)
    now = {c.claim: c for c in partial.claims if fr.arm_of_claim(c) == "no_decay"}
    assert claims and {k: c.verdict for k, c in claims.items() if k in now} == \
        {k: now[k].verdict for k in claims if k in now}
    text = plain(fr.cap_check_markdown(partial))
    assert "With 240 epochs instead of the paper's 60, over the same" in text
    assert "no median effort of the value network changes" in text  # identical records: a sentence
    assert "no row of the no-decay arm reads differently" in text and fr.RULE_CAP_ND in text
    assert text.index(fr.RULE_CAP_ND) < text.index("What it found")  # the rule above its results
    again = fr.cap_check_reruns(partial)  # where the cap did not act, a rerun repeats the run
    assert again["members"] and again["same"] == again["members"] and not again["differ"]
    assert "repeat the sweep's epochs and test R² exactly" in text
    long = fr.cap_check_long(partial)
    assert set(long["method"]) <= {"nn0", "nn1", "nn2"} and len(long)


def test_the_no_decay_epoch_cap_check_shows_a_table_where_a_median_effort_moves(partial):
    import dataclasses

    checks = partial.checks.copy()
    sel = checks["check"] == "epochs_nd"
    assert sel.any()
    checks.loc[sel, "effort_check"] = 123.0  # the sweep's medians are not all 123
    text = plain(fr.cap_check_markdown(dataclasses.replace(partial, checks=checks)))
    assert "| d | R² ≥ | value NN |" in text and "no median effort" not in text


def test_the_no_decay_epoch_cap_check_names_reruns_that_do_not_repeat_the_sweep(partial):
    import dataclasses

    check = partial.check.copy()
    i = check.index[check["kind"] == fs.CHECKS["epochs_nd"].kind][0]
    check.at[i, "r2"] = [r - 0.01 for r in check.at[i, "r2"]]  # this rerun no longer repeats its run
    rep = dataclasses.replace(partial, check=check)
    again = fr.cap_check_reruns(rep)
    (x,) = again["differ"]
    assert x["ran_on"] == "cpu" and x["members"] == again["members"] - again["same"] > 0
    assert f"{x['members']} differ on the same device, in repetition {x['seed'] + 1}" in \
        plain(fr.cap_check_markdown(rep))
