"""Cost of Sobolev training against value training, and of ensembles against sequential runs.

Prints three Markdown tables from one run (medians of repeated timings of the real trainer,
``derivlearn.nn.train.train_ensemble`` with a fixed number of epochs):

1. time per training step of order k over the value-training step, d = 8 (Rosenbrock, 300
   samples, full batch as Horvath et al.), MLPs 2x16 and 2x200, orders 1 and 2, every engine;
2. the same for d = 2 (six-hump camel, 1000 samples in 10 batches as Hartmann et al.), 2x200,
   orders 1 to 5: Taylor mode over unique partials or over all partials (multiplicity
   weights), nested autograd over unique partials, and the naive nested autograd over every
   entry (the route of the paper);
3. throughput of an ensemble of 10 runs against 10 sequential runs (d = 8, 300 samples).

Targets from the training-core issue: order-1 step <= 4x value (d = 8); order-5 unique step
<= 25x value (d = 2, 2x200); ensemble of 10 >= 4x the throughput of 10 sequential runs.

Usage: ``python benchmarks/training_cost.py [--quick] [--threads N]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from derivlearn import functions
from derivlearn.derivatives import derivative_tensors
from derivlearn.nn.train import TrainSpec, train_ensemble


def data(name: str, dim: int | None, n: int, order: int):
    f = functions.get(name, dim=dim)
    g = torch.Generator().manual_seed(0)
    x = f.sample(n, g)
    xv = f.sample(200, g)
    return x, derivative_tensors(f, x, order, form="unique"), xv, f(xv)


def step_time(spec: TrainSpec, dataset, members: int = 1, reps: int = 3, warmup: bool = True) -> float:
    """Median seconds per optimizer step (whole epochs, validation included)."""
    x, tg, xv, yv = dataset
    seeds = list(range(members))
    if warmup:
        train_ensemble(spec, x, tg, xv, yv, seeds)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        train_ensemble(spec, x, tg, xv, yv, seeds)
        times.append(time.perf_counter() - t0)
    n_steps = spec.max_epochs * (spec.n_batches or 1)
    return statistics.median(times) / n_steps


def fmt(r: float) -> str:
    return f"{r:.1f}x"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer epochs and repetitions (seconds)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--naive-max-order", type=int, default=4,
                    help="highest order timed on the naive all-entries route (it explodes)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    reps = 1 if args.quick else 3
    ep = 2 if args.quick else 10
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, "
          f"medians of {reps} timings\n")

    # ---------------------------------------------------------------- d = 8
    print("### Step time of Sobolev order k over value training, d = 8 (Rosenbrock, N = 300, "
          "full batch)\n")
    print("| MLP | value step (ms) | engine | order 1 | order 2 |")
    print("|---|---:|---|---:|---:|")
    ds8 = data("rosenbrock_nd", 8, 300, 2)
    worst1 = 0.0
    for width in (16, 200):
        base = TrainSpec(width=width, order=0, max_epochs=ep * 5, patience=None)
        t0 = step_time(base, ds8, reps=reps)
        for engine in ("auto", "autograd", "taylor"):
            cells = []
            for order in (1, 2):
                spec = TrainSpec(width=width, order=order, engine=engine, max_epochs=ep * 5,
                                 patience=None)
                r = step_time(spec, ds8, reps=reps) / t0
                if engine == "auto" and order == 1:
                    worst1 = max(worst1, r)
                cells.append(fmt(r))
            print(f"| 2x{width} | {t0 * 1e3:.2f} | {engine} | {cells[0]} | {cells[1]} |")
    print(f"\nTarget order-1 step <= 4x value (engine auto): worst {worst1:.1f}x -> "
          f"{'met' if worst1 <= 4 else 'MISSED'}\n")

    # ---------------------------------------------------------------- d = 2
    print("### Step time of Sobolev order k over value training, d = 2 (six-hump camel, N = 1000 "
          "in 10 batches, 2x200)\n")
    ds2 = data("six_hump_camel", None, 1000, 5)
    base = TrainSpec(width=200, order=0, n_batches=10, max_epochs=ep, patience=None)
    t0 = step_time(base, ds2, reps=reps)
    print(f"value step: {t0 * 1e3:.2f} ms\n")
    routes = [("Taylor, unique partials", "taylor", "unique"),
              ("Taylor, all partials", "taylor", "all"),
              ("autograd, unique partials", "autograd", "unique"),
              ("autograd naive, all partials (paper)", "autograd_naive", "all")]
    print("| route | " + " | ".join(f"order {k}" for k in range(1, 6)) + " |")
    print("|---|" + "---:|" * 5)
    order5_unique = None
    for label, engine, partials in routes:
        cells = []
        for k in range(1, 6):
            if engine == "autograd_naive" and k > args.naive_max_order:
                cells.append("-")
                continue
            slow = engine.startswith("autograd") and k >= 4
            spec = TrainSpec(width=200, order=k, engine=engine, partials=partials, n_batches=10,
                             max_epochs=1 if slow else ep, patience=None)
            r = step_time(spec, ds2, reps=1 if slow else reps, warmup=not slow) / t0
            if engine == "taylor" and partials == "unique" and k == 5:
                order5_unique = r
            cells.append(fmt(r))
        print(f"| {label} | " + " | ".join(cells) + " |")
    if order5_unique is not None:
        print(f"\nTarget order-5 unique step <= 25x value: {order5_unique:.1f}x -> "
              f"{'met' if order5_unique <= 25 else 'MISSED'}\n")

    # ---------------------------------------------------------------- ensembles
    print("### Ensemble of 10 runs against 10 sequential runs (d = 8, N = 300)\n")
    print("| MLP | order | batches/epoch | 10 sequential (s/epoch) | ensemble of 10 (s/epoch) | "
          "throughput gain |")
    print("|---|---:|---:|---:|---:|---:|")
    gains = []
    for width in (16, 200):
        for order in (0, 1):
            for nb in (1, 10):
                spec = TrainSpec(width=width, order=order, n_batches=nb, max_epochs=ep * 2,
                                 patience=None)
                seq = 10 * step_time(spec, ds8, members=1, reps=reps) * nb
                ens = step_time(spec, ds8, members=10, reps=reps) * nb
                gains.append(seq / ens)
                print(f"| 2x{width} | {order} | {nb} | {seq:.4f} | {ens:.4f} | {seq / ens:.1f}x |")
    print(f"\nTarget ensemble gain >= 4x: min {min(gains):.1f}x, median "
          f"{statistics.median(gains):.1f}x")


if __name__ == "__main__":
    main()
