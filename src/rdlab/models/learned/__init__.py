"""Learned compressors with a perception term (seed 001): networks, training, evaluation.

- :mod:`~rdlab.models.learned.config` — :class:`LearnedConfig`, presets, data splits;
- :mod:`~rdlab.models.learned.network` — :class:`LearnedModel` (encoder, quantiser, decoder,
  critic);
- :mod:`~rdlab.models.learned.training` — the WGAN-GP training loop;
- :mod:`~rdlab.models.learned.evaluation` — the coding model, the bitstream codec of a model
  (:func:`load_learned_codec`) and the test-split measurements;
- :mod:`~rdlab.models.learned.run` — :func:`learned_run`, one resumable run directory.

The bitstream itself (header, range coding, shared dither) is the coding layer's
:class:`~rdlab.coding.learned.QuantizedLatentCodec`.
"""

from rdlab.models.learned.config import (
    MODEL_FILE,
    MODES,
    PRESETS,
    TRAIN_FILE,
    LearnedConfig,
    check_images,
    data_family,
    is_user_data,
    load_split,
    preset_config,
    run_settings,
    split_images,
)
from rdlab.models.learned.evaluation import (
    LearnedEvaluation,
    eval_distortion,
    evaluate_model,
    finish_model,
    fresh_critic_w1,
    learned_codec,
    load_learned_codec,
    load_model,
)
from rdlab.models.learned.network import LearnedModel
from rdlab.models.learned.run import LearnedRun, learned_run
from rdlab.models.learned.training import (
    TrainState,
    gradient_penalty,
    resume_train_state,
    steps_per_epoch,
    train_model,
    train_state_saver,
    trainable_parts,
)

__all__ = [
    "MODEL_FILE",
    "MODES",
    "PRESETS",
    "TRAIN_FILE",
    "LearnedConfig",
    "LearnedEvaluation",
    "LearnedModel",
    "LearnedRun",
    "TrainState",
    "check_images",
    "data_family",
    "eval_distortion",
    "evaluate_model",
    "finish_model",
    "fresh_critic_w1",
    "gradient_penalty",
    "is_user_data",
    "learned_codec",
    "learned_run",
    "load_learned_codec",
    "load_model",
    "load_split",
    "preset_config",
    "resume_train_state",
    "run_settings",
    "split_images",
    "steps_per_epoch",
    "train_model",
    "train_state_saver",
    "trainable_parts",
]
