"""Train an ensemble of MLPs with the Sobolev loss, all members as one batched model.

:func:`train_ensemble` trains E independent runs (own seed, own training subset of equal size,
own minibatch order, own early stopping) with stacked weights (:mod:`derivlearn.nn.mlp`) and one
Adam optimizer whose elementwise update treats each member separately. A member that stops
(patience exhausted, target score reached, non-finite loss) leaves the working set: its best
weights are kept and the others continue without it, so a finished member costs nothing.
Member e's result equals that of :func:`derivlearn.nn.reference.train_reference` with seed e
(checked in the tests), which is the plain one-network loop kept for reading and teaching.

Engines for the network derivatives in the loss:

* ``"taylor"``: Taylor mode (:mod:`derivlearn.nn.taylor`), fastest at order >= 3;
* ``"autograd"``: nested reverse mode over the distinct partials only (about d nested backward
  passes for the Hessian), fastest at order 1;
* ``"jet2"`` (order <= 2): closed-form jets (:mod:`derivlearn.nn.jet`): forward Jacobians and
  the Hessian as a sum of layer terms weighted by the adjoints of one explicit reverse sweep,
  differentiated by a single backward pass; fastest at order 2 (0.4-0.9x of autograd's step);
* ``"forward2"`` (order <= 2): closed-form forward propagation of the Jacobian and of the
  Hessian's upper triangle through every layer, for comparison;
* ``"autograd_naive"``: nested reverse mode over every entry of the full tensors (the route of
  Hartmann et al.), for benchmarks;
* ``"auto"``: ``"taylor"`` for order >= 3 with a Taylor-capable activation, ``"jet2"`` for
  order 2 with a closed-form activation (tanh, sigmoid, sin), else ``"autograd"``; the
  measurements are in :meth:`TrainSpec.resolved_engine`.

All engines agree to round-off (1e-15 relative in float64, values, derivatives and parameter
gradients of the loss; ``tests/test_jet.py``). In float32, round-off differences between
engines grow over thousands of training epochs like any other round-off change (a different
BLAS, or a 1-ulp change of the initial weights), so a record trained with one engine is
repeated by another only to that degree.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from derivlearn.derivatives import derivative_tensors, n_unique
from derivlearn.nn import sobolev
from derivlearn.nn.jet import JET_ACTIVATIONS, mlp_jet
from derivlearn.nn.mlp import ACTIVATIONS, INITS, MLPParams, MLPSpec, forward, init_params
from derivlearn.nn.taylor import TAYLOR_ACTIVATIONS, mlp_derivatives

ENGINES = ("auto", "taylor", "autograd", "autograd_naive", "jet2", "forward2")
JET_ENGINES = {"jet2": {"hessian": "adjoint", "gradient": "adjoint"},
               "forward2": {"hessian": "forward", "gradient": "forward"}}
"""Closed-form engines of order <= 2 (:func:`derivlearn.nn.jet.mlp_jet` arguments)."""
DTYPES = {"float32": torch.float32, "float64": torch.float64}
STOP_REASONS = ("patience", "target", "max_epochs", "nonfinite")


@dataclass(frozen=True)
class TrainSpec:
    """Everything that defines a training run except data and seed.

    Minibatches: give ``batch_size`` or ``n_batches`` (per epoch; clamped to N), or neither for
    full-batch training. Early stopping: after ``patience`` epochs without a lower validation
    MSE, or as soon as the validation R^2 reaches ``target_r2``; the best epoch's weights are
    restored either way. ``weight_decay`` is Adam's (L2 added to the gradient, as in
    ``torch.optim.Adam``).

    Options of the Sobolev loss (defaults: the behaviour that made the committed records):
    ``reduction`` over the entries of each order (``"mean"``, or ``"sum"`` as in Hartmann et
    al.'s eq. 6; :mod:`derivlearn.nn.sobolev`), ``rho`` the fixed rho's definition (one of
    :data:`derivlearn.nn.sobolev.RHO_DEFINITIONS`, with ``rho_eps`` for
    ``"inverse_variance_eps"``), ``init`` the initialisation (:data:`derivlearn.nn.mlp.INITS`),
    and ``diagnostics``: with the adaptive weighting, count per member and order how often the
    rule fired and the mean factor it applied (:attr:`EnsembleResult.adaptive`).
    """

    width: int = 200
    depth: int = 2
    activation: str = "tanh"
    order: int = 0
    partials: str = "unique"
    weighting: str = "equal"
    engine: str = "auto"
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    batch_size: int | None = None
    n_batches: int | None = None
    max_epochs: int = 10_000
    patience: int | None = 10
    target_r2: float | None = None
    dtype: str = "float32"
    device: str = "cpu"
    reduction: str = "mean"
    init: str = "torch"
    rho: str = "inverse_variance"
    rho_eps: float = sobolev.RHO_EPS
    diagnostics: bool = False

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming the parameter for any value out of range."""
        def fail(name: str, allowed: str) -> None:
            raise ValueError(f"parameter {name!r}: must be {allowed}, got {getattr(self, name)!r}")

        def intpos(name: str, lo: int, optional: bool = False) -> None:
            v = getattr(self, name)
            if optional and v is None:
                return
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                fail(name, f"an integer >= {lo}" + (" or None" if optional else ""))

        MLPSpec(1, self.width, self.depth, self.activation)  # width, depth, activation
        intpos("order", 0)
        for name, allowed in (("partials", sobolev.PARTIALS), ("weighting", sobolev.WEIGHTINGS),
                              ("engine", ENGINES), ("dtype", tuple(DTYPES)),
                              ("reduction", sobolev.REDUCTIONS), ("init", INITS),
                              ("rho", sobolev.RHO_DEFINITIONS)):
            if getattr(self, name) not in allowed:
                fail(name, f"one of {allowed}")
        if self.engine == "taylor" and self.order > 0 and self.activation not in TAYLOR_ACTIVATIONS:
            raise ValueError(f"parameter 'engine': 'taylor' needs activation in {TAYLOR_ACTIVATIONS}, "
                             f"got activation {self.activation!r}")
        if self.engine in JET_ENGINES and self.order > 0:
            if self.order > 2:
                raise ValueError(f"parameter 'engine': {self.engine!r} needs order <= 2, "
                                 f"got order {self.order}")
            if self.activation not in JET_ACTIVATIONS:
                raise ValueError(f"parameter 'engine': {self.engine!r} needs activation in "
                                 f"{JET_ACTIVATIONS}, got activation {self.activation!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            fail("lr", "a number > 0")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            fail("weight_decay", "a number >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            fail("betas", "two numbers in [0, 1)")
        if not self.eps > 0:
            fail("eps", "a number > 0")
        if not (isinstance(self.rho_eps, (int, float)) and self.rho_eps > 0):
            fail("rho_eps", "a number > 0")
        if not isinstance(self.diagnostics, bool):
            fail("diagnostics", "True or False")
        intpos("batch_size", 1, optional=True)
        intpos("n_batches", 1, optional=True)
        if self.batch_size is not None and self.n_batches is not None:
            raise ValueError("parameters 'batch_size' and 'n_batches': give at most one")
        intpos("max_epochs", 1)
        intpos("patience", 1, optional=True)
        if self.target_r2 is not None and not (isinstance(self.target_r2, (int, float))
                                               and self.target_r2 <= 1):
            fail("target_r2", "a number <= 1 or None")
        if not (self.device == "cpu" or str(self.device).startswith("cuda")):
            fail("device", "'cpu' or 'cuda[:n]'")
        if self.device != "cpu" and not torch.cuda.is_available():
            raise ValueError(f"parameter 'device': got {self.device!r} but no CUDA device is visible; "
                             "allowed here: 'cpu'")

    def mlp_spec(self, d: int) -> MLPSpec:
        return MLPSpec(d, self.width, self.depth, self.activation)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def resolved_engine(self) -> str:
        """The engine ``"auto"`` stands for: the fastest measured route per order.

        Measured with ``benchmarks/training_cost.py --threads 1`` (float32, CPU time of whole
        training steps, Adam and validation included, N = 300 full batch, MLPs 2 x width;
        medians of 11 interleaved repetitions; step time over nested autograd's):

        * order 2: ``"jet2"`` at every measured (d, width), d in {1, 2, 4, 8}, width in
          {4, 16, 64, 200}: 0.4-0.6x at d = 4 and 8, 0.7-0.9x at d = 1 and 2 (2x200 at d = 8:
          0.5x; the FE-scaling chapter's 14-member ensembles of 2x4 and 2x16 at d = 4 and 8:
          0.43-0.64x). ``"forward2"`` (Hessian propagated forward) ties with it only where
          the Hessian has 1 to 10 entries (d <= 4, width <= 16: 0.5-0.9x) and loses as d or
          the width grow (2x200 at d = 8: 3.0x); ``"taylor"`` costs 0.8-5.4x;
        * order 1: ``"autograd"``. Forward-mode gradients (``"forward2"``) are not faster
          (0.9-2.2x; ties at d = 1); the written-out reverse sweep of ``"jet2"`` saves about 10 %
          (0.8-1.0x), within the spread at width 200, and is left opt-in, since committed
          order-1 records were computed with autograd and float32 training does not repeat
          round-off differences exactly (see ``tests/test_jet.py`` and the engine docs);
        * order >= 3: ``"taylor"`` (the training-core measurements).

        Activations without closed-form or Taylor derivatives use ``"autograd"``.
        """
        if self.engine != "auto":
            return self.engine
        if self.order >= 3 and self.activation in TAYLOR_ACTIVATIONS:
            return "taylor"
        if self.order == 2 and self.activation in JET_ACTIVATIONS:
            return "jet2"
        return "autograd"

    def as_dict(self) -> dict:
        return asdict(self)


def engine_of(config: Mapping[str, Any], order: int) -> str:
    """The engine of a study's run: its config's ``"engine"``, else the route that computed the
    records made before configs named one (nested autograd up to order 2, ``"auto"``, i.e.
    Taylor mode, above). Float32 training does not repeat another engine's round-off exactly,
    so a run that does not name its engine keeps the one its committed record was made with;
    new sweeps name theirs (e.g. ``"jet2"``, the fastest at order 2)."""
    engine = config.get("engine")
    return engine if engine is not None else ("autograd" if order <= 2 else "auto")


def shuffle_generator(seed: int) -> torch.Generator:
    """The generator of a run's minibatch order (independent of its initialisation stream)."""
    return torch.Generator().manual_seed(int(seed) * 7919 + 104729)


def batch_slices(n: int, spec: TrainSpec) -> list[slice]:
    """Positions of the minibatches in a permutation of n samples."""
    if spec.batch_size is not None:
        size = spec.batch_size
        return [slice(i, min(i + size, n)) for i in range(0, n, size)]
    nb = min(spec.n_batches or 1, n)
    # torch.tensor_split convention: the first n % nb batches are one larger
    q, r = divmod(n, nb)
    bounds = [0]
    for i in range(nb):
        bounds.append(bounds[-1] + q + (1 if i < r else 0))
    return [slice(bounds[i], bounds[i + 1]) for i in range(nb)]


def network_derivatives(params: MLPParams, x: Tensor, order: int, engine: str) -> list[Tensor]:
    """Values and unique partials of every member. *Shapes:* x (E, B, d) ->
    ``[(E, B), (E, B, n_1), ...]``, differentiable with respect to the weights."""
    if engine == "taylor" or order == 0:
        return mlp_derivatives(params, x, order)
    if engine in JET_ENGINES:
        return mlp_jet(params, x, order, **JET_ENGINES[engine])
    e, b, d = x.shape

    def f(xf: Tensor) -> Tensor:
        return forward(params, xf.reshape(e, b, d)).reshape(e * b)

    out = derivative_tensors(f, x.reshape(e * b, d), order, form="unique", create_graph=True,
                             symmetric=engine != "autograd_naive")
    return [t.reshape(e, b, *t.shape[1:]) for t in out]


def _as_members(t: Tensor, e: int, name: str, ndim: int) -> Tensor:
    """A per-member tensor with ``ndim`` axes, shared (expanded) or stacked (E first)."""
    if t.ndim == ndim:
        return t.expand(e, *t.shape)
    if t.ndim == ndim + 1 and t.shape[0] == e:
        return t
    raise ValueError(f"parameter {name!r}: expected {ndim} axes (shared) or "
                     f"{ndim + 1} with E={e} first, got shape {tuple(t.shape)}")


@dataclass
class EnsembleResult:
    """Outcome of :func:`train_ensemble`, one entry per member.

    ``params`` holds the restored best weights; ``failed[e]`` is ``None`` or the reason
    (then ``params`` is that member's last finite best, and its metrics must be recorded as
    failed). ``history`` has per-member lists ``train_loss`` and ``val_mse`` per epoch.
    """

    spec: TrainSpec
    params: MLPParams
    best_epoch: list[int]
    epochs: list[int]
    best_val_mse: list[float]
    stop_reason: list[str]
    failed: list[str | None]
    history: dict[str, list[list[float]]] = field(repr=False)
    seconds: float = 0.0
    adaptive: dict[str, list[list[float]]] | None = field(default=None, repr=False)
    """With ``spec.diagnostics`` and the adaptive weighting: per member, per order 0..K,
    ``"fired"`` the fraction of training steps (minibatches) in which the adaptive rule rescaled
    the order, ``"mean_rho"`` the factor applied, averaged over all steps (1 in a step where
    the rule did not fire), and ``"steps"`` (per member) the number of steps; else None.
    Counted on the device without synchronising, read once at the end."""

    def predict(self, x: Tensor, order: int = 0, engine: str | None = None) -> list[Tensor]:
        """Values and unique partials up to ``order``. *Shapes:* x (M, d) or (E, M, d) ->
        ``[(E, M), (E, M, n_1), ...]`` (detached)."""
        x = x.to(dtype=self.spec.torch_dtype, device=self.spec.device)
        x = _as_members(x, self.params.members, "x", 2)
        eng = engine or ("taylor" if self.spec.activation in TAYLOR_ACTIVATIONS else "autograd")
        with torch.enable_grad() if eng != "taylor" else torch.no_grad():
            out = network_derivatives(self.params, x, order, eng)
        return [t.detach() for t in out]


def train_ensemble(spec: TrainSpec, x: Tensor, targets: Sequence[Tensor], x_val: Tensor,
                   y_val: Tensor, seeds: Sequence[int],
                   n_train: Sequence[int] | None = None,
                   rho_targets: Sequence[Tensor] | None = None) -> EnsembleResult:
    """Train ``len(seeds)`` members at once.

    Args:
        spec: the run definition.
        x: training inputs. *Shape:* (E, N, d), or (N, d) shared by all members.
        targets: ``[values, order 1, ..., order >= spec.order]`` in unique form, each
            (E, N, ...) or shared (N, ...); orders above ``spec.order`` are ignored.
        x_val, y_val: validation inputs and values. *Shapes:* (E, M, d) / (E, M) or shared.
        seeds: one per member; seed s gives the initialisation ``init_params(seeds=[s])`` and
            the minibatch order ``shuffle_generator(s)``.
        n_train: members with different training sizes (full-batch training only): member e
            uses the first ``n_train[e]`` rows of its data, the rest is padding that gets zero
            weight in the loss. Default: all N rows for every member.
        rho_targets: the targets from which the fixed rho is computed (``weighting="fixed"``),
            shaped like ``targets``, e.g. in other units than the training targets; default
            ``targets`` themselves.
    """
    if not isinstance(spec, TrainSpec):
        raise ValueError(f"parameter 'spec': expected a TrainSpec, got {type(spec).__name__}")
    e = len(seeds)
    if e < 1:
        raise ValueError("parameter 'seeds': need at least one seed")
    if len(targets) < spec.order + 1:
        raise ValueError(f"parameter 'targets': order {spec.order} needs {spec.order + 1} entries "
                         f"(values and orders 1..{spec.order}), got {len(targets)}")
    dt, dev = spec.torch_dtype, spec.device
    x = _as_members(x.to(dtype=dt, device=dev), e, "x", 2)
    n, d = x.shape[1], x.shape[2]
    tg = [_as_members(targets[0].to(dtype=dt, device=dev), e, "targets[0]", 1)]
    for k in range(1, spec.order + 1):
        t = _as_members(targets[k].to(dtype=dt, device=dev), e, f"targets[{k}]", 2)
        if t.shape[1:] != (n, n_unique(d, k)):
            raise ValueError(f"parameter 'targets[{k}]': expected (N, C(d+k-1, k)) = "
                             f"({n}, {n_unique(d, k)}) per member, got {tuple(t.shape[1:])}")
        tg.append(t)
    if tg[0].shape[1] != n:
        raise ValueError(f"parameter 'targets[0]': expected {n} values per member, got {tg[0].shape[1]}")
    sw = None
    if n_train is not None:
        if len(n_train) != e or any(not isinstance(k, int) or not 1 <= k <= n for k in n_train):
            raise ValueError(f"parameter 'n_train': need {e} integers in [1, {n}], got {list(n_train)}")
        if spec.batch_size is not None or (spec.n_batches or 1) > 1:
            raise ValueError("parameter 'n_train': unequal training sizes need full-batch training "
                             "(batch_size=None, n_batches=None or 1)")
        valid = torch.arange(n, device=dev)[None, :] < torch.tensor(list(n_train), device=dev)[:, None]
        sw = valid.to(dt) / valid.sum(dim=1, keepdim=True).to(dt)                 # (E, N)
        x = torch.where(valid[..., None], x, 0.0)
        tg = [torch.where(valid.reshape(e, n, *([1] * (t.ndim - 2))), t, 0.0) for t in tg]
    xv = _as_members(x_val.to(dtype=dt, device=dev), e, "x_val", 2)
    yv = _as_members(y_val.to(dtype=dt, device=dev), e, "y_val", 1)
    if xv.shape[2] != d or yv.shape[1] != xv.shape[1]:
        raise ValueError(f"parameters 'x_val', 'y_val': shapes {tuple(xv.shape)} and {tuple(yv.shape)} "
                         f"do not match d={d}")

    t0 = time.perf_counter()
    engine = spec.resolved_engine()
    mspec = spec.mlp_spec(d)
    best = init_params(mspec, list(seeds), dtype=dt, device=dev, init=spec.init)
    gens = [shuffle_generator(s) for s in seeds]
    rho_fixed = None
    if spec.weighting == "fixed":
        if rho_targets is None:
            rt = tg
        else:
            if len(rho_targets) < spec.order + 1:
                raise ValueError(f"parameter 'rho_targets': need {spec.order + 1} entries, "
                                 f"got {len(rho_targets)}")
            rt = [_as_members(rho_targets[k].to(dtype=dt, device=dev), e, f"rho_targets[{k}]",
                              1 if k == 0 else 2) for k in range(spec.order + 1)]
            if any(a.shape != b.shape for a, b in zip(rt, tg, strict=True)):
                raise ValueError("parameter 'rho_targets': shapes must match 'targets'")
            if sw is not None:
                rt = [torch.where(sw.reshape(e, n, *([1] * (t.ndim - 2))) > 0, t, 0.0) for t in rt]
        rho_fixed = sobolev.fixed_rho(rt, spec.partials, sw, definition=spec.rho, eps=spec.rho_eps)
    diag = spec.diagnostics and spec.weighting == "adaptive" and spec.order > 0
    if diag:
        fired_acc = torch.zeros(e, spec.order + 1, dtype=torch.float64, device=dev)
        rho_acc = torch.zeros(e, spec.order + 1, dtype=torch.float64, device=dev)
        steps_acc = torch.zeros(e, dtype=torch.float64, device=dev)
    stats: dict[str, Tensor] | None = {} if diag else None
    yv_var = ((yv - yv.mean(dim=1, keepdim=True)) ** 2).mean(dim=1)
    slices = batch_slices(n, spec)

    best_val = [math.inf] * e
    best_epoch = [0] * e
    epochs = [0] * e
    reason = ["max_epochs"] * e
    failed: list[str | None] = [None] * e
    hist_loss: list[list[float]] = [[] for _ in range(e)]
    hist_val: list[list[float]] = [[] for _ in range(e)]

    active = list(range(e))
    work = [t.clone().requires_grad_(True) for t in best.tensors()]
    opt = torch.optim.Adam(work, lr=spec.lr, betas=spec.betas, eps=spec.eps,
                           weight_decay=spec.weight_decay)

    var = yv_var.tolist()
    cache: tuple | None = None  # per-member views of the active set, rebuilt after compaction
    for epoch in range(1, spec.max_epochs + 1):
        params = MLPParams.from_tensors(mspec, work)
        if cache is None:
            act = torch.tensor(active, device=dev)
            cache = (act, x[act], [t[act] for t in tg], None if sw is None else sw[act], xv[act], yv[act],
                     torch.arange(len(active), device=dev)[:, None])
        act, xa, ta, swa, xva, yva, rows = cache
        if sw is None:
            perms = torch.stack([torch.randperm(n, generator=gens[m]) for m in active]).to(dev)
        loss_sum = torch.zeros(len(active), dtype=torch.float64, device=dev)
        for sl in slices:
            if sw is None:
                idx = perms[:, sl]
                xb, tb = xa[rows, idx], [t[rows, idx] for t in ta]
            else:  # full batch; the order of the samples does not matter
                xb, tb = xa, ta
            opt.zero_grad(set_to_none=True)
            pred = network_derivatives(params, xb, spec.order, engine)
            errs = sobolev.order_errors(pred, tb, spec.partials, swa, reduction=spec.reduction)
            losses = sobolev.sobolev_loss(errs, spec.weighting,
                                          None if rho_fixed is None else rho_fixed[act], stats=stats)
            if stats is not None:
                fired_acc.index_add_(0, act, stats["fired"].to(torch.float64))
                rho_acc.index_add_(0, act, stats["rho"].to(torch.float64))
                steps_acc.index_add_(0, act, torch.ones(len(active), dtype=torch.float64, device=dev))
            losses.sum().backward()
            opt.step()
            loss_sum += losses.detach().to(torch.float64) * (sl.stop - sl.start)
        with torch.no_grad():
            val = ((forward(params, xva) - yva) ** 2).mean(dim=1)
        # bookkeeping on Python floats: one conversion per epoch, not one per member
        lvs, vvs = (loss_sum / n).tolist(), val.to(torch.float64).tolist()
        stop, improved = [], []
        for i, m in enumerate(active):
            epochs[m] = epoch
            lv, vv = lvs[i], vvs[i]
            hist_loss[m].append(lv)
            hist_val[m].append(vv)
            if not (math.isfinite(lv) and math.isfinite(vv)):
                failed[m] = f"non-finite {'training loss' if not math.isfinite(lv) else 'validation MSE'} " \
                            f"at epoch {epoch}"
                reason[m] = "nonfinite"
                stop.append(i)
                continue
            if vv < best_val[m]:
                best_val[m], best_epoch[m] = vv, epoch
                improved.append(i)
            if spec.target_r2 is not None and var[m] > 0 and 1 - vv / var[m] >= spec.target_r2:
                reason[m] = "target"
                stop.append(i)
            elif spec.patience is not None and epoch - best_epoch[m] >= spec.patience:
                reason[m] = "patience"
                stop.append(i)
        if improved:
            loc = torch.tensor(improved, device=dev)
            dst = act[loc]
            with torch.no_grad():
                for bt, wt in zip(best.tensors(), work, strict=True):
                    bt.index_copy_(0, dst, wt.detach()[loc])
        if stop:
            gone = set(stop)
            keep = [i for i in range(len(active)) if i not in gone]
            if not keep:
                break
            work, opt = _compact(work, opt, keep, spec)
            active = [active[i] for i in keep]
            cache = None
    for m in range(e):
        if failed[m] is None and not math.isfinite(best_val[m]):
            failed[m] = "no finite validation error in any epoch"
    adaptive = None
    if diag:
        steps = steps_acc.clamp(min=1.0)[:, None]
        adaptive = {"fired": (fired_acc / steps).cpu().tolist(),
                    "mean_rho": (rho_acc / steps).cpu().tolist(),
                    "steps": steps_acc.cpu().tolist()}
    return EnsembleResult(spec, best, best_epoch, epochs, best_val, reason, failed,
                          {"train_loss": hist_loss, "val_mse": hist_val}, time.perf_counter() - t0,
                          adaptive)


def _compact(work: list[Tensor], opt: torch.optim.Adam, keep: list[int],
             spec: TrainSpec) -> tuple[list[Tensor], torch.optim.Adam]:
    """Drop stopped members from the working weights and the optimizer state."""
    idx = torch.tensor(keep, device=work[0].device)
    new = [w.detach()[idx].clone().requires_grad_(True) for w in work]
    new_opt = torch.optim.Adam(new, lr=spec.lr, betas=spec.betas, eps=spec.eps,
                               weight_decay=spec.weight_decay)
    for old_p, new_p in zip(work, new, strict=True):
        st = opt.state.get(old_p)
        if st:
            new_opt.state[new_p] = {k: (v[idx].clone() if torch.is_tensor(v) and v.ndim > 0 else
                                        (v.clone() if torch.is_tensor(v) else v))
                                    for k, v in st.items()}
    return new, new_opt


__all__ = ["ACTIVATIONS", "ENGINES", "EnsembleResult", "TrainSpec", "batch_slices",
           "network_derivatives", "shuffle_generator", "train_ensemble"]
