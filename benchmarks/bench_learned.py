"""Benchmark: learned compressors on MNIST against seed 001's Table 1 (and universality).

Part ``table1``: end-to-end models at R = 4.75 (d = 3, L = 3), lambda = 0, the full MNIST
training set and the ``paper`` preset (30 epochs, Adam 1e-2, lr / 5 after epoch 20), one per
quantiser (DQ, UQ, NQ); reports test MSE against the paper's 0.0442 / 0.0459 / 0.0484 (GPU),
the relative difference, the wall time per model, the three rates and the fresh-critic W1.

Part ``universal``: the ``quick`` preset of ``001-fig4`` at R = 4.75 (MNIST, first 10 000
training images): an end-to-end base at lambda = 0.015, universal decoders from its frozen
encoder and end-to-end models at the same lambdas; reports the MSE ratio universal /
end-to-end at each lambda.

Runs are resumable: each model lives in ``--out/<name>/`` and an interrupted benchmark
continues where it stopped. Writes ``--out/bench_learned.md`` and prints it.

    RDLAB_DATA=../shared/data python benchmarks/bench_learned.py --part table1 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

PAPER_TABLE1 = {"dq": 0.0442, "uq": 0.0459, "nq": 0.0484}
"""Seed 001, Table 1, R = 4.75: test MSE of end-to-end models at lambda = 0 (GPU)."""


def _run(cfg, out: Path, seed: int, data_dir, base=None):
    from rdlab.core.rundir import RunDir
    from rdlab.models.learned import learned_run

    rd = RunDir(out)
    if rd.results_path.exists():
        res = rd.read_results()
        if res.get("steps"):
            return {**res, "cached": True}
    t0 = time.perf_counter()
    res = learned_run(
        cfg, out, base=base, seed=seed, data_dir=data_dir, resume=rd.exists(), progress=True
    )
    res["wall_seconds"] = round(time.perf_counter() - t0, 1)
    res["load_average_end"] = round(os.getloadavg()[0], 2)
    rd.write_results(res)
    return {**res, "cached": False}


def table1(args) -> list[dict]:
    from rdlab.models.learned import preset_config

    rows = []
    for q in args.quantizers.split(","):
        cfg = preset_config(
            "paper",
            "mnist",
            quantizer=q,
            latent_dim=3,
            levels=3,
            lam=0.0,
            epochs=args.epochs,
            fresh_critic_steps=args.fresh_critic_steps,
        )
        res = _run(cfg, Path(args.out) / f"table1-{q}", args.seed, args.data_dir)
        paper = PAPER_TABLE1[q]
        rows.append(
            {
                "quantizer": q,
                "mse": res["distortion"],
                "mse_stderr": res["distortion_stderr"],
                "paper_mse": paper,
                "rel_diff": res["distortion"] / paper - 1.0,
                "within_5pct": abs(res["distortion"] / paper - 1.0) <= 0.05,
                "train_seconds": res["train_seconds"],
                "wall_seconds": res.get("wall_seconds"),
                "rate_bound_bits": res["rate_bound_bits"],
                "rate_entropy_bits": res["rate_entropy_bits"],
                "rate_bits": res["rate_bits"],
                "perception_w1": res["perception_w1"],
                "cached": res["cached"],
            }
        )
    return rows


def _markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "| quantiser | test MSE | ± s.e. | paper | rel. diff | within 5 % | train s | "
        "bound bits | entropy bits | real bits | W1 (fresh) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['quantizer'].upper()} | {r['mse']:.4f} | {r['mse_stderr']:.4f} | "
            f"{r['paper_mse']:.4f} | {100 * r['rel_diff']:+.1f} % | "
            f"{'yes' if r['within_5pct'] else 'no'} | {r['train_seconds']:.0f} | "
            f"{r['rate_bound_bits']:.2f} | {r['rate_entropy_bits']:.2f} | {r['rate_bits']:.2f} | "
            f"{r['perception_w1']:.3f} |"
        )
    order = [r["quantizer"] for r in sorted(rows, key=lambda r: r["mse"])]
    lines.append("")
    lines.append(f"Ordering by MSE: {' < '.join(q.upper() for q in order)}.")
    lines.append("")
    cached = [r["quantizer"].upper() for r in rows if r["cached"]]
    lines.append(
        f"Machine: {meta['machine']}, torch threads {meta['threads']}, load average at start "
        f"{meta['load_start']:.2f}, at end {meta['load_end']:.2f}."
        + (
            f" Rows {', '.join(cached)} were read from earlier runs in {meta['out']}: their "
            "times are those runs' (see each run's results.json)."
            if cached
            else ""
        )
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("table1",), default="table1")
    parser.add_argument("--quantizers", default="dq,uq,nq")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--fresh-critic-steps", type=int, default=1000)
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: RDLAB_DATA)")
    parser.add_argument("--out", default="benchmarks/results/learned")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    rows = table1(args)
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "threads": args.threads,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "out": args.out,
    }
    text = _markdown(rows, meta)
    from rdlab.core.io import atomic_write

    atomic_write(Path(args.out) / "bench_learned.md", lambda p: p.write_text(text))
    print(json.dumps({"rows": rows, **meta}, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
