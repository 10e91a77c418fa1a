"""Validity and tightness of the sample lower bound on R(D) (rdlab.estimators.lower_bound).

On Gaussian sources with random rotated spectra (eigenvalues log-uniform in [0.05, 4], a Haar
rotation, both from ``--seed``), for each dimension m and rate R: the slope of the closed-form
R(D) at rate R, the lower bound fitted at that slope and estimated on held-out batches, and the
closed form. Valid means ``lower <= R(D) + 2 s.e.``; tightness is ``R(D) - lower``.

Usage::

    python benchmarks/bench_lower_bound.py --preset quick --dims 2,4,8,12,20 --rates 1,2,3,4
    python benchmarks/bench_lower_bound.py --preset default --dims 2,4,8 --rates 1,2,3,4

Prints a Markdown table; ``--json PATH`` also writes the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from rdlab.estimators.lower_bound import LOWER_BOUND_PRESETS, rd_lower_bound
from rdlab.sources.base import GaussianSource
from rdlab.sources.registry import haar_rotation
from rdlab.theory.gaussian import reverse_water_filling_at_rate


def random_gaussian(m: int, seed: int) -> GaussianSource:
    rng = np.random.default_rng([seed, m])
    eig = np.exp(rng.uniform(np.log(0.05), np.log(4.0), m))
    q = haar_rotation(m, seed * 1000 + m)
    return GaussianSource((q * eig) @ q.T)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(LOWER_BOUND_PRESETS), default="quick")
    ap.add_argument("--dims", default="2,4,8")
    ap.add_argument("--rates", default="1,2,3,4")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    cfg = LOWER_BOUND_PRESETS[args.preset]
    rows = []
    load = os.getloadavg()[0]
    for m in (int(v) for v in args.dims.split(",")):
        src = random_gaussian(m, args.seed)
        for r in (float(v) for v in args.rates.split(",")):
            wf = reverse_water_filling_at_rate(src.eigenvalues, r)
            t0 = time.perf_counter()
            lb = rd_lower_bound(src, slope=wf.slope, seed=args.seed, config=cfg)
            lower = lb.rate_lower_bits(wf.distortion)
            se = lb.intercept_stderr_bits
            rows.append(
                {
                    "m": m,
                    "rate_bits": r,
                    "distortion": wf.distortion,
                    "lower_bits": lower,
                    "stderr_bits": se,
                    "valid": bool(lower <= r + 2 * se),
                    "gap_to_rd_bits": r - lower,
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            print(
                f"m={m} R={r}: lower {lower:.3f} ± {se:.3f}, R(D) - lower {r - lower:+.3f} "
                f"({rows[-1]['seconds']} s)",
                flush=True,
            )
    print(
        f"\npreset {args.preset} (train k = {cfg.batch_size}, held-out k = "
        f"{cfg.eval_batch_size or cfg.batch_size}), seed {args.seed}, load average at start "
        f"{load:.2f}, {os.cpu_count()} CPUs\n"
    )
    print("| m | R(D) [bits] | lower bound ± s.e. [bits] | R(D) − lower | valid | time [s] |")
    print("|---:|---:|---|---:|---|---:|")
    for row in rows:
        print(
            f"| {row['m']} | {row['rate_bits']:g} | {row['lower_bits']:.3f} ± "
            f"{row['stderr_bits']:.3f} | {row['gap_to_rd_bits']:.3f} | "
            f"{'yes' if row['valid'] else 'NO'} | {row['seconds']} |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"preset": args.preset, "seed": args.seed, "rows": rows}, fh, indent=2)
    return 0 if all(r["valid"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
