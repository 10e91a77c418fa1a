"""Ranking distortion helpers: reciprocal rank, MRR, recall@k and their tie rules."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdlab.core.ranking import (
    mean_reciprocal_rank,
    random_ranking_mrr,
    ranking_distortion,
    ranks_from_scores,
    recall_at_k,
    reciprocal_rank,
)

# ----------------------------------------------------------------------------- hand-computed


def test_reciprocal_rank_of_ranks():
    assert reciprocal_rank([1, 2, 4]).tolist() == [1.0, 0.5, 0.25]
    assert reciprocal_rank(3) == pytest.approx(1 / 3)
    assert ranking_distortion([1, 2, 4]).tolist() == [0.0, 0.5, 0.75]
    assert mean_reciprocal_rank([1, 2, 4]) == pytest.approx(7 / 12)


def test_ranks_from_scores_and_ties():
    scores = [[0.1, 0.9, 0.5, 0.5], [3.0, 2.0, 1.0, 0.0]]
    assert ranks_from_scores(scores, [2, 0]).tolist() == [3, 1]
    assert ranks_from_scores(scores, [2, 0], ties="optimistic").tolist() == [2, 1]
    assert ranks_from_scores([0.1, 0.9, 0.5], 2) == 2
    # A constant scorer is worst under the pessimistic rule, best under the optimistic one.
    assert ranks_from_scores([1.0] * 5, 0) == 5
    assert ranks_from_scores([1.0] * 5, 0, ties="optimistic") == 1


def test_expected_tie_rule_hand_values():
    # Three tied documents: E[RR] = (1 + 1/2 + 1/3) / 3.
    assert reciprocal_rank(scores=[1.0, 1.0, 1.0], relevant=0, ties="expected") == pytest.approx(
        11 / 18, abs=1e-14
    )
    # One document above, two tied: (1/2 + 1/3) / 2.
    assert reciprocal_rank(scores=[5.0, 1.0, 1.0], relevant=2, ties="expected") == pytest.approx(
        5 / 12, abs=1e-14
    )
    assert recall_at_k(2, scores=[5.0, 1.0, 1.0], relevant=2, ties="expected") == pytest.approx(0.5)
    assert recall_at_k(1, scores=[5.0, 1.0, 1.0], relevant=2, ties="expected") == 0.0


def test_recall_at_k_hand_values():
    assert recall_at_k(1, [1, 2, 4, 3]) == 0.25
    assert recall_at_k(2, [1, 2, 4, 3]) == 0.5
    assert recall_at_k(4, [1, 2, 4, 3]) == 1.0
    assert recall_at_k(1, scores=[[0.0, 1.0], [1.0, 0.0]], relevant=[1, 1]) == 0.5


def test_random_ranking_mrr_hand_values():
    assert random_ranking_mrr(1) == 1.0
    assert random_ranking_mrr(4) == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4, abs=1e-15)
    n = 2_000_000  # digamma branch against the asymptotic expansion of H_N
    h_n = math.log(n) + np.euler_gamma + 1 / (2 * n) - 1 / (12 * n**2)
    assert random_ranking_mrr(n) == pytest.approx(h_n / n, rel=1e-12)
    assert random_ranking_mrr(1_000_000) == pytest.approx(
        (math.log(1e6) + np.euler_gamma + 0.5e-6) / 1e6, rel=1e-12
    )


# ------------------------------------------------------------------------------- properties

small_scores = st.lists(st.integers(0, 3), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(small_scores, st.data())
def test_expected_ties_match_brute_force_over_tie_orders(scores, data):
    """'expected' equals the mean over every order of the documents used to break ties."""
    n = len(scores)
    rel = data.draw(st.integers(0, n - 1))
    k = data.draw(st.integers(1, n))
    rrs, hits = [], []
    for order in itertools.permutations(range(n)):
        tiebreak = np.empty(n)
        tiebreak[list(order)] = np.arange(n)
        ranking = sorted(range(n), key=lambda i: (-scores[i], tiebreak[i]))
        rank = ranking.index(rel) + 1
        rrs.append(1.0 / rank)
        hits.append(rank <= k)
    got = reciprocal_rank(scores=scores, relevant=rel, ties="expected")
    assert got == pytest.approx(np.mean(rrs), abs=1e-12)
    assert recall_at_k(k, scores=scores, relevant=rel, ties="expected") == pytest.approx(
        np.mean(hits), abs=1e-12
    )
    # The brute-force extremes are the pessimistic and optimistic rules.
    assert reciprocal_rank(scores=scores, relevant=rel, ties="pessimistic") == pytest.approx(
        min(rrs)
    )
    assert reciprocal_rank(scores=scores, relevant=rel, ties="optimistic") == pytest.approx(
        max(rrs)
    )


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_ranks_match_argsort_for_distinct_scores(n_docs, n_queries, seed):
    rng = np.random.default_rng(seed)
    scores = np.stack([rng.permutation(n_docs) for _ in range(n_queries)]).astype(float)
    relevant = rng.integers(0, n_docs, size=n_queries)
    ranks = ranks_from_scores(scores, relevant)
    order = np.argsort(-scores, axis=1)
    expected = np.array([np.nonzero(order[q] == relevant[q])[0][0] + 1 for q in range(n_queries)])
    assert ranks.tolist() == expected.tolist()
    for rule in ("optimistic", "expected"):
        rr = reciprocal_rank(scores=scores, relevant=relevant, ties=rule)
        np.testing.assert_allclose(rr, 1.0 / expected, rtol=1e-14)
    assert mean_reciprocal_rank(scores=scores, relevant=relevant) == pytest.approx(
        np.mean(1.0 / expected)
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 200), st.integers(0, 2**32 - 1))
def test_uniform_relevant_under_fixed_ranking_gives_random_mrr(n_docs, seed):
    """Averaged over a uniform relevant document, any fixed ranking has MRR = H_N / N."""
    scores = np.random.default_rng(seed).permutation(n_docs).astype(float)
    all_scores = np.tile(scores, (n_docs, 1))
    mrr = mean_reciprocal_rank(scores=all_scores, relevant=np.arange(n_docs))
    assert mrr == pytest.approx(random_ranking_mrr(n_docs), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=1, max_size=30))
def test_distortion_is_one_minus_rr_and_recall_monotone(ranks):
    d = ranking_distortion(ranks)
    np.testing.assert_allclose(d, 1.0 - 1.0 / np.array(ranks, float))
    assert np.all((d >= 0) & (d < 1))
    recalls = [recall_at_k(k, ranks) for k in range(1, 52)]
    assert all(a <= b for a, b in itertools.pairwise(recalls))
    assert recalls[-1] == 1.0
    assert recall_at_k(1, ranks) <= mean_reciprocal_rank(ranks) <= 1.0


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"ranks": [0, 1]}, ValueError, "ranks must be integers >= 1"),
        ({"ranks": [1.5]}, ValueError, "ranks must be integers >= 1"),
        ({"ranks": [1, float("nan")]}, ValueError, "ranks must be finite"),
        ({}, ValueError, "exactly one of ranks or scores"),
        ({"ranks": [1], "scores": [1.0]}, ValueError, "exactly one of ranks or scores"),
        ({"ranks": [1], "relevant": 0}, ValueError, "relevant is only used with scores"),
        ({"scores": [1.0, 2.0]}, ValueError, "relevant must be given"),
        (
            {"scores": [1.0, 2.0], "relevant": 2},
            ValueError,
            r"relevant indices must be in \[0, 1\]",
        ),
        ({"scores": [1.0, 2.0], "relevant": -1}, ValueError, "relevant indices"),
        ({"scores": [1.0, 2.0], "relevant": 0.0}, TypeError, "integer document indices"),
        ({"scores": [1.0, 2.0], "relevant": True}, TypeError, "integer document indices"),
        ({"scores": [[1.0, 2.0]], "relevant": [0, 1]}, ValueError, "one index per query"),
        ({"scores": np.zeros((2, 2, 2)), "relevant": [0, 1]}, ValueError, "scores must have shape"),
        ({"scores": [1.0, float("inf")], "relevant": 0}, ValueError, "scores must be finite"),
        (
            {"scores": [1.0, 2.0], "relevant": 0, "ties": "random"},
            ValueError,
            "ties must be one of",
        ),
    ],
)
def test_bad_input_reciprocal_rank(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        reciprocal_rank(**kwargs)


def test_bad_input_other_helpers():
    with pytest.raises(ValueError, match="k must be >= 1"):
        recall_at_k(0, [1, 2])
    with pytest.raises(TypeError, match="k must be an integer"):
        recall_at_k(1.5, [1, 2])
    with pytest.raises(ValueError, match="ties must be one of 'pessimistic', 'optimistic'"):
        ranks_from_scores([1.0, 2.0], 0, ties="expected")
    with pytest.raises(ValueError, match="n_docs must be >= 1"):
        random_ranking_mrr(0)
    with pytest.raises(ValueError, match="exactly one of ranks or scores"):
        recall_at_k(1)
