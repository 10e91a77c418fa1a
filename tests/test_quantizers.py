"""Scalar quantisers of learned codecs: hard forward, soft gradient, dither statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")

from rdlab.coding.quantizers import ScalarQuantizer, dither, level_step  # noqa: E402


@pytest.mark.parametrize("kind", ["dq", "nq", "uq"])
@pytest.mark.parametrize("levels", [2, 3, 4, 8])
def test_forward_is_hard(kind, levels):
    q = ScalarQuantizer(kind, levels, dim=5)
    g = torch.Generator().manual_seed(0)
    z = torch.rand(200, 5, generator=g) * 2 - 1
    u = q.noise(200, g)
    y = q(z, u)
    s = q.symbols(z, u)
    assert torch.equal(y, q.decoder_input(s, u))
    c = q.centers()
    base = y if kind == "dq" else (y - u if kind == "nq" else y + u)
    # the hard value is exactly a level
    assert torch.all(torch.isclose(base.unsqueeze(-1), c).any(-1))
    assert q.rate_bound_bits == pytest.approx(5 * np.log2(levels))


@pytest.mark.parametrize("sigma", [0.5, 1.0, 4.0])
def test_backward_is_soft_gradient(sigma):
    """d(output)/dz is the derivative of sum_k c_k softmax(-sigma |z - c_k|) (Mentzer eq. 3)."""
    q = ScalarQuantizer("uq", 4, dim=3, sigma=sigma)
    g = torch.Generator().manual_seed(1)
    z = (torch.rand(50, 3, generator=g) * 1.8 - 0.9).requires_grad_(True)
    u = q.noise(50, g)
    q(z, u).sum().backward()
    z2 = z.detach().clone().requires_grad_(True)
    c = q.centers()
    soft = (torch.softmax(-sigma * (z2 + u).unsqueeze(-1).sub(c).abs(), -1) * c).sum(-1)
    soft.sum().backward()
    assert torch.allclose(z.grad, z2.grad, atol=1e-6)
    assert float(z.grad.abs().sum()) > 0


@pytest.mark.parametrize("kind", ["dq", "nq", "uq"])
def test_identity_gradient_is_straight_through(kind):
    """gradient="identity": the same hard values forward, d(output)/dz = 1 backward."""
    g = torch.Generator().manual_seed(3)
    z = (torch.rand(60, 4, generator=g) * 2 - 1).requires_grad_(True)
    hard = ScalarQuantizer(kind, 3, dim=4)
    ste = ScalarQuantizer(kind, 3, dim=4, gradient="identity")
    u = ste.noise(60, g)
    y = ste(z, u)
    assert torch.equal(y, hard(z, u))  # bit-identical forward values
    (grad,) = torch.autograd.grad((y * torch.arange(4.0)).sum(), z)
    assert torch.equal(grad, torch.arange(4.0).expand(60, 4))
    (g_soft,) = torch.autograd.grad(hard(z, u).sum(), z)
    assert not torch.allclose(g_soft, torch.ones_like(g_soft))  # the two estimators differ
    # soft=True ignores the estimator: the relaxation is the forward value and the gradient
    assert torch.equal(ste(z, u, soft=True), hard(z, u, soft=True))
    assert ste.describe()["gradient"] == "identity"


@pytest.mark.parametrize("kind", ["dq", "nq", "uq"])
def test_soft_forward_is_the_soft_assignment_with_the_same_gradient(kind):
    """soft=True: value sum_k c_k softmax(-sigma |v - c_k|) (then + u / - u), same gradient."""
    q = ScalarQuantizer(kind, 3, dim=2, sigma=2.0)
    g = torch.Generator().manual_seed(2)
    z = (torch.rand(40, 2, generator=g) * 2 - 1).requires_grad_(True)
    u = q.noise(40, g)
    v = z + u if kind == "uq" else z
    c = q.centers()
    relaxed = (torch.softmax(-2.0 * (v.unsqueeze(-1) - c).abs(), -1) * c).sum(-1)
    expect = {"dq": relaxed, "nq": relaxed + u, "uq": relaxed - u}[kind]
    y = q(z, u, soft=True)
    assert torch.allclose(y, expect, atol=1e-6)
    assert not torch.equal(y, q(z, u))  # not the hard values
    (g_soft,) = torch.autograd.grad(y.sum(), z)
    (g_hard,) = torch.autograd.grad(q(z, u).sum(), z)
    assert torch.allclose(g_soft, g_hard, atol=1e-6)


def test_uq_error_uniform_and_independent_of_input_even_at_edges():
    """c_s - u - z ~ U[-Δ/2, Δ/2] for every z in [-1, 1], including |z| > 1 - Δ/2."""
    L = 3
    q = ScalarQuantizer("uq", L, dim=1)
    half = level_step(L) / 2
    g = torch.Generator().manual_seed(2)
    n = 20000
    for lo, hi in [(-1.0, -1 + half), (-0.3, 0.3), (1 - half, 1.0)]:
        z = lo + (hi - lo) * torch.rand(n, 1, generator=g, dtype=torch.float64)
        u = q.noise(n, g).double()
        err = (q.decoder_input(q.symbols(z, u), u) - z).numpy().ravel()
        assert np.abs(err).max() <= half + 1e-12
        ks = stats.kstest(err, stats.uniform(loc=-half, scale=2 * half).cdf)
        assert ks.pvalue > 1e-3, (lo, hi, ks)
        # independence: the error does not correlate with the input
        r = np.corrcoef(err, z.numpy().ravel())[0, 1]
        assert abs(r) < 4 / np.sqrt(n)


def test_uq_error_not_uniform_outside_the_levels():
    """An encoder output beyond the end levels (no tanh) is clamped: the error is biased."""
    q = ScalarQuantizer("uq", 3, dim=1)
    z = torch.full((5000, 1), 1.4, dtype=torch.float64)
    u = q.noise(5000, torch.Generator().manual_seed(3)).double()
    err = (q.decoder_input(q.symbols(z, u), u) - z).numpy().ravel()
    assert err.mean() < -0.3


def test_nq_and_dq_decoder_inputs():
    q = ScalarQuantizer("nq", 5, dim=2)
    z = torch.tensor([[0.1, -0.6]])
    u = torch.tensor([[0.2, -0.1]])
    assert q.decoder_input(q.symbols(z, u), u)[0].tolist() == pytest.approx([0.2, -0.6])
    d = ScalarQuantizer("dq", 5, dim=2)
    assert d.decoder_input(d.symbols(z))[0].tolist() == pytest.approx([0.0, -0.5])


def test_dither_reproducible_and_in_range():
    a = dither(1000, [3, 3, 8], seed=11)
    b = dither(1000, [3, 3, 8], seed=11)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, dither(1000, [3, 3, 8], seed=12))
    assert np.abs(a[:, :2]).max() <= 0.5 and np.abs(a[:, 2]).max() <= 1 / 7
    assert a.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"kind": "xq", "levels": 3, "dim": 2}, ValueError, "quantizer"),
        ({"kind": "uq", "levels": 1, "dim": 2}, ValueError, "levels"),
        ({"kind": "uq", "levels": 3, "dim": 0}, ValueError, "dim"),
        ({"kind": "uq", "levels": 3.0, "dim": 2}, TypeError, "levels"),
        ({"kind": "uq", "levels": 3, "dim": 2, "sigma": 0}, ValueError, "sigma"),
        ({"kind": "uq", "levels": 3, "dim": 2, "gradient": "ste"}, ValueError, "gradient"),
    ],
)
def test_bad_arguments(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        ScalarQuantizer(**kwargs)


def test_bad_symbols_and_shapes():
    q = ScalarQuantizer("uq", 3, dim=2)
    with pytest.raises(ValueError, match="symbols"):
        q.decoder_input(torch.tensor([[0, 3]]), torch.zeros(1, 2))
    with pytest.raises(TypeError, match="symbols"):
        q.decoder_input(torch.tensor([[0.0, 1.0]]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="latents"):
        q.symbols(torch.zeros(4, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="noise"):
        q(torch.zeros(4, 2))
