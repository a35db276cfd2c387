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
    assert "below -50 % (off the axis)" in labels and "Generic" in labels


def test_tables_and_answer_read_in_words(book):
    cfg, df, long, base = book
    tab = rep.baseline_table(long, base, cfg)
    assert len(tab) == 3 * 3 and "L2, MS steps" in tab.columns          # N = 64 has no records: no rows
    assert set(tab.N) == {16}
    settings = rep.settings_table(cfg).set_index("setting")
    assert "0.0757 (r = 100)" in settings.loc["DIPNet input scaling (authors' code)", "ours"]
    text = rep.answer(dino.summarize(cfg, df)[1])
    assert "**confirmed**" in text and "[" not in text and "True" not in text
    plan = dino.run_configs(cfg)
    missing = rep.missing_table(plan)
    assert missing.to_numpy().sum() == len(plan) and "N = 4096" in missing.columns
    words = rep.missing_words(plan, [c for c in plan if c["problem"] == "crd" or c["n_train"] == 4096])
    assert "every CRD run" in words and "every run at N = 4096" in words and "Poisson run" not in words
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
