r"""Blahut-Arimoto on large alphabets by column generation, with bounded memory.

For the empirical law of n samples reproduced by the samples themselves (seed 002, Fig. 1 at
n = 10^4) the output marginal that attains R(D) at a slope lives on a subset S of the n
reproduction symbols, small at low rate. Column generation solves the problem restricted to S
(the certified solver of :mod:`rdlab.solvers._kernel` on the ``n x |S|`` kernel), then makes
one pass over all n columns to compute, for every reproduction symbol y,

.. math:: c_y = \sum_x p(x)\, e^{s' d(x, y)} / c(x), \qquad c(x) = \sum_{y' \in S} q(y')\, e^{s' d(x, y')},

in the log domain, chunk by chunk. Symbols with :math:`c_y > 1` would take mass (their KKT
condition is violated); the largest of them join S and the restricted problem is solved again,
warm-started. It stops when Blahut's gap computed over **all** n symbols,
:math:`\ln \max_y c_y - \sum_y q(y) c_y \ln c_y`, is at most the tolerance: the bounds are
those of the full problem (Blahut 1972), so the result is certified exactly as a dense solve is.

Memory: the ``n x |S|`` restricted kernel (and its dense Newton system) plus chunks of the
``n x n`` distortion matrix; the whole matrix is kept only when ``cache_bytes`` allows it, else
its columns are recomputed from the samples at every pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import logsumexp

from rdlab.solvers._kernel import (
    GibbsKernel,
    bounds_nats,
    certificate,
    check_memory,
    solve_output_marginal,
)

COLUMN_CHUNK = 512
"""Columns per chunk of a pass over the whole alphabet."""

MAX_OUTER = 60
"""Restricted solves per slope before giving up (each adds at least one violated column)."""

MIN_ADD = 64
"""Fewest violated columns added to the restricted set at a time (when there are as many)."""


class Columns:
    """The columns ``d[:, J]`` of an ``n_x x n_y`` distortion matrix, from a function that
    computes them (``J`` an index array or a slice), cached whole when it fits in
    ``cache_bytes``."""

    def __init__(self, compute: Callable[[np.ndarray | slice], np.ndarray], n_x: int, n_y: int,
                 *, cache_bytes: int) -> None:  # fmt: skip
        self.compute = compute
        self.n_x, self.n_y = int(n_x), int(n_y)
        self.full: np.ndarray | None = None
        if 8 * self.n_x * self.n_y <= cache_bytes:
            self.full = np.empty((self.n_x, self.n_y))
            for cols in self._spans():
                self.full[:, cols] = compute(cols)

    def _spans(self):
        for j in range(0, self.n_y, COLUMN_CHUNK):
            yield slice(j, min(self.n_y, j + COLUMN_CHUNK))

    def __call__(self, cols: np.ndarray | slice) -> np.ndarray:
        """``d[:, cols]``: a view of the cached matrix for a slice, else a new array."""
        if self.full is not None:
            return self.full[:, cols]
        return self.compute(cols)

    def chunks(self):
        """``(cols, d[:, cols])`` over the whole alphabet, ``cols`` a slice of at most
        ``COLUMN_CHUNK`` columns."""
        for cols in self._spans():
            yield cols, self(cols)


def expected_distortion(p: np.ndarray, columns: Columns) -> np.ndarray:
    """``sum_x p(x) d(x, y)`` for every reproduction symbol y (the zero-rate distortions)."""
    out = np.empty(columns.n_y)
    for cols, d in columns.chunks():
        out[cols] = p @ d
    return out


def full_log_cy(p: np.ndarray, columns: Columns, s_nats: float, log_c: np.ndarray) -> np.ndarray:
    r""":math:`\ln c_y` for every reproduction symbol, one chunked log-domain pass."""
    with np.errstate(divide="ignore"):
        row = np.log(p) - log_c
    # the sums are taken directly (one pass less than logsumexp's shift by the maximum); a
    # column whose terms all underflow gets -inf (c_y < 1e-300: far from joining the support
    # either way), a chunk with an overflowing sum is redone in the log domain
    out = np.empty(columns.n_y)
    for cols, d in columns.chunks():
        expo = d * s_nats
        expo += row[:, None]
        with np.errstate(over="ignore"):
            sums = np.exp(expo).sum(axis=0)
        if np.all(np.isfinite(sums)):
            with np.errstate(divide="ignore"):
                out[cols] = np.log(sums)
        else:
            out[cols] = logsumexp(expo, axis=0)
    return out


def solve_by_columns(
    p: np.ndarray,
    columns: Columns,
    s_nats: float,
    support: np.ndarray,
    q0: np.ndarray,
    *,
    tol_nats: float,
    max_iter: int,
    max_memory_bytes: int | None = None,
):
    """Solve one slope by column generation from the restricted set ``support`` (weights ``q0``).

    Returns ``(S, q_S, D, upper_nats, lower_nats, cy_S, iterations, converged)``: the final
    restricted set and the output marginal on it, the channel's distortion, the mutual
    information (upper bound on R(D)) and Blahut's lower bound over the full alphabet, both in
    nats, ``c_y`` on S and the inner iterations. Before each restricted solve its memory is
    checked (:func:`~rdlab.solvers._kernel.check_memory`, ``MemoryError`` when it cannot fit).
    """
    S = np.asarray(support, dtype=np.intp)
    q = np.asarray(q0, dtype=np.float64)
    iters = 0
    inner_tol = 0.5 * tol_nats
    for outer in range(1, MAX_OUTER + 1):
        check_memory(columns.n_x, S.size, max_memory_bytes)
        sub = GibbsKernel(p, columns(S), s_nats)
        q, it, _ = solve_output_marginal(
            sub, q, tol_nats=inner_tol, max_iter=max(1, max_iter - iters), method="newton",
            warm=outer > 1 or q.size > 1,
        )  # fmt: skip
        iters += it
        q, ct, log_ct, bad, cy, _ = certificate(sub, q)
        D, upper, _, base = bounds_nats(sub, q, ct, log_ct, bad, cy)
        log_cy = full_log_cy(p, columns, s_nats, sub.log_scale + log_ct)
        with np.errstate(divide="ignore", invalid="ignore"):
            spent = float(np.where(q > 0, q * cy * np.log(np.where(cy > 0, cy, 1.0)), 0.0).sum())
        top = max(float(log_cy.max()), math.log(float(cy.max())))
        gap = top - spent
        del sub
        if gap <= tol_nats or iters >= max_iter:
            return S, q, D, upper, base - top, cy, iters, gap <= tol_nats
        in_s = np.zeros(columns.n_y, dtype=bool)
        in_s[S] = True
        violated = np.flatnonzero(~in_s & (log_cy > 0.0))
        keep = q > 0
        if violated.size == 0:  # the restricted solve itself has not converged: go on with it
            continue
        k = max(MIN_ADD, int(keep.sum()))
        new = violated[np.argsort(-log_cy[violated], kind="stable")[:k]]
        q_max = float(q.max())
        S = np.concatenate([S[keep], new])
        q = np.concatenate([q[keep], np.full(new.size, 1e-3 * q_max)])
    return S, q, D, upper, base - top, cy, iters, False
