"""``rdlab ecot``: entropy-constrained optimal transport (compression with distribution shift).

Distortion-rate curves of Liu, Zhang, Chen, Khisti, "Lossy Compression with Distribution Shift
as Entropy Constrained Optimal Transport":

- ``rdlab ecot binary --qx 0.3 --qy 0.6 [--common]``: ``D_ncr`` (22) or, with ``--common``,
  ``D_cr`` (25); ``--method exact`` uses the program (P) / the LP of appendix A.3 instead of the
  closed forms; ``--bounds`` adds the bounds (23)-(24).
- ``rdlab ecot gaussian --mx 0 --sx 1 --my 1 --sy 2 [--common]``: asymptotic ``D_ncr`` (58) or
  ``D_cr`` (61); ``--sx``/``--sy`` are standard deviations.
- ``rdlab ecot uniform --a 2 --b 5``: the upper bound (44) at ``R = log2 N``.

``--json`` prints ``{"points": [{"rate_bits": ..., "distortion": ...}, ...], ...}``;
``--plot PATH`` writes a PNG.
"""

from __future__ import annotations

import argparse

import numpy as np

from rdlab.cli.common import add_output_arguments, check_points, emit_curves
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import check_int, check_nonnegative


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ecot",
        help="entropy-constrained optimal transport: distortion-rate with a fixed output law",
    )
    kinds = p.add_subparsers(dest="kind", metavar="SOURCES")
    kinds.required = True

    b = kinds.add_parser("binary", help="B(qx) -> B(qy), Hamming distortion, eqs. (22)-(25)")
    b.add_argument("--qx", type=float, required=True, help="P(X=1), in the open interval (0, 1)")
    b.add_argument("--qy", type=float, required=True, help="P(Y=1), in the open interval (0, 1)")
    b.add_argument("--common", action="store_true", help="with common randomness: D_cr (25)")
    b.add_argument(
        "--method",
        choices=("closed-form", "exact"),
        default="closed-form",
        help="closed form (22)/(25), or exact solver: program (P) / LP of appendix A.3",
    )
    b.add_argument("--bounds", action="store_true", help="also print the bounds (23) and (24)")
    b.add_argument("--rate-max", type=float, default=1.0, help="largest rate in bits (default 1)")
    b.add_argument("--points", type=int, default=21, help="number of rates (default 21)")
    b.add_argument("--seed", type=int, default=0, help="seed of the program (P) search")
    add_output_arguments(b)
    b.set_defaults(func=_run_binary)

    g = kinds.add_parser(
        "gaussian", help="N(mx, sx^2) -> N(my, sy^2), squared error, asymptotic, eqs. (58)-(61)"
    )
    g.add_argument("--mx", type=float, default=0.0, help="mean of X (default 0)")
    g.add_argument("--sx", type=float, default=1.0, help="standard deviation of X, > 0 (default 1)")
    g.add_argument("--my", type=float, default=0.0, help="mean of Y (default 0)")
    g.add_argument("--sy", type=float, default=1.0, help="standard deviation of Y, > 0 (default 1)")
    g.add_argument("--common", action="store_true", help="with common randomness: (61)")
    g.add_argument("--bounds", action="store_true", help="also print the bounds (59) and (60)")
    g.add_argument("--rate-max", type=float, default=3.0, help="largest rate in bits (default 3)")
    g.add_argument("--points", type=int, default=31, help="number of rates (default 31)")
    add_output_arguments(g)
    g.set_defaults(func=_run_gaussian)

    u = kinds.add_parser("uniform", help="U[0, a] -> U[0, b], squared error, upper bound (44)")
    u.add_argument("--a", type=float, required=True, help="length of the support of X, > 0")
    u.add_argument("--b", type=float, required=True, help="length of the support of Y, > 0")
    u.add_argument("--levels", type=int, default=16, help="largest N; rates log2 N (default 16)")
    add_output_arguments(u)
    u.set_defaults(func=_run_uniform)


MAX_RATE_BITS = 1024


def _rate_grid(args: argparse.Namespace) -> np.ndarray:
    rmax = check_nonnegative("--rate-max", args.rate_max)
    if rmax > MAX_RATE_BITS:
        raise ValueError(
            f"--rate-max must be at most {MAX_RATE_BITS} bits (every distortion has reached its "
            f"limit in double precision long before), got {rmax:g}"
        )
    n = check_points("--points", args.points)
    return np.linspace(0.0, rmax, n)


def _curve(rates, values, label: str, method: str) -> RDCurve:
    pts = [
        RDPoint(rate_bits=float(r), distortion=float(d), method=method)
        for r, d in zip(rates, values, strict=True)
    ]
    return RDCurve(points=tuple(pts), label=label)


def _run_binary(args: argparse.Namespace) -> int:
    from rdlab.theory.ecot import (
        binary_cr_distortion,
        binary_dmax,
        binary_dmin,
        binary_ncr_distortion,
        binary_ncr_lower_bound,
        binary_ncr_upper_bound,
    )

    qx, qy = args.qx, args.qy
    dmin, dmax = binary_dmin(qx, qy), binary_dmax(qx, qy)  # validates qx, qy
    rates = _rate_grid(args)
    seed = check_int("--seed", args.seed, minimum=0)
    if args.common:
        if args.method == "exact":
            from rdlab.solvers.ecot import binary_cr_lp

            vals = [s.distortion for s in binary_cr_lp(qx, qy, list(rates))]
            main = _curve(rates, vals, "D_cr (LP, appendix A.3)", "lp-highs")
        else:
            vals = binary_cr_distortion(qx, qy, rates)
            main = _curve(rates, vals, "D_cr (25)", "closed-form")
    elif args.method == "exact":
        from rdlab.solvers.ecot import binary_ncr_program

        vals = [binary_ncr_program(qx, qy, float(r), seed=seed).distortion for r in rates]
        main = _curve(rates, vals, "D_ncr (program (P), appendix A.4)", "program-P")
    else:
        main = _curve(rates, binary_ncr_distortion(qx, qy, rates), "D_ncr (22)", "closed-form")
    curves = [main]
    if args.bounds:
        curves.append(
            _curve(rates, binary_ncr_upper_bound(qx, qy, rates), "upper bound (23)", "closed-form")
        )
        curves.append(
            _curve(rates, binary_ncr_lower_bound(qx, qy, rates), "lower bound (24)", "closed-form")
        )
    header = {
        "problem": "ecot-binary",
        "qx": qx,
        "qy": qy,
        "common_randomness": bool(args.common),
        "distortion_measure": "hamming",
        "d_min": dmin,
        "d_max": dmax,
    }
    emit_curves(
        curves,
        args,
        header=header,
        title=f"B({qx:g}) -> B({qy:g}), {'with' if args.common else 'no'} common randomness",
    )
    return 0


def _run_gaussian(args: argparse.Namespace) -> int:
    from rdlab.theory.ecot import (
        gaussian_cr_asymptotic,
        gaussian_dmax,
        gaussian_dmin,
        gaussian_ncr_asymptotic,
        gaussian_ncr_lower_bound_asymptotic,
        gaussian_ncr_upper_bound_asymptotic,
    )

    m = (args.mx, args.sx, args.my, args.sy)
    dmin, dmax = gaussian_dmin(*m), gaussian_dmax(*m)  # validates the parameters
    rates = _rate_grid(args)
    if args.common:
        main = _curve(rates, gaussian_cr_asymptotic(*m, rates), "D_cr^(inf) (61)", "closed-form")
    else:
        main = _curve(rates, gaussian_ncr_asymptotic(*m, rates), "D_ncr^(inf) (58)", "closed-form")
    curves = [main]
    if args.bounds:
        curves.append(
            _curve(
                rates,
                gaussian_ncr_upper_bound_asymptotic(*m, rates),
                "upper bound (59)",
                "closed-form",
            )
        )
        curves.append(
            _curve(
                rates,
                gaussian_ncr_lower_bound_asymptotic(*m, rates),
                "lower bound (60)",
                "closed-form",
            )
        )
    header = {
        "problem": "ecot-gaussian",
        "mx": args.mx,
        "sx": args.sx,
        "my": args.my,
        "sy": args.sy,
        "common_randomness": bool(args.common),
        "asymptotic": True,
        "distortion_measure": "squared_error",
        "d_min": dmin,
        "d_max": dmax,
    }
    emit_curves(curves, args, header=header, title="Gaussian, asymptotic")
    return 0


def _run_uniform(args: argparse.Namespace) -> int:
    from rdlab.theory.ecot import uniform_ncr_upper_bound, uniform_w2_squared

    w2 = uniform_w2_squared(args.a, args.b)  # validates a, b
    n = check_points("--levels", args.levels, minimum=1)
    levels = np.arange(1, n + 1)
    vals = [uniform_ncr_upper_bound(args.a, args.b, int(k)) for k in levels]
    curve = _curve(np.log2(levels), vals, "upper bound (44), R = log2 N", "closed-form")
    header = {
        "problem": "ecot-uniform",
        "a": args.a,
        "b": args.b,
        "w2_squared": w2,
        "distortion_measure": "squared_error",
    }
    emit_curves([curve], args, header=header, title="Uniform sources, upper bound (44)")
    return 0
