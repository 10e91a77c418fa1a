r"""Rate-distortion-perception function of a scalar Gaussian source, in closed form.

Source :math:`X \sim N(\mu, \sigma^2)`, squared-error distortion, and perception measured
either by the squared Wasserstein-2 distance :math:`W_2^2(p_X, p_{\hat X})` (``"w2"``) or by the
Kullback-Leibler divergence :math:`\mathrm{KL}(p_{\hat X} \| p_X)` in bits (``"kl"``).
Rates are in bits.

Theorem 1 of Zhang, Qian, Chen & Khisti ("Universal rate-distortion-perception
representations for lossy compression"), main-text form: with
:math:`s = \sigma - \sqrt{P}` (the standard deviation of the optimal reconstruction when the
perception constraint is active) and :math:`\theta = (\sigma^2 + s^2 - D)/2` (its covariance
with :math:`X`),

.. math::

    R(D, P) = \begin{cases}
        \tfrac12 \log_2 \dfrac{\sigma^2 s^2}{\sigma^2 s^2 - \theta^2}
            & \sqrt{P} \le \sigma - \sqrt{|\sigma^2 - D|}, \\
        \max\{\tfrac12 \log_2(\sigma^2 / D), 0\} & \text{otherwise.}
    \end{cases}

(The appendix restatement divides the cross term by :math:`\sigma` instead of 2; that is a
misprint, see :func:`gaussian_rdp` and the tests.) The distortion-perception cross-section at
rate :math:`R` (appendix A.1, eq. for :math:`D(P, R)`) is

.. math::

    D(P, R) = \begin{cases}
        \sigma^2 + (\sigma - \sqrt P)^2 - 2\sigma(\sigma - \sqrt P)\sqrt{1 - 2^{-2R}}
            & P < P_{th}(R) = \sigma^2 (1 - \sqrt{1 - 2^{-2R}})^2, \\
        \sigma^2 2^{-2R} & P \ge P_{th}(R).
    \end{cases}

For KL perception (appendix A.1), the Gaussian reconstruction of variance :math:`\hat\sigma^2`
has :math:`\mathrm{KL}(N(\mu,\hat\sigma^2) \| N(\mu,\sigma^2)) = \tfrac12(t - 1 - \ln t)` nats
with :math:`t = \hat\sigma^2/\sigma^2`, decreasing in :math:`\hat\sigma \le \sigma` like
:math:`W_2^2 = (\sigma - \hat\sigma)^2`; so :math:`R_{KL}(D, P) = R_{W_2}(D, w(P))` where
:math:`w(P) = \sigma^2(1 - \sqrt{t_P})^2` and :math:`t_P \le 1` solves the KL equation
(:func:`kl_to_w2_perception`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rdlab.core.information import LN2, LOG2E
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)

PERCEPTION_MEASURES = ("w2", "kl")
"""Perception measures: squared Wasserstein-2 distance, or KL(p_Xhat || p_X) in bits."""


def _nonneg_array(name: str, value: object) -> np.ndarray:
    if np.ndim(value) == 0 and not isinstance(value, np.ndarray):
        return np.asarray(check_nonnegative(name, value), dtype=float)
    arr = as_float_array(name, value)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got min {arr.min()}")
    return arr


def _scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _check_measure(perception_measure: object) -> str:
    if perception_measure not in PERCEPTION_MEASURES:
        raise ValueError(
            f"perception_measure must be one of {PERCEPTION_MEASURES}, got {perception_measure!r}"
        )
    return str(perception_measure)


# --------------------------------------------------------------------------------------------
# KL <-> W2 correspondence (appendix A.1)
# --------------------------------------------------------------------------------------------


MAX_VARIANCE = 1e150
"""Largest source variance: its square, and every distortion below, stay finite doubles."""


def _variance(variance: object) -> float:
    var = check_positive("variance", variance)
    if var > MAX_VARIANCE:
        raise ValueError(
            f"variance must be at most {MAX_VARIANCE:g} (its square overflows double precision "
            f"beyond), got {var:g}"
        )
    return var


def gaussian_kl_perception(recon_variance: object, variance: float = 1.0) -> float | np.ndarray:
    r"""KL divergence :math:`\mathrm{KL}(N(\mu, \hat\sigma^2) \| N(\mu, \sigma^2))` in bits.

    Appendix A.1, Zhang et al.: :math:`\frac{\hat\sigma^2 - \sigma^2}{2\sigma^2} +
    \frac12 \ln \frac{\sigma^2}{\hat\sigma^2}` nats (the paper writes it as
    :math:`\mathrm{KL}(p_X, p_{\hat X})`; it is the divergence of the reconstruction law from
    the source law, :math:`\int p_{\hat X} \log(p_{\hat X}/p_X)`).

    Parameters
    ----------
    recon_variance : float or array_like
        Reconstruction variance :math:`\hat\sigma^2 > 0`.
    variance : float
        Source variance :math:`\sigma^2 > 0`.
    """
    var = _variance(variance)
    rv = _nonneg_array("recon_variance", recon_variance)
    if np.any(rv <= 0):
        raise ValueError(f"recon_variance must be > 0, got min {rv.min()}")
    t = rv / var
    return _scalar_or_array(0.5 * (t - 1.0 - np.log(t)) * LOG2E)


def kl_to_w2_perception(perception_kl: object, variance: float = 1.0) -> float | np.ndarray:
    r"""The W2² perception level equivalent to a KL(p_Xhat || p_X) level (bits) for a Gaussian.

    Solves :math:`\tfrac12(t - 1 - \ln t) = P \ln 2` for :math:`t \le 1` with the principal
    branch of the Lambert W function, :math:`t = -W_0(-e^{-1 - 2P\ln 2})`, and returns
    :math:`\sigma^2 (1 - \sqrt t)^2` (the W2² distance of :math:`N(\mu, t\sigma^2)` from the
    source). Both measures decrease in :math:`\hat\sigma \le \sigma`, so the constraint sets on
    the reconstruction's standard deviation coincide on the side that matters (appendix A.1).
    """
    from scipy.special import lambertw

    var = _variance(variance)
    p = _nonneg_array("perception", perception_kl)
    c = 1.0 + 2.0 * p * LN2
    y = -np.exp(-c)
    t = np.where(p == 0, 1.0, -np.real(lambertw(y, 0)))
    t = np.clip(t, 0.0, 1.0)
    return _scalar_or_array(var * (1.0 - np.sqrt(t)) ** 2)


def w2_to_kl_perception(perception_w2: object, variance: float = 1.0) -> float | np.ndarray:
    r"""Inverse of :func:`kl_to_w2_perception` on :math:`0 \le P < \sigma^2` (inf at σ²)."""
    var = _variance(variance)
    p = _nonneg_array("perception", perception_w2)
    s = np.maximum(math.sqrt(var) - np.sqrt(p), 0.0)
    t = s**2 / var
    with np.errstate(divide="ignore"):
        out = np.where(t > 0, 0.5 * (t - 1.0 - np.log(np.where(t > 0, t, 1.0))) * LOG2E, np.inf)
    return _scalar_or_array(out)


def _as_w2(perception: np.ndarray, variance: float, measure: str) -> np.ndarray:
    if measure == "w2":
        return perception
    return np.asarray(kl_to_w2_perception(perception, variance), dtype=float)


# --------------------------------------------------------------------------------------------
# R(D, P) and D(P, R)
# --------------------------------------------------------------------------------------------


def _rdp_w2(d: np.ndarray, p: np.ndarray, var: float) -> np.ndarray:
    sigma = math.sqrt(var)
    sqrt_p = np.sqrt(p)
    active = sqrt_p < sigma - np.sqrt(np.abs(var - d))
    # Perception inactive: classic R(D) (eq. (15)).
    with np.errstate(divide="ignore"):
        classic = np.where(d >= var, 0.0, 0.5 * np.log2(var / np.where(d > 0, d, 1.0)))
    classic = np.where(d == 0, np.inf, classic)
    # Both constraints active: Theorem 1 (main text), theta = (sigma^2 + s^2 - D) / 2.
    s = sigma - sqrt_p
    theta = (var + s**2 - d) / 2.0
    num = var * s**2
    den = num - theta**2
    with np.errstate(divide="ignore", invalid="ignore"):
        both = np.where(den > 0, 0.5 * np.log2(num / np.where(den > 0, den, 1.0)), np.inf)
    return np.where(active, both, classic)


def gaussian_rdp(
    distortion: object,
    perception: object,
    variance: float = 1.0,
    *,
    perception_measure: str = "w2",
) -> float | np.ndarray:
    r"""R(D, P) in bits of a scalar Gaussian source (Theorem 1, Zhang et al.).

    Squared-error distortion; perception ``"w2"`` (:math:`W_2^2(p_X, p_{\hat X})`, same unit as
    D) or ``"kl"`` (:math:`\mathrm{KL}(p_{\hat X} \| p_X)` in bits, appendix A.1). The cross
    term is :math:`\theta = (\sigma^2 + (\sigma - \sqrt P)^2 - D)/2` as in the main text; the
    appendix's division by :math:`\sigma_X` is a misprint (it breaks continuity at the switch
    between the two cases and disagrees with the brute-force minimum; see
    ``tests/test_rdp.py``).

    Parameters
    ----------
    distortion : float or array_like
        Mean squared error D >= 0 (``inf`` rate at D = 0).
    perception : float or array_like
        Perception level P >= 0; broadcasts against ``distortion``.
    variance : float
        Source variance :math:`\sigma^2 > 0` (the mean plays no role).
    perception_measure : {"w2", "kl"}

    Returns
    -------
    float or ndarray
        The rate in bits (float when both inputs are scalars).

    Examples
    --------
    >>> gaussian_rdp(0.25, 10.0)  # perception inactive: classic R(D)
    1.0
    >>> round(gaussian_rdp(0.5, 0.0), 6)  # perfect realism
    0.596323
    """
    var = _variance(variance)
    measure = _check_measure(perception_measure)
    d = _nonneg_array("distortion", distortion)
    p = _nonneg_array("perception", perception)
    d, p = np.broadcast_arrays(d, p)
    return _scalar_or_array(_rdp_w2(d, _as_w2(p, var, measure), var))


def gaussian_rdp_appendix_form(
    distortion: float, perception: float, variance: float = 1.0
) -> float:
    r"""The appendix (A.1) restatement of Theorem 1 *as printed*, kept to document the misprint.

    It divides the cross term by :math:`\sigma_X` instead of 2:
    :math:`\tfrac12\log_2 \frac{\sigma^2 s^2}{\sigma^2 s^2 - ((\sigma^2 + s^2 - D)/\sigma)^2}`.
    It agrees with :func:`gaussian_rdp` only when :math:`\sigma = 2`; do not use it for anything
    but comparisons.
    """
    var = _variance(variance)
    d = check_nonnegative("distortion", distortion)
    p = check_nonnegative("perception", perception)
    sigma = math.sqrt(var)
    if math.sqrt(p) >= sigma - math.sqrt(abs(var - d)):
        return 0.0 if d >= var else (math.inf if d == 0 else 0.5 * math.log2(var / d))
    s = sigma - math.sqrt(p)
    cross = (var + s**2 - d) / sigma
    den = var * s**2 - cross**2
    return math.inf if den <= 0 else 0.5 * math.log2(var * s**2 / den)


def gaussian_perception_threshold(
    rate_bits: object, variance: float = 1.0, *, perception_measure: str = "w2"
) -> float | np.ndarray:
    r"""Perception level above which the constraint is inactive at rate R (appendix A.1).

    W2²: :math:`P_{th}(R) = (\sigma - \sqrt{\sigma^2 - \sigma^2 2^{-2R}})^2`, the W2² distance
    of the rate-distortion-optimal reconstruction :math:`N(\mu, \sigma^2(1 - 2^{-2R}))` from
    the source. KL: the KL divergence of that reconstruction (inf at R = 0).
    """
    var = _variance(variance)
    measure = _check_measure(perception_measure)
    r = _nonneg_array("rate_bits", rate_bits)
    rho = np.sqrt(-np.expm1(-2.0 * LN2 * r))
    if measure == "w2":
        return _scalar_or_array(var * (1.0 - rho) ** 2)
    with np.errstate(divide="ignore"):
        out = np.where(
            rho > 0, 0.5 * (rho**2 - 1.0 - 2.0 * np.log(np.where(rho > 0, rho, 1.0))), np.inf
        )
    return _scalar_or_array(out * LOG2E)


def gaussian_distortion_perception(
    perception: object,
    rate_bits: object,
    variance: float = 1.0,
    *,
    perception_measure: str = "w2",
) -> float | np.ndarray:
    r"""D(P, R): the least distortion at perception P and rate R (appendix A.1, Zhang et al.).

    .. math::

        D(P, R) = \sigma^2 + s^2 - 2\sigma s\sqrt{1 - 2^{-2R}}, \quad
        s = \max(\sigma - \sqrt P,\ \sigma\sqrt{1 - 2^{-2R}}),

    which is the two-case formula of the paper (the second case, :math:`P \ge P_{th}(R)`,
    gives :math:`\sigma^2 2^{-2R}`). It inverts :func:`gaussian_rdp`:
    ``gaussian_rdp(D(P, R), P) == R`` for R > 0 and :math:`P` below the threshold.

    Parameters
    ----------
    perception : float or array_like
        Perception level P >= 0 (W2², or KL in bits with ``perception_measure="kl"``).
    rate_bits : float or array_like
        Rate R >= 0 in bits; broadcasts against ``perception``.
    variance : float
        Source variance > 0.
    perception_measure : {"w2", "kl"}

    Examples
    --------
    >>> round(gaussian_distortion_perception(10.0, 1.0), 12)
    0.25
    >>> round(gaussian_distortion_perception(0.0, 1.0), 6)  # 2 - sqrt(3)
    0.267949
    """
    var = _variance(variance)
    measure = _check_measure(perception_measure)
    p = _nonneg_array("perception", perception)
    r = _nonneg_array("rate_bits", rate_bits)
    p, r = np.broadcast_arrays(p, r)
    pw = _as_w2(p, var, measure)
    sigma = math.sqrt(var)
    rho = np.sqrt(-np.expm1(-2.0 * LN2 * r))  # sqrt(1 - 2^{-2R})
    s = np.maximum(sigma - np.sqrt(pw), sigma * rho)
    return _scalar_or_array(var + s**2 - 2.0 * sigma * s * rho)


@dataclass(frozen=True)
class GaussianReconstruction:
    """A reconstruction jointly Gaussian with the source, and its rate, distortion, perception.

    Attributes
    ----------
    mean_offset : float
        :math:`\\mu_{\\hat X} - \\mu_X`.
    std : float
        Standard deviation of the reconstruction.
    cross_cov : float
        :math:`\\mathrm{Cov}(X, \\hat X)`.
    rate_bits, distortion, perception : float
        :math:`I(X; \\hat X)`, :math:`E(X - \\hat X)^2` and the perception value (in the measure
        asked for).
    """

    mean_offset: float
    std: float
    cross_cov: float
    rate_bits: float
    distortion: float
    perception: float


def gaussian_reconstruction_stats(
    mean_offset: float,
    std: float,
    cross_cov: float,
    variance: float = 1.0,
    *,
    perception_measure: str = "w2",
) -> GaussianReconstruction:
    r"""Rate, distortion and perception of a reconstruction jointly Gaussian with the source.

    Eqs. (19)-(21), Zhang et al.: :math:`E(X-\hat X)^2 = m^2 + \sigma^2 + \hat\sigma^2 -
    2\theta`, :math:`W_2^2 = m^2 + (\sigma - \hat\sigma)^2`,
    :math:`I = \tfrac12\log_2 \frac{\sigma^2\hat\sigma^2}{\sigma^2\hat\sigma^2 - \theta^2}`.
    """
    var = _variance(variance)
    measure = _check_measure(perception_measure)
    m = check_real("mean_offset", mean_offset)
    s = check_nonnegative("std", std)
    theta = check_real("cross_cov", cross_cov)
    sigma = math.sqrt(var)
    if abs(theta) > sigma * s * (1 + 1e-12):
        raise ValueError(f"|cross_cov| must be <= sigma * std = {sigma * s}, got {theta}")
    den = var * s**2 - theta**2
    rate = 0.0 if theta == 0 else (math.inf if den <= 0 else 0.5 * math.log2(var * s**2 / den))
    dist = m**2 + var + s**2 - 2.0 * theta
    if measure == "w2":
        perc = m**2 + (sigma - s) ** 2
    else:
        t = s**2 / var
        perc = math.inf if t == 0 else 0.5 * (t + m**2 / var - 1.0 - math.log(t)) * LOG2E
    return GaussianReconstruction(m, s, theta, max(rate, 0.0), dist, perc)


def gaussian_rdp_reconstruction(
    distortion: float,
    perception: float,
    variance: float = 1.0,
    *,
    perception_measure: str = "w2",
) -> GaussianReconstruction:
    """The optimal jointly Gaussian reconstruction attaining R(D, P) (proof of Theorem 1).

    Mean equal to the source mean; standard deviation ``s`` and covariance ``theta`` from the
    active constraints. Raises ``ValueError`` at D = 0 (infinite rate).
    """
    var = _variance(variance)
    measure = _check_measure(perception_measure)
    d = check_positive("distortion", distortion)
    p = check_nonnegative("perception", perception)
    pw = float(_as_w2(np.asarray(p), var, measure))
    sigma = math.sqrt(var)
    zero_rate_ok = math.sqrt(pw) >= sigma - math.sqrt(max(d - var, 0.0)) if d >= var else False
    if zero_rate_ok:
        # Independent reconstruction: std s with (sigma - s)^2 <= P and var + s^2 <= D.
        s = max(sigma - math.sqrt(pw), 0.0)
        theta = 0.0
    elif math.sqrt(pw) >= sigma - math.sqrt(abs(var - d)):
        s = math.sqrt(var - d)
        theta = var - d
    else:
        s = sigma - math.sqrt(pw)
        theta = (var + s**2 - d) / 2.0
    return gaussian_reconstruction_stats(0.0, s, theta, var, perception_measure=measure)


def gaussian_rdp_bruteforce(
    distortion: float,
    perception: float,
    variance: float = 1.0,
    *,
    perception_measure: str = "w2",
    n_starts: int = 6,
) -> GaussianReconstruction:
    r"""Minimise :math:`I(X;\hat X)` numerically over jointly Gaussian reconstructions.

    The search is over the reconstruction mean offset :math:`m`, standard deviation
    :math:`\hat\sigma` and correlation :math:`\rho` (covariance :math:`\rho\sigma\hat\sigma`),
    subject to the distortion and perception constraints of Definition 1 written with
    eqs. (19)-(20) (or the Gaussian KL for ``"kl"``); SLSQP from ``n_starts`` starting points,
    best feasible result. It knows nothing of the closed form and serves to check it.

    Returns
    -------
    GaussianReconstruction
        The minimiser and its rate (bits), distortion and perception.
    """
    from scipy.optimize import minimize

    var = _variance(variance)
    measure = _check_measure(perception_measure)
    d = check_positive("distortion", distortion)
    p = check_nonnegative("perception", perception)
    n_starts = check_int("n_starts", n_starts, minimum=1)
    sigma = math.sqrt(var)

    def perc(v: np.ndarray) -> float:
        m, s, _ = v
        if measure == "w2":
            return m**2 + (sigma - s) ** 2
        t = max(s, 1e-300) ** 2 / var
        return 0.5 * (t + m**2 / var - 1.0 - math.log(t)) * LOG2E

    def dist(v: np.ndarray) -> float:
        m, s, r = v
        return m**2 + var + s**2 - 2.0 * r * sigma * s

    cons = [
        {"type": "ineq", "fun": lambda v: (d - dist(v)) / var},
        {"type": "ineq", "fun": lambda v: (p - perc(v)) / max(var, 1.0)},
    ]
    bounds = [(-3 * sigma, 3 * sigma), (1e-9 * sigma, 3 * sigma), (0.0, 1.0 - 1e-15)]
    best: np.ndarray | None = None
    best_rho = math.inf
    starts = [
        (0.0, sigma * f, r)
        for f, r in [(1.0, 0.9), (0.5, 0.5), (0.9, 0.99), (0.2, 0.1), (1.2, 0.7), (0.7, 0.999)]
    ]
    for k in range(n_starts):
        x0 = np.array(starts[k % len(starts)], dtype=float)
        if k >= len(starts):
            x0[1] *= 1.0 + 0.1 * k
        res = minimize(
            lambda v: v[2],
            x0,
            jac=lambda v: np.array([0.0, 0.0, 1.0]),
            method="SLSQP",
            bounds=bounds,
            constraints=cons,
            options={"ftol": 1e-15, "maxiter": 500},
        )
        v = res.x
        feasible = dist(v) <= d + 1e-9 * var and perc(v) <= p + 1e-9 * max(var, 1.0)
        if feasible and v[2] < best_rho:
            best, best_rho = v, float(v[2])
    if best is None:
        raise RuntimeError("brute-force search found no feasible reconstruction")
    m, s, r = (float(x) for x in best)
    return gaussian_reconstruction_stats(m, s, r * sigma * s, var, perception_measure=measure)


# --------------------------------------------------------------------------------------------
# Curves and surfaces
# --------------------------------------------------------------------------------------------


def gaussian_dp_curve(
    rate_bits: float,
    variance: float = 1.0,
    n_points: int = 50,
    *,
    perception_measure: str = "w2",
    max_perception: float | None = None,
) -> RDCurve:
    """The distortion-perception cross-section D(P, R) at a fixed rate, as an :class:`RDCurve`.

    Perception runs from 0 to ``max_perception`` (default: 1.25 times the threshold
    :func:`gaussian_perception_threshold`, or σ² (W2 units) when that is infinite). Every point
    carries ``rate_bits``, ``distortion`` and ``perception``.
    """
    var = _variance(variance)
    measure = _check_measure(perception_measure)
    rate = check_nonnegative("rate_bits", rate_bits)
    n = check_int("n_points", n_points, minimum=2)
    if max_perception is None:
        thr = float(gaussian_perception_threshold(rate, var, perception_measure=measure))
        if not math.isfinite(thr) or thr == 0:
            thr = var if measure == "w2" else float(w2_to_kl_perception(0.75 * var, var))
        top = 1.25 * thr
    else:
        top = check_positive("max_perception", max_perception)
    # Square-root spacing: dD/dP is unbounded at P = 0, so resolve small P finely.
    ps = np.linspace(0.0, math.sqrt(top), n) ** 2
    ds = np.asarray(gaussian_distortion_perception(ps, rate, var, perception_measure=measure))
    points = tuple(
        RDPoint(rate_bits=rate, distortion=float(dd), perception=float(pp))
        for pp, dd in zip(ps, ds, strict=True)
    )
    return RDCurve(
        points,
        label=f"R = {rate:g} bits",
        meta={"variance": var, "perception_measure": measure, "source": "gaussian"},
    )


def gaussian_rdp_surface(
    distortions: object,
    perceptions: object,
    variance: float = 1.0,
    *,
    perception_measure: str = "w2",
) -> np.ndarray:
    """R(D, P) on the grid ``distortions x perceptions``; shape (len(perceptions), len(D))."""
    d = as_float_array("distortions", distortions, ndim=1)
    p = as_float_array("perceptions", perceptions, ndim=1)
    dd, pp = np.meshgrid(d, p)
    return np.asarray(gaussian_rdp(dd, pp, variance, perception_measure=perception_measure))
