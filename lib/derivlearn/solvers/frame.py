"""The seed paper's parameterized portal frame: a differentiable 2-D plane-stress FE model.

:class:`FrameModel` maps the eight parameters of the paper's Table 1 to the displacement
magnitude at the loaded corner and returns exact gradients and Hessians by automatic
differentiation through the sparse solve of :mod:`derivlearn.solvers.sparse`.

Parameters (paper Table 1; lengths in m, forces in N)::

    w, h        overall width and height               [5, 7]
    d1, d2      thickness of the left / right column   [0.5, 1.5]
    d3          depth of the top beam                  [0.5, 1.5]
    d4          horizontal lean of the top             [-0.5, 0.5]
    Fx, Fy      load components                        [0.1, 1.0]

Modelling choices (the paper gives a figure and Table 1 only; each deviation is ours):

* Geometry. Two columns of widths d1 (left) and d2 (right) from the base y = 0 to the top
  y = h, joined by a top beam of depth d3 spanning the full width w; the opening is
  ``[d1, w - d2] x [0, h - d3]``. The paper does not say what d4 moves; we use it as a lean of
  the frame: every control node at height y is shifted horizontally by ``d4 * y / h`` (a shear
  with unit determinant, so the frame stays valid over the whole box; the top moves by d4).
* Material. Linear elastic, plane stress, unit thickness, E = 1000 in units consistent with the
  lengths (m) and forces of the model, so the displacement comes out in the length unit. The
  paper gives E = 1000 MPa with its own (unstated) force and length units; we keep the number,
  not the unit. Poisson ratio nu = 0.3 (the paper gives none).
* Supports. Every node on the base y = 0 (the feet of both columns) is clamped (ux = uy = 0).
* Load. The paper applies a point force at the upper-right node. In 2-D elasticity the
  displacement under a point force is logarithmically infinite, so its FE value would grow
  without bound under mesh refinement. We apply the resultant (Fx, Fy) as a uniform traction
  on the right end face of the beam, from ``(w, h - d3)`` to ``(w, h)`` (both shifted by the
  lean), and report the displacement magnitude ``sqrt(ux^2 + uy^2)`` of the upper-right corner
  node ``(w + d4, h)``. The face is one edge of the control mesh, so the morph moves it
  affinely and the consistent nodal loads are (Fx, Fy) times fixed fractions, the same for
  every parameter vector.
* Mesh morphing (paper Fig. 3). A control mesh of 12 nodes (the corners of the outer
  rectangle and of the opening, and the points where the beam meets the columns) and 10
  triangles (the left column, left corner, beam middle, right corner and right column quads,
  each split along a diagonal) is laid over a reference FE mesh built once at the nominal
  parameters (w = h = 6, d1 = d2 = d3 = 1, d4 = 0). The reference mesh conforms to the control
  triangles (each FE triangle lies in one control triangle): every control quad is meshed by
  rows across its long direction, each row split at the quad's diagonal. Every FE node gets
  its control triangle and barycentric coordinates once; for any parameters the FE nodes are
  the same barycentric combinations of the moved control nodes (piecewise affine, linear in
  the control nodes, smooth in the parameters). Element Jacobians, and with them the
  shape-function derivatives (see below), are recomputed in torch for every sample.
* Elements. Quadratic 6-node triangles (P2; linear triangles lock in bending), straight-sided
  (midside nodes stay at edge midpoints after the piecewise-affine morph), exact 3-point
  quadrature. ``element_size`` sets the target edge length of the reference mesh; the default
  0.25 gives 536 triangles, 1 209 nodes, 2 382 free DOFs (about 5 ms per sample for a value).
  The corner displacement converges as O(h^1.1) under refinement (the rate the re-entrant
  corners of the opening allow); the default mesh is within about 1 % of the limit.
* Element matrices. For a straight triangle with Jacobian columns ``e = (x1 - x0, x2 - x0)``
  the P2 gradients are ``(dphi/dL) adj(J) / det J``, so ``K_e = |T| sum_q w_q B^T D B`` is
  ``Q(e) / (2 det J)`` with ``Q`` a fixed quadratic form in the four entries of ``e``. The
  model recomputes ``e`` and ``det J`` of every element from the morphed vertices (the
  vertices' morph weights applied to the moved control nodes), per sample, and applies ``Q``
  as 10 monomials ``e_i e_j`` times fixed coefficients (polarized once from the B-matrix
  routine :func:`element_stiffness`); the coefficients and the scatter onto the global
  pattern form one fixed sparse map (:class:`~derivlearn.solvers.sparse.SparseLinearMap`),
  so assembly is one sparse product for all samples and elements, and so are its
  derivatives.
* Solve. The stiffness values of all N samples, (N, nnz) on one fixed pattern of the free
  DOFs (clamped DOFs eliminated), are solved as one block-diagonal sparse system: one
  SuperLU factorization (fill-reducing ordering computed once for the pattern) reused by
  every derivative order. The gradient is one reverse pass through the adjoint solve (of the
  sum over samples, which are independent); the Hessian rows are reverse passes through the
  gradient graph (all 8 in one :func:`torch.func.vmap`-batched pass for small batches).
* Checks (tests/test_frame.py): derivatives against central differences, agreement with
  scikit-fem on the identical mesh and loads to ~1e-11, mesh convergence, linearity in the
  load.

Example:
    >>> model = FrameModel()
    >>> theta = model.sample(4, torch.Generator().manual_seed(0))
    >>> v, g, h = model.evaluate(theta, order=2)
    >>> v.shape, g.shape, h.shape
    (torch.Size([4]), torch.Size([4, 8]), torch.Size([4, 8, 8]))
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from derivlearn.solvers.sparse import SparseLinearMap, SparsePattern

NAMES = ("w", "h", "d1", "d2", "d3", "d4", "Fx", "Fy")
"""Parameter names, in the column order of ``theta``."""

MODEL_VERSION = 1
"""Bump when the geometry, mesh or physics change: cached frame data are keyed by it."""

BOUNDS = ((5.0, 7.0), (5.0, 7.0), (0.5, 1.5), (0.5, 1.5), (0.5, 1.5), (-0.5, 0.5), (0.1, 1.0), (0.1, 1.0))
"""Paper Table 1: (low, high) per parameter."""

NOMINAL = (6.0, 6.0, 1.0, 1.0, 1.0, 0.0)
"""Geometry of the reference FE mesh: w, h, d1, d2, d3, d4."""

YOUNG = 1000.0
POISSON = 0.3
BOUNDS_TOL = 1e-9
"""Relative tolerance (of the parameter range) when checking ``theta`` against the bounds."""

# control quads as (c00, c10, c11, c01) in local (s, t); t runs along the long direction and the
# quad is split along the diagonal c00 - c11 into (c00, c10, c11) and (c00, c11, c01)
_QUADS = ((0, 1, 5, 4),     # left column
          (4, 5, 9, 8),     # left corner
          (5, 9, 10, 6),    # beam middle (t along x)
          (6, 7, 11, 10),   # right corner
          (2, 3, 7, 6))     # right column
_LOAD_FACE = (7, 11)        # control nodes at the ends of the loaded face
_CORNER = 11                # control node of the output (upper-right corner)

# P2 on a triangle, nodes v0, v1, v2, m01, m12, m20; 3-point rule (exact for B^T D B)
_QUAD_PTS = np.array([[2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6], [1 / 6, 1 / 6, 2 / 3]])
_QUAD_W = np.full(3, 1 / 3)  # weights relative to the element area


def _p2_dlam(lam: np.ndarray) -> np.ndarray:
    """d phi_a / d L_k of the P2 functions at barycentric point ``lam``. *Shape:* (6, 3)."""
    l0, l1, l2 = lam
    d = np.zeros((6, 3))
    d[0, 0] = 4 * l0 - 1
    d[1, 1] = 4 * l1 - 1
    d[2, 2] = 4 * l2 - 1
    d[3, 0], d[3, 1] = 4 * l1, 4 * l0
    d[4, 1], d[4, 2] = 4 * l2, 4 * l1
    d[5, 2], d[5, 0] = 4 * l0, 4 * l2
    return d


def control_nodes(theta: Tensor) -> Tensor:
    """The 12 control nodes for parameters ``theta``. *Shape:* (N, >= 6) -> (N, 12, 2).

    Numbering: 0-3 on the base (x = 0, d1, w - d2, w), 4-7 at the beam's lower edge
    (y = h - d3), 8-11 on the top (y = h), before the lean ``x += d4 * y / h``.
    """
    w, h, d1, d2, d3, d4 = theta[:, :6].unbind(1)
    zero = torch.zeros_like(w)
    xs = torch.stack([zero, d1, w - d2, w], dim=1)
    x = torch.cat([xs, xs, xs], dim=1)
    y = torch.cat([zero[:, None].expand(-1, 4), (h - d3)[:, None].expand(-1, 4),
                   h[:, None].expand(-1, 4)], dim=1)
    x = x + d4[:, None] * y / h[:, None]
    return torch.stack([x, y], dim=2)


def _control_triangles() -> np.ndarray:
    tri = []
    for c00, c10, c11, c01 in _QUADS:
        tri += [(c00, c10, c11), (c00, c11, c01)]
    return np.array(tri, dtype=np.int64)


def _quad_local_mesh(nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit square in (s, t), rows of constant t, each split at the diagonal s = t.

    Returns local vertex coordinates (P, 2) (with duplicates on the diagonal) and triangles
    (T, 3); no triangle crosses the diagonal.
    """
    pts: list[tuple[float, float]] = []
    left: list[list[int]] = []   # per row, point ids of the part s <= t
    right: list[list[int]] = []  # per row, point ids of the part s >= t

    def add(s: float, t: float) -> int:
        pts.append((s, t))
        return len(pts) - 1

    for j in range(ny + 1):
        t = j / ny
        a = max(1, round(nx * t)) if j > 0 else 0
        b = max(1, round(nx * (1 - t))) if j < ny else 0
        lrow = [add(t * i / a, t) for i in range(a)] if a else []
        diag = add(t, t)
        rrow = [add(t + (1 - t) * i / b, t) for i in range(1, b + 1)] if b else []
        left.append([*lrow, diag])
        right.append([diag, *rrow])
    tris: list[tuple[int, int, int]] = []
    for part in (left, right):
        for j in range(ny):
            lo, hi = part[j], part[j + 1]
            i = k = 0
            while i < len(lo) - 1 or k < len(hi) - 1:
                adv_lo = k == len(hi) - 1 or (i < len(lo) - 1 and pts[lo[i + 1]][0] <= pts[hi[k + 1]][0])
                if adv_lo:
                    tris.append((lo[i], lo[i + 1], hi[k]))
                    i += 1
                else:
                    tris.append((lo[i], hi[k + 1], hi[k]))
                    k += 1
    return np.array(pts), np.array(tris, dtype=np.int64)


def reference_mesh(element_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (P, 2) and triangles (T, 3, counter-clockwise) of the reference P1 mesh."""
    ctrl = control_nodes(torch.tensor([NOMINAL], dtype=torch.float64))[0].numpy()
    all_pts, all_tris, offset = [], [], 0
    for c00, c10, _c11, c01 in _QUADS:
        e_s = ctrl[c10] - ctrl[c00]
        e_t = ctrl[c01] - ctrl[c00]
        nx = max(1, math.ceil(np.linalg.norm(e_s) / element_size - 1e-9))
        ny = max(1, math.ceil(np.linalg.norm(e_t) / element_size - 1e-9))
        loc, tri = _quad_local_mesh(nx, ny)
        all_pts.append(ctrl[c00] + loc[:, :1] * e_s + loc[:, 1:] * e_t)
        all_tris.append(tri + offset)
        offset += len(loc)
    pts = np.concatenate(all_pts)
    tris = np.concatenate(all_tris)
    # merge coincident points (quad edges and diagonals are meshed by each side identically)
    key = np.round(pts / (element_size * 1e-6)).astype(np.int64)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # keep the generation order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    verts = pts[first[order]]
    tris = rank[inv.reshape(-1)][tris]
    a = verts[tris[:, 1]] - verts[tris[:, 0]]
    b = verts[tris[:, 2]] - verts[tris[:, 0]]
    cw = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0] < 0
    tris[cw] = tris[cw][:, [0, 2, 1]]
    return verts, tris


def element_stiffness(edges: np.ndarray, young: float, poisson: float) -> np.ndarray:
    """Reference (NumPy, B-matrix) P2 plane-stress stiffness of straight triangles.

    *Shapes:* edges (..., 4) = (x1 - x0, y1 - y0, x2 - x0, y2 - y0) -> (..., 12, 12), DOFs
    ordered (x0, y0, x1, y1, ..., x5, y5) with nodes v0, v1, v2, m01, m12, m20. Unit thickness.
    """
    dx1, dy1, dx2, dy2 = np.moveaxis(np.asarray(edges, dtype=np.float64), -1, 0)
    det = dx1 * dy2 - dx2 * dy1
    return _stiffness_times_2det(edges, young, poisson) / (2 * det)[..., None, None]


def _stiffness_times_2det(edges: np.ndarray, young: float, poisson: float) -> np.ndarray:
    """``2 det(J) K_e``, a quadratic form in the edge vectors (no division). (..., 4) -> (..., 12, 12)."""
    dx1, dy1, dx2, dy2 = np.moveaxis(np.asarray(edges, dtype=np.float64), -1, 0)
    # det(J) * grad L_k, k = 0, 1, 2
    gx = np.stack([dy1 - dy2, dy2, -dy1], axis=-1)
    gy = np.stack([dx2 - dx1, -dx2, dx1], axis=-1)
    e, nu = young, poisson
    dmat = e / (1 - nu ** 2) * np.array([[1, nu, 0], [nu, 1, 0], [0, 0, (1 - nu) / 2]])
    out = 0.0
    for q in range(len(_QUAD_W)):
        d = _p2_dlam(_QUAD_PTS[q])  # (6, 3)
        px, py = gx @ d.T, gy @ d.T  # det(J) * dphi_a/dx, dphi_a/dy: (..., 6)
        zero = np.zeros_like(px)
        bm = np.stack([np.stack([px, zero], -1).reshape(*px.shape[:-1], 12),
                       np.stack([zero, py], -1).reshape(*px.shape[:-1], 12),
                       np.stack([py, px], -1).reshape(*px.shape[:-1], 12)], axis=-2)  # (..., 3, 12)
        out = out + _QUAD_W[q] * np.swapaxes(bm, -1, -2) @ dmat @ bm
    return out


def _quadratic_coefficients(young: float, poisson: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i <= j) of edge components and the (10, 144) coefficients of ``2 det(J) K_e``
    in the monomials ``e_i e_j`` (exact polarization of the quadratic form)."""
    i_idx, j_idx = np.triu_indices(4)
    unit = np.eye(4)
    coef = np.zeros((len(i_idx), 144))
    for r, (i, j) in enumerate(zip(i_idx, j_idx, strict=True)):
        qi = _stiffness_times_2det(unit[i], young, poisson).reshape(144)
        if i == j:
            coef[r] = qi
        else:
            qj = _stiffness_times_2det(unit[j], young, poisson).reshape(144)
            coef[r] = _stiffness_times_2det(unit[i] + unit[j], young, poisson).reshape(144) - qi - qj
    return np.stack([i_idx, j_idx]), coef


class FrameModel:
    """Portal frame of the seed paper (Section 3.2, Table 1) as a differentiable FE model.

    Args:
        element_size: target element edge length of the reference mesh (m), in (0, 2];
            halving it refines the mesh uniformly by 2 (for sizes that divide 1 m). The
            default 0.25 gives 536 P2 triangles, 1 209 nodes and 2 382 free DOFs, about 5 ms
            per sample for a value.
        young: Young's modulus E (default 1000, in the model's units; the paper's Fig. 4 gives
            1000 MPa).
        poisson: Poisson ratio, in [0, 0.5) (default 0.3; the paper gives none).

    Calling the model, ``model(theta)``, maps (N, 8) -> (N,) with an autograd graph, so that
    :func:`derivlearn.derivatives.derivative_tensors` applies; :meth:`evaluate` checks the
    input and returns detached values, gradients and Hessians.

    Threads: SuperLU runs on one core and the torch operations are small. On a busy machine
    ``torch.set_num_threads(1)`` is much faster than more intra-op threads (we measured 5x to
    10x slower with 2 threads on 2 shared cores, ``benchmarks/frame_cost.py --threads 2``).

    Attributes:
        names: the 8 parameter names (:data:`NAMES`).
        reference_nodes: FE nodes at the nominal geometry. *Shape:* (n_nodes, 2).
        elements: P2 connectivity (v0, v1, v2, m01, m12, m20). *Shape:* (E, 6).
        morph_weights: barycentric weights of the FE nodes on the control nodes.
            *Shape:* (n_nodes, 12); ``nodes = morph_weights @ control_nodes``.
        pattern: sparsity pattern of the free-DOF stiffness matrix (one sample).
        corner_node: index of the output node (upper-right corner).
        load_fractions: share of the load resultant carried by each node. *Shape:* (n_nodes,).
    """

    names: tuple[str, ...] = NAMES
    batch_size: int = 32
    """:meth:`evaluate` solves at most this many samples per factorization (larger batches are
    split; per-sample time is flat from about 8 samples on, memory grows with the batch)."""
    hessian_budget: int = 5_000
    """All 8 Hessian rows are computed in one :func:`torch.func.vmap`-batched reverse pass when
    ``N * n_free <= hessian_budget``, else row by row: batching saves per-pass overhead for
    small problems (N = 1: 5x instead of 8x the value time), while larger ones are faster row
    by row (the batched pass moves 8x larger arrays)."""

    def __init__(self, element_size: float = 0.25, *, young: float = YOUNG, poisson: float = POISSON) -> None:
        if isinstance(element_size, bool) or not isinstance(element_size, (int, float)) \
                or not math.isfinite(element_size) or not 0 < element_size <= 2:
            raise ValueError(f"parameter 'element_size': must be a number in (0, 2], got {element_size!r}")
        if isinstance(young, bool) or not isinstance(young, (int, float)) or not young > 0 \
                or not math.isfinite(young):
            raise ValueError(f"parameter 'young': must be a finite number > 0, got {young!r}")
        if isinstance(poisson, bool) or not isinstance(poisson, (int, float)) or not 0 <= poisson < 0.5:
            raise ValueError(f"parameter 'poisson': must be a number in [0, 0.5), got {poisson!r}")
        self.element_size = float(element_size)
        self.young = float(young)
        self.poisson = float(poisson)
        self._build()

    # ------------------------------------------------------------------ setup (once)
    def _build(self) -> None:
        verts, tris = reference_mesh(self.element_size)
        nv, n_el = len(verts), len(tris)
        # P2 midside nodes, numbered after the vertices
        edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
        edges.sort(axis=1)
        uniq, inv = np.unique(edges, axis=0, return_inverse=True)
        mid = inv.reshape(3, n_el).T + nv
        self.elements = torch.from_numpy(np.concatenate([tris, mid], axis=1))  # (E, 6)
        self.n_vertices = nv
        self.n_nodes = nv + len(uniq)
        ref = np.concatenate([verts, 0.5 * (verts[uniq[:, 0]] + verts[uniq[:, 1]])])
        self.reference_nodes = torch.from_numpy(ref)

        # morphing: every node is a fixed barycentric combination of its control triangle's nodes
        ctrl = control_nodes(torch.tensor([NOMINAL], dtype=torch.float64))[0].numpy()
        ctri = _control_triangles()
        self.control_triangles = torch.from_numpy(ctri)
        lam = _barycentric(ref, ctrl[ctri])  # (n_nodes, 10, 3)
        inside = lam.min(axis=2) >= -1e-9
        if not inside.any(axis=1).all():
            raise RuntimeError("reference mesh: a node lies outside the control mesh")
        owner = inside.argmax(axis=1)
        w = np.zeros((self.n_nodes, 12))
        rows = np.arange(self.n_nodes)
        for k in range(3):
            np.add.at(w, (rows, ctri[owner, k]), lam[rows, owner, k])
        in_one = (lam[tris].min(axis=3) >= -1e-9).all(axis=1)  # (E, 10): all 3 vertices inside
        if not in_one.any(axis=1).all():
            raise RuntimeError("reference mesh: an FE triangle straddles a control edge")
        self.element_control = torch.from_numpy(in_one.argmax(axis=1))
        self.morph_weights = torch.from_numpy(w)
        wv = w[tris]  # element edge vectors (x1 - x0, y1 - y0, x2 - x0, y2 - y0) from the
        # control nodes flattened as (x0, y0, x1, y1, ...): (24, 4 E)
        we = np.zeros((n_el, 4, 12, 2))
        for c in range(2):
            we[:, c, :, c] = wv[:, 1] - wv[:, 0]
            we[:, 2 + c, :, c] = wv[:, 2] - wv[:, 0]
        self._edge_weights = torch.from_numpy(np.ascontiguousarray(we.reshape(n_el * 4, 24).T))

        # closed-form element stiffness: K_e = (monomials of the edge vectors) @ coef / (2 det)
        pairs, coef = _quadratic_coefficients(self.young, self.poisson)
        self._mono_i, self._mono_j = torch.from_numpy(pairs[0]), torch.from_numpy(pairs[1])
        self._coef = torch.from_numpy(coef)  # (10, 144)
        self._det = torch.zeros(len(pairs[0]), dtype=torch.float64)  # det = e0 e3 - e1 e2 as monomials
        self._det[int(np.flatnonzero((pairs[0] == 0) & (pairs[1] == 3))[0])] = 1.0
        self._det[int(np.flatnonzero((pairs[0] == 1) & (pairs[1] == 2))[0])] = -1.0

        # DOFs: node i has 2i (x) and 2i + 1 (y); clamped: all nodes on the base y = 0
        clamped = np.abs(ref[:, 1]) < 1e-9 * self.element_size
        dof_free = np.repeat(~clamped, 2)
        self.n_dofs = 2 * self.n_nodes
        self.free_dofs = torch.from_numpy(np.flatnonzero(dof_free))
        n_free = self.n_free = int(dof_free.sum())
        free_index = -np.ones(self.n_dofs, dtype=np.int64)
        free_index[dof_free] = np.arange(n_free)
        el = self.elements.numpy()
        g = free_index[np.stack([2 * el, 2 * el + 1], axis=2).reshape(n_el, 12)]  # (E, 12), -1 clamped
        gr = np.repeat(g, 12, axis=1).reshape(-1)
        gc = np.tile(g, (1, 12)).reshape(-1)
        keep = (gr >= 0) & (gc >= 0)
        key, slot = np.unique(gr[keep] * n_free + gc[keep], return_inverse=True)
        # assembly as one fixed sparse map from the per-element monomials (E * 10) to the
        # stiffness values: values[slot(e, c)] += sum_r coef[r, c] * mono_scaled[e, r]
        e_idx = np.repeat(np.arange(n_el), 144)[keep]
        c_idx = np.tile(np.arange(144), n_el)[keep]
        nz = coef[:, c_idx] != 0  # (10, kept entries)
        r_idx = np.broadcast_to(np.arange(10)[:, None], nz.shape)[nz]
        self._assemble = SparseLinearMap(np.broadcast_to(slot.reshape(-1), nz.shape)[nz],
                                         np.broadcast_to(e_idx, nz.shape)[nz] * 10 + r_idx,
                                         coef[:, c_idx][nz], (len(key), n_el * 10))
        self.pattern = SparsePattern(torch.from_numpy(key // n_free), torch.from_numpy(key % n_free),
                                     n_free, ordering="COLAMD")

        # loads: a uniform traction of resultant (Fx, Fy) on the face between control nodes
        # _LOAD_FACE; the morph maps the face affinely, so each node carries a fixed fraction
        pa, pb = ctrl[_LOAD_FACE[0]], ctrl[_LOAD_FACE[1]]
        length = float(np.linalg.norm(pb - pa))
        tang = (pb - pa) / length
        normal = np.array([tang[1], -tang[0]])

        def on_face(p: np.ndarray) -> np.ndarray:
            rel = p - pa
            return (np.abs(rel @ normal) < 1e-9 * length) & (rel @ tang > -1e-9 * length) \
                & (rel @ tang < length * (1 + 1e-9))

        frac = np.zeros(self.n_nodes)
        for e in np.flatnonzero(on_face(verts[uniq[:, 0]]) & on_face(verts[uniq[:, 1]])):
            i, j = uniq[e]  # P2 edge: 1/6 at each end, 4/6 at the midside node
            le = np.linalg.norm(verts[j] - verts[i]) / length
            frac[i] += le / 6
            frac[j] += le / 6
            frac[nv + e] += 4 * le / 6
        if abs(frac.sum() - 1) > 1e-12 or (frac[clamped] != 0).any():
            raise RuntimeError("reference mesh: bad load fractions")
        self.load_fractions = torch.from_numpy(frac)
        load = np.zeros((2, n_free))
        for c in range(2):
            load[c, free_index[2 * np.flatnonzero(frac) + c]] = frac[frac != 0]
        self._load = torch.from_numpy(load)  # (2, n_free): b = (Fx, Fy) @ load
        corner = np.flatnonzero(np.linalg.norm(ref - ctrl[_CORNER], axis=1) < 1e-9)
        self.corner_node = int(corner[0])
        self._corner_free = torch.tensor([free_index[2 * self.corner_node],
                                          free_index[2 * self.corner_node + 1]])

    # ------------------------------------------------------------------ description
    @property
    def n_elements(self) -> int:
        """Number of P2 triangles."""
        return int(self.elements.shape[0])

    @property
    def dim(self) -> int:
        """Number of parameters, 8."""
        return len(NAMES)

    @property
    def bounds(self) -> Tensor:
        """Parameter box, paper Table 1. *Shape:* (8, 2), float64, columns low and high."""
        return torch.tensor(BOUNDS, dtype=torch.float64)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` parameter vectors uniform in :attr:`bounds`. *Shape:* (n, 8), float64."""
        u = torch.rand(n, self.dim, generator=generator, dtype=torch.float64)
        b = self.bounds
        return b[:, 0] + u * (b[:, 1] - b[:, 0])

    def check(self, theta: Tensor) -> None:
        """Raise ``ValueError`` unless ``theta`` is a finite float (N, 8) tensor inside :attr:`bounds`
        (up to :data:`BOUNDS_TOL` of each range)."""
        if not isinstance(theta, Tensor):
            raise ValueError("parameter 'theta': expected a tensor of shape (N, 8), got "
                             f"{type(theta).__name__}")
        if theta.ndim != 2 or theta.shape[1] != self.dim or theta.shape[0] < 1:
            raise ValueError(f"parameter 'theta': expected shape (N, 8) with N >= 1, got "
                             f"{tuple(theta.shape)}")
        if not theta.dtype.is_floating_point:
            raise ValueError(f"parameter 'theta': must be floating point, got {theta.dtype}")
        th = theta.detach().to(torch.float64).cpu()
        if not torch.isfinite(th).all():
            raise ValueError("parameter 'theta': contains NaN or infinite values")
        b = self.bounds
        tol = BOUNDS_TOL * (b[:, 1] - b[:, 0])
        bad = (th < b[:, 0] - tol) | (th > b[:, 1] + tol)
        if bad.any():
            row, col = (int(i) for i in bad.nonzero()[0])
            raise ValueError(f"parameter 'theta': {NAMES[col]} = {float(th[row, col])!r} (row {row}) is "
                             f"outside its bounds [{float(b[col, 0])}, {float(b[col, 1])}]")

    # ------------------------------------------------------------------ model
    def nodes(self, theta: Tensor) -> Tensor:
        """Morphed FE node coordinates. *Shape:* (N, 8) -> (N, n_nodes, 2)."""
        return torch.einsum("pk,nkc->npc", self.morph_weights.to(theta.dtype), control_nodes(theta))

    def element_edges(self, theta: Tensor) -> Tensor:
        """Edge vectors ``(x1 - x0, y1 - y0, x2 - x0, y2 - y0)`` of the morphed elements, i.e.
        the columns of the element Jacobians. *Shape:* (N, 8) -> (N, E, 4)."""
        ctrl = control_nodes(theta).reshape(theta.shape[0], 24)
        return (ctrl @ self._edge_weights.to(ctrl.dtype)).reshape(theta.shape[0], self.n_elements, 4)

    def stiffness_values(self, theta: Tensor) -> Tensor:
        """Free-DOF stiffness entries on :attr:`pattern`. *Shape:* (N, 8) -> (N, nnz)."""
        return self._stiffness_columns(theta).T

    def _stiffness_columns(self, theta: Tensor) -> Tensor:
        """Stiffness entries, one column per sample. *Shape:* (N, 8) -> (nnz, N).

        Per sample and element, from the Jacobian columns ``e`` of the morphed element: P2
        shape-function gradients are ``grad phi = (dphi/dL) adj(J) / det J``, so
        ``K_e = |T| sum_q w_q B^T D B`` equals ``Q(e) / (2 det J)`` with ``Q`` a quadratic form
        in ``e`` (3-point rule, exact); ``Q`` is applied as (10 monomials ``e_i e_j``) @ (10, 144)
        coefficients, obtained once by polarization of the reference B-matrix routine
        :func:`element_stiffness`; the coefficients and the scatter onto the fixed pattern
        are one precomputed sparse map, so assembly is a single sparse product.
        """
        scaled = self._scaled_monomials(theta)
        return self._assemble.columns(scaled.reshape(theta.shape[0], -1).T)

    def _scaled_monomials(self, theta: Tensor) -> Tensor:
        """``e_i e_j / (2 det J)`` per element, so that ``K_e = (this) @ coef``. (N, 8) -> (N, E, 10)."""
        ev = self.element_edges(theta)  # (N, E, 4)
        mono = ev.index_select(-1, self._mono_i) * ev.index_select(-1, self._mono_j)  # (N, E, 10)
        det = mono @ self._det.to(mono.dtype)  # (N, E)
        return mono * (0.5 / det)[..., None]

    def element_matrices(self, theta: Tensor) -> Tensor:
        """Stiffness matrices of the morphed elements by the closed form the model assembles,
        DOFs (x0, y0, ..., x5, y5) per element. *Shape:* (N, 8) -> (N, E, 12, 12)."""
        ke = self._scaled_monomials(theta) @ self._coef.to(theta.dtype)
        return ke.reshape(theta.shape[0], self.n_elements, 12, 12)

    def loads(self, theta: Tensor) -> Tensor:
        """Free-DOF load vectors. *Shape:* (N, 8) -> (N, n_free)."""
        return theta[:, 6:8] @ self._load.to(theta.dtype)

    def _solve_columns(self, theta: Tensor) -> Tensor:
        """Free-DOF displacements, one column per sample, all samples in one factorization.
        *Shape:* (N, 8) -> (n_free, N)."""
        return self.pattern.solve(self._stiffness_columns(theta), self.loads(theta).T)

    def solve_free(self, theta: Tensor) -> Tensor:
        """Displacements of the free DOFs. *Shape:* (N, 8) -> (N, n_free)."""
        return self._solve_columns(theta).T

    def displacements(self, theta: Tensor) -> Tensor:
        """Displacements of all FE nodes (zero on the base). *Shape:* (N, 8) -> (N, n_nodes, 2)."""
        uf = self.solve_free(theta)
        u = torch.zeros(theta.shape[0], self.n_dofs, dtype=uf.dtype)
        return u.index_copy(1, self.free_dofs, uf).reshape(theta.shape[0], self.n_nodes, 2)

    def __call__(self, theta: Tensor) -> Tensor:
        """Displacement magnitude at the upper-right corner, with an autograd graph (no input
        checks; see :meth:`check`). *Shape:* (N, 8) -> (N,)."""
        uc = self._solve_columns(theta).index_select(0, self._corner_free)  # (2, N)
        return torch.sqrt((uc * uc).sum(0))

    def evaluate(self, theta: Tensor, order: int) -> list[Tensor]:
        """Values and exact derivatives with respect to all 8 parameters (float64, detached).

        Args:
            theta: parameters inside :attr:`bounds`. *Shape:* (N, 8).
            order: 0, 1 or 2.

        Returns:
            ``[values (N,)]``, plus ``gradients (N, 8)`` for order >= 1 and
            ``Hessians (N, 8, 8)`` for order 2.

        One factorization serves all orders: the gradient is one reverse pass through the
        adjoint solve (of the sum over samples, which are independent), the Hessian rows are
        reverse passes through the gradient graph, all in one :func:`torch.func.vmap`-batched
        pass for small problems (see :attr:`hessian_budget`); the Hessian is mirrored from its
        upper triangle.
        """
        if not isinstance(order, int) or isinstance(order, bool) or order not in (0, 1, 2):
            raise ValueError(f"parameter 'order': must be 0, 1 or 2, got {order!r}")
        self.check(theta)
        th = theta.detach().to(torch.float64).cpu()
        if th.shape[0] > self.batch_size:
            parts = [self._evaluate(chunk, order) for chunk in th.split(self.batch_size)]
            return [torch.cat(p) for p in zip(*parts, strict=True)]
        return self._evaluate(th, order)

    def _evaluate(self, th: Tensor, order: int) -> list[Tensor]:
        if order == 0:
            with torch.no_grad():
                return [self(th)]
        with torch.enable_grad():
            x = th.requires_grad_(True)
            y = self(x)
            (g,) = torch.autograd.grad(y.sum(), x, create_graph=order > 1)
            if order == 1:
                return [y.detach(), g]
            n, d = x.shape
            def row(v: Tensor) -> Tensor:  # v (N, d) -> sum_i v[:, i] d g_i / d x, (N, d)
                return torch.autograd.grad(g, x, grad_outputs=v, retain_graph=True)[0]

            eye = torch.eye(d, dtype=x.dtype)[:, None, :].expand(d, n, d)
            if n * self.n_free <= self.hessian_budget:
                h = torch.func.vmap(row)(eye)
            else:
                h = torch.stack([row(e) for e in eye])
            h = h.transpose(0, 1)  # (N, i, j) = d g_i / d x_j
        upper = torch.triu(h)
        return [y.detach(), g.detach(), (upper + torch.triu(h, 1).transpose(1, 2)).detach()]


def _barycentric(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Barycentric coordinates of points in triangles. *Shapes:* p (P, 2), tri (T, 3, 2) -> (P, T, 3)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1 = b - a, c - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    r = p[:, None, :] - a[None]
    l1 = (r[..., 0] * v1[:, 1] - r[..., 1] * v1[:, 0]) / det
    l2 = (v0[:, 0] * r[..., 1] - v0[:, 1] * r[..., 0]) / det
    return np.stack([1 - l1 - l2, l1, l2], axis=-1)
