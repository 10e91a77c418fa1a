"""Sources layer: what is compressed, with seeded sampling, and a registry of named sources."""

from rdlab.sources import nerd_sources  # noqa: F401  (registers the NERD and image sources)
from rdlab.sources.base import (
    BernoulliSource,
    DiscreteSource,
    EmpiricalSource,
    GaussianSource,
    Source,
    UniformSource,
)
from rdlab.sources.discretize import discretized_gaussian
from rdlab.sources.images import ImageSource, download_dataset, image_source, read_idx
from rdlab.sources.registry import SOURCES, make_source, register_source, stored_rotation

__all__ = [
    "SOURCES",
    "BernoulliSource",
    "DiscreteSource",
    "EmpiricalSource",
    "GaussianSource",
    "ImageSource",
    "Source",
    "UniformSource",
    "discretized_gaussian",
    "download_dataset",
    "image_source",
    "make_source",
    "read_idx",
    "register_source",
    "stored_rotation",
]
