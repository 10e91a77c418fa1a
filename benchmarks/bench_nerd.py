"""Benchmark: NERD on the m = 20 Gaussian ``gaussian20`` at the official code's slopes.

The official NERD code fixes a multiplier lambda in nats per unit of squared error summed over
the 20 components (the paper's beta); rdlab's slope is lambda / ln 2 bits per unit squared
error. For lambda = -0.25, -1, -3 this script trains NERD in Lagrangian mode, estimates rate and
distortion on held-out samples with M = 10^5 generator samples, and compares the rate with the
closed-form R(D) at the estimated distortion. It prints a Markdown table (and JSON with
``--json``).

    python benchmarks/bench_nerd.py --threads 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import replace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambdas", default="-0.25,-1,-3", help="official-code multipliers (nats)")
    parser.add_argument("--steps", type=int, default=8000)
    parser.add_argument("--generator-batch", type=int, default=4096)
    parser.add_argument("--n-eval", type=int, default=32768)
    parser.add_argument("--eval-samples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from rdlab.estimators.nerd import NERD_PRESETS, nerd_point

    torch.set_num_threads(args.threads)
    cfg = replace(
        NERD_PRESETS["default"],
        steps=args.steps,
        generator_batch=args.generator_batch,
        n_eval=args.n_eval,
        eval_samples=args.eval_samples,
    )
    load_start = os.getloadavg()[0]
    rows = []
    for lam in (float(v) for v in args.lambdas.split(",")):
        t0 = time.perf_counter()
        res = nerd_point("gaussian20", seed=args.seed, slope=lam / math.log(2), config=cfg)
        wall = time.perf_counter() - t0
        rows.append(
            {
                "lambda_nats": lam,
                "slope_bits": lam / math.log(2),
                "rate_bits": res.rate_bits,
                "rate_stderr_bits": res.rate_stderr_bits,
                "distortion": res.distortion,
                "distortion_stderr": res.estimate.distortion_stderr,
                "closed_form_rate_bits": res.closed_form_rate_bits,
                "gap_bits": res.gap_to_closed_form_bits,
                "gap_stderr_bits": res.estimate.tangent_stderr_bits,
                "train_seconds": res.train_seconds,
                "eval_seconds": res.eval_seconds,
                "wall_seconds": wall,
            }
        )
    meta = {
        "source": "gaussian20",
        "config": cfg.to_dict(),
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "load_average_start": round(load_start, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows}, indent=2))
        return 0
    print(
        "| λ (nats) | slope (bits/unit D) | R̂ ± s.e. (bits) | D̂ ± s.e. | R(D̂) closed form "
        "| gap ± s.e. (bits) | train (s) | eval (s) | total (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['lambda_nats']:g} | {r['slope_bits']:.4f} | {r['rate_bits']:.3f} ± "
            f"{r['rate_stderr_bits']:.3f} | {r['distortion']:.4f} ± {r['distortion_stderr']:.4f} "
            f"| {r['closed_form_rate_bits']:.3f} | {r['gap_bits']:+.3f} ± {r['gap_stderr_bits']:.3f} "
            f"| {r['train_seconds']:.0f} | {r['eval_seconds']:.0f} | {r['wall_seconds']:.0f} |"
        )
    print(f"\nconfig: {json.dumps(meta)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
