"""Information measures: hand-computed values, identities and properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rdlab.core import (
    binary_entropy,
    binary_entropy_inverse,
    channel_mutual_information,
    entropy,
    gaussian_mutual_information,
    kl_divergence,
    mutual_information,
)


def _pmf(n):
    return (
        arrays(np.float64, n, elements=st.floats(0.0, 1.0))
        .filter(lambda a: a.sum() > 1e-3)
        .map(lambda a: a / a.sum())
    )


def test_entropy_hand_values():
    assert entropy([0.25] * 4) == pytest.approx(2.0, abs=1e-15)
    assert entropy([0.5, 0.25, 0.25]) == pytest.approx(1.5, abs=1e-15)
    assert entropy([1.0]) == 0.0


def test_binary_entropy_hand_values():
    assert binary_entropy(0.5) == 1.0
    assert binary_entropy(0.0) == 0.0
    assert binary_entropy(1.0) == 0.0
    # h(1/4) = 2 - 3/4 log2 3
    assert binary_entropy(0.25) == pytest.approx(2 - 0.75 * math.log2(3), abs=1e-15)
    np.testing.assert_allclose(
        binary_entropy(np.array([0.25, 0.75])), [0.811278124459133] * 2, rtol=1e-14
    )


@given(st.floats(0.0, 0.5))
def test_binary_entropy_inverse_round_trip(p):
    assert binary_entropy_inverse(binary_entropy(p)) == pytest.approx(p, abs=1e-12)


def test_kl_hand_values_and_infinity():
    assert kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.5 * math.log2(2) + 0.5 * math.log2(2 / 3), abs=1e-15
    )
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


@settings(max_examples=50)
@given(_pmf(5), _pmf(5))
def test_kl_nonnegative_and_zero_iff_equal(p, q):
    assert kl_divergence(p, q) >= 0.0
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=50)
@given(_pmf(12))
def test_mutual_information_bounds(flat):
    joint = flat.reshape(3, 4)
    i = mutual_information(joint)
    assert 0.0 <= i <= min(entropy(joint.sum(1)), entropy(joint.sum(0))) + 1e-12
    # I(X;Y) = H(X) + H(Y) - H(X,Y)
    assert i == pytest.approx(
        entropy(joint.sum(1)) + entropy(joint.sum(0)) - entropy(flat), abs=1e-10
    )


def test_marginal_rounded_above_one_is_a_pmf():
    # the CI failure: a marginal of a normalised joint summed to 1.0000000000000002
    joint = np.array([0.91696102, 0.08303898, 0.0, 0.0]).reshape(1, 4)
    joint = joint / joint.sum()
    marginal = np.array([1.0 + 2.220446049250313e-16, 0.0, 0.0])
    assert entropy(marginal) == 0.0
    assert entropy([0.5 + 1e-17, 0.5, -1e-17]) == pytest.approx(1.0, abs=1e-15)
    assert mutual_information(joint) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match=r"pmf entries must lie in \[0, 1\]"):
        entropy([1.1, -0.1])


def test_channel_mutual_information_bsc():
    # BSC(0.11) with uniform input: 1 - h(0.11)
    w = np.array([[0.89, 0.11], [0.11, 0.89]])
    assert channel_mutual_information([0.5, 0.5], w) == pytest.approx(
        1 - binary_entropy(0.11), abs=1e-14
    )


def test_gaussian_mutual_information_scalar():
    # Y = X + N, X ~ N(0, 3), N ~ N(0, 1): I = 0.5 log2(4) = 1
    assert gaussian_mutual_information(3.0, 4.0, 3.0) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: entropy([0.5, 0.6]), "sums to"),
        (lambda: entropy([-0.1, 1.1]), r"\[0, 1\]"),
        (lambda: entropy([np.nan, 1.0]), "finite"),
        (lambda: binary_entropy(1.5), r"\[0, 1\]"),
        (lambda: binary_entropy_inverse(1.2), r"\[0.0, 1.0\]"),
        (lambda: kl_divergence([1.0], [0.5, 0.5]), "same shape"),
        (lambda: mutual_information([0.5, 0.5]), "2 dimension"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_pmf_error_says_by_how_much():
    with pytest.raises(ValueError, match=r"off by \+1e-06"):
        entropy([0.5, 0.500001])
    # within 1e-9 is accepted
    assert entropy([0.5, 0.5 + 5e-10]) == pytest.approx(1.0, abs=1e-8)
