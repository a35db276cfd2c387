"""Seed statistics: medians that tolerate "never reached" (inf), and bootstrap intervals over seeds.

A chapter repeats each cell over a handful of seeds (3 to 10). Its headline numbers are medians
over those seeds, and some seeds never reach a target (an effort of ``inf``). These helpers keep
that convention everywhere: order statistics without interpolation (so ``inf`` stays ``inf``,
never ``nan``), and a percentile bootstrap that resamples *seeds* (all cells of one replicate draw
the same seed indices, since a seed fixes the training subsets of every cell).

Example:
    >>> idx = resample(5, 2000, seed=0)                        # (2000, 5) seed indices
    >>> med = upper_quantile(efforts[..., idx], 0.5)           # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np

BOOTSTRAP_REPS = 2000
"""Bootstrap replicates: the 2.5 % and 97.5 % points move by less than one order statistic."""
LEVEL = 0.95
"""Coverage of the intervals."""


def upper_quantile(a: np.ndarray, frac: float, axis: int = -1) -> np.ndarray:
    """The order statistic ``ceil(frac (n - 1))`` along ``axis`` (no interpolation; ``inf`` kept).

    For ``frac = 0.5`` and an even n this is the upper of the two middle values, so a median is
    reached only when more than half of the seeds reach the target.
    """
    a = np.sort(np.asarray(a, dtype=float), axis=axis)
    k = math.ceil(frac * (a.shape[axis] - 1))
    return np.take(a, k, axis=axis)


def resample(n: int, reps: int = BOOTSTRAP_REPS, seed: int = 0) -> np.ndarray:
    """Bootstrap draws of ``n`` seed indices with replacement. *Shape:* (reps, n)."""
    if n < 1:
        raise ValueError(f"parameter 'n': got {n!r}; allowed: an integer >= 1")
    return np.random.default_rng(seed).integers(0, n, size=(reps, n))


def interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates, ignoring ``nan`` (undefined replicates).

    The bounds are replicate values (no interpolation), so ``inf`` bounds stay ``inf``; ``(nan,
    nan)`` when every replicate is undefined.
    """
    s = np.asarray(samples, dtype=float).ravel()
    s = s[~np.isnan(s)]
    if s.size == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    return (float(np.quantile(s, a, method="lower")), float(np.quantile(s, 1 - a, method="higher")))


def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` for efforts that may be ``inf`` (never reached): ``x/inf = 0``, ``inf/x = inf``,
    ``inf/inf = nan`` (neither reaches the target: no ratio)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = a / b
    return np.where(np.isinf(a) & np.isinf(b), np.nan, out)


__all__ = ["BOOTSTRAP_REPS", "LEVEL", "interval", "ratio", "resample", "upper_quantile"]
