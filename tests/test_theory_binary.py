import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdlab.core import binary_entropy
from rdlab.theory import bernoulli_distortion_rate, bernoulli_rate_distortion, bernoulli_rd_curve


def test_hand_values():
    # fair coin at D = 0.11: 1 - h(0.11)
    assert bernoulli_rate_distortion(0.11, 0.5) == pytest.approx(1 - 0.4999159581645, abs=1e-12)
    assert bernoulli_rate_distortion(0.0, 0.2) == pytest.approx(binary_entropy(0.2))
    assert bernoulli_rate_distortion(0.2, 0.2) == 0.0
    assert bernoulli_rate_distortion(0.25, 0.8) == 0.0
    assert bernoulli_distortion_rate(0.0, 0.3) == pytest.approx(0.3, abs=1e-12)
    assert bernoulli_distortion_rate(2.0, 0.3) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 0.99))
def test_non_increasing_convex_and_inverse(p):
    dmax = min(p, 1 - p)
    d = np.linspace(0.0, 1.2 * dmax, 80)
    r = bernoulli_rate_distortion(d, p)
    assert np.all(np.diff(r) <= 1e-12)
    assert np.all(r[2:] - 2 * r[1:-1] + r[:-2] >= -1e-9)
    for dv in (0.2 * dmax, 0.7 * dmax):
        assert bernoulli_distortion_rate(bernoulli_rate_distortion(dv, p), p) == pytest.approx(
            dv, abs=1e-9
        )


def test_curve_slopes():
    curve = bernoulli_rd_curve(0.3, n_points=10)
    p = curve.points[3]
    assert p.slope == pytest.approx(-math.log2((1 - p.distortion) / p.distortion))
    assert curve.points[-1].rate_bits == 0.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: bernoulli_rate_distortion(0.1, 1.2), r"p must be in \[0.0, 1.0\]"),
        (lambda: bernoulli_rate_distortion(-0.1, 0.5), "distortion must be >= 0"),
        (lambda: bernoulli_distortion_rate(-1.0, 0.5), "rate_bits must be >= 0"),
        (lambda: bernoulli_rd_curve(0.0), r"p must be in \(0.0, 1.0\)"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
