r"""Successive refinement of rate-distortion-perception representations (appendix A.3).

- Theorem 8 (Gaussian): with :math:`Z_2 = Z_1 + N_1`, :math:`X = Z_2 + N_2`,
  :math:`Z_1 \sim N(\mu, \sigma^2(1 - 2^{-2R_1}))`,
  :math:`N_1 \sim N(0, \sigma^2(2^{-2R_1} - 2^{-2R_2}))`, :math:`N_2 \sim N(0, \sigma^2 2^{-2R_2})`
  independent, :math:`I(X; Z_1) = R_1` and :math:`I(X; Z_1, Z_2) = I(X; Z_2) = R_2`: both
  stages are optimal (:func:`gaussian_successive_refinement`).
- Theorem 9 (any source, MSE): the refinement penalty
  :math:`\delta_R(\sigma_N^2) = R(\Theta_1) - R(\tfrac{\sigma^2\sigma_N^2}{\sigma^2 + \sigma_N^2},
  \infty) + \tfrac m2 \log_2 \tfrac{(D_1^* + \sigma_N^2)(D_2^* + \sigma_N^2)}{\sigma_N^4}`
  (:func:`refinement_penalty`), with Remark 4's choice
  :math:`\sigma_N^2 = \sigma^2 D_1^*/(\sigma^2 - D_1^*)` (:func:`refinement_penalty_remark4`)
  giving at most :math:`m` bits when :math:`R(\Theta_1) = R(D_1^*, \infty)` and
  :math:`D_2^* \le D_1^*`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rdlab.core.validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
    make_rng,
)


@dataclass(frozen=True)
class GaussianRefinement:
    r"""The Theorem-8 construction for :math:`X \sim N(\mu, \sigma^2)`.

    Attributes
    ----------
    variance, mean : float
        Source parameters.
    rate1_bits, rate2_bits : float
        :math:`R(\Theta_1) \le R(\Theta_2)`.
    covariance : ndarray, shape (3, 3)
        Covariance of :math:`(X, Z_1, Z_2)`.
    """

    variance: float
    mean: float
    rate1_bits: float
    rate2_bits: float
    covariance: np.ndarray

    @property
    def component_variances(self) -> tuple[float, float, float]:
        """Variances of :math:`Z_1`, :math:`N_1`, :math:`N_2`."""
        v = self.variance
        a = 2.0 ** (-2.0 * self.rate1_bits)
        b = 2.0 ** (-2.0 * self.rate2_bits)
        return v * (1.0 - a), v * (a - b), v * b

    def mutual_information(self) -> tuple[float, float]:
        r""":math:`(I(X; Z_1), I(X; Z_1, Z_2))` in bits from the covariance (formula)."""
        return _mi_from_cov(self.covariance)

    def sample(self, n: int, seed: object) -> np.ndarray:
        """``n`` samples of :math:`(X, Z_1, Z_2)` as an array of shape (n, 3)."""
        n = check_int("n", n, minimum=2)
        rng = make_rng(seed)
        v_z1, v_n1, v_n2 = self.component_variances
        z1 = self.mean + math.sqrt(v_z1) * rng.standard_normal(n)
        z2 = z1 + math.sqrt(v_n1) * rng.standard_normal(n)
        x = z2 + math.sqrt(v_n2) * rng.standard_normal(n)
        return np.column_stack([x, z1, z2])


def _mi_from_cov(cov: np.ndarray) -> tuple[float, float]:
    """(I(X;Z1), I(X;Z1,Z2)) in bits from the covariance of (X, Z1, Z2), by the chain rule.

    Conditions on Z1, then on Z2 given Z1 (sequential Schur complements): this stays accurate
    when Z2 is nearly Z1 (R2 close to R1), where the determinant of Cov(Z1, Z2) loses digits.
    A component with zero variance (a rate-0 stage, or Z2 = Z1) carries no information.
    """
    vx = float(cov[0, 0])
    v1 = float(cov[1, 1])
    if v1 > 1e-300:
        vx_1 = vx - cov[0, 1] ** 2 / v1
        c_x2 = cov[0, 2] - cov[0, 1] * cov[1, 2] / v1
        v2_1 = cov[2, 2] - cov[1, 2] ** 2 / v1
    else:
        vx_1, c_x2, v2_1 = vx, float(cov[0, 2]), float(cov[2, 2])
    vx_12 = vx_1 - c_x2**2 / v2_1 if v2_1 > 1e-15 * max(float(cov[2, 2]), 1e-300) else vx_1

    def bits(conditional: float) -> float:
        return math.inf if conditional <= 0 else max(0.0, 0.5 * math.log2(vx / conditional))

    return bits(vx_1), bits(vx_12)


def gaussian_successive_refinement(
    rate1_bits: float, rate2_bits: float, variance: float = 1.0, mean: float = 0.0
) -> GaussianRefinement:
    r"""The Theorem-8 pair of representations with :math:`I(X;Z_1) = R_1`, :math:`I(X;Z_1,Z_2) = R_2`.

    Parameters
    ----------
    rate1_bits, rate2_bits : float
        Stage rates in bits, :math:`0 \le R_1 \le R_2 < \infty`.
    variance : float
        Source variance > 0.
    mean : float
        Source mean.
    """
    r1 = check_nonnegative("rate1_bits", rate1_bits)
    r2 = check_nonnegative("rate2_bits", rate2_bits)
    if r2 < r1:
        raise ValueError(f"rate2_bits must be >= rate1_bits = {r1}, got {r2}")
    var = check_positive("variance", variance)
    mu = check_real("mean", mean)
    a = 2.0 ** (-2.0 * r1)
    b = 2.0 ** (-2.0 * r2)
    v_z1 = var * (1.0 - a)
    v_z2 = var * (1.0 - b)
    # X = Z1 + N1 + N2, Z2 = Z1 + N1: Cov(X, Z1) = v_z1, Cov(X, Z2) = v_z2, Cov(Z1, Z2) = v_z1.
    cov = np.array([[var, v_z1, v_z2], [v_z1, v_z1, v_z1], [v_z2, v_z1, v_z2]])
    return GaussianRefinement(var, mu, r1, r2, cov)


def sample_gaussian_mutual_information(samples: object) -> tuple[float, float]:
    r"""Plug-in estimate of :math:`(I(X;Z_1), I(X;Z_1,Z_2))` in bits from sample covariances.

    ``samples`` has columns :math:`(X, Z_1, Z_2)`; exact for jointly Gaussian laws as the
    sample size grows (bias :math:`O(1/n)`).
    """
    s = as_float_array("samples", samples, ndim=2)
    if s.shape[1] != 3 or s.shape[0] < 4:
        raise ValueError(f"samples must have shape (n >= 4, 3), got {s.shape}")
    return _mi_from_cov(np.cov(s, rowvar=False))


def _gaussian_rd(variance: float, dim: int) -> Callable[[float], float]:
    def rd(d: float) -> float:
        if d <= 0:
            return math.inf
        return max(0.0, 0.5 * dim * math.log2(variance / d))

    return rd


def refinement_penalty(
    noise_variance: float,
    rate_theta1_bits: float,
    d1_star: float,
    d2_star: float,
    variance: float = 1.0,
    *,
    dim: int = 1,
    rd_function: Callable[[float], float] | None = None,
) -> float:
    r"""The refinement penalty :math:`\delta_R(\sigma_N^2)` of Theorem 9, in bits.

    .. math::

        \delta_R(\sigma_N^2) = R(\Theta_1) - R\Big(\frac{\sigma^2\sigma_N^2}{\sigma^2 +
        \sigma_N^2}, \infty\Big) + \frac m2 \log_2 \frac{(D_1^* + \sigma_N^2)(D_2^* +
        \sigma_N^2)}{\sigma_N^4}

    with :math:`D_k^* = \inf\{D : (D, P) \in \Theta_k\}` (the paper's statement takes
    :math:`D_2^*` over :math:`\Theta_1`; it is over :math:`\Theta_2`, as its proof, eq. (36),
    uses).

    Parameters
    ----------
    noise_variance : float
        :math:`\sigma_N^2 > 0` (total power of the auxiliary noise).
    rate_theta1_bits : float
        :math:`R(\Theta_1) \ge 0`.
    d1_star, d2_star : float
        Least distortions of :math:`\Theta_1`, :math:`\Theta_2` (>= 0).
    variance : float
        :math:`\sigma^2 = E\|X - EX\|^2 > 0`.
    dim : int
        Dimension :math:`m` of X.
    rd_function : callable, optional
        :math:`D \mapsto R(D, \infty)` in bits of the source; default: i.i.d. Gaussian,
        :math:`\frac m2\log_2(\sigma^2/D)`.
    """
    sn = check_positive("noise_variance", noise_variance)
    r1 = check_nonnegative("rate_theta1_bits", rate_theta1_bits)
    d1 = check_nonnegative("d1_star", d1_star)
    d2 = check_nonnegative("d2_star", d2_star)
    var = check_positive("variance", variance)
    m = check_int("dim", dim, minimum=1)
    rd = _gaussian_rd(var, m) if rd_function is None else rd_function
    d_eq = var * sn / (var + sn)
    return r1 - float(rd(d_eq)) + 0.5 * m * math.log2((d1 + sn) * (d2 + sn) / sn**2)


def refinement_penalty_remark4(
    rate_theta1_bits: float,
    d1_star: float,
    d2_star: float,
    variance: float = 1.0,
    *,
    dim: int = 1,
    rd_function: Callable[[float], float] | None = None,
) -> float:
    r""":math:`\delta_R(\sigma^2 D_1^*/(\sigma^2 - D_1^*))` in closed form (Remark 4), in bits.

    .. math::

        R(\Theta_1) - R(D_1^*, \infty) + \frac m2 \log_2
        \frac{(\sigma^2(D_1^* + D_2^*) - D_1^* D_2^*)(2\sigma^2 - D_1^*)}{\sigma^4 D_1^*}

    Requires :math:`0 < D_1^* < \sigma^2`. At most :math:`m` bits when
    :math:`R(\Theta_1) = R(D_1^*, \infty)` and :math:`D_2^* \le D_1^*`.
    """
    var = check_positive("variance", variance)
    r1 = check_nonnegative("rate_theta1_bits", rate_theta1_bits)
    d1 = check_positive("d1_star", d1_star)
    if d1 >= var:
        raise ValueError(f"d1_star must be < variance = {var}, got {d1}")
    d2 = check_nonnegative("d2_star", d2_star)
    m = check_int("dim", dim, minimum=1)
    rd = _gaussian_rd(var, m) if rd_function is None else rd_function
    ratio = (var * (d1 + d2) - d1 * d2) * (2.0 * var - d1) / (var**2 * d1)
    return r1 - float(rd(d1)) + 0.5 * m * math.log2(ratio)


def min_refinement_penalty(
    rate_theta1_bits: float,
    d1_star: float,
    d2_star: float,
    variance: float = 1.0,
    *,
    dim: int = 1,
    rd_function: Callable[[float], float] | None = None,
) -> tuple[float, float]:
    r""":math:`\inf_{\sigma_N^2 > 0} \delta_R(\sigma_N^2)` numerically (Theorem 9).

    Grid over :math:`\log\sigma_N^2` then a bounded scalar search around the best grid point.
    Returns ``(penalty_bits, noise_variance)``.
    """
    from scipy.optimize import minimize_scalar

    var = check_positive("variance", variance)

    def f(log_sn: float) -> float:
        return refinement_penalty(
            math.exp(log_sn),
            rate_theta1_bits,
            d1_star,
            d2_star,
            var,
            dim=dim,
            rd_function=rd_function,
        )

    grid = np.linspace(math.log(var) - 25.0, math.log(var) + 25.0, 401)
    vals = np.array([f(g) for g in grid])
    k = int(np.argmin(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    if res.fun <= vals[k]:
        return float(res.fun), math.exp(float(res.x))
    return float(vals[k]), math.exp(float(grid[k]))
