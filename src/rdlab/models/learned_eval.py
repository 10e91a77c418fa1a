"""Learned codecs after training: the coding model, evaluation, and real bitstreams.

- :func:`finish_model` fits the factorised categorical model of the sent symbols on the
  training set and writes ``model.safetensors`` (weights, critic, coding model). The SHA-256 of
  that file is the model's identity in every bitstream it writes.
- :func:`evaluate_codec` measures on the test split
    * ``distortion``: MSE per pixel (pixels in [0, 1]);
    * ``perception_w1_own``: the W1 estimate of the model's own critic (what seed 001 reports;
      None when no critic was trained, i.e. :math:`\\lambda = 0`);
    * ``perception_w1``: the W1 estimate of a *fresh* critic trained from scratch for a fixed
      budget (same initialisation, steps and optimiser for every model) on the first half of
      the test split and evaluated on the second half, so numbers compare across models;
    * three rates, bits per image: ``rate_bound_bits`` (sum of log2 L, what the paper plots),
      ``rate_entropy_bits`` (plug-in entropy of the test symbols, per dimension, summed) and
      ``rate_bits`` (8 x bytes / n of a real bitstream of the whole test split under the coding
      model, container and header included; ``rate_payload_bits`` without them).
- :func:`encode_images` / :func:`decode_stream` write and read the codec's bitstreams
  (container codec id 2, :mod:`rdlab.coding.learned`).

Noise: UQ's dither and NQ's decoder noise in a bitstream come from the header's seed
(:func:`rdlab.coding.quantizers.dither`), so decoding is reproducible.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.container import BitstreamError
from rdlab.coding.learned import (
    CategoricalModel,
    LearnedHeader,
    empirical_entropy_bits,
    encode_symbols,
    pack_learned,
    unpack_learned,
)
from rdlab.coding.quantizers import dither
from rdlab.core.io import check_writable, save_image_grid, write_bytes_atomic
from rdlab.core.rundir import RunDir
from rdlab.core.torch_state import step_seed
from rdlab.core.validation import check_int
from rdlab.models.architectures import IMAGE_SHAPES, build_critic
from rdlab.models.learned import (
    MODEL_FILE,
    LearnedCodec,
    LearnedConfig,
    check_images,
    split_images,
)

FIT_SEED_INDEX = 7 * 10**9
EVAL_SEED_INDEX = 8 * 10**9
FRESH_CRITIC_SEED = 20211206
"""One fixed seed for every fresh critic, so all models are judged by the same procedure."""


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _symbols_and_recon(codec: LearnedCodec, x: Any, u: np.ndarray, batch: int, recon: bool):
    import torch

    codec.eval()
    syms = []
    ut = torch.from_numpy(u)
    with torch.no_grad():
        for sl in _batches(x.shape[0], batch):
            xb = x[sl].to(codec.device)
            ub = ut[sl].to(codec.device)
            syms.append(codec.symbols(xb, ub).cpu())
    s = torch.cat(syms)
    return s.numpy(), (_decode_in_batches(codec, s, ut, batch) if recon else None)


def _decode_in_batches(codec: LearnedCodec, symbols: Any, u: Any, batch: int):
    """Decoder outputs (on the CPU) for symbols and noise given as CPU tensors."""
    import torch

    codec.eval()
    outs = []
    with torch.no_grad():
        for sl in _batches(symbols.shape[0], batch):
            d = codec.decode_symbols(symbols[sl].to(codec.device), u[sl].to(codec.device))
            outs.append(d.cpu())
    return torch.cat(outs)


def coding_model_of(tensors: dict[str, Any], levels: tuple[int, ...]) -> CategoricalModel:
    if "coding.pmf" not in tensors:
        raise ValueError("the model checkpoint holds no coding model (coding.pmf)")
    return CategoricalModel.from_array(tensors["coding.pmf"].double().numpy(), levels)


def finish_model(
    codec: LearnedCodec, rd: RunDir, x_train: Any, *, seed: int, config_dict: dict[str, Any]
) -> CategoricalModel:
    """Fit the coding model on the training symbols and write ``model.safetensors``."""
    import torch

    cfg = codec.config
    levels = cfg.levels_per_dim
    u = dither(x_train.shape[0], levels, step_seed(seed, FIT_SEED_INDEX))
    s, _ = _symbols_and_recon(codec, x_train, u, cfg.eval_batch, recon=False)
    model = CategoricalModel.fit(s, levels)
    tensors = {**codec.state_tensors(), "coding.pmf": torch.from_numpy(model.to_array())}
    rd.save_checkpoint(MODEL_FILE, tensors, {"run": config_dict}, architecture=cfg.architecture())
    return model


def load_codec(
    run: str | Path, device: str = "cpu"
) -> tuple[LearnedCodec, CategoricalModel, bytes]:
    """A finished run's codec (eval mode), coding model and identity (SHA-256 of its model file).

    Raises
    ------
    FileNotFoundError
        No such run, or it has not finished (no ``model.safetensors``).
    ValueError
        Not a learned-codec run, or a corrupt / foreign checkpoint.
    """
    from rdlab.coding.rcc import checkpoint_identity

    rd = RunDir(run)
    if not rd.config_path.exists():
        raise FileNotFoundError(f"{rd.path} is not a run directory (no config.json)")
    cfg_all = rd.read_config()
    if cfg_all.get("kind") != "learned-codec":
        raise ValueError(f"{rd.path} is not a learned-codec run")
    cfg = LearnedConfig.from_dict(cfg_all["config"])
    if not rd.has_checkpoint(MODEL_FILE):
        raise FileNotFoundError(f"{rd.path} has no finished model ({MODEL_FILE}.safetensors)")
    tensors, _ = rd.load_checkpoint(MODEL_FILE, architecture=cfg.architecture())
    codec = LearnedCodec(cfg, seed=int(cfg_all.get("seed", 0)), device=device)
    codec.load_state_tensors(tensors)
    codec.eval()
    return (
        codec,
        coding_model_of(tensors, cfg.levels_per_dim),
        checkpoint_identity(rd.checkpoint_path(MODEL_FILE)),
    )


def fresh_critic_w1(
    real: Any, fake: Any, family: str, *, steps: int, batch_size: int = 64, device: str = "cpu"
) -> float:
    """W1 estimate of a critic trained from scratch (WGAN-GP, Adam 1e-4, betas (0.5, 0.9)).

    Trained on the first half of (real, fake), evaluated on the second half; the
    initialisation and the batches depend on :data:`FRESH_CRITIC_SEED` only.
    """
    import torch

    from rdlab.models.learned import _gradient_penalty

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
        loss = -w1 + 10.0 * _gradient_penalty(critic, xr, xf, g)
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


def _test_symbols_and_recon(codec: LearnedCodec, x_test: Any, seed: int):
    """Symbols and reconstructions of the test images under the evaluation dither of ``seed``."""
    u = dither(int(x_test.shape[0]), codec.config.levels_per_dim, step_seed(seed, EVAL_SEED_INDEX))
    return _symbols_and_recon(codec, x_test, u, codec.config.eval_batch, recon=True)


def eval_distortion(codec: LearnedCodec, x_test: Any, *, seed: int = 0) -> float:
    """Test MSE per pixel of ``codec`` (eval mode), exactly as :func:`evaluate_codec` measures it.

    ``x_test`` is a float32 tensor (n, C, H, W) in [0, 1]; ``seed`` is the run's seed, which
    fixes the dither of UQ and the decoder noise of NQ. Leaves the codec in eval mode.
    """
    _, x_hat = _test_symbols_and_recon(codec, x_test, seed)
    return float(((x_hat - x_test) ** 2).mean())


def evaluate_codec(
    codec: LearnedCodec,
    rd: RunDir | None = None,
    *,
    seed: int = 0,
    data_dir: str | Path | None = None,
    x_test: Any = None,
    fresh_critic_steps: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Distortion, perception (own and fresh critic) and three rates on the test split.

    With ``rd``, reads the coding model from its ``model.safetensors`` and writes
    ``samples.png`` (16 test images above their reconstructions).
    """
    import torch

    cfg = codec.config
    levels = cfg.levels_per_dim
    if x_test is None:
        x_test = torch.from_numpy(split_images(cfg, "test", data_dir))
    n = int(x_test.shape[0])
    eval_seed = step_seed(seed, EVAL_SEED_INDEX)
    s, x_hat = _test_symbols_and_recon(codec, x_test, seed)
    mse = float(((x_hat - x_test) ** 2).mean())
    per_image = ((x_hat - x_test) ** 2).flatten(1).mean(1)
    mse_se = float(per_image.std(unbiased=True) / math.sqrt(n)) if n > 1 else math.nan
    own = _critic_w1(codec.critic, x_test, x_hat, codec.device) if cfg.uses_critic else None
    steps = cfg.fresh_critic_steps if fresh_critic_steps is None else fresh_critic_steps
    fresh = (
        fresh_critic_w1(x_test, x_hat, cfg.family, steps=steps, device=codec.device)
        if steps > 0 and n >= 4
        else None
    )
    out: dict[str, Any] = {
        "n_test": n,
        "distortion": mse,
        "distortion_stderr": mse_se,
        "perception_w1": fresh,
        "perception_w1_own": own,
        "fresh_critic_steps": steps,
        "rate_bound_bits": cfg.rate_bound_bits,
        "rate_entropy_bits": empirical_entropy_bits(s, levels),
    }
    if rd is not None:
        tensors, _ = rd.load_checkpoint(MODEL_FILE, architecture=cfg.architecture())
        model = coding_model_of(tensors, levels)
        payload = encode_symbols(s, model)
        stream = pack_learned(
            LearnedHeader(
                model_sha256=b"\0" * 32,
                quantizer=cfg.quantizer,
                levels=levels,
                n=n,
                seed=eval_seed,
                input_shape=IMAGE_SHAPES[cfg.family],
            ),
            payload,
        )
        out.update(
            rate_bits=8.0 * len(stream) / n,
            rate_payload_bits=8.0 * len(payload) / n,
            rate_model_bits=model.information_bits(s) / n,
        )
        k = min(16, n)
        save_image_grid(
            np.concatenate([x_test[:k].numpy(), x_hat[:k].numpy()]),
            rd.figure_path("samples.png"),
            cols=k,
        )
    return out


# -- bitstreams ----------------------------------------------------------------------------------


def encode_images(run: str | Path, images: Any, *, seed: int = 0, device: str = "cpu") -> bytes:
    """Encode images ``(n, C, H, W)`` (uint8, or float in [0, 1]) with a finished run's model.

    ``seed`` (0 <= seed < 2**64) seeds the shared dither (UQ) or the decoder's noise (NQ); it
    is written in the header.
    """
    import torch

    codec, model, identity = load_codec(run, device)
    cfg = codec.config
    x = torch.from_numpy(check_images("images", images, IMAGE_SHAPES[cfg.family]))
    seed = check_int("seed", seed, minimum=0, maximum=2**64 - 1)
    n = int(x.shape[0])
    u = dither(n, cfg.levels_per_dim, seed)
    s, _ = _symbols_and_recon(codec, x, u, cfg.eval_batch, recon=False)
    header = LearnedHeader(
        model_sha256=identity,
        quantizer=cfg.quantizer,
        levels=cfg.levels_per_dim,
        n=n,
        seed=seed,
        input_shape=IMAGE_SHAPES[cfg.family],
    )
    return pack_learned(header, encode_symbols(s, model))


def decode_stream(run: str | Path, data: bytes, *, device: str = "cpu") -> np.ndarray:
    """Decode a stream written by :func:`encode_images` with the same run's model.

    Returns float32 images ``(n, C, H, W)`` in [0, 1].

    Raises
    ------
    BitstreamError
        Not a learned-codec stream, corrupted or truncated, or written by another model.
    """
    import torch

    from rdlab.coding.learned import decode_symbols

    codec, model, identity = load_codec(run, device)
    cfg = codec.config
    header, payload = unpack_learned(data, model_sha256=identity)
    if tuple(header.levels) != cfg.levels_per_dim or header.quantizer != cfg.quantizer:
        raise BitstreamError("stream header does not match the model's quantiser")
    s = torch.from_numpy(decode_symbols(payload, header.n, model))
    u = torch.from_numpy(dither(header.n, cfg.levels_per_dim, header.seed))
    if header.n == 0:
        return np.zeros((0, *IMAGE_SHAPES[cfg.family]), dtype=np.float32)
    return _decode_in_batches(codec, s, u, cfg.eval_batch).numpy()


def encode_file(
    run: str | Path, src: str | Path, dest: str | Path, *, seed: int = 0, overwrite: bool = False
) -> dict[str, Any]:
    """``rdlab lc encode``: images from a ``.npy`` file to a bitstream file (atomic)."""
    src, dest = Path(src), check_writable(dest, overwrite=overwrite)
    try:
        images = np.load(src, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{src} does not exist") from None
    except ValueError as exc:
        raise ValueError(f"{src} is not a numeric .npy array ({exc})") from None
    data = encode_images(run, images, seed=seed)
    write_bytes_atomic(dest, data)
    n = int(np.asarray(images).shape[0])
    return {"images": n, "bytes": len(data), "rate_bits": 8.0 * len(data) / max(n, 1)}


def decode_file(
    run: str | Path, src: str | Path, dest: str | Path, *, overwrite: bool = False
) -> dict[str, Any]:
    """``rdlab lc decode``: a bitstream file to reconstructions in a ``.npy`` file (atomic)."""
    src, dest = Path(src), check_writable(dest, overwrite=overwrite)
    if not src.is_file():
        raise FileNotFoundError(f"{src} does not exist")
    recon = decode_stream(run, src.read_bytes())
    from rdlab.core.io import atomic_write

    atomic_write(dest, lambda p: np.save(p, recon, allow_pickle=False))
    return {"images": int(recon.shape[0]), "shape": list(recon.shape)}


__all__ = [
    "decode_file",
    "decode_stream",
    "encode_file",
    "encode_images",
    "eval_distortion",
    "evaluate_codec",
    "finish_model",
    "fresh_critic_w1",
    "load_codec",
]
