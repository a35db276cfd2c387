"""Friedman #1 as a reference problem: a thin wrapper over :data:`derivlearn.functions` ``friedman1``.

``f(x) = 10 sin(π x1 x2) + 20 (x3 - 0.5)² + 10 x4 + 5 x5`` on [0, 1]^10 (Friedman 1991); only the
first five inputs are active, the other five are nuisance inputs with zero partial derivative.
The gradient is torch autograd of the closed form, hence exact to rounding.

Outputs are **not** normalized here (values lie in about [-5, 30]); the study normalizes
inputs and outputs itself.
"""

from __future__ import annotations

import torch
from torch import Tensor

from derivlearn.functions.nd import FRIEDMAN1
from derivlearn.problems.base import Problem


class Friedman1(Problem):
    """Friedman #1, 10 inputs on [0, 1] (5 active), noise-free.

    Example:
        >>> p = Friedman1()
        >>> p.dim, p.domain.shape
        (10, torch.Size([10, 2]))
    """

    name = "friedman1"
    bounds = FRIEDMAN1.bounds

    def value(self, x: Tensor) -> Tensor:
        """``f(x)``. *Shape:* x (N, 10) -> (N,)."""
        return FRIEDMAN1(self._check(x))

    def gradient(self, x: Tensor) -> Tensor:
        """``∇f(x)`` by autograd of the closed form. *Shape:* x (N, 10) -> (N, 10)."""
        xg = self._check(x).requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(FRIEDMAN1(xg).sum(), xg)
        return g
