r"""Rate-distortion bounds and calculators for multimodal retrieval.

Reference: T. Y. Chen, "Rate-Distortion Limits for Multimodal Retrieval: Theory, Optimal Codes,
and Finite-Sample Guarantees" (cited below as "Chen"). Rates are in bits, entropies ``H_m`` in
bits, the distortion is the ranking distortion :math:`d = 1 - RR` of :mod:`rdlab.core.ranking`.

Setting: a corpus of ``N`` documents, the relevant document ``Y`` uniform on the corpus, a query
``X = (X_1, ..., X_M)`` with ``M`` modalities, an encoder ``C = f(X)`` and a decoder that ranks
the corpus from ``C``. Since ``Y - X - C`` is a Markov chain, :math:`I(X;C) \ge I(Y;C)`.

Corrections to the paper (the functions below implement the corrected forms):

- **Ranking Fano bound, eq. (5).** As printed, :math:`\log N - h(D) - (1-D)\log(N-1)` is 0 at
  ``D = 1/N`` and *increases* to :math:`\log N` at ``D = 1``; it substitutes ``1 - D`` for the
  error probability. A miss has reciprocal rank at most 1/2, so :math:`\mathbb{E}[d] \ge P_e/2`,
  i.e. the top-1 error is :math:`P_e \le 2D` (eq. (4) must read :math:`p_S \ge 1 - 2D`; the
  printed :math:`p_S \le 2(1-D)(N-1)/(N-3)` exceeds 1 and is undefined at N = 3). Fano then
  gives :func:`ranking_fano_bound`.
- **Eq. (6).** With :math:`I_{cross}` summed over ordered pairs :math:`m \ne m'`, the printed
  :math:`\varrho = I_{cross}/\sum_m H_m` lies in ``[0, M-1]``, so ``κ`` can be negative for
  ``M >= 3`` (three copies of one variable: ``ϱ = 2``, ``κ = -1/2``). :func:`redundancy_ratio`
  divides by ``(M-1) Σ H_m``: ``ϱ ∈ [0, 1]``, equal to the printed value for ``M = 2``, 1 exactly
  for fully redundant balanced modalities, and ``κ ∈ [0, 1/(M-1)]``.
- **Theorem 4.1** is not a valid lower bound in general; see :func:`skew_converse_bound`.
- **Sec. 5.1.** :math:`R_m = \lceil \hat H_m R / \sum_j \hat H_j \rceil` can sum to ``R + M - 1``,
  so :math:`\sum_m R_m \le R` fails; :func:`allocate_bits` uses largest remainders.
- **Eq. (10)** gives :math:`\tau^\star_m \propto \hat H_m^{-1/2}`, not ":math:`\propto
  \Delta\hat H_m`"; it lowers the temperature of high-entropy modalities, whereas the schedule
  of Sec. 6 (:func:`temperature_schedule`) raises it. They are two different rules.
- **Eq. (11)** lost its sign in conversion: the last term is :math:`+3\sqrt{\log(2/\delta)/(2n)}`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from rdlab.core.information import binary_entropy
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import (
    as_float_array,
    check_in_range,
    check_int,
    check_positive,
)

_TOL = 1e-9


# --------------------------------------------------------------------------- ranking Fano bound


def _check_distortion(distortion: object) -> np.ndarray:
    d = as_float_array("distortion", distortion)
    if np.any(d < 0) or np.any(d > 1):
        raise ValueError(f"distortion must be in [0, 1], got min {d.min()}, max {d.max()}")
    return d


def _fano_phi(p: np.ndarray | float, n_docs: int) -> np.ndarray | float:
    """Fano's :math:`h(p) + p \\log_2(N-1)` (bits), increasing on [0, 1 - 1/N]."""
    return binary_entropy(p) + p * math.log2(n_docs - 1)


def ranking_fano_dmax(n_docs: int) -> float:
    r"""Distortion from which the ranking Fano bound is 0: :math:`D = (1 - 1/N)/2`.

    Parameters
    ----------
    n_docs : int
        Corpus size ``N >= 2``.

    Examples
    --------
    >>> ranking_fano_dmax(4)
    0.375
    """
    n = check_int("n_docs", n_docs, minimum=2)
    return 0.5 * (1.0 - 1.0 / n)


def ranking_fano_bound(distortion: object, n_docs: int) -> float | np.ndarray:
    r"""Ranking Fano lower bound on R(D) in bits, the corrected eq. (5), Chen.

    .. math::
        R(D) \ge \log_2 N - h(p) - p \log_2(N - 1), \qquad p = \min(2D,\, 1 - 1/N),

    for the ranking distortion :math:`d = 1 - RR` and the relevant document uniform on a corpus
    of ``N``. Derivation: a miss (rank >= 2) has :math:`d \ge 1/2`, so the top-1 error is
    :math:`P_e \le 2\,\mathbb{E}[d] \le 2D`; Fano gives :math:`H(Y|C) \le h(P_e) + P_e\log_2(N-1)`,
    which increases in :math:`P_e` up to :math:`1 - 1/N`; and :math:`I(X;C) \ge I(Y;C)`.

    The bound is non-increasing and convex in ``D``, equals :math:`\log_2 N` at ``D = 0`` and 0
    from :func:`ranking_fano_dmax` on. Its slope is
    :math:`-2\log_2\frac{(1-p)(N-1)}{p}` bits per unit distortion (:func:`ranking_fano_slope`).

    Parameters
    ----------
    distortion : float or array_like
        Expected ranking distortion ``D = 1 - MRR``, in [0, 1].
    n_docs : int
        Corpus size ``N >= 2``.

    Returns
    -------
    float or ndarray
        Bits, same shape as ``distortion``.

    Examples
    --------
    >>> ranking_fano_bound(0.0, 1024)
    10.0
    >>> round(ranking_fano_bound(0.05, 2), 6)  # 1 - h(0.1)
    0.531004
    >>> ranking_fano_bound(0.4, 4)
    0.0
    """
    n = check_int("n_docs", n_docs, minimum=2)
    d = _check_distortion(distortion)
    p = np.minimum(2.0 * d, 1.0 - 1.0 / n)
    r = np.maximum(math.log2(n) - _fano_phi(p, n), 0.0)  # eq. (5), corrected
    r = np.where(2.0 * d >= 1.0 - 1.0 / n, 0.0, r)
    return float(r) if r.ndim == 0 else r


def ranking_fano_slope(distortion: object, n_docs: int) -> float | np.ndarray:
    r"""Slope dR/dD of :func:`ranking_fano_bound`, in bits per unit distortion (<= 0).

    :math:`-2\log_2\frac{(1-p)(N-1)}{p}` with ``p = 2D`` below :func:`ranking_fano_dmax`, 0 from
    there on (the bound is continuously differentiable there) and ``-inf`` at ``D = 0``.

    Examples
    --------
    >>> round(ranking_fano_slope(0.125, 4), 9)  # p = 1/4: -2 log2(3 * 3)
    -6.339850003
    """
    n = check_int("n_docs", n_docs, minimum=2)
    d = _check_distortion(distortion)
    p = 2.0 * d
    inside = (p > 0) & (p < 1.0 - 1.0 / n)
    ps = np.where(inside, p, 0.5)
    # in logs: (1 - p)(N - 1)/p overflows for subnormal p
    s = np.where(inside, -2.0 * (np.log2(1.0 - ps) + math.log2(n - 1) - np.log2(ps)), 0.0)
    s = np.where(p == 0, -np.inf, s)
    return float(s) if s.ndim == 0 else s


def ranking_fano_min_distortion(rate_bits: float, n_docs: int) -> float:
    r"""Smallest distortion the ranking Fano bound allows at a rate: the inverse of eq. (5).

    Returns the ``D`` with ``ranking_fano_bound(D, N) = R`` (0 when :math:`R \ge \log_2 N`), so
    every code of rate ``R`` bits has :math:`\mathbb{E}[d] \ge D` and :math:`\mathrm{MRR} \le 1 - D`.
    This is the "theoretical curve" :math:`1 - R_{bal}^{-1}(R)` of Chen, Sec. 7.1, as an MRR bound.

    Parameters
    ----------
    rate_bits : float
        Rate in bits, >= 0.
    n_docs : int
        Corpus size ``N >= 2``.

    Examples
    --------
    >>> round(ranking_fano_min_distortion(1 - 0.4689955935892812, 2), 9)  # 1 - h(0.1)
    0.05
    >>> ranking_fano_min_distortion(0.0, 4)
    0.375
    """
    n = check_int("n_docs", n_docs, minimum=2)
    r = check_in_range("rate_bits", rate_bits, 0.0, math.inf)
    target = math.log2(n) - r
    if target <= 0:
        return 0.0
    p_max = 1.0 - 1.0 / n
    if target >= _fano_phi(p_max, n):
        return 0.5 * p_max
    p = brentq(lambda q: _fano_phi(q, n) - target, 0.0, p_max, xtol=1e-15, rtol=1e-15)
    return 0.5 * float(p)


def ranking_fano_curve(n_docs: int, *, n_points: int = 101, max_distortion: float = 1.0) -> RDCurve:
    r"""The corrected ranking Fano bound (eq. (5), Chen) as a curve of lower bounds on R(D).

    Parameters
    ----------
    n_docs : int
        Corpus size ``N >= 2``.
    n_points : int
        Number of evenly spaced distortions in ``[0, max_distortion]`` (>= 2); the distortion
        where the bound reaches 0 (:func:`ranking_fano_dmax`) is added when it lies in range.
    max_distortion : float
        Right end of the grid, in (0, 1].

    Returns
    -------
    RDCurve
        Points with ``rate_bits`` (= ``rate_lower_bits``, a certified lower bound), ``distortion``
        and ``slope`` (bits per unit distortion; left out at ``D = 0`` where it is ``-inf``);
        ``method = "ranking-fano"``.

    Examples
    --------
    >>> c = ranking_fano_curve(1024, n_points=3, max_distortion=0.5)
    >>> [round(p.rate_bits, 4) for p in c]
    [10.0, 4.0007, 0.0, 0.0]
    """
    n = check_int("n_docs", n_docs, minimum=2)
    k = check_int("n_points", n_points, minimum=2)
    dmax = check_in_range("max_distortion", max_distortion, 0.0, 1.0, low_open=True)
    zero_at = ranking_fano_dmax(n)
    grid = np.linspace(0.0, dmax, k)
    if zero_at <= dmax:
        grid = np.unique(np.append(grid, zero_at))
    rates = np.asarray(ranking_fano_bound(grid, n))
    slopes = np.asarray(ranking_fano_slope(grid, n))
    points = tuple(
        RDPoint(
            rate_bits=float(r),
            distortion=float(d),
            slope=float(s) if math.isfinite(s) else None,
            rate_lower_bits=float(r),
            method="ranking-fano",
        )
        for d, r, s in zip(grid, rates, slopes, strict=True)
    )
    return RDCurve(
        points=points,
        label=f"ranking Fano bound, N={n}",
        meta={
            "n_docs": n,
            "zero_from_distortion": zero_at,
            "rate_at_zero_distortion_bits": math.log2(n),
        },
    )


# ------------------------------------------------------------------ modality entropies and skew


def _check_entropies(entropies: object, *, positive: bool = False) -> np.ndarray:
    h = np.atleast_1d(as_float_array("entropies", entropies))
    if h.ndim != 1:
        raise ValueError(
            f"entropies must be a scalar or a 1-D array (one per modality), got {h.shape}"
        )
    if positive and np.any(h <= 0):
        raise ValueError(f"entropies must be > 0 (bits), got min {h.min()}")
    if np.any(h < 0):
        raise ValueError(f"entropies must be >= 0 (bits), got min {h.min()}")
    return h


def entropy_imbalance(entropies: object) -> float:
    r"""Entropy imbalance :math:`\Delta H = \sum_m |H_m - \bar H|`, :math:`\bar H = \frac1M\sum_m H_m` (Chen, Sec. 4.2).

    Parameters
    ----------
    entropies : array_like, shape (M,)
        Marginal entropies ``H_m`` of the modalities, in bits, >= 0.

    Examples
    --------
    >>> entropy_imbalance([1.0, 3.0])
    2.0
    """
    h = _check_entropies(entropies)
    return float(np.sum(np.abs(h - h.mean())))


def cross_information_total(entropies: object, cross_information: object) -> float:
    r"""Total cross-modal redundancy :math:`I_{cross} = \sum_{m \ne m'} I(X_m; X_{m'})` in bits.

    The sum runs over *ordered* pairs (each unordered pair counts twice), as written in Chen,
    Sec. 2.

    Parameters
    ----------
    entropies : array_like, shape (M,)
        Marginal entropies in bits.
    cross_information : float or array_like, shape (M, M)
        Either the total :math:`I_{cross}` itself (bits, >= 0), or the symmetric matrix of pairwise
        mutual informations :math:`I(X_m; X_{m'})` (diagonal ignored), each at most
        :math:`\min(H_m, H_{m'})`.

    Examples
    --------
    >>> cross_information_total([1.0, 1.0], [[1.0, 0.5], [0.5, 1.0]])
    1.0
    """
    h = _check_entropies(entropies)
    m = h.shape[0]
    c = as_float_array("cross_information", cross_information)
    if c.ndim == 0:
        total = float(c)
    elif c.shape == (m, m):
        if not np.allclose(c, c.T, rtol=0.0, atol=_TOL):
            raise ValueError("cross_information matrix must be symmetric")
        off = c[~np.eye(m, dtype=bool)]
        if np.any(off < 0):
            raise ValueError(f"cross_information entries must be >= 0 (bits), got min {off.min()}")
        cap = np.minimum(h[:, None], h[None, :])
        if np.any((c - cap)[~np.eye(m, dtype=bool)] > _TOL):
            raise ValueError("cross_information[m, m'] must be <= min(H_m, H_m') (bits)")
        total = float(off.sum())
    else:
        raise ValueError(
            f"cross_information must be a scalar total or an ({m}, {m}) matrix, got shape {c.shape}"
        )
    if total < 0:
        raise ValueError(f"cross_information must be >= 0 (bits), got {total}")
    bound = (m - 1) * float(h.sum())
    if total > bound + _TOL * max(1.0, bound):
        raise ValueError(
            f"cross_information total must be in [0, (M-1) * sum(H)] = [0, {bound:g}] bits, got {total:g}"
        )
    return total


def redundancy_ratio(entropies: object, cross_information: object) -> float:
    r"""Cross-modal redundancy ratio :math:`\varrho = I_{cross} / ((M-1)\sum_m H_m) \in [0, 1]`.

    Corrected normalisation of Chen, Sec. 4.2 (which divides by :math:`\sum_m H_m` only and so
    ranges over ``[0, M-1]``); the two agree for ``M = 2``. ``ϱ = 0`` for ``M = 1`` and when all
    entropies are 0.

    Parameters
    ----------
    entropies, cross_information
        As in :func:`cross_information_total`.

    Examples
    --------
    >>> redundancy_ratio([2.0, 2.0, 2.0], 12.0)  # three copies of one 2-bit variable
    1.0
    """
    h = _check_entropies(entropies)
    total = cross_information_total(h, cross_information)
    m = h.shape[0]
    denom = (m - 1) * float(h.sum())
    if m == 1 or denom == 0.0:
        return 0.0
    return float(min(1.0, total / denom))


def modality_skew(entropies: object, cross_information: object) -> float:
    r"""Modality-skew coefficient :math:`\kappa = (1 - \varrho)/(M - 1)`, eq. (6), Chen.

    ``ϱ`` is :func:`redundancy_ratio` (normalised so that ``ϱ ∈ [0, 1]``), hence
    :math:`\kappa \in [0, 1/(M-1)]`: ``1/(M-1)`` for pairwise independent modalities, 0 for fully
    redundant ones. For ``M = 1`` we set ``κ = 0``, as the unimodal corollary (Sec. 4.4) states.

    Parameters
    ----------
    entropies, cross_information
        As in :func:`cross_information_total`.

    Examples
    --------
    >>> modality_skew([1.0, 3.0], 0.0)
    1.0
    >>> modality_skew([2.0], 0.0)
    0.0
    """
    h = _check_entropies(entropies)
    m = h.shape[0]
    rho = redundancy_ratio(h, cross_information)
    if m == 1:
        return 0.0
    return (1.0 - rho) / (m - 1)  # eq. (6)


def skew_converse_bound(
    distortion: object, n_docs: int, entropies: object, cross_information: object
) -> float | np.ndarray:
    r"""The rate :math:`R_{bal}(D) + \kappa\Delta H` of Theorem 4.1 (eq. (7)), Chen, in bits.

    :math:`R_{bal}` is the ranking Fano bound of the balanced source; it depends on the source
    only through the law of the relevant document, which balancing leaves unchanged, so
    :math:`R_{bal}(D)` = :func:`ranking_fano_bound`. ``κ`` is :func:`modality_skew`, ``ΔH`` is
    :func:`entropy_imbalance`.

    .. warning::
       This is the *printed* Theorem 4.1, and it is **not a valid lower bound** on R(D) in
       general. Adding a modality that the encoder ignores (independent of everything) leaves
       R(D) unchanged but makes ``κΔH > 0``. Example: ``X_1`` a fair bit, ``X_2 = Y`` uniform on
       ``N = 4`` documents; sending ``C = X_2`` costs :math:`I(X;C) = 2` bits and gives ``D = 0``,
       while the theorem claims at least ``2 + 1·1 = 3`` bits. The valid converse is
       :func:`ranking_fano_bound`. The function is kept to reproduce the paper's curves.

    Parameters
    ----------
    distortion : float or array_like
        Expected ranking distortion in [0, 1].
    n_docs : int
        Corpus size ``N >= 2``.
    entropies, cross_information
        As in :func:`cross_information_total`.

    Examples
    --------
    >>> skew_converse_bound(0.0, 4, [1.0, 2.0], 0.0)
    3.0
    """
    n = check_int("n_docs", n_docs, minimum=2)
    h = _check_entropies(entropies)
    kappa = modality_skew(h, cross_information)
    penalty = kappa * entropy_imbalance(h)
    r = np.asarray(ranking_fano_bound(distortion, n)) + penalty  # eq. (7)
    return float(r) if r.ndim == 0 else r


# ---------------------------------------------------------------- achievability-side calculators


def allocate_bits(entropies: object, total_bits: int) -> np.ndarray:
    r"""Entropy-weighted integer bit allocation :math:`R_m` with :math:`\sum_m R_m = R` (Sec. 5.1, Chen).

    The paper's :math:`R_m = \lceil \hat H_m R / \sum_j \hat H_j \rceil` can exceed the budget by
    up to ``M - 1`` bits (``H = (1, 1, 1)``, ``R = 4`` gives ``(2, 2, 2)``). Rule used here: start
    from those ceilings and, while the sum exceeds ``R``, remove one bit from the modality whose
    ceiling overshoots its share :math:`\hat H_m R / \sum_j \hat H_j` the most (ties: the lower
    entropy, then the higher index, loses the bit). This is the largest-remainder (Hamilton)
    apportionment: every :math:`R_m` is the floor or the ceiling of its share, and the sum is
    exactly ``R``.

    Parameters
    ----------
    entropies : array_like, shape (M,)
        Empirical entropies :math:`\hat H_m` in bits, >= 0, not all 0.
    total_bits : int
        Code length ``R`` in bits, >= 0.

    Returns
    -------
    ndarray of int64, shape (M,)

    Examples
    --------
    >>> allocate_bits([1.0, 1.0, 1.0], 4).tolist()
    [2, 1, 1]
    >>> allocate_bits([1.0, 3.0], 8).tolist()
    [2, 6]
    """
    h = _check_entropies(entropies)
    r = check_int("total_bits", total_bits, minimum=0)
    total_h = float(h.sum())
    if total_h <= 0:
        raise ValueError("entropies must not all be 0 (nothing to allocate bits by)")
    share = h * r / total_h
    bits = np.ceil(share - _TOL).astype(np.int64)  # the paper's ceiling (Sec. 5.1)
    bits = np.maximum(bits, 0)
    excess = int(bits.sum()) - r
    if excess > 0:
        overshoot = np.round(bits - share, 12)
        idx = np.arange(h.shape[0])
        order = np.lexsort((-idx, h, -overshoot))
        bits[order[:excess]] -= 1
    return bits


def adaptive_temperatures(entropies: object) -> np.ndarray:
    r"""Adaptive per-modality temperatures of eq. (10), Chen:
    :math:`\tau^\star_m = \sqrt{\sum_j \hat H_j / (M \hat H_m)} = \sqrt{\bar H / \hat H_m}`.

    Balanced entropies give :math:`\tau^\star_m = 1`, and always
    :math:`\frac1M \sum_m (\tau^\star_m)^{-2} = 1`. The temperature *decreases* with
    :math:`\hat H_m` (the paper's ":math:`\tau^\star_m \propto \Delta \hat H_m`" is wrong).

    Parameters
    ----------
    entropies : array_like, shape (M,)
        Empirical entropies in bits, > 0.

    Examples
    --------
    >>> adaptive_temperatures([1.0, 3.0]).round(6).tolist()
    [1.414214, 0.816497]
    """
    h = _check_entropies(entropies, positive=True)
    return np.sqrt(h.sum() / (h.shape[0] * h))  # eq. (10)


def temperature_schedule(
    entropies: object, *, gamma: float | None = None, epsilon: float = 1e-3
) -> np.ndarray:
    r"""Temperature schedule of Sec. 6.1, Chen: :math:`\tau_m = \gamma\sqrt{|H_m - \bar H| + \epsilon}`.

    Parameters
    ----------
    entropies : array_like, shape (M,)
        Entropies in bits, >= 0.
    gamma : float, optional
        Tuning constant, > 0. Default: :math:`\gamma = 1/\sqrt{M + \Delta H}`, the choice of
        "Putting it together" in Sec. 6.3.
    epsilon : float
        Floor that keeps temperatures positive, > 0. The paper gives no value; ``1e-3`` bits is
        our default.

    Notes
    -----
    This rule and eq. (10) (:func:`adaptive_temperatures`) disagree: for balanced entropies
    eq. (10) gives 1 and this gives :math:`\gamma\sqrt\epsilon`; this one grows with the distance
    to the mean entropy in either direction.

    Examples
    --------
    >>> temperature_schedule([1.0, 3.0], gamma=1.0, epsilon=0.0001).round(6).tolist()
    [1.00005, 1.00005]
    """
    h = _check_entropies(entropies)
    eps = check_positive("epsilon", epsilon)
    if gamma is None:
        g = 1.0 / math.sqrt(h.shape[0] + entropy_imbalance(h))
    else:
        g = check_positive("gamma", gamma)
    return g * np.sqrt(np.abs(h - h.mean()) + eps)


# ------------------------------------------------------------------- finite-sample calculators


_RADEMACHER_FORMS = ("paper", "massart")


def _check_cells(cells_per_modality: object) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(cells_per_modality))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            "cells_per_modality must be a non-empty 1-D list of integers (one per modality)"
        )
    for i, v in enumerate(arr.tolist()):
        check_int(f"cells_per_modality[{i}]", v, minimum=1)
    return arr.astype(np.float64)


def rademacher_complexity_bound(
    n_samples: int,
    cells_per_modality: object,
    max_corpus_size: int,
    *,
    form: str = "paper",
) -> float:
    r"""Lemma 6.1, Chen: bound on the empirical Rademacher complexity of the loss class.

    .. math::
        \hat{\mathfrak R}_n(\mathcal L) \le \sqrt{2/n}\,\bigl(\sqrt{\Lambda} + \sqrt{\ln D_{max}}\bigr),
        \qquad \Lambda = \sum_m \ln K_m.

    Logarithms are natural, as Massart's finite-class lemma requires (with :math:`K_m = 2^{H_m}`,
    :math:`\Lambda = \ln 2 \sum_m H_m`). ``form="massart"`` returns Massart's value
    :math:`\sqrt{2\ln(K D_{max})/n}` itself; the paper's last step writes ``=`` but
    :math:`\sqrt{a+b} \le \sqrt a + \sqrt b`, so ``"paper"`` is the looser of the two. Both rest
    on the lemma's premise that the loss class has at most :math:`K D_{max}` members.

    Parameters
    ----------
    n_samples : int
        Training set size ``n >= 1``.
    cells_per_modality : sequence of int, shape (M,)
        Cells ``K_m >= 1`` of each modality's quantiser.
    max_corpus_size : int
        :math:`D_{max} \ge 1`, the largest corpus the decoder ranks.
    form : {"paper", "massart"}

    Examples
    --------
    >>> round(rademacher_complexity_bound(100, [4, 4], 1000), 6)
    0.607174
    """
    n = check_int("n_samples", n_samples, minimum=1)
    k = _check_cells(cells_per_modality)
    dmax = check_int("max_corpus_size", max_corpus_size, minimum=1)
    if form not in _RADEMACHER_FORMS:
        raise ValueError(f"form must be one of {_RADEMACHER_FORMS}, got {form!r}")
    lam = float(np.sum(np.log(k)))
    log_d = math.log(dmax)
    if form == "massart":
        return math.sqrt(2.0 * (lam + log_d) / n)
    return math.sqrt(2.0 / n) * (math.sqrt(lam) + math.sqrt(log_d))  # Lemma 6.1


def excess_risk_bound(
    n_samples: int,
    delta: float,
    cells_per_modality: object,
    max_corpus_size: int,
    *,
    form: str = "paper",
) -> float:
    r"""Theorem 6.2 / eq. (11), Chen: the gap :math:`\mathbb{E}[d] - \hat{\mathbb{E}}_n[d]` it allows.

    .. math::
        4\,\hat{\mathfrak R}_n(\mathcal L) + 3\sqrt{\frac{\ln(2/\delta)}{2n}},

    with :math:`\hat{\mathfrak R}_n` from :func:`rademacher_complexity_bound`; holds with
    probability at least ``1 - δ``. The printed eq. (11) lost the ``+3`` of the last term in
    conversion. The constant 4 is the paper's (the standard bound for a [0, 1] loss class has 2,
    so 4 is conservative). Values >= 1 are vacuous because ``d <= 1``.

    Parameters
    ----------
    n_samples : int
        ``n >= 1``.
    delta : float
        Failure probability in (0, 1).
    cells_per_modality, max_corpus_size, form
        As in :func:`rademacher_complexity_bound`.

    Examples
    --------
    >>> round(excess_risk_bound(100, 0.05, [4, 4], 1000), 6)
    2.836127
    """
    n = check_int("n_samples", n_samples, minimum=1)
    dl = check_in_range("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    rad = rademacher_complexity_bound(n, cells_per_modality, max_corpus_size, form=form)
    return 4.0 * rad + 3.0 * math.sqrt(math.log(2.0 / dl) / (2.0 * n))  # eq. (11)


def distortion_upper_bound(
    empirical_distortion: float,
    n_samples: int,
    delta: float,
    cells_per_modality: object,
    max_corpus_size: int,
    *,
    form: str = "paper",
) -> float:
    r"""Theorem 6.2, Chen: :math:`\min(1, \hat{\mathbb{E}}_n[d] + \text{excess})`, w.p. >= 1 - δ.

    Parameters
    ----------
    empirical_distortion : float
        Training-set mean ranking distortion :math:`\hat{\mathbb{E}}_n[d] = 1 - \widehat{MRR}`,
        in [0, 1].
    n_samples, delta, cells_per_modality, max_corpus_size, form
        As in :func:`excess_risk_bound`.

    Examples
    --------
    >>> round(distortion_upper_bound(0.2, 10**6, 0.05, [16, 16], 1000), 6)
    0.232263
    """
    e = check_in_range("empirical_distortion", empirical_distortion, 0.0, 1.0)
    gap = excess_risk_bound(n_samples, delta, cells_per_modality, max_corpus_size, form=form)
    return min(1.0, e + gap)
