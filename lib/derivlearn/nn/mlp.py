"""Multilayer perceptrons as stacked weights: one tensor per layer for a whole ensemble.

An ensemble of E networks of identical shape is stored as ``weights[l]`` of shape
(E, n_out, n_in) and ``biases[l]`` of shape (E, n_out). A batched matrix product evaluates all
members at once, so K runs of a small network cost about as much Python overhead as one.
Member ``e`` is initialised exactly as ``torch.nn.Linear`` would be (uniform
``±1/sqrt(fan_in)`` for weights and biases) from its own seed, so it is the same network
whether it is trained alone or inside an ensemble. ``init="glorot"`` instead draws
Glorot-uniform weights (``±sqrt(6 / (fan_in + fan_out))``) and zero biases, the default of a
Keras ``Dense`` layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

INITS = ("torch", "glorot")
"""Initialisations of :func:`init_params`: ``"torch"`` (``torch.nn.Linear``'s, the default) and
``"glorot"`` (Glorot-uniform weights, zero biases; Keras' default)."""
ACTIVATIONS = ("tanh", "sigmoid", "sin", "relu", "softplus", "gelu", "silu")
"""Activations of the MLP builder. Taylor-mode derivatives support ``tanh``, ``sigmoid`` and
``sin`` (see :mod:`derivlearn.nn.taylor`); the others train with the autograd engine."""


def _act(name: str):
    return {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "sin": torch.sin,
            "relu": torch.relu, "softplus": nn.functional.softplus,
            "gelu": nn.functional.gelu, "silu": nn.functional.silu}[name]


class Sin(nn.Module):
    """``sin`` as a module (torch has none)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(x)


def _act_module(name: str) -> nn.Module:
    return {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "sin": Sin, "relu": nn.ReLU,
            "softplus": nn.Softplus, "gelu": nn.GELU, "silu": nn.SiLU}[name]()


@dataclass(frozen=True)
class MLPSpec:
    """Shape of a fully connected network ``d -> width x depth -> 1`` with a linear output."""

    d: int
    width: int = 200
    depth: int = 2
    activation: str = "tanh"

    def __post_init__(self) -> None:
        for name, lo in (("d", 1), ("width", 1), ("depth", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"parameter {name!r}: must be an integer >= {lo}, got {v!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"parameter 'activation': must be one of {ACTIVATIONS}, "
                             f"got {self.activation!r}")

    @property
    def sizes(self) -> list[int]:
        return [self.d] + [self.width] * self.depth + [1]

    @property
    def n_weights(self) -> int:
        s = self.sizes
        return sum((s[i] + 1) * s[i + 1] for i in range(len(s) - 1))


@dataclass
class MLPParams:
    """Stacked parameters of E networks. *Shapes:* weights[l] (E, n_out, n_in), biases[l]
    (E, n_out)."""

    spec: MLPSpec
    weights: list[Tensor]
    biases: list[Tensor]

    @property
    def members(self) -> int:
        return self.weights[0].shape[0]

    def tensors(self) -> list[Tensor]:
        """All parameter tensors, layer by layer (weight, bias)."""
        return [t for wb in zip(self.weights, self.biases, strict=True) for t in wb]

    @classmethod
    def from_tensors(cls, spec: MLPSpec, tensors: Sequence[Tensor]) -> MLPParams:
        return cls(spec, list(tensors[0::2]), list(tensors[1::2]))

    def select(self, members: Tensor | Sequence[int]) -> MLPParams:
        """A sub-ensemble (copies). *Shape:* members (E',)."""
        idx = torch.as_tensor(members, dtype=torch.int64, device=self.weights[0].device)
        return MLPParams(self.spec, [w[idx].clone() for w in self.weights],
                         [b[idx].clone() for b in self.biases])

    def detach(self) -> MLPParams:
        return MLPParams(self.spec, [w.detach().clone() for w in self.weights],
                         [b.detach().clone() for b in self.biases])

    def to_module(self, member: int = 0) -> nn.Sequential:
        """Member ``member`` as a plain ``torch.nn.Sequential`` (a copy)."""
        layers: list[nn.Module] = []
        s = self.spec.sizes
        for li in range(len(s) - 1):
            lin = nn.Linear(s[li], s[li + 1], dtype=self.weights[li].dtype,
                            device=self.weights[li].device)
            with torch.no_grad():
                lin.weight.copy_(self.weights[li][member])
                lin.bias.copy_(self.biases[li][member])
            layers.append(lin)
            if li < len(s) - 2:
                layers.append(_act_module(self.spec.activation))
        return nn.Sequential(*layers)


def init_params(spec: MLPSpec, seeds: Sequence[int], dtype: torch.dtype = torch.float64,
                device: str | torch.device = "cpu", init: str = "torch") -> MLPParams:
    """Initialise one member per seed from ``torch.Generator().manual_seed(seed)``, layer by
    layer. ``init="torch"``: like ``torch.nn.Linear`` (U(±1/sqrt(fan_in)) for weights, then
    biases); ``init="glorot"``: U(±sqrt(6 / (fan_in + fan_out))) for weights, zero biases
    (Keras' ``glorot_uniform`` and ``zeros``)."""
    if len(seeds) < 1:
        raise ValueError("parameter 'seeds': need at least one seed")
    if init not in INITS:
        raise ValueError(f"parameter 'init': must be one of {INITS}, got {init!r}")
    s = spec.sizes
    weights: list[list[Tensor]] = [[] for _ in range(len(s) - 1)]
    biases: list[list[Tensor]] = [[] for _ in range(len(s) - 1)]
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed))
        for li in range(len(s) - 1):
            if init == "glorot":
                bound = (6.0 / (s[li] + s[li + 1])) ** 0.5
                weights[li].append((torch.rand(s[li + 1], s[li], generator=g, dtype=torch.float64)
                                    * 2 - 1) * bound)
                biases[li].append(torch.zeros(s[li + 1], dtype=torch.float64))
                continue
            bound = 1.0 / s[li] ** 0.5
            weights[li].append((torch.rand(s[li + 1], s[li], generator=g, dtype=torch.float64)
                                * 2 - 1) * bound)
            biases[li].append((torch.rand(s[li + 1], generator=g, dtype=torch.float64) * 2 - 1)
                              * bound)
    return MLPParams(spec, [torch.stack(w).to(dtype=dtype, device=device) for w in weights],
                     [torch.stack(b).to(dtype=dtype, device=device) for b in biases])


def forward(params: MLPParams, x: Tensor) -> Tensor:
    """Evaluate every member. *Shapes:* x (E, B, d) or (B, d) (shared) -> (E, B)."""
    act = _act(params.spec.activation)
    h = x if x.ndim == 3 else x.expand(params.members, *x.shape)
    n = len(params.weights)
    for li, (w, b) in enumerate(zip(params.weights, params.biases, strict=True)):
        h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
        if li < n - 1:
            h = act(h)
    return h[..., 0]
