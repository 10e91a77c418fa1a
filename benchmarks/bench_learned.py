"""Benchmark: learned compressors on MNIST against seed 001's Table 1 (and universality).

Part ``table1``: end-to-end models at R = 4.75 (d = 3, L = 3), lambda = 0, the full MNIST
training set and the ``paper`` preset (30 epochs, Adam 1e-2, lr / 5 after epoch 20), one per
quantiser (DQ, UQ, NQ); reports test MSE against the paper's 0.0442 / 0.0459 / 0.0484 (GPU),
the relative difference, the wall time per model, the three rates and the fresh-critic W1.

``--seed S`` (S > 0) trains a further trial of each model into ``table1-<q>-seed<S>/``;
``--warmup LAM,EPOCHS`` adds the official code's early perception term (5e-4,12) and trains
into ``table1-<q>[-seed<S>]-warmup/``.

Part ``partition`` (after ``table1``, same ``--quantizers``, ``--seed``, ``--warmup``): for
each finished model, the test MSE of the best decoder for the cells its encoder draws (the
mean training image of each code) and its code usage, against k-means with L^d centres.

Part ``universal``: MNIST ``quick`` preset (first 10 000 training images, 6 epochs) at
R = 4.75 (d = 3, L = 3): an end-to-end base at lambda = 0.015, universal decoders on its
frozen encoder at lambda in ``--lambdas`` and end-to-end models at the same lambdas; reports
the MSE ratio universal / end-to-end and both fresh-critic W1 at each lambda.

Part ``summary``: a table of every finished run under ``--out`` (any depth; e.g. the runs
that ``benchmarks/parallel_runs.sh`` trains), with the paper's Table 1 MSE beside each
lambda = 0 MNIST paper-preset model at a Table 1 rate.

Runs are resumable: each model lives in ``--out/<name>/`` and an interrupted benchmark
continues where it stopped. Writes ``--out/bench_learned.md`` and prints it.

    RDLAB_DATA=../shared/data python benchmarks/bench_learned.py --part table1 --threads 2
    RDLAB_DATA=../shared/data python benchmarks/bench_learned.py --part universal --threads 2
    RDLAB_DATA=../shared/data python benchmarks/bench_learned.py --part partition --threads 2
    python benchmarks/bench_learned.py --part summary --out benchmarks/results/gpu-h100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from rdlab.experiments.seed001_learned import PAPER_TABLE1, TABLE1_RATES


def _run(cfg, out: Path, seed: int, data_dir, base=None, device: str = "cpu"):
    from rdlab.core.rundir import RunDir
    from rdlab.models.learned import learned_run

    rd = RunDir(out)
    if rd.results_path.exists():
        res = rd.read_results()
        if res.get("steps"):
            return {**res, "cached": True}
    t0 = time.perf_counter()
    res = learned_run(
        cfg,
        out,
        base=base,
        seed=seed,
        data_dir=data_dir,
        device=device,
        resume=rd.exists(),
        progress=True,
    ).to_dict()
    res["wall_seconds"] = round(time.perf_counter() - t0, 1)
    res["load_average_end"] = round(os.getloadavg()[0], 2)
    rd.write_results(res)
    return {**res, "cached": False}


def _warmup(text: str | None) -> tuple[float, int]:
    """``--warmup LAM,EPOCHS`` as (warmup_lam, warmup_epochs); (0, 0) when absent."""
    if not text:
        return 0.0, 0
    try:
        lam, epochs = text.split(",")
        return float(lam), int(epochs)
    except ValueError:
        raise ValueError(f"--warmup must be LAM,EPOCHS (e.g. 5e-4,12), got {text!r}") from None


def _suffix(args) -> str:
    """Run-name suffix of a table1 trial: ``-seed<S>`` (S > 0) and ``-warmup``."""
    return (f"-seed{args.seed}" if args.seed else "") + ("-warmup" if args.warmup else "")


def table1(args) -> list[dict]:
    from rdlab.models.learned import preset_config

    warmup_lam, warmup_epochs = _warmup(args.warmup)
    rate, latent_dim, levels = TABLE1_RATES[0]  # R = 4.75: d = 3, L = 3
    rows = []
    for q in args.quantizers.split(","):
        cfg = preset_config(
            "paper",
            "mnist",
            quantizer=q,
            latent_dim=latent_dim,
            levels=levels,
            lam=0.0,
            epochs=args.epochs,
            fresh_critic_steps=args.fresh_critic_steps,
            warmup_lam=warmup_lam,
            warmup_epochs=warmup_epochs,
        )
        run = Path(args.out) / f"table1-{q}{_suffix(args)}"
        res = _run(cfg, run, args.seed, args.data_dir, device=args.device)
        paper = PAPER_TABLE1[rate][q]
        rows.append(
            {
                "quantizer": q,
                "seed": args.seed,
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


def partition(args) -> list[dict]:
    """Where a finished table1 model loses: its decoder, or the cells its encoder draws.

    For each model, the MSE of the best decoder for its cells (each of the L^d codes decoded
    to the mean training image of that code; for UQ the cells also depend on the dither, which
    this decoder ignores), the largest share of one code and the code entropy; and, as the
    reference for any fixed partition into L^d cells, k-means with L^d centres on the training
    images (scikit-learn, one initialisation, seed ``--seed``).
    """
    import numpy as np
    import torch
    from sklearn.cluster import KMeans

    from rdlab.core.torch_state import step_seed
    from rdlab.models.learned import learned_codec, load_model, load_split
    from rdlab.models.learned.evaluation import EVAL_SEED_INDEX, FIT_SEED_INDEX

    x = {
        split: torch.from_numpy(load_split("mnist", split, data_dir=args.data_dir)).float() / 255
        for split in ("train", "test")
    }
    rows, cells = [], None
    for q in args.quantizers.split(","):
        run = Path(args.out) / f"table1-{q}{_suffix(args)}"
        model, coding_model, identity = load_model(run)
        codec = learned_codec(model, coding_model, identity)
        cfg, seed = model.config, json.loads((run / "config.json").read_text())["seed"]
        cells = cfg.levels**cfg.latent_dim
        weights = torch.tensor([cfg.levels**i for i in range(cfg.latent_dim)])
        code = {}
        for split, index in (("train", FIT_SEED_INDEX), ("test", EVAL_SEED_INDEX)):
            # the symbols the run's evaluation sends (same dither seeds)
            s = codec.symbols(x[split].numpy(), seed=step_seed(seed, index))
            code[split] = (torch.from_numpy(s) * weights).sum(1)
        centres = torch.stack(
            [
                x["train"][code["train"] == k].mean(0)
                if (code["train"] == k).any()
                else x["train"].mean(0)
                for k in range(cells)
            ]
        )
        share = torch.bincount(code["test"], minlength=cells).double() / code["test"].numel()
        nz = share[share > 0]
        rows.append(
            {
                "quantizer": q,
                "mse": json.loads((run / "results.json").read_text())["distortion"],
                "cell_mean_mse": float(((centres[code["test"]] - x["test"]) ** 2).mean()),
                "largest_share": float(share.max()),
                "code_entropy_bits": float(-(nz * nz.log2()).sum()),
            }
        )
    flat = {k: v.flatten(1).numpy() for k, v in x.items()}
    km = KMeans(n_clusters=cells, n_init=1, random_state=args.seed).fit(flat["train"])
    nearest = km.cluster_centers_[km.predict(flat["test"])]
    km_mse = float(((nearest - flat["test"]) ** 2).mean())
    p = np.bincount(km.labels_, minlength=cells) / len(km.labels_)
    rows.append(
        {
            "quantizer": f"k-means, {cells} centres",
            "mse": km_mse,
            "cell_mean_mse": km_mse,
            "largest_share": float(p.max()),
            "code_entropy_bits": float(-(p[p > 0] * np.log2(p[p > 0])).sum()),
        }
    )
    return rows


LAST_EPOCHS = 5
"""Epochs averaged for the official code's figure: the mean test loss of the last epochs."""


def _curve(history: list[dict]) -> dict:
    """Best epoch, its test MSE, and the mean test MSE of the last epochs (``--track-test``)."""
    curve = [(h["epoch"], h["test_mse"]) for h in history if h.get("test_mse") is not None]
    if not curve:
        return {"best_epoch": None, "mse_best": None, "mse_last_mean": None}
    best_epoch, best = min(curve, key=lambda eh: eh[1])
    tail = [v for _, v in curve[-LAST_EPOCHS:]]
    return {"best_epoch": best_epoch, "mse_best": best, "mse_last_mean": sum(tail) / len(tail)}


def summary(args) -> list[dict]:
    """One row per finished run found under ``--out`` (any depth), by name.

    For an end-to-end MNIST model at lambda = 0 on the paper preset whose (d, L) is a point
    of Table 1, the row carries the paper's MSE for its quantiser and the relative
    difference. Runs trained with ``--track-test`` also show their best epoch's test MSE and
    the mean over the last ``LAST_EPOCHS`` epochs.
    """
    rate_of = {(d, levels): r for r, d, levels in TABLE1_RATES}
    rows = []
    for res_path in sorted(Path(args.out).rglob("results.json")):
        run = res_path.parent
        if not (run / "config.json").exists():
            continue
        res = json.loads(res_path.read_text())
        if "distortion" not in res:
            continue
        run_cfg = json.loads((run / "config.json").read_text())
        cfg = run_cfg["config"]
        paper = None
        r = rate_of.get((cfg["latent_dim"], cfg["levels"]))
        if (
            r is not None
            and cfg["data"] == "mnist"
            and cfg["mode"] == "end-to-end"
            and cfg["lam"] == 0
            and cfg["epochs"] == 30
            and run_cfg.get("n_train") == 60000
        ):
            paper = PAPER_TABLE1[r][cfg["quantizer"]]
        rows.append(
            {
                "run": str(run.relative_to(args.out)),
                "data": cfg["data"],
                "quantizer": cfg["quantizer"],
                "latent_dim": cfg["latent_dim"],
                "levels": cfg["levels"],
                "lam": cfg["lam"],
                "sigma": cfg["sigma"],
                "lr_coder": cfg["lr_coder"],
                "seed": run_cfg["seed"],
                "mse": res["distortion"],
                "mse_stderr": res["distortion_stderr"],
                "paper_mse": paper,
                "rel_diff": None if paper is None else res["distortion"] / paper - 1.0,
                "perception_w1": res["perception_w1"],
                "rate_entropy_bits": res["rate_entropy_bits"],
                "rate_bits": res["rate_bits"],
                "train_seconds": res["train_seconds"],
                **_curve(res.get("history", [])),
            }
        )
    return rows


def _markdown_summary(rows: list[dict], meta: dict) -> str:
    cells = [
        [
            r["run"],
            r["quantizer"].upper(),
            f"{r['latent_dim']}, {r['levels']}",
            f"{r['lam']:g}",
            f"{r['sigma']:g}",
            f"{r['lr_coder']:g}",
            str(r["seed"]),
            f"{r['mse']:.4f} ± {r['mse_stderr']:.4f}",
            "" if r["paper_mse"] is None else f"{r['paper_mse']:.4f}",
            "" if r["rel_diff"] is None else f"{100 * r['rel_diff']:+.1f} %",
            f"{r['perception_w1']:.3f}",
            f"{r['rate_entropy_bits']:.2f}",
            f"{r['rate_bits']:.2f}",
            f"{r['train_seconds']:.0f}",
            "" if r["mse_best"] is None else f"{r['mse_best']:.4f} (epoch {r['best_epoch']})",
            "" if r["mse_last_mean"] is None else f"{r['mse_last_mean']:.4f}",
        ]
        for r in rows
    ]
    header = [
        "run",
        "quantiser",
        "d, L",
        "lambda",
        "sigma",
        "lr coder",
        "seed",
        "test MSE ± s.e.",
        "paper",
        "rel. diff",
        "W1 (fresh)",
        "entropy bits",
        "real bits",
        "train s",
        "best epoch's test MSE",
        f"mean test MSE, last {LAST_EPOCHS} epochs",
    ]
    notes = ["The last two columns need a run trained with --track-test."]
    return _md_table(header, cells, notes)


def _markdown_partition(rows: list[dict], meta: dict) -> str:
    cells = [
        [
            r["quantizer"].upper() if len(r["quantizer"]) == 2 else r["quantizer"],
            f"{r['mse']:.4f}",
            f"{r['cell_mean_mse']:.4f}",
            f"{100 * r['largest_share']:.1f} %",
            f"{r['code_entropy_bits']:.2f}",
        ]
        for r in rows
    ]
    header = ["model", "test MSE", "MSE, mean image per cell", "largest cell", "code entropy bits"]
    return _md_table(header, cells, [_machine_line(meta)])


def universal(args) -> list[dict]:
    """End-to-end vs universal models at the same lambdas (MNIST quick preset, R = 4.75)."""
    from rdlab.models.learned import preset_config

    out = Path(args.out) / "universal"
    lams = [float(v) for v in args.lambdas.split(",")]

    def cfg(lam: float, mode: str = "end-to-end"):
        return preset_config(
            "quick",
            "mnist",
            quantizer="uq",
            latent_dim=3,
            levels=3,
            lam=lam,
            mode=mode,
            fresh_critic_steps=args.fresh_critic_steps,
        )

    base_name = f"e2e-lam{args.base_lambda:g}"
    base = _run(cfg(args.base_lambda), out / base_name, args.seed, args.data_dir)
    rows = []
    for lam in lams:
        e2e = (
            base
            if lam == args.base_lambda
            else _run(cfg(lam), out / f"e2e-lam{lam:g}", args.seed, args.data_dir)
        )
        uni = _run(
            cfg(lam, "universal"),
            out / f"universal-lam{lam:g}",
            args.seed,
            args.data_dir,
            base=out / base_name,
        )
        rows.append(
            {
                "lam": lam,
                "mse_e2e": e2e["distortion"],
                "mse_universal": uni["distortion"],
                "mse_ratio": uni["distortion"] / e2e["distortion"],
                "within_5pct": abs(uni["distortion"] / e2e["distortion"] - 1.0) <= 0.05,
                "w1_e2e": e2e["perception_w1"],
                "w1_universal": uni["perception_w1"],
                "train_seconds_e2e": e2e["train_seconds"],
                "train_seconds_universal": uni["train_seconds"],
            }
        )
    return rows


def _markdown_universal(rows: list[dict], meta: dict) -> str:
    cells = [
        [
            f"{r['lam']:g}",
            f"{r['mse_e2e']:.4f}",
            f"{r['mse_universal']:.4f}",
            f"{r['mse_ratio']:.3f}",
            "yes" if r["within_5pct"] else "no",
            f"{r['w1_e2e']:.3f}",
            f"{r['w1_universal']:.3f}",
            f"{r['train_seconds_e2e']:.0f}",
            f"{r['train_seconds_universal']:.0f}",
        ]
        for r in rows
    ]
    header = [
        "lambda",
        "MSE end-to-end",
        "MSE universal",
        "ratio",
        "within 5 %",
        "W1 e2e (fresh)",
        "W1 universal (fresh)",
        "train s e2e",
        "train s universal",
    ]
    return _md_table(header, cells, [_machine_line(meta)])


def _md_table(header: list[str], cells: list[list[str]], notes: list[str]) -> str:
    """A markdown table, then each note as its own paragraph."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    for note in notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _machine_line(meta: dict) -> str:
    return (
        f"Machine: {meta['machine']}, torch threads {meta['threads']}, load average at start "
        f"{meta['load_start']:.2f}, at end {meta['load_end']:.2f}."
    )


def _markdown(rows: list[dict], meta: dict) -> str:
    cells = [
        [
            r["quantizer"].upper(),
            f"{r['mse']:.4f}",
            f"{r['mse_stderr']:.4f}",
            f"{r['paper_mse']:.4f}",
            f"{100 * r['rel_diff']:+.1f} %",
            "yes" if r["within_5pct"] else "no",
            f"{r['train_seconds']:.0f}",
            f"{r['rate_bound_bits']:.2f}",
            f"{r['rate_entropy_bits']:.2f}",
            f"{r['rate_bits']:.2f}",
            f"{r['perception_w1']:.3f}",
        ]
        for r in rows
    ]
    header = [
        "quantiser",
        "test MSE",
        "± s.e.",
        "paper",
        "rel. diff",
        "within 5 %",
        "train s",
        "bound bits",
        "entropy bits",
        "real bits",
        "W1 (fresh)",
    ]
    order = [r["quantizer"] for r in sorted(rows, key=lambda r: r["mse"])]
    cached = [r["quantizer"].upper() for r in rows if r["cached"]]
    machine = _machine_line(meta)
    if cached:
        machine += (
            f" Rows {', '.join(cached)} were read from earlier runs in {meta['out']}: their "
            "times are those runs' (see each run's results.json)."
        )
    return _md_table(
        header, cells, [f"Ordering by MSE: {' < '.join(q.upper() for q in order)}.", machine]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=("table1", "universal", "partition", "summary"), default="table1"
    )
    parser.add_argument("--quantizers", default="dq,uq,nq")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lambdas", default="0,0.008,0.015", help="part universal")
    parser.add_argument("--base-lambda", type=float, default=0.015, help="part universal")
    parser.add_argument("--fresh-critic-steps", type=int, default=1000)
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: RDLAB_DATA)")
    parser.add_argument("--out", default="benchmarks/results/learned")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--warmup",
        help="part table1: perception warm-up LAM,EPOCHS as the official code (5e-4,12)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="part table1: cpu (default) or cuda")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    parts = {"table1": table1, "universal": universal, "partition": partition, "summary": summary}
    rows = parts[args.part](args)
    meta = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores"
        + (f", {torch.cuda.get_device_name()}" if args.device.startswith("cuda") else ""),
        "threads": args.threads,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "out": args.out,
    }
    from rdlab.core.io import atomic_write

    if args.part == "table1":
        text, name = _markdown(rows, meta), f"bench_learned{_suffix(args)}.md"
    elif args.part == "partition":
        text, name = _markdown_partition(rows, meta), f"bench_learned_partition{_suffix(args)}.md"
    elif args.part == "summary":
        text, name = _markdown_summary(rows, meta), "summary.md"
    else:
        text, name = _markdown_universal(rows, meta), "bench_learned_universal.md"
    atomic_write(Path(args.out) / name, lambda p: p.write_text(text))
    print(json.dumps({"rows": rows, **meta}, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
