"""Discretisations of continuous sources onto finite grids (for exact finite-alphabet solvers)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from rdlab.core.validation import check_int, check_positive


def discretized_gaussian(
    n: int = 1000, limit: float = 6.0, variance: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""A scalar N(0, variance) discretised onto ``n`` evenly spaced points of [-L, L].

    The grid is ``x = linspace(-L*sigma, L*sigma, n)``; each point gets the Gaussian mass of the
    cell between the midpoints to its neighbours (the outer cells extend to infinity), so the
    pmf sums to 1 exactly.

    Parameters
    ----------
    n : int
        Number of grid points (>= 2).
    limit : float
        Half-width of the grid in standard deviations (> 0).
    variance : float
        Variance of the Gaussian (> 0).

    Returns
    -------
    alphabet : ndarray, shape (n,)
    pmf : ndarray, shape (n,)

    Examples
    --------
    >>> x, p = discretized_gaussian(1000, 6.0)
    >>> round(float(p.sum()), 12), round(float(p @ x**2), 3)
    (1.0, 1.0)
    """
    n = check_int("n", n, minimum=2)
    lim = check_positive("limit", limit)
    sigma = float(np.sqrt(check_positive("variance", variance)))
    x = np.linspace(-lim * sigma, lim * sigma, n)
    edges = np.concatenate(([-np.inf], 0.5 * (x[1:] + x[:-1]), [np.inf]))
    cdf = ndtr(edges / sigma)
    pmf = np.diff(cdf)
    return x, pmf / pmf.sum()
