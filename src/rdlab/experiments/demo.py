"""The main job (``make demo``): from closed forms to exact solvers to real bytes.

On the embedded default source ``gaussian20`` (the official NERD code's m = 20 Gaussian,
variances 4·exp(−k/2) under a fixed stored rotation):

1. the closed-form R(D) by reverse water-filling;
2. a NERD estimate of R(D) from samples (quick preset, official slope λ = −1 nats), next to
   the closed form at its own distortion;
3. the reverse channel codec (PFR with the exact optimal output law Q_Y*, docs/errata.md E002-1)
   at R(D) = 2 and 4 bits, rate measured from the real bytes of the bitstream;

and on a scalar N(0, 1) discretised onto 1000 points of [−6, 6]: Blahut-Arimoto with certified
bounds beside the closed form 0.5·log2(1/D); and on the embedded image set (scikit-learn's
digits) one learned quantised autoencoder (UQ, d = 6, L = 4, quick preset, seed 001) whose test
set is written as a real bitstream: its rate three ways (bound, symbol entropy, file bytes)
beside its test MSE.

Writes ``demo.png``, ``config.json`` and ``results.json`` into the run directory and returns
them as an :class:`~rdlab.experiments.registry.ExperimentResult`; :func:`format_demo` renders it
as text, rates under the glossary's names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.distortion import distortion_matrix
from rdlab.core.glossary import check_keys
from rdlab.core.io import write_figure, write_json_atomic
from rdlab.experiments.registry import ExperimentResult
from rdlab.sources.discretize import discretized_gaussian
from rdlab.sources.registry import make_source
from rdlab.theory.gaussian import gaussian_rate_distortion, gaussian_rd_curve

DEFAULT_SOURCE = "gaussian20"
LEARNED_POINT = {"quantizer": "uq", "latent_dim": 6, "levels": 4, "lam": 0.0}
"""The learned codec of the demo (digits, quick preset)."""
RCC_RATES_BITS = (2.0, 4.0)
"""R(D) of the codec's operating points; N = 2^(R + 6) candidates each."""


def _closed_form_stage(source) -> dict[str, Any]:
    closed = gaussian_rd_curve(source, n_points=60, max_rate_bits=12.0)
    return {
        "d_max": source.total_variance,
        "eigenvalues": source.eigenvalues.tolist(),
        "closed_form_curve": closed.to_dict()["points"],
    }


def _blahut_arimoto_stage(grid_points: int, curve_points: int, progress: bool) -> dict[str, Any]:
    from rdlab.solvers import rate_distortion_curve

    x, pmf = discretized_gaussian(grid_points, 6.0)
    start = time.perf_counter()
    ba = rate_distortion_curve(pmf, distortion_matrix(x), n_points=curve_points, progress=progress)
    seconds = time.perf_counter() - start
    exact = np.asarray(gaussian_rate_distortion(ba.distortion, 1.0))
    gaps = np.array([p.gap_bits for p in ba.points], dtype=float)
    return {
        "blahut_arimoto": ba.to_dict()["points"],
        "closed_form_rate_bits": exact.tolist(),
        "max_abs_error_bits": float(np.max(np.abs(ba.rate_bits - exact))),
        "max_gap_bits": float(np.max(gaps)),
        "blahut_arimoto_seconds": round(seconds, 3),
    }


def _nerd_stage(seed: int, progress: bool) -> dict[str, Any]:
    """NERD's quick estimate on gaussian20 and the sample lower bound at its slope, beside the
    closed form: the two estimators that bracket R(D) when no closed form exists."""
    from rdlab.estimators.lower_bound import (
        LOWER_BOUND_PRESETS,
        best_lower_bound,
        lower_bound_slopes,
    )
    from rdlab.estimators.nerd import nerd_quick_point

    start = time.perf_counter()
    res = nerd_quick_point(DEFAULT_SOURCE, seed=seed, progress=progress)
    lb = best_lower_bound(
        make_source(DEFAULT_SOURCE),
        res.distortion,
        slopes=lower_bound_slopes([res.estimate.slope]),
        seed=seed,
        config=LOWER_BOUND_PRESETS["quick"],
        progress=progress,
    )
    return {
        "method": "nerd",
        "rate_bits": res.rate_bits,
        "rate_stderr_bits": res.rate_stderr_bits,
        "distortion": res.distortion,
        "distortion_measure": res.distortion_measure,
        "slope": res.estimate.slope,
        "closed_form_rate_bits": res.closed_form_rate_bits,
        "excess_rate_bits": res.excess_rate_bits,
        "reference": "closed-form R(D)",
        "rd_lower_bits": lb.rate_lower_bits(res.distortion),
        "rd_lower_stderr_bits": lb.intercept_stderr_bits,
        "intercept_bits": lb.intercept_bits,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _rcc_stage(source, n_samples: int, seed: int, progress: bool) -> list[dict[str, Any]]:
    from rdlab.coding.codec import measure_codec
    from rdlab.coding.rcc import RCCCodec
    from rdlab.theory.gaussian import reverse_water_filling_at_rate

    x = source.sample(n_samples, seed=seed)
    points = []
    for rate in RCC_RATES_BITS:
        target = reverse_water_filling_at_rate(source.eigenvalues, rate).distortion
        codec = RCCCodec.gaussian(DEFAULT_SOURCE, distortion=target, progress=progress)
        report = measure_codec(codec, x, seed=seed)
        points.append(
            {
                "method": "rcc-pfr",
                **report.to_dict(),
                "target_distortion": target,
                "closed_form_rate_bits": codec.zipf_rate_bits,
                "n_candidates": codec.n_candidates,
            }
        )
    return points


def _learned_stage(out: Path, seed: int, progress: bool, bracket: bool) -> dict[str, Any]:
    """A learned codec on the embedded digits, its test split as a real bitstream, and (with
    ``bracket``) R(D) of the digits bracketed at its distortion (:func:`rdlab.experiments.audit
    .audit`: NERD above, the sample lower bound below)."""
    from rdlab.models.learned import learned_run, preset_config

    cfg = preset_config("quick", "digits", fresh_critic_steps=200, **LEARNED_POINT)
    run = learned_run(cfg, out / "learned", seed=seed, overwrite=True, progress=progress)
    ev = run.evaluation
    stage = {
        "method": "learned-uq",
        "data": "digits",
        **LEARNED_POINT,
        **ev.to_dict(),
        "train_seconds": round(run.train_seconds, 2),
        "bracket": None,
    }
    if bracket:
        import rdlab.sources.nerd_sources  # noqa: F401 - registers digits
        from rdlab.experiments.audit import CodecPoint, audit

        point = CodecPoint("learned-uq", ev.rate_bits, ev.distortion, ev.distortion_measure)
        res = audit(make_source("digits"), [point], seed=seed, progress=progress)
        stage["bracket"] = res.to_dict()["points"][0]
    return stage


def run_demo(
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    grid_points: int = 1000,
    curve_points: int = 20,
    codec_samples: int = 500,
    nerd: bool = True,
    learned: bool = True,
    bracket: bool = True,
    seed: int = 0,
    progress: bool = True,
) -> ExperimentResult:
    """Run the main job into ``out_dir`` (refusing to replace a run unless ``overwrite``).

    Returns the frozen :class:`~rdlab.experiments.registry.ExperimentResult` whose ``to_dict()``
    is ``results.json`` (its keys are glossary keys, checked)."""
    out = Path(out_dir)
    if (out / "results.json").exists() and not overwrite:
        raise FileExistsError(f"{out} already holds a demo run; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "job": "demo",
        "source": DEFAULT_SOURCE,
        "grid_points": grid_points,
        "curve_points": curve_points,
        "codec_samples": codec_samples,
        "run_nerd": nerd,
        "run_learned": learned,
        "seed": seed,
    }
    write_json_atomic(out / "config.json", config)

    t0 = time.perf_counter()
    source = make_source(DEFAULT_SOURCE)
    values = {
        **config,
        "gaussian20": _closed_form_stage(source),
        "nerd": _nerd_stage(seed, progress) if nerd else None,
        "rcc_points": _rcc_stage(source, codec_samples, seed, progress),
        "scalar_gaussian": _blahut_arimoto_stage(grid_points, curve_points, progress),
        "learned_codec": (
            _learned_stage(out, seed, progress, bracket=bracket and nerd) if learned else None
        ),
    }
    result = ExperimentResult(
        experiment="demo",
        paper="seeds 001-003",
        target="the main job: R(D), NERD, reverse channel coding, Blahut-Arimoto, a learned codec",
        preset="quick",
        seed=seed,
        wall_seconds=round(time.perf_counter() - t0, 3),
        values=values,
    )
    results = result.to_dict()
    check_keys(results, "demo")
    _plot(out / "demo.png", results)
    write_json_atomic(out / "results.json", results)
    return result


def _plot(path: Path, results: Mapping[str, Any]) -> None:
    """One figure, one story per data set: R(D) (or its bracket) and rdlab's codecs."""
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()
    lc = results.get("learned_codec")
    fig, axes = plt.subplots(1, 2 if lc else 1, figsize=(12 if lc else 6.4, 4.4), squeeze=False)
    a1 = axes[0, 0]
    closed = results["gaussian20"]["closed_form_curve"]
    a1.plot(
        [p["distortion"] for p in closed],
        [p["rate_bits"] for p in closed],
        "-",
        color="k",
        label="R(D), closed form",
    )
    nerd = results["nerd"]
    if nerd is not None:
        a1.errorbar(
            [nerd["distortion"]],
            [nerd["rate_bits"]],
            yerr=[2 * nerd["rate_stderr_bits"]],
            fmt="v",
            color="C1",
            label="NERD estimate (above, ± 2 s.e.)",
        )
        a1.errorbar(
            [nerd["distortion"]],
            [nerd["rd_lower_bits"]],
            yerr=[2 * nerd["rd_lower_stderr_bits"]],
            fmt="^",
            color="C2",
            label="sample lower bound (below, ± 2 s.e.)",
        )
    codec = results["rcc_points"]
    d = [p["distortion"] for p in codec]
    a1.plot(d, [p["rate_bits"] for p in codec], "s", color="C3", label="RCC: rate_bits (file)")
    a1.plot(
        d, [p["rate_payload_bits"] for p in codec], "s", mfc="none", color="C3",
        label="RCC: rate_payload_bits",
    )  # fmt: skip
    a1.plot(
        [p["target_distortion"] for p in codec],
        [p["rate_bound_bits"] for p in codec],
        "x",
        color="C0",
        label="R + log2(R+1) + 5",
    )
    a1.set_xlabel("distortion (squared error per sample, 20 dims)")
    a1.set_ylabel("rate [bits per sample]")
    a1.set_title("gaussian20: R(D) and reverse channel coding")
    a1.grid(alpha=0.3)
    a1.legend(fontsize=7)
    if lc:
        a2 = axes[0, 1]
        br = lc.get("bracket")
        dist = br["distortion"] if br else lc["distortion"] * 64
        if br:
            a2.vlines([dist], br["rd_lower_bits"], br["rd_upper_bits"], colors="k", lw=4,
                      alpha=0.3, label="R(D) lies in this bracket")  # fmt: skip
            a2.plot([dist], [br["rd_upper_bits"]], "v", color="C1", label="NERD estimate (above)")
            a2.plot([dist], [br["rd_lower_bits"]], "^", color="C2", label="sample lower bound")
            a2.plot([dist], [br["rcc_rate_bound_bits"]], "x", color="C0",
                    label="R + log2(R+1) + 5 at NERD's R")  # fmt: skip
        a2.plot([dist], [lc["rate_bits"]], "s", color="C3", label="learned codec: rate_bits")
        a2.plot([dist], [lc["rate_payload_bits"]], "s", mfc="none", color="C3",
                label="learned codec: rate_payload_bits")  # fmt: skip
        a2.plot([dist], [lc["rate_bound_bits"]], "+", color="C4", label="d log2 L")
        a2.set_xlim(0.0, 2.0 * dist)
        a2.set_ylim(bottom=0.0)
        a2.set_xlabel("distortion (squared error per 8x8 image, pixels in [0, 1])")
        a2.set_ylabel("rate [bits per image]")
        a2.set_title("digits: R(D) bracket and a learned codec (UQ, d=6, L=4)")
        a2.grid(alpha=0.3)
        a2.legend(fontsize=7, loc="lower left")
    write_figure(fig, path, dpi=110)


def format_demo(results: Mapping[str, Any]) -> str:
    """A human-readable summary of :func:`run_demo`'s results: one table of rdlab's codecs
    against R(D) of their data, and the checks behind the brackets."""
    from rdlab.core.table import format_table

    g = results["gaussian20"]
    s = results["scalar_gaussian"]
    rows = []
    for p in results["rcc_points"]:
        r = p["closed_form_rate_bits"]
        rows.append(
            {
                "data": "gaussian20",
                "codec": f"RCC PFR N=2^{int(np.log2(p['n_candidates']))}",
                "distortion": p["distortion"],
                "rate_bits": p["rate_bits"],
                "rate_payload_bits": p["rate_payload_bits"],
                "rd": f"{r:.3f} (closed form)",
                "excess": f"{p['rate_payload_bits'] - r:.2f}",
            }
        )
    lc = results.get("learned_codec")
    if lc:
        br = lc.get("bracket")
        rows.append(
            {
                "data": "digits",
                "codec": "learned UQ d=6 L=4",
                "distortion": br["distortion"] if br else lc["distortion"] * 64,
                "rate_bits": lc["rate_bits"],
                "rate_payload_bits": lc["rate_payload_bits"],
                "rd": (f"{br['rd_lower_bits']:.2f} .. {br['rd_upper_bits']:.2f}" if br else "-"),
                "excess": (
                    f"{lc['rate_payload_bits'] - br['rd_upper_bits']:.2f} .. "
                    f"{lc['rate_payload_bits'] - br['rd_lower_bits']:.2f}"
                    if br
                    else "-"
                ),
            }
        )
    lines = [
        "rdlab's codecs against R(D) of their data (rates in bits per sample; distortion: "
        "squared error per sample; excess: rate_payload_bits - R(D))",
        format_table(
            rows,
            [
                ("data", "data"),
                ("codec", "codec"),
                ("distortion", "distortion"),
                ("rate_bits", "rate_bits"),
                ("rate_payload_bits", "rate_payload_bits"),
                ("rd", "R(D) [bits]"),
                ("excess", "excess [bits]"),
            ],
        ),
        "rate_bits is the whole file (container and header included), rate_payload_bits the "
        "coded symbols alone",
        "",
        f"gaussian20 (20-dim Gaussian, D_max = {g['d_max']:.4f}): R(D) in closed form.",
    ]
    n = results["nerd"]
    if n is not None:
        lines.append(
            f"  check of the estimators that bracket R(D) without a closed form, at D = "
            f"{n['distortion']:.3f}: NERD {n['rate_bits']:.3f} ± {n['rate_stderr_bits']:.3f} "
            f"above, the sample lower bound {n['rd_lower_bits']:.3f} ± "
            f"{n['rd_lower_stderr_bits']:.3f} below, closed form {n['closed_form_rate_bits']:.3f} "
            f"bits ({n['seconds']} s)"
        )
    if lc:
        br = lc.get("bracket")
        lines.append(
            f"digits (scikit-learn 8x8): the learned codec trained in {lc['train_seconds']:.1f} "
            f"s, test MSE {lc['distortion']:.4f} ± {lc['distortion_stderr']:.4f} per pixel"
            + (
                f"; R(D) there: NERD {br['rd_upper_bits']:.2f} ± {br['rd_upper_stderr_bits']:.2f} "
                f"above, sample lower bound {br['rd_lower_bits']:.2f} below"
                if br
                else ""
            )
        )
    lines.append(
        f"Blahut-Arimoto on N(0,1) on a {results['grid_points']}-point grid: max |BA - closed "
        f"form| = {s['max_abs_error_bits']:.2e} bit, max certified gap {s['max_gap_bits']:.1e} "
        f"bit, {s['blahut_arimoto_seconds']} s"
    )
    return "\n".join(lines)
