"""``rdlab rdp``: rate-distortion-perception trade-offs in closed form.

``rdlab rdp gaussian --var 1 --rate 1`` prints the distortion-perception cross-section D(P, R)
of a Gaussian source at that rate (Zhang et al., appendix A.1); every point carries
``rate_bits``, ``distortion`` and ``perception``. ``--perception w2|kl`` picks the perception
measure (W2², or KL(p_Xhat || p_X) in bits). ``--rate`` takes a comma-separated list for
several cross-sections; ``--plot`` draws perception against distortion.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rdlab.cli.common import add_output_arguments, check_points, emit_curves, parse_float_list
from rdlab.core.io import check_writable, write_figure
from rdlab.core.results import RDCurve
from rdlab.theory.rdp import PERCEPTION_MEASURES, gaussian_dp_curve


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rdp",
        help="rate-distortion-perception trade-offs (closed forms)",
        description="Rate-distortion-perception trade-offs. Rates are in bits.",
    )
    sub = parser.add_subparsers(dest="rdp_command", metavar="SOURCE")
    sub.required = True
    g = sub.add_parser(
        "gaussian",
        help="distortion-perception cross-section D(P, R) of a scalar Gaussian",
        description=(
            "Distortion-perception cross-section D(P, R) of a scalar Gaussian source under "
            "squared error (Theorem 1, Zhang et al.)."
        ),
    )
    g.add_argument("--var", type=float, default=1.0, help="source variance (> 0; default 1)")
    g.add_argument(
        "--rate",
        required=True,
        help="rate in bits (>= 0); a comma-separated list gives one cross-section per rate",
    )
    g.add_argument(
        "--perception",
        choices=PERCEPTION_MEASURES,
        default="w2",
        help="perception measure: w2 (squared Wasserstein-2) or kl (KL(p_Xhat||p_X), bits)",
    )
    g.add_argument("--points", type=int, default=21, help="points per cross-section (>= 2)")
    g.add_argument(
        "--max-perception",
        type=float,
        default=None,
        help="largest perception level (default: 1.25 x the level where it stops binding)",
    )
    add_output_arguments(g)
    g.set_defaults(func=_run_gaussian)


def _plot_dp(curves: list[RDCurve], path: str, *, overwrite: bool, measure: str) -> None:
    check_writable(path, overwrite=overwrite)
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for curve in curves:
        perception = [p.perception for p in curve.points]
        ax.plot(curve.distortion, perception, "-", label=curve.label or None)
    ax.set_xlabel("distortion (MSE)")
    ax.set_ylabel("perception (W2²)" if measure == "w2" else "perception (KL, bits)")
    ax.set_title("Gaussian distortion-perception cross-sections")
    ax.grid(alpha=0.3)
    ax.legend()
    write_figure(fig, Path(path))


def _run_gaussian(args: argparse.Namespace) -> int:
    rates = parse_float_list(args.rate, "--rate")
    curves = [
        gaussian_dp_curve(
            r,
            args.var,
            check_points("--points", args.points),
            perception_measure=args.perception,
            max_perception=args.max_perception,
        )
        for r in rates
    ]
    if args.plot:
        _plot_dp(curves, args.plot, overwrite=args.force, measure=args.perception)
    header = {"source": "gaussian", "variance": args.var, "perception_measure": args.perception}
    emit_curves(curves, argparse.Namespace(**{**vars(args), "plot": None}), header=header)
    if args.plot:
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0
