"""``rdlab shift train`` / ``rdlab shift eval``: compression under distribution shift
(seed 003): super-resolution and denoising over compressed representations."""

from __future__ import annotations

import argparse
import sys

from rdlab.cli.common import emit_json
from rdlab.core.table import format_table

POINT_KEYS = (
    "task",
    "stage",
    "common_randomness",
    "rate_bound_bits",
    "rate_bits",
    "rate_information_bits",
    "distortion_input",
    "distortion_input_stderr",
    "distortion_ground_truth",
    "distortion_ground_truth_stderr",
    "distortion_measure",
    "perception_w1",
    "branch_input_mse",
    "branch_output_mse",
    "branch_cross_mse",
    "decomposed_loss",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "shift", help="restoration over compressed representations (seed 003: SR, denoising)"
    )
    kinds = p.add_subparsers(dest="shift_command", metavar="COMMAND")
    kinds.required = True
    t = kinds.add_parser(
        "train",
        help="train one model: a restoring codec (with or without common randomness), a "
        "two-branch / separate network, or the baseline's U-Net and its compressor",
        description="Train one seed-003 model into --out and measure it on the test split: "
        "distortion_input is the MSE per pixel against the degraded input, "
        "distortion_ground_truth against the clean image (used only here, never in training). "
        "Codec stages write the test split as a real bitstream (rate_bits: the whole file per "
        "image); encode and decode with 'rdlab encode RUN' / 'rdlab decode --model RUN'.",
    )
    t.add_argument("--task", choices=("sr", "denoise"), required=True,
                   help="sr: MNIST x4 super-resolution; denoise: SVHN, noise std 20")  # fmt: skip
    t.add_argument("--rate", type=float, help="rate bound in bits per image (latent_dim * log2 L)")
    t.add_argument("--no-common-randomness", action="store_true",
                   help="the decoder subtracts its own dither (eq. 16), not the encoder's")  # fmt: skip
    t.add_argument(
        "--stage",
        choices=("end-to-end", "two-branch", "separate", "restore", "restore-compress"),
        default="end-to-end",
    )
    t.add_argument("--base", help="the run a two-branch, separate or restore-compress stage uses")
    t.add_argument("--preset", choices=("quick", "paper"), default="quick")
    t.add_argument("--levels", type=int, help="UQ levels L (default: 4 for sr, 8 for denoise)")
    t.add_argument("--lam", type=float, help="W1 weight (default: the stage's, B.3 / B.5)")
    t.add_argument("--epochs", type=int, help="training epochs (default: the preset's)")
    t.add_argument("--n-train", type=int, help="use the first N training images")
    t.add_argument("--n-test", type=int, help="use the first N test images")
    t.add_argument("--fresh-critic-steps", type=int, help="budget of the fresh W1 critic")
    t.add_argument("--data", help="your own clean images (.npy or folder) of the task's shape")
    t.add_argument("--data-dir", help="folder with MNIST / SVHN files (or set RDLAB_DATA)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(func=_train)
    e = kinds.add_parser("eval", help="the measurements of a finished run")
    e.add_argument("run", help="run directory")
    e.add_argument("--recompute", action="store_true", help="evaluate the model again")
    e.add_argument("--data-dir", help="folder with MNIST / SVHN files (or set RDLAB_DATA)")
    e.add_argument("--fresh-critic-steps", type=int, help="budget of the fresh W1 critic")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_eval)


def _train(args: argparse.Namespace) -> int:
    from rdlab.models.shift import TASK_LEVELS, latent_dim_for_rate, preset_config, shift_run

    fields = {
        k: v
        for k, v in (("levels", args.levels), ("lam", args.lam), ("epochs", args.epochs),
                     ("n_train", args.n_train), ("n_test", args.n_test),
                     ("fresh_critic_steps", args.fresh_critic_steps), ("data", args.data))
        if v is not None
    }  # fmt: skip
    if args.stage == "restore":
        if args.rate is not None:
            raise ValueError("--rate: the restore stage (the baseline's U-Net) codes nothing")
    elif args.rate is None:
        raise ValueError(f"--rate is required for the {args.stage} stage")
    else:
        levels = fields.get("levels", TASK_LEVELS[args.task])
        fields["latent_dim"] = latent_dim_for_rate(args.rate, levels)
    if args.epochs is not None:  # one decay, at the same fraction of the run as the preset's
        ref = preset_config(args.preset, args.task, stage=args.stage)
        frac = ref.lr_decay_epochs[0] / ref.epochs
        fields["lr_decay_epochs"] = (max(1, round(frac * args.epochs)),)
    cfg = preset_config(
        args.preset,
        args.task,
        stage=args.stage,
        common_randomness=not args.no_common_randomness,
        **fields,
    )
    run = shift_run(
        cfg,
        args.out,
        base=args.base,
        seed=args.seed,
        data_dir=args.data_dir,
        device=args.device,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    _print_point(args, run.to_dict(), header={"run": args.out})
    return 0


def _print_point(args: argparse.Namespace, res: dict, header: dict) -> None:
    point = {k: res.get(k) for k in POINT_KEYS if res.get(k) is not None}
    if args.json:
        emit_json({**header, "points": [point]})
        return
    for key, value in header.items():
        print(f"{key}: {value}")
    print(format_table([point], [(k, k) for k in point]))
    if "train_seconds" in res:
        print(f"trained in {res['train_seconds']:.1f} s", file=sys.stderr)


def _eval(args: argparse.Namespace) -> int:
    from rdlab.core.rundir import RunDir
    from rdlab.models.shift import evaluate_shift, load_shift_model

    rd = RunDir(args.run)
    if args.recompute or not rd.results_path.exists():
        model, _, _, seed = load_shift_model(args.run)
        cfg = model.config
        res = {
            "task": cfg.task,
            "stage": cfg.stage,
            "common_randomness": cfg.common_randomness,
            **evaluate_shift(
                model,
                rd,
                seed=seed,
                data_dir=args.data_dir,
                fresh_critic_steps=args.fresh_critic_steps,
            ).to_dict(),
        }
        res.setdefault("rate_bound_bits", cfg.rate_bound_bits)
    else:
        res = rd.read_results()
    _print_point(args, res, header={"run": args.run})
    return 0
