r"""Universal rate-distortion-perception representations (Sec. 3.2, Zhang et al.).

A representation :math:`Z` of :math:`X` is :math:`\Theta`-universal when, for every
:math:`(D, P) \in \Theta`, some decoder :math:`p_{\hat X|Z}` meets both constraints.

- Theorem 3 (Gaussian, MSE, :math:`W_2^2`): the rate penalty
  :math:`A(\Theta) = R(\Theta) - \sup_\Theta R(D, P)` (eq. (6)) is 0: a single :math:`Z` jointly
  Gaussian with :math:`X` with :math:`I(X; Z) = \sup_\Theta R(D, P)` serves all of
  :math:`\Theta` with the decoders
  :math:`\hat X_{D,P} = \mathrm{sign}(\rho)\,\frac{\sigma - \sqrt P}{\sigma_Z}(Z - \mu_Z) + \mu`
  (:func:`gaussian_universal_code`).
- Theorem 4 (any source, MSE): the achievable region of a representation is, up to closure,
  :math:`\{(D, P): D \ge E\|X - \tilde X\|^2 + \inf_{q: d(p_X, q) \le P} W_2^2(p_{\tilde X}, q)\}`
  with :math:`\tilde X = E[X|Z]`. For :math:`d = W_2^2` the infimum is
  :math:`(W_2(p_{\tilde X}, p_X) - \sqrt P)_+^2` (move along the Wasserstein geodesic), so the
  region is fixed by the two extreme points :math:`(D_a, P_a) = (E\|X-\tilde X\|^2,
  W_2^2(p_{\tilde X}, p_X))` and :math:`(D_b, 0) = (D_a + P_a, 0)` (:class:`DPRegion`).
- Gap bounds (10), (27)-(28) between the region of a single representation and
  :math:`\Omega(R)`, for any source of variance :math:`\sigma^2`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from rdlab.core.information import LN2
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import (
    as_float_array,
    check_in_range,
    check_int,
    check_nonnegative,
    check_positive,
    make_rng,
)
from rdlab.theory.rdp import gaussian_perception_threshold, gaussian_rdp


@dataclass(frozen=True)
class DPRegion:
    r"""The achievable distortion-perception region of one representation (Theorem 4, W2²).

    Attributes
    ----------
    mmse_distortion : float
        :math:`D_a = E\|X - \tilde X\|^2` with :math:`\tilde X = E[X|Z]`.
    mmse_perception : float
        :math:`P_a = W_2^2(p_{\tilde X}, p_X)`.
    n_samples : int or None
        Sample size when estimated from samples.
    """

    mmse_distortion: float
    mmse_perception: float
    n_samples: int | None = None

    @property
    def extreme_a(self) -> tuple[float, float]:
        """Upper-left extreme point :math:`(D_a, P_a)`."""
        return (self.mmse_distortion, self.mmse_perception)

    @property
    def distortion_b(self) -> float:
        """:math:`D_b = D_a + W_2^2(p_{\\tilde X}, p_X)`, the least distortion at P = 0."""
        return self.mmse_distortion + self.mmse_perception

    @property
    def extreme_b(self) -> tuple[float, float]:
        """Lower-right extreme point :math:`(D_b, 0)`."""
        return (self.distortion_b, 0.0)

    def boundary(self, perception: object) -> float | np.ndarray:
        r"""Least distortion at perception P: :math:`D_a + (\sqrt{P_a} - \sqrt P)_+^2`."""
        p = np.asarray(as_float_array("perception", perception), dtype=float)
        if np.any(p < 0):
            raise ValueError(f"perception must be >= 0, got min {p.min()}")
        out = (
            self.mmse_distortion
            + np.maximum(math.sqrt(self.mmse_perception) - np.sqrt(p), 0.0) ** 2
        )
        return float(out) if out.ndim == 0 else out

    def contains(self, distortion: float, perception: float, *, atol: float = 0.0) -> bool:
        """Whether (D, P) lies in the closure of the region (within ``atol`` in D)."""
        d = check_nonnegative("distortion", distortion)
        p = check_nonnegative("perception", perception)
        return d + atol >= float(self.boundary(p))

    def to_curve(
        self, n_points: int = 50, *, rate_bits: float | None = None, label: str = ""
    ) -> RDCurve:
        """The lower boundary from (D_b, 0) to (D_a, P_a) as an :class:`RDCurve`."""
        n = check_int("n_points", n_points, minimum=2)
        ps = np.linspace(0.0, self.mmse_perception, n)
        ds = np.asarray(self.boundary(ps))
        r = math.nan if rate_bits is None else check_nonnegative("rate_bits", rate_bits)
        pts = tuple(
            RDPoint(rate_bits=r, distortion=float(d), perception=float(p), method="theorem-4")
            for p, d in zip(ps, ds, strict=True)
        )
        meta = {"D_a": self.mmse_distortion, "P_a": self.mmse_perception, "D_b": self.distortion_b}
        if self.n_samples is not None:
            meta["n_samples"] = self.n_samples
        return RDCurve(pts, label=label, meta=meta)


def gaussian_representation_region(rate_bits: float, variance: float = 1.0) -> DPRegion:
    r"""Theorem-4 region of a representation jointly Gaussian with :math:`X \sim N(\mu,\sigma^2)`.

    With :math:`\rho^2 = 1 - 2^{-2R}`: :math:`\tilde X = E[X|Z] \sim N(\mu, \sigma^2\rho^2)`,
    :math:`D_a = \sigma^2 2^{-2R}`, :math:`P_a = \sigma^2(1 - \rho)^2` (the perception
    threshold), :math:`D_b = 2\sigma^2(1 - \rho) = D(0, R)`. The boundary equals the
    cross-section :math:`D(P, R)` (Theorem 3, eq. (9): :math:`\Omega(p_{Z|X}) = \Omega(R)`).
    """
    var = check_positive("variance", variance)
    r = check_nonnegative("rate_bits", rate_bits)
    d_a = var * 2.0 ** (-2.0 * r)
    p_a = float(gaussian_perception_threshold(r, var))
    return DPRegion(d_a, p_a)


@dataclass(frozen=True)
class GaussianUniversalCode:
    r"""One Gaussian representation serving a whole set :math:`\Theta` (Theorem 3).

    Attributes
    ----------
    variance : float
        Source variance :math:`\sigma^2`.
    rate_bits : float
        :math:`I(X; Z) = \sup_\Theta R(D, P)`.
    correlation : float
        :math:`\rho_{XZ} = \sqrt{1 - 2^{-2R}}` (Z is normalised to unit variance, zero mean).
    targets : ndarray, shape (k, 2)
        The (D, P) pairs of :math:`\Theta`.
    recon_std : ndarray, shape (k,)
        Standard deviation :math:`\sigma - \sqrt{P'}` of each decoder's output, with
        :math:`P' = \min(P, P_{th}(R))`.
    achieved : ndarray, shape (k, 2)
        Distortion and W2² perception each decoder attains (closed form).
    """

    variance: float
    rate_bits: float
    correlation: float
    targets: np.ndarray
    recon_std: np.ndarray
    achieved: np.ndarray

    @property
    def feasible(self) -> np.ndarray:
        """Whether each target is met (with a 1e-12 relative allowance for rounding)."""
        tol = 1e-12 * max(self.variance, 1.0)
        return np.all(self.achieved <= self.targets + tol, axis=1)

    @property
    def penalty_bits(self) -> float:
        r"""Upper bound :math:`I(X;Z) - \sup_\Theta R(D,P)` on :math:`A(\Theta)` (eq. (6)); 0."""
        if not np.all(self.feasible):
            return math.inf
        sup_r = float(np.max(gaussian_rdp(self.targets[:, 0], self.targets[:, 1], self.variance)))
        return self.rate_bits - sup_r

    def sample(self, n: int, seed: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""Draw ``n`` samples of :math:`X` (mean 0), :math:`Z` and every decoder's output.

        Returns ``(x, z, x_hat)`` with ``x_hat`` of shape (k, n). Decoders are deterministic
        functions of Z, so :math:`X \to Z \to \hat X` is a Markov chain.
        """
        n = check_int("n", n, minimum=2)
        rng = make_rng(seed)
        sigma = math.sqrt(self.variance)
        rho = self.correlation
        z = rng.standard_normal(n)
        x = sigma * (rho * z + math.sqrt(max(1.0 - rho**2, 0.0)) * rng.standard_normal(n))
        x_hat = self.recon_std[:, None] * z[None, :]
        return x, z, x_hat


def gaussian_universal_code(
    theta: Iterable[tuple[float, float]] | np.ndarray, variance: float = 1.0
) -> GaussianUniversalCode:
    r"""Build the Theorem-3 representation and decoders for a set of (D, P) pairs.

    Parameters
    ----------
    theta : array_like, shape (k, 2)
        Distortion-perception pairs with D > 0, P >= 0 (W2²).
    variance : float
        Source variance > 0.

    Notes
    -----
    With :math:`R = \sup_\Theta R(D, P)` and :math:`\rho = \sqrt{1 - 2^{-2R}}`, the decoder for
    :math:`(D, P)` outputs :math:`(\sigma - \sqrt{P'}) Z` (unit-variance Z), :math:`P' =
    \min(P, P_{th}(R))`; it attains perception :math:`P'` and distortion
    :math:`D(P', R) \le D` (the cross-section dominates every point of :math:`\Omega(R)`).
    """
    var = check_positive("variance", variance)
    t = as_float_array("theta", theta)
    t = np.atleast_2d(t)
    if t.ndim != 2 or t.shape[1] != 2:
        raise ValueError(f"theta must have shape (k, 2) of (D, P) pairs, got {t.shape}")
    if np.any(t[:, 0] <= 0):
        raise ValueError(f"theta distortions must be > 0, got min {t[:, 0].min()}")
    if np.any(t[:, 1] < 0):
        raise ValueError(f"theta perceptions must be >= 0, got min {t[:, 1].min()}")
    rates = np.asarray(gaussian_rdp(t[:, 0], t[:, 1], var), dtype=float)
    r = float(np.max(rates))
    sigma = math.sqrt(var)
    rho = math.sqrt(-math.expm1(-2.0 * LN2 * r))
    p_eff = np.minimum(t[:, 1], float(gaussian_perception_threshold(r, var)))
    s = np.maximum(sigma - np.sqrt(p_eff), 0.0)
    achieved_d = var + s**2 - 2.0 * sigma * s * rho
    achieved_p = (sigma - s) ** 2
    return GaussianUniversalCode(
        variance=var,
        rate_bits=r,
        correlation=rho,
        targets=t.copy(),
        recon_std=s,
        achieved=np.column_stack([achieved_d, achieved_p]),
    )


# --------------------------------------------------------------------------------------------
# Quantitative gaps, eqs. (10), (11), (27), (28)
# --------------------------------------------------------------------------------------------


def perfect_realism_distortion_lower_bound(d1: float, variance: float = 1.0) -> float:
    r"""Lower bound :math:`D_3 \ge 2\sigma^2 - 2\sigma\sqrt{\sigma^2 - D_1}` (appendix A.2).

    :math:`D_3` is the distortion with :math:`R(D_3, 0) = R(D_1, \infty)`; equality for the
    Gaussian source. Requires :math:`0 \le D_1 \le \sigma^2`.
    """
    var = check_positive("variance", variance)
    d1 = check_in_range("d1", d1, 0.0, var)
    return 2.0 * var - 2.0 * math.sqrt(var) * math.sqrt(var - d1)


def lower_right_gap_bounds(d1: float, variance: float = 1.0) -> tuple[float, float]:
    r"""Bounds (10) on the lower-right gap: :math:`D_b - D_3` and :math:`D_b / D_3`.

    For the representation optimal for R(D) at :math:`D_1` (any source of variance
    :math:`\sigma^2`):

    .. math::

        D_b - D_3 \le 2D_1 - 2\sigma^2 + 2\sigma\sqrt{\sigma^2 - D_1} \le \sigma^2/2, \qquad
        D_b / D_3 \le \frac{D_1}{\sigma^2 - \sigma\sqrt{\sigma^2 - D_1}} \le 2.

    Returns ``(additive_bound, multiplicative_bound)``; requires :math:`0 < D_1 \le \sigma^2`.
    """
    var = check_positive("variance", variance)
    d1 = check_in_range("d1", d1, 0.0, var, low_open=True)
    root = math.sqrt(var) * math.sqrt(var - d1)
    additive = 2.0 * d1 - 2.0 * var + 2.0 * root
    # D1 / (sigma^2 - sigma sqrt(sigma^2 - D1)) = 1 + sqrt(1 - D1/sigma^2), written stably.
    multiplicative = 1.0 + math.sqrt(1.0 - d1 / var)
    return additive, multiplicative


def upper_left_gap_bounds(d3: float, variance: float = 1.0) -> tuple[float, float]:
    r"""Bounds (27)-(28) on the upper-left gap of the perfect-realism representation.

    .. math::

        \tilde D_a - D_1 \le \tfrac12 D_3 - \frac{D_3^2}{4\sigma^2} \le \sigma^2/4, \qquad
        \tilde D_a / D_1 \le 2 - \frac{D_3}{2\sigma^2} \le 2.

    Returns ``(additive_bound, multiplicative_bound)``; requires :math:`0 \le D_3 \le 2\sigma^2`.
    """
    var = check_positive("variance", variance)
    d3 = check_in_range("d3", d3, 0.0, 2.0 * var)
    return 0.5 * d3 - d3**2 / (4.0 * var), 2.0 - d3 / (2.0 * var)


def gaussian_gaps(d1: float, variance: float = 1.0) -> dict[str, float]:
    r"""The actual gaps of (10) and (27)-(28) for the Gaussian source (all zero by Theorem 3).

    ``D_b`` of the R(D)-optimal representation at :math:`D_1` versus :math:`D_3` with
    :math:`R(D_3, 0) = R(D_1, \infty)`, and :math:`\tilde D_a` of the perfect-realism
    representation at :math:`D_3` versus :math:`D_1`.
    """
    var = check_positive("variance", variance)
    d1 = check_in_range("d1", d1, 0.0, var, low_open=True)
    # Z = R(D)-optimal reconstruction at D1: jointly Gaussian, rho^2 = 1 - D1 / sigma^2
    # (computed from D1 directly rather than through the rate, to keep precision near D1 = var).
    rho = math.sqrt((var - d1) / var)
    region_1 = DPRegion(d1, var * (1.0 - rho) ** 2)
    d3 = 2.0 * var - 2.0 * math.sqrt(var) * math.sqrt(var - d1)
    # The perfect-realism reconstruction at D3 is jointly Gaussian with the same correlation, so
    # its MMSE E||X - E[X|Xhat]||^2 = sigma^2 (1 - rho^2) = D1.
    d_a_tilde = var * (1.0 - rho**2)
    return {
        "D1": d1,
        "D3": d3,
        "D_b": region_1.distortion_b,
        "additive_gap": region_1.distortion_b - d3,
        "multiplicative_gap": region_1.distortion_b / d3,
        "D_a_tilde": d_a_tilde,
        "upper_left_additive_gap": d_a_tilde - d1,
        "upper_left_multiplicative_gap": d_a_tilde / d1,
    }
