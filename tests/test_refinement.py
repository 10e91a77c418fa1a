"""Successive refinement (appendix A.3, Zhang et al.): Theorem 8 and Theorem 9 / Remark 4."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdlab.core.information import gaussian_mutual_information
from rdlab.theory.refinement import (
    gaussian_successive_refinement,
    min_refinement_penalty,
    refinement_penalty,
    refinement_penalty_remark4,
    sample_gaussian_mutual_information,
)
from rdlab.theory.universal import gaussian_representation_region

variances = st.floats(0.05, 20.0)


def conditional_cov(cov: np.ndarray, keep: list[int], given_: list[int]) -> np.ndarray:
    """Covariance of cov[keep] given cov[given_] (Schur complement)."""
    a = cov[np.ix_(keep, keep)]
    b = cov[np.ix_(keep, given_)]
    c = cov[np.ix_(given_, given_)]
    return a - b @ np.linalg.solve(c, b.T)


# --------------------------------------------------------------------------------------------
# Theorem 8
# --------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(variances, st.floats(0.0, 4.0), st.floats(0.0, 4.0), st.floats(-5.0, 5.0))
def test_theorem8_rates_by_formula(var, r1, extra, mean):
    ref = gaussian_successive_refinement(r1, r1 + extra, var, mean)
    i1, i12 = ref.mutual_information()
    assert i1 == pytest.approx(r1, abs=1e-9)
    assert i12 == pytest.approx(r1 + extra, abs=1e-9)
    assert ref.covariance[0, 0] == pytest.approx(var)
    assert min(ref.component_variances) >= 0


def test_theorem8_markov_chain_and_stage_regions():
    var, r1, r2 = 2.0, 0.5, 1.5
    ref = gaussian_successive_refinement(r1, r2, var)
    cov = ref.covariance
    # X - Z2 - Z1: X and Z1 uncorrelated given Z2, so I(X; Z1, Z2) = I(X; Z2)
    assert conditional_cov(cov, [0, 1], [2])[0, 1] == pytest.approx(0.0, abs=1e-12)
    # MMSE of X from Z_k is var 2^{-2 R_k}: each stage meets Omega(R_k) (Theorem 3)
    for k, r in ((1, r1), (2, r2)):
        mmse = conditional_cov(cov, [0], [k])[0, 0]
        assert mmse == pytest.approx(gaussian_representation_region(r, var).mmse_distortion)


def test_theorem8_rates_by_sampling():
    ref = gaussian_successive_refinement(0.5, 1.5, 2.0, mean=1.0)
    samples = ref.sample(200_000, seed=1)
    assert samples.mean(axis=0) == pytest.approx([1.0, 1.0, 1.0], abs=0.02)
    i1, i12 = sample_gaussian_mutual_information(samples)
    assert i1 == pytest.approx(0.5, abs=0.01)
    assert i12 == pytest.approx(1.5, abs=0.01)


def test_theorem8_edge_rates():
    assert gaussian_successive_refinement(0.0, 1.0).mutual_information() == pytest.approx(
        (0.0, 1.0)
    )
    assert gaussian_successive_refinement(1.0, 1.0).mutual_information() == pytest.approx(
        (1.0, 1.0)
    )


# --------------------------------------------------------------------------------------------
# Theorem 9 and Remark 4
# --------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(variances, st.floats(1e-4, 0.999), st.floats(0.0, 1.0))
def test_remark4_penalty_at_most_one_bit(var, f1, f2):
    d1 = f1 * var
    d2 = f2 * d1
    r1 = 0.5 * math.log2(var / d1)  # R(Theta_1) = R(D1*, inf)
    remark = refinement_penalty_remark4(r1, d1, d2, var)
    assert remark <= 1.0 + 1e-12
    sn = var * d1 / (var - d1)
    assert refinement_penalty(sn, r1, d1, d2, var) == pytest.approx(remark, abs=1e-9)
    best, _ = min_refinement_penalty(r1, d1, d2, var)
    assert best <= remark + 1e-9
    assert best >= -1e-9  # the penalty bounds I(X; Z1 | Z2) >= 0


@pytest.mark.parametrize("dim", [2, 3])
def test_remark4_penalty_at_most_m_bits(dim):
    var = 1.0
    for d1 in (0.05, 0.3, 0.7, 0.95):
        for d2 in (0.0, d1 / 2, d1):
            r1 = 0.5 * dim * math.log2(var / d1)
            assert refinement_penalty_remark4(r1, d1, d2, var, dim=dim) <= dim + 1e-12


def test_remark4_bound_is_tight_in_the_limit():
    # D2* = D1* -> 0: ratio (2 sigma^2 - D1)^2 / sigma^4 -> 4, i.e. 1 bit
    assert refinement_penalty_remark4(0.5 * math.log2(1e8), 1e-8, 1e-8, 1.0) == pytest.approx(
        1.0, abs=1e-6
    )


@pytest.mark.parametrize(("q1", "q2"), [(0.6, 0.2), (0.3, 0.25), (0.9, 0.05)])
def test_theorem9_bounds_the_true_refinement_loss(q1, q2):
    # Z_k = X + W_k with independent noises (conditionally independent given X, as in the
    # proof): I(X; Z1, Z2) - I(X; Z2) <= delta_R(sigma_N^2) for every sigma_N^2.
    var = 1.0
    n1, n2 = var * q1 / (1 - q1), var * q2 / (1 - q2)  # MMSE of X from Z_k is q_k var
    cov = np.array([[var, var, var], [var, var + n1, var], [var, var, var + n2]])
    i2 = gaussian_mutual_information(cov[:1, :1], cov[2:, 2:], cov[:1, 2:])
    i12 = gaussian_mutual_information(cov[:1, :1], cov[1:, 1:], cov[:1, 1:])
    r1 = gaussian_mutual_information(cov[:1, :1], cov[1:2, 1:2], cov[:1, 1:2])
    d1, d2 = q1 * var, q2 * var
    for sn in np.geomspace(1e-3, 1e3, 25):
        assert i12 - i2 <= refinement_penalty(sn, r1, d1, d2, var) + 1e-12


def test_theorem9_d2_star_is_over_theta2():
    # Step (36): I(X; X + N | Z2) = 1/2 log((D + sigma_N^2) / sigma_N^2) with D the MMSE of X
    # from Z2, i.e. the least distortion of Theta_2 (the statement's "Theta_1" is a misprint).
    var, r1, r2, sn = 1.0, 0.5, 2.0, 0.3
    ref = gaussian_successive_refinement(r1, r2, var)
    c = ref.covariance
    # joint covariance of (X, X + N, Z2)
    cov = np.array(
        [
            [c[0, 0], c[0, 0], c[0, 2]],
            [c[0, 0], c[0, 0] + sn, c[0, 2]],
            [c[0, 2], c[0, 2], c[2, 2]],
        ]
    )
    cond = conditional_cov(cov, [0, 1], [2])
    i_cond = gaussian_mutual_information(cond[:1, :1], cond[1:, 1:], cond[:1, 1:])
    d1_star, d2_star = var * 2 ** (-2 * r1), var * 2 ** (-2 * r2)
    assert i_cond == pytest.approx(0.5 * math.log2((d2_star + sn) / sn), rel=1e-9)
    assert abs(i_cond - 0.5 * math.log2((d1_star + sn) / sn)) > 0.1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gaussian_successive_refinement(1.0, 0.5), "rate2_bits"),
        (lambda: gaussian_successive_refinement(-1.0, 0.5), "rate1_bits"),
        (lambda: gaussian_successive_refinement(0.5, 1.0, -2.0), "variance"),
        (lambda: refinement_penalty(0.0, 1.0, 0.2, 0.1), "noise_variance"),
        (lambda: refinement_penalty(1.0, -1.0, 0.2, 0.1), "rate_theta1_bits"),
        (lambda: refinement_penalty(1.0, 1.0, -0.2, 0.1), "d1_star"),
        (lambda: refinement_penalty(1.0, 1.0, 0.2, -0.1), "d2_star"),
        (lambda: refinement_penalty_remark4(1.0, 1.0, 0.1, 1.0), "d1_star"),
        (lambda: refinement_penalty_remark4(1.0, 0.5, 0.1, 1.0, dim=0), "dim"),
        (lambda: sample_gaussian_mutual_information(np.ones((10, 2))), "samples"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
