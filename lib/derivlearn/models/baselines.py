"""Baselines for GradINN with the same U architecture and Adam budget: standard NN, PINN, Sobolev NN.

* standard NN: ``mean_i (U(x_i) - y_i)^2`` only;
* PINN-like: ``+ lam * mean_c ||r(x_c, U)||^2`` with a user residual ``r`` built from U's
  derivatives (:func:`derivative`, e.g. :func:`decay_residual`, :func:`burgers_residual`),
  collocation points redrawn uniformly in the domain every epoch as in GradINN;
* Sobolev NN: ``+ lam * mean_i ||grad_x U(x_i) - g_i||^2`` with the true gradients ``g_i`` at the
  data points.

Every trainer builds U as :class:`derivlearn.models.gradinn.ValueNet` from ``stream(seed, 0)``,
so for one seed all methods start from the same weights.

The ``*_objective`` functions give the same losses for ensembles (stacked networks trained at
once by :func:`derivlearn.models.gradinn.fit_ensemble`), one hyperparameter per member:

* :func:`nn_objective`: the data loss plus ``weight_decay / 2 * ||theta||^2`` (what Adam's
  ``weight_decay`` adds to the gradient);
* :func:`sobolev_objective`: the gradient error divided by the mean squared norm of the given
  gradients (scale-free, as GradINN's mismatch);
* :func:`pinn_objective`: the squared residual of a point-wise residual function, evaluated on
  all members at once by flattening them into one batch of points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from derivlearn.models.gradinn import (
    EnsembleLoss,
    EnsembleObjective,
    History,
    LossTerms,
    Scalar,
    Stack,
    ValueNet,
    adam_loop,
    check_common,
    check_data,
    check_domain,
    check_int,
    check_lam,
    check_number,
    collocation_closure,
    data_loss,
    fail,
    input_gradient,
    lam_at,
    stack_forward,
    torch_dtype,
    value_and_gradient,
)

Residual = Callable[[Tensor, Scalar], Tensor]
"""A residual ``r(x_c, U)``: x_c (M, d) with ``requires_grad`` -> (M,) or (M, k)."""


@dataclass
class BaselineResult:
    """A trained baseline: value network ``u`` and its history."""

    u: ValueNet
    history: History


# --------------------------------------------------------------------------- residual helpers

def derivative(out: Tensor, x: Tensor, i: int) -> Tensor:
    """d out / d x_i per point, differentiable again. *Shapes:* out (M,), x (M, d) -> (M,)."""
    if not out.requires_grad:  # e.g. the derivative of a function linear in x: a constant
        return torch.zeros_like(out)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True, allow_unused=True)
    return torch.zeros_like(out) if g is None else g[:, i]


def decay_residual(k: float = 1.0) -> Residual:
    """Residual of the ODE ``u'(t) = -k u(t)``: ``r = u_t + k u``, with t the only input."""
    def r(t: Tensor, u: Scalar) -> Tensor:
        v = u(t)
        return derivative(v, t, 0) + k * v
    return r


def burgers_residual(nu: float) -> Residual:
    """Residual of viscous Burgers ``u_t + u u_x - nu u_xx`` with inputs ordered ``(x, t)``."""
    check_number("nu", nu)

    def r(xt: Tensor, u: Scalar) -> Tensor:
        v = u(xt)
        v_x = derivative(v, xt, 0)
        v_t = derivative(v, xt, 1)
        v_xx = derivative(v_x, xt, 0)
        return v_t + v * v_x - nu * v_xx
    return r


def lotka_volterra_prey_ode(x: Tensor, x_t: Tensor, x_tt: Tensor, alpha: float, beta: float,
                            gamma: float, delta: float, scale: float = 1.0) -> Tensor:
    """The Lotka–Volterra system reduced to the prey ``x(t)`` alone, as a residual.

    With ``p = x'/x = alpha - beta y`` the predator is ``y = (alpha - p) / beta``, and its
    equation ``y' = (delta x - gamma) y`` becomes ``p' + (alpha - p)(delta x - gamma) = 0``.
    Multiplied by ``x^2`` (no division by a prey that a network may drive to zero):

        r = x x'' - x'^2 + (alpha x - x')(delta x - gamma) x,

    divided by ``scale`` (we use ``x*^2 alpha gamma`` with the equilibrium prey ``x* = gamma/delta``,
    the size of its terms, so that r is of order one where the prey is of order x*). ``beta``
    drops out; it is kept in the signature for the record.
    *Shapes:* all (M,) -> (M,).
    """
    del beta  # the predator's scale does not enter the prey-only equation
    return (x * x_tt - x_t ** 2 + (alpha * x - x_t) * (delta * x - gamma) * x) / scale


def lotka_volterra_prey_residual(alpha: float = 1.5, beta: float = 1.0, gamma: float = 3.0,
                                 delta: float = 1.0) -> Residual:
    """PINN residual for a network ``U(t)`` of the prey only (:func:`lotka_volterra_prey_ode`,
    derivatives by autograd, scale ``(gamma/delta)^2 alpha gamma``). Lets the PINN baseline use
    the same scalar U as GradINN, with no network for the unobserved predator."""
    for name, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("delta", delta)):
        check_number(name, v, positive=True)
    scale = (gamma / delta) ** 2 * alpha * gamma

    def r(t: Tensor, u: Scalar) -> Tensor:
        v = u(t)
        v_t = derivative(v, t, 0)
        v_tt = derivative(v_t, t, 0)
        return lotka_volterra_prey_ode(v, v_t, v_tt, alpha, beta, gamma, delta, scale)
    return r


# --------------------------------------------------------------------------- losses

def pinn_residual_loss(u: Scalar, residual: Residual, x_colloc: Tensor) -> Tensor:
    """mean_c ||r(x_c, U)||^2. *Shapes:* x_colloc (M, d) -> ()."""
    xc = x_colloc.detach().requires_grad_(True)
    with torch.enable_grad():
        r = residual(xc, u)
    if not isinstance(r, Tensor) or r.ndim < 1 or r.shape[0] != xc.shape[0]:
        fail("residual", f"a callable returning (M,) or (M, k) with M = {xc.shape[0]}",
              getattr(r, "shape", type(r)))
    return (r.reshape(r.shape[0], -1) ** 2).sum(dim=1).mean()


def pinn_loss(u: Scalar, residual: Residual, x: Tensor, y: Tensor, x_colloc: Tensor,
              lam: float) -> LossTerms:
    """Data loss + lam * mean squared residual. *Shapes:* x (N, d), y (N,), x_colloc (M, d)."""
    lam = check_number("lam", lam)
    data = data_loss(u, x, y)
    reg = pinn_residual_loss(u, residual, x_colloc)
    return LossTerms(data + lam * reg, data, reg)


def sobolev_loss(u: Scalar, x: Tensor, y: Tensor, g: Tensor, lam: float) -> LossTerms:
    """Data loss + lam * mean_i ||grad_x U(x_i) - g_i||^2. *Shapes:* x (N, d), y (N,), g (N, d)."""
    lam = check_number("lam", lam)
    data = data_loss(u, x, y)
    reg = ((input_gradient(u, x) - g) ** 2).sum(dim=1).mean()
    return LossTerms(data + lam * reg, data, reg)


# --------------------------------------------------------------------------- trainers

def train_standard_nn(x: Tensor, y: Tensor, *, epochs: int = 1000, lr: float = 1e-3, seed: int = 0,
                      width: int = 32, depth: int = 2, activation: str = "tanh",
                      dtype: str = "float32") -> BaselineResult:
    """Train U on the data loss alone by full-batch Adam. *Shapes:* x (N, d), y (N,)."""
    check_common(epochs, lr, seed)
    dt = torch_dtype(dtype)
    x, y = check_data(x, y, dt)
    u = ValueNet(x.shape[1], width, depth, activation, seed=seed, dtype=dtype)
    zero = torch.zeros((), dtype=dt)

    def closure(epoch: int) -> LossTerms:
        data = data_loss(u, x, y)
        return LossTerms(data, data, zero)

    return BaselineResult(u, adam_loop(u.parameters(), closure, epochs=epochs, lr=lr, lam=0.0))


def train_pinn(x: Tensor, y: Tensor, domain: Tensor, residual: Residual, *,
               lam: float | Callable[[int], float] = 1.0, n_colloc: int = 256, epochs: int = 1000,
               lr: float = 1e-3, seed: int = 0, width: int = 32, depth: int = 2,
               activation: str = "tanh", dtype: str = "float32",
               record_colloc: bool = False) -> BaselineResult:
    """Train U on data loss + lam * mean squared residual at collocation points redrawn per epoch.

    Args:
        x: data inputs. *Shape:* (N, d).
        y: data values. *Shape:* (N,).
        domain: box of the collocation points. *Shape:* (d, 2).
        residual: ``r(x_c, U)`` built from U's derivatives at x_c (which requires grad).
        lam: residual weight >= 0 or a schedule ``epoch -> weight``.
        n_colloc, epochs, lr, seed, width, depth, activation, dtype, record_colloc: as in
            :func:`derivlearn.models.gradinn.train_gradinn`.
    """
    check_common(epochs, lr, seed)
    check_lam(lam)
    check_int("n_colloc", n_colloc, 1)
    if not callable(residual):
        fail("residual", "a callable residual(x_c, U) -> Tensor", type(residual))
    dt = torch_dtype(dtype)
    x, y = check_data(x, y, dt)
    domain = check_domain(domain, x.shape[1], dt)
    u = ValueNet(x.shape[1], width, depth, activation, seed=seed, dtype=dtype)
    closure, colloc = collocation_closure(
        domain, n_colloc, seed, record_colloc,
        lambda xc, epoch: pinn_loss(u, residual, x, y, xc, lam_at(lam, epoch)))
    hist = adam_loop(u.parameters(), closure, epochs=epochs, lr=lr, lam=lam)
    hist.colloc = colloc
    return BaselineResult(u, hist)


def train_sobolev(x: Tensor, y: Tensor, g: Tensor, *, lam: float | Callable[[int], float] = 1.0,
                  epochs: int = 1000, lr: float = 1e-3, seed: int = 0, width: int = 32, depth: int = 2,
                  activation: str = "tanh", dtype: str = "float32") -> BaselineResult:
    """Train U on data loss + lam * gradient error at the data points. *Shapes:* x (N, d), y (N,),
    g (N, d) the true gradients at x."""
    check_common(epochs, lr, seed)
    check_lam(lam)
    dt = torch_dtype(dtype)
    x, y = check_data(x, y, dt)
    if not isinstance(g, Tensor) or g.shape != x.shape:
        fail("g", f"a tensor of shape {tuple(x.shape)}", getattr(g, "shape", g))
    g = g.detach().to(dtype=dt, device="cpu")
    u = ValueNet(x.shape[1], width, depth, activation, seed=seed, dtype=dtype)

    def closure(epoch: int) -> LossTerms:
        return sobolev_loss(u, x, y, g, lam_at(lam, epoch))

    return BaselineResult(u, adam_loop(u.parameters(), closure, epochs=epochs, lr=lr, lam=lam))


# --------------------------------------------------------------------------- ensemble objectives

def _data(u: Stack, x: Tensor, y: Tensor) -> Tensor:
    return (stack_forward(u, x)[..., 0] - y).pow(2).mean(dim=1)


def nn_objective(x: Tensor, y: Tensor, weight_decay: Tensor) -> EnsembleObjective:
    """Data loss + ``weight_decay / 2 * ||theta_U||^2`` per member; ``reg`` is ``||theta_U||^2 / 2``.

    *Shapes:* x (E, N, d), y (E, N), weight_decay (E,).
    """
    def objective(u: Stack, f: Stack | None, epoch: int) -> EnsembleLoss:
        data = _data(u, x, y)
        reg = 0.5 * u.squared_norm()
        return EnsembleLoss(data + weight_decay * reg, data, reg)
    return objective


def sobolev_objective(x: Tensor, y: Tensor, g: Tensor, lam: Tensor) -> EnsembleObjective:
    """Data loss + ``lam * mean_i ||grad U(x_i) - g_i||^2 / mean_i ||g_i||^2`` per member.

    *Shapes:* x (E, N, d), y (E, N), g (E, N, d), lam (E,).
    """
    scale = g.pow(2).sum(dim=2).mean(dim=1).clamp_min(1e-12)

    def objective(u: Stack, f: Stack | None, epoch: int) -> EnsembleLoss:
        pred, grad = value_and_gradient(u, x)
        data = (pred - y).pow(2).mean(dim=1)
        reg = (grad - g).pow(2).sum(dim=2).mean(dim=1) / scale
        return EnsembleLoss(data + lam * reg, data, reg)
    return objective


def ensemble_scalar(u: Stack, members: int) -> Scalar:
    """All members of ``u`` as one scalar field of flattened points: ``(E M, d) -> (E M,)``, rows
    ``e M .. (e + 1) M - 1`` belonging to member ``e``. Members do not interact, so derivatives
    of it by autograd are every member's own."""
    def f(z: Tensor) -> Tensor:
        return stack_forward(u, z.reshape(members, -1, z.shape[1]))[..., 0].reshape(-1)
    return f


def pinn_objective(x: Tensor, y: Tensor, colloc: Callable[[int], Tensor], residual: Residual,
                   lam: Tensor) -> EnsembleObjective:
    """Data loss + ``lam * mean_c ||r(x_c, U)||^2`` per member.

    ``residual`` is called once per epoch with the flattened points (E M, d) and
    :func:`ensemble_scalar`; it returns (E M,) or (E M, k). *Shapes:* x (E, N, d), y (E, N),
    lam (E,), ``colloc(epoch)`` (E, M, d).
    """
    def objective(u: Stack, f: Stack | None, epoch: int) -> EnsembleLoss:
        data = _data(u, x, y)
        xc = colloc(epoch)
        e, m, d = xc.shape
        z = xc.reshape(e * m, d).detach().requires_grad_(True)
        with torch.enable_grad():
            r = residual(z, ensemble_scalar(u, e))
        if not isinstance(r, Tensor) or r.shape[0] != e * m:
            fail("residual", f"a callable returning (M,) or (M, k) with M = {e * m}",
                 getattr(r, "shape", type(r)))
        reg = r.reshape(e, m, -1).pow(2).sum(dim=2).mean(dim=1)
        return EnsembleLoss(data + lam * reg, data, reg)
    return objective
