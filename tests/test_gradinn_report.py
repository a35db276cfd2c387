"""The GradINN chapter's report (derivlearn.studies.gradinn_report): house-style figures, readable
tables, and an answer built from the computed claims that says what is not recorded yet."""

from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from derivlearn.studies import gradinn as gi  # noqa: E402
from derivlearn.studies import gradinn_report as gr  # noqa: E402

SPREAD = (1.0, 1.1, 0.9, 1.05, 0.95)


def _rec(problem, model, n, noise, rmse, selected=0.01, noise_sd=0.0):
    method, _, variant = model.partition("-")
    k = len(rmse)
    grid = {"gradinn": [0.01, 0.1, 1.0, 10.0], "nn": [0.0, 1e-5, 1e-4, 1e-3],
            "pinn": [0.01, 0.1, 1.0, 10.0]}[method]
    chosen = selected if method != "nn" else grid[0]
    return {"status": "ok", "protocol": gi.PROTOCOL, "problem": problem, "method": method,
            "variant": variant or None, "prior": gi.matched_prior(problem, variant) if variant else None,
            "n_train": n, "noise": noise, "seed": 0, "grid": {gi.HYPERPARAMETER[method]: grid},
            "rmse": list(rmse), "nrmse": list(rmse), "grad_rmse": list(rmse), "grad_nrmse": list(rmse),
            "train_rmse": list(rmse), "noise_sd": [noise_sd] * k, "selected": [chosen] * k,
            "epochs": [100] * k, "failed": [None] * k,
            "trial_val_mse": [[0.1 * (i + 1) for i in range(4)]] * k,
            "trial_rmse": [[rmse[0] * (1 + i) for i in range(4)]] * k, "trial_epoch": [[100] * 4] * k,
            "wall_time_s": 60.0}


def _records(cfg, models=("gradinn-finetuned", "nn")):
    """GradINN (fine-tuned) twice as good as the NN on Friedman, equal elsewhere; lambda at the
    bottom of the grid except on Friedman."""
    rows = []
    for p in cfg.problems:
        for n in cfg.sizes:
            for m in models:
                e = 2.0 if (m == "nn" and p == "friedman1") else 1.0
                rows.append(_rec(p, m, n, 0.0, [e * f / n for f in SPREAD],
                                 selected=1.0 if p == "friedman1" else 0.01))
    return pd.DataFrame(rows)


@pytest.fixture
def book_like():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "friedman1_5d", "stokes",
                                                             "lotka_volterra", "burgers"),
                                        sizes=(25, 50, 100, 200, 400), experiments=("size",),
                                        ablation_size=100,
                                        lams=(0.01, 0.1, 1.0, 10.0), pinn_lams=(0.01, 0.1, 1.0, 10.0),
                                        sobolev_lams=(0.01, 0.1, 1.0, 10.0),
                                        weight_decays=(0.0, 1e-5, 1e-4, 1e-3),
                                        gp_noises=(1e-6, 1e-4, 1e-2, 1e-1))
    df = _records(cfg)
    long = gi.long_frame(df)
    return cfg, df, gi.main_rows(long)


def test_numbers_are_formatted_for_people():
    assert [gr.num(v) for v in (0.0333, 1.0, 1e-5, 2e-5, 12345.0, None, float("nan"))] == [
        "0.0333", "1", "10⁻⁵", "2×10⁻⁵", "1.23×10⁴", "–", "–"]
    assert [gr.ratio(v) for v in (1.3412, 1.6, 12.83)] == ["1.34", "1.60", "12.8"]
    assert gr.sizes_text([25, 50]) == "N = 25 and 50" and gr.pct(0.05) == "5 %"


@pytest.mark.parametrize("lo, hi", [(0.0005, 0.2), (0.6, 1.0), (0.03, 0.5), (1e-6, 10.0)])
def test_log_axes_have_few_labelled_ticks_and_no_minor_labels(lo, hi):
    fig, ax = plt.subplots()
    ax.plot([25, 400], [lo, hi])
    gr.log_x_at(ax, [25, 50, 100, 200, 400])
    gr.log_y(ax)
    fig.canvas.draw()
    assert list(ax.get_xticks()) == [25, 50, 100, 200, 400]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["25", "50", "100", "200", "400"]
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert 2 <= len(ticks) <= 6
    assert all(t.get_text() == "" for t in ax.yaxis.get_minorticklabels())
    plt.close(fig)


def _curves(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_figures_keep_to_three_panels_a_row_five_curves_a_panel_and_one_legend(book_like):
    cfg, df, rows = book_like
    figs = [gr.size_figure(rows, cfg, "rmse", ("gradinn-finetuned", "gradinn-capacity", "nn", "gp", "pinn"),
                           "test RMSE", summary_markers=True),
            gr.ratio_figure(rows, cfg), gr.lambda_figure(rows, cfg),
            gr.lambda_ablation_figure(gi.trial_frame(df), cfg)]
    for fig in figs:
        assert fig is not None
        w, _ = fig.get_size_inches()
        assert 7 <= w <= 8
        panels = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
        cols = {round(ax.get_position().x0, 2) for ax in panels}
        assert len(cols) <= 3
        assert all(len(_curves(ax)) <= 5 for ax in panels)
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + fig.legends
        assert len(legends) == 1 and all(t.get_fontsize() >= gr.FONT for t in legends[0].get_texts())
        plt.close(fig)


def test_the_summary_numbers_are_drawn_as_reference_markers_named_as_the_summary(book_like):
    cfg, _, rows = book_like
    fig = gr.size_figure(rows, cfg, "rmse", ("gradinn-finetuned", "nn"), "test RMSE", summary_markers=True)
    labels = {t.get_text() for t in fig.legends[0].get_texts()} if fig.legends else {
        t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()}
    assert {"summary of the paper: GradINN", "summary of the paper: standard NN"} <= labels
    assert not any(label == "paper" for label in labels)
    plt.close(fig)


def test_the_answer_and_the_claim_table_read_for_people_and_say_what_is_missing(book_like):
    cfg, df, rows = book_like
    summary, claims = gi.summarize(cfg, df)
    text = gr.answer(claims, summary, rows, cfg)
    assert "{bdg-" in text and "Friedman #1, 200 points" in text
    assert "Against PINN-like models:** not yet recorded" in text  # no PINN record
    assert "bottom of its grid (0.01)" in text and "Stokes" in text  # where lambda lands
    table = gr.claim_table(claims, summary)
    assert table.count("not verified against the full text") == 1  # the label once, in the header
    assert table.count(gi.RULES["low_data"]) == 1 and table.count(gi.RULES["tie"]) == 1
    assert "{bdg-muted}`not yet recorded`" in table  # the capacity reading has no records
    assert not re.search(r"\[|\]|\bTrue\b|\bFalse\b|\bNone\b|\bnan\b", table)
    rows_of_table = [ln for ln in table.splitlines() if ln.startswith("| ") and ln[2].isdigit()]
    assert all(len(cell) <= 140 for ln in rows_of_table for cell in ln.split(" | "))


def test_the_plan_status_counts_what_is_not_recorded_yet(book_like):
    cfg, df, _ = book_like

    class Report:
        records = [{"config": {"protocol": gi.PROTOCOL}}]
        missing = [c for c in gi.run_configs(cfg) if c["method"] != "nn"][:3]

    status = gr.plan_status(Report, cfg)
    assert status["planned"] == len(gi.run_configs(cfg)) and sum(status["missing"].values()) == 3
    assert "Records so far" in gr.status_markdown(status)
    Report.missing = []
    assert "All" in gr.status_markdown(gr.plan_status(Report, cfg))


def test_the_cost_table_sums_recorded_run_time_per_model(book_like):
    cfg, df, _ = book_like
    frame = gr.cost_frame(df, cfg)
    row = frame.set_index("model").loc["GradINN, F fine-tuned"]
    assert row["runs"] == 25 and row["hours"] == pytest.approx(25 / 60)
    assert "| all | 50 |" in gr.cost_markdown(frame)


def test_the_capacity_finding_counts_cells_and_reads_them_against_the_fine_tuned_reading(book_like):
    cfg, _, rows = book_like
    assert "no records under this protocol yet" in gr.capacity_finding(rows, cfg)
    # the restricted F: as good as the NN on Friedman (a tie, where the fine-tuned F wins), and
    # four times worse on Stokes (a loss)
    df = _records(cfg, models=("gradinn-finetuned", "gradinn-capacity", "nn"))
    df.loc[(df.method == "gradinn") & (df.variant == "capacity") & (df.problem == "friedman1"), "rmse"] = \
        df.loc[(df.method == "nn") & (df.problem == "friedman1"), "rmse"].to_numpy()
    worse = (df.variant == "capacity") & (df.problem == "stokes")
    df.loc[worse, "rmse"] = df.loc[worse, "rmse"].map(lambda v: [4 * x for x in v])
    text = gr.capacity_finding(gi.main_rows(gi.long_frame(df)), cfg)
    n = len(cfg.sizes)
    assert f"wins 0, ties {4 * n} and loses {n} of {5 * n} cells" in text
    assert f"wins {n}, ties {4 * n} and loses 0 of {5 * n}" in text
    assert "the loss is the price" in text
