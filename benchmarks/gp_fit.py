"""GE-GP fit time against the number of observations N (d + 1), with the plain GP for comparison.

Fits :func:`derivlearn.gp.fit_gp` (Adam, 200 iterations, Cholesky at every size) on the n-D
Rosenbrock function on [-1, 1]^d for d in {2, 4, 8} and N in {10, 25, 50, 100, 200}, each once, and
prints one Markdown table: GE-GP and plain-GP wall time at the same N, the ratio, and the
log-log slope of GE-GP time against N (d + 1) (3 would be the Cholesky's cubic cost; per-
iteration overheads and kernel assembly, quadratic, pull it down at small sizes).

A combination whose time, extrapolated from a 3-iteration probe, would exceed ``--max-fit``
seconds or the remaining ``--budget`` is skipped and listed.

Usage: python benchmarks/gp_fit.py [--quick] [--iterations 200] [--budget 240] [--max-fit 60]
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import numpy as np
import torch

from derivlearn import functions
from derivlearn.gp import fit_gp


def rosenbrock_data(d: int, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` uniform points on [-1, 1]^d: x (n, d), values (n,), gradients (n, d), float64."""
    f = functions.get("rosenbrock_nd", dim=d)
    x = f.sample(n, torch.Generator().manual_seed(seed)).requires_grad_(True)
    y = f(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    return x.detach(), y.detach(), g


def timed_fit(kind: str, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor, iterations: int) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jitter warnings are counted in info
        return fit_gp(x, y, g, kind=kind, iterations=iterations).info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="d in {2, 4}, N in {10, 25}, 20 iterations")
    ap.add_argument("--iterations", type=int, default=None, help="Adam iterations (default 200)")
    ap.add_argument("--budget", type=float, default=240.0, help="seconds for all fits together")
    ap.add_argument("--max-fit", type=float, default=60.0, help="skip a fit predicted to take longer")
    args = ap.parse_args()
    dims, sizes = ((2, 4), (10, 25)) if args.quick else ((2, 4, 8), (10, 25, 50, 100, 200))
    iterations = args.iterations or (20 if args.quick else 200)

    timed_fit("gegp", *rosenbrock_data(2, 5), 2)  # warm-up: TorchScript compilation, first calls
    timed_fit("gp", *rosenbrock_data(2, 5), 2)
    t_start = time.perf_counter()
    rows, skipped = [], []
    for d in dims:
        for n in sizes:
            x, y, g = rosenbrock_data(d, n)
            probe = timed_fit("gegp", x, y, g, 3)["seconds"]
            predicted = probe / 3 * iterations * 1.2  # GP time is small next to it
            left = args.budget - (time.perf_counter() - t_start)
            limit = min(args.max_fit, left)
            if predicted > limit:
                skipped.append(f"d={d}, N={n} (predicted {predicted:.0f} s; limit {limit:.0f} s)")
                continue
            ge = timed_fit("gegp", x, y, g, iterations)
            gp = timed_fit("gp", x, y, g, iterations)
            rows.append({"d": d, "n": n, "obs": ge["n_observations"], "ge": ge["seconds"],
                         "gp": gp["seconds"], "jit": ge["jitter_warnings"] + gp["jitter_warnings"],
                         "loss": ge["final_loss"]})

    print(f"GP fit time, {iterations} Adam iterations, float64 Cholesky, n-D Rosenbrock on [-1, 1]^d, "
          f"one run each; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print()
    print("| d | N | N(d+1) | GE-GP s | GE-GP ms/iter | GP s | GE-GP / GP | jitter warnings "
          "| GE-GP final loss |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['d']} | {r['n']} | {r['obs']} | {r['ge']:.2f} | {1e3 * r['ge'] / iterations:.1f} | "
              f"{r['gp']:.2f} | {r['ge'] / r['gp']:.1f} | {r['jit']} | {r['loss']:.3g} |")
    print()
    obs = np.array([r["obs"] for r in rows], dtype=float)
    sec = np.array([r["ge"] for r in rows])
    if len(rows) >= 2 and np.ptp(np.log(obs)) > 0:
        slope = np.polyfit(np.log(obs), np.log(sec), 1)[0]
        print(f"GE-GP time ~ (N(d+1))^{slope:.2f} over all {len(rows)} fits", end="")
        big = obs >= np.median(obs)
        if big.sum() >= 2 and np.ptp(np.log(obs[big])) > 0:
            print(f"; ^{np.polyfit(np.log(obs[big]), np.log(sec[big]), 1)[0]:.2f} over the "
                  f"{int(big.sum())} with N(d+1) >= {int(np.median(obs))}", end="")
        print()
    print("skipped: " + ("; ".join(skipped) if skipped else "none"))
    print(f"total {time.perf_counter() - t_start:.0f} s")
    assert all(math.isfinite(r["loss"]) for r in rows)


if __name__ == "__main__":
    main()
