"""CPU seconds per epoch of one higher-order Sobolev run at the book's settings, per (N, order).

What :data:`derivlearn.studies.higher_order.EPOCH_CPU_SECONDS` holds and
:func:`derivlearn.studies.higher_order.plan_cost` multiplies by the epochs of the records to
estimate a sweep's CPU time. One run is five members trained as one ensemble (width 200, 10
batches, 4000 validation points, all partials, eq. 6's sum, Glorot initialisation, adaptive rho)
on Six Hump Camel. The cost of an epoch is (process CPU time of 13 epochs - that of 3 epochs)
/ 10, so data generation and set-up cancel; patience is switched off so that every run trains
its epochs. One torch thread (run with OMP_NUM_THREADS=1); about 4 minutes.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/higher_order_epoch_cost.py [--sizes 100 550 1000]
"""

from __future__ import annotations

import argparse
import time

import torch

from derivlearn.studies import higher_order as ho


def config(n: int, k: int, epochs: int) -> dict:
    return {"study": ho.STUDY, "function": "six_hump_camel", "order": k, "n_train": n,
            "weighting": "adaptive" if k else "equal", "partials": "all", "reps": 5, "seed": 0,
            "n_val": 4000, "n_test": 4000, "width": 200, "lr": 1e-3, "n_batches": 10,
            "patience": 10**6, "max_epochs": epochs, "dtype": "float32", "reduction": "sum",
            "init": "glorot"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 550, 1000])
    ap.add_argument("--orders", type=int, nargs="+", default=list(range(6)))
    args = ap.parse_args()
    torch.set_num_threads(1)
    ho.run(config(100, 2, 2), "cpu")  # warm-up
    rows = []
    for n in args.sizes:
        for k in args.orders:
            ts = []
            for epochs in (3, 13):
                t0 = time.process_time()
                ho.run(config(n, k, epochs), "cpu")
                ts.append(time.process_time() - t0)
            rows.append(((n, k), (ts[1] - ts[0]) / 10))
            print(f"N = {n:5d}, order {k}: {rows[-1][1]:.3f} CPU s per epoch", flush=True)
    print("EPOCH_CPU_SECONDS = {" + ", ".join(f"({n}, {k}): {t:.3f}" for (n, k), t in rows) + "}")


if __name__ == "__main__":
    main()
