"""Cost of exact derivatives of the portal-frame FE model (derivlearn.solvers.frame), d = 8.

Prints, from one run, a Markdown table of the median wall time of ``FrameModel.evaluate`` for
a batch of N samples (N = 1 and N = 16) at order 0 (value), 1 (value + gradient) and 2
(value + gradient + Hessian), with the ratios to the value time next to the paper's cost model
C(8, 1) = 2 and C(8, 2) = 10 (Horvath et al. §2.3, derivlearn.cost). Targets from the issue:
time(value + grad) / time(value) <= 1.5, time(value + grad + Hessian) / time(value) <= 10.
A second table breaks the value time down (assembly, factorization, one solve) and counts
the factorizations and solve calls each order makes; the mesh size is printed first.

Timings alternate the three orders in every repetition (so drifts in machine load hit all
three alike) and run torch on 1 thread by default: SuperLU is single-threaded and the torch
operations are small, and on a shared machine extra threads only add waiting.

Usage: ``python benchmarks/frame_cost.py [--quick] [--threads N] [--element-size H]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

import torch

from derivlearn import cost
from derivlearn.solvers import sparse
from derivlearn.solvers.frame import FrameModel

D = 8


def medians(fns: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median seconds of each function, the functions alternating within every repetition."""
    for f in fns.values():  # warm-up (block pattern, first vmap trace)
        f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


@contextmanager
def counting():
    """Count SuperLU factorizations and solve calls (right-hand-side blocks and columns)."""
    counts = {"factorizations": 0, "solves": 0, "columns": 0}
    real_splu, real_solve = sparse.splu, sparse.Factorization.solve_numpy

    def splu(*args, **kwargs):
        counts["factorizations"] += 1
        return real_splu(*args, **kwargs)

    def solve_numpy(self, b, transpose):
        counts["solves"] += 1
        counts["columns"] += b.size // b.shape[0]
        return real_solve(self, b, transpose)

    sparse.splu, sparse.Factorization.solve_numpy = splu, solve_numpy
    try:
        yield counts
    finally:
        sparse.splu, sparse.Factorization.solve_numpy = real_splu, real_solve


def measure(model: FrameModel, n: int, reps: int) -> tuple[str, str]:
    """One row of each table for a batch of ``n`` samples."""
    theta = model.sample(n, torch.Generator().manual_seed(n))
    t = medians({k: (lambda k=k: model.evaluate(theta, k)) for k in (0, 1, 2)}, reps)
    calls = {}
    for k in (0, 1, 2):
        with counting() as c:
            model.evaluate(theta, k)
        calls[k] = dict(c)
    # breakdown of the value: assembly, factorization, one solve (block-diagonal, n samples)
    pat = model.pattern
    with torch.no_grad():
        vals = model.stiffness_values(theta).T.contiguous()  # (nnz, N): one column per sample
        fact = pat.factorize(vals)
        rhs = model.loads(theta).T.contiguous().numpy()
    b = medians({
        "assembly": lambda: (model.stiffness_values(theta), model.loads(theta)),
        "factorization": lambda: pat.factorize(vals),
        "solve": lambda: fact.solve_numpy(rhs, False),
    }, reps)
    r1, r2 = t[1] / t[0], t[2] / t[0]
    row = (f"| {n} | {1e3 * t[0]:.1f} ({1e3 * t[0] / n:.1f}) | {1e3 * t[1]:.1f} ({1e3 * t[1] / n:.1f}) "
           f"| {1e3 * t[2]:.1f} ({1e3 * t[2] / n:.1f}) | {r1:.2f} {'ok' if r1 <= 1.5 else 'MISSED'} "
           f"| {r2:.2f} {'ok' if r2 <= 10 else 'MISSED'} | {r1 / cost.information(D, 1):.3f} "
           f"| {r2 / cost.information(D, 2):.3f} |")
    part = (f"| {n} | {1e3 * b['assembly']:.2f} | {1e3 * b['factorization']:.2f} | {1e3 * b['solve']:.2f} "
            f"| {1e3 * (t[1] - t[0]):.2f} | {1e3 * (t[2] - t[1]):.2f} "
            + "".join(f"| {calls[k]['factorizations']} / {calls[k]['solves']} / {calls[k]['columns']} "
                      for k in (0, 1, 2)) + "|")
    return row, part


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (seconds)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--element-size", type=float, default=0.25, help="FrameModel element size")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    reps = 3 if args.quick else 21
    model = FrameModel(args.element_size)
    pat = model.pattern
    lu = pat.factorize(model.stiffness_values(model.sample(1, torch.Generator().manual_seed(0)))[0]).lu
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float64, medians of {reps} "
          f"timings; FrameModel(element_size={args.element_size}): {model.n_elements} P2 triangles, "
          f"{model.n_nodes} nodes, {model.n_dofs} DOFs ({model.n_free} free), {pat.nnz} stiffness "
          f"entries per sample, LU fill {lu.L.nnz + lu.U.nnz} per sample\n")

    rows, parts = [], []
    for n in (1, 16):
        row, part = measure(model, n, reps)
        rows.append(row)
        parts.append(part)

    c1, c2 = cost.cost(D, 1), cost.cost(D, 2)
    r_paper = float(cost.ratio(D, 1))
    print(f"### Cost of exact derivatives, d = {D} (ms per batch, per sample in brackets)\n")
    print("| N | value | value + grad | value + grad + Hessian "
          f"| (value + grad) / value (target <= 1.5; paper C(8,1) = {c1}) "
          f"| (value + grad + Hessian) / value (target <= 10; paper C(8,2) = {c2}) "
          f"| R(8,1) measured (paper {r_paper:.3f}) | R(8,2) measured (paper {r_paper:.3f}) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nR = cost ratio / information, I(8,1) = {cost.information(D, 1)} and I(8,2) = "
          f"{cost.information(D, 2)} values per sample: the data-generation effort relative to "
          "value-only data (paper §2.3, R(d, r) = C(d, r) / I(d, r)).\n")
    print("### Where the time goes (ms per batch)\n")
    print("| N | assembly | factorization | one solve | gradient pass | Hessian passes "
          "| order 0: LUs / solve calls / system solves | order 1 | order 2 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(parts))
    print("\nassembly = element Jacobians, element matrices and the sparse assembly map (torch, all "
          "samples); factorization = one SuperLU LU of the N systems (block-diagonal); one solve = "
          "one right-hand side per system; gradient pass = time(order 1) - time(order 0); Hessian "
          "passes = time(order 2) - time(order 1). System solves count right-hand sides times "
          "systems (a vmap-batched Hessian pass solves 8 right-hand sides per system in one call).")


if __name__ == "__main__":
    main()
