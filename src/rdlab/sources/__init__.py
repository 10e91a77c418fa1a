"""Sources layer: what is compressed."""

from rdlab.sources.discretize import discretized_gaussian

__all__ = ["discretized_gaussian"]
