"""Seed statistics: inf-tolerant medians, bootstrap intervals, effort ratios."""

from __future__ import annotations

import math

import numpy as np
import pytest

from derivlearn import stats


def test_upper_quantile_keeps_inf_and_needs_more_than_half():
    assert stats.upper_quantile([1.0, 2.0, 3.0], 0.5) == 2.0
    assert stats.upper_quantile([1.0, 2.0, math.inf, math.inf], 0.5) == math.inf  # 2 of 4: not reached
    assert stats.upper_quantile([1.0, 2.0, 3.0, math.inf], 0.5) == 3.0
    a = np.array([[1.0, 5.0, 3.0], [math.inf, 0.0, 2.0]])
    assert stats.upper_quantile(a, 0.5).tolist() == [3.0, 2.0]


def test_ratio_of_efforts_that_may_be_inf():
    r = stats.ratio([1.0, math.inf, 2.0, math.inf], [2.0, 4.0, math.inf, math.inf])
    assert r[0] == 0.5 and r[1] == math.inf and r[2] == 0.0 and math.isnan(r[3])


def test_interval_covers_the_bootstrap_of_a_known_median():
    x = np.arange(1.0, 11.0)
    idx = stats.resample(10, 4000, seed=1)
    lo, hi = stats.interval(stats.upper_quantile(x[idx], 0.5))
    assert lo <= 6.0 <= hi and lo >= 2 and hi <= 9
    assert stats.interval([math.nan, math.nan]) != stats.interval([1.0])
    with pytest.raises(ValueError, match="'n'"):
        stats.resample(0)


def test_resample_is_seeded():
    assert np.array_equal(stats.resample(5, 10, 3), stats.resample(5, 10, 3))
    assert not np.array_equal(stats.resample(5, 10, 3), stats.resample(5, 10, 4))
