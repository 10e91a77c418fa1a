"""Retrieval rate-distortion bounds (Chen, "Rate-Distortion Limits for Multimodal Retrieval").

Each erratum of the paper has a test here that fails for the printed formula.
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rdlab.core.information import (
    binary_entropy,
    channel_mutual_information,
    entropy,
    mutual_information,
)
from rdlab.core.ranking import mean_reciprocal_rank, random_ranking_mrr, ranking_distortion
from rdlab.theory.retrieval import (
    adaptive_temperatures,
    allocate_bits,
    cross_information_total,
    distortion_upper_bound,
    entropy_imbalance,
    excess_risk_bound,
    modality_skew,
    rademacher_complexity_bound,
    ranking_fano_bound,
    ranking_fano_curve,
    ranking_fano_dmax,
    ranking_fano_min_distortion,
    ranking_fano_slope,
    redundancy_ratio,
    skew_converse_bound,
    temperature_schedule,
)

corpus_sizes = st.integers(2, 10**6)
distortions = st.floats(0.0, 1.0, allow_nan=False)


def paper_eq5(d: float, n: int) -> float:
    """Eq. (5) exactly as printed: log N - h(D) - (1 - D) log(N - 1)."""
    return math.log2(n) - float(binary_entropy(d)) - (1 - d) * math.log2(n - 1)


def partition_code(cell_of: np.ndarray) -> tuple[float, float]:
    """Rate H(C) and exact E[d] of the code C = cell of Y (Y uniform, X = Y).

    The decoder ranks the members of the received cell first (by index), then the rest; the
    relevant document is uniform, so E[d] averages 1 - RR over all N documents.
    """
    n = cell_of.shape[0]
    scores = (cell_of[None, :] == cell_of[:, None]).astype(float) - np.arange(n)[None, :] / (2 * n)
    d = float(np.mean(ranking_distortion(scores=scores, relevant=np.arange(n))))
    _, sizes = np.unique(cell_of, return_counts=True)
    return entropy(sizes / n), d


# ------------------------------------------------------------- ranking Fano bound (eq. (5))


def test_ranking_fano_hand_values():
    assert ranking_fano_bound(0.0, 1024) == 10.0
    assert ranking_fano_bound(0.05, 2) == pytest.approx(0.5310044064107188, abs=1e-12)  # 1 - h(.1)
    # N = 4, D = 0.1: 2 - h(0.2) - 0.2 log2 3.
    assert ranking_fano_bound(0.1, 4) == pytest.approx(0.9610794049684064, abs=1e-12)
    assert ranking_fano_bound(0.1, 1000) == pytest.approx(7.250988016216241, abs=1e-12)
    assert ranking_fano_bound([0.375, 0.5, 1.0], 4).tolist() == [0.0, 0.0, 0.0]
    assert ranking_fano_dmax(4) == 0.375
    assert ranking_fano_dmax(1000) == pytest.approx(0.4995)


@settings(max_examples=200, deadline=None)
@given(corpus_sizes)
def test_ranking_fano_endpoints(n):
    assert ranking_fano_bound(0.0, n) == pytest.approx(math.log2(n), abs=1e-12)
    dmax = ranking_fano_dmax(n)
    assert dmax == pytest.approx((1 - 1 / n) / 2)
    assert ranking_fano_bound(dmax, n) == 0.0
    assert ranking_fano_bound(1.0, n) == 0.0
    assert ranking_fano_bound(dmax - 1e-3, n) > 0.0


@settings(max_examples=200, deadline=None)
@given(corpus_sizes, distortions, distortions)
def test_ranking_fano_non_increasing(n, d1, d2):
    lo, hi = min(d1, d2), max(d1, d2)
    assert ranking_fano_bound(lo, n) >= ranking_fano_bound(hi, n) - 1e-12
    assert ranking_fano_bound(lo, n) >= 0.0


@settings(max_examples=200, deadline=None)
@given(corpus_sizes, distortions, distortions)
def test_ranking_fano_convex(n, d1, d2):
    mid = ranking_fano_bound((d1 + d2) / 2, n)
    chord = (ranking_fano_bound(d1, n) + ranking_fano_bound(d2, n)) / 2
    assert mid <= chord + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 24), st.data())
def test_ranking_fano_holds_for_explicit_partition_codes(n, data):
    """No code beats the bound: I(X;C) = H(C) >= R_rank(E[d]) for every partition code."""
    labels = data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
    rate, d = partition_code(np.array(labels))
    assert rate >= ranking_fano_bound(d, n) - 1e-9


def symmetric_channel_code(n: int, q: float) -> tuple[float, float]:
    """Rate I(Y;C) and E[d] of C = Y w.p. 1 - q, else uniform on the other N - 1 documents.

    The decoder ranks document C first and the rest in random order (``ties="expected"``).
    """
    w = np.full((n, n), q / (n - 1))
    np.fill_diagonal(w, 1 - q)
    rate = channel_mutual_information(np.full(n, 1 / n), w)
    d = np.array(
        [
            [ranking_distortion(scores=np.eye(n)[c], relevant=y, ties="expected") for c in range(n)]
            for y in range(n)
        ]
    )
    return rate, float(np.sum(w * d) / n)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 30), st.floats(0.0, 1.0))
def test_ranking_fano_holds_for_symmetric_channel_codes(n, frac):
    """Stochastic codes with Fano-tight errors obey the bound, with equality for N = 2."""
    q = frac * (1 - 1 / n)
    rate, d = symmetric_channel_code(n, q)
    # Hand form: E[d] = q (1 - (H_N - 1)/(N - 1)), the miss rank uniform on {2, ..., N}.
    h_n = sum(1 / k for k in range(1, n + 1))
    assert d == pytest.approx(q * (1 - (h_n - 1) / (n - 1)), abs=1e-12)
    assert rate >= ranking_fano_bound(d, n) - 1e-9
    if n == 2:  # binary symmetric test channel: R = 1 - h(2D) is met with equality
        assert ranking_fano_bound(d, n) == pytest.approx(rate, abs=1e-9)


def test_partition_code_extremes_meet_the_bound():
    n = 16
    rate, d = partition_code(np.arange(n))  # lossless: log2 N bits, D = 0
    assert (rate, d) == (pytest.approx(4.0), 0.0)
    assert ranking_fano_bound(d, n) == pytest.approx(rate)
    rate, d = partition_code(np.zeros(n, dtype=int))  # zero rate: D = 1 - H_N / N
    assert rate == 0.0
    assert d == pytest.approx(1 - random_ranking_mrr(n))
    assert ranking_fano_bound(d, n) == 0.0


def test_erratum_eq5_as_printed_increases_and_is_violated():
    """Printed eq. (5) increases in D and claims log2 N bits at D = 1; a zero-rate code refutes it."""
    n = 1000
    grid = np.linspace(0.0, 1.0, 101)
    printed = np.array([paper_eq5(d, n) for d in grid])
    assert printed[-1] == pytest.approx(math.log2(n))
    assert np.any(np.diff(printed) > 0.01)  # not non-increasing
    assert paper_eq5(0.0, n) < 0.01  # and ~0 bits for perfect retrieval
    # Zero-rate code: a fixed ranking, D = 1 - H_N/N, rate 0 < printed bound.
    d0 = 1 - random_ranking_mrr(n)
    assert paper_eq5(d0, n) > 9.0
    assert ranking_fano_bound(d0, n) == 0.0
    # The corrected bound is non-increasing on the same grid.
    assert np.all(np.diff(ranking_fano_bound(grid, n)) <= 1e-12)


def test_erratum_eq4_as_printed_is_not_a_probability():
    """Printed eq. (4): p_S <= 2(1-D)(N-1)/(N-3) exceeds 1; the right relation is p_S >= 1 - 2D."""
    n = 1000
    printed = 2 * (1 - 0.1) * (n - 1) / (n - 3)
    assert printed > 1
    # For partition codes, the top-1 success p_S obeys p_S >= 1 - 2 E[d].
    for cell_size in (1, 2, 5, 10, 1000):
        cells = np.arange(n) // cell_size
        _, d = partition_code(cells)
        p_success = 1.0 / cell_size  # the relevant document is first with prob. 1/|cell|
        assert p_success >= 1 - 2 * d - 1e-12


def test_ranking_fano_slope():
    n = 50
    for d in (0.01, 0.1, 0.3, 0.45):
        h = 1e-6
        fd = (ranking_fano_bound(d + h, n) - ranking_fano_bound(d - h, n)) / (2 * h)
        assert ranking_fano_slope(d, n) == pytest.approx(fd, rel=1e-5)
    assert ranking_fano_slope(0.0, n) == -math.inf
    assert ranking_fano_slope([0.49, 1.0], n).tolist() == [0.0, 0.0]
    assert ranking_fano_slope(0.125, 4) == pytest.approx(-2 * math.log2(9), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(corpus_sizes, st.floats(0.0, 1.0))
def test_min_distortion_inverts_the_bound(n, frac):
    d = frac * ranking_fano_dmax(n)
    r = ranking_fano_bound(d, n)
    d_back = ranking_fano_min_distortion(r, n)
    assert ranking_fano_bound(d_back, n) == pytest.approx(r, abs=1e-9)
    if r > 1e-6:
        assert d_back == pytest.approx(d, abs=1e-7)
    assert ranking_fano_min_distortion(math.log2(n) + 1, n) == 0.0
    assert ranking_fano_min_distortion(0.0, n) == pytest.approx(ranking_fano_dmax(n))


def test_ranking_fano_curve():
    curve = ranking_fano_curve(1000, n_points=11)
    rates = curve.rate_bits
    assert rates[0] == pytest.approx(math.log2(1000))
    assert np.all(np.diff(rates) <= 1e-12)
    assert np.all(np.diff(curve.distortion) > 0)
    assert 0.4995 in curve.distortion.tolist()
    assert len(curve) == 12
    assert all(p.rate_lower_bits == p.rate_bits for p in curve)
    assert curve.points[0].slope is None and curve.points[-1].slope == 0.0
    assert curve.meta["zero_from_distortion"] == pytest.approx(0.4995)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ranking_fano_bound(0.1, 1), ValueError, "n_docs must be >= 2"),
        (lambda: ranking_fano_bound(0.1, 10.0), TypeError, "n_docs must be an integer"),
        (lambda: ranking_fano_bound(-0.1, 10), ValueError, r"distortion must be in \[0, 1\]"),
        (lambda: ranking_fano_bound([0.1, 1.5], 10), ValueError, r"distortion must be in \[0, 1\]"),
        (lambda: ranking_fano_bound(float("nan"), 10), ValueError, "distortion must be finite"),
        (lambda: ranking_fano_min_distortion(-1.0, 10), ValueError, "rate_bits must be in"),
        (lambda: ranking_fano_curve(10, n_points=1), ValueError, "n_points must be >= 2"),
        (lambda: ranking_fano_curve(10, max_distortion=0.0), ValueError, "max_distortion"),
        (lambda: ranking_fano_dmax(0), ValueError, "n_docs must be >= 2"),
    ],
)
def test_ranking_fano_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------ skew coefficient and Theorem 4.1


def test_entropy_imbalance_and_kappa_hand_values():
    assert entropy_imbalance([1.0, 3.0]) == 2.0
    assert entropy_imbalance([2.0, 2.0, 2.0]) == 0.0
    assert entropy_imbalance([0.0, 1.0, 5.0]) == pytest.approx(2 + 1 + 3)
    assert modality_skew([1.0, 3.0], 0.0) == 1.0  # independent, M = 2
    assert modality_skew([1.0, 1.0, 1.0], 0.0) == 0.5  # independent, M = 3: 1/(M-1)
    assert modality_skew([2.0], 0.0) == 0.0  # unimodal corollary
    # M = 2, I(X1;X2) = 0.5 bit: I_cross = 1 (ordered pairs), rho = 1/(1 * 2), kappa = 1/2.
    mi = [[1.0, 0.5], [0.5, 1.0]]
    assert cross_information_total([1.0, 1.0], mi) == 1.0
    assert redundancy_ratio([1.0, 1.0], mi) == 0.5
    assert modality_skew([1.0, 1.0], mi) == 0.5
    assert modality_skew([1.0, 1.0], 1.0) == 0.5  # the same as a scalar total
    # M = 3, H = (2, 2, 2), one redundant pair I = 2: I_cross = 4, rho = 4 / (2 * 6), kappa = 1/3.
    mi3 = [[0.0, 2.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert redundancy_ratio([2.0, 2.0, 2.0], mi3) == pytest.approx(1 / 3)
    assert modality_skew([2.0, 2.0, 2.0], mi3) == pytest.approx(1 / 3)
    assert modality_skew([0.0, 0.0], 0.0) == 1.0  # no entropy, no redundancy


def test_erratum_eq6_kappa_range_for_three_redundant_modalities():
    """Three copies of one 2-bit variable: the printed rho = I_cross/sum H = 2 gives kappa < 0."""
    h = [2.0, 2.0, 2.0]
    mi = np.full((3, 3), 2.0)
    i_cross = cross_information_total(h, mi)
    assert i_cross == 12.0
    printed_kappa = (1 - i_cross / sum(h)) / (3 - 1)
    assert printed_kappa == -0.5  # outside the claimed [0, 1]
    assert redundancy_ratio(h, mi) == 1.0
    assert modality_skew(h, mi) == 0.0  # fully redundant -> 0, as the paper says


@st.composite
def modality_setups(draw):
    m = draw(st.integers(1, 6))
    h = np.array(draw(st.lists(st.floats(0.0, 20.0), min_size=m, max_size=m)))
    u = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=m * m, max_size=m * m))).reshape(m, m)
    u = (u + u.T) / 2
    mi = u * np.minimum(h[:, None], h[None, :])
    return h, mi


@settings(max_examples=150, deadline=None)
@given(modality_setups())
def test_kappa_and_rho_ranges(setup):
    h, mi = setup
    m = h.shape[0]
    rho = redundancy_ratio(h, mi)
    kappa = modality_skew(h, mi)
    assert 0.0 <= rho <= 1.0
    if m == 1:
        assert kappa == 0.0
    else:
        assert 0.0 <= kappa <= 1.0 / (m - 1) + 1e-15
        assert kappa == pytest.approx((1 - rho) / (m - 1))
    assert entropy_imbalance(h) >= 0.0


@settings(max_examples=100, deadline=None)
@given(corpus_sizes, distortions, st.floats(0.0, 30.0), st.integers(1, 5))
def test_skew_bound_reduces_to_ranking_bound_without_imbalance(n, d, h, m):
    """Unimodal corollary (Sec. 4.4): M = 1 or balanced entropies give back R_rank."""
    balanced = skew_converse_bound(d, n, [h] * m, 0.0)
    assert balanced == pytest.approx(ranking_fano_bound(d, n), abs=1e-12)


def test_erratum_theorem_4_1_is_violated_by_an_explicit_code():
    """X1 a fair bit, X2 = Y uniform on 4 documents; the code C = X2 beats Theorem 4.1."""
    n = 4
    # Joint pmf of (X, C), X = (x1, x2) flattened as 2 * x2 + x1, C = x2.
    joint = np.zeros((2 * n, n))
    for x1, x2 in itertools.product(range(2), range(n)):
        joint[2 * x2 + x1, x2] = 1 / (2 * n)
    rate = mutual_information(joint)
    # The decoder ranks document C first: distortion 0 for every query.
    scores = np.eye(n)
    mrr = mean_reciprocal_rank(scores=scores, relevant=np.arange(n))
    assert rate == pytest.approx(2.0)
    assert 1 - mrr == 0.0
    claimed = skew_converse_bound(0.0, n, [1.0, 2.0], 0.0)  # R_bal(0) + kappa * dH = 2 + 1
    assert claimed == pytest.approx(3.0)
    assert rate < claimed  # the printed theorem fails
    assert rate >= ranking_fano_bound(0.0, n) - 1e-12  # the valid converse holds


@pytest.mark.parametrize(
    ("h", "mi", "match"),
    [
        ([1.0, -1.0], 0.0, "entropies must be >= 0"),
        ([1.0, 1.0], -0.5, r"cross_information must be >= 0"),
        ([1.0, 1.0], 3.0, r"total must be in \[0, \(M-1\) \* sum\(H\)\]"),
        ([1.0, 1.0], [[0.0, 0.5], [0.2, 0.0]], "must be symmetric"),
        ([1.0, 1.0], [[0.0, -0.5], [-0.5, 0.0]], "entries must be >= 0"),
        ([1.0, 3.0], [[0.0, 2.0], [2.0, 0.0]], r"<= min\(H_m, H_m'\)"),
        ([1.0, 1.0], [[0.0, 0.5, 0.0]], r"scalar total or an \(2, 2\) matrix"),
        ([[1.0, 1.0]], 0.0, "1-D array"),
        ([2.0], 1.0, r"\[0, 0\] bits"),
    ],
)
def test_skew_bad_input(h, mi, match):
    with pytest.raises(ValueError, match=match):
        modality_skew(h, mi)


# -------------------------------------------------------------------- bit allocation (5.1)


def test_allocation_hand_values_and_erratum():
    # The paper's ceilings overshoot: (1, 1, 1), R = 4 -> (2, 2, 2), 6 bits > 4.
    h = np.array([1.0, 1.0, 1.0])
    assert int(np.ceil(h * 4 / h.sum()).sum()) == 6
    assert allocate_bits(h, 4).tolist() == [2, 1, 1]
    assert allocate_bits([1.0, 3.0], 8).tolist() == [2, 6]
    assert allocate_bits([1.0, 2.0, 3.0], 12).tolist() == [2, 4, 6]  # exact shares kept
    # Shares 2.5, 0.83, 1.67: floors (2, 0, 1) and the 2 spare bits go to the largest remainders.
    assert allocate_bits([3.0, 1.0, 2.0], 5).tolist() == [2, 1, 2]
    assert allocate_bits([0.0, 5.0], 7).tolist() == [0, 7]
    assert allocate_bits([1.0, 2.0], 0).tolist() == [0, 0]


def hamilton(h: list[int], r: int) -> list[int]:
    """Largest remainders in exact arithmetic; ties: larger entropy, then lower index, first."""
    total = sum(h)
    shares = [Fraction(hi * r, total) for hi in h]
    base = [math.floor(s) for s in shares]
    left = r - sum(base)
    order = sorted(range(len(h)), key=lambda i: (-(shares[i] - base[i]), -h[i], i))
    for i in order[:left]:
        base[i] += 1
    return base


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.integers(0, 300))
def test_allocation_is_largest_remainder(h, r):
    assume(sum(h) > 0)
    bits = allocate_bits(np.array(h, float), r)
    assert bits.dtype == np.int64
    assert int(bits.sum()) == r  # sum R_m <= R, with equality
    assert bits.tolist() == hamilton(h, r)
    shares = np.array(h, float) * r / sum(h)
    assert np.all(bits >= np.floor(shares - 1e-9)) and np.all(bits <= np.ceil(shares + 1e-9))
    for i, j in itertools.permutations(range(len(h)), 2):
        if h[i] > h[j]:
            assert bits[i] >= bits[j]


def test_allocation_bad_input():
    with pytest.raises(ValueError, match="must not all be 0"):
        allocate_bits([0.0, 0.0], 4)
    with pytest.raises(ValueError, match="total_bits must be >= 0"):
        allocate_bits([1.0], -1)
    with pytest.raises(TypeError, match="total_bits must be an integer"):
        allocate_bits([1.0], 2.5)
    with pytest.raises(ValueError, match="entropies must be >= 0"):
        allocate_bits([1.0, -2.0], 4)


# ------------------------------------------------------------------------- temperatures


def test_adaptive_temperatures_hand_values_and_erratum():
    np.testing.assert_allclose(adaptive_temperatures([1.0, 3.0]), [math.sqrt(2), math.sqrt(2 / 3)])
    np.testing.assert_allclose(adaptive_temperatures([4.0, 4.0, 4.0]), [1.0, 1.0, 1.0])
    # "tau* proportional to Delta H_m" is false: balanced entropies have Delta H_m = 0, tau* = 1;
    # and eq. (10) lowers the temperature of the high-entropy modality while Sec. 6 raises it
    # relative to the mean-entropy modality.
    tau10 = adaptive_temperatures([1.0, 2.0, 3.0])
    tau6 = temperature_schedule([1.0, 2.0, 3.0], gamma=1.0)
    assert tau10[2] < tau10[1] and tau6[2] > tau6[1]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=10))
def test_adaptive_temperatures_properties(h):
    tau = adaptive_temperatures(h)
    assert np.mean(tau**-2.0) == pytest.approx(1.0, rel=1e-12)
    order = np.argsort(h, kind="stable")
    assert np.all(np.diff(tau[order]) <= 1e-12)  # decreasing in the entropy
    np.testing.assert_allclose(adaptive_temperatures(np.array(h) * 7.0), tau, rtol=1e-12)


def test_temperature_schedule_hand_values():
    # H = (1, 3): mean 2, Delta H = 2, default gamma = 1/sqrt(M + Delta H) = 1/2.
    np.testing.assert_allclose(temperature_schedule([1.0, 3.0]), [0.5 * math.sqrt(1.001)] * 2)
    np.testing.assert_allclose(
        temperature_schedule([1.0, 2.0, 6.0], gamma=2.0, epsilon=0.5),
        [2 * math.sqrt(2.5), 2 * math.sqrt(1.5), 2 * math.sqrt(3.5)],
    )
    np.testing.assert_allclose(temperature_schedule([5.0], epsilon=0.04), [0.2])


def test_temperature_bad_input():
    with pytest.raises(ValueError, match="entropies must be > 0"):
        adaptive_temperatures([1.0, 0.0])
    with pytest.raises(ValueError, match="gamma must be > 0"):
        temperature_schedule([1.0], gamma=0.0)
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        temperature_schedule([1.0], epsilon=0.0)
    with pytest.raises(ValueError, match="entropies must not be empty"):
        temperature_schedule([])


# ------------------------------------------------------------ Lemma 6.1 and Theorem 6.2


def test_rademacher_and_excess_hand_values():
    # sqrt(2/100) (sqrt(2 ln 4) + sqrt(ln 1000))
    assert rademacher_complexity_bound(100, [4, 4], 1000) == pytest.approx(0.6071742233880787)
    # Massart: sqrt(2 ln(16 * 1000) / 100)
    assert rademacher_complexity_bound(100, [4, 4], 1000, form="massart") == pytest.approx(
        0.44000781814013074
    )
    # 4 * 0.60717... + 3 sqrt(ln(40) / 200)
    assert excess_risk_bound(100, 0.05, [4, 4], 1000) == pytest.approx(2.8361273482745006)
    assert distortion_upper_bound(0.2, 100, 0.05, [4, 4], 1000) == 1.0  # vacuous, clipped
    assert rademacher_complexity_bound(10, [1], 1) == 0.0


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 10**6),
    st.lists(st.integers(1, 2**20), min_size=1, max_size=6),
    st.integers(1, 10**5),
    st.floats(1e-6, 0.999),
    st.floats(0.0, 1.0),
)
def test_finite_sample_bounds_properties(n, cells, dmax, delta, emp):
    paper = rademacher_complexity_bound(n, cells, dmax)
    massart = rademacher_complexity_bound(n, cells, dmax, form="massart")
    assert 0.0 <= massart <= paper + 1e-15
    assert rademacher_complexity_bound(4 * n, cells, dmax) == pytest.approx(paper / 2)
    gap = excess_risk_bound(n, delta, cells, dmax)
    assert gap >= 4 * paper
    assert excess_risk_bound(n, min(0.9999, delta * 1.5), cells, dmax) <= gap
    ub = distortion_upper_bound(emp, n, delta, cells, dmax)
    assert emp <= ub <= 1.0


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 10), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_massart_bound_holds_for_a_finite_loss_class(n, k, dmax, seed):
    """Exact empirical Rademacher complexity (all 2^n signs) of K * D_max loss vectors."""
    rng = np.random.default_rng(seed)
    values = 1.0 - 1.0 / np.arange(1, dmax + 1)  # the losses 1 - 1/k of Lemma 6.1
    losses = rng.choice(values, size=(k * dmax, n))
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n)))
    rad = float(np.mean(np.max(signs @ losses.T, axis=1)) / n)
    assert rad <= rademacher_complexity_bound(n, [k], dmax, form="massart") + 1e-12


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: rademacher_complexity_bound(0, [2], 10), ValueError, "n_samples must be >= 1"),
        (
            lambda: rademacher_complexity_bound(5, [0, 2], 10),
            ValueError,
            r"cells_per_modality\[0\]",
        ),
        (lambda: rademacher_complexity_bound(5, [2.5], 10), TypeError, "must be an integer"),
        (lambda: rademacher_complexity_bound(5, [], 10), ValueError, "non-empty"),
        (
            lambda: rademacher_complexity_bound(5, [2], 0),
            ValueError,
            "max_corpus_size must be >= 1",
        ),
        (lambda: rademacher_complexity_bound(5, [2], 3, form="vc"), ValueError, "form must be"),
        (lambda: excess_risk_bound(5, 0.0, [2], 3), ValueError, r"delta must be in \(0.0, 1.0\)"),
        (lambda: excess_risk_bound(5, 1.0, [2], 3), ValueError, "delta must be in"),
        (lambda: distortion_upper_bound(1.2, 5, 0.1, [2], 3), ValueError, "empirical_distortion"),
    ],
)
def test_finite_sample_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli():
    from rdlab.cli import main as cli_main

    return cli_main.main


def test_cli_bound_json(cli, capsys):
    assert cli(["retrieval", "bound", "--corpus", "1000", "--points", "6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_docs"] == 1000
    pts = out["points"]
    rates = [p["rate_bits"] for p in pts]
    assert rates[0] == pytest.approx(math.log2(1000))
    assert rates[-1] == 0.0 and pts[-1]["distortion"] == pytest.approx(0.4995)
    assert all(a >= b for a, b in itertools.pairwise(rates))
    for p in pts:
        assert p["rate_bits"] == pytest.approx(ranking_fano_bound(p["distortion"], 1000))


def test_cli_bound_table_rate_and_plot(cli, capsys, tmp_path):
    assert cli(["retrieval", "bound", "--corpus", "16", "--points", "4"]) == 0
    assert "ranking Fano bound, N=16" in capsys.readouterr().out
    assert cli(["retrieval", "bound", "--corpus", "1000", "--rate", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["points"][0]["distortion"] == pytest.approx(ranking_fano_min_distortion(3.0, 1000))
    assert out["max_mrr"] == pytest.approx(1 - out["points"][0]["distortion"])
    png = tmp_path / "bound.png"
    assert cli(["retrieval", "bound", "--corpus", "100", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--corpus", "1"], "--corpus must be >= 2"),
        (["--corpus", "10", "--rate", "-1"], "rate_bits must be in"),
        (["--corpus", "10", "--rate", "1", "--max-distortion", "0.2"], "at most one of"),
        (["--corpus", "10", "--max-distortion", "2"], "max_distortion must be in"),
        (["--corpus", "10", "--points", "1"], "--points must be >= 2"),
    ],
)
def test_cli_bad_input(cli, capsys, argv, match):
    assert cli(["retrieval", "bound", *argv]) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err


def test_cli_requires_subcommand(cli):
    with pytest.raises(SystemExit) as exc:
        cli(["retrieval"])
    assert exc.value.code == 2
