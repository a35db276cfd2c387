"""Friedman #1 as a reference problem, in two forms: 10 inputs (5 inactive) or the 5 active ones.

``f(x) = 10 sin(π x1 x2) + 20 (x3 - 0.5)² + 10 x4 + 5 x5`` (Friedman 1991). The classical form
(``friedman1``) has 10 inputs on [0, 1]^10: only the first five are active, the other five are
nuisance inputs with zero partial derivative. ``friedman1_5d`` is the same function of its five
active inputs on [0, 1]^5, so that a result can say whether it comes from the inactive inputs.
The values of the 5-input form at ``x[:, :5]`` equal those of the 10-input form at ``x``.
The gradient is torch autograd of the closed form, hence exact to rounding.

Outputs are **not** normalized here (values lie in about [-5, 30]); the study normalizes
inputs and outputs itself.
"""

from __future__ import annotations

import torch
from torch import Tensor

from derivlearn.functions.nd import FRIEDMAN1
from derivlearn.problems.base import Problem

N_ACTIVE = 5
"""The inputs the function depends on: x1..x5."""
FORMS = {10: "friedman1", 5: "friedman1_5d"}
"""Number of inputs -> registry name."""


class Friedman1(Problem):
    """Friedman #1, noise-free, on [0, 1]^n_inputs.

    Args:
        n_inputs: 10 (the classical form, 5 inactive inputs) or 5 (the active inputs only).

    Example:
        >>> p = Friedman1()
        >>> p.dim, p.domain.shape
        (10, torch.Size([10, 2]))
        >>> Friedman1(n_inputs=5).name
        'friedman1_5d'
    """

    def __init__(self, n_inputs: int = 10) -> None:
        if n_inputs not in FORMS or isinstance(n_inputs, bool):
            raise ValueError(f"parameter 'n_inputs': got {n_inputs!r}; allowed: 10 or 5")
        self.n_inputs = n_inputs
        self.name = FORMS[n_inputs]
        self.bounds = FRIEDMAN1.bounds[:n_inputs]

    def _f(self, x: Tensor) -> Tensor:
        if self.n_inputs == N_ACTIVE:  # pad with inactive inputs: the closed form ignores them
            x = torch.cat([x, torch.zeros(x.shape[0], FRIEDMAN1.dim - N_ACTIVE, dtype=x.dtype)], dim=1)
        return FRIEDMAN1(x)

    def value(self, x: Tensor) -> Tensor:
        """``f(x)``. *Shape:* x (N, n_inputs) -> (N,)."""
        return self._f(self._check(x))

    def gradient(self, x: Tensor) -> Tensor:
        """``∇f(x)`` by autograd of the closed form. *Shape:* x (N, n_inputs) -> (N, n_inputs)."""
        xg = self._check(x).requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self._f(xg).sum(), xg)
        return g
