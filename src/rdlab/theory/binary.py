r"""Rate-distortion of a Bernoulli(p) source under Hamming distortion.

:math:`R(D) = h(p) - h(D)` for :math:`0 \le D < \min(p, 1-p)` and 0 beyond (Cover & Thomas,
Thm 10.3.1). The slope is :math:`dR/dD = -\log_2((1-D)/D)` bits per unit Hamming distortion.
"""

from __future__ import annotations

import numpy as np

from rdlab.core.information import binary_entropy, binary_entropy_inverse
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import as_float_array, check_in_range, check_int, check_nonnegative


def bernoulli_rate_distortion(distortion: object, p: float) -> float | np.ndarray:
    r"""R(D) in bits of Bernoulli(p) under Hamming distortion.

    Parameters
    ----------
    distortion : float or array_like
        Expected Hamming distortion, D >= 0 (values at or above ``min(p, 1-p)`` give 0).
    p : float
        P(X = 1), in [0, 1].

    Examples
    --------
    >>> round(bernoulli_rate_distortion(0.1, 0.5), 6)
    0.531004
    >>> bernoulli_rate_distortion(0.3, 0.2)
    0.0
    """
    pv = check_in_range("p", p, 0.0, 1.0)
    d = as_float_array("distortion", distortion)
    if np.any(d < 0):
        raise ValueError(f"distortion must be >= 0, got min {d.min()}")
    dmax = min(pv, 1.0 - pv)
    dc = np.clip(d, 0.0, dmax)
    r = np.where(d < dmax, binary_entropy(pv) - binary_entropy(dc), 0.0)
    r = np.maximum(r, 0.0)
    return float(r) if r.ndim == 0 else r


def bernoulli_distortion_rate(rate_bits: float, p: float) -> float:
    r"""D(R) of Bernoulli(p) under Hamming distortion: :math:`h^{-1}(h(p) - R)`, 0 beyond h(p).

    Examples
    --------
    >>> round(bernoulli_distortion_rate(0.5, 0.5), 6)
    0.110028
    """
    pv = check_in_range("p", p, 0.0, 1.0)
    r = check_nonnegative("rate_bits", rate_bits)
    hp = binary_entropy(pv)
    if r >= hp:
        return 0.0
    return binary_entropy_inverse(hp - r)


def bernoulli_slope(distortion: float) -> float:
    """dR/dD of the Bernoulli curve at D in (0, 1/2), in bits per unit Hamming distortion."""
    d = check_in_range("distortion", distortion, 0.0, 0.5, low_open=True)
    return float(-np.log2((1.0 - d) / d))


def bernoulli_rd_curve(p: float, n_points: int = 50) -> RDCurve:
    """The closed-form curve at ``n_points`` distortions evenly spaced in (0, min(p, 1-p)]."""
    pv = check_in_range("p", p, 0.0, 1.0, low_open=True, high_open=True)
    n = check_int("n_points", n_points, minimum=2)
    dmax = min(pv, 1.0 - pv)
    pts = []
    for d in np.linspace(dmax / n, dmax, n):
        rate = bernoulli_rate_distortion(float(d), pv)
        slope = bernoulli_slope(float(d)) if d < 0.5 else 0.0
        pts.append(RDPoint(rate_bits=float(rate), distortion=float(d), slope=slope))
    return RDCurve(tuple(pts), label=f"Bernoulli({pv:g}) R(D), closed form", meta={"p": pv})


__all__ = [
    "bernoulli_distortion_rate",
    "bernoulli_rate_distortion",
    "bernoulli_rd_curve",
    "bernoulli_slope",
]
