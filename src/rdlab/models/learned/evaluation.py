"""Learned codecs after training: the coding model, the codec, and the evaluation.

- :func:`finish_model` fits the factorised categorical model of the sent symbols on the
  training set and writes ``model.safetensors`` (weights, critic, coding model) with
  :func:`rdlab.core.io.write_safetensors`, so the same training gives the same bytes. The
  model's identity in every bitstream it writes is the SHA-256 of that file's canonical content
  (:func:`rdlab.coding.rcc.checkpoint_identity`: the file's own SHA-256 when rdlab wrote it);
  streams of rdlab 0.2, which named the model by its file's SHA-256, still decode.
- :func:`learned_codec` / :func:`load_learned_codec` give the bitstream codec of a model
  (:class:`~rdlab.coding.learned.QuantizedLatentCodec`, container codec id 2).
- :func:`evaluate_model` measures on the test split (:class:`LearnedEvaluation`):
    * ``distortion``: mean squared error per pixel (pixels in [0, 1], ``mse_per_component``);
    * ``perception_w1_own``: the W1 estimate of the model's own critic (what seed 001 reports;
      None when no critic was trained, i.e. :math:`\\lambda = 0`);
    * ``perception_w1``: the W1 estimate of a *fresh* critic trained from scratch for a fixed
      budget (same initialisation, steps and optimiser for every model) on the first half of
      the test split and evaluated on the second half, so numbers compare across models;
    * rates in bits per image: ``rate_bound_bits`` (sum of log2 L, what the paper plots),
      ``rate_entropy_bits`` (plug-in entropy of the test symbols, per dimension, summed), and
      from the real bitstream of the whole test split written by the codec:
      ``rate_bits`` (the whole file), ``rate_payload_bits`` (without container and header) and
      ``rate_information_bits`` (information content under the coding model).

Noise: UQ's dither and NQ's decoder noise in a bitstream come from the header's seed
(:func:`rdlab.coding.quantizers.dither`), so decoding is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.categorical import CategoricalModel, empirical_entropy_bits
from rdlab.coding.codec import read_stream
from rdlab.coding.learned import QuantizedLatentCodec
from rdlab.coding.quantizers import dither
from rdlab.coding.rcc import checkpoint_identity, legacy_checkpoint_identity
from rdlab.core.io import save_image_grid
from rdlab.core.results import jsonable
from rdlab.core.rundir import RunDir, load_finished_run
from rdlab.core.torch_state import step_seed
from rdlab.models.architectures import IMAGE_SHAPES, build_critic
from rdlab.models.learned.config import (
    MODEL_FILE,
    check_images,
    run_settings,
    split_images,
)
from rdlab.models.learned.network import LearnedModel
from rdlab.models.learned.training import gradient_penalty

FIT_SEED_INDEX = 7 * 10**9
EVAL_SEED_INDEX = 8 * 10**9
FRESH_CRITIC_SEED = 20211206
"""One fixed seed for every fresh critic, so all models are judged by the same procedure."""


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _symbols_in_batches(model: LearnedModel, x: Any, u: Any, batch: int):
    """Sent symbols (CPU int64 tensor) of images and noise given as CPU tensors."""
    import torch

    model.eval()
    syms = []
    with torch.no_grad():
        for sl in _batches(x.shape[0], batch):
            syms.append(model.symbols(x[sl].to(model.device), u[sl].to(model.device)).cpu())
    return torch.cat(syms)


def _decode_in_batches(model: LearnedModel, symbols: Any, u: Any, batch: int):
    """Decoder outputs (on the CPU) for symbols and noise given as CPU tensors."""
    import torch

    model.eval()
    outs = []
    with torch.no_grad():
        for sl in _batches(symbols.shape[0], batch):
            d = model.decode_symbols(symbols[sl].to(model.device), u[sl].to(model.device))
            outs.append(d.cpu())
    return torch.cat(outs)


def coding_model_of(tensors: dict[str, Any], levels: tuple[int, ...]) -> CategoricalModel:
    """The categorical coding model stored in a finished model's tensors (``coding.pmf``)."""
    if "coding.pmf" not in tensors:
        raise ValueError("the model checkpoint holds no coding model (coding.pmf)")
    return CategoricalModel.from_array(tensors["coding.pmf"].double().numpy(), levels)


def finish_model(
    model: LearnedModel, rd: RunDir, x_train: Any, *, seed: int, config_dict: dict[str, Any]
) -> CategoricalModel:
    """Fit the coding model on the training symbols and write ``model.safetensors``."""
    import torch

    cfg = model.config
    levels = cfg.levels_per_dim
    u = dither(x_train.shape[0], levels, step_seed(seed, FIT_SEED_INDEX))
    s = _symbols_in_batches(model, x_train, torch.from_numpy(u), cfg.eval_batch)
    coding = CategoricalModel.fit(s.numpy(), levels)
    tensors = {**model.state_tensors(), "coding.pmf": torch.from_numpy(coding.to_array())}
    rd.save_checkpoint(MODEL_FILE, tensors, {"run": config_dict}, architecture=cfg.architecture())
    return coding


def learned_codec(
    model: LearnedModel,
    coding_model: CategoricalModel,
    identity: bytes,
    *,
    max_memory_bytes: int | None = None,
    legacy_identities: tuple[bytes, ...] = (),
) -> QuantizedLatentCodec:
    """The bitstream codec of a trained model: its encoder and quantiser(s) as the analysis
    transform, its decoder as the synthesis transform, run in eval mode in batches of
    ``config.eval_batch`` on the model's device.

    Inputs are images ``(n, C, H, W)``, uint8 (0..255) or float in [0, 1]; outputs float32 in
    [0, 1] of the same shape.
    """
    import torch

    cfg = model.config
    shape = IMAGE_SHAPES[cfg.family]

    def analysis(x: np.ndarray, u: np.ndarray) -> np.ndarray:
        s = _symbols_in_batches(model, torch.from_numpy(x), torch.from_numpy(u), cfg.eval_batch)
        return s.numpy()

    def synthesis(s: np.ndarray, u: np.ndarray) -> np.ndarray:
        x_hat = _decode_in_batches(model, torch.from_numpy(s), torch.from_numpy(u), cfg.eval_batch)
        return x_hat.numpy()

    return QuantizedLatentCodec(
        analysis,
        synthesis,
        coding_model,
        cfg.quantizer,
        shape,
        identity,
        check_input=lambda x: check_images("images", x, shape),
        max_memory_bytes=max_memory_bytes,
        legacy_identities=legacy_identities,
    )


def load_model(
    run: str | Path, device: str = "cpu"
) -> tuple[LearnedModel, CategoricalModel, bytes]:
    """A finished run's networks (eval mode), coding model and identity
    (:func:`~rdlab.coding.rcc.checkpoint_identity` of its model file).

    Raises
    ------
    FileNotFoundError
        No such run, or it has not finished (no ``model.safetensors``).
    ValueError
        Not a learned-codec run, or a corrupt / foreign checkpoint.
    """
    rd, cfg, seed, tensors = load_finished_run(run, run_settings, model_file=MODEL_FILE)
    model = LearnedModel(cfg, seed=seed, device=device)
    model.load_state_tensors(tensors)
    model.eval()
    return (
        model,
        coding_model_of(tensors, cfg.levels_per_dim),
        checkpoint_identity(rd.checkpoint_path(MODEL_FILE)),
    )


def load_learned_codec(
    run: str | Path, device: str = "cpu", *, max_memory_bytes: int | None = None
) -> QuantizedLatentCodec:
    """The bitstream codec of a finished learned-codec run (:func:`learned_codec`); it also
    decodes the streams rdlab 0.2 wrote with the model (named by its file's SHA-256)."""
    model, coding, identity = load_model(run, device)
    legacy = legacy_checkpoint_identity(RunDir(run).checkpoint_path(MODEL_FILE))
    return learned_codec(
        model,
        coding,
        identity,
        max_memory_bytes=max_memory_bytes,
        legacy_identities=() if legacy == identity else (legacy,),
    )


def fresh_critic_w1(
    real: Any, fake: Any, family: str, *, steps: int, batch_size: int = 64, device: str = "cpu"
) -> float:
    """W1 estimate of a critic trained from scratch (WGAN-GP, Adam 1e-4, betas (0.5, 0.9)).

    Trained on the first half of (real, fake), evaluated on the second half; the
    initialisation and the batches depend on :data:`FRESH_CRITIC_SEED` only.
    """
    import torch

    n = min(real.shape[0], fake.shape[0])
    half = n // 2
    if half < 2:
        raise ValueError(f"need at least 4 test images for a fresh critic, got {n}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(FRESH_CRITIC_SEED)
        critic = build_critic(family).to(device)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    rng = np.random.default_rng(FRESH_CRITIC_SEED)
    g = torch.Generator(device=device)
    g.manual_seed(FRESH_CRITIC_SEED)
    b = min(batch_size, half)
    for _ in range(steps):
        i = torch.as_tensor(rng.integers(0, half, size=b))
        j = torch.as_tensor(rng.integers(0, half, size=b))
        xr, xf = real[i].to(device), fake[j].to(device)
        w1 = critic(xr).mean() - critic(xf).mean()
        loss = -w1 + 10.0 * gradient_penalty(critic, xr, xf, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return _critic_w1(critic, real[half:n], fake[half:n], device)


def _critic_w1(critic: Any, real: Any, fake: Any, device: str, batch: int = 1000) -> float:
    import torch

    critic.eval()
    tot_r = tot_f = 0.0
    with torch.no_grad():
        for sl in _batches(real.shape[0], batch):
            tot_r += float(critic(real[sl].to(device)).sum())
        for sl in _batches(fake.shape[0], batch):
            tot_f += float(critic(fake[sl].to(device)).sum())
    critic.train()
    return tot_r / real.shape[0] - tot_f / fake.shape[0]


def _test_symbols_and_recon(model: LearnedModel, x_test: Any, seed: int):
    """Symbols and reconstructions of the test images under the evaluation dither of ``seed``."""
    import torch

    cfg = model.config
    u = torch.from_numpy(
        dither(int(x_test.shape[0]), cfg.levels_per_dim, step_seed(seed, EVAL_SEED_INDEX))
    )
    s = _symbols_in_batches(model, x_test, u, cfg.eval_batch)
    return s, _decode_in_batches(model, s, u, cfg.eval_batch)


def eval_distortion(model: LearnedModel, x_test: Any, *, seed: int = 0) -> float:
    """Test MSE per pixel of ``model`` (eval mode), exactly as :func:`evaluate_model` measures it.

    ``x_test`` is a float32 tensor (n, C, H, W) in [0, 1]; ``seed`` is the run's seed, which
    fixes the dither of UQ and the decoder noise of NQ. Leaves the model in eval mode.
    """
    _, x_hat = _test_symbols_and_recon(model, x_test, seed)
    return float(((x_hat - x_test) ** 2).mean())


@dataclass(frozen=True)
class LearnedEvaluation:
    """A learned codec measured on its test split (:func:`evaluate_model`).

    Attributes
    ----------
    n_test : int
        Test images.
    distortion, distortion_stderr : float
        Mean squared error per pixel (pixels in [0, 1]) and its standard error over images.
    distortion_measure : str
        ``"mse_per_component"``.
    perception_w1, perception_w1_own : float or None
        W1 estimates of a fresh critic (None when ``fresh_critic_steps`` is 0) and of the
        model's own critic (None without one).
    fresh_critic_steps : int
        Training steps of the fresh critic.
    rate_bound_bits, rate_entropy_bits : float
        ``sum_j log2 L_j`` and the plug-in entropy of the test symbols, bits per image.
    rate_bits, rate_payload_bits, rate_information_bits : float or None
        From the real bitstream of the test split (None when it was not written): whole file,
        payload, and information content under the coding model, bits per image.
    """

    n_test: int
    distortion: float
    distortion_stderr: float
    distortion_measure: str
    perception_w1: float | None
    perception_w1_own: float | None
    fresh_critic_steps: int
    rate_bound_bits: float
    rate_entropy_bits: float
    rate_bits: float | None = None
    rate_payload_bits: float | None = None
    rate_information_bits: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the glossary's keys."""
        return jsonable(asdict(self))


def evaluate_model(
    model: LearnedModel,
    rd: RunDir | None = None,
    *,
    seed: int = 0,
    data_dir: str | Path | None = None,
    x_test: Any = None,
    fresh_critic_steps: int | None = None,
    progress: bool = False,
) -> LearnedEvaluation:
    """Distortion, perception (own and fresh critic) and the rates on the test split.

    With ``rd``, the model's codec (its ``model.safetensors``: coding model and identity)
    writes the test split as a real bitstream for the rates, and ``samples.png`` shows 16 test
    images above their reconstructions.
    """
    import torch

    cfg = model.config
    levels = cfg.levels_per_dim
    if x_test is None:
        x_test = torch.from_numpy(split_images(cfg, "test", data_dir))
    n = int(x_test.shape[0])
    s, x_hat = _test_symbols_and_recon(model, x_test, seed)
    mse = float(((x_hat - x_test) ** 2).mean())
    per_image = ((x_hat - x_test) ** 2).flatten(1).mean(1)
    mse_se = float(per_image.std(unbiased=True) / math.sqrt(n)) if n > 1 else math.nan
    own = _critic_w1(model.critic, x_test, x_hat, model.device) if cfg.uses_critic else None
    steps = cfg.fresh_critic_steps if fresh_critic_steps is None else fresh_critic_steps
    fresh = (
        fresh_critic_w1(x_test, x_hat, cfg.family, steps=steps, device=model.device)
        if steps > 0 and n >= 4
        else None
    )
    rates: dict[str, float] = {}
    if rd is not None:
        tensors, _ = rd.load_checkpoint(MODEL_FILE, architecture=cfg.architecture())
        codec = learned_codec(
            model,
            coding_model_of(tensors, levels),
            checkpoint_identity(rd.checkpoint_path(MODEL_FILE)),
        )
        data = codec.encode(x_test.numpy(), seed=step_seed(seed, EVAL_SEED_INDEX))
        stream = read_stream(data, codec="learned")
        rates = {
            "rate_bits": 8.0 * len(data) / n,
            "rate_payload_bits": 8.0 * len(stream.payload) / n,
            **codec.stream_rates(data),
        }
        k = min(16, n)
        save_image_grid(
            np.concatenate([x_test[:k].numpy(), x_hat[:k].numpy()]),
            rd.figure_path("samples.png"),
            cols=k,
        )
    return LearnedEvaluation(
        n_test=n,
        distortion=mse,
        distortion_stderr=mse_se,
        distortion_measure="mse_per_component",
        perception_w1=fresh,
        perception_w1_own=own,
        fresh_critic_steps=steps,
        rate_bound_bits=cfg.rate_bound_bits,
        rate_entropy_bits=empirical_entropy_bits(s.numpy(), levels),
        **rates,
    )


__all__ = [
    "LearnedEvaluation",
    "coding_model_of",
    "eval_distortion",
    "evaluate_model",
    "finish_model",
    "fresh_critic_w1",
    "learned_codec",
    "load_learned_codec",
    "load_model",
]
