"""The product quantiser's bitstream (container codec id 3, ``"pq"``).

Header (all integers little-endian; ``docs/bitstream.md``, "Product quantiser (id 3)")::

    offset  size  field
    0       1     header format    1
    1       1     codeword         0 "centroid", 1 "sample"
    2       2     reserved         0
    4       8     n                uint64, number of coded vectors, <= 2^40
    12      8     seed             uint64, shared randomness of sampled codewords
    20      4     dim              uint32, vector dimension, >= 1
    24      4     sub-vectors S    uint32, >= 1
    28      32    model identity   SHA-256 of the fitted quantiser (ProductQuantizer.identity)

The payload is the ``(n, S)`` cell indices range-coded column by column under the quantiser's
categorical model (:mod:`rdlab.coding.categorical`), exactly as the learned codec codes its
symbols; a payload that is not exactly the encoding of what it decodes to is rejected.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from rdlab.coding.categorical import decode_symbols, encode_symbols
from rdlab.coding.codec import (
    CodecEntry,
    ModelRequiredError,
    check_decode_budget,
    register_codec,
)
from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.coding.pq.quantizer import CODEWORDS, ProductQuantizer, check_embeddings
from rdlab.core.validation import check_bytes, check_digest, check_int, check_seed

PQ_CODEC_ID = 3
"""Container codec id of the product quantiser (``CODEC_IDS[3] == "pq"``)."""

HEADER_FORMAT = 1
"""Version of the product-quantiser header layout; readers reject any other."""

MAX_VECTORS = 1 << 40
"""Largest number of coded vectors in one stream."""

_HEADER = struct.Struct("<BBHQQII32s")


@dataclass(frozen=True)
class PQHeader:
    """What the decoder needs besides the fitted quantiser.

    Examples
    --------
    >>> h = PQHeader(bytes(32), "centroid", n_samples=3, seed=1, dim=8, n_subvectors=2)
    >>> PQHeader.from_bytes(h.to_bytes()) == h, len(h.to_bytes())
    (True, 60)
    """

    model_identity: bytes
    codeword: str
    n_samples: int
    seed: int
    dim: int
    n_subvectors: int

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "model_identity", check_digest("model_identity", self.model_identity)
        )
        if self.codeword not in CODEWORDS:
            raise ValueError(f"codeword must be one of {CODEWORDS}, got {self.codeword!r}")
        check_int("n_samples", self.n_samples, minimum=0, maximum=MAX_VECTORS)
        check_seed(self.seed)
        check_int("dim", self.dim, minimum=1, maximum=2**32 - 1)
        check_int("n_subvectors", self.n_subvectors, minimum=1, maximum=2**32 - 1)

    def to_bytes(self) -> bytes:
        """The header bytes (layout in the module docstring)."""
        return _HEADER.pack(
            HEADER_FORMAT,
            CODEWORDS.index(self.codeword),
            0,
            self.n_samples,
            self.seed,
            self.dim,
            self.n_subvectors,
            self.model_identity,
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PQHeader:
        """Parse :meth:`to_bytes`'s bytes; every field is checked.

        Raises
        ------
        BitstreamError
            Wrong length, another header format, an unknown codeword code, a non-zero reserved
            field or a field outside its range.
        """
        raw = check_bytes("data", data)
        if len(raw) != _HEADER.size:
            raise BitstreamError(
                f"invalid product-quantiser header: {len(raw)} bytes, expected {_HEADER.size}"
            )
        fmt, cw, reserved, n, seed, dim, subs, identity = _HEADER.unpack(raw)
        if fmt != HEADER_FORMAT:
            raise BitstreamError(
                f"invalid product-quantiser header: format {fmt} (this rdlab reads {HEADER_FORMAT})"
            )
        if cw >= len(CODEWORDS) or reserved != 0 or n > MAX_VECTORS or dim < 1 or subs < 1:
            raise BitstreamError(
                f"invalid product-quantiser header: codeword {cw}, reserved {reserved}, "
                f"n {n}, dim {dim}, sub-vectors {subs}"
            )
        return cls(identity, CODEWORDS[cw], n, seed, dim, subs)

    def to_dict(self) -> dict[str, Any]:
        """The header's fields in the glossary's keys (``rdlab info``)."""
        return {
            "codeword": self.codeword,
            "seed": self.seed,
            "dim": self.dim,
            "n_subvectors": self.n_subvectors,
            "model_identity": self.model_identity.hex(),
        }


class PQCodec:
    """The entropy-weighted product quantiser (Chen, Sec. 5.1) as a codec.

    Parameters
    ----------
    pq : ProductQuantizer
        A fitted quantiser (:meth:`ProductQuantizer.fit` or :meth:`ProductQuantizer.load`).
    codeword : {"centroid", "sample"}
        What the decoder outputs for a cell: its centroid, or a training point of the cell drawn
        with the stream's seed (the paper's stochastic codeword).
    max_memory_bytes : int, optional
        What decoding one stream may allocate (default 1 GiB).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((500, 4))
    >>> codec = PQCodec(ProductQuantizer.fit(x, (2, 2), 6, seed=0))
    >>> data = codec.encode(x[:10], seed=1)
    >>> codec.decode(data).shape, codec.rate_bound_bits
    ((10, 4), 6.0)
    """

    name = "pq"
    codec_id = PQ_CODEC_ID
    distortion_measure = "squared_error"

    def __init__(
        self,
        pq: ProductQuantizer,
        *,
        codeword: str = "centroid",
        max_memory_bytes: int | None = None,
    ) -> None:
        if not isinstance(pq, ProductQuantizer):
            raise TypeError(f"pq must be a ProductQuantizer, got {type(pq).__name__}")
        if not pq.subvectors:
            raise ValueError("pq must be fitted and code at least one sub-vector")
        if codeword not in CODEWORDS:
            raise ValueError(f"codeword must be one of {CODEWORDS}, got {codeword!r}")
        self.pq = pq
        self.codeword = codeword
        self.max_memory_bytes = max_memory_bytes
        self._identity = pq.identity()
        self._model = pq.coding_model

    @property
    def rate_bound_bits(self) -> float:
        """R = the quantiser's bits per vector (the fixed-length index)."""
        return float(self.pq.total_bits)

    def identity(self) -> bytes:
        """The fitted quantiser's identity."""
        return self._identity

    def check_input(self, x: object) -> np.ndarray:
        """``x`` as a finite 2-D array ``(n, dim)``."""
        return check_embeddings("x", x, self.pq.dim)

    def pack_indices(self, indices: object, *, seed: int = 0) -> bytes:
        """The bitstream of already computed cell indices ``(n, n_subvectors)``."""
        idx = self.pq.check_indices(indices)
        header = PQHeader(
            self._identity,
            self.codeword,
            int(idx.shape[0]),
            check_seed(seed),
            self.pq.dim,
            len(self.pq.subvectors),
        )
        return pack_container(PQ_CODEC_ID, header.to_bytes(), encode_symbols(idx, self._model))

    def encode(self, x: object, *, seed: int = 0) -> bytes:
        """One bitstream of the vectors ``x``; ``seed`` seeds sampled codewords."""
        return self.pack_indices(self.pq.encode(self.check_input(x)), seed=seed)

    def decode_indices(self, data: bytes) -> tuple[PQHeader, np.ndarray]:
        """The header and the cell indices of a stream this quantiser wrote."""
        frame = unpack_container(data, codec_id=PQ_CODEC_ID)
        header = PQHeader.from_bytes(frame.header)
        if header.model_identity != self._identity:
            raise BitstreamError(
                f"stream was written by quantiser {header.model_identity.hex()[:16]}…, this "
                f"one is {self._identity.hex()[:16]}…; decode with the quantiser that encoded it"
            )
        if header.dim != self.pq.dim or header.n_subvectors != len(self.pq.subvectors):
            raise BitstreamError("stream header does not match the quantiser's shape")
        check_decode_budget(
            f"this product-quantiser stream ({header.n_samples} vectors)",
            header.n_samples * (8 * header.n_subvectors + 4 * header.dim),
            self.max_memory_bytes,
        )
        return header, decode_symbols(frame.payload, header.n_samples, self._model)

    def decode(self, data: bytes) -> np.ndarray:
        """The codewords ``(n, dim)`` (float32) of a stream this quantiser wrote."""
        header, idx = self.decode_indices(data)
        seed = header.seed if header.codeword == "sample" else None
        return self.pq.decode(idx, codeword=header.codeword, seed=seed)

    def stream_rates(self, data: bytes) -> dict[str, float]:
        """``rate_information_bits`` of the stream's indices, bits per vector."""
        header, idx = self.decode_indices(data)
        return {"rate_information_bits": self.pq.information_bits(idx) / max(header.n_samples, 1)}


def _codec_from_header(header: PQHeader, **_: object) -> PQCodec:
    raise ModelRequiredError(
        f"this stream was written by product quantiser {header.model_identity.hex()[:16]}…; "
        "pass the quantiser file that encoded it as the model (--model PQ.safetensors)"
    )


register_codec(
    CodecEntry(
        codec_id=PQ_CODEC_ID,
        name="pq",
        summary="entropy-weighted product quantiser of retrieval queries (range-coded indices)",
        read_header=PQHeader.from_bytes,
        from_header=_codec_from_header,
        model_term="quantiser",
    )
)


__all__ = ["PQ_CODEC_ID", "PQCodec", "PQHeader"]
