"""Benchmark: rdlab's certified rate-distortion solver against dit's Blahut-Arimoto.

Run with ``make bench`` (which creates ``benchmarks/.venv-bench`` with dit and rdlab), or::

    python3 -m venv benchmarks/.venv-bench
    benchmarks/.venv-bench/bin/pip install dit -e .
    benchmarks/.venv-bench/bin/python benchmarks/bench_blahut_arimoto.py --out docs/benchmarks.md

Cases: Bernoulli(0.2)/Hamming 50-slope curve; discretised N(0,1) (``discretized_gaussian(n,
6.0)``, squared error) with n = 1000 single solve at R = 2 bits and a 30-point curve; n = 4000
single solve; n = 10^4 single solve (rdlab alone; ``--skip-large`` leaves it out). dit is run with
its defaults (100 restarts, 100 iterations) and with 1 restart; its slowest default cases are
skipped (``--dit-default-max-n``). dit's ``beta`` is ``-slope`` in bits, the same
parametrisation. dit has no certificate; rdlab's column is the certified gap in bits.

For comparison, the Gaussian cases up to ``--dense-max-n`` (default 4000) are also solved with
dense Newton steps (``rdlab (dense steps)``: the working-set Hessian formed and factored at every
step, the previous default) instead of the low-rank preconditioned steps.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import math
import os
import platform
import sys
import time

import numpy as np

from rdlab.core import binary_entropy, distortion_matrix
from rdlab.solvers import _kernel, blahut_arimoto, rate_distortion_curve
from rdlab.sources.discretize import discretized_gaussian

try:
    import dit
    from dit.rate_distortion.blahut_arimoto import blahut_arimoto as dit_blahut_arimoto
except ImportError:  # the benchmark still times rdlab alone
    dit = None
    dit_blahut_arimoto = None


@contextlib.contextmanager
def _dense_steps():
    """Newton steps with the dense Hessian (no low-rank preconditioned steps)."""
    saved = _kernel.LOWRANK_MIN_SIZE
    _kernel.LOWRANK_MIN_SIZE = sys.maxsize
    try:
        yield
    finally:
        _kernel.LOWRANK_MIN_SIZE = saved


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _dit_matrix(d: np.ndarray):
    def distortion(p_x, q_y_x):  # dit calls distortion(p_x, q_y_x) -> matrix
        return d

    return distortion


def _dit_point(p, d, slope, restarts):
    np.random.seed(0)  # noqa: NPY002 -- dit draws its restarts from the global RNG
    (r, dd), _ = dit_blahut_arimoto(p, -slope, distortion=_dit_matrix(d), restarts=restarts)
    return float(r), float(dd)


def _row(rows, case, solver, seconds, rate, dist, gap, note=""):
    rows.append((case, solver, seconds, rate, dist, gap, note))
    fmt = "—" if seconds is None else f"{seconds:.2f}"
    print(f"{case:38s} {solver:22s} {fmt:>9s} s  R={rate}  D={dist}  gap={gap}  {note}", flush=True)


def _fmt(x, spec):
    return "—" if x is None else format(x, spec)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=None, help="write the markdown table to this file")
    ap.add_argument("--skip-large", action="store_true", help="leave out the n = 10^4 case")
    ap.add_argument(
        "--only-large", action="store_true", help="run only the n = 10^4 case (rdlab alone)"
    )
    ap.add_argument(
        "--dit-default-max-n",
        type=int,
        default=1000,
        help="run dit's defaults (100 restarts) only for single solves up to this n",
    )
    ap.add_argument(
        "--dense-max-n",
        type=int,
        default=4000,
        help="also time rdlab with dense Newton steps for Gaussian cases up to this n (0: never)",
    )
    args = ap.parse_args(argv)
    load_start = os.getloadavg()
    rows: list[tuple] = []
    have_dit = dit_blahut_arimoto is not None

    # 1. Bernoulli(0.2), Hamming, 50-slope curve -----------------------------------------
    if args.only_large:
        args.skip_large = False
    p = np.array([0.8, 0.2])
    d = np.array([[0.0, 1.0], [1.0, 0.0]])
    Ds = np.linspace(0.002, 0.198, 50)
    slopes = np.log2(Ds / (1 - Ds))
    case = "Bernoulli(0.2) 50-slope curve"
    run_small = not args.only_large
    if run_small:
        t, curve = _timed(lambda: rate_distortion_curve(p, d, slopes, progress=False))
        err = max(
            abs(pt.rate_bits - (binary_entropy(0.2) - binary_entropy(pt.distortion)))
            for pt in curve
        )
        gmax = max(pt.gap_bits for pt in curve)
        _row(rows, case, "rdlab", t, f"max err {err:.1e}", "0.002..0.198", f"{gmax:.1e}")
    if have_dit and run_small:
        for restarts, name in ((100, "dit (defaults)"), (1, "dit (1 restart)")):
            t, pts = _timed(lambda r=restarts: [_dit_point(p, d, s, r) for s in slopes])
            err = max(abs(r - (binary_entropy(0.2) - binary_entropy(dd))) for r, dd in pts)
            _row(rows, case, name, t, f"max err {err:.1e}", "0.002..0.198", "none")

    # 2-5. discretised Gaussian ----------------------------------------------------------
    slope_2bits = -1.0 / (2.0 * 2.0**-4 * math.log(2.0))  # D = 1/16, R = 2 bits
    sizes = [1000, 4000] + ([] if args.skip_large else [10_000])
    if args.only_large:
        sizes = [10_000]
    for n in sizes:
        x, pg = discretized_gaussian(n, 6.0)
        dg = distortion_matrix(x)
        case = f"N(0,1) n={n} single solve (R≈2)"
        solvers = [("rdlab", contextlib.nullcontext)]
        if n <= args.dense_max_n:
            solvers.append(("rdlab (dense steps)", _dense_steps))
        for name, ctx in solvers:
            with ctx():
                t, sol = _timed(lambda pg=pg, dg=dg: blahut_arimoto(pg, dg, slope_2bits))
            _row(
                rows,
                case,
                name,
                t,
                f"{sol.rate_bits:.6f}",
                f"{sol.distortion:.6f}",
                f"{sol.gap_bits:.1e}",
                "" if sol.converged else "not converged",
            )
        if have_dit and n <= 4000:
            runs = [(1, "dit (1 restart)")]
            if n <= args.dit_default_max_n:
                runs.insert(0, (100, "dit (defaults)"))
            else:
                _row(rows, case, "dit (defaults)", None, "—", "—", "none", "skipped (too slow)")
            for restarts, name in runs:
                t, (r, dd) = _timed(
                    lambda pg=pg, dg=dg, r=restarts: _dit_point(pg, dg, slope_2bits, r)
                )
                _row(rows, case, name, t, f"{r:.6f}", f"{dd:.6f}", "none")
        elif have_dit:
            _row(rows, case, "dit", None, "—", "—", "none", "not run for n > 4000")
        if n == 1000:
            case = "N(0,1) n=1000 30-point curve"
            cslopes = -1.0 / (2.0 * np.geomspace(0.02, 0.9, 30) * math.log(2.0))
            for name, ctx in solvers:
                with ctx():
                    t, curve = _timed(
                        lambda pg=pg, dg=dg, cs=cslopes: rate_distortion_curve(
                            pg, dg, cs, progress=False
                        )
                    )
                gmax = max(pt.gap_bits for pt in curve)
                conv = all(pt.converged for pt in curve)
                R = curve.rate_bits
                _row(
                    rows,
                    case,
                    name,
                    t,
                    f"{R.min():.4f}..{R.max():.4f}",
                    f"{curve.distortion.min():.4f}..{curve.distortion.max():.4f}",
                    f"{gmax:.1e}",
                    "" if conv else "some points not converged",
                )
            if have_dit:
                _row(rows, case, "dit (defaults)", None, "—", "—", "none", "skipped (~530 s)")
                t, pts = _timed(
                    lambda pg=pg, dg=dg, cs=cslopes: [_dit_point(pg, dg, s, 1) for s in cs]
                )
                rr = [a for a, _ in pts]
                dd = [b for _, b in pts]
                _row(
                    rows,
                    case,
                    "dit (1 restart)",
                    t,
                    f"{min(rr):.4f}..{max(rr):.4f}",
                    f"{min(dd):.4f}..{max(dd):.4f}",
                    "none",
                )

    # table ------------------------------------------------------------------------------
    cmd = " ".join([os.path.relpath(sys.executable), *sys.argv])
    header = [
        "# Benchmarks: certified Blahut-Arimoto (rdlab) vs dit",
        "",
        f"Produced by `{cmd}` on {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Linux "
        f"{platform.release()}, Python {platform.python_version()}, numpy {np.__version__}"
        + (f", dit {dit.__version__}" if have_dit else "")
        + f". BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}. "
        f"Load average at start {load_start[0]:.2f}, at end {os.getloadavg()[0]:.2f} "
        "(the machine is shared; other processes compete for its 2 cores, and a multithreaded "
        "BLAS slows down badly under such contention, hence one BLAS thread).",
        "",
        'Wall time of one run each. rdlab: `method="newton"`, `tol_bits=1e-6` (stops on the '
        "certified gap between Blahut's lower bound and the mutual information of the returned "
        "channel); `rdlab (dense steps)`: the same solver with the dense Newton steps of the "
        "previous version (Hessian formed and factored at every step) instead of the low-rank "
        "preconditioned conjugate-gradient steps. dit: `dit.rate_distortion.blahut_arimoto` with its defaults (100 restarts, 100 "
        "iterations, stops when D stops changing under `np.isclose`) and with `restarts=1`; "
        "`beta = -slope` (bits). dit has no certificate. Curves: rdlab warm-starts along the "
        "sweep; dit solves each slope from scratch (as `dit.rate_distortion.RDCurve` does).",
        "",
        "| case | solver | time (s) | rate (bits) | distortion | certified gap (bits) | note |",
        "|---|---|---:|---|---|---|---|",
    ]
    lines = [
        f"| {c} | {s} | {_fmt(t, '.2f')} | {r} | {dd} | {g} | {note} |"
        for c, s, t, r, dd, g, note in rows
    ]
    text = "\n".join(header + lines) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
