"""Blahut-Arimoto on the empirical law of n MNIST images at the slopes of seed 002's Fig. 1.

rdlab (certified to --tol-bits by column generation, rdlab.solvers.empirical_rate_distortion_curve)
against the official code's method (Blahut_Arimoto/BA_mnist.py of leieric/NERD-RCC, re-implemented
here from its description: dense numpy, the kernel exp(-beta d) recomputed at every iteration, at
most 500 iterations, stop when D changes by at most 1e-10; no certificate) at one slope.

Images: the first n of MNIST's training file, resized to 32x32 bilinearly as the official code
(torchvision Resize(32) + ToTensor: pixels in [0, 1]); distortion: squared error summed over the
image; uniform weights 1/n. Slopes: the official beta (nats per unit of squared error)
0.01 ... 0.2, i.e. dR/dD = -beta / ln 2 bits per unit.

    .venv/bin/python benchmarks/bench_ba_empirical.py --data-dir ../shared/data --n 10000 \\
        --threads 2 --json benchmarks/results/cpu/ba_empirical_mnist10k.json
    .venv/bin/python benchmarks/bench_ba_empirical.py --data-dir ../shared/data --n 10000 \\
        --skip-rdlab --official-beta 0.1 --json benchmarks/results/cpu/ba_official_mnist10k.json
    .venv/bin/python benchmarks/bench_ba_empirical.py --data-dir ../shared/data --n 10000 \\
        --threads 1 --profile                  # where the time goes (cProfile, one thread)
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time
from pathlib import Path

import numpy as np

from rdlab.experiments.seed002_nerd import OFFICIAL_BA_BETAS_NATS


def official_ba(d: np.ndarray, beta: float, max_it: int = 500, eps: float = 1e-10):
    """The official iteration (BlahutArimoto.run_BlahutArimoto): rate in bits, distortion,
    iterations."""
    n = d.shape[0]
    p = np.full(n, 1.0 / n)
    cond = np.full((n, n), 1.0 / n)
    it, d_prev, dist, rate = 0, 0.0, 2 * eps, float("nan")
    while it < max_it and abs(dist - d_prev) > eps:
        it += 1
        d_prev = dist
        p_hat = p @ cond
        cond = np.exp(-beta * d) * p_hat
        cond /= cond.sum(1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(cond > 0, cond * np.log(cond / p_hat[None, :]), 0.0)
        rate = float((p @ term).sum() / math.log(2.0))
        dist = float((p @ (cond * d)).sum())
    return rate, dist, it


def rdlab_curve(x: np.ndarray, args) -> dict:
    """rdlab's certified curve at the official slopes, its time and peak memory."""
    from rdlab.solvers.blahut_arimoto import empirical_rate_distortion_curve

    slopes = [-b / math.log(2.0) for b in OFFICIAL_BA_BETAS_NATS]
    t0 = time.perf_counter()
    curve = empirical_rate_distortion_curve(
        x, slopes=slopes, tol_bits=args.tol_bits, threads=args.threads, progress=True
    )
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    pts = sorted(curve.points, key=lambda p: -p.slope)
    sizes = curve.meta["support_sizes"]
    assert len(sizes) == len(pts), "every official slope is < 0"
    rows = [
        {
            "beta_nats": -p.slope * math.log(2.0),
            "slope": p.slope,
            "rate_bits": p.rate_bits,
            "rate_lower_bits": p.rate_lower_bits,
            "gap_bits": p.gap_bits,
            "distortion": p.distortion,
            "support_size": size,
        }
        for p, size in zip(pts, sizes, strict=True)
    ]
    out = {
        "tol_bits": args.tol_bits,
        "threads": args.threads,
        "seconds": round(seconds, 1),
        "peak_rss_bytes": rss,
        "d_max": curve.meta["d_max"],
        "distortion_cached": curve.meta["distortion_cached"],
        "points": rows,
    }
    print(json.dumps({k: v for k, v in out.items() if k != "points"}))
    for r in rows:
        print(json.dumps(r))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--tol-bits", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--official-beta",
        type=float,
        default=None,
        help="also time the official "
        "method at this beta (nats); its dense n x n arrays need about 5 n^2 x 8 bytes",
    )
    ap.add_argument("--skip-rdlab", action="store_true", help="time the official method only")
    ap.add_argument(
        "--profile", action="store_true", help="run rdlab's sweep under cProfile, print the top"
    )
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from rdlab.sources.images import image_source

    src = image_source("mnist", data_dir=args.data_dir, n=args.n, resize_to=32)
    x = src.as_float(src.data).reshape(args.n, -1).astype(np.float64)
    out: dict = {"n": args.n}
    if not args.skip_rdlab and args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        out.update(prof.runcall(rdlab_curve, x, args))
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    elif not args.skip_rdlab:
        out.update(rdlab_curve(x, args))
    if args.official_beta is not None:
        from rdlab.core.distortion import distortion_matrix

        d = distortion_matrix(x, x)
        t1 = time.perf_counter()
        rate, dist, it = official_ba(d, args.official_beta)
        out["official"] = {
            "beta_nats": args.official_beta,
            "rate_bits": rate,
            "distortion": dist,
            "iterations": it,
            "seconds": round(time.perf_counter() - t1, 1),
        }
        print(json.dumps(out["official"]))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
