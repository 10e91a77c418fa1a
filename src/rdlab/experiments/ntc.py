"""NTC λ sweeps: one job of :mod:`rdlab.experiments.runner` per λ (``rdlab ntc train``).

A sweep trains one :mod:`rdlab.models.ntc` model per λ into ``OUT/lam-<λ>/`` with the options'
executor; finished models are reused and an interrupted sweep resumes (each model also resumes
from its last checkpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdlab.experiments.registry import ExperimentOptions
from rdlab.experiments.runner import Job, Plan, run_plan


def source_of(spec: dict[str, Any]) -> tuple[Any, str]:
    """The source of a JSON spec: ``{"data": PATH}`` or ``{"source": NAME, "params": {...}}``."""
    import rdlab.sources.nerd_sources  # noqa: F401 - registers the image and NERD sources
    from rdlab.sources.registry import make_source
    from rdlab.sources.user_data import DataSource

    if spec.get("data") is not None:
        src = DataSource.from_path(spec["data"])
        return src, src.name
    return make_source(spec["source"], **(spec.get("params") or {})), spec["source"]


def ntc_job(job_dir: Path, config: dict[str, Any], deps: dict[str, Path], fresh: bool) -> dict:
    """Train (or resume) one NTC model of a sweep; return its results."""
    from rdlab.models.ntc import NTCConfig, ntc_run

    src, name = source_of(config["source"])
    args = (src, NTCConfig.from_dict(config["config"]), job_dir)
    kw = {"seed": config["seed"], "device": config.get("device", "cpu"), "source_name": name}
    if (job_dir / "config.json").exists() and not fresh:
        try:  # an unfinished model of the same settings continues from its checkpoint
            return ntc_run(*args, resume=True, **kw).to_dict()
        except ValueError as exc:
            if "cannot resume" not in str(exc):
                raise
    return ntc_run(*args, overwrite=True, **kw).to_dict()


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


__all__ = ["ntc_job", "ntc_sweep", "source_of"]
