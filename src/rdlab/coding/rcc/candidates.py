r"""Shared randomness of reverse channel coding: counter-based candidate streams and weights.

Candidate chunk c of sample i is drawn from ``Philox(key=(seed, i), counter=(0, 0, c, 0))`` and
its Exp(1) weights from stream 1 of the same key, so memory stays bounded for N up to
:data:`MAX_N_CANDIDATES` and the decoder regenerates only the chunk that holds :math:`Y_K`.
The weights follow eq. (28), Lei et al.
"""

from __future__ import annotations

import numpy as np

from rdlab.coding.index_coding import MAX_INDEX
from rdlab.coding.rcc.output import OutputDistribution
from rdlab.core.validation import as_float_array, check_int

METHODS = ("pfr", "orc")
"""PFR: Poisson functional representation truncated to N; ORC: ordered random coding."""

MAX_N_CANDIDATES = MAX_INDEX
"""Largest number of candidates N (2**24)."""

DEFAULT_CHUNK_SIZE = 1024
"""Candidates drawn per chunk (a power of two; recorded in the bitstream)."""

MAX_CHUNK_SIZE = 2**20
"""Largest chunk (the header stores log2 of the chunk size, at most 20)."""


def check_method(method: object) -> str:
    """``method`` if it is one of :data:`METHODS`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return str(method)


def check_chunk_size(chunk_size: object) -> int:
    """A power of two in ``[1, MAX_CHUNK_SIZE]``."""
    c = check_int("chunk_size", chunk_size, minimum=1, maximum=MAX_CHUNK_SIZE)
    if c & (c - 1):
        raise ValueError(f"chunk_size must be a power of two, got {c}")
    return c


def check_n_candidates(n_candidates: object) -> int:
    """N in ``[1, MAX_N_CANDIDATES]``."""
    return check_int("n_candidates", n_candidates, minimum=1, maximum=MAX_N_CANDIDATES)


def candidate_generator(
    seed: int, sample_index: int, chunk_index: int, stream: int = 0
) -> np.random.Generator:
    """The counter-based generator of one chunk: Philox(key=(seed, i), counter=(0,0,c,stream)).

    ``stream`` 0 draws the candidates, 1 the exponential weights; each chunk draws far fewer
    than 2**128 blocks, so chunks never overlap.
    """
    key = np.array([seed, sample_index], dtype=np.uint64)
    counter = np.array([0, 0, chunk_index, stream], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key, counter=counter))


def chunk_sizes(n_candidates: int, chunk_size: int) -> list[int]:
    """Sizes of the chunks that hold candidates 1..N: full chunks, then the rest."""
    full, rest = divmod(n_candidates, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def candidate_chunk(
    q: OutputDistribution,
    seed: int,
    sample_index: int,
    chunk_index: int,
    n_candidates: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> np.ndarray:
    """Candidates ``chunk_index * chunk_size + 1 ..`` of sample ``sample_index`` (1-based K)."""
    sizes = chunk_sizes(n_candidates, chunk_size)
    if not 0 <= chunk_index < len(sizes):
        raise ValueError(f"chunk_index must be in [0, {len(sizes) - 1}], got {chunk_index}")
    y = q.sample(candidate_generator(seed, sample_index, chunk_index, 0), sizes[chunk_index])
    return np.asarray(y, dtype=np.float64)


def cumulative_weights(
    exponentials: object,
    n_candidates: int,
    method: str,
    *,
    start: int = 0,
    offset: float = 0.0,
) -> np.ndarray:
    r"""The weights :math:`W_i` of eq. (28), Lei et al., for candidates ``start+1 ..``.

    PFR: :math:`W_i = \sum_{j \le i} E_j` (Poisson arrival times). ORC:
    :math:`W_i = \sum_{j \le i} \frac{N}{N - j + 1} E_j`, i.e. N times the i-th smallest of N
    i.i.d. Exp(1) variables (Rényi's representation). ``offset`` is :math:`W_{start}`, carried
    over from the previous chunk.

    Examples
    --------
    >>> cumulative_weights([1.0, 1.0, 1.0, 1.0], 4, "pfr").tolist()
    [1.0, 2.0, 3.0, 4.0]
    >>> np.round(cumulative_weights([1.0, 1.0, 1.0, 1.0], 4, "orc"), 4).tolist()
    [1.0, 2.3333, 4.3333, 8.3333]
    """
    e = as_float_array("exponentials", exponentials, ndim=1)
    n = check_n_candidates(n_candidates)
    method = check_method(method)
    start = check_int("start", start, minimum=0)
    if start + e.size > n:
        raise ValueError(f"start + len(exponentials) must be <= n_candidates ({n})")
    if method == "orc":
        j = start + np.arange(1, e.size + 1, dtype=np.float64)
        e = e * (n / (n - j + 1.0))
    return offset + np.cumsum(e)


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "MAX_N_CANDIDATES",
    "METHODS",
    "candidate_chunk",
    "candidate_generator",
    "check_chunk_size",
    "check_method",
    "check_n_candidates",
    "chunk_sizes",
    "cumulative_weights",
]
