"""``rdlab lc``: learned compressors with a perception term (seed 001).

Examples::

    rdlab lc train --data digits --quantizer uq --latent-dim 3 --levels 3 --lam 0 --out runs/base
    rdlab lc train --data digits --quantizer uq --latent-dim 3 --levels 3 --lam 0.02 \\
        --mode universal --base runs/base --out runs/u002
    rdlab lc eval runs/base --json
    rdlab lc encode --model runs/base images.npy images.rdl   # = rdlab encode runs/base ...
    rdlab lc decode --model runs/base images.rdl recon.npy    # = rdlab decode --model ...
"""

from __future__ import annotations

import argparse
import sys

from rdlab.cli.codec import (
    add_common_options,
    add_encode_options,
    decode_to_file,
    encode_to_file,
    read_input,
)
from rdlab.cli.common import emit_json
from rdlab.coding.quantizers import GRADIENTS
from rdlab.core.table import format_table

POINT_KEYS = (
    "rate_bits",
    "rate_bound_bits",
    "rate_entropy_bits",
    "rate_information_bits",
    "distortion",
    "distortion_stderr",
    "distortion_measure",
    "perception_w1",
    "perception_w1_own",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lc",
        help="learned compressors: train, evaluate, encode, decode (seed 001)",
        description=(
            "Learned quantised autoencoders trained for MSE + lam * W1 (WGAN-GP critic). "
            "Distortion is the test MSE per pixel (pixels in [0, 1]); rates are bits per image: "
            "the bound d*log2(L), the empirical entropy of the sent symbols and the real bytes "
            "of a range-coded bitstream."
        ),
    )
    lc = p.add_subparsers(dest="lc_command", metavar="ACTION")
    lc.required = True

    t = lc.add_parser("train", help="train one model into a run directory")
    t.add_argument(
        "--data",
        default="digits",
        help="digits (default), mnist, fmnist, svhn, or your images: a .npy ((n, H, W) or "
        "(n, C, H, W), uint8 or float in [0, 1]) or a folder of PNG/JPEG, of shape 1x8x8, "
        "1x28x28 or 3x32x32 (one sixth held out as the test split, seed 0)",
    )
    t.add_argument("--quantizer", default="uq", help="dq, nq or uq (default)")
    t.add_argument("--latent-dim", type=int, default=3, help="latent dimension d (default 3)")
    t.add_argument("--levels", type=int, default=3, help="levels L per dimension (default 3)")
    t.add_argument("--lam", type=float, default=0.0, help="perception weight >= 0 (default 0)")
    t.add_argument(
        "--mode", default="end-to-end", help="end-to-end (default), universal or refinement"
    )
    t.add_argument("--base", help="end-to-end run that universal / refinement models build on")
    t.add_argument("--refine-latent-dim", type=int, default=0, help="refining code dimension")
    t.add_argument("--refine-levels", type=int, default=0, help="refining code levels")
    t.add_argument(
        "--warmup-lam",
        type=float,
        help="extra perception weight that falls linearly to 0 over --warmup-epochs",
    )
    t.add_argument("--warmup-epochs", type=int, help="length of the perception warm-up")
    t.add_argument("--encoder-width", type=float, help="encoder width factor (default 1)")
    t.add_argument("--refine-width", type=float, help="refining encoder width factor")
    t.add_argument(
        "--sigma", type=float, help="inverse temperature of the soft-to-hard gradient (> 0)"
    )
    t.add_argument(
        "--gradient",
        choices=GRADIENTS,
        help="quantiser backward pass: soft-to-hard (default) or identity (straight-through)",
    )
    t.add_argument("--lr-coder", type=float, help="Adam learning rate of encoder and decoder")
    t.add_argument(
        "--soft-epochs",
        type=int,
        help="first epochs train with the soft assignment forward (default 0: hard throughout)",
    )
    t.add_argument("--preset", choices=("quick", "paper"), default="quick")
    t.add_argument("--epochs", type=int, help="training epochs (default: the preset's)")
    t.add_argument("--n-train", type=int, help="use the first N training images")
    t.add_argument("--n-test", type=int, help="use the first N test images")
    t.add_argument("--fresh-critic-steps", type=int, help="budget of the fresh W1 critic")
    t.add_argument("--data-dir", help="folder with the image files (or set RDLAB_DATA)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    t.add_argument(
        "--track-test",
        action="store_true",
        help="log the test MSE after every epoch in the run's history (learning curve)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(func=_train)

    e = lc.add_parser("eval", help="print (or recompute) a finished run's numbers")
    e.add_argument("run", help="run directory")
    e.add_argument("--recompute", action="store_true", help="evaluate the model again")
    e.add_argument("--data-dir", help="folder with the image files (or set RDLAB_DATA)")
    e.add_argument("--fresh-critic-steps", type=int, help="budget of the fresh W1 critic")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_eval)

    enc = lc.add_parser("encode", help="images (.npy) to a bitstream (= rdlab encode RUN ...)")
    enc.add_argument("--model", required=True, help="finished run directory")
    enc.add_argument("input", help="images .npy, (n, C, H, W) uint8 or float in [0, 1]")
    enc.add_argument("output", help="bitstream file to write (.rdl)")
    add_encode_options(enc)
    enc.set_defaults(func=_encode)

    dec = lc.add_parser("decode", help="a bitstream to reconstructions (.npy)")
    dec.add_argument("--model", required=True, help="the run directory that encoded it")
    dec.add_argument("input", help="bitstream file")
    dec.add_argument("output", help="reconstructions .npy to write")
    add_common_options(dec)
    dec.set_defaults(func=_decode)


def train_config(args: argparse.Namespace):
    """The :class:`~rdlab.models.learned.LearnedConfig` of parsed ``rdlab lc train`` flags."""
    from rdlab.models.learned import preset_config

    over = {
        "quantizer": args.quantizer,
        "latent_dim": args.latent_dim,
        "levels": args.levels,
        "lam": args.lam,
        "mode": args.mode,
        "refine_latent_dim": args.refine_latent_dim,
        "refine_levels": args.refine_levels,
    }
    for key in (
        "encoder_width",
        "refine_width",
        "sigma",
        "gradient",
        "lr_coder",
        "soft_epochs",
        "epochs",
        "n_train",
        "n_test",
        "warmup_lam",
        "warmup_epochs",
    ):
        if getattr(args, key) is not None:
            over[key] = getattr(args, key)
    if args.fresh_critic_steps is not None:
        over["fresh_critic_steps"] = args.fresh_critic_steps
    return preset_config(args.preset, args.data, **over)


def _train(args: argparse.Namespace) -> int:
    from rdlab.models.learned import learned_run

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    run = learned_run(
        train_config(args),
        args.out,
        base=args.base,
        seed=args.seed,
        data_dir=args.data_dir,
        device=args.device,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        track_test=args.track_test,
    )
    _print_point(args, run.to_dict(), header={"run": args.out})
    return 0


def _print_point(args: argparse.Namespace, res: dict, header: dict) -> None:
    point = {k: res.get(k) for k in POINT_KEYS}
    if args.json:
        emit_json({**header, "points": [point]})
        return
    for key, value in header.items():
        print(f"{key}: {value}")
    cols = [(k, k) for k in POINT_KEYS]
    print(format_table([point], cols))
    if "train_seconds" in res:
        print(f"trained in {res['train_seconds']:.1f} s", file=sys.stderr)


def _eval(args: argparse.Namespace) -> int:
    from rdlab.core.rundir import RunDir
    from rdlab.models.learned import evaluate_model, load_model, run_settings

    rd = RunDir(args.run)
    if args.recompute or not rd.results_path.exists():
        model, _, _ = load_model(args.run)
        res = evaluate_model(
            model,
            rd,
            seed=run_settings(rd.read_config(), rd.path)[1],
            data_dir=args.data_dir,
            fresh_critic_steps=args.fresh_critic_steps,
        ).to_dict()
    else:
        res = rd.read_results()
    _print_point(args, res, header={"run": args.run})
    return 0


def _encode(args: argparse.Namespace) -> int:
    from rdlab.models.learned import load_learned_codec

    encode_to_file(load_learned_codec(args.model, args.device), args)
    return 0


def _decode(args: argparse.Namespace) -> int:
    from rdlab.models.zoo import codec_for_stream

    data = read_input(args.input)
    codec = codec_for_stream(data, args.model, device=args.device, max_memory_bytes=args.max_memory)
    decode_to_file(data, codec, args)
    return 0
