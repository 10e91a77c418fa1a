"""The header of a learned-codec stream (container codec id 2, ``"learned"``).

Layout (all integers little-endian; ``docs/bitstream.md``, "Learned codec (id 2)")::

    offset     size  field
    0          1     header format    1
    1          1     quantizer        0 "dq", 1 "nq", 2 "uq", 3 "ntc", 4 "uq-private"
    2          1     input ndim k     <= 8
    3          1     reserved         0
    4          8     n                uint64, number of coded inputs, <= 2^40
    12         8     seed             uint64, shared dither (UQ) / decoder noise (NQ) /
                                      the encoder's own dither (UQ-private; the decoder
                                      does not use it)
    20         32    model identity   SHA-256 of the model that wrote the stream
    52         4k    input shape      uint32 each, >= 1
    52+4k      4     level runs R     uint32, 1 <= R
    56+4k      8R    runs             (count uint32 >= 1, levels uint32 in [2, 2^16]) each;
                                      adjacent runs have different levels, sum of counts
                                      d <= 2^20

The header ends exactly where the runs end. The levels are run-length coded so that a
refinement code (``d1`` dimensions of ``L1`` levels, ``d2`` of ``L2``) costs two runs.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rdlab.coding.categorical import MAX_DIM, MAX_LEVELS, check_symbol_levels
from rdlab.coding.container import BitstreamError
from rdlab.core.validation import check_bytes, check_digest, check_int

LEARNED_CODEC_ID = 2
"""Container codec id of the learned codec (``CODEC_IDS[2] == "learned"``)."""

HEADER_FORMAT = 1
"""Version of the learned-codec header layout; readers reject any other."""

QUANTIZERS = ("dq", "nq", "uq", "ntc", "uq-private")
"""Quantizer names in the order of their header codes (0, 1, 2, 3, 4). This is wire format,
fixed forever; it holds the names of :data:`rdlab.coding.quantizers.QUANTIZER_KINDS` (checked by
``tests/test_learned_codec.py``) but does not follow that tuple's order, ``"ntc"``: integer
rounding of unbounded latents shifted into each symbol's table (nonlinear transform coding,
:mod:`rdlab.models.ntc`; no dither, no decoder noise), and ``"uq-private"``: UQ without common
randomness (seed 003, Liu et al. 2022, eq. 16): the encoder dithers with its own u1 drawn from
the header's seed, the decoder subtracts an independent u2 it draws itself
(:func:`rdlab.coding.quantizers.private_dither` of its own seed) and ignores the header's
seed."""

MAX_INPUTS = 1 << 40
"""Largest number of coded inputs in one stream."""

MAX_INPUT_NDIM = 8
"""Largest number of axes of one input."""

_FIXED = struct.Struct("<BBBBQQ32s")
_RUN = struct.Struct("<II")


def _runs(levels: tuple[int, ...]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for v in levels:
        if runs and runs[-1][1] == v:
            runs[-1][0] += 1
        else:
            runs.append([1, v])
    return [(c, v) for c, v in runs]


@dataclass(frozen=True)
class LearnedHeader:
    """The learned codec's header: what the decoder needs besides the model.

    Attributes
    ----------
    model_identity : bytes
        32 bytes: identity of the model (weights and coding model) that wrote the stream.
    quantizer : {"dq", "nq", "uq", "ntc", "uq-private"}
    levels : tuple of int
        Levels of each latent dimension, each in [2, 2^16], at most 2^20 dimensions.
    n_samples : int
        Number of coded inputs, 0 <= n_samples <= 2^40.
    seed : int
        ``0 <= seed < 2**64``: seed of the shared dither (UQ) / decoder noise (NQ); for
        ``"uq-private"`` the seed of the encoder's dither, which the decoder does not use.
    input_shape : tuple of int
        Shape of one input (at most 8 axes, each >= 1), e.g. ``(1, 28, 28)``.

    Examples
    --------
    >>> h = LearnedHeader(bytes(32), "uq", (3, 3, 8), n_samples=10, seed=7,
    ...                   input_shape=(1, 28, 28))
    >>> raw = h.to_bytes()
    >>> len(raw), LearnedHeader.from_bytes(raw) == h
    (84, True)
    """

    model_identity: bytes
    quantizer: str
    levels: tuple[int, ...]
    n_samples: int
    seed: int
    input_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "model_identity", check_digest("model_identity", self.model_identity)
        )
        if self.quantizer not in QUANTIZERS:
            raise ValueError(f"quantizer must be one of {QUANTIZERS}, got {self.quantizer!r}")
        object.__setattr__(self, "levels", check_symbol_levels(self.levels))
        object.__setattr__(
            self, "n_samples", check_int("n_samples", self.n_samples, minimum=0, maximum=MAX_INPUTS)
        )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise TypeError(f"seed must be an integer, got {type(self.seed).__name__}")
        if not 0 <= int(self.seed) < 1 << 64:
            raise ValueError(f"seed must be in [0, 2**64), got {self.seed}")
        object.__setattr__(self, "seed", int(self.seed))
        shape = self.input_shape
        if isinstance(shape, int | np.integer) or not isinstance(shape, Sequence):
            raise TypeError(
                f"input_shape must be a sequence of integers, got {type(shape).__name__}"
            )
        if len(shape) > MAX_INPUT_NDIM:
            raise ValueError(
                f"input_shape must have at most {MAX_INPUT_NDIM} axes, got {len(shape)}"
            )
        object.__setattr__(
            self,
            "input_shape",
            tuple(
                check_int(f"input_shape[{i}]", s, minimum=1, maximum=2**32 - 1)
                for i, s in enumerate(shape)
            ),
        )

    def to_bytes(self) -> bytes:
        """The header bytes (layout in the module docstring)."""
        fixed = _FIXED.pack(
            HEADER_FORMAT,
            QUANTIZERS.index(self.quantizer),
            len(self.input_shape),
            0,
            self.n_samples,
            self.seed,
            self.model_identity,
        )
        shape = struct.pack(f"<{len(self.input_shape)}I", *self.input_shape)
        runs = _runs(self.levels)
        body = b"".join(_RUN.pack(c, v) for c, v in runs)
        return fixed + shape + struct.pack("<I", len(runs)) + body

    def to_dict(self) -> dict[str, Any]:
        """The header's fields in the glossary's keys (``rdlab info``)."""
        return {
            "quantizer": self.quantizer,
            "levels": list(self.levels),
            "seed": self.seed,
            "input_shape": list(self.input_shape),
            "rate_bound_bits": float(sum(math.log2(v) for v in self.levels)),
            "model_identity": self.model_identity.hex(),
        }

    @classmethod
    def from_bytes(cls, data: bytes) -> LearnedHeader:
        """Parse :meth:`to_bytes`'s bytes; every field is checked.

        Raises
        ------
        BitstreamError
            Too short or too long, another header format, an unknown quantizer code, a
            non-zero reserved byte, or a field outside its range.
        """
        raw = check_bytes("data", data)

        def bad(why: str) -> BitstreamError:
            return BitstreamError(f"invalid learned-codec header: {why}")

        if len(raw) < _FIXED.size:
            raise bad(f"too short ({len(raw)} bytes)")
        fmt, q, ndim, reserved, n, seed, identity = _FIXED.unpack_from(raw)
        if fmt != HEADER_FORMAT:
            raise bad(f"unsupported header format {fmt} (this rdlab reads {HEADER_FORMAT})")
        if q >= len(QUANTIZERS):
            raise bad(f"quantizer code {q}")
        if ndim > MAX_INPUT_NDIM:
            raise bad(f"{ndim} input dimensions (at most {MAX_INPUT_NDIM})")
        if reserved != 0:
            raise bad(f"reserved byte must be 0, got {reserved}")
        if n > MAX_INPUTS:
            raise bad(f"{n} inputs (at most {MAX_INPUTS})")
        pos = _FIXED.size
        if len(raw) < pos + 4 * ndim + 4:
            raise bad("too short")
        shape = struct.unpack_from(f"<{ndim}I", raw, pos)
        if any(s < 1 for s in shape):
            raise bad(f"input shape {shape}")
        pos += 4 * ndim
        (n_runs,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        if n_runs < 1 or pos + _RUN.size * n_runs != len(raw):
            raise bad(f"{n_runs} level runs do not fill the header")
        levels: list[int] = []
        previous = None
        for _ in range(n_runs):
            count, size = _RUN.unpack_from(raw, pos)
            pos += _RUN.size
            if count < 1 or not 2 <= size <= MAX_LEVELS or size == previous:
                raise bad(f"level run ({count} x {size})")
            if len(levels) + count > MAX_DIM:
                raise bad(f"more than {MAX_DIM} latent dimensions")
            levels.extend([size] * count)
            previous = size
        return cls(
            model_identity=identity,
            quantizer=QUANTIZERS[q],
            levels=tuple(levels),
            n_samples=n,
            seed=seed,
            input_shape=tuple(shape),
        )


__all__ = ["HEADER_FORMAT", "LEARNED_CODEC_ID", "QUANTIZERS", "LearnedHeader"]
