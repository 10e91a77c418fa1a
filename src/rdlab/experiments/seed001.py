"""Reproduction of Fig. 1 of Zhang, Qian, Chen & Khisti (universal RDP representations).

``001-fig1`` writes

- ``fig1a_rdp_surface.png`` / ``rdp_surface.json``: R(D, P) of a standard Gaussian under MSE and
  W2² perception (Theorem 1) on a grid;
- ``fig1b_dp_cross_sections.png`` / ``dp_cross_sections.json``: the distortion-perception
  cross-sections D(P, R) at several rates;

and returns checks of the theory behind them: the closed form against a brute-force
minimisation over jointly Gaussian reconstructions, the Theorem-4 region of a Gaussian
representation estimated from samples against its closed form, the zero universality penalty
A(Θ) of Theorem 3 on each cross-section (closed form and by sampling), and the Theorem-8
refinement construction's mutual informations by formula and by sampling.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.io import write_figure, write_json_atomic
from rdlab.core.validation import make_rng
from rdlab.experiments.registry import register_experiment
from rdlab.theory.rdp import (
    gaussian_distortion_perception,
    gaussian_dp_curve,
    gaussian_perception_threshold,
    gaussian_rdp,
    gaussian_rdp_bruteforce,
    gaussian_rdp_surface,
)
from rdlab.theory.refinement import (
    gaussian_successive_refinement,
    refinement_penalty_remark4,
    sample_gaussian_mutual_information,
)
from rdlab.theory.universal import gaussian_representation_region, gaussian_universal_code

PRESET_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {"grid": 41, "brute_grid": 5, "n_samples": 4000, "curve_points": 41},
    "paper": {"grid": 101, "brute_grid": 12, "n_samples": 20000, "curve_points": 101},
}

RATES = (0.25, 0.5, 1.0, 1.5, 2.0)
"""Rates (bits) of the Fig. 1b cross-sections."""


def _plot_surface(path: Path, d: np.ndarray, p: np.ndarray, r: np.ndarray) -> None:
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    fig = plt.figure(figsize=(6.4, 4.8))
    ax = fig.add_subplot(projection="3d")
    dd, pp = np.meshgrid(d, p)
    ax.plot_surface(dd, pp, r, cmap="viridis", linewidth=0, antialiased=True)
    ax.set_xlabel("distortion D")
    ax.set_ylabel("perception P (W2²)")
    ax.set_zlabel("R(D, P) [bits]")
    ax.set_title("Fig. 1a: R(D, P), standard Gaussian")
    ax.view_init(elev=25, azim=45)
    write_figure(fig, path)


def _plot_sections(path: Path, curves: list) -> None:
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for c in curves:
        ax.plot(c.distortion, [q.perception for q in c.points], "-", label=c.label)
    ax.set_xlabel("distortion D")
    ax.set_ylabel("perception P (W2²)")
    ax.set_title("Fig. 1b: distortion-perception cross-sections")
    ax.grid(alpha=0.3)
    ax.legend()
    write_figure(fig, path)


@register_experiment(
    "001-fig1",
    paper="Zhang, Qian, Chen & Khisti, Universal Rate-Distortion-Perception Representations "
    "for Lossy Compression (NeurIPS 2021)",
    target="Fig. 1a (R(D,P) surface) and Fig. 1b (distortion-perception cross-sections) for a "
    "standard Gaussian source, MSE and W2^2 perception",
    description="Closed-form R(D,P) (Thm 1) and D(P,R), checked against brute force; Thm 3/4 "
    "universality and Thm 8 refinement checked by sampling.",
)
def fig1(out_dir: Path, preset: str, seed: int) -> dict[str, Any]:
    cfg = PRESET_SETTINGS[preset]
    var = 1.0
    rng = make_rng(seed)
    out = Path(out_dir)

    # Fig. 1a: surface.
    d_axis = np.linspace(0.05, 2.0, cfg["grid"])
    p_axis = np.linspace(0.0, 1.0, cfg["grid"])
    surface = gaussian_rdp_surface(d_axis, p_axis, var)
    _plot_surface(out / "fig1a_rdp_surface.png", d_axis, p_axis, surface)
    write_json_atomic(
        out / "rdp_surface.json",
        {
            "variance": var,
            "perception_measure": "w2",
            "distortion": d_axis.tolist(),
            "perception": p_axis.tolist(),
            "rate_bits": surface.tolist(),
            "layout": "rate_bits[i][j] = R(distortion[j], perception[i])",
        },
    )

    # Fig. 1b: cross-sections.
    curves = [gaussian_dp_curve(r, var, cfg["curve_points"]) for r in RATES]
    _plot_sections(out / "fig1b_dp_cross_sections.png", curves)
    write_json_atomic(
        out / "dp_cross_sections.json",
        {"variance": var, "perception_measure": "w2", "curves": [c.to_dict() for c in curves]},
    )

    # Closed form versus brute force over jointly Gaussian reconstructions.
    deviations = []
    for d in np.linspace(0.1, 2.1, cfg["brute_grid"]):
        for p in np.linspace(0.0, 1.0, cfg["brute_grid"]):
            closed = float(gaussian_rdp(d, p, var))
            brute = gaussian_rdp_bruteforce(float(d), float(p), var).rate_bits
            deviations.append(abs(closed - brute))

    # Theorem 3/4 per rate: one Gaussian representation, all points of its cross-section.
    n = cfg["n_samples"]
    per_rate = []
    from rdlab.estimators.dp_region import dp_region_from_samples, wasserstein2_squared

    for r in RATES:
        p_th = float(gaussian_perception_threshold(r, var))
        ps = np.linspace(0.0, p_th, 6)
        theta = np.column_stack([gaussian_distortion_perception(ps, r, var), ps])
        code = gaussian_universal_code(theta, var)
        x, z, x_hat = code.sample(n, rng)
        region = gaussian_representation_region(r, var)
        est = dp_region_from_samples(x, z=z, method="linear")
        mc_d = [float(np.mean((x - xh) ** 2)) for xh in x_hat]
        mc_p = [wasserstein2_squared(xh, x) for xh in x_hat]
        per_rate.append(
            {
                "rate_bits": r,
                "universal_penalty_bits": code.penalty_bits,
                "targets": theta.tolist(),
                "sampled_distortion": mc_d,
                "sampled_perception": mc_p,
                "max_rel_distortion_excess": float(
                    np.max((np.array(mc_d) - theta[:, 0]) / theta[:, 0])
                ),
                "D_a": {
                    "closed_form": region.mmse_distortion,
                    "samples": est.mmse_distortion,
                    "distortion_stderr": math.sqrt(2.0 / n) * region.mmse_distortion,
                },
                "P_a": {"closed_form": region.mmse_perception, "samples": est.mmse_perception},
                "D_b": {"closed_form": region.distortion_b, "samples": est.distortion_b},
                "D_b_equals_D(0,R)": abs(
                    region.distortion_b - float(gaussian_distortion_perception(0.0, r, var))
                ),
            }
        )

    # Theorem 8 construction and Remark 4 bound.
    ref = gaussian_successive_refinement(0.5, 1.5, var)
    mi_formula = ref.mutual_information()
    mi_samples = sample_gaussian_mutual_information(ref.sample(n, rng))
    d1 = var * 2.0**-1.0
    remark4 = refinement_penalty_remark4(0.5 * math.log2(var / d1), d1, d1 / 2, var)

    return {
        "variance": var,
        "rates_bits": list(RATES),
        "n_samples": n,
        "bruteforce_max_abs_deviation_bits": float(max(deviations)),
        "bruteforce_points": len(deviations),
        "universality": per_rate,
        "refinement": {
            "rates_bits": [0.5, 1.5],
            "mi_formula_bits": list(mi_formula),
            "mi_samples_bits": list(mi_samples),
            "remark4_penalty_bits_D1_0.5_D2_0.25": remark4,
        },
        "files": [
            "fig1a_rdp_surface.png",
            "rdp_surface.json",
            "fig1b_dp_cross_sections.png",
            "dp_cross_sections.json",
        ],
    }
