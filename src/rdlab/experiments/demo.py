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
    from rdlab.estimators.nerd import nerd_quick_point

    start = time.perf_counter()
    res = nerd_quick_point(DEFAULT_SOURCE, seed=seed, progress=progress)
    return {
        "method": "nerd",
        "rate_bits": res.rate_bits,
        "rate_stderr_bits": res.rate_stderr_bits,
        "distortion": res.distortion,
        "distortion_measure": res.distortion_measure,
        "closed_form_rate_bits": res.closed_form_rate_bits,
        "excess_rate_bits": res.excess_rate_bits,
        "reference": "closed-form R(D)",
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


def _learned_stage(out: Path, seed: int, progress: bool) -> dict[str, Any]:
    from rdlab.models.learned import learned_run, preset_config

    cfg = preset_config("quick", "digits", fresh_critic_steps=200, **LEARNED_POINT)
    run = learned_run(cfg, out / "learned", seed=seed, overwrite=True, progress=progress)
    return {
        "method": "learned-uq",
        "data": "digits",
        **LEARNED_POINT,
        **run.evaluation.to_dict(),
        "train_seconds": round(run.train_seconds, 2),
    }


def run_demo(
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    grid_points: int = 1000,
    curve_points: int = 20,
    codec_samples: int = 500,
    nerd: bool = True,
    learned: bool = True,
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
        "learned_codec": _learned_stage(out, seed, progress) if learned else None,
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
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    lc = results.get("learned_codec")
    fig, axes = plt.subplots(1, 3 if lc else 2, figsize=(16 if lc else 11, 4.2))
    a1, a2 = axes[0], axes[1]
    closed = results["gaussian20"]["closed_form_curve"]
    a1.plot(
        [p["distortion"] for p in closed],
        [p["rate_bits"] for p in closed],
        "-",
        label="R(D), reverse water-filling",
    )
    codec = results["rcc_points"]
    d = [p["distortion"] for p in codec]
    a1.plot(d, [p["rate_bits"] for p in codec], "s", label="reverse channel codec (file bytes)")
    a1.plot(
        d, [p["rate_payload_bits"] for p in codec], "^", label="reverse channel codec (payload)"
    )
    a1.plot(
        [p["target_distortion"] for p in codec],
        [p["rate_bound_bits"] for p in codec],
        "x",
        label="guarantee R + log2(R+1) + 5",
    )
    nerd = results["nerd"]
    if nerd is not None:
        a1.errorbar(
            [nerd["distortion"]],
            [nerd["rate_bits"]],
            yerr=[2 * nerd["rate_stderr_bits"]],
            fmt="o",
            color="k",
            label="NERD estimate from samples (± 2 s.e.)",
        )
    a1.set_xlabel("distortion (squared error, total over 20 dims)")
    a1.set_ylabel("rate [bits per sample]")
    a1.set_title("gaussian20: limit and codec")
    a1.grid(alpha=0.3)
    a1.legend(fontsize=8)
    s = results["scalar_gaussian"]
    ba_d = np.array([p["distortion"] for p in s["blahut_arimoto"]])
    ba_r = np.array([p["rate_bits"] for p in s["blahut_arimoto"]])
    dd = np.linspace(ba_d.min() * 0.9, 1.0, 200)
    a2.plot(dd, gaussian_rate_distortion(dd, 1.0), "-", label="0.5 log2(1/D) (closed form)")
    a2.plot(ba_d, ba_r, "o", ms=4, label=f"Blahut-Arimoto, {results['grid_points']}-point grid")
    a2.set_xlabel("distortion (squared error)")
    a2.set_ylabel("rate [bits]")
    a2.set_title("N(0,1): closed form vs Blahut-Arimoto")
    a2.grid(alpha=0.3)
    a2.legend(fontsize=8)
    if lc:
        a3 = axes[2]
        for key, label, mark in (
            ("rate_bound_bits", "bound d log2 L", "x"),
            ("rate_entropy_bits", "symbol entropy", "^"),
            ("rate_bits", "file bytes", "s"),
        ):
            a3.plot([lc["distortion"]], [lc[key]], mark, label=label)
        a3.set_xlabel("test MSE per pixel (pixels in [0, 1])")
        a3.set_ylabel("rate [bits per image]")
        a3.set_title("digits: learned codec (UQ, d=6, L=4)")
        a3.grid(alpha=0.3)
        a3.legend(fontsize=8)
    write_figure(fig, path, dpi=110)


def format_demo(results: Mapping[str, Any]) -> str:
    """A human-readable summary of :func:`run_demo`'s results."""
    from rdlab.core.table import format_table

    g = results["gaussian20"]
    s = results["scalar_gaussian"]
    lines = [
        f"source {results['source']}: 20-dim Gaussian, D_max = E||X - mu||^2 = {g['d_max']:.4f}",
        "",
        "rate-distortion function R(D) (closed form, reverse water-filling) and the reverse",
        "channel codec (PFR, exact Q_Y*), rate from the real bytes of the bitstream:",
    ]
    n = results["nerd"]
    if n is not None:
        lines.insert(
            1,
            f"NERD estimate from samples: R = {n['rate_bits']:.3f} ± {n['rate_stderr_bits']:.3f} bits "
            f"at D = {n['distortion']:.3f}; closed form R(D) = {n['closed_form_rate_bits']:.3f} bits "
            f"(R - R(D) = {n['excess_rate_bits']:+.3f} bit, {n['seconds']} s)",
        )
    rows = [
        {
            **p,
            "point": f"codec N=2^{int(np.log2(p['n_candidates']))}",
            "excess": p["rate_payload_bits"] - p["closed_form_rate_bits"],
        }
        for p in results["rcc_points"]
    ]
    lines.append(
        format_table(
            rows,
            [
                ("point", "point"),
                ("distortion", "distortion"),
                ("closed_form_rate_bits", "R(D)"),
                ("rate_bits", "rate_bits"),
                ("rate_payload_bits", "rate_payload_bits"),
                ("excess", "payload - R(D)"),
                ("rate_bound_bits", "rate_bound_bits"),
            ],
        )
    )
    lines.append(
        "rates in bits per sample: rate_bits = 8 x file bytes / samples; rate_payload_bits "
        "without container and header; rate_bound_bits = R + log2(R+1) + 5"
    )
    lines += [
        "",
        f"N(0,1) on a {results['grid_points']}-point grid of [-6, 6]: Blahut-Arimoto vs 0.5 log2(1/D)",
    ]
    rows = [
        {**p, "closed_form": c, "error": p["rate_bits"] - c}
        for p, c in zip(s["blahut_arimoto"], s["closed_form_rate_bits"], strict=True)
    ]
    lines.append(
        format_table(
            rows[::2],
            [
                ("distortion", "distortion"),
                ("rate_bits", "BA rate [bits]"),
                ("closed_form", "closed form [bits]"),
                ("error", "BA - closed"),
                ("gap_bits", "certified gap [bits]"),
            ],
        )
    )
    lines.append(
        f"max |BA - closed form| = {s['max_abs_error_bits']:.2e} bit (discretisation), "
        f"max certified gap = {s['max_gap_bits']:.1e} bit, "
        f"BA curve took {s['blahut_arimoto_seconds']} s"
    )
    lc = results.get("learned_codec")
    if lc:
        lines += [
            "",
            f"learned codec on digits ({lc['quantizer'].upper()}, d = {lc['latent_dim']}, "
            f"L = {lc['levels']}, trained in {lc['train_seconds']:.1f} s), test set of "
            f"{lc['n_test']} images:",
            f"  distortion {lc['distortion']:.4f} ± {lc['distortion_stderr']:.4f} "
            f"({lc['distortion_measure']}: MSE per pixel); rates in bits per image: "
            f"rate_bits {lc['rate_bits']:.2f} (the file), rate_payload_bits "
            f"{lc['rate_payload_bits']:.2f}, rate_information_bits "
            f"{lc['rate_information_bits']:.2f}, rate_entropy_bits "
            f"{lc['rate_entropy_bits']:.2f}, rate_bound_bits {lc['rate_bound_bits']:.2f}",
        ]
    return "\n".join(lines)
