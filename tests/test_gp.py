"""GP surrogates (derivlearn.gp): interpolation, derivative consistency, failures, input checks.

All fits are float64 and seeded. Tolerances:

* interpolation, 1e-3 of the largest target: with noise 1e-7 on standardised targets the
  residual at the training points is ``1e-7 (K + 1e-7 I)^-1 y``, which is not zero where the
  kernel matrix has eigenvalues below the noise (it always does with derivative blocks and
  smooth kernels); we measured 1e-6 to 1e-4 relative on these problems, so 1e-3 has a
  margin of 10 or more and still fails for a model that merely regresses;
* derivatives against central differences (step 1e-5), 1e-5 relative: the truncation error
  is ~1e-10 and the rounding error of the posterior mean divided by the step ~1e-9 -- we
  measured 1e-7.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import gpytorch
import pytest
import torch
from linear_operator.utils.warnings import NumericalWarning
from torch import Tensor

from derivlearn import functions
from derivlearn.gp import KINDS, GPSurrogate, RBFKernelHessDiag, fit_gp
from derivlearn.sweep import RunFailed

F64 = torch.float64


def sincos(x: Tensor) -> Tensor:
    """A smooth 2-D test function on [-1, 1]^2. *Shape:* (N, 2) -> (N,)."""
    return torch.sin(3 * x[:, 0]) + torch.cos(2 * x[:, 1]) + 0.5 * x[:, 0] * x[:, 1]


def derivatives(fn, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Values (N,), gradients (N, d) and Hessian diagonals (N, d) of ``fn`` by autograd."""
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    h = torch.stack([torch.autograd.grad(g[:, j].sum(), x, retain_graph=True)[0][:, j]
                     for j in range(x.shape[1])], dim=1)
    return y.detach(), g.detach(), h.detach()


def box(n: int, seed: int, lo: float = -1.0, hi: float = 1.0) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, 2, generator=gen, dtype=F64)


def rel_err(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def central_diff(fun, x: Tensor, step: float = 1e-5) -> Tensor:
    """Central differences of ``fun`` (M, d) -> (M,). *Shape:* (M, d)."""
    cols = [(fun(x + step * e) - fun(x - step * e)) / (2 * step) for e in torch.eye(x.shape[1], dtype=F64)]
    return torch.stack(cols, dim=1)


@pytest.fixture(scope="module")
def data12():
    x = box(12, seed=0)
    return (x, *derivatives(sincos, x))


@pytest.fixture(scope="module")
def fitted(data12) -> dict[str, GPSurrogate]:
    x, y, g, h = data12
    return {kind: fit_gp(x, y, g, h, kind=kind, seed=0) for kind in KINDS}


OFF_TRAINING = box(15, seed=1, lo=-0.8, hi=0.8)


# ----------------------------------------------------------------------------- interpolation
def test_gegp_interpolates_values_and_gradients(data12, fitted):
    x, y, g, _ = data12
    mean, grad = fitted["gegp"].predict(x, order=1)
    assert mean.shape == (12,) and grad.shape == (12, 2)
    assert rel_err(mean, y) <= 1e-3
    assert rel_err(grad, g) <= 1e-3


def test_gp_interpolates_values(data12, fitted):
    x, y, _, _ = data12
    (mean,) = fitted["gp"].predict(x)
    assert rel_err(mean, y) <= 1e-3


def test_hegp_interpolates_values_gradients_and_hessian_diagonal(data12, fitted):
    x, y, g, h = data12
    mean, grad, hess = fitted["hegp"].predict(x, order=2)
    assert hess.shape == (12, 2)
    assert rel_err(mean, y) <= 1e-3
    assert rel_err(grad, g) <= 1e-3
    assert rel_err(hess, h) <= 1e-3


# ----------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("kind", KINDS)
def test_predicted_gradient_matches_finite_differences_of_the_mean(fitted, kind):
    """gegp/hegp: the gradient tasks; gp: autograd of the posterior mean -- both = d(mean)/dx."""
    s = fitted[kind]
    _, grad = s.predict(OFF_TRAINING, order=1)
    fd = central_diff(lambda z: s.predict(z)[0], OFF_TRAINING)
    assert rel_err(grad, fd) <= 1e-5


def test_hegp_hessian_tasks_match_finite_differences_of_the_gradient(fitted):
    s = fitted["hegp"]
    _, _, hess = s.predict(OFF_TRAINING, order=2)
    step = 1e-5
    fd = torch.stack([(s.predict(OFF_TRAINING + step * e, 1)[1][:, j]
                       - s.predict(OFF_TRAINING - step * e, 1)[1][:, j]) / (2 * step)
                      for j, e in enumerate(torch.eye(2, dtype=F64))], dim=1)
    assert rel_err(hess, fd) <= 1e-5


def test_hess_diag_kernel_matches_autograd_of_the_rbf_kernel():
    """Cross-covariances of [f, df/dx_i, d2f/dx_i^2] for n1 != n2, against autograd."""
    torch.manual_seed(0)
    d, t = 3, 7
    x1, x2 = torch.randn(3, d, dtype=F64), torch.randn(4, d, dtype=F64)
    ls = torch.tensor([0.7, 1.3, 0.9], dtype=F64)
    kern = RBFKernelHessDiag(ard_num_dims=d).to(F64)
    kern.lengthscale = ls[None, :]
    with torch.no_grad():
        got = kern.forward(x1, x2)
    assert got.shape == (3 * t, 4 * t)

    def task(v: Tensor, z: Tensor, k: int) -> Tensor:  # task k of the derivative of v w.r.t. z
        if k == 0:
            return v
        j = (k - 1) % d
        for _ in range(1 + (k > d)):
            v = torch.autograd.grad(v, z, create_graph=True)[0][j]
        return v

    for p in range(3):
        for q in range(4):
            for a in range(t):
                for b in range(t):
                    u = x1[p].clone().requires_grad_(True)
                    w = x2[q].clone().requires_grad_(True)
                    ref = task(task(torch.exp(-0.5 * (((u - w) / ls) ** 2).sum()), u, a), w, b)
                    assert abs(ref.item() - got[p * t + a, q * t + b].item()) <= 1e-12


def test_hess_diag_kernel_equals_gpytorch_on_square_inputs():
    torch.manual_seed(1)
    x = torch.randn(5, 2, dtype=F64)
    ours, theirs = RBFKernelHessDiag(ard_num_dims=2).to(F64), gpytorch.kernels.RBFKernelGradGrad(
        ard_num_dims=2).to(F64)
    for k in (ours, theirs):
        k.lengthscale = torch.tensor([[0.6, 1.7]], dtype=F64)
    with torch.no_grad():
        torch.testing.assert_close(ours.forward(x, x), theirs.forward(x, x), rtol=0, atol=1e-12)


@pytest.mark.xfail(raises=RuntimeError, strict=True,
                   reason="GPyTorch 1.15.2 RBFKernelGradGrad: size mismatch for n1 != n2; "
                   "if this passes, RBFKernelHessDiag can be dropped")
def test_stock_gradgrad_kernel_on_rectangular_inputs():
    k = gpytorch.kernels.RBFKernelGradGrad(ard_num_dims=2).to(F64)
    with torch.no_grad():
        assert k.forward(torch.zeros(1, 2, dtype=F64), torch.ones(3, 2, dtype=F64)).shape == (5, 15)


# ----------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("name", ["sincos", "rosenbrock"])
def test_gegp_beats_gp_at_equal_n(name):
    """Same 8 points: the gradient information must cut the test RMSE at least in half."""
    gen = torch.Generator().manual_seed(0)
    if name == "sincos":
        fn, x, xt = sincos, box(8, seed=0), box(400, seed=100)
    else:
        fn = functions.get("rosenbrock")
        x, xt = fn.sample(8, gen), fn.sample(400, gen)
    y, g, _ = derivatives(fn, x)
    yt = fn(xt)
    rmse = {kind: float(((fit_gp(x, y, g, kind=kind).predict(xt)[0] - yt) ** 2).mean().sqrt())
            for kind in ("gp", "gegp")}
    assert rmse["gegp"] < 0.5 * rmse["gp"], rmse


# ----------------------------------------------------------------------------- failures
def _duplicated_points() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    x = torch.linspace(0, 1, 10, dtype=F64)[:, None]
    x = torch.cat([x, x])  # every point twice: the kernel matrix is singular
    return x, torch.sin(3 * x[:, 0]), 3 * torch.cos(3 * x), -9 * torch.sin(3 * x)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("max_tries", [0, 1])
def test_cholesky_failure_raises_runfailed(kind, max_tries):
    """Duplicated points, noise 1e-16 and at most one jitter of 1e-20: Cholesky must fail.

    (``cholesky_max_tries(0)`` makes linear_operator 0.6.1 raise UnboundLocalError, not
    NotPSDError; fit_gp reports it as RunFailed too.) The jitter warning is passed on.
    """
    x, y, g, h = _duplicated_points()
    jitter_warned = pytest.warns(NumericalWarning, match="added jitter of 1.0e-20") if max_tries else (
        contextlib.nullcontext())
    with gpytorch.settings.cholesky_max_tries(max_tries), \
            gpytorch.settings.cholesky_jitter(double_value=1e-20), jitter_warned, \
            pytest.raises(RunFailed, match=rf"^{kind}: Cholesky of the \d+x\d+ training covariance failed "
                          r"at Adam iteration 1 of 5 \(noise=1e-16, jitter escalation"):
        fit_gp(x, y, g, h, kind=kind, noise=1e-16, iterations=5, init_lengthscale=5.0)


def test_nonfinite_loss_and_prediction_raise_runfailed(monkeypatch, data12, fitted):
    x, y, g, _ = data12
    with monkeypatch.context() as m:
        m.setattr(gpytorch.mlls.ExactMarginalLogLikelihood, "forward",
                  lambda self, out, target, *a, **k: out.mean.sum() * math.nan)
        with pytest.raises(RunFailed, match=r"^gegp: non-finite loss \(nan\) at Adam iteration 1 of 5"):
            fit_gp(x, y, g, kind="gegp", iterations=5)
    s = fitted["gp"]
    monkeypatch.setattr(s, "_task_means", lambda z: torch.full((z.shape[0], 1), math.nan, dtype=F64))
    with pytest.raises(RunFailed, match="non-finite posterior mean"):
        s.predict(OFF_TRAINING)


def test_duplicated_points_at_noise_1e7_fit_without_jitter():
    """The noise floors the eigenvalues at 1e-7 >> float64 rounding: no failure, no jitter."""
    x, y, g, _ = _duplicated_points()
    s = fit_gp(x, y, g, kind="gegp", iterations=5, init_lengthscale=5.0)
    assert s.info["jitter_warnings"] == 0 and math.isfinite(s.info["final_loss"])


def test_jitter_warnings_pass_through_and_are_counted():
    x, y, _, _ = _duplicated_points()
    with pytest.warns(NumericalWarning, match="added jitter"):
        s = fit_gp(x, y, noise=1e-16, iterations=3, init_lengthscale=5.0)
    assert s.info["jitter_warnings"] >= 1
    assert s.info["max_jitter"] >= 1e-8  # GPyTorch's first jitter for float64
    assert torch.isfinite(s.predict(x)[0]).all()


# ----------------------------------------------------------------------------- constraints, info
@pytest.mark.parametrize("kind", KINDS)
def test_lengthscales_in_bounds_and_noise_unchanged(fitted, kind):
    s = fitted[kind]
    ls = s.lengthscales
    assert ls.shape == (2,) and bool(((ls >= 0.01) & (ls <= 1000.0)).all())
    assert s.info["hyperparameters"]["noise"] == pytest.approx(1e-7, rel=1e-12)
    assert s.noise == pytest.approx(1e-7, rel=1e-12)
    assert all(not p.requires_grad for p in s.likelihood.parameters())


def test_binding_lengthscale_bounds_are_respected(data12):
    x, y, g, _ = data12  # the unconstrained optimum is near 1; force it above 2
    s = fit_gp(x, y, g, kind="gegp", lengthscale_bounds=(2.0, 50.0), iterations=100)
    assert bool(((s.lengthscales >= 2.0) & (s.lengthscales <= 50.0)).all())
    assert float(s.lengthscales.min()) == pytest.approx(2.0, rel=1e-3)  # at the bound


@pytest.mark.parametrize(("kind", "tasks"), [("gp", 1), ("gegp", 3), ("hegp", 5)])
def test_info(fitted, kind, tasks):
    info = fitted[kind].info
    assert info["n_observations"] == 12 * tasks
    assert math.isfinite(info["final_loss"]) and info["seconds"] > 0 and info["iterations"] == 200
    assert info["jitter_warnings"] == 0 and info["max_jitter"] == 0.0
    hp = info["hyperparameters"]
    assert len(hp["lengthscales"]) == 2 and hp["outputscale"] > 0 and math.isfinite(hp["constant_mean"])


def test_seeded_fits_are_reproducible(data12):
    x, y, g, _ = data12
    a, b = (fit_gp(x, y, g, kind="gegp", iterations=10, seed=3) for _ in range(2))
    assert a.info["final_loss"] == b.info["final_loss"]
    assert torch.equal(a.predict(OFF_TRAINING)[0], b.predict(OFF_TRAINING)[0])


def test_no_warning_when_predicting_at_the_training_inputs(data12, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted["gegp"].predict(data12[0])


# ----------------------------------------------------------------------------- bad input
X, Y, G = box(5, seed=2), torch.zeros(5, dtype=F64), torch.zeros(5, 2, dtype=F64)


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"kind": "krig"}, "kind"),
    ({"x": torch.zeros(5, dtype=F64)}, "x"),
    ({"x": torch.zeros(0, 2, dtype=F64), "y": torch.zeros(0, dtype=F64)}, "x"),
    ({"x": X.clone().fill_(math.nan)}, "x"),
    ({"y": torch.zeros(4, dtype=F64)}, "y"),
    ({"y": torch.zeros(5, 1, dtype=F64)}, "y"),
    ({"kind": "gegp", "grad": None}, "grad"),
    ({"kind": "gegp", "grad": torch.zeros(5, 3, dtype=F64)}, "grad"),
    ({"kind": "hegp"}, "hess_diag"),
    ({"kind": "hegp", "hess_diag": torch.zeros(4, 2, dtype=F64)}, "hess_diag"),
    ({"iterations": 0}, "iterations"),
    ({"iterations": 2.5}, "iterations"),
    ({"lr": 0.0}, "lr"),
    ({"lr": -0.1}, "lr"),
    ({"noise": 0.0}, "noise"),
    ({"noise": math.inf}, "noise"),
    ({"lengthscale_bounds": (0.0, 1.0)}, "lengthscale_bounds"),
    ({"lengthscale_bounds": (2.0, 1.0)}, "lengthscale_bounds"),
    ({"lengthscale_bounds": (1.0,)}, "lengthscale_bounds"),
    ({"init_lengthscale": 5000.0}, "init_lengthscale"),
])
def test_bad_input_names_the_parameter(kwargs, param):
    args = {"x": X, "y": Y, "grad": G, "hess_diag": None} | kwargs
    with pytest.raises(ValueError, match=rf"parameter '{param}'"):
        fit_gp(args.pop("x"), args.pop("y"), args.pop("grad"), args.pop("hess_diag"), **args)


def test_bad_kind_lists_the_allowed_values():
    with pytest.raises(ValueError, match=r"allowed: \('gp', 'gegp', 'hegp'\)"):
        fit_gp(X, Y, kind="GP")


@pytest.mark.parametrize(("kind", "order", "x", "param"), [
    ("gp", 2, OFF_TRAINING, "order"),
    ("gegp", -1, OFF_TRAINING, "order"),
    ("gegp", 0, torch.zeros(3, 3, dtype=F64), "x"),
    ("hegp", 0, torch.zeros(3, dtype=F64), "x"),
])
def test_bad_predict_input(fitted, kind, order, x, param):
    with pytest.raises(ValueError, match=rf"parameter '{param}'"):
        fitted[kind].predict(x, order=order)
