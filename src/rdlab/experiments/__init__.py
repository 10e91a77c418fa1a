"""Experiments layer: a registry of reproductions, one per paper table or figure."""

from rdlab.experiments.registry import (
    EXPERIMENTS,
    Experiment,
    ExperimentOptions,
    ExperimentResult,
    get_experiment,
    register_experiment,
    run_experiment,
)

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExperimentOptions",
    "ExperimentResult",
    "get_experiment",
    "register_experiment",
    "run_experiment",
]
