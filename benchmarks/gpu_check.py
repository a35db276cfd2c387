"""GPU check of the training core, and the cost of the higher-order study at paper settings.

Needs a CUDA device; prints Markdown.

1. **Same result on CPU and GPU.** One ensemble (float64; full batch and 10 minibatches; orders
   0 to 3; 2x16 tanh MLP on six-hump camel) is trained on both devices from the same seeds. The
   best epochs and stop reasons must agree and the restored weights must agree to a tolerance
   that allows for the different summation order of GPU reductions.
2. **Cost of the `full` profile of the higher-order chapter on a GPU.** One run of
   :func:`derivlearn.studies.higher_order.run` per order 0 to 5 at the paper's settings (six-hump
   camel, N = 1000, 10 repetitions, 2x200, 10 batches, patience 10, float32): seconds, epochs and
   seconds per epoch, to plan the full profile.
3. The study runs of the FE-scaling and higher-order chapters on the GPU (smoke settings,
   float64) give the CPU's numbers.

Usage: ``PYTHONPATH=lib python benchmarks/gpu_check.py [--quick]``
"""

from __future__ import annotations

import argparse
import time

import torch

from derivlearn import functions
from derivlearn.derivatives import derivative_tensors
from derivlearn.nn.train import TrainSpec, train_ensemble


def same_on_cpu_and_gpu(order: int, n_batches: int | None, epochs: int) -> tuple[float, bool]:
    """Max weight difference between CPU and GPU training, and whether epochs/reasons agree."""
    f = functions.get("six_hump_camel")
    g = torch.Generator().manual_seed(0)
    x = f.sample(200, g).double()
    xv = f.sample(100, g).double()
    tg = derivative_tensors(f, x, order, form="unique")
    out = {}
    for dev in ("cpu", "cuda"):
        spec = TrainSpec(width=16, order=order, weighting="adaptive", n_batches=n_batches,
                         max_epochs=epochs, patience=5, dtype="float64", device=dev, lr=1e-3)
        out[dev] = train_ensemble(spec, x, tg, xv, f(xv), seeds=[0, 1, 2, 3])
    a, b = out["cpu"], out["cuda"]
    diff = max(float((ta - tb.cpu()).abs().max()) for ta, tb in
               zip(a.params.tensors(), b.params.tensors(), strict=True))
    agree = a.best_epoch == b.best_epoch and a.stop_reason == b.stop_reason
    return diff, agree


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}\n")
    print("### CPU against GPU, float64 (4 members, 2x16, six-hump camel, N = 200)\n")
    print("| order | batches | epochs | max weight difference | best epochs and stop reasons agree |")
    print("|---:|---:|---:|---:|---|")
    for order in (0, 1, 2, 3):
        for nb in (None, 10):
            diff, agree = same_on_cpu_and_gpu(order, nb, 20 if args.quick else 60)
            print(f"| {order} | {nb or 1} | {20 if args.quick else 60} | {diff:.1e} | {agree} |")

    from derivlearn.studies import fe_scaling as fs
    from derivlearn.studies import higher_order as ho

    print("\n### Study runs on the GPU against the CPU (float64)\n")
    print("| run | CPU | GPU |")
    print("|---|---|---|")
    cfg = fs.FEScalingConfig.from_profile("smoke", problems=("rosenbrock",), dims=(3,), methods=("nn2",),
                                          dtype="float64")
    c = fs.run_configs(cfg)[0]
    r_cpu, r_gpu = fs.run(c, device="cpu"), fs.run(c, device="cuda")
    print(f"| fe_scaling rosenbrock d=3 nn2, test R2 per size | {r_cpu['r2']} | {r_gpu['r2']} |")
    hcfg = ho.HigherOrderConfig.from_profile("smoke", dtype="float64")
    h = next(c for c in ho.run_configs(hcfg) if c["order"] == 3)
    h_cpu, h_gpu = ho.run(h, device="cpu"), ho.run(h, device="cuda")
    print(f"| higher_order {h['function']} order 3, test error per rep | {h_cpu['error']} | "
          f"{h_gpu['error']} |")

    print("\n### Higher-order chapter at paper settings on the GPU (six-hump camel, N = 1000, "
          "10 repetitions)\n")
    print("| order | seconds | mean epochs | s per epoch (all 10 members) |")
    print("|---:|---:|---:|---:|")
    for k in (0, 1, 2, 3, 4, 5):
        cfg = {"function": "six_hump_camel", "order": k, "n_train": 1000, "reps": 10, "seed": 0,
               "n_val": 4000, "n_test": 4000, "width": 200, "lr": 1e-3, "n_batches": 10,
               "patience": 10, "max_epochs": 50 if args.quick else 100_000, "dtype": "float32",
               "weighting": "adaptive" if k else "equal", "partials": "all"}
        t0 = time.perf_counter()
        res = ho.run(cfg, device="cuda")
        sec = time.perf_counter() - t0
        ep = sum(res["epochs"]) / len(res["epochs"])
        print(f"| {k} | {sec:.1f} | {ep:.0f} | {res['seconds_per_epoch']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
