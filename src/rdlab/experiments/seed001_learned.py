"""Reproductions of seed 001's learned-compressor experiments (Zhang et al., Appendix B).

- ``001-table1`` (Table 1): lambda = 0 end-to-end test MSE of DQ, UQ and NQ at
  R = 4.75 (d=3, L=3), 6 (3, 4), 8 (4, 4) and 10 (5, 4), beside the paper's numbers;
- ``001-fig4`` (Fig. 4a): distortion-perception trade-offs at R = 4.75, 6, 8, 10 (Table 4;
  the quick preset: 4.75 and 6) — end-to-end models over lambda and universal models
  (decoders trained on the frozen encoder of the end-to-end model with the largest lambda,
  0.015 in the paper) over lambda_i;
- ``001-table2-3`` (Tables 2-3): trials of (end-to-end base at the base lambda, R = 4.75, then
  universal models over lambda_i); max / min / average of MSE and W1 per lambda_i;
- ``001-fig6`` (Fig. 6a): refinement — a lambda = 0 base at R = 4.75, refinement models
  (3 + 3 dimensions, L = 3: R = 9.51) over lambda_i, and end-to-end models at R = 9.51 (d = 6)
  whose encoder has about as many parameters as base + refining encoder.

Every model is a job of :mod:`rdlab.experiments.runner` trained by
:func:`rdlab.models.learned.learned_run` into ``out_dir/models/<name>/``. A finished sub-run
with the same settings is reused, an unfinished one with the same settings is resumed, one with
other settings is replaced; a universal / refinement run whose base was (re)trained in this
call is retrained.
So an interrupted reproduction continues where it stopped when run again (with
``--overwrite``, which replaces only the top-level results).

Presets: ``paper`` trains on MNIST with the published settings (Table 7) and the lambda lists
of Table 5; ``quick`` trains on scikit-learn's digits (embedded, no download) with shorter
training, three lambdas on the digits scale and two trials; ``--data mnist`` (or
``fmnist``) runs the quick preset on that data set instead, with subsets of the paper's
lambdas; ``--data svhn`` runs ``001-fig4`` on SVHN (Fig. 4(c): R = 30, 45, 60 with
Table 9's lambdas in the paper preset; R = 30 and three lambdas in the quick preset) and is
refused by the MNIST experiments. ``RDLAB_DATA`` (or ``--data-dir``) is the data directory;
``--device cuda`` trains on a GPU; ``--jobs N`` trains up to N sub-runs side by side in worker
processes and ``--executor ray`` runs them as Ray tasks (:mod:`rdlab.experiments.runner`: each
as soon as its base is done; the numbers do not depend on the executor or N). Perception is reported
twice: ``w1`` is the estimate of a fresh critic trained for the same budget on every model
(comparable across models), ``w1_own`` that of the model's own critic (what the paper reports;
None at lambda = 0).
Digits models are trained with one torch thread (faster for these tiny networks on a loaded
machine); the previous thread count is restored afterwards. ``--set trials=3`` or
``--set epochs=5`` (any learned-codec setting) changes a preset.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdlab.core.io import headless_pyplot, write_figure
from rdlab.core.validation import check_int
from rdlab.experiments.registry import ExperimentOptions, register_experiment
from rdlab.experiments.runner import Job, Plan, run_plan

PAPER = (
    "Zhang, Qian, Chen & Khisti, Universal Rate-Distortion-Perception Representations for "
    "Lossy Compression (NeurIPS 2021)"
)

TABLE1_RATES: tuple[tuple[float, int, int], ...] = (
    (4.75, 3, 3),
    (6.0, 3, 4),
    (8.0, 4, 4),
    (10.0, 5, 4),
)
"""(R, d, L) of Table 1 and Table 4 (left); R = d log2 L (4.75 is 3 log2 3 = 4.755)."""

PAPER_TABLE1: dict[float, dict[str, float]] = {
    4.75: {"dq": 0.0442, "uq": 0.0459, "nq": 0.0484},
    6.0: {"dq": 0.0412, "uq": 0.0426, "nq": 0.0443},
    8.0: {"dq": 0.0358, "uq": 0.0362, "nq": 0.0391},
    10.0: {"dq": 0.0315, "uq": 0.0324, "nq": 0.0351},
}
"""Table 1: lambda = 0 end-to-end test MSE on MNIST by rate and quantiser."""

PAPER_TABLE2_3: dict[str, Any] = {
    "lambda_i": [0.0, 0.0025, 0.004, 0.005, 0.006, 0.008, 0.009, 0.01, 0.011, 0.013],
    "mse": {
        "max": [0.0470, 0.0477, 0.0493, 0.0507, 0.0531, 0.0583, 0.0614, 0.0648, 0.0681, 0.0729],
        "min": [0.0466, 0.0474, 0.0490, 0.0504, 0.0526, 0.0577, 0.0606, 0.0640, 0.0665, 0.0715],
        "average": [0.0468, 0.0475, 0.0491, 0.0506, 0.0528, 0.0579, 0.0609, 0.0643, 0.0670, 0.0720],
    },
    "w1_own": {
        "max": [5.8014, 5.1464, 4.6482, 4.2692, 3.7672, 2.9855, 2.5596, 2.1221, 1.9033, 1.3256],
        "min": [5.5787, 5.0612, 4.5815, 4.1812, 3.7576, 2.8928, 2.5105, 2.0020, 1.6842, 1.1958],
        "average": [5.7123, 5.1087, 4.6177, 4.2211, 3.7636, 2.9446, 2.5259, 2.0778, 1.8296, 1.2718],
    },
}
"""Tables 2-3: universal models over lambda_i, 5 trials, MNIST, R = 4.75, base lambda 0.015
(own-critic W1)."""

PAPER_LAMBDAS: dict[str, tuple[float, ...]] = {
    "e_fig4": (0.0, 0.0033, 0.005, 0.0066, 0.008, 0.01, 0.011, 0.013, 0.015),
    "u_fig4": (0.0, 0.0025, 0.004, 0.005, 0.006, 0.008, 0.009, 0.01, 0.011, 0.013),
    "e_fig6": (0.0, 0.0033, 0.005, 0.0066, 0.008, 0.01, 0.011, 0.013, 0.015),
    "r_fig6": (0.0, 0.0025, 0.004, 0.005, 0.006, 0.008, 0.009, 0.01, 0.013, 0.015),
}
"""Table 5 (MNIST)."""

SVHN_FIG4_RATES: tuple[tuple[float, int, int], ...] = ((30.0, 10, 8), (45.0, 15, 8), (60.0, 20, 8))
"""(R, d, L) of the SVHN models of Fig. 4(c) (Table 8, left)."""

SVHN_PAPER_LAMBDAS: dict[str, Any] = {
    "e_fig4": (0.0, 0.00025, 0.0005, 0.00075, 0.001, 0.00125, 0.0015, 0.002),
    "u_fig4": (0.0, 0.0003, 0.0005, 0.0008, 0.001, 0.0012, 0.0017),
    "base_lambda": 0.002,
}
"""Table 9 (SVHN, Fig. 4(c)): end-to-end lambdas, universal lambda_i and the base lambda."""

# Settings by preset (tests shrink them). ``overrides`` go to preset_config; ``lambdas`` by
# architecture family (the W1 of 8x8 digits is on another scale than MNIST's).
SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "data": "digits",
        "overrides": {"fresh_critic_steps": 300},
        "table1_rates": TABLE1_RATES,
        "quantizers": ("dq", "uq", "nq"),
        "fig4_rates": TABLE1_RATES[:2],
        "trials": 2,
        "lambdas": {
            "digits": {
                "e_fig4": (0.0, 0.02, 0.05),
                "u_fig4": (0.0, 0.02, 0.05),
                "base_lambda": 0.05,
                "e_fig6": (0.0, 0.02, 0.05),
                "r_fig6": (0.0, 0.02, 0.05),
            },
            "mnist": {
                "e_fig4": (0.0, 0.008, 0.015),
                "u_fig4": (0.0, 0.006, 0.013),
                "base_lambda": 0.015,
                "e_fig6": (0.0, 0.008, 0.015),
                "r_fig6": (0.0, 0.006, 0.015),
            },
        },
    },
    "paper": {
        "data": "mnist",
        "overrides": {},
        "table1_rates": TABLE1_RATES,
        "quantizers": ("dq", "uq", "nq"),
        "fig4_rates": TABLE1_RATES,
        "trials": 5,
        "lambdas": {"mnist": {**PAPER_LAMBDAS, "base_lambda": 0.015}},
    },
}

QUICK_DATA = ("digits", "mnist", "fmnist", "svhn")
"""Data sets ``--data`` may name with the quick preset."""

PAPER_DATA = ("mnist", "svhn")
"""Data sets ``--data`` may name with the paper preset."""

SVHN_EXPERIMENTS = ("001-fig4",)
"""The reproductions that run on SVHN (its Fig. 4(c)); the others are MNIST experiments."""

SVHN_SETTINGS: dict[str, dict[str, Any]] = {
    "quick": {
        "fig4_rates": SVHN_FIG4_RATES[:1],
        "lambdas": {
            "e_fig4": (0.0, 0.001, 0.002),
            "u_fig4": (0.0, 0.001, 0.0017),
            "base_lambda": 0.002,
        },
    },
    "paper": {"fig4_rates": SVHN_FIG4_RATES, "lambdas": SVHN_PAPER_LAMBDAS},
}
"""SVHN replaces these settings of a preset (Tables 8 and 9)."""


SEED001_OPTIONS = ("data", "device", "executor", "settings")
"""The options every seed-001 reproduction takes."""

REMOVED_VARIABLES = ("RDLAB_LC_DATA", "RDLAB_DEVICE", "RDLAB_JOBS")
"""Environment variables of rdlab 0.2 that options replaced (``--data``, ``--device``,
``--jobs``); setting one is an error rather than silently ignored."""


def settings(preset: str, options: ExperimentOptions | None = None) -> dict[str, Any]:
    """Resolved settings of a preset and the options: data set, config overrides, lambda
    lists, threads, device, executor.

    ``options.settings`` (``--set key=value``) may set ``trials`` (int >= 1) and any
    :class:`~rdlab.models.learned.LearnedConfig` field (e.g. ``epochs=3``), which overrides
    the preset's training settings of every model.
    """
    from rdlab.models.learned import LearnedConfig, data_family

    options = ExperimentOptions() if options is None else options
    for var in REMOVED_VARIABLES:
        if var in os.environ:
            flag = {"RDLAB_LC_DATA": "--data", "RDLAB_DEVICE": "--device"}.get(var, "--jobs")
            raise ValueError(f"{var} is no longer read; pass {flag} to rdlab reproduce instead")
    key = "quick" if preset == "quick" else "paper"
    s = dict(SETTINGS[key])
    s["overrides"] = dict(s["overrides"])
    data = s["data"]
    if options.data is not None:
        data = options.data
        allowed = QUICK_DATA if key == "quick" else PAPER_DATA
        if data not in allowed:
            raise ValueError(
                f"--data must be one of {', '.join(allowed)} with the {key} preset, got {data!r}"
            )
    fields = set(LearnedConfig.__dataclass_fields__) - {"data"}
    for name, value in options.settings.items():
        if name == "trials":
            s["trials"] = check_int("--set trials", value, minimum=1, maximum=1000)
        elif name in fields:
            s["overrides"][name] = value
        else:
            raise ValueError(
                f"--set {name}: unknown setting; seed-001 reproductions take trials and the "
                f"learned-codec settings ({', '.join(sorted(fields))})"
            )
    family = data_family(data)
    if family == "svhn":
        s.update(fig4_rates=SVHN_SETTINGS[key]["fig4_rates"])
        lam = dict(SVHN_SETTINGS[key]["lambdas"])
    else:
        lam = dict(s["lambdas"][family])
    s.update(
        preset=preset,
        data=data,
        family=family,
        lam=lam,
        threads=1 if family == "digits" else None,
        data_dir=options.data_dir,
        device=options.device,
        jobs=options.jobs,
        executor=options.executor,
        options=options,
    )
    make_config(s)  # the overrides are checked here, before any model is trained
    return s


def _mnist_only(s: dict[str, Any], name: str) -> None:
    if s["family"] == "svhn":
        raise ValueError(
            f"{name} is an MNIST experiment; with --data svhn run {', '.join(SVHN_EXPERIMENTS)}"
        )


def make_config(s: dict[str, Any], **kw: Any):
    """The learned-codec config of a preset's settings with ``kw`` applied."""
    from rdlab.models.learned import preset_config

    return preset_config(s["preset"], s["data"], **{**s["overrides"], **kw})


def _canonical(obj: Any) -> Any:
    from rdlab.core.results import jsonable

    return json.loads(json.dumps(jsonable(obj), sort_keys=True))


ROW_KEYS = (
    "distortion",
    "distortion_stderr",
    "distortion_measure",
    "perception_w1",
    "perception_w1_own",
    "rate_bound_bits",
    "rate_entropy_bits",
    "rate_bits",
    "train_seconds",
)


@dataclass(frozen=True)
class SubRun:
    """One model of a reproduction: sub-run ``name`` trained with ``config`` and ``seed``; a
    universal / refinement model names the sub-run it builds on in ``base``."""

    name: str
    config: Any
    seed: int
    base: str | None = None


def train_sub_run(
    job_dir: Path, config: dict[str, Any], deps: dict[str, Path], fresh: bool
) -> dict[str, Any]:
    """The job of one sub-run (:mod:`rdlab.experiments.runner`): train, resume or retrain the
    learned codec of ``config`` in ``job_dir``; return its results.

    It resumes the run in ``job_dir`` when that holds the same settings, seed and base and no
    dependency was retrained (``fresh``); otherwise it trains afresh, replacing the run's own
    files only.
    """
    from rdlab.core.rundir import RunDir
    from rdlab.models.learned import LearnedConfig, learned_run

    cfg = LearnedConfig.from_dict(config["config"])
    base = deps[config["base"]] if config.get("base") else None
    rd = RunDir(job_dir)
    same = False
    if not fresh and rd.config_path.exists():
        try:
            old = rd.read_config()
        except ValueError:
            old = {}
        same = (
            _completed(old.get("config")) == _canonical(cfg.to_dict())
            and old.get("seed") == config["seed"]
            and (old.get("base") or {}).get("path") == (str(base) if base else None)
        )
    run = learned_run(
        config=cfg,
        out=job_dir,
        base=base,
        seed=config["seed"],
        data_dir=config.get("data_dir"),
        device=config.get("device", "cpu"),
        resume=same,
        overwrite=not same,  # the reproduction's own sub-run folder
        progress=False,
    )
    return run.to_dict()


def _row(job: SubRun, res: Mapping[str, Any], reused: bool) -> dict[str, Any]:
    cfg = job.config
    row = {
        "name": job.name,
        "mode": cfg.mode,
        "quantizer": cfg.quantizer,
        "latent_dim": cfg.latent_dim,
        "levels": cfg.levels,
        "lam": cfg.lam,
        "seed": job.seed,
        "reused": reused,
    }
    if cfg.mode == "refinement":
        row.update(refine_latent_dim=cfg.refine_latent_dim, refine_levels=cfg.refine_levels)
    row.update({k: res.get(k) for k in ROW_KEYS})
    return row


def _run_all(out_dir: Path, s: dict[str, Any], jobs: list[SubRun], desc: str) -> dict[str, Any]:
    """Rows of ``jobs`` by name: each trained, resumed or reused under ``out_dir/models`` by
    :func:`~rdlab.experiments.runner.run_plan` with the options' executor (a job after its
    base; the numbers do not depend on the executor or the number of workers)."""
    plan = Plan(
        tuple(
            Job(
                j.name,
                train_sub_run,
                {
                    "config": j.config.to_dict(),
                    "seed": j.seed,
                    "base": j.base,
                    "data_dir": s["data_dir"],
                    "device": s["device"],
                },
                deps=(j.base,) if j.base else (),
            )
            for j in jobs
        )
    )
    executor = s["options"].make_executor()
    threads = s["threads"] or executor.threads_per_job()
    outcomes = run_plan(plan, Path(out_dir) / "models", executor, threads=threads, desc=desc)
    return {j.name: _row(j, outcomes[j.name].result, outcomes[j.name].reused) for j in jobs}


def _completed(config: Any) -> Any:
    """A stored config with the defaults of settings added since it was written."""
    from rdlab.models.learned import LearnedConfig

    try:
        return _canonical(LearnedConfig.from_dict(config).to_dict())
    except (TypeError, ValueError):
        return config


def _common(s: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": s["data"],
        "settings": {
            "overrides": s["overrides"],
            "lambdas": s["lam"],
            "torch_threads": s["threads"],
            "device": s["device"],
            "jobs": s["jobs"],
            "executor": s["executor"],
            "config": make_config(s).to_dict(),
        },
        "perception_note": "w1: fresh critic (same budget for every model); w1_own: the "
        "model's own critic (None at lambda = 0)",
    }


def _name(prefix: str, **parts: Any) -> str:
    return prefix + "".join(
        f"-{k}{v:g}" if isinstance(v, float) else f"-{k}{v}" for k, v in parts.items()
    )


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


# -- 001-table1 ----------------------------------------------------------------------------------


@register_experiment(
    "001-table1",
    paper=PAPER,
    target="Table 1: lambda = 0 end-to-end MSE of DQ, UQ, NQ at R = 4.75, 6, 8, 10 (MNIST)",
    description="12 end-to-end models at lambda = 0 (MSE only); table beside the paper's",
    options=SEED001_OPTIONS,
)
def table1(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    s = settings(preset, options)
    _mnist_only(s, "001-table1")
    rates, quants = s["table1_rates"], s["quantizers"]
    jobs = [
        # MSE only: no fresh critic
        SubRun(
            _name("e2e", q=q, d=d, L=levels),
            make_config(s, quantizer=q, latent_dim=d, levels=levels, lam=0.0, fresh_critic_steps=0),
            seed,
        )
        for r, d, levels in rates
        for q in quants
    ]
    by_name = _run_all(out_dir, s, jobs, "001-table1")
    rows, table = [], []
    for r, d, levels in rates:
        entry: dict[str, Any] = {"rate_bits": r, "latent_dim": d, "levels": levels}
        for q in quants:
            row = by_name[_name("e2e", q=q, d=d, L=levels)]
            rows.append(row)
            entry[f"mse_{q}"] = row["distortion"]
            entry[f"mse_{q}_stderr"] = row["distortion_stderr"]
            entry[f"paper_mse_{q}"] = PAPER_TABLE1.get(r, {}).get(q)
        if all(f"mse_{q}" in entry for q in ("dq", "uq", "nq")):
            entry["order_dq_le_uq_le_nq"] = bool(
                entry["mse_dq"] <= entry["mse_uq"] <= entry["mse_nq"]
            )
        table.append(entry)

    plt = headless_pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for k, q in enumerate(quants):
        c = f"C{k}"
        ax.plot(
            [e["rate_bits"] for e in table],
            [e[f"mse_{q}"] for e in table],
            "o-",
            color=c,
            label=f"{q.upper()} (measured, {s['data']})",
        )
        paper = [(e["rate_bits"], e[f"paper_mse_{q}"]) for e in table if e[f"paper_mse_{q}"]]
        if paper:
            ax.plot(
                *zip(*paper, strict=True),
                "s--",
                color=c,
                alpha=0.7,
                mfc="none",
                label=f"{q.upper()} (paper, MNIST)",
            )
    ax.set_xlabel("rate R = d log2 L [bits]")
    ax.set_ylabel("test MSE per pixel")
    ax.set_title("Table 1: lambda = 0 end-to-end MSE by quantiser")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    write_figure(fig, Path(out_dir) / "table1.png")
    return {
        **_common(s),
        "table": table,
        "paper_table1": {str(k): v for k, v in PAPER_TABLE1.items()},
        "models": rows,
        "figure": "table1.png",
    }


# -- 001-fig4 ------------------------------------------------------------------------------------


def _universal_family(
    s: dict[str, Any], seed: int, d: int, levels: int, *, prefix: str
) -> list[SubRun]:
    """End-to-end base at the base lambda (rate d log2 levels), then universal models over
    lambda_i on its frozen encoder; the base comes first."""
    base = SubRun(
        f"{prefix}/" + _name("e2e", lam=float(s["lam"]["base_lambda"])),
        make_config(s, latent_dim=d, levels=levels, lam=s["lam"]["base_lambda"]),
        seed,
    )
    return [base] + [
        SubRun(
            f"{prefix}/" + _name("universal", lam=float(lam)),
            make_config(s, latent_dim=d, levels=levels, lam=lam, mode="universal"),
            seed,
            base=base.name,
        )
        for lam in s["lam"]["u_fig4"]
    ]


@register_experiment(
    "001-fig4",
    paper=PAPER,
    target="Fig. 4a: distortion-perception trade-offs of end-to-end and universal models at "
    "R = 4.75, 6, 8, 10 (MNIST, Table 4; quick preset: 4.75 and 6); with --data svhn, "
    "Fig. 4c (SVHN, R = 30, 45, 60)",
    description="end-to-end models over lambda, universal decoders on the frozen encoder of the "
    "largest-lambda model over lambda_i; MSE vs W1",
    options=SEED001_OPTIONS,
)
def fig4(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    s = settings(preset, options)
    rates = s["fig4_rates"]
    e_lams = list(s["lam"]["e_fig4"])
    base_lam = s["lam"]["base_lambda"]
    plan = []  # per rate: end-to-end models but the base, then base + universal models
    for r, d, levels in rates:
        prefix = f"R{r:g}"
        e_jobs = [
            SubRun(
                f"{prefix}/" + _name("e2e", lam=float(lam)),
                make_config(s, latent_dim=d, levels=levels, lam=lam),
                seed,
            )
            for lam in sorted(set(e_lams) - {base_lam})
        ]
        plan.append((r, d, levels, e_jobs, _universal_family(s, seed, d, levels, prefix=prefix)))
    by_name = _run_all(out_dir, s, [j for *_, e, u in plan for j in e + u], "001-fig4")
    curves = []
    for r, d, levels, e_jobs, (base_job, *u_jobs) in plan:
        base = by_name[base_job.name]
        u_rows = [by_name[j.name] for j in u_jobs]
        e_rows = [by_name[j.name] for j in e_jobs] + ([base] if base_lam in e_lams else [])
        e_rows.sort(key=lambda x: x["lam"])
        e_by = {x["lam"]: x for x in e_rows}
        gaps = [
            {
                "lam": u["lam"],
                "mse_universal_minus_e2e": u["distortion"] - e_by[u["lam"]]["distortion"],
                "w1_universal_minus_e2e": (
                    u["perception_w1"] - e_by[u["lam"]]["perception_w1"]
                    if _finite(u["perception_w1"]) and _finite(e_by[u["lam"]]["perception_w1"])
                    else None
                ),
            }
            for u in u_rows
            if u["lam"] in e_by
        ]
        curves.append(
            {
                "rate_bits": r,
                "latent_dim": d,
                "levels": levels,
                "base_lambda": base_lam,
                "base": base["name"],
                "end_to_end": e_rows,
                "universal": u_rows,
                "universal_minus_end_to_end": gaps,
            }
        )

    plt = headless_pyplot()
    fig, axes = plt.subplots(2, len(curves), figsize=(5 * len(curves), 7.5), squeeze=False)
    for j, c in enumerate(curves):
        for i, (key, label) in enumerate(
            (("perception_w1", "W1 (fresh critic)"), ("perception_w1_own", "W1 (own critic)"))
        ):
            ax = axes[i][j]
            for fam, rows, style in (
                ("end-to-end", c["end_to_end"], {"marker": "o", "mec": "k", "color": "C0"}),
                ("universal", c["universal"], {"marker": "^", "mec": "none", "color": "C1"}),
            ):
                pts = [(x["distortion"], x[key], x["lam"]) for x in rows if _finite(x[key])]
                if not pts:
                    continue
                ax.plot(
                    [p[0] for p in pts], [p[1] for p in pts], ls="-", alpha=0.8, label=fam, **style
                )
                for p in pts:
                    ax.annotate(f"{p[2]:g}", (p[0], p[1]), fontsize=6, alpha=0.7)
            ax.set_xlabel("distortion (test MSE)")
            ax.xaxis.set_major_locator(plt.MaxNLocator(5))
            ax.set_ylabel(label)
            ax.set_title(f"R = {c['rate_bits']:g} (d={c['latent_dim']}, L={c['levels']})")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
    fig.suptitle(f"Fig. 4: end-to-end vs universal ({s['data']}, labels = lambda)")
    write_figure(fig, Path(out_dir) / "fig4.png")
    return {**_common(s), "curves": curves, "figure": "fig4.png"}


# -- 001-table2-3 --------------------------------------------------------------------------------


def _stats(values: list[Any]) -> dict[str, Any]:
    v = [x for x in values if _finite(x)]
    if not v:
        return {"max": None, "min": None, "average": None, "n": 0}
    return {"max": max(v), "min": min(v), "average": sum(v) / len(v), "n": len(v)}


@register_experiment(
    "001-table2-3",
    paper=PAPER,
    target="Tables 2-3: MSE and W1 of universal models across trials (MNIST, R = 4.75)",
    description="per trial: end-to-end base at the base lambda, then universal models over "
    "lambda_i; max / min / average per lambda_i",
    options=SEED001_OPTIONS,
)
def table2_3(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    s = settings(preset, options)
    _mnist_only(s, "001-table2-3")
    r, d, levels = TABLE1_RATES[0]
    lams = list(s["lam"]["u_fig4"])
    trials = int(s["trials"])
    families = [
        _universal_family(s, seed + t, d, levels, prefix=f"trial{seed + t}") for t in range(trials)
    ]
    by_name = _run_all(out_dir, s, [j for fam in families for j in fam], "001-table2-3")
    per_trial = [
        {
            "seed": base.seed,
            "base": by_name[base.name],
            "universal": [by_name[j.name] for j in u_jobs],
        }
        for base, *u_jobs in families
    ]
    table = []
    for k, lam in enumerate(lams):
        rows = [tr["universal"][k] for tr in per_trial]
        table.append(
            {
                "lam": lam,
                "mse": _stats([x["distortion"] for x in rows]),
                "w1": _stats([x["perception_w1"] for x in rows]),
                "w1_own": _stats([x["perception_w1_own"] for x in rows]),
            }
        )

    plt = headless_pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, key, label in zip(
        axes,
        ("mse", "w1", "w1_own"),
        ("MSE", "W1 (fresh critic)", "W1 (own critic)"),
        strict=True,
    ):
        pts = [(e["lam"], e[key]) for e in table if e[key]["n"]]
        if pts:
            x = [p[0] for p in pts]
            avg = [p[1]["average"] for p in pts]
            ax.fill_between(
                x,
                [p[1]["min"] for p in pts],
                [p[1]["max"] for p in pts],
                alpha=0.3,
                color="C0",
                label=f"min-max, {trials} trials",
            )
            ax.plot(x, avg, "o-", color="C0", label=f"average ({s['data']})")
        if s["family"] == "mnist" and key in ("mse", "w1_own"):
            paper = PAPER_TABLE2_3["mse" if key == "mse" else "w1_own"]
            ax.plot(
                PAPER_TABLE2_3["lambda_i"],
                paper["average"],
                "s--",
                color="k",
                mfc="none",
                alpha=0.7,
                label="paper average",
            )
        ax.set_xlabel("lambda_i")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Tables 2-3: universal models, R = {r:g}, base lambda {s['lam']['base_lambda']:g}"
    )
    write_figure(fig, Path(out_dir) / "table2_3.png")
    return {
        **_common(s),
        "rate_bits": r,
        "base_lambda": s["lam"]["base_lambda"],
        "trials": trials,
        "seeds": [tr["seed"] for tr in per_trial],
        "table": table,
        "paper_tables2_3": PAPER_TABLE2_3,
        "per_trial": per_trial,
        "figure": "table2_3.png",
    }


# -- 001-fig6 ------------------------------------------------------------------------------------


def matched_encoder_width(family: str, latent_dim: int, target: int) -> tuple[float, int]:
    """Encoder width (multiplier) whose encoder with ``latent_dim`` outputs has the parameter
    count closest to ``target``; returns (width, count)."""
    from rdlab.models.architectures import build_encoder, parameter_count

    def count(w: float) -> int:
        return parameter_count(build_encoder(family, latent_dim, w))

    lo, hi = 0.05, 1.0
    while count(hi) < target:
        hi *= 2
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if count(mid) < target else (lo, mid)
    best = min((lo, hi), key=lambda w: abs(count(w) - target))
    return round(best, 4), count(round(best, 4))


@register_experiment(
    "001-fig6",
    paper=PAPER,
    target="Fig. 6a: rate refinement from R = 4.75 to 9.51 against end-to-end models at 9.51 "
    "(MNIST)",
    description="lambda = 0 base (d=3, L=3), refinement models (3+3 dims) over lambda_i, "
    "end-to-end d=6 models with a parameter-matched encoder over lambda; MSE vs W1",
    options=SEED001_OPTIONS,
)
def fig6(out_dir: Path, preset: str, seed: int, options: ExperimentOptions) -> dict[str, Any]:
    from rdlab.models.architectures import build_encoder, parameter_count

    s = settings(preset, options)
    _mnist_only(s, "001-fig6")
    fam = s["family"]
    r_lams, e_lams = list(s["lam"]["r_fig6"]), list(s["lam"]["e_fig6"])
    base_cfg = make_config(s, latent_dim=3, levels=3, lam=0.0)
    ref0 = make_config(
        s, latent_dim=3, levels=3, lam=0.0, mode="refinement", refine_latent_dim=3, refine_levels=3
    )
    n_base = parameter_count(build_encoder(fam, 3, base_cfg.encoder_width))
    n_refiner = parameter_count(build_encoder(fam, 3, ref0.refine_width))
    width, n_e2e = matched_encoder_width(fam, 6, n_base + n_refiner)
    base_job = SubRun("base-e2e-d3L3-lam0", base_cfg, seed)
    r_jobs = [
        SubRun(
            _name("refine-d3+3L3", lam=float(lam)),
            make_config(
                s,
                latent_dim=3,
                levels=3,
                lam=lam,
                mode="refinement",
                refine_latent_dim=3,
                refine_levels=3,
            ),
            seed,
            base=base_job.name,
        )
        for lam in r_lams
    ]
    e_jobs = [
        SubRun(
            _name("e2e-d6L3", lam=float(lam)),
            make_config(s, latent_dim=6, levels=3, lam=lam, encoder_width=width),
            seed,
        )
        for lam in e_lams
    ]
    by_name = _run_all(out_dir, s, [base_job, *r_jobs, *e_jobs], "001-fig6")
    base = by_name[base_job.name]
    refine = [by_name[j.name] for j in r_jobs]
    e2e = [by_name[j.name] for j in e_jobs]

    plt = headless_pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, label in zip(
        axes,
        ("perception_w1", "perception_w1_own"),
        ("W1 (fresh critic)", "W1 (own critic)"),
        strict=True,
    ):
        for fam_label, rows, style in (
            ("end-to-end R=9.51 (d=6)", e2e, {"marker": "o", "mec": "k", "color": "C0"}),
            ("refinement R=4.75+4.75", refine, {"marker": "^", "mec": "none", "color": "C2"}),
            ("base R=4.75, lambda=0", [base], {"marker": "s", "mec": "k", "color": "C3"}),
        ):
            pts = [(x["distortion"], x[key], x["lam"]) for x in rows if _finite(x[key])]
            if not pts:
                continue
            ax.plot(
                [p[0] for p in pts],
                [p[1] for p in pts],
                ls="-",
                alpha=0.8,
                label=fam_label,
                **style,
            )
            for p in pts:
                ax.annotate(f"{p[2]:g}", (p[0], p[1]), fontsize=6, alpha=0.7)
        ax.set_xlabel("distortion (test MSE)")
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Fig. 6: rate refinability ({s['data']}, labels = lambda)")
    write_figure(fig, Path(out_dir) / "fig6.png")
    return {
        **_common(s),
        "parameter_counts": {
            "base_encoder": n_base,
            "refining_encoder": n_refiner,
            "base_plus_refining": n_base + n_refiner,
            "end_to_end_encoder": n_e2e,
            "end_to_end_encoder_width": width,
        },
        "base": base,
        "refinement": refine,
        "end_to_end": e2e,
        "figure": "fig6.png",
    }
