"""Exact solvers of entropy-constrained optimal transport against the closed forms.

Tolerances: the common-randomness LP must reproduce (25) to 1e-9; the program (P) must
reproduce (22) to 1e-6 (Liu, Zhang, Chen, Khisti, appendices A.3 and A.4).
"""

from __future__ import annotations

import numpy as np
import pytest

from rdlab.core.information import entropy
from rdlab.solvers.ecot import (
    MAX_LP_COLUMNS,
    binary_cr_lp,
    binary_ncr_program,
    cr_distortion_lp,
    deterministic_maps,
)
from rdlab.theory.ecot import binary_cr_distortion, binary_ncr_distortion

LP_TOL = 1e-9
PROGRAM_TOL = 1e-6
HAMMING = [[0.0, 1.0], [1.0, 0.0]]


# ------------------------------------------------------------------ common randomness LP


def test_lp_reproduces_eq25_on_grid():
    qs = (0.05, 0.2, 0.3, 0.5, 0.6, 0.8, 0.95)
    rates = list(np.linspace(0.0, 1.2, 25))
    worst = 0.0
    for qx in qs:
        for qy in qs:
            for sol in binary_cr_lp(qx, qy, rates):
                err = abs(sol.distortion - binary_cr_distortion(qx, qy, sol.rate_bits))
                worst = max(worst, err)
    assert worst <= LP_TOL


def test_lp_solution_is_a_valid_plan():
    """Weights form a pmf on at most |Y| + 1 maps (support lemma / LP vertex), the output law
    is p_Y exactly, the average entropy is within budget and the cost is the LP value."""
    rng = np.random.default_rng(7)
    px, py = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(3))
    d = rng.uniform(0, 1, (4, 3))
    for sol in cr_distortion_lp(px, py, d, [0.0, 0.3, 0.9, 2.0]):
        assert sol.n_columns == 3**4
        assert len(sol.weights) <= 3 + 1
        assert sol.weights.sum() == pytest.approx(1.0, abs=1e-12)
        out = np.zeros(3)
        cost = 0.0
        ent = 0.0
        for w, f in zip(sol.weights, sol.maps, strict=True):
            pf = np.bincount(f, weights=px, minlength=3)
            out += w * pf
            cost += w * float(px @ d[np.arange(4), f])
            ent += w * entropy(pf)
        np.testing.assert_allclose(out, py, atol=1e-9)
        assert cost == pytest.approx(sol.distortion, abs=1e-9)
        assert ent <= sol.rate_bits + 1e-9


def test_lp_limits_independence_and_optimal_transport():
    """R = 0: only constant maps, so D = sum p_X p_Y d (independent X, Y). R large: the
    classical optimal transport cost (1), computed here as a coupling LP."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(11)
    px, py = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(4))
    d = rng.uniform(0, 2, (3, 4))
    zero, big = cr_distortion_lp(px, py, d, [0.0, 10.0])
    assert zero.distortion == pytest.approx(float(px @ d @ py), abs=1e-9)
    a_eq = np.vstack([np.kron(np.eye(3), np.ones(4)), np.kron(np.ones(3), np.eye(4))])
    ot = linprog(d.ravel(), A_eq=a_eq, b_eq=np.concatenate([px, py]), method="highs")
    assert big.distortion == pytest.approx(ot.fun, abs=1e-9)


def test_lp_value_nonincreasing_and_convex_in_rate():
    rng = np.random.default_rng(5)
    px, py = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3))
    d = np.abs(np.subtract.outer(np.arange(3.0), np.arange(3.0))) ** 2
    rates = np.linspace(0.0, 1.6, 33)
    vals = np.array([s.distortion for s in cr_distortion_lp(px, py, d, list(rates))])
    assert np.all(np.diff(vals) <= 1e-9)
    assert np.all(vals[:-2] - 2 * vals[1:-1] + vals[2:] >= -1e-9)


def test_lp_size_limit():
    assert deterministic_maps(2, 2).shape == (4, 2)
    assert 3**11 <= MAX_LP_COLUMNS < 4**9
    with pytest.raises(ValueError, match=r"4\^9 = 262144 deterministic maps, more than"):
        cr_distortion_lp(np.full(9, 1 / 9), np.full(4, 0.25), np.ones((9, 4)), 1.0)
    with pytest.raises(ValueError, match="MAX_LP_COLUMNS"):
        deterministic_maps(18, 2)


def test_lp_bad_input():
    with pytest.raises(ValueError, match="rate must be >= 0"):
        binary_cr_lp(0.3, 0.6, -0.5)
    with pytest.raises(ValueError, match="qx must be in"):
        binary_cr_lp(0.0, 0.6, 0.5)
    with pytest.raises(ValueError, match="p_y must sum to 1"):
        cr_distortion_lp([0.5, 0.5], [0.5, 0.6], HAMMING, 0.5)
    with pytest.raises(ValueError, match="one column per target symbol"):
        cr_distortion_lp([0.5, 0.5], [0.5, 0.5], [[0.0], [1.0]], 0.5)
    with pytest.raises(ValueError, match="distortion entries must be >= 0"):
        cr_distortion_lp([0.5, 0.5], [0.5, 0.5], [[0.0, -1.0], [1.0, 0.0]], 0.5)


# ------------------------------------------------------------------ program (P), no common randomness

FAST_GRID = [(0.3, 0.3), (0.3, 0.6), (0.8, 0.15), (0.5, 0.9)]


@pytest.mark.parametrize(("qx", "qy"), FAST_GRID)
def test_program_reproduces_eq22(qx, qy):
    for rate in (0.1, 0.4, 0.75):
        sol = binary_ncr_program(qx, qy, rate, n_cells=3, n_starts=12, seed=0)
        assert sol.distortion == pytest.approx(binary_ncr_distortion(qx, qy, rate), abs=PROGRAM_TOL)


def test_program_solution_is_feasible_and_seeded():
    a = binary_ncr_program(0.3, 0.6, 0.5, n_cells=4, n_starts=6, seed=3)
    b = binary_ncr_program(0.3, 0.6, 0.5, n_cells=4, n_starts=6, seed=3)
    assert a.distortion == b.distortion
    np.testing.assert_array_equal(a.theta, b.theta)
    t, x, y = a.theta, a.x_hat, a.y_hat
    assert t.sum() == pytest.approx(1.0, abs=1e-9)
    assert t @ x == pytest.approx(0.3, abs=1e-9)
    assert t @ y == pytest.approx(0.6, abs=1e-9)
    assert a.entropy_bits <= 0.5 + 1e-9
    assert np.all((x >= 0) & (x <= 1) & (y >= 0) & (y <= 1))
    # distortion of the decomposition (3): quantisation + dequantisation + transport
    assert np.sum(t * (x * (1 - x) + y * (1 - y) + (x - y) ** 2)) == pytest.approx(a.distortion)


def test_solvers_common_randomness_helps():
    """Independently of the closed forms: LP (with U) <= program (P) (without U), strictly
    wherever D_ncr has not reached D_min (Section 2.2)."""
    for qx, qy in FAST_GRID:
        for rate in (0.2, 0.5):
            cr = binary_cr_lp(qx, qy, rate).distortion
            ncr = binary_ncr_program(qx, qy, rate, n_starts=8, seed=1).distortion
            assert cr <= ncr + 1e-9
            if ncr > abs(qx - qy) + 1e-3:  # not yet at D_min: strict improvement
                assert ncr - cr > 1e-3


def test_program_bad_input():
    with pytest.raises(ValueError, match="n_cells must be <= 8"):
        binary_ncr_program(0.3, 0.6, 0.5, n_cells=9)
    with pytest.raises(ValueError, match="n_cells must be >= 1"):
        binary_ncr_program(0.3, 0.6, 0.5, n_cells=0)
    with pytest.raises(ValueError, match="rate must be >= 0"):
        binary_ncr_program(0.3, 0.6, -1.0)
    with pytest.raises(ValueError, match="qy must be in"):
        binary_ncr_program(0.3, 1.0, 0.5)
    with pytest.raises(TypeError, match="seed"):
        binary_ncr_program(0.3, 0.6, 0.5, seed=None)


@pytest.mark.slow
def test_program_reproduces_eq22_full_grid():
    worst = 0.0
    for qx in (0.1, 0.3, 0.5, 0.75, 0.9):
        for qy in (0.15, 0.4, 0.5, 0.6, 0.95):
            for rate in (0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 1.2):
                for n in (2, 4, 8):
                    sol = binary_ncr_program(qx, qy, rate, n_cells=n, n_starts=16, seed=1)
                    worst = max(worst, abs(sol.distortion - binary_ncr_distortion(qx, qy, rate)))
    assert worst <= PROGRAM_TOL
