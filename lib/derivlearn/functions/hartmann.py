"""The 18 two-dimensional functions of Hartmann, Kissel & Diepold, Table I.

Table I as printed is the reference. Where text extraction garbled it, the standard textbook
form is used, and every deviation from the textbook is noted on the function:

* Branin: the printed row is cut after the square; the standard tail
  ``10 (1 - 1/(8π)) cos x₁ + 10`` is used.
* McCormick: printed, and in the authors' public code, with ``(x₁ + x₂)²``; the textbook has
  ``(x₁ - x₂)²``. Kept as printed (it then has no interior minimum).
* Styblinski-Tang: printed with the factor 1/3; the textbook has 1/2. Kept as printed (a
  constant factor, removed by the z-score transform).
* Sum of different powers: ``|x₁|² + |x₂|³`` is C² but not C³ at ``x₂ = 0``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from derivlearn.functions.base import TestFunction

PI = math.pi


def _sphere(x: Tensor) -> Tensor:
    return (x**2).sum(-1)


def _sum_of_different_powers(x: Tensor) -> Tensor:
    i = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
    return (x.abs() ** (i + 1)).sum(-1)


def _sum_squares(x: Tensor) -> Tensor:
    i = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
    return (i * x**2).sum(-1)


def _trid(x: Tensor) -> Tensor:
    return ((x - 1) ** 2).sum(-1) - (x[:, 1:] * x[:, :-1]).sum(-1)


def _booth(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    return (x1 + 2 * x2 - 7) ** 2 + (2 * x1 + x2 - 5) ** 2


def _mccormick(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    return torch.sin(x1 + x2) + (x1 + x2) ** 2 - 1.5 * x1 + 2.5 * x2 + 1


def _matyas(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    return 0.26 * (x1**2 + x2**2) - 0.48 * x1 * x2


def _powersum(x: Tensor, b: tuple[float, ...] = (8.0, 18.0)) -> Tensor:
    return sum(((x ** (k + 1)).sum(-1) - bk) ** 2 for k, bk in enumerate(b))


def _rosenbrock(x: Tensor) -> Tensor:
    return (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (x[:, :-1] - 1) ** 2).sum(-1)


def _three_hump_camel(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    return 2 * x1**2 - 1.05 * x1**4 + x1**6 / 6 + x1 * x2 + x2**2


def _six_hump_camel(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


def _dixon_price(x: Tensor) -> Tensor:
    i = torch.arange(2, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
    return (x[:, 0] - 1) ** 2 + (i * (2 * x[:, 1:] ** 2 - x[:, :-1]) ** 2).sum(-1)


def _easom(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    return -torch.cos(x1) * torch.cos(x2) * torch.exp(-((x1 - PI) ** 2) - (x2 - PI) ** 2)


def _michalewicz(x: Tensor, m: int = 10) -> Tensor:
    i = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
    return -(torch.sin(x) * torch.sin(i * x**2 / PI) ** (2 * m)).sum(-1)


def _styblinski_tang(x: Tensor) -> Tensor:
    return (x**4 - 16 * x**2 + 5 * x).sum(-1) / 3


def _beale(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    return ((1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2**2) ** 2
            + (2.625 - x1 + x1 * x2**3) ** 2)


def _branin(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    a, b, c, r, s, t = 1.0, 5.1 / (4 * PI**2), 5 / PI, 6.0, 10.0, 1 / (8 * PI)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * torch.cos(x1) + s


def _goldstein_price(x: Tensor) -> Tensor:
    x1, x2 = x.unbind(-1)
    a = 1 + (x1 + x2 + 1) ** 2 * (19 - 14 * x1 + 3 * x1**2 - 14 * x2 + 6 * x1 * x2 + 3 * x2**2)
    b = 30 + (2 * x1 - 3 * x2) ** 2 * (18 - 32 * x1 + 12 * x1**2 + 48 * x2 - 36 * x1 * x2
                                       + 27 * x2**2)
    return a * b


_ST_MIN = -2.903534018185960  # minimiser of x^4 - 16 x^2 + 5 x
_ST_VAL = (_ST_MIN**4 - 16 * _ST_MIN**2 + 5 * _ST_MIN) * 2 / 3

TABLE_I: tuple[TestFunction, ...] = (
    TestFunction("sphere", "bowl", ((-5.12, 5.12),) * 2, _sphere, 0.0, ((0.0, 0.0),)),
    TestFunction("sum_of_different_powers", "bowl", ((-1.0, 1.0),) * 2, _sum_of_different_powers,
                 0.0, ((0.0, 0.0),), "C² but not C³ at x₂ = 0 (|x₂|³)"),
    TestFunction("sum_squares", "bowl", ((-10.0, 10.0),) * 2, _sum_squares, 0.0, ((0.0, 0.0),)),
    TestFunction("trid", "bowl", ((-4.0, 4.0),) * 2, _trid, -2.0, ((2.0, 2.0),)),
    TestFunction("booth", "plate", ((-10.0, 10.0),) * 2, _booth, 0.0, ((1.0, 3.0),)),
    TestFunction("mccormick", "plate", ((-1.5, 4.0), (-3.0, 4.0)), _mccormick, None, (),
                 "(x₁+x₂)² as printed in Table I and in the authors' code; the textbook has "
                 "(x₁-x₂)² (minimum -1.9133 at (-0.547, -1.547)); this variant has no interior "
                 "minimum"),
    TestFunction("matyas", "plate", ((-10.0, 10.0),) * 2, _matyas, 0.0, ((0.0, 0.0),)),
    TestFunction("powersum", "plate", ((0.0, 2.0),) * 2, _powersum, None, (),
                 "b = (8, 18); with d = 2 no point reaches 0, so no literature minimum applies"),
    TestFunction("rosenbrock", "valley", ((-5.0, 10.0),) * 2, _rosenbrock, 0.0, ((1.0, 1.0),)),
    TestFunction("three_hump_camel", "valley", ((-5.0, 5.0),) * 2, _three_hump_camel, 0.0,
                 ((0.0, 0.0),)),
    TestFunction("six_hump_camel", "valley", ((-3.0, 3.0), (-2.0, 2.0)), _six_hump_camel,
                 -1.0316284534898774, ((0.08984201368301331, -0.7126564032704135),
                                       (-0.08984201368301331, 0.7126564032704135))),
    TestFunction("dixon_price", "valley", ((-10.0, 10.0),) * 2, _dixon_price, 0.0,
                 ((1.0, 2**-0.5), (1.0, -(2**-0.5)))),
    TestFunction("easom", "steep", ((-5.0, 5.0),) * 2, _easom, -1.0, ((PI, PI),),
                 "domain [-5, 5]² as in Table I (the textbook uses [-100, 100]²)"),
    TestFunction("michalewicz", "steep", ((0.0, PI),) * 2, _michalewicz, -1.8013034100985537,
                 ((2.202905513296628, 1.570796326794896),), "m = 10"),
    TestFunction("styblinski_tang", "other", ((-5.0, 5.0),) * 2, _styblinski_tang, _ST_VAL,
                 ((_ST_MIN, _ST_MIN),), "factor 1/3 as printed; the textbook has 1/2"),
    TestFunction("beale", "other", ((-4.5, 4.5),) * 2, _beale, 0.0, ((3.0, 0.5),)),
    TestFunction("branin", "other", ((-5.0, 10.0), (0.0, 15.0)), _branin, 0.39788735772973816,
                 ((-PI, 12.275), (PI, 2.275), (3 * PI, 2.475)),
                 "tail 10(1 - 1/(8π)) cos x₁ + 10 restored (cut off in the printed table)"),
    TestFunction("goldstein_price", "other", ((-2.0, 2.0),) * 2, _goldstein_price, 3.0,
                 ((0.0, -1.0),)),
)
