"""Stokes flow past a sphere (Stokes 1851): the stream function in the meridional half-plane.

A sphere of radius ``a`` sits at the origin in a uniform creeping flow of far-field speed ``U``
along the x axis. The flow is axisymmetric, so it is described by the Stokes stream function in
spherical coordinates (r, θ), θ measured from the flow axis,

    ψ(r, θ) = (U/2) sin²θ (r² - 3ar/2 + a³/(2r)).

**Choice of the learned quantity.** We learn ψ as a function of 2-D Cartesian *meridional*
coordinates: ``x`` along the flow axis and ``y >= 0`` the distance from the axis, so that
r = sqrt(x² + y²), sin θ = y/r and

    ψ(x, y) = (U/2) y² h(r),   h(r) = 1 - 3a/(2r) + a³/(2r³).

The velocity follows as u_x = (1/y) ∂ψ/∂y, u_y = -(1/y) ∂ψ/∂x, so a model of ψ with accurate
gradients is a model of the flow. ψ vanishes on the sphere surface (r = a, no slip and no
penetration) and on the axis (y = 0), and ψ → (U/2) y² (uniform flow) far away.

The domain is the box x ∈ [-L, L], y ∈ [0, L] (``extent`` L = 3 by default) minus the half
disc r < a; :meth:`StokesSphere.sample` draws uniformly from it by rejection sampling. The
formula itself is evaluated wherever r > 0 (inside the sphere it is a mere analytic
continuation, not a flow); use :meth:`StokesSphere.contains` to mask such points.
The gradient is the exact closed form.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from derivlearn.problems.base import Problem, _check_n


class StokesSphere(Problem):
    """Stokes stream function ψ(x, y) around a sphere of radius ``a`` in a flow of speed ``U``.

    Args:
        a: sphere radius (> 0).
        U: far-field speed (finite).
        extent: half-width L of the box x ∈ [-L, L], y ∈ [0, L]; must exceed ``a``.

    Example:
        >>> p = StokesSphere()
        >>> p.value(torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64))
        tensor([0., 0.], dtype=torch.float64)
    """

    name = "stokes"

    def __init__(self, a: float = 1.0, U: float = 1.0, extent: float = 3.0) -> None:
        if not (isinstance(a, int | float) and math.isfinite(a) and a > 0):
            raise ValueError(f"parameter 'a': got {a!r}; allowed: a finite number > 0")
        if not (isinstance(U, int | float) and math.isfinite(U)):
            raise ValueError(f"parameter 'U': got {U!r}; allowed: a finite number")
        if not (isinstance(extent, int | float) and math.isfinite(extent) and extent > a):
            raise ValueError(f"parameter 'extent': got {extent!r}; allowed: a finite number > a = {a}")
        self.a = float(a)
        self.U = float(U)
        self.extent = float(extent)
        self.bounds = ((-self.extent, self.extent), (0.0, self.extent))

    def contains(self, x: Tensor) -> Tensor:
        """Whether each point lies in the fluid (r >= a). *Shape:* x (N, 2) -> (N,), bool."""
        x = self._check(x)
        return torch.linalg.vector_norm(x, dim=1) >= self.a

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` points uniform on the box minus the half disc r < a. *Shape:* (n, 2)."""
        _check_n(n)
        accept = 1.0 - 0.5 * math.pi * self.a ** 2 / (2 * self.extent ** 2)
        chunks: list[Tensor] = []
        have = 0
        while have < n:
            m = int(1.1 * (n - have) / accept) + 16
            pts = super().sample(m, generator)
            pts = pts[torch.linalg.vector_norm(pts, dim=1) >= self.a]
            chunks.append(pts)
            have += pts.shape[0]
        return torch.cat(chunks)[:n]

    def _h(self, r: Tensor) -> tuple[Tensor, Tensor]:
        a = self.a
        h = 1.0 - 1.5 * a / r + 0.5 * a ** 3 / r ** 3
        dh = 1.5 * a / r ** 2 - 1.5 * a ** 3 / r ** 4
        return h, dh

    def value(self, x: Tensor) -> Tensor:
        """ψ(x, y) = (U/2) y² h(r). *Shape:* x (N, 2) -> (N,)."""
        x = self._check(x)
        r = torch.linalg.vector_norm(x, dim=1)
        h, _ = self._h(r)
        return 0.5 * self.U * x[:, 1] ** 2 * h

    def gradient(self, x: Tensor) -> Tensor:
        """(∂ψ/∂x, ∂ψ/∂y), closed form. *Shape:* x (N, 2) -> (N, 2)."""
        x = self._check(x)
        r = torch.linalg.vector_norm(x, dim=1)
        h, dh = self._h(r)
        y = x[:, 1]
        common = 0.5 * self.U * y ** 2 * dh / r
        return torch.stack((common * x[:, 0], self.U * y * h + common * y), dim=1)

    def velocity(self, x: Tensor) -> Tensor:
        """Velocity (u_x, u_y) = ((1/y) ∂ψ/∂y, -(1/y) ∂ψ/∂x) off the axis (y > 0). *Shape:* (N, 2)."""
        g = self.gradient(x)
        y = self._check(x)[:, 1]
        return torch.stack((g[:, 1] / y, -g[:, 0] / y), dim=1)
