"""Reference problems of the GradINN chapter: targets with exact or high-accuracy gradients.

Friedman #1 comes in two forms: ``friedman1`` (10 inputs, 5 of them inactive) and
``friedman1_5d`` (the 5 active inputs only).

Each problem has ``name``, ``dim``, ``domain`` *(dim, 2)*, ``sample(n, generator)`` *(n, dim)*,
``value(x)`` *(N,)* and ``gradient(x)`` *(N, dim)*, all float64.

Example:
    >>> from derivlearn import problems
    >>> p = problems.get("stokes")
    >>> p.dim, problems.names()[0]
    (2, 'friedman1')
"""

from __future__ import annotations

from collections.abc import Callable

from derivlearn.problems.base import Problem
from derivlearn.problems.burgers import Burgers
from derivlearn.problems.friedman import Friedman1
from derivlearn.problems.lotka_volterra import LotkaVolterra
from derivlearn.problems.stokes import StokesSphere

_REGISTRY: dict[str, Callable[..., Problem]] = {
    "friedman1": Friedman1,
    "friedman1_5d": lambda **kw: Friedman1(n_inputs=5, **kw),
    "stokes": StokesSphere,
    "lotka_volterra": LotkaVolterra,
    "lotka_volterra_predator": lambda **kw: LotkaVolterra(component="predator", **kw),
    "burgers": Burgers,
}


def names() -> list[str]:
    """Registered problem names."""
    return list(_REGISTRY)


def get(name: str, **options: object) -> Problem:
    """A new instance of the problem ``name``; ``options`` go to its constructor.

    Raises:
        ValueError: unknown name (or a bad option, from the constructor).
    """
    if name not in _REGISTRY:
        raise ValueError(f"parameter 'name': got {name!r}; allowed: {names()}")
    return _REGISTRY[name](**options)


__all__ = ["Burgers", "Friedman1", "LotkaVolterra", "Problem", "StokesSphere", "get", "names"]
