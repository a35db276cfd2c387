"""GradINN: a value network U trained jointly with a gradient-prior network F (arXiv 2409.01914).

The Gradient Informed Neural Network fits a scalar network ``U: R^d -> R`` to data while a second
network ``F: R^d -> R^d`` encodes a prior belief about the gradient of the target. Both are
trained together by Adam on

    L = mean_i (U(x_i) - y_i)^2  +  lam * mean_c || grad_x U(x_c) - F(x_c) ||^2,

where the data points ``x_i`` are fixed and the collocation points ``x_c`` are redrawn uniformly
in the domain every epoch. ``grad_x U`` is taken by ``torch.autograd.grad(create_graph=True)``, so
the second term trains both U and F.

The paper summary we work from gives no architecture for F. The two prior families here are our
reading of "a network that encodes prior beliefs such as smoothness":

* ``"smooth"``: a small, low-capacity tanh MLP (default one hidden layer of 8 units) whose output
  layer starts with small weights (``out_scale``), so F starts near zero and can only represent
  slowly varying gradient fields;
* ``"sinusoidal"``: random Fourier features ``[sin(x W^T), cos(x W^T)]`` with frequencies
  ``W ~ N(0, sigma^2)`` drawn once from a seeded generator and kept fixed, followed by a trainable
  linear read-out started with small weights; ``sigma`` sets the band of the prior.

Seeds: one integer ``seed`` drives three independent ``torch.Generator`` streams, ``4 seed + 0``
for U's initialisation, ``4 seed + 1`` for F's and ``4 seed + 2`` for the collocation points
(see :func:`stream`). Everything runs on the CPU in float32 or float64.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor, nn

DTYPES = {"float32": torch.float32, "float64": torch.float64}
"""Allowed ``dtype`` arguments."""

ACTIVATIONS = ("tanh", "sin", "sigmoid", "softplus", "silu", "gelu")
"""Activations of U; all smooth, so ``grad_x U`` is differentiable in the parameters."""

PRIORS = ("smooth", "sinusoidal")
"""Families of the gradient-prior network F."""

PRIOR_OPTIONS = {"smooth": ("hidden", "out_scale"), "sinusoidal": ("n_features", "sigma", "out_scale")}
"""Keyword options of each prior family (see :class:`SmoothPrior`, :class:`SinusoidalPrior`)."""

Scalar = Callable[[Tensor], Tensor]
"""A scalar field: (N, d) -> (N,)."""


# --------------------------------------------------------------------------- validation

def fail(name: str, allowed: str, got: object) -> None:
    """Raise ``ValueError`` naming parameter ``name``, what it allows and what it got."""
    raise ValueError(f"parameter {name!r}: must be {allowed}, got {got!r}")


def check_int(name: str, value: object, lo: int) -> int:
    """Return ``value`` if it is an integer >= ``lo``, else raise ``ValueError`` naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        fail(name, f"an integer >= {lo}", value)
    return value


def check_number(name: str, value: object, *, positive: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number >= 0 (> 0 if ``positive``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        fail(name, "a finite number " + ("> 0" if positive else ">= 0"), value)
    return float(value)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` naming ``name``."""
    if value not in allowed:
        fail(name, f"one of {tuple(allowed)}", value)
    return value  # type: ignore[return-value]


def torch_dtype(dtype: str) -> torch.dtype:
    """The torch dtype of ``"float32"`` or ``"float64"``."""
    return DTYPES[check_choice("dtype", dtype, tuple(DTYPES))]


def check_data(x: Tensor, y: Tensor, dt: torch.dtype) -> tuple[Tensor, Tensor]:
    """Validate and cast training data. *Shapes:* x (N, d), y (N,)."""
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        fail("x", "a tensor of shape (N, d) with N, d >= 1", getattr(x, "shape", x))
    if not isinstance(y, Tensor) or y.shape != (x.shape[0],):
        fail("y", f"a tensor of shape ({x.shape[0]},)", getattr(y, "shape", y))
    return x.detach().to(dtype=dt, device="cpu"), y.detach().to(dtype=dt, device="cpu")


def check_domain(domain: Tensor, d: int, dt: torch.dtype) -> Tensor:
    """Validate and cast a box domain. *Shape:* (d, 2), column 0 the lower and 1 the upper bound."""
    if not isinstance(domain, Tensor) or domain.shape != (d, 2):
        fail("domain", f"a tensor of shape ({d}, 2)", getattr(domain, "shape", domain))
    domain = domain.detach().to(dtype=dt, device="cpu")
    if not (torch.isfinite(domain).all() and (domain[:, 0] < domain[:, 1]).all()):
        fail("domain", "finite bounds with domain[:, 0] < domain[:, 1]", domain.tolist())
    return domain


def lam_at(lam: float | Callable[[int], float], epoch: int) -> float:
    """The weight ``lam`` at ``epoch`` (0-based): a constant or a schedule ``epoch -> float``."""
    value = lam(epoch) if callable(lam) else lam
    return check_number("lam", value)


def check_lam(lam: float | Callable[[int], float]) -> None:
    """Validate a constant ``lam`` (a schedule is checked at every epoch by :func:`lam_at`)."""
    if not callable(lam):
        check_number("lam", lam)


# --------------------------------------------------------------------------- seeding

def stream(seed: int, k: int) -> torch.Generator:
    """Generator ``k`` of a run with ``seed``: 0 initialises U, 1 F, 2 draws collocation points."""
    check_int("seed", seed, 0)
    return torch.Generator().manual_seed(4 * seed + k)


def _uniform_(t: Tensor, bound: float, gen: torch.Generator) -> None:
    with torch.no_grad():
        t.uniform_(-bound, bound, generator=gen)


def _init_linear(layer: nn.Linear, gen: torch.Generator, out_scale: float | None = None) -> None:
    """``torch.nn.Linear`` default init (uniform ``±1/sqrt(fan_in)``) from ``gen``; with
    ``out_scale`` the weights are uniform ``±out_scale`` and the bias zero."""
    if out_scale is None:
        bound = 1.0 / math.sqrt(layer.in_features)
        _uniform_(layer.weight, bound, gen)
        _uniform_(layer.bias, bound, gen)
    else:
        _uniform_(layer.weight, out_scale, gen)
        with torch.no_grad():
            layer.bias.zero_()


class Sin(nn.Module):
    """``sin`` as a module."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(x)


def _activation(name: str) -> nn.Module:
    return {"tanh": nn.Tanh, "sin": Sin, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus,
            "silu": nn.SiLU, "gelu": nn.GELU}[check_choice("activation", name, ACTIVATIONS)]()


# --------------------------------------------------------------------------- networks

class ValueNet(nn.Module):
    """U: the MLP ``d -> width x depth -> 1`` with a linear output, returning a scalar per point.

    Args:
        d: input dimension.
        width: units per hidden layer.
        depth: number of hidden layers.
        activation: one of :data:`ACTIVATIONS`.
        seed: initialisation seed (generator ``stream(seed, 0)``).
        dtype: ``"float32"`` or ``"float64"``.
    """

    def __init__(self, d: int, width: int = 32, depth: int = 2, activation: str = "tanh", *,
                 seed: int = 0, dtype: str = "float32") -> None:
        super().__init__()
        check_int("d", d, 1)
        check_int("width", width, 1)
        check_int("depth", depth, 1)
        dt = torch_dtype(dtype)
        gen = stream(seed, 0)
        sizes = [d] + [width] * depth + [1]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            lin = nn.Linear(sizes[i], sizes[i + 1], dtype=dt)
            _init_linear(lin, gen)
            layers.append(lin)
            if i < len(sizes) - 2:
                layers.append(_activation(activation))
        self.net = nn.Sequential(*layers)
        self.d = d

    def forward(self, x: Tensor) -> Tensor:
        """U(x). *Shapes:* x (N, d) -> (N,)."""
        return self.net(x)[:, 0]


class SmoothPrior(nn.Module):
    """F, smooth family: ``d -> hidden (tanh) -> d`` with small initial output weights.

    Low capacity (few tanh units) limits F to slowly varying gradient fields; ``out_scale`` makes
    the initial F close to zero. Our reading of the paper's smoothness prior.

    Args:
        d: input and output dimension.
        hidden: hidden tanh units.
        out_scale: output weights start uniform in ``±out_scale``, output bias at zero.
        seed: initialisation seed (generator ``stream(seed, 1)``).
        dtype: ``"float32"`` or ``"float64"``.
    """

    def __init__(self, d: int, hidden: int = 8, out_scale: float = 0.01, *, seed: int = 0,
                 dtype: str = "float32") -> None:
        super().__init__()
        check_int("d", d, 1)
        check_int("hidden", hidden, 1)
        check_number("out_scale", out_scale)
        dt = torch_dtype(dtype)
        gen = stream(seed, 1)
        self.hidden = nn.Linear(d, hidden, dtype=dt)
        self.out = nn.Linear(hidden, d, dtype=dt)
        _init_linear(self.hidden, gen)
        _init_linear(self.out, gen, out_scale)

    def forward(self, x: Tensor) -> Tensor:
        """F(x). *Shapes:* x (N, d) -> (N, d)."""
        return self.out(torch.tanh(self.hidden(x)))


class SinusoidalPrior(nn.Module):
    """F, sinusoidal family: fixed random Fourier features and a trainable linear read-out.

    ``F(x) = A [sin(x W^T), cos(x W^T)] + b`` with ``W`` (n_features, d) drawn from
    ``N(0, sigma^2)`` by a seeded generator and stored as a buffer (not trained); ``A`` starts
    uniform in ``±out_scale`` and ``b`` at zero. Our reading of a band-limited gradient prior.

    Args:
        d: input and output dimension.
        n_features: number of frequencies (2 n_features features).
        sigma: standard deviation of the frequencies.
        out_scale: initial read-out weights uniform in ``±out_scale``.
        seed: seed of frequencies and read-out (generator ``stream(seed, 1)``).
        dtype: ``"float32"`` or ``"float64"``.
    """

    omega: Tensor

    def __init__(self, d: int, n_features: int = 16, sigma: float = 1.0, out_scale: float = 0.01, *,
                 seed: int = 0, dtype: str = "float32") -> None:
        super().__init__()
        check_int("d", d, 1)
        check_int("n_features", n_features, 1)
        check_number("sigma", sigma, positive=True)
        check_number("out_scale", out_scale)
        dt = torch_dtype(dtype)
        gen = stream(seed, 1)
        omega = torch.randn(n_features, d, generator=gen, dtype=torch.float64) * sigma
        self.register_buffer("omega", omega.to(dt))
        self.out = nn.Linear(2 * n_features, d, dtype=dt)
        _init_linear(self.out, gen, out_scale)

    def features(self, x: Tensor) -> Tensor:
        """Fourier features. *Shapes:* x (N, d) -> (N, 2 n_features)."""
        z = x @ self.omega.T
        return torch.cat([torch.sin(z), torch.cos(z)], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """F(x). *Shapes:* x (N, d) -> (N, d)."""
        return self.out(self.features(x))


def make_prior(prior: str, d: int, *, seed: int = 0, dtype: str = "float32",
               options: dict | None = None) -> nn.Module:
    """Build F of family ``prior`` (one of :data:`PRIORS`) with keyword ``options`` of that family
    (:data:`PRIOR_OPTIONS`)."""
    check_choice("prior", prior, PRIORS)
    options = dict(options or {})
    unknown = sorted(set(options) - set(PRIOR_OPTIONS[prior]))
    if unknown:
        fail("prior_options", f"keys among {PRIOR_OPTIONS[prior]} for prior {prior!r}", unknown)
    cls = SmoothPrior if prior == "smooth" else SinusoidalPrior
    return cls(d, seed=seed, dtype=dtype, **options)


# --------------------------------------------------------------------------- losses

class LossTerms(NamedTuple):
    """One evaluation of a loss: ``total = data + lam * reg`` (0-d tensors)."""

    total: Tensor
    data: Tensor
    reg: Tensor


def input_gradient(u: Scalar, x: Tensor, create_graph: bool = True) -> Tensor:
    """grad_x U at ``x`` by ``torch.autograd.grad``. *Shapes:* x (N, d) -> (N, d).

    ``x`` is detached and made a leaf requiring grad, so any points work; with ``create_graph``
    the result is differentiable in U's parameters. A U that does not depend on x gives zeros.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = u(x)
        (g,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph, allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def data_loss(u: Scalar, x: Tensor, y: Tensor) -> Tensor:
    """mean_i (U(x_i) - y_i)^2. *Shapes:* x (N, d), y (N,) -> ()."""
    return ((u(x) - y) ** 2).mean()


def gradient_mismatch(u: Scalar, f: Callable[[Tensor], Tensor], x_colloc: Tensor) -> Tensor:
    """mean_c ||grad_x U(x_c) - F(x_c)||^2. *Shapes:* x_colloc (M, d) -> ()."""
    x_colloc = x_colloc.detach()
    return ((input_gradient(u, x_colloc) - f(x_colloc)) ** 2).sum(dim=1).mean()


def gradinn_loss(u: Scalar, f: Callable[[Tensor], Tensor], x: Tensor, y: Tensor, x_colloc: Tensor,
                 lam: float) -> LossTerms:
    """The GradINN loss ``data + lam * mismatch``. *Shapes:* x (N, d), y (N,), x_colloc (M, d)."""
    lam = check_number("lam", lam)
    data = data_loss(u, x, y)
    reg = gradient_mismatch(u, f, x_colloc)
    return LossTerms(data + lam * reg, data, reg)


def sample_collocation(domain: Tensor, n: int, gen: torch.Generator) -> Tensor:
    """``n`` points uniform in the box ``domain``. *Shapes:* domain (d, 2) -> (n, d)."""
    check_int("n_colloc", n, 1)
    lo, hi = domain[:, 0], domain[:, 1]
    u = torch.rand(n, domain.shape[0], generator=gen, dtype=domain.dtype)
    return lo + (hi - lo) * u


# --------------------------------------------------------------------------- training

@dataclass
class History:
    """Per-epoch record of a run, each entry taken before that epoch's Adam step.

    ``loss`` is the total, ``data_loss`` the data term, ``reg_loss`` the unweighted regulariser
    (0 for the standard NN), ``lam`` its weight; ``colloc`` holds each epoch's collocation points,
    *Shape:* (n_colloc, d), only when recording was asked for.
    """

    loss: list[float] = field(default_factory=list)
    data_loss: list[float] = field(default_factory=list)
    reg_loss: list[float] = field(default_factory=list)
    lam: list[float] = field(default_factory=list)
    colloc: list[Tensor] = field(default_factory=list)


def adam_loop(params: Iterable[Tensor], closure: Callable[[int], LossTerms], *, epochs: int, lr: float,
              lam: float | Callable[[int], float]) -> History:
    """Full-batch Adam for ``epochs`` steps on ``closure(epoch)``, recording a :class:`History`.

    ``closure`` builds the loss terms of an epoch (drawing its collocation points if any);
    ``lam`` is only recorded here, the closure applies it.
    """
    opt = torch.optim.Adam(list(params), lr=lr)
    hist = History()
    for epoch in range(epochs):
        opt.zero_grad()
        terms = closure(epoch)
        terms.total.backward()
        opt.step()
        hist.loss.append(float(terms.total.detach()))
        hist.data_loss.append(float(terms.data.detach()))
        hist.reg_loss.append(float(terms.reg.detach()))
        hist.lam.append(lam_at(lam, epoch))
    return hist


def check_common(epochs: int, lr: float, seed: int) -> None:
    """Validate the arguments that every trainer shares."""
    check_int("epochs", epochs, 1)
    check_number("lr", lr, positive=True)
    check_int("seed", seed, 0)


@dataclass
class GradINNResult:
    """A trained GradINN: value network ``u``, gradient prior ``f`` and the training history."""

    u: ValueNet
    f: nn.Module
    history: History


def collocation_closure(domain: Tensor, n_colloc: int, seed: int, record: bool,
                        loss_at: Callable[[Tensor, int], LossTerms]
                        ) -> tuple[Callable[[int], LossTerms], list[Tensor]]:
    """An epoch closure that redraws ``n_colloc`` collocation points in ``domain`` (from the
    seed's collocation stream) and returns ``loss_at(points, epoch)``; the list collects the
    points when ``record``."""
    gen = stream(seed, 2)
    colloc: list[Tensor] = []

    def closure(epoch: int) -> LossTerms:
        xc = sample_collocation(domain, n_colloc, gen)
        if record:
            colloc.append(xc)
        return loss_at(xc, epoch)

    return closure, colloc


def train_gradinn(x: Tensor, y: Tensor, domain: Tensor, *, lam: float | Callable[[int], float] = 1.0,
                  prior: str = "smooth", n_colloc: int = 256, epochs: int = 1000, lr: float = 1e-3,
                  seed: int = 0, width: int = 32, depth: int = 2, activation: str = "tanh",
                  dtype: str = "float32", prior_options: dict | None = None,
                  prior_net: nn.Module | None = None, freeze_prior: bool = False,
                  record_colloc: bool = False) -> GradINNResult:
    """Train U and F jointly by full-batch Adam on the GradINN loss.

    Every epoch draws ``n_colloc`` fresh collocation points uniformly in ``domain`` from the
    seeded generator ``stream(seed, 2)``.

    Args:
        x: data inputs. *Shape:* (N, d).
        y: data values. *Shape:* (N,).
        domain: box of the collocation points. *Shape:* (d, 2), rows ``[low, high]``.
        lam: weight of the gradient mismatch, >= 0, or a schedule ``epoch (0-based) -> weight``.
        prior: family of F, one of :data:`PRIORS` (ignored when ``prior_net`` is given).
        n_colloc: collocation points per epoch.
        epochs: Adam steps (one per epoch, full batch).
        lr: Adam learning rate.
        seed: seed of U, F and the collocation stream.
        width, depth, activation: architecture of U (:class:`ValueNet`).
        dtype: ``"float32"`` or ``"float64"``.
        prior_options: keyword options of the prior family (:data:`PRIOR_OPTIONS`).
        prior_net: a pre-built or pre-fitted F, (N, d) -> (N, d); it is deep-copied and cast to
            ``dtype``, the caller's module is left unchanged.
        freeze_prior: keep F fixed (only U is trained).
        record_colloc: store every epoch's collocation points in the history.

    Returns:
        The trained U, F and the per-epoch history.
    """
    check_common(epochs, lr, seed)
    check_lam(lam)
    check_int("n_colloc", n_colloc, 1)
    dt = torch_dtype(dtype)
    x, y = check_data(x, y, dt)
    d = x.shape[1]
    domain = check_domain(domain, d, dt)
    u = ValueNet(d, width, depth, activation, seed=seed, dtype=dtype)
    if prior_net is None:
        f = make_prior(check_choice("prior", prior, PRIORS), d, seed=seed, dtype=dtype, options=prior_options)
    else:
        if not isinstance(prior_net, nn.Module):
            fail("prior_net", "a torch.nn.Module mapping (N, d) -> (N, d) or None", type(prior_net))
        f = copy.deepcopy(prior_net).to(dtype=dt)
        try:
            with torch.no_grad():
                shape = tuple(f(domain.T[:1]).shape)
        except RuntimeError as err:  # e.g. a module built for another input dimension
            shape = f"error {err}"
        if shape != (1, d):
            fail("prior_net", f"a module mapping (N, {d}) -> (N, {d})", shape)
    if freeze_prior:
        f.requires_grad_(False)
    closure, colloc = collocation_closure(
        domain, n_colloc, seed, record_colloc,
        lambda xc, epoch: gradinn_loss(u, f, x, y, xc, lam_at(lam, epoch)))
    params = list(u.parameters()) + [p for p in f.parameters() if p.requires_grad]
    hist = adam_loop(params, closure, epochs=epochs, lr=lr, lam=lam)
    hist.colloc = colloc
    return GradINNResult(u, f, hist)
