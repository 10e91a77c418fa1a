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

from rdlab.coding.rcc import gaussian_operating_point, rcc_measure
from rdlab.sources.registry import gaussian20_variances, make_source
from rdlab.theory.gaussian import reverse_water_filling_at_rate


def _point(x, op, n_cand, method, seed, workers):
    m = rcc_measure(
        x,
        op.output,
        slope=op.slope,
        n_candidates=n_cand,
        seed=seed,
        zipf_rate_bits=op.rate_bits,
        method=method,
        workers=workers,
    )
    return {
        "method": method,
        "n_candidates": n_cand,
        "log2_n": round(math.log2(n_cand)),
        "rate_distortion_bits": op.rate_bits,
        "target_distortion": op.distortion,
        "slope": op.slope,
        "file_bits": m["file_bits"],
        "payload_bits": m["rate_bits"],
        "information_bits": m["information_bits"],
        "distortion": m["distortion"],
        "distortion_se": m["distortion_standard_error"],
        "gap_to_rd_bits": m["rate_bits"] - op.rate_bits,
        "guarantee_bits": op.guarantee_bits,
        "margin_to_guarantee_bits": op.guarantee_bits - m["rate_bits"],
        "encode_samples_per_s": m["encode_samples_per_second"],
        "decode_samples_per_s": m["decode_samples_per_second"],
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
        "| R(D) bits | D target | method | N | file bits/sample | payload bits/sample "
        "| distortion (± s.e.) | gap to R(D) | guarantee | margin | encode /s | decode /s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in table:
        print(
            f"| {p['rate_distortion_bits']:.2f} | {p['target_distortion']:.3f} "
            f"| {p['method'].upper()} | 2^{p['log2_n']} | {p['file_bits']:.2f} "
            f"| {p['payload_bits']:.2f} | {p['distortion']:.3f} ± {p['distortion_se']:.3f} "
            f"| {p['gap_to_rd_bits']:.2f} | {p['guarantee_bits']:.2f} "
            f"| {p['margin_to_guarantee_bits']:.2f} | {p['encode_samples_per_s']:.0f} "
            f"| {p['decode_samples_per_s']:.0f} |"
        )
    print(f"\nN-scaling at R(D) = {op.rate_bits:.2f} bits, D = {op.distortion:.3f}:\n")
    print(
        "| log2 N | PFR bits/sample | PFR distortion | ORC bits/sample | ORC distortion "
        "| PFR encode /s | ORC encode /s |"
    )
    print("|---|---|---|---|---|---|---|")
    for j in log2_ns:
        p, o = (s for s in scaling if s["log2_n"] == j)
        print(
            f"| {j} | {p['payload_bits']:.2f} | {p['distortion']:.3f} | {o['payload_bits']:.2f} "
            f"| {o['distortion']:.3f} | {p['encode_samples_per_s']:.0f} "
            f"| {o['encode_samples_per_s']:.0f} |"
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
