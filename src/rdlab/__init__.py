"""rdlab: the limits and the codes of lossy compression.

Rates are in bits unless a name says otherwise. Layers (each imports only the ones above it):
``core`` → ``sources`` → ``theory`` → ``solvers`` → (``estimators``, ``coding``, ``models``) →
``experiments`` → ``cli``.
"""

from rdlab.core import (
    RDCurve,
    RDPoint,
    binary_entropy,
    binary_entropy_inverse,
    distortion_matrix,
    entropy,
    hamming_distortion,
    kl_divergence,
    mutual_information,
    squared_error,
    squared_lp,
)

__version__ = "0.3.0.dev0"

__all__ = [
    "RDCurve",
    "RDPoint",
    "__version__",
    "binary_entropy",
    "binary_entropy_inverse",
    "distortion_matrix",
    "entropy",
    "hamming_distortion",
    "kl_divergence",
    "mutual_information",
    "squared_error",
    "squared_lp",
]
