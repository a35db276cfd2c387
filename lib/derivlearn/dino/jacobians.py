"""Network Jacobian products from :mod:`torch.func`, only in the directions a loss needs.

``g`` is any batched callable (..., n) -> (..., d_Q), e.g. a :class:`~derivlearn.dino.networks.DinoNet`
(n = d_M) or its trainable part ``net.head`` (n = r_M, the latent input of a DIPNet). Parameters
captured by ``g`` receive gradients through ordinary autograd, so these products can sit inside a
training loss.

* :func:`jacobian_times` — ``∇g(x) D`` by a ``vmap`` of forward-mode ``jvp`` over the k columns of
  ``D`` and over the batch: k forward-mode passes per sample.
* :func:`jacobian` — the full ``∇g(x)`` by ``vmap(jacrev)``: d_Q reverse-mode passes per sample.
  For a DIPNet pass ``net.head`` and the latent input, giving ``∇g`` (d_Q, r_M) instead of the
  d_Q × d_M Jacobian ``∇g Φᵀ``.

**Fast path.** When ``g`` is a :class:`~derivlearn.dino.networks.DinoNet` or its ``head``, the
forward-mode products are propagated explicitly through the layers, ``T <- W T`` and
``T <- softplus'(a) T = sigmoid(a) T``, as batched matrix products over all k directions at
once: the same numbers as ``vmap(jvp)`` (the tests compare both) without its per-call overhead,
which dominates for these small networks. ``jacobian`` of a DIPNet head (r_M <= 2 d_Q inputs)
uses the same path with the identity as directions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import jacrev, jvp, vmap


def _dino_target(g: Callable[[Tensor], Tensor]):
    """``(net, head_only)`` when ``g`` is a DinoNet or its bound ``head``, else ``None``."""
    from derivlearn.dino.networks import DinoNet

    if isinstance(g, DinoNet):
        return g, False
    owner = getattr(g, "__self__", None)
    if isinstance(owner, DinoNet) and getattr(g, "__func__", None) is DinoNet.head:
        return owner, True
    return None


def _forward_tangents(net, head_only: bool, x: Tensor, directions: Tensor) -> Tensor:
    """Explicit forward mode through a DinoNet. *Shapes:* x (B, n), directions (B, n, k) ->
    (B, d_Q, k)."""
    h, t = x, directions
    if not head_only and net.phi is not None:
        h, t = h @ net.phi, net.phi.T @ t
    for lin in net.hidden:
        a = lin(h)
        t = lin.weight @ t
        h = torch.nn.functional.softplus(a)
        slope = torch.where(a > 20, torch.ones_like(a), torch.sigmoid(a))  # softplus's threshold
        t = slope[..., None] * t
    return net.output.weight @ t


def _check_x(x: Tensor) -> None:
    if x.ndim != 2:
        raise ValueError(f"parameter 'x': must have shape (B, n), got {tuple(x.shape)}")


def jacobian_times(g: Callable[[Tensor], Tensor], x: Tensor, directions: Tensor) -> Tensor:
    """``∇g(x_b) D_b`` for every sample b, by forward-mode products along the columns of D.

    Args:
        g: Batched callable (..., n) -> (..., d_Q).
        x: Inputs. *Shape:* (B, n).
        directions: Directions, per sample (B, n, k) or shared (n, k).

    Returns:
        The products. *Shape:* (B, d_Q, k).
    """
    _check_x(x)
    if directions.ndim == 2:
        directions = directions.expand(x.shape[0], *directions.shape)
    if directions.ndim != 3 or directions.shape[:2] != x.shape:
        raise ValueError(f"parameter 'directions': must have shape (B, n, k) or (n, k) with "
                         f"(B, n) = {tuple(x.shape)}, got {tuple(directions.shape)}")

    fast = _dino_target(g)
    if fast is not None:
        return _forward_tangents(fast[0], fast[1], x, directions)

    def one(xi: Tensor, di: Tensor) -> Tensor:
        def push(v: Tensor) -> Tensor:
            return jvp(g, (xi,), (v,))[1]
        return vmap(push, in_dims=1, out_dims=1)(di)

    return vmap(one)(x, directions)


def jacobian(g: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """The full Jacobian ``∇g(x_b)`` of every sample, by reverse mode.

    Args:
        g: Batched callable (..., n) -> (..., d_Q).
        x: Inputs. *Shape:* (B, n).

    Returns:
        The Jacobians. *Shape:* (B, d_Q, n).
    """
    _check_x(x)
    fast = _dino_target(g)
    if fast is not None and x.shape[1] <= 2 * fast[0].d_Q:
        eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        return _forward_tangents(fast[0], fast[1], x, eye.expand(x.shape[0], -1, -1))
    return vmap(jacrev(g))(x)
