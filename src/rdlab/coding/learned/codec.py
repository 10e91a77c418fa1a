r"""The learned quantised codec (container codec id 2, ``"learned"``) as a bitstream codec.

A learned compressor maps each input to ``d`` integer symbols :math:`s_j \in \{0, \dots,
L_j - 1\}`, one per latent dimension, through an analysis transform and a scalar quantiser; a
synthesis transform maps the symbols back. :class:`QuantizedLatentCodec` holds those two
transforms as plain functions on numpy arrays (the networks and their training live in
:mod:`rdlab.models.learned`, which builds this codec from a run with
:func:`rdlab.models.learned.load_learned_codec`), the factorised categorical coding model of the
symbols (:mod:`rdlab.coding.categorical`) and the model's identity. The shared randomness —
UQ's subtractive dither, NQ's decoder noise — is drawn by :func:`rdlab.coding.quantizers.dither`
from the seed in the header, so the decoder needs only the stream and the model.

``"uq-private"`` is UQ without common randomness (seed 003, Liu et al. 2022, eq. 16 against
eq. 14): the encoder dithers with its own u1 (:func:`~rdlab.coding.quantizers.dither` of the
header's seed, exactly as ``"uq"``), and the decoder subtracts an independent u2 that it draws
itself from its own ``decoder_seed`` with :func:`rdlab.coding.quantizers.private_dither`, a
domain-separated stream that never coincides with the encoder's; the header's seed does not
reach the decoder's output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from rdlab.coding.categorical import CategoricalModel, decode_symbols, encode_symbols
from rdlab.coding.codec import (
    CodecEntry,
    ModelRequiredError,
    check_decode_budget,
    register_codec,
)
from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.coding.learned.header import LEARNED_CODEC_ID, QUANTIZERS, LearnedHeader
from rdlab.coding.quantizers import dither, private_dither
from rdlab.core.distortion import check_distortion_measure
from rdlab.core.validation import check_digest, check_seed

Analysis = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``analysis(x, u) -> symbols``: inputs ``(n, *input_shape)`` and noise ``(n, d)`` float32 to
int64 symbols ``(n, d)``."""
Synthesis = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``synthesis(symbols, u) -> x_hat``: symbols ``(n, d)`` and the same noise to
reconstructions ``(n, *input_shape)``."""


def read_learned_header(
    data: bytes, *, model_identity: bytes | None = None, legacy_identities: Sequence[bytes] = ()
) -> tuple[LearnedHeader, bytes]:
    """Check the container and parse the header; returns ``(header, payload)``.

    Parameters
    ----------
    data : bytes
        A learned-codec bitstream.
    model_identity : bytes, optional
        Identity of the decoder's model; if given, it (or one of ``legacy_identities``, the
        identities older rdlab versions gave the same model) must be the one in the header.

    Raises
    ------
    BitstreamError
        Not a valid learned-codec bitstream (foreign, corrupted, truncated, another codec, an
        invalid header), or written by another model than ``model_identity``.
    """
    expected = None if model_identity is None else check_digest("model_identity", model_identity)
    frame = unpack_container(data, codec_id=LEARNED_CODEC_ID)
    header = LearnedHeader.from_bytes(frame.header)
    if expected is not None and header.model_identity not in (expected, *legacy_identities):
        raise BitstreamError(
            f"stream was written by model {header.model_identity.hex()[:16]}…, this model is "
            f"{expected.hex()[:16]}…; decode with the model that encoded it"
        )
    return header, frame.payload


class QuantizedLatentCodec:
    r"""A learned quantised codec behind the :class:`~rdlab.coding.codec.Codec` interface.

    Parameters
    ----------
    analysis : callable
        ``analysis(x, u) -> symbols`` (:data:`Analysis`): the encoder and the quantiser.
    synthesis : callable
        ``synthesis(symbols, u) -> x_hat`` (:data:`Synthesis`): the decoder.
    coding_model : CategoricalModel
        The factorised model of the symbols (one pmf per latent dimension).
    quantizer : {"dq", "nq", "uq", "ntc", "uq-private"}
        The header's quantiser name. ``"uq-private"`` is UQ without common randomness: the
        encoder sends :math:`s = Q(f(x) + u_1)` with ``u1`` drawn from the stream's seed, the
        decoder computes :math:`g(c_s - u_2)` with its own ``u2`` (:meth:`decoder_noise`).
    input_shape : tuple of int
        Shape of one input, e.g. ``(1, 28, 28)``.
    identity : bytes
        32 bytes naming the model (weights and coding model), written into every stream.
    check_input : callable, optional
        ``check_input(x) -> ndarray (n, *input_shape)``: converts and checks raw inputs (e.g.
        uint8 images to float32 in [0, 1]); by default a float32 array of the right shape.
    distortion_measure : str
        How reconstructions are judged (default ``"mse_per_component"``: per pixel).
    max_memory_bytes : int, optional
        What decoding one stream may allocate (default 1 GiB): a header that asks for more is
        refused before anything is allocated.
    legacy_identities : sequence of bytes
        Identities older rdlab versions gave this model: streams naming them decode too.
    decoder_seed : int
        ``0 <= decoder_seed < 2**64`` (default 0): seed of the decoder's own dither
        (:func:`~rdlab.coding.quantizers.private_dither`), used only with ``"uq-private"``.

    Examples
    --------
    A one-dimensional UQ code with 4 levels on [-1, 1] (the identity transforms):

    >>> model = CategoricalModel.fit([[0], [1], [2], [3]], (4,))
    >>> def analysis(x, u):
    ...     return np.clip(np.rint((x + u + 1) * 1.5), 0, 3).astype(np.int64)
    >>> def synthesis(s, u):
    ...     return (s / 1.5 - 1 - u).astype(np.float32)
    >>> codec = QuantizedLatentCodec(analysis, synthesis, model, "uq", (1,), bytes(32))
    >>> x = np.array([[0.1], [-0.7], [0.9]], dtype=np.float32)
    >>> data = codec.encode(x, seed=5)
    >>> len(data), bool(np.abs(codec.decode(data) - x).max() <= 1 / 3)
    (100, True)
    """

    name = "learned"
    codec_id = LEARNED_CODEC_ID

    def __init__(
        self,
        analysis: Analysis,
        synthesis: Synthesis,
        coding_model: CategoricalModel,
        quantizer: str,
        input_shape: Sequence[int],
        identity: bytes,
        *,
        check_input: Callable[[object], np.ndarray] | None = None,
        distortion_measure: str = "mse_per_component",
        max_memory_bytes: int | None = None,
        legacy_identities: Sequence[bytes] = (),
        decoder_seed: int = 0,
    ) -> None:
        if not callable(analysis) or not callable(synthesis):
            raise TypeError("analysis and synthesis must be callable")
        if not isinstance(coding_model, CategoricalModel):
            raise TypeError(
                f"coding_model must be a CategoricalModel, got {type(coding_model).__name__}"
            )
        if quantizer not in QUANTIZERS:
            raise ValueError(f"quantizer must be one of {QUANTIZERS}, got {quantizer!r}")
        self.analysis = analysis
        self.synthesis = synthesis
        self.coding_model = coding_model
        self.quantizer = quantizer
        self.input_shape = tuple(int(s) for s in input_shape)
        self._identity = check_digest("identity", identity)
        self.legacy_identities = tuple(
            check_digest("legacy_identities", v) for v in legacy_identities
        )
        self._check = check_input
        self.distortion_measure = check_distortion_measure(distortion_measure)
        self.max_memory_bytes = max_memory_bytes
        self.decoder_seed = check_seed(decoder_seed, "decoder_seed")
        # a header of this model, checked once (shape, levels) so encode cannot fail late
        LearnedHeader(self._identity, quantizer, coding_model.levels, 0, 0, self.input_shape)

    @property
    def levels(self) -> tuple[int, ...]:
        """Levels of each latent dimension."""
        return self.coding_model.levels

    @property
    def rate_bound_bits(self) -> float:
        r""":math:`\sum_j \log_2 L_j` bits per input: the fixed-length code of the symbols."""
        return float(sum(math.log2(v) for v in self.levels))

    def identity(self) -> bytes:
        """The model's identity (32 bytes)."""
        return self._identity

    def check_input(self, x: object) -> np.ndarray:
        """``x`` as the codec codes it: ``(n, *input_shape)``, converted by ``check_input``."""
        if self._check is not None:
            arr = np.asarray(self._check(x))
        else:
            arr = np.asarray(x, dtype=np.float32)
        if arr.ndim != len(self.input_shape) + 1 or arr.shape[1:] != self.input_shape:
            raise ValueError(
                f"inputs must have shape (n, {', '.join(map(str, self.input_shape))}), "
                f"got {arr.shape}"
            )
        return arr

    def noise(self, n: int, seed: int) -> np.ndarray:
        """The shared dither (UQ), decoder noise (NQ) or the encoder's own dither (UQ-private)
        of ``n`` inputs under ``seed``: what :meth:`symbols` passes to the analysis."""
        return dither(n, self.levels, seed)

    def decoder_noise(self, n: int, header_seed: int) -> np.ndarray:
        """The ``(n, d)`` noise :meth:`decode` passes to the synthesis for a stream of ``n``
        inputs whose header has seed ``header_seed``.

        :meth:`noise` of ``header_seed`` (the encoder's) for every quantiser but
        ``"uq-private"``, whose decoder draws its own
        ``private_dither(n, levels, decoder_seed)`` and ignores ``header_seed``.
        """
        header_seed = check_seed(header_seed, "header_seed")
        if self.quantizer == "uq-private":
            return private_dither(n, self.levels, self.decoder_seed)
        return self.noise(n, header_seed)

    def symbols(self, x: object, *, seed: int = 0) -> np.ndarray:
        """The ``(n, d)`` int64 symbols the encoder sends for ``x`` under ``seed``."""
        xa = self.check_input(x)
        u = self.noise(xa.shape[0], check_seed(seed))
        s = np.asarray(self.analysis(xa, u))
        if s.shape != (xa.shape[0], len(self.levels)):
            raise ValueError(
                f"analysis returned symbols of shape {s.shape}, "
                f"expected {(xa.shape[0], len(self.levels))}"
            )
        return s.astype(np.int64, copy=False)

    def encode(self, x: object, *, seed: int = 0) -> bytes:
        """One bitstream of the inputs ``x``; ``seed`` seeds the dither / decoder noise (with
        ``"uq-private"`` only the encoder's dither; the decoder draws its own)."""
        s = self.symbols(x, seed=seed)
        header = LearnedHeader(
            model_identity=self._identity,
            quantizer=self.quantizer,
            levels=self.levels,
            n_samples=int(s.shape[0]),
            seed=check_seed(seed),
            input_shape=self.input_shape,
        )
        return pack_container(
            LEARNED_CODEC_ID, header.to_bytes(), encode_symbols(s, self.coding_model)
        )

    def decode_symbols(self, data: bytes) -> tuple[LearnedHeader, np.ndarray]:
        """The header and the ``(n, d)`` symbols of a stream this model wrote.

        Raises
        ------
        BitstreamError
            Not a learned-codec stream, corrupted, truncated, written by another model, or a
            header whose quantiser, levels or input shape are not this model's.
        """
        header, payload = read_learned_header(
            data, model_identity=self._identity, legacy_identities=self.legacy_identities
        )
        if header.quantizer != self.quantizer or header.levels != self.levels:
            raise BitstreamError(
                f"stream header ({header.quantizer}, levels {list(header.levels)}) does not "
                f"match the model's quantiser ({self.quantizer}, levels {list(self.levels)})"
            )
        if header.input_shape != self.input_shape:
            raise BitstreamError(
                f"stream header announces inputs of shape {header.input_shape}; the model "
                f"codes {self.input_shape}"
            )
        per_input = 8 * len(self.levels) + 4 * math.prod(self.input_shape)
        check_decode_budget(
            f"this learned-codec stream ({header.n_samples} inputs)",
            header.n_samples * per_input,
            self.max_memory_bytes,
        )
        return header, decode_symbols(payload, header.n_samples, self.coding_model)

    def decode(self, data: bytes) -> np.ndarray:
        """The reconstructions ``(n, *input_shape)`` of a stream this model wrote."""
        header, s = self.decode_symbols(data)
        u = self.decoder_noise(header.n_samples, header.seed)
        if header.n_samples == 0:
            return np.zeros((0, *self.input_shape), dtype=np.float32)
        x_hat = np.asarray(self.synthesis(s, u))
        if x_hat.shape != (header.n_samples, *self.input_shape):
            raise ValueError(
                f"synthesis returned shape {x_hat.shape}, "
                f"expected {(header.n_samples, *self.input_shape)}"
            )
        return x_hat

    def stream_rates(self, data: bytes) -> dict[str, float]:
        """``rate_information_bits``: information content of the stream's symbols under the
        coding model (the probabilities the range coder uses), bits per input."""
        header, s = self.decode_symbols(data)
        n = max(header.n_samples, 1)
        return {"rate_information_bits": self.coding_model.information_bits(s) / n}

    def __repr__(self) -> str:
        return (
            f"QuantizedLatentCodec({self.quantizer}, levels={list(self.levels)}, "
            f"input_shape={self.input_shape}, identity={self._identity.hex()[:12]})"
        )


def _codec_from_header(header: LearnedHeader, **_: object) -> QuantizedLatentCodec:
    raise ModelRequiredError(
        f"this stream was written by learned model {header.model_identity.hex()[:16]}…; pass the "
        "run directory that encoded it as the model (--model RUN_DIR; its model.safetensors "
        "has that identity)"
    )


register_codec(
    CodecEntry(
        codec_id=LEARNED_CODEC_ID,
        name="learned",
        summary="learned quantised autoencoder (DQ / NQ / UQ, UQ with or without common "
        "randomness) or nonlinear transform code (NTC) with range-coded symbols",
        read_header=LearnedHeader.from_bytes,
        from_header=_codec_from_header,
    )
)


__all__ = ["QuantizedLatentCodec", "read_learned_header"]
