"""Operational codecs: real bytes out, real bytes in.

- :mod:`rdlab.coding.rcc` — reverse channel coding (PFR and ORC, seed 002 §V) with the exact
  Gaussian output distribution or any :class:`~rdlab.coding.rcc.OutputDistribution`;
- :mod:`rdlab.coding.index_coding` — the Zipf law of the index and its range / prefix coders;
- :mod:`rdlab.coding.container` — the bitstream container shared by every rdlab codec.
"""

from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.coding.index_coding import ZipfLaw, zipf_exponent
from rdlab.coding.rcc import (
    GaussianOperatingPoint,
    GaussianOutput,
    GeneratorOutput,
    OutputDistribution,
    RCCEncoding,
    checkpoint_identity,
    gaussian_operating_point,
    rcc_decode,
    rcc_encode,
    rcc_guarantee_bits,
    rcc_reconstruct,
    rcc_select,
    read_rcc_header,
)

__all__ = [
    "BitstreamError",
    "GaussianOperatingPoint",
    "GaussianOutput",
    "GeneratorOutput",
    "OutputDistribution",
    "RCCEncoding",
    "ZipfLaw",
    "checkpoint_identity",
    "gaussian_operating_point",
    "pack_container",
    "rcc_decode",
    "rcc_encode",
    "rcc_guarantee_bits",
    "rcc_reconstruct",
    "rcc_select",
    "read_rcc_header",
    "unpack_container",
    "zipf_exponent",
]
