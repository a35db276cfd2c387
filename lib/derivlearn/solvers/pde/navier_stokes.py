"""The Re = 100 Navier-Stokes velocity that advects the CRD map, computed once and cached.

Steady incompressible Navier-Stokes on the unit square with Taylor-Hood P2/P1 elements
(scikit-fem), in the form of the authors' code (hippylib's advection-diffusion example):

    (2/Re) sym grad v : sym grad w + ((v . grad) v) . w - p div w - q div v = 0,

``v = g`` on the whole boundary with ``g = (0, [x = 0] - [x = 1])`` evaluated at the boundary DOFs
(so ``v = (0, 1)`` on x = 0, ``(0, -1)`` on x = 1, corners included, and 0 on the bottom and top
walls), and the pressure pinned to 0 at the vertex (0, 0). Newton from zero (with the boundary
values), each step a sparse direct solve, until the residual norm on the free DOFs falls below
``rtol = 1e-4`` times its initial value (the authors' setting).

The P2 velocity DOF vector is cached under ``derivlearn.store.cache_dir() / "pde"`` in a file
keyed by the mesh size and the settings (:func:`velocity`), written atomically
(:func:`derivlearn.cachefiles.atomic_save_npz`); the DOF locations are stored with it and checked
on load, and a damaged file (cut, or failing the CRC-32 of the ``.npz`` archive) is recomputed.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import skfem
from scipy.sparse.linalg import splu
from skfem.helpers import ddot, div, dot, grad, sym_grad

from derivlearn.cachefiles import atomic_save_npz
from derivlearn.store import cache_dir

from .mesh import DEFAULT_N, unit_square

RE = 100.0
"""Reynolds number."""

RTOL = 1e-4
"""Newton relative tolerance on the residual norm (the authors' setting)."""


def _conv(v, gv):
    """``(v . grad) v`` from v (2, ...) and grad v (2, 2, ...)."""
    return np.einsum("ij...,j...->i...", gv, v)


def solve_navier_stokes(n: int = DEFAULT_N, re: float = RE, rtol: float = RTOL,
                        max_iter: int = 50) -> tuple[skfem.CellBasis, np.ndarray]:
    """Solve the steady Navier-Stokes problem of the module docstring (no cache).

    Returns:
        The P2 vector basis and the velocity DOF vector of that basis. *Shape:* (n_v,).
    """
    mesh = unit_square(n)
    bv = skfem.Basis(mesh, skfem.ElementVectorH1(skfem.ElementTriP2()), intorder=4)
    bp = bv.with_element(skfem.ElementTriP1())
    nu = 2.0 / re

    @skfem.BilinearForm
    def jac_vv(du, w, f):
        gv = grad(f.v)
        return nu * ddot(sym_grad(du), sym_grad(w)) + dot(_conv(f.v, grad(du)) + _conv(du, gv), w)

    @skfem.BilinearForm
    def jac_pv(p, w, _):  # trial: pressure, test: velocity
        return -div(w) * p

    @skfem.LinearForm
    def res_v(w, f):
        return nu * ddot(sym_grad(f.v), sym_grad(w)) + dot(_conv(f.v, grad(f.v)), w) - f.p * div(w)

    @skfem.LinearForm
    def res_p(q, f):
        return -q * div(f.v)

    b_pv = skfem.asm(jac_pv, bp, bv)                   # rows: velocity tests, cols: pressure trials
    nv, npr = bv.N, bp.N
    locs = bv.doflocs
    bnd = bv.get_dofs().all()
    comp2 = bv.get_dofs().all("u^2")
    x = np.zeros(nv + npr)
    x[comp2] = np.isclose(locs[0, comp2], 0.0) * 1.0 - np.isclose(locs[0, comp2], 1.0) * 1.0
    corner = np.nonzero(np.isclose(bp.doflocs[0], 0.0) & np.isclose(bp.doflocs[1], 0.0))[0]
    dirichlet = np.concatenate([bnd, nv + corner])
    free = np.setdiff1d(np.arange(nv + npr), dirichlet)
    r0 = None
    for it in range(max_iter):
        v, p = x[:nv], x[nv:]
        fv, fp = bv.interpolate(v), bp.interpolate(p)
        r = np.concatenate([res_v.assemble(bv, v=fv, p=fp), res_p.assemble(bp, v=fv)])[free]
        rn = np.linalg.norm(r)
        r0 = rn if r0 is None else r0
        if it > 0 and rn <= rtol * r0:
            break
        k = sp.bmat([[jac_vv.assemble(bv, v=fv), b_pv], [b_pv.T, None]], format="csc")
        kf = k[free][:, free].tocsc()
        x[free] -= splu(kf).solve(r)
    else:
        raise RuntimeError(f"Navier-Stokes: Newton did not converge in {max_iter} iterations")
    return bv, x[:nv]


def cache_path(n: int, re: float = RE, rtol: float = RTOL) -> Path:
    """The cache file of the velocity for mesh size ``n``."""
    return cache_dir() / "pde" / f"navier_stokes_n{n}_re{re:g}_rtol{rtol:g}.npz"


def velocity(n: int = DEFAULT_N, re: float = RE, rtol: float = RTOL) -> tuple[skfem.CellBasis, np.ndarray]:
    """The Navier-Stokes velocity on the ``n x n`` mesh, from the disk cache when present.

    Returns:
        The P2 vector basis (quadrature order 4) and its velocity DOF vector. *Shape:* (n_v,).
    """
    path = cache_path(n, re, rtol)
    mesh = unit_square(n)
    bv = skfem.Basis(mesh, skfem.ElementVectorH1(skfem.ElementTriP2()), intorder=4)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                v, locs = data["velocity"], data["doflocs"]
            if v.shape == (bv.N,) and locs.shape == bv.doflocs.shape and np.allclose(locs, bv.doflocs):
                return bv, v
            logging.getLogger(__name__).warning("%s: not the velocity of this mesh; recomputed", path)
        except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            logging.getLogger(__name__).warning("%s: damaged (%s: %s); recomputed", path,
                                                type(exc).__name__, exc)
    _, v = solve_navier_stokes(n, re, rtol)
    atomic_save_npz(path, velocity=v, doflocs=bv.doflocs)
    return bv, v
