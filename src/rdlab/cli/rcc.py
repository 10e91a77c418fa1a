"""``rdlab rcc``: compress real samples to real bytes with reverse channel coding (PFR / ORC).

::

    rdlab rcc encode --q gaussian20 --distortion 2 --n-candidates 2^13 x.npy x.rdl
    rdlab rcc decode x.rdl recon.npy
    rdlab rcc info x.rdl

``--q`` names the output distribution Q_Y: ``gaussian20`` or ``gaussian:V1,V2,...`` (the exact
R(D)-optimal output of that Gaussian at the chosen slope) or a NERD run directory (its
trained generator, a learned Q_Y; the slope defaults to the run's, ``--slope`` overrides it)::

    rdlab rcc encode --q runs/nerd-g20 x.npy x.rdl
    rdlab rcc decode --q runs/nerd-g20 x.rdl recon.npy
"""

from __future__ import annotations

import argparse
import json
import math
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.io import atomic_write, check_writable, write_bytes_atomic


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rcc", help="reverse channel coding codec (PFR / ORC): encode, decode")
    rsub = p.add_subparsers(dest="rcc_command", metavar="ACTION")
    rsub.required = True

    enc = rsub.add_parser("encode", help="code IN.npy (rows = samples) into OUT.rdl")
    enc.add_argument(
        "--q",
        required=True,
        help="output distribution: gaussian20, gaussian:V1,V2,... or a NERD run directory",
    )
    grp = enc.add_mutually_exclusive_group()
    grp.add_argument("--slope", type=float, help="dR/dD in bits per unit distortion (< 0)")
    grp.add_argument("--distortion", type=float, help="target squared error D per sample (> 0)")
    enc.add_argument(
        "--n-candidates",
        default="auto",
        metavar="N",
        help="N: an integer, 2^k, or auto = 2^(ceil(R(D)) + 6) (default auto)",
    )
    enc.add_argument("--method", choices=("pfr", "orc"), default="pfr", help="default pfr")
    enc.add_argument(
        "--index-coding",
        choices=("range", "prefix"),
        default="range",
        help="range: one range coder for the batch (default); prefix: each index alone",
    )
    enc.add_argument(
        "--seed",
        type=int,
        metavar="S",
        help="shared seed, 0 <= S < 2^64, recorded in the stream (default: fresh from the OS)",
    )
    _common(enc)
    enc.add_argument("input", metavar="IN.npy", help="samples, shape (n, *event_shape)")
    enc.add_argument("output", metavar="OUT.rdl", help="bitstream to write")
    enc.set_defaults(func=_encode)

    dec = rsub.add_parser("decode", help="decode IN.rdl into RECON.npy")
    dec.add_argument(
        "--q",
        help="expected output distribution (default: rebuilt from the stream's header); "
        "required, as the NERD run directory, for a stream coded with a learned Q_Y",
    )
    _common(dec)
    dec.add_argument("input", metavar="IN.rdl", help="bitstream")
    dec.add_argument("output", metavar="RECON.npy", help="reconstruction to write")
    dec.set_defaults(func=_decode)

    info = rsub.add_parser("info", help="print the header of IN.rdl")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("input", metavar="IN.rdl", help="bitstream")
    info.set_defaults(func=_info)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="W",
        help="threads (default 1; the output does not depend on it)",
    )


def parse_n_candidates(text: str) -> int:
    """``"4096"``, ``"2^12"`` or ``"2**12"`` -> 4096."""
    from rdlab.coding.rcc import MAX_N_CANDIDATES

    m = re.fullmatch(r"\s*2\s*(?:\^|\*\*)\s*(\d+)\s*", text)
    try:
        n = 2 ** int(m.group(1)) if m else int(text)
    except ValueError:
        raise ValueError(f"--n-candidates must be an integer, 2^k or auto, got {text!r}") from None
    if not 1 <= n <= MAX_N_CANDIDATES:
        raise ValueError(f"--n-candidates must be in [1, {MAX_N_CANDIDATES}] (2^24), got {n}")
    return n


@dataclass(frozen=True)
class _Point:
    """What the encoder needs: Q_Y, the slope, N's rate, and the facts it reports."""

    output: Any
    slope: float
    rate_bits: float
    distortion: float | None
    guarantee_bits: float


def _resolve_point(q: str, *, slope: float | None, distortion: float | None):
    from rdlab.coding.rcc import gaussian_operating_point, rcc_guarantee_bits

    if Path(q).is_dir():
        from rdlab.coding.nerd_output import nerd_output

        if distortion is not None:
            raise ValueError(
                f"--q {q}: a NERD run fixes its slope; give --slope (or nothing), not --distortion"
            )
        out, run_slope, rate = nerd_output(q)
        rate = max(0.0, rate)
        return _Point(
            output=out,
            slope=run_slope if slope is None else slope,
            rate_bits=rate,
            distortion=None,
            guarantee_bits=float(rcc_guarantee_bits(rate)),
        )
    if slope is None and distortion is None:
        raise ValueError("give --slope or --distortion (only a NERD run directory implies a slope)")
    return gaussian_operating_point(q, slope=slope, distortion=distortion)


def _load_samples(path: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    try:
        x = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{p} is not a .npy array file ({exc})") from None
    if not isinstance(x, np.ndarray) or not (
        np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
    ):
        raise ValueError(f"{p} must hold a real numeric array, got dtype {x.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{p} must hold at least one sample, got shape {x.shape}")
    return x.astype(np.float64)


def _emit(args: argparse.Namespace, obj: dict[str, Any], lines: list[str]) -> None:
    from rdlab.core.results import _jsonable

    if args.json:
        print(json.dumps(_jsonable(obj)))
    else:
        print("\n".join(lines))


def _encode(args: argparse.Namespace) -> int:
    from rdlab.coding.rcc import rcc_encode

    if not args.output.endswith(".rdl"):
        raise ValueError(f"OUT must end in .rdl, got {args.output!r}")
    out = check_writable(args.output, overwrite=args.force)
    op = _resolve_point(args.q, slope=args.slope, distortion=args.distortion)
    if args.n_candidates == "auto":
        n = 2 ** min(24, math.ceil(op.rate_bits - 1e-9) + 6)
    else:
        n = parse_n_candidates(args.n_candidates)
    seed = secrets.randbits(63) if args.seed is None else args.seed
    x = _load_samples(args.input)
    enc = rcc_encode(
        x,
        op.output,
        slope=op.slope,
        n_candidates=n,
        seed=seed,
        zipf_rate_bits=op.rate_bits,
        method=args.method,
        index_coding=args.index_coding,
        progress=not args.no_progress,
        workers=args.workers,
    )
    write_bytes_atomic(out, enc.bitstream)
    obj = {
        "output": str(out),
        "bytes": len(enc.bitstream),
        "n_samples": enc.n_samples,
        "event_shape": list(enc.header.event_shape),
        "method": args.method,
        "index_coding": args.index_coding,
        "n_candidates": n,
        "seed": seed,
        "slope": op.slope,
        "bits_per_sample": enc.bits_per_sample,
        "payload_bits_per_sample": enc.payload_bits_per_sample,
        "information_bits_per_sample": enc.information_bits_per_sample,
        "distortion": enc.distortion,
        "target_distortion": op.distortion,
        "rate_distortion_bits": op.rate_bits,
        "guarantee_bits": op.guarantee_bits,
    }
    lines = [
        f"wrote {out}: {len(enc.bitstream)} bytes, {enc.n_samples} samples of shape "
        f"{enc.header.event_shape}, {args.method.upper()}, N = {n}, seed {seed}",
        f"rate:       {enc.bits_per_sample:.4f} bits/sample from the file size "
        f"(payload {enc.payload_bits_per_sample:.4f}, Zipf information "
        f"{enc.information_bits_per_sample:.4f})",
        f"distortion: {enc.distortion:.6g} squared error per sample"
        + ("" if op.distortion is None else f" (target D = {op.distortion:.6g})"),
        f"R(D) = {op.rate_bits:.4f} bits"
        + (" (the NERD run's estimate)" if op.distortion is None else "")
        + "; guarantee R + log2(R+1) + 5 = "
        f"{op.guarantee_bits:.4f} bits/sample",
    ]
    _emit(args, obj, lines)
    return 0


def _decode(args: argparse.Namespace) -> int:
    from rdlab.coding.container import BitstreamError
    from rdlab.coding.rcc import output_from_spec, rcc_decode, read_rcc_header

    if not args.output.endswith(".npy"):
        raise ValueError(f"RECON must end in .npy, got {args.output!r}")
    out = check_writable(args.output, overwrite=args.force)
    src = Path(args.input)
    if not src.is_file():
        raise FileNotFoundError(f"{src} does not exist")
    data = src.read_bytes()
    q = None
    header, _ = read_rcc_header(data)
    learned = header.output_spec.get("kind") == "generator"
    if args.q is not None and Path(args.q).is_dir():
        from rdlab.coding.nerd_output import nerd_output

        q, _, _ = nerd_output(args.q)
    elif args.q is not None:
        named = header.output_spec.get("source")
        if named != args.q:
            raise BitstreamError(
                f"wrong Q_Y for this bitstream: it was encoded with {named or 'another model'!r}, "
                f"--q gives {args.q!r}"
            )
        try:
            q = output_from_spec(header.output_spec)
        except (ValueError, TypeError) as exc:
            raise BitstreamError(f"cannot rebuild Q_Y from the header: {exc}") from None
    elif learned:
        run = header.output_spec.get("run")
        raise ValueError(
            "this stream was coded with a learned Q_Y"
            + (f" (NERD run {run!r})" if isinstance(run, str) else "")
            + "; pass its run directory with --q RUN_DIR"
        )
    dec = rcc_decode(data, q, progress=not args.no_progress, workers=args.workers)
    y = dec.reconstruction
    atomic_write(out, lambda p: np.save(p, y, allow_pickle=False))
    h = dec.header
    obj = {
        "output": str(out),
        "n_samples": h.n_samples,
        "event_shape": list(h.event_shape),
        "method": h.method,
        "n_candidates": h.n_candidates,
        "bits_per_sample": 8.0 * len(data) / h.n_samples,
    }
    lines = [
        f"wrote {out}: {h.n_samples} samples of shape {h.event_shape} "
        f"({h.method.upper()}, N = {h.n_candidates}, {8.0 * len(data) / h.n_samples:.4f} "
        "bits/sample)"
    ]
    _emit(args, obj, lines)
    return 0


def _info(args: argparse.Namespace) -> int:
    from rdlab.coding.rcc import read_rcc_header

    src = Path(args.input)
    if not src.is_file():
        raise FileNotFoundError(f"{src} does not exist")
    data = src.read_bytes()
    h, payload = read_rcc_header(data)
    obj = {
        "bytes": len(data),
        "payload_bytes": len(payload),
        "method": h.method,
        "index_coding": h.index_coding,
        "n_candidates": h.n_candidates,
        "chunk_size": h.chunk_size,
        "seed": h.seed,
        "slope": h.slope,
        "zipf_rate_bits": h.zipf_rate_bits,
        "n_samples": h.n_samples,
        "event_shape": list(h.event_shape),
        "distortion_measure": h.distortion_measure,
        "output_identity": h.output_identity.hex(),
        "output_spec": h.output_spec,
    }
    if args.json:
        print(json.dumps(obj))
    else:
        for key, value in obj.items():
            print(f"{key}: {value}")
    sys.stdout.flush()
    return 0
