r"""One interface for every rdlab codec: build (or train) once, then bytes out and bytes in.

A **codec** (:class:`Codec`) is an object made once — from a closed form, a trained model or a
fitted quantiser — that turns a batch of samples into one self-contained bitstream and back:

>>> from rdlab.coding.rcc import RCCCodec
>>> codec = RCCCodec.gaussian("gaussian:1", distortion=0.25, n_candidates=64)
>>> data = codec.encode(np.array([0.3, -1.2, 0.8]), seed=1)
>>> codec.decode(data).shape
(3,)

The shared randomness (candidate streams, dither, decoder noise, sampled codewords) is seeded
by ``seed`` and the seed is written into the header, so the decoder needs nothing but the
stream and, where the stream names one, the model that wrote it. Every stream is an rdlab
container (:mod:`rdlab.coding.container`) whose codec id says which codec wrote it; this
module keeps the registry of codecs by id and by name (:func:`codec_entry`) and reads any
stream's header (:func:`read_stream`), which is what ``rdlab info`` and ``rdlab decode`` use.

:func:`measure_codec` turns a codec and a batch into a :class:`CodecReport`: the rate four ways
and the distortion under the codec's measure, each under its glossary name
(:mod:`rdlab.core.glossary`):

- ``rate_bits`` — 8 · (bytes of the whole file) / samples: what a user pays;
- ``rate_payload_bits`` — the same without the container and the header;
- ``rate_information_bits`` — the information content of the sent symbols under the codec's
  coding model (the ideal an entropy coder approaches);
- ``rate_bound_bits`` — the codec's own bound (``d · log2 L`` for a quantised code,
  ``R + log2(R + 1) + 5`` for reverse channel coding, eq. (25) of Lei et al.).

References
----------
J. Bégaint et al., "CompressAI: a PyTorch library and evaluation platform for end-to-end
compression research", 2020 (``compress`` / ``decompress``). R. Flamary et al., "POT: Python
Optimal Transport", JMLR 2021 (typed results of a unified solver).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rdlab.coding.container import CODEC_IDS, BitstreamError, Container, unpack_container
from rdlab.core.distortion import check_distortion_measure, per_sample_distortion
from rdlab.core.results import jsonable


@runtime_checkable
class Codec(Protocol):
    """What every rdlab codec offers.

    Attributes
    ----------
    name : str
        Its readable name in the registry (``"rcc"``, ``"learned"``, ``"pq"``).
    codec_id : int
        Its container codec id (fixed forever, :data:`~rdlab.coding.container.CODEC_IDS`).
    distortion_measure : str
        The measure under which its reconstructions are judged (a key of
        :data:`~rdlab.core.distortion.DISTORTION_MEASURES`).
    rate_bound_bits : float or None
        The codec's own bound on the rate in bits per sample, where it has one.
    legacy_identities : tuple of bytes, optional
        Identities older rdlab versions gave the same model (rdlab 0.2 named a learned model
        by its file's SHA-256): streams that name one decode too. Codecs without it accept
        :meth:`identity` only.

    Methods
    -------
    identity()
        32 bytes naming the model (the SHA-256 written into every stream it encodes).
    check_input(x)
        ``x`` as the codec codes it (checked, converted): distortions are measured against it.
    encode(x, *, seed)
        One bitstream of the batch ``x``; ``seed`` (0 <= seed < 2**64) seeds the shared
        randomness and is written in the header.
    decode(data)
        The reconstructions of a stream this codec's model wrote; raises
        :class:`~rdlab.coding.container.BitstreamError` on anything else.
    stream_rates(data)
        Rates of a stream in bits per sample beyond what its size tells: at least
        ``rate_information_bits``; codec-specific ones under their glossary names.
    """

    name: str
    codec_id: int
    distortion_measure: str

    @property
    def rate_bound_bits(self) -> float | None: ...

    def identity(self) -> bytes: ...

    def check_input(self, x: object) -> np.ndarray: ...

    def encode(self, x: object, *, seed: int = 0) -> bytes: ...

    def decode(self, data: bytes) -> np.ndarray: ...

    def stream_rates(self, data: bytes) -> dict[str, float]: ...


# -- decode budgets ----------------------------------------------------------------------------

DEFAULT_MAX_DECODE_BYTES = 1 << 30
"""Memory a decoder may allocate for one stream unless the caller allows more (1 GiB)."""

DEFAULT_MAX_DECODE_DRAWS = 1 << 27
"""Random numbers reverse channel coding may draw to rebuild one stream's candidates unless
the caller allows more (about 1.3e8; a draw takes 15-30 ns on one core, so at most about 4 s)."""


def check_decode_budget(
    what: str, need: int, limit: int | None, unit: str = "bytes", flag: str = "--max-memory"
) -> None:
    """Refuse, before allocating or looping, a stream whose header asks for more than ``limit``.

    Raises
    ------
    BitstreamError
        ``need > limit``: the message says how much the header asks for and how to allow it.
    """
    cap = DEFAULT_MAX_DECODE_BYTES if limit is None else int(limit)
    if need > cap:
        size = f"{need / 2**30:.2f} GiB" if unit == "bytes" else f"{need:.3g} {unit}"
        lim = f"{cap / 2**30:.2f} GiB" if unit == "bytes" else f"{cap:.3g} {unit}"
        raise BitstreamError(
            f"{what} needs {size} to decode, over the limit of {lim}: a hostile or damaged "
            f"header, or a stream larger than expected (allow it with {flag})"
        )


# -- registry ----------------------------------------------------------------------------------


class ModelRequiredError(BitstreamError):
    """A stream can only be decoded with the model that wrote it, and none was given."""


@dataclass(frozen=True)
class CodecEntry:
    """A registered codec: its container id, its name and how to read its header.

    Attributes
    ----------
    codec_id : int
        Container codec id, as fixed in :data:`~rdlab.coding.container.CODEC_IDS`.
    name : str
        Readable name (the same as ``CODEC_IDS[codec_id]``).
    summary : str
        One line for ``rdlab info`` and the docs.
    read_header : callable
        ``read_header(raw_header_bytes) -> header``; the header has ``n_samples``,
        ``model_identity`` (32 bytes), ``to_dict()`` (glossary keys) and ``to_bytes()``.
    from_header : callable
        ``from_header(header, *, workers, progress, max_memory_bytes) -> Codec`` for a stream
        that names everything its decoder needs (a closed-form output law); raises :class:`ModelRequiredError` saying which model file
        to pass when the stream needs a trained model.
    model_term : str
        What the codec calls its model in messages (``"model"``, ``"Q_Y"``, ``"quantiser"``).
    """

    codec_id: int
    name: str
    summary: str
    read_header: Callable[[bytes], Any]
    from_header: Callable[..., Codec]
    model_term: str = "model"


_BY_ID: dict[int, CodecEntry] = {}
_BY_NAME: dict[str, CodecEntry] = {}


def register_codec(entry: CodecEntry) -> CodecEntry:
    """Add a codec to the registry; its id and name must be the pair fixed in ``CODEC_IDS``."""
    if CODEC_IDS.get(entry.codec_id) != entry.name:
        raise ValueError(
            f"codec {entry.name!r} must use the id fixed for it in CODEC_IDS, got {entry.codec_id}"
        )
    if entry.codec_id in _BY_ID:
        raise ValueError(f"codec id {entry.codec_id} ({entry.name!r}) is registered twice")
    _BY_ID[entry.codec_id] = entry
    _BY_NAME[entry.name] = entry
    return entry


def codec_entry(key: int | str) -> CodecEntry:
    """The registered codec of a container id or a name.

    Examples
    --------
    >>> codec_entry("rcc").codec_id, codec_entry(2).name
    (1, 'learned')
    """
    table: Mapping[Any, CodecEntry] = _BY_NAME if isinstance(key, str) else _BY_ID
    if key not in table:
        known = ", ".join(f"{e.name} ({e.codec_id})" for e in registered_codecs())
        raise ValueError(f"unknown codec {key!r}; registered: {known}")
    return table[key]


def registered_codecs() -> list[CodecEntry]:
    """Every registered codec, by id."""
    return [_BY_ID[k] for k in sorted(_BY_ID)]


@dataclass(frozen=True)
class Stream:
    """A checked stream: its codec, parsed header, payload and size.

    ``to_dict()`` is what ``rdlab info --json`` prints.
    """

    entry: CodecEntry
    header: Any
    payload: bytes
    bitstream_bytes: int
    version: int

    def to_dict(self) -> dict[str, Any]:
        n = int(self.header.n_samples)
        return jsonable(
            {
                "codec": self.entry.name,
                "codec_id": self.entry.codec_id,
                "format_version": self.version,
                "bitstream_bytes": self.bitstream_bytes,
                "payload_bytes": len(self.payload),
                "n_samples": n,
                "rate_bits": 8.0 * self.bitstream_bytes / n if n else None,
                "rate_payload_bits": 8.0 * len(self.payload) / n if n else None,
                **self.header.to_dict(),
            }
        )


def read_stream(data: bytes, *, codec: int | str | None = None) -> Stream:
    """Check the container and parse the codec's header of any rdlab stream.

    Parameters
    ----------
    data : bytes
        A whole bitstream.
    codec : int or str, optional
        If given, the stream must belong to this codec (id or name).

    Raises
    ------
    BitstreamError
        Not an rdlab stream, corrupted, truncated, another codec than ``codec``, or an invalid
        codec header.
    """
    expected = None if codec is None else codec_entry(codec).codec_id
    frame: Container = unpack_container(data, codec_id=expected)
    entry = codec_entry(frame.codec_id)
    header = entry.read_header(frame.header)
    return Stream(entry, header, frame.payload, len(data), frame.version)


def decoder_for(
    data: bytes,
    model: Codec | None = None,
    *,
    workers: int = 1,
    progress: bool = False,
    max_memory_bytes: int | None = None,
) -> Codec:
    """The codec that decodes ``data``: ``model`` (checked against the stream's model identity),
    or one rebuilt from the header when the stream names everything its decoder needs
    (``workers``, ``progress`` and ``max_memory_bytes`` go to a codec rebuilt from the header).

    Raises
    ------
    ModelRequiredError
        The stream needs a trained model and ``model`` is None (the message says which).
    BitstreamError
        ``model`` is another codec or another model than the one that wrote the stream.
    """
    stream = read_stream(data)
    if model is None:
        return stream.entry.from_header(
            stream.header, workers=workers, progress=progress, max_memory_bytes=max_memory_bytes
        )
    if not isinstance(model, Codec):
        raise TypeError(f"model must be a Codec, got {type(model).__name__}")
    if model.codec_id != stream.entry.codec_id:
        raise BitstreamError(
            f"the stream was written by codec {stream.entry.name!r}; the model given is a "
            f"{model.name!r} codec"
        )
    written = stream.header.model_identity
    if written not in (model.identity(), *getattr(model, "legacy_identities", ())):
        term = stream.entry.model_term
        raise BitstreamError(
            f"wrong {term} for this bitstream: it was written by {term} {written.hex()[:16]}…, "
            f"the {term} given is {model.identity().hex()[:16]}…; decode with the {term} that "
            "encoded it"
        )
    return model


# -- a measured operating point ------------------------------------------------------------------


@dataclass(frozen=True)
class CodecReport:
    """A codec's measured operating point on one batch (:func:`measure_codec`).

    Attributes
    ----------
    codec : str
        Registry name of the codec.
    n_samples : int
        Samples coded.
    bitstream_bytes : int
        Size of the whole stream.
    rate_bits : float
        ``8 * bitstream_bytes / n_samples``: bits per sample of the whole file.
    rate_payload_bits : float
        Bits per sample of the payload alone (no container, no header).
    rate_information_bits : float
        Information content of the sent symbols under the codec's coding model, bits per sample.
    rate_bound_bits : float or None
        The codec's own bound, bits per sample.
    distortion : float
        Mean distortion per sample between the input and the decoded stream, in
        ``distortion_measure``.
    distortion_stderr : float or None
        Standard error of ``distortion`` (None for one sample).
    distortion_measure : str
        Key of :data:`~rdlab.core.distortion.DISTORTION_MEASURES`.
    encode_seconds, decode_seconds : float
        Wall-clock time of the encoder and of the decoder on the batch.
    round_trip_identical : bool or None
        For a codec whose encoder knows its reconstruction (``encode_details``, as reverse
        channel coding): whether the decoder rebuilt it bit for bit (it must; otherwise
        :func:`measure_codec` raises). None for other codecs.
    extra_rates : mapping
        Codec-specific rates in bits per sample (e.g. ``rate_one_shot_bits``).
    bitstream : bytes or None
        The stream that was measured, when :func:`measure_codec` was asked to keep it (not
        part of :meth:`to_dict`).
    """

    codec: str
    n_samples: int
    bitstream_bytes: int
    rate_bits: float
    rate_payload_bits: float
    rate_information_bits: float
    rate_bound_bits: float | None
    distortion: float
    distortion_stderr: float | None
    distortion_measure: str
    encode_seconds: float
    decode_seconds: float
    round_trip_identical: bool | None = None
    extra_rates: Mapping[str, float] = field(default_factory=dict)
    bitstream: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_distortion_measure(self.distortion_measure)
        object.__setattr__(self, "extra_rates", MappingProxyType(dict(self.extra_rates)))

    def to_dict(self) -> dict[str, Any]:
        """The report as one flat JSON-ready dict in the glossary's keys."""
        skip = ("extra_rates", "bitstream")
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in skip}
        return jsonable({**out, **self.extra_rates})


def measure_codec(
    codec: Codec, x: object, *, seed: int = 0, keep_bitstream: bool = False
) -> CodecReport:
    """Encode ``x``, decode the bytes, and measure the rates and the distortion.

    The distortion is measured between :meth:`Codec.check_input` of ``x`` and the decoder's
    output, so it is what a user of the file gets. ``keep_bitstream`` keeps the stream in
    :attr:`CodecReport.bitstream` (e.g. to write it to a file).

    Examples
    --------
    >>> from rdlab.coding.rcc import RCCCodec
    >>> codec = RCCCodec.gaussian("gaussian:1", distortion=0.25, n_candidates=64)
    >>> x = np.random.default_rng(0).standard_normal(200)
    >>> r = measure_codec(codec, x, seed=3)
    >>> r.rate_bits > r.rate_payload_bits > 0, r.distortion_measure
    (True, 'squared_error')
    """
    if not isinstance(codec, Codec):
        raise TypeError(f"codec must be a Codec, got {type(codec).__name__}")
    xa = codec.check_input(x)
    if xa.shape[0] < 1:
        raise ValueError("x must hold at least one sample to measure a codec")
    start = time.perf_counter()
    details = getattr(codec, "encode_details", None)
    encoded = details(xa, seed=seed) if details is not None else None
    data = encoded.bitstream if encoded is not None else codec.encode(xa, seed=seed)
    encode_seconds = time.perf_counter() - start
    start = time.perf_counter()
    x_hat = codec.decode(data)
    decode_seconds = time.perf_counter() - start
    identical = None
    if encoded is not None:
        identical = np.asarray(x_hat).tobytes() == np.asarray(encoded.reconstruction).tobytes()
        if not identical:
            raise RuntimeError("the decoder did not rebuild the encoder's reconstruction")
    stream = read_stream(data, codec=codec.codec_id)
    n = int(stream.header.n_samples)
    d = per_sample_distortion(xa, x_hat, codec.distortion_measure)
    rates = dict(codec.stream_rates(data))
    info = rates.pop("rate_information_bits")
    return CodecReport(
        codec=codec.name,
        n_samples=n,
        bitstream_bytes=len(data),
        rate_bits=8.0 * len(data) / n,
        rate_payload_bits=8.0 * len(stream.payload) / n,
        rate_information_bits=float(info),
        rate_bound_bits=codec.rate_bound_bits,
        distortion=float(d.mean()),
        distortion_stderr=float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
        distortion_measure=codec.distortion_measure,
        encode_seconds=encode_seconds,
        decode_seconds=decode_seconds,
        round_trip_identical=identical,
        extra_rates=rates,
        bitstream=data if keep_bitstream else None,
    )


__all__ = [
    "DEFAULT_MAX_DECODE_BYTES",
    "DEFAULT_MAX_DECODE_DRAWS",
    "Codec",
    "CodecEntry",
    "CodecReport",
    "ModelRequiredError",
    "Stream",
    "check_decode_budget",
    "codec_entry",
    "decoder_for",
    "measure_codec",
    "read_stream",
    "register_codec",
    "registered_codecs",
]
