"""Reproductions of seed 002's NERD figures (Lei, Hassani & Saeedi Bidokhti).

- ``002-fig2``: NERD on the m = 20 Gaussian of §IV-A (variances 4·exp(−k/16)) against the
  closed-form R(D) (reverse water-filling), constrained mode (Algorithm 1);
- ``002-fig7``: the same source under squared l_p distortions, p = 1, 2, 3; checks the order
  R_1(D) >= R_2(D) >= R_3(D) of eq. (24);
- ``002-fig15``: the m = 40 Gaussian of Fig. 15 (variances 4·exp(−k/4)) against its closed form;
- ``002-fig4`` (Fig. 4; ``002-fig18`` Fashion-MNIST, ``002-fig5`` SVHN): samples of the learned
  output law Q_Y* on images at a rate near 0 — where Q_Y* must put its mass on the mean image and
  D = D_max = E||X − μ||² — and at a higher rate;
- ``002-fig1`` (Fig. 1; ``002-fig16`` Fashion-MNIST, ``002-fig3`` SVHN): NERD on images next to
  Blahut-Arimoto on the empirical law of n images with their support as reproduction alphabet
  (§I-A), which reaches D = 0 at log2 n bits, and the DNN compressor (NTC); D_max check;
- ``002-fig20`` (generator capacity) and ``002-fig6`` (NERD between the sandwich bounds).

Image sets (:meth:`ExperimentOptions.image_data`): ``--data`` chooses one; else the figure's own
(Fashion-MNIST, SVHN — the 10 000 images of its test file, split by NERD and NTC as any finite
set); else MNIST when a data folder (``--data-dir``, ``RDLAB_DATA``) holds its files or in the
paper preset, and the embedded digits otherwise.

Quick presets take well under 2 minutes each on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.information import LN2
from rdlab.core.io import headless_pyplot, write_figure
from rdlab.experiments.ntc import (
    NTC_LABEL,
    ntc_gaussian_points,
    ntc_image_points,
    plot_ntc_points,
)
from rdlab.experiments.registry import (
    ExperimentOptions,
    image_set_variants,
    register_experiment,
    register_variants,
)
from rdlab.experiments.runner import Job, Plan, run_plan
from rdlab.sources.images import slopes_in_d_max_units


def _configs(preset: str):
    from rdlab.estimators.nerd import NERD_PRESETS

    if preset == "quick":
        return replace(NERD_PRESETS["quick"], eval_samples=20_000, n_eval=2048)
    return NERD_PRESETS["paper"]


def nerd_point_job(
    job_dir: Path, config: dict[str, Any], deps: dict[str, Path], fresh: bool
) -> dict[str, Any]:
    """The job of one NERD point (:mod:`rdlab.experiments.runner`): estimate it into
    ``job_dir`` and return its numbers. ``config``: ``source`` (a registered name) with
    ``source_params`` and optionally the ``source_name`` to record, ``seed``, ``slope`` or
    ``target_distortion``, the ``distortion`` measure, and ``nerd`` (a
    :class:`~rdlab.estimators.nerd.NERDConfig` as a dict)."""
    import rdlab.sources.nerd_sources  # noqa: F401
    from rdlab.estimators.nerd import NERDConfig, nerd_point
    from rdlab.sources.registry import make_source

    params = config.get("source_params") or {}
    res = nerd_point(
        make_source(config["source"], **params) if params else config["source"],
        source_name=config.get("source_name"),
        distortion=config.get("distortion", "squared_error"),
        seed=config["seed"],
        slope=config.get("slope"),
        target_distortion=config.get("target_distortion"),
        config=NERDConfig(**config["nerd"]),
        run_dir=job_dir,
        overwrite=True,
    )
    return {
        "rate_bits": res.rate_bits,
        "rate_stderr_bits": res.rate_stderr_bits,
        "distortion": res.distortion,
        "closed_form_rate_bits": res.closed_form_rate_bits,
        "excess_rate_bits": res.excess_rate_bits,
        "beta_nats": res.estimate.beta_nats,
        "seconds": res.train_seconds + res.eval_seconds,
    }


def _nerd_points(
    out_dir: Path, options: ExperimentOptions, points: dict[str, dict[str, Any]], desc: str
) -> dict[str, dict[str, Any]]:
    """Results of NERD points (folder name -> job config), run by the options' executor."""
    plan = Plan(tuple(Job(key, nerd_point_job, cfg) for key, cfg in points.items()))
    done = run_plan(plan, out_dir, options.make_executor(), desc=desc)
    return {k: dict(o.result) for k, o in done.items()}


def _plot(
    path: Path, title: str, series: list[dict[str, Any]], closed=None, ceiling=None, scalar=None
):
    plt = headless_pyplot()

    fig, ax = plt.subplots(figsize=(6, 4.2))
    if closed is not None:
        ax.plot(closed[0], closed[1], "-", color="k", lw=1, label="closed form R(D)")
    if scalar is not None:
        ax.plot(scalar[0], scalar[1], "--", color="gray", lw=1,
                label="ideal uniform scalar transform code")  # fmt: skip
    for s in series:
        ax.errorbar(
            s["D"], s["R"], yerr=2 * np.asarray(s["se"]), fmt="o", capsize=3, label=s["label"]
        )
    if ceiling is not None:
        ax.axhline(ceiling, color="gray", ls=":", label="log2 M (ceiling)")
    ax.set_xlabel("distortion D")
    ax.set_ylabel("rate [bits]")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    write_figure(fig, path)


def _gaussian_figure(
    out_dir: Path,
    preset: str,
    seed: int,
    options: ExperimentOptions,
    source_name: str,
    rates: list[float],
    title: str,
) -> dict[str, Any]:
    import rdlab.sources.nerd_sources  # noqa: F401
    from rdlab.sources.registry import make_source
    from rdlab.theory.gaussian import reverse_water_filling_at_rate, vector_gaussian_rate_distortion
    from rdlab.theory.transform_coding import transform_ecsq_rate

    cfg = _configs(preset)
    src = make_source(source_name)
    jobs = {
        f"point-R{r:g}": {
            "source": source_name,
            "seed": seed,
            "target_distortion": reverse_water_filling_at_rate(src.eigenvalues, r).distortion,
            "nerd": cfg.to_dict(),
        }
        for r in rates
    }
    done = _nerd_points(out_dir, options, jobs, source_name)
    points = [{"target_rate_bits": r, **done[f"point-R{r:g}"]} for r in rates]
    ntc = ntc_gaussian_points(
        out_dir, source_name, rates, preset=preset, seed=seed, options=options
    )
    grid = np.linspace(0.3 * min(p["distortion"] for p in points), src.total_variance, 200)
    # the scalar code's rate, a bisection over slopes per point: 40 points suffice to draw it
    coarse = grid[::5]
    _plot(
        out_dir / "curve.png",
        title,
        [
            {
                "D": [p["distortion"] for p in points],
                "R": [p["rate_bits"] for p in points],
                "se": [p["rate_stderr_bits"] for p in points],
                "label": "NERD (± 2 s.e.)",
            },
            {
                "D": [p["distortion"] for p in ntc],
                "R": [p["rate_payload_bits"] for p in ntc],
                "se": [0.0 for _ in ntc],
                "label": NTC_LABEL,
            },
        ],
        closed=(grid, vector_gaussian_rate_distortion(grid, src)),
        ceiling=float(np.log2(cfg.eval_samples)),
        scalar=(coarse, [transform_ecsq_rate(float(d), src) for d in coarse]),
    )
    excess = [abs(p["excess_rate_bits"]) for p in points]
    return {
        "source": source_name,
        "d_max": src.total_variance,
        "eval_samples": cfg.eval_samples,
        "points": points,
        "reference": "closed-form R(D)",
        "max_abs_excess_rate_bits": max(excess),
        "ntc_points": ntc,
    }


@register_experiment(
    "002-fig2",
    paper="002",
    target="Fig. 2",
    description="NERD on the m=20 Gaussian (variances 4·exp(−k/16)) vs the closed-form R(D)",
    options=("executor",),
)
def fig2(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    rates = [1.0, 4.0, 7.0] if preset == "quick" else [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    return _gaussian_figure(
        out_dir, preset, seed, options, "gaussian20-text", rates, "Fig. 2: NERD, Gaussian m=20"
    )


@register_experiment(
    "002-fig15",
    paper="002",
    target="Fig. 15",
    description="NERD on the m=40 Gaussian (variances 4·exp(−k/4)) vs the closed-form R(D)",
    options=("executor",),
)
def fig15(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    rates = [1.0, 4.0, 7.0] if preset == "quick" else [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    return _gaussian_figure(
        out_dir, preset, seed, options, "gaussian40", rates, "Fig. 15: NERD, Gaussian m=40"
    )


@register_experiment(
    "002-fig7",
    paper="002",
    target="Fig. 7",
    description="NERD under squared l_p distortions, p = 1, 2, 3 (eq. (24) ordering)",
    options=("executor",),
)
def fig7(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    import rdlab.sources.nerd_sources  # noqa: F401
    from rdlab.estimators.nerd import zero_rate_distortion
    from rdlab.sources.base import GaussianSource
    from rdlab.sources.registry import make_source

    if preset == "quick":
        # the first 4 components of gaussian20's spectrum, unrotated: with m = 20 the squared
        # l_1 distortion of a given D needs far more bits than a quick run can estimate
        source_name = "gaussian4"
        variances = 4.0 * np.exp(-np.arange(4) / 2.0)
        src = GaussianSource(variances)
        source = {"source": "gaussian", "source_params": {"variances": variances.tolist()}}
        cfg = replace(
            _configs("quick"),
            steps=400,
            generator_batch=1024,
            eval_samples=8192,
            generator_params={"width": 16},
        )
        fractions = [0.5, 0.8]
    else:
        source_name = "gaussian20-text"
        src = make_source(source_name)
        source = {"source": source_name}
        cfg = _configs("paper")
        fractions = [0.3, 0.45, 0.6, 0.75, 0.9]
    # one set of targets below every D_max_p (||v||_3 <= ||v||_2 <= ||v||_1: p = 3 is smallest)
    x = src.sample(20_000, seed=seed)
    d_max = {p: zero_rate_distortion(x, f"sq-l{p}") for p in (1, 2, 3)}
    targets = [f * min(d_max.values()) for f in fractions]
    series = []
    table: dict[str, list[dict[str, float]]] = {}
    jobs = {
        f"sq-l{p}-{k}": {
            **source,
            "source_name": source_name,
            "seed": seed,
            "target_distortion": d,
            "distortion": f"sq-l{p}",
            "nerd": cfg.to_dict(),
        }
        for p in (1, 2, 3)
        for k, d in enumerate(targets)
    }
    done = _nerd_points(out_dir, options, jobs, "002-fig7")
    keep = ("distortion", "rate_bits", "rate_stderr_bits", "seconds")
    for p in (1, 2, 3):
        name = f"sq-l{p}"
        rows = [{k: done[f"{name}-{i}"][k] for k in keep} for i in range(len(targets))]
        table[name] = rows
        series.append(
            {
                "D": [r["distortion"] for r in rows],
                "R": [r["rate_bits"] for r in rows],
                "se": [r["rate_stderr_bits"] for r in rows],
                "label": f"d = ||x − y||_{p}²",
            }
        )
    _plot(out_dir / "curves.png", f"Fig. 7: squared l_p distortions, {source_name}", series)
    ordered = all(
        table["sq-l1"][k]["rate_bits"] >= table["sq-l2"][k]["rate_bits"] - 0.1
        and table["sq-l2"][k]["rate_bits"] >= table["sq-l3"][k]["rate_bits"] - 0.1
        for k in range(len(targets))
    )
    return {
        "source": source_name,
        "d_max_upper_bounds": {f"sq-l{p}": v for p, v in d_max.items()},
        "target_distortions": targets,
        "curves": table,
        "eq24_order_holds_within_0.1_bit": ordered,
    }


_FIG4_DESCRIPTION = "samples of the learned Q_Y* at a near-zero and a higher rate; D_max check"


def _samples_on_images(
    out_dir: Path,
    preset: str,
    seed: int,
    options: ExperimentOptions,
    *,
    figure: str,
    default: str | None = None,
) -> dict[str, Any]:
    """Seed 002 Fig. 4 (MNIST), 5 (SVHN) and 18 (Fashion-MNIST): NERD at a slope in the zero-rate
    region and at a steeper one, each run's sample grid of Q_Y; NERD's settings as 002-fig1's."""
    settings = FIG1_SETTINGS["quick" if preset == "quick" else "paper"]
    _, info, fields, cfg, x, d_max = _image_setup(preset, settings, options, default)
    top_eig = float(np.linalg.eigvalsh(np.cov(x.T))[-1])
    # |beta| <= 1/(2 s_max) is the zero-rate region of a Gaussian with this covariance
    slopes = {"near-zero-rate": -1.0 / (4.0 * top_eig) / LN2, "higher-rate": -30.0 / d_max / LN2}
    out: dict[str, Any] = {**info, "d_max": d_max, "points": {}}
    jobs = {
        label: {**fields, "seed": seed, "slope": slope, "nerd": cfg.to_dict()}
        for label, slope in slopes.items()
    }
    done = _nerd_points(out_dir, options, jobs, f"002-fig{figure}")
    for label, slope in slopes.items():
        res = done[label]
        out["points"][label] = {
            "slope": slope,
            "rate_bits": res["rate_bits"],
            "rate_stderr_bits": res["rate_stderr_bits"],
            "distortion": res["distortion"],
            "samples_png": str(Path(label) / "samples.png"),
        }
    z = out["points"]["near-zero-rate"]
    out["zero_rate_check"] = {
        "d_max": d_max,
        "distortion_at_near_zero_rate": z["distortion"],
        "relative_difference": abs(z["distortion"] - d_max) / d_max,
        "rate_bits": z["rate_bits"],
    }
    return out


fig4, fig18, fig5 = register_variants(
    _samples_on_images,
    image_set_variants(
        _FIG4_DESCRIPTION,
        {None: ("4", "Fig. 4"), "fmnist": ("18", "Fig. 18"), "svhn": ("5", "Fig. 5")},
    ),
    paper="002",
    options=("data", "executor"),
)


OFFICIAL_BA_BETAS_NATS = (0.01, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.13, 0.14, 0.2)
"""The slopes of the official ``Blahut_Arimoto/BA_mnist.py`` (beta, nats per unit of squared
error): dR/dD = -beta / ln 2 bits per unit."""

# settings of 002-fig1 by preset (tests shrink them): images for Blahut-Arimoto, its number of
# slopes, the NERD settings (overrides of ``_configs(preset)``) and the NERD slopes as multiples
# of 1/D_max (bits per unit of distortion; the near-zero-rate slope is added to them)
FIG1_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "n_ba": 500,
        "ba_points": 16,
        "nerd": {
            "steps": 400,
            "batch_size": 128,
            "generator_batch": 512,
            "eval_samples": 8192,
            "n_eval": 300,
            "lr": 2e-3,
        },
        "slopes_times_d_max": [-30.0],
        "ntc_weights": [300.0, 1000.0, 3000.0],
        "ntc": {"latent_dim": 8, "width": 32, "steps": 1500, "batch_size": 64, "n_eval": 300},
    },
    "paper": {
        # 60,000 images in the paper; 10,000 keep the 10^4 x 10^4 distortion matrix in memory
        "n_ba": 10_000,
        "ba_betas_nats": list(OFFICIAL_BA_BETAS_NATS),
        "nerd": {"batch_size": 64, "generator_batch": 1024, "eval_samples": 40_000, "n_eval": 2000},
        "slopes_times_d_max": [-10.0, -30.0, -100.0, -300.0],
        "ntc_weights": [100.0, 300.0, 1000.0, 3000.0],
        "ntc": {"latent_dim": 32, "width": 128, "batch_size": 64, "n_eval": 2000},
    },
}


def _image_setup(
    preset: str, settings: dict[str, Any], options: ExperimentOptions, default: str | None = None
):
    """The image set of ``options`` (:meth:`ExperimentOptions.image_data`), its record, the
    fields that name it in a job's config, NERD's settings with ``settings["nerd"]`` applied, the
    images as rows and D_max = E||X − mean||²."""
    from rdlab.sources.images import zero_rate_distortion_of_rows
    from rdlab.sources.registry import make_source

    name, params, info = options.image_data(preset, default=default)
    src = make_source(name, **params)
    cfg = replace(_configs(preset), **settings["nerd"])
    x = src.rows()
    d_max = zero_rate_distortion_of_rows(x)
    fields = {"source": name, **({"source_params": params} if params else {})}
    return src, info, fields, cfg, x, d_max


def _ba_on_samples(
    x: np.ndarray, n_points: int, betas_nats: list[float] | None = None
) -> dict[str, Any]:
    """Blahut-Arimoto on the empirical law of the rows of ``x``, reproduction = their support
    (:func:`~rdlab.solvers.blahut_arimoto.empirical_rate_distortion_curve`; at the official
    code's ``betas_nats`` when given, else ``n_points`` default slopes), with the curve's end
    points (D = 0 at the empirical entropy, R = 0 at the best single sample) added."""
    from rdlab.solvers.blahut_arimoto import empirical_rate_distortion_curve

    slopes = None if betas_nats is None else [-b / LN2 for b in betas_nats]
    curve = empirical_rate_distortion_curve(
        x, n_points=n_points, slopes=slopes, tol_bits=1e-4, threads=None
    )
    m = curve.meta
    return {
        "n": m["n"],
        "n_distinct": m["n_distinct"],
        "log2_n": float(np.log2(m["n"])),
        "entropy_bits": m["entropy_bits"],
        "d_max_ba": m["d_max"],
        "rate_bits": [m["entropy_bits"], *(float(r) for r in curve.rate_bits), 0.0],
        "distortion": [0.0, *(float(v) for v in curve.distortion), m["d_max"]],
        "max_gap_bits": float(max(p.gap_bits or 0.0 for p in curve.points)),
    }


_FIG1_DESCRIPTION = (
    "NERD on images vs Blahut-Arimoto on the empirical law of the samples and the DNN "
    "compressor (NTC); D_max"
)


def _nerd_on_images(
    out_dir: Path,
    preset: str,
    seed: int,
    options: ExperimentOptions,
    *,
    figure: str,
    default: str | None = None,
) -> dict[str, Any]:
    """Seed 002 Fig. 1 (MNIST), 16 (Fashion-MNIST) and 3 (SVHN): NERD points, Blahut-Arimoto on
    a subset's empirical law and NTC points on one image set."""
    settings = FIG1_SETTINGS["quick" if preset == "quick" else "paper"]
    src, info, fields, cfg, x, d_max = _image_setup(preset, settings, options, default)
    top_eig = float(np.linalg.eigvalsh(np.cov(x.T))[-1])

    # Blahut-Arimoto on a random subset of n images (source pmf and reproduction alphabet)
    n_ba = min(int(settings["n_ba"]), len(src))
    idx = np.sort(np.random.default_rng(seed).choice(len(src), size=n_ba, replace=False))
    ba = _ba_on_samples(x[idx], int(settings.get("ba_points", 20)), settings.get("ba_betas_nats"))

    # NERD: a slope in the zero-rate region (|beta| <= 1/(2 s_max) for a Gaussian with this
    # covariance) and steeper ones
    steeper = slopes_in_d_max_units(settings["slopes_times_d_max"], d_max)
    slopes = [-1.0 / (4.0 * top_eig) / LN2, *steeper]
    jobs = {
        f"point-{k}": {**fields, "seed": seed, "slope": slope, "nerd": cfg.to_dict()}
        for k, slope in enumerate(slopes)
    }
    done = _nerd_points(out_dir, options, jobs, f"002-fig{figure}")
    keep = ("rate_bits", "rate_stderr_bits", "distortion", "seconds")
    points = [
        {"slope": slope, **{k: done[f"point-{i}"][k] for k in keep}}
        for i, slope in enumerate(slopes)
    ]
    ntc = ntc_image_points(
        out_dir, {"source": info["source"], "params": fields.get("source_params", {})},
        settings.get("ntc_weights", []), points,
        preset=preset, seed=seed, overrides=settings.get("ntc", {}), options=options,
    )  # fmt: skip

    plt = headless_pyplot()

    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(ba["distortion"], ba["rate_bits"], "-", color="C1", label=f"BA on n={ba['n']} samples")
    ax.errorbar(
        [p["distortion"] for p in points],
        [p["rate_bits"] for p in points],
        yerr=2 * np.asarray([p["rate_stderr_bits"] for p in points]),
        fmt="o",
        color="C0",
        capsize=3,
        label="NERD (± 2 s.e.)",
    )
    plot_ntc_points(ax, ntc, "x", color="C2", ms=8)
    ax.axvline(d_max, color="k", ls="--", lw=1, label="D_max = E||X − μ||²")
    ax.axhline(ba["log2_n"], color="gray", ls=":", label="log2 n")
    ax.set_xlabel("distortion D (squared error)")
    ax.set_ylabel("rate [bits]")
    ax.set_title(f"Fig. {figure}: NERD vs Blahut-Arimoto on samples, {info['source']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    write_figure(fig, out_dir / "curve.png")

    z = points[0]
    return {
        **info,
        "n_images": len(src),
        "d_max": d_max,
        "blahut_arimoto_on_samples": ba,
        "nerd_points": points,
        "ntc_points": ntc,
        "zero_rate_check": {
            "d_max": d_max,
            "distortion_at_near_zero_rate": z["distortion"],
            "relative_difference": abs(z["distortion"] - d_max) / d_max,
            "rate_bits": z["rate_bits"],
            "d_max_ba_on_samples": ba["d_max_ba"],
        },
        "figure": "curve.png",
    }


fig1, fig16, fig3 = register_variants(
    _nerd_on_images,
    image_set_variants(
        _FIG1_DESCRIPTION,
        {None: ("1", "Fig. 1"), "fmnist": ("16", "Fig. 16"), "svhn": ("3", "Fig. 3")},
    ),
    paper="002",
    options=("data", "executor"),
)


# -- 002-fig20: generator capacity ----------------------------------------------------------------

FIG20_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "channels": [4, 8, 16, 32],
        "slopes_times_d_max": [-30.0],
        "nerd": {
            "steps": 400,
            "batch_size": 128,
            "generator_batch": 512,
            "eval_samples": 8192,
            "n_eval": 300,
            "lr": 2e-3,
        },
    },
    "paper": {
        "channels": [4, 8, 16, 32],
        "slopes_times_d_max": [-10.0, -30.0, -100.0, -300.0],
        "nerd": {"batch_size": 64, "generator_batch": 1024, "eval_samples": 40_000, "n_eval": 2000},
    },
}
"""Seed 002 Fig. 20: NERD with DCGAN generators of c_d channels; NERD settings as 002-fig1's."""


@register_experiment(
    "002-fig20",
    paper="002",
    target="Fig. 20",
    description="NERD on images with DCGAN generators of c_d = 4, 8, 16, 32 channels: capacity",
    options=("data", "executor"),
)
def fig20(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    import rdlab.sources.nerd_sources  # noqa: F401

    settings = FIG20_SETTINGS["quick" if preset == "quick" else "paper"]
    _, info, fields, base, _, d_max = _image_setup(preset, settings, options)
    slopes = slopes_in_d_max_units(settings["slopes_times_d_max"], d_max)
    jobs = {
        f"c{c}/slope-{i}": {
            **fields,
            "seed": seed,
            "slope": slope,
            "nerd": replace(base, generator="dcgan", generator_params={"channels": c}).to_dict(),
        }
        for c in settings["channels"]
        for i, slope in enumerate(slopes)
    }
    done = _nerd_points(out_dir, options, jobs, "002-fig20")
    points = []
    for c in settings["channels"]:
        for i, slope in enumerate(slopes):
            r = done[f"c{c}/slope-{i}"]
            points.append(
                {
                    "channels": c,
                    "slope": slope,
                    "rate_bits": r["rate_bits"],
                    "rate_stderr_bits": r["rate_stderr_bits"],
                    "distortion": r["distortion"],
                    # the Lagrangian NERD minimises at this slope: lower is a better Q_Y
                    "objective_bits": r["rate_bits"] - slope * r["distortion"],
                    "seconds": r["seconds"],
                }
            )
    _plot(
        out_dir / "fig20_capacity.png",
        f"Fig. 20: NERD by generator width c_d, {info['source']}",
        [
            {
                "D": [p["distortion"] for p in points if p["channels"] == c],
                "R": [p["rate_bits"] for p in points if p["channels"] == c],
                "se": [p["rate_stderr_bits"] for p in points if p["channels"] == c],
                "label": f"c_d = {c}",
            }
            for c in settings["channels"]
        ],
    )
    return {
        **info,
        "d_max": d_max,
        "distortion_measure": "squared_error",
        "points": points,
        "figure": "fig20_capacity.png",
    }


# -- 002-fig6: NERD between sandwich bounds ---------------------------------------------------------


def lower_bound_job(
    job_dir: Path, config: dict[str, Any], deps: dict[str, Path], fresh: bool
) -> dict[str, Any]:
    """The job of one sample lower bound (:func:`rdlab.estimators.lower_bound.rd_lower_bound`)
    at ``config["slope"]`` on ``config["source"]`` (with ``source_params``); returns the fitted
    line."""
    import rdlab.sources.nerd_sources  # noqa: F401
    from rdlab.estimators.lower_bound import LowerBoundConfig, rd_lower_bound
    from rdlab.sources.registry import make_source

    line = rd_lower_bound(
        make_source(config["source"], **(config.get("source_params") or {})),
        slope=config["slope"],
        seed=config["seed"],
        config=LowerBoundConfig(**config["lower_bound"]),
    )
    return line.to_dict()


FIG6_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "slopes_times_d_max": [-10.0, -30.0, -100.0],
        "nerd": FIG1_SETTINGS["quick"]["nerd"],
        "lower_bound": "quick",
    },
    "paper": {
        "slopes_times_d_max": [-10.0, -30.0, -100.0, -300.0],
        "nerd": FIG1_SETTINGS["paper"]["nerd"],
        "lower_bound": "default",
    },
}
"""Seed 002 Fig. 6: slopes as multiples of 1/D_max (bits per unit of squared error), NERD
overrides of the preset, and the lower bound's preset (:data:`LOWER_BOUND_PRESETS`)."""


@register_experiment(
    "002-fig6",
    paper="002",
    target="Fig. 6",
    description="NERD (above R(D)) against the sample lower bound (below) on images: the sandwich",
    options=("data", "executor"),
)
def fig6(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    from dataclasses import asdict

    import rdlab.sources.nerd_sources  # noqa: F401
    from rdlab.estimators.lower_bound import LOWER_BOUND_PRESETS

    settings = FIG6_SETTINGS["quick" if preset == "quick" else "paper"]
    _, info, fields, cfg, _, d_max = _image_setup(preset, settings, options)
    lb_cfg = asdict(LOWER_BOUND_PRESETS[settings["lower_bound"]])
    slopes = slopes_in_d_max_units(settings["slopes_times_d_max"], d_max)
    plan = Plan(
        tuple(
            Job(f"nerd-{i}", nerd_point_job,
                {**fields, "seed": seed, "slope": s, "nerd": cfg.to_dict()})
            for i, s in enumerate(slopes)
        )
        + tuple(
            Job(f"lower-{i}", lower_bound_job,
                {**fields, "seed": seed, "slope": s, "lower_bound": lb_cfg})
            for i, s in enumerate(slopes)
        )
    )  # fmt: skip
    done = run_plan(plan, out_dir, options.make_executor(), desc="002-fig6")
    points = []
    for i, s in enumerate(slopes):
        nerd, lower = done[f"nerd-{i}"].result, done[f"lower-{i}"].result
        d = nerd["distortion"]
        below = max(0.0, lower["intercept_bits"] + s * d)
        points.append(
            {
                "slope": s,
                "distortion": d,
                "rd_upper_bits": nerd["rate_bits"],
                "rd_upper_stderr_bits": nerd["rate_stderr_bits"],
                "rd_lower_bits": below,
                "rd_lower_stderr_bits": lower["intercept_stderr_bits"],
                "intercept_bits": lower["intercept_bits"],
                # the intercept cannot pass about log2 of the held-out batch size
                "batch_size": lower["batch_size"],
                "bracket_width_bits": nerd["rate_bits"] - below,
            }
        )
    plt = headless_pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ds = [p["distortion"] for p in points]
    ax.errorbar(ds, [p["rd_upper_bits"] for p in points],
                yerr=[2 * p["rd_upper_stderr_bits"] for p in points], fmt="o",
                capsize=3, label="NERD (upper, ± 2 s.e.)")  # fmt: skip
    ax.plot(ds, [p["rd_lower_bits"] for p in points], "s", label="sample lower bound at D")
    grid = np.linspace(0.0, d_max, 100)
    for p in points:
        line = np.maximum(0.0, p["intercept_bits"] + p["slope"] * grid)
        ax.plot(grid, line, ":", color="gray", lw=1)
    ax.axvline(d_max, color="k", ls="--", lw=1, label="D_max")
    ax.set_xlabel("distortion D (squared error per image)")
    ax.set_ylabel("rate [bits]")
    ax.set_title(f"Fig. 6: NERD between sandwich bounds, {info['source']}")
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    write_figure(fig, out_dir / "fig6_sandwich.png")
    return {
        **info,
        "d_max": d_max,
        "distortion_measure": "squared_error",
        "points": points,
        "figure": "fig6_sandwich.png",
    }
