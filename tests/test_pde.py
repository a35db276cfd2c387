"""The FEniCS-free PDE maps of the DINO chapter (derivlearn.solvers.pde), on coarse meshes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import skfem
import torch
from skfem.helpers import dot, grad

from derivlearn.solvers import pde
from derivlearn.solvers.pde.crd import CRDMap
from derivlearn.solvers.pde.mesh import element, unit_square
from derivlearn.solvers.pde.navier_stokes import cache_path, velocity
from derivlearn.solvers.pde.observation import observation_operator, observation_points
from derivlearn.solvers.pde.poisson import PoissonMap
from derivlearn.solvers.pde.prior import BiLaplacianPrior
from derivlearn.solvers.pde.reaction_diffusion import ReactionDiffusionMap, source_strengths

N_COARSE = 8


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """One coarse instance of every map (the CRD velocity cached in a temporary folder)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DERIVLEARN_CACHE", str(tmp_path_factory.mktemp("pde-cache")))
    try:
        yield {name: pde.get(name, N_COARSE) for name in pde.names()}
    finally:
        mp.undo()


def test_names_and_get(maps):
    assert pde.names() == ("poisson", "reaction_diffusion", "crd")
    assert isinstance(maps["poisson"], PoissonMap)
    assert isinstance(maps["reaction_diffusion"], ReactionDiffusionMap)
    assert isinstance(maps["crd"], CRDMap)
    for f in maps.values():
        assert f.n_params == (N_COARSE + 1) ** 2 and f.n_outputs == 50
    with pytest.raises(ValueError, match="poisson"):
        pde.get("heat")


def test_default_mesh_size():
    mesh = unit_square()
    assert mesh.p.shape == (2, 4225) and mesh.t.shape == (3, 2 * 64 * 64)


@pytest.mark.parametrize("name", ["poisson", "reaction_diffusion", "crd"])
def test_bad_shapes_raise(maps, name):
    f = maps[name]
    with pytest.raises(ValueError, match="'m'"):
        f.observe(torch.zeros(f.n_params, dtype=torch.float64))
    with pytest.raises(ValueError, match="'m'"):
        f.jacobian(torch.zeros(2, f.n_params + 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="'m'"):
        f.observe(np.zeros((1, f.n_params)))
    with pytest.raises(ValueError, match="n_samples"):
        f.sample_prior(-1, seed=0)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="'n'"):
        unit_square(0)
    with pytest.raises(ValueError, match="P1"):
        element("P3")
    with pytest.raises(ValueError, match="delta"):
        BiLaplacianPrior(unit_square(2), delta=0.0, gamma=0.1)
    with pytest.raises(ValueError, match="points"):
        observation_operator(skfem.Basis(unit_square(2), skfem.ElementTriP1()), np.zeros((3, 3)))


@pytest.mark.parametrize("name", ["poisson", "reaction_diffusion", "crd"])
def test_jacobian_matches_finite_differences(maps, name):
    f = maps[name]
    m = f.sample_prior(2, seed=3)
    q, jac = f.observe_and_jacobian(m)
    assert q.shape == (2, 50) and jac.shape == (2, 50, f.n_params)
    assert q.dtype == jac.dtype == torch.float64
    torch.testing.assert_close(q, f.observe(m), rtol=0, atol=1e-12)
    torch.testing.assert_close(jac, f.jacobian(m), rtol=0, atol=1e-12)
    gen = torch.Generator().manual_seed(4)
    eps = 1e-5
    for _ in range(2):
        v = torch.randn(2, f.n_params, generator=gen, dtype=torch.float64)
        fd = (f.observe(m + eps * v) - f.observe(m - eps * v)) / (2 * eps)
        jv = torch.einsum("nkd,nd->nk", jac, v)
        assert float((fd - jv).norm() / jv.norm()) <= 1e-6


@pytest.mark.parametrize("name", ["poisson", "reaction_diffusion", "crd"])
def test_tangent_is_derivative_of_residual(name, maps):
    f = maps[name]
    gen = torch.Generator().manual_seed(5)
    m = f.sample_prior(1, seed=6)
    u = 0.5 * torch.randn(1, f.reduced.n, generator=gen, dtype=torch.float64)
    auto = torch.autograd.functional.jacobian(lambda x: f.residual(x[None], m)[0], u[0])
    vals = f.reduced.values(f.tangent_local(f.full_state(u), m))
    assembled = torch.from_numpy(f.reduced.pattern.matrix(vals[:, 0]).toarray())
    torch.testing.assert_close(assembled, auto, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["poisson", "reaction_diffusion", "crd"])
def test_parameter_sensitivity_blocks_are_the_derivative_of_the_residual(name, maps):
    """The element blocks of dR/dm (fast Jacobian) against autograd of the torch residual, and
    the Jacobian by both routes (element blocks against vmapped VJPs)."""
    f = maps[name]
    gen = torch.Generator().manual_seed(8)
    m = f.sample_prior(2, seed=9)
    uf = f.full_state(0.5 * torch.randn(2, f.reduced.n, generator=gen, dtype=torch.float64))
    blocks = f.sensitivity_local(uf, m)                                   # (2, E, L, 3)
    dense = torch.zeros(2, f.state.n_dofs, f.n_params, dtype=torch.float64)
    rows = f.state.dofs[:, :, None].expand(-1, -1, 3)
    cols = f.param.dofs[:, None, :].expand(-1, f.state.n_local, -1)
    for n in range(2):
        dense[n].index_put_((rows.reshape(-1), cols.reshape(-1)), blocks[n].reshape(-1), accumulate=True)
        un = uf[n:n + 1]
        auto = torch.autograd.functional.jacobian(lambda mm, un=un: f.residual_full(un, mm[None])[0], m[n])
        torch.testing.assert_close(dense[n], auto, rtol=1e-12, atol=1e-12)
    u, vals, fact = f._newton(m)
    fast = f._jacobian_chunk(m, u, vals, fact)
    f.coefficient_integrands = lambda _u: None                            # the generic route
    try:
        generic = f._jacobian_chunk(m, u, vals, fact)
    finally:
        del f.coefficient_integrands
    torch.testing.assert_close(fast, generic, rtol=1e-12, atol=1e-12 * float(generic.abs().max()))


@pytest.mark.parametrize("name", ["reaction_diffusion", "crd"])
def test_newton_solution_has_zero_residual(maps, name):
    f = maps[name]
    m = f.sample_prior(2, seed=7)
    u = f.solve(m)
    r = f.residual_full(u, m)[:, torch.from_numpy(f.free_dofs)]
    assert float(r.abs().max()) < 1e-12 * max(1.0, float(f.residual_full(f.full_state(
        torch.zeros(2, f.reduced.n, dtype=torch.float64)), m).abs().max()))


def test_poisson_matches_plain_scikit_fem(maps):
    f = maps["poisson"]
    m = f.sample_prior(2, seed=11)
    u = f.solve(m).numpy()
    q = f.observe(m).numpy()
    x = np.linspace(0.0, 1.0, N_COARSE + 1)
    mesh = skfem.MeshTri.init_tensor(x, x).with_defaults()
    b2 = skfem.Basis(mesh, skfem.ElementTriP2(), intorder=4)
    b1 = b2.with_element(skfem.ElementTriP1())

    @skfem.BilinearForm
    def diffusion(u, v, w):
        return np.exp(w.m) * dot(grad(u), grad(v))

    dofs = np.concatenate([b2.get_dofs("bottom").all(), b2.get_dofs("top").all()])
    probes = b2.probes(observation_points().T)
    for i in range(2):
        k = diffusion.assemble(b2, m=b1.interpolate(m[i].numpy()))
        x0 = np.zeros(b2.N)
        x0[dofs] = b2.doflocs[1, dofs]
        ref = skfem.solve(*skfem.condense(k, np.zeros(b2.N), x=x0, D=dofs))
        assert np.linalg.norm(u[i] - ref) <= 1e-8 * np.linalg.norm(ref)
        assert np.linalg.norm(q[i] - probes @ ref) <= 1e-8 * np.linalg.norm(probes @ ref)


def test_observation_points_and_operator():
    pts = observation_points()
    assert pts.shape == (50, 2)
    np.testing.assert_allclose(pts[:6], [[0.1, 0.1], [0.1, 0.2], [0.1, 0.3], [0.1, 0.4], [0.1, 0.5],
                                         [0.1 + 0.8 / 9, 0.1]])
    b2 = skfem.Basis(unit_square(4), skfem.ElementTriP2())
    quad = b2.project(lambda x: x[0] ** 2 + x[0] * x[1] - x[1])  # P2 reproduces a quadratic
    exact = pts[:, 0] ** 2 + pts[:, 0] * pts[:, 1] - pts[:, 1]
    np.testing.assert_allclose(observation_operator(b2) @ quad, exact, atol=1e-12)


def test_prior_covariance_monte_carlo():
    prior = BiLaplacianPrior(unit_square(4), delta=0.5, gamma=0.1, mean=0.3)
    n = 20000
    samples = prior.sample(n, seed=0).numpy()
    assert samples.shape == (n, 25)
    np.testing.assert_array_equal(prior.sample(5, seed=0).numpy(), samples[:5])
    ell = np.random.default_rng(1).standard_normal(25)
    y = spla.spsolve(prior.A.tocsc(), ell)
    exact = float(y @ (prior.M @ y))                      # l^T A^-1 M A^-1 l
    np.testing.assert_allclose(ell @ prior.covariance() @ ell, exact, rtol=1e-12)
    vals = samples @ ell
    assert abs(vals.mean() - 0.3 * ell.sum()) <= 5 * np.sqrt(exact / n)
    assert abs(vals.var(ddof=1) - exact) <= 5 * exact * np.sqrt(2 / (n - 1))


def test_prior_operator_structure():
    prior = BiLaplacianPrior(unit_square(4), delta=0.5, gamma=0.1)
    ones = np.ones(prior.dim)
    np.testing.assert_allclose(prior.A @ ones, 0.5 * (prior.M @ ones), atol=1e-14)  # Neumann
    np.testing.assert_allclose((prior.A - prior.A.T).toarray(), 0.0, atol=1e-14)
    sm = prior.sqrt_mass
    np.testing.assert_allclose((sm @ sm.T).toarray(), prior.M.toarray(), atol=1e-14)  # exact root
    iso = BiLaplacianPrior(unit_square(4), delta=0.5, gamma=0.1, theta=np.eye(2))
    assert abs(prior.A - iso.A).max() > 1e-3                 # the anisotropy is used


def test_reaction_diffusion_sources():
    s = source_strengths()
    assert (s < 0).sum() == 13 and (s > 0).sum() == 12 and s[0] < 0


def test_navier_stokes_velocity_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("DERIVLEARN_CACHE", str(tmp_path))
    bv, v = velocity(4)
    assert cache_path(4).exists() and str(cache_path(4)).startswith(str(tmp_path))
    _, v2 = velocity(4)
    np.testing.assert_array_equal(v, v2)
    locs = bv.doflocs
    vy = bv.get_dofs().all("u^2")
    left = vy[np.isclose(locs[0, vy], 0.0)]
    right = vy[np.isclose(locs[0, vy], 1.0)]
    np.testing.assert_allclose(v[left], 1.0)
    np.testing.assert_allclose(v[right], -1.0)
