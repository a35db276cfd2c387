"""GradINN: a value network U trained jointly with a gradient-prior network F (arXiv 2409.01914).

The Gradient Informed Neural Network fits a scalar network ``U: R^d -> R`` to data while a second
network ``F: R^d -> R^d`` encodes a prior belief about the gradient of the target. Both are
trained together by Adam on

    L = mean_i (U(x_i) - y_i)^2  +  lam * mean_c || grad_x U(x_c) - F(x_c) ||^2 [/ G^2],

where the data points ``x_i`` are fixed and the collocation points ``x_c`` are redrawn in the
domain every epoch. The second term trains both U and F: F is *fine-tuned* towards grad_x U, so
the data can relax the prior.

Two readings of "a network that encodes prior beliefs such as smoothness" live here.

**Fine-tuned prior** (:class:`PriorNet`, what the paper's abstract and third-party summaries
describe): F is a network of the same class as U (``d -> width x depth -> d``), fully trained, and
the prior sits in its *initialisation*:

* ``"smooth"``: tanh features whose first-layer weights are uniform in ``±sigma/sqrt(d)``
  (``sigma = 1``: pre-activations of about unit size over the box [-1, 1]^d, so every feature
  bends at most about once across the domain), output weights uniform in ``±out_scale``
  (0.01) and output bias zero: F starts as a nearly zero, slowly varying field ("the target is
  flat unless the data say otherwise");
* ``"oscillatory"``: a first layer of sine features ``sin(w x + b)`` with ``w ~ N(0, sigma^2)``
  per entry (angular frequency in radians per unit of the scaled input) and ``b ~ U(-pi, pi)``,
  then tanh layers, output as above: F starts as a small field oscillating at about ``sigma``.

The weight is scale-free (``normalize=True``): the mismatch is divided by ``G^2``, the mean
squared gradient norm of U at the same collocation points, held constant within each step
(detached). The data term is the mean squared error of z-scored outputs, i.e. a fraction of the
output variance; the divided mismatch is the fraction of the gradient energy that disagrees with
F. ``lam = 1`` therefore weighs "all of the output variance" against "all of the gradient
energy", on every problem and under any rescaling of inputs or outputs.

**Capacity prior** (:class:`SmoothPrior`, :class:`SinusoidalPrior`, our first reading, kept as a
named variant): the prior sits in F's restricted *capacity*:

* ``"smooth"``: a small tanh MLP (one hidden layer of 8 units) whose output layer starts with
  small weights (``out_scale``), so F can only represent slowly varying gradient fields;
* ``"sinusoidal"``: random Fourier features ``[sin(x W^T), cos(x W^T)]`` with frequencies
  ``W ~ N(0, sigma^2)`` drawn once from a seeded generator and kept fixed, followed by a trainable
  linear read-out started with small weights; ``sigma`` sets the band of the prior.

Two trainers. :func:`train_gradinn` trains one (U, F) pair with autograd (double backward) and
is kept as the plain reference. :func:`fit_ensemble` trains many runs as one batched model
(:class:`Stack`: weights stacked along a leading member axis; seeds and hyperparameter trials of
a cell at once), with grad_x U in closed form (:func:`value_and_gradient`), so that the second
backward pass is an ordinary one; it is what the chapter uses.

Seeds: one integer ``seed`` drives three independent ``torch.Generator`` streams, ``4 seed + 0``
for U's initialisation, ``4 seed + 1`` for F's and ``4 seed + 2`` for the collocation points
(see :func:`stream`). Everything runs on the CPU in float32 or float64.
"""

from __future__ import annotations

import copy
import math
import time
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
"""Families of the capacity-prior network F (:func:`make_prior`)."""

FINETUNED_PRIORS = ("smooth", "oscillatory")
"""Initialisations of the fine-tuned prior network F (:class:`PriorNet`)."""

VARIANTS = ("finetuned", "capacity")
"""Readings of F: a full network whose initialisation carries the prior, fine-tuned with U
(:class:`PriorNet`), or a restricted network whose capacity carries it (:func:`make_prior`)."""

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


# --------------------------------------------------------------------------- fine-tuned prior

class PriorNet(nn.Module):
    """F of the same class as U, ``d -> width x depth -> d``, whose initialisation is the prior.

    Every layer is trained. ``kind`` sets the first layer (see the module docstring):

    * ``"smooth"``: tanh, weights uniform in ``±sigma/sqrt(d)``, bias uniform in ``±1/sqrt(d)``;
    * ``"oscillatory"``: sine, weights ``N(0, sigma^2)`` per entry, bias uniform in ``±pi``.

    Further hidden layers are tanh with ``torch.nn.Linear``'s default initialisation; the output
    layer has weights uniform in ``±out_scale`` and zero bias, so F starts small.

    Args:
        d: input and output dimension.
        kind: one of :data:`FINETUNED_PRIORS`.
        width, depth: hidden units per layer and hidden layers (those of U by default).
        sigma: frequency scale of the first layer (> 0): the weight bound of ``"smooth"`` in
            units of ``1/sqrt(d)``, the standard deviation of ``"oscillatory"`` in radians per
            unit of the scaled input.
        out_scale: bound of the initial output weights (>= 0).
        seed: initialisation seed (generator ``stream(seed, 1)``).
        dtype: ``"float32"`` or ``"float64"``.
    """

    def __init__(self, d: int, kind: str = "smooth", width: int = 32, depth: int = 2, *,
                 sigma: float = 1.0, out_scale: float = 0.01, seed: int = 0,
                 dtype: str = "float32") -> None:
        super().__init__()
        check_int("d", d, 1)
        check_choice("kind", kind, FINETUNED_PRIORS)
        check_int("width", width, 1)
        check_int("depth", depth, 1)
        check_number("sigma", sigma, positive=True)
        check_number("out_scale", out_scale)
        dt = torch_dtype(dtype)
        gen = stream(seed, 1)
        sizes = [d] + [width] * depth + [d]
        self.layers = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1], dtype=dt)
                                    for i in range(len(sizes) - 1))
        first = self.layers[0]
        with torch.no_grad():
            if kind == "smooth":
                first.weight.uniform_(-sigma / math.sqrt(d), sigma / math.sqrt(d), generator=gen)
                first.bias.uniform_(-1 / math.sqrt(d), 1 / math.sqrt(d), generator=gen)
            else:
                first.weight.normal_(0.0, sigma, generator=gen)
                first.bias.uniform_(-math.pi, math.pi, generator=gen)
        for lin in self.layers[1:-1]:
            _init_linear(lin, gen)
        _init_linear(self.layers[-1], gen, out_scale)
        self.kind = kind
        self.acts = ("tanh" if kind == "smooth" else "sin",) + ("tanh",) * (depth - 1) + ("linear",)

    def forward(self, x: Tensor) -> Tensor:
        """F(x). *Shapes:* x (N, d) -> (N, d)."""
        for lin, act in zip(self.layers, self.acts, strict=True):
            x = lin(x)
            if act != "linear":
                x = torch.sin(x) if act == "sin" else torch.tanh(x)
        return x


# --------------------------------------------------------------------------- ensembles

def _dtanh(z: Tensor, a: Tensor) -> Tensor:
    return 1 - a * a


def _dsigmoid(z: Tensor, a: Tensor) -> Tensor:
    return a * (1 - a)


STACK_ACTIVATIONS: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor], Tensor] | None]] = {
    "linear": (lambda z: z, lambda z, a: torch.ones_like(z)),
    "tanh": (torch.tanh, _dtanh),
    "sin": (torch.sin, lambda z, a: torch.cos(z)),
    "sigmoid": (torch.sigmoid, _dsigmoid),
    "softplus": (nn.functional.softplus, lambda z, a: torch.sigmoid(z)),
    "sincos": (lambda z: torch.cat([torch.sin(z), torch.cos(z)], dim=-1), None),
}
"""Activations of a :class:`Stack` layer: the function and its derivative ``(z, act(z)) ->
act'(z)`` (``None``: forward only; ``"sincos"`` doubles the width)."""


@dataclass
class Stack:
    """E networks of one shape as stacked layers: a batched matrix product evaluates all members.

    Layer ``l`` maps ``h -> act_l(h W_l^T + b_l)``. *Shapes:* ``weights[l]`` (E, n_out, n_in),
    ``biases[l]`` (E, n_out). ``frozen[l]``: the layer is not trained (the fixed frequencies of
    the sinusoidal capacity prior).
    """

    weights: list[Tensor]
    biases: list[Tensor]
    acts: tuple[str, ...]
    frozen: tuple[bool, ...]

    @property
    def members(self) -> int:
        return self.weights[0].shape[0]

    def tensors(self) -> list[Tensor]:
        """All parameter tensors, layer by layer (weight, bias)."""
        return [t for wb in zip(self.weights, self.biases, strict=True) for t in wb]

    def trainable(self) -> list[Tensor]:
        """The tensors of the layers that are trained."""
        return [t for (w, b), fz in zip(zip(self.weights, self.biases, strict=True), self.frozen,
                                        strict=True) if not fz for t in (w, b)]

    def replace(self, tensors: Sequence[Tensor]) -> Stack:
        """The same layout with other tensors (``tensors()`` order)."""
        return Stack(list(tensors[0::2]), list(tensors[1::2]), self.acts, self.frozen)

    def detach(self) -> Stack:
        return self.replace([t.detach().clone() for t in self.tensors()])

    def select(self, members: Sequence[int]) -> Stack:
        """A sub-ensemble (copies), members in the given order (repeats allowed)."""
        idx = torch.as_tensor(list(members), dtype=torch.int64)
        return self.replace([t.detach()[idx].clone() for t in self.tensors()])

    def squared_norm(self) -> Tensor:
        """Sum of squares of the trained tensors per member. *Shape:* (E,)."""
        return sum(t.pow(2).flatten(1).sum(dim=1) for t in self.trainable())


def _layers_of(module: nn.Module) -> list[tuple[Tensor, Tensor, str, bool]]:
    """(weight, bias, activation, frozen) of each layer of a U or F module."""
    if isinstance(module, ValueNet):
        mods = list(module.net)
        names = {nn.Tanh: "tanh", Sin: "sin", nn.Sigmoid: "sigmoid", nn.Softplus: "softplus"}
        out = []
        for i, m in enumerate(mods):
            if isinstance(m, nn.Linear):
                nxt = mods[i + 1] if i + 1 < len(mods) else None
                if nxt is not None and type(nxt) not in names:
                    fail("activation", f"one of {sorted(set(names.values()))} for an ensemble",
                         type(nxt).__name__)
                out.append((m.weight, m.bias, "linear" if nxt is None else names[type(nxt)], False))
        return out
    if isinstance(module, PriorNet):
        return [(lin.weight, lin.bias, act, False) for lin, act in zip(module.layers, module.acts,
                                                                       strict=True)]
    if isinstance(module, SmoothPrior):
        return [(module.hidden.weight, module.hidden.bias, "tanh", False),
                (module.out.weight, module.out.bias, "linear", False)]
    if isinstance(module, SinusoidalPrior):
        zero = torch.zeros(module.omega.shape[0], dtype=module.omega.dtype)
        return [(module.omega, zero, "sincos", True), (module.out.weight, module.out.bias, "linear", False)]
    fail("module", "a ValueNet, PriorNet, SmoothPrior or SinusoidalPrior", type(module).__name__)
    raise AssertionError  # unreachable


def stack_modules(modules: Sequence[nn.Module]) -> Stack:
    """Stack networks of one layout (one per member) into a :class:`Stack` (copies)."""
    if len(modules) < 1:
        fail("modules", "at least one module", len(modules))
    layers = [_layers_of(m) for m in modules]
    acts = tuple(a for _, _, a, _ in layers[0])
    frozen = tuple(f for _, _, _, f in layers[0])
    if any(tuple(a for _, _, a, _ in lay) != acts or
           [tuple(w.shape) for w, *_ in lay] != [tuple(w.shape) for w, *_ in layers[0]] for lay in layers):
        fail("modules", "networks of one layout", [type(m).__name__ for m in modules])
    weights = [torch.stack([lay[i][0].detach() for lay in layers]).clone() for i in range(len(acts))]
    biases = [torch.stack([lay[i][1].detach() for lay in layers]).clone() for i in range(len(acts))]
    return Stack(weights, biases, acts, frozen)


def stack_forward(stack: Stack, x: Tensor) -> Tensor:
    """Evaluate every member. *Shapes:* x (E, B, n_in) -> (E, B, n_out)."""
    h = x
    for w, b, act in zip(stack.weights, stack.biases, stack.acts, strict=True):
        h = STACK_ACTIVATIONS[act][0](torch.baddbmm(b[:, None, :], h, w.transpose(1, 2)))
    return h


def value_and_gradient(stack: Stack, x: Tensor) -> tuple[Tensor, Tensor]:
    """Values and input gradients of scalar networks, the gradient in closed form.

    ``grad_x U = W_1^T diag(act'(z_1)) ... W_L^T`` evaluated by a backward sweep through the
    layers with ordinary tensor operations, so the result is differentiable in the weights by a
    single (not a double) backward pass. *Shapes:* x (E, B, d) -> (E, B), (E, B, d).
    """
    if stack.weights[-1].shape[1] != 1:
        fail("stack", "networks with one output", tuple(stack.weights[-1].shape))
    zs, hs = [], []
    h = x
    for w, b, act in zip(stack.weights, stack.biases, stack.acts, strict=True):
        z = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
        h = STACK_ACTIVATIONS[act][0](z)
        zs.append(z)
        hs.append(h)
    last = len(stack.weights) - 1
    if stack.acts[last] == "linear":  # d out / d h_last is the output row, the same at every point
        delta = stack.weights[last][:, :, :]                              # (E, 1, n_in)
    else:
        delta = None
        last += 1
    for li in range(last - 1, -1, -1):
        deriv = STACK_ACTIVATIONS[stack.acts[li]][1]
        if deriv is None:
            fail("stack", "activations with a derivative for the input gradient", stack.acts[li])
        dz = deriv(zs[li], hs[li])
        delta = dz if delta is None else delta * dz                      # (E, B, n_out)
        delta = torch.bmm(delta, stack.weights[li])                       # (E, B, n_in)
    if delta.shape[1] != x.shape[1]:  # a network with no hidden layer: a constant gradient
        delta = delta.expand(-1, x.shape[1], -1)
    return hs[-1][..., 0], delta


def relative_mismatch(g: Tensor, f: Tensor, normalize: bool = True, floor: float = 1e-8) -> Tensor:
    """mean_c ||g_c - f_c||^2 per member, divided by the detached mean_c ||g_c||^2 if ``normalize``.

    *Shapes:* g, f (E, M, d) -> (E,). ``floor`` keeps a vanishing gradient from dividing by zero.
    """
    mis = (g - f).pow(2).sum(dim=2).mean(dim=1)
    if not normalize:
        return mis
    scale = g.detach().pow(2).sum(dim=2).mean(dim=1).clamp_min(floor)
    return mis / scale


class EnsembleLoss(NamedTuple):
    """Per-member loss terms of one epoch, *Shape:* (E,) each: ``total = data + lam reg (+ decay)``."""

    total: Tensor
    data: Tensor
    reg: Tensor


EnsembleObjective = Callable[[Stack, "Stack | None", int], EnsembleLoss]
"""``objective(u, f, epoch)``: the loss terms of every member at an epoch."""


@dataclass
class EnsembleFit:
    """Outcome of :func:`fit_ensemble`, one entry per member.

    ``u``/``f`` hold each member's kept weights: those of its lowest validation MSE (validation
    mode) or those after ``stop_at[e]`` epochs (stop mode). ``epoch[e]`` is the epoch of the kept
    weights, ``val_mse[e]`` their validation MSE (NaN in stop mode), ``data_loss``/``reg_loss``
    the loss terms at that epoch (taken before its Adam step, in the loss's units), ``failed[e]``
    ``None`` or why the member's loss became non-finite.
    """

    u: Stack
    f: Stack | None
    epoch: list[int]
    val_mse: list[float]
    data_loss: list[float]
    reg_loss: list[float]
    failed: list[str | None]
    epochs_run: int
    seconds: float


def fit_ensemble(objective: EnsembleObjective, u: Stack, f: Stack | None = None, *,
                 epochs: int | None = None, lr: float = 1e-3, x_val: Tensor | None = None,
                 y_val: Tensor | None = None, eval_every: int = 25,
                 stop_at: Sequence[int] | None = None) -> EnsembleFit:
    """Train every member by full-batch Adam (one optimiser; its update is elementwise, so the
    members stay independent) and keep one set of weights per member.

    Two modes:

    * validation (``x_val``, ``y_val`` given): every ``eval_every`` epochs the validation MSE of
      U is computed; each member keeps the weights of its lowest one (early stopping by
      checkpoint; training runs all ``epochs``);
    * stop (``stop_at`` given): member ``e`` keeps its weights after ``stop_at[e]`` epochs;
      training runs ``max(stop_at)`` epochs.

    Args:
        objective: the per-member loss (:data:`EnsembleObjective`), summed for the backward pass.
        u: initial value networks (copied). f: initial prior networks (copied) or None.
        epochs: Adam steps in validation mode (stop mode: ``max(stop_at)``).
        lr: Adam learning rate.
        x_val, y_val: validation data per member. *Shapes:* (E, V, d), (E, V).
        eval_every: epochs between validation checks.
        stop_at: epochs per member (>= 1) for stop mode.
    """
    check_number("lr", lr, positive=True)
    check_int("eval_every", eval_every, 1)
    e = u.members
    validate = x_val is not None
    if validate == (stop_at is not None):
        fail("x_val/stop_at", "exactly one of validation data and stop_at", (validate, stop_at))
    if stop_at is not None:
        stop_at = [check_int("stop_at", int(k), 1) for k in stop_at]
        if len(stop_at) != e:
            fail("stop_at", f"{e} epochs, one per member", len(stop_at))
        epochs = max(stop_at)
    check_int("epochs", epochs, 1)
    t0 = time.perf_counter()
    uw = [t.detach().clone().requires_grad_(not fz) for t, fz in
          zip(u.tensors(), [fz for fz in u.frozen for _ in (0, 1)], strict=True)]
    fw = None if f is None else [t.detach().clone().requires_grad_(not fz) for t, fz in
                                  zip(f.tensors(), [fz for fz in f.frozen for _ in (0, 1)], strict=True)]
    cur_u = u.replace(uw)
    cur_f = None if f is None else f.replace(fw)
    params = cur_u.trainable() + ([] if cur_f is None else cur_f.trainable())
    opt = torch.optim.Adam(params, lr=lr)
    keep_u = cur_u.detach()
    keep_f = None if cur_f is None else cur_f.detach()
    best = torch.full((e,), math.inf, dtype=torch.float64)
    kept_epoch = torch.zeros(e, dtype=torch.int64)
    kept_data = torch.full((e,), math.nan, dtype=torch.float64)
    kept_reg = torch.full((e,), math.nan, dtype=torch.float64)
    failed: list[str | None] = [None] * e
    finite = torch.ones(e, dtype=torch.bool)
    stops = None if stop_at is None else torch.tensor(stop_at)

    def keep(mask: Tensor, data: Tensor, reg: Tensor, epoch: int) -> None:
        idx = torch.nonzero(mask).flatten()
        if idx.numel() == 0:
            return
        with torch.no_grad():
            for kt, wt in zip(keep_u.tensors(), cur_u.tensors(), strict=True):
                kt.index_copy_(0, idx, wt.detach()[idx])
            if keep_f is not None:
                for kt, wt in zip(keep_f.tensors(), cur_f.tensors(), strict=True):
                    kt.index_copy_(0, idx, wt.detach()[idx])
        kept_epoch[idx] = epoch
        kept_data[idx] = data[idx]
        kept_reg[idx] = reg[idx]

    for epoch in range(1, epochs + 1):
        opt.zero_grad(set_to_none=True)
        terms = objective(cur_u, cur_f, epoch - 1)
        terms.total.sum().backward()
        data = terms.data.detach().double()
        reg = terms.reg.detach().double()
        check = validate and (epoch % eval_every == 0 or epoch == epochs)
        opt.step()
        ok = torch.isfinite(terms.total.detach())
        newly = finite & ~ok
        if bool(newly.any()):
            for i in torch.nonzero(newly).flatten().tolist():
                failed[i] = f"non-finite training loss at epoch {epoch - 1}"
            finite &= ok
        if stops is not None:
            keep(stops == epoch, data, reg, epoch)
        elif check:
            with torch.no_grad():
                pred = stack_forward(cur_u, x_val)[..., 0]
                val = (pred - y_val).pow(2).mean(dim=1).double()
            better = finite & torch.isfinite(val) & (val < best)
            best = torch.where(better, val, best)
            keep(better, data, reg, epoch)
    return EnsembleFit(keep_u, keep_f, kept_epoch.tolist(),
                       (best if validate else torch.full((e,), math.nan, dtype=torch.float64)).tolist(),
                       kept_data.tolist(), kept_reg.tolist(), failed, epochs, time.perf_counter() - t0)


Sampler = Callable[[int, torch.Generator], Tensor]
"""``sampler(n, generator)``: n points of the domain in the training units. *Shape:* (n, d)."""


def box_sampler(domain: Tensor) -> Sampler:
    """Uniform points in the box ``domain`` *(d, 2)*."""
    def draw(n: int, gen: torch.Generator) -> Tensor:
        return sample_collocation(domain, n, gen)
    return draw


class CollocationDraws:
    """Collocation points of every member, redrawn every epoch from the member's seed stream.

    Members that share a seed (the hyperparameter trials of one training set) share the points,
    so the trials differ only in their hyperparameter. Each seed's stream ``stream(seed, 2)``
    draws ``chunk`` epochs at once (one sampler call), so the per-epoch cost does not grow with
    the number of seeds. Epochs must be asked for in order 0, 1, 2, ...

    Args:
        sampler: draws points of the domain (:data:`Sampler`).
        seeds: the seed of every member. *Length:* E.
        n: points per epoch.
        dtype: dtype of the returned points.
        chunk: epochs drawn per sampler call.
    """

    def __init__(self, sampler: Sampler, seeds: Sequence[int], n: int, dtype: torch.dtype,
                 chunk: int = 50) -> None:
        check_int("n_colloc", n, 1)
        check_int("chunk", chunk, 1)
        self.sampler, self.n, self.dtype, self.chunk = sampler, n, dtype, chunk
        distinct = sorted(set(int(s) for s in seeds))
        self.gens = [stream(s, 2) for s in distinct]
        self.member = torch.tensor([distinct.index(int(s)) for s in seeds])
        self.block: Tensor | None = None
        self.start = 0
        self.next_epoch = 0

    def __call__(self, epoch: int) -> Tensor:
        """The points of ``epoch``. *Shape:* (E, n, d)."""
        if epoch != self.next_epoch:
            fail("epoch", f"the next epoch {self.next_epoch}", epoch)
        self.next_epoch += 1
        if self.block is None or epoch - self.start >= self.chunk:
            parts = [self.sampler(self.chunk * self.n, g).reshape(self.chunk, self.n, -1) for g in self.gens]
            self.block = torch.stack(parts, dim=1).to(self.dtype)       # (chunk, seeds, n, d)
            self.start = epoch
        return self.block[epoch - self.start][self.member]


def gradinn_objective(x: Tensor, y: Tensor, colloc: Callable[[int], Tensor], lam: Tensor,
                      normalize: bool = True) -> EnsembleObjective:
    """The GradINN loss of every member: ``mean_i (U(x_i) - y_i)^2 + lam * mismatch``, the
    mismatch by :func:`relative_mismatch` at the epoch's collocation points.

    *Shapes:* x (E, N, d), y (E, N), lam (E,), ``colloc(epoch)`` (E, M, d).
    """
    def objective(u: Stack, f: Stack | None, epoch: int) -> EnsembleLoss:
        if f is None:
            fail("f", "the prior networks of a GradINN ensemble", None)
        data = (stack_forward(u, x)[..., 0] - y).pow(2).mean(dim=1)
        xc = colloc(epoch)
        _, g = value_and_gradient(u, xc)
        reg = relative_mismatch(g, stack_forward(f, xc), normalize)
        return EnsembleLoss(data + lam * reg, data, reg)
    return objective
