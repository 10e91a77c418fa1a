"""Registry of reproductions.

A reproduction is a function ``fn(out_dir: Path, preset: str, seed: int) -> dict`` that writes
its plots (PNG) and returns a JSON-ready dict of its numbers; :func:`run_experiment` writes that
dict to ``out_dir/results.json`` together with ``config.json``. Presets: ``"quick"`` (minutes on
two CPU cores; used by tests and the demo) and ``"paper"`` (the published settings).

Reproductions register themselves with :func:`register_experiment`; the modules that hold them
are listed in :data:`EXPERIMENT_MODULES` and imported on first use.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdlab.core.io import write_json_atomic

PRESETS = ("quick", "paper")

EXPERIMENT_MODULES: tuple[str, ...] = (
    "rdlab.experiments.seed000",
    "rdlab.experiments.seed001",
    "rdlab.experiments.seed001_learned",
    "rdlab.experiments.seed002_nerd",
    "rdlab.experiments.seed002_rcc",
    "rdlab.experiments.seed003",
)
"""Modules that register reproductions when imported."""


@dataclass(frozen=True)
class Experiment:
    name: str
    paper: str
    target: str
    description: str
    fn: Callable[[Path, str, int], dict[str, Any]]


EXPERIMENTS: dict[str, Experiment] = {}


def register_experiment(name: str, *, paper: str, target: str, description: str):
    """Decorator: register ``fn`` under ``name`` (e.g. ``"001-fig1"``)."""

    def decorator(fn):
        if name in EXPERIMENTS:
            raise ValueError(f"experiment {name!r} is registered twice")
        EXPERIMENTS[name] = Experiment(name, paper, target, description, fn)
        return fn

    return decorator


def _load_all() -> None:
    for module in EXPERIMENT_MODULES:
        importlib.import_module(module)


def list_experiments() -> list[Experiment]:
    _load_all()
    return [EXPERIMENTS[k] for k in sorted(EXPERIMENTS)]


def get_experiment(name: str) -> Experiment:
    _load_all()
    if name not in EXPERIMENTS:
        known = ", ".join(sorted(EXPERIMENTS))
        raise ValueError(f"unknown experiment {name!r}; known: {known}")
    return EXPERIMENTS[name]


def run_experiment(
    name: str, out_dir: str | Path, *, preset: str = "quick", seed: int = 0, overwrite: bool = False
) -> dict[str, Any]:
    """Run a registered reproduction into ``out_dir`` and return its results dict."""
    exp = get_experiment(name)
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    out = Path(out_dir)
    if (out / "results.json").exists() and not overwrite:
        raise FileExistsError(f"{out} already holds a run; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "experiment": name,
        "paper": exp.paper,
        "target": exp.target,
        "preset": preset,
        "seed": seed,
    }
    write_json_atomic(out / "config.json", config)
    start = time.perf_counter()
    results = exp.fn(out, preset, seed)
    results = {**config, "wall_seconds": round(time.perf_counter() - start, 3), **results}
    write_json_atomic(out / "results.json", results)
    return results
