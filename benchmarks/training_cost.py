"""Cost of Sobolev training against value training, and of ensembles against sequential runs.

Prints Markdown tables from one run (timings of the real trainer,
``derivlearn.nn.train.train_ensemble`` with a fixed number of epochs; whole epochs timed,
validation and Adam included):

1. time per training step of order k over the value-training step, d = 8 (Rosenbrock, 300
   samples, full batch as Horvath et al.), MLPs 2x16 and 2x200, orders 1 and 2, every engine.
   Repetitions are interleaved (value, engine 1, engine 2, ..., then the same in reverse
   order, and again), each ratio is taken within one repetition, and the table gives the
   median and the interquartile range of those ratios;
2. which engine is fastest per (order, d, width) (N = 300, full batch, one member; the same
   interleaving), the measurements behind ``TrainSpec.resolved_engine``; and the FE-scaling
   chapter's layout (an ensemble of 14 members with unequal training sizes, N = 300);
3. the same as 1 for d = 2 (six-hump camel, 1000 samples in 10 batches as Hartmann et al.),
   2x200, orders 1 to 5: Taylor mode over unique partials or over all partials (multiplicity
   weights), nested autograd over unique partials, the naive nested autograd over every entry
   (the route of the paper), and the closed-form jets of orders 1 and 2;
4. throughput of an ensemble of 10 runs against 10 sequential runs (d = 8, 300 samples).

Targets: order-1 step <= 4x value (d = 8; training-core issue); order-2 step <= 4x value for
2x16 and <= 5x for 2x200 at d = 8 (issue 18, point 6; nested autograd took 6.5x and 8.7x);
order-5 unique step <= 25x value (d = 2, 2x200); ensemble of 10 >= 4x the throughput of 10
sequential runs.

Usage: ``python benchmarks/training_cost.py [--quick] [--threads N] [--only d8,engines,d2,ensemble]``
(the timings of the README and of ``resolved_engine`` use ``--threads 1``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import torch

from derivlearn import functions
from derivlearn.derivatives import derivative_tensors
from derivlearn.nn.train import TrainSpec, train_ensemble

SECTIONS = ("d8", "engines", "d2", "ensemble")
CLOCK = {"clock": time.perf_counter}
"""The timer of sections d8 and engines: CPU time of this process with one thread (robust to
other processes on a shared machine), wall-clock time with more threads."""


def data(name: str, dim: int | None, n: int, order: int):
    f = functions.get(name, dim=dim)
    g = torch.Generator().manual_seed(0)
    x = f.sample(n, g)
    xv = f.sample(200, g)
    return x, derivative_tensors(f, x, order, form="unique"), xv, f(xv)


def data_d(d: int, n: int = 300, order: int = 2):
    """Rosenbrock in d >= 2 dimensions; for d = 1 (an empty Rosenbrock sum) the quartic
    ``x^4 - 3 x^2 + x`` on [-2, 2]. Only the shapes matter for timings."""
    if d >= 2:
        return data("rosenbrock_nd", d, n, order)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, generator=g, dtype=torch.float64) * 4 - 2
    xv = torch.rand(200, 1, generator=g, dtype=torch.float64) * 4 - 2

    def f(t: torch.Tensor) -> torch.Tensor:
        return (t ** 4 - 3 * t ** 2 + t).sum(-1)

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


def _epochs_for(spec: TrainSpec, dataset, members: int, n_train, seconds: float) -> int:
    """Epochs that make one timed call last about ``seconds`` (per-epoch time from the
    difference of a 2-epoch and a 7-epoch probe, so without the set-up of a call)."""
    x, tg, xv, yv = dataset
    took = []
    for epochs in (2, 2, 7):  # the first is a warm-up
        probe = TrainSpec(**{**spec.as_dict(), "max_epochs": epochs, "patience": None})
        t0 = CLOCK["clock"]()
        train_ensemble(probe, x, tg, xv, yv, list(range(members)), n_train=n_train)
        took.append(CLOCK["clock"]() - t0)
    per_epoch = max((took[2] - took[1]) / 5, took[2] / 7 / 4)
    return max(2, min(1000, round(seconds / per_epoch)))


def interleaved(specs: dict[str, TrainSpec], dataset, reps: int, members: int = 1,
                n_train: Sequence[int] | None = None, seconds: float = 0.1) -> dict[str, list[float]]:
    """Seconds per optimizer step of every spec, ``reps`` times, interleaved: A B C .. C B A,
    A B C .., so that slow drifts of the machine hit every spec alike. Each spec runs a
    fixed number of epochs chosen so that one call takes about ``seconds``."""
    x, tg, xv, yv = dataset
    epochs = {k: _epochs_for(s, dataset, members, n_train, seconds) for k, s in specs.items()}
    runs = {k: TrainSpec(**{**s.as_dict(), "max_epochs": epochs[k], "patience": None})
            for k, s in specs.items()}
    seeds = list(range(members))
    times: dict[str, list[float]] = {k: [] for k in specs}
    for r in range(reps):
        for k in (list(runs) if r % 2 == 0 else list(reversed(runs))):
            spec = runs[k]
            t0 = CLOCK["clock"]()
            train_ensemble(spec, x, tg, xv, yv, seeds, n_train=n_train)
            times[k].append((CLOCK["clock"]() - t0) / (spec.max_epochs * (spec.n_batches or 1)))
    return times


def ratios(times: dict[str, list[float]], base: str) -> dict[str, list[float]]:
    """Per-repetition ratios to ``base`` (paired: the same repetition)."""
    return {k: [a / b for a, b in zip(t, times[base], strict=True)] for k, t in times.items()}


def quartiles(v: Sequence[float]) -> tuple[float, float, float]:
    if len(v) < 2:
        return v[0], v[0], v[0]
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], statistics.median(v), q[2]


def fmt_spread(v: Sequence[float]) -> str:
    lo, med, hi = quartiles(v)
    return f"{med:.1f}x ({lo:.1f}-{hi:.1f})"


def fmt(r: float) -> str:
    return f"{r:.1f}x"


ORDER_ENGINES = {1: ("autograd", "jet2", "forward2", "taylor"),
                 2: ("autograd", "jet2", "forward2", "taylor")}


def section_d8(reps: int, seconds: float) -> None:
    print("### Step time of Sobolev order k over value training, d = 8 (Rosenbrock, N = 300, "
          "full batch)\n")
    print(f"Median (interquartile range) over {reps} interleaved repetitions of the ratio to "
          "the value step of the same repetition.\n")
    print("| MLP | value step (ms) | engine | order 1 | order 2 |")
    print("|---|---:|---|---:|---:|")
    ds8 = data("rosenbrock_nd", 8, 300, 2)
    worst1 = 0.0
    order2: dict[int, dict[str, list[float]]] = {}
    for width in (16, 200):
        specs = {"value": TrainSpec(width=width, order=0)}
        for order, engines in ORDER_ENGINES.items():
            for engine in ("auto", *engines):
                specs[f"{engine}/{order}"] = TrainSpec(width=width, order=order, engine=engine)
        times = interleaved(specs, ds8, reps, seconds=seconds)
        rat = ratios(times, "value")
        t0 = statistics.median(times["value"])
        for engine in ("auto", *ORDER_ENGINES[2]):
            cells = [fmt_spread(rat[f"{engine}/{o}"]) for o in (1, 2)]
            if engine == "auto":
                worst1 = max(worst1, statistics.median(rat["auto/1"]))
                label = (f"auto ({specs['auto/1'].resolved_engine()}, "
                         f"{specs['auto/2'].resolved_engine()})")
            else:
                label = engine
            print(f"| 2x{width} | {t0 * 1e3:.2f} | {label} | {cells[0]} | {cells[1]} |")
        order2[width] = rat
    print(f"\nTarget order-1 step <= 4x value (engine auto): worst {worst1:.1f}x -> "
          f"{'met' if worst1 <= 4 else 'MISSED'}")
    for width, target in ((16, 4.0), (200, 5.0)):
        r = statistics.median(order2[width]["auto/2"])
        old = statistics.median(order2[width]["autograd/2"])
        print(f"Target order-2 step <= {target:.0f}x value, 2x{width} (engine auto): {r:.1f}x "
              f"(nested autograd {old:.1f}x) -> {'met' if r <= target else 'MISSED'}")
    print()


def section_engines(reps: int, seconds: float, dims: Sequence[int], widths: Sequence[int]) -> None:
    print("### Fastest engine per (order, d, width): step time over nested autograd's\n")
    print(f"N = 300 (Rosenbrock; d = 1: a quartic), full batch, one member; median "
          f"(interquartile range) over {reps} interleaved repetitions. Below 1 is faster than "
          "autograd.\n")
    print("| order | d | MLP | autograd step (ms) | jet2 | forward2 | taylor | fastest |")
    print("|---:|---:|---|---:|---:|---:|---:|---|")
    for d in dims:
        ds = data_d(d)
        for width in widths:
            specs = {f"{e}/{o}": TrainSpec(width=width, order=o, engine=e)
                     for o, engines in ORDER_ENGINES.items() for e in engines}
            times = interleaved(specs, ds, reps, seconds=seconds)
            for order in ORDER_ENGINES:
                rat = ratios(times, f"autograd/{order}")
                med = {e: statistics.median(rat[f"{e}/{order}"]) for e in ORDER_ENGINES[order]}
                fastest = min(med, key=med.get)
                t0 = statistics.median(times[f"autograd/{order}"])
                cells = [fmt_spread(rat[f"{e}/{order}"]) for e in ("jet2", "forward2", "taylor")]
                print(f"| {order} | {d} | 2x{width} | {t0 * 1e3:.2f} | " + " | ".join(cells)
                      + f" | {fastest} |")
    print()
    print("FE-scaling chapter layout (14 members, training sizes 1..300, N = 300 padded, "
          "full batch):\n")
    print("| d | MLP | autograd order 2 step (ms) | jet2 / autograd | value / autograd |")
    print("|---:|---|---:|---:|---:|")
    sizes = [1, 2, 3, 5, 8, 12, 18, 27, 40, 60, 90, 135, 200, 300]
    for d in (4, 8):
        ds = data("rosenbrock_nd", d, 300, 2)
        for width in (4, 16):
            specs = {"autograd": TrainSpec(width=width, order=2, engine="autograd"),
                     "jet2": TrainSpec(width=width, order=2, engine="jet2"),
                     "value": TrainSpec(width=width, order=0)}
            times = interleaved(specs, ds, reps, members=len(sizes), n_train=sizes, seconds=seconds)
            rat = ratios(times, "autograd")
            print(f"| {d} | 2x{width} | {statistics.median(times['autograd']) * 1e3:.2f} | "
                  f"{statistics.median(rat['jet2']):.2f} ({quartiles(rat['jet2'])[0]:.2f}-"
                  f"{quartiles(rat['jet2'])[2]:.2f}) | {statistics.median(rat['value']):.2f} |")
    print()


def section_d2(reps: int, ep: int, naive_max_order: int) -> None:
    print("### Step time of Sobolev order k over value training, d = 2 (six-hump camel, N = 1000 "
          "in 10 batches, 2x200)\n")
    ds2 = data("six_hump_camel", None, 1000, 5)
    base = TrainSpec(width=200, order=0, n_batches=10, max_epochs=ep, patience=None)
    t0 = step_time(base, ds2, reps=reps)
    print(f"value step: {t0 * 1e3:.2f} ms (medians of {reps} timings)\n")
    routes = [("Taylor, unique partials", "taylor", "unique"),
              ("Taylor, all partials", "taylor", "all"),
              ("autograd, unique partials", "autograd", "unique"),
              ("autograd naive, all partials (paper)", "autograd_naive", "all"),
              ("closed-form jet (jet2), unique partials", "jet2", "unique")]
    print("| route | " + " | ".join(f"order {k}" for k in range(1, 6)) + " |")
    print("|---|" + "---:|" * 5)
    order5_unique = None
    for label, engine, partials in routes:
        cells = []
        for k in range(1, 6):
            if (engine == "autograd_naive" and k > naive_max_order) or (engine == "jet2" and k > 2):
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


def section_ensemble(reps: int, ep: int) -> None:
    print("### Ensemble of 10 runs against 10 sequential runs (d = 8, N = 300)\n")
    print("| MLP | order | batches/epoch | 10 sequential (s/epoch) | ensemble of 10 (s/epoch) | "
          "throughput gain |")
    print("|---|---:|---:|---:|---:|---:|")
    ds8 = data("rosenbrock_nd", 8, 300, 2)
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer epochs and repetitions (seconds)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections out of {', '.join(SECTIONS)}")
    ap.add_argument("--reps", type=int, default=None,
                    help="interleaved repetitions of sections d8 and engines (default 11; quick 3)")
    ap.add_argument("--naive-max-order", type=int, default=4,
                    help="highest order timed on the naive all-entries route (it explodes)")
    args = ap.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"--only: unknown sections {bad}; allowed: {', '.join(SECTIONS)}")
    torch.set_num_threads(args.threads)
    CLOCK["clock"] = time.process_time if args.threads == 1 else time.perf_counter
    reps = 1 if args.quick else 3
    ep = 2 if args.quick else 10
    ireps = args.reps or (3 if args.quick else 11)
    seconds = 0.02 if args.quick else 0.1
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32; sections d8 "
          f"and engines time {'CPU time of this process' if args.threads == 1 else 'wall-clock time'}\n")
    if "d8" in only:
        section_d8(ireps, seconds)
    if "engines" in only:
        section_engines(ireps, seconds, (1, 2, 4, 8) if not args.quick else (2, 8),
                        (4, 16, 64, 200) if not args.quick else (16,))
    if "d2" in only:
        section_d2(reps, ep, args.naive_max_order)
    if "ensemble" in only:
        section_ensemble(reps, ep)


if __name__ == "__main__":
    main()
