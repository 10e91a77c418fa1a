"""NTC (the DNN compressor of seed 002) against R(D) and reverse channel coding on gaussian20.

For each target R(D) = r bits, the slope of the closed form there gives NTC's λ (bits per unit of
squared error: λ = 1 / (2 ln 2 θ) at water level θ); the NTC model is trained with it and its
held-out set written as a real bitstream. In the same run PFR and ORC with the exact Q_Y* code
the same number of samples at the distortion D(r). Every rate is in bits per sample; R(D) is
taken at each code's measured distortion; "scalar code" is the ideal transform code with
entropy-coded uniform scalar quantisers at that distortion (rdlab.theory.transform_coding), the
operational reference NTC approaches on a Gaussian.

``--part mnist`` trains NTC on MNIST (zero-padded 32x32, convolutional transforms, 16 latent
channels, width 64, 2000 steps of 64 images, λ = 150, 500, 1500 bits per unit of MSE per pixel)
and prints its held-out points beside the NERD quick curve of docs/benchmarks.md.

Usage::

    python benchmarks/bench_ntc.py --rates 2,4,6 --steps 3000 --json benchmarks/results/cpu/ntc_gaussian20.json
    RDLAB_DATA=../shared/data python benchmarks/bench_ntc.py --part mnist

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

from rdlab.coding.codec import measure_codec
from rdlab.coding.rcc import RCCCodec
from rdlab.models.ntc import ntc_config, ntc_run
from rdlab.sources.registry import make_source
from rdlab.theory.gaussian import reverse_water_filling_at_rate, vector_gaussian_rate_distortion
from rdlab.theory.transform_coding import transform_ecsq_rate


def mnist(out: str) -> int:
    """The MNIST sweep (one model after another); prints the per-image points as JSON."""
    from rdlab.experiments.ntc import ntc_sweep

    t = time.time()
    configs = {
        f"lam-{w:g}": ntc_config(
            "quick", distortion_weight=w, latent_dim=16, width=64, steps=2000, batch_size=64,
            n_train=20000, n_eval=2048,
        )
        for w in (150.0, 500.0, 1500.0)
    }  # fmt: skip
    res = ntc_sweep({"source": "mnist"}, configs, out, seed=0, progress=False)
    keep = ("distortion", "distortion_stderr", "rate_bits", "rate_payload_bits",
            "rate_information_bits", "active_latents", "train_seconds")  # fmt: skip
    report = {k: {kk: v[kk] for kk in keep} for k, v in res.items()}
    report["wall_seconds"] = time.time() - t
    print(json.dumps(report, indent=1))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("gaussian", "mnist"), default="gaussian")
    ap.add_argument("--rates", default="2,4,6")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam's initial learning rate")
    ap.add_argument("--seed", type=int, default=0, help="NTC's initialisation and batches")
    ap.add_argument(
        "--candidates", type=int, default=1, help="NTC models per rate, the least objective kept"
    )
    ap.add_argument(
        "--rate-warmup", type=float, default=0.1, help="share of steps the rate weight rises over"
    )
    ap.add_argument("--latent-dim", type=int, default=20)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--n-eval", type=int, default=2048)
    ap.add_argument("--n-rcc", type=int, default=200, help="samples coded by PFR / ORC")
    ap.add_argument("--out", default="runs/bench/ntc")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.part == "mnist":
        return mnist(str(Path(args.out).parent / "ntc-mnist"))
    src = make_source("gaussian20")
    rows = []
    for r in (float(v) for v in args.rates.split(",")):
        wf = reverse_water_filling_at_rate(src.eigenvalues, r)
        lam = 1.0 / (2.0 * math.log(2.0) * wf.water_level)
        cfg = ntc_config(
            "quick",
            distortion_weight=lam,
            latent_dim=args.latent_dim,
            width=args.width,
            steps=args.steps,
            lr=args.lr,
            n_eval=args.n_eval,
            candidates=args.candidates,
            rate_warmup=args.rate_warmup,
        )
        run = ntc_run("gaussian20", cfg, Path(args.out) / f"R{r:g}", seed=args.seed, overwrite=True)
        rows.append(
            {
                "code": "NTC",
                "target_rate_bits": r,
                "distortion_weight": lam,
                "distortion": run.distortion,
                "rate_bits": run.rate_bits,
                "rate_payload_bits": run.rate_payload_bits,
                "rate_information_bits": run.rate_information_bits,
                "closed_form_rate_bits": run.closed_form_rate_bits,
                "ecsq_rate_bits": transform_ecsq_rate(run.distortion, src),
                "active_latents": run.active_latents,
                "candidate_objective_bits": list(run.candidate_objective_bits),
                "candidate_chosen": run.candidate_chosen,
                "n_samples": run.n_eval,
                "seconds": round(run.train_seconds, 1),
            }
        )
        x = src.sample(args.n_rcc, seed=11)
        for method in ("pfr", "orc"):
            codec = RCCCodec.gaussian("gaussian20", distortion=wf.distortion, method=method)
            t0 = time.perf_counter()
            rep = measure_codec(codec, x, seed=0)
            rows.append(
                {
                    "code": method.upper(),
                    "target_rate_bits": r,
                    "distortion": rep.distortion,
                    "rate_bits": rep.rate_bits,
                    "rate_payload_bits": rep.rate_payload_bits,
                    "rate_information_bits": rep.rate_information_bits,
                    "closed_form_rate_bits": float(
                        vector_gaussian_rate_distortion(rep.distortion, src)
                    ),
                    "ecsq_rate_bits": transform_ecsq_rate(rep.distortion, src),
                    "n_samples": args.n_rcc,
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
    print(
        "| code | R(D) target | D | R(D) at D | file | payload | information | "
        "information − R(D) | scalar code at D | information − scalar code | active | samples | s |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for w in rows:
        print(
            f"| {w['code']} | {w['target_rate_bits']:g} | {w['distortion']:.3f} | "
            f"{w['closed_form_rate_bits']:.3f} | {w['rate_bits']:.3f} | "
            f"{w['rate_payload_bits']:.3f} | {w['rate_information_bits']:.3f} | "
            f"{w['rate_information_bits'] - w['closed_form_rate_bits']:+.3f} | "
            f"{w['ecsq_rate_bits']:.3f} | {w['rate_information_bits'] - w['ecsq_rate_bits']:+.3f} | "
            f"{w.get('active_latents', '')} | {w['n_samples']} | {w['seconds']} |"
        )
    if args.json:
        report = {"rows": rows, "cpus": os.cpu_count(), "argv": vars(args)}
        Path(args.json).write_text(json.dumps(report, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
