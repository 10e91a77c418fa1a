"""Benchmark: NERD on the m = 20 Gaussian ``gaussian20`` at the official code's slopes.

The official NERD code fixes a multiplier lambda in nats per unit of squared error summed over
the 20 components (the paper's beta); rdlab's slope is lambda / ln 2 bits per unit squared
error. For lambda = -0.25, -1, -3 this script trains NERD in Lagrangian mode, estimates rate and
distortion on held-out samples with M = 10^5 generator samples, and compares the rate with the
closed-form R(D) at the estimated distortion. It prints a Markdown table (and JSON with
``--json``).

``--part mnist`` estimates an R(D) curve of MNIST instead (the DCGAN generator with the quick
settings of ``002-fig1``, slopes k / D_max for k = -10, -30, -100, -300 bits and a near-zero-rate
slope) and checks the zero-rate end: at the near-zero-rate slope the distortion must be
D_max = E||X - mean||^2 of the held-out images. Needs MNIST in ``RDLAB_DATA``.

    python benchmarks/bench_nerd.py --threads 2
    RDLAB_DATA=../shared/data python benchmarks/bench_nerd.py --part mnist --threads 2
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
    parser.add_argument("--steps", type=int, default=16000)
    parser.add_argument("--generator-batch", type=int, default=4096)
    parser.add_argument("--n-eval", type=int, default=16384)
    parser.add_argument("--eval-samples", type=int, default=400_000)
    parser.add_argument(
        "--exact-reference",
        action="store_true",
        help="also evaluate the exact optimal output law with the same estimator (untimed)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--part", choices=("gaussian", "mnist"), default="gaussian")
    args = parser.parse_args()

    import torch

    if args.part == "mnist":
        torch.set_num_threads(args.threads)
        return mnist_curve(args)

    from rdlab.estimators.nerd import NERD_PRESETS, nerd_point, split_samples

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
                "excess_rate_bits": res.excess_rate_bits,
                "excess_rate_stderr_bits": res.estimate.tangent_stderr_bits,
                "train_seconds": res.train_seconds,
                "eval_seconds": res.eval_seconds,
                "wall_seconds": wall,
            }
        )
        if args.exact_reference:
            rows[-1].update(exact_reference(res, cfg, args.seed, split_samples))
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
    ref = args.exact_reference
    print(
        "| λ (nats) | slope (bits/unit D) | R̂ ± s.e. (bits) | D̂ ± s.e. | R(D̂) closed form "
        "| R - R(D) ± s.e. (bits) | train (s) | eval (s) | total (s) |"
        + (" R - R(D) of exact Q_Y* (bits) |" if ref else "")
    )
    print("|---|---|---|---|---|---|---|---|---|" + ("---|" if ref else ""))
    for r in rows:
        print(
            f"| {r['lambda_nats']:g} | {r['slope_bits']:.4f} | {r['rate_bits']:.3f} ± "
            f"{r['rate_stderr_bits']:.3f} | {r['distortion']:.4f} ± {r['distortion_stderr']:.4f} "
            f"| {r['closed_form_rate_bits']:.3f} | {r['excess_rate_bits']:+.3f} ± {r['excess_rate_stderr_bits']:.3f} "
            f"| {r['train_seconds']:.0f} | {r['eval_seconds']:.0f} | {r['wall_seconds']:.0f} |"
            + (
                f" {r['exact_excess_rate_bits']:+.3f} ± {r['exact_excess_rate_stderr_bits']:.3f} |"
                if ref
                else ""
            )
        )
    print(f"\nconfig: {json.dumps(meta)}")
    return 0


def exact_reference(res, cfg, seed: int, split_samples) -> dict:
    """The same estimate for the exact optimal output law Q_Y* at the same slope (untimed)."""
    from rdlab.estimators.nerd import chunk_seed, estimate_rate
    from rdlab.sources.registry import make_source
    from rdlab.theory.gaussian import (
        gaussian_test_channel,
        reverse_water_filling,
        vector_gaussian_rate_distortion,
    )

    src = make_source("gaussian20")
    slope = res.estimate.slope
    # the water level whose slope is `slope`: dR/dD = -1 / (2 ln 2 theta) bits per unit D
    theta = -1.0 / (2.0 * math.log(2.0) * slope)
    d_star = float(sum(min(theta, v) for v in src.eigenvalues))
    wf = reverse_water_filling(src.eigenvalues, d_star)
    _, x_ev = split_samples(src, cfg, seed)
    est = estimate_rate(
        gaussian_test_channel(src, wf.distortion).sample_output,
        x_ev,
        seed=chunk_seed(seed, 2 * 10**9),
        slope=slope,
        n_samples=cfg.eval_samples,
        chunk_size=cfg.eval_chunk,
    )
    gap = est.rate_bits - float(vector_gaussian_rate_distortion(est.distortion, src))
    return {
        "exact_rate_bits": est.rate_bits,
        "exact_distortion": est.distortion,
        "exact_excess_rate_bits": gap,
        "exact_excess_rate_stderr_bits": est.tangent_stderr_bits,
        "optimal_distortion": d_star,
    }


def mnist_curve(args) -> int:
    """The MNIST curve and its zero-rate check (quick settings of 002-fig1)."""
    import numpy as np

    import rdlab.sources.nerd_sources  # noqa: F401
    from rdlab.estimators.nerd import NERD_PRESETS, nerd_point, zero_rate_distortion
    from rdlab.experiments.seed002_nerd import FIG1_SETTINGS
    from rdlab.sources.registry import make_source

    src = make_source("mnist")
    cfg = replace(NERD_PRESETS["quick"], **FIG1_SETTINGS["quick"]["nerd"])
    x = src.as_float(src.data).reshape(len(src), -1).astype(np.float64)
    d_max = zero_rate_distortion(x)
    top_eig = float(np.linalg.eigvalsh(np.cov(x[:20000].T))[-1])
    ln2 = math.log(2.0)
    # |beta| <= 1/(2 s_max) nats is the zero-rate region of a Gaussian with this covariance
    slopes = [-1.0 / (4.0 * top_eig) / ln2] + [k / d_max for k in (-10.0, -30.0, -100.0, -300.0)]
    load_start = os.getloadavg()[0]
    rows = []
    for slope in slopes:
        t0 = time.perf_counter()
        res = nerd_point(src, seed=args.seed, slope=slope, config=cfg)
        rows.append(
            {
                "slope_bits": slope,
                "slope_times_d_max": slope * d_max,
                "rate_bits": res.rate_bits,
                "rate_stderr_bits": res.rate_stderr_bits,
                "distortion": res.distortion,
                "wall_seconds": time.perf_counter() - t0,
            }
        )
    check = {
        "d_max": d_max,
        "distortion_at_near_zero_rate": rows[0]["distortion"],
        "relative_difference": abs(rows[0]["distortion"] - d_max) / d_max,
        "rate_bits_at_near_zero_rate": rows[0]["rate_bits"],
    }
    meta = {
        "source": "mnist (60 000 training images, 28x28 zero-padded to 32x32)",
        "config": cfg.to_dict(),
        "threads": args.threads,
        "load_average_start": round(load_start, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows, "zero_rate_check": check}, indent=2))
        return 0
    print("| slope × D_max (bits) | R̂ ± s.e. (bits) | D̂ | total (s) |")
    print("|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['slope_times_d_max']:.3g} | {r['rate_bits']:.3f} ± {r['rate_stderr_bits']:.3f} "
            f"| {r['distortion']:.3f} | {r['wall_seconds']:.0f} |"
        )
    print(
        f"\nD_max = {d_max:.3f}; at the near-zero-rate slope D̂ = {check['distortion_at_near_zero_rate']:.3f} "
        f"({100 * check['relative_difference']:.2f} % off), R̂ = {check['rate_bits_at_near_zero_rate']:.3f} bits"
    )
    print(f"\nconfig: {json.dumps(meta)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
