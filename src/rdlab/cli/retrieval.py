"""``rdlab retrieval``: rate-distortion limits of retrieval under the ranking distortion 1 - RR.

Subcommands:

- ``rdlab retrieval bound --corpus N``: the ranking Fano lower bound on R(D) (corrected eq. (5)
  of Chen, "Rate-Distortion Limits for Multimodal Retrieval") as a curve, or with ``--rate R``
  the smallest distortion (largest MRR) any code of R bits can reach.
"""

from __future__ import annotations

import argparse
import math

from rdlab.cli.common import add_output_arguments, emit_curves
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import check_int


def register(sub: argparse._SubParsersAction) -> None:
    retrieval = sub.add_parser(
        "retrieval", help="rate-distortion limits of retrieval (ranking distortion 1 - RR)"
    )
    actions = retrieval.add_subparsers(dest="retrieval_command", metavar="SUBCOMMAND")
    actions.required = True

    b = actions.add_parser(
        "bound",
        help="ranking Fano lower bound on R(D) for a corpus of N documents",
        description=(
            "Lower bound on the rate R(D) in bits for expected ranking distortion D = 1 - MRR, "
            "relevant document uniform on a corpus of N: R(D) >= log2 N - h(p) - p log2(N-1) "
            "with p = min(2D, 1 - 1/N)."
        ),
    )
    b.add_argument("--corpus", type=int, required=True, help="corpus size N (>= 2)")
    b.add_argument("--points", type=int, default=21, help="number of curve points (default 21)")
    b.add_argument(
        "--max-distortion",
        type=float,
        default=None,
        help="right end of the distortion grid, in (0, 1] (default: where the bound reaches 0)",
    )
    b.add_argument(
        "--rate",
        type=float,
        help="one point: the smallest distortion the bound allows at this rate in bits",
    )
    add_output_arguments(b)
    b.set_defaults(func=_run_bound)


def _run_bound(args: argparse.Namespace) -> int:
    from rdlab.core.ranking import random_ranking_mrr
    from rdlab.theory.retrieval import (
        ranking_fano_bound,
        ranking_fano_curve,
        ranking_fano_dmax,
        ranking_fano_min_distortion,
        ranking_fano_slope,
    )

    n = check_int("--corpus", args.corpus, minimum=2)
    zero_from = ranking_fano_dmax(n)
    header = {
        "command": "retrieval bound",
        "bound": "ranking-fano",
        "n_docs": n,
        "rate_at_zero_distortion_bits": math.log2(n),
        "zero_from_distortion": zero_from,
        "random_ranking_distortion": 1.0 - random_ranking_mrr(n),
    }
    if args.rate is not None:
        if args.max_distortion is not None:
            raise ValueError("give at most one of --rate and --max-distortion")
        d = ranking_fano_min_distortion(args.rate, n)
        slope = ranking_fano_slope(d, n)
        point = RDPoint(
            rate_bits=float(args.rate),
            distortion=d,
            slope=slope if math.isfinite(slope) else None,
            rate_lower_bits=ranking_fano_bound(d, n),
            method="ranking-fano",
        )
        header["max_mrr"] = 1.0 - d
        curves = [RDCurve(points=(point,), label=f"ranking Fano bound, N={n}")]
    else:
        max_d = zero_from if args.max_distortion is None else args.max_distortion
        curves = [ranking_fano_curve(n, n_points=args.points, max_distortion=max_d)]
    emit_curves(
        curves,
        args,
        header=header,
        xlabel="expected ranking distortion D = 1 - MRR",
        ylabel="rate lower bound [bits]",
        title=f"Ranking Fano bound, N = {n}",
    )
    return 0
