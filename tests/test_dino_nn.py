"""DINO networks, bases, losses and metrics (seed 002_): shapes, derivatives and the propositions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from derivlearn.dino import bases, losses, metrics, networks
from derivlearn.dino.jacobians import jacobian, jacobian_times

D_M, D_Q, B = 40, 6, 5
F64 = torch.float64


def _dense_jacobian(net: torch.nn.Module, m: torch.Tensor) -> torch.Tensor:
    """Reference: the full network Jacobian by plain autograd, sample by sample. (B, d_Q, d_M)."""
    return torch.stack([torch.autograd.functional.jacobian(net, mi) for mi in m])


def _orthonormal(d: int, r: int, seed: int) -> torch.Tensor:
    return losses.random_orthonormal(d, r, torch.Generator().manual_seed(seed))


@pytest.fixture
def small():
    """A small Generic and DIPNet (float64), inputs and a rank-4 input basis."""
    torch.manual_seed(0)
    phi = _orthonormal(D_M, 4, 1)
    gen = networks.generic_network(D_M, D_Q, width=8, depth=2, dtype=F64, seed=0)
    dip = networks.dipnet(phi, D_Q, width=8, depth=2, dtype=F64, seed=0)
    m = torch.randn(B, D_M, generator=torch.Generator().manual_seed(2), dtype=F64)
    return gen, dip, phi, m


# --------------------------------------------------------------------------------- networks


def test_weight_counts_full_size():
    phi50, phi100 = _orthonormal(4225, 50, 0), _orthonormal(4225, 100, 1)
    gen = networks.build_network("generic", 4225)
    d50 = networks.build_network("dipnet_50_50", 4225, phi50)
    d100 = networks.build_network("dipnet_100_50", 4225, phi100)
    assert (gen.n_weights, d50.n_weights, d100.n_weights) == (226_600, 20_400, 30_450)
    assert gen.output.weight.dtype == torch.float32 and d100.phi.dtype == torch.float32
    assert not d100.phi.requires_grad
    m = torch.randn(3, 4225)
    for net in (gen, d50, d100):
        assert net(m).shape == (3, 50)
    assert networks.build_network("generic", 4225, dtype=F64)(m.double()).dtype == F64


def test_output_layer_linear_and_pod_initialised():
    q = torch.randn(30, D_Q, generator=torch.Generator().manual_seed(3), dtype=F64) * 2 + 5
    pod = bases.pod_basis(q, rank=D_Q)
    net = networks.generic_network(D_M, D_Q, width=D_Q, depth=2, output_basis=pod.basis,
                                   output_bias=pod.bias, dtype=F64)
    assert torch.equal(net.output.weight.detach(), pod.basis)
    assert torch.equal(net.output.bias.detach(), pod.bias)
    assert net.output.weight.requires_grad
    h = torch.randn(4, D_Q, dtype=F64)  # linear output layer: f = U h + mean, negative values possible
    assert torch.allclose(net.output(h), h @ pod.basis.T + pod.bias)


def test_jacobian_products_match_dense_autograd(small):
    gen, dip, phi, m = small
    D = torch.randn(B, D_M, 7, dtype=F64)
    for net in (gen, dip):
        Jd = _dense_jacobian(net, m)
        assert torch.allclose(jacobian_times(net, m, D), Jd @ D, atol=1e-12)
        assert torch.allclose(jacobian_times(net, m, D[0]), Jd @ D[0], atol=1e-12)  # shared directions
        assert torch.allclose(jacobian(net, m), Jd, atol=1e-12)
    # DIPNet through its latent head: ∇f D = ∇g (Φᵀ D), ∇f = ∇g Φᵀ
    Jd = _dense_jacobian(dip, m)
    z = dip.encode(m)
    assert torch.allclose(jacobian_times(dip.head, z, dip.project(D)), Jd @ D, atol=1e-12)
    assert torch.allclose(jacobian(dip.head, z) @ phi.T, Jd, atol=1e-12)
    assert jacobian(dip.head, z).shape == (B, D_Q, 4)


def test_jacobian_product_gradients_match_dense_autograd(small):
    gen, _, _, m = small
    D = torch.randn(B, D_M, 3, dtype=F64)
    (jacobian_times(gen, m, D) ** 2).sum().backward()
    g1 = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in gen.parameters()]
    gen.zero_grad(set_to_none=True)
    Jd = torch.stack([torch.autograd.functional.jacobian(gen, mi, create_graph=True) for mi in m])
    ((Jd @ D) ** 2).sum().backward()
    g2 = [p.grad if p.grad is not None else torch.zeros_like(p) for p in gen.parameters()]
    for a, b in zip(g1, g2, strict=True):
        assert torch.allclose(a, b, atol=1e-10)


def test_proposition_2_4_dipnet_jacobian_annihilates_complement(small):
    _, dip, phi, m = small
    X = torch.randn(D_M, 9, dtype=F64)
    X_perp = X - phi @ (phi.T @ X)
    Jd = _dense_jacobian(dip, m)
    assert (Jd @ X_perp).abs().max() < 1e-12 * max(1.0, float(Jd.abs().max()))
    assert jacobian_times(dip, m, X_perp).abs().max() < 1e-12
    assert (Jd @ X).abs().max() > 1e-3  # ... but not directions in span Φ


def _modify_input_projector(V: np.ndarray) -> np.ndarray:
    """The authors' ``modify_projectors`` for an AS/KLE input basis (dino, first commit,
    dino/surrogate_construction/dataUtilities.py), verbatim in numpy."""
    input_projector, _ = np.linalg.qr(V)
    scale_factor_input = float(input_projector.shape[0]) / (32 * float(input_projector.shape[-1]))
    input_projector /= scale_factor_input * np.linalg.norm(input_projector)
    return input_projector


def test_authors_projector_scaling():
    """A DIPNet built with the authors' scaling is f(m) = MLP(Φ̃ᵀ m) with their Φ̃; its Jacobian
    is ∇MLP Φ̃ᵀ = ∇g Φᵀ (g = the head with the scale), and the losses and metrics computed in
    the latent space equal the direct ones with the full autograd Jacobian."""
    gen = torch.Generator().manual_seed(4)
    d_m, r = 60, 5
    V = torch.randn(d_m, r, generator=gen, dtype=F64)
    phi_t = torch.from_numpy(_modify_input_projector(V.numpy().copy()))
    phi = bases.orthonormalize(V)
    c = bases.authors_input_scale(phi)
    assert c == pytest.approx(32 * math.sqrt(r) / d_m, rel=1e-12)
    assert bases.authors_input_scale(torch.zeros(4225, 100) + _orthonormal(4225, 100, 0)) == \
        pytest.approx(0.0757, abs=1e-4)
    signs = torch.sign((phi_t * phi).sum(0))                             # QR's column signs
    assert torch.allclose(phi * c, phi_t * signs, atol=1e-12)
    net = networks.dipnet(phi, D_Q, width=8, depth=2, dtype=F64, seed=1, input_scale=c)
    assert net.input_scale == c and torch.allclose(net.input_projector, phi * c)
    m = torch.randn(B, d_m, generator=gen, dtype=F64)

    def mlp(z):                                # the network as the authors build it, on Φ̃ᵀm
        h = z
        for lin in net.hidden:
            h = torch.nn.functional.softplus(lin(h))
        return net.output(h)

    pt = net.input_projector
    with torch.no_grad():
        assert torch.allclose(net(m), mlp(m @ pt), atol=1e-13)
    Jf = _dense_jacobian(net, m).detach()                                   # autograd, (B, d_Q, d_M)
    Jmlp = torch.stack([torch.autograd.functional.jacobian(mlp, zi) for zi in m @ pt])
    assert torch.allclose(Jf, Jmlp @ pt.T, atol=1e-12)                       # ∇MLP Φ̃ᵀ
    z = net.encode(m)
    assert torch.allclose(jacobian(net.head, z) @ phi.T, Jf, atol=1e-12)    # ∇g Φᵀ (fast path)
    assert torch.allclose(jacobian(net, m), Jf, atol=1e-12)
    D = torch.randn(B, d_m, 3, generator=gen, dtype=F64)
    assert torch.allclose(jacobian_times(net.head, z, net.project(D)), Jf @ D, atol=1e-12)
    # losses and metrics, latent against direct
    q, J, U, s, Vs = _exact_data(networks.generic_network(d_m, D_Q, 8, 2, dtype=F64, seed=3), m, r=4)
    with torch.no_grad():
        f = net(m)

    def fro2(a):
        return a.pow(2).sum((1, 2))

    l2 = ((q - f) ** 2).sum(1) / (q ** 2).sum(1)
    S = torch.diag_embed(s)
    pj = losses.project_jacobian_data(phi, J, Vs)
    assert torch.allclose(losses.h1_loss(net.head, z, q, pj["J_phi"], pj["J_norm2"]),
                          (l2 + fro2(J - Jf) / fro2(J)).mean(), rtol=1e-12)
    assert torch.allclose(losses.reduced_h1_loss(net.head, z, q, U, s, pj["V_phi"]),
                          (l2 + fro2(S - U.transpose(1, 2) @ Jf @ Vs) / fro2(S)).mean(), rtol=1e-12)
    acc = metrics.h1_accuracy(pj["J_phi"], jacobian(net.head, z).detach(), pj["J_norm2"])
    assert acc == pytest.approx(metrics.h1_accuracy(J, Jf), abs=1e-12)
    red = metrics.reduced_h1_accuracy(s, U.transpose(1, 2) @ jacobian_times(net.head, z, pj["V_phi"]))
    assert red == pytest.approx(metrics.reduced_h1_accuracy(s, U.transpose(1, 2) @ Jf @ Vs), abs=1e-12)
    # the scale matters: the same weights without it are another function
    plain = networks.dipnet(phi, D_Q, width=8, depth=2, dtype=F64, seed=1)
    with torch.no_grad():
        assert not torch.allclose(plain(m), f)
    assert networks.build_network("dipnet_50_50", 4225, _orthonormal(4225, 50, 0)).input_scale == \
        pytest.approx(32 * math.sqrt(50) / 4225)
    assert networks.build_network("generic", 4225).input_scale == 1.0
    with pytest.raises(ValueError, match="input_scale"):
        networks.DinoNet(D_M, D_Q, [4], None, input_scale=2.0)


def test_dipnet_width_narrows_the_hidden_layers():
    """The authors' POD width: ``width`` hidden units in the 6 layers after the reduction layer."""
    phi = _orthonormal(4225, 100, 1)
    pod = bases.pod_basis(torch.randn(16, 50, dtype=F64), rank=16)
    net = networks.build_network("dipnet_100_50", 4225, phi, 50, pod.basis, pod.bias, width=16)
    assert [lin.out_features for lin in net.hidden] == [100] + [16] * 6
    assert net.n_weights == 4225 * 0 + 100 * 100 + 100 + 100 * 16 + 16 + 5 * (16 * 16 + 16) + 16 * 50 + 50
    with pytest.raises(ValueError, match="width"):
        networks.build_network("generic", 4225, width=16)


# ----------------------------------------------------------------------------------- losses


def _exact_data(net, m, r=D_Q):
    """Targets the network reproduces exactly: q = f(m), J = ∇f(m) (rank <= d_Q) and its SVD."""
    with torch.no_grad():
        q = net(m)
    J = _dense_jacobian(net, m).detach()
    U, s, V = losses.reduced_svd(J, r)
    return q, J, U, s, V


def _all_losses(net, m, q, J, U, s, V, Ql, Qr):
    """Every loss on (net, data), through the latent head for a DIPNet."""
    rows = torch.stack([torch.randperm(U.shape[2], generator=torch.Generator().manual_seed(i))[:3]
                        for i in range(m.shape[0])])
    if net.is_projected:
        g, x = net.head, net.encode(m)
        pj = losses.project_jacobian_data(net.phi, J, V)
        Jx, Jn2, Vx, Qx = pj["J_phi"], pj["J_norm2"], pj["V_phi"], net.project(Qr)
    else:
        g, x, Jx, Jn2, Vx, Qx = net, m, J, None, V, Qr
    return {
        "l2": losses.l2_loss(g, x, q),
        "h1": losses.h1_loss(g, x, q, Jx, Jn2),
        "reduced_h1": losses.reduced_h1_loss(g, x, q, U, s, Vx),
        "reduced_h1_ms": losses.reduced_h1_ms_loss(g, x, q, U, s, Vx, rows),
        "sketched_h1": losses.sketched_h1_loss(g, x, q, losses.sketch_jacobian(J, Ql, Qr), Ql, Qx),
        "nullspace_sketched_h1": losses.nullspace_sketched_h1_loss(
            g, x, q, U, s, Vx, Ql, Qx, V.transpose(1, 2) @ Qr, d_M=D_M),
    }


@pytest.mark.parametrize("which", ["generic", "dipnet"])
def test_losses_zero_for_exact_network_positive_otherwise(small, which):
    gen, dip, _, m = small
    net = gen if which == "generic" else dip
    q, J, U, s, V = _exact_data(net, m)
    g = torch.Generator().manual_seed(5)
    Ql, Qr = losses.random_orthonormal(D_Q, 4, g), losses.random_orthonormal(D_M, 5, g)
    vals = _all_losses(net, m, q, J, U, s, V, Ql, Qr)
    assert set(vals) == set(losses.LOSSES)
    for name, v in vals.items():
        assert abs(v.item()) < 1e-12, name
    # another network of the same architecture reproduces neither q nor J
    other = (networks.generic_network(D_M, D_Q, width=8, depth=2, dtype=F64, seed=1) if which == "generic"
             else networks.dipnet(dip.phi, D_Q, width=8, depth=2, dtype=F64, seed=1))
    for name, v in _all_losses(other, m, q, J, U, s, V, Ql, Qr).items():
        assert v.item() > 1e-6, name


def test_derivative_terms_positive_when_only_values_match(small):
    gen, _, _, m = small
    q, J, U, s, V = _exact_data(gen, m)
    J2 = J + 0.1 * torch.randn(J.shape, generator=torch.Generator().manual_seed(9), dtype=F64)
    U2, s2, V2 = losses.reduced_svd(J2, D_Q)
    assert losses.l2_loss(gen, m, q).item() < 1e-20
    assert losses.h1_loss(gen, m, q, J2).item() > 1e-4
    assert losses.reduced_h1_loss(gen, m, q, U2, s2, V2).item() > 1e-4


def test_losses_match_dense_formulas(small):
    gen, _, _, m = small
    q, J, U, s, V = _exact_data(networks.generic_network(D_M, D_Q, 8, 2, dtype=F64, seed=7), m, r=4)
    Jf = _dense_jacobian(gen, m).detach()
    with torch.no_grad():
        f = gen(m)
    l2 = ((q - f) ** 2).sum(1) / (q ** 2).sum(1)

    def fro2(a):
        return a.pow(2).sum((1, 2))

    S = torch.diag_embed(s)
    red = fro2(S - U.transpose(1, 2) @ Jf @ V) / fro2(S)
    assert torch.allclose(losses.l2_loss(gen, m, q), l2.mean())
    assert torch.allclose(losses.h1_loss(gen, m, q, J), (l2 + fro2(J - Jf) / fro2(J)).mean())
    assert torch.allclose(losses.reduced_h1_loss(gen, m, q, U, s, V), (l2 + red).mean())
    g = torch.Generator().manual_seed(11)
    Ql, Qr = losses.random_orthonormal(D_Q, 3, g), losses.random_orthonormal(D_M, 5, g)
    sk = Ql.T @ J @ Qr
    ref = fro2(sk - Ql.T @ Jf @ Qr) / fro2(sk)
    assert torch.allclose(losses.sketched_h1_loss(gen, m, q, sk, Ql, Qr), (l2 + ref).mean())
    PU = torch.eye(D_Q, dtype=F64) - U @ U.transpose(1, 2)
    PV = torch.eye(D_M, dtype=F64) - V @ V.transpose(1, 2)
    null = fro2(Ql.T @ PU @ Jf @ Qr) + fro2(Ql.T @ Jf @ PV @ Qr)
    scale = (D_Q / 3) * (D_M / 5)
    assert torch.allclose(losses.nullspace_sketched_h1_loss(gen, m, q, U, s, V, Ql, Qr),
                          (l2 + red + scale * null / fro2(S)).mean())


@pytest.mark.parametrize("which", ["generic", "dipnet"])
def test_nullspace_sketched_loss_is_unbiased_for_full_h1(small, which):
    """With r = d_Q (J = UΣVᵀ exactly), the Monte Carlo mean over Haar sketches of the scaled
    null-space sketched loss equals the full-H1 loss (a DIPNet passes its d_M)."""
    gen, dip, phi, m = small
    net = gen if which == "generic" else dip
    target = networks.generic_network(D_M, D_Q, 8, 2, dtype=F64, seed=5)
    q, J, U, s, V = _exact_data(target, m, r=D_Q)
    if net.is_projected:
        g, x = net.head, net.encode(m)
        pj = losses.project_jacobian_data(phi, J, V)
        Jx, Jn2, Vx = pj["J_phi"], pj["J_norm2"], pj["V_phi"]
    else:
        g, x, Jx, Jn2, Vx = net, m, J, None, V
    with torch.no_grad():
        full = losses.h1_loss(g, x, q, Jx, Jn2).item()
        gen_ = torch.Generator().manual_seed(0)
        vals = []
        for _ in range(3000):
            Ql = losses.random_orthonormal(D_Q, 2, gen_)
            Qr = losses.random_orthonormal(D_M, 3, gen_)
            vals.append(losses.nullspace_sketched_h1_loss(
                g, x, q, U, s, Vx, Ql, net.project(Qr), V.transpose(1, 2) @ Qr, d_M=D_M).item())
    vals_t = torch.tensor(vals, dtype=F64)
    se = vals_t.std().item() / math.sqrt(len(vals))
    assert abs(vals_t.mean().item() - full) < 4 * se + 1e-12, (vals_t.mean().item(), full, se)
    assert vals_t.std().item() > 1e-6          # the sketch is random: not a trivial identity
    with pytest.raises(ValueError, match="d_M"):         # a DIPNet's VtQ without its d_M
        losses.nullspace_sketched_h1_loss(g, x, q, U, s, Vx, Ql, net.project(Qr),
                                          V.transpose(1, 2) @ Qr)


def test_dipnet_h1_constant_gives_the_full_loss(small):
    """JΦ, ∇g and ‖J‖² give exactly ‖J − ∇f‖²/‖J‖², also when J is not in span Φ."""
    _, dip, phi, m = small
    q, J, _, _, _ = _exact_data(networks.generic_network(D_M, D_Q, 8, 2, dtype=F64, seed=3), m)
    Jf = _dense_jacobian(dip, m).detach()
    with torch.no_grad():
        f = dip(m)
    ref = (((q - f) ** 2).sum(1) / (q ** 2).sum(1) + (J - Jf).pow(2).sum((1, 2)) / J.pow(2).sum((1, 2)))
    pj = losses.project_jacobian_data(phi, J)
    val = losses.h1_loss(dip.head, dip.encode(m), q, pj["J_phi"], pj["J_norm2"])
    assert torch.allclose(val, ref.mean(), rtol=1e-12)
    acc = metrics.h1_accuracy(pj["J_phi"], jacobian(dip.head, dip.encode(m)).detach(), pj["J_norm2"])
    assert acc == pytest.approx(metrics.h1_accuracy(J, Jf), abs=1e-12)


def test_proposition_2_2_subsampling_expectation(small):
    gen, _, _, m = small
    r, k = D_Q, 2
    q, _, U, s, V = _exact_data(networks.generic_network(D_M, D_Q, 8, 2, dtype=F64, seed=4), m, r=r)
    Jf = _dense_jacobian(gen, m).detach()
    E = torch.diag_embed(s) - U.transpose(1, 2) @ Jf @ V  # (B, r, r) reduced residual
    norm = s.pow(2).sum(1)
    diag = (torch.diagonal(E, dim1=1, dim2=2).pow(2).sum(1) / norm).mean()
    full = (E.pow(2).sum((1, 2)) / norm).mean()
    off = full - diag
    l2 = losses.l2_loss(gen, m, q)

    def ms(rows, cols=None):
        return losses.reduced_h1_ms_loss(gen, m, q, U, s, V, rows, cols, normalization="full") - l2

    subsets = [torch.tensor(c).expand(B, k) for c in itertools.combinations(range(r), k)]
    same = torch.stack([ms(c) for c in subsets]).mean()                       # exact expectation
    assert torch.allclose(same, k / r * diag + k * (k - 1) / (r * (r - 1)) * off, rtol=1e-10)
    indep = torch.stack([ms(a, b) for a in subsets for b in subsets]).mean()
    assert torch.allclose(indep, (k / r) ** 2 * full, rtol=1e-10)
    assert torch.allclose(losses.reduced_h1_ms_loss(gen, m, q, U, s, V, torch.arange(r).expand(B, r)),
                          losses.reduced_h1_loss(gen, m, q, U, s, V))  # k = r: the full reduced loss

    # Monte Carlo over the per-epoch permutations into r/k blocks (the sampler used in training)
    epochs = 400
    g = torch.Generator().manual_seed(0)
    idx, blocks = zip(*(losses.ms_blocks(B, r, k, g) for _ in range(epochs)), strict=True)
    idx, blocks = torch.cat(idx), torch.cat(blocks)
    mc = losses.reduced_h1_ms_loss(gen, m[idx], q[idx], U[idx], s[idx], V[idx], blocks,
                                   normalization="full") - losses.l2_loss(gen, m[idx], q[idx])
    assert torch.allclose(mc, same, rtol=0.03)


def test_ms_blocks_partition_each_sample():
    sample, blocks = losses.ms_blocks(7, 50, 10, torch.Generator().manual_seed(1))
    assert sample.shape == (35,) and blocks.shape == (35, 10)
    for i in range(7):
        assert sorted(blocks[sample == i].flatten().tolist()) == list(range(50))


def test_random_orthonormal():
    Q = losses.random_orthonormal(30, 7, torch.Generator().manual_seed(0))
    assert torch.allclose(Q.T @ Q, torch.eye(7, dtype=F64), atol=1e-13)


# ------------------------------------------------------------------------------------ bases


def _prior(d: int):
    """C = A⁻² with A = δI + γ (1-D Neumann Laplacian): C^{1/2} = A⁻¹ is symmetric."""
    lap = np.diag(np.full(d, 2.0)) - np.diag(np.ones(d - 1), 1) - np.diag(np.ones(d - 1), -1)
    lap[0, 0] = lap[-1, -1] = 1.0
    A = 0.5 * np.eye(d) + 4.0 * lap
    Ainv = np.linalg.inv(A)
    return A, Ainv @ Ainv


def test_active_subspace_against_dense_generalized_eigh():
    rng = np.random.default_rng(0)
    N, r = 20, 5
    J = rng.standard_normal((N, D_Q, D_M)) * np.linspace(2, 0.1, D_M)
    A, C = _prior(D_M)
    H = np.einsum("nqi,nqj->ij", J, J) / N
    lam_ref, vec_ref = scipy.linalg.eigh(H, A @ A)  # C⁻¹ = A²
    lam_ref, vec_ref = lam_ref[::-1][:r], vec_ref[:, ::-1][:, :r]

    dense = bases.active_subspace(J, r, cov=C)
    factor = bases.active_subspace(J, r, cov_factor=lambda X: np.linalg.solve(A, X))
    general = bases.active_subspace(J, r, cov=lambda X: C @ X, precision=lambda X: A @ (A @ X))
    ref = bases.active_subspace_dense(J, r, C)
    P_ref = vec_ref @ np.linalg.solve(vec_ref.T @ vec_ref, vec_ref.T)
    for res in (dense, factor, general, ref):
        assert np.allclose(res.eigenvalues.numpy(), lam_ref, rtol=1e-8)
        V = res.eigenvectors.numpy()
        assert np.allclose(np.abs(np.sum(V * vec_ref, 0)) / np.linalg.norm(V, axis=0)
                           / np.linalg.norm(vec_ref, axis=0), 1, atol=1e-8)      # same vectors up to sign
        assert np.allclose(V.T @ (A @ A) @ V, np.eye(r), atol=1e-8)             # C⁻¹-orthonormal
        Phi = res.basis.numpy()
        assert np.allclose(Phi.T @ Phi, np.eye(r), atol=1e-12)                  # QR: orthonormal
        assert np.allclose(Phi @ Phi.T, P_ref, atol=1e-8)                       # same span
    # QR of the first r columns keeps the nested spans: Φ[:, :j] spans v_1..v_j
    Phi, V = dense.basis.numpy(), dense.eigenvectors.numpy()
    assert np.allclose(Phi[:, :2] @ (Phi[:, :2].T @ V[:, :2]), V[:, :2], atol=1e-10)
    # the basis drives a DIPNet
    assert networks.dipnet(dense.basis, D_Q, 8, 2, dtype=F64).latent_dim == r


def test_output_bases():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((40, D_Q)) @ rng.standard_normal((D_Q, D_Q)) + 3.0
    pod = bases.pod_basis(q, rank=D_Q)
    U, mean = pod.basis.numpy(), pod.bias.numpy()
    assert np.allclose(mean, q.mean(0)) and np.allclose(U.T @ U, np.eye(D_Q), atol=1e-12)
    assert np.allclose((q - mean) @ U @ U.T, q - mean)                       # full rank: exact
    assert np.all(np.diff(pod.values.numpy()) <= 0)
    pod3 = bases.pod_basis(q, rank=3)
    C = np.cov(q.T, bias=True)
    lam = np.linalg.eigvalsh(C)[::-1][:3]
    assert np.allclose(pod3.values.numpy() ** 2, lam)
    J = rng.standard_normal((10, D_Q, D_M))
    jjt = bases.derivative_outer_product_basis(J, rank=3, q=q[:10])
    K = np.einsum("nij,nkj->ik", J, J) / 10
    assert np.allclose(K @ jjt.basis.numpy(), jjt.basis.numpy() * jjt.values.numpy())
    assert np.allclose(jjt.values.numpy(), np.linalg.eigvalsh(K)[::-1][:3])
    assert np.allclose(jjt.bias.numpy(), q[:10].mean(0))
    assert np.allclose(bases.derivative_outer_product_basis(J, 2).bias.numpy(), 0)


# ---------------------------------------------------------------------------------- metrics


def test_metrics_hand_computed():
    q = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    f = torch.tensor([[3.0, 1.0], [1.0, 0.0]])           # relative errors 3/5 and 0
    acc = metrics.l2_accuracy(q, f)
    assert acc.paper == pytest.approx(1 - 0.3)
    assert acc.code == pytest.approx(1 - math.sqrt(0.18))
    J = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 0.0]]])
    Jf = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 2.0]]])  # errors 1/√2 and 1
    h1 = metrics.h1_accuracy(J, Jf)
    assert h1.paper == pytest.approx(1 - (1 / math.sqrt(2) + 1) / 2)
    assert h1.code == pytest.approx(1 - math.sqrt((0.5 + 1) / 2))
    sigma = torch.tensor([[4.0, 3.0]])
    red = metrics.reduced_h1_accuracy(sigma, torch.tensor([[[4.0, 0.0], [0.0, 0.0]]]))  # error 3/5
    assert red == (pytest.approx(0.4), pytest.approx(0.4))
    assert acc.code <= acc.paper and h1.code <= h1.paper


# ------------------------------------------------------------------------------ bad input


def test_value_errors(small):
    gen, _, phi, m = small
    with pytest.raises(ValueError, match="kind"):
        networks.build_network("resnet")
    with pytest.raises(ValueError, match="input_basis"):
        networks.build_network("dipnet_50_50", D_M, phi)
    with pytest.raises(ValueError, match="input_basis"):
        networks.build_network("dipnet_100_50", 4225)
    with pytest.raises(ValueError, match="orthonormal"):
        networks.dipnet(2 * phi, D_Q)
    with pytest.raises(ValueError, match="dtype"):
        networks.generic_network(D_M, D_Q, dtype=torch.float16)
    with pytest.raises(ValueError, match="output_basis"):
        networks.generic_network(D_M, D_Q, width=8, depth=2, output_basis=torch.eye(D_Q))
    with pytest.raises(ValueError, match="depth"):
        networks.generic_network(D_M, D_Q, depth=0)
    q, J, U, s, V = _exact_data(gen, m)
    with pytest.raises(ValueError, match="'q'"):
        losses.l2_loss(gen, m, q[:2])
    with pytest.raises(ValueError, match="'J'"):
        losses.h1_loss(gen, m, q, J[:, :, :5])
    with pytest.raises(ValueError, match="'V'"):
        losses.reduced_h1_loss(gen, m, q, U, s, V[:, :5])
    with pytest.raises(ValueError, match="normalization"):
        losses.reduced_h1_ms_loss(gen, m, q, U, s, V, torch.zeros(B, 2, dtype=torch.int64), normalization="x")
    with pytest.raises(ValueError, match="rows"):
        losses.reduced_h1_ms_loss(gen, m, q, U, s, V, torch.full((B, 2), 99))
    with pytest.raises(ValueError, match="'k'"):
        losses.ms_blocks(4, 50, 7)
    with pytest.raises(ValueError, match="'r'"):
        losses.random_orthonormal(5, 6)
    with pytest.raises(ValueError, match="pred"):
        metrics.l2_accuracy(q, q[:, :2])
    with pytest.raises(ValueError, match="target"):
        metrics.l2_accuracy(torch.zeros(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="rank"):
        bases.active_subspace(np.ones((2, 3, 4)), 4)
    with pytest.raises(ValueError, match="rank"):
        bases.pod_basis(np.ones((5, 3)), 4)
    with pytest.raises(ValueError, match="precision"):
        bases.active_subspace(np.ones((2, 3, 6)), 2, cov=lambda X: X)
    with pytest.raises(ValueError, match="'J'"):
        bases.active_subspace(np.ones((3, 6)), 2)


@pytest.mark.parametrize("kind", ["generic", "dipnet", "dipnet_scaled", "dipnet_wide_scaled"])
def test_explicit_forward_mode_equals_torch_func(kind):
    """The fast path for DinoNets gives the numbers of vmap(jvp) / vmap(jacrev), gradients too
    (also with the authors' projector scaling, and a latent space wider than 2 w_1)."""
    from derivlearn.dino.jacobians import jacobian, jacobian_times
    from derivlearn.dino.networks import DinoNet

    g = torch.Generator().manual_seed(5)
    r = 30 if kind == "dipnet_wide_scaled" else 12
    phi = None if kind == "generic" else torch.linalg.qr(torch.randn(40, r, generator=g,
                                                                     dtype=torch.float64))[0]
    widths = [8, 8, 8] if kind == "dipnet_wide_scaled" else [12, 8, 8]
    net = DinoNet(40, 6, widths, phi, dtype=torch.float64, seed=2,
                  input_scale=0.3 if kind.endswith("scaled") else 1.0)
    with torch.no_grad():  # exercise softplus's linear branch (a > 20) too
        net.hidden[0].bias[0] = 30.0
    x = torch.randn(5, 40, generator=g, dtype=torch.float64)
    D = torch.randn(5, 40, 7, generator=g, dtype=torch.float64)
    fast = jacobian_times(net, x, D)
    slow = jacobian_times(lambda m: net(m), x, D)           # a plain callable takes torch.func
    assert torch.allclose(fast, slow, atol=1e-12)
    (fast ** 2).sum().backward()
    def grads():  # the output bias does not enter a Jacobian: no gradient
        return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in net.parameters()]

    first = grads()
    net.zero_grad()
    (slow ** 2).sum().backward()
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(first, grads(), strict=True))
    z = net.encode(x)
    assert torch.allclose(jacobian(net.head, z), jacobian(lambda v: net.head(v), z), atol=1e-12)
    # the explicit reverse mode: the whole network too, and its weight gradients
    net.zero_grad()
    fast = jacobian(net, x)
    (fast ** 2).sum().backward()
    first = grads()
    net.zero_grad()
    slow = jacobian(lambda m: net(m), x)
    (slow ** 2).sum().backward()
    assert torch.allclose(fast, slow, atol=1e-12)
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(first, grads(), strict=True))
    # the expanded squared Jacobian error (Generic: n = 40 > 2 w_1 = 24) against the direct form
    from derivlearn.dino.jacobians import value_and_jacobian_error

    J = torch.randn(5, 6, 40, generator=g, dtype=torch.float64)
    for target in (net, lambda m: net(m)):             # fast path / torch.func reference
        net.zero_grad()
        f, err = value_and_jacobian_error(target, x, J)
        (err.sum() + f.sum()).backward()
        if target is net:
            ref_err, ref_f, ref_grads = err.detach(), f.detach(), grads()
    assert torch.allclose(ref_err, ((J - slow.detach()) ** 2).sum((1, 2)), rtol=1e-10)
    assert torch.allclose(ref_err, err.detach(), rtol=1e-10) and torch.allclose(ref_f, f.detach())
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(ref_grads, grads(), strict=True))
    if phi is not None:                       # a DIPNet's head: the latent error (expanded if wide)
        Jz = torch.randn(5, 6, r, generator=g, dtype=torch.float64)
        for k, target in enumerate((net.head, lambda v: net.head(v))):   # fast path, then torch.func
            net.zero_grad()
            f, err = value_and_jacobian_error(target, z, Jz)
            (err.sum() + f.sum()).backward()
            if k == 0:
                ref_err, ref_grads = err.detach(), grads()
        assert torch.allclose(ref_err, err.detach(), rtol=1e-10)
        assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(ref_grads, grads(), strict=True))
