"""Affine scaling of inputs and outputs that carries derivatives of every order along exactly.

With ``x~ = a * x + b`` (per input) and ``y~ = c * y + e``, the scaled function
``y~(x~) = c * y((x~ - b) / a) + e`` has partials

    d^k y~ / (dx~_{i1} ... dx~_{ik}) = c * d^k y / (dx_{i1} ... dx_{ik}) / (a_{i1} ... a_{ik}),

so an order-k tensor is multiplied by ``c`` and divided by ``a`` along each of its k axes (for
the unique form: by ``prod_i a_i ** alpha_i``). This is Hartmann et al. eqs. (1)-(3), which the
extracted text prints as ``(1/gamma) alpha_1^r1 alpha_2^r2 d``; the exact rule above is what
their equations imply with ``x~ = alpha x + beta`` and ``y~ = gamma y + delta``.

Kinds:

* ``"zscore"``: zero mean, unit variance per input and for the output (Hartmann §II-A);
* ``"minmax"``: inputs and output mapped to [0, 1] (Horvath §3.1); input bounds may be
  given (the parameter box) instead of taken from the data;
* ``"identity"``: no scaling.

A degenerate column (zero spread, e.g. a single training sample) is only shifted, never divided
by zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from derivlearn.derivatives import exponents

KINDS = ("zscore", "minmax", "identity")


def _spread(s: Tensor) -> Tensor:
    return torch.where(s > 0, s, torch.ones_like(s))


@dataclass(frozen=True)
class Scaling:
    """``x~ = a * x + b``, ``y~ = c * y + e``. *Shapes:* a, b (d,); c, e scalars (0-d)."""

    kind: str
    a: Tensor
    b: Tensor
    c: Tensor
    e: Tensor

    @classmethod
    def fit(cls, kind: str, x: Tensor, y: Tensor, bounds: Tensor | None = None) -> Scaling:
        """Fit to training data. *Shapes:* x (N, d), y (N,), bounds (d, 2) (min-max only)."""
        if kind not in KINDS:
            raise ValueError(f"parameter 'kind': must be one of {KINDS}, got {kind!r}")
        if x.ndim != 2 or y.shape != x.shape[:1] or x.shape[0] < 1:
            raise ValueError(f"parameters 'x', 'y': expected shapes (N, d) and (N,) with N >= 1, "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        x = x.detach()
        y = y.detach()
        d = x.shape[1]
        if kind == "identity":
            one = torch.ones(d, dtype=x.dtype, device=x.device)
            return cls(kind, one, 0 * one, y.new_tensor(1.0), y.new_tensor(0.0))
        if kind == "zscore":
            mu, sd = x.mean(0), _spread(x.std(0, unbiased=False))
            my, sy = y.mean(), _spread(y.std(unbiased=False))
            return cls(kind, 1 / sd, -mu / sd, 1 / sy, -my / sy)
        if bounds is not None:
            if bounds.shape != (d, 2) or bool((bounds[:, 1] < bounds[:, 0]).any()):
                raise ValueError(f"parameter 'bounds': expected shape ({d}, 2) with low <= high, "
                                 f"got {tuple(bounds.shape)}")
            lo, hi = bounds[:, 0].to(x), bounds[:, 1].to(x)
        else:
            lo, hi = x.min(0).values, x.max(0).values
        w = _spread(hi - lo)
        ylo, yw = y.min(), _spread(y.max() - y.min())
        return cls(kind, 1 / w, -lo / w, 1 / yw, -ylo / yw)

    # ------------------------------------------------------------------ values
    def x(self, x: Tensor) -> Tensor:
        """Scale inputs. *Shape:* (..., d)."""
        return x * self.a.to(x) + self.b.to(x)

    def x_inverse(self, xs: Tensor) -> Tensor:
        """Undo :meth:`x`. *Shape:* (..., d)."""
        return (xs - self.b.to(xs)) / self.a.to(xs)

    def y(self, y: Tensor) -> Tensor:
        """Scale outputs. *Shape:* any."""
        return y * self.c.to(y) + self.e.to(y)

    def y_inverse(self, ys: Tensor) -> Tensor:
        """Undo :meth:`y`. *Shape:* any."""
        return (ys - self.e.to(ys)) / self.c.to(ys)

    # ------------------------------------------------------------------ derivatives
    def _factor(self, k: int, form: str, like: Tensor) -> Tensor:
        a = self.a.to(like)
        d = a.shape[0]
        if form == "unique":
            f = (a[None, :] ** -exponents(d, k).to(like)).prod(dim=1) if k else a.new_ones(1)
            return f * self.c.to(like)
        if form != "full":
            raise ValueError(f"parameter 'form': must be 'full' or 'unique', got {form!r}")
        f = self.c.to(like).reshape([1] * k) if k else self.c.to(like)
        for axis in range(k):
            shape = [1] * k
            shape[axis] = d
            f = f / a.reshape(shape)
        return f

    def derivatives(self, derivs: Sequence[Tensor], form: str = "full") -> list[Tensor]:
        """Scale ``[values, order 1, order 2, ...]`` of y(x) to those of y~(x~).

        *Shapes:* full form ``[(..., ), (..., d), (..., d, d), ...]`` or unique form
        ``[(...,), (..., n_1), (..., n_2), ...]`` (see :mod:`derivlearn.derivatives`).
        """
        out = [self.y(derivs[0])] if len(derivs) else []
        out += [t * self._factor(k, form, t) for k, t in enumerate(derivs) if k > 0]
        return out

    def derivatives_inverse(self, derivs: Sequence[Tensor], form: str = "full") -> list[Tensor]:
        """Undo :meth:`derivatives`."""
        out = [self.y_inverse(derivs[0])] if len(derivs) else []
        out += [t / self._factor(k, form, t) for k, t in enumerate(derivs) if k > 0]
        return out
