"""Registry of reproductions.

A reproduction is a function ``fn(out_dir: Path, preset: str, seed: int) -> dict`` that writes
its plots (PNG) and returns a JSON-ready dict of its numbers, in the glossary's keys
(:mod:`rdlab.core.glossary`); :func:`run_experiment` writes that dict to
``out_dir/results.json`` together with ``config.json`` and returns a frozen
:class:`ExperimentResult`. Presets: ``"quick"`` (minutes on
two CPU cores; used by tests and the demo) and ``"paper"`` (the published settings).

Reproductions register themselves with :func:`register_experiment`; the modules that hold them
are listed in :data:`EXPERIMENT_MODULES` and imported on first use.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rdlab.core.glossary import check_keys
from rdlab.core.io import write_json_atomic
from rdlab.core.results import jsonable

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


@dataclass(frozen=True)
class ExperimentResult(Mapping[str, Any]):
    """The outcome of :func:`run_experiment`: what ran and the numbers it measured.

    It reads as the mapping :meth:`to_dict` (``result["points"]``), which is the run's
    ``results.json``.

    Attributes
    ----------
    experiment, paper, target : str
        The reproduction (:class:`Experiment`).
    preset : str
        ``"quick"`` or ``"paper"``.
    seed : int
    wall_seconds : float
        Wall-clock time of the reproduction.
    values : mapping
        The reproduction's own numbers, in the glossary's keys.
    """

    experiment: str
    paper: str
    target: str
    preset: str
    seed: int
    wall_seconds: float
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict written to ``results.json``."""
        head = {
            "experiment": self.experiment,
            "paper": self.paper,
            "target": self.target,
            "preset": self.preset,
            "seed": self.seed,
            "wall_seconds": self.wall_seconds,
        }
        return jsonable({**head, **self.values})

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


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
) -> ExperimentResult:
    """Run a registered reproduction into ``out_dir``; its numbers are also in
    ``out_dir/results.json``. A key outside the glossary raises a
    :class:`~rdlab.core.glossary.GlossaryWarning`."""
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
    values = exp.fn(out, preset, seed)
    result = ExperimentResult(
        experiment=name,
        paper=exp.paper,
        target=exp.target,
        preset=preset,
        seed=seed,
        wall_seconds=round(time.perf_counter() - start, 3),
        values=values,
    )
    results = result.to_dict()
    check_keys(results, f"experiment {name}")
    write_json_atomic(out / "results.json", results)
    return result
