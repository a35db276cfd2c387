"""Cost of DINO training data: forward solve against forward + exact Jacobian, per PDE map.

For each map of :mod:`derivlearn.solvers.pde` at the paper's 64 x 64 mesh, times ``observe``
(Newton to convergence, the observations) and ``observe_and_jacobian`` (the same plus 50 adjoint
solves with the last factorization and the element blocks of dR/dm) on the
same prior samples, one torch thread, and prints seconds per sample and their ratio. Target of
the DINO issue: the Jacobian at most doubles the cost of the nonlinear maps (reaction-diffusion,
CRD). The one-time Navier-Stokes velocity of CRD is computed (and cached) before timing.

Usage: ``python benchmarks/pde_cost.py [--n 64] [--samples 8] [--json results/dino/pde_cost.json]``

With ``--json`` the table is also written there (with the date, torch version and threads), the
one source of these numbers for the DINO chapter and the README.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from derivlearn.solvers import pde


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=64, help="cells per side")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    rows = []
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, mesh {args.n}x{args.n}, {args.samples} samples, "
          f"median of {args.reps}\n")
    print("| map | d_M | forward (s/sample) | forward + Jacobian (s/sample) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name in pde.names():
        pmap = pde.get(name, args.n)
        m = pmap.sample_prior(args.samples, 0)
        pmap.observe(m[:1])                      # warm-up (and the CRD velocity cache)
        tf, tj = [], []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            pmap.observe(m)
            tf.append((time.perf_counter() - t0) / args.samples)
            t0 = time.perf_counter()
            pmap.observe_and_jacobian(m)
            tj.append((time.perf_counter() - t0) / args.samples)
        f, j = statistics.median(tf), statistics.median(tj)
        print(f"| {name} | {pmap.n_params} | {f:.3f} | {j:.3f} | {j / f:.1f}x |", flush=True)
        rows.append({"map": name, "d_M": pmap.n_params, "forward_s": f, "forward_jacobian_s": j,
                     "ratio": j / f, "spread_forward_s": [min(tf), max(tf)],
                     "spread_forward_jacobian_s": [min(tj), max(tj)]})
    if args.json:
        write_json(args.json, {"benchmark": "pde_cost", "mesh": args.n, "samples": args.samples,
                               "reps": args.reps, "rows": rows})


def write_json(path: str, body: dict) -> None:
    """``body`` with the date, host, torch version and thread count, as pretty JSON."""
    import datetime
    import json
    import platform
    from pathlib import Path

    meta = {"date": datetime.date.today().isoformat(), "host": platform.node(),
            "torch": torch.__version__, "threads": torch.get_num_threads()}
    Path(path).write_text(json.dumps({**meta, **body}, indent=2) + "\n")


if __name__ == "__main__":
    main()
