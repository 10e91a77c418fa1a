r"""Nonlinear transform coding (NTC): the DNN-compressor baseline of seed 002.

An analysis transform :math:`g_a`, integer rounding of the latents, a synthesis transform
:math:`g_s` and a factorised density of the latents (:mod:`rdlab.models.ntc.density`), trained
jointly on

.. math:: L = E\big[-\log_2 p(g_a(x) + u)\big] + \lambda\, E\big[d(x, g_s(g_a(x) + u))\big],
   \qquad u \sim U(-\tfrac12, \tfrac12)^k,

(Ballé et al. 2021, eq. (9); seed 002, Appendix C-B), the rate in bits per sample and
:math:`\lambda` in bits per unit of distortion. At inference the latents are rounded; a
quantised coding table per channel, built once from the density when training ends and stored
with the model, drives the range coder, so encoder and decoder agree bit for bit on any machine
(:class:`~rdlab.coding.learned.QuantizedLatentCodec`, quantiser ``"ntc"``).

Transforms: MLPs for vectors (``d -> width -> width -> latent_dim`` and back, softplus between),
convolutions for images (two stride-2 5x5 convolutions and a 3x3 one, ReLU between, and the
transposes back, then a learned per-pixel offset that starts at the training mean image;
``latent_dim`` channels at a quarter of the side, sides divisible by 4), whose channels share
one density across positions. Distortion: squared error summed over a sample for
vectors (``squared_error``, the unit of R(D) of a Gaussian source), mean squared error per pixel
for images in [0, 1] (``mse_per_component``).

References
----------
.. [0] D. Minnen, S. Singh, "Channel-wise autoregressive entropy models for learned image
   compression", ICIP 2020 (the mixed quantisation of training).
.. [1] J. Ballé, P. A. Chou, D. Minnen, S. Singh, N. Johnston, E. Agustsson, S. J. Hwang,
   G. Toderici, "Nonlinear Transform Coding", IEEE JSTSP 15(2), 2021.
.. [2] E. Lei, H. Hassani, S. Saeedi Bidokhti, "Neural Estimation of the Rate-Distortion
   Function With Applications to Operational Source Coding", Appendix C-B.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.categorical import CategoricalModel
from rdlab.coding.codec import measure_codec
from rdlab.coding.learned import QuantizedLatentCodec
from rdlab.coding.rcc import checkpoint_identity
from rdlab.core.io import read_safetensors, write_safetensors
from rdlab.core.results import jsonable
from rdlab.core.rundir import RunDir, run_kind_and_seed
from rdlab.core.torch_state import (
    build_bounded,
    check_device,
    load_optimizer_tensors,
    optimizer_tensors,
    step_seed,
)
from rdlab.core.validation import check_int, check_nonnegative, check_positive
from rdlab.models.ntc.density import factorized_density

MODEL_FILE = "model"
TRAIN_FILE = "train"
RUN_KIND = "ntc"

DENSITY_LR_FACTOR = 10.0
"""The density's learning rate over the transforms' (it starts far from the latents' law)."""

MAX_FILTERS = 8
"""Most hidden layers of a channel's cumulative in the density (the paper uses 3)."""

MAX_LATENT_DIM = 4096
MAX_WIDTH = 4096
MAX_CANDIDATES = 64

SELECTION_SAMPLES = 8192
"""Training samples (the first of the training set) on which the candidates' objectives are
compared (:func:`ntc_objective`)."""

CANDIDATE_SEED_INDEX = 1 << 40
"""Candidate ``j > 0`` is seeded ``step_seed(seed, CANDIDATE_SEED_INDEX + j)``, an index that no
training step of the run uses (``step_seed(seed, step)``, at most 10**9 steps)."""


@dataclass(frozen=True)
class NTCConfig:
    """Settings of one NTC model.

    Attributes
    ----------
    distortion_weight : float
        :math:`\\lambda \\ge 0` of the loss rate + λ · distortion, in bits per unit of
        distortion (``--lam``; not seed 001's perception weight ``lam``).
    latent_dim : int
        Latent dimensions (vectors) or latent channels (images).
    width : int
        Hidden width (vectors) or channels (images) of the transforms.
    steps, batch_size : int
        Adam steps and samples per step.
    lr, lr_final : float
        Learning rate, decayed along a cosine to ``lr_final``.
    n_train, n_eval : int
        Training samples and held-out samples (a finite data set holds out at most a sixth,
        :func:`rdlab.sources.user_data.split_indices`; a distribution is sampled afresh).
    filters : tuple of int
        Hidden widths of each channel's cumulative (the density's (3, 3, 3)).
    quantization : {"mixed", "noise"}
        What the decoder sees in training: latents rounded with a straight-through gradient
        (``mixed``, the default: the rate term always uses additive uniform noise) or the noisy
        latents themselves (``noise``, Ballé et al.'s original proxy, whose decoder never sees
        the rounding it will decode, so small latents that round to zero at test time are
        trained as if they carried information).
    rate_warmup : float
        Share of the steps over which the weight of the rate term rises linearly from 0 to 1
        (the objective is rate + λ · distortion after it): without it the rate term, hundreds of
        bits at initialisation, pushes every latent to zero before the decoder uses them.
    block_size : int
        M samples coded as one (seed 002 §VI-A, Fig. 13): M vectors concatenated, or M images
        tiled sqrt(M) x sqrt(M) (M a square); rates and distortions are reported per sample.
    checkpoint_every : int
        Steps between resumable checkpoints.
    candidates : int
        Models trained from different seeds (initial weights and batch order; the data split is
        the run's); the one with the lowest objective rate + λ · distortion with rounded
        latents on the training samples (:func:`ntc_objective`) is kept. Trainings end in
        different optima by seed — they differ in how many latents carry information — and on
        the Gaussian of the benchmarks the objective orders them as their distance to the best
        scalar transform code does (docs/benchmarks.md).
    """

    distortion_weight: float
    latent_dim: int = 16
    width: int = 128
    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    lr_final: float = 1e-5
    n_train: int = 20_000
    n_eval: int = 2048
    filters: tuple[int, ...] = (3, 3, 3)
    quantization: str = "mixed"
    rate_warmup: float = 0.1
    block_size: int = 1
    checkpoint_every: int = 1000
    candidates: int = 1

    def __post_init__(self) -> None:
        check_nonnegative("distortion_weight", self.distortion_weight)
        if not math.isfinite(self.distortion_weight) or self.distortion_weight > 1e12:
            raise ValueError(
                f"distortion_weight (--lam) must be finite and at most 1e12, got "
                f"{self.distortion_weight}"
            )
        check_int("latent_dim", self.latent_dim, minimum=1, maximum=MAX_LATENT_DIM)
        check_int("width", self.width, minimum=1, maximum=MAX_WIDTH)
        for name in ("steps", "batch_size", "n_train", "n_eval", "checkpoint_every"):
            check_int(name, getattr(self, name), minimum=1, maximum=10**9)
        check_int("block_size", self.block_size, minimum=1, maximum=256)
        check_int("candidates", self.candidates, minimum=1, maximum=MAX_CANDIDATES)
        if self.quantization not in ("mixed", "noise"):
            raise ValueError(f"quantization must be mixed or noise, got {self.quantization!r}")
        if not 0.0 <= self.rate_warmup <= 1.0:
            raise ValueError(f"rate_warmup must be in [0, 1], got {self.rate_warmup}")
        check_positive("lr", self.lr)
        check_positive("lr_final", self.lr_final)
        if self.lr_final > self.lr:
            raise ValueError(f"lr_final must be <= lr, got {self.lr_final} > {self.lr}")
        if isinstance(self.filters, str | bytes) or not 1 <= len(self.filters) <= MAX_FILTERS:
            raise ValueError(
                f"filters must be 1 to {MAX_FILTERS} hidden widths, got {self.filters!r}"
            )
        object.__setattr__(
            self,
            "filters",
            tuple(check_int("filters[i]", f, minimum=1, maximum=64) for f in self.filters),
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: object) -> NTCConfig:
        if not isinstance(d, dict):
            raise ValueError(f"NTC settings must be a JSON object, got {type(d).__name__}")
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown NTC settings: {', '.join(unknown)}")
        try:
            return cls(**{k: tuple(v) if k == "filters" else v for k, v in d.items()})
        except TypeError as exc:
            raise ValueError(f"bad NTC settings ({exc})") from None


NTC_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"steps": 3000, "batch_size": 256, "n_train": 20_000, "n_eval": 2048},
    "paper": {"steps": 100_000, "batch_size": 256, "n_train": 1_000_000, "n_eval": 10_000},
}
"""Training lengths by preset; the rest of :class:`NTCConfig` as given."""


def ntc_config(preset: str, **kw: Any) -> NTCConfig:
    """The settings of ``preset`` (``quick`` or ``paper``) with ``kw`` applied."""
    if preset not in NTC_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(NTC_PRESETS)}, got {preset!r}")
    return NTCConfig(**{**NTC_PRESETS[preset], **kw})


def _architecture(cfg: NTCConfig, shape: tuple[int, ...]) -> dict[str, Any]:
    # "ntc-conv-offset": the convolutional synthesis ends in a per-pixel offset (the model files
    # of "ntc-conv", without it, do not load into it)
    kind = "mlp" if len(shape) == 1 else "conv-offset"
    return {
        "name": f"ntc-{kind}",
        "input_shape": list(shape),
        "latent_dim": cfg.latent_dim,
        "width": cfg.width,
        "filters": list(cfg.filters),
    }


class NTCModel:
    """Analysis and synthesis transforms and the latent density of one input shape."""

    def __init__(self, cfg: NTCConfig, input_shape: tuple[int, ...], *, seed: int, device="cpu"):
        import torch

        self.config = cfg
        self.input_shape = tuple(int(s) for s in input_shape)
        if len(self.input_shape) == 3:
            _, h, w = self.input_shape
            if h % 4 or w % 4:
                raise ValueError(
                    f"NTC image sides must be divisible by 4, got {h}x{w} (pad or resize)"
                )
        elif len(self.input_shape) != 1:
            raise ValueError(f"NTC codes vectors (m,) or images (C, H, W), got {input_shape}")
        self.device = check_device(device)
        # seeded initial weights without touching the caller's global torch generator
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(step_seed(seed, 0))
            self.analysis_net, self.synthesis_net, self.density = build_bounded(
                self._build, f"an NTC model of width {cfg.width} and {cfg.latent_dim} latents"
            )
        for m in self.modules():
            m.to(self.device)

    def _build(self):
        import torch.nn as nn

        cfg, k, w = self.config, self.config.latent_dim, self.config.width
        if len(self.input_shape) == 1:
            (d,) = self.input_shape
            ga = nn.Sequential(
                nn.Linear(d, w), nn.Softplus(), nn.Linear(w, w), nn.Softplus(), nn.Linear(w, k)
            )
            gs = nn.Sequential(
                nn.Linear(k, w), nn.Softplus(), nn.Linear(w, w), nn.Softplus(), nn.Linear(w, d)
            )
        else:
            c = self.input_shape[0]
            ga = nn.Sequential(
                nn.Conv2d(c, w, 5, 2, 2), nn.ReLU(), nn.Conv2d(w, w, 5, 2, 2), nn.ReLU(),
                nn.Conv2d(w, k, 3, 1, 1),
            )  # fmt: skip
            gs = nn.Sequential(
                nn.ConvTranspose2d(k, w, 5, 2, 2, 1), nn.ReLU(),
                nn.ConvTranspose2d(w, w, 5, 2, 2, 1), nn.ReLU(), nn.Conv2d(w, c, 3, 1, 1),
                _pixel_offset(self.input_shape),
            )  # fmt: skip
        return ga, gs, factorized_density(k, cfg.filters)

    def modules(self) -> tuple[Any, ...]:
        return (self.analysis_net, self.synthesis_net, self.density)

    def parameters(self) -> list[Any]:
        return [p for m in self.modules() for p in m.parameters()]

    def train(self, flag: bool = True) -> None:
        for m in self.modules():
            m.train(flag)

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one sample's latents: ``(k,)`` or ``(k, H/4, W/4)``."""
        if not self.is_image:
            return (self.config.latent_dim,)
        _, h, w = self.input_shape
        return (self.config.latent_dim, h // 4, w // 4)

    @staticmethod
    def channels_last(y: Any) -> Any:
        """Latents ``(n, k[, h, w])`` as density inputs ``(n * h * w, k)``."""
        return y if y.dim() == 2 else y.permute(0, 2, 3, 1).reshape(-1, y.shape[1])

    def distortion(self, x: Any, x_hat: Any) -> Any:
        """Per-sample distortion: summed squared error (vectors), MSE per pixel (images)."""
        err = (x - x_hat) ** 2
        return err.sum(1) if not self.is_image else err.flatten(1).mean(1)

    @property
    def distortion_measure(self) -> str:
        return "mse_per_component" if self.is_image else "squared_error"

    def state_tensors(self) -> dict[str, Any]:
        out = {}
        for prefix, m in zip(("analysis", "synthesis", "density"), self.modules(), strict=True):
            out.update({f"{prefix}.{k}": v.detach().cpu() for k, v in m.state_dict().items()})
        return out

    def load_state_tensors(self, tensors: dict[str, Any]) -> None:
        for prefix, m in zip(("analysis", "synthesis", "density"), self.modules(), strict=True):
            head = prefix + "."
            part = {k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)}
            try:
                m.load_state_dict(part, strict=True)
            except RuntimeError as exc:
                raise ValueError(f"the checkpoint does not fit this NTC model ({exc})") from None


@dataclass(frozen=True)
class NTCTables:
    """The coding tables of a trained model: per latent channel the first integer ``lo`` of its
    table and the pmf over ``lo .. lo + L - 1`` (float64, stored in the model file)."""

    offsets: tuple[int, ...]
    pmfs: tuple[np.ndarray, ...]

    def coding_model(self, positions: int) -> CategoricalModel:
        """One pmf per sent symbol: each channel's table repeated over ``positions``."""
        return CategoricalModel(tuple(p for p in self.pmfs for _ in range(positions)))

    def to_tensors(self) -> dict[str, np.ndarray]:
        levels = np.array([p.size for p in self.pmfs], dtype=np.int64)
        table = np.zeros((len(self.pmfs), int(levels.max())), dtype=np.float64)
        for c, p in enumerate(self.pmfs):
            table[c, : p.size] = p
        return {
            "coding.offsets": np.asarray(self.offsets, dtype=np.int64),
            "coding.levels": levels,
            "coding.pmf": table,
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, Any]) -> NTCTables:
        try:
            offsets = np.asarray(tensors["coding.offsets"], dtype=np.int64)
            levels = np.asarray(tensors["coding.levels"], dtype=np.int64)
            table = np.asarray(tensors["coding.pmf"], dtype=np.float64)
        except KeyError as exc:
            raise ValueError(f"the NTC model file holds no coding table ({exc})") from None
        if offsets.ndim != 1 or levels.shape != offsets.shape or table.shape[0] != levels.size:
            raise ValueError("the NTC coding table has inconsistent shapes")
        if np.any(levels < 2) or np.any(levels > table.shape[1]):
            raise ValueError("the NTC coding table has impossible levels")
        pmfs = tuple(table[c, : int(n)].copy() for c, n in enumerate(levels))
        CategoricalModel(pmfs)  # checks every pmf
        return cls(tuple(int(o) for o in offsets), pmfs)


def _pixel_offset(shape: tuple[int, ...]) -> Any:
    """A learned image of ``shape`` added to the synthesis' output. Convolutions of constant
    (zero) latents decode to a nearly constant image, so without it the zero-rate code of
    centred data such as MNIST is the mean grey level (MSE 0.0758 per pixel on 20 000 MNIST
    images padded to 32x32), not the mean image (0.0516), and the latents pay bits to draw the
    mean image."""
    import torch
    import torch.nn as nn

    class PixelOffset(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.offset = nn.Parameter(torch.zeros(shape))

        def forward(self, v: Any) -> Any:
            return v + self.offset

    return PixelOffset()


def _init_output_bias(model: NTCModel, x: Any) -> None:
    """The synthesis starts at the training mean (per dimension, or per pixel of an image, the
    convolutions' biases at zero): zero latents then decode to the best constant, as the
    zero-rate code should."""
    import torch

    last = model.synthesis_net[-1]
    with torch.no_grad():
        if model.is_image:
            last.offset.copy_(x.mean(0).to(last.offset.device))
            for layer in model.synthesis_net[:-1]:
                if getattr(layer, "bias", None) is not None:
                    layer.bias.zero_()
        else:
            last.bias.copy_(x.mean(0).to(last.bias.device))


def train_ntc(
    model: NTCModel,
    x_train: np.ndarray,
    *,
    seed: int,
    rd: RunDir | None = None,
    resume: bool = False,
    progress: bool = False,
    desc: str = "ntc",
    checkpoint: str = TRAIN_FILE,
) -> list[dict[str, float]]:
    """Train ``model`` on ``x_train`` for ``config.steps`` Adam steps; return the history
    (rate in bits per sample, distortion, loss every 100 steps). With ``rd`` a resumable
    checkpoint ``checkpoint`` is written every ``checkpoint_every`` steps and, with ``resume``,
    read back."""
    import torch
    from tqdm.auto import tqdm

    cfg = model.config
    x = torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32))
    transforms = [p for m in model.modules()[:2] for p in m.parameters()]
    # the density learns DENSITY_LR_FACTOR times faster: its scale must follow the latents'
    opt = torch.optim.Adam(
        [{"params": transforms, "factor": 1.0},
         {"params": list(model.density.parameters()), "factor": DENSITY_LR_FACTOR}],
        lr=cfg.lr,
    )  # fmt: skip
    start, history = 0, []
    if resume and rd is not None and rd.has_checkpoint(checkpoint):
        arch = _architecture(cfg, model.input_shape)
        tensors, state = rd.load_checkpoint(checkpoint, architecture=arch, required=("step",))
        model.load_state_tensors(tensors)
        load_optimizer_tensors(opt, tensors)
        start, history = int(state["step"]), list(state.get("history", []))
    if start == 0:
        _init_output_bias(model, x)
    model.train(True)
    bar = tqdm(total=cfg.steps, initial=start, desc=desc, leave=False, disable=not progress)
    for step in range(start, cfg.steps):
        lr = cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (
            1 + math.cos(math.pi * step / cfg.steps)
        )
        for g in opt.param_groups:
            g["lr"] = lr * g["factor"]
        gen = torch.Generator().manual_seed(step_seed(seed, step + 1))
        idx = torch.randint(0, x.shape[0], (cfg.batch_size,), generator=gen)
        xb = x[idx].to(model.device)
        y = model.analysis_net(xb)
        noise = torch.rand(y.shape, generator=gen).to(model.device) - 0.5
        y_tilde = y + noise
        bits = model.density.bits(model.channels_last(y_tilde)).sum() / xb.shape[0]
        # the decoder sees what it will decode: noisy latents ("noise") or rounded ones with a
        # straight-through gradient ("mixed", Minnen & Singh 2020)
        y_dec = y_tilde if cfg.quantization == "noise" else y + (torch.round(y) - y).detach()
        dist = model.distortion(xb, model.synthesis_net(y_dec)).mean()
        warm = cfg.rate_warmup * cfg.steps
        rate_weight = min(1.0, (step + 1) / warm) if warm > 0 else 1.0
        loss = rate_weight * bits + cfg.distortion_weight * dist
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0 or step + 1 == cfg.steps:
            history.append(
                {"step": step + 1, "rate_bits": bits.item(), "distortion": dist.item(),
                 "loss": loss.item()}
            )  # fmt: skip
        if rd is not None and ((step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps):
            rd.save_checkpoint(
                checkpoint,
                {**model.state_tensors(), **optimizer_tensors(opt)},
                {"step": step + 1, "history": history},
                architecture=_architecture(cfg, model.input_shape),
            )
        bar.update(1)
    bar.close()
    model.train(False)
    return history


def ntc_objective(model: NTCModel, x: np.ndarray, *, batch_size: int = 512) -> float:
    """The operational objective of ``model`` on ``x``, in bits per sample: the information
    content of the rounded latents under the model's density plus λ times the distortion of
    their reconstruction (the loss of :func:`train_ntc` with rounding in place of noise),
    averaged over the samples; ``batch_size`` samples at a time.

    References
    ----------
    .. [1] J. Ballé et al., "Nonlinear Transform Coding", IEEE JSTSP 15(2), 2021, eq. (9).
    """
    import torch

    check_int("batch_size", batch_size, minimum=1, maximum=10**6)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or x.shape[0] == 0 or x.shape[1:] != model.input_shape:
        raise ValueError(
            f"x must hold at least one sample of shape {model.input_shape}, got shape {x.shape}"
        )
    total = 0.0
    was_training = model.analysis_net.training
    model.train(False)
    try:
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                xb = torch.from_numpy(x[i : i + batch_size]).to(model.device)
                y = torch.round(model.analysis_net(xb))
                bits = model.density.bits(model.channels_last(y)).sum()
                dist = model.distortion(xb, model.synthesis_net(y)).sum()
                total += float(bits) + model.config.distortion_weight * float(dist)
    finally:
        model.train(was_training)
    return total / x.shape[0]


def candidate_seed(seed: int, candidate: int) -> int:
    """The seed of candidate ``candidate`` of a run seeded ``seed``: ``seed`` itself for the
    first, so that one candidate is the plain training."""
    check_int("candidate", candidate, minimum=0, maximum=MAX_CANDIDATES - 1)
    return int(seed) if candidate == 0 else step_seed(seed, CANDIDATE_SEED_INDEX + candidate)


def _train_candidates(
    cfg: NTCConfig,
    shape: tuple[int, ...],
    x_tr: np.ndarray,
    *,
    seed: int,
    device: str,
    rd: RunDir,
    resume: bool,
    progress: bool,
) -> tuple[NTCModel, list[dict[str, float]], list[float], int]:
    """Train ``cfg.candidates`` models (each resumable in its own checkpoint) and keep the one
    of least :func:`ntc_objective` on the first :data:`SELECTION_SAMPLES` training samples;
    return it, its history, every candidate's objective and the index of the kept one."""
    x_sel = x_tr[:SELECTION_SAMPLES]
    kept: tuple[NTCModel, list[dict[str, float]]] | None = None
    objectives: list[float] = []
    chosen = 0
    for j in range(cfg.candidates):
        s = candidate_seed(seed, j)
        model = NTCModel(cfg, shape, seed=s, device=device)
        history = train_ntc(
            model, x_tr, seed=s, rd=rd, resume=resume, progress=progress,
            desc="ntc" if cfg.candidates == 1 else f"ntc {j + 1}/{cfg.candidates}",
            checkpoint=TRAIN_FILE if j == 0 else f"{TRAIN_FILE}-{j}",
        )  # fmt: skip
        if cfg.candidates == 1:
            return model, history, [], 0
        objective = ntc_objective(model, x_sel)
        objectives.append(objective if math.isfinite(objective) else math.inf)
        if kept is None or objectives[-1] < objectives[chosen]:  # the first of least
            kept, chosen = (model, history), j
    assert kept is not None
    return kept[0], kept[1], objectives, chosen


def ntc_codec(
    model: NTCModel,
    tables: NTCTables,
    identity: bytes,
    *,
    batch: int = 4096,
    max_memory_bytes: int | None = None,
) -> QuantizedLatentCodec:
    """The bitstream codec of a trained model: rounded latents, clamped to each channel's table
    (a latent beyond it costs at most the folded tail mass, 1e-9), range coded with the tables.
    Inputs ``(n, *input_shape)`` float; outputs float32 of the same shape."""
    import torch

    lat = model.latent_shape()
    positions = int(np.prod(lat[1:])) if len(lat) > 1 else 1
    lo = torch.tensor(tables.offsets, dtype=torch.float32)[:, None]  # (k, 1)
    hi = lo + torch.tensor([p.size - 1 for p in tables.pmfs], dtype=torch.float32)[:, None]

    def to_symbols(y: Any) -> Any:
        flat = y.reshape(y.shape[0], lat[0], -1)  # (n, k, positions)
        q = torch.clamp(torch.round(flat), lo, hi) - lo
        return q.reshape(y.shape[0], -1).to(torch.int64)

    def analysis(x: np.ndarray, _u: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, x.shape[0], batch):
                xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch], dtype=np.float32))
                out.append(to_symbols(model.analysis_net(xb.to(model.device)).cpu()))
        return torch.cat(out).numpy() if out else np.zeros((0, lat[0] * positions), np.int64)

    def synthesis(s: np.ndarray, _u: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, s.shape[0], batch):
                sb = torch.from_numpy(s[i : i + batch]).to(torch.float32)
                y = (sb.reshape(sb.shape[0], lat[0], positions) + lo).reshape(-1, *lat)
                out.append(model.synthesis_net(y.to(model.device)).cpu())
        return torch.cat(out).numpy()

    def check(x: object) -> np.ndarray:
        arr = np.asarray(x)
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / np.float32(255.0)
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise TypeError(f"inputs must be real numbers, got {arr.dtype}")
        arr = arr.astype(np.float32)
        if arr.ndim == len(model.input_shape) and model.input_shape[0] == 1 and model.is_image:
            arr = arr[:, None]  # (n, H, W) single-channel images
        if not np.all(np.isfinite(arr)):
            raise ValueError("inputs must be finite (found NaN or inf)")
        return arr

    return QuantizedLatentCodec(
        analysis,
        synthesis,
        tables.coding_model(positions),
        "ntc",
        model.input_shape,
        identity,
        check_input=check,
        distortion_measure=model.distortion_measure,
        max_memory_bytes=max_memory_bytes,
    )


@dataclass(frozen=True)
class NTCRun:
    """A trained NTC model and its held-out operating point, per sample (per image for a block
    code: its rates and summed squared errors divided by the block size M)."""

    path: str
    source: str
    config: NTCConfig
    input_shape: tuple[int, ...]
    n_eval: int
    rate_bits: float
    rate_payload_bits: float
    rate_information_bits: float
    distortion: float
    distortion_stderr: float | None
    distortion_measure: str
    train_seconds: float
    active_latents: int
    closed_form_rate_bits: float | None = None
    history: tuple[dict[str, float], ...] = field(default=())
    candidate_objective_bits: tuple[float, ...] = ()
    candidate_chosen: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = {
            "path": self.path,
            "source": self.source,
            "config": self.config.to_dict(),
            "input_shape": list(self.input_shape),
            "n_eval": self.n_eval,
            "rate_bits": self.rate_bits,
            "rate_payload_bits": self.rate_payload_bits,
            "rate_information_bits": self.rate_information_bits,
            "distortion": self.distortion,
            "distortion_stderr": self.distortion_stderr,
            "distortion_measure": self.distortion_measure,
            "train_seconds": self.train_seconds,
            "active_latents": self.active_latents,
            "history": list(self.history),
        }
        if self.candidate_objective_bits:
            d["candidate_objective_bits"] = list(self.candidate_objective_bits)
            d["candidate_chosen"] = self.candidate_chosen
        if self.closed_form_rate_bits is not None:
            d["closed_form_rate_bits"] = self.closed_form_rate_bits
            d["excess_rate_bits"] = self.rate_bits - self.closed_form_rate_bits
            d["reference"] = "closed-form R(D) at the measured distortion"
        return jsonable(d)


def to_blocks(x: np.ndarray, block_size: int) -> np.ndarray:
    """Group consecutive samples into blocks of ``block_size`` (M): vectors ``(n, m)`` ->
    ``(n // M, M * m)``; images ``(n, C, H, W)`` -> ``(n // M, C, sH, sW)`` tiled row by row,
    ``s = sqrt(M)``. A remainder of fewer than M samples is dropped.

    Examples
    --------
    >>> to_blocks(np.arange(8).reshape(4, 2), 2).tolist()
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    >>> to_blocks(np.arange(4).reshape(4, 1, 1, 1), 4)[0, 0].tolist()
    [[0, 1], [2, 3]]
    """
    m = check_int("block_size", block_size, minimum=1)
    x = np.asarray(x)
    n = (x.shape[0] // m) * m
    if n == 0:
        raise ValueError(f"{x.shape[0]} samples make no block of {m}")
    x = x[:n]
    if x.ndim == 2:
        return x.reshape(n // m, m * x.shape[1])
    if x.ndim != 4:
        raise ValueError(f"blocks are made of vectors (n, m) or images (n, C, H, W), got {x.shape}")
    s = math.isqrt(m)
    if s * s != m:
        raise ValueError(f"block_size of images must be a square (4, 9, ...), got {m}")
    _, c, h, w = x.shape
    grid = x.reshape(n // m, s, s, c, h, w).transpose(0, 3, 1, 4, 2, 5)
    return grid.reshape(n // m, c, s * h, s * w)


def from_blocks(x: np.ndarray, block_size: int, sample_shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`to_blocks`: the samples of the blocks, in their order."""
    m, x = check_int("block_size", block_size, minimum=1), np.asarray(x)
    if len(sample_shape) == 1:
        return x.reshape(x.shape[0] * m, *sample_shape)
    s = math.isqrt(m)
    c, h, w = sample_shape
    grid = x.reshape(x.shape[0], c, s, h, s, w).transpose(0, 2, 4, 1, 3, 5)
    return grid.reshape(x.shape[0] * m, c, h, w)


def _closed_form(source: Any, distortion: float, measure: str) -> float | None:
    """R(D) of a Gaussian source at the measured distortion (squared error per sample)."""
    from rdlab.sources.base import GaussianSource
    from rdlab.theory.gaussian import vector_gaussian_rate_distortion

    if not isinstance(source, GaussianSource) or measure != "squared_error":
        return None
    return float(vector_gaussian_rate_distortion(distortion, source))


def ntc_run(
    source: Any,
    cfg: NTCConfig,
    out: str | Path,
    *,
    seed: int = 0,
    device: str = "cpu",
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    source_name: str | None = None,
) -> NTCRun:
    """Train an NTC model on ``source`` into the run directory ``out`` and measure it.

    ``out`` gets ``config.json``, ``train.safetensors`` (resumable), ``model.safetensors``
    (weights and coding tables; its canonical content is the model's identity) and
    ``results.json`` (:class:`NTCRun`): rates from the real bitstream of the held-out samples.

    Parameters
    ----------
    source : str or Source
        A registered source name or a source (a user's data:
        :class:`~rdlab.sources.user_data.DataSource`).
    """
    import torch

    from rdlab.estimators.nerd import resolve_source, split_record, split_samples

    src, name = resolve_source(source)
    name = source_name or name
    x_tr, x_ev = split_samples(src, cfg, seed)
    sample_shape = tuple(int(s) for s in x_tr.shape[1:])
    m = cfg.block_size
    if m > 1:
        x_tr, x_ev = to_blocks(x_tr, m), to_blocks(x_ev, m)
    shape = tuple(int(s) for s in x_tr.shape[1:])
    arch = _architecture(cfg, shape)
    run_config = {
        "kind": RUN_KIND,
        "config": cfg.to_dict(),
        "seed": seed,
        "source": name,
        "source_description": src.describe() if hasattr(src, "describe") else {},
        "split": split_record(src, cfg, seed),
        "architecture": arch,
        "sample_shape": list(sample_shape),  # the codec's inputs are blocks of M of these
    }
    rd = RunDir(out)
    resumed = rd.open(run_config, resume=resume, overwrite=overwrite)
    t0 = time.perf_counter()
    model, history, objectives, chosen = _train_candidates(
        cfg, shape, x_tr, seed=seed, device=device, rd=rd, resume=resumed, progress=progress
    )
    train_s = time.perf_counter() - t0
    tables = NTCTables(*model.density.pmf_tables())
    arrays = {k: v.numpy() for k, v in model.state_tensors().items()}
    arrays.update(tables.to_tensors())
    rd.path.mkdir(parents=True, exist_ok=True)
    write_safetensors(
        rd.checkpoint_path(MODEL_FILE),
        arrays,
        {"format": "rdlab-ntc", "architecture": _json(arch), "config": _json(run_config)},
    )
    codec = ntc_codec(model, tables, checkpoint_identity(rd.checkpoint_path(MODEL_FILE)))
    with torch.no_grad():
        report = measure_codec(codec, x_ev, seed=0)
    # per sample: a block's summed squared error is M samples'; MSE per pixel is unchanged
    d_div = m if report.distortion_measure == "squared_error" else 1
    per_sample = report.distortion / d_div
    active = sum(1 for p in tables.pmfs if float(-(p * np.log2(p)).sum()) > 0.01)
    run = NTCRun(
        path=str(rd.path),
        source=name,
        config=cfg,
        input_shape=shape,
        n_eval=int(x_ev.shape[0]) * m,
        rate_bits=report.rate_bits / m,
        rate_payload_bits=report.rate_payload_bits / m,
        rate_information_bits=report.rate_information_bits / m,
        distortion=per_sample,
        distortion_stderr=None
        if report.distortion_stderr is None
        else report.distortion_stderr / d_div,
        distortion_measure=report.distortion_measure,
        train_seconds=train_s,
        active_latents=active,
        closed_form_rate_bits=_closed_form(src, per_sample, report.distortion_measure),
        history=tuple(history),
        candidate_objective_bits=tuple(objectives),
        candidate_chosen=chosen,
    )
    rd.write_results(run.to_dict())
    return run


def _json(obj: Any) -> str:
    import json

    return json.dumps(jsonable(obj), sort_keys=True, separators=(",", ":"))


def load_ntc_codec(
    run: str | Path, device: str = "cpu", *, max_memory_bytes: int | None = None
) -> QuantizedLatentCodec:
    """The bitstream codec of a finished NTC run (its weights and stored coding tables).

    Raises
    ------
    FileNotFoundError
        No such run, or no ``model.safetensors``.
    ValueError
        Not an NTC run, settings out of range, or a model file that does not fit them.
    """
    rd = RunDir(run)
    if not rd.config_path.exists():
        raise FileNotFoundError(f"{rd.path} is not a run directory (no config.json)")
    cfg_all = rd.read_config()
    seed = run_kind_and_seed(cfg_all, RUN_KIND, rd.path, seed_bits=63)
    cfg = NTCConfig.from_dict(cfg_all.get("config"))
    arch = cfg_all.get("architecture")
    shape = arch.get("input_shape") if isinstance(arch, dict) else None
    if not isinstance(shape, list) or not all(isinstance(s, int) and 0 < s <= 4096 for s in shape):
        raise ValueError(f"{rd.config_path}: architecture.input_shape is missing or out of range")
    path = rd.checkpoint_path(MODEL_FILE)
    if not path.exists():
        raise FileNotFoundError(f"{rd.path} has no finished model ({MODEL_FILE}.safetensors)")
    tensors, _ = read_safetensors(path, framework="pt")
    model = NTCModel(cfg, tuple(shape), seed=seed, device=device)
    model.load_state_tensors({k: v for k, v in tensors.items() if not k.startswith("coding.")})
    model.train(False)
    tables = NTCTables.from_tensors({k: v.numpy() for k, v in tensors.items()})
    if len(tables.offsets) != cfg.latent_dim:
        raise ValueError(
            f"{path}: {len(tables.offsets)} coding tables for {cfg.latent_dim} latents"
        )
    return ntc_codec(model, tables, checkpoint_identity(path), max_memory_bytes=max_memory_bytes)


__all__ = [
    "MODEL_FILE",
    "NTC_PRESETS",
    "SELECTION_SAMPLES",
    "TRAIN_FILE",
    "NTCConfig",
    "NTCModel",
    "NTCRun",
    "NTCTables",
    "candidate_seed",
    "from_blocks",
    "load_ntc_codec",
    "ntc_codec",
    "ntc_config",
    "ntc_objective",
    "ntc_run",
    "to_blocks",
    "train_ntc",
]
