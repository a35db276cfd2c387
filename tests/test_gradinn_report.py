"""The GradINN chapter's report (derivlearn.studies.gradinn_report): house-style figures, readable
tables, and an answer built from the computed claims that says what is not recorded yet."""

from __future__ import annotations

import math
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
    # the answer in a few sentences; the claims one by one only in the claim table at the end
    # (with what each rests on under it), so that every verdict is stated once in full; where
    # lambda lands is said under its figure, not repeated here
    assert text.startswith("**What we found**") and len(text.split()) < 250 and ":::" not in text
    assert "bottom of its grid" not in text
    assert "bottom of its grid (0.01)" in (lam := gr.lambda_sentence(rows, cfg)) and "Stokes" in lam
    table = gr.claim_table(claims, summary)
    # the house layout (claims.to_markdown): the rules first, once, in a dropdown, then the
    # table with the verdict first and three columns
    lines = table.splitlines()
    assert lines[0].startswith(":::{dropdown} How each verdict is decided")
    header = f"| verdict | claim ({gr.SOURCE}) | ours |"
    head = lines.index(header)
    assert head > lines.index(":::") and all(ln.startswith("| {bdg-") for ln in lines[head + 2:head + 2 + len(
        claims)])
    assert table.count(gi.RULES["low_data"]) == 1 and table.count(gi.RULES["tie"]) == 1
    start = table.index(header)
    assert table.index(gi.RULES["tie"]) < start and table.index(gi.RULES["low_data"]) < start
    # the summary's label once, in a sentence above the table (the header stays a few words, so
    # that a phone shows it on one or two lines); the talk's claim names its own source
    assert len(gr.SOURCE) <= 30 and "not verified against the full text" in gr.SOURCE_NOTE
    assert table.count("not verified against the full text") == 1
    assert lines.index(gr.SOURCE_NOTE) == head - 2
    # what every verdict rests on is said once, above the rules, not at the end of each of them
    assert table.count(gi.READING[gi.MAIN].removeprefix("with ")) == 1
    assert sum(c.paper.startswith("Summary of the paper") for c in claims) >= 4   # in the records
    assert "a conference talk on the journal version, not the summary of the paper" in table
    # no parentheses inside parentheses in a claim cell (the statement is set in brackets)
    for ln in lines[head + 2:head + 2 + len(claims)]:
        claim_cell = ln.split(" | ")[1]
        assert not re.search(r"\([^()]*\(", claim_cell.split("(*", 1)[1]), claim_cell
    assert "{bdg-muted}`not yet recorded`" in table  # the capacity reading has no records
    assert not re.search(r"\[|\]|\bTrue\b|\bFalse\b|\bNone\b|\bnan\b", table)
    rows_of_table = lines[head + 2:head + 2 + len(claims)]
    assert all(len(cell) <= 320 for ln in rows_of_table for cell in ln.split(" | "))


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
    text = gr.cost_markdown(frame)
    assert "hours (wall, one thread)" in text and "CPU-hours" not in text
    # models planned but not recorded: the projected total is a lower bound
    assert "| all | 50 |" in text and text.splitlines()[-1].endswith("| at least 0.83 |")
    # nothing recorded under the current plan: a table of dashes, not an error
    empty = gr.cost_markdown(gr.cost_frame(df.iloc[:0], cfg))
    assert empty.splitlines()[-1] == "| all | 0 | – | – | – | – |"
    # every planned run recorded: the planned and projected columns would repeat the recorded ones
    full = frame.assign(planned=frame["runs"].where(frame["runs"] > 0, math.nan),
                        **{"projected hours": frame["hours"]})
    done = gr.cost_markdown(full)
    assert "planned" not in done and "projected" not in done
    assert done.splitlines()[0] == "| model | runs | hours (wall, one thread) | median minutes per run |"
    assert done.splitlines()[-1].startswith("| all | 50 | 0.83 |")


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
    assert "Where it loses, our reading" in text


def _rows(df):
    return gi.main_rows(gi.long_frame(df))


def _scale(df, problem, model, factor, sizes=None):
    """Multiply the test RMSE of ``model`` on ``problem`` (at ``sizes``, or all) by ``factor``."""
    method, _, variant = model.partition("-")
    sel = (df.problem == problem) & (df.method == method)
    if variant:
        sel &= df.variant == variant
    if sizes is not None:
        sel &= df.n_train.isin(sizes)
    df.loc[sel, "rmse"] = df.loc[sel, "rmse"].map(lambda v: [factor * x for x in v])
    return df


def test_where_lambda_stays_small_the_text_follows_the_sign_of_the_comparisons(book_like):
    cfg, df, rows = book_like
    # equal errors on the problems where lambda sits at the bottom: ties, said as such
    text = gr.lambda_sentence(rows, cfg)
    assert "ties the standard NN in all 20 noise-free cells there" in text and "plain network" not in text
    assert "neither helps nor hurts" in gr.findings(rows, {}, cfg)
    # GradINN four times worse on Stokes at N = 25, four times better on Burgers at N = 50
    df = _scale(_scale(df.copy(), "stokes", "gradinn-finetuned", 4.0, [25]), "burgers",
                "gradinn-finetuned", 0.25, [50])
    rows = _rows(df)
    text = gr.lambda_sentence(rows, cfg)
    assert "beats the standard NN beyond the spread on Burgers at N = 50 (ratio 4.00)" in text
    assert "loses to it on Stokes at N = 25 (ratio 0.25)" in text
    # a win is one test among many: the text says whether it survives Holm's correction (here
    # every repetition has the same ratio, so it does) and draws no causal reading from it
    assert "This win is one test at 5 % among the 25 noise-free cells compared" in text
    assert "it stays a win." in text and "plain network" not in text
    found = gr.findings(rows, {}, cfg)
    assert "wins 1, ties 18 and loses 1 of 20 cells" in found
    assert "It wins on Burgers at N = 50 (ratio 4.00)" in found and "It loses on Stokes at N = 25" in found
    assert "neither helps nor hurts" not in found


def test_the_friedman_finding_reads_the_networks_weight_decay_from_the_records(book_like):
    cfg, df, rows = book_like
    text = gr.findings(rows, {}, cfg)
    assert "GradINN helps on Friedman #1" in text
    assert "in 0 of 25 fits: its optimum lies inside the grid" in text  # the NN chose 0 throughout
    df = df.copy()
    top = max(cfg.weight_decays)
    sel = (df.method == "nn") & (df.problem == "friedman1")
    df.loc[sel, "selected"] = df.loc[sel, "selected"].map(lambda v: [top] * len(v))
    text = gr.findings(_rows(df), {}, cfg)
    assert "in 25 of 25 fits, so a stronger weight decay might narrow the gap" in text
    assert "does not give" not in text


def test_texts_after_the_figures_are_built_from_the_records(book_like):
    cfg, df, rows = book_like
    summary, _ = gi.summarize(cfg, df)
    text = gr.ratio_text(rows, cfg, summary)
    assert "GradINN wins 2, ties 8 and loses 0 of 10" in text and "few tens of percent" not in text
    assert "a ratio as far from 1 as 1.00" in text
    # the gradient errors follow the values here (grad_nrmse = rmse in these records)
    grad = gr.gradient_text(rows, cfg)
    assert "beyond the spread in 5 of the 25 cells (problem and N), higher in 0 and a tie in 20" in grad
    assert "in 25 of 25 cells" in grad
    df = _scale(df.copy(), "friedman1", "gradinn-finetuned", 3.0)  # now GradINN loses on Friedman
    rows = _rows(df)
    summary, _ = gi.summarize(cfg, df)
    assert "GradINN wins 0, ties 8 and loses 2 of 10" in gr.ratio_text(rows, cfg, summary)
    assert "clearest loss is on Friedman #1, 10 inputs" in gr.ratio_text(rows, cfg, summary)
    # only the values moved: the gradient still wins on Friedman, and now disagrees with the values
    grad = gr.gradient_text(rows, cfg)
    assert "beyond the spread in 5 of the 25 cells" in grad and "in 20 of 25 cells" in grad


def test_the_noise_texts_give_every_level_and_the_comparison_with_the_network():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes", "burgers"), noises=(0.01, 0.1),
                                        noise_size=100, experiments=("noise",))
    sigma = {0.01: 0.02, 0.1: 0.2}
    recs = []
    for p, m, errs in (("stokes", "gradinn-finetuned", {0.0: 0.05, 0.01: 0.06, 0.1: 0.1}),
                       ("stokes", "nn", {0.0: 0.05, 0.01: 0.06, 0.1: 0.4}),
                       ("burgers", "gradinn-finetuned", {0.0: 1.0, 0.01: 1.0, 0.1: 1.0}),
                       ("burgers", "nn", {0.0: 1.0, 0.01: 1.0, 0.1: 1.0})):
        for s, e in errs.items():
            recs.append(_rec(p, m, 100, s, [e * f for f in SPREAD], noise_sd=sigma.get(s, 0.0)))
    summary, _ = gi.summarize(cfg, pd.DataFrame(recs))
    table = gr.noise_table(summary, cfg)
    # a model without noisy records gets no column, and the lead sentence names the columns drawn
    assert "| Stokes | robust: 3, 0.5 | not robust: 3, 2 | tie, win (holds) |" in table
    assert "| Burgers | above the noise range: 50, 5 | above the noise range: 50, 5 | tie, tie |" in table
    assert "F restricted" not in table and "in the last column GradINN's outcome" in table
    text = gr.noise_text(summary, cfg)
    assert "holds where the network degrades on 1 of 2 problems (Stokes)" in text
    # train RMSE = test RMSE in these records: 0.5 sigma on Stokes (below 1: fits part of the noise)
    assert "below 1 σ on Stokes: there it reproduces part of the noise" in text
    assert "GradINN's RMSE is 0.5 to 5 σ (the standard NN's: 2 to 5 σ)" in text
    assert gr.span([0.5, 0.5]) == "0.5" and gr.span([0.5, 2.0]) == "0.5 to 2"
    fig = gr.noise_figure(gi.main_rows(gi.long_frame(pd.DataFrame(recs))), cfg)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.has_data()] == ["Stokes", "Burgers"]
    plt.close(fig)


def test_prior_ablation_and_budget_texts_say_only_what_the_records_show(book_like):
    cfg, df, _ = book_like
    summary = {"prior": {"stokes": {"finetuned smooth": 1.0, "finetuned oscillatory": 3.0},
                         "lotka_volterra": {"finetuned oscillatory": 2.0, "finetuned smooth": 1.0}}}
    text = gr.prior_text(summary, cfg)
    assert "better one in 1 of 2" in text and "matters most on Stokes" in text and "barely" not in text
    budget = {"budget": {"nn": {"fits": 10, "at_budget": 8, "median_kept_epoch": 4950.0, "budget": 5000},
                         "gradinn-finetuned": {"fits": 10, "at_budget": 9, "median_kept_epoch": 5000.0,
                                               "budget": 5000}}}
    text = gr.budget_text(budget)
    assert "| GradINN, F fine-tuned | 9 of 10 (90 %) | 5000 |" in text
    assert "not early stopping, ends most fits of GradINN with F fine-tuned and the standard NN" in text
    budget["budget"]["nn"]["at_budget"] = 1
    text = gr.budget_text(budget)
    assert "ends most fits of GradINN with F fine-tuned:" in text
    assert text.endswith("Early stopping ends most fits of the standard NN.")


def test_figures_draw_only_what_is_recorded_and_the_note_says_what_is_not(book_like):
    cfg, df, rows = book_like
    part = rows[rows.problem.isin(["friedman1", "stokes"])]
    models = ("gradinn-finetuned", "gradinn-capacity", "nn", "gp", "pinn")
    fig = gr.size_figure(part, cfg, "rmse", models, "test RMSE", summary_markers=True)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["Friedman #1, 10 inputs", "Stokes"]
    plt.close(fig)
    note = gr.size_note(part, cfg, "rmse", models)
    assert note.startswith("Drawn: GradINN with F fine-tuned and the standard NN, on Friedman #1 "
                           "with 10 inputs and Stokes.")
    assert ("Not recorded yet, so not drawn: GradINN with F restricted, the GP and the PINN-like model "
            "on every problem, and Friedman #1 with 5 inputs, Lotka–Volterra and Burgers for every "
            "model.") in note
    assert gr.size_figure(part.iloc[:0], cfg, "rmse", models, "test RMSE") is None
    # no noisy record: no figure, no table, one sentence
    assert gr.noise_figure(rows, cfg) is None
    assert gr.noise_note(rows, cfg).startswith("The noise experiment has no records yet")
    ratio = gr.ratio_figure(part, cfg)
    assert [ax.get_title() for ax in ratio.axes] == ["F fine-tuned"]
    plt.close(ratio)


def test_the_first_protocol_sentence_reads_the_numbers_of_its_table():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "stokes", "lotka_volterra"))
    key = "N=100,noise=0"
    summary = {"first_protocol_rmse": {
        "friedman1": {"gradinn-capacity": {key: 1.0}, "nn": {key: 2.0}},
        "stokes": {"gradinn-capacity": {key: 0.03}, "nn": {key: 0.006}},
        "lotka_volterra": {"gradinn-capacity": {key: 0.9}, "nn": {key: 0.018}}},
        "rmse": {"friedman1": {gi.MAIN: {key: 0.7}, "nn": {key: 1.0}}}}
    text = gr.first_text(summary, cfg)
    assert "was 5.00 times the standard NN's on Stokes and 50.0 times on Lotka–Volterra" in text
    assert ("0.50 times the standard NN's on Friedman #1 with 10 inputs, where it was the more "
            "accurate") in text
    assert "Stokes and Lotka–Volterra are not recorded yet" in text
    assert "only Friedman #1 with 10 inputs can be compared then and now" in text
    assert " of 1 " not in text


def test_a_provisional_verdict_shows_the_same_badges_in_both_claim_tables():
    rd = {"first": "partly confirmed", "recorded": 6, "planned": 10, "unit": "cells", "final": False}
    main = gr.verdict_badges("not tested", rd)
    assert main == gr.verdict_badges(gi.provisional("partly confirmed", 6, 10))
    assert main == "{bdg-muted}`not tested` {bdg-warning-line}`provisional: partly confirmed` 6 of 10 cells"
    assert gr.verdict_badges("not tested", rd, count=False).endswith("`provisional: partly confirmed`")
    assert gr.verdict_badges("confirmed") == "{bdg-success}`confirmed`"
    assert gr.verdict_badges("not tested", rd | {"final": True}) == "{bdg-muted}`not tested`"


def test_a_single_cell_is_said_in_words_not_as_one_of_one(book_like):
    cfg, _, rows = book_like
    one = rows[(rows.problem == "stokes") & (rows.N == 25)]
    assert gr._signs_clause(one, cfg, ["stokes"]) == \
        "GradINN ties the standard NN in the one noise-free cell recorded there."


def test_the_summary_gives_the_synthesis_each_models_epoch_cost_from_the_trial_ensembles(book_like):
    cfg, df, _ = book_like
    df = df.assign(seconds_trials=[6.0 if m == "gradinn" else 1.0 for m in df["method"]])
    df.loc[0, "seconds_trials"] = 60.0   # one slow cell moves the median not at all
    cost = gi.epoch_cost(df)
    assert cost["gradinn-finetuned"]["median"] == 6.0 and cost["gradinn-finetuned"]["max"] > 6.0
    assert cost["gradinn-finetuned"]["cells"] == len(cfg.problems) * len(cfg.sizes)
    summary = gi.summarize(cfg, df)[0]
    assert summary["cost"]["epoch"] == {"gradinn": {"0": 6.0}}
    from derivlearn import synthesis
    rows = synthesis.gradinn_rows(summary)
    assert rows and rows[0].epoch_cost == 6.0 and not rows[0].missing
    assert gi.epoch_cost(df.drop(columns="seconds_trials")) == {}
    assert gi.epoch_cost(df[df.method != "nn"]) == {}


def test_the_budget_check_stays_out_of_the_plan_cells_and_is_read_beside_the_friedman_row():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1",), sizes=(100, 200),
                                        experiments=("size", "budget"), epochs=30, budget_epochs=120,
                                        lams=(0.01, 0.1, 1.0, 10.0), pinn_lams=(0.01, 0.1, 1.0, 10.0),
                                        sobolev_lams=(0.01, 0.1, 1.0, 10.0),
                                        weight_decays=(0.0, 1e-5, 1e-4, 1e-3),
                                        gp_noises=(1e-6, 1e-4, 1e-2, 1e-1))
    df = _records(cfg)
    # at the longer budget GradINN is 8 times better than the NN (2 at the plan's budget)
    check = [_rec("friedman1", m, 200, 0.0, [(8.0 if m == "nn" else 1.0) * f for f in SPREAD])
             | {"check": "budget", "epochs": [120] * 5} for m in ("gradinn-finetuned", "nn")]
    df = pd.concat([df, pd.DataFrame(check)], ignore_index=True)
    long = gi.long_frame(df)
    rows = gi.main_rows(long)
    assert len(gi.budget_rows(long)) == 10 and rows["check"].isna().all()
    assert gi.paired(rows, gi.MAIN, "nn", "friedman1", 200)["ratio"] == pytest.approx(2.0)
    summary, claims = gi.summarize(cfg, df)
    b = summary["budget_check"]
    assert b["epochs"] == 120 and b["result"]["ratio"] == pytest.approx(8.0)
    assert b["gradinn_at_budget"] == [5, 5]  # kept epoch 120 of 120: still improving
    row = next(c for c in claims if c.claim == gi.CLAIM_NAMES["friedman"])
    assert "NN / GradINN = 2.00" in row.ours and "for 120 epochs instead: 8.00 (" in row.detail
    assert "a win)" in row.detail
    assert "trained for 120 epochs instead: 8.00" in row.detail


def test_the_low_data_line_says_when_early_stopping_halts_the_fits_at_once(book_like):
    cfg, df, rows = book_like
    df = df.copy()
    sel = df.n_train == 25
    df.loc[sel, "epochs"] = df.loc[sel, "epochs"].map(lambda v: [1] * len(v))  # kept weights: epoch 1
    summary, claims = gi.summarize(cfg, df)
    low = next(c for c in claims if c.claim == gi.CLAIM_NAMES["low_data"])
    assert "At N = 25, 25 of 25 GradINN fits and 25 of 25 standard-NN fits keep their weights" in low.detail
    s0, c0 = gi.summarize(cfg, book_like[1])
    plain = next(c for c in c0 if c.claim == gi.CLAIM_NAMES["low_data"])
    assert "early stopping halts them" not in plain.detail


def test_the_protocol_text_has_no_template_left_and_one_notation_per_grid():
    text = gr.protocol_markdown(gi.GradINNConfig.from_profile("book"))
    assert "{" not in text and "}" not in text  # every placeholder filled (an f-string each)
    assert "weight decay (0, 10⁻⁴, 10⁻³, 10⁻², 10⁻¹;" in text and "noise variance (10⁻⁶, 10⁻⁴," in text
    assert "λ (10⁻³, 10⁻², 10⁻¹, 1, 10," in text


def _trials(problem, model, errors, chosen=None):
    """Trial rows (:func:`gradinn.trial_frame`'s columns) at N = 100 without noise: one per seed
    and grid value, the error of each value scaled by the repetitions' spread."""
    method, _, variant = model.partition("-")
    return [{"problem": problem, "method": method, "model": model, "variant": variant or None,
             "prior": gi.matched_prior(problem, variant) if variant else None, "N": 100, "noise": 0.0,
             "seed": k, "value": v, "val_mse": e, "rmse": e * f, "epoch": 100, "chosen": v == chosen}
            for k, f in enumerate(SPREAD) for v, e in errors.items()]


def test_the_lambda_ablation_compares_like_with_like_and_says_whether_a_gap_is_beyond_the_spread():
    grid = {"lams": (0.01, 0.1, 1.0, 10.0), "weight_decays": (0.0, 1e-5, 1e-4, 1e-3),
            "pinn_lams": (0.01, 0.1, 1.0, 10.0), "sobolev_lams": (0.01, 0.1, 1.0, 10.0),
            "gp_noises": (1e-6, 1e-4, 1e-2, 1e-1)}
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes",), ablation_size=100, **grid)
    trials = pd.DataFrame(
        _trials("stokes", gi.MAIN, {0.01: 1.0, 0.1: 2.0, 1.0: 5.0, 10.0: 50.0}, chosen=0.01)
        + _trials("stokes", "nn", {0.0: 1.5, 1e-5: 2.0, 1e-4: 3.0, 1e-3: 6.0}, chosen=1e-5))
    text = gr.ablation_text(trials, cfg)
    # the NN's reference is its best weight decay (0), not its selected one (1e-5): 1.0 against 1.5;
    # the same spread on both sides makes every paired ratio 1.5, a gap beyond the spread
    assert "Stokes: best λ = 0.01, an error 33 % below the standard NN's best (weight decay 0)" in text
    assert "NN / GradINN 1.50 (1.50–1.50), beyond the spread" in text
    assert "1 of the 1 gaps lies beyond the spread" in text
    assert "On Stokes the error falls monotonically as λ decreases" in text
    assert "smallest λ in 5 of 5 fits" in text
    assert "its error is 50.0 times the best λ's on Stokes" in text
    assert "the standard NN's largest weight decay costs it 4 times its best" in text
    assert "repetitions):\n\n- Stokes" in text  # the list is its own block
    fig = gr.lambda_ablation_figure(trials, cfg)
    line = next(ln for ax in fig.axes for ln in ax.get_lines()
                if "best weight decay" in str(ln.get_label()))
    assert line.get_ydata()[0] == pytest.approx(gr.geometric_band([1.5 * f for f in SPREAD])[0])
    plt.close(fig)


def test_the_prior_text_says_where_the_matched_prior_loses_and_by_how_much():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes", "lotka_volterra"), ablation_size=100)
    recs = [r | {"variant": "finetuned", "prior": pr} for pr, e in (("smooth", 1.0), ("oscillatory", 1.2))
            for r in [_rec("stokes", "gradinn-finetuned", 100, 0.0, [e * f for f in SPREAD])]]
    recs += [r | {"variant": "finetuned", "prior": pr} for pr, e in (("oscillatory", 2.0), ("smooth", 1.0))
             for r in [_rec("lotka_volterra", "gradinn-finetuned", 100, 0.0, [e * f for f in SPREAD])]]
    summary, _ = gi.summarize(cfg, pd.DataFrame(recs))
    pp = summary["prior_paired"]
    # Stokes: the matched (smooth) prior wins; Lotka-Volterra: the matched (oscillatory) one loses
    assert pp["stokes"]["finetuned"]["outcome"] == "win"
    assert pp["lotka_volterra"]["finetuned"]["outcome"] == "loss"
    text = gr.prior_text(summary, cfg)
    assert ("better one in 1 of 2 comparisons; paired over the repetitions it wins 1, ties 0 and "
            "loses 1") in text
    assert "The matched prior is the worse one on Lotka–Volterra" in text
    assert "other over matched 0.50 (0.50–0.50), a difference beyond the spread" in text
    assert "The verdicts on Lotka–Volterra rest on the oscillatory prior, the worse of the two" in text


def test_the_first_protocol_table_separates_validating_lambda_from_fine_tuning_f():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("friedman1", "friedman1_5d", "stokes"))
    key = "N=100,noise=0"
    summary = {"first_protocol_rmse": {
        "friedman1": {"gradinn-capacity": {key: 1.0}, "nn": {key: 2.0}},
        "stokes": {"gradinn-capacity": {key: 0.03}, "nn": {key: 0.006}}},
        "rmse": {"friedman1": {gi.MAIN: {key: 0.7}, "gradinn-capacity": {key: 1.1}, "nn": {key: 1.0}},
                 "friedman1_5d": {gi.MAIN: {key: 0.4}, "gradinn-capacity": {key: 0.5}, "nn": {key: 0.5}},
                 "stokes": {gi.MAIN: {key: 0.007}, "gradinn-capacity": {key: 0.0069}, "nn": {key: 0.0079}}}}
    table = gr.first_protocol_table(summary, cfg)
    assert "| Stokes | 0.03 | 0.006 | 0.0069 | 0.007 | 0.0079 |" in table
    assert "| Friedman #1, 5 inputs | – | – | 0.5 | 0.4 | 0.5 |" in table
    assert "– : not part of the first protocol (Friedman #1, 5 inputs came with the validation" in table
    text = gr.first_text(summary, cfg)
    assert ("that protocol alone removes most of the first protocol's excess error on Stokes, and "
            "fine-tuning F is what helps on Friedman #1") in text


def test_the_lambda_table_names_ties_instead_of_breaking_them():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes",), sizes=(25, 50, 100),
                                        lams=(0.01, 0.1, 1.0, 10.0), pinn_lams=(0.01, 0.1, 1.0, 10.0),
                                        sobolev_lams=(0.01, 0.1, 1.0, 10.0),
                                        weight_decays=(0.0, 1e-5, 1e-4, 1e-3),
                                        gp_noises=(1e-6, 1e-4, 1e-2, 1e-1))
    chosen = {25: [0.01, 0.01, 1.0, 1.0], 50: [0.01, 0.1, 1.0, 10.0], 100: [0.1, 0.1, 0.1, 1.0]}
    recs = []
    for n, picks in chosen.items():
        for k, lam in enumerate(picks):
            recs.append(_rec("stokes", gi.MAIN, n, 0.0, [1.0], selected=lam) | {"seed": k})
    table = gr.lambda_table(gi.main_rows(gi.long_frame(pd.DataFrame(recs))), cfg)
    assert "| Stokes | 0.01 or 1 (2 each of 4) | all differ | 0.1 (3 of 4) |" in table


def test_a_low_data_win_is_read_again_against_the_plain_network_of_the_first_protocol():
    cfg = gi.GradINNConfig.from_profile("smoke", problems=("stokes",), sizes=(25, 50))
    rows = []
    for k, f in enumerate(SPREAD):
        base = {"problem": "stokes", "N": 25, "noise": 0.0, "seed": k, "check": None}
        rows += [base | {"protocol": gi.PROTOCOL, "method": "gradinn", "variant": "finetuned",
                         "model": gi.MAIN, "prior": "smooth", "rmse": 1.0 * f},
                 base | {"protocol": gi.PROTOCOL, "method": "nn", "variant": None, "model": "nn",
                         "prior": None, "rmse": 2.0 * f},
                 base | {"protocol": "first", "method": "nn", "variant": None, "model": "nn", "prior": None,
                         "rmse": 1.0 * f}]
    long = pd.DataFrame(rows)
    text = gr.plain_nn_text(long, cfg)
    # a win against the validated NN (2.0), a tie against the plain one (1.0): said, with numbers
    assert text.startswith("Each low-data win is against a standard NN that validation made less accurate")
    assert "Stokes at N = 25: validated NN 2, plain NN 1, GradINN 1; against the plain NN tie, 1.00" in text
    # the plain network no better than the validated one: nothing to say
    long.loc[long.protocol == "first", "rmse"] *= 3
    assert gr.plain_nn_text(long, cfg) == ""
