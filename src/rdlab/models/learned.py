"""Learned compressors with a perception term: training (seed 001, Sec. 4 and Appendix B).

A model is an encoder f (latents in [-1, 1]^d), a scalar quantiser (DQ, NQ or UQ,
:mod:`rdlab.coding.quantizers`), a decoder g and a WGAN-GP critic h. The loss of f and g is

.. math:: \\mathrm{MSE}(x, \\hat x) + \\lambda\\, \\widehat{W_1}(p_X, p_{\\hat X}),
          \\qquad \\widehat{W_1} = \\mathbb E\\, h(X) - \\mathbb E\\, h(\\hat X),

with MSE the mean squared error per pixel (pixels in [0, 1]); so :math:`\\lambda` is in MSE
units per unit of the critic's W1 estimate. Critic steps and coder steps alternate on
successive batches (``n_critic`` critic batches, then one coder batch, as the official code
with ``n_critic = 1``); the critic maximises :math:`\\widehat{W_1}` minus the gradient penalty
:math:`10\\,\\mathbb E(\\|\\nabla h(\\tilde x)\\| - 1)^2` on random interpolates (Gulrajani et al.).
In a critic step the coder runs in train mode without gradients (as in the official code): its
BatchNorm layers normalise with batch statistics, exactly as in the coder steps, and their
running averages (used only at evaluation) also see the critic's batches, which are real
training batches too.

Three modes:

- ``end-to-end``: f, g, h trained together (Tables 5 and 9 sweep :math:`\\lambda`);
- ``universal``: f is loaded from an end-to-end run and frozen **in eval mode** (its
  parameters and BatchNorm statistics never change — the official code leaves BatchNorm in
  train mode, so its "frozen" encoder drifts); a decoder and critic are trained for each
  :math:`\\lambda_i`, starting from the base run's decoder and critic (``init_from_base``);
- ``refinement`` (B.3): the frozen base encoder plus a trainable refining encoder
  :math:`f^+` (``refine_latent_dim`` dims of ``refine_levels`` levels) and a new decoder
  :math:`g^+` reading both codes.

Work that cannot change the result is skipped: with :math:`\\lambda = 0` no critic is trained
(its batches are skipped too, so the coder sees exactly the batches it would see with the
critic running). Every step's randomness (data order, dither, interpolation weights) derives
from ``(seed, step)``, so a run resumed from its checkpoint ends bit-identical to an
uninterrupted one on the same device and thread count.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.quantizers import (
    ScalarQuantizer,
    check_gradient,
    check_levels,
    check_quantizer,
)
from rdlab.core.results import _jsonable
from rdlab.core.rundir import RunDir
from rdlab.core.torch_state import (
    check_device,
    load_optimizer_tensors,
    optimizer_tensors,
    step_seed,
)
from rdlab.core.validation import check_int, check_nonnegative, check_positive
from rdlab.models.architectures import (
    IMAGE_SHAPES,
    build_critic,
    build_decoder,
    build_encoder,
    family_of,
)

MODES = ("end-to-end", "universal", "refinement")
PRESETS = ("quick", "paper")

MODEL_FILE = "model"
"""Checkpoint name of a finished model (weights, critic, coding model): ``model.safetensors``."""
TRAIN_FILE = "train"
"""Checkpoint name of the training state (weights, optimizers, step): ``train.safetensors``."""

DIGITS_TEST = 297
"""The last 297 of scikit-learn's 1797 digits are the test split; the first 1500 train."""


# -- configuration -----------------------------------------------------------------------------


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
        family_of(self.data)
        check_quantizer(self.quantizer)
        check_gradient(self.gradient)
        check_int("latent_dim", self.latent_dim, minimum=1)
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
            check_int("refine_latent_dim", self.refine_latent_dim, minimum=1)
            check_levels(self.refine_levels, "refine_levels")
        elif self.refine_latent_dim or self.refine_levels:
            raise ValueError("refine_latent_dim and refine_levels belong to mode='refinement'")
        for name in ("encoder_width", "refine_width", "sigma", "lr_coder", "lr_critic"):
            check_positive(name, getattr(self, name))
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
        return family_of(self.data)

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
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LearnedConfig:
        d = dict(d)
        for key in ("betas_coder", "betas_critic", "lr_decay_epochs"):
            if key in d:
                d[key] = tuple(d[key])
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown learned-codec settings: {', '.join(unknown)}")
        return cls(**d)


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
    family = family_of(data)
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


# -- data ----------------------------------------------------------------------------------------


def load_split(
    data: str, split: str, *, data_dir: str | Path | None = None, n: int | None = None
) -> np.ndarray:
    """Images of a split as uint8 ``(n, C, H, W)`` (MNIST unpadded, 28x28).

    ``digits`` has no official split: its first 1500 images train, the last 297 test. SVHN
    reads ``train_32x32.mat``; if only the test file is present, the train split is its first
    80 % and the test split its last 20 % (with a warning).
    """
    from rdlab.sources.images import image_source

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    family_of(data)
    if data == "digits":
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
    or 0..255 (uint8); returned as float32 in [0, 1]."""
    a = np.asarray(images)
    if a.ndim == len(shape) + 1 and tuple(a.shape[1:]) == tuple(shape):
        pass
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


# -- the model ---------------------------------------------------------------------------------


class LearnedCodec:
    """Encoder(s), quantiser(s), decoder and critic of one configuration (torch modules).

    Attributes
    ----------
    encoder, refiner, decoder, critic : torch.nn.Module
        ``refiner`` is None unless ``config.mode == "refinement"``.
    quantizers : list of ScalarQuantizer
        One per code (base, then refining).
    """

    def __init__(self, config: LearnedConfig, seed: int = 0, device: str = "cpu") -> None:
        import torch

        self.config = config
        self.device = check_device(device)
        fam = config.family
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(step_seed(seed, 10**9))
            self.encoder = build_encoder(fam, config.latent_dim, config.encoder_width)
            self.refiner = (
                build_encoder(fam, config.refine_latent_dim, config.refine_width)
                if config.mode == "refinement"
                else None
            )
            self.decoder = build_decoder(fam, config.latent_dim + config.refine_latent_dim)
            self.critic = build_critic(fam)
        for m in self.modules().values():
            m.to(self.device)
        codes = [(config.levels, config.latent_dim)]
        if self.refiner is not None:
            codes.append((config.refine_levels, config.refine_latent_dim))
        self.quantizers = [
            ScalarQuantizer(
                config.quantizer, levels, dim, sigma=config.sigma, gradient=config.gradient
            )
            for levels, dim in codes
        ]
        self.image_shape = IMAGE_SHAPES[fam]

    def modules(self) -> dict[str, Any]:
        mods = {"encoder": self.encoder, "decoder": self.decoder, "critic": self.critic}
        if self.refiner is not None:
            mods["refiner"] = self.refiner
        return mods

    @property
    def code_dim(self) -> int:
        return sum(q.dim for q in self.quantizers)

    def noise(self, n: int, generator: Any = None):
        """u of every code, concatenated: (n, code_dim), column j ~ U[-Δ_j/2, Δ_j/2)."""
        import torch

        return torch.cat([q.noise(n, generator, self.device) for q in self.quantizers], dim=1)

    def _split(self, t: Any) -> list[Any]:
        out, start = [], 0
        for q in self.quantizers:
            out.append(t[:, start : start + q.dim])
            start += q.dim
        return out

    def latents(self, x: Any):
        """Encoder outputs of every code, concatenated (before quantisation)."""
        import torch

        z = [self.encoder(x)]
        if self.refiner is not None:
            z.append(self.refiner(x))
        return torch.cat(z, dim=1)

    def reconstruct(self, x: Any, u: Any, *, soft: bool = False):
        """Training path: x -> latents -> quantiser (hard forward, soft gradient) -> decoder.

        ``soft=True``: the soft assignment forward too (the ``soft_epochs`` warm-up).
        """
        import torch

        z = self._split(self.latents(x))
        us = self._split(u)
        y = torch.cat(
            [q(zi, ui, soft=soft) for q, zi, ui in zip(self.quantizers, z, us, strict=True)], 1
        )
        return self.decoder(y)

    def symbols(self, x: Any, u: Any):
        """Sent symbols, (n, code_dim) int64."""
        import torch

        z = self._split(self.latents(x))
        us = self._split(u)
        return torch.cat(
            [q.symbols(zi, ui) for q, zi, ui in zip(self.quantizers, z, us, strict=True)], 1
        )

    def decode_symbols(self, symbols: Any, u: Any):
        """Decoder output for received symbols and the noise u."""
        import torch

        ss = self._split(symbols)
        us = self._split(u)
        y = torch.cat(
            [q.decoder_input(si, ui) for q, si, ui in zip(self.quantizers, ss, us, strict=True)],
            1,
        )
        return self.decoder(y)

    def eval(self) -> LearnedCodec:
        for m in self.modules().values():
            m.eval()
        return self

    def state_tensors(self) -> dict[str, Any]:
        out = {}
        for name, m in self.modules().items():
            out.update({f"{name}.{k}": v for k, v in m.state_dict().items()})
        return out

    def load_state_tensors(self, tensors: dict[str, Any], *, parts: tuple[str, ...] | None = None):
        """Load ``{part.param: tensor}``; ``parts`` restricts to some modules."""
        mods = self.modules()
        for name in parts or tuple(mods):
            sub = {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(name + ".")}
            if name not in mods:
                raise ValueError(f"this model has no {name}")
            try:
                mods[name].load_state_dict(sub, strict=True)
            except RuntimeError as exc:
                raise ValueError(f"checkpoint does not fit the {name}: {exc}") from None


# -- training ------------------------------------------------------------------------------------


def _empty_sums() -> dict[str, float]:
    return {"mse": 0.0, "n_mse": 0, "w1": 0.0, "n_w1": 0}


@dataclass
class TrainState:
    """Training progress: steps done, the history and the sums of the epoch under way.

    ``history`` has one entry per epoch: ``mse``, the mean training-batch MSE of the epoch's
    coder steps, ``w1_train``, the mean W1 estimate of its critic steps (NaN, null in JSON,
    without a critic), and whatever the ``on_epoch`` hook of :func:`train_codec` adds
    (``test_mse`` with ``learned_run(track_test=True)``). ``sums`` accumulates the epoch under
    way, so a run cut in the middle of an epoch and resumed logs the same means.
    """

    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    sums: dict[str, float] = field(default_factory=_empty_sums)

    def add(self, key: str, value: float) -> None:
        """Count one step's ``value`` of ``key`` ("mse" or "w1") into the epoch under way."""
        self.sums[key] += value
        self.sums[f"n_{key}"] += 1

    def log_epoch(self, epoch: int, **extra: float) -> None:
        """Close epoch ``epoch`` (1-based): append its means and ``extra`` fields to the history."""
        s = self.sums
        mean = {k: s[k] / s[f"n_{k}"] if s[f"n_{k}"] else math.nan for k in ("mse", "w1")}
        self.history.append({"epoch": epoch, "mse": mean["mse"], "w1_train": mean["w1"], **extra})
        self.sums = _empty_sums()


def _gradient_penalty(critic: Any, real: Any, fake: Any, generator: Any):
    import torch

    a = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device=real.device)
    mix = (a * real + (1 - a) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _lr_factor(cfg: LearnedConfig, epoch: int) -> float:
    return cfg.lr_decay_factor ** sum(1 for e in cfg.lr_decay_epochs if epoch >= e)


def _set_training_modes(mods: dict[str, Any], parts: tuple[str, ...]) -> None:
    """Trained parts and the critic in train mode; frozen parts in eval mode, without gradients."""
    for name, m in mods.items():
        m.train(name in parts or name == "critic")
        for p in m.parameters():
            p.requires_grad_(name in parts or name == "critic")


def trainable_parts(cfg: LearnedConfig) -> tuple[str, ...]:
    """Modules the coder optimiser updates in each mode."""
    if cfg.mode == "end-to-end":
        return ("encoder", "decoder")
    if cfg.mode == "universal":
        return ("decoder",)
    return ("refiner", "decoder")


def steps_per_epoch(cfg: LearnedConfig, n_train: int) -> int:
    return n_train // cfg.batch_size


def train_codec(
    codec: LearnedCodec,
    x_train: Any,
    *,
    seed: int,
    state: TrainState | None = None,
    tensors: dict[str, Any] | None = None,
    on_checkpoint: Callable[[TrainState, dict[str, Any]], None] | None = None,
    checkpoint_every: int | None = None,
    stop_after: int | None = None,
    on_epoch: Callable[[LearnedCodec], dict[str, float]] | None = None,
    progress: bool = False,
    desc: str = "lc",
) -> TrainState:
    """Train ``codec`` on ``x_train`` (float32 tensor (n, C, H, W) in [0, 1]) per its config.

    ``tensors`` holds optimizer states from a checkpoint (``optim_coder.*``,
    ``optim_critic.*``). ``on_checkpoint(state, optimizer_tensors)`` is called every
    ``checkpoint_every`` steps (default: each epoch) and at the end; ``stop_after`` ends the run
    after that many steps in total (as an interruption would), checkpointing first.
    ``on_epoch(codec)`` runs at the end of each epoch and returns fields for that epoch's
    history entry (e.g. a test MSE); it may switch modules to eval mode and must not touch
    their parameters or the global random state. Training resumes in the right modes after it.
    """
    import torch
    from tqdm.auto import tqdm

    cfg = codec.config
    n = int(x_train.shape[0])
    per_epoch = steps_per_epoch(cfg, n)
    if per_epoch < 1:
        raise ValueError(
            f"the training set has {n} images, fewer than one batch of {cfg.batch_size}"
        )
    total = per_epoch * cfg.epochs
    every = checkpoint_every or per_epoch
    state = state or TrainState()
    mods = codec.modules()
    parts = trainable_parts(cfg)
    coder_params = [p for name in parts for p in mods[name].parameters()]
    opt_coder = torch.optim.Adam(coder_params, lr=cfg.lr_coder, betas=cfg.betas_coder)
    opt_critic = torch.optim.Adam(
        codec.critic.parameters(), lr=cfg.lr_critic, betas=cfg.betas_critic
    )
    if tensors:
        load_optimizer_tensors(opt_coder, tensors, "optim_coder")
        load_optimizer_tensors(opt_critic, tensors, "optim_critic")
    # Frozen parts stay in eval mode: parameters and BatchNorm statistics never change.
    _set_training_modes(mods, parts)
    cycle = cfg.n_critic + 1
    end = total if stop_after is None else min(total, stop_after)
    bar = tqdm(total=total, initial=state.step, desc=desc, disable=not progress, leave=False)
    perm_epoch, perm = -1, None
    mse_log = w1_log = math.nan  # last batch's, for the progress bar
    try:
        while state.step < end:
            t = state.step
            epoch, pos = divmod(t, per_epoch)
            if epoch != perm_epoch:
                perm = torch.as_tensor(np.random.default_rng([seed, epoch]).permutation(n))
                perm_epoch = epoch
            coder_step = pos % cycle == 1 % cycle
            lam = cfg.lam_at(epoch)
            if coder_step or cfg.critic_trains_at(epoch):
                x = x_train[perm[pos * cfg.batch_size : (pos + 1) * cfg.batch_size]]
                x = x.to(codec.device)
                g = torch.Generator(device=codec.device)
                g.manual_seed(step_seed(seed, t))
                u = codec.noise(x.shape[0], g)
                factor = _lr_factor(cfg, epoch)
                for group in opt_coder.param_groups:
                    group["lr"] = cfg.lr_coder * factor
                for group in opt_critic.param_groups:
                    group["lr"] = cfg.lr_critic * factor
                soft = epoch < cfg.soft_epochs
                if coder_step:
                    x_hat = codec.reconstruct(x, u, soft=soft)
                    mse = torch.mean((x_hat - x) ** 2)
                    loss = mse
                    if lam > 0:
                        codec.critic.requires_grad_(False)
                        loss = mse - lam * codec.critic(x_hat).mean()
                        codec.critic.requires_grad_(True)
                    opt_coder.zero_grad(set_to_none=True)
                    loss.backward()
                    opt_coder.step()
                    mse_log = float(mse.detach())
                    state.add("mse", mse_log)
                else:
                    with torch.no_grad():
                        x_hat = codec.reconstruct(x, u, soft=soft)
                    w1 = codec.critic(x).mean() - codec.critic(x_hat).mean()
                    gp = _gradient_penalty(codec.critic, x, x_hat, g)
                    loss = -w1 + cfg.gp_weight * gp
                    opt_critic.zero_grad(set_to_none=True)
                    loss.backward()
                    opt_critic.step()
                    w1_log = float(w1.detach())
                    state.add("w1", w1_log)
            state.step = t + 1
            if state.step % per_epoch == 0:
                extra = {}
                if on_epoch is not None:
                    extra = on_epoch(codec)
                    _set_training_modes(mods, parts)
                state.log_epoch(state.step // per_epoch, **extra)
            bar.set_postfix(mse=f"{mse_log:.4f}", w1=f"{w1_log:.3f}", refresh=False)
            bar.update(1)
            if on_checkpoint is not None and (state.step % every == 0 or state.step == end):
                on_checkpoint(
                    state,
                    {
                        **optimizer_tensors(opt_coder, "optim_coder"),
                        **optimizer_tensors(opt_critic, "optim_critic"),
                    },
                )
    finally:
        bar.close()
        for m in mods.values():
            m.requires_grad_(True)
    return state


# -- a run ---------------------------------------------------------------------------------------


def _load_base(base: str | Path, cfg: LearnedConfig) -> tuple[LearnedConfig, Any]:
    """Config and tensors of a finished end-to-end run used as a base."""
    rd = RunDir(base)
    if not rd.exists():
        raise FileNotFoundError(f"base run {rd.path} does not exist (no config.json)")
    try:
        base_cfg = LearnedConfig.from_dict(rd.read_config()["config"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{rd.path} is not a learned-codec run ({exc})") from None
    if not rd.has_checkpoint(MODEL_FILE):
        raise FileNotFoundError(
            f"base run {rd.path} has no finished model ({MODEL_FILE}.safetensors)"
        )
    if base_cfg.mode != "end-to-end":
        raise ValueError(f"base run {rd.path} must be an end-to-end model, not {base_cfg.mode}")
    for key in ("data", "quantizer", "latent_dim", "levels", "encoder_width"):
        if getattr(base_cfg, key) != getattr(cfg, key):
            raise ValueError(
                f"base run {rd.path} has {key}={getattr(base_cfg, key)!r}, this run "
                f"{key}={getattr(cfg, key)!r}; they must agree"
            )
    tensors, _ = rd.load_checkpoint(MODEL_FILE, architecture=base_cfg.architecture())
    return base_cfg, tensors


def learned_run(
    config: LearnedConfig,
    out: str | Path,
    *,
    base: str | Path | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
    device: str = "cpu",
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    stop_after: int | None = None,
    evaluate: bool = True,
    track_test: bool = False,
) -> dict[str, Any]:
    """Train one learned codec into the run directory ``out`` and evaluate it.

    Writes ``config.json``, ``train.safetensors`` (resume state, each epoch),
    ``model.safetensors`` (weights, critic and the categorical coding model fitted on the
    training symbols), ``results.json`` (:func:`rdlab.models.learned_eval.evaluate_codec`) and
    ``samples.png``. Returns the results dict. ``base`` is the end-to-end run that universal
    and refinement models build on. ``track_test`` adds each epoch's test MSE (eval mode, the
    final evaluation's dither) to the history as ``test_mse``, the learning curve the official
    code reports; it does not change the training, and the last epoch's value is the final
    ``distortion``.
    """
    import torch

    seed = check_int("seed", seed, minimum=0)
    cfg = config
    if cfg.mode != "end-to-end" and base is None:
        raise ValueError(f"mode {cfg.mode!r} needs a base run (--base RUN)")
    if cfg.mode == "end-to-end" and base is not None:
        raise ValueError("an end-to-end run takes no base run")
    base_info = None
    base_tensors = None
    if base is not None:
        base_cfg, base_tensors = _load_base(base, cfg)
        base_info = {"path": str(base), "lam": base_cfg.lam}
    x_tr = split_images(cfg, "train", data_dir)
    run_config = {
        "kind": "learned-codec",
        "config": cfg.to_dict(),
        "seed": seed,
        "base": base_info,
        "architecture": cfg.architecture(),
        "n_train": int(x_tr.shape[0]),
    }
    rd = RunDir(out)
    resumed = rd.open(run_config, resume=resume, overwrite=overwrite)
    codec = LearnedCodec(cfg, seed=seed, device=device)
    if base_tensors is not None:
        codec.load_state_tensors(base_tensors, parts=("encoder",))
        if cfg.mode == "universal" and cfg.init_from_base:
            codec.load_state_tensors(base_tensors, parts=("decoder", "critic"))
    state, opt_tensors = TrainState(), None
    if resumed and rd.has_checkpoint(TRAIN_FILE):
        tensors, meta = rd.load_checkpoint(TRAIN_FILE, architecture=cfg.architecture())
        codec.load_state_tensors(tensors)
        opt_tensors = {k: v for k, v in tensors.items() if k.startswith("optim_")}
        state = TrainState(
            step=int(meta["step"]),
            history=list(meta.get("history", [])),
            sums={**_empty_sums(), **meta.get("sums", {})},
        )

    def save(st: TrainState, optim: dict[str, Any]) -> None:
        rd.save_checkpoint(
            TRAIN_FILE,
            {**codec.state_tensors(), **optim},
            {"step": st.step, "history": st.history, "sums": st.sums},
            architecture=cfg.architecture(),
        )

    on_epoch = x_te = None
    if track_test:
        from rdlab.models.learned_eval import eval_distortion

        x_te = torch.from_numpy(split_images(cfg, "test", data_dir))

        def on_epoch(c: LearnedCodec) -> dict[str, float]:
            return {"test_mse": eval_distortion(c, x_te, seed=seed)}

    label = f"lc {cfg.data} {cfg.quantizer} R={cfg.rate_bound_bits:.3g} lam={cfg.lam:g}"
    t0 = time.perf_counter()
    state = train_codec(
        codec,
        torch.from_numpy(x_tr),
        seed=seed,
        state=state,
        tensors=opt_tensors,
        on_checkpoint=save,
        stop_after=stop_after,
        on_epoch=on_epoch,
        progress=progress,
        desc=label,
    )
    train_s = time.perf_counter() - t0
    total = steps_per_epoch(cfg, x_tr.shape[0]) * cfg.epochs
    if state.step < total:
        return {"finished": False, "step": state.step, "total_steps": total}
    from rdlab.models.learned_eval import evaluate_codec, finish_model

    finish_model(codec, rd, torch.from_numpy(x_tr), seed=seed, config_dict=run_config)
    if not evaluate:
        return {"finished": True, "train_seconds": train_s}
    results = evaluate_codec(
        codec, rd, seed=seed, data_dir=data_dir, x_test=x_te, progress=progress
    )
    results = {
        **results,
        "train_seconds": round(train_s, 2),
        "steps": state.step,
        "history": state.history,
        "mode": cfg.mode,
        "lam": cfg.lam,
        "quantizer": cfg.quantizer,
        "data": cfg.data,
        "base": base_info,
    }
    rd.write_results(results)
    return results


__all__ = [
    "MODES",
    "PRESETS",
    "LearnedCodec",
    "LearnedConfig",
    "TrainState",
    "check_images",
    "learned_run",
    "load_split",
    "preset_config",
    "split_images",
    "steps_per_epoch",
    "train_codec",
    "trainable_parts",
]
