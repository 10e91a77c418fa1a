"""Reverse channel coding (PFR and ORC, seed 002 §V) as a codec, in five parts.

- :mod:`~rdlab.coding.rcc.output` — output laws :math:`Q_Y` (exact Gaussian, trained generator)
  and the Gaussian operating point;
- :mod:`~rdlab.coding.rcc.candidates` — the counter-based candidate streams and weights;
- :mod:`~rdlab.coding.rcc.selection` — the encoder's search and the decoder's rebuild;
- :mod:`~rdlab.coding.rcc.header` — the stream header (container codec id 1);
- :mod:`~rdlab.coding.rcc.codec` — :class:`RCCCodec` and the functions under it;
- :mod:`~rdlab.coding.rcc.nerd` — a trained NERD generator as :math:`Q_Y`.
"""

from rdlab.coding.index_coding import rcc_guarantee_bits
from rdlab.coding.rcc.candidates import (
    DEFAULT_CHUNK_SIZE,
    MAX_N_CANDIDATES,
    METHODS,
    candidate_chunk,
    candidate_generator,
    cumulative_weights,
)
from rdlab.coding.rcc.codec import (
    RCCCodec,
    RCCDecoding,
    RCCEncoding,
    default_n_candidates,
    rcc_decode,
    rcc_decode_indices,
    rcc_encode,
)
from rdlab.coding.rcc.header import RCC_CODEC_ID, RCCHeader, read_rcc_header
from rdlab.coding.rcc.output import (
    OUTPUT_KINDS,
    GaussianOperatingPoint,
    GaussianOutput,
    GeneratorOutput,
    OutputDistribution,
    checkpoint_identity,
    gaussian_operating_point,
    legacy_checkpoint_identity,
    output_from_spec,
    register_output_kind,
)
from rdlab.coding.rcc.selection import RCCSelection, rcc_reconstruct, rcc_select

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_N_CANDIDATES",
    "METHODS",
    "OUTPUT_KINDS",
    "RCC_CODEC_ID",
    "GaussianOperatingPoint",
    "GaussianOutput",
    "GeneratorOutput",
    "OutputDistribution",
    "RCCCodec",
    "RCCDecoding",
    "RCCEncoding",
    "RCCHeader",
    "RCCSelection",
    "candidate_chunk",
    "candidate_generator",
    "checkpoint_identity",
    "cumulative_weights",
    "default_n_candidates",
    "gaussian_operating_point",
    "legacy_checkpoint_identity",
    "output_from_spec",
    "rcc_decode",
    "rcc_decode_indices",
    "rcc_encode",
    "rcc_guarantee_bits",
    "rcc_reconstruct",
    "rcc_select",
    "read_rcc_header",
    "register_output_kind",
]
