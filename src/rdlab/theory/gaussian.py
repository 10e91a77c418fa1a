r"""Rate-distortion of Gaussian sources under squared error, in closed form.

Scalar source :math:`N(0, \sigma^2)` (eq. (15), Zhang et al. appendix; Cover & Thomas 10.3.2):

.. math:: R(D) = \max\{0, \tfrac12 \log_2(\sigma^2 / D)\}, \qquad D(R) = \sigma^2 2^{-2R}.

Vector source with covariance eigenvalues :math:`s_i` (reverse water-filling, eq. (22)-(23),
Lei et al.): the water level :math:`t` solves :math:`\sum_i \min(t, s_i) = D`; component
:math:`i` gets distortion :math:`D_i = \min(t, s_i)` and rate
:math:`R_i = \max\{0, \tfrac12\log_2(s_i/t)\}`.

The optimal test channel (corrected; seed 002 §V.C states it wrongly, see docs/errata.md), per
active component (:math:`s > t`) in the eigenbasis: output marginal :math:`Q_Y = N(0, s - t)`,
forward channel :math:`Q_{Y|X=x} = N((1 - t/s)\,x,\ t(1 - t/s))`; inactive components
reproduce 0.

Slopes are dR/dD in bits per unit of squared error: :math:`-1/(2 t \ln 2)` on the curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rdlab.core.information import LOG2E
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_positive,
    check_variances,
    make_rng,
)
from rdlab.sources.base import GaussianSource


def _distortion_array(distortion: object) -> np.ndarray:
    d = as_float_array("distortion", distortion)
    if np.any(d < 0):
        raise ValueError(f"distortion must be >= 0, got min {d.min()}")
    return d


def _rate_array(rate: object) -> np.ndarray:
    r = as_float_array("rate_bits", rate)
    if np.any(r < 0):
        raise ValueError(f"rate_bits must be >= 0, got min {r.min()}")
    return r


def _scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    return float(x) if x.ndim == 0 else x


def gaussian_rate_distortion(distortion: object, variance: float = 1.0) -> float | np.ndarray:
    r"""R(D) in bits of a scalar Gaussian under squared error (eq. (15), Zhang et al.).

    :math:`R(D) = \max\{0, \tfrac12\log_2(\sigma^2/D)\}`; ``inf`` at D = 0 and 0 for
    :math:`D \ge \sigma^2 = D_{max}`.

    Parameters
    ----------
    distortion : float or array_like
        Mean squared error D >= 0.
    variance : float
        Source variance > 0.

    Examples
    --------
    >>> gaussian_rate_distortion(0.25, 1.0)
    1.0
    >>> gaussian_rate_distortion(2.0, 1.0)
    0.0
    """
    d = _distortion_array(distortion)
    var = check_positive("variance", variance)
    with np.errstate(divide="ignore"):
        r = np.where(d >= var, 0.0, 0.5 * np.log2(var / np.where(d > 0, d, 1.0)))
    r = np.where(d == 0, np.inf, r)
    return _scalar_or_array(np.asarray(r, dtype=float))


def gaussian_distortion_rate(rate_bits: object, variance: float = 1.0) -> float | np.ndarray:
    r"""D(R) of a scalar Gaussian under squared error: :math:`\sigma^2 2^{-2R}`.

    Examples
    --------
    >>> gaussian_distortion_rate(1.0, 1.0)
    0.25
    """
    r = _rate_array(rate_bits)
    var = check_positive("variance", variance)
    return _scalar_or_array(var * np.exp2(-2.0 * r))


@dataclass(frozen=True)
class WaterFilling:
    """Reverse water-filling solution.

    Attributes
    ----------
    water_level : float
        The level t (in units of squared error per component).
    variances : ndarray, shape (m,)
        Component variances (eigenvalues of the covariance), as given.
    component_distortions : ndarray, shape (m,)
        :math:`D_i = \\min(t, s_i)`.
    component_rates_bits : ndarray, shape (m,)
        :math:`R_i = \\max(0, \\tfrac12 \\log_2(s_i / t))`.
    rate_bits, distortion : float
        Totals.
    slope : float
        dR/dD in bits per unit squared error, :math:`-1/(2 t \\ln 2)`; at and beyond D_max the
        left derivative at D_max, :math:`-1/(2 \\max_i s_i \\ln 2)`.
    """

    water_level: float
    variances: np.ndarray
    component_distortions: np.ndarray
    component_rates_bits: np.ndarray
    rate_bits: float
    distortion: float
    slope: float

    @property
    def active(self) -> np.ndarray:
        """Mask of the components that are coded (s_i > t)."""
        return self.variances > self.water_level


def _finish(variances: np.ndarray, level: float, what: str = "") -> WaterFilling:
    if not (level >= np.finfo(np.float64).tiny and math.isfinite(-LOG2E / (2.0 * level))):
        # the level underflows (a rate of thousands of bits, a subnormal distortion): the
        # slope and the rates would be infinite or 0/0
        raise ValueError(
            f"{what} is beyond double precision: the water level would be {level:.3g} "
            f"(at most about {-math.log2(np.finfo(np.float64).tiny) / 2:.0f} bits per "
            "component, distortions of at least 2.2e-308 per component)"
        )
    d_i = np.minimum(level, variances)
    with np.errstate(divide="ignore"):
        r_i = np.where(variances > level, 0.5 * np.log2(variances / level), 0.0)
    # the left derivative at D_max (level = max variance) is kept, not 0
    slope = -LOG2E / (2.0 * level)
    return WaterFilling(
        water_level=float(level),
        variances=variances,
        component_distortions=d_i,
        component_rates_bits=r_i,
        rate_bits=float(r_i.sum()),
        distortion=float(d_i.sum()),
        slope=float(slope),
    )


_LEVEL_RTOL = 1e-12
"""Relative rounding slack of a water level against the variances that bracket it."""


def _level_in(t: float, lo: float, hi: float) -> float | None:
    """The water level ``t`` clipped to ``[lo, hi]`` if it lies there up to the rounding of its
    computation (:data:`_LEVEL_RTOL`), else None."""
    if lo * (1.0 - _LEVEL_RTOL) <= t <= hi * (1.0 + _LEVEL_RTOL):
        return min(max(t, lo), hi)
    return None


def reverse_water_filling(variances: object, distortion: float) -> WaterFilling:
    r"""Reverse water-filling at total distortion D (eq. (23), Lei et al.).

    Solves :math:`\sum_i \min(t, s_i) = D` exactly (piecewise linear in t). For
    :math:`D \ge \sum_i s_i` every component is inactive, the rate is 0 and the level is
    :math:`\max_i s_i`.

    Parameters
    ----------
    variances : array_like, shape (m,)
        Component variances (> 0).
    distortion : float
        Total squared error D > 0.

    Examples
    --------
    >>> wf = reverse_water_filling([4.0, 1.0], 1.0)
    >>> wf.water_level, wf.rate_bits
    (0.5, 2.0)
    """
    s = check_variances("variances", variances)
    d = check_positive("distortion", distortion)
    total = float(s.sum())
    if d >= total:
        return _finish(s, float(s.max()))
    srt = np.sort(s)
    m = srt.size
    # with the k smallest variances inactive: sum = cumsum_k + t (m - k), t in [srt[k-1], srt[k]]
    below = np.concatenate(([0.0], np.cumsum(srt)[:-1]))
    for k in range(m):
        t = (d - below[k]) / (m - k)
        level = _level_in(float(t), float(srt[k - 1]) if k > 0 else 0.0, float(srt[k]))
        if level is not None:
            return _finish(s, level, f"distortion {d:g}")
    raise RuntimeError("reverse water-filling found no level")  # pragma: no cover


def reverse_water_filling_at_rate(variances: object, rate_bits: float) -> WaterFilling:
    r"""Reverse water-filling at total rate R: the level with :math:`\sum_i R_i = R`.

    With the k largest variances active, :math:`\log_2 t = (\sum_{i \le k} \log_2 s_i - 2R)/k`.

    Examples
    --------
    >>> wf = reverse_water_filling_at_rate([4.0, 1.0], 2.0)
    >>> wf.water_level, wf.distortion
    (0.5, 1.0)
    """
    s = check_variances("variances", variances)
    r = check_nonnegative("rate_bits", rate_bits)
    if r == 0:
        return _finish(s, float(s.max()))
    srt = np.sort(s)[::-1]
    logs = np.cumsum(np.log2(srt))
    for k in range(1, srt.size + 1):
        t = float(np.exp2((logs[k - 1] - 2.0 * r) / k))
        # the level of k active components lies in [s_(k+1), s_(k)] up to the rounding of
        # log2 / exp2 (a rate of 1e-16 bit gives t a hair above s_(1))
        level = _level_in(t, float(srt[k]) if k < srt.size else 0.0, float(srt[k - 1]))
        if level is not None:
            return _finish(s, level, f"rate_bits {r:g}")
    raise RuntimeError("reverse water-filling found no level")  # pragma: no cover


def covariance_spectrum(source_or_variances: object) -> np.ndarray:
    """The positive covariance eigenvalues of a :class:`GaussianSource`, or the given variances
    checked (positive, finite, one-dimensional).

    Examples
    --------
    >>> covariance_spectrum([4.0, 1.0])
    array([4., 1.])
    """
    if isinstance(source_or_variances, GaussianSource):
        ev = source_or_variances.eigenvalues
        return ev[ev > 0]
    return check_variances("variances", source_or_variances)


def vector_gaussian_rate_distortion(distortion: object, source: object) -> float | np.ndarray:
    """R(D) in bits of a Gaussian vector (a :class:`GaussianSource` or its variances).

    Examples
    --------
    >>> vector_gaussian_rate_distortion(1.0, [4.0, 1.0])
    2.0
    """
    s = covariance_spectrum(source)
    d = _distortion_array(distortion)
    out = np.array(
        [np.inf if v == 0 else reverse_water_filling(s, v).rate_bits for v in d.ravel()]
    ).reshape(d.shape)
    return _scalar_or_array(out)


def vector_gaussian_distortion_rate(rate_bits: object, source: object) -> float | np.ndarray:
    """D(R) of a Gaussian vector (a :class:`GaussianSource` or its variances).

    Examples
    --------
    >>> vector_gaussian_distortion_rate(2.0, [4.0, 1.0])
    1.0
    """
    s = covariance_spectrum(source)
    r = _rate_array(rate_bits)
    out = np.array([reverse_water_filling_at_rate(s, v).distortion for v in r.ravel()]).reshape(
        r.shape
    )
    return _scalar_or_array(out)


def gaussian_rd_curve(
    source: object, n_points: int = 50, *, max_rate_bits: float | None = None
) -> RDCurve:
    """The closed-form R(D) of a Gaussian (scalar or vector) sampled at ``n_points`` rates.

    Rates are evenly spaced from 0 to ``max_rate_bits`` (default: where D = D_max / 1000).
    Each point carries its slope (bits per unit squared error).
    """
    s = covariance_spectrum(source)
    n = check_int("n_points", n_points, minimum=2)
    if max_rate_bits is None:
        max_rate = reverse_water_filling(s, 1e-3 * float(s.sum())).rate_bits
    else:
        max_rate = check_positive("max_rate_bits", max_rate_bits)
    pts = []
    for r in np.linspace(0.0, max_rate, n):
        wf = reverse_water_filling_at_rate(s, float(r))
        pts.append(RDPoint(rate_bits=wf.rate_bits, distortion=wf.distortion, slope=wf.slope))
    return RDCurve(tuple(pts), label="Gaussian R(D), closed form", meta={"variances": s.tolist()})


@dataclass(frozen=True)
class GaussianTestChannel:
    r"""The optimal test channel of a Gaussian source at distortion D (squared error).

    In the eigenbasis :math:`U = V^T (X - \mu)`, component :math:`i` with variance :math:`s_i`
    and level :math:`t`: if :math:`s_i > t`, :math:`\hat U_i = a_i U_i + \sqrt{n_i} Z_i` with
    gain :math:`a_i = 1 - t/s_i` and noise variance :math:`n_i = t(1 - t/s_i)`, so
    :math:`\hat U_i \sim N(0, s_i - t)`; otherwise :math:`\hat U_i = 0`. The reconstruction is
    :math:`Y = \mu + V \hat U`.
    """

    source: GaussianSource
    water_filling: WaterFilling
    gain: np.ndarray
    noise_variance: np.ndarray
    output_variance: np.ndarray

    @property
    def rate_bits(self) -> float:
        return self.water_filling.rate_bits

    @property
    def distortion(self) -> float:
        return self.water_filling.distortion

    def output_covariance(self) -> np.ndarray:
        """Covariance of the output marginal Q_Y (rank = number of active components)."""
        v = self.source.eigenvectors
        return (v * self.output_variance) @ v.T

    def sample_output(self, n: int, seed: object) -> np.ndarray:
        """n draws from the output marginal Q_Y, shape (n, m) (or (n,) for a scalar source)."""
        n = check_int("n", n, minimum=0)
        z = make_rng(seed).standard_normal((n, self.source.dim))
        y = self.source.mean + (z * np.sqrt(self.output_variance)) @ self.source.eigenvectors.T
        return y[:, 0] if self.source.scalar else y

    def sample_reconstruction(self, x: object, seed: object) -> np.ndarray:
        """Draw Y ~ Q_{Y|X=x} for each row of ``x`` (shape (n, m), or (n,) for scalar sources)."""
        xa = as_float_array("x", x)
        m = self.source.dim
        rows = xa[:, None] if (self.source.scalar and xa.ndim == 1) else xa
        if rows.ndim != 2 or rows.shape[1] != m:
            raise ValueError(f"x must have shape (n, {m}), got {xa.shape}")
        u = (rows - self.source.mean) @ self.source.eigenvectors
        z = make_rng(seed).standard_normal(u.shape)
        u_hat = self.gain * u + np.sqrt(self.noise_variance) * z
        y = self.source.mean + u_hat @ self.source.eigenvectors.T
        return y[:, 0] if self.source.scalar else y

    def mutual_information_bits(self) -> float:
        """I(X;Y) in bits from the channel's own parameters (Gaussian MI formula, per component).

        For an active component, :math:`I = \\tfrac12 \\log_2(\\mathrm{Var}\\,\\hat U / n_i)`.
        """
        act = self.output_variance > 0
        return float(0.5 * np.sum(np.log2(self.output_variance[act] / self.noise_variance[act])))


def gaussian_test_channel(source: object, distortion: float) -> GaussianTestChannel:
    """The R(D)-achieving test channel of a Gaussian source (corrected form; see module doc).

    Parameters
    ----------
    source : GaussianSource or float
        The source (a float is taken as the variance of a scalar zero-mean Gaussian).
    distortion : float
        Target total squared error, 0 < D.

    Examples
    --------
    >>> ch = gaussian_test_channel(1.0, 0.25)
    >>> float(ch.gain[0]), float(ch.noise_variance[0]), float(ch.output_variance[0])
    (0.75, 0.1875, 0.75)
    """
    src = source if isinstance(source, GaussianSource) else GaussianSource(source)
    wf = reverse_water_filling(src.eigenvalues[src.eigenvalues > 0], distortion)
    s = src.eigenvalues
    t = wf.water_level
    active = s > t
    gain = np.where(active, 1.0 - t / np.where(active, s, 1.0), 0.0)
    noise = np.where(active, t * gain, 0.0)
    out_var = np.where(active, s - t, 0.0)
    # rebuild the water-filling on the full spectrum (zero-variance components included)
    wf_full = _finish(np.where(s > 0, s, 0.0), t) if np.any(s == 0) else wf
    return GaussianTestChannel(src, wf_full, gain, noise, out_var)


def zero_rate_distortion(source: GaussianSource) -> float:
    """D_max under squared error: the total variance E||X − μ||²."""
    return source.total_variance


__all__ = [
    "GaussianTestChannel",
    "WaterFilling",
    "covariance_spectrum",
    "gaussian_distortion_rate",
    "gaussian_rate_distortion",
    "gaussian_rd_curve",
    "gaussian_test_channel",
    "reverse_water_filling",
    "reverse_water_filling_at_rate",
    "vector_gaussian_distortion_rate",
    "vector_gaussian_rate_distortion",
    "zero_rate_distortion",
]
