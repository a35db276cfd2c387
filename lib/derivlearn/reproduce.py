"""Do the stored records still follow from the code? Recompute records and compare them.

A run key holds the run config and the study's result version, not the code itself. A change
that alters results without bumping the version would therefore leave stale records that are
served as if the current code had computed them. This module recomputes records (a seeded
sample of a store, or a list of reference records) and reports every metric that moved.

What is compared: every metric except wall-clock measurements (:data:`TIMING`), numbers under a
stated tolerance (:data:`RTOL`, :data:`ATOL`), everything else exactly; and the status.

Example:
    >>> from derivlearn.studies import theory                       # doctest: +SKIP
    >>> recs = sample(open_store("theory", "book").records(), 3, seed=2026)   # doctest: +SKIP
    >>> [verify(theory.RUN, r) for r in recs]                       # doctest: +SKIP
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from derivlearn.sweep import RunFn, execute

RTOL = 1e-6
"""Relative tolerance for numbers: the same code may round differently with another BLAS
thread count (measured: a 1e-12 error metric moved by 40 % between 1 and 2 threads)."""
ATOL = 1e-9
"""Absolute tolerance for numbers, so that round-off-sized errors (1e-12) compare equal."""
TIMING = ("seconds", "time", "wall")
"""Metrics whose name contains one of these words are measurements of speed, never compared."""


def _is_timing(name: str) -> bool:
    return any(w in name for w in TIMING)


def differences(old: Any, new: Any, path: str = "", rtol: float = RTOL,
                atol: float = ATOL) -> list[str]:
    """Where two metric structures differ beyond the tolerance (paths with both values)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for k in sorted(set(old) | set(new)):
            p = f"{path}.{k}" if path else str(k)
            if _is_timing(str(k)):
                continue
            if k not in old or k not in new:
                out.append(f"{p}: only in the {'new' if k in new else 'stored'} record")
            else:
                out += differences(old[k], new[k], p, rtol, atol)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: length {len(old)} != {len(new)}"]
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True))
                for d in differences(a, b, f"{path}[{i}]", rtol, atol)]
    numbers = (int, float)
    if isinstance(old, numbers) and isinstance(new, numbers) \
            and not isinstance(old, bool) and not isinstance(new, bool):
        if math.isclose(old, new, rel_tol=rtol, abs_tol=atol):
            return []
        return [f"{path}: stored {old!r}, recomputed {new!r}"]
    return [] if old == new else [f"{path}: stored {old!r}, recomputed {new!r}"]


def verify(fn: RunFn, record: Mapping[str, Any], device: str = "cpu",
           rtol: float = RTOL, atol: float = ATOL) -> list[str]:
    """Recompute one record with the current code; the differences found (empty: it holds).

    Args:
        fn: the study's run function.
        record: a stored record (its ``config`` is rerun at its ``result_version``; a record
            written before versions existed is rerun at version 1, to check a migration).
        device: where to recompute.
    """
    version = record.get("result_version")
    new = execute(fn, dict(record["config"]), device, version or 1)
    out = []
    if version is not None and new["key"] != record["key"]:
        out.append(f"key: stored {record['key']}, recomputed {new['key']}")
    if new["status"] != record["status"]:
        out.append(f"status: stored {record['status']!r}, recomputed {new['status']!r} "
                   f"({new.get('reason')})")
    return out + differences(record.get("metrics", {}), new.get("metrics", {}), "metrics",
                             rtol, atol)


def sample(records: Sequence[Mapping[str, Any]], n: int, seed: int,
           where: Callable[[Mapping[str, Any]], bool] | None = None) -> list[Mapping[str, Any]]:
    """A seeded sample of ``n`` records (those passing ``where``), in a reproducible order."""
    pool = sorted((r for r in records if where is None or where(r)), key=lambda r: r["key"])
    return random.Random(seed).sample(pool, min(n, len(pool)))


__all__ = ["ATOL", "RTOL", "TIMING", "differences", "sample", "verify"]
