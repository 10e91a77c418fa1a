r"""Ranking distortion, reciprocal rank, MRR and recall@k (vectorised numpy).

A retrieval system ranks the ``N`` documents of a corpus for a query; one of them is relevant.
With :math:`\operatorname{rank}_\pi(Y) \in \{1, \dots, N\}` the position of the relevant document
``Y`` in the permutation :math:`\pi`, the reciprocal rank is :math:`RR = 1/\operatorname{rank}` and
the ranking distortion of Chen, "Rate-Distortion Limits for Multimodal Retrieval", eq. (1), is

.. math:: d((X, Y), \pi) = 1 - RR(\pi; Y) \in [0, 1 - 1/N],

so that :math:`\mathbb{E}[d] = 1 - \mathrm{MRR}`.

Every function accepts either 1-based ``ranks`` or a matrix of ``scores`` (higher is better)
together with the index of the relevant document of each query. Ties between the relevant
document and others are resolved by ``ties``:

- ``"pessimistic"`` (default): the relevant document is placed after every document with an
  equal score, so a constant scorer gets rank ``N`` rather than a perfect score;
- ``"optimistic"``: it is placed before them;
- ``"expected"``: the exact expectation over a uniformly random order of the tied documents.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import digamma

from rdlab.core.validation import as_float_array, check_int

TIES = ("pessimistic", "optimistic", "expected")
"""Tie rules accepted by the functions of this module."""


def _check_ties(ties: object, *, allow_expected: bool = True) -> str:
    allowed = TIES if allow_expected else TIES[:2]
    if not isinstance(ties, str) or ties not in allowed:
        raise ValueError(f"ties must be one of {', '.join(map(repr, allowed))}, got {ties!r}")
    return ties


def _check_ranks(ranks: object) -> np.ndarray:
    arr = as_float_array("ranks", ranks)
    if np.any(arr < 1) or np.any(arr != np.round(arr)):
        raise ValueError(f"ranks must be integers >= 1 (1 = top), got min {arr.min()}")
    return arr


def _greater_and_tied(scores: object, relevant: object) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per query: how many documents score strictly higher than, and how many tie with, ``Y``.

    Returns ``(greater, tied_others, scalar)``; ``scalar`` says the input was a single query.
    """
    s = as_float_array("scores", scores)
    if s.ndim not in (1, 2):
        raise ValueError(f"scores must have shape (n_docs,) or (n_queries, n_docs), got {s.shape}")
    scalar = s.ndim == 1
    s2 = s[None, :] if scalar else s
    n_queries, n_docs = s2.shape
    if relevant is None:
        raise ValueError("relevant must be given with scores (index of the relevant document)")
    rel = np.asarray(relevant)
    if rel.dtype == bool or not (
        np.issubdtype(rel.dtype, np.integer) or isinstance(relevant, numbers.Integral)
    ):
        raise TypeError(f"relevant must hold integer document indices, got dtype {rel.dtype}")
    rel = np.atleast_1d(rel).astype(np.int64)
    if rel.ndim != 1 or rel.shape[0] != n_queries:
        raise ValueError(
            f"relevant must hold one index per query ({n_queries}), got shape {np.shape(relevant)}"
        )
    if np.any(rel < 0) or np.any(rel >= n_docs):
        raise ValueError(
            f"relevant indices must be in [0, {n_docs - 1}], got min {rel.min()}, max {rel.max()}"
        )
    target = s2[np.arange(n_queries), rel][:, None]
    greater = np.sum(s2 > target, axis=1)
    tied = np.sum(s2 == target, axis=1) - 1
    return greater.astype(np.int64), tied.astype(np.int64), scalar


def _squeeze(values: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(values[0]) if scalar else values


def ranks_from_scores(scores: object, relevant: object, *, ties: str = "pessimistic") -> object:
    r"""1-based rank of the relevant document under each query's scores (higher score = better).

    Parameters
    ----------
    scores : array_like, shape (n_docs,) or (n_queries, n_docs)
        Finite scores of the documents; a 1-D array is one query.
    relevant : int or array_like of int, shape (n_queries,)
        Index of the relevant document of each query, in ``[0, n_docs)``.
    ties : {"pessimistic", "optimistic"}
        Where the relevant document goes among documents with an equal score (module docstring).
        ``"expected"`` is not a rank and is refused here.

    Returns
    -------
    int or ndarray of int64, shape (n_queries,)
        ``1 + #{k : s_k > s_Y}`` (optimistic) or ``#{k : s_k >= s_Y}`` (pessimistic).

    Examples
    --------
    >>> ranks_from_scores([0.1, 0.9, 0.5], 2)
    2
    >>> ranks_from_scores([[1.0, 1.0, 0.0]], [1], ties="optimistic").tolist()
    [1]
    """
    rule = _check_ties(ties, allow_expected=False)
    greater, tied, scalar = _greater_and_tied(scores, relevant)
    ranks = greater + 1 + (tied if rule == "pessimistic" else 0)
    return int(ranks[0]) if scalar else ranks


def reciprocal_rank(
    ranks: object = None,
    *,
    scores: object = None,
    relevant: object = None,
    ties: str = "pessimistic",
) -> float | np.ndarray:
    r"""Reciprocal rank :math:`RR = 1/\operatorname{rank}` of the relevant document (Chen, eq. (1)).

    Give either ``ranks`` or ``scores`` with ``relevant``.

    Parameters
    ----------
    ranks : array_like of int, optional
        1-based ranks (1 = top), any shape.
    scores : array_like, shape (n_docs,) or (n_queries, n_docs), optional
        Document scores, higher is better (see :func:`ranks_from_scores`).
    relevant : int or array_like of int, optional
        Index of the relevant document of each query; required with ``scores``.
    ties : {"pessimistic", "optimistic", "expected"}
        Tie rule for ``scores``. ``"expected"`` returns
        :math:`\mathbb{E}[1/(g + U)] = (H_{g+t+1} - H_g)/(t+1)` with ``g`` documents scoring higher,
        ``t`` others tied and ``U`` uniform on ``{1, ..., t+1}`` (``H_n`` harmonic numbers).

    Returns
    -------
    float or ndarray
        Values in ``(0, 1]``; a float for a scalar rank or a single query.

    Examples
    --------
    >>> reciprocal_rank([1, 2, 4]).tolist()
    [1.0, 0.5, 0.25]
    >>> reciprocal_rank(scores=[1.0, 1.0], relevant=0, ties="expected")
    0.75
    """
    if (ranks is None) == (scores is None):
        raise ValueError("give exactly one of ranks or scores (with relevant)")
    if ranks is not None:
        if relevant is not None:
            raise ValueError("relevant is only used with scores, not with ranks")
        r = _check_ranks(ranks)
        rr = 1.0 / r
        return float(rr) if rr.ndim == 0 else rr
    rule = _check_ties(ties)
    greater, tied, scalar = _greater_and_tied(scores, relevant)
    if rule == "optimistic":
        rr = 1.0 / (greater + 1.0)
    elif rule == "pessimistic":
        rr = 1.0 / (greater + tied + 1.0)
    else:
        g = greater.astype(np.float64)
        t = tied.astype(np.float64)
        # H_{g+t+1} - H_g = psi(g+t+2) - psi(g+1); exact 1/(g+1) when nothing ties.
        rr = np.where(
            tied == 0, 1.0 / (g + 1.0), (digamma(g + t + 2.0) - digamma(g + 1.0)) / (t + 1.0)
        )
    return _squeeze(rr, scalar)


def ranking_distortion(
    ranks: object = None,
    *,
    scores: object = None,
    relevant: object = None,
    ties: str = "pessimistic",
) -> float | np.ndarray:
    r"""Ranking distortion :math:`d = 1 - RR` of each query (Chen, eq. (1)).

    Same arguments as :func:`reciprocal_rank`; values lie in ``[0, 1)``.

    Examples
    --------
    >>> ranking_distortion([1, 2, 4]).tolist()
    [0.0, 0.5, 0.75]
    """
    rr = reciprocal_rank(ranks, scores=scores, relevant=relevant, ties=ties)
    out = 1.0 - rr
    return float(out) if np.ndim(out) == 0 else out


def mean_reciprocal_rank(
    ranks: object = None,
    *,
    scores: object = None,
    relevant: object = None,
    ties: str = "pessimistic",
) -> float:
    r"""Mean reciprocal rank :math:`\mathrm{MRR} = \frac1Q\sum_q 1/\operatorname{rank}_q`.

    Same arguments as :func:`reciprocal_rank`; the mean expected distortion is ``1 - MRR``.

    Examples
    --------
    >>> mean_reciprocal_rank([1, 2, 4])
    0.5833333333333334
    """
    rr = reciprocal_rank(ranks, scores=scores, relevant=relevant, ties=ties)
    return float(np.mean(rr))


def recall_at_k(
    k: int,
    ranks: object = None,
    *,
    scores: object = None,
    relevant: object = None,
    ties: str = "pessimistic",
) -> float:
    r"""Recall@k with one relevant document per query: the fraction of queries with rank <= k.

    Parameters
    ----------
    k : int
        Cut-off, ``k >= 1``.
    ranks, scores, relevant, ties
        As in :func:`reciprocal_rank`. With ``ties="expected"`` each query contributes
        :math:`P(g + U \le k) = \mathrm{clip}((k - g)/(t + 1), 0, 1)`.

    Examples
    --------
    >>> recall_at_k(2, [1, 2, 4, 3])
    0.5
    """
    kk = check_int("k", k, minimum=1)
    if (ranks is None) == (scores is None):
        raise ValueError("give exactly one of ranks or scores (with relevant)")
    if ranks is not None:
        if relevant is not None:
            raise ValueError("relevant is only used with scores, not with ranks")
        return float(np.mean(_check_ranks(ranks) <= kk))
    rule = _check_ties(ties)
    greater, tied, _ = _greater_and_tied(scores, relevant)
    if rule == "optimistic":
        hit = (greater + 1 <= kk).astype(np.float64)
    elif rule == "pessimistic":
        hit = (greater + tied + 1 <= kk).astype(np.float64)
    else:
        hit = np.clip((kk - greater) / (tied + 1.0), 0.0, 1.0)
    return float(np.mean(hit))


def random_ranking_mrr(n_docs: int) -> float:
    r"""Expected reciprocal rank of a uniformly random permutation: :math:`H_N / N`.

    ``1 - H_N/N`` is the distortion a decoder reaches with no information about the query (rate
    0), the "1 - MRR_Rand" of Chen, Sec. 3.

    Parameters
    ----------
    n_docs : int
        Corpus size ``N >= 1``.

    Examples
    --------
    >>> round(random_ranking_mrr(4), 12)
    0.520833333333
    """
    n = check_int("n_docs", n_docs, minimum=1)
    if n <= 1_000_000:
        return float(np.sum(1.0 / np.arange(1, n + 1, dtype=np.float64)) / n)
    return float((digamma(n + 1.0) + np.euler_gamma) / n)
