"""Sources layer: what is compressed, with seeded sampling, and a registry of named sources."""

from rdlab.sources.base import (
    BernoulliSource,
    DiscreteSource,
    EmpiricalSource,
    GaussianSource,
    Source,
    UniformSource,
)
from rdlab.sources.discretize import discretized_gaussian
from rdlab.sources.registry import SOURCES, make_source, register_source, stored_rotation

__all__ = [
    "SOURCES",
    "BernoulliSource",
    "DiscreteSource",
    "EmpiricalSource",
    "GaussianSource",
    "Source",
    "UniformSource",
    "discretized_gaussian",
    "make_source",
    "register_source",
    "stored_rotation",
]
