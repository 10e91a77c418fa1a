"""Nonlinear transform coding: the DNN-compressor baseline of seed 002 (Ballé et al. 2021).

- :mod:`~rdlab.models.ntc.density` — the factorised non-parametric density of Ballé et al.
  (2018), appendix 6.1, and the coding tables built from it;
- :mod:`~rdlab.models.ntc.model` — :class:`NTCConfig`, the transforms, training, the run
  directory (:func:`ntc_run`) and the bitstream codec (:func:`ntc_codec`,
  :func:`load_ntc_codec`).
"""

from rdlab.models.ntc.density import factorized_density
from rdlab.models.ntc.model import (
    NTC_PRESETS,
    SELECTION_SAMPLES,
    NTCConfig,
    NTCModel,
    NTCRun,
    NTCTables,
    candidate_seed,
    from_blocks,
    load_ntc_codec,
    ntc_codec,
    ntc_config,
    ntc_objective,
    ntc_run,
    to_blocks,
    train_ntc,
)

__all__ = [
    "NTC_PRESETS",
    "SELECTION_SAMPLES",
    "NTCConfig",
    "NTCModel",
    "NTCRun",
    "NTCTables",
    "candidate_seed",
    "factorized_density",
    "from_blocks",
    "load_ntc_codec",
    "ntc_codec",
    "ntc_config",
    "ntc_objective",
    "ntc_run",
    "to_blocks",
    "train_ntc",
]
