"""The learned quantised codec (container codec id 2): header and codec.

- :mod:`~rdlab.coding.learned.header` — :class:`LearnedHeader`, the stream header;
- :mod:`~rdlab.coding.learned.codec` — :class:`QuantizedLatentCodec`, the codec built from an
  analysis and a synthesis transform and a categorical coding model
  (:mod:`rdlab.coding.categorical`).
"""

from rdlab.coding.learned.codec import QuantizedLatentCodec, read_learned_header
from rdlab.coding.learned.header import (
    HEADER_FORMAT,
    LEARNED_CODEC_ID,
    QUANTIZERS,
    LearnedHeader,
)

__all__ = [
    "HEADER_FORMAT",
    "LEARNED_CODEC_ID",
    "QUANTIZERS",
    "LearnedHeader",
    "QuantizedLatentCodec",
    "read_learned_header",
]
