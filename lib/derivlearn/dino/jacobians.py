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
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor
from torch.func import jacrev, jvp, vmap


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
    return vmap(jacrev(g))(x)
