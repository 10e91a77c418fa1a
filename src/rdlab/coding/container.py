"""The rdlab bitstream container: one self-checking frame around a codec's header and payload.

Layout (all integers little-endian; documented in ``docs/bitstream.md``)::

    offset  size  field
    0       8     magic            b"\\x89RDL\\r\\n\\x1a\\n"
    8       1     format version   1
    9       2     codec id         uint16, fixed per codec (CODEC_IDS), never reassigned
    11      1     reserved         0
    12      4     header length H  uint32
    16      8     payload length P uint64
    24      H     codec header     (codec-specific)
    24+H    P     payload          (codec-specific)
    24+H+P  4     CRC-32           zlib.crc32 of bytes [0, 24+H+P)

The CRC covers every byte before it, so any corruption of up to 32 consecutive bits, and any
truncation, is reported as :class:`BitstreamError`. The container knows nothing of the codecs;
a codec registers its id in :data:`CODEC_IDS` and parses its own header.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"\x89RDL\r\n\x1a\n"
"""Eight magic bytes (PNG-style: a non-ASCII byte, CR-LF, ^Z and LF catch text-mode mangling)."""

FORMAT_VERSION = 1
"""Version of the container layout; readers reject any other."""

CODEC_IDS: dict[int, str] = {
    1: "rcc",  # reverse channel coding (PFR / ORC), rdlab.coding.rcc
    2: "learned",  # learned quantised codecs, rdlab.coding.learned
    3: "pq",  # entropy-weighted product quantiser of retrieval queries, rdlab.coding.pq
}
"""Codec ids, fixed forever: a new codec takes a new number; numbers are never reused."""

_PREFIX = struct.Struct("<8sBHBIQ")
PREFIX_BYTES = _PREFIX.size
"""Bytes before the codec header (24)."""
CRC_BYTES = 4
OVERHEAD_BYTES = PREFIX_BYTES + CRC_BYTES
"""Bytes the container adds to a codec's header and payload (28)."""

MAX_HEADER_BYTES = 1 << 24
"""Largest codec header the container accepts (16 MiB)."""


class BitstreamError(ValueError):
    """A byte string is not a valid rdlab bitstream (empty, foreign, truncated, corrupted,
    an unsupported version, another codec, or inconsistent with the decoder's model)."""


@dataclass(frozen=True)
class Container:
    """The parsed frame: codec id, format version, codec header and payload bytes."""

    codec_id: int
    version: int
    header: bytes
    payload: bytes

    @property
    def codec_name(self) -> str:
        return CODEC_IDS.get(self.codec_id, f"unknown-{self.codec_id}")


def pack_container(codec_id: int, header: bytes, payload: bytes) -> bytes:
    """Frame ``header`` and ``payload`` of codec ``codec_id``; returns the whole bitstream.

    Examples
    --------
    >>> data = pack_container(1, b"hdr", b"payload")
    >>> len(data) == OVERHEAD_BYTES + 3 + 7
    True
    >>> unpack_container(data).payload
    b'payload'
    """
    if isinstance(codec_id, bool) or not isinstance(codec_id, int):
        raise TypeError(f"codec_id must be an int, got {type(codec_id).__name__}")
    if codec_id not in CODEC_IDS:
        raise ValueError(f"codec_id must be one of {sorted(CODEC_IDS)}, got {codec_id}")
    for name, value in (("header", header), ("payload", payload)):
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
    header, payload = bytes(header), bytes(payload)
    if len(header) > MAX_HEADER_BYTES:
        raise ValueError(f"header must be at most {MAX_HEADER_BYTES} bytes, got {len(header)}")
    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, codec_id, 0, len(header), len(payload))
    body += header + payload
    return body + struct.pack("<I", zlib.crc32(body))


def unpack_container(data: bytes, *, codec_id: int | None = None) -> Container:
    """Check and split a bitstream made by :func:`pack_container`.

    Parameters
    ----------
    data : bytes
        The whole bitstream.
    codec_id : int, optional
        If given, the stream must belong to this codec.

    Raises
    ------
    BitstreamError
        Empty, too short, foreign (bad magic), corrupted or truncated (CRC mismatch), an
        unsupported format version, inconsistent lengths, or another codec than ``codec_id``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise BitstreamError("empty input: not an rdlab bitstream")
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            raise BitstreamError(f"truncated rdlab bitstream ({len(data)} bytes)")
        raise BitstreamError("not an rdlab bitstream (magic bytes do not match)")
    if len(data) < OVERHEAD_BYTES:
        raise BitstreamError(
            f"truncated rdlab bitstream: {len(data)} bytes, at least {OVERHEAD_BYTES} needed"
        )
    (crc,) = struct.unpack("<I", data[-CRC_BYTES:])
    if zlib.crc32(data[:-CRC_BYTES]) != crc:
        raise BitstreamError("checksum mismatch: the bitstream is corrupted or truncated")
    _, version, cid, reserved, h_len, p_len = _PREFIX.unpack_from(data)
    if version != FORMAT_VERSION:
        raise BitstreamError(
            f"unsupported bitstream format version {version} (this rdlab reads {FORMAT_VERSION})"
        )
    if reserved != 0:
        raise BitstreamError(f"reserved byte must be 0, got {reserved}")
    if PREFIX_BYTES + h_len + p_len + CRC_BYTES != len(data):
        raise BitstreamError(
            f"inconsistent lengths: header {h_len} + payload {p_len} bytes do not fill "
            f"a {len(data)}-byte bitstream"
        )
    if cid not in CODEC_IDS:
        raise BitstreamError(f"unknown codec id {cid}; known: {sorted(CODEC_IDS)}")
    if codec_id is not None and cid != codec_id:
        raise BitstreamError(
            f"bitstream belongs to codec {CODEC_IDS[cid]!r} (id {cid}), "
            f"expected {CODEC_IDS.get(codec_id, codec_id)!r} (id {codec_id})"
        )
    header = data[PREFIX_BYTES : PREFIX_BYTES + h_len]
    payload = data[PREFIX_BYTES + h_len : PREFIX_BYTES + h_len + p_len]
    return Container(codec_id=cid, version=version, header=header, payload=payload)


__all__ = [
    "CODEC_IDS",
    "FORMAT_VERSION",
    "MAGIC",
    "OVERHEAD_BYTES",
    "BitstreamError",
    "Container",
    "pack_container",
    "unpack_container",
]
