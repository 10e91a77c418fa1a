"""Registry of reproductions.

A reproduction is a function ``fn(out_dir: Path, preset: str, seed: int) -> dict`` (or, when
it is registered with the options it takes, ``fn(out_dir, preset, seed, options)`` with an
:class:`ExperimentOptions`) that writes its plots (PNG) and returns a JSON-ready dict of its
numbers, in the glossary's keys (:mod:`rdlab.core.glossary`); :func:`run_experiment` writes
that dict to ``out_dir/results.json`` together with ``config.json`` (which records the options)
and returns a frozen :class:`ExperimentResult`. Presets: ``"quick"`` (minutes on two CPU cores;
used by tests and the demo) and ``"paper"`` (the published settings).

Reproductions register themselves with :func:`register_experiment`; the modules that hold them
are listed in :data:`EXPERIMENT_MODULES` and imported on first use.
"""

from __future__ import annotations

import functools
import importlib
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rdlab.core.glossary import check_keys
from rdlab.core.io import write_json_atomic
from rdlab.core.results import jsonable
from rdlab.core.validation import check_int

PRESETS = ("quick", "paper")

EXPERIMENT_MODULES: tuple[str, ...] = (
    "rdlab.experiments.seed000",
    "rdlab.experiments.seed001",
    "rdlab.experiments.seed001_learned",
    "rdlab.experiments.seed002_nerd",
    "rdlab.experiments.seed002_rcc",
    "rdlab.experiments.ntc",
    "rdlab.experiments.seed003",
    "rdlab.experiments.seed003_shift",
)
"""Modules that register reproductions when imported."""


IMAGE_SETS = ("digits", "mnist", "fmnist", "svhn")
"""The image sets of :meth:`ExperimentOptions.image_data`."""

OPTION_GROUPS = ("data", "device", "executor", "settings")
"""What an experiment may take beyond preset and seed: a data set (``data``, ``data_dir``), a
torch device, an executor for its jobs (``executor``, ``jobs``, ``address``, ``cpus_per_job``,
``gpus_per_job``) and ``--set key=value`` settings."""


@dataclass(frozen=True)
class ExperimentOptions:
    """Typed options of a reproduction (``rdlab reproduce NAME --data ... --jobs ...``).

    Parameters
    ----------
    data : str, optional
        Data set the experiment trains on instead of its preset's.
    data_dir : str, optional
        Folder of the real data sets (default: ``RDLAB_DATA``, then the usual places).
    device : str
        Torch device (``cpu``, ``cuda``, ``cuda:N``).
    executor : {"local", "ray"}
        Where the experiment's jobs run (:mod:`rdlab.experiments.runner`).
    jobs : int
        Workers of the local executor, CPUs of the local Ray instance.
    address : str, optional
        A Ray cluster to join (``--executor ray``).
    cpus_per_job, gpus_per_job : float
        Ray resources of each job.
    settings : mapping
        ``--set key=value`` pairs the experiment documents (values parsed as JSON, else text).
    """

    data: str | None = None
    data_dir: str | None = None
    device: str = "cpu"
    executor: str = "local"
    jobs: int = 1
    address: str | None = None
    cpus_per_job: float | None = None
    gpus_per_job: float = 0.0
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from rdlab.experiments.runner import make_executor

        object.__setattr__(self, "jobs", check_int("jobs", self.jobs, minimum=1, maximum=1024))
        # the format only: whether the device is usable is for the machine that runs the job
        if not isinstance(self.device, str) or not re.match(r"^(cpu|cuda(:\d+)?)$", self.device):
            raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {self.device!r}")
        for name in ("data", "data_dir", "address"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{name} must be a non-empty string or None, got {value!r}")
        if not isinstance(self.settings, Mapping) or not all(
            isinstance(k, str) for k in self.settings
        ):
            raise TypeError("settings must map names (str) to values")
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        if self.executor == "local":  # validates the executor's arguments (Ray's lazily)
            make_executor(
                "local",
                jobs=self.jobs,
                address=self.address,
                cpus_per_job=self.cpus_per_job,
                gpus_per_job=self.gpus_per_job,
            )
        elif self.executor != "ray":
            raise ValueError(f"executor must be local or ray, got {self.executor!r}")

    def used_groups(self) -> set[str]:
        """The option groups set away from their defaults."""
        used = set()
        if self.data is not None or self.data_dir is not None:
            used.add("data")
        if self.device != "cpu":
            used.add("device")
        if self.executor != "local" or self.jobs != 1:
            used.add("executor")
        if self.settings:
            used.add("settings")
        return used

    def image_data(
        self, preset: str, *, default: str | None = None, allowed: tuple[str, ...] = IMAGE_SETS
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """The image set an experiment runs on: ``--data`` if given, else ``default``, else
        MNIST when a data folder is set (``--data-dir``, ``RDLAB_DATA``) or in the paper preset
        and its files are found, else the embedded digits.

        Returns the set's name, the parameters of :func:`rdlab.sources.registry.make_source`
        (``data_dir``; ``split="test"`` for SVHN: the 10 000 images of its test file are the
        figures' data set, which NERD and NTC split as any finite set) and what
        to record (``source``, ``data_dir``, ``rdlab_data`` and why MNIST fell back to digits).
        """
        import os

        import rdlab.sources.nerd_sources  # noqa: F401  (registers the image sets)
        from rdlab.sources.registry import make_source

        name = self.data or default
        params: dict[str, Any] = {"data_dir": self.data_dir} if self.data_dir else {}
        info: dict[str, Any] = {
            "data_dir": self.data_dir,
            "rdlab_data": os.environ.get("RDLAB_DATA"),
        }
        if name is None:
            name = "digits"
            if preset != "quick" or self.data_dir or info["rdlab_data"]:
                try:
                    make_source("mnist", **params, n=1)
                    name = "mnist"
                except FileNotFoundError as exc:
                    info["mnist_unavailable"] = str(exc)
        if name not in allowed:
            raise ValueError(f"data must be one of {', '.join(allowed)} here, got {name!r}")
        if name == "svhn":
            params["split"] = "test"
        return name, params, {"source": name, **info}

    def make_executor(self):
        """The executor these options name (:func:`rdlab.experiments.runner.make_executor`)."""
        from rdlab.experiments.runner import make_executor

        return make_executor(
            self.executor,
            jobs=self.jobs,
            address=self.address,
            cpus_per_job=self.cpus_per_job,
            gpus_per_job=self.gpus_per_job,
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "data": self.data,
                "data_dir": self.data_dir,
                "device": self.device,
                "executor": self.executor,
                "jobs": self.jobs,
                "address": self.address,
                "cpus_per_job": self.cpus_per_job,
                "gpus_per_job": self.gpus_per_job,
                "settings": dict(self.settings),
            }
        )


@dataclass(frozen=True)
class Experiment:
    name: str
    paper: str
    target: str
    description: str
    fn: Callable[..., dict[str, Any]]
    options: tuple[str, ...] = ()
    """The :data:`OPTION_GROUPS` it takes (then ``fn`` takes ``options`` too)."""


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


def register_experiment(
    name: str, *, paper: str, target: str, description: str, options: tuple[str, ...] = ()
):
    """Decorator: register ``fn`` under ``name`` (e.g. ``"001-fig1"``); with ``options`` (some
    of :data:`OPTION_GROUPS`) ``fn`` also takes an :class:`ExperimentOptions`."""
    unknown = set(options) - set(OPTION_GROUPS)
    if unknown:
        raise ValueError(f"unknown option groups {sorted(unknown)}; known: {OPTION_GROUPS}")

    def decorator(fn):
        if name in EXPERIMENTS:
            raise ValueError(f"experiment {name!r} is registered twice")
        EXPERIMENTS[name] = Experiment(name, paper, target, description, fn, tuple(options))
        return fn

    return decorator


def register_variants(
    fn: Callable[..., dict[str, Any]],
    variants: tuple[tuple[str, str, str, dict[str, Any]], ...],
    *,
    paper: str,
    options: tuple[str, ...] = (),
) -> tuple[Callable[..., dict[str, Any]], ...]:
    """Register ``fn`` once per variant ``(name, target, description, keyword arguments)``
    (the same reproduction on other data, say); returns the registered functions."""
    out = []
    for name, target, description, kwargs in variants:
        variant = functools.partial(fn, **kwargs)
        register_experiment(
            name, paper=paper, target=target, description=description, options=options
        )(variant)
        out.append(variant)
    return tuple(out)


IMAGE_SET_WORDS = {
    None: " (MNIST with a data folder, else the embedded digits; --data to choose)",
    "fmnist": " on Fashion-MNIST",
    "svhn": " on SVHN (the 10 000 images of its test file)",
}


def image_set_variants(
    description: str, figures: dict[str | None, tuple[str, str]]
) -> tuple[tuple[str, str, str, dict[str, Any]], ...]:
    """Variants of an image reproduction for :func:`register_variants`: ``figures`` maps the
    default image set (None: MNIST or digits, ``"fmnist"``, ``"svhn"``) to the figure's number
    and target; the function takes ``figure`` and ``default``."""
    return tuple(
        (f"002-fig{number}", target, description + IMAGE_SET_WORDS[default],
         {"figure": number, "default": default})
        for default, (number, target) in figures.items()
    )  # fmt: skip


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
    name: str,
    out_dir: str | Path,
    *,
    preset: str = "quick",
    seed: int = 0,
    overwrite: bool = False,
    options: ExperimentOptions | None = None,
) -> ExperimentResult:
    """Run a registered reproduction into ``out_dir``; its numbers are also in
    ``out_dir/results.json``. A key outside the glossary raises a
    :class:`~rdlab.core.glossary.GlossaryWarning`.

    Raises
    ------
    ValueError
        An unknown experiment or preset, or ``options`` the experiment does not take.
    """
    exp = get_experiment(name)
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    options = ExperimentOptions() if options is None else options
    if not isinstance(options, ExperimentOptions):
        raise TypeError(f"options must be ExperimentOptions, got {type(options).__name__}")
    refused = sorted(options.used_groups() - set(exp.options))
    if refused:
        takes = ", ".join(exp.options) or "none"
        raise ValueError(
            f"{name} does not take the options {', '.join(refused)} (it takes: {takes})"
        )
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
        "options": options.to_dict(),
    }
    write_json_atomic(out / "config.json", config)
    start = time.perf_counter()
    values = exp.fn(out, preset, seed, options) if exp.options else exp.fn(out, preset, seed)
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
