r"""Transform coding with entropy-coded uniform scalar quantisers on Gaussian sources.

The operational reference for a learned transform code (NTC) on a Gaussian vector: rotate to
the eigenbasis, quantise component :math:`i` by a mid-tread uniform quantiser of step
:math:`\Delta_i` (cells :math:`[(k - \tfrac12)\Delta_i, (k + \tfrac12)\Delta_i)`), code the
indices with an ideal entropy code (rate = the index entropy) and reproduce every cell by its
centroid :math:`E[X \mid \text{cell}]`. For :math:`X \sim N(0, \sigma^2)` and
:math:`t = \Delta / \sigma`, cell :math:`k` has probability
:math:`P_k = \Phi((k + \tfrac12) t) - \Phi((k - \tfrac12) t)` and first moment
:math:`m_k = \sigma(\varphi((k - \tfrac12) t) - \varphi((k + \tfrac12) t))`, so

.. math:: R = -\sum_k P_k \log_2 P_k, \qquad D = \sigma^2 - \sum_k m_k^2 / P_k .

At high rate :math:`R - R(D) \to \tfrac12 \log_2(\pi e / 6) \approx 0.2546` bit per component
(Gish & Pierce 1968); at low rate the loss is smaller. The steps of the components are chosen
together at a slope :math:`s` (bits per unit of squared error, :math:`s < 0`): each minimises
:math:`R_i + |s| D_i` over :math:`\Delta_i \in (0, \infty]` (:math:`\infty`: the component is not
coded, :math:`R_i = 0`, :math:`D_i = \sigma_i^2`). Rates between the points of that family are
reached by time sharing (the lower convex hull), as :func:`transform_ecsq_rate` reports them.

References
----------
.. [1] H. Gish and J. N. Pierce, "Asymptotically efficient quantizing", IEEE Trans. Inf.
   Theory 14(5), 1968.
.. [2] J. Ballé, P. A. Chou, D. Minnen, S. Singh, N. Johnston, E. Agustsson, S. J. Hwang and
   G. Toderici, "Nonlinear transform coding", IEEE J. Sel. Topics Signal Process. 15(2), 2021
   (Sec. III: NTC on Gaussian sources approaches this code).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from rdlab.core.validation import check_nonnegative, check_positive, check_real
from rdlab.theory.gaussian import covariance_spectrum

HIGH_RATE_LOSS_BITS = 0.5 * math.log2(math.pi * math.e / 6.0)
"""Loss of the entropy-coded uniform scalar quantiser against R(D) per component at high rate,
in bits (about 0.2546)."""

MIN_RELATIVE_STEP = 1e-3
"""Smallest step searched, in units of the component's standard deviation (about 12 bits per
component; the distortion, 1 minus the centroids' second moment, is exact to about 1e-5 there
and loses digits below); slopes that would need finer steps are refused."""

MAX_COMPONENTS = 1024
"""Most components a source may have here: each is optimised on its own at every slope (a
1024-component rate takes about 5 s on one core, measured 2026-12-02)."""

_MAX_RELATIVE_STEP = 40.0  # beyond 20 sigma the outer cells carry less than 1e-80 of the mass
_TAIL_SIGMAS = 12.0  # cells up to 12 sigma: the mass beyond, 3.6e-33, changes nothing
_GRID = 400
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def uniform_quantizer_gaussian(step: float, variance: float = 1.0) -> tuple[float, float]:
    r"""Rate (index entropy, bits) and distortion (squared error, centroid reproduction) of the
    mid-tread uniform quantiser of step ``step`` on :math:`N(0, \sigma^2)`.

    Parameters
    ----------
    step : float
        The cell width :math:`\Delta > 0`, at least ``MIN_RELATIVE_STEP`` standard deviations;
        ``inf`` is the quantiser with one cell (rate 0, distortion :math:`\sigma^2`).
    variance : float
        :math:`\sigma^2 > 0`.

    Returns
    -------
    (rate_bits, distortion) : tuple of float

    References
    ----------
    .. [1] H. Gish and J. N. Pierce, "Asymptotically efficient quantizing", 1968.

    Examples
    --------
    >>> r, d = uniform_quantizer_gaussian(float("inf"))
    >>> (r, d)
    (0.0, 1.0)
    >>> r, d = uniform_quantizer_gaussian(1e-3)        # high rate: D = step^2 / 12
    >>> round(d / (1e-6 / 12), 4)
    1.0
    """
    var = check_positive("variance", variance)
    if isinstance(step, float | np.floating) and step == math.inf:
        return 0.0, var
    step = check_positive("step", step)
    sigma = math.sqrt(var)
    if step < MIN_RELATIVE_STEP * sigma:
        raise ValueError(
            f"step must be at least {MIN_RELATIVE_STEP:g} standard deviations "
            f"({MIN_RELATIVE_STEP * sigma:.3g}), or inf, got {step!r}"
        )
    rate, dist = _unit_quantizer(step / sigma)
    return rate, var * dist


def _unit_quantizer(t: float) -> tuple[float, float]:
    """(entropy in bits, distortion) of the mid-tread quantiser of step ``t`` on N(0, 1)."""
    if t >= _MAX_RELATIVE_STEP:
        return 0.0, 1.0
    # cells k = 0, 1, ..., K on the right; the left ones mirror them. Tail probabilities by the
    # upper normal tail (ndtr(-x)) keep the outer cells' masses exact.
    n_cells = math.ceil(_TAIL_SIGMAS / t) + 1
    edges = (np.arange(n_cells + 1) + 0.5) * t  # (k + 1/2) t for k = 0..K
    tail = ndtr(-edges)  # P(X > edge)
    dens = np.exp(-0.5 * edges * edges) * _INV_SQRT_2PI
    p_out = tail[:-1] - tail[1:]  # cells k = 1..K
    m_out = dens[:-1] - dens[1:]  # their first moments
    p0 = 1.0 - 2.0 * tail[0]
    ok = p_out > 0.0
    p_out, m_out = p_out[ok], m_out[ok]
    entropy = -(p0 * math.log2(p0)) - 2.0 * float(np.sum(p_out * np.log2(p_out)))
    # the central cell's centroid is 0; D = 1 - sum_k m_k^2 / P_k
    dist = 1.0 - 2.0 * float(np.sum(m_out * m_out / p_out))
    return max(float(entropy), 0.0), min(max(dist, 0.0), 1.0)


@functools.lru_cache(maxsize=1)
def _unit_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relative steps on a log grid with their (rate, distortion) on N(0, 1)."""
    t = np.geomspace(MIN_RELATIVE_STEP, _MAX_RELATIVE_STEP, _GRID)
    rd = np.array([_unit_quantizer(float(v)) for v in t])
    return t, rd[:, 0], rd[:, 1]


def _best_step(u: float) -> tuple[float, float, float]:
    """The relative step minimising H(t) + u D(t) on N(0, 1) (``inf``: not coded), with its
    rate and distortion."""
    t, h, d = _unit_grid()
    cost = h + u * d
    i = int(np.argmin(cost))
    best = (math.inf, 0.0, 1.0)
    best_cost = u  # not coded
    if cost[i] < best_cost:
        lo, hi = t[max(i - 1, 0)], t[min(i + 1, t.size - 1)]

        def lagrangian(v: float) -> float:
            r, dv = _unit_quantizer(v)
            return r + u * dv

        res = minimize_scalar(
            lagrangian,
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-10 * hi},
        )
        tv = float(res.x) if res.fun <= cost[i] else float(t[i])
        r, dv = _unit_quantizer(tv)
        if r + u * dv < best_cost:
            if i == 0 and tv <= MIN_RELATIVE_STEP * (1.0 + 1e-6):
                raise ValueError(
                    "the slope needs steps finer than MIN_RELATIVE_STEP standard deviations "
                    f"(more than about {_unit_quantizer(MIN_RELATIVE_STEP)[0]:.0f} bits per "
                    "component): choose a shallower slope"
                )
            best = (tv, r, dv)
    return best


def _variances(source: object) -> np.ndarray:
    """:func:`~rdlab.theory.gaussian.covariance_spectrum`, at most ``MAX_COMPONENTS`` long."""
    var = covariance_spectrum(source)
    if var.size > MAX_COMPONENTS:
        raise ValueError(
            f"source must have at most {MAX_COMPONENTS} components with positive variance for "
            f"the scalar transform code, got {var.size}"
        )
    return var


@dataclass(frozen=True)
class ECSQPoint:
    """The transform code with entropy-coded uniform scalar quantisers at one slope.

    Attributes
    ----------
    slope : float
        The slope it minimises :math:`R + |s| D` at, bits per unit of squared error (< 0).
    rate_bits, distortion : float
        Totals over the components (bits; squared error summed over the vector).
    steps : ndarray
        Each component's step :math:`\\Delta_i` (``inf``: not coded).
    component_rates_bits, component_distortions : ndarray
        Per component.
    active : int
        How many components are coded.
    """

    slope: float
    rate_bits: float
    distortion: float
    steps: np.ndarray
    component_rates_bits: np.ndarray
    component_distortions: np.ndarray
    active: int


def transform_ecsq_at_slope(source: object, slope: float) -> ECSQPoint:
    """The entropy-coded uniform scalar transform code of a Gaussian at slope ``slope``.

    Parameters
    ----------
    source : GaussianSource or array_like
        The source or its covariance eigenvalues.
    slope : float
        dR/dD in bits per unit of squared error, < 0: each component's step minimises
        :math:`R_i + |s| D_i`.

    Returns
    -------
    ECSQPoint

    References
    ----------
    .. [1] J. Ballé et al., "Nonlinear transform coding", 2021, Sec. III.

    Examples
    --------
    >>> pt = transform_ecsq_at_slope([4.0, 1.0], -2.0)
    >>> pt.active, round(pt.rate_bits, 3), round(pt.distortion, 3)
    (2, 2.84, 0.78)
    """
    var = _variances(source)
    s = check_real("slope", slope)
    if not s < 0.0:
        raise ValueError(f"slope must be < 0 (bits per unit of squared error), got {slope!r}")
    steps, rates, dists = np.empty(var.size), np.empty(var.size), np.empty(var.size)
    for i, v in enumerate(var):
        t, r, d = _best_step(-s * float(v))
        steps[i], rates[i], dists[i] = t * math.sqrt(v), r, d * v
    return ECSQPoint(
        slope=s,
        rate_bits=float(rates.sum()),
        distortion=float(dists.sum()),
        steps=steps,
        component_rates_bits=rates,
        component_distortions=dists,
        active=int(np.isfinite(steps).sum()),
    )


def transform_ecsq_rate(distortion: float, source: object) -> float:
    """Rate in bits of the entropy-coded uniform scalar transform code of a Gaussian at
    squared error ``distortion``, time-sharing between the two slope points around it.

    The Lagrangian family of :func:`transform_ecsq_at_slope` jumps in distortion where a
    component starts to be coded; between two of its points the code that uses one on a share
    of the samples and the other on the rest lies on the straight line, so the rate returned is
    the lower convex hull of the family at ``distortion`` (found by bisection on the slope to a
    relative 1e-9).

    Parameters
    ----------
    distortion : float
        Squared error summed over the vector, > 0; at or above the total variance the rate is 0.
    source : GaussianSource or array_like
        The source or its covariance eigenvalues.

    References
    ----------
    .. [1] J. Ballé et al., "Nonlinear transform coding", 2021, Sec. III.

    Examples
    --------
    >>> round(transform_ecsq_rate(1e-4, [1.0]) - 0.5 * math.log2(1e4), 3)   # high rate
    0.255
    """
    var = _variances(source)
    target = check_nonnegative("distortion", distortion)
    if target == 0.0:
        raise ValueError("distortion must be > 0: the scalar code needs infinite rate at 0")
    if target >= float(var.sum()):
        return 0.0
    # bracket the slope: steep enough that D <= target, shallow enough that D >= target
    lo, hi = 1e-6 / float(var.max()), 1.0 / target
    p_lo, p_hi = transform_ecsq_at_slope(var, -lo), transform_ecsq_at_slope(var, -hi)
    while p_hi.distortion > target:
        hi *= 4.0
        p_hi = transform_ecsq_at_slope(var, -hi)
    while hi / lo > 1.0 + 1e-9:
        mid = math.sqrt(lo * hi)
        p = transform_ecsq_at_slope(var, -mid)
        if p.distortion > target:
            lo, p_lo = mid, p
        else:
            hi, p_hi = mid, p
    if p_lo.distortion - p_hi.distortion <= 1e-12 * target:
        return p_hi.rate_bits
    w = (p_lo.distortion - target) / (p_lo.distortion - p_hi.distortion)
    return float(p_lo.rate_bits + w * (p_hi.rate_bits - p_lo.rate_bits))


__all__ = [
    "HIGH_RATE_LOSS_BITS",
    "MAX_COMPONENTS",
    "MIN_RELATIVE_STEP",
    "ECSQPoint",
    "transform_ecsq_at_slope",
    "transform_ecsq_rate",
    "uniform_quantizer_gaussian",
]
