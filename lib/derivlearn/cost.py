"""The cost/information model of Horvath, Staggl & Posch (2025), §2.3.

Under the *equivalent information* assumption every value or unique partial derivative carries
one piece of information. One simulation that returns derivatives up to order ``r`` in ``d``
parameters then yields

    I(d, r) = C(d + r, r)                       pieces of information,

at a cost, relative to one forward run, of

    C(d, r) = 1 + C(d + r - 1, r - 1)           (forward run, plus one AD pass per
                                                 unique partial of order r - 1),

so the data-generation effort relative to value-only data is

    R(d, r) = C(d, r) / I(d, r) = d! r! / (d + r)! + r / (d + r).

``C(a, b)`` is the binomial coefficient. All functions are exact (``fractions.Fraction``) so
identities such as R(d, 1) = R(d, 2) = 2 / (d + 1) can be checked without rounding.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb


def _check(d: int, r: int) -> None:
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise ValueError(f"parameter 'd': got {d!r}; allowed: an integer >= 1")
    if not isinstance(r, int) or isinstance(r, bool) or r < 0:
        raise ValueError(f"parameter 'r': got {r!r}; allowed: an integer >= 0")


def information(d: int, r: int) -> int:
    """I(d, r): number of unique partials of order 0..r of a scalar function of d inputs."""
    _check(d, r)
    return comb(d + r, r)


def cost(d: int, r: int) -> int:
    """C(d, r): cost of one sample with derivatives up to order r, in forward-run units.

    C(d, 0) = 1, C(d, 1) = 2, C(d, 2) = d + 2 (C(8, 2) = 10).
    """
    _check(d, r)
    return 1 + (comb(d + r - 1, r - 1) if r >= 1 else 0)


def ratio(d: int, r: int) -> Fraction:
    """R(d, r) = C(d, r) / I(d, r), exactly."""
    return Fraction(cost(d, r), information(d, r))


def ratio_closed_form(d: int, r: int) -> Fraction:
    """R(d, r) in the paper's closed form d! r! / (d + r)! + r / (d + r) (an independent route)."""
    _check(d, r)
    return Fraction(1, comb(d + r, r)) + Fraction(r, d + r)


def best_order(d: int, r_max: int = 5) -> list[int]:
    """The orders r in 1..r_max that minimise R(d, r) (ties included)."""
    values = {r: ratio(d, r) for r in range(1, r_max + 1)}
    best = min(values.values())
    return [r for r, v in values.items() if v == best]


def effort(n_samples: int, d: int, r: int) -> int:
    """Data-generation effort N · C(d, r) of ``n_samples`` samples with derivatives to order r."""
    return n_samples * cost(d, r)
