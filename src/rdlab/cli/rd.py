"""``rdlab rd``: rate-distortion curves of Gaussian, Bernoulli and finite discrete sources."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rdlab.cli.common import (
    add_output_arguments,
    add_source_arguments,
    check_points,
    emit_curves,
    parse_float_list,
    source_from_args,
)
from rdlab.core.io import read_npy
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import check_int


def register(sub: argparse._SubParsersAction) -> None:
    rd = sub.add_parser("rd", help="rate-distortion function R(D) of a source")
    kinds = rd.add_subparsers(dest="kind", metavar="SOURCE")
    kinds.required = True

    g = kinds.add_parser("gaussian", help="Gaussian source, squared error (closed form)")
    g.add_argument(
        "--var", default="1", help="a variance, or comma-separated variances (default 1)"
    )
    g.add_argument("--dim", type=int, default=1, help="i.i.d. copies of each variance (default 1)")
    g.add_argument("--points", type=int, default=20, help="number of curve points (default 20)")
    g.add_argument("--distortion", type=float, help="one point at this total distortion")
    g.add_argument("--rate", type=float, help="one point at this rate in bits")
    add_output_arguments(g)
    g.set_defaults(func=_run_gaussian)

    b = kinds.add_parser("bernoulli", help="Bernoulli(p) source, Hamming distortion")
    b.add_argument("--p", type=float, required=True, help="P(X=1), in (0, 1)")
    b.add_argument("--points", type=int, default=20, help="number of curve points (default 20)")
    b.add_argument("--distortion", type=float, help="one point at this distortion")
    b.add_argument(
        "--method",
        choices=("closed-form", "blahut-arimoto"),
        default="closed-form",
        help="closed form h(p) - h(D), or Blahut-Arimoto with certified bounds",
    )
    add_output_arguments(b)
    b.set_defaults(func=_run_bernoulli)

    d = kinds.add_parser(
        "discrete", help="finite source pmf and distortion matrix (Blahut-Arimoto)"
    )
    d.add_argument("--pmf", required=True, help="source pmf: .npy or text file (n_x values)")
    d.add_argument(
        "--distortion",
        required=True,
        dest="distortion_file",
        help="distortion matrix: .npy or text (n_x rows, n_y columns)",
    )
    d.add_argument("--points", type=int, default=20, help="number of curve points (default 20)")
    d.add_argument("--target", type=float, help="one point at this distortion")
    d.add_argument(
        "--slope", type=float, help="one point at this slope (bits per unit distortion, <= 0)"
    )
    d.add_argument(
        "--tol-bits", type=float, default=1e-6, help="certified gap in bits (default 1e-6)"
    )
    add_output_arguments(d)
    d.set_defaults(func=_run_discrete)

    e = kinds.add_parser(
        "empirical",
        help="the empirical law of your data or of samples of a source (Blahut-Arimoto)",
        description="Certified R(D) of the empirical law of n samples, reproduced by their "
        "support (squared error summed over a sample): a finite-sample baseline that reaches "
        "D = 0 at the empirical entropy (<= log2 n bits). Memory grows as n^2.",
    )
    add_source_arguments(e)
    e.add_argument(
        "--n-samples",
        type=int,
        help="use N samples: the first N rows of --data, or N draws of --source (needed)",
    )
    e.add_argument("--seed", type=int, default=0, help="seed of the draws of --source (default 0)")
    e.add_argument("--points", type=int, default=12, help="number of curve points (default 12)")
    e.add_argument(
        "--tol-bits", type=float, default=1e-4, help="certified gap in bits (default 1e-4)"
    )
    add_output_arguments(e)
    e.set_defaults(func=_run_empirical)

    lo = kinds.add_parser(
        "lower",
        help="a lower bound on R(D) from samples (Csiszar's dual, a learned log u)",
        description="A line under R(D), R(D) >= intercept + slope x D, fitted at --slope on "
        "training samples and estimated on held-out ones with its standard error "
        "(squared error summed over a sample). Choose the slope of R(D) at the distortion of "
        "interest (rdlab nerd prints it). No rate far above log2 of the batch size can be "
        "certified from samples.",
    )
    add_source_arguments(lo)
    lo.add_argument(
        "--slope", type=float, required=True, help="dR/dD in bits per unit distortion, < 0"
    )
    lo.add_argument(
        "--distortion",
        dest="distortions",
        help="comma-separated distortions at which to print the bound (default: 8 points)",
    )
    lo.add_argument("--preset", choices=("quick", "default"), default="quick")
    lo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_output_arguments(lo)
    lo.set_defaults(func=_run_lower)


def _run_gaussian(args: argparse.Namespace) -> int:
    from rdlab.theory.gaussian import (
        gaussian_rd_curve,
        reverse_water_filling,
        reverse_water_filling_at_rate,
    )

    dim = check_int("--dim", args.dim, minimum=1)
    variances = np.repeat(parse_float_list(args.var, "--var"), dim)
    if args.distortion is not None and args.rate is not None:
        raise ValueError("give at most one of --distortion and --rate")
    header = {
        "source": "gaussian",
        "variances": variances.tolist(),
        "distortion_measure": "squared_error",
    }
    if args.distortion is not None or args.rate is not None:
        wf = (
            reverse_water_filling(variances, args.distortion)
            if args.distortion is not None
            else reverse_water_filling_at_rate(variances, args.rate)
        )
        header["water_level"] = wf.water_level
        pt = RDPoint(rate_bits=wf.rate_bits, distortion=wf.distortion, slope=wf.slope)
        curve = RDCurve((pt,), label="Gaussian R(D), closed form")
    else:
        curve = gaussian_rd_curve(variances, check_points("--points", args.points))
    emit_curves([curve], args, header=header, xlabel="distortion (squared error)")
    return 0


def _run_bernoulli(args: argparse.Namespace) -> int:
    from rdlab.theory.binary import bernoulli_rate_distortion, bernoulli_rd_curve

    header = {
        "source": "bernoulli",
        "p": args.p,
        "distortion_measure": "hamming",
        "method": args.method,
    }
    if args.method == "closed-form":
        if args.distortion is not None:
            r = bernoulli_rate_distortion(args.distortion, args.p)
            curve = RDCurve(
                (RDPoint(rate_bits=float(r), distortion=args.distortion),), label="closed form"
            )
        else:
            curve = bernoulli_rd_curve(args.p, check_points("--points", args.points))
    else:
        from rdlab.sources.base import BernoulliSource

        src = BernoulliSource(args.p)
        dist = np.array([[0.0, 1.0], [1.0, 0.0]])
        curve = _blahut_arimoto_curve(src.pmf, dist, args.points, args.distortion, None, 1e-6)
    emit_curves([curve], args, header=header, xlabel="distortion (Hamming)")
    return 0


def load_array(path: str, name: str) -> np.ndarray:
    """Read a .npy (no pickles) or whitespace/comma-separated text file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{name}: no such file {path}")
    if p.suffix == ".npy":
        return read_npy(p, name)
    try:
        text = p.read_text().replace(",", " ")
        rows = [
            line.split()
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        return np.array([[float(v) for v in row] for row in rows]).squeeze()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name}: cannot read {path} as numbers ({exc})") from None


def _blahut_arimoto_curve(pmf, dist, points, target, slope, tol_bits) -> RDCurve:
    from rdlab.solvers import blahut_arimoto, blahut_arimoto_at_distortion, rate_distortion_curve

    if target is not None and slope is not None:
        raise ValueError("give at most one of --target and --slope")
    if target is not None:
        sol = blahut_arimoto_at_distortion(pmf, dist, target, tol_bits=tol_bits)
        return RDCurve((sol.point,), label="Blahut-Arimoto")
    if slope is not None:
        sol = blahut_arimoto(pmf, dist, slope, tol_bits=tol_bits)
        return RDCurve((sol.point,), label="Blahut-Arimoto")
    return rate_distortion_curve(
        pmf,
        dist,
        n_points=check_points("--points", points),
        tol_bits=tol_bits,
        progress=True,
    )


def _run_discrete(args: argparse.Namespace) -> int:
    pmf = np.atleast_1d(load_array(args.pmf, "--pmf"))
    dist = np.atleast_2d(load_array(args.distortion_file, "--distortion"))
    curve = _blahut_arimoto_curve(pmf, dist, args.points, args.target, args.slope, args.tol_bits)
    header = {"source": "discrete", "n_source": int(pmf.size), "n_reproduction": int(dist.shape[1])}
    emit_curves([curve], args, header=header)
    return 0


def _run_empirical(args: argparse.Namespace) -> int:
    from rdlab.solvers import empirical_rate_distortion_curve

    source, name = source_from_args(args)
    if args.data is not None:
        x = source.data
        if args.n_samples is not None:
            x = x[: check_int("--n-samples", args.n_samples, minimum=2)]
    else:
        if args.n_samples is None:
            raise ValueError("--source needs --n-samples (how many samples to draw)")
        x = source.sample(check_int("--n-samples", args.n_samples, minimum=2), seed=args.seed)
    curve = empirical_rate_distortion_curve(
        x,
        n_points=check_points("--points", args.points),
        tol_bits=args.tol_bits,
        progress=not args.json,
    )
    header = {
        "source": name,
        "distortion_measure": "squared_error",
        **{k: curve.meta[k] for k in ("n", "n_distinct", "entropy_bits", "d_max")},
    }
    emit_curves([curve], args, header=header, xlabel="distortion (squared error per sample)")
    return 0


def _run_lower(args: argparse.Namespace) -> int:
    from rdlab.estimators.lower_bound import LOWER_BOUND_PRESETS, rd_lower_bound

    source, name = source_from_args(args)
    lb = rd_lower_bound(
        source, slope=args.slope, seed=args.seed, config=LOWER_BOUND_PRESETS[args.preset]
    )
    if args.distortions is not None:
        ds = parse_float_list(args.distortions, "--distortion")
    else:
        top = max(lb.intercept_bits / -lb.slope, 1e-9)
        ds = list(np.linspace(0.0, top, 8))
    points = [
        RDPoint(
            rate_bits=lb.rate_lower_bits(d), distortion=float(d), slope=lb.slope, method="lower"
        )
        for d in ds
    ]
    header = {
        "source": name,
        "distortion_measure": lb.distortion_measure,
        "intercept_bits": lb.intercept_bits,
        "intercept_stderr_bits": lb.intercept_stderr_bits,
        "n_eval": lb.n_eval,
        "batch_size": lb.batch_size,
        "restarts": lb.restarts,
    }
    emit_curves(
        [RDCurve(tuple(points), label="sample lower bound on R(D)")],
        args,
        header=header,
        xlabel="distortion (squared error per sample)",
    )
    return 0
