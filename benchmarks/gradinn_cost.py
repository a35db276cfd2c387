"""Per-epoch cost of GradINN and its baselines against the standard NN, per reference problem.

The GradINN chapter's settings: U is a 2 x 32 tanh MLP (the fine-tuned F too), full-batch Adam,
``n_colloc`` collocation points per epoch (GradINN and the PINN), float32, one torch thread;
the fit split of ``--n`` training points (80 %). Two ways to train the runs of a cell:

* **one by one**: the plain loops (:func:`derivlearn.models.gradinn.train_gradinn` and the
  baselines' ``train_*``), one network at a time, as the first protocol did;
* **ensemble**: every seed x trial of a cell (``--seeds`` x the grid, 20 in the book) as one
  batched model (:func:`derivlearn.models.gradinn.fit_ensemble`), as the chapter does now; its
  refit (one member per seed) is timed too.

Each measurement takes the CPU time (``time.process_time``, one torch thread, so other processes
on a shared machine do not count) of ``--epochs`` Adam steps after the networks and data are built;
repetitions are interleaved (every method once per round, ``--reps`` rounds) so that a slow
spell of a shared machine hits all methods alike. Printed: the median milliseconds per epoch,
the spread over the rounds (min-max), per run (the ensemble's time divided by its members), and
the ratio to the standard NN measured the same way. ``--estimate`` adds the CPU-hours of the
book sweep that these costs imply (every validation-protocol run of the book profile:
``epochs`` for the trials and at most ``epochs`` for the refit; GP runs are not included).

Usage: ``python benchmarks/gradinn_cost.py [--epochs 200] [--reps 5] [--estimate]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from derivlearn.models import baselines, gradinn
from derivlearn.studies import gradinn as gi

MODELS = ("nn", "gradinn-finetuned", "gradinn-capacity", "sobolev", "pinn")


def _config(cfg: gi.GradINNConfig, problem: str, model: str, n: int) -> dict | None:
    method, _, variant = model.partition("-")
    if method == "pinn" and problem not in gi.PINN_PROBLEMS:
        return None
    for c in gi.run_configs(cfg):
        if (c.get("protocol") == gi.PROTOCOL and c["problem"] == problem and c["method"] == method
                and c["noise"] == 0.0 and c.get("variant") == (variant or None)
                and c.get("prior") == (gi.matched_prior(problem, variant) if variant else None)):
            return dict(c, n_train=n)
    return None


def time_ensemble(config: dict, members: int, epochs: int, phase: str) -> float:
    """Seconds per epoch of an ensemble of ``members`` runs (seeds x trials, or seeds)."""
    k = len(next(iter(config["grid"].values())))
    data = [gi._seed_data(config, config["seed"] + r) for r in range(config["seeds"])]
    rows = [r for r in range(config["seeds"]) for _ in range(k)][:members]
    grid = next(iter(config["grid"].values()))
    hyper = torch.tensor([grid[i % k] for i in range(len(rows))], dtype=torch.float64)
    obj = gi._objective(config, data, rows, hyper, phase)
    u, f = gi._initial(config, data, rows)
    t0 = time.process_time()
    gradinn.fit_ensemble(obj, u, f, lr=config["lr"], stop_at=[epochs] * len(rows), epochs=epochs)
    return (time.process_time() - t0) / epochs


def time_one(config: dict, epochs: int) -> float:
    """Seconds per epoch of the plain one-network loop of the method (first protocol's code)."""
    dr = gi._seed_data(config, config["seed"])
    xs, ys = dr.xs[dr.fit], dr.ys[dr.fit]
    d = xs.shape[1]
    box = torch.tensor([[-1.0, 1.0]] * d, dtype=torch.float64)
    common = {"epochs": epochs, "lr": config["lr"], "seed": dr.seed, "width": config["width"],
              "depth": config["depth"], "dtype": config["dtype"]}
    m = config["method"]
    t0 = time.process_time()
    if m == "gradinn":
        f = gi._prior_module(config, d, dr.seed)
        gradinn.train_gradinn(xs, ys, box, lam=0.1, prior_net=f, n_colloc=config["n_colloc"], **common)
    elif m == "nn":
        baselines.train_standard_nn(xs, ys, **common)
    elif m == "sobolev":
        baselines.train_sobolev(xs, ys, dr.gs[dr.fit], lam=0.1, **common)
    else:
        res = gi.physical_residual(gi._pinn_residual(config["problem"]), dr.units)
        baselines.train_pinn(xs, ys, box, res, lam=0.1, n_colloc=config["n_colloc"], **common)
    return (time.process_time() - t0) / epochs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--n", type=int, default=100, help="training points (80 %% of them are fitted)")
    ap.add_argument("--problems", nargs="*", default=list(gi.PROBLEMS))
    ap.add_argument("--estimate", action="store_true", help="CPU-hours of the book sweep")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = gi.GradINNConfig.from_profile("book")
    k = len(cfg.lams)
    trial_members, refit_members = cfg.seeds * k, cfg.seeds
    print(f"torch {torch.__version__}, 1 thread, N = {args.n}, {args.epochs} epochs per measurement, "
          f"{args.reps} interleaved rounds; ensembles of {trial_members} (trials) and {refit_members} "
          f"(refit) members\n")
    cells = [(p, m, c) for p in args.problems for m in MODELS
             if (c := _config(cfg, p, m, args.n)) is not None]
    kinds = ("one", "trials", "refit")
    big = max(cfg.sizes)
    times: dict[tuple, list[float]] = {}
    for c in (c for _, _, c in cells):  # warm-up: imports, reference solutions, allocator
        time_ensemble(c, trial_members, 5, "fit")
    for _ in range(args.reps):
        for p, m, c in cells:
            times.setdefault((p, m, "one"), []).append(time_one(c, args.epochs))
            times.setdefault((p, m, "trials"), []).append(time_ensemble(c, trial_members, args.epochs, "fit"))
            times.setdefault((p, m, "refit"), []).append(time_ensemble(c, refit_members, args.epochs, "all"))
            if args.estimate:  # the cost at the largest size, for a cost linear in N
                cb = dict(c, n_train=big)
                times.setdefault((p, m, "trials", big), []).append(
                    time_ensemble(cb, trial_members, args.epochs, "fit"))
                times.setdefault((p, m, "refit", big), []).append(
                    time_ensemble(cb, refit_members, args.epochs, "all"))
    med = {key: statistics.median(v) for key, v in times.items()}
    print("| problem | model | one by one, ms/epoch | ensemble of trials, ms/epoch (per run) "
          "| refit, ms/epoch | one by one / NN | ensemble / NN | speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for p, m, _ in cells:
        one, tr, rf = (med[(p, m, kk)] for kk in kinds)
        spread = {kk: (min(times[(p, m, kk)]), max(times[(p, m, kk)])) for kk in kinds}
        print(f"| {p} | {m} | {1e3 * one:.2f} ({1e3 * spread['one'][0]:.2f}–{1e3 * spread['one'][1]:.2f}) "
              f"| {1e3 * tr:.1f} ({1e3 * spread['trials'][0]:.1f}–{1e3 * spread['trials'][1]:.1f}; "
              f"{1e3 * tr / trial_members:.2f} per run) | {1e3 * rf:.1f} "
              f"| {one / med[(p, 'nn', 'one')]:.2f} | {tr / med[(p, 'nn', 'trials')]:.2f} "
              f"| {one * trial_members / tr:.1f} |")
    if args.estimate:
        total, runs = 0.0, 0
        for c in gi.run_configs(cfg):
            if c.get("protocol") != gi.PROTOCOL or c["method"] == "gp":
                continue
            key = (c["problem"], gi.model_of(c["method"], c.get("variant")))
            if (*key, "trials") not in med:
                continue
            w = (c["n_train"] - args.n) / (big - args.n)  # linear in N between the two measurements
            per_epoch = sum((1 - w) * med[(*key, kk)] + w * med[(*key, kk, big)]
                            for kk in ("trials", "refit"))
            total += c["epochs"] * per_epoch
            runs += 1
        print(f"\nestimated book sweep, validation protocol, {runs} network runs: {total / 3600:.2f} "
              f"CPU-hours (every refit at the full budget of {cfg.epochs} epochs, an upper bound; cost "
              f"linear in N between N = {args.n} and {big}; GP runs not included)")


if __name__ == "__main__":
    main()
