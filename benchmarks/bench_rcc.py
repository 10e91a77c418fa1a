"""Benchmark of the reverse channel coding codec (PFR / ORC) on the m = 20 Gaussian.

For three slopes of ``gaussian20`` (R(D) = 2, 4 and 6 bits) and both methods, with
N = 2^(ceil(R) + 6) candidates: the rate measured from real bytes (whole file, and the coded
indices alone), the distortion, the gaps to R(D) and to the guarantee R + log2(R+1) + 5 of
eq. (25) (Lei et al.), and encode / decode throughput in samples per second. Then the N-scaling
curve at R(D) = 4 bits. Prints Markdown tables; ``--json PATH`` also writes the numbers.

Usage::

    python benchmarks/bench_rcc.py                 # the full run (a few minutes on 2 cores)
    python benchmarks/bench_rcc.py --quick         # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform

from rdlab.coding.codec import measure_codec
from rdlab.coding.rcc import RCCCodec, gaussian_operating_point
from rdlab.sources.registry import gaussian20_variances, make_source
from rdlab.theory.gaussian import reverse_water_filling_at_rate


def _point(x, op, n_cand, method, seed, workers):
    codec = RCCCodec(
        op.output,
        slope=op.slope,
        n_candidates=n_cand,
        zipf_rate_bits=op.rate_bits,
        method=method,
        workers=workers,
    )
    m = measure_codec(codec, x, seed=seed)
    return {
        "method": method,
        "n_candidates": n_cand,
        "log2_n": round(math.log2(n_cand)),
        "closed_form_rate_bits": op.rate_bits,
        "target_distortion": op.distortion,
        "slope": op.slope,
        "rate_bits": m.rate_bits,
        "rate_payload_bits": m.rate_payload_bits,
        "rate_information_bits": m.rate_information_bits,
        "distortion": m.distortion,
        "distortion_stderr": m.distortion_stderr,
        "excess_rate_bits": m.rate_payload_bits - op.rate_bits,
        "rate_bound_bits": m.rate_bound_bits,
        "margin_to_bound_bits": m.rate_bound_bits - m.rate_payload_bits,
        "encode_samples_per_second": m.n_samples / m.encode_seconds,
        "decode_samples_per_second": m.n_samples / m.decode_seconds,
    }


def _op_at_rate(rate_bits):
    d = reverse_water_filling_at_rate(gaussian20_variances(), rate_bits).distortion
    return gaussian_operating_point("gaussian20", distortion=d)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-samples", type=int, default=1000, help="samples per point")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="threads for encode/decode")
    ap.add_argument("--quick", action="store_true", help="a smoke run")
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args(argv)
    n = 100 if args.quick else args.n_samples
    rates = (2.0, 4.0) if args.quick else (2.0, 4.0, 6.0)
    log2_ns = range(0, 11) if args.quick else range(0, 17)
    x = make_source("gaussian20").sample(n, seed=args.seed)

    table = []
    for r in rates:
        op = _op_at_rate(r)
        n_cand = 2 ** (math.ceil(op.rate_bits - 1e-9) + 6)
        for method in ("pfr", "orc"):
            table.append(_point(x, op, n_cand, method, args.seed + 1, args.workers))
    scaling = []
    op = _op_at_rate(4.0)
    for j in log2_ns:
        for method in ("pfr", "orc"):
            scaling.append(_point(x, op, 2**j, method, args.seed + 1, args.workers))

    print(f"gaussian20, n = {n} samples per point, workers = {args.workers}, ")
    print(f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}\n")
    print(
        "| R(D) bits | D target | method | N | rate_bits (file) | rate_payload_bits "
        "| distortion (± s.e.) | payload - R(D) | rate_bound_bits | margin | encode /s "
        "| decode /s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in table:
        print(
            f"| {p['closed_form_rate_bits']:.2f} | {p['target_distortion']:.3f} "
            f"| {p['method'].upper()} | 2^{p['log2_n']} | {p['rate_bits']:.2f} "
            f"| {p['rate_payload_bits']:.2f} | {p['distortion']:.3f} ± "
            f"{p['distortion_stderr']:.3f} | {p['excess_rate_bits']:.2f} "
            f"| {p['rate_bound_bits']:.2f} | {p['margin_to_bound_bits']:.2f} "
            f"| {p['encode_samples_per_second']:.0f} | {p['decode_samples_per_second']:.0f} |"
        )
    print(f"\nN-scaling at R(D) = {op.rate_bits:.2f} bits, D = {op.distortion:.3f}:\n")
    print(
        "| log2 N | PFR payload bits/sample | PFR distortion | ORC payload bits/sample "
        "| ORC distortion "
        "| PFR encode /s | ORC encode /s |"
    )
    print("|---|---|---|---|---|---|---|")
    for j in log2_ns:
        p, o = (s for s in scaling if s["log2_n"] == j)
        print(
            f"| {j} | {p['rate_payload_bits']:.2f} | {p['distortion']:.3f} "
            f"| {o['rate_payload_bits']:.2f} | {o['distortion']:.3f} "
            f"| {p['encode_samples_per_second']:.0f} | {o['encode_samples_per_second']:.0f} |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"n_samples": n, "workers": args.workers, "table": table, "scaling": scaling},
                fh,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
