"""Information measures in bits.

All functions take probability vectors or matrices, validate them (entries in [0, 1], sums equal
to 1 within :data:`rdlab.core.validation.PMF_ATOL`) and return bits. The convention
``0 log 0 = 0`` is used throughout.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from rdlab.core.validation import as_float_array, check_in_range, check_pmf

LOG2E = float(np.log2(np.e))
"""Bits per nat."""

LN2 = math.log(2.0)
"""Nats per bit: a slope of s bits per unit of distortion is a multiplier of s·ln 2 nats."""


def _xlog2x_over(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise p * log2(p / q) with 0 log 0 = 0 and p log(p/0) = +inf for p > 0."""
    out = np.zeros_like(p)
    pos = p > 0
    with np.errstate(divide="ignore"):
        out[pos] = p[pos] * (np.log2(p[pos]) - np.log2(q[pos]))
    return out


def entropy(pmf: object) -> float:
    r"""Shannon entropy :math:`H(p) = -\sum_i p_i \log_2 p_i` in bits.

    Parameters
    ----------
    pmf : array_like, shape (n,)
        Probability vector.

    Examples
    --------
    >>> entropy([0.5, 0.5])
    1.0
    >>> entropy([1.0, 0.0])
    0.0
    """
    p = check_pmf("pmf", pmf)
    nz = p[p > 0]
    return float(max(0.0, -np.sum(nz * np.log2(nz))))


def binary_entropy(p: object) -> float | np.ndarray:
    r"""Binary entropy :math:`h(p) = -p\log_2 p - (1-p)\log_2(1-p)` in bits.

    Accepts a scalar or an array with entries in [0, 1]; returns the same shape.

    Examples
    --------
    >>> binary_entropy(0.5)
    1.0
    >>> round(float(binary_entropy(0.11)), 6)
    0.499916
    """
    arr = as_float_array("p", p)
    if np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"p must be in [0, 1], got min {arr.min()}, max {arr.max()}")
    q = 1.0 - arr
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(arr > 0, -arr * np.log2(np.where(arr > 0, arr, 1.0)), 0.0)
        b = np.where(q > 0, -q * np.log2(np.where(q > 0, q, 1.0)), 0.0)
    h = a + b
    return float(h) if h.ndim == 0 else h


def binary_entropy_inverse(h: object, *, xtol: float = 1e-15) -> float:
    r"""Inverse of the binary entropy on [0, 1/2]: the ``p`` in [0, 1/2] with ``h(p) = h``.

    Parameters
    ----------
    h : float
        Entropy in bits, in [0, 1].
    xtol : float
        Absolute tolerance on ``p`` (Brent's method).

    Examples
    --------
    >>> round(binary_entropy_inverse(binary_entropy(0.2)), 12)
    0.2
    """
    hv = check_in_range("h", h, 0.0, 1.0)
    if hv == 0.0:
        return 0.0
    if hv == 1.0:
        return 0.5
    return float(brentq(lambda p: binary_entropy(p) - hv, 0.0, 0.5, xtol=xtol, rtol=1e-15))


def kl_divergence(p: object, q: object) -> float:
    r"""Kullback-Leibler divergence :math:`D(p\|q) = \sum_i p_i \log_2 (p_i / q_i)` in bits.

    Returns ``inf`` when ``p`` puts mass where ``q`` has none.

    Examples
    --------
    >>> kl_divergence([0.5, 0.5], [0.5, 0.5])
    0.0
    >>> kl_divergence([1.0, 0.0], [0.5, 0.5])
    1.0
    """
    pv = check_pmf("p", p)
    qv = check_pmf("q", q)
    if pv.shape != qv.shape:
        raise ValueError(f"p and q must have the same shape, got {pv.shape} and {qv.shape}")
    terms = _xlog2x_over(pv, qv)
    return float(max(0.0, np.sum(terms)))


def mutual_information(joint: object) -> float:
    r"""Mutual information :math:`I(X;Y) = D(p_{XY} \| p_X p_Y)` in bits of a joint pmf.

    Parameters
    ----------
    joint : array_like, shape (n_x, n_y)
        Joint probability matrix, entries summing to 1.

    Examples
    --------
    >>> mutual_information([[0.5, 0.0], [0.0, 0.5]])
    1.0
    >>> mutual_information([[0.25, 0.25], [0.25, 0.25]])
    0.0
    """
    pxy = as_float_array("joint", joint, ndim=2)
    check_pmf("joint (flattened)", pxy.ravel())
    pxy = pxy / pxy.sum()
    px = pxy.sum(axis=1, keepdims=True)
    py = pxy.sum(axis=0, keepdims=True)
    # log p(x,y) - log p(x) - log p(y), term by term: the product p(x)p(y) can underflow
    pos = pxy > 0
    rows, cols = np.nonzero(pos)
    vals = pxy[pos]
    terms = vals * (np.log2(vals) - np.log2(px[rows, 0]) - np.log2(py[0, cols]))
    return float(max(0.0, np.sum(terms)))


def channel_mutual_information(source_pmf: object, channel: object) -> float:
    r"""Mutual information in bits of a source pmf ``p(x)`` through a channel ``W(y|x)``.

    Parameters
    ----------
    source_pmf : array_like, shape (n_x,)
    channel : array_like, shape (n_x, n_y)
        Row-stochastic: each row sums to 1.
    """
    p = check_pmf("source_pmf", source_pmf)
    w = as_float_array("channel", channel, ndim=2)
    if w.shape[0] != p.shape[0]:
        raise ValueError(
            f"channel must have {p.shape[0]} rows (one per source symbol), got {w.shape}"
        )
    if np.any(w < 0) or np.any(np.abs(w.sum(axis=1) - 1.0) > 1e-8):
        raise ValueError("channel rows must be probability vectors (entries >= 0, rows sum to 1)")
    return mutual_information(p[:, None] * w)


def gaussian_mutual_information(cov_x: object, cov_y: object, cross_cov: object) -> float:
    r"""Mutual information in bits between jointly Gaussian vectors.

    :math:`I(X;Y) = \tfrac12 \log_2 \frac{\det \Sigma_X \det \Sigma_Y}{\det \Sigma}` with
    :math:`\Sigma` the joint covariance built from ``cov_x``, ``cov_y`` and ``cross_cov``
    (= Cov(X, Y), shape (n_x, n_y)). Components with zero variance in ``Y`` must be left out by
    the caller (they carry no information and make the determinant vanish).
    """
    sx = np.atleast_2d(as_float_array("cov_x", cov_x))
    sy = np.atleast_2d(as_float_array("cov_y", cov_y))
    sxy = np.atleast_2d(as_float_array("cross_cov", cross_cov))
    if sxy.shape != (sx.shape[0], sy.shape[0]):
        raise ValueError(f"cross_cov must have shape {(sx.shape[0], sy.shape[0])}, got {sxy.shape}")
    joint = np.block([[sx, sxy], [sxy.T, sy]])
    sign_x, ld_x = np.linalg.slogdet(sx)
    sign_y, ld_y = np.linalg.slogdet(sy)
    sign_j, ld_j = np.linalg.slogdet(joint)
    if sign_x <= 0 or sign_y <= 0:
        raise ValueError("cov_x and cov_y must be positive definite")
    if sign_j <= 0:
        return float("inf")
    return float(max(0.0, 0.5 * (ld_x + ld_y - ld_j) * LOG2E))
