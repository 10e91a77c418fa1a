r"""Reverse channel coding (channel simulation) as a lossy codec: PFR and ORC (seed 002 §V).

Given an output distribution :math:`Q_Y` and a slope, the encoder of Algorithm 2 (Lei et al.)
draws N candidates :math:`Y_1, \dots, Y_N \sim Q_Y` i.i.d. from randomness shared with the
decoder (:mod:`rdlab.coding.rcc.candidates`), weights them with the cumulative weights of
eq. (28), and sends the index K of eq. (29)-(30) (:mod:`rdlab.coding.rcc.selection`); K is
entropy coded under the Zipf law of :mod:`rdlab.coding.index_coding`. For any slope and any
:math:`Q_Y` this simulates the channel :math:`Q_{Y|X=x}(dy) \propto e^{\beta d(x,y)} Q_Y(dy)`
(exactly as N grows); with the optimal :math:`Q_Y^*` at that slope it is the R(D)-achieving
channel.

:class:`RCCCodec` is the codec of the :class:`~rdlab.coding.codec.Codec` interface;
:func:`rcc_encode` and :func:`rcc_decode` are the functions under it, which also return the
indices and the encoder's reconstruction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rdlab.coding.codec import (
    DEFAULT_MAX_DECODE_DRAWS,
    CodecEntry,
    ModelRequiredError,
    check_decode_budget,
    register_codec,
)
from rdlab.coding.container import BitstreamError, pack_container
from rdlab.coding.index_coding import (
    INDEX_CODINGS,
    MAX_RATE_BITS,
    IndexCodingError,
    decode_indices_prefix,
    decode_indices_range,
    encode_indices_prefix,
    encode_indices_range,
    rcc_guarantee_bits,
)
from rdlab.coding.rcc.candidates import DEFAULT_CHUNK_SIZE, check_n_candidates
from rdlab.coding.rcc.header import RCC_CODEC_ID, RCCHeader, read_rcc_header
from rdlab.coding.rcc.output import (
    OutputDistribution,
    gaussian_operating_point,
    output_from_spec,
)
from rdlab.coding.rcc.selection import check_samples, rcc_reconstruct, rcc_select
from rdlab.core.validation import check_in_range, check_seed


@dataclass(frozen=True)
class RCCEncoding:
    """Result of :func:`rcc_encode`.

    Attributes
    ----------
    bitstream : bytes
        The whole container (what is written to disk).
    header : RCCHeader
    indices : ndarray of int64, shape (n,)
    reconstruction : ndarray, shape (n, *event_shape)
        What the decoder will output (bit-identical).
    distortion : float
        Mean of :math:`d(x_i, Y_{K_i})` (squared error summed over the event).
    rate_bits : float
        ``8 * len(bitstream) / n``: bits per sample of the whole file, container included.
    rate_payload_bits : float
        ``8 * len(payload) / n``: the coded indices alone.
    rate_information_bits : float
        Mean ideal code length :math:`-\\log_2 q(K_i)` under the Zipf law.
    """

    bitstream: bytes
    header: RCCHeader
    indices: np.ndarray
    reconstruction: np.ndarray
    distortion: float
    rate_bits: float
    rate_payload_bits: float
    rate_information_bits: float

    @property
    def n_samples(self) -> int:
        """Number of coded samples."""
        return int(self.indices.size)


def rcc_encode(
    x: object,
    q: OutputDistribution,
    *,
    slope: float,
    n_candidates: int,
    seed: int,
    zipf_rate_bits: float,
    method: str = "pfr",
    index_coding: str = "range",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    workers: int = 1,
) -> RCCEncoding:
    """Algorithm 2, Lei et al.: code the rows of ``x`` into one bitstream.

    Parameters
    ----------
    x : array_like, shape (n, *event_shape)
        n >= 1 finite samples.
    q : OutputDistribution
        :math:`Q_Y` (e.g. ``gaussian_operating_point(...).output``).
    slope : float
        dR/dD in bits per unit distortion, < 0 (the paper's :math:`\\beta` is ``slope * ln 2``).
    n_candidates : int
        N, 1 <= N <= 2**24.
    seed : int
        Shared seed (recorded in the header), 0 <= seed < 2**64.
    zipf_rate_bits : float
        Rate parameter C of the Zipf law (the R(D) estimate, bits), 0 <= C <= 1000.
    method : {"pfr", "orc"}
    index_coding : {"range", "prefix"}
        One range coder for the batch, or each index alone with the one-shot prefix code.
    chunk_size : int
        Candidates per chunk (power of two).
    progress : bool
        Show a progress bar.
    workers : int
        Threads that code samples in parallel (the bitstream does not depend on it).

    Examples
    --------
    >>> op = gaussian_operating_point("gaussian:1", distortion=0.25)
    >>> x = np.array([0.3, -1.2, 0.8])
    >>> enc = rcc_encode(x, op.output, slope=op.slope, n_candidates=64, seed=1,
    ...                  zipf_rate_bits=op.rate_bits)
    >>> dec = rcc_decode(enc.bitstream)
    >>> bool(np.array_equal(dec.reconstruction, enc.reconstruction))
    True
    """
    xa = check_samples(x, q)
    if index_coding not in INDEX_CODINGS:
        raise ValueError(f"index_coding must be one of {INDEX_CODINGS}, got {index_coding!r}")
    c = check_in_range("zipf_rate_bits", zipf_rate_bits, 0.0, MAX_RATE_BITS)
    sel = rcc_select(
        xa,
        q,
        slope=slope,
        n_candidates=n_candidates,
        seed=seed,
        method=method,
        chunk_size=chunk_size,
        progress=progress,
        workers=workers,
    )
    header = RCCHeader(
        method=method,
        index_coding=index_coding,
        chunk_size=int(chunk_size),
        distortion_measure="squared_error",
        seed=int(seed),
        n_candidates=int(n_candidates),
        slope=float(slope),
        zipf_rate_bits=c,
        n_samples=int(xa.shape[0]),
        event_shape=tuple(int(s) for s in q.event_shape),
        output_identity=q.identity(),
        output_spec=q.spec(),
    )
    law = header.zipf_law
    if index_coding == "range":
        payload = encode_indices_range(sel.indices, law)
    else:
        payload, _ = encode_indices_prefix(sel.indices, law)
    data = pack_container(RCC_CODEC_ID, header.to_bytes(), payload)
    n = xa.shape[0]
    return RCCEncoding(
        bitstream=data,
        header=header,
        indices=sel.indices,
        reconstruction=sel.reconstruction,
        distortion=float(sel.distortion.mean()),
        rate_bits=8.0 * len(data) / n,
        rate_payload_bits=8.0 * len(payload) / n,
        rate_information_bits=float(law.information_bits(sel.indices).mean()),
    )


@dataclass(frozen=True)
class RCCDecoding:
    """Result of :func:`rcc_decode`: the reconstruction, the indices and the header."""

    reconstruction: np.ndarray
    indices: np.ndarray
    header: RCCHeader


SAMPLE_COST_DRAWS = 1024
"""What rebuilding one sample costs besides its candidates, in random draws (about 15 µs of
seeding and bookkeeping, as much as a thousand draws take)."""


def decode_budget(header: RCCHeader, workers: int = 1) -> tuple[int, int]:
    """``(bytes, draws)`` decoding a stream with this header needs: the indices, the
    reconstructions and ``workers`` chunks of candidates in float64; the random numbers drawn
    to rebuild one chunk per sample, plus :data:`SAMPLE_COST_DRAWS` per sample."""
    elements = math.prod(header.event_shape) if header.event_shape else 1
    chunk = min(header.chunk_size, header.n_candidates)
    n = header.n_samples
    memory = 8 * n * (1 + elements) + 8 * workers * chunk * (1 + elements)
    return memory, n * (chunk * elements + SAMPLE_COST_DRAWS)


def _check_budget(
    header: RCCHeader, workers: int, max_memory_bytes: int | None, max_draws: int | None
) -> None:
    memory, draws = decode_budget(header, workers)
    what = f"this reverse-channel-coding stream ({header.n_samples} samples)"
    check_decode_budget(what, memory, max_memory_bytes)
    check_decode_budget(
        what,
        draws,
        DEFAULT_MAX_DECODE_DRAWS if max_draws is None else max_draws,
        unit="random draws",
        flag="--max-draws",
    )


def _read_checked(data: bytes, max_memory_bytes: int | None) -> tuple[RCCHeader, bytes]:
    """The header and payload, once the payload can hold the header's sample count and their
    indices fit the memory budget (nothing is decoded or allocated yet)."""
    header, payload = read_rcc_header(data)
    if header.n_candidates > 1:
        # every index costs at least -log2 q(1) bits (> 0.39 bit): a header that claims more
        # samples than the payload can hold is rejected before anything is allocated
        most = (8 * len(payload) + 96) / (0.99 * header.zipf_law.log2_normalizer) + 16
        if header.n_samples > most:
            raise BitstreamError(
                f"header claims {header.n_samples} samples; a {len(payload)}-byte payload "
                f"holds at most {int(most)}"
            )
    # with one candidate the indices cost nothing: only the budget bounds the sample count
    check_decode_budget(
        f"this reverse-channel-coding stream ({header.n_samples} samples)",
        8 * header.n_samples,
        max_memory_bytes,
    )
    return header, payload


def _decode_indices(header: RCCHeader, payload: bytes) -> np.ndarray:
    try:
        if header.index_coding == "range":
            return decode_indices_range(payload, header.zipf_law, header.n_samples)
        return decode_indices_prefix(payload, header.zipf_law, header.n_samples)
    except IndexCodingError as exc:
        raise BitstreamError(f"corrupted payload: {exc}") from None


def rcc_decode_indices(
    data: bytes, *, max_memory_bytes: int | None = None
) -> tuple[RCCHeader, np.ndarray]:
    """The header and the indices K (1-based, int64) of a stream; no :math:`Q_Y` is needed.

    Raises
    ------
    BitstreamError
        Invalid, corrupted or truncated stream, a payload that does not hold exactly the
        header's number of indices, or more samples than ``max_memory_bytes`` (1 GiB by
        default) holds.
    """
    header, payload = _read_checked(data, max_memory_bytes)
    return header, _decode_indices(header, payload)


def rcc_decode(
    data: bytes,
    q: OutputDistribution | None = None,
    *,
    progress: bool = False,
    workers: int = 1,
    max_memory_bytes: int | None = None,
    max_draws: int | None = None,
) -> RCCDecoding:
    """Algorithm 3, Lei et al.: rebuild :math:`Y_{K_i}` of every sample in ``data``.

    Parameters
    ----------
    data : bytes
        A bitstream written by :func:`rcc_encode`.
    q : OutputDistribution, optional
        :math:`Q_Y`. If omitted it is rebuilt from the header (closed-form kinds only). Its
        identity must match the one in the header.
    progress : bool
        Show a progress bar.
    workers : int
        Threads that rebuild samples in parallel.
    max_memory_bytes, max_draws : int, optional
        What the decoder may allocate (default 1 GiB) and how many random numbers it may draw
        (default :data:`~rdlab.coding.codec.DEFAULT_MAX_DECODE_DRAWS`); a header that asks for
        more is refused before anything is allocated.

    Raises
    ------
    BitstreamError
        Invalid, corrupted or truncated stream, a ``q`` other than the encoder's, or a stream
        over the budgets.
    """
    header, payload = _read_checked(data, max_memory_bytes)
    _check_budget(header, int(workers), max_memory_bytes, max_draws)
    if q is None:
        try:
            q = output_from_spec(header.output_spec)
        except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
            raise BitstreamError(f"cannot rebuild Q_Y from the header: {exc}") from None
    elif not isinstance(q, OutputDistribution):
        raise TypeError(f"q must be an OutputDistribution, got {type(q).__name__}")
    if header.output_identity not in (q.identity(), *getattr(q, "legacy_identities", ())):
        raise BitstreamError(
            "wrong Q_Y for this bitstream: it was encoded with output distribution "
            f"{header.output_identity.hex()[:16]}…, the decoder has {q.identity().hex()[:16]}…"
        )
    if tuple(q.event_shape) != header.event_shape:
        raise BitstreamError(
            f"Q_Y event shape {tuple(q.event_shape)} does not match the header's "
            f"{header.event_shape}"
        )
    k = _decode_indices(header, payload)
    y = rcc_reconstruct(
        q,
        k,
        n_candidates=header.n_candidates,
        seed=header.seed,
        chunk_size=header.chunk_size,
        progress=progress,
        workers=workers,
    )
    return RCCDecoding(reconstruction=y, indices=k, header=header)


class RCCCodec:
    r"""Reverse channel coding behind the :class:`~rdlab.coding.codec.Codec` interface.

    Parameters
    ----------
    q : OutputDistribution
        :math:`Q_Y`: :class:`~rdlab.coding.rcc.output.GaussianOutput` (closed form; streams then
        decode with no model) or a trained generator (:func:`rdlab.coding.rcc.nerd.nerd_output`).
    slope : float
        dR/dD in bits per unit distortion, < 0 (:math:`\beta` = ``slope * ln 2`` nats).
    n_candidates : int
        N, 1 <= N <= 2**24.
    zipf_rate_bits : float
        Rate parameter C of the Zipf law of the index (the R(D) estimate, bits per sample).
    method : {"pfr", "orc"}
    index_coding : {"range", "prefix"}
        One range coder for the batch, or each index alone with the one-shot prefix code.
    chunk_size : int
        Candidates per chunk (power of two).
    workers : int
        Threads that code samples in parallel (the bitstream does not depend on it).
    progress : bool
        Show progress bars.
    max_memory_bytes, max_draws : int, optional
        Decoding budgets (:func:`rcc_decode`).

    Examples
    --------
    >>> codec = RCCCodec.gaussian("gaussian:1", distortion=0.25, n_candidates=64)
    >>> data = codec.encode(np.array([0.3, -1.2, 0.8]), seed=7)
    >>> len(data), codec.decode(data).shape
    (177, (3,))
    >>> round(codec.rate_bound_bits, 3)  # R + log2(R + 1) + 5 at R(D) = 1 bit
    7.0

    References
    ----------
    E. Lei, H. Hassani, S. Saeedi Bidokhti, "Neural Estimation of the Rate-Distortion Function
    With Applications to Operational Source Coding", IEEE JSAIT 2022, Algorithms 2-3, eq. (25).
    """

    name = "rcc"
    codec_id = RCC_CODEC_ID
    distortion_measure = "squared_error"

    def __init__(
        self,
        q: OutputDistribution,
        *,
        slope: float,
        n_candidates: int,
        zipf_rate_bits: float,
        method: str = "pfr",
        index_coding: str = "range",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        workers: int = 1,
        progress: bool = False,
        max_memory_bytes: int | None = None,
        max_draws: int | None = None,
    ) -> None:
        if not isinstance(q, OutputDistribution):
            raise TypeError(f"q must be an OutputDistribution, got {type(q).__name__}")
        if index_coding not in INDEX_CODINGS:
            raise ValueError(f"index_coding must be one of {INDEX_CODINGS}, got {index_coding!r}")
        self.q = q
        self.slope = float(slope)
        self.n_candidates = check_n_candidates(n_candidates)
        self.zipf_rate_bits = check_in_range("zipf_rate_bits", zipf_rate_bits, 0.0, MAX_RATE_BITS)
        self.method = method
        self.index_coding = index_coding
        self.chunk_size = chunk_size
        self.workers = workers
        self.progress = bool(progress)
        self.max_memory_bytes = max_memory_bytes
        self.max_draws = max_draws

    @classmethod
    def gaussian(
        cls,
        source: object,
        *,
        distortion: float | None = None,
        slope: float | None = None,
        n_candidates: int | None = None,
        **options: Any,
    ) -> RCCCodec:
        r"""The codec with the exact R(D)-optimal :math:`Q_Y^*` of a Gaussian source.

        ``source`` and ``distortion`` / ``slope`` are those of
        :func:`~rdlab.coding.rcc.output.gaussian_operating_point`; ``n_candidates`` defaults
        to :math:`2^{\lceil R(D) \rceil + 6}` (at most 2**24).
        """
        op = gaussian_operating_point(source, slope=slope, distortion=distortion)
        n = default_n_candidates(op.rate_bits) if n_candidates is None else n_candidates
        return cls(
            op.output, slope=op.slope, n_candidates=n, zipf_rate_bits=op.rate_bits, **options
        )

    @property
    def rate_bound_bits(self) -> float:
        """R + log2(R + 1) + 5 bits per sample at R = ``zipf_rate_bits`` (eq. (25))."""
        return float(rcc_guarantee_bits(self.zipf_rate_bits))

    @property
    def legacy_identities(self) -> tuple[bytes, ...]:
        """Identities older rdlab versions gave this codec's :math:`Q_Y` (their streams decode
        too)."""
        return tuple(getattr(self.q, "legacy_identities", ()))

    def identity(self) -> bytes:
        """The identity of :math:`Q_Y`."""
        return self.q.identity()

    def check_input(self, x: object) -> np.ndarray:
        """``x`` as a finite float64 batch ``(n, *event_shape)`` of at least one sample."""
        return check_samples(x, self.q)

    def encode_details(self, x: object, *, seed: int = 0) -> RCCEncoding:
        """:func:`rcc_encode` with this codec's settings (indices and reconstruction too)."""
        return rcc_encode(
            x,
            self.q,
            slope=self.slope,
            n_candidates=self.n_candidates,
            seed=check_seed(seed),
            zipf_rate_bits=self.zipf_rate_bits,
            method=self.method,
            index_coding=self.index_coding,
            chunk_size=self.chunk_size,
            progress=self.progress,
            workers=self.workers,
        )

    def encode(self, x: object, *, seed: int = 0) -> bytes:
        """One bitstream of the samples ``x``; ``seed`` seeds the candidate streams."""
        return self.encode_details(x, seed=seed).bitstream

    def decode(self, data: bytes) -> np.ndarray:
        """The reconstructions :math:`Y_{K_i}` of a stream coded with this :math:`Q_Y`."""
        return rcc_decode(
            data,
            self.q,
            progress=self.progress,
            workers=self.workers,
            max_memory_bytes=self.max_memory_bytes,
            max_draws=self.max_draws,
        ).reconstruction

    def stream_rates(self, data: bytes) -> dict[str, float]:
        """``rate_information_bits`` (Zipf information content of the indices) and
        ``rate_one_shot_bits`` (each index alone with the one-shot prefix code), bits per sample.
        """
        header, k = rcc_decode_indices(data, max_memory_bytes=self.max_memory_bytes)
        _, one_shot = encode_indices_prefix(k, header.zipf_law)
        return {
            "rate_information_bits": float(header.zipf_law.information_bits(k).mean()),
            "rate_one_shot_bits": one_shot / k.size,
        }

    def __repr__(self) -> str:
        return (
            f"RCCCodec({self.method}, N={self.n_candidates}, slope={self.slope:.4g}, "
            f"q={self.identity().hex()[:12]})"
        )


def default_n_candidates(rate_bits: float) -> int:
    """N = 2^(ceil(R) + 6), at most 2**24: enough candidates at R bits (Fig. 14, Lei et al.).

    Examples
    --------
    >>> default_n_candidates(1.0), default_n_candidates(2.5)
    (128, 512)
    """
    r = check_in_range("rate_bits", rate_bits, 0.0, MAX_RATE_BITS)
    return 2 ** min(24, int(np.ceil(r - 1e-9)) + 6)


def _codec_from_header(
    header: RCCHeader,
    *,
    workers: int = 1,
    progress: bool = False,
    max_memory_bytes: int | None = None,
) -> RCCCodec:
    if header.output_spec.get("kind") == "generator":
        run = header.output_spec.get("run")
        raise ModelRequiredError(
            "this stream was coded with a learned Q_Y"
            + (f" (NERD run {run!r})" if isinstance(run, str) else "")
            + f", identity {header.output_identity.hex()[:16]}…; pass its NERD run directory "
            "as the model (--model RUN_DIR)"
        )
    try:
        q = output_from_spec(header.output_spec)
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as exc:
        raise BitstreamError(f"cannot rebuild Q_Y from the header: {exc}") from None
    return RCCCodec(
        q,
        slope=header.slope,
        n_candidates=header.n_candidates,
        zipf_rate_bits=header.zipf_rate_bits,
        method=header.method,
        index_coding=header.index_coding,
        chunk_size=header.chunk_size,
        workers=workers,
        progress=progress,
        max_memory_bytes=max_memory_bytes,
    )


register_codec(
    CodecEntry(
        codec_id=RCC_CODEC_ID,
        name="rcc",
        summary="reverse channel coding (PFR / ORC) of samples with an output law Q_Y",
        read_header=RCCHeader.from_bytes,
        from_header=_codec_from_header,
        model_term="Q_Y",
    )
)


__all__ = [
    "SAMPLE_COST_DRAWS",
    "RCCCodec",
    "RCCDecoding",
    "RCCEncoding",
    "decode_budget",
    "default_n_candidates",
    "rcc_decode",
    "rcc_decode_indices",
    "rcc_encode",
]
