"""Sweeps in a pool of local processes that share one GPU, with a deadline.

Small networks leave a GPU idle most of the time: one process spends its time launching kernels.
Several processes on the same GPU keep it busy, which Dask's ``LocalCluster`` (one worker per
core, CPU-oriented) does not do by default and which needs no Dask at all. A deadline lets a
sweep stop cleanly inside a time-limited job: runs still in flight at the deadline are dropped
(not recorded) and rerun by the next call, since every finished run is already in the store.

Used by ``python -m derivlearn.run <study> --processes N [--deadline S]``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Mapping, Sequence
from typing import Any

from derivlearn.params import resolve_device
from derivlearn.store import ResultStore, VersionSpec, config_key, version_of
from derivlearn.sweep import InfrastructureError, RunFn, RunsLeft, execute


def _init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _exit_on_sigterm():
    """Turn SIGTERM (``kill``, ``pkill``) into ``SystemExit`` so that the pool's ``finally``
    terminates the workers; by default the parent dies at once and each worker runs on,
    unobserved, until its current run ends. Returns the previous handler (None off the main
    thread, where handlers cannot be set)."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:
        return None


def _execute(args: tuple[RunFn, dict[str, Any], str, int]) -> dict[str, Any] | str:
    """A record, or the reason (a string) when an infrastructure error left the run pending."""
    fn, config, device, version = args
    try:
        return execute(fn, config, device, version)
    except InfrastructureError as exc:
        return f"{type(exc).__name__}: {exc}"


def run_pool(fn: RunFn, configs: Sequence[Mapping[str, Any]], store: ResultStore, processes: int,
             device: str = "auto", deadline_s: float | None = None,
             threads: int | None = None, version: VersionSpec = 1) -> dict[str, Any]:
    """Run the configs not yet in ``store`` in ``processes`` spawned processes.

    Args:
        fn: the study's run function (module level, so that it pickles by name).
        configs: run configs.
        store: where finished runs are appended as they arrive.
        processes: pool size (>= 1).
        device: ``'auto'``, ``'cpu'`` or ``'cuda'``; every process uses the same device.
        deadline_s: stop after this many seconds; runs in flight then are not recorded.
        threads: torch threads per process; default: the CPU count divided by ``processes``.
            Use 1 when other jobs share the CPUs: oversubscribed torch threads wait on each
            other (measured here: 2 threads beside one busy process ran an epoch 2.2x slower
            than 1 thread).
        version: the study's result version, or a function ``config -> version``.

    Returns:
        ``{"pending": ..., "recorded": ..., "failed": ..., "left": ..., "seconds": ...}``.

    Raises:
        RunsLeft: once the pool is done, when runs were lost to infrastructure errors.
    """
    if not isinstance(processes, int) or processes < 1:
        raise ValueError(f"parameter 'processes': must be an integer >= 1, got {processes!r}")
    if deadline_s is not None and not deadline_s > 0:
        raise ValueError(f"parameter 'deadline_s': must be > 0 or None, got {deadline_s!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"parameter 'threads': must be an integer >= 1 or None, got {threads!r}")
    device = resolve_device(device)
    todo = [(dict(c), version_of(version, c)) for c in configs]
    todo = [(c, v) for c, v in todo if store.get(config_key(c, v)) is None]
    t0 = time.monotonic()
    recorded = failed = 0
    lost: list[str] = []
    if todo:
        store.check_writable()
        if threads is None:
            threads = max(1, (os.cpu_count() or 1) // processes)
        ctx = multiprocessing.get_context("spawn")
        pool = ctx.Pool(min(processes, len(todo)), initializer=_init, initargs=(threads,))
        previous = _exit_on_sigterm()
        try:
            it = pool.imap_unordered(_execute, [(fn, c, device, v) for c, v in todo])
            for _ in todo:
                left = None if deadline_s is None else deadline_s - (time.monotonic() - t0)
                if left is not None and left <= 0:
                    break
                try:
                    rec = it.next(timeout=left)
                except multiprocessing.TimeoutError:
                    break
                if isinstance(rec, str):
                    lost.append(rec)
                    continue
                store.append(rec)
                recorded += 1
                failed += rec["status"] == "failed"
                print(f"[{time.monotonic() - t0:7.1f} s] {recorded}/{len(todo)} {rec['status']} "
                      f"{rec['wall_time_s']:.1f} s", flush=True)
        finally:
            pool.terminate()
            pool.join()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    if lost:
        raise RunsLeft(lost)
    return {"pending": len(todo), "recorded": recorded, "failed": failed,
            "left": len(todo) - recorded, "seconds": time.monotonic() - t0}


__all__ = ["run_pool"]
