"""Configuration and data of a learned-codec training run (seed 001, Appendix B).

:class:`LearnedConfig` is everything that defines a run; :func:`preset_config` gives the
``quick`` and ``paper`` presets; :func:`load_split` / :func:`split_images` read a data set's
train or test images, checked, as float32 in [0, 1].
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.quantizers import check_gradient, check_levels, check_quantizer
from rdlab.core.results import jsonable
from rdlab.core.rundir import run_kind_and_seed
from rdlab.core.validation import check_int, check_nonnegative, check_positive
from rdlab.models.architectures import DATA_FAMILIES, IMAGE_SHAPES

MODES = ("end-to-end", "universal", "refinement")
MAX_LATENT_DIM = 1 << 16
"""Most latent dimensions a learned codec may send."""
MAX_WIDTH = 64.0
"""Largest channel multiplier (``encoder_width``, ``refine_width``)."""
PRESETS = ("quick", "paper")

MODEL_FILE = "model"
"""Checkpoint name of a finished model (weights, critic, coding model): ``model.safetensors``."""
TRAIN_FILE = "train"
"""Checkpoint name of the training state (weights, optimizers, step): ``train.safetensors``."""

DIGITS_TEST = 297
"""The last 297 of scikit-learn's 1797 digits are the test split; the first 1500 train."""


@dataclass(frozen=True)
class LearnedConfig:
    """Everything that defines a learned-codec training run.

    Rates: the code costs at most ``latent_dim * log2(levels)`` bits (plus
    ``refine_latent_dim * log2(refine_levels)`` for a refinement model). ``lam`` is the
    perception weight in MSE units per unit W1; learning rates are Adam's.

    ``warmup_lam`` > 0 adds a perception weight that falls linearly from ``warmup_lam`` at
    epoch 0 to 0 at epoch ``warmup_epochs`` (the official uRDP code does this with 5e-4 over
    12 epochs at lambda = 0); the critic trains while the total weight is positive.

    ``gradient`` is the quantiser's backward pass: ``"soft"`` (the soft-to-hard gradient of
    seed 001 B.1, inverse temperature ``sigma``) or ``"identity"`` (straight-through).

    ``soft_epochs`` > 0 trains the first ``soft_epochs`` epochs with the soft assignment as the
    decoder's input (not only its gradient), so the decoder learns on continuous inputs before
    the hard values take over (not in the paper; default 0).
    """

    data: str = "digits"
    quantizer: str = "uq"
    latent_dim: int = 3
    levels: int = 3
    lam: float = 0.0
    mode: str = "end-to-end"
    refine_latent_dim: int = 0
    refine_levels: int = 0
    encoder_width: float = 1.0
    refine_width: float = 1.0
    sigma: float = 1.0
    gradient: str = "soft"
    epochs: int = 30
    batch_size: int = 64
    lr_coder: float = 1e-2
    betas_coder: tuple[float, float] = (0.5, 0.9)
    lr_critic: float = 2e-4
    betas_critic: tuple[float, float] = (0.5, 0.9)
    gp_weight: float = 10.0
    n_critic: int = 1
    lr_decay_epochs: tuple[int, ...] = (20,)
    lr_decay_factor: float = 0.2
    n_train: int | None = None
    n_test: int | None = None
    init_from_base: bool = True
    train_critic_at_zero: bool = False
    warmup_lam: float = 0.0
    warmup_epochs: int = 0
    soft_epochs: int = 0
    fresh_critic_steps: int = 1000
    eval_batch: int = 500

    def __post_init__(self) -> None:
        data_family(self.data)
        check_quantizer(self.quantizer)
        check_gradient(self.gradient)
        check_int("latent_dim", self.latent_dim, minimum=1, maximum=MAX_LATENT_DIM)
        check_levels(self.levels)
        if not isinstance(self.lam, int | float) or not math.isfinite(self.lam) or self.lam < 0:
            raise ValueError(f"lam must be a finite number >= 0, got {self.lam!r}")
        check_nonnegative("warmup_lam", self.warmup_lam)
        check_int("warmup_epochs", self.warmup_epochs, minimum=0)
        if self.warmup_lam > 0 and self.warmup_epochs < 1:
            raise ValueError("warmup_lam > 0 needs warmup_epochs >= 1")
        check_int("soft_epochs", self.soft_epochs, minimum=0)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.mode == "refinement":
            check_int(
                "refine_latent_dim", self.refine_latent_dim, minimum=1, maximum=MAX_LATENT_DIM
            )
            check_levels(self.refine_levels, "refine_levels")
        elif self.refine_latent_dim or self.refine_levels:
            raise ValueError("refine_latent_dim and refine_levels belong to mode='refinement'")
        for name in ("encoder_width", "refine_width", "sigma", "lr_coder", "lr_critic"):
            check_positive(name, getattr(self, name))
        for name in ("encoder_width", "refine_width"):
            if getattr(self, name) > MAX_WIDTH:
                raise ValueError(f"{name} must be at most {MAX_WIDTH}, got {getattr(self, name)}")
        check_nonnegative("gp_weight", self.gp_weight)
        check_positive("lr_decay_factor", self.lr_decay_factor)
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=2)
        check_int("n_critic", self.n_critic, minimum=1)
        check_int("fresh_critic_steps", self.fresh_critic_steps, minimum=0)
        check_int("eval_batch", self.eval_batch, minimum=1)
        for name in ("n_train", "n_test"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=2)
        for name in ("betas_coder", "betas_critic"):
            b = getattr(self, name)
            if len(b) != 2 or not all(0 <= v < 1 for v in b):
                raise ValueError(f"{name} must be two numbers in [0, 1), got {b!r}")

    @property
    def family(self) -> str:
        """The architecture family: of the data set's name, or of a user's images by shape."""
        return data_family(self.data)

    @property
    def levels_per_dim(self) -> tuple[int, ...]:
        base = (self.levels,) * self.latent_dim
        return base + (self.refine_levels,) * self.refine_latent_dim

    @property
    def rate_bound_bits(self) -> float:
        """Bits per input of a fixed-length code: sum of log2 L over the sent dimensions."""
        return float(sum(math.log2(v) for v in self.levels_per_dim))

    @property
    def uses_critic(self) -> bool:
        """Whether the critic trains through the whole run (its own W1 is then reported)."""
        return self.lam > 0 or self.train_critic_at_zero

    def lam_at(self, epoch: int) -> float:
        """Perception weight in epoch ``epoch`` (0-based): ``lam`` plus the warm-up term."""
        if self.warmup_lam <= 0 or epoch >= self.warmup_epochs:
            return float(self.lam)
        return self.lam + self.warmup_lam * (self.warmup_epochs - epoch) / self.warmup_epochs

    def critic_trains_at(self, epoch: int) -> bool:
        return self.uses_critic or self.lam_at(epoch) > 0

    def architecture(self) -> dict[str, Any]:
        """What a checkpoint must match to be loaded into this model."""
        return {
            "kind": "learned-codec",
            "family": self.family,
            "quantizer": self.quantizer,
            "latent_dim": self.latent_dim,
            "levels": self.levels,
            "encoder_width": self.encoder_width,
            "refine_latent_dim": self.refine_latent_dim,
            "refine_levels": self.refine_levels,
            "refine_width": self.refine_width,
        }

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LearnedConfig:
        if not isinstance(d, dict):
            raise ValueError(
                f"learned-codec settings must be a JSON object, got {type(d).__name__}"
            )
        d = dict(d)
        for key in ("betas_coder", "betas_critic", "lr_decay_epochs"):
            if key in d:
                d[key] = tuple(d[key])
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown learned-codec settings: {', '.join(unknown)}")
        return cls(**d)


def run_settings(cfg_all: dict[str, Any], where: str | Path) -> tuple[LearnedConfig, int]:
    """The settings and seed of a learned-codec run from its ``config.json`` (as read by
    :meth:`~rdlab.core.rundir.RunDir.read_config`), checked: a run directory is untrusted input.

    Raises
    ------
    ValueError
        Not a learned-codec run, no or malformed ``config`` object, a seed that is not an
        integer in [0, 2^64), or settings outside their ranges (:class:`LearnedConfig`).
    """
    seed = run_kind_and_seed(cfg_all, "learned-codec", where)
    try:
        cfg = LearnedConfig.from_dict(cfg_all["config"])
    except TypeError as exc:
        raise ValueError(f"{where}: bad learned-codec settings in config.json ({exc})") from None
    return cfg, seed


def preset_config(preset: str, data: str, **overrides: Any) -> LearnedConfig:
    """Training settings of a preset for a data set, with ``overrides`` applied.

    - ``paper``: MNIST / Fashion-MNIST 30 epochs, Adam lr 1e-2 (coder) and 2e-4 (critic),
      betas (0.5, 0.9), lr / 5 after epoch 20 (Table 7); SVHN 80 epochs, lr 1e-4 and betas
      (0.5, 0.999) everywhere, lr / 5 after epoch 25, sigma = 2/L as the official code
      (Table 11). Batch 64, gradient penalty 10.
    - ``quick``: MNIST / Fashion-MNIST on the first 10 000 training images, 6 epochs (lr / 5
      after 4), test on 2000; SVHN 8 epochs (lr / 5 after 6). Minutes per model on two cores.
    - digits (not in the paper; both presets): Adam 1e-3 for coder and critic, three critic
      batches per coder batch, 20 epochs (lr / 5 after 15) in ``quick``, 60 (after 45) in
      ``paper``; seconds per model.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    family = data_family(data)
    base: dict[str, Any] = {"data": data}
    if family == "svhn":
        levels = overrides.get("levels", LearnedConfig.levels)
        base.update(
            lr_coder=1e-4,
            lr_critic=1e-4,
            betas_coder=(0.5, 0.999),
            betas_critic=(0.5, 0.999),
            sigma=2.0 / check_levels(levels),
            epochs=80,
            lr_decay_epochs=(25,),
        )
        if preset == "quick":
            base.update(epochs=8, lr_decay_epochs=(6,), n_test=2000)
    elif family == "mnist":
        base.update(epochs=30, lr_decay_epochs=(20,))
        if preset == "quick":
            base.update(epochs=6, lr_decay_epochs=(4,), n_train=10000, n_test=2000)
    else:
        # digits: with MNIST's rates (coder 1e-2, critic 2e-4, one critic step per coder step)
        # a critic sees too few batches on 1500 images to learn anything, and W1 grows with
        # lambda; these settings give a trade-off (docs/reproductions.md, 001-fig4).
        base.update(
            lr_coder=1e-3,
            lr_critic=1e-3,
            n_critic=3,
            epochs=20 if preset == "quick" else 60,
            lr_decay_epochs=(15,) if preset == "quick" else (45,),
        )
    base.update(overrides)
    return LearnedConfig(**base)


USER_SPLIT_SEED = 0
"""Seed of the held-out split of a user's data (:func:`rdlab.sources.user_data.split_indices`):
one sixth of the images (at least one) are the test split, the same for every run."""


def is_user_data(data: str) -> bool:
    """Whether ``data`` names a user's data (a path) rather than a built-in data set."""
    return data not in DATA_FAMILIES


def data_family(data: str) -> str:
    """The architecture family of a data set name (``mnist``, ``fmnist``, ``svhn``, ``digits``)
    or of a user's images (``.npy`` or image folder) by their shape: (1, 8, 8) digits,
    (1, 28, 28) mnist, (3, 32, 32) svhn.

    Raises
    ------
    ValueError
        An unknown name, or user data that are not images of one of those shapes.
    """
    if not isinstance(data, str):
        raise TypeError(f"data must be a data set name or a path, got {type(data).__name__}")
    if not is_user_data(data):
        return DATA_FAMILIES[data]
    from rdlab.sources.user_data import peek_sample_shape

    try:
        kind, shape = peek_sample_shape(data)
    except FileNotFoundError:
        raise ValueError(
            f"data must be one of {', '.join(sorted(DATA_FAMILIES))} or a path to your images, "
            f"got {data!r} (no such file or folder)"
        ) from None
    for family, family_shape in IMAGE_SHAPES.items():
        if kind == "images" and shape == family_shape:
            return family
    shapes = ", ".join(f"{s} ({f})" for f, s in IMAGE_SHAPES.items())
    raise ValueError(
        f"{data}: learned codecs have architectures for images of shape {shapes}; these "
        f"data are {kind} of shape {shape}"
    )


def user_split(data: str) -> tuple[Any, np.ndarray, np.ndarray]:
    """A user's images, and the held-out (test) and training row indices of their split."""
    from rdlab.sources.user_data import load_data, split_indices

    loaded = load_data(data)
    if loaded.kind != "images":
        raise ValueError(f"{data}: learned codecs code images, these data are {loaded.kind}")
    held, train = split_indices(loaded.n, max(1, loaded.n // 6), USER_SPLIT_SEED)
    return loaded, held, train


def data_record(data: str) -> dict[str, Any] | None:
    """What a run records about a user's data: path, SHA-256, shape and the held-out split
    (None for a built-in data set)."""
    if not is_user_data(data):
        return None
    import hashlib

    loaded, held, train = user_split(data)
    return {
        **loaded.describe(),
        "split_kind": "held-out rows",
        "split_seed": USER_SPLIT_SEED,
        "n_eval": int(held.size),
        "n_train": int(train.size),
        "heldout_sha256": hashlib.sha256(np.asarray(held, dtype="<i8").tobytes()).hexdigest(),
    }


def load_split(
    data: str, split: str, *, data_dir: str | Path | None = None, n: int | None = None
) -> np.ndarray:
    """Images of a split as uint8 ``(n, C, H, W)`` (MNIST unpadded, 28x28), or a user's images
    (a path: float32 in [0, 1], split by :func:`user_split`).

    ``digits`` has no official split: its first 1500 images train, the last 297 test. SVHN
    reads ``train_32x32.mat``; if only the test file is present, the train split is its first
    80 % and the test split its last 20 % (with a warning).
    """
    from rdlab.sources.images import image_source

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    data_family(data)
    if is_user_data(data):
        loaded, held, train = user_split(data)
        images = loaded.array[held if split == "test" else train]
    elif data == "digits":
        images = image_source("digits").data
        images = images[:-DIGITS_TEST] if split == "train" else images[-DIGITS_TEST:]
    elif data == "svhn":
        try:
            images = image_source("svhn", split=split, data_dir=data_dir).data
            if split == "test":
                image_source("svhn", split="train", data_dir=data_dir)
        except FileNotFoundError:
            all_test = image_source("svhn", split="test", data_dir=data_dir).data
            cut = int(0.8 * len(all_test))
            warnings.warn(
                "SVHN train_32x32.mat not found: training on the first 80 % of the test images "
                "and testing on the last 20 %",
                UserWarning,
                stacklevel=2,
            )
            images = all_test[:cut] if split == "train" else all_test[cut:]
    else:
        images = image_source(data, split=split, data_dir=data_dir, pad_to=28).data
    if n is not None:
        images = images[: check_int("n", n, minimum=1)]
    return np.ascontiguousarray(images)


def check_images(name: str, images: object, shape: tuple[int, ...]) -> np.ndarray:
    """``images`` as a uint8 or float array of shape (n, *shape) with values in [0, 1] (float)
    or 0..255 (uint8); returned as float32 in [0, 1]. Single-channel images may come as
    (n, H, W) and any images flattened as (n, C*H*W) (the ``--data`` convention)."""
    a = np.asarray(images)
    if a.ndim == len(shape) + 1 and tuple(a.shape[1:]) == tuple(shape):
        pass
    elif shape[0] == 1 and a.ndim == len(shape) and tuple(a.shape[1:]) == tuple(shape[1:]):
        a = a[:, None]
    elif a.ndim == 2 and a.shape[1] == int(np.prod(shape)):
        a = a.reshape(a.shape[0], *shape)
    else:
        raise ValueError(f"{name} must have shape (n, {', '.join(map(str, shape))}), got {a.shape}")
    if a.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one image")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be uint8 (0..255) or float in [0, 1], got {a.dtype}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    if a.min() < 0 or a.max() > 1:
        raise ValueError(
            f"{name} must lie in [0, 1] (float pixels), got [{a.min():.4g}, {a.max():.4g}]"
        )
    return a.astype(np.float32)


def split_images(cfg: LearnedConfig, split: str, data_dir: str | Path | None = None) -> np.ndarray:
    """The ``split`` images of ``cfg``'s data set (its first ``n_train`` / ``n_test``) as float32
    ``(n, C, H, W)`` in [0, 1], checked against the architecture's image shape."""
    n = cfg.n_train if split == "train" else cfg.n_test
    images = load_split(cfg.data, split, data_dir=data_dir, n=n)
    return check_images(f"{split} images", images, IMAGE_SHAPES[cfg.family])


__all__ = [
    "DIGITS_TEST",
    "MODEL_FILE",
    "MODES",
    "PRESETS",
    "TRAIN_FILE",
    "LearnedConfig",
    "check_images",
    "data_family",
    "data_record",
    "is_user_data",
    "load_split",
    "preset_config",
    "run_settings",
    "split_images",
    "user_split",
]
