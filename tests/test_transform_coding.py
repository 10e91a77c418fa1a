"""Entropy-coded uniform scalar transform codes of Gaussians: against simulation, the high-rate
limit, R(D) and the Lagrangian's optimality."""

import math

import numpy as np
import pytest

from rdlab.theory import (
    HIGH_RATE_LOSS_BITS,
    gaussian_rate_distortion,
    transform_ecsq_at_slope,
    transform_ecsq_rate,
    uniform_quantizer_gaussian,
    vector_gaussian_rate_distortion,
)


@pytest.mark.parametrize("step", [0.3, 0.7, 2.0, 4.0])
def test_uniform_quantizer_matches_simulation(step):
    # an independent method: quantise 2 * 10^6 draws, the empirical index entropy and the
    # squared error of the empirical cell means. Standard errors: entropy ~2e-3 bit, D ~0.2 %
    x = np.random.default_rng(0).standard_normal(2_000_000) * 1.5
    k = np.round(x / (1.5 * step))
    _, inv, counts = np.unique(k, return_inverse=True, return_counts=True)
    p = counts / counts.sum()
    entropy = float(-(p * np.log2(p)).sum())
    centroids = np.bincount(inv, weights=x) / counts
    dist = float(((x - centroids[inv]) ** 2).mean())
    rate, d = uniform_quantizer_gaussian(1.5 * step, variance=2.25)
    assert rate == pytest.approx(entropy, abs=5e-3)
    assert d == pytest.approx(dist, rel=1e-2)


def test_high_rate_limit_of_the_loss():
    # Gish & Pierce: D -> step^2 / 12 and R - R(D) -> 1/2 log2(pi e / 6)
    assert HIGH_RATE_LOSS_BITS == pytest.approx(0.2546, abs=1e-4)
    step = 1e-3 * math.sqrt(3.0)
    rate, d = uniform_quantizer_gaussian(step, variance=3.0)
    assert d == pytest.approx(step**2 / 12, rel=1e-4)
    assert rate - gaussian_rate_distortion(d, 3.0) == pytest.approx(HIGH_RATE_LOSS_BITS, abs=1e-4)


def test_never_below_rd_and_loss_at_most_the_high_rate_loss():
    for t in np.geomspace(1e-3, 30.0, 120):
        rate, d = uniform_quantizer_gaussian(float(t))
        gap = rate - gaussian_rate_distortion(d, 1.0)
        assert -1e-12 <= gap <= HIGH_RATE_LOSS_BITS + 1e-9


def test_one_cell_and_very_coarse_steps_code_nothing():
    assert uniform_quantizer_gaussian(float("inf"), 2.0) == (0.0, 2.0)
    rate, d = uniform_quantizer_gaussian(100.0)
    assert rate == 0.0 and d == 1.0


def test_slope_point_is_a_lagrangian_minimum_per_component():
    var = np.array([4.0, 1.0, 0.3, 0.05])
    slope = -1.5
    pt = transform_ecsq_at_slope(var, slope)
    assert pt.rate_bits == pytest.approx(pt.component_rates_bits.sum())
    assert pt.distortion == pytest.approx(pt.component_distortions.sum())
    assert pt.active == int(np.isfinite(pt.steps).sum()) and 0 < pt.active < var.size
    for v, step, r, d in zip(var, pt.steps, pt.component_rates_bits, pt.component_distortions,
                             strict=True):  # fmt: skip
        assert (r, d) == pytest.approx(uniform_quantizer_gaussian(float(step), float(v)))
        best = r - slope * d
        # no other step (nor leaving the component uncoded) does better
        others = [uniform_quantizer_gaussian(float(s), float(v))
                  for s in np.geomspace(1e-2, 20.0, 400) * math.sqrt(v)]  # fmt: skip
        others.append((0.0, float(v)))
        assert min(o[0] - slope * o[1] for o in others) >= best - 1e-9


def test_vector_rate_is_above_rd_convex_and_decreasing():
    var = 4.0 * np.exp(-np.arange(20) / 2.0)
    ds = np.linspace(0.5, 9.5, 19)
    rates = np.array([transform_ecsq_rate(float(d), var) for d in ds])
    rd = np.array([vector_gaussian_rate_distortion(float(d), var) for d in ds])
    assert np.all(rates >= rd - 1e-9)
    assert np.all(np.diff(rates) < 0)
    assert np.all(np.diff(rates, 2) >= -1e-6)  # the convex hull of the slope family
    assert transform_ecsq_rate(float(var.sum()), var) == 0.0


def test_vector_rate_meets_the_slope_points():
    var = [4.0, 1.0]
    pt = transform_ecsq_at_slope(var, -2.0)
    assert transform_ecsq_rate(pt.distortion, var) == pytest.approx(pt.rate_bits, abs=1e-6)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="slope must be < 0"):
        transform_ecsq_at_slope([1.0], 0.0)
    with pytest.raises(ValueError, match="distortion must be > 0"):
        transform_ecsq_rate(0.0, [1.0])
    with pytest.raises(ValueError, match="distortion must be >= 0"):
        transform_ecsq_rate(-1.0, [1.0])
    with pytest.raises(ValueError, match="variance must be > 0"):
        uniform_quantizer_gaussian(1.0, variance=0.0)
    with pytest.raises(ValueError, match="step must be at least"):
        uniform_quantizer_gaussian(1e-6)
    with pytest.raises(ValueError, match="step must be finite"):
        uniform_quantizer_gaussian(float("nan"))
    with pytest.raises(TypeError, match="slope must be a real number"):
        transform_ecsq_at_slope([1.0], "steep")
    with pytest.raises(ValueError, match="steps finer than"):
        transform_ecsq_at_slope([1.0], -1e12)
    with pytest.raises(ValueError, match="steps finer than"):
        transform_ecsq_rate(1e-30, [1.0])  # a distortion only absurdly fine steps reach
    with pytest.raises(ValueError, match="at most 1024 components"):
        transform_ecsq_rate(1.0, np.ones(1025))
