"""Universal representations: Theorem 3 (Gaussian), Theorem 4 (from samples), gaps (10), (27)-(28)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdlab.estimators.dp_region import (
    conditional_mean,
    dp_region_from_samples,
    geodesic_reconstruction,
    wasserstein2_squared,
)
from rdlab.theory.rdp import (
    gaussian_distortion_perception,
    gaussian_perception_threshold,
    gaussian_rdp,
)
from rdlab.theory.universal import (
    DPRegion,
    gaussian_gaps,
    gaussian_representation_region,
    gaussian_universal_code,
    lower_right_gap_bounds,
    perfect_realism_distortion_lower_bound,
    upper_left_gap_bounds,
)

variances = st.floats(0.05, 20.0)


# --------------------------------------------------------------------------------------------
# Theorem 3: A(Theta) = 0 for the Gaussian
# --------------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    variances,
    st.lists(st.tuples(st.floats(0.01, 2.5), st.floats(0.0, 1.2)), min_size=1, max_size=8),
)
def test_one_gaussian_representation_serves_any_theta(var, pairs):
    theta = np.array(pairs) * var
    code = gaussian_universal_code(theta, var)
    assert code.rate_bits == pytest.approx(
        float(np.max(gaussian_rdp(theta[:, 0], theta[:, 1], var)))
    )
    assert np.all(code.feasible)
    assert code.penalty_bits == 0.0
    # each decoder sits on the cross-section of rate I(X; Z)
    d_curve = gaussian_distortion_perception(code.achieved[:, 1], code.rate_bits, var)
    np.testing.assert_allclose(code.achieved[:, 0], d_curve, rtol=1e-9, atol=1e-12)


def test_universal_code_by_sampling():
    rate, var, n = 1.0, 2.0, 20000
    ps = np.linspace(0.0, gaussian_perception_threshold(rate, var), 5)
    theta = np.column_stack([gaussian_distortion_perception(ps, rate, var), ps])
    code = gaussian_universal_code(theta, var)
    x, z, x_hat = code.sample(n, seed=3)
    # I(X; Z) from the sample correlation
    rho = np.corrcoef(x, z)[0, 1]
    assert -0.5 * math.log2(1 - rho**2) == pytest.approx(rate, abs=0.02)
    for k in range(len(ps)):
        err = (x - x_hat[k]) ** 2
        se = err.std() / math.sqrt(n)
        assert abs(err.mean() - theta[k, 0]) < 5 * se
        assert wasserstein2_squared(x_hat[k], x) == pytest.approx(theta[k, 1], abs=0.01 * var)


@settings(max_examples=40, deadline=None)
@given(variances, st.floats(0.0, 6.0), st.floats(0.0, 1.0))
def test_gaussian_representation_region_is_the_cross_section(var, rate, frac):
    region = gaussian_representation_region(rate, var)
    p = frac * region.mmse_perception
    assert region.boundary(p) == pytest.approx(
        gaussian_distortion_perception(p, rate, var), rel=1e-9, abs=1e-12
    )
    assert region.distortion_b == pytest.approx(gaussian_distortion_perception(0.0, rate, var))
    assert region.mmse_distortion == pytest.approx(var * 2 ** (-2 * rate))


def test_region_contains_and_curve():
    region = DPRegion(0.25, 0.04)
    assert region.extreme_b == (0.29, 0.0)
    assert region.boundary(0.01) == pytest.approx(0.25 + 0.01)
    assert region.boundary(1.0) == 0.25
    assert region.contains(0.3, 0.0) and not region.contains(0.28, 0.0)
    curve = region.to_curve(5, rate_bits=1.0)
    assert curve.points[0].distortion == pytest.approx(0.29)
    assert curve.points[-1].perception == pytest.approx(0.04)


# --------------------------------------------------------------------------------------------
# Theorem 4 from samples
# --------------------------------------------------------------------------------------------


def test_wasserstein_between_gaussian_samples():
    rng = np.random.default_rng(0)
    a = 1.0 + 2.0 * rng.standard_normal(20000)
    b = 0.5 * rng.standard_normal(20000)
    assert wasserstein2_squared(a, b) == pytest.approx(1.0 + 1.5**2, rel=0.03)
    # the 1-D and the general (emd2) paths agree
    small_a, small_b = a[:300], b[:300]
    emb = wasserstein2_squared(
        np.column_stack([small_a, 0 * small_a]), np.column_stack([small_b, 0 * small_b])
    )
    assert emb == pytest.approx(wasserstein2_squared(small_a, small_b), rel=1e-9)


@pytest.mark.parametrize("rate", [0.25, 1.0, 2.0])
def test_theorem4_region_from_gaussian_samples_matches_closed_form(rate):
    var, n = 1.0, 20000
    code = gaussian_universal_code([(var * 2 ** (-2 * rate), 10.0)], var)
    x, z, _ = code.sample(n, seed=11)
    closed = gaussian_representation_region(rate, var)
    est = dp_region_from_samples(x, z=z, method="linear")
    se = math.sqrt(2.0) * closed.mmse_distortion / math.sqrt(n)
    assert abs(est.mmse_distortion - closed.mmse_distortion) < 5 * se
    # W2^2 between the empirical laws: close to the Gaussian formula with the sample moments ...
    xt = conditional_mean(x, z, method="linear")
    moment_w2 = (x.std() - xt.std()) ** 2 + (x.mean() - xt.mean()) ** 2
    assert est.mmse_perception == pytest.approx(moment_w2, abs=1e-3)
    # ... and to the closed form within sampling error (the std estimates err by ~1/sqrt(2n))
    se_p = 2 * math.sqrt(closed.mmse_perception * var) / math.sqrt(2 * n) + 1e-3
    assert abs(est.mmse_perception - closed.mmse_perception) < 4 * se_p
    assert abs(est.distortion_b - closed.distortion_b) < 5 * se + 4 * se_p
    assert est.n_samples == n


def test_eq11_db_at_most_twice_da_for_any_samples():
    rng = np.random.default_rng(5)
    x = rng.laplace(size=3000)
    z = np.floor(x / 0.7)  # a quantiser: E[X|Z] is the cell mean
    region = dp_region_from_samples(x, z=z, method="discrete")
    assert region.mmse_distortion > 0
    assert region.distortion_b <= 2 * region.mmse_distortion + 1e-12
    # and with a noisy (non-deterministic) representation through k-NN regression
    z2 = x + rng.standard_normal(3000)
    r2 = dp_region_from_samples(x, z=z2, method="knn", n_neighbors=30)
    assert r2.distortion_b <= 2 * r2.mmse_distortion + 1e-12


def test_conditional_mean_methods():
    rng = np.random.default_rng(2)
    z = rng.integers(0, 3, size=600)
    x = z + 0.1 * rng.standard_normal(600)
    xt = conditional_mean(x, z, method="discrete")
    for k in range(3):
        assert np.allclose(xt[z == k], x[z == k].mean())
    zc = rng.standard_normal(4000)
    xc = 0.8 * zc + 0.6 * rng.standard_normal(4000)
    lin = conditional_mean(xc, zc, method="linear")
    knn = conditional_mean(xc, zc, method="knn", n_neighbors=60)
    assert np.mean((lin - 0.8 * zc) ** 2) < 1e-3
    assert np.mean((knn - 0.8 * zc) ** 2) < 0.02


@pytest.mark.parametrize("t", [0.0, 0.3, 0.7, 1.0])
def test_geodesic_decoder_attains_the_boundary(t):
    var, rate, n = 1.0, 0.5, 20000
    code = gaussian_universal_code([(var * 2 ** (-2 * rate), 10.0)], var)
    x, z, _ = code.sample(n, seed=7)
    xt = conditional_mean(x, z, method="linear")
    region = dp_region_from_samples(x, xt)
    x_hat = geodesic_reconstruction(xt, x, t)
    p_hat = wasserstein2_squared(x_hat, x)
    assert p_hat == pytest.approx((1 - t) ** 2 * region.mmse_perception, rel=1e-6, abs=1e-12)
    d_hat = float(np.mean((x - x_hat) ** 2))
    assert d_hat == pytest.approx(float(region.boundary(p_hat)), abs=5e-3)


def test_geodesic_decoder_in_two_dimensions():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 2))
    xt = 0.5 * x + 0.1 * rng.standard_normal((200, 2))
    w = wasserstein2_squared(xt, x)
    mid = geodesic_reconstruction(xt, x, 0.5)
    assert wasserstein2_squared(mid, x) == pytest.approx(0.25 * w, rel=1e-6)
    assert wasserstein2_squared(mid, xt) == pytest.approx(0.25 * w, rel=1e-6)


def test_estimators_import_does_not_load_torch():
    code = "import sys, rdlab.estimators; assert 'torch' not in sys.modules and 'ot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# Gaps (10), (27), (28)
# --------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(variances, st.floats(1e-6, 1.0))
def test_lower_right_gap_bounds(var, frac):
    d1 = frac * var
    add, mult = lower_right_gap_bounds(d1, var)
    assert -1e-12 * var <= add <= 0.5 * var + 1e-12 * var
    assert 1.0 <= mult <= 2.0
    # written as in the paper: D1 / (sigma^2 - sigma sqrt(sigma^2 - D1))
    sig = math.sqrt(var)
    assert mult == pytest.approx(d1 / (var - sig * math.sqrt(var - d1)), rel=1e-6)
    assert add == pytest.approx(
        2 * d1 - perfect_realism_distortion_lower_bound(d1, var), abs=1e-12 * var
    )
    # the Gaussian meets every bound with zero gap (Theorem 3)
    g = gaussian_gaps(d1, var)
    assert abs(g["additive_gap"]) < 1e-9 * var
    assert g["multiplicative_gap"] == pytest.approx(1.0)
    assert g["D3"] == pytest.approx(perfect_realism_distortion_lower_bound(d1, var))
    # D3 is where R(D3, 0) = R(D1, inf)
    if 1e-4 < frac < 1 - 1e-4:
        assert gaussian_rdp(g["D3"], 0.0, var) == pytest.approx(0.5 * math.log2(1 / frac), rel=1e-7)


def test_gap_bound_limits():
    assert lower_right_gap_bounds(0.75, 1.0)[0] == pytest.approx(0.5)  # maximum sigma^2 / 2
    assert lower_right_gap_bounds(1.0, 1.0) == (pytest.approx(0.0), pytest.approx(1.0))
    assert lower_right_gap_bounds(1e-9, 1.0)[1] == pytest.approx(2.0)
    assert upper_left_gap_bounds(1.0, 1.0) == (pytest.approx(0.25), pytest.approx(1.5))
    assert upper_left_gap_bounds(2.0, 1.0) == (pytest.approx(0.0), pytest.approx(1.0))
    assert upper_left_gap_bounds(0.0, 1.0) == (0.0, 2.0)


@settings(max_examples=60, deadline=None)
@given(variances, st.floats(0.0, 2.0))
def test_upper_left_gap_bounds(var, frac):
    add, mult = upper_left_gap_bounds(frac * var, var)
    assert -1e-12 <= add <= 0.25 * var + 1e-12
    assert 1.0 <= mult <= 2.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gaussian_universal_code([(0.5, 0.1)], -1.0), "variance"),
        (lambda: gaussian_universal_code([(0.5, -0.1)]), "perception"),
        (lambda: gaussian_universal_code([(0.0, 0.1)]), "distortion"),
        (lambda: gaussian_universal_code([(0.5, 0.1, 3.0)]), "theta"),
        (lambda: gaussian_representation_region(-1.0), "rate_bits"),
        (lambda: lower_right_gap_bounds(1.5, 1.0), "d1"),
        (lambda: lower_right_gap_bounds(0.0, 1.0), "d1"),
        (lambda: upper_left_gap_bounds(2.5, 1.0), "d3"),
        (lambda: dp_region_from_samples([1.0, 2.0, 3.0]), "x_tilde or z"),
        (lambda: dp_region_from_samples([1.0, 2.0, 3.0], [1.0, 2.0]), "x_tilde"),
        (lambda: conditional_mean([1.0, 2.0], [1.0, 2.0], method="tree"), "method"),
        (lambda: geodesic_reconstruction([1.0, 2.0], [1.0, 2.0], 1.5), "t"),
        (lambda: wasserstein2_squared(np.ones((3, 2)), np.ones((3, 3))), "dimension"),
        (lambda: DPRegion(0.2, 0.1).boundary(-1.0), "perception"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
