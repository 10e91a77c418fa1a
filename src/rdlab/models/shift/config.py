"""Settings and data of a compression-under-distribution-shift run (seed 003, Sec. 3, App. B).

Two tasks of Liu et al. (2022): ``sr``, MNIST x4 super-resolution (the model sees the
bilinear 7x7 image upsampled back to 28x28), and ``denoise``, SVHN denoising (Gaussian noise of
std 20 on the 0-255 scale, unclipped); :mod:`rdlab.sources.degradations` makes the inputs.
Training is unpaired: the distortion is measured against the degraded input X, the critic
compares the outputs with *clean* images drawn by an independent shuffle of the training split;
the ground truth of an input is used only at test time (Tables 9-10).

Stages (:data:`STAGES`), each one run directory:

- ``end-to-end`` — f, Q, g, h trained on eq. (15), :math:`E\\|X - \\tilde Y\\|^2 + \\lambda
  W_1(p_Y, p_{\\tilde Y})`, with (eq. 14) or without (eq. 16) common randomness;
- ``two-branch`` — the frozen f (and g) of an end-to-end run, two new decoders g1, g2 trained
  jointly on the decomposed loss (18) (Sec. 3.2, Tables 1, 2 joint, 11);
- ``separate`` — f1, g1 trained on (18a) and f2, g2 on (18b) (Table 2, separate);
- ``restore`` — the baseline's U-Net restorer on eq. (70) (B.5);
- ``restore-compress`` — the baseline's compressor of the frozen U-Net's output on eq. (71).

References
----------
.. [1] H. Liu, G. Zhang, J. Chen, A. Khisti, "Cross-Domain Lossy Compression as Entropy
   Constrained Optimal Transport", 2022, Sec. 3 and Appendix B.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.quantizers import check_levels
from rdlab.core.results import jsonable
from rdlab.core.rundir import run_kind_and_seed
from rdlab.core.validation import check_in_range, check_int, check_positive
from rdlab.sources.degradations import TASKS, Degradation

STAGES = ("end-to-end", "two-branch", "separate", "restore", "restore-compress")
BASE_STAGE = {"two-branch": "end-to-end", "separate": "end-to-end",
              "restore-compress": "restore"}  # fmt: skip
"""The stage of the base run each stage builds on."""
CODEC_STAGES = ("end-to-end", "restore-compress")
"""Stages whose model is a codec (writes bitstreams)."""
CRITIC_STAGES = ("end-to-end", "restore", "restore-compress")
"""Stages with a W1 term (a critic trains); (18) has none, so two-branch and separate do not."""
TASK_DATA = {"sr": "mnist", "denoise": "svhn"}
TASK_LEVELS = {"sr": 4, "denoise": 8}
"""UQ levels L of B.2: 4 for super-resolution, 8 for denoising."""
PRESETS = ("quick", "paper")
MAX_LATENT_DIM = 1024
MAX_LEVELS = 256
MAX_WEIGHT = 1e6
"""Largest loss weight (``lam``, ``gp_weight``) and soft-gradient ``sigma``: beyond, float32
losses overflow to inf and training yields NaN."""
MODEL_FILE = "model"
TRAIN_FILE = "train"
QUICK_LAM_FACTOR = 10.0
"""The quick preset's λ is this multiple of the paper's (:func:`preset_config`)."""
TEST_DEGRADATION_SEED = 20220505
"""Seed of the test split's noise (denoising): the same noisy test images for every run."""


@dataclass(frozen=True)
class ShiftConfig:
    """Everything that defines a seed-003 run.

    The rate bound is ``latent_dim * log2(levels)`` bits per image (B.2): Table 5's rates
    4..32 are ``latent_dim`` 2..16 with L = 4, Table 6's 12..114 are 4..38 with L = 8.
    ``lam`` weighs the critic's W1 estimate in MSE-per-pixel units per unit of W1 (eq. 15;
    λ1 of eq. 70 for ``restore``, λ2 of eq. 71 for ``restore-compress``); it is ignored by the
    stages without a critic. ``common_randomness`` must be a bool: True, the decoder subtracts
    the encoder's dither (eq. 14); False, an independent one (eq. 16). Adam's rate ``lr`` and
    ``betas`` are those of every network (Tables 3-4), divided by ``1 / lr_decay_factor`` after
    each epoch in ``lr_decay_epochs``. ``sigma`` is the inverse temperature of the quantiser's
    soft gradient (the official code: 2 / L). ``noise_level`` (0-255 scale) and ``factor`` define
    the degradation. ``unet_width`` is the first width of the baseline's U-Net.
    """

    task: str = "sr"
    stage: str = "end-to-end"
    data: str | None = None
    latent_dim: int = 2
    levels: int = 4
    common_randomness: bool = True
    lam: float = 1e-3
    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    gp_weight: float = 10.0
    n_critic: int = 1
    lr_decay_epochs: tuple[int, ...] = (30,)
    lr_decay_factor: float = 0.2
    sigma: float = 0.5
    factor: int = 4
    noise_level: float = 20.0
    unet_width: int = 32
    n_train: int | None = None
    n_test: int | None = None
    fresh_critic_steps: int = 1000
    eval_batch: int = 500

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.data is not None and not isinstance(self.data, str):
            raise TypeError(f"data must be None or a path, got {type(self.data).__name__}")
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {self.stage!r}")
        if not isinstance(self.common_randomness, bool):
            raise TypeError(
                "common_randomness must be True or False (a bool), got "
                f"{self.common_randomness!r} of type {type(self.common_randomness).__name__}"
            )
        check_int("latent_dim", self.latent_dim, minimum=1, maximum=MAX_LATENT_DIM)
        check_int("levels", self.levels, minimum=2, maximum=MAX_LEVELS)
        check_in_range("lam", self.lam, 0.0, MAX_WEIGHT)
        check_in_range("gp_weight", self.gp_weight, 0.0, MAX_WEIGHT)
        check_in_range("sigma", self.sigma, 0.0, MAX_WEIGHT, low_open=True)
        check_in_range("lr", self.lr, 0.0, 1.0, low_open=True)
        check_in_range("lr_decay_factor", self.lr_decay_factor, 0.0, 1.0, low_open=True)
        check_int("epochs", self.epochs, minimum=1, maximum=100_000)
        check_int("batch_size", self.batch_size, minimum=2, maximum=65_536)
        check_int("n_critic", self.n_critic, minimum=1, maximum=100)
        check_int("unet_width", self.unet_width, minimum=1, maximum=256)
        check_int("fresh_critic_steps", self.fresh_critic_steps, minimum=0, maximum=10**6)
        check_int("eval_batch", self.eval_batch, minimum=1, maximum=65_536)
        for name in ("n_train", "n_test"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=2)
        if (
            not isinstance(self.betas, tuple | list)
            or len(self.betas) != 2
            or not all(isinstance(b, int | float) and 0 <= b < 1 for b in self.betas)
        ):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if not isinstance(self.lr_decay_epochs, tuple | list):
            raise TypeError(
                f"lr_decay_epochs must be a tuple of epochs, got {self.lr_decay_epochs!r}"
            )
        for e in self.lr_decay_epochs:
            check_int("lr_decay_epochs", e, minimum=1)
        self.degradation  # noqa: B018  (checks factor and noise_level)
        if self.task == "sr" and 28 % self.factor:
            raise ValueError(f"factor must divide the 28x28 images of task sr, got {self.factor}")

    @property
    def dataset(self) -> str:
        """What the run trains on: ``data``, or the task's data set (MNIST for ``sr``, SVHN
        for ``denoise``)."""
        return TASK_DATA[self.task] if self.data is None else self.data

    @property
    def degradation(self) -> Degradation:
        return Degradation(self.task, factor=self.factor, noise_level=self.noise_level)

    @property
    def is_codec(self) -> bool:
        return self.stage in CODEC_STAGES

    @property
    def uses_critic(self) -> bool:
        return self.stage in CRITIC_STAGES and self.lam > 0

    @property
    def quantizer(self) -> str:
        """Header name of the codec's quantiser: ``uq`` (shared dither) or ``uq-private``."""
        return "uq" if self.common_randomness else "uq-private"

    @property
    def rate_bound_bits(self) -> float | None:
        """``latent_dim * log2(levels)`` bits per image; None for ``restore`` (no code)."""
        if self.stage == "restore":
            return None
        return self.latent_dim * math.log2(self.levels)

    def lr_factor(self, epoch: int) -> float:
        """Learning-rate multiplier in epoch ``epoch`` (0-based)."""
        return self.lr_decay_factor ** sum(1 for e in self.lr_decay_epochs if epoch >= e)

    def architecture(self) -> dict[str, Any]:
        """What a checkpoint must match to be loaded into this model."""
        return {
            "kind": "shift",
            "task": self.task,
            "stage": self.stage,
            "latent_dim": self.latent_dim,
            "levels": self.levels,
            "unet_width": self.unet_width,
        }

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: object) -> ShiftConfig:
        if not isinstance(d, dict):
            raise ValueError(f"shift settings must be a JSON object, got {type(d).__name__}")
        d = dict(d)
        for key in ("betas", "lr_decay_epochs"):
            if key in d:
                if not isinstance(d[key], list | tuple) or len(d[key]) > 64:
                    raise ValueError(f"shift setting {key} must be a short list")
                d[key] = tuple(d[key])
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown shift settings: {', '.join(unknown)}")
        try:
            return cls(**d)
        except TypeError as exc:
            raise ValueError(f"bad shift settings ({exc})") from None


def latent_dim_for_rate(rate_bits: float, levels: int) -> int:
    """The ``latent_dim`` whose bound ``latent_dim * log2(levels)`` is ``rate_bits`` exactly.

    Raises
    ------
    ValueError
        ``rate_bits`` is not a positive multiple of log2(levels).
    """
    per = math.log2(check_levels(levels))
    d = round(check_positive("rate_bits", rate_bits) / per)
    if d < 1 or abs(d * per - rate_bits) > 1e-9:
        raise ValueError(
            f"rate_bits must be a multiple of log2(levels) = {per:g} bits (levels {levels}), "
            f"got {rate_bits:g}"
        )
    return d


def preset_config(preset: str, task: str, **overrides: Any) -> ShiftConfig:
    """Settings of a preset for a task, with ``overrides`` applied.

    - ``paper`` (B.3, Tables 3-4): Adam 1e-4, betas (0.5, 0.999), gradient penalty 10, batch
      64, one critic batch per coder batch. Super-resolution: 50 epochs, λ = 1e-3, lr / 5
      after epoch 30, all 60 000 MNIST training images, the 10 000 test images; two-branch and
      separate models 100 epochs, lr / 5 after 50. Denoising: 100 epochs, λ = 3e-3, lr / 5
      after 40; two-branch 200 epochs, lr / 5 after 100. The baseline (B.5): λ1 = 0.05 (SR) /
      0.03 (denoising) for the U-Net, λ2 = 0.01 / 0.005 for its compressor, with the
      end-to-end schedule.
    - ``quick``: the same networks and optimisers on 6000 training and 1000 test images (SR),
      4000 / 1000 (denoising), 4 epochs (lr / 5 after 3), a fresh critic of 300 steps, and
      :data:`QUICK_LAM_FACTOR` times the paper's λ: in a budget 125 times shorter the paper's
      λ leaves the W1 term without effect (SR at rate 4 with λ = 1e-3: fresh-critic W1 7.9
      and MSE 0.03658 with common randomness, 0.03651 without; with λ = 1e-2: W1 7.2, MSE
      0.0433 and 0.0467, docs/reproductions.md).
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    stage = overrides.get("stage", "end-to-end")
    levels = check_levels(overrides.get("levels", TASK_LEVELS[task]))
    sr = task == "sr"
    lam = {
        "end-to-end": 1e-3 if sr else 3e-3,
        "restore": 0.05 if sr else 0.03,
        "restore-compress": 0.01 if sr else 0.005,
    }.get(stage, 0.0)
    long = stage in ("two-branch", "separate")
    epochs, decay = ((100, 50) if long else (50, 30)) if sr else ((200, 100) if long else (100, 40))
    base: dict[str, Any] = {
        "task": task,
        "levels": levels,
        "sigma": 2.0 / levels,
        "lam": lam,
        "epochs": epochs,
        "lr_decay_epochs": (decay,),
    }
    if preset == "quick":
        base["lam"] = lam * QUICK_LAM_FACTOR
        base.update(
            epochs=4, lr_decay_epochs=(3,), n_train=6000 if sr else 4000, n_test=1000,
            fresh_critic_steps=300,
        )  # fmt: skip
    base.update(overrides)
    return ShiftConfig(**base)


def run_settings(cfg_all: dict[str, Any], where: str | Path) -> tuple[ShiftConfig, int]:
    """Settings and seed of a shift run from its ``config.json``, checked (untrusted input)."""
    seed = run_kind_and_seed(cfg_all, "shift", where)
    try:
        return ShiftConfig.from_dict(cfg_all["config"]), seed
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def task_images(cfg: ShiftConfig, split: str, data_dir: str | Path | None = None) -> np.ndarray:
    """Clean images of the task's ``split`` (its first ``n_train`` / ``n_test``), float32
    ``(n, C, H, W)`` in [0, 1]. SVHN: when only ``test_32x32.mat`` is at hand, its first 80 %
    train and its last 20 % test (:func:`rdlab.models.learned.load_split`)."""
    import warnings

    from rdlab.models.architectures import IMAGE_SHAPES
    from rdlab.models.learned import check_images, data_family, load_split

    family = TASK_DATA[cfg.task]
    if data_family(cfg.dataset) != family:
        raise ValueError(
            f"data: the {cfg.task} task needs images of shape {IMAGE_SHAPES[family]}, "
            f"{cfg.dataset} holds {data_family(cfg.dataset)} images"
        )
    n = cfg.n_train if split == "train" else cfg.n_test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the SVHN split is recorded in the run
        images = load_split(cfg.dataset, split, data_dir=data_dir, n=n)
    return check_images(f"{split} images", images, IMAGE_SHAPES[family])


def eval_pair(
    cfg: ShiftConfig, data_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The test split's ground truth Y and degraded inputs X (the same for every run)."""
    y = task_images(cfg, "test", data_dir)
    return y, cfg.degradation.apply(y, seed=TEST_DEGRADATION_SEED)


__all__ = [
    "BASE_STAGE",
    "CODEC_STAGES",
    "CRITIC_STAGES",
    "MODEL_FILE",
    "PRESETS",
    "QUICK_LAM_FACTOR",
    "STAGES",
    "TASK_DATA",
    "TASK_LEVELS",
    "TEST_DEGRADATION_SEED",
    "TRAIN_FILE",
    "ShiftConfig",
    "eval_pair",
    "latent_dim_for_rate",
    "preset_config",
    "run_settings",
    "task_images",
]
