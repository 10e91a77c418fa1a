"""``rdlab ntc train``: nonlinear transform coding (the DNN-compressor baseline of seed 002)."""

from __future__ import annotations

import argparse

from rdlab.cli.common import (
    add_source_arguments,
    emit_json,
    parse_float_list,
    source_spec_from_args,
)
from rdlab.core.table import format_table
from rdlab.experiments.runner import EXECUTORS

SHOWN = (
    ("distortion_weight", "λ [bits/unit D]"),
    ("rate_bits", "rate [bits]"),
    ("rate_payload_bits", "payload [bits]"),
    ("rate_information_bits", "information [bits]"),
    ("distortion", "distortion"),
    ("closed_form_rate_bits", "closed-form R(D)"),
    ("excess_rate_bits", "R - R(D) [bits]"),
    ("active_latents", "active"),
    ("train_seconds", "seconds"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ntc", help="nonlinear transform coding (DNN compressor, seed 002)")
    kinds = p.add_subparsers(dest="ntc_command", metavar="COMMAND")
    kinds.required = True
    t = kinds.add_parser(
        "train",
        help="train NTC models (one per --lam) and measure them on held-out samples",
        description="Train one NTC model per λ (rate + λ · distortion; λ in bits per unit of "
        "distortion: squared error summed over a vector, MSE per pixel of an image) and write "
        "each held-out set as a real bitstream: rate_bits is the whole file per sample. "
        "Encode and decode with 'rdlab encode RUN' and 'rdlab decode --model RUN'.",
    )
    add_source_arguments(t)
    t.add_argument("--lam", required=True, help="λ >= 0, comma-separated for a sweep")
    t.add_argument("--preset", choices=("quick", "paper"), default="quick")
    t.add_argument("--latent-dim", type=int, default=16, help="latents (vectors) or channels")
    t.add_argument("--width", type=int, default=128, help="hidden width or channels")
    t.add_argument("--steps", type=int, help="Adam steps (default: the preset's)")
    t.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    t.add_argument("--batch-size", type=int, help="samples per step (default: the preset's)")
    t.add_argument("--n-train", type=int, help="training samples (default: the preset's)")
    t.add_argument("--n-eval", type=int, help="held-out samples (default: the preset's)")
    t.add_argument(
        "--block-size",
        type=int,
        default=1,
        metavar="M",
        help="code M samples at once (images tiled sqrt(M) x sqrt(M)); rates per sample",
    )
    t.add_argument(
        "--candidates",
        type=int,
        default=1,
        metavar="K",
        help="train K models from different seeds and keep the one of least rate + λ·distortion "
        "on the training samples (trainings end in different optima by seed; K times the time)",
    )
    t.add_argument(
        "--rate-warmup",
        type=float,
        default=0.1,
        metavar="SHARE",
        help="share of the steps over which the rate weight rises from 0 to 1 (default 0.1)",
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--out", required=True, help="run directory (a sweep: one folder per λ)")
    t.add_argument("--executor", choices=EXECUTORS, default="local")
    t.add_argument("--jobs", type=int, default=1, help="models trained side by side")
    t.add_argument("--address", help="ray: the cluster to join")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_train)


def _source_spec(args: argparse.Namespace) -> dict:
    """The source as a JSON spec that each job rebuilds; built once here so that bad flags or
    data fail before any job starts."""
    from rdlab.sources.user_data import source_from_spec

    spec = source_spec_from_args(args)
    source_from_spec(spec)
    return spec


def _train(args: argparse.Namespace) -> int:
    from rdlab.experiments import ExperimentOptions
    from rdlab.experiments.ntc import ntc_sweep
    from rdlab.models.ntc import ntc_config

    lams = parse_float_list(args.lam, "--lam")
    extra = {
        k: v
        for k, v in (("steps", args.steps), ("batch_size", args.batch_size),
                     ("n_train", args.n_train), ("n_eval", args.n_eval))
        if v is not None
    }  # fmt: skip
    configs = {
        f"lam-{lam:g}": ntc_config(
            args.preset, distortion_weight=lam, latent_dim=args.latent_dim, width=args.width, lr=args.lr,
            block_size=args.block_size, candidates=args.candidates,
            rate_warmup=args.rate_warmup,
            **extra,
        )
        for lam in lams
    }  # fmt: skip
    if len(configs) != len(lams):
        raise ValueError("--lam holds the same value twice")
    options = ExperimentOptions(
        device=args.device, executor=args.executor, jobs=args.jobs, address=args.address
    )
    results = ntc_sweep(
        _source_spec(args),
        configs,
        args.out,
        seed=args.seed,
        options=options,
        progress=not args.no_progress,
    )
    rows = [{"distortion_weight": c.distortion_weight, **results[k]} for k, c in configs.items()]
    if args.json:
        emit_json({"out": args.out, "models": rows})
    else:
        print(f"distortion_measure: {rows[0]['distortion_measure']}")
        print(format_table(rows, SHOWN))
        print(f"runs in {args.out}/lam-*/ (rdlab encode {args.out}/lam-{lams[0]:g} X.npy X.rdl)")
    return 0
