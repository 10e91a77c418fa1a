"""Theory layer: closed forms (numpy/scipy only), all rates in bits."""

from rdlab.theory.binary import (
    bernoulli_distortion_rate,
    bernoulli_rate_distortion,
    bernoulli_rd_curve,
    bernoulli_slope,
)
from rdlab.theory.gaussian import (
    GaussianTestChannel,
    WaterFilling,
    gaussian_distortion_rate,
    gaussian_rate_distortion,
    gaussian_rd_curve,
    gaussian_test_channel,
    reverse_water_filling,
    reverse_water_filling_at_rate,
    vector_gaussian_distortion_rate,
    vector_gaussian_rate_distortion,
    zero_rate_distortion,
)

__all__ = [
    "GaussianTestChannel",
    "WaterFilling",
    "bernoulli_distortion_rate",
    "bernoulli_rate_distortion",
    "bernoulli_rd_curve",
    "bernoulli_slope",
    "gaussian_distortion_rate",
    "gaussian_rate_distortion",
    "gaussian_rd_curve",
    "gaussian_test_channel",
    "reverse_water_filling",
    "reverse_water_filling_at_rate",
    "vector_gaussian_distortion_rate",
    "vector_gaussian_rate_distortion",
    "zero_rate_distortion",
]
