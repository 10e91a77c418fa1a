"""Operational codecs: real bytes out, real bytes in.

- :mod:`rdlab.coding.rcc` — reverse channel coding (PFR and ORC, seed 002 §V) with the exact
  Gaussian output distribution or any :class:`~rdlab.coding.rcc.OutputDistribution`;
- :mod:`rdlab.coding.index_coding` — the Zipf law of the index and its range / prefix coders;
- :mod:`rdlab.coding.container` — the bitstream container shared by every rdlab codec;
- :mod:`rdlab.coding.quantizers` — DQ / NQ / UQ scalar quantisers of learned codecs, hard
  forward and soft-to-hard gradient (torch imported on use);
- :mod:`rdlab.coding.learned` — the learned codec's categorical coding model, range coder and
  header (container codec id 2).
"""

from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.coding.index_coding import ZipfLaw, zipf_exponent
from rdlab.coding.learned import (
    CategoricalModel,
    LearnedHeader,
    decode_symbols,
    empirical_entropy_bits,
    encode_symbols,
    pack_learned,
    unpack_learned,
)
from rdlab.coding.quantizers import QUANTIZER_KINDS, ScalarQuantizer, dither
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
    "QUANTIZER_KINDS",
    "BitstreamError",
    "CategoricalModel",
    "GaussianOperatingPoint",
    "GaussianOutput",
    "GeneratorOutput",
    "LearnedHeader",
    "OutputDistribution",
    "RCCEncoding",
    "ScalarQuantizer",
    "ZipfLaw",
    "checkpoint_identity",
    "decode_symbols",
    "dither",
    "empirical_entropy_bits",
    "encode_symbols",
    "gaussian_operating_point",
    "pack_container",
    "pack_learned",
    "rcc_decode",
    "rcc_encode",
    "rcc_guarantee_bits",
    "rcc_reconstruct",
    "rcc_select",
    "read_rcc_header",
    "unpack_container",
    "unpack_learned",
    "zipf_exponent",
]
