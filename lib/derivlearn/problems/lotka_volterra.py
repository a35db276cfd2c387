"""The Lotka–Volterra predator–prey system as a 1-D regression problem in time.

    dx/dt = α x - β x y,    dy/dt = δ x y - γ y,

with α = 1.5, β = 1, γ = 3, δ = 1 and initial state (x, y)(0) = (1, 1). The learned quantity is
the prey ``x(t)`` (``component="prey"``, default) or the predator ``y(t)`` (``component="predator"``)
as a function of t ∈ [0, 10].

The reference is ``scipy.integrate.solve_ivp`` (DOP853, rtol = atol = 1e-12) with its dense
output, computed once per object on first use. The gradient d/dt is the right-hand side of the
ODE evaluated at the reference state (not a derivative of the interpolant). The system conserves
V = δ x - γ ln x + β y - α ln y (:meth:`LotkaVolterra.invariant`), which the tests use to check the
reference. :meth:`LotkaVolterra.residual` is the ODE residual used by a PINN baseline.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch import Tensor

from derivlearn.problems.base import Problem, check_same_shape

COMPONENTS = ("prey", "predator")


class LotkaVolterra(Problem):
    """Prey or predator population of the Lotka–Volterra system versus time.

    Args:
        component: ``"prey"`` (x) or ``"predator"`` (y).
        alpha, beta, gamma, delta: the rate constants (> 0).
        x0, y0: initial populations (> 0).
        t_end: end of the time window [0, t_end] (> 0).

    Example:
        >>> p = LotkaVolterra()
        >>> p.value(torch.zeros(1, 1, dtype=torch.float64))
        tensor([1.], dtype=torch.float64)
    """

    def __init__(self, component: str = "prey", alpha: float = 1.5, beta: float = 1.0,
                 gamma: float = 3.0, delta: float = 1.0, x0: float = 1.0, y0: float = 1.0,
                 t_end: float = 10.0) -> None:
        if component not in COMPONENTS:
            raise ValueError(f"parameter 'component': got {component!r}; allowed: {COMPONENTS}")
        for pname, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("delta", delta),
                         ("x0", x0), ("y0", y0), ("t_end", t_end)):
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"parameter {pname!r}: got {v!r}; allowed: a finite number > 0")
        self.component = component
        self.alpha, self.beta, self.gamma, self.delta = map(float, (alpha, beta, gamma, delta))
        self.x0, self.y0, self.t_end = float(x0), float(y0), float(t_end)
        self.name = "lotka_volterra" if component == "prey" else "lotka_volterra_predator"
        self.bounds = ((0.0, self.t_end),)
        self._sol = None

    def rhs(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Right-hand side (dx/dt, dy/dt) at state (x, y). *Shape:* (N,), (N,) -> (N,), (N,)."""
        return (self.alpha * x - self.beta * x * y, self.delta * x * y - self.gamma * y)

    def _solution(self):
        if self._sol is None:
            def f(_t: float, s: np.ndarray) -> list[float]:
                dx, dy = self.rhs(s[0], s[1])
                return [dx, dy]
            out = solve_ivp(f, (0.0, self.t_end), [self.x0, self.y0], method="DOP853",
                            rtol=1e-12, atol=1e-12, dense_output=True)
            if not out.success:  # pragma: no cover - smooth non-stiff system
                raise RuntimeError(f"solve_ivp failed: {out.message}")
            self._sol = out.sol
        return self._sol

    def _times(self, t: Tensor) -> Tensor:
        t = self._check(t)[:, 0]
        slack = 1e-12 * self.t_end
        if bool(((t < -slack) | (t > self.t_end + slack)).any()):
            raise ValueError(f"parameter 'x': times must lie in the domain [0, {self.t_end}]; got "
                             f"[{t.min().item()}, {t.max().item()}]")
        return t

    def state(self, t: Tensor) -> Tensor:
        """Reference state (x, y) at times ``t``. *Shape:* t (N, 1) -> (N, 2)."""
        tt = self._times(t).clamp(0.0, self.t_end)
        return torch.from_numpy(np.ascontiguousarray(self._solution()(tt.numpy()).T)).to(torch.float64)

    def value(self, x: Tensor) -> Tensor:
        """The chosen population at times ``x``. *Shape:* x (N, 1) -> (N,)."""
        return self.state(x)[:, COMPONENTS.index(self.component)]

    def gradient(self, x: Tensor) -> Tensor:
        """d/dt of the chosen population: the ODE right-hand side at the reference state.

        *Shape:* x (N, 1) -> (N, 1).
        """
        s = self.state(x)
        return self.rhs(s[:, 0], s[:, 1])[COMPONENTS.index(self.component)].unsqueeze(1)

    def invariant(self, x: Tensor, y: Tensor) -> Tensor:
        """Conserved quantity V = δ x - γ ln x + β y - α ln y. *Shape:* (N,), (N,) -> (N,)."""
        check_same_shape(x=x, y=y)
        return self.delta * x - self.gamma * torch.log(x) + self.beta * y - self.alpha * torch.log(y)

    def residual(self, t: Tensor, x_pred: Tensor, y_pred: Tensor, dx_dt: Tensor, dy_dt: Tensor) -> Tensor:
        """ODE residual of a predicted trajectory, differentiable (torch operations only).

        Args:
            t: times (the system is autonomous; ``t`` is only shape-checked). *Shape:* (N,).
            x_pred, y_pred: predicted prey and predator. *Shape:* (N,).
            dx_dt, dy_dt: their time derivatives. *Shape:* (N,).

        Returns:
            Columns dx/dt - (α x - β x y) and dy/dt - (δ x y - γ y). *Shape:* (N, 2).
        """
        check_same_shape(t=t, x_pred=x_pred, y_pred=y_pred, dx_dt=dx_dt, dy_dt=dy_dt)
        fx, fy = self.rhs(x_pred, y_pred)
        return torch.stack((dx_dt - fx, dy_dt - fy), dim=-1)
