r"""The bitstream side of a learned quantised codec (codec id 2, ``"learned"``).

A learned compressor maps each input to ``d`` integer symbols :math:`s_j \in \{0, \dots,
L_j - 1\}`, one per latent dimension (``L_j`` may differ between dimensions, e.g. a refinement
model concatenates a base code with a refining code). This module codes them, and nothing else:

- :class:`CategoricalModel` — a factorised categorical model, one pmf per latent dimension,
  fitted on training symbols with additive smoothing (:meth:`CategoricalModel.fit`), storable
  as a zero-padded ``(d, max L)`` array in a checkpoint;
- :func:`encode_symbols` / :func:`decode_symbols` — one ``constriction`` range coder for all
  ``n * d`` symbols;
- :class:`LearnedHeader`, :func:`pack_learned` / :func:`unpack_learned` — the codec header in
  rdlab's container (:mod:`rdlab.coding.container`).

**Payload.** The 32-bit words (little-endian) of one ``constriction.stream.queue.RangeEncoder``.
Symbols in stream order: the ``n`` symbols of latent dimension 0 in input order, then those of
dimension 1, and so on (column-major), each dimension under its own
``constriction.stream.model.Categorical(pmf_j, perfect=False)``. constriction quantises a pmf to
24-bit fixed point, giving each symbol at least :math:`2^{-24}`, so every symbol in range is
encodable. :meth:`CategoricalModel.information_bits` uses those quantised probabilities, so the
payload is within a few 32-bit words of it. A payload is accepted only if it is the exact
encoding of the symbols it decodes to (it is re-encoded and compared), so trailing or altered
words are reported as :class:`~rdlab.coding.container.BitstreamError`.

**Header** (all integers little-endian; ``docs/bitstream.md``, "Learned codec (id 2)")::

    offset     size  field
    0          1     header format    1
    1          1     quantizer        0 "dq", 1 "nq", 2 "uq"
    2          1     input ndim k     <= 8
    3          1     reserved         0
    4          8     n                uint64, number of coded inputs, <= 2^40
    12         8     seed             uint64, shared dither (UQ) / decoder noise (NQ)
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

import hashlib
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.core.validation import PMF_ATOL, check_int, check_positive

LEARNED_CODEC_ID = 2
"""Container codec id of the learned codec (``CODEC_IDS[2] == "learned"``)."""

HEADER_FORMAT = 1
"""Version of the learned-codec header layout; readers reject any other."""

QUANTIZERS = ("dq", "nq", "uq")
"""Quantizer names in the order of their header codes (0, 1, 2). This is wire format, fixed
forever; it holds the names of :data:`rdlab.coding.quantizers.QUANTIZER_KINDS` (checked by
``tests/test_learned_codec.py``) but does not follow that tuple's order."""

MAX_LEVELS = 1 << 16
"""Largest number of levels of one latent dimension."""

MAX_DIM = 1 << 20
"""Largest number of latent dimensions."""

MAX_INPUTS = 1 << 40
"""Largest number of coded inputs in one stream."""

MAX_INPUT_NDIM = 8
"""Largest number of axes of one input."""

MAX_DECODE_SYMBOLS = 1 << 31
"""Largest ``n * d`` that :func:`decode_symbols` allocates."""

PRECISION_BITS = 24
"""Fixed-point precision of constriction's categorical models (``constriction.stream.model``)."""

_SLACK_BITS = 64
"""Bits by which a range-coded payload may fall short of its information content."""

_FIXED = struct.Struct("<BBBBQQ32s")
_RUN = struct.Struct("<II")
_IDENTITY_TAG = b"rdlab.categorical.v1\n"


# -- shared range coding of categorical columns ----------------------------------------------
def _categorical(pmf: np.ndarray):
    import constriction

    return constriction.stream.model.Categorical(np.asarray(pmf, dtype=np.float64), perfect=False)


def _encode_categorical_columns(symbols: np.ndarray, pmfs: Sequence[np.ndarray]) -> bytes:
    """Range-code column ``j`` of ``symbols`` (already checked) under ``pmfs[j]``, column by
    column in one coder; returns the coder's 32-bit words, little-endian."""
    import constriction

    models = [_categorical(p) for p in pmfs]
    enc = constriction.stream.queue.RangeEncoder()
    for j, model in enumerate(models):
        enc.encode(np.ascontiguousarray(symbols[:, j], dtype=np.int32), model)
    return enc.get_compressed().astype("<u4").tobytes()


def _decode_categorical_columns(payload: bytes, n: int, pmfs: Sequence[np.ndarray]) -> np.ndarray:
    """Inverse of :func:`_encode_categorical_columns`: ``(n, len(pmfs))`` int64 symbols.

    ``payload`` must be whole 32-bit words; constriction's exceptions on malformed data are
    passed through (callers translate them).
    """
    import constriction

    models = [_categorical(p) for p in pmfs]
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    dec = constriction.stream.queue.RangeDecoder(words)
    out = np.empty((n, len(models)), dtype=np.int64)
    for j, model in enumerate(models):
        out[:, j] = dec.decode(model, n)
    return out


def _quantized_weights(pmf: np.ndarray) -> np.ndarray:
    """The integer weights (summing to 2^24) constriction gives ``pmf`` with ``perfect=False``.

    Mirrors ``fast_quantized_cdf`` of constriction: the left cumulative of symbol ``i`` is
    ``trunc(c_i * (2^24 - L) / sum(pmf)) + i`` with ``c_i`` the running float64 sum of the
    probabilities before ``i`` (summed left to right, as ``np.cumsum`` does).
    """
    levels = pmf.size
    running = np.cumsum(pmf)
    scale = float((1 << PRECISION_BITS) - levels) / float(running[-1])
    before = np.concatenate([[0.0], running[:-1]])
    left = np.floor(before * scale).astype(np.int64) + np.arange(levels, dtype=np.int64)
    return np.diff(np.append(left, np.int64(1) << PRECISION_BITS))


# -- argument checks -------------------------------------------------------------------------
def _check_levels(levels: object, dim: int | None = None) -> tuple[int, ...]:
    """Levels as a tuple of ints in [2, MAX_LEVELS]; an int is repeated ``dim`` times."""
    if isinstance(levels, bool):
        raise TypeError("levels must be an integer or a sequence of integers, got bool")
    if isinstance(levels, int | np.integer):
        if dim is None:
            raise TypeError("levels must be a sequence of integers here, got a single integer")
        return (check_int("levels", levels, minimum=2, maximum=MAX_LEVELS),) * dim
    if not isinstance(levels, Sequence | np.ndarray) or isinstance(levels, str | bytes):
        raise TypeError(
            f"levels must be an integer or a sequence of integers, got {type(levels).__name__}"
        )
    out = tuple(
        check_int(f"levels[{j}]", v.item() if isinstance(v, np.generic) else v, minimum=2)
        for j, v in enumerate(levels)
    )
    if not out:
        raise ValueError("levels must not be empty")
    if len(out) > MAX_DIM:
        raise ValueError(f"levels must have at most {MAX_DIM} entries, got {len(out)}")
    for j, v in enumerate(out):
        if v > MAX_LEVELS:
            raise ValueError(f"levels[{j}] must be in [2, {MAX_LEVELS}], got {v}")
    if dim is not None and len(out) != dim:
        raise ValueError(
            f"levels has {len(out)} entries but symbols have {dim} columns (one per dimension)"
        )
    return out


def _as_symbol_array(symbols: object) -> np.ndarray:
    arr = np.asarray(symbols)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"symbols must be an integer array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"symbols must be a 2-D array (n, d), got shape {arr.shape}")
    return arr


def _check_symbols(symbols: object, levels: tuple[int, ...]) -> np.ndarray:
    """An int64 array ``(n, len(levels))`` with column ``j`` in ``[0, levels[j])``."""
    arr = _as_symbol_array(symbols)
    if arr.shape[1] != len(levels):
        raise ValueError(
            f"symbols must have shape (n, {len(levels)}) (one column per latent dimension), "
            f"got {arr.shape}"
        )
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        low, high = arr.min(axis=0), arr.max(axis=0)
        bad = np.flatnonzero((low < 0) | (high >= np.asarray(levels)))
        if bad.size:
            j = int(bad[0])
            raise ValueError(
                f"symbols of dimension {j} must be in [0, {levels[j]}), "
                f"got values in [{int(low[j])}, {int(high[j])}]"
            )
    return arr


def _check_bytes(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


def _check_digest(name: str, value: object) -> bytes:
    out = _check_bytes(name, value)
    if len(out) != 32:
        raise ValueError(f"{name} must be a 32-byte SHA-256 digest, got {len(out)} bytes")
    return out


# -- the coding model ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CategoricalModel:
    """Factorised categorical model: one pmf per latent dimension.

    Attributes
    ----------
    pmfs : tuple of ndarray
        ``pmfs[j]`` is a read-only float64 array of length ``levels[j]`` (2 to 2^16), every
        entry > 0, summing to 1 within ``PMF_ATOL``. Stored as given (not renormalised), so
        that :meth:`to_array` / :meth:`from_array` and :meth:`sha256` are exact.

    Two models are equal when their levels and pmfs are bit for bit equal.

    Examples
    --------
    >>> model = CategoricalModel.fit([[0, 2], [0, 1], [1, 2]], (2, 3), pseudocount=1.0)
    >>> model.levels, model.dim
    ((2, 3), 2)
    >>> [round(float(p), 3) for p in model.pmfs[1]]
    [0.167, 0.333, 0.5]
    """

    pmfs: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        if isinstance(self.pmfs, np.ndarray) or not isinstance(self.pmfs, Sequence):
            raise TypeError(
                f"pmfs must be a sequence of 1-D arrays, got {type(self.pmfs).__name__}"
            )
        if not self.pmfs:
            raise ValueError("pmfs must not be empty (one pmf per latent dimension)")
        if len(self.pmfs) > MAX_DIM:
            raise ValueError(f"pmfs must have at most {MAX_DIM} entries, got {len(self.pmfs)}")
        out = []
        for j, pmf in enumerate(self.pmfs):
            name = f"pmfs[{j}]"
            try:
                p = np.array(pmf, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
            if p.ndim != 1 or not 2 <= p.size <= MAX_LEVELS:
                raise ValueError(
                    f"{name} must be a 1-D array of 2 to {MAX_LEVELS} probabilities, "
                    f"got shape {p.shape}"
                )
            if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p > 1):
                raise ValueError(f"{name} entries must lie in (0, 1]; got min {p.min()!r}")
            total = float(np.sum(p))
            if abs(total - 1.0) > PMF_ATOL:
                raise ValueError(f"{name} must sum to 1 within {PMF_ATOL:g}; it sums to {total!r}")
            p.setflags(write=False)
            out.append(p)
        object.__setattr__(self, "pmfs", tuple(out))

    @property
    def levels(self) -> tuple[int, ...]:
        """Number of levels of each latent dimension."""
        return tuple(int(p.size) for p in self.pmfs)

    @property
    def dim(self) -> int:
        """Number of latent dimensions ``d``."""
        return len(self.pmfs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoricalModel):
            return NotImplemented
        return self.levels == other.levels and all(
            np.array_equal(a, b) for a, b in zip(self.pmfs, other.pmfs, strict=True)
        )

    def __hash__(self) -> int:
        return hash(self.sha256())

    @classmethod
    def fit(cls, symbols: object, levels: object, *, pseudocount: float = 0.5) -> CategoricalModel:
        r"""Fit one pmf per column: :math:`p_j(k) = (c_{jk} + a) / (n + a L_j)`.

        Parameters
        ----------
        symbols : array_like of int, shape (n, d)
            Training symbols, ``n >= 1``, column ``j`` in ``[0, levels[j])``.
        levels : int or sequence of d ints
            Levels of each dimension (each >= 2); an int applies to every dimension.
        pseudocount : float
            ``a > 0``; the default 1/2 is the Krichevsky-Trofimov estimator. Keeps every
            probability > 0, so any symbol in range stays encodable.

        Examples
        --------
        >>> CategoricalModel.fit([[0], [0], [0]], 2).pmfs[0].tolist()
        [0.875, 0.125]
        """
        a = check_positive("pseudocount", pseudocount)
        arr = _as_symbol_array(symbols)
        lv = _check_levels(levels, arr.shape[1])
        arr = _check_symbols(arr, lv)
        n = arr.shape[0]
        if n == 0:
            raise ValueError("symbols must not be empty (at least one training row)")
        pmfs = [
            (np.bincount(arr[:, j], minlength=size) + a) / (n + a * size)
            for j, size in enumerate(lv)
        ]
        return cls(tuple(pmfs))

    @cached_property
    def _costs(self) -> tuple[np.ndarray, ...]:
        """``-log2`` of the probabilities the range coder uses (24-bit fixed point)."""
        return tuple(
            PRECISION_BITS - np.log2(_quantized_weights(p).astype(np.float64)) for p in self.pmfs
        )

    def information_bits(self, symbols: object) -> float:
        r"""Ideal code length :math:`\sum_{i,j} -\log_2 q_j(s_{ij})` of a batch, in bits.

        ``q_j`` is the pmf *as the range coder uses it*: constriction's 24-bit fixed-point
        quantisation of ``pmfs[j]`` (``perfect=False``), reproduced exactly, so
        ``8 * len(encode_symbols(symbols, model))`` exceeds this by less than a few 32-bit words.

        Examples
        --------
        >>> model = CategoricalModel((np.array([0.5, 0.25, 0.25]),))
        >>> round(model.information_bits([[0], [1], [2]]), 6)  # 1 + 2 + 2 bits, up to 24-bit rounding
        5.0
        """
        arr = _check_symbols(symbols, self.levels)
        return float(sum(np.sum(c[arr[:, j]]) for j, c in enumerate(self._costs)))

    def to_array(self) -> np.ndarray:
        """The pmfs as one float64 array ``(d, max L)``, row ``j`` zero padded after ``L_j``.

        Examples
        --------
        >>> CategoricalModel((np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5]))).to_array()
        array([[0.5, 0.5, 0. ],
               [0.2, 0.3, 0.5]])
        """
        out = np.zeros((self.dim, max(self.levels)), dtype=np.float64)
        for j, p in enumerate(self.pmfs):
            out[j, : p.size] = p
        return out

    @classmethod
    def from_array(cls, array: object, levels: object) -> CategoricalModel:
        """Inverse of :meth:`to_array`: row ``j`` holds ``levels[j]`` probabilities, then zeros.

        Examples
        --------
        >>> model = CategoricalModel((np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5])))
        >>> CategoricalModel.from_array(model.to_array(), model.levels) == model
        True
        """
        try:
            arr = np.asarray(array, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"array must be an array of real numbers ({exc})") from None
        if arr.ndim != 2:
            raise ValueError(f"array must be a 2-D array (d, max L), got shape {arr.shape}")
        lv = _check_levels(levels, arr.shape[0])
        if arr.shape[1] != max(lv):
            raise ValueError(
                f"array must have shape ({len(lv)}, {max(lv)}) for levels {list(lv)}, "
                f"got {arr.shape}"
            )
        for j, size in enumerate(lv):
            if np.any(arr[j, size:] != 0):
                raise ValueError(
                    f"array row {j} must be zero after its {size} levels (wrong levels?)"
                )
        return cls(tuple(arr[j, :size] for j, size in enumerate(lv)))

    def sha256(self) -> bytes:
        """32-byte SHA-256 of the levels and the pmfs' float64 bytes (stable across runs).

        Digest of ``b"rdlab.categorical.v1\\n"``, ``d`` and each ``L_j`` (uint32 little-endian),
        then each pmf as little-endian float64.

        Examples
        --------
        >>> len(CategoricalModel((np.array([0.5, 0.5]),)).sha256())
        32
        """
        h = hashlib.sha256(_IDENTITY_TAG)
        h.update(struct.pack(f"<I{self.dim}I", self.dim, *self.levels))
        for p in self.pmfs:
            h.update(p.astype("<f8").tobytes())
        return h.digest()


def empirical_entropy_bits(symbols: object, levels: object) -> float:
    r"""Sum over dimensions of the plug-in entropy of each column, in bits per sample.

    :math:`\sum_j H(\hat p_j)` with :math:`\hat p_j` the column's empirical distribution: the
    rate a factorised model fitted on these very symbols (with no smoothing) would need. It is at
    most :math:`\sum_j \log_2 L_j`, and 0 for constant columns.

    Examples
    --------
    >>> empirical_entropy_bits([[0, 1], [1, 1], [2, 1], [3, 1]], (4, 2))
    2.0
    """
    arr = _as_symbol_array(symbols)
    lv = _check_levels(levels, arr.shape[1])
    arr = _check_symbols(arr, lv)
    n = arr.shape[0]
    if n == 0:
        raise ValueError("symbols must not be empty")
    total = 0.0
    for j, size in enumerate(lv):
        counts = np.bincount(arr[:, j], minlength=size)
        p = counts[counts > 0] / n
        total += float(-np.sum(p * np.log2(p)))
    return max(total, 0.0)


# -- payload ---------------------------------------------------------------------------------
def _check_model(model: object) -> CategoricalModel:
    if not isinstance(model, CategoricalModel):
        raise TypeError(f"model must be a CategoricalModel, got {type(model).__name__}")
    return model


def encode_symbols(symbols: object, model: CategoricalModel) -> bytes:
    """Range-code ``(n, d)`` symbols under ``model``; returns the payload (32-bit words).

    All ``n * d`` symbols go through one range coder, dimension by dimension (module docstring).
    An empty batch (``n = 0``) gives an empty payload.

    Examples
    --------
    >>> model = CategoricalModel.fit([[0, 1], [1, 2], [0, 2]], (2, 3))
    >>> payload = encode_symbols([[0, 2], [1, 1]], model)
    >>> len(payload) % 4, decode_symbols(payload, 2, model).tolist()
    (0, [[0, 2], [1, 1]])
    """
    m = _check_model(model)
    arr = _check_symbols(symbols, m.levels)
    return _encode_categorical_columns(arr, m.pmfs)


def decode_symbols(payload: bytes, n: int, model: CategoricalModel) -> np.ndarray:
    """Inverse of :func:`encode_symbols`: the ``(n, d)`` int64 symbols of ``payload``.

    Raises
    ------
    BitstreamError
        The payload is not whole 32-bit words, is too short for ``n`` inputs, fails to decode,
        or is not exactly the encoding of the symbols it decodes to (trailing or altered words).
    """
    data = _check_bytes("payload", payload)
    count = check_int("n", n, minimum=0)
    m = _check_model(model)
    if len(data) % 4:
        raise BitstreamError(
            f"corrupted payload: must be whole 32-bit words, got {len(data)} bytes"
        )
    if count * m.dim > MAX_DECODE_SYMBOLS:
        raise BitstreamError(
            f"{count} inputs of {m.dim} dimensions exceed {MAX_DECODE_SYMBOLS} symbols"
        )
    # every input costs at least the cheapest symbol of each dimension: a count the payload
    # cannot hold is rejected before anything is allocated
    row_bits = float(sum(float(np.min(c)) for c in m._costs))
    if count * row_bits > 8 * len(data) + _SLACK_BITS:
        most = math.floor((8 * len(data) + _SLACK_BITS) / row_bits)
        raise BitstreamError(
            f"corrupted payload: {count} inputs claimed, a {len(data)}-byte payload holds at "
            f"most {most}"
        )
    try:
        out = _decode_categorical_columns(data, count, m.pmfs)
    except Exception as exc:  # constriction reports malformed data in several ways
        raise BitstreamError(f"corrupted payload: does not decode ({exc})") from None
    if out.size:
        high = out.max(axis=0)
        if out.min() < 0 or np.any(high >= np.asarray(m.levels)):
            raise BitstreamError("corrupted payload: decoded symbol out of range")
    if _encode_categorical_columns(out, m.pmfs) != data:
        raise BitstreamError(
            "corrupted payload: it is not the encoding of the symbols it decodes to "
            "(altered, truncated or trailing data, or another model)"
        )
    return out


# -- header and stream -----------------------------------------------------------------------
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
    model_sha256 : bytes
        32 bytes: identity of the model (weights and coding model) that wrote the stream.
    quantizer : {"dq", "nq", "uq"}
    levels : tuple of int
        Levels of each latent dimension, each in [2, 2^16], at most 2^20 dimensions.
    n : int
        Number of coded inputs, 0 <= n <= 2^40.
    seed : int
        ``0 <= seed < 2**64``: seed of the shared dither (UQ) / decoder noise (NQ).
    input_shape : tuple of int
        Shape of one input (at most 8 axes, each >= 1), e.g. ``(1, 28, 28)``.

    Examples
    --------
    >>> h = LearnedHeader(bytes(32), "uq", (3, 3, 8), n=10, seed=7, input_shape=(1, 28, 28))
    >>> raw = h.pack()
    >>> len(raw), LearnedHeader.unpack(raw) == h
    (84, True)
    """

    model_sha256: bytes
    quantizer: str
    levels: tuple[int, ...]
    n: int
    seed: int
    input_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_sha256", _check_digest("model_sha256", self.model_sha256))
        if self.quantizer not in QUANTIZERS:
            raise ValueError(f"quantizer must be one of {QUANTIZERS}, got {self.quantizer!r}")
        object.__setattr__(self, "levels", _check_levels(self.levels))
        object.__setattr__(self, "n", check_int("n", self.n, minimum=0, maximum=MAX_INPUTS))
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

    def pack(self) -> bytes:
        """The header bytes (layout in the module docstring)."""
        fixed = _FIXED.pack(
            HEADER_FORMAT,
            QUANTIZERS.index(self.quantizer),
            len(self.input_shape),
            0,
            self.n,
            self.seed,
            self.model_sha256,
        )
        shape = struct.pack(f"<{len(self.input_shape)}I", *self.input_shape)
        runs = _runs(self.levels)
        body = b"".join(_RUN.pack(c, v) for c, v in runs)
        return fixed + shape + struct.pack("<I", len(runs)) + body

    @classmethod
    def unpack(cls, data: bytes) -> LearnedHeader:
        """Parse :meth:`pack`'s bytes; every field is checked.

        Raises
        ------
        BitstreamError
            Too short or too long, another header format, an unknown quantizer code, a
            non-zero reserved byte, or a field outside its range.
        """
        raw = _check_bytes("data", data)

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
            model_sha256=identity,
            quantizer=QUANTIZERS[q],
            levels=tuple(levels),
            n=n,
            seed=seed,
            input_shape=tuple(shape),
        )


def pack_learned(header: LearnedHeader, payload: bytes) -> bytes:
    """The whole bitstream: ``header`` and ``payload`` in the container as codec 2.

    Examples
    --------
    >>> model = CategoricalModel.fit([[0, 1], [1, 2]], (2, 3))
    >>> header = LearnedHeader(model.sha256(), "dq", model.levels, 1, 0, (4,))
    >>> data = pack_learned(header, encode_symbols([[1, 2]], model))
    >>> h, payload = unpack_learned(data, model_sha256=model.sha256())
    >>> decode_symbols(payload, h.n, model).tolist()
    [[1, 2]]
    """
    if not isinstance(header, LearnedHeader):
        raise TypeError(f"header must be a LearnedHeader, got {type(header).__name__}")
    return pack_container(LEARNED_CODEC_ID, header.pack(), _check_bytes("payload", payload))


def unpack_learned(
    data: bytes, *, model_sha256: bytes | None = None
) -> tuple[LearnedHeader, bytes]:
    """Check the container and parse the header; returns ``(header, payload)``.

    Parameters
    ----------
    data : bytes
        A bitstream written by :func:`pack_learned`.
    model_sha256 : bytes, optional
        Identity of the decoder's model; if given, it must be the one in the header.

    Raises
    ------
    BitstreamError
        Not a valid learned-codec bitstream (foreign, corrupted, truncated, another codec, an
        invalid header), or written by another model than ``model_sha256``.
    """
    expected = None if model_sha256 is None else _check_digest("model_sha256", model_sha256)
    frame = unpack_container(data, codec_id=LEARNED_CODEC_ID)
    header = LearnedHeader.unpack(frame.header)
    if expected is not None and header.model_sha256 != expected:
        raise BitstreamError(
            f"stream was written by model {header.model_sha256.hex()[:16]}…, this model is "
            f"{expected.hex()[:16]}…; decode with the model that encoded it"
        )
    return header, frame.payload


__all__ = [
    "LEARNED_CODEC_ID",
    "QUANTIZERS",
    "CategoricalModel",
    "LearnedHeader",
    "decode_symbols",
    "empirical_entropy_bits",
    "encode_symbols",
    "pack_learned",
    "unpack_learned",
]
