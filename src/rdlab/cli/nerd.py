"""``rdlab nerd``: estimate R(D) of a registered source with NERD (seed 002).

Examples::

    rdlab nerd --source gaussian20 --D 3.3                 # constrained (Algorithm 1)
    rdlab nerd --source gaussian20 --slope -1.4427         # Lagrangian, dR/dD in bits/unit D
    rdlab nerd --source gaussian20 --beta -1               # Lagrangian, the paper's beta (nats)
    rdlab nerd --source digits --D 5,10,20 --out runs/digits --json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdlab.cli.common import add_source_arguments, emit_json, parse_float_list, source_from_args
from rdlab.core.table import format_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "nerd",
        help="neural estimate of R(D) from samples (NERD, seed 002)",
        description=(
            "Estimate points of R(D) with NERD. Distortions are per sample: 'squared_error' is the "
            "squared error summed over the sample's components (pixels), 'sq-lP' the squared l_P "
            "distance. Slopes are dR/dD in bits per unit distortion (<= 0); --beta takes the "
            "paper's multiplier in nats (beta = slope * ln 2)."
        ),
    )
    add_source_arguments(p)
    p.add_argument(
        "--distortion",
        default="squared_error",
        help="squared_error (default) or sq-lP, e.g. sq-l1 ('mse' is read as squared_error)",
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--D", dest="D", help="target distortion(s), comma-separated (constrained)")
    mode.add_argument(
        "--slope", help="slope(s) dR/dD in bits per unit distortion, < 0 (write --slope=-1)"
    )
    mode.add_argument(
        "--beta", help="the paper's multiplier(s), nats per unit distortion, < 0 (--beta=-1)"
    )
    p.add_argument(
        "--preset",
        choices=("quick", "default", "paper"),
        default="default",
        help="training settings (default: a Gaussian point in a few minutes on 2 cores)",
    )
    p.add_argument("--steps", type=int, help="gradient steps")
    p.add_argument("--batch-size", type=int, help="source samples per step")
    p.add_argument("--generator-batch", type=int, help="generator samples per step")
    p.add_argument("--lr", type=float, help="Adam learning rate")
    p.add_argument("--n-eval", type=int, help="held-out source samples of the final estimate")
    p.add_argument("--eval-samples", type=int, help="generator samples M of the final estimate")
    p.add_argument("--generator", choices=("mlp", "dcgan"), help="generator architecture")
    p.add_argument("--width", type=int, help="MLP hidden width (default: the sample dimension)")
    p.add_argument("--channels", type=int, help="DCGAN channel parameter c_d (default 32)")
    p.add_argument("--latent-dim", type=int, help="latent dimension")
    p.add_argument(
        "--train-precision",
        choices=("float32", "bfloat16"),
        help="arithmetic of the generator's training passes (default float32; bfloat16 about "
        "halves a convolutional generator's step on CPUs with AVX-512 BF16)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--out", help="run directory (config, results, plots, checkpoints)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", metavar="PATH", help="write the curve (PNG) to PATH")
    p.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when stderr is a terminal)",
    )
    p.set_defaults(func=_run)


def _config(args: argparse.Namespace):
    from dataclasses import replace

    from rdlab.estimators.nerd import NERD_PRESETS

    cfg = NERD_PRESETS[args.preset]
    over = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "generator_batch": args.generator_batch,
        "lr": args.lr,
        "n_eval": args.n_eval,
        "eval_samples": args.eval_samples,
        "generator": args.generator,
        "latent_dim": args.latent_dim,
        "train_precision": args.train_precision,
    }
    over = {k: v for k, v in over.items() if v is not None}
    if args.lr is not None and args.lr < cfg.lr_final:
        over["lr_final"] = args.lr
    params = dict(cfg.generator_params)
    if args.width is not None:
        params["width"] = args.width
    if args.channels is not None:
        params["channels"] = args.channels
    return replace(cfg, generator_params=params, **over)


def _run(args: argparse.Namespace) -> int:
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    from rdlab.core.information import LN2
    from rdlab.core.io import check_writable
    from rdlab.core.rundir import RunDir
    from rdlab.estimators.nerd import check_distortion_name, nerd_curve

    check_distortion_name(args.distortion)
    if args.resume and not args.out:
        raise ValueError("--resume needs --out (the run directory to continue)")
    if args.plot:
        check_writable(args.plot, overwrite=args.force)
    cfg = _config(args)
    source, source_name = source_from_args(args)
    if args.D is not None:
        values = parse_float_list(args.D, "--D")
        sweep = {"distortions": values}
    else:
        raw = args.slope if args.slope is not None else args.beta
        values = parse_float_list(raw, "--slope" if args.slope is not None else "--beta")
        for v in values:
            if not v < 0:
                flag = "--slope" if args.slope is not None else "--beta"
                raise ValueError(f"{flag} must be < 0 (R(D) decreases), got {v}")
        if args.beta is not None:
            values = [v / LN2 for v in values]
        sweep = {"slopes": values}
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    top = None
    if args.out:
        top = RunDir(args.out)
        top.open(
            {
                "command": "nerd",
                "source": source_name,
                "source_description": source.describe(),
                "distortion_measure": args.distortion,
                **sweep,
                "seed": args.seed,
                "config": cfg.to_dict(),
            },
            resume=args.resume,
            overwrite=args.overwrite,
        )
    results, _ = nerd_curve(
        source,
        seed=args.seed,
        distortion=args.distortion,
        config=cfg,
        device=args.device,
        run_dir=args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=progress,
        source_name=source_name,
        **sweep,
    )
    points = [r.point_dict() for r in results]
    header = {
        "source": source_name,
        "distortion_measure": args.distortion,
        "d_max": results[0].d_max,
        "ceiling_bits": results[0].estimate.ceiling_bits,
    }
    if top is not None:
        top.write_results({**header, "points": points})
        plot_nerd_curve(results, Path(args.out) / "curve.png", overwrite=True)
    if args.plot:
        plot_nerd_curve(results, args.plot, overwrite=args.force)
    if args.json:
        emit_json({**header, "points": points})
        return 0
    for k, v in header.items():
        print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
    rows = []
    for r in results:
        rows.append(
            {
                "rate_bits": r.rate_bits,
                "rate_stderr_bits": r.rate_stderr_bits,
                "distortion": r.distortion,
                "slope": r.estimate.slope,
                "closed_form": r.closed_form_rate_bits,
                "excess_rate_bits": r.excess_rate_bits,
                "seconds": round(r.train_seconds + r.eval_seconds, 1),
            }
        )
    cols = [
        ("rate_bits", "rate [bits]"),
        ("rate_stderr_bits", "± stderr"),
        ("distortion", "distortion"),
        ("slope", "slope [bits/unit D]"),
    ]
    if any(r.closed_form_rate_bits is not None for r in results):
        cols += [("closed_form", "closed-form R(D)"), ("excess_rate_bits", "R - R(D) [bits]")]
    cols.append(("seconds", "seconds"))
    print(format_table(rows, cols))
    if any(r.estimate.near_ceiling for r in results):
        print(
            f"warning: some estimates are within 2 bits of log2 M = "
            f"{results[0].estimate.ceiling_bits:.2f} bits; use more --eval-samples",
            file=sys.stderr,
        )
    if args.out:
        print(f"run written to {args.out}/", file=sys.stderr)
    return 0


def plot_nerd_curve(results, path, *, overwrite: bool) -> None:
    """NERD points with standard-error bars, beside the closed form where one is known."""
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()
    import numpy as np

    from rdlab.core.io import check_writable, write_figure

    check_writable(path, overwrite=overwrite)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    d = np.array([r.distortion for r in results])
    rb = np.array([r.rate_bits for r in results])
    se = np.array([r.rate_stderr_bits for r in results])
    ax.errorbar(d, rb, yerr=2 * se, fmt="o", capsize=3, label="NERD (± 2 s.e.)")
    cf = [r for r in results if r.closed_form_rate_bits is not None]
    if cf:
        import rdlab.sources.nerd_sources  # noqa: F401
        from rdlab.sources.registry import make_source
        from rdlab.theory.gaussian import vector_gaussian_rate_distortion

        try:
            src = make_source(results[0].source)
            grid = np.linspace(max(1e-3, 0.5 * d.min()), results[0].d_max, 200)
            ax.plot(grid, vector_gaussian_rate_distortion(grid, src), "-", label="closed form")
        except (ValueError, TypeError):
            pass
    ax.axhline(results[0].estimate.ceiling_bits, color="gray", ls=":", label="log2 M")
    ax.set_xlabel(f"distortion ({results[0].distortion_measure})")
    ax.set_ylabel("rate [bits]")
    ax.set_title(f"NERD on {results[0].source}")
    ax.grid(alpha=0.3)
    ax.legend()
    write_figure(fig, path)
