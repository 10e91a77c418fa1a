"""Compression under distribution shift (seed 003, Sec. 3 and Appendix B): super-resolution
and denoising over compressed representations, with and without common randomness.

- :mod:`~rdlab.models.shift.config` — :class:`ShiftConfig`, presets, the task's data;
- :mod:`~rdlab.models.shift.network` — the networks of Tables 12-15 and the U-Net baseline;
- :mod:`~rdlab.models.shift.training` — the losses (15), (18), (70), (71), unpaired training;
- :mod:`~rdlab.models.shift.evaluation` — codec, test measurements;
- :mod:`~rdlab.models.shift.run` — :func:`shift_run`, one resumable run directory.
"""

from rdlab.models.shift.config import (
    PRESETS,
    STAGES,
    TASK_LEVELS,
    ShiftConfig,
    eval_pair,
    latent_dim_for_rate,
    preset_config,
    run_settings,
    task_images,
)
from rdlab.models.shift.evaluation import (
    PER_IMAGE_FILE,
    ShiftEvaluation,
    eval_noise,
    evaluate_shift,
    load_shift_codec,
    load_shift_model,
    per_image_mse,
    shift_codec,
    stage_outputs,
)
from rdlab.models.shift.network import ShiftModel
from rdlab.models.shift.run import ShiftRun, shift_run
from rdlab.models.shift.training import coder_forward, train_shift

__all__ = [
    "PER_IMAGE_FILE",
    "PRESETS",
    "STAGES",
    "TASK_LEVELS",
    "ShiftConfig",
    "ShiftEvaluation",
    "ShiftModel",
    "ShiftRun",
    "coder_forward",
    "eval_noise",
    "eval_pair",
    "evaluate_shift",
    "latent_dim_for_rate",
    "load_shift_codec",
    "load_shift_model",
    "per_image_mse",
    "preset_config",
    "run_settings",
    "shift_codec",
    "shift_run",
    "stage_outputs",
    "task_images",
    "train_shift",
]
