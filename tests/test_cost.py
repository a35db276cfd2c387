from __future__ import annotations

from fractions import Fraction
from math import factorial

import pytest

from derivlearn import cost


def test_paper_values():
    assert [cost.information(8, r) for r in range(3)] == [1, 9, 45]
    assert cost.cost(8, 0) == 1 and cost.cost(8, 1) == 2 and cost.cost(8, 2) == 10
    assert cost.effort(30, 8, 1) == 60


@pytest.mark.parametrize("d", range(1, 60))
def test_r1_equals_r2_equals_two_over_d_plus_one(d):
    assert cost.ratio(d, 1) == cost.ratio(d, 2) == Fraction(2, d + 1)


@pytest.mark.parametrize("d", [1, 2, 3, 8, 20])
@pytest.mark.parametrize("r", range(0, 7))
def test_ratio_matches_the_papers_closed_form(d, r):
    by_factorials = Fraction(factorial(d) * factorial(r), factorial(d + r)) + Fraction(r, d + r)
    assert cost.ratio(d, r) == cost.ratio_closed_form(d, r) == by_factorials


def test_best_order():
    assert cost.best_order(1) == [1, 2, 3, 4, 5]
    assert cost.best_order(8) == [1, 2]


@pytest.mark.parametrize("d, r", [(0, 1), (2, -1), (1.5, 1), (True, 1)])
def test_bad_arguments(d, r):
    with pytest.raises(ValueError, match="parameter"):
        cost.ratio(d, r)
