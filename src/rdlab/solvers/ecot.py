r"""Exact finite-alphabet solvers for entropy-constrained optimal transport.

Liu, Zhang, Chen, Khisti, "Lossy Compression with Distribution Shift as Entropy Constrained
Optimal Transport".

With common randomness (Theorem 3, appendix A.3)
    :func:`cr_distortion_lp` solves the linear program over the :math:`|\mathcal Y|^{|\mathcal X|}`
    deterministic maps :math:`f_u: \mathcal X \to \mathcal Y` selected by the common randomness
    ``U``: minimise :math:`\sum_u p_U(u) E[d(X, f_u(X))]` subject to
    :math:`\sum_u p_U(u) H(f_u(X)) \le R` and :math:`\sum_u p_U(u) P(f_u(X) = y) = p_Y(y)`.
    The number of columns is capped at :data:`MAX_LP_COLUMNS`. :func:`binary_cr_lp` is the
    binary/Hamming special case that reproduces eq. (25).

Without common randomness (Theorem 1, appendix A.4)
    :func:`binary_ncr_program` solves the program (P) of appendix A.4 over ``N`` cells
    ``(θ_i, x̂_i, ŷ_i)``: minimise :math:`\sum_i θ_i (\hat x_i + \hat y_i - 2\hat x_i \hat y_i)`
    subject to :math:`H(θ) \le R`, :math:`\sum θ_i = 1`, :math:`\sum θ_i \hat x_i = q_X`,
    :math:`\sum θ_i \hat y_i = q_Y`, :math:`\hat x_i, \hat y_i \in [0, 1]` (the decomposition (3)
    for binary sources, where Hamming and squared error coincide). The program is not convex (the
    entropy constraint bounds a concave function from above and the objective is bilinear); it is
    solved by a seeded multistart of SLSQP, keeping the best feasible local solution. Every
    returned point is feasible, so its value is an upper bound on ``D_ncr`` that the multistart
    makes tight in practice (it reproduces (22) to 1e-6; see the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog, minimize

from rdlab.core.validation import (
    check_distortion_matrix,
    check_in_range,
    check_int,
    check_nonnegative,
    check_pmf,
    make_rng,
)

__all__ = [
    "MAX_LP_COLUMNS",
    "MAX_PROGRAM_CELLS",
    "BinaryNCRProgramResult",
    "CRLPResult",
    "binary_cr_lp",
    "binary_ncr_program",
    "cr_distortion_lp",
    "deterministic_maps",
]

MAX_LP_COLUMNS = 200_000
"""Largest number of deterministic maps ``|Y|^|X|`` the common-randomness LP accepts.

Every map is one LP column whose cost, output pmf and output entropy are tabulated up front
(``|X| * |Y|^|X|`` work and ``(|Y| + 1) * |Y|^|X|`` stored numbers); beyond about 2e5 columns
this enumeration and the LP take minutes and gigabytes, and the count explodes
(``|Y|^|X|``: 2^17 = 131072 and 3^11 = 177147 are accepted; 4^9 = 262144 and 2^18 are not)."""

MAX_PROGRAM_CELLS = 8
"""Largest number of cells ``N`` of the no-common-randomness program (P)."""

_H_TOL = 1e-9  # slack allowed on the entropy constraint, bits
_EQ_TOL = 1e-9  # slack allowed on the equality constraints


# --------------------------------------------------------------------------------------------
# common randomness: the LP of appendix A.3
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CRLPResult:
    """Solution of the common-randomness LP (appendix A.3) at one rate.

    Attributes
    ----------
    rate_bits : float
        The entropy budget ``R`` (bits).
    distortion : float
        ``D_cr(p_X, p_Y, R)``: the LP optimum.
    weights : ndarray, shape (k,)
        ``p_U(u) > 0`` on the maps used (a vertex of the LP: ``k <= |Y| + 1``).
    maps : ndarray of int, shape (k, |X|)
        ``maps[j, x] = f_u(x)`` for the maps used.
    entropy_bits : float
        ``sum_u p_U(u) H(f_u(X))`` at the optimum (<= ``rate_bits``).
    n_columns : int
        ``|Y|^|X|``, the number of maps in the LP.
    """

    rate_bits: float
    distortion: float
    weights: np.ndarray
    maps: np.ndarray
    entropy_bits: float
    n_columns: int


def deterministic_maps(n_x: int, n_y: int) -> np.ndarray:
    """All ``n_y ** n_x`` maps from ``{0..n_x-1}`` to ``{0..n_y-1}`` as rows of an int array.

    Raises ``ValueError`` when ``n_y ** n_x`` exceeds :data:`MAX_LP_COLUMNS`.

    Examples
    --------
    >>> deterministic_maps(2, 2).tolist()
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    nx = check_int("n_x", n_x, minimum=1)
    ny = check_int("n_y", n_y, minimum=1)
    count = ny**nx
    if count > MAX_LP_COLUMNS:
        raise ValueError(
            f"alphabets too large for the exact common-randomness LP: |Y|^|X| = {ny}^{nx} = "
            f"{count} deterministic maps, more than MAX_LP_COLUMNS = {MAX_LP_COLUMNS} "
            "(one LP column per map; enumerating and solving beyond that takes minutes and "
            "gigabytes)"
        )
    u = np.arange(count, dtype=np.int64)
    return np.stack([(u // ny**x) % ny for x in range(nx)], axis=1)


def _entropy_rows(pmfs: np.ndarray) -> np.ndarray:
    """Entropy in bits of every row of a non-negative matrix of pmfs (0 log 0 = 0)."""
    out = np.zeros(pmfs.shape[0])
    pos = pmfs > 0
    logs = np.zeros_like(pmfs)
    logs[pos] = np.log2(pmfs[pos])
    out = -np.sum(pmfs * logs, axis=1)
    return np.maximum(out, 0.0)


def cr_distortion_lp(
    p_x: object, p_y: object, distortion: object, rate: object
) -> CRLPResult | list[CRLPResult]:
    r"""``D_cr(p_X, p_Y, R)`` for finite alphabets: the LP of appendix A.3 (HiGHS).

    .. math::

        D_{cr} = \min_{p_U} \sum_u p_U(u) E[d(X, f_u(X))] \quad\text{s.t.}\quad
        \sum_u p_U(u) H(f_u(X)) \le R,\;
        \sum_u p_U(u) P(f_u(X) = y) = p_Y(y)\ \forall y.

    Parameters
    ----------
    p_x : array_like, shape (n_x,)
        Source pmf.
    p_y : array_like, shape (n_y,)
        Target (reconstruction) pmf; it is met exactly.
    distortion : array_like, shape (n_x, n_y)
        Non-negative distortion matrix ``d[x, y]``.
    rate : float or sequence of float
        Entropy budget(s) ``R >= 0`` in bits. A sequence gives a list of results.

    Returns
    -------
    CRLPResult or list of CRLPResult

    Raises
    ------
    ValueError
        Bad pmfs or matrix, negative rate, or ``n_y ** n_x > MAX_LP_COLUMNS``.
    """
    px = check_pmf("p_x", p_x)
    py = check_pmf("p_y", p_y)
    d = check_distortion_matrix("distortion", distortion, n_source=px.size)
    if d.shape[1] != py.size:
        raise ValueError(
            f"distortion must have one column per target symbol ({py.size}), got shape {d.shape}"
        )
    scalar = np.ndim(rate) == 0
    rates = [rate] if scalar else list(np.asarray(rate, dtype=object).ravel())
    if not rates:
        raise ValueError("rate must not be empty")
    rates = [check_nonnegative("rate", r) for r in rates]

    maps = deterministic_maps(px.size, py.size)  # (K, n_x)
    k = maps.shape[0]
    cost = d[np.arange(px.size)[None, :], maps] @ px  # E[d(X, f_u(X))]
    out_pmf = np.zeros((k, py.size))
    rows = np.repeat(np.arange(k), px.size)
    np.add.at(out_pmf, (rows, maps.ravel()), np.tile(px, k))  # P(f_u(X) = y)
    ent = _entropy_rows(out_pmf)  # H(f_u(X))

    results = []
    for r in rates:
        res = linprog(
            cost,
            A_ub=ent[None, :],
            b_ub=[r],
            A_eq=out_pmf.T,
            b_eq=py,
            bounds=(0, None),
            method="highs",
        )
        if res.status != 0:  # pragma: no cover - the LP is always feasible (product coupling)
            raise RuntimeError(f"HiGHS failed on the common-randomness LP: {res.message}")
        w = np.clip(res.x, 0.0, None)
        used = w > 1e-12
        results.append(
            CRLPResult(
                rate_bits=r,
                distortion=float(res.fun),
                weights=w[used] / w[used].sum(),
                maps=maps[used],
                entropy_bits=float(ent @ w),
                n_columns=k,
            )
        )
    return results[0] if scalar else results


def binary_cr_lp(qx: float, qy: float, rate: object) -> CRLPResult | list[CRLPResult]:
    """The LP of appendix A.3 for ``B(q_X) -> B(q_Y)`` with Hamming distortion; see (25).

    ``qx``, ``qy`` in the open interval (0, 1); ``rate`` (bits, >= 0) scalar or sequence.
    """
    a = check_in_range("qx", qx, 0.0, 1.0, low_open=True, high_open=True)
    b = check_in_range("qy", qy, 0.0, 1.0, low_open=True, high_open=True)
    return cr_distortion_lp([1 - a, a], [1 - b, b], [[0.0, 1.0], [1.0, 0.0]], rate)


# --------------------------------------------------------------------------------------------
# no common randomness: the program (P) of appendix A.4
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BinaryNCRProgramResult:
    """Best solution of the program (P) (appendix A.4) found by the multistart.

    Attributes
    ----------
    rate_bits : float
        Entropy budget ``R`` (bits).
    distortion : float
        ``sum_i θ_i (x̂_i + ŷ_i - 2 x̂_i ŷ_i)`` at the best feasible point found: an upper bound
        on ``D_ncr(B(q_X), B(q_Y), R)`` that is tight when the multistart finds the global
        optimum.
    theta, x_hat, y_hat : ndarray, shape (N,)
        Cell masses ``θ_i = P(X^ = x̂_i) = P(Y^ = ŷ_i)`` and the cell means
        ``x̂_i = E[X | cell i]``, ``ŷ_i = E[Y | cell i]``.
    entropy_bits : float
        ``H(θ)`` (<= ``rate_bits + 1e-9``).
    n_cells : int
        ``N``.
    n_feasible : int
        How many of the starts ended at a feasible point.
    n_starts : int
        Number of starts.
    """

    rate_bits: float
    distortion: float
    theta: np.ndarray
    x_hat: np.ndarray
    y_hat: np.ndarray
    entropy_bits: float
    n_cells: int
    n_feasible: int
    n_starts: int


def _h_bits(theta: np.ndarray) -> float:
    t = np.clip(theta, 1e-300, None)
    return float(-np.sum(np.where(theta > 0, theta * np.log2(t), 0.0)))


def _h_grad(theta: np.ndarray) -> np.ndarray:
    t = np.clip(theta, 1e-16, None)
    return -(np.log2(t) + 1.0 / math.log(2.0))


def binary_ncr_program(
    qx: float,
    qy: float,
    rate: float,
    *,
    n_cells: int = 3,
    n_starts: int = 24,
    seed: int = 0,
) -> BinaryNCRProgramResult:
    r"""Solve the program (P) of appendix A.4 for ``D_ncr(B(q_X), B(q_Y), R)`` by global search.

    Variables: ``N`` cells with masses ``θ_i``, means ``x̂_i = E[X | i]``, ``ŷ_i = E[Y | i]``.
    By Theorem 1 (Hamming = squared error on {0, 1}) the end-to-end distortion of cell ``i`` is
    ``x̂(1-x̂) + ŷ(1-ŷ) + (x̂-ŷ)^2 = x̂ + ŷ - 2x̂ŷ``, and ``D_ncr`` is the minimum over
    ``N``-cell plans with ``H(θ) <= R`` (the paper shows three cells suffice).

    The search runs SLSQP from ``n_starts`` seeded random starts (masses from a Dirichlet law,
    means uniform in [0, 1]) plus the zero-rate plan (one cell, ``x̂ = q_X``, ``ŷ = q_Y``), and
    keeps the best point that meets every constraint within 1e-9 (so the value returned is
    achievable up to that slack).

    Parameters
    ----------
    qx, qy : float
        Bernoulli parameters, each in the open interval (0, 1).
    rate : float
        Entropy budget ``R >= 0`` in bits.
    n_cells : int
        ``N``, between 1 and :data:`MAX_PROGRAM_CELLS` (= 8).
    n_starts : int
        Random starts, between 1 and 10000.
    seed : int
        Seed of the starts (>= 0).
    """
    a = check_in_range("qx", qx, 0.0, 1.0, low_open=True, high_open=True)
    b = check_in_range("qy", qy, 0.0, 1.0, low_open=True, high_open=True)
    r = check_nonnegative("rate", rate)
    n = check_int("n_cells", n_cells, minimum=1, maximum=MAX_PROGRAM_CELLS)
    starts = check_int("n_starts", n_starts, minimum=1, maximum=10_000)
    rng = make_rng(seed)

    def split(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return z[:n], z[n : 2 * n], z[2 * n :]

    def obj(z: np.ndarray) -> float:
        t, x, y = split(z)
        return float(np.sum(t * (x + y - 2.0 * x * y)))

    def obj_grad(z: np.ndarray) -> np.ndarray:
        t, x, y = split(z)
        return np.concatenate([x + y - 2 * x * y, t * (1 - 2 * y), t * (1 - 2 * x)])

    def eq(z: np.ndarray) -> np.ndarray:
        t, x, y = split(z)
        return np.array([t.sum() - 1.0, t @ x - a, t @ y - b])

    def eq_jac(z: np.ndarray) -> np.ndarray:
        t, x, y = split(z)
        zero = np.zeros(n)
        return np.array(
            [
                np.concatenate([np.ones(n), zero, zero]),
                np.concatenate([x, t, zero]),
                np.concatenate([y, zero, t]),
            ]
        )

    def ineq(z: np.ndarray) -> np.ndarray:
        return np.array([r - _h_bits(z[:n])])

    def ineq_jac(z: np.ndarray) -> np.ndarray:
        return np.concatenate([-_h_grad(z[:n]), np.zeros(2 * n)])[None, :]

    bounds = [(0.0, 1.0)] * (3 * n)
    constraints = [
        {"type": "eq", "fun": eq, "jac": eq_jac},
        {"type": "ineq", "fun": ineq, "jac": ineq_jac},
    ]

    # deterministic starts: one cell (independent X, Y) and, when N >= 2, the identity plan
    inits = []
    t0 = np.full(n, 1e-6)
    t0[0] = 1.0 - 1e-6 * (n - 1)
    inits.append(np.concatenate([t0, np.full(n, a), np.full(n, b)]))
    for _ in range(starts):
        alpha = rng.choice([0.3, 1.0, 3.0])
        t = rng.dirichlet(np.full(n, alpha))
        inits.append(np.concatenate([t, rng.uniform(0, 1, n), rng.uniform(0, 1, n)]))

    best = None
    n_feasible = 0
    for z0 in inits:
        with np.errstate(all="ignore"):
            res = minimize(
                obj,
                z0,
                jac=obj_grad,
                bounds=bounds,
                constraints=constraints,
                method="SLSQP",
                options={"maxiter": 500, "ftol": 1e-14},
            )
        z = np.clip(res.x, 0.0, 1.0)
        if np.max(np.abs(eq(z))) > _EQ_TOL or _h_bits(z[:n]) > r + _H_TOL:
            continue
        n_feasible += 1
        val = obj(z)
        if best is None or val < best[0]:
            best = (val, z)

    if best is None:
        # the single-cell plan (X^ = q_X, Y^ = q_Y, zero entropy) is always feasible
        z = np.concatenate([[1.0], np.zeros(n - 1), np.full(n, a), np.full(n, b)])
        best = (obj(z), z)
    t, x, y = split(best[1])
    return BinaryNCRProgramResult(
        rate_bits=r,
        distortion=float(best[0]),
        theta=t.copy(),
        x_hat=x.copy(),
        y_hat=y.copy(),
        entropy_bits=_h_bits(t),
        n_cells=n,
        n_feasible=n_feasible,
        n_starts=len(inits),
    )
