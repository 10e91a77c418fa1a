"""Core layer: information measures (bits), distortion measures, result dataclasses, checks."""

from rdlab.core.distortion import (
    distortion_matrix,
    hamming_distortion,
    squared_error,
    squared_lp,
)
from rdlab.core.information import (
    LOG2E,
    binary_entropy,
    binary_entropy_inverse,
    channel_mutual_information,
    entropy,
    gaussian_mutual_information,
    kl_divergence,
    mutual_information,
)
from rdlab.core.ranking import (
    mean_reciprocal_rank,
    random_ranking_mrr,
    ranking_distortion,
    ranks_from_scores,
    recall_at_k,
    reciprocal_rank,
)
from rdlab.core.results import RDCurve, RDPoint, RDSolution

__all__ = [
    "LOG2E",
    "RDCurve",
    "RDPoint",
    "RDSolution",
    "binary_entropy",
    "binary_entropy_inverse",
    "channel_mutual_information",
    "distortion_matrix",
    "entropy",
    "gaussian_mutual_information",
    "hamming_distortion",
    "kl_divergence",
    "mean_reciprocal_rank",
    "mutual_information",
    "random_ranking_mrr",
    "ranking_distortion",
    "ranks_from_scores",
    "recall_at_k",
    "reciprocal_rank",
    "squared_error",
    "squared_lp",
]
