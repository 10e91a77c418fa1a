"""Ray's overhead against the local executor on one reproduction, and the same numbers.

Runs ``rdlab reproduce 001-fig4 --preset quick`` (digits: 12 models, 6 end-to-end and 6
universal) with the local executor and with Ray, the same number of workers, one after the
other in fresh run directories, and compares the wall times and every model's numbers.

Usage::

    python benchmarks/bench_runner.py --jobs 2 --out runs/bench/runner

Prints a Markdown table; ``--json PATH`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path

from rdlab.experiments import ExperimentOptions, run_experiment

NUMBERS = ("distortion", "perception_w1", "perception_w1_own", "rate_bits", "rate_entropy_bits")


def _models(result) -> dict[str, dict[str, float]]:
    rows = {}
    for curve in result["curves"]:
        for row in curve["end_to_end"] + curve["universal"]:
            rows[row["name"]] = {k: row[k] for k in NUMBERS}
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="001-fig4")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="runs/bench/runner")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    out = Path(args.out)
    runs, times = {}, {}
    for executor in ("local", "ray"):
        run_dir = out / executor
        shutil.rmtree(run_dir, ignore_errors=True)
        opts = ExperimentOptions(executor=executor, jobs=args.jobs)
        start = time.perf_counter()
        runs[executor] = run_experiment(args.experiment, run_dir, preset="quick", options=opts)
        times[executor] = time.perf_counter() - start
    local, ray = _models(runs["local"]), _models(runs["ray"])
    same = local == ray
    report = {
        "experiment": args.experiment,
        "jobs": args.jobs,
        "models": len(local),
        "wall_seconds": {k: round(v, 1) for k, v in times.items()},
        "ratio_ray_to_local": round(times["ray"] / times["local"], 3),
        "same_numbers": same,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
    }
    print("| executor | wall time [s] | models | same numbers |\n|---|---|---|---|")
    for k in ("local", "ray"):
        print(f"| {k} (--jobs {args.jobs}) | {times[k]:.1f} | {len(local)} | {same} |")
    print(f"\nray / local = {report['ratio_ray_to_local']}")
    if not same:
        for name in sorted(local):
            if local[name] != ray.get(name):
                print(f"  {name}: local {local[name]} ray {ray.get(name)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
