"""The entropy-weighted product quantiser of seed 000 (Chen, Sec. 5.1) and its codec (id 3).

- :mod:`~rdlab.coding.pq.quantizer` — :class:`ProductQuantizer` (bit allocation, sub-vector
  k-means, codewords, safetensors files);
- :mod:`~rdlab.coding.pq.codec` — :class:`PQCodec`, its header and bitstream.
"""

from rdlab.coding.pq.codec import PQ_CODEC_ID, PQCodec, PQHeader
from rdlab.coding.pq.quantizer import (
    CODEWORDS,
    ProductQuantizer,
    check_embeddings,
    check_modality_dims,
    gaussian_entropy_bits,
    kmeans,
)

__all__ = [
    "CODEWORDS",
    "PQ_CODEC_ID",
    "PQCodec",
    "PQHeader",
    "ProductQuantizer",
    "check_embeddings",
    "check_modality_dims",
    "gaussian_entropy_bits",
    "kmeans",
]
