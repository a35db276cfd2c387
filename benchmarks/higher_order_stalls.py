"""Why Glorot-started networks of the higher-order chapter stall: weights or zero biases?

With Glorot-uniform weights and zero biases (the chapter's start, Keras' default) about one
repetition in eleven stops before it learns (:func:`derivlearn.studies.higher_order.stalled`);
with PyTorch's start, none of the first settings' records did. This script separates the two
differences between the starts: it trains value-only networks (order 0, N = 100, the chapter's
data, seeds and settings, ``reps`` repetitions) on functions where the records stall most, from
five starts:

* ``glorot``: the chapter's (its first 5 repetitions have the data and seeds of the chapter's
  records);
* ``torch``: PyTorch's ``nn.Linear`` start;
* ``glorot W, torch b``: Glorot weights, PyTorch's random biases;
* ``torch W, zero b``: PyTorch's weights, zero biases;
* ``glorot, layer-1 W x4``: Glorot with the first layer's weights scaled to PyTorch's size.

With zero biases and tanh, an odd activation, the network is an odd function of its input at
the start, f(-x) = -f(x), and stays close to one while the biases are small. The inputs are
z-scored, so -x is the point mirrored through the centre of the data; a function that is even
about that centre (Sum Squares, Six Hump Camel, Beale are nearly so) has no odd part to learn,
so such a start begins with an MSE near the targets' variance and learns only as the biases
grow. The script prints, per function and start, how many repetitions stalled and the median
best validation MSE (z-scored), and the even share of each function's variance about the centre
of its domain. ``--out`` writes the numbers as JSON, which the chapter reads.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=lib python benchmarks/higher_order_stalls.py \
        [--functions sum_squares six_hump_camel beale] [--reps 10] [--out FILE]

About 15 CPU-minutes with the defaults, on the 2-core reference machine with one thread.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import derivlearn.nn.train as train_module
from derivlearn.nn import mlp
from derivlearn.studies import higher_order as ho

STARTS = ("glorot", "torch", "glorot W, torch b", "torch W, zero b", "glorot, layer-1 W x4")


def start(name: str):
    """An ``init_params`` that builds the start ``name`` (see the module docstring)."""
    def init_params(spec, seeds, dtype=torch.float64, device="cpu", init="torch"):
        g = mlp.init_params(spec, seeds, dtype=dtype, device=device, init="glorot")
        t = mlp.init_params(spec, seeds, dtype=dtype, device=device, init="torch")
        if name == "torch":
            return t
        if name == "glorot W, torch b":
            g.biases[:] = t.biases
        elif name == "torch W, zero b":
            g.weights[:] = t.weights
        elif name == "glorot, layer-1 W x4":
            g.weights[0] = g.weights[0] * 4
        return g
    return init_params


def config(name: str, reps: int) -> dict:
    return {"study": ho.STUDY, "function": name, "order": 0, "n_train": 100, "weighting": "equal",
            "partials": "all", "reps": reps, "seed": 0, "n_val": 4000, "n_test": 4000, "width": 200,
            "lr": 1e-3, "n_batches": 10, "patience": 10, "max_epochs": 1000, "dtype": "float32",
            "reduction": "sum", "init": "glorot", "units": "original"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--functions", nargs="+", default=["sum_squares", "six_hump_camel", "beale"])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    original = train_module.init_params
    out = {"N": 100, "order": 0, "reps": args.reps, "starts": list(STARTS), "functions": {}}
    t0 = time.process_time()
    print("| function | even share | " + " | ".join(STARTS) + " |")
    print("|---|---:|" + "---:|" * len(STARTS))
    try:
        for name in args.functions:
            row = {"even_share": ho.even_share(name), "starts": {}}
            for s in STARTS:
                train_module.init_params = start(s)
                m = ho.run(config(name, args.reps), "cpu")
                stalls = [ho.stalled(e, b) for e, b in zip(m["error"], m["best_epoch"], strict=True)]
                row["starts"][s] = {"stalled": int(sum(stalls)), "error_z": m["error"],
                                    "best_epoch": m["best_epoch"],
                                    "median_error_z": float(np.median(m["error"]))}
            out["functions"][name] = row
            cells = [f"{v['stalled']}/{args.reps} ({v['median_error_z']:.2g})"
                     for v in row["starts"].values()]
            print(f"| {name} | {row['even_share']:.2f} | " + " | ".join(cells) + " |", flush=True)
    finally:
        train_module.init_params = original
    out["cpu_seconds"] = time.process_time() - t0
    print(f"\nCells: stalled repetitions / {args.reps} (median z-scored test MSE). "
          f"CPU time {out['cpu_seconds'] / 60:.1f} min.")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)
            fh.write("\n")


if __name__ == "__main__":
    main()
