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

``--part anchor`` compares rdlab's NERD with the official NERD-RCC MNIST generators (a folder of
safetensors files ``nerd_mnist_lambda-0.300.safetensors`` ..., ``--anchors``; never part of the
project): both estimated by the same held-out estimator (``estimate_rate``, Lagrangian mode at
slope lambda / ln 2; the first ``--n-test`` MNIST test images resized to 32x32 as the official
code does; M = ``--eval-samples`` in chunks of 8192, the official generators with BatchNorm on
each chunk's statistics as their evaluation samples), rdlab's generator trained at the same
multipliers on the 60 000 resized training images with the NERD preset ``--preset`` (and
``--steps``, ``--generator-batch``, ``--train-precision``). Each rdlab point is compared with
the official curve at its own distortion (linear interpolation between the two official points
around it: above the convex curve between them, so a gap reported is never too large).

    python benchmarks/bench_nerd.py --threads 2
    RDLAB_DATA=../shared/data python benchmarks/bench_nerd.py --part mnist --threads 2
    RDLAB_DATA=../shared/data python benchmarks/bench_nerd.py --part anchor \
        --anchors ../shared/anchors/nerd-rcc-mnist --lambdas=-0.2,-0.3,-0.4 --threads 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import time
from dataclasses import replace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambdas", default="-0.25,-1,-3", help="official-code multipliers (nats)")
    parser.add_argument("--steps", type=int, help="gaussian: 16000; anchor: the preset's")
    parser.add_argument("--generator-batch", type=int, help="gaussian: 4096; anchor: the preset's")
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
    parser.add_argument("--part", choices=("gaussian", "mnist", "anchor"), default="gaussian")
    parser.add_argument("--anchors", help="--part anchor: folder of the official generators")
    parser.add_argument("--n-test", type=int, default=2000, help="--part anchor: test images")
    parser.add_argument("--preset", default="quick", help="--part anchor: rdlab's NERD preset")
    parser.add_argument(
        "--train-precision", default="bfloat16", help="--part anchor: rdlab's training passes"
    )
    parser.add_argument("--batch-size", type=int, help="--part anchor: images per step")
    parser.add_argument("--lr", type=float, help="--part anchor: Adam learning rate")
    parser.add_argument(
        "--skip-official", action="store_true", help="--part anchor: rdlab's points only"
    )
    parser.add_argument(
        "--official-from",
        help="--part anchor: take the official curve from this results JSON of an earlier run "
        "(same test images and eval samples) instead of evaluating it again (about 20 minutes)",
    )
    args = parser.parse_args()

    import torch

    from rdlab.core.runtime import keep_freed_memory

    keep_freed_memory()  # as the rdlab command does: no page faults on every step's tensors
    if args.part in ("mnist", "anchor"):
        torch.set_num_threads(args.threads)
        return mnist_curve(args) if args.part == "mnist" else anchor_comparison(args, parser)

    from rdlab.estimators.nerd import NERD_PRESETS, nerd_point, split_samples

    torch.set_num_threads(args.threads)
    cfg = replace(
        NERD_PRESETS["default"],
        steps=args.steps or 16000,
        generator_batch=args.generator_batch or 4096,
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
    meta = run_meta(
        args,
        load_start,
        source="gaussian20",
        config=cfg.to_dict(),
        torch=torch.__version__,
        machine=platform.machine(),
        processor=platform.processor(),
        cpus=os.cpu_count(),
    )
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


def run_meta(args, load_start: float, **fields) -> dict:
    """What a run records beside its rows: ``fields``, the threads, the load average at its
    start and end, and the date."""
    return {
        **fields,
        "threads": args.threads,
        "load_average_start": round(load_start, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


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
    meta = run_meta(
        args,
        load_start,
        source="mnist (60 000 training images, 28x28 zero-padded to 32x32)",
        config=cfg.to_dict(),
    )
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


def official_generator():
    """The official NERD-RCC MNIST generator (DCGAN, latent 128, c_d = 32, BatchNorm after each
    ReLU), with the key names of the converted safetensors files."""
    from torch import nn

    class Official(nn.Module):
        latent_dim = 128

        def __init__(self) -> None:
            super().__init__()
            self.latent_to_features = nn.Sequential(nn.Linear(128, 8 * 32 * 2 * 2), nn.ReLU())
            layers: list[nn.Module] = []
            for c_in, c_out in ((256, 128), (128, 64), (64, 32)):
                layers += [
                    nn.ConvTranspose2d(c_in, c_out, 4, 2, 1),
                    nn.ReLU(),
                    nn.BatchNorm2d(c_out),
                ]
            layers += [nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid()]
            self.features_to_image = nn.Sequential(*layers)

        def forward(self, z):
            return self.features_to_image(self.latent_to_features(z).reshape(-1, 256, 2, 2))

    return Official()


def batch_statistics_sampler(generator):
    """``sampler(n, seed)`` of a generator whose BatchNorm layers use the sampled batch's
    statistics (training mode without gradients), as the official evaluation samples."""
    import torch

    def sample(n: int, seed: int):
        g = torch.Generator().manual_seed(int(seed))
        z = torch.randn(n, generator.latent_dim, generator=g)
        generator.train()
        with torch.no_grad():
            return generator(z)

    return sample


def anchor_comparison(args, parser) -> int:
    """The official MNIST generators against rdlab's NERD at the same multipliers."""
    from pathlib import Path

    import numpy as np
    import torch
    from safetensors.torch import load_file

    import rdlab.sources.nerd_sources  # noqa: F401
    from rdlab.estimators.generators import make_generator
    from rdlab.estimators.nerd import (
        NERD_PRESETS,
        TorchSampler,
        estimate_rate,
        train_generator,
    )
    from rdlab.sources.registry import make_source

    if not args.anchors or not Path(args.anchors).is_dir():
        parser.error("--part anchor needs --anchors FOLDER of nerd_mnist_lambda-*.safetensors")
    ln2 = math.log(2.0)
    lambdas = [float(v) for v in args.lambdas.split(",")]
    test = make_source("mnist", split="test", n=args.n_test, resize_to=32)
    x_test = test.as_float(test.data)
    train = make_source("mnist", split="train", resize_to=32)
    x_train = train.as_float(train.data)
    over = {"train_precision": args.train_precision}
    for name in ("steps", "generator_batch", "batch_size", "lr"):
        if getattr(args, name) is not None:
            over[name] = getattr(args, name)
    if "lr" in over:
        over["lr_final"] = min(NERD_PRESETS[args.preset].lr_final, over["lr"])
    cfg = replace(NERD_PRESETS[args.preset], **over)

    def estimate(sampler, slope: float) -> dict:
        t0 = time.perf_counter()
        est = estimate_rate(
            sampler, x_test, seed=10**6, slope=slope, n_samples=args.eval_samples, chunk_size=8192
        )
        return {
            "rate_bits": est.rate_bits,
            "rate_stderr_bits": est.rate_stderr_bits,
            "distortion": est.distortion,
            "eval_seconds": time.perf_counter() - t0,
        }

    load_start = os.getloadavg()[0]
    official = []
    files = sorted(Path(args.anchors).glob("nerd_mnist_lambda-*.safetensors"))
    if args.official_from:
        try:
            earlier = json.loads(Path(args.official_from).read_text())
            same = earlier["meta"]["eval_samples"] == args.eval_samples
            official, files = list(earlier["official"]), []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            parser.error(f"--official-from: not the JSON of a --part anchor run ({exc!r})")
        if not same:
            parser.error("--official-from: that run used other --eval-samples")
    for path in [] if args.skip_official else files:
        lam = -float(path.stem.split("lambda-")[1])
        gen = official_generator()
        gen.load_state_dict(load_file(str(path)), strict=True)
        official.append({"lambda_nats": lam, **estimate(batch_statistics_sampler(gen), lam / ln2)})
    rows = []
    for lam in lambdas:
        torch.manual_seed(args.seed)
        gen = make_generator("dcgan", (1, 32, 32), cfg.latent_dim, **cfg.generator_params)
        gen.init_output_mean([float(x_train.mean(dtype=np.float64))])
        t0 = time.perf_counter()
        train_generator(gen, x_train, seed=args.seed, config=cfg, slope=lam / ln2)
        row = {"lambda_nats": lam, "train_seconds": time.perf_counter() - t0}
        row.update(estimate(TorchSampler(gen), lam / ln2))
        at = official_at(official, row["distortion"])
        if at is not None:
            row["official_rate_bits"] = at[0]
            row["excess_over_official_bits"] = row["rate_bits"] - at[0]
            row["excess_stderr_bits"] = math.hypot(row["rate_stderr_bits"], at[1])
        rows.append(row)
    meta = run_meta(
        args,
        load_start,
        data=f"MNIST resized to 32x32: 60 000 training images, the first {args.n_test} test "
        "images held out",
        config=cfg.to_dict(),
        eval_samples=args.eval_samples,
    )
    if args.json:
        print(json.dumps({"meta": meta, "official": official, "rows": rows}, indent=2))
        return 0
    print("| λ (nats) | official R̂ ± s.e. (bits) | official D̂ | eval (s) |")
    print("|---|---|---|---:|")
    for r in official:
        print(
            f"| {r['lambda_nats']:g} | {r['rate_bits']:.2f} ± {r['rate_stderr_bits']:.2f} "
            f"| {r['distortion']:.2f} | {r['eval_seconds']:.0f} |"
        )
    print(
        "\n| λ (nats) | rdlab R̂ ± s.e. (bits) | rdlab D̂ | official R at that D (bits) "
        "| rdlab − official ± s.e. (bits) | train (s) |"
    )
    print("|---|---|---|---|---|---:|")
    for r in rows:
        gap = r.get("excess_over_official_bits")
        print(
            f"| {r['lambda_nats']:g} | {r['rate_bits']:.2f} ± {r['rate_stderr_bits']:.2f} "
            f"| {r['distortion']:.2f} | "
            + (
                f"{r['official_rate_bits']:.2f} | {gap:+.2f} ± {r['excess_stderr_bits']:.2f} "
                if gap is not None
                else "— | — "
            )
            + f"| {r['train_seconds']:.0f} |"
        )
    print(f"\nconfig: {json.dumps(meta)}")
    return 0


def official_at(official: list[dict], d: float) -> tuple[float, float] | None:
    """The official curve's rate and its standard error at distortion ``d``: linear between its
    two points around ``d`` (None outside their range)."""
    pts = sorted(official, key=lambda r: r["distortion"])
    for lo, hi in itertools.pairwise(pts):
        if lo["distortion"] <= d <= hi["distortion"]:
            w = (d - lo["distortion"]) / (hi["distortion"] - lo["distortion"])
            rate = (1 - w) * lo["rate_bits"] + w * hi["rate_bits"]
            return rate, math.hypot((1 - w) * lo["rate_stderr_bits"], w * hi["rate_stderr_bits"])
    return None


if __name__ == "__main__":
    raise SystemExit(main())
