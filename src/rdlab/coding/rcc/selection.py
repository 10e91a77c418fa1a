r"""The search and the rebuild of reverse channel coding (Algorithms 2-3, Lei et al.).

:func:`rcc_select` finds, for each sample, the index
:math:`K = \arg\min_i d(x, Y_i) + \log_2 W_i / |\lambda|` among N candidates (eq. (30),
Proposition 1) and :func:`rcc_reconstruct` regenerates :math:`Y_K` from the shared randomness.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rdlab.coding.rcc.candidates import (
    DEFAULT_CHUNK_SIZE,
    candidate_generator,
    check_chunk_size,
    check_method,
    check_n_candidates,
    chunk_sizes,
    cumulative_weights,
)
from rdlab.coding.rcc.output import OutputDistribution
from rdlab.core.validation import as_float_array, check_int, check_real, check_seed


@dataclass(frozen=True)
class RCCSelection:
    """Output of :func:`rcc_select`.

    Attributes
    ----------
    indices : ndarray of int64, shape (n,)
        The selected K (1-based).
    reconstruction : ndarray, shape (n, *event_shape)
        :math:`Y_K`, bit-identical to what :func:`rcc_reconstruct` regenerates.
    distortion : ndarray, shape (n,)
        :math:`d(x_i, Y_{K_i})` (squared error summed over the event).
    """

    indices: np.ndarray
    reconstruction: np.ndarray
    distortion: np.ndarray


def check_slope(slope: object) -> float:
    """dR/dD in bits per unit distortion, < 0."""
    s = check_real("slope", slope)
    if s >= 0:
        raise ValueError(f"slope must be < 0 (dR/dD in bits per unit distortion), got {s}")
    return s


def check_samples(x: object, q: OutputDistribution) -> np.ndarray:
    """``x`` as a finite float64 batch ``(n, *q.event_shape)``."""
    xa = as_float_array("x", x)
    shape = tuple(q.event_shape)
    if xa.ndim != len(shape) + 1 or xa.shape[1:] != shape:
        raise ValueError(
            f"x must have shape (n, {', '.join(map(str, shape))}) to match Q_Y's event shape "
            f"{shape}, got {xa.shape}"
            if shape
            else f"x must have shape (n,) to match a scalar Q_Y, got {xa.shape}"
        )
    return xa


def check_workers(workers: object) -> int:
    """Threads, 1 to 256."""
    return check_int("workers", workers, minimum=1, maximum=256)


def run_samples(fn: Callable[[int], None], n: int, workers: int, progress: bool, desc: str) -> None:
    """Call ``fn(i)`` for every sample, in ``workers`` threads (numpy releases the GIL in the
    heavy parts); results do not depend on ``workers``."""
    from tqdm.auto import tqdm

    with tqdm(total=n, disable=not progress, desc=desc, unit="sample", leave=False) as bar:
        if workers == 1 or n < 2:
            for i in range(n):
                fn(i)
                bar.update(1)
            return
        from concurrent.futures import ThreadPoolExecutor

        def block(lo: int, hi: int) -> None:
            for i in range(lo, hi):
                fn(i)
                bar.update(1)

        edges = np.linspace(0, n, min(n, 8 * workers) + 1).astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            jobs = [pool.submit(block, int(a), int(b)) for a, b in itertools.pairwise(edges)]
            for job in jobs:
                job.result()


def rcc_select(
    x: object,
    q: OutputDistribution,
    *,
    slope: float,
    n_candidates: int,
    seed: int,
    method: str = "pfr",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    workers: int = 1,
) -> RCCSelection:
    r"""Algorithm 2's search: :math:`K = \arg\min_i d(x, Y_i) + \log_2 W_i / |\lambda|`.

    This is eq. (30), Lei et al. (Proposition 1) with :math:`\beta = \lambda \ln 2`; the weights
    follow eq. (28). Candidates are generated and scanned chunk by chunk.

    Parameters
    ----------
    x : array_like, shape (n, *event_shape)
        Samples to code (finite).
    q : OutputDistribution
        :math:`Q_Y`.
    slope : float
        :math:`\lambda` = dR/dD in bits per unit distortion, < 0.
    n_candidates : int
        N, 1 <= N <= :data:`MAX_N_CANDIDATES`.
    seed : int
        Shared seed, 0 <= seed < 2**64.
    method : {"pfr", "orc"}
    chunk_size : int
        Candidates per chunk (power of two).
    progress : bool
        Show a tqdm progress bar.
    workers : int
        Threads that code samples in parallel (the output does not depend on it).
    """
    xa = check_samples(x, q)
    sl = check_slope(slope)
    workers = check_workers(workers)
    n = check_n_candidates(n_candidates)
    seed = check_seed(seed)
    method = check_method(method)
    chunk_size = check_chunk_size(chunk_size)
    inv_abs_slope = 1.0 / abs(sl)
    sizes = chunk_sizes(n, chunk_size)
    n_samples = xa.shape[0]
    flat = xa.reshape(n_samples, -1)
    indices = np.empty(n_samples, dtype=np.int64)
    dist = np.empty(n_samples)
    recon = np.empty_like(xa)

    def select(i: int) -> None:
        best = (math.inf, 0, None, 0.0)
        w_prev = 0.0
        for c, size in enumerate(sizes):
            y = np.asarray(q.sample(candidate_generator(seed, i, c, 0), size), dtype=np.float64)
            if y.shape != (size, *xa.shape[1:]):
                raise ValueError(
                    f"Q_Y.sample returned shape {y.shape}, expected {(size, *xa.shape[1:])}"
                )
            yf = y.reshape(size, -1)
            diff = yf - flat[i]
            d = np.einsum("ij,ij->i", diff, diff)
            e = candidate_generator(seed, i, c, 1).standard_exponential(size)
            w = cumulative_weights(e, n, method, start=c * chunk_size, offset=w_prev)  # eq. (28)
            w_prev = float(w[-1])
            # eq. (30), Lei et al.: d - ln(W)/beta with beta = slope * ln 2 < 0 (nats)
            score = d + np.log2(w) * inv_abs_slope
            a = int(np.argmin(score))
            if score[a] < best[0]:
                best = (float(score[a]), c * chunk_size + a + 1, y[a], float(d[a]))
        indices[i] = best[1]
        recon[i] = best[2]
        dist[i] = best[3]

    run_samples(select, n_samples, workers, progress, "encode")
    return RCCSelection(indices=indices, reconstruction=recon, distortion=dist)


def rcc_reconstruct(
    q: OutputDistribution,
    indices: object,
    *,
    n_candidates: int,
    seed: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    workers: int = 1,
) -> np.ndarray:
    """Algorithm 3's output: :math:`Y_{K_i}` of sample i, regenerating one chunk per sample.

    Returns an array of shape ``(n, *event_shape)``; ``workers`` threads share the samples.
    """
    workers = check_workers(workers)
    n = check_n_candidates(n_candidates)
    seed = check_seed(seed)
    chunk_size = check_chunk_size(chunk_size)
    k = np.asarray(indices)
    if k.ndim != 1 or not np.issubdtype(k.dtype, np.integer):
        raise TypeError("indices must be a 1-D integer array")
    if k.size and (k.min() < 1 or k.max() > n):
        raise ValueError(f"indices must lie in [1, {n}]")
    sizes = chunk_sizes(n, chunk_size)
    out = np.empty((k.size, *q.event_shape))
    kl = k.tolist()

    def rebuild(i: int) -> None:
        c, r = divmod(kl[i] - 1, chunk_size)
        out[i] = q.sample(candidate_generator(seed, i, c, 0), sizes[c])[r]

    run_samples(rebuild, k.size, workers, progress, "decode")
    return out


__all__ = [
    "RCCSelection",
    "check_samples",
    "check_slope",
    "check_workers",
    "rcc_reconstruct",
    "rcc_select",
    "run_samples",
]
