"""``rdlab encode`` / ``rdlab decode`` / ``rdlab info``: bytes out and bytes in, for every codec.

::

    rdlab encode rcc:gaussian20 --distortion 2 x.npy x.rdl   # reverse channel coding, exact Q_Y*
    rdlab encode runs/nerd x.npy x.rdl                        # ... with a NERD generator as Q_Y
    rdlab encode runs/lc images.npy images.rdl                # a trained learned codec
    rdlab encode pq.safetensors queries.npy queries.rdl       # a fitted product quantiser
    rdlab decode x.rdl recon.npy                              # codec and seed from the header
    rdlab decode --model runs/lc images.rdl recon.npy         # learned streams need their model
    rdlab info x.rdl

``encode`` decodes what it wrote and prints the file's rates (``rate_bits`` is the whole file,
bits per sample) and its distortion under the codec's measure. ``decode`` rebuilds the codec from
the header, or, when the stream was written by a trained model, needs that model (``--model``)
and says which one when it is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.cli.common import emit_json
from rdlab.core.io import check_writable, read_npy, save_npy_atomic, write_bytes_atomic


def register(sub: argparse._SubParsersAction) -> None:
    enc = sub.add_parser(
        "encode",
        help="code IN.npy with any codec into OUT.rdl",
        description="Code the samples of IN.npy (axis 0) into one bitstream. CODEC_OR_RUN is "
        "rcc:gaussian20 / rcc:gaussian:V1,V2,... (reverse channel coding with the exact "
        "R(D)-optimal output law), a learned-codec or NERD run directory, or a saved product "
        "quantiser (.safetensors).",
    )
    enc.add_argument("codec", metavar="CODEC_OR_RUN", help="rcc:SOURCE, a run directory or a file")
    enc.add_argument(
        "input", metavar="IN.npy", help="samples, shape (n, ...), or a folder of PNG/JPEG images"
    )
    enc.add_argument("output", metavar="OUT.rdl", help="bitstream to write")
    add_encode_options(enc)
    enc.set_defaults(func=run_encode)

    dec = sub.add_parser("decode", help="decode IN.rdl (any codec) into OUT.npy")
    dec.add_argument("input", metavar="IN.rdl", help="bitstream")
    dec.add_argument("output", metavar="OUT.npy", help="reconstructions to write")
    dec.add_argument(
        "--model",
        metavar="MODEL",
        help="the model that wrote the stream (run directory or file); needed for learned "
        "codecs, NERD output laws and product quantisers",
    )
    add_common_options(dec)
    dec.set_defaults(func=run_decode)

    info = sub.add_parser("info", help="print the codec and header of IN.rdl")
    info.add_argument("input", metavar="IN.rdl", help="bitstream")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=run_info)


def add_common_options(p: argparse.ArgumentParser) -> None:
    """``--force``, ``--json``, ``--no-progress``, ``--workers``, ``--device``."""
    p.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="W",
        help="threads of reverse channel coding (default 1; the output does not depend on it)",
    )
    p.add_argument("--device", default="cpu", help="torch device of learned codecs (default cpu)")
    p.add_argument(
        "--max-memory",
        type=parse_size,
        metavar="SIZE",
        help="memory a stream may need to decode, e.g. 4G (default 1G): larger headers are "
        "refused before anything is allocated",
    )
    p.add_argument(
        "--max-draws",
        type=int,
        metavar="N",
        help="random numbers reverse channel coding may draw to decode (default 2^28)",
    )


def add_encode_options(p: argparse.ArgumentParser) -> None:
    """The encoder's options: seed, and each codec's settings."""
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the shared randomness, 0 <= S < 2^64, written in the header (default 0)",
    )
    grp = p.add_mutually_exclusive_group()
    grp.add_argument("--slope", type=float, help="rcc: dR/dD in bits per unit distortion (< 0)")
    grp.add_argument(
        "--distortion", type=float, help="rcc: target squared error D per sample (> 0)"
    )
    p.add_argument(
        "--n-candidates",
        default="auto",
        metavar="N",
        help="rcc: N, an integer, 2^k, or auto = 2^(ceil(R(D)) + 6) (default auto)",
    )
    p.add_argument("--method", choices=("pfr", "orc"), default="pfr", help="rcc: default pfr")
    p.add_argument(
        "--index-coding",
        choices=("range", "prefix"),
        default="range",
        help="rcc: one range coder for the batch (default) or each index alone",
    )
    p.add_argument(
        "--codeword",
        choices=("centroid", "sample"),
        default="centroid",
        help="pq: the decoder's codeword of a cell (default centroid)",
    )
    add_common_options(p)


def parse_size(text: str) -> int:
    """``"1073741824"``, ``"512M"``, ``"4G"`` -> bytes (K, M, G, T are powers of 1024)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().removesuffix("B")
    scale = units.get(t[-1:], 1)
    try:
        value = float(t[:-1] if t[-1:] in units else t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"a size like 512M or 4G, got {text!r}") from None
    if not 0 < value <= 1 << 50:
        raise argparse.ArgumentTypeError(f"a size in (0, 1P], got {text!r}")
    return int(value)


def parse_n_candidates(text: str) -> int | None:
    """``"auto"`` -> None; ``"4096"``, ``"2^12"`` or ``"2**12"`` -> 4096."""
    import re

    from rdlab.coding.rcc import MAX_N_CANDIDATES

    if text == "auto":
        return None
    m = re.fullmatch(r"\s*2\s*(?:\^|\*\*)\s*(\d+)\s*", text)
    try:
        n = 2 ** int(m.group(1)) if m else int(text)
    except ValueError:
        raise ValueError(f"--n-candidates must be an integer, 2^k or auto, got {text!r}") from None
    if not 1 <= n <= MAX_N_CANDIDATES:
        raise ValueError(f"--n-candidates must be in [1, {MAX_N_CANDIDATES}] (2^24), got {n}")
    return n


def load_array(path: str) -> np.ndarray:
    """A numeric array of at least one sample from a ``.npy`` file (never unpickled), or the
    images of a folder of PNG/JPEG files (float32 in [0, 1], :mod:`rdlab.sources.user_data`)."""
    p = Path(path)
    if p.is_dir():
        from rdlab.sources.user_data import load_data

        return load_data(p).array
    x = read_npy(p)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{p} must hold at least one sample, got shape {x.shape}")
    return x


def _check_suffix(path: str, suffix: str, what: str) -> None:
    if not path.endswith(suffix):
        raise ValueError(f"{what} must end in {suffix}, got {path!r}")


def emit(args: argparse.Namespace, obj: dict[str, Any], lines: list[str]) -> None:
    """One JSON object with ``--json``, else the text lines."""
    if args.json:
        emit_json(obj)
    else:
        print("\n".join(lines))


def encode_to_file(codec: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Encode ``args.input`` with ``codec`` into ``args.output``, print the measured report."""
    from rdlab.coding.codec import measure_codec, read_stream

    _check_suffix(args.output, ".rdl", "OUT")
    out = check_writable(args.output, overwrite=args.force)
    x = load_array(args.input)
    report = measure_codec(codec, x, seed=args.seed, keep_bitstream=True)
    write_bytes_atomic(out, report.bitstream)
    obj = {
        "output": str(out),
        **report.to_dict(),
        **read_stream(report.bitstream).header.to_dict(),
    }
    bound = "" if report.rate_bound_bits is None else f", bound {report.rate_bound_bits:.4f}"
    emit(
        args,
        obj,
        [
            f"wrote {out}: {report.bitstream_bytes} bytes, {report.n_samples} samples, codec "
            f"{report.codec}, seed {args.seed}",
            f"rate:       {report.rate_bits:.4f} bits/sample, the whole file (payload "
            f"{report.rate_payload_bits:.4f}, information {report.rate_information_bits:.4f}"
            f"{bound})",
            f"distortion: {report.distortion:.6g} ({report.distortion_measure}, mean per sample)",
        ],
    )
    return obj


def encode_with(model: str, args: argparse.Namespace) -> int:
    """Open the codec that ``model`` names with the parsed encoder options and encode."""
    from rdlab.models.zoo import load_codec

    codec = load_codec(
        model,
        distortion=args.distortion,
        slope=args.slope,
        n_candidates=parse_n_candidates(args.n_candidates),
        method=args.method,
        index_coding=args.index_coding,
        codeword=args.codeword,
        device=args.device,
        workers=args.workers,
        progress=not args.no_progress,
        max_memory_bytes=args.max_memory,
        max_draws=args.max_draws,
    )
    encode_to_file(codec, args)
    return 0


def run_encode(args: argparse.Namespace) -> int:
    return encode_with(args.codec, args)


def read_input(path: str) -> bytes:
    src = Path(path)
    if not src.is_file():
        raise FileNotFoundError(f"{src} does not exist")
    return src.read_bytes()


def decode_to_file(data: bytes, codec: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Decode ``data`` with ``codec`` into ``args.output`` and print what was written."""
    _check_suffix(args.output, ".npy", "OUT")
    out = check_writable(args.output, overwrite=args.force)
    x_hat = codec.decode(data)
    save_npy_atomic(out, x_hat)
    n = int(x_hat.shape[0])
    obj = {
        "output": str(out),
        "codec": codec.name,
        "n_samples": n,
        "sample_shape": list(x_hat.shape[1:]),
        "bitstream_bytes": len(data),
        "rate_bits": 8.0 * len(data) / n if n else None,
    }
    emit(
        args,
        obj,
        [
            f"wrote {out}: {n} samples of shape {tuple(x_hat.shape[1:])} decoded (codec "
            f"{codec.name}" + (f", {8.0 * len(data) / n:.4f} bits/sample)" if n else ")")
        ],
    )
    return obj


def run_decode(args: argparse.Namespace) -> int:
    from rdlab.models.zoo import codec_for_stream

    _check_suffix(args.output, ".npy", "OUT")
    check_writable(args.output, overwrite=args.force)
    data = read_input(args.input)
    codec = codec_for_stream(
        data,
        args.model,
        device=args.device,
        workers=args.workers,
        progress=not args.no_progress,
        max_memory_bytes=args.max_memory,
        max_draws=args.max_draws,
    )
    decode_to_file(data, codec, args)
    return 0


def print_info(data: bytes, args: argparse.Namespace, *, codec: str | None = None) -> None:
    """The container and header of a stream (``codec`` restricts it to one codec)."""
    from rdlab.coding.codec import read_stream

    obj = read_stream(data, codec=codec).to_dict()
    emit(args, obj, [f"{key}: {value}" for key, value in obj.items()])


def run_info(args: argparse.Namespace) -> int:
    print_info(read_input(args.input), args)
    return 0
