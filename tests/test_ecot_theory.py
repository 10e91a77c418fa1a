"""Closed forms of entropy-constrained optimal transport (Liu, Zhang, Chen, Khisti)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdlab.core.information import binary_entropy, binary_entropy_inverse
from rdlab.theory.ecot import (
    binary_cr_distortion,
    binary_dmax,
    binary_dmin,
    binary_mse_distortion,
    binary_ncr_distortion,
    binary_ncr_lower_bound,
    binary_ncr_upper_bound,
    binary_quantizer_marginal,
    gaussian_cr_asymptotic,
    gaussian_dmax,
    gaussian_dmin,
    gaussian_ncr_asymptotic,
    gaussian_ncr_lower_bound_asymptotic,
    gaussian_ncr_upper_bound_asymptotic,
    uniform_ncr_upper_bound,
    uniform_ncr_upper_bound_rate,
    uniform_w2_squared,
    w2_squared_discrete_1d,
)

TOL = 1e-12
QS = (0.05, 0.3, 0.5, 0.6, 0.75, 0.95)
PAIRS = [(a, b) for a in QS for b in QS]
RATES = np.linspace(0.0, 1.1, 56)


# ------------------------------------------------------------------ binary: basic values


@pytest.mark.parametrize(("qx", "qy"), PAIRS)
def test_binary_endpoints(qx, qy):
    dmin, dmax = binary_dmin(qx, qy), binary_dmax(qx, qy)
    hmin = min(float(binary_entropy(qx)), float(binary_entropy(qy)))
    assert binary_ncr_distortion(qx, qy, 0.0) == pytest.approx(dmax, abs=TOL)
    assert binary_cr_distortion(qx, qy, 0.0) == pytest.approx(dmax, abs=TOL)
    assert binary_ncr_upper_bound(qx, qy, 0.0) == pytest.approx(dmax, abs=TOL)
    assert binary_ncr_distortion(qx, qy, hmin) == pytest.approx(dmin, abs=1e-9)
    assert binary_ncr_distortion(qx, qy, 1.0) == pytest.approx(dmin, abs=TOL)
    assert binary_cr_distortion(qx, qy, 1.0) == pytest.approx(dmin, abs=TOL)
    # (22) is continuous at R = min(H_b): just below it is already close to D_min
    assert binary_ncr_distortion(qx, qy, hmin * (1 - 1e-9)) == pytest.approx(dmin, abs=1e-3)


@pytest.mark.parametrize(("qx", "qy"), PAIRS)
def test_binary_orderings(qx, qy):
    """D_min <= D_cr <= D_ncr <= D_max, and the bounds (8): lower <= D_ncr <= upper."""
    dmin, dmax = binary_dmin(qx, qy), binary_dmax(qx, qy)
    ncr = binary_ncr_distortion(qx, qy, RATES)
    cr = binary_cr_distortion(qx, qy, RATES)
    up = binary_ncr_upper_bound(qx, qy, RATES)
    low = binary_ncr_lower_bound(qx, qy, RATES)
    assert np.all(cr <= ncr + TOL)
    for d in (ncr, cr):
        assert np.all(d >= dmin - TOL)
        assert np.all(d <= dmax + TOL)
    assert np.all(low <= ncr + TOL)
    assert np.all(ncr <= up + TOL)
    assert np.all(up <= dmax + TOL)


@pytest.mark.parametrize(("qx", "qy"), PAIRS)
def test_binary_monotone_and_cr_convex(qx, qy):
    for f in (binary_ncr_distortion, binary_cr_distortion, binary_ncr_upper_bound):
        d = f(qx, qy, RATES)
        assert np.all(np.diff(d) <= TOL), f.__name__
    assert np.all(np.diff(binary_ncr_lower_bound(qx, qy, RATES)) <= TOL)
    # D_cr is the value of an LP as a function of its right-hand side R: convex (and here
    # piecewise linear, (25))
    cr = binary_cr_distortion(qx, qy, RATES)
    assert np.all(cr[:-2] - 2 * cr[1:-1] + cr[2:] >= -1e-12)


@pytest.mark.parametrize(("qx", "qy"), PAIRS)
def test_binary_symmetries(qx, qy):
    """Relabelling 0 <-> 1 leaves every quantity unchanged; D_ncr and its bounds are also
    symmetric in (X, Y) (Theorem 1 is symmetric), D_cr in general is not."""
    for f in (
        binary_ncr_distortion,
        binary_cr_distortion,
        binary_ncr_upper_bound,
        binary_ncr_lower_bound,
    ):
        np.testing.assert_allclose(f(qx, qy, RATES), f(1 - qx, 1 - qy, RATES), atol=1e-12)
    for f in (binary_ncr_distortion, binary_ncr_upper_bound, binary_ncr_lower_bound):
        np.testing.assert_allclose(f(qx, qy, RATES), f(qy, qx, RATES), atol=1e-12)


def test_binary_cr_is_not_symmetric():
    assert binary_cr_distortion(0.3, 0.6, 0.3) != pytest.approx(
        binary_cr_distortion(0.6, 0.3, 0.3), abs=1e-3
    )


@pytest.mark.parametrize("q", QS)
def test_binary_equal_marginals(q):
    """q_X = q_Y: both bounds of (8) are tight and D_ncr = 2 D_mse (Theorem 1)."""
    ncr = binary_ncr_distortion(q, q, RATES)
    np.testing.assert_allclose(binary_ncr_upper_bound(q, q, RATES), ncr, atol=1e-12)
    np.testing.assert_allclose(binary_ncr_lower_bound(q, q, RATES), ncr, atol=1e-12)
    np.testing.assert_allclose(2 * binary_mse_distortion(q, RATES), ncr, atol=1e-12)


@pytest.mark.parametrize(("qx", "qy"), PAIRS)
def test_binary_upper_bound_tight_iff_same_side(qx, qy):
    """Section 2.2: the upper bound (23) is tight when both are biased to the same symbol."""
    gap = np.max(binary_ncr_upper_bound(qx, qy, RATES) - binary_ncr_distortion(qx, qy, RATES))
    same_side = (qx <= 0.5 and qy <= 0.5) or (qx >= 0.5 and qy >= 0.5)
    if same_side:
        assert gap < 1e-12
    else:
        assert gap > 1e-3


@pytest.mark.parametrize(("qx", "qy"), PAIRS)
@pytest.mark.parametrize("rate", [0.0, 0.03, 0.2, 0.45, 0.7, 0.9])
def test_binary_upper_bound_closed_form_matches_definition(qx, qy, rate):
    """(23) as implemented equals D_mse(X) + D_mse(Y) + W2^2(X^*, Y^*) computed directly."""

    def sides(q):  # for q = 1/2 both mirror-image quantisers are optimal
        return (True, False) if q == 0.5 else (None,)

    w2 = min(
        w2_squared_discrete_1d(
            *binary_quantizer_marginal(qx, rate, atom_at_one=sa),
            *binary_quantizer_marginal(qy, rate, atom_at_one=sb),
        )
        for sa in sides(qx)
        for sb in sides(qy)
    )
    direct = binary_mse_distortion(qx, rate) + binary_mse_distortion(qy, rate) + w2
    assert binary_ncr_upper_bound(qx, qy, rate) == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("q", QS)
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.8, 2.0])
def test_binary_quantizer(q, rate):
    """The quantiser output is E[X | X^]: mean q, entropy min(R, H_b(q)), and its MSE is
    Var(X) - Var(X^) = D_mse(B(q), R)."""
    v, p = binary_quantizer_marginal(q, rate)
    assert p @ v == pytest.approx(q, abs=1e-12)
    assert np.all((v >= -1e-15) & (v <= 1 + 1e-15))
    h = -sum(pi * math.log2(pi) for pi in p if pi > 0)
    assert h == pytest.approx(min(rate, float(binary_entropy(q))), abs=1e-9)
    mse = q * (1 - q) - (p @ v**2 - q**2)
    assert binary_mse_distortion(q, rate) == pytest.approx(mse, abs=1e-12)


def test_binary_ncr_two_cell_plan_value():
    """(22) equals the value of the two-cell plan of Figure 6 computed cell by cell."""
    qx, qy, rate = 0.3, 0.6, 0.4
    p = binary_entropy_inverse(rate)
    cells = [(p, 1.0, 1.0), (1 - p, (qx - p) / (1 - p), (qy - p) / (1 - p))]
    value = sum(t * (x * (1 - x) + y * (1 - y) + (x - y) ** 2) for t, x, y in cells)
    assert binary_ncr_distortion(qx, qy, rate) == pytest.approx(value, abs=1e-12)


def test_binary_cr_closed_form_values():
    """(25) at a hand-computed point: q_X = 0.3, q_Y = 0.6, R = 0.2."""
    h = float(binary_entropy(0.3))
    expected = 0.54 - 2 * 0.7 * 0.3 * 0.2 / h
    assert binary_cr_distortion(0.3, 0.6, 0.2) == pytest.approx(expected, abs=1e-14)
    # saturation at R = rho H_b(q_X), rho = min(q_Y/q_X, (1 - q_Y)/(1 - q_X)) = 4/7
    assert binary_cr_distortion(0.3, 0.6, 4 / 7 * h) == pytest.approx(0.3, abs=1e-12)
    assert binary_cr_distortion(0.3, 0.6, 4 / 7 * h * 0.999) > 0.3 + 1e-5


def test_binary_vector_and_scalar_agree():
    r = np.array([[0.1, 0.2], [0.3, 0.4]])
    out = binary_ncr_distortion(0.3, 0.6, r)
    assert out.shape == (2, 2)
    assert out[1, 0] == binary_ncr_distortion(0.3, 0.6, 0.3)
    assert isinstance(binary_cr_distortion(0.3, 0.6, 0.1), float)


@settings(max_examples=150, deadline=None)
@given(
    qx=st.floats(0.001, 0.999),
    qy=st.floats(0.001, 0.999),
    rate=st.floats(0.0, 1.5),
)
def test_binary_orderings_random(qx, qy, rate):
    ncr = binary_ncr_distortion(qx, qy, rate)
    cr = binary_cr_distortion(qx, qy, rate)
    assert binary_dmin(qx, qy) - 1e-12 <= cr <= ncr + 1e-12
    assert ncr <= binary_dmax(qx, qy) + 1e-12
    assert binary_ncr_lower_bound(qx, qy, rate) <= ncr + 1e-12
    assert ncr <= binary_ncr_upper_bound(qx, qy, rate) + 1e-12


# ------------------------------------------------------------------ W2 helper


def test_w2_discrete_1d_against_pot():
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(3)
    for _ in range(5):
        va, vb = rng.normal(size=4), rng.normal(size=6)
        pa, pb = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(6))
        m = (va[:, None] - vb[None, :]) ** 2
        expected = float(ot.emd2(pa, pb, m))
        assert w2_squared_discrete_1d(va, pa, vb, pb) == pytest.approx(expected, abs=1e-10)


# ------------------------------------------------------------------ uniform (A.6)


def test_uniform_w2_matches_quantile_integral():
    a, b = 2.0, 5.0
    u = (np.arange(200_000) + 0.5) / 200_000
    assert uniform_w2_squared(a, b) == pytest.approx(np.mean((a * u - b * u) ** 2), rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 16])
def test_uniform_upper_bound_44_matches_construction(n):
    """(44) = a^2 Δ^2/12 + b^2 Δ^2/12 + W2^2 of the two N-point quantiser outputs."""
    a, b = 2.0, 5.0
    centres = (2 * np.arange(1, n + 1) - 1) / (2 * n)
    w2 = w2_squared_discrete_1d(a * centres, np.full(n, 1 / n), b * centres, np.full(n, 1 / n))
    direct = (a**2 + b**2) / (12 * n**2) + w2
    assert uniform_ncr_upper_bound(a, b, n) == pytest.approx(direct, abs=1e-12)
    assert uniform_ncr_upper_bound_rate(a, b, math.log2(n)) == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("rate", [0.3, 1.0, 1.7, 2.2, 3.9])
def test_uniform_upper_bound_50_matches_construction(rate):
    """(46) + (47) + (50) equal the cell-by-cell value of the construction (45): a first cell
    of mass c and N - 1 cells of mass c' with H = R, monotone transport between centres."""
    a, b = 2.0, 5.0
    n = math.ceil(2.0**rate)
    grid = np.linspace(1e-12, 1.0 / n, 200_001)
    h = -grid * np.log2(grid) - (1 - grid) * np.log2((1 - grid) / (n - 1))
    c = float(grid[np.argmin(np.abs(h - rate))])
    cp = (1 - c) / (n - 1)
    edges = np.concatenate([[0.0], c + cp * np.arange(n)])  # CDF breakpoints on [0, 1]
    masses, centres = np.diff(edges), 0.5 * (edges[:-1] + edges[1:])
    w2 = w2_squared_discrete_1d(a * centres, masses, b * centres, masses)
    quant = (a**2 + b**2) / 12 * np.sum(masses**3)
    assert uniform_ncr_upper_bound_rate(a, b, rate) == pytest.approx(quant + w2, rel=1e-6)


def test_uniform_upper_bound_decreases_to_w2():
    a, b = 2.0, 5.0
    vals = [uniform_ncr_upper_bound(a, b, n) for n in range(1, 65)]
    assert np.all(np.diff(vals) < 0)
    assert np.all(np.array(vals) > uniform_w2_squared(a, b))
    assert vals[-1] - uniform_w2_squared(a, b) == pytest.approx(a * b / 6 / 64**2, rel=1e-12)
    r = np.linspace(0.0, 5.0, 301)
    v = uniform_ncr_upper_bound_rate(a, b, r)
    assert np.all(np.diff(v) <= 1e-12)
    assert np.all(v >= uniform_w2_squared(a, b))


# ------------------------------------------------------------------ Gaussian (Theorem 8)

GAUSS = [(0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 1.0, 2.0), (-1.0, 0.5, 2.0, 3.0)]
GR = np.linspace(0.0, 6.0, 241)


@pytest.mark.parametrize("m", GAUSS)
def test_gaussian_theorem8(m):
    ncr = gaussian_ncr_asymptotic(*m, GR)
    cr = gaussian_cr_asymptotic(*m, GR)
    up = gaussian_ncr_upper_bound_asymptotic(*m, GR)
    low = gaussian_ncr_lower_bound_asymptotic(*m, GR)
    dmin, dmax = gaussian_dmin(*m), gaussian_dmax(*m)
    np.testing.assert_allclose(up, ncr, atol=1e-12)  # (59)
    assert np.all(low <= ncr + 1e-12)
    assert np.all(cr <= ncr + 1e-12)
    assert ncr[0] == pytest.approx(dmax) and cr[0] == pytest.approx(dmax)
    assert ncr[-1] == pytest.approx(dmin, abs=1e-3) and cr[-1] == pytest.approx(dmin, abs=1e-3)
    for d in (ncr, cr):
        assert np.all(np.diff(d) <= 1e-12)
        assert np.all(d[:-2] - 2 * d[1:-1] + d[2:] >= -1e-12)  # convex in R
        assert np.all((d >= dmin - 1e-12) & (d <= dmax + 1e-12))


def test_gaussian_equal_marginals_bounds_tight():
    m = (0.5, 1.5, 0.5, 1.5)
    np.testing.assert_allclose(
        gaussian_ncr_lower_bound_asymptotic(*m, GR), gaussian_ncr_asymptotic(*m, GR), atol=1e-12
    )


def test_gaussian_cr_is_gaussian_coupling_at_mutual_information_r():
    """(61) = E[(X - Y)^2] of the jointly Gaussian coupling whose I(X; Y) equals R bits."""
    mx, sx, my, sy = 0.0, 1.0, 1.0, 2.0
    for rate in (0.1, 0.5, 1.0, 2.5):
        rho = math.sqrt(1 - 2 ** (-2 * rate))
        assert -0.5 * math.log2(1 - rho**2) == pytest.approx(rate)
        d = (mx - my) ** 2 + sx**2 + sy**2 - 2 * rho * sx * sy
        assert gaussian_cr_asymptotic(mx, sx, my, sy, rate) == pytest.approx(d, abs=1e-12)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("q", [0.0, 1.0, -0.1, 1.5, float("nan"), float("inf")])
def test_bad_q(q):
    for f in (binary_ncr_distortion, binary_cr_distortion, binary_ncr_upper_bound):
        with pytest.raises(ValueError, match="qx"):
            f(q, 0.5, 0.1)
        with pytest.raises(ValueError, match="qy"):
            f(0.5, q, 0.1)
    with pytest.raises(ValueError, match=r"^q must be"):
        binary_mse_distortion(q, 0.1)


def test_bad_types_and_rates():
    with pytest.raises(TypeError, match="qx"):
        binary_ncr_distortion("0.3", 0.5, 0.1)
    with pytest.raises(TypeError):
        binary_ncr_distortion(0.3, 0.5, True)
    for f in (binary_ncr_distortion, binary_cr_distortion, binary_ncr_lower_bound):
        with pytest.raises(ValueError, match="rate must be >= 0"):
            f(0.3, 0.5, -0.1)
        with pytest.raises(ValueError, match="rate must be >= 0"):
            f(0.3, 0.5, [0.1, -1.0])
    with pytest.raises(ValueError, match="rate must be >= 0"):
        gaussian_ncr_asymptotic(0, 1, 0, 1, -1.0)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_bad_gaussian_and_uniform(bad):
    with pytest.raises(ValueError, match="sx must be > 0"):
        gaussian_ncr_asymptotic(0.0, bad, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="sy must be > 0"):
        gaussian_cr_asymptotic(0.0, 1.0, 0.0, bad, 1.0)
    with pytest.raises(ValueError, match="a must be > 0"):
        uniform_w2_squared(bad, 1.0)
    with pytest.raises(ValueError, match="b must be > 0"):
        uniform_ncr_upper_bound(1.0, bad, 4)
    with pytest.raises(ValueError, match="n_levels must be >= 1"):
        uniform_ncr_upper_bound(1.0, 2.0, 0)
