"""``rdlab audit``: your data and your codec's operating points -> R(D) bracketed at each point's
distortion, and your codec's excess rate in bits.

::

    rdlab audit --data images.npy --points codec.csv --out runs/audit
    rdlab audit --source gaussian20 --points codec.json --with-rcc --json
    rdlab audit --data images.npy --run runs/lc-a --run runs/lc-b

``codec.csv`` has a header with ``rate_bits`` (bits per sample: the whole file of your codec
divided by the samples) and ``distortion`` (squared error summed over a sample, on rdlab's scale
of your data: images in [0, 1]), and optionally ``label`` and ``distortion_measure``
(``mse_per_component`` is converted). ``--run`` takes finished rdlab codec runs instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdlab.cli.common import add_source_arguments, emit_json, source_from_args
from rdlab.core.table import format_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="bracket R(D) of your data at your codec's points; your codec's excess rate",
        description=__doc__.split("::")[0].strip(),
    )
    add_source_arguments(p)
    p.add_argument("--points", metavar="FILE", help="your codec's points: CSV or JSON")
    p.add_argument(
        "--run", action="append", default=[], metavar="DIR", help="a finished rdlab codec run"
    )
    p.add_argument(
        "--preset",
        choices=("quick", "default"),
        default="quick",
        help="NERD and lower-bound settings (quick: minutes on 2 cores)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every estimate (default 0)")
    p.add_argument(
        "--train-precision",
        choices=("float32", "bfloat16"),
        help="arithmetic of NERD's training passes (default: bfloat16 for images, float32 for "
        "vectors)",
    )
    p.add_argument(
        "--with-rcc", action="store_true", help="measure rdlab's reverse channel codec too"
    )
    p.add_argument("--out", help="run directory: config.json, results.json, audit.png")
    p.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    p.add_argument("--plot", metavar="PATH", help="write the plot (PNG) to PATH")
    p.add_argument("--force", action="store_true", help="overwrite an existing --plot file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rdlab.core.io import check_writable
    from rdlab.core.rundir import RunDir
    from rdlab.experiments.audit import audit, plot_audit, read_points, run_point

    if not args.points and not args.run:
        raise ValueError("give your codec's points with --points FILE or --run DIR")
    points = read_points(args.points) if args.points else []
    points += [run_point(r) for r in args.run]
    if args.plot:
        check_writable(args.plot, overwrite=args.force)
    source, name = source_from_args(args)
    rd = None
    if args.out:
        rd = RunDir(args.out)
        rd.open(
            {
                "command": "audit",
                "source": name,
                "source_description": source.describe(),
                "points": [p.__dict__ for p in points],
                "preset": args.preset,
                "seed": args.seed,
                "with_rcc": args.with_rcc,
                "train_precision": args.train_precision,
            },
            overwrite=args.overwrite,
        )
    result = audit(
        source,
        points,
        source_name=name,
        preset=args.preset,
        seed=args.seed,
        with_rcc=args.with_rcc,
        train_precision=args.train_precision,
        progress=args.progress,
    )
    obj = result.to_dict()
    if rd is not None:
        rd.write_results(obj)
        plot_audit(result, Path(args.out) / "audit.png")
    if args.plot:
        plot_audit(result, args.plot)
    if args.json:
        emit_json(obj)
        return 0
    print(f"source: {name}   D_max = {result.d_max:.6g}   preset {args.preset}")
    print(f"R(D): {result.points[0].reference}")
    rows = [
        {
            "label": p.label,
            "distortion": p.distortion,
            "rate": p.rate_bits,
            "bracket": f"[{p.rd_lower_bits:.3f}, {p.rd_upper_bits:.3f}]",
            "excess": f"{p.excess_rate_bits:.3f} .. {p.excess_rate_max_bits:.3f}",
            "guarantee": p.rcc_rate_bound_bits,
            "rcc": None if p.rcc is None else p.rcc["rate_payload_bits"],
        }
        for p in result.points
    ]
    print(
        format_table(
            rows,
            [
                ("label", "point"),
                ("distortion", "distortion"),
                ("rate", "rate_bits"),
                ("bracket", "R(D) lower .. upper [bits]"),
                ("excess", "excess over R(D) [bits]"),
                ("guarantee", "rcc_rate_bound_bits"),
                *([("rcc", "rdlab RCC payload [bits]")] if args.with_rcc else []),
            ],
        )
    )
    print(
        "rates in bits per sample; distortion: squared error per sample; the excess is the "
        "codec's rate minus the upper estimate .. minus the lower bound",
        file=sys.stderr,
    )
    return 0
