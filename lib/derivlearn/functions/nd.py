"""n-dimensional benchmarks: Rosenbrock on [-1, 1]^n (Horvath et al. §3.3) and Friedman #1."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from derivlearn.functions.base import TestFunction
from derivlearn.functions.hartmann import _rosenbrock


def rosenbrock_nd(dim: int) -> TestFunction:
    """Rosenbrock Σ 100 (x_{i+1} - x_i²)² + (x_i - 1)² on [-1, 1]^dim (dim >= 2)."""
    if not isinstance(dim, int) or dim < 2:
        raise ValueError(f"parameter 'dim': got {dim!r}; allowed: an integer >= 2 "
                         "(the 1-D Rosenbrock sum is empty, i.e. identically zero)")
    return TestFunction("rosenbrock_nd", "nd", ((-1.0, 1.0),) * dim, _rosenbrock, 0.0,
                        ((1.0,) * dim,), "Horvath et al. §3.3 domain [-1, 1]^n")


def _friedman1(x: Tensor) -> Tensor:
    return (10 * torch.sin(math.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2
            + 10 * x[:, 3] + 5 * x[:, 4])


FRIEDMAN1 = TestFunction(
    "friedman1", "nd", ((0.0, 1.0),) * 10, _friedman1, None, (),
    "Friedman (1991) #1: 10 inputs on [0, 1], only x1..x5 active; noise-free",
)
