"""Reproductions of Liu, Zhang, Chen, Khisti, "Lossy Compression with Distribution Shift as
Entropy Constrained Optimal Transport": Figure 3 (binary) and Figure 8 (Gaussian).

``003-fig3``
    Distortion-rate curves of ``B(q_X) -> B(q_Y)`` with Hamming distortion for
    ``(q_X, q_Y) = (0.3, 0.3), (0.3, 0.5), (0.3, 0.6)``: ``D_ncr`` (22), its upper bound (23),
    its lower bound (24) and ``D_cr`` (25), with the exact solvers overlaid as markers (the LP of
    appendix A.3 on ``D_cr``, the program (P) of appendix A.4 on ``D_ncr``).
``003-fig8``
    Asymptotic distortion-rate curves of ``N(μ_X, σ_X^2) -> N(μ_Y, σ_Y^2)`` with squared error
    for ``(μ_X, σ_X, μ_Y, σ_Y) = (0, 1, 0, 1)`` and ``(0, 1, 1, 2)``: (58)-(61).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rdlab.core.io import headless_pyplot, write_figure
from rdlab.experiments.registry import register_experiment
from rdlab.solvers.ecot import binary_cr_lp, binary_ncr_program
from rdlab.theory.ecot import (
    binary_cr_distortion,
    binary_dmax,
    binary_dmin,
    binary_ncr_distortion,
    binary_ncr_lower_bound,
    binary_ncr_upper_bound,
    gaussian_cr_asymptotic,
    gaussian_dmax,
    gaussian_dmin,
    gaussian_ncr_asymptotic,
    gaussian_ncr_lower_bound_asymptotic,
    gaussian_ncr_upper_bound_asymptotic,
)

PAPER = "Liu, Zhang, Chen, Khisti: Lossy Compression with Distribution Shift as Entropy Constrained Optimal Transport"

FIG3_PANELS = ((0.3, 0.3), (0.3, 0.5), (0.3, 0.6))
FIG8_PANELS = ((0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 1.0, 2.0))
_PRESETS = {
    "quick": {"n_curve": 201, "n_solver": 6, "n_starts": 8, "n_cells": 3},
    "paper": {"n_curve": 801, "n_solver": 21, "n_starts": 24, "n_cells": 4},
}


def _check_preset(preset: str) -> dict[str, int]:
    if preset not in _PRESETS:
        raise ValueError(f"preset must be one of {tuple(_PRESETS)}, got {preset!r}")
    return _PRESETS[preset]


@register_experiment(
    "003-fig3",
    paper=PAPER,
    target="Figure 3 (a)-(c): binary D_ncr, its bounds (23)-(24) and D_cr vs rate",
    description=(
        "Closed forms (22)-(25) for B(0.3)->B(q_Y), q_Y in {0.3, 0.5, 0.6}, Hamming distortion, "
        "checked against the common-randomness LP (A.3) and the N-cell program (P) (A.4)."
    ),
)
def fig3(out_dir: Path, preset: str, seed: int) -> dict[str, Any]:
    cfg = _check_preset(preset)
    plt = headless_pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = []
    r_max = 1.0
    rates = np.linspace(0.0, r_max, cfg["n_curve"])
    solver_rates = np.linspace(0.0, r_max, cfg["n_solver"] + 1)[1:]
    for ax, (qx, qy), tag in zip(axes, FIG3_PANELS, "abc", strict=True):
        ncr = binary_ncr_distortion(qx, qy, rates)
        up = binary_ncr_upper_bound(qx, qy, rates)
        low = binary_ncr_lower_bound(qx, qy, rates)
        cr = binary_cr_distortion(qx, qy, rates)
        lp = binary_cr_lp(qx, qy, list(solver_rates))
        prog = [
            binary_ncr_program(
                qx, qy, float(r), n_cells=cfg["n_cells"], n_starts=cfg["n_starts"], seed=seed
            )
            for r in solver_rates
        ]
        lp_err = max(abs(s.distortion - binary_cr_distortion(qx, qy, s.rate_bits)) for s in lp)
        prog_err = max(abs(s.distortion - binary_ncr_distortion(qx, qy, s.rate_bits)) for s in prog)
        ax.plot(rates, up, "--", color="tab:orange", lw=2.5, label="upper bound (23)")
        ax.plot(rates, ncr, "-", color="tab:blue", label="$D_{ncr}$ (22)")
        ax.plot(rates, low, ":", color="tab:green", label="lower bound (24)")
        ax.plot(rates, cr, "-", color="tab:red", label="$D_{cr}$ (25)")
        ax.plot(
            solver_rates,
            [s.distortion for s in prog],
            "o",
            mfc="none",
            color="tab:blue",
            label="program (P), A.4",
        )
        ax.plot(solver_rates, [s.distortion for s in lp], "x", color="tab:red", label="LP, A.3")
        ax.set_title(f"({tag}) $q_X$={qx}, $q_Y$={qy}")
        ax.set_xlabel("rate R [bits]")
        ax.set_ylabel("Hamming distortion")
        ax.grid(alpha=0.3)
        tol = 1e-9
        panels.append(
            {
                "qx": qx,
                "qy": qy,
                "d_min": binary_dmin(qx, qy),
                "d_max": binary_dmax(qx, qy),
                "lp_vs_eq25_max_abs_error": lp_err,
                "program_vs_eq22_max_abs_error": prog_err,
                "cr_le_ncr": bool(np.all(cr <= ncr + tol)),
                "lower_le_ncr_le_upper": bool(np.all((low <= ncr + tol) & (ncr <= up + tol))),
                "upper_bound_tight": bool(np.max(np.abs(up - ncr)) < 1e-9),
                "lower_bound_tight": bool(np.max(np.abs(low - ncr)) < 1e-9),
                "max_upper_minus_d_ncr": float(np.max(up - ncr)),
                "max_d_ncr_minus_d_cr": float(np.max(ncr - cr)),
                "rates": solver_rates.tolist(),
                "d_ncr": [float(binary_ncr_distortion(qx, qy, r)) for r in solver_rates],
                "d_cr": [float(binary_cr_distortion(qx, qy, r)) for r in solver_rates],
            }
        )
    axes[0].legend(fontsize=8)
    write_figure(fig, Path(out_dir) / "fig3_binary.png")
    return {
        "panels": panels,
        "lp_vs_eq25_max_abs_error": max(p["lp_vs_eq25_max_abs_error"] for p in panels),
        "program_vs_eq22_max_abs_error": max(p["program_vs_eq22_max_abs_error"] for p in panels),
        "figures": ["fig3_binary.png"],
    }


@register_experiment(
    "003-fig8",
    paper=PAPER,
    target="Figure 8 (a)-(b): Gaussian asymptotic D_ncr, its bounds and D_cr vs rate",
    description=(
        "Theorem 8, eqs. (58)-(61), for N(0,1)->N(0,1) and N(0,1)->N(1,4), squared error; the "
        "upper bound (53) is evaluated from its definition to check (59)."
    ),
)
def fig8(out_dir: Path, preset: str, seed: int) -> dict[str, Any]:
    cfg = _check_preset(preset)
    plt = headless_pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    rates = np.linspace(0.0, 3.0, cfg["n_curve"])
    panels = []
    for ax, (mx, sx, my, sy), tag in zip(axes, FIG8_PANELS, "ab", strict=True):
        ncr = gaussian_ncr_asymptotic(mx, sx, my, sy, rates)
        up = gaussian_ncr_upper_bound_asymptotic(mx, sx, my, sy, rates)
        low = gaussian_ncr_lower_bound_asymptotic(mx, sx, my, sy, rates)
        cr = gaussian_cr_asymptotic(mx, sx, my, sy, rates)
        ax.plot(rates, up, "--", color="tab:orange", lw=2.5, label="upper bound (59)")
        ax.plot(rates, ncr, "-", color="tab:blue", label="$D_{ncr}^{(\\infty)}$ (58)")
        ax.plot(rates, low, ":", color="tab:green", label="lower bound (60)")
        ax.plot(rates, cr, "-", color="tab:red", label="$D_{cr}^{(\\infty)}$ (61)")
        ax.set_title(
            f"({tag}) $\\mu_X$={mx:g}, $\\sigma_X$={sx:g}, $\\mu_Y$={my:g}, $\\sigma_Y$={sy:g}"
        )
        ax.set_xlabel("rate R [bits]")
        ax.set_ylabel("squared error")
        ax.grid(alpha=0.3)
        tol = 1e-12
        panels.append(
            {
                "mx": mx,
                "sx": sx,
                "my": my,
                "sy": sy,
                "d_min": gaussian_dmin(mx, sx, my, sy),
                "d_max": gaussian_dmax(mx, sx, my, sy),
                "upper_minus_ncr_max_abs": float(np.max(np.abs(up - ncr))),
                "lower_bound_tight": bool(np.max(np.abs(low - ncr)) < 1e-12),
                "cr_le_ncr": bool(np.all(cr <= ncr + tol)),
                "max_d_ncr_minus_d_cr": float(np.max(ncr - cr)),
                "d_ncr_at_1bit": float(gaussian_ncr_asymptotic(mx, sx, my, sy, 1.0)),
                "d_cr_at_1bit": float(gaussian_cr_asymptotic(mx, sx, my, sy, 1.0)),
            }
        )
    axes[0].legend(fontsize=8)
    write_figure(fig, Path(out_dir) / "fig8_gaussian.png")
    del seed  # closed forms only; no randomness
    return {"panels": panels, "figures": ["fig8_gaussian.png"]}
