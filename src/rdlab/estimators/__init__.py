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
from rdlab.estimators.generators import GENERATORS, make_generator, register_generator
from rdlab.estimators.nerd import (
    NERD_PRESETS,
    BetaSolution,
    NERDCeilingWarning,
    NERDConfig,
    NERDEstimate,
    NERDInfeasibleWarning,
    NERDResult,
    TorchSampler,
    estimate_rate,
    nerd_curve,
    nerd_point,
    nerd_quick_point,
    rate_function_bits,
    solve_beta,
    tilted_distortion,
)

__all__ = [
    "GENERATORS",
    "NERD_PRESETS",
    "BetaSolution",
    "NERDCeilingWarning",
    "NERDConfig",
    "NERDEstimate",
    "NERDInfeasibleWarning",
    "NERDResult",
    "TorchSampler",
    "conditional_mean",
    "dp_region_from_samples",
    "estimate_rate",
    "geodesic_reconstruction",
    "make_generator",
    "nerd_curve",
    "nerd_point",
    "nerd_quick_point",
    "rate_function_bits",
    "register_generator",
    "solve_beta",
    "tilted_distortion",
    "wasserstein2_squared",
]
