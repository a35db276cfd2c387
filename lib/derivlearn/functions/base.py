"""The test-function type shared by every analytic benchmark."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

CATEGORIES = ("bowl", "plate", "valley", "steep", "other", "nd")
"""Hartmann et al. Table I categories (bowl-, plate-, valley-shaped, steep ridges or drops,
others), plus ``nd`` for the n-dimensional benchmarks of Horvath et al. and Friedman."""


@dataclass(frozen=True)
class TestFunction:
    """A scalar function of ``d`` inputs on a box, differentiable to any order in torch.

    Attributes:
        name: registry name.
        category: one of :data:`CATEGORIES`.
        bounds: per-input ``(low, high)``.
        fn: the function, ``(N, d) -> (N,)``, built from torch operations only.
        minimum: known global minimum value on the domain (``None`` if not documented).
        argmin: its location(s), one tuple per minimiser.
        note: deviations from the textbook form and other remarks.
    """

    __test__ = False  # not a pytest class

    name: str
    category: str
    bounds: tuple[tuple[float, float], ...]
    fn: Callable[[Tensor], Tensor] = field(repr=False)
    minimum: float | None = None
    argmin: tuple[tuple[float, ...], ...] = ()
    note: str = ""

    @property
    def dim(self) -> int:
        return len(self.bounds)

    @property
    def domain(self) -> Tensor:
        """Input box. *Shape:* (d, 2), float64, columns low and high."""
        return torch.tensor(self.bounds, dtype=torch.float64)

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate. *Shape:* x (N, d) -> (N,)."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"parameter 'x': expected shape (N, {self.dim}) for {self.name!r}, "
                             f"got {tuple(x.shape)}")
        return self.fn(x)

    def sample(self, n: int, generator: torch.Generator | None = None,
               dtype: torch.dtype = torch.float64) -> Tensor:
        """``n`` points uniform on the domain. *Shape:* (n, d)."""
        u = torch.rand(n, self.dim, generator=generator, dtype=dtype)
        dom = self.domain.to(dtype)
        return dom[:, 0] + u * (dom[:, 1] - dom[:, 0])
