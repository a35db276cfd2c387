"""The reference-problem type shared by the GradINN chapter problems.

A problem is a scalar target ``value`` on a box ``domain`` together with its exact (or
high-accuracy) ``gradient``; all computations are in float64.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor


class Problem(ABC):
    """A scalar reference target of ``dim`` inputs on a box, with its gradient.

    Subclasses set :attr:`name` and :attr:`bounds` and implement :meth:`value` and
    :meth:`gradient`; inputs are validated by :meth:`_check`.

    Attributes:
        name: registry name.
        bounds: per-input ``(low, high)``.
    """

    name: str
    bounds: tuple[tuple[float, float], ...]

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return len(self.bounds)

    @property
    def domain(self) -> Tensor:
        """Input box. *Shape:* (d, 2), float64, columns low and high."""
        return torch.tensor(self.bounds, dtype=torch.float64)

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` points uniform on the domain, float64. *Shape:* (n, d)."""
        _check_n(n)
        u = torch.rand(n, self.dim, generator=generator, dtype=torch.float64)
        dom = self.domain
        return dom[:, 0] + u * (dom[:, 1] - dom[:, 0])

    @abstractmethod
    def value(self, x: Tensor) -> Tensor:
        """The target. *Shape:* x (N, d) -> (N,)."""

    @abstractmethod
    def gradient(self, x: Tensor) -> Tensor:
        """Its gradient with respect to the inputs. *Shape:* x (N, d) -> (N, d)."""

    def __call__(self, x: Tensor) -> Tensor:
        """Same as :meth:`value`. *Shape:* x (N, d) -> (N,)."""
        return self.value(x)

    def _check(self, x: Tensor) -> Tensor:
        """Validate ``x`` and return it detached as float64. *Shape:* (N, d)."""
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.dim:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"parameter 'x': expected a tensor of shape (N, {self.dim}) for "
                             f"{self.name!r}, got {got}")
        if not x.is_floating_point():
            raise ValueError(f"parameter 'x': expected a floating-point tensor, got {x.dtype}")
        return x.detach().to(torch.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"parameter 'n': got {n!r}; allowed: an integer >= 1")


def check_same_shape(**tensors: Tensor) -> None:
    """Raise ValueError unless all ``tensors`` are tensors of one shape (named in the message)."""
    shapes = {k: tuple(v.shape) if isinstance(v, Tensor) else None for k, v in tensors.items()}
    bad = [k for k, s in shapes.items() if s is None]
    if bad:
        raise ValueError(f"parameter {bad[0]!r}: expected a tensor, got {type(tensors[bad[0]]).__name__}")
    if len(set(shapes.values())) > 1:
        raise ValueError(f"parameters {', '.join(map(repr, shapes))}: expected one common shape, "
                         f"got {shapes}")
