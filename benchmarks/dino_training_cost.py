"""Per-epoch training time of each DINO loss against L2 (Generic and DIPNet 100-50).

Random data at the paper's sizes: d_M = 4225, d_Q = 50, 256 training samples, batch 32, Adam
(lr 1e-3), float32, one thread by default. The per-sample rank-50 SVD of J, the DIPNet's latent
data (JΦ, ‖J‖², ΦᵀV) and Φ are data preparation and not timed; the per-epoch redraws (MS block
permutations, new sketches and the sketched targets Q_lᵀ J Q_r, VᵀQ_r) are timed, as they are
part of every epoch. MS trains on the 5 (sample, block) rows of each sample per epoch (as the
authors' code did), so its epoch has 5 × as many batches. Sketch rank 50 (left and right).

Each time is the fastest of ``--epochs`` timed epochs, and each loss's epochs alternate with
L2 epochs whose fastest gives its ratio (robust to other processes on the machine).

**The GEMM floor.** Every derivative loss pushes r = 50 directions per sample through the network
(50 forward-mode tangents, or 50 reverse-mode rows for the full Jacobian): 50 times the matrix
products of the L2 forward pass, which at batch 32 is dominated by fixed per-call costs. The last
column is a lower bound measured in the same run: the L2 epoch plus the bare matrix products of
the 50 tangents (:func:`tangent_gemm_seconds`: forward, weight gradient and, past the first
layer, input gradient), with no autograd and no elementwise work. A loss that needs r = 50
directions per sample cannot be cheaper than that on this machine, whatever the code.

Usage: ``python benchmarks/dino_training_cost.py [--epochs 3] [--threads 1] [--n 256]
[--json results/dino/training_cost.json]`` (``--json``: also write the rows there, the one source
of these numbers for the DINO chapter and the README).
"""

from __future__ import annotations

import argparse
import time

import torch

from derivlearn.dino import losses, networks

D_M, D_Q, R = 4225, 50, 50


def make_data(n: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    m = torch.randn(n, D_M, generator=g)
    q = torch.randn(n, D_Q, generator=g)
    J = torch.randn(n, D_Q, D_M, generator=g) / D_M ** 0.5
    U, s, V = losses.reduced_svd(J, R)
    return {"m": m, "q": q, "J": J, "U": U, "s": s, "V": V}


def epoch_fn(net: networks.DinoNet, loss: str, data: dict[str, torch.Tensor], batch: int,
             g: torch.Generator):
    """A closure running one epoch of ``loss`` on ``net`` (Adam, shuffled batches)."""
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    n = data["m"].shape[0]
    if net.is_projected:
        g_net, x = net.head, net.encode(data["m"]).detach()
        pj = losses.project_jacobian_data(net.phi, data["J"], data["V"])
        Jx, Jn2, Vx = pj["J_phi"], pj["J_norm2"], pj["V_phi"]
    else:
        g_net, x, Jx, Jn2 = net, data["m"], data["J"], None
        Vt = data["V"].transpose(1, 2).contiguous()   # as training holds it: tangents as rows

        class _Rows:                                    # Vx[b] -> (B, d_M, r) view of contiguous rows
            def __getitem__(self, b):
                return Vt[b].transpose(1, 2)
        Vx = _Rows()
    q, U, s, V, J = data["q"], data["U"], data["s"], data["V"], data["J"]

    def run() -> None:
        extra: dict[str, torch.Tensor] = {}
        rows = None
        if loss == "reduced_h1_ms":
            idx, rows = losses.ms_blocks(n, R, 10, g)
        else:
            idx = torch.arange(n)
        if loss in ("sketched_h1", "nullspace_sketched_h1"):
            Ql = losses.random_orthonormal(D_Q, R, g, torch.float32)
            Qr = losses.random_orthonormal(D_M, R, g, torch.float32)
            extra["Qx"] = net.project(Qr)
            if loss == "sketched_h1":
                extra["sk"] = losses.sketch_jacobian(J, Ql, Qr)
            else:
                extra["VtQ"] = V.transpose(1, 2) @ Qr
            extra["Ql"] = Ql
        perm = torch.randperm(idx.numel(), generator=g)
        for start in range(0, idx.numel(), batch):
            sel = perm[start:start + batch]
            b = idx[sel]
            if loss == "l2":
                val = losses.l2_loss(g_net, x[b], q[b])
            elif loss == "h1":
                val = losses.h1_loss(g_net, x[b], q[b], Jx[b], None if Jn2 is None else Jn2[b])
            elif loss == "reduced_h1":
                val = losses.reduced_h1_loss(g_net, x[b], q[b], U[b], s[b], Vx[b])
            elif loss == "reduced_h1_ms":
                val = losses.reduced_h1_ms_loss(g_net, x[b], q[b], U[b], s[b], Vx[b], rows[sel])
            elif loss == "sketched_h1":
                val = losses.sketched_h1_loss(g_net, x[b], q[b], extra["sk"][b], extra["Ql"], extra["Qx"])
            else:
                val = losses.nullspace_sketched_h1_loss(g_net, x[b], q[b], U[b], s[b], Vx[b], extra["Ql"],
                                                        extra["Qx"], extra["VtQ"][b], d_M=D_M)
            opt.zero_grad(set_to_none=True)
            val.backward()
            opt.step()

    return run


def tangent_gemm_seconds(net: networks.DinoNet, n: int, batch: int, k: int = R, reps: int = 5) -> float:
    """Lower bound on one epoch's tangent work: the bare GEMMs of k directions per sample through
    every layer of ``g`` (``n / batch`` batches), counted twice for the first layer (forward and
    weight gradient; the directions are data and need no gradient) and three times for the
    others (forward, weight gradient, input gradient). Fastest of ``reps``; no autograd."""
    widths = [net.latent_dim] + [lin.out_features for lin in net.hidden] + [net.d_Q]
    mats = [torch.randn(b, a) for a, b in zip(widths[:-1], widths[1:], strict=True)]
    t0 = torch.randn(batch * k, widths[0])
    first = rest = float("inf")
    for _ in range(reps + 1):
        start = time.perf_counter()
        t1 = t0 @ mats[0].T
        mid = time.perf_counter()
        t = t1
        for W in mats[1:]:
            t = t @ W.T
        end = time.perf_counter()
        first, rest = min(first, mid - start), min(rest, end - mid)
    return -(-n // batch) * (2 * first + 3 * rest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args()
    rows = []
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    data = make_data(args.n, g)
    phi = losses.random_orthonormal(D_M, 100, g, torch.float32)
    print(f"d_M={D_M}, d_Q={D_Q}, N={args.n}, batch={args.batch}, threads={args.threads}, float32; "
          f"each loss's epochs alternate with L2 epochs; fastest of {args.epochs} after 1 warm-up\n")
    print("| network | loss | s / epoch | × L2 | GEMM floor × L2 |")
    print("| --- | --- | ---: | ---: | ---: |")

    def fastest(fns, reps):
        """Fastest time of each closure, the closures alternating (robust to drifting load)."""
        for f in fns:
            f()
        best = [float("inf")] * len(fns)
        for _ in range(reps):
            for i, f in enumerate(fns):
                t0 = time.perf_counter()
                f()
                best[i] = min(best[i], time.perf_counter() - t0)
        return best

    for kind, basis in (("generic", None), ("dipnet_100_50", phi)):
        l2_net = networks.build_network(kind, D_M, basis, seed=0)
        l2_run = epoch_fn(l2_net, "l2", data, args.batch, g)
        base = fastest([l2_run], args.epochs)[0]
        floor = (base + tangent_gemm_seconds(l2_net, args.n, args.batch)) / base
        print(f"| {kind} | l2 | {base:.3f} | 1.0 | |", flush=True)
        rows.append({"network": kind, "loss": "l2", "seconds_per_epoch": base, "ratio": 1.0,
                     "floor": None})
        for loss in losses.LOSSES:
            if loss == "l2":
                continue
            net = networks.build_network(kind, D_M, basis, seed=0)
            t_l2, t = fastest([l2_run, epoch_fn(net, loss, data, args.batch, g)], args.epochs)
            # MS trains on 5 (sample, block) rows of k = 10 per sample: the same 50 tangents;
            # the null-space loss pushes 100 (V and the sketch); the sketched loss's directions
            # are shared by the batch, so its first layer is not per sample: no such floor
            f = {"nullspace_sketched_h1": f"{2 * floor - 1:.1f}", "sketched_h1": "n/a"}.get(
                loss, f"{floor:.1f}")
            print(f"| {kind} | {loss} | {t:.3f} | {t / t_l2:.1f} | {f} |", flush=True)
            rows.append({"network": kind, "loss": loss, "seconds_per_epoch": t, "ratio": t / t_l2,
                         "floor": None if f == "n/a" else float(f)})
    if args.json:
        from pde_cost import write_json

        write_json(args.json, {"benchmark": "dino_training_cost", "n": args.n, "batch": args.batch,
                               "epochs": args.epochs, "input_scaling": "authors", "rows": rows})


if __name__ == "__main__":
    main()
