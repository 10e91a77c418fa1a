"""The header of a reverse-channel-coding stream (container codec id 1, ``"rcc"``).

Layout in ``docs/bitstream.md`` ("Codec 1"). :meth:`RCCHeader.from_bytes` checks every field, so
a stream whose CRC was recomputed over hostile values still fails with
:class:`~rdlab.coding.container.BitstreamError`.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from rdlab.coding.container import BitstreamError, unpack_container
from rdlab.coding.index_coding import INDEX_CODINGS, MAX_RATE_BITS, ZipfLaw
from rdlab.coding.rcc.candidates import MAX_N_CANDIDATES, METHODS
from rdlab.core.io import parse_json_object

RCC_CODEC_ID = 1
"""Codec id of reverse channel coding in the container (fixed; see ``CODEC_IDS``)."""

DISTORTION_CODES = {0: "squared_error"}
"""Distortion measure codes of the header (wire format, fixed)."""

MAX_EVENT_NDIM = 8
MAX_ELEMENTS = 2**31
"""Largest ``n * prod(event_shape)`` a header may announce."""

MAX_SPEC_BYTES = 1 << 22
"""Largest output spec (JSON bytes) a header may carry (4 MiB)."""

MAX_SPEC_DEPTH = 8
"""Deepest nesting of lists and objects in an output spec."""

_FIXED = struct.Struct("<BBBBQIddQB")


@dataclass(frozen=True)
class RCCHeader:
    """Everything the decoder needs, as stored in the codec header.

    Attributes
    ----------
    method : {"pfr", "orc"}
    index_coding : {"range", "prefix"}
    chunk_size : int
    distortion_measure : str
        ``"squared_error"``.
    seed : int
    n_candidates : int
    slope : float
        Bits per unit distortion (< 0).
    zipf_rate_bits : float
        Rate parameter C of the Zipf law (bits).
    n_samples : int
    event_shape : tuple of int
    output_identity : bytes
        SHA-256 identity of :math:`Q_Y`.
    output_spec : dict
        :meth:`OutputDistribution.spec` of :math:`Q_Y`.
    """

    method: str
    index_coding: str
    chunk_size: int
    distortion_measure: str
    seed: int
    n_candidates: int
    slope: float
    zipf_rate_bits: float
    n_samples: int
    event_shape: tuple[int, ...]
    output_identity: bytes
    output_spec: dict[str, Any]

    def to_bytes(self) -> bytes:
        spec = json.dumps(
            self.output_spec, sort_keys=True, separators=(",", ":"), allow_nan=False
        ).encode()
        fixed = _FIXED.pack(
            METHODS.index(self.method),
            INDEX_CODINGS.index(self.index_coding),
            self.chunk_size.bit_length() - 1,
            0,
            self.seed,
            self.n_candidates,
            self.slope,
            self.zipf_rate_bits,
            self.n_samples,
            len(self.event_shape),
        )
        dims = struct.pack(f"<{len(self.event_shape)}I", *self.event_shape)
        return fixed + dims + self.output_identity + struct.pack("<I", len(spec)) + spec

    @classmethod
    def from_bytes(cls, raw: bytes) -> RCCHeader:
        def bad(why: str) -> BitstreamError:
            return BitstreamError(f"invalid reverse-channel-coding header: {why}")

        if len(raw) < _FIXED.size:
            raise bad("too short")
        m, ic, lc, dm, seed, n, slope, c, n_samples, ndim = _FIXED.unpack_from(raw)
        if m >= len(METHODS):
            raise bad(f"method code {m}")
        if ic >= len(INDEX_CODINGS):
            raise bad(f"index coding code {ic}")
        if lc > 20:
            raise bad(f"chunk size 2**{lc}")
        if dm not in DISTORTION_CODES:
            raise bad(f"distortion measure code {dm}")
        if not 1 <= n <= MAX_N_CANDIDATES:
            raise bad(f"n_candidates {n} outside [1, {MAX_N_CANDIDATES}]")
        if not (math.isfinite(slope) and slope < 0):
            raise bad(f"slope {slope}")
        if not (math.isfinite(c) and 0 <= c <= MAX_RATE_BITS):
            raise bad(f"zipf rate {c}")
        if ndim > MAX_EVENT_NDIM:
            raise bad(f"{ndim} event dimensions")
        pos = _FIXED.size
        if len(raw) < pos + 4 * ndim + 32 + 4:
            raise bad("too short")
        shape = struct.unpack_from(f"<{ndim}I", raw, pos)
        pos += 4 * ndim
        if (
            n_samples < 1
            or any(s < 1 for s in shape)
            or n_samples * math.prod(shape) > MAX_ELEMENTS
        ):
            raise bad(f"{n_samples} samples of shape {shape}")
        identity = raw[pos : pos + 32]
        pos += 32
        (spec_len,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        if pos + spec_len != len(raw):
            raise bad("length of the output spec does not match")
        if spec_len > MAX_SPEC_BYTES:
            raise bad(f"output spec of {spec_len} bytes (at most {MAX_SPEC_BYTES})")
        try:
            spec = parse_json_object(
                raw[pos:], "output spec", max_bytes=MAX_SPEC_BYTES, max_depth=MAX_SPEC_DEPTH
            )
        except ValueError as exc:
            raise bad(str(exc)) from None
        return cls(
            method=METHODS[m],
            index_coding=INDEX_CODINGS[ic],
            chunk_size=1 << lc,
            distortion_measure=DISTORTION_CODES[dm],
            seed=seed,
            n_candidates=n,
            slope=slope,
            zipf_rate_bits=c,
            n_samples=n_samples,
            event_shape=tuple(shape),
            output_identity=identity,
            output_spec=spec,
        )

    @property
    def zipf_law(self) -> ZipfLaw:
        """The Zipf law of the index (eq. (27), Lei et al.)."""
        return ZipfLaw(self.zipf_rate_bits, self.n_candidates)

    @property
    def model_identity(self) -> bytes:
        """The identity of :math:`Q_Y` (the model a decoder must use)."""
        return self.output_identity

    def to_dict(self) -> dict[str, Any]:
        """The header's fields in the glossary's keys (``rdlab info``)."""
        return {
            "method": self.method,
            "index_coding": self.index_coding,
            "n_candidates": self.n_candidates,
            "chunk_size": self.chunk_size,
            "seed": self.seed,
            "slope": self.slope,
            "zipf_rate_bits": self.zipf_rate_bits,
            "event_shape": list(self.event_shape),
            "distortion_measure": self.distortion_measure,
            "model_identity": self.output_identity.hex(),
            "output_spec": self.output_spec,
        }


def read_rcc_header(data: bytes) -> tuple[RCCHeader, bytes]:
    """Check the container and parse the RCC header; returns (header, payload).

    Raises
    ------
    BitstreamError
        If ``data`` is not a valid reverse-channel-coding bitstream.
    """
    frame = unpack_container(data, codec_id=RCC_CODEC_ID)
    return RCCHeader.from_bytes(frame.header), frame.payload


__all__ = [
    "DISTORTION_CODES",
    "MAX_SPEC_BYTES",
    "MAX_SPEC_DEPTH",
    "RCC_CODEC_ID",
    "RCCHeader",
    "read_rcc_header",
]
