"""Numerical kernel shared by the finite-alphabet rate-distortion solvers.

Everything here works on validated float64 arrays and the Lagrange multiplier ``s`` in **nats**
(``s <= 0``). The matrix ``A[x, y] = exp(s (d[x, y] - min_y' d[x, y']))`` is the Gibbs kernel
rescaled row by row so that the largest entry of each row is 1; the row scales are kept as logs
(``log_scale[x] = s * min_y d[x, y]``), so that no quantity over- or underflows for any slope.
Rows whose mixture ``sum_y q(y) A[x, y]`` still underflows are recomputed with ``logsumexp``.
"""

from __future__ import annotations

import math
import os

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.blas import dsyrk
from scipy.special import logsumexp

LN2 = math.log(2.0)
_TINY_MIX = 1e-280
REG = 0.0
_CHUNK_ELEMS = 1 << 22  # about 32 MiB of float64 per temporary row chunk


def _available_memory_bytes() -> int | None:
    """``MemAvailable`` from /proc/meminfo (Linux), else ``None``."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def estimate_memory_bytes(n_source: int, n_reproduction: int) -> int:
    """Peak working memory of one Blahut-Arimoto / interior-point solve, in bytes.

    Two ``(n_source, n_reproduction)`` float64 matrices (the rescaled Gibbs kernel and the
    scaled kernel used for the Hessian, reused for the returned channel), the
    ``(n_reproduction, n_reproduction)`` Hessian, and row-chunk temporaries. The distortion
    matrix itself is the caller's and is not counted.

    Examples
    --------
    >>> estimate_memory_bytes(10_000, 10_000) / 2**30  # doctest: +ELLIPSIS
    2.3...
    """
    nx, ny = int(n_source), int(n_reproduction)
    chunk = 3 * 8 * min(nx * ny, max(_CHUNK_ELEMS, ny))
    return 8 * (2 * nx * ny + ny * ny + 8 * (nx + ny)) + chunk


def check_memory(n_source: int, n_reproduction: int, max_memory_bytes: int | None = None) -> int:
    """Raise :class:`MemoryError` before allocating when a problem cannot fit in memory.

    Parameters
    ----------
    n_source, n_reproduction : int
        Alphabet sizes.
    max_memory_bytes : int, optional
        Budget; by default the memory the operating system reports as available.

    Returns
    -------
    int
        The estimated peak working memory in bytes.
    """
    need = estimate_memory_bytes(n_source, n_reproduction)
    budget = _available_memory_bytes() if max_memory_bytes is None else int(max_memory_bytes)
    if budget is not None and need > budget:
        raise MemoryError(
            f"a {n_source} x {n_reproduction} rate-distortion problem needs about "
            f"{need / 2**30:.2f} GiB of working memory in float64 (two {n_source} x "
            f"{n_reproduction} matrices and a {n_reproduction} x {n_reproduction} Hessian), "
            f"but only {budget / 2**30:.2f} GiB is available; use smaller alphabets "
            "(e.g. a coarser grid) or pass a larger max_memory_bytes"
        )
    return need


def _row_chunks(n_rows: int, n_cols: int):
    step = max(1, _CHUNK_ELEMS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


class GibbsKernel:
    """The rescaled kernel of one slope and the quantities derived from an output marginal."""

    def __init__(self, p: np.ndarray, d: np.ndarray, s_nats: float):
        self.p = p
        self.d = d
        self.s = float(s_nats)
        self.dmin = d.min(axis=1)
        self.log_scale = self.s * self.dmin
        nx, ny = d.shape
        self.A = np.empty((nx, ny))
        for rows in _row_chunks(nx, ny):
            block = self.A[rows]
            np.subtract(d[rows], self.dmin[rows, None], out=block)
            block *= self.s
            np.exp(block, out=block)
        self.log_p = np.log(np.where(p > 0, p, 1.0))
        self.pos = p > 0

    # -- rows whose mixture underflows, handled in the log domain ------------------------
    def _log_rows(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            logq = np.log(q)
        expo = self.s * (self.d[rows] - self.dmin[rows, None]) + logq[None, :]
        return logsumexp(expo, axis=1)

    def mixture(self, q: np.ndarray, cols: np.ndarray | None = None):
        """``ct[x] = sum_y q(y) A[x, y]``, its log, and the rows that needed the log domain."""
        if cols is None:
            ct = self.A @ q
        else:
            ct = self.A[:, cols] @ q[cols]
        bad = np.flatnonzero((ct < _TINY_MIX) & self.pos)
        with np.errstate(divide="ignore"):
            log_ct = np.log(ct)
        if bad.size:
            log_ct[bad] = self._log_rows(bad, q)
        return ct, log_ct, bad

    def output_ratio(self, q: np.ndarray, ct: np.ndarray, log_ct: np.ndarray, bad: np.ndarray):
        """``c_y = sum_x p(x) A[x, y] / ct[x]`` (the BA update factor of ``q(y)``)."""
        w = np.zeros_like(ct)
        good = self.pos.copy()
        good[bad] = False
        w[good] = self.p[good] / ct[good]
        cy = self.A.T @ w
        if bad.size:
            expo = (
                self.s * (self.d[bad] - self.dmin[bad, None])
                + (self.log_p[bad] - log_ct[bad])[:, None]
            )
            cy += np.exp(expo).sum(axis=0)
        return cy

    def scaled_rows(self, cols: np.ndarray, ct, log_ct, bad) -> np.ndarray:
        """``B[x, j] = sqrt(p(x)) A[x, cols[j]] / ct[x]``, so that the Hessian is ``B^T B``."""
        r = np.zeros_like(ct)
        good = self.pos.copy()
        good[bad] = False
        r[good] = np.sqrt(self.p[good]) / ct[good]
        B = self.A[:, cols]
        B *= r[:, None]
        if bad.size:
            expo = (
                self.s * (self.d[np.ix_(bad, cols)] - self.dmin[bad, None])
                + (0.5 * self.log_p[bad] - log_ct[bad])[:, None]
            )
            B[bad] = np.exp(expo)
        return B

    def distortion(self, q: np.ndarray, ct, log_ct, bad) -> float:
        """Expected distortion of the channel ``W(y|x) = q(y) A[x, y] / ct[x]``."""
        nx, ny = self.A.shape
        total = 0.0
        good = self.pos.copy()
        good[bad] = False
        for rows in _row_chunks(nx, ny):
            g = good[rows]
            if not g.any():
                continue
            num = (self.A[rows] * self.d[rows]) @ q
            total += float(np.sum(self.p[rows][g] * num[g] / ct[rows][g]))
        if bad.size:
            with np.errstate(divide="ignore"):
                logq = np.log(q)
            expo = (
                self.s * (self.d[bad] - self.dmin[bad, None]) + logq[None, :] - log_ct[bad][:, None]
            )
            total += float(self.p[bad] @ (np.exp(expo) * self.d[bad]).sum(axis=1))
        return total

    def channel(self, q: np.ndarray, ct, log_ct, bad, out: np.ndarray | None = None):
        """The test channel ``W(y|x)`` with rows summing to 1."""
        W = np.multiply(self.A, q[None, :], out=out)
        with np.errstate(divide="ignore", invalid="ignore"):
            W /= np.where(ct > 0, ct, 1.0)[:, None]
        rows = np.flatnonzero((ct < _TINY_MIX) | ~np.isfinite(W).all(axis=1))
        if rows.size:
            with np.errstate(divide="ignore"):
                logq = np.log(q)
            expo = self.s * (self.d[rows] - self.dmin[rows, None]) + logq[None, :]
            W[rows] = np.exp(expo - logsumexp(expo, axis=1, keepdims=True))
        return W


def certificate(kernel: GibbsKernel, q: np.ndarray):
    """Blahut's bounds at the current output marginal ``q`` (normalised here).

    Returns ``(q, ct, log_ct, bad, cy, gap_nats)`` where the gap between the mutual information
    of the induced channel and Blahut's lower bound (both at the channel's distortion) is

    .. math:: \\ln\\max_y c_y - \\sum_y q(y) c_y \\ln c_y \\ge 0 .
    """
    q = q / q.sum()
    ct, log_ct, bad = kernel.mixture(q)
    cy = kernel.output_ratio(q, ct, log_ct, bad)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(q > 0, q * cy * np.log(np.where(cy > 0, cy, 1.0)), 0.0)
    gap = math.log(float(cy.max())) - float(term.sum())
    return q, ct, log_ct, bad, cy, max(gap, 0.0)


def bounds_nats(kernel: GibbsKernel, q, ct, log_ct, bad, cy):
    """``(D, I, L)``: distortion, mutual information (upper bound on R(D)) and Blahut's lower
    bound at ``D``, both in nats, for the channel induced by ``q``."""
    D = kernel.distortion(q, ct, log_ct, bad)
    mean_log_c = float(kernel.p[kernel.pos] @ (kernel.log_scale + log_ct)[kernel.pos])
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(q > 0, q * cy * np.log(np.where(cy > 0, cy, 1.0)), 0.0)
    base = kernel.s * D - mean_log_c
    upper = base - float(term.sum())
    lower = base - math.log(float(cy.max()))
    return D, upper, lower, base


def solve_output_marginal(
    kernel: GibbsKernel,
    q0: np.ndarray,
    *,
    tol_nats: float,
    max_iter: int,
    method: str,
    warm: bool = False,
):
    """Minimise ``F(q) = -sum_x p(x) ln sum_y q(y) e^{s d(x,y)}`` over the simplex.

    ``method="ba"`` iterates Blahut-Arimoto (``q <- q c``); ``method="newton"`` runs a few BA
    steps and then a primal-dual interior-point Newton method on the equivalent bound-constrained
    problem ``min_{q >= 0} -sum_x p(x) ln (A q)_x + sum_y q(y)`` (whose minimiser lies on the
    simplex), restricted to a working set that drops reproduction symbols whose mass has vanished
    and whose KKT multiplier is clearly positive. Both stop on the certified gap computed on the
    full alphabet. Returns ``(q, iterations, converged)``.
    """
    q = q0 / q0.sum()
    if method == "ba":
        it = 0
        while it < max_iter:
            q, _, _, _, cy, gap = certificate(kernel, q)
            if gap <= tol_nats:
                return q, it, True
            q = q * cy
            it += 1
        q, _, _, _, cy, gap = certificate(kernel, q)
        return q, it, gap <= tol_nats

    it = 0
    best_gap, best_q = math.inf, q
    # attempts: (start, Blahut-Arimoto warm-up steps); a warm start first, then a cold one
    attempts = [(q, 3)] if warm else []
    attempts.append((np.full(q.size, 1.0 / q.size), 15))
    for start, n_ba in attempts:
        q = start
        for _ in range(min(n_ba, max_iter - it)):
            q, _, _, _, cy, gap = certificate(kernel, q)
            if gap <= tol_nats:
                return q, it, True
            q = q * cy
            it += 1
        q, _, _, _, cy, gap = certificate(kernel, q)
        if gap <= tol_nats:
            return q, it, True
        q, it, gap = _interior_point(
            kernel, q, it, tol_nats=tol_nats, max_iter=max_iter, z_offset=1e-3, sigma=0.3
        )
        if gap <= tol_nats:
            return q, it, True
        if gap < best_gap:
            best_gap, best_q = gap, q
        if it >= max_iter:
            break
    # no success: finish with Blahut-Arimoto from the best point
    q, _, _, _, cy, gap = certificate(kernel, best_q)
    while gap > tol_nats and it < max_iter:
        it += 1
        q, _, _, _, cy, gap = certificate(kernel, q * cy)
    return q, it, gap <= tol_nats


def _interior_point(kernel, q, it, *, tol_nats, max_iter, z_offset, sigma, max_steps=40):
    """Primal-dual Newton steps on ``min_{q>=0} -sum_x p ln (A q)_x + sum_y q(y)``.

    Returns ``(best q, iterations so far, its gap)``; stops on the tolerance or after a run of
    steps without progress.
    """
    q, ct, log_ct, bad, cy, gap = certificate(kernel, q)
    best_gap, best_q = gap, q
    # symbols that Blahut-Arimoto has nearly killed but whose KKT condition is violated
    # (c_y > 1) get a mass an interior-point method can grow from
    revive = (cy > 1.0) & (q < 1e-8 * q.max())
    if revive.any():
        q = q.copy()
        q[revive] = 1e-8 * q.max()
        q, ct, log_ct, bad, cy, gap = certificate(kernel, q)
    active = np.flatnonzero(q > 0)
    z = np.maximum(1.0 - cy, 0.0) + z_offset
    stalls = 0
    steps = 0
    while it < max_iter and steps < max_steps:
        it += 1
        steps += 1
        qa = q[active]
        za = z[active]
        g = 1.0 - cy[active]
        mu = sigma * float(qa @ za) / max(active.size, 1)
        B = kernel.scaled_rows(active, ct, log_ct, bad)
        H = dsyrk(1.0, B, trans=1, lower=0)
        del B
        hdiag = H[np.diag_indices_from(H)]
        H[np.diag_indices_from(H)] += za / qa + REG * hdiag
        try:
            cf = cho_factor(H, lower=False, overwrite_a=True, check_finite=False)
            dq = cho_solve(cf, mu / qa - g, check_finite=False)
        except (LinAlgError, ValueError):
            dq = None
        del H
        if dq is None or not np.all(np.isfinite(dq)):
            break
        dz = mu / qa - za - (za / qa) * dq
        neg = dq < 0
        ap = min(1.0, 0.99 * float(np.min(-qa[neg] / dq[neg]))) if neg.any() else 1.0
        neg = dz < 0
        ad = min(1.0, 0.99 * float(np.min(-za[neg] / dz[neg]))) if neg.any() else 1.0
        q_new = q.copy()
        q_new[active] = qa + ap * dq
        z[active] = za + ad * dz
        # keep the iterate near the central path: q(y) z(y) within [0.1, 10] times its mean
        qa_new = q_new[active]
        mu_c = float(qa_new @ z[active]) / max(active.size, 1)
        z[active] = np.clip(z[active], 0.1 * mu_c / qa_new, 10.0 * mu_c / qa_new)
        q, ct, log_ct, bad, cy, gap = certificate(kernel, q_new)
        if gap <= tol_nats:
            return q, it, gap
        if gap < 0.999 * best_gap:
            best_gap, best_q = gap, q
            stalls = 0
        else:
            stalls += 1
            if stalls >= 6:
                break
        # working set: drop vanished symbols with a clearly positive multiplier, re-add violators
        qmax = float(q.max())
        drop = (q < 1e-15 * qmax) & (cy < 1.0 - 1e-3)
        add = (q <= 0) & (cy > 1.0)
        if drop.any() or add.any():
            q = q.copy()
            q[drop] = 0.0
            if add.any():
                q[add] = 1e-12 * qmax
                z[add] = max(mu, 1e-300) / q[add]
            q, ct, log_ct, bad, cy, gap = certificate(kernel, q)
            active = np.flatnonzero(q > 0)
    return best_q, it, best_gap
