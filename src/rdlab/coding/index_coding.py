r"""Entropy coding of the reverse-channel-coding index K under a truncated Zipf law.

Algorithm 2 of Lei et al. (seed 002) codes the selected index :math:`K \in \{1, \dots, N\}`
with a prefix code for the Zipf law (eq. (27) and the paragraph after it)

.. math:: q(k) \propto k^{-s}, \qquad s = 1 + \frac{1}{C + e^{-1}\log_2 e + 1},
          \qquad k = 1, \dots, N,

where :math:`C` is the rate parameter in bits (the rate of the simulated channel, I(X;Y) or its
estimate R(D)). Two coders are provided, both exact and both decodable from the header values
(C, N) alone:

``"range"`` (batch)
    All indices of a batch go through one ``constriction`` range coder. An index is split into
    its binary exponent ``b = floor(log2 k)`` (a categorical symbol over at most 25 values), a
    sub-bucket of its exponent range (at most 4096 sub-buckets, categorical under the Zipf
    masses) and a low part that is uniform within the sub-bucket (the Zipf law varies by less
    than a factor :math:`(1 + 2^{-12})^s` there). Dense tables therefore never exceed 4096
    entries, which keeps constriction's 24-bit fixed-point models faithful even for
    :math:`N = 2^{24}` (a dense table of :math:`2^{22}` entries would lose a quarter of the
    probability mass to the minimum representable probability, +0.42 bit on the likeliest
    indices, measured). The cost is within a few dozen bits per batch of the information
    content :math:`\sum_i -\log_2 q(K_i)`.

``"prefix"`` (one-shot)
    Each index is coded alone with the canonical Shannon code of the Zipf law, codeword lengths
    :math:`\lceil -\log_2 q(k) \rceil` (so :math:`L(k) < -\log_2 q(k) + 1`, the "+1 bit" of the
    Huffman argument in Lei et al. §V.A), and the codewords are concatenated; the last byte is
    padded with zero bits. A range or ANS coder cannot do this: it emits 32-bit words, so a
    lone index would cost at least 32 bits.

Rates are in bits; :meth:`ZipfLaw.information_bits` gives the ideal code length of an index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rdlab.core.validation import as_float_array, check_in_range, check_int, check_nonnegative

MAX_INDEX = 2**24
"""Largest number of candidates N an index coder accepts."""

MAX_RATE_BITS = 1000.0
"""Largest rate parameter C (bits) of a Zipf law; far beyond what N <= 2**24 can use, and small
enough that the exponent s stays measurably above 1."""

SUB_BUCKET_BITS = 12
"""A binary-exponent range [2^b, 2^(b+1)) is split into at most 2^12 categorical sub-buckets."""

INDEX_CODINGS = ("range", "prefix")
"""Names of the index coders (batch range coder, one-shot prefix code)."""

_E_INV_LOG2E = math.log2(math.e) / math.e


class IndexCodingError(ValueError):
    """A coded index payload is malformed (exhausted, trailing data or out of range)."""


def zipf_exponent(rate_bits: float) -> float:
    r"""Exponent :math:`s = 1 + 1/(C + e^{-1}\log_2 e + 1)` of the Zipf law (eq. (27), Lei et al.).

    Parameters
    ----------
    rate_bits : float
        Rate parameter C >= 0 in bits.

    Examples
    --------
    >>> round(zipf_exponent(0.0), 6)
    1.65328
    """
    c = check_nonnegative("rate_bits", rate_bits)
    return 1.0 + 1.0 / (c + _E_INV_LOG2E + 1.0)


def _hurwitz(s: float, q: np.ndarray) -> np.ndarray:
    from scipy.special import zeta

    return zeta(s, np.asarray(q, dtype=np.float64))


@dataclass(frozen=True)
class ZipfLaw:
    r"""The Zipf law :math:`q(k) \propto k^{-s}` on :math:`\{1, \dots, N\}` (Alg. 2, Lei et al.).

    Parameters
    ----------
    rate_bits : float
        Rate parameter C in bits, 0 <= C <= :data:`MAX_RATE_BITS`; sets the exponent
        (:func:`zipf_exponent`).
    n_candidates : int
        N, 1 <= N <= :data:`MAX_INDEX`.

    Examples
    --------
    >>> law = ZipfLaw(3.0, 1024)
    >>> bool(abs(law.pmf(np.arange(1, 1025)).sum() - 1.0) < 1e-12)
    True
    """

    rate_bits: float
    n_candidates: int

    def __post_init__(self) -> None:
        c = check_in_range("rate_bits", self.rate_bits, 0.0, MAX_RATE_BITS)
        object.__setattr__(self, "rate_bits", c)
        n = check_int("n_candidates", self.n_candidates, minimum=1, maximum=MAX_INDEX)
        object.__setattr__(self, "n_candidates", n)

    @property
    def exponent(self) -> float:
        return zipf_exponent(self.rate_bits)

    @cached_property
    def log2_normalizer(self) -> float:
        """log2 of :math:`\\sum_{k=1}^N k^{-s}`."""
        s = self.exponent
        n = self.n_candidates
        if n <= 4096:
            z = float(np.sum(np.arange(1, n + 1, dtype=np.float64) ** -s))
        else:
            head = float(np.sum(np.arange(1, 4097, dtype=np.float64) ** -s))
            z = head + float(_hurwitz(s, 4097.0) - _hurwitz(s, n + 1.0))
        return math.log2(z)

    def information_bits(self, k: object) -> np.ndarray:
        """Ideal code length :math:`-\\log_2 q(k)` in bits of the indices ``k`` (1-based)."""
        kk = _check_indices(k, self.n_candidates)
        return self.exponent * np.log2(kk.astype(np.float64)) + self.log2_normalizer

    def pmf(self, k: object) -> np.ndarray:
        """:math:`q(k)` of the indices ``k`` (1-based)."""
        return np.exp2(-self.information_bits(k))

    # -- the bucket decomposition used by the range coder ---------------------------------
    @cached_property
    def n_buckets(self) -> int:
        return int(self.n_candidates).bit_length()

    def _bucket_range(self, b: int) -> tuple[int, int]:
        """First index and size of binary-exponent bucket b (truncated at N)."""
        lo = 1 << b
        return lo, min(1 << b, self.n_candidates - lo + 1)

    def _sub_width(self, b: int) -> int:
        return 1 << max(0, b - SUB_BUCKET_BITS)

    def _range_mass(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """:math:`\\sum_{k=first}^{last} k^{-s}` (unnormalised), elementwise."""
        s = self.exponent
        first = np.asarray(first, dtype=np.float64)
        last = np.asarray(last, dtype=np.float64)
        single = first == last
        out = np.where(single, first**-s, 0.0)
        if not np.all(single):
            multi = _hurwitz(s, first) - _hurwitz(s, last + 1.0)
            out = np.where(single, out, multi)
        return out

    @cached_property
    def bucket_probabilities(self) -> np.ndarray:
        lo = np.array([self._bucket_range(b)[0] for b in range(self.n_buckets)], dtype=np.int64)
        size = np.array([self._bucket_range(b)[1] for b in range(self.n_buckets)], dtype=np.int64)
        m = self._range_mass(lo, lo + size - 1)
        return m / m.sum()

    def sub_bucket_layout(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (conditional on bucket b) and widths of b's sub-buckets."""
        lo, size = self._bucket_range(b)
        w = self._sub_width(b)
        n_sub = -(-size // w)
        starts = lo + w * np.arange(n_sub, dtype=np.int64)
        widths = np.minimum(w, lo + size - starts)
        m = self._range_mass(starts, starts + widths - 1)
        return m / m.sum(), widths


def _check_indices(k: object, n_candidates: int) -> np.ndarray:
    arr = np.asarray(k)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 1 or arr.max() > n_candidates):
        raise ValueError(f"indices must lie in [1, {n_candidates}], got [{arr.min()}, {arr.max()}]")
    return arr


# -- batch coder: constriction range coder ---------------------------------------------------
class _Models:
    """constriction models of one Zipf law, built on first use and shared by encoder/decoder."""

    def __init__(self, law: ZipfLaw) -> None:
        import constriction

        self._cs = constriction.stream
        self.law = law
        self._sub: dict[int, tuple[object | None, np.ndarray]] = {}
        p = law.bucket_probabilities
        self.bucket = self._categorical(p) if p.size > 1 else None
        self.uniform = self._cs.model.Uniform()

    def _categorical(self, p: np.ndarray):
        return self._cs.model.Categorical(np.asarray(p, dtype=np.float64), perfect=False)

    def sub(self, b: int) -> tuple[object | None, np.ndarray]:
        if b not in self._sub:
            p, widths = self.law.sub_bucket_layout(b)
            self._sub[b] = (self._categorical(p) if p.size > 1 else None, widths)
        return self._sub[b]


def _split(law: ZipfLaw, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = np.frexp(k.astype(np.float64))[1].astype(np.int64) - 1
    offset = k - (np.int64(1) << b)
    w = np.int64(1) << np.maximum(0, b - SUB_BUCKET_BITS)
    return b, offset // w, offset % w


def encode_indices_range(indices: object, law: ZipfLaw) -> bytes:
    """Code a batch of indices (1-based) with one range coder; returns the payload bytes.

    The payload is the coder's 32-bit words, little-endian; it is empty when every symbol is
    certain (N = 1). Decode with :func:`decode_indices_range` and the same law and count.
    """
    k = _check_indices(indices, law.n_candidates).ravel()
    models = _Models(law)
    enc = models._cs.queue.RangeEncoder()
    b, j, lo = _split(law, k)
    if models.bucket is not None and k.size:
        enc.encode(b.astype(np.int32), models.bucket)
    for bb in np.unique(b):
        cat, _ = models.sub(int(bb))
        if cat is not None:
            enc.encode(j[b == bb].astype(np.int32), cat)
    widths = _low_widths(models, b, j)
    need = widths > 1
    if np.any(need):
        enc.encode(lo[need].astype(np.int32), models.uniform, widths[need].astype(np.int32))
    return enc.get_compressed().astype("<u4").tobytes()


def _low_widths(models: _Models, b: np.ndarray, j: np.ndarray) -> np.ndarray:
    widths = np.ones(b.size, dtype=np.int64)
    for bb in np.unique(b):
        _, w = models.sub(int(bb))
        sel = b == bb
        widths[sel] = w[j[sel]]
    return widths


def decode_indices_range(payload: bytes, law: ZipfLaw, count: int) -> np.ndarray:
    """Inverse of :func:`encode_indices_range`: ``count`` indices (1-based, int64).

    Raises
    ------
    IndexCodingError
        If the payload is not a whole number of 32-bit words, does not decode to valid
        indices, or is not exactly their encoding (it is re-encoded and compared).
    """
    count = check_int("count", count, minimum=0)
    if len(payload) % 4:
        raise IndexCodingError(
            f"range-coded payload must be whole 32-bit words, got {len(payload)} bytes"
        )
    models = _Models(law)
    words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
    try:
        dec = models._cs.queue.RangeDecoder(words)
        if models.bucket is not None and count:
            b = np.asarray(dec.decode(models.bucket, count), dtype=np.int64)
        else:
            b = np.zeros(count, dtype=np.int64)
        if b.size and (b.min() < 0 or b.max() >= law.n_buckets):
            raise IndexCodingError("decoded exponent out of range")
        j = np.zeros(count, dtype=np.int64)
        for bb in np.unique(b):
            cat, _ = models.sub(int(bb))
            sel = b == bb
            if cat is not None:
                j[sel] = np.asarray(dec.decode(cat, int(sel.sum())), dtype=np.int64)
        widths = _low_widths(models, b, j)
        lo = np.zeros(count, dtype=np.int64)
        need = widths > 1
        if np.any(need):
            lo[need] = np.asarray(
                dec.decode(models.uniform, widths[need].astype(np.int32)), dtype=np.int64
            )
    except IndexCodingError:
        raise
    except Exception as exc:  # constriction reports malformed input in several ways
        raise IndexCodingError(f"range-coded payload does not decode: {exc}") from None
    w = np.int64(1) << np.maximum(0, b - SUB_BUCKET_BITS)
    k = (np.int64(1) << b) + j * w + lo
    if k.size and (k.min() < 1 or k.max() > law.n_candidates):
        raise IndexCodingError(f"decoded index out of range [1, {law.n_candidates}]")
    if encode_indices_range(k, law) != bytes(payload):
        # a range decoder reads past the end as zeros: only the exact encoding is accepted, so
        # a missing, altered or trailing word, or another count, is an error
        raise IndexCodingError(
            f"range-coded payload is not the encoding of {count} indices (truncated, altered "
            "or trailing data, or another sample count)"
        )
    return k


# -- one-shot coder: canonical Shannon code of the Zipf law -----------------------------------
@dataclass(frozen=True)
class CanonicalZipfCode:
    """Canonical prefix code with lengths ceil(-log2 q(k)) (plus 1e-9 against rounding).

    ``lengths[i]`` is the codeword length shared by indices ``first_index[i]`` ..
    ``first_index[i] + count[i] - 1`` whose codewords are ``first_code[i]`` onwards.
    """

    lengths: tuple[int, ...]
    first_index: tuple[int, ...]
    count: tuple[int, ...]
    first_code: tuple[int, ...]

    def length_of(self, k: int) -> int:
        for ln, fi, c in zip(self.lengths, self.first_index, self.count, strict=True):
            if fi <= k < fi + c:
                return ln
        raise ValueError(f"index {k} is not in the code")


def canonical_zipf_code(law: ZipfLaw) -> CanonicalZipfCode:
    """Build the canonical Shannon code of ``law`` (at most ~60 length classes)."""
    s = law.exponent
    lz = law.log2_normalizer

    def length(k: int) -> int:
        return max(1, math.ceil(s * math.log2(k) + lz + 1e-9)) if law.n_candidates > 1 else 0

    n = law.n_candidates
    lengths, first_index, count = [], [], []
    k = 1
    while k <= n:
        ln = length(k)
        lo, hi = k, n  # last index with the same length, by bisection (length is monotone)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if length(mid) <= ln:
                lo = mid
            else:
                hi = mid - 1
        lengths.append(ln)
        first_index.append(k)
        count.append(lo - k + 1)
        k = lo + 1
    first_code = []
    code, prev = 0, lengths[0]
    for ln, c in zip(lengths, count, strict=True):
        code <<= ln - prev
        first_code.append(code)
        code += c
        prev = ln
    if code > (1 << prev):  # Kraft's inequality, exactly
        raise RuntimeError("Zipf code lengths violate Kraft's inequality")  # pragma: no cover
    return CanonicalZipfCode(tuple(lengths), tuple(first_index), tuple(count), tuple(first_code))


def encode_indices_prefix(indices: object, law: ZipfLaw) -> tuple[bytes, int]:
    """Code each index alone with the canonical Zipf code; return (payload, number of bits).

    The codewords are concatenated most significant bit first; the last byte is padded with
    zero bits.
    """
    k = _check_indices(indices, law.n_candidates).ravel()
    code = canonical_zipf_code(law)
    parts = []
    pos = np.searchsorted(np.asarray(code.first_index), k, side="right") - 1
    for kk, p in zip(k.tolist(), pos.tolist(), strict=True):
        ln = code.lengths[p]
        if ln:
            parts.append(format(code.first_code[p] + kk - code.first_index[p], f"0{ln}b"))
    bits = "".join(parts)
    n_bits = len(bits)
    if not n_bits:
        return b"", 0
    pad = (-n_bits) % 8
    return int(bits + "0" * pad, 2).to_bytes((n_bits + pad) // 8, "big"), n_bits


def decode_indices_prefix(payload: bytes, law: ZipfLaw, count: int) -> np.ndarray:
    """Inverse of :func:`encode_indices_prefix`: ``count`` indices (1-based, int64).

    Raises
    ------
    IndexCodingError
        If the bits run out, or more than 7 padding bits (or any non-zero padding bit) follow
        the last codeword.
    """
    count = check_int("count", count, minimum=0)
    code = canonical_zipf_code(law)
    if code.lengths == (0,):
        if payload:
            raise IndexCodingError("payload must be empty when N = 1")
        return np.ones(count, dtype=np.int64)
    bits = "".join(format(byte, "08b") for byte in payload)
    total = len(bits)
    out = np.empty(count, dtype=np.int64)
    classes = list(zip(code.lengths, code.first_index, code.count, code.first_code, strict=True))
    pos = 0
    for i in range(count):
        for ln, fi, c, fc in classes:
            if pos + ln > total:
                raise IndexCodingError(f"prefix-coded payload exhausted at index {i} of {count}")
            v = int(bits[pos : pos + ln], 2) - fc
            if 0 <= v < c:
                out[i] = fi + v
                pos += ln
                break
        else:
            raise IndexCodingError(f"invalid codeword at index {i}")
    rest = bits[pos:]
    if len(rest) > 7 or "1" in rest:
        raise IndexCodingError("prefix-coded payload has trailing data after the last index")
    return out


def rcc_guarantee_bits(rate_bits: object) -> float | np.ndarray:
    r"""The rate guarantee of eq. (25), Lei et al.: :math:`R + \log_2(R + 1) + 5` bits.

    Examples
    --------
    >>> rcc_guarantee_bits(1.0)
    7.0
    """
    r = as_float_array("rate_bits", rate_bits)
    if np.any(r < 0):
        raise ValueError(f"rate_bits must be >= 0, got min {r.min()}")
    g = r + np.log2(r + 1.0) + 5.0
    return float(g) if g.ndim == 0 else g


__all__ = [
    "INDEX_CODINGS",
    "MAX_INDEX",
    "MAX_RATE_BITS",
    "CanonicalZipfCode",
    "IndexCodingError",
    "ZipfLaw",
    "canonical_zipf_code",
    "decode_indices_prefix",
    "decode_indices_range",
    "encode_indices_prefix",
    "encode_indices_range",
    "rcc_guarantee_bits",
    "zipf_exponent",
]
