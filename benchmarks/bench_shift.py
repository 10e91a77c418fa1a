"""Seed-003 models (rdlab.models.shift): seconds per training step and the time of one model
of the paper preset on this machine.

Each stage of each task trains ``--steps`` steps (after 3 warm-up steps) of its paper settings
on random images of the task's shape; a step is one batch of 64 (coder and critic batches
alternate in the stages with a W1 term). The paper preset's steps per model: super-resolution
60 000 MNIST training images, denoising 8000 SVHN images (the first 80 % of the 10 000 test
images, when only those are at hand; 73 257 with the official train split).

Usage::

    python benchmarks/bench_shift.py --steps 30 --threads 2 --json benchmarks/results/cpu/shift_steps.json

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from rdlab.models.shift import STAGES, ShiftModel, preset_config, train_shift

TRAIN_IMAGES = {"sr": 60000, "denoise": 8000}
RATE_DIM = {"sr": 2, "denoise": 4}


def time_stage(task: str, stage: str, steps: int) -> dict:
    cfg = preset_config("paper", task, stage=stage, latent_dim=RATE_DIM[task])
    shape = (1, 28, 28) if task == "sr" else (3, 32, 32)
    clean = np.random.default_rng(0).random((64 * (steps + 3), *shape), dtype=np.float32)
    model = ShiftModel(cfg, seed=0)
    train_shift(model, clean, seed=0, stop_after=3)  # warm-up
    t = time.perf_counter()
    from rdlab.models.learned import TrainState

    train_shift(model, clean, seed=0, state=TrainState(step=3), stop_after=3 + steps)
    per_step = (time.perf_counter() - t) / steps
    total = TRAIN_IMAGES[task] // cfg.batch_size * cfg.epochs
    return {
        "task": task,
        "stage": stage,
        "seconds_per_step": per_step,
        "paper_steps": total,
        "paper_hours": per_step * total / 3600,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = [time_stage(t, s, args.steps) for t in ("sr", "denoise") for s in STAGES]
    print(f"torch threads: {args.threads}")
    print("| task | stage | s / step | paper steps | paper model [h] |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['task']} | {r['stage']} | {r['seconds_per_step']:.3f} | {r['paper_steps']} "
              f"| {r['paper_hours']:.2f} |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
