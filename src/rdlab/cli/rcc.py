"""``rdlab rcc``: reverse channel coding (PFR / ORC) — aliases of ``rdlab encode/decode/info``.

::

    rdlab rcc encode --q gaussian20 --distortion 2 --n-candidates 2^13 x.npy x.rdl
    rdlab rcc decode x.rdl recon.npy
    rdlab rcc info x.rdl

``--q`` (or ``--model``) names the output distribution Q_Y: ``gaussian20`` or
``gaussian:V1,V2,...`` (the exact R(D)-optimal output of that Gaussian at the chosen slope) or a
NERD run directory (its trained generator, a learned Q_Y; the slope defaults to the run's,
``--slope`` overrides it)::

    rdlab rcc encode --q runs/nerd-g20 x.npy x.rdl
    rdlab rcc decode --q runs/nerd-g20 x.rdl recon.npy

``rdlab rcc encode --q gaussian20 ...`` is ``rdlab encode rcc:gaussian20 ...``; a stream of
another codec is refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rdlab.cli.codec import (
    add_common_options,
    add_encode_options,
    decode_to_file,
    encode_with,
    print_info,
    read_input,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rcc", help="reverse channel coding codec (PFR / ORC): encode, decode")
    rsub = p.add_subparsers(dest="rcc_command", metavar="ACTION")
    rsub.required = True

    enc = rsub.add_parser("encode", help="code IN.npy (rows = samples) into OUT.rdl")
    enc.add_argument(
        "--q",
        "--model",
        dest="q",
        required=True,
        help="output distribution: gaussian20, gaussian:V1,V2,... or a NERD run directory",
    )
    add_encode_options(enc)
    enc.add_argument("input", metavar="IN.npy", help="samples, shape (n, *event_shape)")
    enc.add_argument("output", metavar="OUT.rdl", help="bitstream to write")
    enc.set_defaults(func=_encode)

    dec = rsub.add_parser("decode", help="decode IN.rdl into RECON.npy")
    dec.add_argument(
        "--q",
        "--model",
        dest="q",
        help="expected output distribution (default: rebuilt from the stream's header); "
        "required, as the NERD run directory, for a stream coded with a learned Q_Y",
    )
    add_common_options(dec)
    dec.add_argument("input", metavar="IN.rdl", help="bitstream")
    dec.add_argument("output", metavar="RECON.npy", help="reconstruction to write")
    dec.set_defaults(func=_decode)

    info = rsub.add_parser("info", help="print the header of IN.rdl")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("input", metavar="IN.rdl", help="bitstream")
    info.set_defaults(func=_info)


def _model(q: str) -> str:
    """A NERD run directory as it is; a Gaussian output law as ``rcc:SOURCE``."""
    return q if Path(q).is_dir() else f"rcc:{q}"


def _encode(args: argparse.Namespace) -> int:
    return encode_with(_model(args.q), args)


def _decode(args: argparse.Namespace) -> int:
    from rdlab.coding.codec import read_stream
    from rdlab.models.zoo import codec_for_stream

    data = read_input(args.input)
    read_stream(data, codec="rcc")
    codec = codec_for_stream(
        data,
        None if args.q is None else _model(args.q),
        workers=args.workers,
        progress=not args.no_progress,
        max_memory_bytes=args.max_memory,
        max_draws=args.max_draws,
    )
    decode_to_file(data, codec, args)
    return 0


def _info(args: argparse.Namespace) -> int:
    print_info(read_input(args.input), args, codec="rcc")
    return 0
