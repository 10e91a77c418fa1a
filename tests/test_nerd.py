"""NERD (seed 002): the beta solver, the streaming estimate, training, run directories, CLI."""

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rdlab.sources.nerd_sources  # noqa: E402, F401 - registers the NERD sources
from rdlab.core.rundir import RunDir  # noqa: E402
from rdlab.estimators.generators import make_generator  # noqa: E402
from rdlab.estimators.nerd import (  # noqa: E402
    LN2,
    NERDCeilingWarning,
    NERDConfig,
    estimate_rate,
    logsumexp_rows,
    nerd_curve,
    nerd_point,
    pairwise_distortion,
    solve_beta,
    tilted_distortion,
)
from rdlab.sources.base import GaussianSource  # noqa: E402
from rdlab.sources.registry import make_source  # noqa: E402
from rdlab.theory.gaussian import (  # noqa: E402
    gaussian_test_channel,
    reverse_water_filling_at_rate,
    vector_gaussian_rate_distortion,
)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _dual(d, beta, target):
    """beta D - mean_i log mean_j exp(beta d_ij), in nats (brute force, float64 numpy)."""
    a = beta * d
    top = a.max(1, keepdims=True)
    lme = top[:, 0] + np.log(np.exp(a - top).mean(1))
    return beta * target - lme.mean()


# -- the inner maximisation ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_solve_beta_matches_brute_force_grid(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(2, 40, size=2)
    d = rng.gamma(2.0, 1.0 + 3 * rng.random(), size=(n, m)) * (1 + rng.random((n, 1)))
    d_min, d0 = d.min(1).mean(), d.mean()
    for frac in (0.05, 0.3, 0.7, 0.95):
        target = d_min + frac * (d0 - d_min)
        sol = solve_beta(d, target)
        assert sol.feasible and sol.converged
        assert sol.distortion == pytest.approx(target, rel=1e-9)
        grid = np.linspace(min(4 * sol.beta_nats, -1e-3), 0.0, 4001)
        a = grid[:, None, None] * d[None]
        top = a.max(2, keepdims=True)
        lme = top[..., 0] + np.log(np.exp(a - top).mean(2))
        values = grid * target - lme.mean(1)
        best = values.max()
        # the solver's objective is the supremum: never below the grid, and the grid's best
        # point is the solver's beta up to the grid spacing
        assert sol.rate_bits * LN2 >= best - 1e-12
        assert sol.rate_bits * LN2 - best < 1e-6
        assert abs(grid[values.argmax()] - sol.beta_nats) <= 2 * (grid[1] - grid[0])


def test_solve_beta_edges_and_bad_input():
    d = np.array([[1.0, 3.0], [2.0, 0.5]])
    at_zero = solve_beta(d, d.mean())
    assert at_zero.beta_nats == 0.0 and at_zero.rate_bits == 0.0
    infeasible = solve_beta(d, d.min(1).mean())
    assert not infeasible.feasible and infeasible.rate_bits == math.inf
    warm = solve_beta(d, 1.2, beta_init=-50.0)
    cold = solve_beta(d, 1.2)
    assert warm.beta_nats == pytest.approx(cold.beta_nats, rel=1e-8)
    with pytest.raises(ValueError, match="finite"):
        solve_beta([[1.0, np.nan]], 0.5)
    with pytest.raises(ValueError, match=">= 0"):
        solve_beta([[1.0, -1.0]], 0.5)
    with pytest.raises(ValueError, match="2-D"):
        solve_beta([1.0, 2.0], 0.5)
    with pytest.raises(ValueError, match="> 0"):
        solve_beta(d, 0.0)


def test_tilted_distortion_is_monotone_and_its_derivative_is_the_variance():
    rng = np.random.default_rng(3)
    d = rng.exponential(2.0, size=(30, 50))
    betas = np.linspace(-5, 0, 60)
    values = [tilted_distortion(d, b)[0] for b in betas]
    assert np.all(np.diff(values) >= -1e-12)
    b, h = -0.7, 1e-6
    numeric = (tilted_distortion(d, b + h)[0] - tilted_distortion(d, b - h)[0]) / (2 * h)
    assert tilted_distortion(d, b)[1] == pytest.approx(numeric, rel=1e-5)


def test_erratum_algorithm1_printed_equation_is_not_eq8():
    """E002-4: Algorithm 1 weights only the diagonal d(x_i, G(z_i)); that function of beta is
    not the derivative of the dual (6) and can run the wrong way, so its root is not beta*."""
    d = np.array([[1.0, 3.0], [3.0, 1.0]])

    def printed(beta):
        k = np.exp(beta * d)
        b = d.shape[0]
        return np.mean(np.diag(d) * b * np.diag(k) / k.sum(1))

    betas = np.linspace(-4, 0, 50)
    p = [printed(b) for b in betas]
    t = [tilted_distortion(d, b)[0] for b in betas]
    assert np.all(np.diff(p) < 0)  # printed: decreasing in beta
    assert np.all(np.diff(t) > 0)  # eq. (8): increasing in beta
    target = 1.2
    sol = solve_beta(d, target)
    # the printed equation's root: 2 / (1 + e^{2 beta}) = 1.2
    beta_printed = 0.5 * math.log(2 / target - 1)
    assert printed(beta_printed) == pytest.approx(target)
    assert _dual(d, sol.beta_nats, target) > _dual(d, beta_printed, target) + 0.1


def test_official_code_lagrangian_loss_is_minimised_by_a_point_mass():
    """The official code's Lagrangian loss is the rate beta D_beta(Q) - Lambda_Q(beta) alone; a
    point mass has rate 0 and so minimises it. rdlab's loss -Lambda_Q(beta) = R + |beta| D is
    the Lagrangian, minimised (among these two) by the optimal Q_Y*."""
    src = GaussianSource([4.0, 1.0])
    wf = reverse_water_filling_at_rate(src.eigenvalues, 1.5)
    ch = gaussian_test_channel(src, wf.distortion)
    x = src.sample(1000, seed=0)
    beta = wf.slope * LN2
    y_opt = ch.sample_output(2000, seed=1)
    y_point = np.zeros((2000, 2))

    def objectives(y):
        d = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
        lam, dbar, _ = (v.numpy() for v in _tilted_rows_np(d, beta))
        lam = lam - math.log(y.shape[0])
        return beta * dbar.mean() - lam.mean(), -lam.mean()  # official, rdlab (nats)

    official_opt, ours_opt = objectives(y_opt)
    official_point, ours_point = objectives(y_point)
    assert official_point == pytest.approx(0.0, abs=1e-9) and official_opt > 0.5
    assert official_point < official_opt  # the official loss prefers the collapsed Q
    assert ours_opt < ours_point - 0.1  # the Lagrangian prefers the optimal Q


def _tilted_rows_np(d, beta):
    from rdlab.estimators.nerd import _tilted_rows

    return _tilted_rows(torch.tensor(d, dtype=torch.float64), beta)


# -- the final estimate with the exact optimal output law -----------------------------------------


def _exact_per_x(source, channel, x, beta):
    """Per-x log E_{Q*} e^{beta d(x, Y)} and tilted mean, in closed form (M = infinity)."""
    u = (x - source.mean) @ source.eigenvectors
    v = channel.output_variance
    den = 1.0 - 2.0 * beta * v
    lam = (-0.5 * np.log(den) + beta * u**2 / den).sum(1)
    dbar = (v / den + u**2 / den**2).sum(1)
    return lam, dbar


@pytest.mark.parametrize(("rate", "m"), [(2.0, 20_000), (8.0, 100_000)])
def test_exact_optimal_output_law_gives_rd_within_005_bit(rate, m):
    """Constrained mode with the exact Q_Y* of the theory layer: the estimate at D is R(D)."""
    from scipy.optimize import minimize_scalar

    src = make_source("gaussian20")
    wf = reverse_water_filling_at_rate(src.eigenvalues, rate)
    ch = gaussian_test_channel(src, wf.distortion)
    x = src.sample(500, seed=12)
    est = estimate_rate(
        ch.sample_output,
        x,
        seed=6,
        target_distortion=wf.distortion,
        n_samples=m,
        beta_init=0.9 * wf.slope * LN2,
    )
    # sup over beta of the exact dual objective on the same x (M = infinity)
    res = minimize_scalar(
        lambda b: -(b * wf.distortion - _exact_per_x(src, ch, x, b)[0].mean()),
        bounds=(10 * wf.slope * LN2, 0.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    exact_rate = -res.fun / LN2
    # same x, exact inner expectation: the estimator's own (M-sample) error is below 0.05 bit
    assert abs(est.rate_bits - exact_rate) < 0.05
    assert est.distortion == pytest.approx(wf.distortion, rel=1e-3)
    assert est.beta_nats == pytest.approx(res.x, rel=0.05)
    assert est.passes <= 8
    # and over x it is R(D) up to its standard error
    assert abs(exact_rate - rate) < 4 * est.rate_stderr_bits
    assert abs(est.rate_bits - rate) < 0.05 + 4 * est.rate_stderr_bits
    assert est.ceiling_bits == pytest.approx(math.log2(m)) and not est.near_ceiling


@pytest.mark.parametrize(("rate", "m"), [(2.0, 20_000), (8.0, 100_000)])
def test_exact_optimal_output_law_lagrangian_point_is_on_the_curve(rate, m):
    """Lagrangian mode: (R, D) at the slope lies on the exact curve at its own distortion."""
    src = make_source("gaussian20")
    wf = reverse_water_filling_at_rate(src.eigenvalues, rate)
    ch = gaussian_test_channel(src, wf.distortion)
    x = src.sample(1000, seed=11)
    beta = wf.slope * LN2
    est = estimate_rate(ch.sample_output, x, seed=5, slope=wf.slope, n_samples=m)
    lam, dbar = _exact_per_x(src, ch, x, beta)
    exact_rate = float(np.mean(beta * dbar - lam)) / LN2
    exact_d = float(dbar.mean())
    # the exact curve of these x near D*: R*(D) = R* + slope (D - D*) to first order
    on_curve = exact_rate + wf.slope * (est.distortion - exact_d)
    assert abs(est.rate_bits - on_curve) < 0.05
    assert est.distortion == pytest.approx(exact_d, rel=0.02)
    assert abs(exact_rate - rate) < 4 * est.rate_stderr_bits


def test_estimate_is_chunk_invariant_and_warns_near_ceiling():
    src = GaussianSource([4.0, 1.0])
    ch = gaussian_test_channel(src, 0.5)
    x = src.sample(200, seed=1)
    a = estimate_rate(ch.sample_output, x, seed=3, slope=-2.0, n_samples=3000, chunk_size=3000)
    b = estimate_rate(ch.sample_output, x, seed=3, slope=-2.0, n_samples=3000, chunk_size=3000)
    assert a == b
    # chunks change which samples are drawn, not the streaming arithmetic: same samples, any
    # chunk size, same numbers
    fixed = src.sample(3000, seed=9)
    draw = lambda n, s: fixed[:n] if n == 3000 else None  # noqa: E731
    one = estimate_rate(draw, x, seed=0, slope=-2.0, n_samples=3000, chunk_size=3000)
    pieces = {}

    def chunked(n, s):
        k = len(pieces)
        pieces[k] = fixed[k * 700 : k * 700 + n]
        return pieces[k]

    many = estimate_rate(chunked, x, seed=0, slope=-2.0, n_samples=3000, chunk_size=700)
    assert many.rate_bits == pytest.approx(one.rate_bits, abs=1e-10)
    assert many.distortion == pytest.approx(one.distortion, abs=1e-10)
    wf = reverse_water_filling_at_rate(make_source("gaussian20").eigenvalues, 7.0)
    ch20 = gaussian_test_channel(make_source("gaussian20"), wf.distortion)
    with pytest.warns(NERDCeilingWarning, match="ceiling"):
        capped = estimate_rate(
            ch20.sample_output,
            make_source("gaussian20").sample(100, seed=1),
            seed=1,
            slope=wf.slope,
            n_samples=16,
        )
    assert capped.near_ceiling and capped.ceiling_bits == 4.0
    assert capped.rate_bits <= capped.ceiling_bits + 1e-9


def test_infeasible_target_gives_infinite_rate_with_a_warning():
    from rdlab.estimators.nerd import NERDInfeasibleWarning

    x = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.warns(NERDInfeasibleWarning, match="least distortion"):
        est = estimate_rate(
            lambda n, s: np.full((n, 2), 3.0), x, seed=0, target_distortion=1.0, n_samples=100
        )
    assert est.rate_bits == math.inf and not est.converged and est.distortion > 1.0


def test_estimate_rejects_bad_input():
    x = np.zeros((5, 2))
    zeros = lambda n, s: np.zeros((n, 2))  # noqa: E731
    with pytest.raises(ValueError, match="exactly one"):
        estimate_rate(zeros, x, seed=0, n_samples=10)
    with pytest.raises(ValueError, match="slope must be <= 0"):
        estimate_rate(zeros, x, seed=0, slope=0.5, n_samples=10)
    with pytest.raises(ValueError, match="finite"):
        estimate_rate(zeros, np.full((5, 2), np.nan), seed=0, slope=-1.0, n_samples=10)
    with pytest.raises(ValueError, match="non-finite"):
        estimate_rate(lambda n, s: np.full((n, 2), np.inf), x, seed=0, slope=-1.0, n_samples=10)
    with pytest.raises(ValueError, match="shape"):
        estimate_rate(lambda n, s: np.zeros((n, 3)), x, seed=0, slope=-1.0, n_samples=10)
    with pytest.raises(ValueError, match="device"):
        estimate_rate(zeros, x, seed=0, slope=-1.0, n_samples=10, device="tpu")
    with pytest.raises(ValueError, match="distortion"):
        estimate_rate(zeros, x, seed=0, slope=-1.0, n_samples=10, distortion="sq-l0.5")


@pytest.mark.parametrize("spread", [1.0, 60.0, 400.0, 5000.0])
def test_training_logsumexp_matches_torch_in_value_and_gradient(spread):
    # rows spanning up to 5000 nats: the floor at max - 70 nats changes nothing visible
    gen = torch.Generator().manual_seed(int(spread))
    a64 = -spread * torch.rand(7, 300, generator=gen, dtype=torch.float64)
    a64[:, 3] = a64[:, 3] + spread  # distinct row maxima
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 2e-6)):
        a = a64.to(dtype).clone().requires_grad_(True)
        b = a64.to(dtype).clone().requires_grad_(True)
        got, want = logsumexp_rows(a), torch.logsumexp(b, dim=1)
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)
        w = torch.arange(1.0, 8.0, dtype=dtype)
        (got * w).sum().backward()
        (want * w).sum().backward()
        assert a.grad is not None and b.grad is not None
        torch.testing.assert_close(a.grad, b.grad, rtol=tol, atol=tol)
    assert torch.autograd.gradcheck(logsumexp_rows, (a64[:2, :20].clone().requires_grad_(True),))


# -- distortions and generators --------------------------------------------------------------------


def test_pairwise_distortions_values_and_finite_gradients_at_zero():
    from rdlab.core.distortion import squared_error, squared_lp

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    y = rng.standard_normal((5, 3))
    for name, ref in (("mse", squared_error), ("sq-l1", squared_lp(1)), ("sq-l3", squared_lp(3))):
        got = pairwise_distortion(name)(torch.tensor(x), torch.tensor(y)).numpy()
        want = np.array([[ref(a, b) for b in y] for a in x])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        yt = torch.tensor(x[:2].copy(), requires_grad=True)  # y equal to x: d = 0 on the diagonal
        pairwise_distortion(name)(torch.tensor(x[:2]), yt).sum().backward()
        assert torch.isfinite(yt.grad).all()


def test_generators_shapes_ranges_and_errors():
    mlp = make_generator("mlp", (20,))
    assert mlp.latent_dim == 20 and mlp(torch.randn(3, 20)).shape == (3, 20)
    assert mlp.architecture["params"] == {"width": 20}
    dc = make_generator("dcgan", (3, 32, 32), channels=4)
    out = dc(torch.randn(2, 128))
    assert out.shape == (2, 3, 32, 32)
    assert float(out.detach().min()) >= 0 and float(out.detach().max()) <= 1
    first = dc.deconv[0]
    assert first.in_channels == 32 and dc.project[0].out_features == 32 * 2 * 2
    assert make_generator("dcgan", (1, 8, 8), layers=3)(torch.randn(2, 128)).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="divisible"):
        make_generator("dcgan", (1, 28, 28))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        make_generator("dcgan", (20,))
    with pytest.raises(ValueError, match="unknown generator"):
        make_generator("vae", (20,))


# -- training ---------------------------------------------------------------------------------------

SMALL = NERDConfig(
    steps=400,
    batch_size=256,
    generator_batch=1024,
    lr=5e-3,
    n_train=20_000,
    n_eval=8192,
    eval_samples=20_000,
    generator_params={"width": 16},
    checkpoint_every=100,
)


def test_short_training_on_4dim_gaussian_reaches_rd_within_01_bit():
    src = GaussianSource([4.0, 2.0, 1.0, 0.5])
    wf = reverse_water_filling_at_rate(src.eigenvalues, 2.0)
    lag = nerd_point(src, seed=0, slope=wf.slope, config=SMALL)
    assert abs(lag.excess_rate_bits) < 0.1
    assert lag.closed_form_rate_bits == pytest.approx(
        float(vector_gaussian_rate_distortion(lag.distortion, src))
    )
    assert lag.d_max == pytest.approx(7.5)
    assert lag.d_max_empirical == pytest.approx(7.5, rel=0.05)  # zero-rate check E||X - mu||^2
    cfg = NERDConfig(**{**SMALL.to_dict(), "n_eval": 2048, "eval_samples": 10_000})
    con = nerd_point(src, seed=0, target_distortion=wf.distortion, config=cfg)
    assert con.distortion == pytest.approx(wf.distortion, rel=1e-3)
    assert abs(con.rate_bits - 2.0) < 0.1 + 2 * con.rate_stderr_bits


def _sparse_strokes(n: int, seed: int) -> np.ndarray:
    """MNIST-like images: dark 16x16 frames with one bright bar each (mean pixel about 0.1)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 16, 16), dtype=np.float32)
    for i in range(n):
        r, c = rng.integers(6, 9, size=2)
        if rng.random() < 0.5:
            x[i, 0, r : r + 2, 2:14] = 1.0
        else:
            x[i, 0, 2:14, c : c + 2] = 1.0
    return x


def test_dcgan_on_dark_images_does_not_collapse_to_black():
    # From the default initialisation the sigmoid output saturated at 0 on MNIST (D = E||X||^2,
    # worse than D_max); the output bias now starts at logit(mean pixel).
    from rdlab.sources.base import EmpiricalSource

    x = _sparse_strokes(600, seed=3)
    d_max = float(((x - x.mean(0)) ** 2).sum((1, 2, 3)).mean())
    black = float((x**2).sum((1, 2, 3)).mean())
    assert black > 1.5 * d_max
    cfg = NERDConfig(
        steps=60, batch_size=64, generator_batch=256, lr=2e-3, n_eval=100, eval_samples=2048
    )
    res = nerd_point(EmpiricalSource(x), seed=0, slope=-30.0 / d_max, config=cfg)
    # collapsed: D = 23.5 (the black image's 24); now at the zero-rate point or below it
    assert res.distortion < 1.05 * d_max


def test_bfloat16_training_runs_the_generator_in_bfloat16_and_estimates_in_float():
    """train_precision="bfloat16": the generator's training passes under autocast (its
    convolutions see bfloat16), its weights and the final estimate stay float; the same
    guarantee against collapse as in float32."""
    import torch

    from rdlab.estimators.nerd import train_generator
    from rdlab.sources.base import EmpiricalSource

    x = _sparse_strokes(300, seed=3)
    d_max = float(((x - x.mean(0)) ** 2).sum((1, 2, 3)).mean())
    cfg = NERDConfig(
        steps=30, batch_size=32, generator_batch=128, lr=2e-3, train_precision="bfloat16"
    )
    torch.manual_seed(0)
    gen = make_generator("dcgan", x.shape[1:], layers=2, channels=4)
    gen.init_output_mean([float(x.mean())])
    seen: set = set()
    gen.deconv[0].register_forward_hook(lambda m, i, o: seen.add(o.dtype))
    state = train_generator(gen, x, seed=0, config=cfg, slope=-30.0 / d_max)
    assert seen == {torch.bfloat16} and state.step == 30
    assert all(p.dtype == torch.float32 for p in gen.parameters())
    assert all(np.isfinite(h["rate_bits"]) for h in state.history)
    with torch.no_grad():
        assert gen(torch.randn(2, 128)).dtype == torch.float32  # sampling outside training
    full = dataclasses.replace(cfg, steps=60, generator_batch=256, n_eval=100, eval_samples=2048)
    res = nerd_point(EmpiricalSource(x), seed=0, slope=-30.0 / d_max, config=full)
    assert np.isfinite(res.rate_bits) and res.distortion < 1.05 * d_max
    with pytest.raises(ValueError, match="train_precision must be one of"):
        NERDConfig(train_precision="float16")


def test_nerd_point_rejects_bad_input(tmp_path):
    cfg = NERDConfig(steps=2, n_train=100, n_eval=20, eval_samples=64, generator_batch=16)
    with pytest.raises(ValueError, match=r"\(D_min, D_max\)"):
        nerd_point("gaussian20", seed=0, target_distortion=20.0, config=cfg)
    with pytest.raises(ValueError, match=r"\(D_min, D_max\)"):
        nerd_point("gaussian20", seed=0, target_distortion=-1.0, config=cfg)
    with pytest.raises(ValueError, match="slope must be < 0"):
        nerd_point("gaussian20", seed=0, slope=0.3, config=cfg)
    with pytest.raises(ValueError, match="exactly one"):
        nerd_point("gaussian20", seed=0, config=cfg)
    with pytest.raises(ValueError, match="unknown source"):
        nerd_point("nope", seed=0, slope=-1.0, config=cfg)

    class Broken(GaussianSource):
        def sample(self, n, seed):
            out = super().sample(n, seed)
            out[0, 0] = np.nan
            return out

    with pytest.raises(ValueError, match="non-finite"):
        nerd_point(Broken([1.0, 1.0]), seed=0, slope=-1.0, config=cfg)


def test_sweep_points_do_not_depend_on_order():
    src = GaussianSource([2.0, 1.0])
    cfg = NERDConfig(steps=30, n_train=500, n_eval=100, eval_samples=500, generator_batch=64)
    a, _ = nerd_curve(src, seed=3, slopes=[-1.0, -3.0], config=cfg)
    b, curve = nerd_curve(src, seed=3, slopes=[-3.0, -1.0], config=cfg)
    assert a[0].rate_bits == b[1].rate_bits and a[1].rate_bits == b[0].rate_bits
    assert len(curve) == 2 and curve.points[0].method == "nerd"


# -- run directories and checkpoints ----------------------------------------------------------------


def test_run_dir_no_clobber_and_exact_resume(tmp_path, monkeypatch):
    src = GaussianSource([2.0, 1.0, 0.5])
    cfg = NERDConfig(
        steps=60,
        n_train=2000,
        n_eval=200,
        eval_samples=1000,
        generator_batch=128,
        checkpoint_every=20,
        log_every=10,
    )
    full = nerd_point(src, seed=1, slope=-2.0, config=cfg, run_dir=tmp_path / "full")
    for name in ("config.json", "results.json", "generator.safetensors", "training.png"):
        assert (tmp_path / "full" / name).exists()
    with pytest.raises(FileExistsError, match="--resume"):
        nerd_point(src, seed=1, slope=-2.0, config=cfg, run_dir=tmp_path / "full")
    with pytest.raises(ValueError, match=r"differs in .*slope"):
        nerd_point(src, seed=1, slope=-1.0, config=cfg, run_dir=tmp_path / "full", resume=True)

    # interrupt a second run after its second checkpoint, then resume it
    saved = []
    original = RunDir.save_checkpoint

    def interrupting(self, *a, **k):
        out = original(self, *a, **k)
        saved.append(1)
        if len(saved) == 2:
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(RunDir, "save_checkpoint", interrupting)
    with pytest.raises(KeyboardInterrupt):
        nerd_point(src, seed=1, slope=-2.0, config=cfg, run_dir=tmp_path / "cut")
    monkeypatch.setattr(RunDir, "save_checkpoint", original)
    assert not (tmp_path / "cut" / "results.json").exists()
    resumed = nerd_point(src, seed=1, slope=-2.0, config=cfg, run_dir=tmp_path / "cut", resume=True)
    assert resumed.rate_bits == full.rate_bits and resumed.distortion == full.distortion
    assert resumed.history == full.history
    again = nerd_point(
        src, seed=1, slope=-2.0, config=cfg, run_dir=tmp_path / "full", overwrite=True
    )
    assert again.rate_bits == full.rate_bits


def test_checkpoint_from_another_architecture_is_refused(tmp_path):
    rd = RunDir(tmp_path / "run")
    rd.open({"a": 1})
    g = make_generator("mlp", (4,), width=8)
    rd.save_checkpoint("generator", dict(g.state_dict()), {"step": 3}, architecture=g.architecture)
    tensors, meta = rd.load_checkpoint("generator", architecture=g.architecture)
    assert meta["step"] == 3 and set(tensors) == set(g.state_dict())
    other = make_generator("mlp", (4,), width=16)
    with pytest.raises(ValueError, match="written by architecture"):
        rd.load_checkpoint("generator", architecture=other.architecture)
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "run" / "foreign.safetensors"))
    with pytest.raises(ValueError, match="not an rdlab checkpoint"):
        rd.load_checkpoint("foreign")
    (tmp_path / "run" / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        rd.load_checkpoint("junk")
    with pytest.raises(FileNotFoundError):
        rd.load_checkpoint("missing")


def test_resume_with_a_different_generator_is_refused(tmp_path):
    src = GaussianSource([2.0, 1.0])
    cfg = NERDConfig(steps=10, n_train=200, n_eval=50, eval_samples=100, generator_batch=32)
    nerd_point(src, seed=0, slope=-1.0, config=cfg, run_dir=tmp_path / "r")
    wide = NERDConfig(**{**cfg.to_dict(), "generator_params": {"width": 7}})
    with pytest.raises(ValueError, match="differs in"):
        nerd_point(src, seed=0, slope=-1.0, config=wide, run_dir=tmp_path / "r", resume=True)


# -- sources ----------------------------------------------------------------------------------------


def test_nerd_gaussian_sources():
    g = make_source("gaussian20-text")
    np.testing.assert_allclose(g.eigenvalues, 4 * np.exp(-np.arange(20) / 16), rtol=1e-9)
    g40 = make_source("gaussian40")
    np.testing.assert_allclose(g40.eigenvalues, 4 * np.exp(-np.arange(40) / 4), rtol=1e-9)
    from rdlab.sources.registry import stored_rotation as nerd_stored_rotation

    v = nerd_stored_rotation(40)
    np.testing.assert_allclose(v @ v.T, np.eye(40), atol=1e-12)
    assert not np.allclose(np.abs(v), np.eye(40))
    with pytest.raises(ValueError, match="no stored rotation"):
        nerd_stored_rotation(30)


def test_images_on_digits_with_dcgan():
    src = make_source("digits")
    cfg = NERDConfig(
        steps=15,
        batch_size=32,
        generator_batch=64,
        n_eval=100,
        eval_samples=256,
        generator_params={"channels": 4},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NERDCeilingWarning)
        res = nerd_point(src, seed=0, slope=-1.0, config=cfg)
    assert res.architecture["name"] == "dcgan" and res.architecture["params"]["layers"] == 3
    assert res.closed_form_rate_bits is None and 0 < res.d_max_empirical < 64
    assert np.isfinite(res.rate_bits) and res.rate_bits >= -3 * res.rate_stderr_bits


# -- command line -----------------------------------------------------------------------------------


TINY = ("--preset", "quick", "--steps", "20", "--n-eval", "64", "--eval-samples", "256")


def test_cli_json_points_shape_and_run_dir(cli, tmp_path):
    code, out, _ = cli("nerd", "--source", "gaussian", "--beta=-1,-2", *TINY, "--json")
    assert code == 0
    obj = json.loads(out)
    assert len(obj["points"]) == 2
    for p in obj["points"]:
        assert {"rate_bits", "distortion", "rate_stderr_bits", "slope"} <= set(p)
    assert obj["points"][0]["slope"] == pytest.approx(-1 / LN2)
    run = tmp_path / "run"
    code, out, err = cli("nerd", "--source", "gaussian20", "--D", "8", *TINY, "--out", str(run))
    assert code == 0 and "rate [bits]" in out and "R - R(D)" in out
    assert (run / "results.json").exists() and (run / "point-00" / "generator.safetensors").exists()
    code, _, err = cli("nerd", "--source", "gaussian20", "--D", "8", *TINY, "--out", str(run))
    assert code == 2 and "--resume" in err
    code, out, _ = cli(
        "nerd",
        "--source",
        "gaussian20",
        "--D",
        "8",
        *TINY,
        "--out",
        str(run),
        "--resume",
        "--json",
    )
    assert code == 0 and json.loads(out)["points"][0]["target_distortion"] == 8.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--source", "gaussian20", "--D", "50"), "D_max"),
        (("--source", "gaussian20", "--slope", "0.5"), "must be < 0"),
        (("--source", "gaussian20", "--D", "1", "--distortion", "abs"), "distortion"),
        (("--source", "mnist", "--D", "1", "--data-dir", "/nonexistent"), "train-images"),
        (("--source", "gaussian20", "--D", "1", "--resume"), "--out"),
        (("--source", "gaussian20", "--D", "1", "--device", "cuda:x"), "device"),
    ],
)
def test_cli_bad_input_is_one_line(cli, argv, message):
    code, _, err = cli("nerd", *argv, *TINY)
    assert code == 2 and message in err and "Traceback" not in err


def test_experiments_are_registered():
    import rdlab.experiments.registry as reg
    import rdlab.experiments.seed002_nerd  # noqa: F401

    for name in ("002-fig1", "002-fig2", "002-fig7", "002-fig15", "002-fig4"):
        assert reg.EXPERIMENTS[name].paper == "002"


@pytest.mark.slow
def test_quick_point_on_gaussian20_is_close_to_closed_form():
    from rdlab.estimators.nerd import nerd_quick_point

    res = nerd_quick_point()
    assert abs(res.excess_rate_bits) < 0.1 + 3 * res.rate_stderr_bits


@pytest.mark.slow
@pytest.mark.parametrize("name", ["002-fig4", "002-fig15"])
def test_quick_reproductions_run(tmp_path, monkeypatch, name):
    import rdlab.experiments.registry as reg

    monkeypatch.setattr(reg, "EXPERIMENT_MODULES", ("rdlab.experiments.seed002_nerd",))
    out = reg.run_experiment(name, tmp_path / name)
    if name == "002-fig4":
        assert out["zero_rate_check"]["relative_difference"] < 0.05
        assert (tmp_path / name / "higher-rate" / "samples.png").exists()
    else:
        assert out["max_abs_excess_rate_bits"] < 0.5


def test_fig1_ba_on_samples_and_nerd_with_tiny_settings(tmp_path, monkeypatch):
    import rdlab.experiments.seed002_nerd as fig

    monkeypatch.delenv("RDLAB_DATA", raising=False)
    tiny = {
        "n_ba": 60,
        "ba_points": 5,
        "nerd": {
            "steps": 400,
            "batch_size": 64,
            "generator_batch": 64,
            "eval_samples": 512,
            "n_eval": 100,
            "lr": 5e-3,
            "generator_params": {"channels": 4},
        },
        "slopes_times_d_max": [-30.0],
        "ntc_weights": [300.0],
        "ntc": {"latent_dim": 2, "width": 8, "steps": 30, "batch_size": 32, "n_eval": 60},
    }
    monkeypatch.setitem(fig.FIG1_SETTINGS, "quick", tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NERDCeilingWarning)
        out = fig.fig1(tmp_path, "quick", 0, fig.ExperimentOptions())
    assert out["source"] == "digits" and (tmp_path / "curve.png").exists()
    ba = out["blahut_arimoto_on_samples"]
    rates, dists = np.asarray(ba["rate_bits"]), np.asarray(ba["distortion"])
    # the empirical curve: zero distortion at H(P_n) <= log2 n, zero rate at D_max of BA >= D_max
    assert rates[0] <= np.log2(60) + 1e-9 and dists[0] == 0.0
    assert rates.max() <= np.log2(60) + 1e-6 and rates[-1] == 0.0
    assert np.all(np.diff(dists) >= -1e-9) and np.all(np.diff(rates) <= 1e-6)
    assert ba["d_max_ba"] >= 0.95 * out["d_max"]
    for p in out["nerd_points"]:
        assert np.isfinite(p["rate_bits"]) and np.isfinite(p["distortion"])
    assert out["zero_rate_check"]["relative_difference"] < 0.05
    (ntc,) = out["ntc_points"]  # in NERD's unit: squared error summed over the 8x8 image
    assert ntc["distortion_measure"] == "squared_error" and 0 < ntc["distortion"] < 64
    assert ntc["nerd_interpolated_rate_bits"] is None or ntc["excess_rate_bits"] is not None


def test_fig20_generator_capacity_with_tiny_settings(tmp_path, monkeypatch):
    import rdlab.experiments.seed002_nerd as fig

    monkeypatch.delenv("RDLAB_DATA", raising=False)
    tiny = {
        "channels": [2, 4],
        "slopes_times_d_max": [-30.0],
        "nerd": {"steps": 50, "batch_size": 32, "generator_batch": 64, "eval_samples": 256,
                 "n_eval": 60, "lr": 5e-3},
    }  # fmt: skip
    monkeypatch.setitem(fig.FIG20_SETTINGS, "quick", tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NERDCeilingWarning)
        out = fig.fig20(tmp_path, "quick", 0, fig.ExperimentOptions())
    assert [p["channels"] for p in out["points"]] == [2, 4]
    for p in out["points"]:
        assert p["objective_bits"] == pytest.approx(p["rate_bits"] - p["slope"] * p["distortion"])
    assert (tmp_path / "fig20_capacity.png").stat().st_size > 0
    arch = json.loads((tmp_path / "c4" / "slope-0" / "config.json").read_text())["architecture"]
    assert arch["params"]["channels"] == 4


def test_fig6_sandwich_with_tiny_settings(tmp_path, monkeypatch):
    import rdlab.experiments.seed002_nerd as fig

    monkeypatch.delenv("RDLAB_DATA", raising=False)
    tiny = {
        "slopes_times_d_max": [-30.0],
        "nerd": {"steps": 50, "batch_size": 32, "generator_batch": 64, "eval_samples": 256,
                 "n_eval": 60, "lr": 5e-3, "generator_params": {"channels": 4}},
        "lower_bound": "quick",
    }  # fmt: skip
    monkeypatch.setitem(fig.FIG6_SETTINGS, "quick", tiny)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NERDCeilingWarning)
        out = fig.fig6(tmp_path, "quick", 0, fig.ExperimentOptions())
    (p,) = out["points"]
    assert p["rd_lower_bits"] == max(0.0, p["intercept_bits"] + p["slope"] * p["distortion"])
    assert p["bracket_width_bits"] == pytest.approx(p["rd_upper_bits"] - p["rd_lower_bits"])
    assert (tmp_path / "fig6_sandwich.png").stat().st_size > 0
