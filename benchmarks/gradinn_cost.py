"""Per-epoch cost of GradINN and its baselines against the standard NN, per reference problem.

The GradINN chapter's settings: U is a 2 x 32 tanh MLP, full-batch Adam, 256 collocation points
per epoch (GradINN and the PINN), float32, one torch thread; 100 training points. Each method
trains once to warm up, then the time of a 20-epoch run is subtracted from that of a
(20 + ``--epochs``)-epoch run (data and evaluation cancel), repeated ``--reps`` times; the median
seconds per epoch and its ratio to the standard NN's are printed, all measured in one run.

Usage: ``python benchmarks/gradinn_cost.py [--epochs 300] [--reps 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from derivlearn.studies import gradinn as gi


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=100, help="training points")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = gi.GradINNConfig.from_profile("book")
    print(f"torch {torch.__version__}, 1 thread, N = {args.n}, {args.epochs} epochs, median of {args.reps}\n")
    print("| problem | method | ms/epoch | / standard NN |")
    print("|---|---|---:|---:|")
    for problem in gi.PROBLEMS:
        times = {}
        for method in gi.METHODS:
            if method == "gp" or (method == "pinn" and problem not in gi.PINN_PROBLEMS):
                continue
            config = next(c for c in gi.run_configs(cfg) if c["problem"] == problem
                          and c["method"] == method and c["noise"] == 0.0
                          and c.get("lam") in (None, cfg.lam if method == "gradinn" else cfg.pinn_lam)
                          and c.get("prior") in (None, gi.resolve_prior(problem, cfg.prior)))
            config = dict(config, seeds=1, n_train=args.n, n_test=10)
            gi.run(dict(config, epochs=20))        # one-time costs (imports, reference solutions)
            per = []
            for _ in range(args.reps):
                warm = dict(config, epochs=20)
                t0 = time.perf_counter()
                gi.run(warm)
                t_warm = time.perf_counter() - t0
                t0 = time.perf_counter()
                gi.run(dict(config, epochs=20 + args.epochs))
                per.append((time.perf_counter() - t0 - t_warm) / args.epochs)
            times[method] = statistics.median(per)
        for method, t in times.items():
            print(f"| {problem} | {method} | {1e3 * t:.2f} | {t / times['nn']:.2f} |")


if __name__ == "__main__":
    main()
