r"""Reproductions of Table 1 and Fig. 1 of Chen, "Rate-Distortion Limits for Multimodal
Retrieval" (synthetic mixtures, Sec. 7.2).

- ``000-table1``: MRR (mean and standard error over 5 independent trials, each with its own
  mixing matrices, corpus and queries) of the adaptive-temperature product quantiser, the
  fixed-``τ`` one, the naive-CLIP baseline and the corrected ranking Fano bound at
  ``R in {64, 128, 256, 512}`` bits per query, for the paper's balanced mixture
  (``ρ = 0.4``) and an imbalanced one (modality 2 with twice the noise standard deviation).
  Writes ``table1_mrr.png``.
- ``000-fig1``: distortion ``1 - MRR`` against the *measured* rate (real range-coded bytes per
  query) with ±1 s.e. bands and the corrected bound, on the imbalanced mixture. Writes
  ``fig1_distortion_rate.png``.

Presets: ``quick`` uses 20 000 query-document pairs and k-means on 5 000 points per sub-vector
(minutes on two cores); ``paper`` uses the published 100 000 pairs and k-means on 20 000 points.
The setup and the comparison with the paper's numbers are in ``docs/retrieval.md``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.io import write_figure
from rdlab.experiments.registry import register_experiment
from rdlab.models.retrieval import evaluate_methods, train_clip
from rdlab.sources.multimodal import make_multimodal_mixture
from rdlab.theory.retrieval import ranking_fano_min_distortion

TABLE_BITS = (64, 128, 256, 512)
METHODS = ("clip", "fixed", "adaptive")
SETTINGS: dict[str, tuple[float, float]] = {"balanced": (1.0, 1.0), "imbalanced": (1.0, 2.0)}
"""Noise-scale factors ``s_m`` of the two modalities (``σ_m = s_m / sqrt(ρ)``)."""

PAPER_TABLE1: dict[str, tuple[float, ...]] = {
    "clip": (0.46, 0.56, 0.67, 0.75),
    "fixed": (0.51, 0.61, 0.72, 0.80),
    "adaptive": (0.57, 0.66, 0.77, 0.84),
    "bound": (0.59, 0.68, 0.79, 0.85),
}
"""Table 1 of the paper (MRR at R = 64, 128, 256, 512)."""

PRESET_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "n_pairs": 20_000,
        "max_fit": 5_000,
        "n_iter": 8,
        "trials": 5,
        "clip_epochs": 5,
        "fig_bits": (8, 16, 32, 64, 128, 256),
        "fig_trials": 3,
    },
    "paper": {
        "n_pairs": 100_000,
        "max_fit": 20_000,
        "n_iter": 20,
        "trials": 5,
        "clip_epochs": 10,
        "fig_bits": (8, 16, 32, 64, 128, 256, 512),
        "fig_trials": 5,
    },
}


def _settings(preset: str) -> dict[str, Any]:
    if preset not in PRESET_SETTINGS:
        raise ValueError(f"preset must be one of {sorted(PRESET_SETTINGS)}, got {preset!r}")
    return PRESET_SETTINGS[preset]


def run_trials(
    *,
    bits: tuple[int, ...],
    noise_scales: tuple[float, float],
    seeds: list[int],
    n_pairs: int,
    max_fit: int,
    n_iter: int,
    clip_epochs: int,
    methods: tuple[str, ...] = METHODS,
    codeword: str = "centroid",
    n_docs: int = 1000,
) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """``{method: {R: [result dict per seed]}}`` on fresh mixtures, one per seed."""
    out: dict[str, dict[int, list[dict[str, Any]]]] = {m: {r: [] for r in bits} for m in methods}
    for s in seeds:
        data = make_multimodal_mixture(
            seed=s, n_docs=n_docs, n_pairs=n_pairs, noise_scales=noise_scales
        )
        clip = None
        if "clip" in methods:
            clip = train_clip(
                data.train_queries, data.train_relevant, data.docs, seed=s, epochs=clip_epochs
            )
        for r in bits:
            res = evaluate_methods(
                data.train_queries,
                data.train_relevant,
                data.test_queries,
                data.test_relevant,
                data.docs,
                data.modality_dims,
                r,
                methods,
                seed=s,
                clip=clip,
                codeword=codeword,
                max_fit=max_fit,
                n_iter=n_iter,
            )
            for m in methods:
                out[m][r].append(res[m].to_dict())
    return out


def _mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    se = float(a.std(ddof=1) / math.sqrt(a.size)) if a.size > 1 else 0.0
    return float(a.mean()), se


def summarise(trials: dict[str, dict[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Mean and standard error of every metric, per method and R."""
    summary: dict[str, Any] = {}
    for m, by_r in trials.items():
        summary[m] = {}
        for r, rows in by_r.items():
            entry = {}
            for key in (
                "mrr",
                "distortion",
                "recall_at_1",
                "recall_at_5",
                "recall_at_10",
                "rate_bits",
                "rate_payload_bits",
                "rate_information_bits",
                "bound_distortion",
            ):
                mean, se = _mean_se([row[key] for row in rows])
                entry[key] = mean
                entry[f"{key}_stderr"] = se
            entry["temperatures"] = rows[0]["temperatures"]
            entry["modality_bits"] = rows[0]["allocation"]["modality_bits"]
            summary[m][str(r)] = entry
    if "adaptive" in trials and "fixed" in trials:  # paired over trials (same data, same cells)
        summary["adaptive_minus_fixed"] = {}
        for r, rows in trials["adaptive"].items():
            diff = [a["mrr"] - f["mrr"] for a, f in zip(rows, trials["fixed"][r], strict=True)]
            mean, se = _mean_se(diff)
            summary["adaptive_minus_fixed"][str(r)] = {
                "mrr": mean,
                "mrr_stderr": se,
                "trials_adaptive_ahead": int(sum(d > 0 for d in diff)),
                "trials": len(diff),
            }
    return summary


def _plot_table(path: Path, tables: dict[str, Any], bits: tuple[int, ...]) -> None:
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    fig, axes = plt.subplots(1, len(tables), figsize=(5.2 * len(tables), 4.0), squeeze=False)
    for ax, (name, summ) in zip(axes[0], tables.items(), strict=True):
        for i, m in enumerate(METHODS):
            mu = [summ[m][str(r)]["mrr"] for r in bits]
            se = [summ[m][str(r)]["mrr_stderr"] for r in bits]
            ax.errorbar(
                bits, mu, yerr=se, marker="o", capsize=3, color=f"C{i}", label=f"{m} (rdlab)"
            )
            ax.plot(bits, PAPER_TABLE1[m], ":", color=f"C{i}", alpha=0.7, label=f"{m} (paper)")
        bound = [1.0 - ranking_fano_min_distortion(float(r), 1000) for r in bits]
        ax.plot(bits, bound, "k--", label="corrected bound (MRR <= 1)")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("bits per query R")
        ax.set_ylabel("MRR")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"Table 1, {name} mixture")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    write_figure(fig, path)


@register_experiment(
    "000-table1",
    paper="000",
    target="Table 1",
    description="synthetic mixture: MRR of naive CLIP, fixed tau, adaptive tau and the bound",
)
def table1(out_dir: Path, preset: str, seed: int) -> dict[str, Any]:
    cfg = _settings(preset)
    t0 = time.perf_counter()
    seeds = [seed + i for i in range(cfg["trials"])]
    tables = {}
    for name, scales in SETTINGS.items():
        trials = run_trials(
            bits=TABLE_BITS,
            noise_scales=scales,
            seeds=seeds,
            n_pairs=cfg["n_pairs"],
            max_fit=cfg["max_fit"],
            n_iter=cfg["n_iter"],
            clip_epochs=cfg["clip_epochs"],
        )
        tables[name] = summarise(trials)
    _plot_table(Path(out_dir) / "table1_mrr.png", tables, TABLE_BITS)
    bound = {str(r): 1.0 - ranking_fano_min_distortion(float(r), 1000) for r in TABLE_BITS}
    return {
        "preset": preset,
        "seeds": seeds,
        "settings": {k: list(v) for k, v in SETTINGS.items()},
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "bits": list(TABLE_BITS),
        "tables": tables,
        "bound_mrr": bound,
        "paper_table1": {k: list(v) for k, v in PAPER_TABLE1.items()},
        "wall_seconds": time.perf_counter() - t0,
    }


@register_experiment(
    "000-fig1",
    paper="000",
    target="Fig. 1",
    description="synthetic mixture: distortion 1 - MRR against measured rate, with the bound",
)
def fig1(out_dir: Path, preset: str, seed: int) -> dict[str, Any]:
    cfg = _settings(preset)
    t0 = time.perf_counter()
    seeds = [seed + i for i in range(cfg["fig_trials"])]
    bits = tuple(cfg["fig_bits"])
    trials = run_trials(
        bits=bits,
        noise_scales=SETTINGS["imbalanced"],
        seeds=seeds,
        n_pairs=cfg["n_pairs"],
        max_fit=cfg["max_fit"],
        n_iter=cfg["n_iter"],
        clip_epochs=cfg["clip_epochs"],
    )
    summ = summarise(trials)
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    fig, ax = plt.subplots(figsize=(6.2, 4.4))
    for m in METHODS:
        x = np.array([summ[m][str(r)]["rate_bits"] for r in bits])
        y = np.array([summ[m][str(r)]["distortion"] for r in bits])
        e = np.array([summ[m][str(r)]["distortion_stderr"] for r in bits])
        ax.plot(x, y, "o-", label=m)
        ax.fill_between(x, y - e, y + e, alpha=0.25)
    grid = np.linspace(0.0, float(max(bits)), 400)
    ax.plot(
        grid,
        [ranking_fano_min_distortion(g, 1000) for g in grid],
        "k--",
        label="corrected ranking Fano bound",
    )
    ax.set_xscale("symlog", base=2, linthresh=8)
    ax.set_xlabel("measured rate [bits per query]")
    ax.set_ylabel("distortion 1 - MRR")
    ax.set_ylim(-0.02, 1.0)
    ax.set_title("Fig. 1: imbalanced synthetic mixture, N = 1000")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    write_figure(fig, Path(out_dir) / "fig1_distortion_rate.png")
    return {
        "preset": preset,
        "seeds": seeds,
        "noise_scales": list(SETTINGS["imbalanced"]),
        "bits": list(bits),
        "curves": summ,
        "wall_seconds": time.perf_counter() - t0,
    }
