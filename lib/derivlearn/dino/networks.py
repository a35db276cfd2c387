"""The three DINO networks: Generic and the two derivative-informed projected networks (DIPNets).

Every network is ``f(m) = g(Φᵀ m)`` with a fixed, untrained, orthonormal input basis ``Φ``
(d_M, r_M) for a DIPNet and ``Φ = I`` for Generic, and a trainable part ``g`` (:meth:`DinoNet.head`)

    g(z) = W_out σ(... σ(W_1 (c z) + b_1) ...) + b_out,

softplus ``σ`` on every hidden layer and a **linear** output layer. The constant ``c``
(``input_scale``, 1 for Generic) is the authors' **projector scaling**: their fixed input layer
holds ``Φ̃ = c Φ`` with ``c = 1 / ((d_M / (32 r_M)) ‖Φ‖_F) = 32 √r_M / d_M`` (QR, then divide;
``modify_projectors`` in ``dino/surrogate_construction/dataUtilities.py`` of the authors' first
commit), about 0.054 for r_M = 50 and 0.076 for r_M = 100 at d_M = 4225
(:func:`derivlearn.dino.bases.authors_input_scale`). Without it the latent inputs ``Φᵀm`` have
norms of about 10² and the softplus layers start far out. Keeping ``Φ`` orthonormal and putting
``c`` at the head's input is the same network, ``f(m) = MLP(Φ̃ᵀ m)`` and ``∇f = ∇MLP Φ̃ᵀ =
∇g Φᵀ``, and it keeps every identity of the losses and metrics that needs an orthonormal ``Φ``
(``‖J − ∇gΦᵀ‖² = ‖JΦ − ∇g‖² + ‖J‖² − ‖JΦ‖²``) and the cached projections ``JΦ`` valid. Only the
input is scaled: the authors' ``modify_projectors`` also rescales an *output* projector, but
their DIPNet's output layer is built from ``build_POD_layer_arrays`` (the unscaled POD basis
and mean; ``jacobian_training_driver`` in ``jacobianConstruction.py`` passes
``projector_dict['output'] = last_layer_weights``), so the rescaled output projector is unused.

The spec's "softplus everywhere" refers to the hidden layers: the authors' code (``generic_dense`` and
``projected_dense``) builds the output ``Dense`` without an activation, a softplus output could not
produce negative observations, and the POD initialisation ``f = U_Q h + mean`` needs a linear
last layer. The weight counts of the spec (d_M = 4225, d_Q = 50):

==============  ====================================================  ========
network         layers                                                d_W
==============  ====================================================  ========
Generic         4225 → 6 × Dense(50) → Dense(50)                      226,600
DIPNet 50-50    Φᵀm (50) → Dense(50) → 6 × Dense(50) → Dense(50)      20,400
DIPNet 100-50   Φᵀm (100) → Dense(100) → 6 × Dense(50) → Dense(50)    30,450
==============  ====================================================  ========

Hidden widths. The authors' ``construct_projected_dense`` makes every hidden layer after the
reduction layer as wide as the POD basis, ``build_POD_layer_arrays`` with ``full_matrices=False``:
min(d_Q, training rows), so 16 at N = 16 (``width`` of :func:`dipnet` and :func:`build_network`).

Weights are initialised as Keras does by default (the authors trained with ``tf.keras``):
Glorot-uniform kernels and zero biases, from ``torch.Generator().manual_seed(seed)``. The output
layer may instead start from an output basis and bias (POD, :mod:`derivlearn.dino.bases`); it
stays trainable. Networks are float32 by default; float64 is supported.

Because ``∇f = ∇g Φᵀ``, a DIPNet's Jacobian products are taken on ``g`` in the latent space with
the directions projected by :meth:`DinoNet.project`; the 50 × 4225 Jacobian is never formed.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

NETWORK_KINDS = ("generic", "dipnet_50_50", "dipnet_100_50")
"""Names accepted by :func:`build_network`."""

_DIPNET_RANK = {"dipnet_50_50": 50, "dipnet_100_50": 100}


def _check_dtype(dtype: torch.dtype) -> None:
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"parameter 'dtype': must be torch.float32 or torch.float64, got {dtype!r}")


def _check_positive_int(name: str, v: object) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"parameter {name!r}: must be an integer >= 1, got {v!r}")


class DinoNet(nn.Module):
    """``f(m) = g(Φᵀ m)``: a fixed input projection followed by a softplus MLP with linear output.

    Args:
        d_M: Input (parameter) dimension.
        d_Q: Output (observable) dimension.
        widths: Widths of the hidden softplus layers of ``g``, in order.
        input_basis: Fixed orthonormal input basis Φ for a DIPNet, or None (Generic, ``Φ = I``).
            *Shape:* (d_M, r_M).
        output_basis: Initial output weight (e.g. the POD basis), or None for Glorot.
            *Shape:* (d_Q, widths[-1]).
        output_bias: Initial output bias (e.g. the mean output), or None for zeros. *Shape:* (d_Q,).
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        seed: Seed of the initialisation.
        input_scale: The constant ``c`` > 0 by which the head scales its latent input (the
            authors' projector scaling, module docstring); must be 1 without an input basis.

    Raises:
        ValueError: On a bad dimension, width, dtype, scale, or a basis of the wrong shape or one
            that is not orthonormal.
    """

    def __init__(self, d_M: int, d_Q: int, widths: list[int] | tuple[int, ...],
                 input_basis: Tensor | None = None, output_basis: Tensor | None = None,
                 output_bias: Tensor | None = None, *, dtype: torch.dtype = torch.float32,
                 seed: int = 0, input_scale: float = 1.0) -> None:
        super().__init__()
        _check_positive_int("d_M", d_M)
        _check_positive_int("d_Q", d_Q)
        _check_dtype(dtype)
        widths = list(widths)
        if len(widths) < 1:
            raise ValueError("parameter 'widths': need at least one hidden layer")
        for w in widths:
            _check_positive_int("widths", w)
        self.d_M, self.d_Q = d_M, d_Q
        if input_basis is not None:
            phi = torch.as_tensor(input_basis)
            if phi.ndim != 2 or phi.shape[0] != d_M or not 1 <= phi.shape[1] <= d_M:
                raise ValueError(f"parameter 'input_basis': must have shape (d_M={d_M}, r) with "
                                 f"1 <= r <= d_M, got {tuple(phi.shape)}")
            p64 = phi.to(torch.float64)
            gram_err = (p64.T @ p64 - torch.eye(p64.shape[1], dtype=torch.float64)).abs().max()
            if gram_err > 1e-5:
                raise ValueError("parameter 'input_basis': columns must be orthonormal "
                                 f"(max |ΦᵀΦ - I| = {float(gram_err):.2e}); orthonormalise by QR")
            self.register_buffer("phi", phi.to(dtype).clone())
        else:
            self.phi = None
        if isinstance(input_scale, bool) or not isinstance(input_scale, (int, float)) \
                or not math.isfinite(input_scale) or input_scale <= 0:
            raise ValueError(f"parameter 'input_scale': must be a finite number > 0, got {input_scale!r}")
        if input_basis is None and input_scale != 1:
            raise ValueError("parameter 'input_scale': must be 1 without an input basis, "
                             f"got {input_scale!r}")
        self.input_scale = float(input_scale)
        n_in = self.latent_dim
        g = torch.Generator().manual_seed(int(seed))
        sizes = [n_in] + widths
        self.hidden = nn.ModuleList()
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            self.hidden.append(self._glorot(a, b, g, dtype))
        self.output = self._glorot(widths[-1], d_Q, g, dtype)
        with torch.no_grad():
            if output_basis is not None:
                ub = torch.as_tensor(output_basis)
                if tuple(ub.shape) != (d_Q, widths[-1]):
                    raise ValueError(f"parameter 'output_basis': must have shape (d_Q={d_Q}, "
                                     f"widths[-1]={widths[-1]}), got {tuple(ub.shape)}")
                self.output.weight.copy_(ub.to(dtype))
            if output_bias is not None:
                bb = torch.as_tensor(output_bias)
                if tuple(bb.shape) != (d_Q,):
                    raise ValueError(f"parameter 'output_bias': must have shape (d_Q={d_Q},), "
                                     f"got {tuple(bb.shape)}")
                self.output.bias.copy_(bb.to(dtype))

    @staticmethod
    def _glorot(n_in: int, n_out: int, g: torch.Generator, dtype: torch.dtype) -> nn.Linear:
        lin = nn.Linear(n_in, n_out, dtype=dtype)
        bound = math.sqrt(6.0 / (n_in + n_out))
        with torch.no_grad():
            w = (torch.rand(n_out, n_in, generator=g, dtype=torch.float64) * 2 - 1) * bound
            lin.weight.copy_(w.to(dtype))
            lin.bias.zero_()
        return lin

    @property
    def is_projected(self) -> bool:
        """Whether this is a DIPNet (fixed input basis)."""
        return self.phi is not None

    @property
    def latent_dim(self) -> int:
        """Input dimension of ``g``: r_M for a DIPNet, d_M for Generic."""
        return self.d_M if self.phi is None else int(self.phi.shape[1])

    @property
    def input_projector(self) -> Tensor | None:
        """The fixed input layer as the authors store it, ``Φ̃ = c Φ`` (None for Generic):
        ``f(m) = MLP(Φ̃ᵀ m)`` and ``∇f = ∇MLP Φ̃ᵀ``. *Shape:* (d_M, r_M)."""
        return None if self.phi is None else self.phi * self.input_scale

    @property
    def n_weights(self) -> int:
        """Number of trainable weights d_W (the fixed input basis is not counted)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @property
    def dtype(self) -> torch.dtype:
        return self.output.weight.dtype

    def encode(self, m: Tensor) -> Tensor:
        """The latent input ``z = Φᵀ m`` (``m`` itself for Generic). *Shape:* (..., d_M) -> (..., r)."""
        return m if self.phi is None else m @ self.phi

    def project(self, directions: Tensor) -> Tensor:
        """Input-space directions mapped to the latent space, ``Φᵀ D``.

        *Shape:* (..., d_M, k) -> (..., r, k). The identity for Generic.
        """
        if self.phi is None:
            return directions
        return torch.einsum("mr,...mk->...rk", self.phi, directions)

    def head(self, z: Tensor) -> Tensor:
        """The trainable part ``g`` (with the input scale ``c``). *Shape:* (..., r) -> (..., d_Q)."""
        h = z if self.input_scale == 1.0 else z * self.input_scale
        for lin in self.hidden:
            h = nn.functional.softplus(lin(h))
        return self.output(h)

    def forward(self, m: Tensor) -> Tensor:
        """``f(m) = g(Φᵀ m)``. *Shape:* (..., d_M) -> (..., d_Q)."""
        return self.head(self.encode(m))


def generic_network(d_M: int = 4225, d_Q: int = 50, width: int = 50, depth: int = 6,
                    output_basis: Tensor | None = None, output_bias: Tensor | None = None, *,
                    dtype: torch.dtype = torch.float32, seed: int = 0) -> DinoNet:
    """Generic: d_M → depth × Dense(width) → Dense(d_Q) (226,600 weights at the spec's sizes)."""
    _check_positive_int("depth", depth)
    return DinoNet(d_M, d_Q, [width] * depth, None, output_basis, output_bias, dtype=dtype, seed=seed)


def dipnet(input_basis: Tensor, d_Q: int = 50, width: int = 50, depth: int = 6,
           output_basis: Tensor | None = None, output_bias: Tensor | None = None, *,
           dtype: torch.dtype = torch.float32, seed: int = 0, input_scale: float = 1.0) -> DinoNet:
    """DIPNet: fixed Φᵀm (r_M) → Dense(r_M) → depth × Dense(width) → Dense(d_Q).

    Args:
        input_basis: Orthonormal input basis Φ. *Shape:* (d_M, r_M).
        d_Q, width, depth, output_basis, output_bias, dtype, seed, input_scale: As for
            :class:`DinoNet` (``input_scale`` 1: no projector scaling).
    """
    _check_positive_int("depth", depth)
    phi = torch.as_tensor(input_basis)
    if phi.ndim != 2:
        raise ValueError(f"parameter 'input_basis': must be a matrix (d_M, r_M), got shape "
                         f"{tuple(phi.shape)}")
    r = int(phi.shape[1])
    return DinoNet(int(phi.shape[0]), d_Q, [r] + [width] * depth, phi, output_basis, output_bias,
                   dtype=dtype, seed=seed, input_scale=input_scale)


def build_network(kind: str, d_M: int = 4225, input_basis: Tensor | None = None, d_Q: int = 50,
                  output_basis: Tensor | None = None, output_bias: Tensor | None = None, *,
                  dtype: torch.dtype = torch.float32, seed: int = 0, width: int = 50,
                  input_scale: float | str = "authors") -> DinoNet:
    """One of the paper's three networks by name.

    Args:
        kind: One of :data:`NETWORK_KINDS`.
        d_M: Input dimension (4225 in the paper).
        input_basis: The input basis Φ for a DIPNet, with 50 (``"dipnet_50_50"``) or 100
            (``"dipnet_100_50"``) columns; must be None for ``"generic"``. *Shape:* (d_M, r_M).
        d_Q: Output dimension (50 in the paper).
        output_basis: Optional initial output weight (POD basis). *Shape:* (d_Q, width).
        output_bias: Optional initial output bias (mean output). *Shape:* (d_Q,).
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        seed: Seed of the initialisation.
        width: Width of a DIPNet's six hidden layers after the reduction layer (50; the authors'
            code narrows it to the POD width min(d_Q, training rows), module docstring). Generic
            is always 6 × 50.
        input_scale: A DIPNet's projector scaling: ``"authors"`` (default, 32 √r_M / d_M, see
            :func:`derivlearn.dino.bases.authors_input_scale`) or a number (1: none).

    Raises:
        ValueError: On an unknown ``kind`` or an input basis that does not fit it.
    """
    if kind not in NETWORK_KINDS:
        raise ValueError(f"parameter 'kind': must be one of {NETWORK_KINDS}, got {kind!r}")
    if kind == "generic":
        if input_basis is not None:
            raise ValueError("parameter 'input_basis': must be None for kind 'generic'")
        if width != 50:
            raise ValueError(f"parameter 'width': Generic is 6 x 50 wide (the authors' generic_dense), "
                             f"got {width!r}")
        return generic_network(d_M, d_Q, 50, 6, output_basis, output_bias, dtype=dtype, seed=seed)
    r = _DIPNET_RANK[kind]
    if input_basis is None:
        raise ValueError(f"parameter 'input_basis': required for kind {kind!r}, shape (d_M, {r})")
    phi = torch.as_tensor(input_basis)
    if phi.ndim != 2 or tuple(phi.shape) != (d_M, r):
        raise ValueError(f"parameter 'input_basis': must have shape (d_M={d_M}, {r}) for kind "
                         f"{kind!r}, got {tuple(phi.shape)}")
    if input_scale == "authors":
        from derivlearn.dino.bases import authors_input_scale

        input_scale = authors_input_scale(phi)
    elif isinstance(input_scale, str):
        raise ValueError(f"parameter 'input_scale': must be 'authors' or a number > 0, got {input_scale!r}")
    _check_positive_int("width", width)
    return dipnet(phi, d_Q, width, 6, output_basis, output_bias, dtype=dtype, seed=seed,
                  input_scale=input_scale)
