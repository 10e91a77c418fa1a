"""Estimators layer: quantities estimated from samples.

Heavy optional back ends (POT, and through it torch) are imported inside the functions that
need them, never when this package is imported.
"""

from rdlab.estimators.dp_region import (
    conditional_mean,
    dp_region_from_samples,
    geodesic_reconstruction,
    wasserstein2_squared,
)

__all__ = [
    "conditional_mean",
    "dp_region_from_samples",
    "geodesic_reconstruction",
    "wasserstein2_squared",
]
