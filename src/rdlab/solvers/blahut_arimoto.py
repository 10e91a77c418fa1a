r"""Blahut-Arimoto for finite alphabets, with certified bounds and a second-order solver.

For a source pmf :math:`p(x)` and a distortion matrix :math:`d(x, y)` the rate-distortion
function is

.. math:: R(D) = \min_{W:\ \mathbb E[d(X,Y)] \le D} I(X; Y).

At a slope :math:`s = dR/dD \le 0` (bits per unit of distortion; :math:`s' = s \ln 2` nats) the
point of the curve is found from the output marginal :math:`q` that minimises the convex function

.. math:: F(q) = -\sum_x p(x) \ln \sum_y q(y) e^{s' d(x, y)}

over the simplex; the channel is :math:`W(y|x) = q(y) e^{s' d(x,y)} / c(x)` with
:math:`c(x) = \sum_y q(y) e^{s' d(x,y)}` (eq. (3)-(4), Lei et al.; seed 002 writes
:math:`\beta = -s' > 0`). Blahut-Arimoto iterates :math:`q(y) \leftarrow q(y) c_y` with
:math:`c_y = \sum_x p(x) e^{s' d(x,y)} / c(x)`; the default ``method="newton"`` runs a few such
steps and then a primal-dual interior-point Newton method on the same convex problem. From 256
reproduction symbols on, its Newton systems are solved by conjugate gradients preconditioned
with a low-rank factorisation of the kernel :math:`e^{s' d}` (computed once per slope), when
the kernel has a small numerical rank, as for a discretised continuous source with a smooth
distortion; otherwise the dense Hessian is factored at every step.

Every result is certified: with :math:`D_s` the distortion of the returned channel,

.. math::

   s' D_s - \sum_x p(x) \ln c(x) - \ln \max_y c_y \;\le\; R(D_s) \;\le\; I(W)

(Blahut 1972), both bounds computed on the full alphabets; solvers stop when the gap, in bits,
is at most ``tol_bits``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rdlab.core.distortion import Distortion, distortion_matrix
from rdlab.core.information import LN2
from rdlab.core.results import RDCurve, RDSolution
from rdlab.core.validation import (
    as_float_array,
    check_distortion_matrix,
    check_int,
    check_nonpositive,
    check_pmf,
    check_positive,
    check_real,
)
from rdlab.solvers._kernel import (
    GibbsKernel,
    blas_threads,
    bounds_nats,
    certificate,
    check_memory,
    solve_output_marginal,
)

__all__ = [
    "blahut_arimoto",
    "blahut_arimoto_at_distortion",
    "blahut_arimoto_empirical",
    "distortion_range",
    "empirical_rate_distortion_curve",
    "rate_distortion_curve",
    "rate_distortion_solutions",
]

_METHODS = ("newton", "ba")
DEFAULT_MAX_ITER = 20_000


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def _validate(
    source_pmf: object, distortion_matrix_: object, max_memory_bytes: int | None
) -> tuple[np.ndarray, np.ndarray]:
    p = check_pmf("source_pmf", source_pmf)
    shape = np.shape(distortion_matrix_)
    if len(shape) != 2:
        raise ValueError(f"distortion_matrix must have 2 dimensions, got shape {shape}")
    if shape[0] != p.size:
        raise ValueError(
            f"distortion_matrix must have one row per source symbol ({p.size}), got shape {shape}"
        )
    if shape[1] == 0:
        raise ValueError("distortion_matrix must have at least one column")
    # estimate before touching (or copying) the matrix
    check_memory(shape[0], shape[1], max_memory_bytes)
    d = check_distortion_matrix("distortion_matrix", distortion_matrix_, n_source=p.size)
    return p, d


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return method


def _check_init(init_output_pmf: object, n_y: int) -> np.ndarray:
    if init_output_pmf is None:
        return np.full(n_y, 1.0 / n_y)
    q = check_pmf("init_output_pmf", init_output_pmf)
    if q.size != n_y:
        raise ValueError(
            f"init_output_pmf must have one entry per reproduction symbol ({n_y}), got {q.size}"
        )
    # keep every symbol reachable: a zero in the start would be a zero forever for BA
    q = q + 1e-9 * q.max() / n_y
    return q / q.sum()


def distortion_range(source_pmf: object, distortion_matrix: object) -> tuple[float, float]:
    r"""The distortions where :math:`R(D)` is finite and positive.

    Returns
    -------
    d_min : float
        :math:`D_{\min} = \sum_x p(x) \min_y d(x, y)`; below it no channel exists.
    d_max : float
        :math:`D_{\max} = \min_y \sum_x p(x) d(x, y)`; at and above it :math:`R(D) = 0`.

    Examples
    --------
    >>> distortion_range([0.8, 0.2], [[0, 1], [1, 0]])
    (0.0, 0.2)
    """
    p = check_pmf("source_pmf", source_pmf)
    d = check_distortion_matrix("distortion_matrix", distortion_matrix, n_source=p.size)
    return _drange(p, d)


def _drange(p: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    d_min = float(p @ d.min(axis=1))
    d_max = float((p @ d).min())
    return d_min, max(d_max, d_min)


def _zero_rate_solution(p: np.ndarray, d: np.ndarray, slope: float, keep_channel: bool):
    expected = p @ d
    y_star = int(np.argmin(expected))
    ny = d.shape[1]
    q = np.zeros(ny)
    q[y_star] = 1.0
    if keep_channel:
        channel = np.zeros(d.shape)
        channel[:, y_star] = 1.0
    else:
        channel = np.empty((0, 0))
    return RDSolution(
        rate_bits=0.0,
        distortion=float(expected[y_star]),
        slope=float(slope),
        channel=channel,
        output_pmf=q,
        rate_lower_bits=0.0,
        rate_upper_bits=0.0,
        gap_bits=0.0,
        iterations=0,
        converged=True,
    )


# ---------------------------------------------------------------------------------------------
# one slope
# ---------------------------------------------------------------------------------------------
def _solve_slope(
    p: np.ndarray,
    d: np.ndarray,
    slope: float,
    q0: np.ndarray,
    *,
    tol_bits: float,
    max_iter: int,
    method: str,
    keep_channel: bool = True,
    warm: bool = False,
):
    """Solve at one slope; returns (RDSolution, extra) with extra the pieces the callers reuse."""
    if slope == 0.0:
        return _zero_rate_solution(p, d, 0.0, keep_channel), None
    with blas_threads():
        return _solve_slope_nonzero(
            p,
            d,
            slope,
            q0,
            tol_bits=tol_bits,
            max_iter=max_iter,
            method=method,
            keep_channel=keep_channel,
            warm=warm,
        )


def _solve_slope_nonzero(p, d, slope, q0, *, tol_bits, max_iter, method, keep_channel, warm):
    kernel = GibbsKernel(p, d, slope * LN2)
    q, iters, converged = solve_output_marginal(
        kernel, q0, tol_nats=tol_bits * LN2, max_iter=max_iter, method=method, warm=warm
    )
    q, ct, log_ct, bad, cy, _ = certificate(kernel, q)
    D, upper, lower, base = bounds_nats(kernel, q, ct, log_ct, bad, cy)
    # lower bound line of Blahut: valid at every D; evaluate it at the target when one is given
    line_offset = base - kernel.s * D - math.log(float(cy.max()))  # = lower - s' D
    upper_b = max(upper / LN2, 0.0)
    lower_b = max(lower / LN2, 0.0)
    lower_b = min(lower_b, upper_b)
    # the kernel is not needed any more: the channel overwrites it instead of a new n_x x n_y array
    channel = kernel.channel(q, ct, log_ct, bad, out=kernel.A) if keep_channel else np.empty((0, 0))
    out_pmf = (q * cy) if keep_channel else q
    out_pmf = out_pmf / out_pmf.sum()
    sol = RDSolution(
        rate_bits=upper_b,
        distortion=D,
        slope=float(slope),
        channel=channel,
        output_pmf=out_pmf,
        rate_lower_bits=lower_b,
        rate_upper_bits=upper_b,
        gap_bits=upper_b - lower_b,
        iterations=iters,
        converged=bool(converged) and (upper_b - lower_b) <= tol_bits,
    )
    extra = {"q": q, "line_offset": line_offset, "s_nats": kernel.s}
    del kernel
    return sol, extra


def blahut_arimoto(
    source_pmf: object,
    distortion_matrix: object,
    slope: float,
    *,
    tol_bits: float = 1e-6,
    max_iter: int = DEFAULT_MAX_ITER,
    init_output_pmf: object | None = None,
    method: str = "newton",
    max_memory_bytes: int | None = None,
) -> RDSolution:
    r"""The point of the rate-distortion curve with slope ``slope``, with certified bounds.

    Solves (eq. (3)-(4), Lei et al., with :math:`\beta = -s \ln 2`)

    .. math::

       \min_{q \in \Delta_Y} -\sum_x p(x) \ln \sum_y q(y)\, e^{s \ln 2\, d(x, y)},

    and returns the induced channel :math:`W(y|x) \propto q(y) e^{s \ln 2\, d(x,y)}`, its rate
    :math:`I(X;Y)` in bits and its distortion :math:`D_s`.

    Parameters
    ----------
    source_pmf : array_like, shape (n_x,)
        Source probabilities :math:`p(x)`; must sum to 1 within 1e-9.
    distortion_matrix : array_like, shape (n_x, n_y)
        Finite, non-negative :math:`d(x, y)`.
    slope : float
        :math:`dR/dD` in bits per unit of distortion, ``<= 0``. ``0`` gives the zero-rate point
        :math:`(D_{\max}, 0)`.
    tol_bits : float
        Stop when ``rate_upper_bits - rate_lower_bits <= tol_bits`` (default 1e-6 bit).
    max_iter : int
        Iteration cap (Blahut-Arimoto steps plus Newton steps).
    init_output_pmf : array_like, shape (n_y,), optional
        Start for the output marginal (e.g. from a neighbouring slope); uniform by default.
    method : {"newton", "ba"}
        ``"newton"`` (default): a few Blahut-Arimoto steps, then a primal-dual interior-point
        Newton method on the same convex problem. ``"ba"``: plain Blahut-Arimoto.
    max_memory_bytes : int, optional
        Memory budget for the size check; the available memory by default.

    Returns
    -------
    RDSolution
        ``rate_bits`` (= ``rate_upper_bits``, the mutual information of ``channel``),
        ``distortion`` :math:`D_s`, ``channel`` (n_x, n_y), ``output_pmf`` (n_y,),
        ``rate_lower_bits`` (Blahut's lower bound on :math:`R(D_s)`), ``gap_bits``,
        ``iterations``, ``converged``.

    Raises
    ------
    ValueError
        ``slope > 0``, non-finite input, a pmf not summing to 1, or mismatched shapes.
    MemoryError
        When the working memory (estimated before allocating) exceeds the budget.

    Examples
    --------
    Bernoulli(0.2) with Hamming distortion: :math:`R(D) = h(0.2) - h(D)` and the slope at
    :math:`D` is :math:`\log_2(D / (1 - D))`.

    >>> import numpy as np
    >>> from rdlab.core import binary_entropy
    >>> D = 0.05
    >>> sol = blahut_arimoto([0.8, 0.2], [[0, 1], [1, 0]], np.log2(D / (1 - D)))
    >>> round(sol.distortion, 6)
    0.05
    >>> abs(sol.rate_bits - (binary_entropy(0.2) - binary_entropy(D))) < 1e-6
    True
    >>> sol.rate_lower_bits <= binary_entropy(0.2) - binary_entropy(D) <= sol.rate_upper_bits
    True
    """
    s = check_nonpositive("slope", slope)
    tol = check_positive("tol_bits", tol_bits)
    n_iter = check_int("max_iter", max_iter, minimum=1)
    _check_method(method)
    p, d = _validate(source_pmf, distortion_matrix, max_memory_bytes)
    q0 = _check_init(init_output_pmf, d.shape[1])
    sol, _ = _solve_slope(
        p,
        d,
        s,
        q0,
        tol_bits=tol,
        max_iter=n_iter,
        method=method,
        warm=init_output_pmf is not None,
    )
    return sol


# ---------------------------------------------------------------------------------------------
# at a target distortion
# ---------------------------------------------------------------------------------------------
def _solve_at_distortion(
    p, d, target, q0, *, tol_bits, max_iter, method, keep_channel, warm=False, slope_guess=None
):
    d_min, d_max = _drange(p, d)
    if target >= d_max:
        return _zero_rate_solution(p, d, 0.0, keep_channel)
    # tight inner solves: D_s of a solve with a gap g is only accurate to about sqrt(g)
    inner_tol = 0.01 * tol_bits
    cache: dict[float, tuple] = {}
    state = {"q": q0, "warm": warm}

    def evaluate(u: float):
        if u not in cache:
            sol, extra = _solve_slope(
                p,
                d,
                -math.exp(u),
                state["q"],
                tol_bits=inner_tol,
                max_iter=max_iter,
                method=method,
                keep_channel=False,
                warm=state["warm"],
            )
            if extra is not None and sol.converged:
                state["q"] = extra["q"] + 1e-12 / extra["q"].size
                state["q"] /= state["q"].sum()
                state["warm"] = True
            cache[u] = (sol, extra)
        return cache[u]

    def certified(sol, extra):
        # bracket at the target: the upper bound I(W) of any evaluated channel with
        # D_s <= target, and the largest of Blahut's lower-bound lines of all evaluated slopes
        # (each line is valid at every D), evaluated at the target itself
        lowers = [
            (e["s_nats"] * target + e["line_offset"]) / LN2
            for _, e in cache.values()
            if e is not None
        ]
        lower = max([0.0, *lowers])
        best = min(
            (v for v in cache.values() if v[0].distortion <= target),
            key=lambda v: v[0].rate_upper_bits,
        )
        upper = best[0].rate_upper_bits
        return best, upper, min(lower, upper)

    def g(sol) -> float:
        # ln(D - D_min) is close to linear in u = ln(-slope) for many sources
        return math.log(max(sol.distortion - d_min, 1e-300)) - math.log(target - d_min)

    # u = ln(-slope); D decreases as u grows. Aim a little below the target so that the root
    # lands on the certified side (D_s <= target).
    if slope_guess is not None and slope_guess < 0:
        u = math.log(-slope_guess)
    else:
        u = math.log(1.0 / (2.0 * LN2 * (target - d_min)))
    lo = hi = None  # lo: D_s <= target (larger u); hi: D_s > target
    pts: list[tuple[float, float]] = []
    for _ in range(100):
        sol, extra = evaluate(u)
        val = g(sol)
        pts.append((u, val))
        if sol.distortion <= target:
            lo = u
            (bsol, bextra), upper, lower = certified(sol, extra)
            if upper - lower <= tol_bits:
                return _finish(p, d, bsol, bextra, upper, lower, cache, keep_channel, tol_bits)
        else:
            hi = u
        if lo is not None and hi is not None:
            break
        # secant through the last two points, else a step of 1
        if len(pts) >= 2 and pts[-1][1] != pts[-2][1]:
            (u1, g1), (u2, g2) = pts[-2], pts[-1]
            u_new = u2 - g2 * (u2 - u1) / (g2 - g1)
            step = max(min(u_new - u, 3.0), -3.0)
            u = u + (step if abs(step) > 1e-9 else (1.0 if val > 0 else -1.0))
        else:
            u = u + (1.0 if val > 0 else -1.0)
    if lo is None or hi is None:
        raise RuntimeError("could not bracket the slope for the target distortion")
    # safeguarded secant (Illinois) on g(u) between the brackets
    f_lo = g(evaluate(lo)[0])
    f_hi = g(evaluate(hi)[0])
    side = 0
    for _ in range(100):
        sol_lo, extra_lo = evaluate(lo)
        (bsol, bextra), upper, lower = certified(sol_lo, extra_lo)
        if upper - lower <= tol_bits or abs(hi - lo) < 1e-14 * max(1.0, abs(lo)):
            return _finish(p, d, bsol, bextra, upper, lower, cache, keep_channel, tol_bits)
        u = lo - f_lo * (hi - lo) / (f_hi - f_lo) if f_hi != f_lo else 0.5 * (lo + hi)
        # nudge towards the certified side
        u += 1e-3 * (lo - u) if side != -1 else 0.0
        if not (min(lo, hi) < u < max(lo, hi)):
            u = 0.5 * (lo + hi)
        sol, _ = evaluate(u)
        f = g(sol)
        if sol.distortion <= target:
            lo, f_lo = u, f
            if side == -1:
                f_hi *= 0.5
            side = -1
        else:
            hi, f_hi = u, f
            if side == 1:
                f_lo *= 0.5
            side = 1
    sol_lo, extra_lo = evaluate(lo)
    (bsol, bextra), upper, lower = certified(sol_lo, extra_lo)
    return _finish(p, d, bsol, bextra, upper, lower, cache, keep_channel, tol_bits)


def _finish(p, d, sol, extra, upper, lower, cache, keep_channel, tol_bits) -> RDSolution:
    total_iter = sum(v[0].iterations for v in cache.values())
    channel = np.empty((0, 0))
    out_pmf = sol.output_pmf
    if keep_channel:
        kernel = GibbsKernel(p, d, extra["s_nats"])
        q, ct, log_ct, bad, cy, _ = certificate(kernel, extra["q"])
        channel = kernel.channel(q, ct, log_ct, bad, out=kernel.A)  # overwrites the kernel
        out_pmf = q * cy
        out_pmf = out_pmf / out_pmf.sum()
    gap = upper - lower
    return RDSolution(
        rate_bits=upper,
        distortion=sol.distortion,
        slope=sol.slope,
        channel=channel,
        output_pmf=out_pmf,
        rate_lower_bits=lower,
        rate_upper_bits=upper,
        gap_bits=gap,
        iterations=total_iter,
        converged=gap <= tol_bits,
    )


def blahut_arimoto_at_distortion(
    source_pmf: object,
    distortion_matrix: object,
    target_distortion: float,
    *,
    tol_bits: float = 1e-6,
    max_iter: int = DEFAULT_MAX_ITER,
    init_output_pmf: object | None = None,
    method: str = "newton",
    max_memory_bytes: int | None = None,
) -> RDSolution:
    r"""The rate-distortion function at a given distortion, with a certified bracket.

    Searches the slope :math:`s` (``D(s)`` is non-decreasing in :math:`s`) by regula falsi on
    :math:`\ln(-s)`, each step a warm-started :func:`blahut_arimoto` solve, and stops on the side
    where the achieved distortion :math:`D_s \le D` once the bracket

    .. math::

       s' D - \sum_x p(x) \ln c(x) - \ln\max_y c_y \;\le\; R(D) \;\le\; I(W) \;(\ge R(D_s) \ge R(D))

    is at most ``tol_bits`` wide (Blahut's lower bound line evaluated at the target itself).

    Parameters
    ----------
    source_pmf : array_like, shape (n_x,)
    distortion_matrix : array_like, shape (n_x, n_y)
    target_distortion : float
        :math:`D`. Must satisfy :math:`D > D_{\min}` (see :func:`distortion_range`); for
        :math:`D \ge D_{\max}` the result is the zero-rate point (rate 0, distortion
        :math:`D_{\max}`, slope 0).
    tol_bits, max_iter, init_output_pmf, method, max_memory_bytes
        As in :func:`blahut_arimoto`.

    Returns
    -------
    RDSolution
        ``distortion`` is the achieved :math:`D_s \le D` (within the tolerance of ``D``);
        ``rate_lower_bits``/``rate_upper_bits`` bracket :math:`R(D)` at the target.

    Raises
    ------
    ValueError
        :math:`D \le D_{\min}` (no finite-slope point reaches it), non-finite input, bad pmf or
        shapes.

    Examples
    --------
    >>> from rdlab.core import binary_entropy
    >>> sol = blahut_arimoto_at_distortion([0.8, 0.2], [[0, 1], [1, 0]], 0.1)
    >>> abs(sol.rate_bits - (binary_entropy(0.2) - binary_entropy(0.1))) < 1e-6
    True
    """
    target = check_real("target_distortion", target_distortion)
    tol = check_positive("tol_bits", tol_bits)
    n_iter = check_int("max_iter", max_iter, minimum=1)
    _check_method(method)
    p, d = _validate(source_pmf, distortion_matrix, max_memory_bytes)
    d_min, _ = _drange(p, d)
    if target <= d_min:
        raise ValueError(
            f"target_distortion must be > D_min = {d_min!r} (the smallest achievable expected "
            f"distortion, sum_x p(x) min_y d(x, y)); got {target!r}"
        )
    q0 = _check_init(init_output_pmf, d.shape[1])
    return _solve_at_distortion(
        p, d, target, q0, tol_bits=tol, max_iter=n_iter, method=method, keep_channel=True
    )


# ---------------------------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------------------------
def _default_slopes(p, d, n_points, *, tol_bits, max_iter, method) -> np.ndarray:
    d_min, d_max = _drange(p, d)
    if d_max <= d_min:
        return np.zeros(1)
    span = d_max - d_min
    q0 = np.full(d.shape[1], 1.0 / d.shape[1])
    ends = []
    for frac in (0.98, 0.02):
        sol = _solve_at_distortion(
            p,
            d,
            d_min + frac * span,
            q0,
            tol_bits=max(tol_bits, 1e-4),
            max_iter=max_iter,
            method=method,
            keep_channel=False,
        )
        ends.append(-sol.slope)
        q0 = sol.output_pmf
    a, b = ends
    if n_points == 1:
        return np.array([-math.sqrt(a * b)])
    return -np.geomspace(a, b, n_points)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        pass


def _progress_bar(total: int, progress: bool):
    if not progress:  # tqdm.auto takes ~0.1 s to import; skip it when nothing is shown
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="rdlab R(D) sweep", delay=1.0, leave=False)


def rate_distortion_solutions(
    source_pmf: object,
    distortion_matrix: object,
    slopes: Sequence[float] | np.ndarray | None = None,
    *,
    n_points: int = 30,
    tol_bits: float = 1e-6,
    max_iter: int = DEFAULT_MAX_ITER,
    method: str = "newton",
    progress: bool = True,
    keep_channels: bool = True,
    max_memory_bytes: int | None = None,
) -> list[RDSolution]:
    r"""Solutions along a warm-started slope sweep (see :func:`rate_distortion_curve`).

    Returns a list of :class:`RDSolution`, ordered by increasing distortion (steepest slope
    first). With ``keep_channels=False`` the ``channel`` of each solution is an empty (0, 0)
    array, which keeps memory at one channel for large alphabets.
    """
    tol = check_positive("tol_bits", tol_bits)
    n_iter = check_int("max_iter", max_iter, minimum=1)
    _check_method(method)
    p, d = _validate(source_pmf, distortion_matrix, max_memory_bytes)
    if slopes is None:
        n = check_int("n_points", n_points, minimum=1)
        s_arr = _default_slopes(p, d, n, tol_bits=tol, max_iter=n_iter, method=method)
    else:
        s_arr = as_float_array("slopes", slopes, ndim=1)
        if np.any(s_arr > 0):
            raise ValueError(
                f"slopes must all be <= 0 (bits per unit of distortion), got max {s_arr.max()}"
            )
    # sweep from shallow (low rate, small support) to steep, warm-starting each solve
    order = np.argsort(-s_arr, kind="stable")
    q = np.full(d.shape[1], 1.0 / d.shape[1])
    out: list[RDSolution | None] = [None] * s_arr.size
    warm_next = False
    with _progress_bar(s_arr.size, progress) as bar:
        for i in order:
            sol, extra = _solve_slope(
                p,
                d,
                float(s_arr[i]),
                q,
                tol_bits=tol,
                max_iter=n_iter,
                method=method,
                keep_channel=keep_channels,
                warm=bool(warm_next),
            )
            if extra is not None:
                # keep every symbol reachable for the next, steeper slope
                q = extra["q"] + 1e-12 / d.shape[1]
                q = q / q.sum()
                warm_next = True
            out[i] = sol
            bar.update(1)
    sols = [s for s in out if s is not None]
    sols.sort(key=lambda s: (s.distortion, s.slope))
    return sols


def rate_distortion_curve(
    source_pmf: object,
    distortion_matrix: object,
    slopes: Sequence[float] | np.ndarray | None = None,
    *,
    n_points: int = 30,
    tol_bits: float = 1e-6,
    max_iter: int = DEFAULT_MAX_ITER,
    method: str = "newton",
    progress: bool = True,
    label: str = "blahut-arimoto",
    max_memory_bytes: int | None = None,
) -> RDCurve:
    r"""The rate-distortion curve by a warm-started sweep of slopes.

    Each point is a certified :func:`blahut_arimoto` solve started from the previous point's
    output marginal. A progress bar (tqdm) appears when the sweep lasts more than about 1 s.

    Parameters
    ----------
    source_pmf : array_like, shape (n_x,)
    distortion_matrix : array_like, shape (n_x, n_y)
    slopes : array_like of float, optional
        Slopes :math:`dR/dD` in bits per unit of distortion (all ``<= 0``). By default
        ``n_points`` slopes log-spaced between those at :math:`D_{\min} + 0.02\,(D_{\max} -
        D_{\min})` and :math:`D_{\min} + 0.98\,(D_{\max} - D_{\min})`.
    n_points : int
        Number of default slopes.
    tol_bits, max_iter, method, max_memory_bytes
        As in :func:`blahut_arimoto`.
    progress : bool
        Show the progress bar (only after 1 s).
    label : str
        Label of the returned curve.

    Returns
    -------
    RDCurve
        Points ordered by increasing distortion, each with ``slope``, the certified bounds and
        ``gap_bits``. For the channels use :func:`rate_distortion_solutions`.

    Examples
    --------
    >>> curve = rate_distortion_curve([0.8, 0.2], [[0, 1], [1, 0]], n_points=5, progress=False)
    >>> len(curve), bool(np.all(np.diff(curve.rate_bits) <= 0))
    (5, True)
    """
    sols = rate_distortion_solutions(
        source_pmf,
        distortion_matrix,
        slopes,
        n_points=n_points,
        tol_bits=tol_bits,
        max_iter=max_iter,
        method=method,
        progress=progress,
        keep_channels=False,
        max_memory_bytes=max_memory_bytes,
    )
    return RDCurve(
        points=tuple(s.point for s in sols),
        label=label,
        meta={"method": method, "tol_bits": float(tol_bits)},
    )


# ---------------------------------------------------------------------------------------------
# empirical baseline (seed 002, Sec. I.A / Fig. 1)
# ---------------------------------------------------------------------------------------------
def blahut_arimoto_empirical(
    samples: object,
    *,
    reproduction: object | None = None,
    slope: float | None = None,
    target_distortion: float | None = None,
    distortion: Distortion | str = "squared_error",
    tol_bits: float = 1e-6,
    max_iter: int = DEFAULT_MAX_ITER,
    method: str = "newton",
    max_memory_bytes: int | None = None,
) -> RDSolution:
    r"""Blahut-Arimoto on the empirical distribution of samples (the baseline of seed 002, Fig. 1).

    The source is :math:`\hat P_n = \frac1n \sum_i \delta_{X_i}` with duplicate samples merged;
    its alphabet is ``np.unique(samples, axis=0)`` (sorted), and the reproduction alphabet is that
    support unless ``reproduction`` is given. Such a curve reaches zero distortion at rate
    :math:`H(\hat P_n) \le \log_2 n` -- it describes the empirical source, not the true one.

    Parameters
    ----------
    samples : array_like, shape (n,) or (n, m)
    reproduction : array_like, shape (n_y,) or (n_y, m), optional
        Reproduction grid; the sample support by default.
    slope, target_distortion : float
        Exactly one: the slope (bits per unit of distortion, ``<= 0``) or the target distortion.
    distortion : callable or str
        As in :func:`rdlab.core.distortion.distortion_matrix`.
    tol_bits, max_iter, method, max_memory_bytes
        As in :func:`blahut_arimoto`.

    Returns
    -------
    RDSolution
        Rows of ``channel`` follow the sorted unique samples; columns follow ``reproduction``
        (or the sorted unique samples).

    Examples
    --------
    >>> sol = blahut_arimoto_empirical([0.0, 0.0, 1.0, 1.0], slope=-100.0)
    >>> round(sol.rate_bits, 6), round(sol.distortion, 6)
    (1.0, 0.0)
    """
    if (slope is None) == (target_distortion is None):
        raise ValueError("give exactly one of slope and target_distortion")
    x = as_float_array("samples", samples)
    if x.ndim > 2:
        raise ValueError(f"samples must have shape (n,) or (n, m), got {x.shape}")
    support, counts = np.unique(x, axis=0, return_counts=True)
    pmf = counts / counts.sum()
    ys = support if reproduction is None else reproduction
    if reproduction is not None:
        r = as_float_array("reproduction", reproduction)
        if r.ndim != support.ndim or (r.ndim == 2 and r.shape[1] != support.shape[1]):
            raise ValueError(
                f"reproduction must have symbols of the same shape as the samples; got "
                f"{r.shape} for samples of shape {x.shape}"
            )
    check_memory(support.shape[0], np.shape(ys)[0], max_memory_bytes)
    d = distortion_matrix(support, ys, distortion)
    if slope is not None:
        return blahut_arimoto(
            pmf,
            d,
            slope,
            tol_bits=tol_bits,
            max_iter=max_iter,
            method=method,
            max_memory_bytes=max_memory_bytes,
        )
    return blahut_arimoto_at_distortion(
        pmf,
        d,
        target_distortion,
        tol_bits=tol_bits,
        max_iter=max_iter,
        method=method,
        max_memory_bytes=max_memory_bytes,
    )


COLUMNS_FROM = 2000
"""From this many distinct samples on, :func:`empirical_rate_distortion_curve` solves by column
generation (:mod:`rdlab.solvers._columns`) instead of on the dense ``n x n`` kernel."""


def empirical_rate_distortion_curve(
    samples: object,
    *,
    n_points: int = 20,
    slopes: Sequence[float] | np.ndarray | None = None,
    distortion: Distortion | str = "squared_error",
    tol_bits: float = 1e-4,
    max_iter: int = DEFAULT_MAX_ITER,
    progress: bool = False,
    max_memory_bytes: int | None = None,
    threads: int | None = 1,
) -> RDCurve:
    r"""The certified R(D) curve of the empirical law of samples, reproduced by their support.

    The source is :math:`\hat P_n` (duplicates merged) and the reproduction alphabet its
    support, as in seed 002, Fig. 1: the curve reaches :math:`D = 0` at :math:`H(\hat P_n) \le
    \log_2 n` bits and :math:`R = 0` at the best single sample,
    :math:`\min_j \frac1n \sum_i d(x_i, x_j)`. It describes the empirical source, not the law
    the samples came from (a finite-sample baseline, not a bound on that law's R(D)).

    Up to :data:`COLUMNS_FROM` distinct samples the dense solver runs on the ``n x n`` kernel;
    beyond, column generation (:mod:`rdlab.solvers._columns`): the problem restricted to the
    reproduction symbols that carry mass, grown by those whose KKT condition a chunked pass over
    all n symbols finds violated, until Blahut's gap over all n symbols is at most ``tol_bits``
    -- certified as the dense solve is, in memory ``n x |support|`` plus the distortion matrix
    (kept whole only when it takes at most half of ``max_memory_bytes`` or of the available
    memory, else recomputed chunk by chunk).

    Parameters
    ----------
    samples : array_like, shape (n, ...)
        Rows are samples (flattened per row).
    n_points, tol_bits, max_iter, progress, max_memory_bytes
        As in :func:`rate_distortion_curve`; every point is certified to ``tol_bits``.
    slopes : array_like of float, optional
        Slopes dR/dD <= 0 in bits per unit of distortion (the official code's
        :math:`\beta` in nats is ``-slope * ln 2``). Required from :data:`COLUMNS_FROM`
        distinct samples on; else ``n_points`` default slopes.
    distortion : callable or str
        As in :func:`rdlab.core.distortion.distortion_matrix`.
    threads : int or None
        BLAS threads of the column-generation solver (None: as configured).

    Returns
    -------
    RDCurve
        The Blahut-Arimoto points; ``meta`` holds ``n``, ``n_distinct``, ``entropy_bits``
        (the rate at D = 0), ``d_max`` (the distortion at rate 0) and, for column generation,
        ``support_sizes`` (reproduction symbols in the final restricted set at each point).

    References
    ----------
    R. Blahut, "Computation of channel capacity and rate-distortion functions", IEEE Trans.
    IT-18, 1972 (the bounds); E. Lei, H. Hassani, S. Saeedi Bidokhti, seed 002, Fig. 1 and its
    official ``Blahut_Arimoto/BA_mnist.py`` (n = 10^4, no certificate).

    Examples
    --------
    >>> c = empirical_rate_distortion_curve([[0.0], [0.0], [1.0], [1.0]], n_points=3)
    >>> c.meta["entropy_bits"], c.meta["d_max"]
    (1.0, 0.5)
    """
    x = as_float_array("samples", samples)
    if x.ndim == 0 or x.shape[0] < 2:
        raise ValueError(f"samples must hold at least 2 rows, got shape {x.shape}")
    if threads is not None:
        threads = check_int("threads", threads, minimum=1, maximum=1024)
    flat = x.reshape(x.shape[0], -1)
    support, counts = np.unique(flat, axis=0, return_counts=True)
    pmf = counts / counts.sum()
    entropy = float(-(pmf * np.log2(pmf)).sum())
    meta = {"n": int(x.shape[0]), "n_distinct": int(support.shape[0]), "entropy_bits": entropy}
    label = "Blahut-Arimoto on the empirical law"
    if support.shape[0] >= COLUMNS_FROM:
        return _empirical_by_columns(
            support, pmf, slopes, distortion, tol_bits=tol_bits, max_iter=max_iter,
            progress=progress, max_memory_bytes=max_memory_bytes, threads=threads, meta=meta,
        )  # fmt: skip
    check_memory(support.shape[0], support.shape[0], max_memory_bytes)
    d = distortion_matrix(support, support, distortion)
    meta["d_max"] = float((pmf @ d).min())
    if support.shape[0] == 1:
        return RDCurve((), label=label, meta=meta)
    curve = rate_distortion_curve(
        pmf,
        d,
        slopes,
        n_points=n_points,
        tol_bits=tol_bits,
        max_iter=max_iter,
        progress=progress,
        label=label,
        max_memory_bytes=max_memory_bytes,
    )
    return RDCurve(curve.points, label=curve.label, meta={**curve.meta, **meta})


def _empirical_by_columns(
    support, pmf, slopes, distortion, *, tol_bits, max_iter, progress, max_memory_bytes,
    threads, meta,
) -> RDCurve:  # fmt: skip
    """:func:`empirical_rate_distortion_curve` by column generation (see there)."""
    from rdlab.solvers._columns import Columns, expected_distortion, solve_by_columns
    from rdlab.solvers._kernel import available_memory_bytes

    tol = check_positive("tol_bits", tol_bits)
    n_iter = check_int("max_iter", max_iter, minimum=1)
    if slopes is None:
        raise ValueError(
            f"slopes are required from {COLUMNS_FROM} distinct samples on (got "
            f"{support.shape[0]}): pass the slopes dR/dD in bits per unit of distortion"
        )
    s_arr = as_float_array("slopes", slopes, ndim=1)
    if np.any(s_arr > 0):
        raise ValueError(
            f"slopes must all be <= 0 (bits per unit of distortion), got max {s_arr.max()}"
        )
    n = support.shape[0]
    budget = available_memory_bytes() if max_memory_bytes is None else int(max_memory_bytes)
    cache = (budget or 0) // 2
    with blas_threads(threads):
        columns = Columns(
            lambda cols: distortion_matrix(support, support[cols], distortion), n, n,
            cache_bytes=cache,
        )  # fmt: skip
        zero_rate = expected_distortion(pmf, columns)
        best = int(np.argmin(zero_rate))
        meta = {
            **meta,
            "d_max": float(zero_rate[best]),
            "distortion_cached": columns.full is not None,
        }
        S, q = np.array([best]), np.ones(1)
        points, sizes = [], []
        order = np.argsort(-s_arr, kind="stable")  # shallow (small support) to steep
        with _progress_bar(s_arr.size, progress) as bar:
            for i in order:
                slope = float(s_arr[i])
                if slope == 0.0:
                    points.append((i, RDSolution(0.0, meta["d_max"], 0.0, np.empty((0, 0)),
                                                 np.eye(1, n, best).ravel(), 0.0, 0.0, 0.0, 0,
                                                 True).point))  # fmt: skip
                    bar.update(1)
                    continue
                S, q, D, upper, lower, cy, iters, ok = solve_by_columns(
                    pmf, columns, slope * LN2, S, q, tol_nats=tol * LN2, max_iter=n_iter,
                    max_memory_bytes=max_memory_bytes,
                )  # fmt: skip
                upper_b = max(upper / LN2, 0.0)
                lower_b = min(max(lower / LN2, 0.0), upper_b)
                out = np.zeros(n)
                out[S] = q * cy
                sol = RDSolution(
                    rate_bits=upper_b,
                    distortion=float(D),
                    slope=slope,
                    channel=np.empty((0, 0)),
                    output_pmf=out / out.sum(),
                    rate_lower_bits=lower_b,
                    rate_upper_bits=upper_b,
                    gap_bits=upper_b - lower_b,
                    iterations=int(iters),
                    converged=bool(ok) and upper_b - lower_b <= tol,
                )
                points.append((i, sol.point))
                sizes.append((i, int(S.size)))
                keep = q > 0
                S, q = S[keep], q[keep] + 1e-12
                bar.update(1)
    pts = sorted((pt for _, pt in points), key=lambda pt: (pt.distortion, pt.slope))
    meta["support_sizes"] = [size for _, size in sorted(sizes)]
    return RDCurve(
        tuple(pts),
        label="Blahut-Arimoto on the empirical law",
        meta={"method": "newton, column generation", "tol_bits": float(tol), **meta},
    )
