r"""Closed forms of entropy-constrained optimal transport (lossy compression with distribution shift).

Liu, Zhang, Chen, Khisti, "Lossy Compression with Distribution Shift as Entropy Constrained
Optimal Transport". A source ``X ~ p_X`` is compressed to a representation of entropy at most
``R`` bits and reconstructed as ``Y`` whose distribution must be exactly ``p_Y``. The smallest
expected distortion is ``D_ncr(p_X, p_Y, R)`` without common randomness (Definition 2) and
``D_cr(p_X, p_Y, R)`` with common randomness shared by encoder and decoder (Definition 3).

Functions
---------
Binary sources ``X ~ B(q_X)``, ``Y ~ B(q_Y)``, Hamming distortion (Theorem 4, appendix A.4):
:func:`binary_ncr_distortion` (22), :func:`binary_ncr_upper_bound` (23),
:func:`binary_ncr_lower_bound` (24), :func:`binary_cr_distortion` (25), together with
:func:`binary_mse_distortion` (the one-shot MSE quantiser ``D_mse(B(q), R)`` of (4)),
:func:`binary_dmin`, :func:`binary_dmax`.

Uniform sources ``X ~ U[0, a]``, ``Y ~ U[0, b]``, squared error (appendix A.6):
:func:`uniform_w2_squared` (39), :func:`uniform_ncr_upper_bound` (44) at ``R = log2 N`` and
:func:`uniform_ncr_upper_bound_rate` (45)-(50) for any ``R``.

Gaussian sources, asymptotic (block) setting, squared error (Theorem 8, appendix A.8):
:func:`gaussian_ncr_asymptotic` (58), :func:`gaussian_ncr_upper_bound_asymptotic` (59),
:func:`gaussian_ncr_lower_bound_asymptotic` (60), :func:`gaussian_cr_asymptotic` (61).

Helper: :func:`w2_squared_discrete_1d` (squared 2-Wasserstein distance of two finitely
supported distributions on the real line, by the quantile coupling).

All rates are in bits; rate arguments may be scalars (a float is returned) or arrays (an array
of the same shape is returned) and must be >= 0.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from rdlab.core.information import binary_entropy, binary_entropy_inverse
from rdlab.core.validation import (
    as_float_array,
    check_in_range,
    check_int,
    check_positive,
    check_real,
)

__all__ = [
    "binary_cr_distortion",
    "binary_dmax",
    "binary_dmin",
    "binary_mse_distortion",
    "binary_ncr_distortion",
    "binary_ncr_lower_bound",
    "binary_ncr_upper_bound",
    "binary_quantizer_marginal",
    "gaussian_cr_asymptotic",
    "gaussian_dmax",
    "gaussian_dmin",
    "gaussian_ncr_asymptotic",
    "gaussian_ncr_lower_bound_asymptotic",
    "gaussian_ncr_upper_bound_asymptotic",
    "uniform_ncr_upper_bound",
    "uniform_ncr_upper_bound_rate",
    "uniform_w2_squared",
    "w2_squared_discrete_1d",
]


# --------------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------------


def _check_q(name: str, q: object) -> float:
    """A Bernoulli parameter strictly inside (0, 1), as Theorem 4 assumes."""
    return check_in_range(name, q, 0.0, 1.0, low_open=True, high_open=True)


def _rates(rate: object) -> tuple[np.ndarray, bool]:
    """``rate`` as a 1-D float array of values >= 0 and whether it was a scalar."""
    if isinstance(rate, bool):
        raise TypeError("rate must be a real number or an array of real numbers, got bool")
    arr = as_float_array("rate", rate)
    if np.any(arr < 0):
        raise ValueError(f"rate must be >= 0 (bits), got min {arr.min()}")
    return arr.reshape(-1), arr.ndim == 0


def _out(values: np.ndarray, scalar: bool, shape_like: object) -> float | np.ndarray:
    if scalar:
        return float(values[0])
    return values.reshape(np.shape(shape_like))


def _hb(p: np.ndarray) -> np.ndarray:
    """Binary entropy in bits of an array with entries in (0, 1/2]."""
    return -p * np.log2(p) - (1.0 - p) * np.log2(1.0 - p)


def _hinv(rate: np.ndarray) -> np.ndarray:
    """Elementwise inverse binary entropy on [0, 1/2] for rates clipped to [0, 1].

    Vectorised bisection (64 halvings of [0, 1/2]: exact to double precision)."""
    h = np.clip(np.asarray(rate, dtype=float), 0.0, 1.0)
    lo, hi = np.zeros_like(h), np.full_like(h, 0.5)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        below = _hb(np.maximum(mid, 1e-300)) < h
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    out = 0.5 * (lo + hi)
    return np.where(h <= 0.0, 0.0, np.where(h >= 1.0, 0.5, out))


# --------------------------------------------------------------------------------------------
# binary sources, Hamming distortion (Theorem 4)
# --------------------------------------------------------------------------------------------


def binary_dmin(qx: float, qy: float) -> float:
    r"""``D_min^(B) = |q_X - q_Y|``: the total variation distance, the least E[d_H(X, Y)] of a coupling.

    Examples
    --------
    >>> round(binary_dmin(0.3, 0.6), 12)
    0.3
    """
    return abs(_check_q("qx", qx) - _check_q("qy", qy))


def binary_dmax(qx: float, qy: float) -> float:
    r"""``D_max^(B) = q_X + q_Y - 2 q_X q_Y``: E[d_H(X, Y)] for independent X and Y (zero rate).

    Examples
    --------
    >>> round(binary_dmax(0.3, 0.6), 12)
    0.54
    """
    a, b = _check_q("qx", qx), _check_q("qy", qy)
    return a + b - 2.0 * a * b


def binary_mse_distortion(q: float, rate: object) -> float | np.ndarray:
    r"""One-shot MSE distortion-rate function ``D_mse(B(q), R)`` of (4), reconstruction in R.

    With :math:`p = H_b^{-1}(R)` (proof of (23), appendix A.4)

    .. math::

        D_{mse}(B(q), R) = 1 - q - \frac{(1-q)^2}{1-p} \quad (q \le 1/2), \qquad
        q - \frac{q^2}{1-p} \quad (q > 1/2)

    for :math:`R \in [0, H_b(q)]` and 0 for :math:`R \ge H_b(q)`. The optimal quantiser
    (:func:`binary_quantizer_marginal`) puts mass ``p`` on the minority symbol itself and
    ``1 - p`` on the conditional mean of the rest.

    Parameters
    ----------
    q : float
        ``P(X = 1)``, in the open interval (0, 1).
    rate : float or array_like
        Entropy budget in bits, >= 0.
    """
    qv = _check_q("q", q)
    r, scalar = _rates(rate)
    hq = float(binary_entropy(qv))
    p = _hinv(np.minimum(r, hq))
    m = min(qv, 1.0 - qv)  # minority mass
    d = (1.0 - m) - (1.0 - m) ** 2 / (1.0 - p)  # eq. (23) proof, Liu et al.
    d = np.where(r >= hq, 0.0, np.maximum(d, 0.0))
    return _out(d, scalar, rate)


def binary_quantizer_marginal(
    q: float, rate: float, *, atom_at_one: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Support and pmf of the optimal one-shot MSE quantiser output ``X^* = E[X | X^*]`` of B(q).

    For :math:`q \le 1/2`: :math:`X^* \in \{(q - p)/(1 - p), 1\}` with masses ``(1 - p, p)``;
    for :math:`q > 1/2`: :math:`X^* \in \{0, q/(1 - p)\}` with masses ``(p, 1 - p)``, where
    :math:`p = H_b^{-1}(\min(R, H_b(q)))` (appendix A.4, proof of (23)). For ``q = 1/2`` both
    forms are optimal; the first is returned unless ``atom_at_one`` is False.

    Parameters
    ----------
    q : float
        ``P(X = 1)`` in the open interval (0, 1).
    rate : float
        Entropy budget in bits, >= 0.
    atom_at_one : bool or None
        Force the form with an atom at 1 (True) or at 0 (False); None picks the optimal one
        (the atom sits on the minority symbol). Forcing the other form is optimal only for
        ``q = 1/2``.

    Returns
    -------
    values, pmf : ndarray
        Support points (increasing) and their masses.
    """
    qv = _check_q("q", q)
    r = check_real("rate", rate)
    if r < 0:
        raise ValueError(f"rate must be >= 0 (bits), got {r}")
    if atom_at_one is None:
        atom_at_one = qv <= 0.5
    elif not isinstance(atom_at_one, bool):
        raise TypeError(f"atom_at_one must be True, False or None, got {atom_at_one!r}")
    return _quantizer(qv, r, atom_at_one)


def binary_ncr_distortion(qx: float, qy: float, rate: object) -> float | np.ndarray:
    r"""``D_ncr(B(q_X), B(q_Y), R)``: binary sources, Hamming distortion, no common randomness.

    Eq. (22), Liu et al., re-derived from the proof in appendix A.4 (the converted text is
    garbled). With :math:`p = H_b^{-1}(R)`:

    .. math::

        D_{ncr} = q_X + q_Y - \frac{2(1 - q_X - q_Y)p + 2 q_X q_Y}{1 - p}
        \quad (q_X + q_Y \le 1),

        D_{ncr} = 2 - q_X - q_Y - \frac{2(q_X + q_Y - 1)p + 2(1-q_X)(1-q_Y)}{1 - p}
        \quad (q_X + q_Y > 1),

    for :math:`R \in [0, \min\{H_b(q_X), H_b(q_Y)\}]` and :math:`D_{min} = |q_X - q_Y|` beyond.
    The optimal plan (Figure 6) has two cells: ``(X^, Y^) = (1, 1)`` with mass ``p`` and
    ``((q_X - p)/(1 - p), (q_Y - p)/(1 - p))`` with mass ``1 - p`` (for ``q_X + q_Y <= 1``; the
    mirror image with the roles of 0 and 1 exchanged otherwise).

    Parameters
    ----------
    qx, qy : float
        ``P(X = 1)`` and ``P(Y = 1)``, each in the open interval (0, 1).
    rate : float or array_like
        Entropy budget ``R`` in bits, >= 0.

    Examples
    --------
    >>> round(binary_ncr_distortion(0.3, 0.6, 0.0), 12)  # D_max at zero rate
    0.54
    >>> round(binary_ncr_distortion(0.3, 0.6, 5.0), 12)  # D_min at high rate
    0.3
    """
    a, b = _check_q("qx", qx), _check_q("qy", qy)
    r, scalar = _rates(rate)
    if a + b > 1.0:  # relabel 0 <-> 1; Hamming distortion is invariant
        a, b = 1.0 - a, 1.0 - b
    rmax = float(min(binary_entropy(a), binary_entropy(b)))
    p = _hinv(np.minimum(r, rmax))
    d = a + b - (2.0 * (1.0 - a - b) * p + 2.0 * a * b) / (1.0 - p)  # eq. (22), Liu et al.
    d = np.where(r >= rmax, abs(a - b), np.maximum(d, abs(a - b)))
    return _out(d, scalar, rate)


def w2_squared_discrete_1d(
    values_a: object, pmf_a: object, values_b: object, pmf_b: object
) -> float:
    r"""Squared 2-Wasserstein distance of two finitely supported distributions on the real line.

    Uses the monotone (quantile) coupling, optimal for convex costs in one dimension
    (Peyré & Cuturi, Remark 2.30, as used in appendix A.6):
    :math:`W_2^2 = \int_0^1 (F_A^{-1}(u) - F_B^{-1}(u))^2\, du`.

    Examples
    --------
    >>> w2_squared_discrete_1d([0.0, 1.0], [0.5, 0.5], [0.0, 1.0], [0.5, 0.5])
    0.0
    >>> w2_squared_discrete_1d([0.0], [1.0], [2.0], [1.0])
    4.0
    """
    va = as_float_array("values_a", values_a, ndim=1)
    vb = as_float_array("values_b", values_b, ndim=1)
    pa = as_float_array("pmf_a", pmf_a, ndim=1)
    pb = as_float_array("pmf_b", pmf_b, ndim=1)
    for name, v, p in (("a", va, pa), ("b", vb, pb)):
        if v.shape != p.shape:
            raise ValueError(f"values_{name} and pmf_{name} must have the same length")
        if np.any(p < 0) or abs(float(p.sum()) - 1.0) > 1e-9:
            raise ValueError(f"pmf_{name} must be >= 0 and sum to 1 within 1e-9")
    ia, ib = np.argsort(va, kind="stable"), np.argsort(vb, kind="stable")
    va, pa, vb, pb = va[ia], pa[ia] / pa.sum(), vb[ib], pb[ib] / pb.sum()
    ca, cb = np.cumsum(pa), np.cumsum(pb)
    ca[-1] = cb[-1] = 1.0
    breaks = np.unique(np.concatenate([[0.0], ca, cb]))
    mids = 0.5 * (breaks[:-1] + breaks[1:])
    widths = np.diff(breaks)
    xa = va[np.minimum(np.searchsorted(ca, mids, side="right"), va.size - 1)]
    xb = vb[np.minimum(np.searchsorted(cb, mids, side="right"), vb.size - 1)]
    return float(np.sum(widths * (xa - xb) ** 2))


def _binary_upper_closed(a: float, b: float, p: np.ndarray) -> np.ndarray:
    """Eq. (23) on R in [0, min(H_b(q_X), H_b(q_Y))], cases by the side of 1/2 of q_X, q_Y."""
    s = 1.0 - p
    if a <= 0.5 and b <= 0.5:
        return 2.0 - a - b - 2.0 * (1.0 - a) * (1.0 - b) / s
    if a >= 0.5 and b >= 0.5:
        return a + b - 2.0 * a * b / s
    if a < 0.5 < b:
        return (
            1.0
            - a
            + b
            - ((1.0 - a) ** 2 + b**2 - (a - b - p) ** 2) / s
            + p
            - 2.0 * b * (1.0 - a) * p / s**2
        )
    return (
        1.0
        + a
        - b
        - (a**2 + (1.0 - b) ** 2 - (b - a - p) ** 2) / s
        + p
        - 2.0 * a * (1.0 - b) * p / s**2
    )


def binary_ncr_upper_bound(qx: float, qy: float, rate: object) -> float | np.ndarray:
    r"""Upper bound (8)/(5) on ``D_ncr``: optimal MSE quantisers of X and Y, then transport.

    :math:`\bar D_{ncr} = D_{mse}(B(q_X), R) + D_{mse}(B(q_Y), R) + W_2^2(p_{\hat X^*},
    p_{\hat Y^*})`, eq. (23), Liu et al. (re-derived; the converted text is garbled). With
    :math:`p = H_b^{-1}(R)` and :math:`s = 1 - p`, on :math:`R \in [0, \min\{H_b(q_X), H_b(q_Y)\}]`:

    - :math:`q_X, q_Y \le 1/2`: :math:`2 - q_X - q_Y - 2(1-q_X)(1-q_Y)/s`;
    - :math:`q_X, q_Y \ge 1/2`: :math:`q_X + q_Y - 2 q_X q_Y / s`;
    - :math:`q_X < 1/2 < q_Y`: :math:`1 - q_X + q_Y - [(1-q_X)^2 + q_Y^2 - (q_X - q_Y - p)^2]/s
      + p - 2 q_Y (1-q_X) p / s^2`;
    - :math:`q_X > 1/2 > q_Y`: the same with :math:`(q_X, q_Y)` replaced by
      :math:`(1 - q_X, 1 - q_Y)`.

    Beyond :math:`\min\{H_b(q_X), H_b(q_Y)\}` the same definition is evaluated directly
    (quantisers clamped at their source's entropy, :func:`w2_squared_discrete_1d`).
    """
    a, b = _check_q("qx", qx), _check_q("qy", qy)
    r, scalar = _rates(rate)
    rmax = float(min(binary_entropy(a), binary_entropy(b)))
    out = np.empty_like(r)
    low = r <= rmax
    if np.any(low):
        out[low] = _binary_upper_closed(a, b, _hinv(r[low]))
    if np.any(~low):
        rh = r[~low]
        dq = np.asarray(binary_mse_distortion(a, rh)) + np.asarray(binary_mse_distortion(b, rh))
        # for q = 1/2 the optimal quantiser is not unique (two mirror images); use the pair of
        # quantisers biased to the same symbol, as the closed form (23) does
        w2 = np.min(
            [
                _two_point_w2(*_quantizer_arrays(a, rh, sa), *_quantizer_arrays(b, rh, sb))
                for sa in _sides(a)
                for sb in _sides(b)
            ],
            axis=0,
        )
        out[~low] = dq + w2
    return _out(out, scalar, rate)


def _sides(q: float) -> tuple[bool, ...]:
    """Where the optimal MSE quantiser of B(q) may keep an atom: at 1 (True) or at 0 (False)."""
    if q == 0.5:
        return (True, False)
    return (q < 0.5,)


def _quantizer_arrays(
    q: float, rate: np.ndarray, atom_at_one: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised :func:`binary_quantizer_marginal`: lower point, upper point, lower mass."""
    p = _hinv(np.minimum(rate, float(binary_entropy(q))))
    if atom_at_one:
        return (q - p) / (1.0 - p), np.ones_like(p), 1.0 - p
    return np.zeros_like(p), q / (1.0 - p), p


def _two_point_w2(u1, u2, m1, v1, v2, n1) -> np.ndarray:
    """W2^2 between {u1 (mass m1), u2} and {v1 (mass n1), v2}, u1 <= u2, v1 <= v2 (quantiles)."""
    cross = np.where(m1 < n1, (u2 - v1) ** 2, (u1 - v2) ** 2)
    return (
        np.minimum(m1, n1) * (u1 - v1) ** 2
        + (1.0 - np.maximum(m1, n1)) * (u2 - v2) ** 2
        + np.abs(m1 - n1) * cross
    )


def _quantizer(q: float, rate: float, atom_at_one: bool) -> tuple[np.ndarray, np.ndarray]:
    p = binary_entropy_inverse(min(rate, float(binary_entropy(q))))
    if atom_at_one:
        return np.array([(q - p) / (1.0 - p), 1.0]), np.array([1.0 - p, p])
    return np.array([0.0, q / (1.0 - p)]), np.array([p, 1.0 - p])


def binary_ncr_lower_bound(qx: float, qy: float, rate: object) -> float | np.ndarray:
    r"""Lower bound (8)/(6) on ``D_ncr``: :math:`D_{mse}(B(q_X), R) + D_{mse}(B(q_Y), R)`.

    Eq. (24), Liu et al.: with :math:`p = H_b^{-1}(R)` and :math:`m_X = \min(q_X, 1-q_X)`,
    :math:`m_Y = \min(q_Y, 1-q_Y)` this is :math:`2 - m_X - m_Y - [(1-m_X)^2 + (1-m_Y)^2]/(1-p)`
    for :math:`R \in [0, \min\{H_b(q_X), H_b(q_Y)\}]`; each term is clamped at 0 beyond its
    source's entropy.
    """
    a, b = _check_q("qx", qx), _check_q("qy", qy)
    r, scalar = _rates(rate)
    d = np.asarray(binary_mse_distortion(a, r), dtype=float) + np.asarray(
        binary_mse_distortion(b, r), dtype=float
    )  # eq. (24), Liu et al.
    return _out(d, scalar, rate)


def binary_cr_distortion(qx: float, qy: float, rate: object) -> float | np.ndarray:
    r"""``D_cr(B(q_X), B(q_Y), R)``: binary sources, Hamming distortion, common randomness.

    Eq. (25), Liu et al.:

    .. math::

        D_{cr} = D_{max} - \frac{2 q_X (1 - q_X)}{H_b(q_X)} R,
        \quad R \in [0, \rho H_b(q_X)], \qquad D_{cr} = D_{min}, \quad R > \rho H_b(q_X),

    with :math:`\rho = \min\{q_Y/q_X, (1-q_Y)/(1-q_X)\}`. The curve is linear (time sharing
    between the identity map, the constant maps and independence through the common
    randomness), hence convex in ``R``.

    Examples
    --------
    >>> round(binary_cr_distortion(0.3, 0.3, 0.0), 12)
    0.42
    >>> round(binary_cr_distortion(0.3, 0.3, 1.0), 12)
    0.0
    """
    a, b = _check_q("qx", qx), _check_q("qy", qy)
    r, scalar = _rates(rate)
    ha = float(binary_entropy(a))
    rho = min(b / a, (1.0 - b) / (1.0 - a))
    dmax, dmin = a + b - 2.0 * a * b, abs(a - b)
    d = dmax - 2.0 * (1.0 - a) * a * r / ha  # eq. (25), Liu et al.
    d = np.where(r >= rho * ha, dmin, np.maximum(d, dmin))
    return _out(d, scalar, rate)


# --------------------------------------------------------------------------------------------
# uniform sources, squared error (appendix A.6)
# --------------------------------------------------------------------------------------------


def uniform_w2_squared(a: float, b: float) -> float:
    r"""``W_2^2(U[0, a], U[0, b]) = (b - a)^2 / 3``, eq. (39), Liu et al.

    The infimum of ``D_ncr`` and ``D_cr`` over all rates (optimal transport without rate limit).

    Examples
    --------
    >>> uniform_w2_squared(2.0, 5.0)
    3.0
    """
    av, bv = check_positive("a", a), check_positive("b", b)
    return (bv - av) ** 2 / 3.0  # eq. (39), Liu et al.


def uniform_ncr_upper_bound(a: float, b: float, n_levels: int) -> float:
    r"""Upper bound (44) on ``D_ncr(U[0, a], U[0, b], R)`` at ``R = log2 N``.

    Uniform ``N``-level scalar quantisers of X and Y (cells of width ``a/N`` and ``b/N``)
    transported monotonically:

    .. math:: D^+_{ncr} = \frac{(b-a)^2}{3} + \frac{ab}{6}\, 2^{-2R}, \qquad R = \log_2 N,

    the sum of ``a^2 Δ^2/12``, ``b^2 Δ^2/12`` and (43) ``(b-a)^2 (1 - Δ^2/4)/3`` with
    ``Δ = 1/N``.

    Parameters
    ----------
    a, b : float
        Interval lengths, > 0.
    n_levels : int
        Number of quantiser cells ``N >= 1``; the rate is ``log2(N)`` bits.
    """
    av, bv = check_positive("a", a), check_positive("b", b)
    n = check_int("n_levels", n_levels, minimum=1)
    return (bv - av) ** 2 / 3.0 + av * bv / 6.0 * 2.0 ** (-2.0 * math.log2(n))  # eq. (44)


def _uniform_first_cell(rate: float, n: int) -> float:
    """The c in (0, 1/N] with -c log2 c - (1-c) log2((1-c)/(N-1)) = R (appendix A.6)."""
    if n == 1:
        return 1.0
    if abs(rate - math.log2(n)) < 1e-12:
        return 1.0 / n

    def ent(c: float) -> float:
        return -c * math.log2(c) - (1.0 - c) * math.log2((1.0 - c) / (n - 1)) - rate

    return float(brentq(ent, 1e-300, 1.0 / n, xtol=1e-15, rtol=1e-15))


def uniform_ncr_upper_bound_rate(a: float, b: float, rate: object) -> float | np.ndarray:
    r"""Upper bound (46)+(47)+(50) on ``D_ncr(U[0, a], U[0, b], R)`` for any ``R >= 0``.

    ``N = ceil(2^R)`` cells: a first cell of mass ``c`` and ``N - 1`` cells of mass
    ``c' = (1 - c)/(N - 1)``, ``c`` solving :math:`-c\log_2 c - (1-c)\log_2\frac{1-c}{N-1} = R`
    on ``(0, 1/N]`` (the entropy-constrained scalar quantiser of Gyorgy & Linder). With
    :math:`\kappa = (b-a)^2`:

    .. math::

        D^+ = \frac{a^2 + b^2}{12}(c^3 + (1-c) c'^2) + \kappa\Big[\frac{c^3}{4} + c^2 c'(N-1)
        + c c'^2 (N-1)^2 + \frac{c'^3}{12}(2N-1)(2N-3)(N-1)\Big].

    Equals (44) at ``R = log2 N``.
    """
    av, bv = check_positive("a", a), check_positive("b", b)
    r, scalar = _rates(rate)
    out = np.empty_like(r)
    for i, rv in enumerate(r):
        n = max(1, math.ceil(2.0 ** float(rv) - 1e-12))
        c = _uniform_first_cell(float(rv), n)
        cp = (1.0 - c) / (n - 1) if n > 1 else 0.0
        quant = (av**2 + bv**2) / 12.0 * (c**3 + (1.0 - c) * cp**2)  # eqs. (46)-(47)
        w2 = (bv - av) ** 2 * (
            c**3 / 4.0
            + c**2 * cp * (n - 1)
            + c * cp**2 * (n - 1) ** 2
            + cp**3 * (2 * n - 1) * (2 * n - 3) * (n - 1) / 12.0
        )  # eq. (50), Liu et al.
        out[i] = quant + w2
    return _out(out, scalar, rate)


# --------------------------------------------------------------------------------------------
# Gaussian sources, squared error, asymptotic setting (Theorem 8)
# --------------------------------------------------------------------------------------------


MAX_GAUSSIAN_PARAMETER = 1e150
"""Largest magnitude of a Gaussian's mean or standard deviation (squares stay finite)."""


def _gauss_args(
    mx: object, sx: object, my: object, sy: object
) -> tuple[float, float, float, float]:
    mxv, myv = check_real("mx", mx), check_real("my", my)
    sxv, syv = check_positive("sx", sx), check_positive("sy", sy)
    # every distortion below is a sum of squares of these: keep it a finite float
    for name, v in (("mx", mxv), ("my", myv), ("sx", sxv), ("sy", syv)):
        if abs(v) > MAX_GAUSSIAN_PARAMETER:
            raise ValueError(
                f"{name} must be at most {MAX_GAUSSIAN_PARAMETER:g} in magnitude (squared "
                f"distortions overflow double precision beyond), got {v:g}"
            )
    return mxv, sxv, myv, syv


def gaussian_dmin(mx: float, sx: float, my: float, sy: float) -> float:
    r"""``D_min^(G) = (μ_X - μ_Y)^2 + (σ_X - σ_Y)^2 = W_2^2`` of the two Gaussians.

    ``sx`` and ``sy`` are standard deviations (> 0), not variances.
    """
    mxv, sxv, myv, syv = _gauss_args(mx, sx, my, sy)
    return (mxv - myv) ** 2 + (sxv - syv) ** 2


def gaussian_dmax(mx: float, sx: float, my: float, sy: float) -> float:
    r"""``D_max^(G) = (μ_X - μ_Y)^2 + σ_X^2 + σ_Y^2``: E[(X - Y)^2] for independent X, Y."""
    mxv, sxv, myv, syv = _gauss_args(mx, sx, my, sy)
    return (mxv - myv) ** 2 + sxv**2 + syv**2


def gaussian_ncr_asymptotic(mx: float, sx: float, my: float, sy: float, rate: object):
    r"""``D_ncr^(∞)(N(μ_X, σ_X^2), N(μ_Y, σ_Y^2), R) = D_min + 2 σ_X σ_Y 2^{-2R}``, eq. (58).

    Asymptotic (block) setting, no common randomness, squared error. ``sx``, ``sy`` are
    standard deviations (> 0); ``rate`` in bits (>= 0).

    Examples
    --------
    >>> gaussian_ncr_asymptotic(0.0, 1.0, 0.0, 1.0, 0.0)
    2.0
    """
    mxv, sxv, myv, syv = _gauss_args(mx, sx, my, sy)
    r, scalar = _rates(rate)
    d = (mxv - myv) ** 2 + (sxv - syv) ** 2 + 2.0 * sxv * syv * 2.0 ** (-2.0 * r)  # eq. (58)
    return _out(d, scalar, rate)


def gaussian_ncr_upper_bound_asymptotic(mx: float, sx: float, my: float, sy: float, rate: object):
    r"""Upper bound (53) in the Gaussian case; equal to ``D_ncr^(∞)`` by eq. (59).

    Evaluated from its definition, :math:`(σ_X^2 + σ_Y^2) 2^{-2R} + (μ_X - μ_Y)^2 +
    (σ_X - σ_Y)^2 (1 - 2^{-2R})` (Gaussian MSE quantisers ``X^ ~ N(μ_X, σ_X^2(1 - 2^{-2R}))``
    and transport between them), so that (59) can be checked against (58).
    """
    mxv, sxv, myv, syv = _gauss_args(mx, sx, my, sy)
    r, scalar = _rates(rate)
    t = 2.0 ** (-2.0 * r)
    d = (sxv**2 + syv**2) * t + (mxv - myv) ** 2 + (sxv - syv) ** 2 * (1.0 - t)  # eq. (53)
    return _out(d, scalar, rate)


def gaussian_ncr_lower_bound_asymptotic(mx: float, sx: float, my: float, sy: float, rate: object):
    r"""Lower bound (54) in the Gaussian case: :math:`(σ_X^2 + σ_Y^2) 2^{-2R}`, eq. (60).

    It ignores the transport cost and, unlike ``D_ncr``, tends to 0 (not to ``D_min``) as
    ``R -> ∞``; it is tight only when the two Gaussians are equal.
    """
    _, sxv, _, syv = _gauss_args(mx, sx, my, sy)
    r, scalar = _rates(rate)
    d = (sxv**2 + syv**2) * 2.0 ** (-2.0 * r)  # eq. (60), Liu et al.
    return _out(d, scalar, rate)


def gaussian_cr_asymptotic(mx: float, sx: float, my: float, sy: float, rate: object):
    r"""``D_cr^(∞) = D_max - 2 σ_X σ_Y sqrt(1 - 2^{-2R})``, eq. (61), common randomness.

    Examples
    --------
    >>> gaussian_cr_asymptotic(0.0, 1.0, 0.0, 1.0, 0.0)
    2.0
    """
    mxv, sxv, myv, syv = _gauss_args(mx, sx, my, sy)
    r, scalar = _rates(rate)
    d = (
        (mxv - myv) ** 2 + sxv**2 + syv**2 - 2.0 * sxv * syv * np.sqrt(1.0 - 2.0 ** (-2.0 * r))
    )  # eq. (61), Liu et al.
    return _out(d, scalar, rate)
