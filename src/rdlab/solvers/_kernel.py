"""Numerical kernel shared by the finite-alphabet rate-distortion solvers.

Everything here works on validated float64 arrays and the Lagrange multiplier ``s`` in **nats**
(``s <= 0``). The matrix ``A[x, y] = exp(s (d[x, y] - min_y' d[x, y']))`` is the Gibbs kernel
rescaled row by row so that the largest entry of each row is 1; the row scales are kept as logs
(``log_scale[x] = s * min_y d[x, y]``), so that no quantity over- or underflows for any slope.
Rows whose mixture ``sum_y q(y) A[x, y]`` still underflows are recomputed with ``logsumexp``.

Newton steps on large alphabets: the Hessian ``A_S^T diag(p / c^2) A_S`` of the interior-point
method is dense, and for smooth distortions (discretised continuous sources) the output marginal
covers most of the grid, so factoring it costs ``O(n^3)`` per step. The kernel of such a
distortion has a rapidly decaying spectrum (numerical rank ~100-300 for a Gaussian grid at
``D >= 0.02``, independent of the grid size), so :func:`row_basis` finds, once per slope, an
orthonormal ``V`` with ``A ~= (A V) V^T``; each Newton system is then solved by conjugate
gradients with the exact Hessian (two products with ``A``) and the low-rank-plus-diagonal
approximation as a Woodbury preconditioner, ``O(n_x n_y + (n_x + n_y) r^2)`` per step. Kernels
without a small numerical rank, and steps whose system is not solved, use the dense
factorisation. Every stopping decision is Blahut's certificate on the full alphabet, so the
linear algebra can change the speed but not the certified result.
"""

from __future__ import annotations

import contextlib
import math
import os

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.linalg.blas import dsyrk
from scipy.linalg.lapack import dpotrf, dpotrs
from scipy.special import logsumexp

_TINY_MIX = 1e-280
REG = 0.0
_CHUNK_ELEMS = 1 << 22  # about 32 MiB of float64 per temporary row chunk
_CACHE_ELEMS = 1 << 15  # 256 KiB row chunks for passes that stay in cache
# low-rank Newton steps: used from this many reproduction symbols on, when the kernel's
# numerical rank (relative tolerance LOWRANK_RTOL) is at most LOWRANK_MAX_FRACTION of them
LOWRANK_MIN_SIZE = 256
LOWRANK_RTOL = 1e-12
LOWRANK_MAX_FRACTION = 0.4
_HESSIAN_MODES = ("auto", "dense", "lowrank", "cg")
CG_MIN_SIZE = 1000  # from this working-set size on, "auto" takes diagonally preconditioned CG
_CG_MAX_ITER = 200  # CG iterations of one such step before falling back to a dense step
_CG_RTOL_SINGLE = 1e-6  # relative residual a CG step with float32 kernel products aims at
_OP_BLOCK_BYTES = 1 << 20  # rows of the kernel per block of a fused Hessian product: ~1 MiB
_CG_ACCEPT = 1e-6  # largest relative residual of an accepted low-rank Newton step
_COLD_BA_STEPS = 15  # Blahut-Arimoto steps before the interior-point method from a cold start
_SIGMA = 0.3  # centring parameter of the interior-point method
# initial dual slack added to max(1 - c_y, 0): the first try, and the retry when it fails
_Z_OFFSET = 1e-5
_Z_OFFSET_SAFE = 1e-3


# BLAS threads during a solve. The iteration is dominated by memory-bound matrix-vector products
# and small factorisations; on a busy machine a multithreaded BLAS made single solves 3-15x
# slower (measured on 2 shared cores), so a solve runs BLAS on one thread by default. ``None``
# leaves the BLAS as configured; so does setting one of _BLAS_ENV in the environment. Needs the
# optional package threadpoolctl (without it the BLAS is left as configured).
BLAS_THREADS: int | None = 1
_BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_blas_controller = None


def blas_threads(threads: int | None = -1):
    """A context manager that limits the BLAS to ``threads`` threads (default
    ``BLAS_THREADS``, see above; ``None`` leaves it as configured)."""
    global _blas_controller
    limit = BLAS_THREADS if threads == -1 else threads
    if limit is None or any(os.environ.get(v) for v in _BLAS_ENV):
        return contextlib.nullcontext()
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional
            _blas_controller = False
        else:
            _blas_controller = ThreadpoolController()
    if not _blas_controller:
        return contextlib.nullcontext()
    return _blas_controller.limit(limits=limit, user_api="blas")


def available_memory_bytes() -> int | None:
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

    Two ``(n_source, n_reproduction)`` float64 matrices (the rescaled Gibbs kernel, and the
    scaled kernel of a dense Newton step or the kernel's float32 copy that conjugate-gradient
    steps use, freed before a dense step; the returned channel overwrites the kernel), the
    ``(n_reproduction, n_reproduction)`` Hessian of a dense step, and row-chunk temporaries. This
    is an upper bound: low-rank Newton steps (see :func:`row_basis`) allocate neither the scaled
    kernel nor the Hessian, only ``(n_source + n_reproduction) x r`` factors with
    ``r <= LOWRANK_MAX_FRACTION * n_reproduction``. The distortion matrix itself is the
    caller's and is not counted.

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
    budget = available_memory_bytes() if max_memory_bytes is None else int(max_memory_bytes)
    if budget is not None and need > budget:
        raise MemoryError(
            f"a {n_source} x {n_reproduction} rate-distortion problem needs about "
            f"{need / 2**30:.2f} GiB of working memory in float64 (two {n_source} x "
            f"{n_reproduction} matrices and a {n_reproduction} x {n_reproduction} Hessian), "
            f"but only {budget / 2**30:.2f} GiB is available; use smaller alphabets "
            "(e.g. a coarser grid) or pass a larger max_memory_bytes"
        )
    return need


def _row_chunks(n_rows: int, n_cols: int, elems: int = _CHUNK_ELEMS):
    step = max(1, elems // max(n_cols, 1))
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
        for rows in _row_chunks(nx, ny, _CACHE_ELEMS):
            block = self.A[rows]
            np.subtract(d[rows], self.dmin[rows, None], out=block)
            block *= self.s
            np.exp(block, out=block)
        self.log_p = np.log(np.where(p > 0, p, 1.0))
        self.pos = p > 0
        self._basis: tuple[np.ndarray, np.ndarray] | None = None
        self._basis_done = False
        self._single: np.ndarray | None = None

    def single(self) -> np.ndarray:
        """The kernel in float32 (made once, kept until :meth:`drop_single`), for Hessian
        products whose rounding the Newton step tolerates; the certificate never uses it."""
        if self._single is None:
            self._single = self.A.astype(np.float32)
        return self._single

    def drop_single(self) -> None:
        """Free the float32 copy (before a dense step allocates its own n x m matrix)."""
        self._single = None

    def row_basis(self, *, rtol: float | None = None, max_rank: int | None = None):
        """``(V, AV)`` with ``A ~= (A V) V^T``, ``V`` orthonormal, or ``None`` if not low rank.

        Computed once per kernel (cached) by :func:`row_basis`.
        """
        if not self._basis_done:
            rtol = LOWRANK_RTOL if rtol is None else rtol
            self._basis = row_basis(self.A, rtol=rtol, max_rank=max_rank)
            self._basis_done = True
        return self._basis

    def bad_rows(self, cols: np.ndarray, log_ct: np.ndarray, bad: np.ndarray) -> np.ndarray:
        """Rows ``bad`` of :meth:`scaled_rows`, from the log domain."""
        expo = (
            self.s * (self.d[np.ix_(bad, cols)] - self.dmin[bad, None])
            + (0.5 * self.log_p[bad] - log_ct[bad])[:, None]
        )
        return np.exp(expo)

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
            B[bad] = self.bad_rows(cols, log_ct, bad)
        return B

    def distortion(self, q: np.ndarray, ct, log_ct, bad) -> float:
        """Expected distortion of the channel ``W(y|x) = q(y) A[x, y] / ct[x]``."""
        nx, ny = self.A.shape
        total = 0.0
        good = self.pos.copy()
        good[bad] = False
        for rows in _row_chunks(nx, ny, _CACHE_ELEMS):
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
        """The test channel ``W(y|x)`` with rows summing to 1.

        ``out`` may be ``self.A`` itself (row chunks are overwritten in place): this saves an
        ``(n_x, n_y)`` allocation when the kernel is not needed afterwards, and leaves it unusable.
        """
        nx, ny = self.A.shape
        self.drop_single()
        W = np.empty((nx, ny)) if out is None else out
        # entries are q(y) A[x, y] / ct[x] <= 1 (all terms of ct are >= 0), so only rows with an
        # underflowing or non-finite mixture need the log domain
        rows = np.flatnonzero((ct < _TINY_MIX) | ~np.isfinite(ct))
        inv = np.zeros(nx)
        ok = np.ones(nx, dtype=bool)
        ok[rows] = False
        inv[ok] = 1.0 / ct[ok]
        for chunk in _row_chunks(nx, ny, _CACHE_ELEMS):
            block = W[chunk]
            np.multiply(self.A[chunk], q[None, :], out=block)
            block *= inv[chunk, None]
        if rows.size:
            with np.errstate(divide="ignore"):
                logq = np.log(q)
            expo = self.s * (self.d[rows] - self.dmin[rows, None]) + logq[None, :]
            W[rows] = np.exp(expo - logsumexp(expo, axis=1, keepdims=True))
        return W


def row_basis(
    A: np.ndarray,
    *,
    rtol: float = LOWRANK_RTOL,
    max_rank: int | None = None,
    block: int = 32,
    seed: int = 0,
):
    """An orthonormal basis ``V`` of the numerical row space of ``A``, and ``A V``.

    Rows of ``A`` are drawn in a random order (fixed seed) in blocks of ``block``; a block's part
    outside the current basis is orthonormalised and appended until a fresh block lies within
    ``rtol`` (relative to the largest row norm) of the basis. Every row is then checked:
    ``|a_x|^2 - |a_x V|^2`` (resolvable down to about ``1e-7 |a|``) flags rows that are not yet
    represented, and the worst of them are added. Returns ``(V, A V)``, or ``None`` when the
    rank would exceed ``max_rank`` (default ``LOWRANK_MAX_FRACTION * n_y``): then a dense Newton
    step is cheaper. Cost ``O(n_x n_y r)`` for rank ``r`` (one product ``A V``).

    The basis only preconditions Newton steps (see :func:`_lowrank_direction`), so a poor
    basis slows the solver down but cannot change its certified result.
    """
    nx, ny = A.shape
    if max_rank is None:
        max_rank = int(LOWRANK_MAX_FRACTION * ny)
    rng = np.random.default_rng(seed)
    order = rng.permutation(nx)
    rownorm2 = np.einsum("ij,ij->i", A, A)
    top = float(rownorm2.max())
    if not (top > 0 and np.isfinite(top)):
        return None
    Q = np.empty((ny, 0))
    AV = np.empty((nx, 0))
    pos = 0
    while True:
        if pos < nx:
            rows = order[pos : pos + block]
            pos += rows.size
        else:  # every row sampled: the exact check below decides
            rows = np.empty(0, dtype=np.intp)
        Y = A[rows].T
        for _ in range(2):  # twice is enough (Gram-Schmidt against the basis)
            Y -= Q @ (Q.T @ Y)
        resid2 = np.einsum("ij,ij->j", Y, Y)
        if rows.size == 0 or float(resid2.max()) <= rtol**2 * top:
            # exact check of every row against the basis found so far
            if AV.shape[1] < Q.shape[1]:
                AV = np.hstack([AV, A @ Q[:, AV.shape[1] :]])
            miss = rownorm2 - np.einsum("ij,ij->i", AV, AV)
            worst = np.argsort(miss)[::-1][:block]
            worst = worst[miss[worst] > 1e-14 * top]
            if worst.size == 0:
                return Q, AV
            Y = A[worst].T
            for _ in range(2):
                Y -= Q @ (Q.T @ Y)
        keep = np.einsum("ij,ij->j", Y, Y) > rtol**2 * top
        if not keep.any():  # what is left is rounding noise
            if AV.shape[1] < Q.shape[1]:
                AV = np.hstack([AV, A @ Q[:, AV.shape[1] :]])
            return Q, AV
        if Q.shape[1] + int(keep.sum()) > max_rank:
            return None
        Qb = np.linalg.qr(Y[:, keep])[0]
        Qb -= Q @ (Q.T @ Qb)
        Q = np.hstack([Q, np.linalg.qr(Qb)[0]])


def _dense_direction(kernel, active, ct, log_ct, bad, diag, rhs):
    """Solve ``(B^T B + diag(diag)) dq = rhs`` on the working set by a dense Cholesky."""
    kernel.drop_single()  # the memory estimate has room for one n x m matrix besides A
    B = kernel.scaled_rows(active, ct, log_ct, bad)
    H = dsyrk(1.0, B, trans=1, lower=0)
    del B
    n = H.shape[0]
    if REG:
        H.flat[:: n + 1] *= 1.0 + REG
    H.flat[:: n + 1] += diag
    c, info = dpotrf(H, lower=0, clean=0, overwrite_a=1)
    if info != 0:
        return None
    dq, info = dpotrs(c, rhs, lower=0)
    return dq if info == 0 else None


def _lowrank_direction(kernel, basis, active, ct, bad, log_ct, diag, rhs, *, rtol, max_cg):
    """Solve the same system as :func:`_dense_direction` by preconditioned CG.

    The Hessian ``B^T B = A_S^T diag(p / c^2) A_S`` is applied exactly (two products with the
    full kernel per iteration); the preconditioner replaces ``A`` by ``(A V) V^T`` of
    :func:`row_basis` (plus the exact log-domain rows), which turns ``B^T B + diag`` into a
    diagonal plus a rank-``r`` term, inverted by the Woodbury identity in ``O(n_x r^2 + n_s r^2)``
    (an ``r x r`` eigendecomposition and Cholesky factorisation). Returns ``dq``, or ``None``
    when the system could not be solved to a relative residual ``_CG_ACCEPT`` (the caller then
    takes a dense step).
    """
    V, AV = basis
    w = _hessian_row_weights(kernel, ct, bad)
    if w is None:
        return None
    # H ~= V_S K V_S^T with K = M^T M, M = diag(sqrt w) A V; K = L L^T by an eigendecomposition
    M = np.sqrt(w)[:, None] * AV
    lam, E = np.linalg.eigh(dsyrk(1.0, M, trans=1, lower=1), UPLO="L")
    del M
    F = V[active] @ (E * np.sqrt(np.maximum(lam, 0.0)))
    if bad.size > max(V.shape[1], 64):
        return None
    Bb = kernel.bad_rows(active, log_ct, bad) if bad.size else None
    if Bb is not None:
        F = np.hstack([F, Bb.T])
    # Woodbury on the diagonally scaled system: (I + Ft Ft^T)^-1 = I - Ft (I + Ft^T Ft)^-1 Ft^T
    if not np.all(diag > 0):
        return None
    dis = 1.0 / np.sqrt(diag)
    F *= dis[:, None]
    C = dsyrk(1.0, F, trans=1, lower=0)
    C[np.diag_indices_from(C)] += 1.0
    try:
        cf = cho_factor(C, lower=False, overwrite_a=True, check_finite=False)
    except (LinAlgError, ValueError):
        return None

    def prec(b):
        bt = b * dis
        return (bt - F @ cho_solve(cf, F.T @ bt, check_finite=False)) * dis

    return _pcg(_hessian_op(kernel, active, w, diag, Bb), prec, rhs, rtol=rtol, max_cg=max_cg)


def _hessian_row_weights(kernel, ct, bad):
    """``p(x) / ct[x]^2`` on the rows outside the log domain (0 on ``bad`` rows and rows of
    zero mass), so that the Hessian is ``A_S^T diag(w) A_S`` plus the ``bad`` rows' terms;
    ``None`` when a weight is not finite."""
    good = kernel.pos.copy()
    good[bad] = False
    w = np.zeros(kernel.A.shape[0])
    w[good] = kernel.p[good] / ct[good] ** 2
    return w if np.all(np.isfinite(w)) else None


def _hessian_op(kernel, active, w, diag, Bb, *, single=False):
    """``v -> (B^T B + diag(diag)) v`` on the working set, by two products with the kernel.

    Both products are made block of rows by block of rows (``u_b = A_b v``, ``out += (w_b
    u_b)^T A_b``), each block small enough to be read from memory once and from cache the
    second time: the products are bound by memory traffic, which this halves. With ``single``
    they use the kernel's float32 copy (:meth:`GibbsKernel.single`), halving it again; the
    diagonal and the ``bad`` rows stay float64. Products in float32 carry a relative error of
    about 1e-7, so a system solved with them is solved to about that (the caller's tolerance
    must not be tighter).
    """
    A = kernel.single() if single else kernel.A
    nx, ny = A.shape
    full = np.zeros(ny, dtype=A.dtype)
    wt = w.astype(A.dtype)
    step = max(8, _OP_BLOCK_BYTES // (A.itemsize * max(ny, 1)))
    blocks = [slice(i, min(nx, i + step)) for i in range(0, nx, step)]

    def op(v):
        full[active] = v
        acc = np.zeros(ny, dtype=A.dtype)
        for rows in blocks:
            block = A[rows]
            u = block @ full
            u *= wt[rows]
            acc += u @ block
        out = acc[active].astype(np.float64) + diag * v
        if Bb is not None:
            out += Bb.T @ (Bb @ v)
        return out

    return op


def _pcg(op, prec, rhs, *, rtol, max_cg):
    """Preconditioned conjugate gradients for ``op(x) = rhs``; ``x``, or ``None`` when the
    relative residual did not reach ``_CG_ACCEPT``."""
    x = prec(rhs)
    bnorm = float(np.linalg.norm(rhs))
    r = rhs - op(x)
    rn = float(np.linalg.norm(r))
    z = prec(r)
    pdir = z
    rz = float(r @ z)
    for _ in range(max_cg):
        if rn <= rtol * bnorm:
            break
        Ap = op(pdir)
        pAp = float(pdir @ Ap)
        if not (pAp > 0 and np.isfinite(pAp)):
            break
        alpha = rz / pAp
        x = x + alpha * pdir
        r = r - alpha * Ap
        rn = float(np.linalg.norm(r))
        z = prec(r)
        rz_new = float(r @ z)
        pdir = z + (rz_new / rz) * pdir
        rz = rz_new
    if not rn <= _CG_ACCEPT * bnorm:
        return None
    return x


def _jacobi_direction(kernel, active, ct, bad, log_ct, diag, rhs, *, rtol, max_cg):
    """Solve the system of :func:`_dense_direction` by conjugate gradients preconditioned with
    its diagonal: ``O(n_x n_y)`` per iteration instead of the dense step's ``O(n_x n_s^2)``, for
    large working sets of a kernel without low numerical rank. ``None`` when CG does not solve
    it (the caller then takes a dense step)."""
    nx = kernel.A.shape[0]
    w = _hessian_row_weights(kernel, ct, bad)
    if w is None or bad.size > 64:
        return None
    Bb = kernel.bad_rows(active, log_ct, bad) if bad.size else None
    # the diagonal of A_S^T diag(w) A_S from the float32 kernel, by blocks of rows
    A = kernel.single()
    acc = np.zeros(A.shape[1], dtype=A.dtype)
    wt = w.astype(A.dtype)
    for rows in _row_chunks(nx, A.shape[1], _OP_BLOCK_BYTES // A.itemsize):
        block = A[rows]
        acc += wt[rows] @ (block * block)
    h = acc[active].astype(np.float64)
    if Bb is not None:
        h += (Bb * Bb).sum(axis=0)
    h += diag
    if not np.all(h > 0):
        return None
    inv = 1.0 / h
    op = _hessian_op(kernel, active, w, diag, Bb, single=True)
    return _pcg(op, lambda b: b * inv, rhs, rtol=max(rtol, _CG_RTOL_SINGLE), max_cg=max_cg)


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
    hessian: str = "auto",
):
    """Minimise ``F(q) = -sum_x p(x) ln sum_y q(y) e^{s d(x,y)}`` over the simplex.

    ``method="ba"`` iterates Blahut-Arimoto (``q <- q c``); ``method="newton"`` runs a few BA
    steps and then a primal-dual interior-point Newton method on the equivalent bound-constrained
    problem ``min_{q >= 0} -sum_x p(x) ln (A q)_x + sum_y q(y)`` (whose minimiser lies on the
    simplex), restricted to a working set that drops reproduction symbols whose mass has vanished
    and whose KKT multiplier is clearly positive. Both stop on the certified gap computed on the
    full alphabet. Returns ``(q, iterations, converged)``.

    ``hessian`` chooses the linear algebra of a Newton step: ``"dense"`` factors the working-set
    Hessian (``O(n_x n_s^2 + n_s^3)``); ``"lowrank"`` solves the same system by conjugate
    gradients with exact Hessian products, preconditioned by a low-rank factorisation of the
    kernel (:func:`row_basis`, once per slope), falling back to dense steps when the kernel is
    not of low numerical rank or conjugate gradients do not solve a step's system; ``"auto"``
    (default) is ``"lowrank"`` from ``LOWRANK_MIN_SIZE`` reproduction symbols on. The stopping
    rule is the same certificate. Each interior-point run starts with the dual slack
    ``_Z_OFFSET`` and, if it fails, is retried with the more conservative ``_Z_OFFSET_SAFE``.
    """
    if hessian not in _HESSIAN_MODES:
        raise ValueError(f"hessian must be one of {_HESSIAN_MODES}, got {hessian!r}")
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
    attempts.append((np.full(q.size, 1.0 / q.size), _COLD_BA_STEPS))
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
        # a small initial dual slack needs fewer Newton steps; the safer default as a retry
        for z_offset in dict.fromkeys((_Z_OFFSET, _Z_OFFSET_SAFE)):
            q_ip, it, gap = _interior_point(
                kernel,
                q,
                it,
                tol_nats=tol_nats,
                max_iter=max_iter,
                z_offset=z_offset,
                sigma=_SIGMA,
                hessian=hessian,
            )
            if gap <= tol_nats:
                return q_ip, it, True
            if gap < best_gap:
                best_gap, best_q = gap, q_ip
            if it >= max_iter:
                break
        if it >= max_iter:
            break
    # no success: finish with Blahut-Arimoto from the best point
    q, _, _, _, cy, gap = certificate(kernel, best_q)
    while gap > tol_nats and it < max_iter:
        it += 1
        q, _, _, _, cy, gap = certificate(kernel, q * cy)
    return q, it, gap <= tol_nats


def _interior_point(
    kernel, q, it, *, tol_nats, max_iter, z_offset, sigma, max_steps=40, hessian="auto"
):
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
    ny = kernel.A.shape[1]
    use_lr = hessian == "lowrank" or (hessian == "auto" and ny >= LOWRANK_MIN_SIZE)
    # a large kernel without a low-rank basis of at most a tenth of its columns: diagonally
    # preconditioned CG instead of dense steps (and the search for a basis stops early)
    large = hessian == "auto" and ny >= CG_MIN_SIZE
    basis = kernel.row_basis(max_rank=ny // 10 if large else None) if use_lr else None
    use_cg = hessian == "cg" or (large and basis is None)
    while it < max_iter and steps < max_steps:
        it += 1
        steps += 1
        qa = q[active]
        za = z[active]
        g = 1.0 - cy[active]
        mu = sigma * float(qa @ za) / max(active.size, 1)
        dq = None
        if basis is not None:
            dq = _lowrank_direction(
                kernel, basis, active, ct, bad, log_ct, za / qa, mu / qa - g, rtol=1e-10, max_cg=8
            )
            if dq is None or not np.all(np.isfinite(dq)):
                # conjugate gradients did not solve the Newton system: dense steps from here on
                basis = dq = None
        elif use_cg:
            dq = _jacobi_direction(
                kernel, active, ct, bad, log_ct, za / qa, mu / qa - g, rtol=1e-10,
                max_cg=_CG_MAX_ITER,
            )  # fmt: skip
            if dq is None or not np.all(np.isfinite(dq)):
                use_cg, dq = False, None  # dense steps from here on
        if dq is None:
            dq = _dense_direction(kernel, active, ct, log_ct, bad, za / qa, mu / qa - g)
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
