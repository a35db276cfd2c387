"""Analytic test functions: Hartmann et al. Table I (2-D), n-D Rosenbrock, Friedman #1.

Example:
    >>> from derivlearn import functions
    >>> f = functions.get("branin")
    >>> f.domain.shape, f.category
    (torch.Size([2, 2]), 'other')
"""

from __future__ import annotations

from derivlearn.functions.base import CATEGORIES, TestFunction
from derivlearn.functions.hartmann import TABLE_I
from derivlearn.functions.nd import FRIEDMAN1, rosenbrock_nd

_FIXED = {f.name: f for f in (*TABLE_I, FRIEDMAN1)}
_SCALABLE = {"rosenbrock_nd": rosenbrock_nd}


def names(category: str | None = None) -> list[str]:
    """Registered function names (optionally of one category), Table I order first."""
    all_names = [*_FIXED, *_SCALABLE]
    if category is None:
        return all_names
    if category not in CATEGORIES:
        raise ValueError(f"parameter 'category': got {category!r}; allowed: {CATEGORIES}")
    return [n for n in _FIXED if _FIXED[n].category == category] + (
        list(_SCALABLE) if category == "nd" else [])


def get(name: str, dim: int | None = None) -> TestFunction:
    """The test function ``name``; ``dim`` is required for scalable functions only.

    Raises:
        ValueError: unknown name, or a ``dim`` the function does not support.
    """
    if name in _SCALABLE:
        if dim is None:
            raise ValueError(f"parameter 'dim': {name!r} needs a dimension; allowed: integer >= 2")
        return _SCALABLE[name](dim)
    if name not in _FIXED:
        raise ValueError(f"parameter 'name': got {name!r}; allowed: {names()}")
    f = _FIXED[name]
    if dim is not None and dim != f.dim:
        raise ValueError(f"parameter 'dim': {name!r} is defined for dim={f.dim} only; got {dim!r}")
    return f


TABLE_I_NAMES: tuple[str, ...] = tuple(f.name for f in TABLE_I)

__all__ = ["CATEGORIES", "TABLE_I_NAMES", "TestFunction", "get", "names"]
