"""Tests of the finite-alphabet rate-distortion solvers (rdlab.solvers)."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdlab.core import binary_entropy, distortion_matrix
from rdlab.solvers import _kernel as kern_mod
from rdlab.solvers import (
    blahut_arimoto,
    blahut_arimoto_at_distortion,
    blahut_arimoto_empirical,
    check_memory,
    distortion_range,
    estimate_memory_bytes,
    rate_distortion_curve,
    rate_distortion_solutions,
)
from rdlab.sources.discretize import discretized_gaussian

HAMMING = np.array([[0.0, 1.0], [1.0, 0.0]])
# rounding slack for "bound <= closed form" comparisons (the bounds are exact up to float error)
ROUND = 1e-11


def bernoulli_rd(p: float, D: float) -> float:
    return float(binary_entropy(p) - binary_entropy(D)) if D < min(p, 1 - p) else 0.0


@pytest.fixture(scope="module")
def gauss1000():
    x, p = discretized_gaussian(1000, 6.0)
    return p, distortion_matrix(x)


# ------------------------------------------------------------------------------------------
# closed forms
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["newton", "ba"])
@pytest.mark.parametrize("p", [0.1, 0.2, 0.35])
@pytest.mark.parametrize("frac", [0.05, 0.3, 0.7, 0.97])
def test_bernoulli_hamming_matches_closed_form(p, frac, method):
    D = frac * p
    slope = math.log2(D / (1 - D))  # dR/dD of h(p) - h(D)
    sol = blahut_arimoto([1 - p, p], HAMMING, slope, method=method)
    assert sol.converged
    assert sol.gap_bits <= 1e-6
    # at a fixed slope D_s is only as accurate as ~sqrt(gap) (near D_max R(D) is flat); the
    # certified claim is about R at the achieved D_s
    assert sol.distortion == pytest.approx(D, abs=1e-3)
    exact = bernoulli_rd(p, sol.distortion)
    assert abs(sol.rate_bits - exact) <= 1e-6
    assert sol.rate_lower_bits - ROUND <= exact <= sol.rate_upper_bits + ROUND
    # channel and output marginal are consistent
    np.testing.assert_allclose(sol.channel.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.array([1 - p, p]) @ sol.channel, sol.output_pmf, atol=1e-9)


@pytest.mark.parametrize("p", [0.2, 0.4])
@pytest.mark.parametrize("D", [0.01, 0.1, 0.19])
def test_at_distortion_bernoulli_brackets_closed_form(p, D):
    sol = blahut_arimoto_at_distortion([1 - p, p], HAMMING, D)
    exact = bernoulli_rd(p, D)
    assert sol.converged and sol.gap_bits <= 1e-6
    assert sol.rate_lower_bits - ROUND <= exact <= sol.rate_upper_bits + ROUND
    assert D - 1e-5 <= sol.distortion <= D  # achieved D_s is on the certified side
    assert abs(sol.rate_bits - exact) <= 1e-6


def test_zero_rate_region():
    d_min, d_max = distortion_range([0.8, 0.2], HAMMING)
    assert (d_min, d_max) == (0.0, 0.2)
    for D in (0.2, 0.5):
        sol = blahut_arimoto_at_distortion([0.8, 0.2], HAMMING, D)
        assert sol.rate_bits == 0.0 and sol.distortion == pytest.approx(0.2)
    sol = blahut_arimoto([0.8, 0.2], HAMMING, 0.0)
    assert sol.rate_bits == 0.0 and sol.distortion == pytest.approx(0.2)
    # a shallow slope (|s| below the critical log2(0.8/0.2) = 2) is still the zero-rate point
    sol = blahut_arimoto([0.8, 0.2], HAMMING, -1.0)
    assert sol.rate_bits <= 1e-6 and sol.distortion == pytest.approx(0.2, abs=1e-5)


# ------------------------------------------------------------------------------------------
# discretised Gaussian
# ------------------------------------------------------------------------------------------
def test_discretized_gaussian_close_to_shannon(gauss1000):
    # Measured: max |R_BA(D) - 0.5 log2(1/D)| over D in [0.05, 0.8] is about 1.0e-5 bit for the
    # n = 1000 grid on [-6, 6] (grid step 0.012); the tolerance 1e-4 bit leaves a 10x margin
    # (the bound was 0.01 bit).
    p, d = gauss1000
    errs = []
    for D in (0.05, 0.2, 0.8):
        slope = -1.0 / (2.0 * D * math.log(2.0))  # dR/dD of 0.5 log2(1/D)
        sol = blahut_arimoto(p, d, slope)
        assert sol.converged and sol.gap_bits <= 1e-6
        assert sol.distortion == pytest.approx(D, rel=1e-3)
        errs.append(abs(sol.rate_bits - 0.5 * math.log2(1.0 / sol.distortion)))
    assert max(errs) < 1e-4, errs


def test_at_distortion_gaussian_hits_target(gauss1000):
    p, d = gauss1000
    target = 2.0**-4  # R = 2 bits
    sol = blahut_arimoto_at_distortion(p, d, target)
    assert sol.converged and sol.gap_bits <= 1e-6
    assert target - 1e-6 <= sol.distortion <= target
    assert sol.rate_bits == pytest.approx(2.0, abs=1e-4)


# ------------------------------------------------------------------------------------------
# two methods agree on random problems
# ------------------------------------------------------------------------------------------
@st.composite
def small_problem(draw):
    nx = draw(st.integers(2, 6))
    ny = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(nx))
    d = rng.uniform(0.0, 3.0, size=(nx, ny))
    slope = -draw(st.floats(0.05, 20.0))
    return p, d, slope


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problem())
def test_newton_agrees_with_blahut_arimoto(problem):
    p, d, slope = problem
    a = blahut_arimoto(p, d, slope, method="newton", tol_bits=1e-8)
    b = blahut_arimoto(p, d, slope, method="ba", tol_bits=1e-8, max_iter=200_000)
    assert a.converged and b.converged
    # the optimum of R - s D is unique even where the optimal (D, R) is not
    la = a.rate_bits - slope * a.distortion
    lb = b.rate_bits - slope * b.distortion
    assert la == pytest.approx(lb, abs=1e-7)
    # each certificate brackets the other method's value of R at its own distortion
    assert a.rate_lower_bits - 1e-8 <= a.rate_upper_bits
    assert b.rate_lower_bits - 1e-8 <= b.rate_upper_bits


def test_against_scipy_on_output_marginal():
    from scipy.optimize import minimize

    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(5))
    d = rng.uniform(0, 2, size=(5, 4))
    s = -3.0
    sol = blahut_arimoto(p, d, s, tol_bits=1e-9)

    def F(v):  # -sum_x p ln sum_y q e^{s' d}, q = softmax(v)
        q = np.exp(v - v.max())
        q /= q.sum()
        return -p @ np.log(np.exp(s * math.log(2) * d) @ q)

    res = minimize(F, np.zeros(4), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    # min F = (R - s D) ln 2 at the optimum
    assert res.fun == pytest.approx((sol.rate_bits - s * sol.distortion) * math.log(2), abs=1e-7)


# ------------------------------------------------------------------------------------------
# curves
# ------------------------------------------------------------------------------------------
def test_curve_monotone_convex_and_equal_to_independent_solves():
    x, p = discretized_gaussian(200, 6.0)
    d = distortion_matrix(x)
    slopes = -np.geomspace(1.0, 20.0, 8)
    curve = rate_distortion_curve(p, d, slopes, progress=False)
    R, D = curve.rate_bits, curve.distortion
    assert np.all(np.diff(D) > 0)
    assert np.all(np.diff(R) <= 1e-9)
    # convex: chord slopes increase
    chords = np.diff(R) / np.diff(D)
    assert np.all(np.diff(chords) >= -1e-6)
    for pt in curve:
        assert pt.gap_bits <= 1e-6 and pt.converged
        ind = blahut_arimoto(p, d, pt.slope)
        assert pt.rate_bits - pt.slope * pt.distortion == pytest.approx(
            ind.rate_bits - ind.slope * ind.distortion, abs=2e-6
        )
        assert pt.rate_bits == pytest.approx(ind.rate_bits, abs=1e-3)


def test_default_curve_and_solutions():
    curve = rate_distortion_curve([0.8, 0.2], HAMMING, n_points=6, progress=False)
    assert len(curve) == 6
    for pt in curve:
        assert abs(pt.rate_bits - bernoulli_rd(0.2, pt.distortion)) <= 1e-6
    sols = rate_distortion_solutions([0.8, 0.2], HAMMING, [-2.5, -5.0], progress=False)
    assert [s.channel.shape for s in sols] == [(2, 2), (2, 2)]
    assert sols[0].distortion < sols[1].distortion  # ordered by distortion
    assert curve.to_dict()["points"][0]["rate_bits"] > 0


# ------------------------------------------------------------------------------------------
# low-rank Newton steps (large alphabets)
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gauss400():
    x, p = discretized_gaussian(400, 6.0)
    return p, distortion_matrix(x)


def _ba_start(kernel, n_steps=10):
    q = np.full(kernel.A.shape[1], 1.0 / kernel.A.shape[1])
    for _ in range(n_steps):
        q, _, _, _, cy, _ = kern_mod.certificate(kernel, q)
        q = q * cy
    return kern_mod.certificate(kernel, q)


def test_row_basis_is_accurate_and_refuses_full_rank(gauss400):
    p, d = gauss400
    kernel = kern_mod.GibbsKernel(p, d, -2.0)
    V, AV = kernel.row_basis()
    r = V.shape[1]
    assert 10 < r <= kern_mod.LOWRANK_MAX_FRACTION * d.shape[1]
    np.testing.assert_allclose(V.T @ V, np.eye(r), atol=1e-10)
    np.testing.assert_allclose(AV, kernel.A @ V, atol=1e-12)
    assert np.linalg.norm(kernel.A - AV @ V.T, 2) <= 1e-8 * np.linalg.norm(kernel.A, 2)
    assert kernel.row_basis() is kernel.row_basis()  # computed once per slope
    # a generic (full-rank) matrix is refused: the solver then takes dense steps
    rng = np.random.default_rng(0)
    assert kern_mod.row_basis(rng.uniform(size=(300, 300))) is None
    assert kern_mod.row_basis(np.zeros((300, 300))) is None


def test_lowrank_direction_matches_dense(gauss400):
    p, d = gauss400
    kernel = kern_mod.GibbsKernel(p, d, -2.0)
    _, ct, log_ct, bad, _, _ = _ba_start(kernel)
    assert bad.size == 0
    ny = d.shape[1]
    active = np.flatnonzero(np.arange(ny) % 7 != 3)  # a working set smaller than the alphabet
    basis = kernel.row_basis()
    B = kernel.scaled_rows(active, ct, log_ct, bad)
    rng = np.random.default_rng(1)
    for lo, hi in ((0, 4), (-6, 8)):  # moderate, then very ill-conditioned systems
        diag = 10.0 ** rng.uniform(lo, hi, active.size)
        rhs = rng.standard_normal(active.size)
        H = B.T @ B + np.diag(diag)
        dense = kern_mod._dense_direction(kernel, active, ct, log_ct, bad, diag, rhs)
        low = kern_mod._lowrank_direction(
            kernel, basis, active, ct, bad, log_ct, diag, rhs, rtol=1e-12, max_cg=20
        )
        res_dense = np.linalg.norm(H @ dense - rhs)
        res_low = np.linalg.norm(H @ low - rhs)
        # as accurate as the dense Cholesky solve (measured: within a factor 3)
        assert res_low <= 10.0 * res_dense + 1e-12 * np.linalg.norm(rhs)
        if lo == 0:
            np.testing.assert_allclose(low, dense, rtol=0, atol=1e-7 * np.abs(dense).max())
            # rows handled in the log domain (as for an underflowing mixture): the same system
            fake_bad = np.array([0, 5, 200, 399])
            got = kern_mod._dense_direction(kernel, active, ct, log_ct, fake_bad, diag, rhs)
            np.testing.assert_allclose(got, dense, rtol=0, atol=1e-7 * np.abs(dense).max())
            got = kern_mod._lowrank_direction(
                kernel, basis, active, ct, fake_bad, log_ct, diag, rhs, rtol=1e-12, max_cg=20
            )
            np.testing.assert_allclose(got, dense, rtol=0, atol=1e-7 * np.abs(dense).max())
    # a singular or unsolvable system is reported, not returned
    zero = np.zeros(active.size)
    assert (
        kern_mod._lowrank_direction(
            kernel, basis, active, ct, bad, log_ct, zero, rhs, rtol=1e-12, max_cg=5
        )
        is None
    )


@pytest.mark.parametrize("D", [0.1, 0.5])
def test_lowrank_and_dense_newton_agree(gauss400, D):
    p, d = gauss400
    tol = 1e-6 * math.log(2.0)
    values = {}
    for mode in ("dense", "lowrank", "auto"):
        kernel = kern_mod.GibbsKernel(p, d, -1.0 / (2.0 * D))
        q0 = np.full(d.shape[1], 1.0 / d.shape[1])
        with kern_mod.blas_threads():
            q, _, conv = kern_mod.solve_output_marginal(
                kernel, q0, tol_nats=tol, max_iter=1000, method="newton", hessian=mode
            )
        q, ct, log_ct, bad, cy, gap = kern_mod.certificate(kernel, q)
        assert conv and gap <= tol
        if mode != "dense":
            assert kernel.row_basis() is not None  # the low-rank steps were taken
        dist, upper, lower, _ = kern_mod.bounds_nats(kernel, q, ct, log_ct, bad, cy)
        assert upper - lower <= tol
        values[mode] = upper - kernel.s * dist
    assert values["lowrank"] == pytest.approx(values["dense"], abs=tol)
    assert values["auto"] == pytest.approx(values["lowrank"], abs=tol)
    with pytest.raises(ValueError, match="hessian"):
        kern_mod.solve_output_marginal(
            kernel, q0, tol_nats=tol, max_iter=10, method="newton", hessian="qr"
        )


def test_lowrank_failure_falls_back_to_dense(gauss400, monkeypatch):
    p, d = gauss400
    slope = -1.0 / (2.0 * 0.1 * math.log(2.0))
    ref = blahut_arimoto(p, d, slope)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        return None

    monkeypatch.setattr(kern_mod, "LOWRANK_MIN_SIZE", 256)
    monkeypatch.setattr(kern_mod, "_lowrank_direction", failing)
    sol = blahut_arimoto(p, d, slope)
    assert len(calls) == 1  # tried once, then dense steps for the rest of the slope
    assert sol.converged and sol.gap_bits <= 1e-6
    assert sol.rate_bits - slope * sol.distortion == pytest.approx(
        ref.rate_bits - slope * ref.distortion, abs=1e-6
    )


def test_generic_large_matrix_uses_dense_steps():
    # no low-rank structure (random distortions): the same certified answer by dense steps
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(300))
    d = rng.uniform(0.0, 2.0, size=(300, 280))
    auto = blahut_arimoto(p, d, -3.0)
    kernel = kern_mod.GibbsKernel(p, d, -3.0 * math.log(2.0))
    assert kernel.row_basis() is None
    ba = blahut_arimoto(p, d, -3.0, method="ba", max_iter=200_000)
    assert auto.converged and auto.gap_bits <= 1e-6 and ba.converged
    # both values of R - s D are within their gaps (1e-6 bit) above the same minimum
    assert auto.rate_bits + 3.0 * auto.distortion == pytest.approx(
        ba.rate_bits + 3.0 * ba.distortion, abs=1e-6
    )


def test_blas_threads_context(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for name in kern_mod._BLAS_ENV:
        monkeypatch.delenv(name, raising=False)
    with kern_mod.blas_threads():
        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert all(i["num_threads"] == kern_mod.BLAS_THREADS for i in info)
    # an explicit thread count in the environment, or BLAS_THREADS = None, is left alone
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert isinstance(kern_mod.blas_threads(), contextlib.nullcontext)
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(kern_mod, "BLAS_THREADS", None)
    assert isinstance(kern_mod.blas_threads(), contextlib.nullcontext)


def test_channel_in_place_matches_fresh(gauss400):
    p, d = gauss400
    kernel = kern_mod.GibbsKernel(p, d, -2.0)
    q, ct, log_ct, bad, _, _ = _ba_start(kernel, 3)
    fresh = kernel.channel(q, ct, log_ct, bad)
    np.testing.assert_allclose(fresh.sum(axis=1), 1.0, atol=1e-12)
    in_place = kernel.channel(q, ct, log_ct, bad, out=kernel.A)
    assert in_place is kernel.A
    np.testing.assert_array_equal(in_place, fresh)


# ------------------------------------------------------------------------------------------
# empirical baseline
# ------------------------------------------------------------------------------------------
def test_empirical_merges_duplicates_and_reaches_entropy():
    samples = [0.0, 0.0, 0.0, 1.0, 2.0, 2.0]
    sol = blahut_arimoto_empirical(samples, slope=-200.0)
    pmf = np.array([3, 1, 2]) / 6
    assert sol.channel.shape == (3, 3)
    assert sol.rate_bits == pytest.approx(-(pmf @ np.log2(pmf)), abs=1e-6)
    sol2 = blahut_arimoto_empirical(samples, reproduction=[0.0, 1.0], target_distortion=0.5)
    assert sol2.channel.shape == (3, 2) and sol2.distortion <= 0.5
    with pytest.raises(ValueError, match="exactly one"):
        blahut_arimoto_empirical(samples)
    with pytest.raises(ValueError, match="exactly one"):
        blahut_arimoto_empirical(samples, slope=-1.0, target_distortion=0.1)


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------
def test_bad_inputs_raise_documented_errors():
    p = [0.8, 0.2]
    with pytest.raises(ValueError, match=r"slope must be <= 0"):
        blahut_arimoto(p, HAMMING, 0.5)
    with pytest.raises(ValueError, match="finite"):
        blahut_arimoto(p, HAMMING, -np.inf)
    with pytest.raises(ValueError, match="finite"):
        blahut_arimoto(p, [[0.0, np.nan], [1.0, 0.0]], -1.0)
    with pytest.raises(ValueError, match=r"sum to 1.*off by"):
        blahut_arimoto([0.8, 0.21], HAMMING, -1.0)
    with pytest.raises(ValueError, match="one row per source symbol"):
        blahut_arimoto([0.5, 0.3, 0.2], HAMMING, -1.0)
    with pytest.raises(ValueError, match="2 dimensions"):
        blahut_arimoto(p, [0.0, 1.0], -1.0)
    with pytest.raises(ValueError, match=">= 0"):
        blahut_arimoto(p, [[0.0, -1.0], [1.0, 0.0]], -1.0)
    with pytest.raises(ValueError, match="init_output_pmf"):
        blahut_arimoto(p, HAMMING, -1.0, init_output_pmf=[1.0])
    with pytest.raises(ValueError, match="method"):
        blahut_arimoto(p, HAMMING, -1.0, method="magic")
    with pytest.raises(ValueError, match="D_min"):
        blahut_arimoto_at_distortion(p, HAMMING + 0.1, 0.05)
    with pytest.raises(ValueError, match="D_min"):
        blahut_arimoto_at_distortion(p, HAMMING, 0.0)
    with pytest.raises(ValueError, match="finite"):
        blahut_arimoto_at_distortion(p, HAMMING, float("nan"))
    with pytest.raises(ValueError, match="slopes must all be <= 0"):
        rate_distortion_curve(p, HAMMING, [-1.0, 1.0], progress=False)


def test_too_large_for_memory_is_refused_before_allocating():
    n = 1_000_000
    # a zero-stride view: a "10^6 x 10^6" matrix that occupies 8 bytes
    fake = np.broadcast_to(np.zeros(1), (n, n))
    p = np.full(n, 1.0 / n)
    need = estimate_memory_bytes(n, n)
    assert need > 16 * n * n
    with pytest.raises(MemoryError, match=r"1000000 x 1000000.*GiB"):
        blahut_arimoto(p, fake, -1.0)
    with pytest.raises(MemoryError, match="GiB"):
        check_memory(10_000, 10_000, max_memory_bytes=2**30)
    assert check_memory(10_000, 10_000, max_memory_bytes=24 * 2**30) < 4 * 2**30


def test_docstring_examples():
    for name in ("rdlab.solvers.blahut_arimoto", "rdlab.solvers._kernel"):
        mod = importlib.import_module(name)
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0


# -- column generation (the empirical law of many samples) -------------------------------------


def test_column_generation_matches_the_dense_solve(monkeypatch):
    import importlib

    from rdlab.solvers.blahut_arimoto import empirical_rate_distortion_curve

    ba = importlib.import_module("rdlab.solvers.blahut_arimoto")  # the package's name is a function

    rng = np.random.default_rng(3)
    # clustered samples: the output law at low rate sits on few of them
    centres = rng.normal(size=(6, 5)) * 3.0
    x = centres[rng.integers(0, 6, 300)] + rng.normal(size=(300, 5))
    slopes = [0.0, -0.05, -0.2, -0.6, -2.0]
    dense = empirical_rate_distortion_curve(x, slopes=slopes, tol_bits=1e-5)
    monkeypatch.setattr(ba, "COLUMNS_FROM", 100)
    cols = empirical_rate_distortion_curve(x, slopes=slopes, tol_bits=1e-5)
    assert cols.meta["method"].endswith("column generation") and "method" in dense.meta
    assert cols.meta["d_max"] == pytest.approx(dense.meta["d_max"], rel=1e-12)
    assert len(cols.points) == len(dense.points) == 5
    for a, b in zip(cols.points, dense.points, strict=True):
        # both certified to 1e-5 bit on the same problem: each attains min_W I(W) - s E d within
        # its gap, so their Lagrangians agree within the two gaps
        assert a.gap_bits <= 1e-5 and a.rate_lower_bits <= a.rate_bits and a.slope == b.slope
        lagrangian = [pt.rate_bits - pt.slope * pt.distortion for pt in (a, b)]
        assert lagrangian[0] == pytest.approx(lagrangian[1], abs=a.gap_bits + b.gap_bits + 1e-9)
        assert a.distortion == pytest.approx(b.distortion, rel=1e-3, abs=1e-6)
    # the restricted set stays well below the 300 symbols at the shallowest nonzero slope
    assert cols.meta["support_sizes"][0] < 150
    with pytest.raises(ValueError, match="slopes are required"):
        empirical_rate_distortion_curve(x)
    with pytest.raises(ValueError, match="slopes must all be <= 0"):
        empirical_rate_distortion_curve(x, slopes=[0.1])


def test_columns_recomputed_equal_cached():
    from rdlab.core.distortion import distortion_matrix
    from rdlab.solvers._columns import Columns

    x = np.random.default_rng(0).normal(size=(1100, 3))
    fn = lambda cols: distortion_matrix(x, x[cols])  # noqa: E731
    cached = Columns(fn, 1100, 1100, cache_bytes=1 << 30)
    fresh = Columns(fn, 1100, 1100, cache_bytes=0)
    assert cached.full is not None and fresh.full is None
    cols = np.array([5, 700, 1099])
    np.testing.assert_array_equal(cached(cols), fresh(cols))
    assert [c.stop - c.start for c, _ in fresh.chunks()] == [512, 512, 76]
    for (c1, d1), (c2, d2) in zip(cached.chunks(), fresh.chunks(), strict=True):
        assert c1 == c2
        np.testing.assert_array_equal(d1, d2)


@pytest.mark.parametrize("hessian", ["cg", "dense", "lowrank"])
def test_newton_steps_by_jacobi_cg_certify_the_same_point(hessian, monkeypatch):
    import rdlab.solvers._kernel as kern
    from rdlab.core.distortion import distortion_matrix
    from rdlab.core.information import LN2
    from rdlab.solvers._kernel import GibbsKernel, certificate, solve_output_marginal

    if hessian == "cg":  # every step by CG: a dense step would fail the test
        monkeypatch.setattr(kern, "_dense_direction", lambda *a: pytest.fail("dense step"))

    x = np.random.default_rng(1).normal(size=(400, 6))
    d = distortion_matrix(x, x)
    p = np.full(400, 1 / 400)
    kernel = GibbsKernel(p, d, -0.8 * LN2)
    q, _, ok = solve_output_marginal(
        kernel, np.full(400, 1 / 400), tol_nats=1e-7, max_iter=2000, method="newton",
        hessian=hessian,
    )  # fmt: skip
    assert ok and certificate(kernel, q)[-1] <= 1e-7


@pytest.mark.parametrize("single", [False, True])
def test_blocked_hessian_product_equals_the_plain_one(single):
    # the fused, blocked product (float64, or on the float32 copy of the kernel) against
    # A_S^T diag(w) A_S v + diag v computed directly
    from rdlab.core.distortion import distortion_matrix
    from rdlab.solvers._kernel import GibbsKernel, _hessian_op

    rng = np.random.default_rng(3)
    x = rng.normal(size=(700, 4))
    kernel = GibbsKernel(np.full(700, 1 / 700), distortion_matrix(x, x[:300]), -0.5)
    active = np.sort(rng.choice(300, size=200, replace=False))
    w, diag, v = rng.random(700), rng.random(200), rng.normal(size=200)
    A = kernel.A[:, active]
    want = A.T @ (w * (A @ v)) + diag * v
    got = _hessian_op(kernel, active, w, diag, None, single=single)(v)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-5 if single else 1e-12)
    if single:
        assert kernel.single().dtype == np.float32
        kernel.drop_single()
        assert kernel._single is None
