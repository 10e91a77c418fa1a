"""Operational codecs: real bytes out, real bytes in.

Every codec follows :class:`~rdlab.coding.codec.Codec` (``encode(x, seed=...) -> bytes``,
``decode(data) -> x_hat``) and writes the one container of :mod:`rdlab.coding.container`; the
registry (:func:`~rdlab.coding.codec.codec_entry`) knows each by its fixed container id and its
name:

========  ====  =================================================================
name      id    codec
========  ====  =================================================================
``rcc``   1     :class:`~rdlab.coding.rcc.RCCCodec` — reverse channel coding (PFR / ORC,
                seed 002 §V) with an exact or a learned output law
``learned`` 2   :class:`~rdlab.coding.learned.QuantizedLatentCodec` — learned quantised
                autoencoders (seed 001), built from a run by ``rdlab.models.learned``
``pq``    3     :class:`~rdlab.coding.pq.PQCodec` — entropy-weighted product quantiser
                (seed 000)
========  ====  =================================================================

Shared parts: :mod:`~rdlab.coding.categorical` (factorised categorical models and their range
coder), :mod:`~rdlab.coding.index_coding` (the Zipf law of RCC's index),
:mod:`~rdlab.coding.quantizers` (DQ / NQ / UQ scalar quantisers, shared dither).
"""

from rdlab.coding.categorical import (
    CategoricalModel,
    decode_symbols,
    empirical_entropy_bits,
    encode_symbols,
)
from rdlab.coding.codec import (
    Codec,
    CodecEntry,
    CodecReport,
    ModelRequiredError,
    codec_entry,
    decoder_for,
    measure_codec,
    read_stream,
    registered_codecs,
)
from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.coding.index_coding import ZipfLaw, rcc_guarantee_bits, zipf_exponent
from rdlab.coding.learned import LearnedHeader, QuantizedLatentCodec
from rdlab.coding.pq import PQCodec, ProductQuantizer
from rdlab.coding.quantizers import QUANTIZER_KINDS, ScalarQuantizer, dither
from rdlab.coding.rcc import (
    GaussianOperatingPoint,
    GaussianOutput,
    GeneratorOutput,
    OutputDistribution,
    RCCCodec,
    RCCEncoding,
    checkpoint_identity,
    gaussian_operating_point,
    rcc_decode,
    rcc_encode,
    rcc_reconstruct,
    rcc_select,
    read_rcc_header,
)

__all__ = [
    "QUANTIZER_KINDS",
    "BitstreamError",
    "CategoricalModel",
    "Codec",
    "CodecEntry",
    "CodecReport",
    "GaussianOperatingPoint",
    "GaussianOutput",
    "GeneratorOutput",
    "LearnedHeader",
    "ModelRequiredError",
    "OutputDistribution",
    "PQCodec",
    "ProductQuantizer",
    "QuantizedLatentCodec",
    "RCCCodec",
    "RCCEncoding",
    "ScalarQuantizer",
    "ZipfLaw",
    "checkpoint_identity",
    "codec_entry",
    "decode_symbols",
    "decoder_for",
    "dither",
    "empirical_entropy_bits",
    "encode_symbols",
    "gaussian_operating_point",
    "measure_codec",
    "pack_container",
    "rcc_decode",
    "rcc_encode",
    "rcc_guarantee_bits",
    "rcc_reconstruct",
    "rcc_select",
    "read_rcc_header",
    "read_stream",
    "registered_codecs",
    "unpack_container",
    "zipf_exponent",
]
