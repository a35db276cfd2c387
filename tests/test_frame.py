"""The portal-frame FE model (derivlearn.solvers.frame): exact derivatives, agreement with an
independent FE code, mesh convergence, physics checks and bad input.

All float64, default mesh (element size 0.25, 2 382 free DOFs) unless stated. Tolerances:

* derivatives against central differences with step 1e-4 of each parameter's range,
  1e-6 relative to the sample's largest entry (the acceptance criterion): truncation ~1e-8
  (it falls 100x per 10x smaller step) and rounding (relative solve errors ~1e-12 divided by
  the relative step) ~3e-8; we measured 1.8e-8 (gradients) and 3.3e-8 (Hessians);
* scikit-fem on the identical morphed mesh and loads, 1e-8 relative (acceptance criterion): two
  assemblies and sparse LU solves of the same system; we measured 6e-12 to 2e-11;
* evaluate against derivative_tensors, 1e-9 relative: the same derivatives, taken row by row
  (identical) or in one vmapped pass (we measured 1e-12).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from derivlearn.derivatives import derivative_tensors
from derivlearn.solvers import sparse
from derivlearn.solvers.frame import NAMES, NOMINAL, FrameModel, control_nodes, element_stiffness

F64 = torch.float64
FD_REL_STEP = 1e-4
FD_TOL = 1e-6


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: the model's torch operations are small, and on a busy machine a
    second intra-op thread makes them up to 10x slower (oversubscription)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model() -> FrameModel:
    return FrameModel()


def interior(model: FrameModel, n: int, seed: int) -> Tensor:
    """Random parameters in the inner 80 % of the box (so that finite differences stay inside)."""
    b = model.bounds
    u = 0.1 + 0.8 * torch.rand(n, 8, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return b[:, 0] + u * (b[:, 1] - b[:, 0])


def rel_err(a: Tensor, ref: Tensor) -> float:
    """Largest per-sample error relative to the sample's largest reference entry."""
    dims = tuple(range(1, a.ndim))
    return float(((a - ref).abs().amax(dim=dims) / ref.abs().amax(dim=dims)).max())


def test_names_bounds_and_mesh(model):
    assert model.names == ("w", "h", "d1", "d2", "d3", "d4", "Fx", "Fy") == NAMES
    b = model.bounds
    assert b.shape == (8, 2) and b.dtype == F64
    assert b.tolist() == [[5, 7], [5, 7], [0.5, 1.5], [0.5, 1.5], [0.5, 1.5], [-0.5, 0.5], [0.1, 1], [0.1, 1]]
    assert (model.n_elements, model.n_nodes, model.n_free) == (536, 1209, 2382)
    th = model.sample(7, torch.Generator().manual_seed(0))
    assert ((th >= b[:, 0]) & (th <= b[:, 1])).all()


def test_gradients_and_hessians_match_central_differences(model):
    theta = interior(model, 3, seed=1)
    v, g, h = model.evaluate(theta, 2)
    assert v.shape == (3,) and g.shape == (3, 8) and h.shape == (3, 8, 8)
    assert all(t.dtype == F64 and not t.requires_grad for t in (v, g, h))
    rng = model.bounds[:, 1] - model.bounds[:, 0]
    steps = FD_REL_STEP * rng
    # all perturbed inputs in one batch: (sign, parameter, sample)
    pert = torch.stack([theta + s * steps[i] * torch.eye(8, dtype=F64)[i] for s in (1, -1) for i in range(8)])
    vp, gp = model.evaluate(pert.reshape(-1, 8), 1)
    vp, gp = vp.reshape(2, 8, 3), gp.reshape(2, 8, 3, 8)
    fd_g = ((vp[0] - vp[1]) / (2 * steps[:, None])).T  # (3, 8)
    fd_h = ((gp[0] - gp[1]) / (2 * steps[:, None, None])).permute(1, 0, 2)  # (3, i, j) = d g_j / d x_i
    assert rel_err(g, fd_g) < FD_TOL
    assert rel_err(h, fd_h) < FD_TOL
    assert rel_err(h, h.transpose(1, 2)) == 0.0  # mirrored from the upper triangle
    # the comparison can fail: one entry off by 1e-5 of the largest one is rejected
    for exact, fd in ((g, fd_g), (h, fd_h)):
        bad = exact.clone()
        bad.view(3, -1)[1, 3] += 1e-5 * exact[1].abs().max()
        assert rel_err(bad, fd) > FD_TOL


def test_evaluate_agrees_with_derivative_tensors(model):
    theta = model.sample(4, torch.Generator().manual_seed(2))
    ours = model.evaluate(theta, 2)
    ref = derivative_tensors(model, theta, 2)
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == b.shape
        assert rel_err(a, b) < 1e-9
    # lower orders are prefixes, and both Hessian routes (vmap-batched rows, row by row) agree
    assert torch.equal(model.evaluate(theta, 0)[0], ours[0])
    v1, g1 = model.evaluate(theta, 1)
    assert torch.equal(v1, ours[0]) and torch.equal(g1, ours[1])
    other = FrameModel()
    for budget in (0, 10 ** 9):
        other.hessian_budget = budget
        assert rel_err(other.evaluate(theta, 2)[2], ours[2]) < 1e-9
    other.batch_size = 3  # split into batches of 3 and 1 samples
    for a, b in zip(other.evaluate(theta, 2), ours, strict=True):
        assert rel_err(a, b) < 1e-9
    assert ours[0].min() > 0


def test_one_factorization_for_all_orders(model, monkeypatch):
    calls = []
    real = sparse.splu
    monkeypatch.setattr(sparse, "splu", lambda *a, **k: calls.append(1) or real(*a, **k))
    theta = model.sample(3, torch.Generator().manual_seed(3))
    model.evaluate(theta, 2)
    assert len(calls) == 1


def test_mesh_convergence():
    """Under uniform refinement the output converges: successive differences shrink by about
    2.2 per halving of the element size, i.e. O(h^1.1), the rate that the re-entrant corners
    of the opening allow (singular exponent 0.545, doubled for a point value)."""
    theta = torch.tensor([[6.3, 5.6, 0.8, 1.2, 0.9, 0.2, 0.7, 0.4], [6, 6, 1, 1, 1, 0, 1, 1]], dtype=F64)
    vals = torch.stack([FrameModel(s).evaluate(theta, 0)[0] for s in (0.5, 0.25, 0.125, 0.0625)])
    diffs = (vals[1:] - vals[:-1]).abs()
    ratios = diffs[:-1] / diffs[1:]
    assert ((vals[1:] - vals[:-1]) > 0).all()  # monotone: coarse meshes are too stiff
    assert (ratios > 1.9).all() and (ratios < 3.5).all(), ratios
    # the default mesh is within 1.5 % of the extrapolated limit
    rate = float(ratios[-1].mean())
    limit = vals[-1] + diffs[-1] / (rate - 1)
    assert ((limit - vals[1]).abs() / limit).max() < 0.015


def _skfem_solution(model: FrameModel, theta: Tensor) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Independent solve with scikit-fem on the same morphed mesh and loads.

    Returns the corner displacement magnitude, the DOF locations (2, ndofs), the component
    (0 = x, 1 = y) of each DOF and the displacement vector (ndofs,).
    """
    from skfem import Basis, ElementTriP2, ElementVector, FacetBasis, LinearForm, MeshTri, asm, condense
    from skfem import solve as skfem_solve
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    x = model.nodes(theta[None])[0].numpy()
    mesh = MeshTri(np.ascontiguousarray(x[:model.n_vertices].T),
                   np.ascontiguousarray(model.elements[:, :3].numpy().T))
    elem = ElementVector(ElementTriP2())
    basis = Basis(mesh, elem, intorder=4)
    lam, mu = lame_parameters(model.young, model.poisson)
    k = asm(linear_elasticity(2 * lam * mu / (lam + 2 * mu), mu), basis)  # plane stress lambda*
    ctrl = control_nodes(theta[None])[0].numpy()
    pa, pb = ctrl[7], ctrl[11]  # the right end face of the beam
    length = float(np.linalg.norm(pb - pa))
    tang = (pb - pa) / length

    def on_face(p):
        rel = p - pa[:, None]
        s = tang @ rel
        return (np.abs(tang[0] * rel[1] - tang[1] * rel[0]) < 1e-9) & (s > 0) & (s < length)

    facets = mesh.facets_satisfying(on_face)
    fx, fy = float(theta[6]), float(theta[7])

    @LinearForm
    def traction(v, w):
        return (fx * v[0] + fy * v[1]) / length

    f = asm(traction, FacetBasis(mesh, elem, facets=facets, intorder=4))
    assert math.isclose(f.sum(), fx + fy, rel_tol=1e-12)
    clamped = basis.get_dofs(lambda p: np.abs(p[1]) < 1e-9).all()
    u = skfem_solve(*condense(k, f, D=clamped))
    corner = int(np.argmin(np.linalg.norm(x[:model.n_vertices] - ctrl[11], axis=1)))
    comp = np.zeros(basis.N, dtype=int)
    comp[basis.nodal_dofs[1]] = 1
    comp[basis.facet_dofs[1]] = 1
    return float(np.hypot(*u[basis.nodal_dofs[:, corner]])), basis.doflocs, comp, u


def test_agrees_with_scikit_fem(model):
    theta = torch.cat([torch.tensor([[6, 6, 1, 1, 1, 0, 1, 1]], dtype=F64),
                       model.sample(2, torch.Generator().manual_seed(4))])
    ours = model.evaluate(theta, 0)[0]
    disp = model.displacements(theta).detach()
    for n in range(theta.shape[0]):
        value, locs, comp, u = _skfem_solution(model, theta[n])
        assert abs(value - float(ours[n])) <= 1e-8 * value
        # the whole displacement field: match skfem's DOFs to our nodes by coordinates
        dist, node = cKDTree(model.nodes(theta[n:n + 1])[0].numpy()).query(locs.T)
        assert dist.max() < 1e-9
        assert np.abs(disp[n].numpy()[node, comp] - u).max() <= 1e-8 * np.abs(u).max()


def test_linear_in_the_load(model):
    """f(lambda F) = lambda f(F) (linear elasticity, |.| homogeneous of degree 1); hence
    Fx df/dFx + Fy df/dFy = f (Euler), the load-load Hessian block annihilates F, and
    sum_j F_j d2f/(d theta_i dF_j) = df/d theta_i."""
    theta = interior(model, 3, seed=5)
    theta[:, 6:] = torch.tensor([[0.2, 0.3], [0.15, 0.1], [0.3, 0.25]], dtype=F64)
    scaled = theta.clone()
    scaled[:, 6:] *= 3.0
    v, g, h = model.evaluate(theta, 2)
    vs = model.evaluate(scaled, 0)[0]
    assert rel_err(vs, 3 * v) < 1e-12
    f = theta[:, 6:]
    assert rel_err((g[:, 6:] * f).sum(1), v) < 1e-12
    assert (h[:, 6:, 6:] @ f[:, :, None]).abs().max() < 1e-10 * h.abs().max()
    assert rel_err((h[:, :6, 6:] @ f[:, :, None])[..., 0], g[:, :6]) < 1e-10


def test_morphing_keeps_a_valid_conforming_mesh(model):
    """At the nominal parameters the morph is the identity; at all 64 corners of the geometry
    box every element keeps a positive area; the load acts on the end face of the beam."""
    nominal = torch.tensor([NOMINAL + (1.0, 1.0)], dtype=F64)
    assert torch.allclose(model.nodes(nominal)[0], model.reference_nodes, atol=1e-12)
    b = model.bounds
    corners = torch.tensor(list(np.ndindex(*([2] * 6))), dtype=F64)
    theta = torch.cat([b[:6, 0] + corners * (b[:6, 1] - b[:6, 0]), torch.ones(64, 2, dtype=F64)], dim=1)
    e = model.element_edges(theta)
    det = e[..., 0] * e[..., 3] - e[..., 1] * e[..., 2]
    assert det.min() > 0
    # total area is the frame's: w h - (w - d1 - d2)(h - d3) (a shear keeps areas)
    w, h, d1, d2, d3 = theta[:, :5].unbind(1)
    assert torch.allclose(det.sum(1) / 2, w * h - (w - d1 - d2) * (h - d3), rtol=1e-12)
    # a conforming triangulation of a simply connected domain: V - E + F = 1, and no edge is
    # shared by more than two triangles
    tri = model.elements[:, :3]
    edges = torch.cat([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]).sort(dim=1).values
    uniq, counts = edges.unique(dim=0, return_counts=True)
    assert model.n_vertices - uniq.shape[0] + tri.shape[0] == 1
    assert counts.max() == 2 and model.n_nodes == model.n_vertices + uniq.shape[0]
    # every FE node sits in its control triangle: weights are barycentric (>= 0, sum 1)
    wts = model.morph_weights
    assert (wts >= -1e-12).all() and torch.allclose(wts.sum(1), torch.ones(model.n_nodes, dtype=F64))
    assert ((wts.abs() > 1e-12).sum(1) <= 3).all()
    # loads: fractions on the end face only, summing to one; the output node is the corner
    frac = model.load_fractions
    ref = model.reference_nodes
    assert math.isclose(float(frac.sum()), 1.0, rel_tol=1e-12)
    assert torch.allclose(ref[frac != 0, 0], torch.full_like(ref[frac != 0, 0], 6.0))
    assert (ref[frac != 0, 1] >= 5.0 - 1e-12).all()
    assert ref[model.corner_node].tolist() == [6.0, 6.0]


def test_element_stiffness():
    """The closed-form element matrix used by the model equals the B-matrix routine, is
    symmetric, positive semi-definite with the three rigid-body modes as its null space."""
    model = FrameModel(1.0)
    theta = model.sample(2, torch.Generator().manual_seed(6))
    e = model.element_edges(theta)  # (2, E, 4)
    ke_ref = element_stiffness(e.numpy(), model.young, model.poisson)
    ke = model.element_matrices(theta)
    assert np.abs(ke.numpy() - ke_ref).max() < 1e-12 * np.abs(ke_ref).max()
    k0 = ke_ref[0, 0]
    assert np.allclose(k0, k0.T, atol=1e-12 * np.abs(k0).max())
    eig = np.linalg.eigvalsh(k0)
    assert (eig[:3] < 1e-10 * eig[-1]).all() and eig[3] > 1e-6 * eig[-1]
    # rigid-body modes of the element's own nodes: translations and a rotation
    x = model.nodes(theta[:1])[0, model.elements[0]].numpy()  # (6, 2)
    modes = [np.tile([1.0, 0.0], 6), np.tile([0.0, 1.0], 6), np.stack([-x[:, 1], x[:, 0]], 1).reshape(-1)]
    for r in modes:
        assert np.abs(k0 @ r).max() < 1e-10 * np.abs(k0).max() * np.abs(r).max()


def test_bad_input(model):
    good = model.sample(2, torch.Generator().manual_seed(7))
    with pytest.raises(ValueError, match=r"parameter 'theta': expected shape \(N, 8\)"):
        model.evaluate(good[:, :7], 0)
    with pytest.raises(ValueError, match=r"parameter 'theta': expected shape \(N, 8\)"):
        model.evaluate(good[0], 0)
    with pytest.raises(ValueError, match="parameter 'theta': expected a tensor"):
        model.evaluate(good.tolist(), 0)
    with pytest.raises(ValueError, match="floating point"):
        model.evaluate(good.long(), 0)
    bad = good.clone()
    bad[1, 4] = 1.6
    with pytest.raises(ValueError, match=r"d3 = 1.6 \(row 1\) is outside its bounds \[0.5, 1.5\]"):
        model.evaluate(bad, 1)
    bad = good.clone()
    bad[0, 5] = -0.51
    with pytest.raises(ValueError, match=r"d4 = -0.51 .* \[-0.5, 0.5\]"):
        model.evaluate(bad, 2)
    bad = good.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model.evaluate(bad, 0)
    edge = model.bounds[:, 1].repeat(2, 1)  # the bounds themselves, and a hair beyond, pass
    edge[1] += 1e-12
    assert model.evaluate(edge, 0)[0].shape == (2,)
    for order in (3, -1, 1.0, True, "2"):
        with pytest.raises(ValueError, match=r"parameter 'order': must be 0, 1 or 2"):
            model.evaluate(good, order)
    for size in (0, -0.5, 3.0, float("nan"), "0.25", True):
        with pytest.raises(ValueError, match="parameter 'element_size'"):
            FrameModel(size)
    with pytest.raises(ValueError, match="parameter 'poisson'"):
        FrameModel(poisson=0.5)
    with pytest.raises(ValueError, match="parameter 'young'"):
        FrameModel(young=0.0)
