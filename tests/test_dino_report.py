"""The DINO chapter's figures and tables: house style, from any (partial) set of records."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from test_dino_study import _frame, _paper_like  # noqa: E402

from derivlearn.studies import dino  # noqa: E402
from derivlearn.studies import dino_report as rep  # noqa: E402


@pytest.fixture
def book():
    cfg = dino.DinoConfig.from_profile("book")
    df = _frame(_paper_like, lambda *a: 0.5)
    df.loc[(df.n_train == 16) & (df.network == "generic"), "h1_accuracy"] -= 2.0   # off the axis
    return cfg, df, dino.long_frame(df), dino.baseline_frame(df)


def _lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_label() and not ln.get_label().startswith("_")
            and len(ln.get_xdata())]


def test_figures_keep_to_five_curves_per_panel_and_show_the_paper(book):
    cfg, _, long, _ = book
    fig = rep.accuracy_figure(long, cfg)
    assert fig.get_size_inches()[0] <= 8
    for ax in fig.axes:
        assert len(_lines(ax)) <= 5
    h1 = [ax for ax in fig.axes if ax.get_ylabel().startswith("H1")]
    assert len(h1) == 3 and all(len(ax.collections) >= 1 for ax in h1)    # the paper's stars
    for ax, p in zip(h1, dino.PROBLEMS, strict=True):
        assert ax.get_ylim()[1] >= 100 * dino.PAPER_H1[p]
    fig = rep.networks_figure(long, cfg)
    labels = {t.get_text() for t in fig.legends[0].get_texts()}
    assert "below \u221250 %, value written beside it" in labels and "Generic" in labels
    assert any(t.get_text().startswith("\u2212") for ax in fig.axes for t in ax.texts)  # values written


def _inside(fig):
    """(panel title, y) of every drawn point outside its panel's y range: lines, bands, markers."""
    import numpy as np
    from matplotlib.collections import PathCollection

    out = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        lo, hi = ax.get_ylim()
        ys = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.get_lines()]
        for c in ax.collections:
            if isinstance(c, PathCollection):                               # scatter markers
                ys.append(np.asarray(c.get_offsets())[:, 1])
            else:                                                           # bands
                ys += [np.asarray(p.vertices[:, 1]) for p in c.get_paths()]
        for y in ys:
            y = y[np.isfinite(y)]
            out += [(ax.get_title(), float(v)) for v in y if not lo <= v <= hi]
    return out


@pytest.mark.parametrize("case", ["all", "later", "crd"])
def test_every_drawn_point_lies_inside_its_panel_and_an_empty_panel_keeps_the_ticks(book, case):
    """"later": the first panel has nothing off the axis, a later one is both higher and below
    the floor (the range must not come from the first panel); "crd": the CRD panel is empty."""
    cfg, _, long, _ = book
    drop = case == "crd"
    if drop:
        long = long[long.problem != "crd"]
    if case == "later":
        long = long.copy()
        first = (long.problem == "poisson") & (long.network == "generic") & (long.N == 16)
        long.loc[first, "h1_accuracy"] += 2.0
        high = (long.problem == "reaction_diffusion") & (long.network == "dipnet_50_50") & (long.N == 4096)
        long.loc[high, "h1_accuracy"] = 0.6
    for fig in (rep.accuracy_figure(long, cfg), rep.networks_figure(long, cfg)):
        fig.canvas.draw()
        assert _inside(fig) == []
    # The networks figure shares its y axis: the range covers every panel, and the Generic
    # curve below the floor sits inside it (the floor is above the axis's bottom).
    shared = [ax for ax in fig.axes if ax.get_visible()]
    assert len({ax.get_ylim() for ax in shared}) == 1
    assert shared[0].get_ylim()[0] < rep.H1_FLOOR
    first = shared[0]
    ticks = [v for v in first.get_yticks() if first.get_ylim()[0] <= v <= first.get_ylim()[1]]
    assert len(ticks) >= 3
    assert [t.get_text() for t in first.get_yticklabels() if t.get_text()]
    # every panel, the empty one too, has the sizes as its x ticks over the same range
    assert len({ax.get_xlim() for ax in shared}) == 1
    for ax in shared:
        assert [t.get_text() for t in ax.get_xticklabels()] == [str(n) for n in cfg.sizes]
    if drop:
        empty = shared[-1]
        assert any(t.get_text() == "no run recorded" for t in empty.texts)


def test_words_after_the_figures_come_from_the_records(book):
    cfg, _, long, _ = book
    acc = rep.accuracy_words(long, cfg)
    assert acc.count("in reduced-H1 accuracy") == 3 and acc.count("which the reduced losses train") == 1
    # one run at N = 4096, the first of the frame's (0.1 points below the cell's given value)
    assert "on Poisson, at N = 4096 the full-H1 loss reaches 42.0 % H1 accuracy, L2 training 9.9 %" in acc
    assert "at N = 16 the MS loss has the highest L2 accuracy, 53.0 % against L2's 50.0 % " \
        "(+3.0 points)" in acc
    net = rep.networks_words(long, cfg)
    assert "DIPNet 100-50 and DIPNet 50-50 above 0 %" in net and "Generic \u221220.1 % (N = 4096)" in net
    some = long[long.problem != "crd"]
    assert "On CRD, no run is recorded." in rep.accuracy_words(some, cfg)
    assert "On CRD, no run is recorded." in rep.networks_words(some, cfg)
    for text in (acc, net):
        assert "[" not in text and "True" not in text and "nan" not in text


def test_the_headline_gives_ours_against_the_paper_for_any_mix_of_maps(book):
    cfg, df, long, _ = book
    claims = dino.summarize(cfg, df)[1]
    text = rep.headline_words(claims, long, cfg)
    assert "42.0 % on Poisson (paper 42.1 %, \u22120.1 points)" in text
    assert "74.6 % on CRD (paper 74.7 %, \u22120.1 points)" in text
    assert "In the form of the authors' code (RMS errors over the test samples) the same runs give " \
        "42.1 % (Poisson), 41.5 % (reaction-diffusion) and 74.7 % (CRD)." in text
    assert "Verdict: **confirmed**" in text
    shifted = long.copy()
    sel = (shifted.problem == "poisson") & (shifted.N == 4096)
    shifted.loc[sel, "h1_accuracy"] -= 0.002
    some = shifted[~((shifted.problem != "poisson") & (shifted.N == 4096))]
    text = rep.headline_words(claims, some, cfg)
    assert "41.8 % on Poisson (paper 42.1 %, \u22120.3 points)" in text
    assert "the same runs give 42.1 %." in text
    assert "Reaction-diffusion and CRD have no run at N = 4096." in text
    assert "not run" not in text and "CRD not run H1" not in text
    none = rep.headline_words(claims, long[long.N < 4096], cfg)
    assert none.startswith("No run of the paper's headline")


def test_map_and_cost_words_read_their_levels_from_the_records():
    import pandas as pd

    mf = pd.DataFrame({"problem": "poisson", "case": [0, 0, 1, 1],
                       "noise_kind": ["fixed", "matched"] * 2, "noise_relative": [0.02, 0.09, 0.02, 0.07],
                       "surrogate_output_error": [0.08, 0.08, 0.06, 0.06],
                       "surrogate_to_map": [0.5, 0.3, 0.7, 0.4], "pde_misfit": 0.1,
                       "surrogate_misfit": 0.2})
    tab = rep.map_table(mf)
    assert set(tab.index.get_level_values("noise")) == {"2 %", "matched"}
    words = rep.map_words(mf)
    assert "larger than the 2 % noise" in words and "1 %" not in words
    assert "at 5 % noise" in rep.map_words(mf, noise=0.05)
    bench = {"n": 256, "batch": 32, "rows": [
        {"network": "dipnet_100_50", "loss": "l2", "ratio": 1.0, "floor": None},
        *({"network": "dipnet_100_50", "loss": loss, "ratio": r, "floor": 4.1}
          for loss, r in (("h1", 6.49), ("reduced_h1", 6.84), ("reduced_h1_ms", 15.93)))]}
    cost = rep.training_cost_words(bench)
    assert "6.5, 6.8 and 15.9 × L2 for DIPNet 100-50 against a floor of 4.1 ×" in cost
    assert "{repo}`benchmarks/dino_training_cost.py`" in cost and " x " not in cost
    assert rep.training_cost_words(None) == ""


def test_tables_and_answer_read_in_words(book):
    cfg, df, long, base = book
    tab = rep.baseline_table(long, base, cfg)
    assert len(tab) == 3 * 3 * 3 and list(tab.columns) == list(rep.BASELINE_COLUMNS)  # N = 64: no rows
    assert set(tab.N) == {16} and set(tab.loss) == {"full H1", "reduced H1", "MS"}
    assert (tab.loc[tab.loss != "MS", "L2, same steps"] == "").all()
    assert not any("-" in v for v in tab.drop(columns=["map", "network"]).astype(str).to_numpy().ravel())
    budget_tab = rep.budget_table(cfg)
    assert list(budget_tab.columns[:2]) == ["network", "N"] and "same steps as MS" in budget_tab
    claims = dino.summarize(cfg, df)[1]
    table = rep.claim_markdown(claims)
    assert "((" not in table and "partly =" in table and "| verdict |" in table
    early = [dino.Claim(c.claim, c.paper, "provisional, on 2 of the 3 planned cells: x 1 of 2 won; "
                        "would read: partly confirmed", "not tested", c.deviation) for c in claims]
    row = [ln for ln in rep.claim_markdown(early).splitlines() if ln.startswith("| {bdg")][-1]
    assert "{bdg-warning-line}`provisional: partly` (2 of 3 planned cells)" in row
    assert row.endswith("| x 1 of 2 won |")
    early = [dino.Claim(c.claim, c.paper, "provisional, on 2 of the 9 planned (problem, network) cells: "
                        "x; would read: confirmed", "not tested", c.deviation) for c in claims]
    row = [ln for ln in rep.claim_markdown(early).splitlines() if ln.startswith("| {bdg")][-1]
    assert "`provisional: confirmed` (2 of 9 planned (problem, network) cells)" in row
    assert row.endswith("| x |")
    words = rep.small_n_words(long, base, cfg)
    assert words.startswith("*Provisional") and "at N = 16, against plain L2 with the same" in words
    settings = rep.settings_table(cfg).set_index("setting")
    assert "0.0757 (r = 100)" in settings.loc["DIPNet input scaling (authors' code)", "ours"]
    text = rep.answer(dino.summarize(cfg, df)[1])
    assert "**confirmed**" in text and "[" not in text and "True" not in text
    text = rep.answer(dino.summarize(cfg, df)[1], "", long, cfg)
    assert "42.0 % on Poisson (paper 42.1 %, \u22120.1 points)" in text and "[" not in text
    data = rep.data_table(df.assign(data_bytes=4e9, full_jacobian_bytes=3.9e9, data_seconds_per_sample=1.4),
                          {"rows": [{"map": "poisson", "forward_jacobian_s": 0.385}]})
    assert data.loc["Poisson", "forward and Jacobian, quiet machine (s)"] == 0.385
    assert "seconds per sample (under load)" in data.columns
    plan = dino.run_configs(cfg)
    missing = rep.missing_table(plan)
    assert missing.to_numpy().sum() == len(plan) and "N = 4096" in missing.columns
    words = rep.missing_words(plan, [c for c in plan if c["problem"] == "crd" or c["n_train"] == 4096])
    assert "every CRD run" in words and "every run at N = 4096" in words and "Poisson run" not in words
    assert "have no record, among them" in words and "yet" not in words and "progress" not in words
    budget = rep.budget_words(cfg)
    assert "3 against 1 at N = 16" in budget and "300 epochs at N = 16" in budget


def test_version_effect_pairs_the_same_first_runs_of_both_versions():
    def rec(version, seed, l2, h1, **extra):
        config = {"problem": "poisson", "network": "dipnet_100_50", "loss": "l2", "n_train": 16,
                  "seed": seed, **extra}
        return {"status": "ok", "result_version": version, "config": config,
                "metrics": {"l2_accuracy": l2, "h1_accuracy": h1}}
    records = [rec(1, 0, 0.2, -1.0, max_size=1024), rec(2, 0, 0.3, -0.2, data_seed=0),
               rec(2, 1, 0.9, 0.9, data_seed=0),                      # a further run: not paired
               rec(2, 0, 0.9, 0.9, data_seed=0, match="steps")]        # a baseline: not paired
    tab = rep.version_effect(records)
    assert len(tab) == 1 and tab.cells[0] == 1
    assert tab["L2 accuracy change (points)"][0] == pytest.approx(10.0)
    assert tab["H1 accuracy change (points)"][0] == pytest.approx(80.0)
    assert rep.version_effect(records[1:]).empty


def test_the_time_the_baselines_got_and_the_authors_ms_scheme_read_in_words():
    import pandas as pd

    long = pd.DataFrame([{"problem": "poisson", "network": "dipnet_100_50", "loss": "h1", "N": 16,
                          "seed": s, "seconds": 10.0} for s in range(3)])
    base = pd.DataFrame([{"problem": "poisson", "network": "dipnet_100_50", "match": m, "N": 16,
                          "seed": s, "seconds": t, "loss": "l2"}
                         for s, t in enumerate((8.0, 10.0, 13.0)) for m in ("time:h1", "steps")])
    text = rep.baseline_time_words(long, base)
    assert "DIPNet 100-50 at N = 16 1.00 (0.80 to 1.30)" in text      # steps-matched runs left out
    assert rep.baseline_time_words(long, base.iloc[:0]) == ""
    assert "runs' own" not in text                                    # equal times: no spread
    long.loc[0, "seconds"] = 40.0
    assert "took up to 4 times as long as each other (full-H1 loss" in rep.baseline_time_words(long, base)

    def rec(scheme, seed, l2):
        return {"status": "ok", "kind": None, "problem": "poisson", "network": "dipnet_100_50",
                "loss": "reduced_h1_ms", "n_train": 16, "seed": seed, "match": None,
                "ms_scheme": scheme,
                **{f"{m}{c}": v for m, v in (("l2_accuracy", l2), ("h1_accuracy", 0.1),
                                              ("reduced_h1_accuracy", 0.5)) for c in ("", "_code")}}

    df = pd.DataFrame([rec(None, s, 0.50 + 0.01 * s) for s in range(3)]
                      + [rec("authors", s, 0.40 + 0.01 * s) for s in range(3)])
    ms = dino.ms_scheme_frame(df)
    l2 = ms[ms.metric == "l2_accuracy"].iloc[0]
    assert l2["ours"] == pytest.approx(51.0) and l2["difference"] == pytest.approx(-10.0)
    table = rep.ms_scheme_table(ms)
    assert list(table.iloc[0][["L2, ours", "L2, authors'"]]) == ["51.0 ± 1.0", "41.0 ± 1.0"]
    words = rep.ms_scheme_words(ms)
    assert "L2 accuracy by \u221210.0 to \u221210.0 points (0 of 1 sizes inside" in words
    assert "H1 accuracy by +0.0 to +0.0 points (1 of 1" in words
    # the main cells leave the authors' runs out
    assert len(dino.long_frame(df)) == 3
