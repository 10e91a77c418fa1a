"""``rdlab demo``: the main job on the embedded default source (see rdlab.experiments.demo)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main job on the embedded default source")
    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing demo run")
    p.add_argument(
        "--grid-points",
        type=int,
        default=1000,
        help="grid of the discretised N(0,1) (default 1000)",
    )
    p.add_argument("--no-nerd", action="store_true", help="skip the NERD estimate (needs torch)")
    p.add_argument(
        "--no-learned", action="store_true", help="skip the learned codec point (needs torch)"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rdlab.experiments.demo import format_demo, run_demo
    from rdlab.experiments.report import write_report

    results = run_demo(
        args.out,
        overwrite=args.overwrite,
        grid_points=args.grid_points,
        nerd=not args.no_nerd,
        learned=not args.no_learned,
    )
    print(format_demo(results))
    print(
        f"\nplot: {args.out}/demo.png   numbers: {args.out}/results.json   ({results['wall_seconds']} s)"
    )
    page = write_report(args.out, Path(args.out) / "report", overwrite=args.overwrite)
    print(f"report: {page}")
    return 0
