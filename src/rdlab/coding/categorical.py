r"""Factorised categorical coding of integer symbols: the entropy coder of rdlab's quantised codecs.

A quantised codec maps each input to ``d`` integer symbols :math:`s_j \in \{0, \dots, L_j - 1\}`
(``L_j`` may differ between dimensions: a refinement model concatenates a base code with a
refining code; a product quantiser has one index per sub-vector). This module codes them:

- :class:`CategoricalModel` — one pmf per dimension, fitted on training symbols with additive
  smoothing (:meth:`CategoricalModel.fit`), storable as a zero-padded ``(d, max L)`` array;
- :func:`encode_symbols` / :func:`decode_symbols` — one ``constriction`` range coder for all
  ``n * d`` symbols.

**Payload.** The 32-bit words (little-endian) of one ``constriction.stream.queue.RangeEncoder``.
Symbols in stream order: the ``n`` symbols of dimension 0 in input order, then those of
dimension 1, and so on (column-major), each dimension under its own
``constriction.stream.model.Categorical(pmf_j, perfect=False)``. constriction quantises a pmf to
24-bit fixed point, giving each symbol at least :math:`2^{-24}`, so every symbol in range is
encodable. :meth:`CategoricalModel.information_bits` uses those quantised probabilities, so the
payload is within a few 32-bit words of it. A payload is accepted only if it is the exact
encoding of the symbols it decodes to (it is re-encoded and compared), so trailing or altered
words are reported as :class:`~rdlab.coding.container.BitstreamError`.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rdlab.coding.container import BitstreamError
from rdlab.core.validation import PMF_ATOL, check_bytes, check_int, check_positive

MAX_LEVELS = 1 << 16
"""Largest number of levels of one latent dimension."""

MAX_DIM = 1 << 20
"""Largest number of latent dimensions."""

MAX_DECODE_SYMBOLS = 1 << 31
"""Largest ``n * d`` that :func:`decode_symbols` allocates."""

PRECISION_BITS = 24
"""Fixed-point precision of constriction's categorical models (``constriction.stream.model``)."""

_SLACK_BITS = 64
"""Bits by which a range-coded payload may fall short of its information content."""

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
def check_symbol_levels(levels: object, dim: int | None = None) -> tuple[int, ...]:
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


# -- the coding model ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CategoricalModel:
    """Factorised categorical model: one pmf per latent dimension.

    Attributes
    ----------
    pmfs : tuple of ndarray
        ``pmfs[j]`` is a read-only float64 array of length ``levels[j]`` (2 to 2^16), every
        entry > 0, summing to 1 within ``PMF_ATOL``. Stored as given (not renormalised), so
        that :meth:`to_array` / :meth:`from_array` and :meth:`identity` are exact.

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
        return hash(self.identity())

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
        lv = check_symbol_levels(levels, arr.shape[1])
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
        lv = check_symbol_levels(levels, arr.shape[0])
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

    def identity(self) -> bytes:
        """32-byte SHA-256 of the levels and the pmfs' float64 bytes (stable across runs).

        Digest of ``b"rdlab.categorical.v1\\n"``, ``d`` and each ``L_j`` (uint32 little-endian),
        then each pmf as little-endian float64.

        Examples
        --------
        >>> len(CategoricalModel((np.array([0.5, 0.5]),)).identity())
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
    lv = check_symbol_levels(levels, arr.shape[1])
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
    data = check_bytes("payload", payload)
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


__all__ = [
    "MAX_DECODE_SYMBOLS",
    "MAX_DIM",
    "MAX_LEVELS",
    "PRECISION_BITS",
    "CategoricalModel",
    "check_symbol_levels",
    "decode_symbols",
    "empirical_entropy_bits",
    "encode_symbols",
]
