"""The sweep executor: run many independent fits, on Dask, resumably, recording every outcome.

A *run function* has the signature ``fn(config: dict, device: str) -> dict`` of metrics. It
must be importable (module level) so that Dask workers can load it. :func:`run_sweep`

1. keys each run config (:func:`derivlearn.store.config_key`) and skips those already in
   the store (``recompute=True`` forces them, ``retry_failed=True`` reruns failures only);
2. runs the rest in process, on a ``LocalCluster`` sized to the machine, or on an existing
   Dask scheduler (``scheduler="tcp://host:8786"`` or env ``DERIVLEARN_SCHEDULER``);
3. appends each record to the store *as it completes*, so a killed sweep resumes where it
   stopped; a run that raises, or returns non-finite metrics, is recorded as ``failed`` with
   its reason and never stops the sweep;
4. never records an :class:`InfrastructureError` (a damaged cache, a lost scheduler): such a
   run says nothing about the method, so it stays pending, the sweep finishes the other runs,
   and then raises one error that says how many runs a re-run still has to do.

Keys hold the study's *result version* (:func:`derivlearn.store.config_key`), so records of
code that computed other results are recomputed, never served.

Example:
    >>> report = run_sweep(my_run, configs, store)          # doctest: +SKIP
    >>> report.frame()                                        # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derivlearn.params import SCHEDULER_ENV, Scheduler, env_scheduler, resolve_device
from derivlearn.store import (
    ResultStore,
    VersionSpec,
    config_key,
    make_record,
    records_frame,
    version_of,
)

RunFn = Callable[[dict[str, Any], str], Mapping[str, Any]]

AUTO_INPROCESS_BELOW = 8
"""``scheduler='auto'`` runs sweeps with fewer pending runs than this in process."""


class RunFailed(RuntimeError):
    """Raise from a run function to record a failure with a clean, expected reason."""


class InfrastructureError(RuntimeError):
    """Raise (or subclass) for a failure that is not the run's: a damaged cache that could not
    be rebuilt, a lost worker. :func:`execute` lets it through; the sweep leaves the run
    pending (unrecorded), so that a plain re-run does it."""


class RunsLeft(RuntimeError):
    """Raised at the end of a sweep whose runs were lost to infrastructure errors."""

    def __init__(self, lost: Sequence[str]) -> None:
        self.lost = list(lost)
        super().__init__(f"{len(self.lost)} run(s) were lost to an infrastructure failure and are "
                         f"not recorded (first: {self.lost[0]}); run the sweep again to finish it")


# ----------------------------------------------------------------------------- one run
def _nonfinite(obj: Any, path: str = "") -> list[str]:
    """Paths of non-finite numbers in a metrics structure (floats, numpy, torch, lists)."""
    if isinstance(obj, Mapping):
        return [p for k, v in obj.items() for p in _nonfinite(v, f"{path}.{k}" if path else str(k))]
    if isinstance(obj, (list, tuple)):
        return [p for i, v in enumerate(obj) for p in _nonfinite(v, f"{path}[{i}]")]
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, (np.ndarray, np.generic)):
        if obj.dtype.kind in "fc" and not np.isfinite(obj).all():
            return [path]
        return []
    if isinstance(obj, float) and not math.isfinite(obj):
        return [path]
    return []


def _in_dask_worker() -> bool:
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _hardware(device: str) -> dict[str, Any]:
    """What ran a record, beside its device: the GPU's name on CUDA, the CPU count and torch's
    threads otherwise (records made before this field have neither)."""
    import os

    import torch

    if str(device).startswith("cuda") and torch.cuda.is_available():
        return {"gpu": torch.cuda.get_device_name()}
    return {"cpus": os.cpu_count(), "threads": torch.get_num_threads()}


def execute(fn: RunFn, config: dict[str, Any], device: str, version: int = 1) -> dict[str, Any]:
    """Run one config and return its record (never raises for a failing run).

    Args:
        fn: the run function.
        config: one run config.
        device: ``'cpu'`` or ``'cuda'``.
        version: the study's result version for this config (enters the record's key).

    Raises:
        InfrastructureError: passed through unrecorded (see the module docstring).

    Inside a Dask worker, torch is limited to one thread so that workers do not
    oversubscribe the cores.
    """
    if _in_dask_worker():
        import torch

        torch.set_num_threads(1)
    env = {"device": device} | _hardware(device)
    t0, c0 = time.perf_counter(), time.process_time()

    def times() -> dict[str, float]:
        return {"wall_time_s": time.perf_counter() - t0, "cpu_time_s": time.process_time() - c0}

    def failed(reason: str, metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
        try:
            return make_record(config, status="failed", reason=reason, metrics=metrics,
                               version=version, env=env, **times())
        except (TypeError, ValueError):  # metrics that cannot be stored: keep the reason
            return make_record(config, status="failed", reason=reason, version=version,
                               env=env, **times())

    try:
        metrics = dict(fn(dict(config), device))
        bad = _nonfinite(metrics)
        if bad:
            return failed(f"non-finite metric(s): {', '.join(bad)}", metrics)
        return make_record(config, status="ok", metrics=metrics, version=version, env=env,
                           **times())
    except InfrastructureError:
        raise
    except RunFailed as exc:
        return failed(str(exc) or "RunFailed")
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, none stops a sweep
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
        return failed(f"{type(exc).__name__}: {exc}{where}")


# ----------------------------------------------------------------------------- a sweep
@dataclass
class SweepReport:
    """What a sweep did. ``records`` follow the order of the configs given."""

    store: ResultStore
    records: list[dict[str, Any]]
    n_cached: int
    n_run: int
    n_failed: int
    where: str
    wall_time_s: float
    failures: list[tuple[str, str]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        out = (f"sweep {self.store.study}: {len(self.records)} runs, {self.n_cached} from the "
               f"store, {self.n_run} computed ({self.where}), {self.n_failed} failed in total, "
               f"{self.wall_time_s:.1f} s")
        if self.missing:
            out += (f"; {len(self.missing)} run(s) of the plan are not in the store yet and were "
                    f"not computed (compute off): python -m derivlearn.run {self.store.study} "
                    "computes them")
        return out

    def frame(self):
        """DataFrame of this sweep's records (config and metrics flattened)."""
        return records_frame(self.records)


def resolve_scheduler(scheduler: str | None, n_pending: int, device: str) -> str:
    """Pick where a sweep runs: explicit value > ``$DERIVLEARN_SCHEDULER`` > ``'auto'``.

    A study's config arrives with the full order already applied by
    :meth:`~derivlearn.params.StudyConfig.from_profile`: an explicit override (``-p scheduler``,
    ``--set scheduler=``) > ``$DERIVLEARN_SCHEDULER`` > the profile's default > ``None``, which
    here means automatic unless the environment names a scheduler.

    ``'auto'`` runs in process when there are fewer than :data:`AUTO_INPROCESS_BELOW` pending
    runs, on one core, or on a GPU (one process drives it best); otherwise ``'local'``.
    """
    if scheduler is None:
        scheduler = env_scheduler() if os.environ.get(SCHEDULER_ENV) else "auto"
    Scheduler()("scheduler", scheduler)
    if scheduler != "auto":
        return scheduler
    if n_pending < AUTO_INPROCESS_BELOW or (os.cpu_count() or 1) < 2 or device == "cuda":
        return "inprocess"
    return "local"


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.std import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr,
                mininterval=1.0, dynamic_ncols=True, leave=True)


def run_sweep(
    fn: RunFn,
    configs: Sequence[Mapping[str, Any]],
    store: ResultStore,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    device: str = "auto",
    recompute: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    version: VersionSpec = 1,
) -> SweepReport:
    """Run every config not yet in ``store`` and record each outcome as it completes.

    Args:
        fn: run function ``fn(config, device) -> metrics``; importable for Dask workers.
        configs: run configs (JSON-able dicts; each must contain ``"study"``).
        store: where records go and where finished runs are found.
        scheduler: ``None`` / ``'auto'`` / ``'inprocess'`` / ``'local'`` / ``'tcp://host:port'``.
        n_workers: processes of the ``LocalCluster`` (default: one per core, at most the
            number of pending runs).
        device: ``'auto'`` (CUDA when present), ``'cpu'`` or ``'cuda'``.
        recompute: rerun and overwrite runs already in the store.
        retry_failed: rerun only the runs whose stored record failed.
        progress: show a tqdm bar (stderr; renders in terminals and notebooks).
        version: the study's result version, or a function ``config -> version``.

    Returns:
        A :class:`SweepReport`; ``report.records`` is in the order of ``configs``.

    Raises:
        RunsLeft: after every other run is recorded, when runs were lost to infrastructure
            errors (a damaged cache, a lost Dask worker or scheduler); they stay pending.
        OSError: before any run, when the store cannot be written.
    """
    t0 = time.perf_counter()
    device = resolve_device(device)
    configs = [dict(c) for c in configs]
    versions = [version_of(version, c) for c in configs]
    keys = [config_key(c, v) for c, v in zip(configs, versions, strict=True)]
    if len(set(keys)) != len(keys):
        raise ValueError("parameter 'configs': contains duplicate run configs")
    todo: list[int] = []
    for i, key in enumerate(keys):
        rec = store.get(key)
        if recompute or rec is None or (retry_failed and rec["status"] == "failed"):
            todo.append(i)
    if todo:
        store.check_writable()  # before the first run, so that no computed run is lost
    where = resolve_scheduler(scheduler, len(todo), device) if todo else "nothing to run"
    bar = _progress(len(todo), f"{store.study}", progress and bool(todo))
    failures: list[tuple[str, str]] = []
    lost: list[str] = []

    def done(rec: dict[str, Any]) -> None:
        store.append(rec)
        if rec["status"] == "failed":
            failures.append((rec["key"], rec["reason"]))
        bar.update(1)

    try:
        if not todo:
            pass
        elif where == "inprocess":
            for i in todo:
                try:
                    done(execute(fn, configs[i], device, versions[i]))
                except InfrastructureError as exc:
                    lost.append(f"{type(exc).__name__}: {exc}")
        else:
            lost = _run_dask(fn, [(configs[i], versions[i]) for i in todo], device, where,
                             n_workers, done)
    finally:
        bar.close()
    if recompute and todo:
        store.compact()
    if lost:
        raise RunsLeft(lost)
    records = [store.get(k) for k in keys]
    missing = [k for k, r in zip(keys, records, strict=True) if r is None]
    if missing:  # pragma: no cover - would be a bug in the executor
        raise RuntimeError(f"sweep finished with {len(missing)} runs unrecorded: {missing[:5]}")
    return SweepReport(
        store=store, records=records,  # type: ignore[arg-type]
        n_cached=len(configs) - len(todo), n_run=len(todo),
        n_failed=sum(r["status"] == "failed" for r in records),  # type: ignore[index]
        where=where, wall_time_s=time.perf_counter() - t0, failures=failures,
    )


CONNECT_TIMEOUT_ENV = "DERIVLEARN_CONNECT_TIMEOUT"
CONNECT_TIMEOUT_S = 30.0
"""Default wall-clock bound on reaching a Dask scheduler (override: ``$DERIVLEARN_CONNECT_TIMEOUT``)."""


def connect_timeout() -> float:
    """Seconds allowed for reaching a Dask scheduler: ``$DERIVLEARN_CONNECT_TIMEOUT`` or 30."""
    text = os.environ.get(CONNECT_TIMEOUT_ENV)
    if not text:
        return CONNECT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"parameter '{CONNECT_TIMEOUT_ENV}': got {text!r}; allowed: a number of "
                         "seconds > 0")
    return value


def _looks_like_dask(head: bytes) -> bool:
    """Whether a peer's first bytes are a Dask message: a little-endian uint64 byte count (a
    scheduler sends its handshake as soon as a connection is accepted), then a frame count."""
    if len(head) < 8:
        return False
    size = int.from_bytes(head[:8], "little")
    if not 0 < size < 2**31:
        return False
    return len(head) < 16 or 0 < int.from_bytes(head[8:16], "little") < 2**16


def _probe_scheduler(address: str, timeout: float) -> None:
    """Check within about ``timeout`` seconds that a Dask scheduler answers at ``tcp://`` address.

    ``distributed.Client(address, timeout=...)`` bounds only the TCP connect: a peer that accepts
    the connection but is not a Dask scheduler (the dashboard's HTTP port, a silent listener)
    made it wait forever. A plain socket, closed on return, finds out what answered instead; no
    thread or process is started. Connecting is retried until ``timeout`` (a scheduler may be
    starting); an HTTP request is sent only to a peer that stayed silent for ``timeout``.

    Raises:
        ConnectionError: nothing accepted the connection, or what did is not a Dask scheduler.
    """
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, loc = parse_address(address)
    if scheme != "tcp":  # tls:// handshakes are bounded by Dask's own connect timeout
        return
    host, port = parse_host_port(loc, 8786)
    deadline = time.monotonic() + timeout
    sock, error = None, None
    while sock is None:
        try:
            sock = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()))
        except OSError as exc:
            error = exc
            if time.monotonic() >= deadline:
                raise ConnectionError(f"could not connect to a Dask scheduler at {address} within "
                                      f"{timeout:g} s ({error}); is it running? (time limit: "
                                      f"${CONNECT_TIMEOUT_ENV})") from exc
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    with sock:
        head, closed = b"", False
        deadline = max(deadline, time.monotonic() + min(timeout, 2.0))  # a late accept gets time too
        try:
            while len(head) < 16 and time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(16 - len(head))
                if not chunk:
                    closed = True
                    break
                head += chunk
                if len(head) >= 8 and not _looks_like_dask(head):
                    break
        except TimeoutError:
            pass
        except OSError as exc:
            raise ConnectionError(f"the connection to {address} failed before a Dask scheduler "
                                  f"answered ({exc})") from exc
        if _looks_like_dask(head):
            return
        if closed and not head:
            raise ConnectionError(f"something at {address} accepted the connection and closed it "
                                  "without answering as a Dask scheduler")
        if head.startswith(b"HTTP/"):
            reply = head
        elif head:
            raise ConnectionError(f"something answered at {address}, but not as a Dask scheduler "
                                  f"(first bytes: {head!r})")
        else:
            reply = b""
            try:  # silent so far: ask it whether it is a web server
                sock.settimeout(min(2.0, timeout))
                sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
                reply = sock.recv(64)
            except OSError:
                pass
        if reply.startswith(b"HTTP/"):
            status = reply.split(b"\r\n", 1)[0].decode("latin-1")
            raise ConnectionError(f"an HTTP server answered at {address} ({status!r}), not a Dask "
                                  "scheduler: is this the dashboard port? Dask schedulers listen "
                                  "on 8786 unless started with another --port")
        if head or reply:
            raise ConnectionError(f"something answered at {address}, but not as a Dask scheduler "
                                  f"(first bytes: {(head or reply)!r})")
        raise ConnectionError(f"something accepted the connection at {address} but never answered "
                              f"as a Dask scheduler within {timeout:g} s (time limit: "
                              f"${CONNECT_TIMEOUT_ENV})")


def _connect(address: str):
    """A ``distributed.Client`` for a scheduler address, or a clear error within the time limit
    (:func:`connect_timeout`, plus at most 2 s to tell what answered instead)."""
    from distributed import Client

    timeout = connect_timeout()
    _probe_scheduler(address, timeout)
    return Client(address, timeout=timeout)


def _run_dask(
    fn: RunFn,
    configs: list[tuple[dict[str, Any], int]],
    device: str,
    where: str,
    n_workers: int | None,
    done: Callable[[dict[str, Any]], None],
) -> list[str]:
    """Submit every (config, version) to Dask and hand each record to ``done`` as it completes.

    Returns the runs lost to the cluster or to infrastructure errors (not recorded)."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if where == "local":
        n = n_workers or max(1, min(os.cpu_count() or 1, len(configs)))
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        client = _connect(where)
    try:
        futures = {
            client.submit(execute, fn, cfg, device, v, key=f"run-{config_key(cfg, v)}",
                          pure=False): cfg
            for cfg, v in configs
        }
        lost: list[str] = []
        for fut in as_completed(futures):
            if fut.status == "finished":
                done(fut.result())
            else:  # runs never raise: this is the cluster failing (scheduler lost, KilledWorker)
                exc = None if fut.status == "cancelled" else fut.exception()
                lost.append(f"{fut.status}: {type(exc).__name__ if exc else 'cancelled'} {exc or ''}")
            fut.release()
        # Not recorded: an infrastructure failure says nothing about the run, and a plain
        # re-run of the sweep computes exactly these.
        return lost
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def read_sweep(configs: Sequence[Mapping[str, Any]], store: ResultStore,
               version: VersionSpec = 1) -> SweepReport:
    """The stored records of a sweep, computing nothing: ``records`` holds those found (in the
    order of ``configs``), ``missing`` the configs that have none (a sweep still in progress)."""
    t0 = time.perf_counter()
    configs = [dict(c) for c in configs]
    found = store.lookup(configs, version)
    records = [r for r in found if r is not None]
    return SweepReport(store=store, records=records, n_cached=len(records), n_run=0,
                       n_failed=sum(r["status"] == "failed" for r in records), where="store only",
                       wall_time_s=time.perf_counter() - t0,
                       missing=[c for c, r in zip(configs, found, strict=True) if r is None])


def run_study(cfg: Any, fn: RunFn, configs: Sequence[Mapping[str, Any]],
              store: ResultStore | None = None) -> SweepReport:
    """:func:`run_sweep` with the sweep knobs of a study config (a ``StudyConfig``).

    The store defaults to the profile's (see :func:`derivlearn.store.default_root`). With
    ``cfg.compute_enabled`` false (``make book`` at the book profile) nothing is computed: the
    report holds the stored records and lists the missing runs (:func:`read_sweep`).
    """
    from derivlearn.store import open_store

    store = store if store is not None else open_store(cfg.study, cfg.profile)
    if not cfg.compute_enabled:
        return read_sweep(configs, store, cfg.version_of)
    return run_sweep(fn, configs, store, scheduler=cfg.scheduler, n_workers=cfg.n_workers,
                     device=cfg.device, recompute=cfg.recompute, retry_failed=cfg.retry_failed,
                     progress=cfg.progress_enabled, version=cfg.version_of)
