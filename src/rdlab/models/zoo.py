"""Codecs by name or by model file: what ``rdlab encode`` and ``rdlab decode`` open.

:func:`load_codec` turns what a user names into a :class:`~rdlab.coding.codec.Codec`:

=================================  ==============================================================
``rcc:gaussian20``,                reverse channel coding with the exact R(D)-optimal output law
``rcc:gaussian:4,2,1``             of that Gaussian (give ``distortion`` or ``slope``)
a learned-codec run directory      its trained quantised autoencoder (``rdlab lc train``)
an NTC run directory               its nonlinear transform code (``rdlab ntc train``)
a shift run directory              its restoring codec (``rdlab shift train``; end-to-end or
                                   restore-compress), with or without common randomness
a NERD run directory               reverse channel coding with its trained generator as
                                   :math:`Q_Y` (``rdlab nerd``; the run's slope unless ``slope``)
a product-quantiser file           the fitted quantiser (``.safetensors``, ``ProductQuantizer.save``)
=================================  ==============================================================

:func:`codec_for_stream` picks the decoder of a stream: the model given, checked against the
stream's model identity, or the codec rebuilt from the header where the stream needs no model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdlab.coding.codec import Codec, decoder_for, read_stream
from rdlab.coding.container import BitstreamError
from rdlab.coding.pq import PQCodec, ProductQuantizer
from rdlab.coding.rcc import RCCCodec, default_n_candidates
from rdlab.core.io import read_json_object

RCC_PREFIX = "rcc:"
"""``rcc:SOURCE`` names reverse channel coding with a closed-form Gaussian output law."""


def _run_kind(path: Path) -> str:
    """``"learned"``, ``"ntc"``, ``"shift"`` or ``"nerd"`` for a run directory (a NERD sweep
    counts as NERD)."""
    config = path / "config.json"
    if not config.is_file():
        if any(path.glob("point-*/generator.safetensors")):
            return "nerd"
        raise FileNotFoundError(f"{path} is not a run directory (no config.json)")
    cfg = read_json_object(config)
    if cfg.get("kind") == "learned-codec":
        return "learned"
    if cfg.get("kind") in ("ntc", "shift"):
        return cfg["kind"]
    if cfg.get("estimator") == "nerd":
        return "nerd"
    raise ValueError(f"{path} is not a learned-codec, NTC, shift or NERD run")


def load_codec(
    model: str | Path,
    *,
    distortion: float | None = None,
    slope: float | None = None,
    n_candidates: int | None = None,
    method: str = "pfr",
    index_coding: str = "range",
    codeword: str = "centroid",
    device: str = "cpu",
    workers: int = 1,
    progress: bool = False,
    max_memory_bytes: int | None = None,
    max_draws: int | None = None,
) -> Codec:
    """The codec that ``model`` names (table in the module docstring).

    Parameters
    ----------
    model : str or path
        ``rcc:SOURCE``, a run directory or a product-quantiser file.
    distortion, slope : float, optional
        Reverse channel coding: the operating point (squared error per sample > 0, or dR/dD in
        bits per unit distortion < 0). A Gaussian needs one of them; a NERD run takes its own
        slope unless ``slope`` is given, and no ``distortion``.
    n_candidates : int, optional
        Reverse channel coding: N (default :func:`~rdlab.coding.rcc.default_n_candidates`).
    method, index_coding : str
        Reverse channel coding: ``"pfr"`` / ``"orc"``, ``"range"`` / ``"prefix"``.
    codeword : {"centroid", "sample"}
        Product quantiser: the decoder's codeword of a cell.
    device : str
        Learned codecs: the torch device.
    workers : int
        Reverse channel coding: threads (the bitstream does not depend on it).
    progress : bool
        Reverse channel coding: show progress bars.
    max_memory_bytes, max_draws : int, optional
        Decoding budgets (default 1 GiB; random draws of reverse channel coding): a stream
        whose header asks for more is refused.

    Raises
    ------
    FileNotFoundError
        A path that does not exist, or a run that has not finished.
    ValueError
        Anything else that names no codec, or options that do not fit it.
    """
    rcc_options: dict[str, Any] = {
        "method": method,
        "index_coding": index_coding,
        "workers": workers,
        "progress": progress,
        "max_memory_bytes": max_memory_bytes,
        "max_draws": max_draws,
    }
    text = str(model)
    if text.startswith(RCC_PREFIX):
        source = text[len(RCC_PREFIX) :]
        if (distortion is None) == (slope is None):
            raise ValueError(f"{text}: give exactly one of distortion (> 0) or slope (< 0)")
        return RCCCodec.gaussian(
            source, distortion=distortion, slope=slope, n_candidates=n_candidates, **rcc_options
        )
    path = Path(model)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; name a run directory, a product-quantiser file or "
            f"{RCC_PREFIX}SOURCE (e.g. {RCC_PREFIX}gaussian20)"
        )
    if path.is_file():
        return PQCodec(
            ProductQuantizer.load(path), codeword=codeword, max_memory_bytes=max_memory_bytes
        )
    kind = _run_kind(path)
    if kind == "learned":
        from rdlab.models.learned import load_learned_codec

        return load_learned_codec(path, device, max_memory_bytes=max_memory_bytes)
    if kind == "ntc":
        from rdlab.models.ntc import load_ntc_codec

        return load_ntc_codec(path, device, max_memory_bytes=max_memory_bytes)
    if kind == "shift":
        from rdlab.models.shift import load_shift_codec

        return load_shift_codec(path, device, max_memory_bytes=max_memory_bytes)
    from rdlab.coding.rcc.nerd import nerd_output

    if distortion is not None:
        raise ValueError(
            f"{path}: a NERD run fixes its slope; give a slope (--slope) or nothing, "
            "not a distortion"
        )
    q, run_slope, rate = nerd_output(path)
    rate = max(0.0, rate)
    return RCCCodec(
        q,
        slope=run_slope if slope is None else slope,
        n_candidates=default_n_candidates(rate) if n_candidates is None else n_candidates,
        zipf_rate_bits=rate,
        **rcc_options,
    )


def codec_for_stream(
    data: bytes,
    model: str | Path | None = None,
    *,
    device: str = "cpu",
    workers: int = 1,
    progress: bool = False,
    max_memory_bytes: int | None = None,
    max_draws: int | None = None,
) -> Codec:
    """The codec that decodes ``data``: ``load_codec(model)`` checked against the stream, or,
    without ``model``, the codec rebuilt from the header. ``device`` serves learned codecs,
    ``workers`` and ``progress`` reverse channel coding; ``max_memory_bytes`` and ``max_draws``
    are the decoding budgets.

    Raises
    ------
    rdlab.coding.codec.ModelRequiredError
        The stream needs its model and ``model`` is None; the message says which.
    rdlab.coding.container.BitstreamError
        Not a valid stream, or written by another codec or model.
    """
    if model is None:
        return _rebuilt(data, workers, progress, max_memory_bytes, max_draws)
    text = str(model)
    if text.startswith(RCC_PREFIX):
        # a closed-form output law is rebuilt from the header; the name must be the header's
        stream = read_stream(data, codec="rcc")
        named = stream.header.output_spec.get("source")
        if named != text[len(RCC_PREFIX) :]:
            raise BitstreamError(
                f"wrong Q_Y for this bitstream: it was encoded with {named or 'another model'!r}, "
                f"the model given is {text!r}"
            )
        return _rebuilt(data, workers, progress, max_memory_bytes, max_draws)
    codec = load_codec(
        model,
        device=device,
        workers=workers,
        progress=progress,
        max_memory_bytes=max_memory_bytes,
        max_draws=max_draws,
    )
    return decoder_for(data, codec)


def _rebuilt(
    data: bytes, workers: int, progress: bool, max_memory_bytes: int | None, max_draws: int | None
) -> Codec:
    """The codec rebuilt from a stream's header, with the decoding budgets set."""
    codec = decoder_for(data, workers=workers, progress=progress, max_memory_bytes=max_memory_bytes)
    if max_draws is not None and isinstance(codec, RCCCodec):
        codec.max_draws = max_draws
    return codec


__all__ = ["RCC_PREFIX", "codec_for_stream", "load_codec"]
