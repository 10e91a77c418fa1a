"""NTC λ sweeps: one job of :mod:`rdlab.experiments.runner` per λ (``rdlab ntc train``).

A sweep trains one :mod:`rdlab.models.ntc` model per λ into ``OUT/lam-<λ>/`` with the options'
executor; finished models are reused and an interrupted sweep resumes (each model also resumes
from its last checkpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdlab.experiments.registry import ExperimentOptions, register_experiment
from rdlab.experiments.runner import Job, Plan, resume_or_restart, run_plan


def ntc_job(job_dir: Path, config: dict[str, Any], deps: dict[str, Path], fresh: bool) -> dict:
    """Train (or resume) one NTC model of a sweep; return its results."""
    from rdlab.models.ntc import NTCConfig, ntc_run
    from rdlab.sources.user_data import source_from_spec

    src, name = source_from_spec(config["source"])
    args = (src, NTCConfig.from_dict(config["config"]), job_dir)
    kw = {"seed": config["seed"], "device": config.get("device", "cpu"), "source_name": name}
    return resume_or_restart(job_dir, fresh, lambda **how: ntc_run(*args, **how, **kw).to_dict())


def ntc_sweep(
    source: dict[str, Any],
    configs: dict[str, Any],
    out: str | Path,
    *,
    seed: int = 0,
    options: ExperimentOptions | None = None,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Train one NTC model per entry of ``configs`` (folder name -> :class:`NTCConfig`) under
    ``out``; return each model's results by folder name."""
    options = ExperimentOptions() if options is None else options
    plan = Plan(
        tuple(
            Job(
                key,
                ntc_job,
                {"source": source, "config": cfg.to_dict(), "seed": seed, "device": options.device},
            )
            for key, cfg in configs.items()
        )
    )
    done = run_plan(plan, out, options.make_executor(), progress=progress, desc="ntc")
    return {k: {**o.result, "reused": o.reused} for k, o in done.items()}


NTC_POINT_KEYS = (
    "distortion",
    "distortion_stderr",
    "distortion_measure",
    "rate_bits",
    "rate_payload_bits",
    "rate_information_bits",
    "closed_form_rate_bits",
    "excess_rate_bits",
    "active_latents",
    "train_seconds",
)


GAUSSIAN_CANDIDATES = 3
"""NTC trainings per point of a Gaussian reproduction, the least objective kept
(:attr:`rdlab.models.ntc.NTCConfig.candidates`): on gaussian20 one training lands 0.15-1.14
bit above the ideal scalar code at R(D) = 4 bits by seed, the best of three within 0.23 bit of
it at R(D) = 2, 4, 6 over the seeds tried (docs/benchmarks.md)."""


def ntc_gaussian_points(
    out_dir: str | Path,
    source_name: str,
    rates_bits: list[float],
    *,
    preset: str,
    seed: int,
    options: ExperimentOptions | None = None,
    steps: int | None = None,
    width: int = 128,
    candidates: int = GAUSSIAN_CANDIDATES,
) -> list[dict[str, Any]]:
    """NTC beside a Gaussian reproduction: one model per target rate r, trained with λ the
    slope of the closed-form R(D) at r (λ = 1 / (2 ln 2 θ) bits per unit of squared error, θ the
    water level), as many latents as components, the best of ``candidates`` trainings; each
    point at its own measured distortion (``closed_form_rate_bits`` is R(D) there,
    ``ecsq_rate_bits`` the ideal entropy-coded uniform scalar transform code's rate,
    :func:`rdlab.theory.transform_coding.transform_ecsq_rate`). Models in
    ``out_dir/ntc-R<r>/``."""
    from rdlab.core.information import LN2
    from rdlab.models.ntc import ntc_config
    from rdlab.sources.registry import make_source
    from rdlab.theory.gaussian import reverse_water_filling_at_rate
    from rdlab.theory.transform_coding import transform_ecsq_rate

    eig = make_source(source_name).eigenvalues
    extra = {} if steps is None else {"steps": steps}
    configs, weights = {}, {}
    for r in rates_bits:
        theta = reverse_water_filling_at_rate(eig, float(r)).water_level
        weights[r] = 1.0 / (2.0 * LN2 * theta)
        configs[f"ntc-R{r:g}"] = ntc_config(
            "paper" if preset == "paper" else "quick",
            distortion_weight=weights[r], latent_dim=len(eig), width=width,
            candidates=candidates, **extra,
        )  # fmt: skip
    done = ntc_sweep({"source": source_name}, configs, out_dir, seed=seed, options=options,
                     progress=False)  # fmt: skip
    points = []
    for r in rates_bits:
        run = done[f"ntc-R{r:g}"]
        d = run.get("distortion")
        points.append(
            {
                "method": "ntc",
                "target_rate_bits": r,
                "distortion_weight": weights[r],
                **{k: run.get(k) for k in NTC_POINT_KEYS},
                "candidate_objective_bits": run.get("candidate_objective_bits"),
                "candidate_chosen": run.get("candidate_chosen"),
                "ecsq_rate_bits": None if d is None else transform_ecsq_rate(d, eig),
            }
        )
    return points


NTC_LABEL = "DNN compressor (NTC, range-coded bytes)"
"""Legend of NTC's points in the figures beside RCC and NERD."""


def plot_ntc_points(ax: Any, points: list[dict[str, Any]], marker: str, **style: Any) -> None:
    """NTC's points (if any) on a rate-distortion axis: distortion against the range-coded
    payload rate, labelled :data:`NTC_LABEL`."""
    if points:
        ax.plot(
            [p["distortion"] for p in points],
            [p["rate_payload_bits"] for p in points],
            marker,
            label=NTC_LABEL,
            **style,
        )


# -- 002-fig13: block codes against the one-shot code ----------------------------------------------

FIG13_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "data": "digits",
        "weights": [300.0, 1000.0, 3000.0],
        "ntc": {"latent_dim": 8, "width": 32, "steps": 1500, "batch_size": 64, "n_eval": 300},
    },
    "paper": {
        "data": "mnist",
        "weights": [100.0, 300.0, 1000.0, 3000.0, 10000.0],
        "ntc": {"latent_dim": 32, "width": 128, "steps": 100_000, "batch_size": 32},
    },
}
"""λ in bits per unit of MSE per pixel; ``ntc`` overrides of the NTC preset."""


@register_experiment(
    "002-fig13",
    paper="002",
    target="Fig. 13: block codes (M = 4 images tiled 2x2) against the one-shot DNN code",
    description="NTC on images one at a time and in blocks of 4, per-image rate against MSE "
    "(quick: digits; paper: MNIST, --data fmnist for Fig. 13's FMNIST panel)",
    options=("data", "executor"),
)
def fig13(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    from rdlab.core.io import headless_pyplot, write_figure
    from rdlab.models.ntc import ntc_config

    cfg = FIG13_SETTINGS["quick" if preset == "quick" else "paper"]
    data = options.data or cfg["data"]
    source = {"source": data, "params": {"data_dir": options.data_dir} if options.data_dir else {}}
    configs = {
        f"M{m}/lam-{w:g}": ntc_config(
            "quick" if preset == "quick" else "paper",
            distortion_weight=w,
            block_size=m,
            **cfg["ntc"],
        )
        for m in (1, 4)
        for w in cfg["weights"]
    }
    done = ntc_sweep(source, configs, out_dir, seed=seed, options=options, progress=False)
    keep = ("distortion", "distortion_stderr", "rate_bits", "rate_payload_bits",
            "rate_information_bits", "active_latents", "train_seconds")  # fmt: skip
    points = [
        {"block_size": m, "distortion_weight": w, **{k: done[f"M{m}/lam-{w:g}"][k] for k in keep}}
        for m in (1, 4)
        for w in cfg["weights"]
    ]
    plt = headless_pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for m, label in ((1, "one-shot (M = 1)"), (4, "block of M = 4, 2x2")):
        pts = sorted((p for p in points if p["block_size"] == m), key=lambda p: p["distortion"])
        ax.plot([p["distortion"] for p in pts], [p["rate_payload_bits"] for p in pts], "o-",
                label=label)  # fmt: skip
    ax.set_xlabel("MSE per pixel")
    ax.set_ylabel("rate [bits per image] (range-coded payload)")
    ax.set_title(f"Fig. 13: DNN compressor, one-shot vs block code, {data}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    write_figure(fig, out_dir / "fig13_blocks.png")
    return {
        "data": data,
        "distortion_measure": "mse_per_component",
        "points": points,
        "figure": "fig13_blocks.png",
        "per_image_note": "rates and distortions per image; a block code's divided by M = 4",
    }


__all__ = [
    "FIG13_SETTINGS",
    "GAUSSIAN_CANDIDATES",
    "NTC_LABEL",
    "NTC_POINT_KEYS",
    "ntc_gaussian_points",
    "ntc_image_points",
    "ntc_job",
    "ntc_sweep",
    "plot_ntc_points",
]


def ntc_image_points(
    out_dir: str | Path,
    source: dict[str, Any],
    weights: list[float],
    nerd_points: list[dict[str, Any]],
    *,
    preset: str,
    seed: int,
    overrides: dict[str, Any],
    options: ExperimentOptions | None = None,
) -> list[dict[str, Any]]:
    """NTC beside NERD on images: one model per λ (bits per unit of MSE per pixel) in
    ``out_dir/ntc-lam<λ>/``; each point's distortion in NERD's measure (squared error summed
    over an image) and the NERD rate interpolated linearly between the two NERD points around
    it (``reference``; None outside their range), so that ``excess_rate_bits`` = NTC's
    information content − NERD's rate (an operational code must stay above R(D))."""
    import numpy as np

    from rdlab.core.distortion import convert_distortion
    from rdlab.models.ntc import ntc_config

    configs = {
        f"ntc-lam{w:g}": ntc_config(
            "paper" if preset == "paper" else "quick", distortion_weight=w, **overrides
        )
        for w in weights
    }
    done = ntc_sweep(source, configs, out_dir, seed=seed, options=options, progress=False)
    nerd = sorted((p["distortion"], p["rate_bits"]) for p in nerd_points)
    out = []
    for w in weights:
        r = done[f"ntc-lam{w:g}"]
        pixels = int(np.prod(r["input_shape"])) // configs[f"ntc-lam{w:g}"].block_size
        d = convert_distortion(
            r["distortion"], measure=r["distortion_measure"], to="squared_error", components=pixels
        )
        inside = nerd and nerd[0][0] <= d <= nerd[-1][0]
        nerd_rate = float(np.interp(d, *zip(*nerd, strict=True))) if inside else None
        out.append(
            {
                "method": "ntc",
                "distortion_weight": w,
                "distortion": d,
                "distortion_measure": "squared_error",
                "rate_bits": r["rate_bits"],
                "rate_payload_bits": r["rate_payload_bits"],
                "rate_information_bits": r["rate_information_bits"],
                "nerd_interpolated_rate_bits": nerd_rate,
                "excess_rate_bits": (
                    None if nerd_rate is None else r["rate_information_bits"] - nerd_rate
                ),
                "reference": "NERD rate interpolated at the NTC distortion (information content)",
                "active_latents": r["active_latents"],
                "train_seconds": r["train_seconds"],
            }
        )
    return out
