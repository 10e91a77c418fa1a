"""Seed-003 models after training: the coding model, the codec, the test measurements.

Test inputs are the task's test split degraded once with :data:`TEST_DEGRADATION_SEED`, the
same for every run, so two models are compared image by image. The encoder's evaluation dither
is :func:`rdlab.coding.quantizers.dither` of the run's evaluation seed; the decoder subtracts
it (common randomness) or its own :func:`~rdlab.coding.quantizers.private_dither` of
``decoder_seed`` (none) — exactly what the model's bitstream codec does, so the measured
distortions are those of the decoded streams.

:class:`ShiftEvaluation` names the two distortions apart: ``distortion_input`` against the
degraded input X (what Tables 5-8 report) and ``distortion_ground_truth`` against the clean
image (Tables 9-10), both MSE per pixel with pixels in [0, 1].
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
from rdlab.coding.quantizers import dither, private_dither
from rdlab.coding.rcc import checkpoint_identity
from rdlab.core.io import save_image_grid
from rdlab.core.results import jsonable
from rdlab.core.rundir import RunDir, load_finished_run
from rdlab.core.torch_state import step_seed
from rdlab.core.validation import check_seed
from rdlab.models.architectures import IMAGE_SHAPES
from rdlab.models.learned import fresh_critic_w1
from rdlab.models.shift.config import MODEL_FILE, TASK_DATA, ShiftConfig, eval_pair, run_settings
from rdlab.models.shift.network import ShiftModel

FIT_SEED_INDEX = 7 * 10**9
EVAL_SEED_INDEX = 8 * 10**9


def eval_seed(seed: int) -> int:
    """The encoder seed of a run's test bitstream (and of its measured dither)."""
    return step_seed(seed, EVAL_SEED_INDEX)


def _batches(n: int, size: int):
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def eval_noise(cfg: ShiftConfig, n: int, seed: int, decoder_seed: int = 0):
    """``(u1, u2)`` tensors of a test batch: the encoder's dither and what the decoder
    subtracts (the same object with common randomness)."""
    import torch

    levels = (cfg.levels,) * cfg.latent_dim
    u1 = torch.from_numpy(dither(n, levels, eval_seed(seed)))
    if cfg.common_randomness:
        return u1, u1
    return u1, torch.from_numpy(private_dither(n, levels, decoder_seed))


def stage_outputs(model: ShiftModel, x: Any, seed: int, *, decoder_seed: int = 0) -> dict[str, Any]:
    """The test outputs of every network of the stage for degraded inputs ``x`` (eval mode,
    in batches): ``output`` (codec stages and ``restore``), ``symbols``; two-branch and
    separate: ``y_tilde`` (the frozen end-to-end output), ``y1``, ``y2``."""
    import torch

    cfg = model.config
    model.eval()
    n = int(x.shape[0])
    u1, u2 = (None, None) if cfg.stage == "restore" else eval_noise(cfg, n, seed, decoder_seed)
    parts: dict[str, list[Any]] = {}

    def add(key: str, value: Any) -> None:
        parts.setdefault(key, []).append(value)

    with torch.no_grad():
        for sl in _batches(n, cfg.eval_batch):
            xb = x[sl].to(model.device)
            if cfg.stage == "restore":
                add("output", model["unet"](xb).cpu())
                continue
            a, b = u1[sl].to(model.device), u2[sl].to(model.device)
            s = model.symbols(xb, a)
            if cfg.is_codec:
                add("symbols", s.cpu())
                add("output", model.decode_symbols(s, b).cpu())
                continue
            add("y_tilde", model.decode_symbols(s, b).cpu())
            if cfg.stage == "two-branch":
                add("y1", model.decode_symbols(s, b, "decoder1").cpu())
                add("y2", model.decode_symbols(s, b, "decoder2").cpu())
            else:
                s1, s2 = model.symbols(xb, a, "encoder1"), model.symbols(xb, a, "encoder2")
                add("y1", model.decode_symbols(s1, b, "decoder1").cpu())
                add("y2", model.decode_symbols(s2, b, "decoder2").cpu())
    return {k: torch.cat(v) for k, v in parts.items()}


def per_image_mse(a: Any, b: Any) -> np.ndarray:
    """Mean squared error per pixel of each image pair, float64 (n,)."""
    return ((a - b) ** 2).flatten(1).mean(1).double().numpy()


def _mean_stderr(v: np.ndarray) -> tuple[float, float]:
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
    return float(v.mean()), se


def finish_shift_model(
    model: ShiftModel, rd: RunDir, clean: np.ndarray, *, seed: int, config_dict: dict[str, Any]
) -> CategoricalModel | None:
    """Write ``model.safetensors``; codec stages also fit the categorical model of the sent
    symbols on the (degraded) training images and store it as ``coding.pmf``."""
    import torch

    cfg = model.config
    tensors = model.state_tensors()
    coding = None
    if cfg.is_codec:
        levels = (cfg.levels,) * cfg.latent_dim
        x = torch.from_numpy(cfg.degradation.apply(clean, seed=step_seed(seed, FIT_SEED_INDEX)))
        u = torch.from_numpy(dither(x.shape[0], levels, step_seed(seed, FIT_SEED_INDEX + 1)))
        model.eval()
        s = torch.cat([model.symbols(x[sl], u[sl]) for sl in _batches(x.shape[0], cfg.eval_batch)])
        coding = CategoricalModel.fit(s.numpy(), levels)
        tensors["coding.pmf"] = torch.from_numpy(coding.to_array())
    rd.save_checkpoint(MODEL_FILE, tensors, {"run": config_dict}, architecture=cfg.architecture())
    return coding


def shift_codec(
    model: ShiftModel,
    coding_model: CategoricalModel,
    identity: bytes,
    *,
    decoder_seed: int = 0,
    max_memory_bytes: int | None = None,
) -> QuantizedLatentCodec:
    """The bitstream codec of a codec stage: degraded images in (float, finite, the task's
    shape; noisy images may leave [0, 1]), restored images out. Its quantiser is ``uq`` with
    common randomness and ``uq-private`` without (the decoder draws its own dither from
    ``decoder_seed``)."""
    import torch

    cfg = model.config
    if not cfg.is_codec:
        raise ValueError(f"a {cfg.stage} model is not a codec")
    shape = IMAGE_SHAPES[TASK_DATA[cfg.task]]

    def batched(fn):
        """``fn(a, u)`` of the model on numpy arrays, in eval mode and in batches."""

        def run(a: np.ndarray, u: np.ndarray) -> np.ndarray:
            model.eval()
            at, ut = torch.from_numpy(a), torch.from_numpy(u)
            parts = [
                fn(at[sl].to(model.device), ut[sl].to(model.device)).cpu()
                for sl in _batches(a.shape[0], cfg.eval_batch)
            ]
            return torch.cat(parts).numpy()

        return run

    def check_input(x: object) -> np.ndarray:
        a = np.asarray(x)
        if a.dtype == np.uint8:
            return a.astype(np.float32) / np.float32(255.0)
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"images must be uint8 or float, got {a.dtype}")
        if not np.isfinite(a).all():
            raise ValueError("images must be finite (found NaN or inf)")
        return a.astype(np.float32)

    return QuantizedLatentCodec(
        batched(model.symbols),
        batched(model.decode_symbols),
        coding_model,
        cfg.quantizer,
        shape,
        identity,
        check_input=check_input,
        max_memory_bytes=max_memory_bytes,
        decoder_seed=check_seed(decoder_seed, "decoder_seed"),
    )


def load_shift_model(
    run: str | Path, device: str = "cpu"
) -> tuple[ShiftModel, CategoricalModel | None, bytes, int]:
    """A finished run's model (eval mode), coding model (None for non-codec stages), identity
    and seed.

    Raises
    ------
    FileNotFoundError
        No such run, or unfinished (no ``model.safetensors``).
    ValueError
        Not a shift run, or a corrupt or foreign checkpoint.
    """
    rd, cfg, seed, tensors = load_finished_run(run, run_settings, model_file=MODEL_FILE)
    model = ShiftModel(cfg, seed=seed, device=device)
    model.load_state_tensors(tensors)
    coding = None
    if cfg.is_codec:
        if "coding.pmf" not in tensors:
            raise ValueError(f"{rd.path}: the model checkpoint holds no coding model")
        levels = (cfg.levels,) * cfg.latent_dim
        coding = CategoricalModel.from_array(tensors["coding.pmf"].double().numpy(), levels)
    return model.eval(), coding, checkpoint_identity(rd.checkpoint_path(MODEL_FILE)), seed


def load_shift_codec(
    run: str | Path,
    device: str = "cpu",
    *,
    decoder_seed: int = 0,
    max_memory_bytes: int | None = None,
) -> QuantizedLatentCodec:
    """The bitstream codec of a finished end-to-end or restore-compress run."""
    model, coding, identity, _ = load_shift_model(run, device)
    if coding is None:
        raise ValueError(f"{run} is a {model.config.stage} run, not a codec")
    return shift_codec(
        model, coding, identity, decoder_seed=decoder_seed, max_memory_bytes=max_memory_bytes
    )


@dataclass(frozen=True)
class ShiftEvaluation:
    """A seed-003 model measured on its test split (:func:`evaluate_shift`).

    Attributes
    ----------
    n_test : int
    distortion_input, distortion_input_stderr : float
        MSE per pixel between the output and the degraded input X, and its standard error over
        test images (Tables 5-8; for ``two-branch`` and ``separate`` the frozen end-to-end
        output's, the end-to-end loss of Table 1).
    distortion_ground_truth, distortion_ground_truth_stderr : float
        MSE per pixel between the output and the clean ground truth (Tables 9-10).
    distortion_measure : str
        ``"mse_per_component"``.
    perception_w1, perception_w1_own : float or None
        W1 between clean test images and the outputs by a fresh critic (``fresh_critic_steps``
        steps; None when 0 or no outputs) and by the model's own critic (None without one).
    rate_bound_bits, rate_entropy_bits, rate_bits, rate_payload_bits, rate_information_bits
        Bits per image (codec stages only, else None): ``latent_dim * log2 L``, the plug-in
        entropy of the test symbols, and from the real bitstream of the test split: the whole
        file, its payload, the information content under the coding model.
    branch_input_mse, branch_output_mse, branch_cross_mse, decomposed_loss : float or None
        Two-branch and separate stages: the terms (a) E||X - Y1||², (b) E||Ỹ - Y2||²,
        (c) E||Y1 - Y2||² of eq. (18) per pixel and their sum L2.
    """

    n_test: int
    distortion_input: float
    distortion_input_stderr: float
    distortion_ground_truth: float
    distortion_ground_truth_stderr: float
    distortion_measure: str
    fresh_critic_steps: int
    perception_w1: float | None = None
    perception_w1_own: float | None = None
    rate_bound_bits: float | None = None
    rate_entropy_bits: float | None = None
    rate_bits: float | None = None
    rate_payload_bits: float | None = None
    rate_information_bits: float | None = None
    branch_input_mse: float | None = None
    branch_output_mse: float | None = None
    branch_cross_mse: float | None = None
    decomposed_loss: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))


PER_IMAGE_FILE = "per_image.npy"
"""Per test image: MSE per pixel against the input and against the ground truth, (n, 2)."""


def evaluate_shift(
    model: ShiftModel,
    rd: RunDir | None = None,
    *,
    seed: int = 0,
    data_dir: str | Path | None = None,
    pair: tuple[np.ndarray, np.ndarray] | None = None,
    fresh_critic_steps: int | None = None,
) -> ShiftEvaluation:
    """Measure ``model`` on the test split (``pair`` = (ground truth, degraded inputs), by
    default :func:`~rdlab.models.shift.config.eval_pair`).

    With ``rd``: a codec stage writes the test split as one real bitstream for the rates (and
    checks that decoding it gives the measured outputs), and ``samples.png`` (rows: ground
    truth, degraded input, output; for two-branch / separate: Ỹ, Y1, Y2) and
    :data:`PER_IMAGE_FILE` are written.

    References
    ----------
    .. [1] H. Liu, G. Zhang, J. Chen, A. Khisti, "Cross-Domain Lossy Compression as Entropy
       Constrained Optimal Transport", 2022, Appendix B.4 (Tables 5-6), B.6 (Tables 9-10),
       B.7 (Table 11).
    """
    import torch

    from rdlab.core.io import save_npy_atomic

    cfg = model.config
    y_np, x_np = pair if pair is not None else eval_pair(cfg, data_dir)
    y, x = torch.from_numpy(y_np), torch.from_numpy(x_np)
    n = int(x.shape[0])
    out = stage_outputs(model, x, seed)
    main = out.get("output", out.get("y_tilde"))
    d_in, d_gt = per_image_mse(main, x), per_image_mse(main, y)
    (m_in, se_in), (m_gt, se_gt) = _mean_stderr(d_in), _mean_stderr(d_gt)
    fields: dict[str, Any] = {}
    steps = cfg.fresh_critic_steps if fresh_critic_steps is None else fresh_critic_steps
    if "output" in out:
        family = TASK_DATA[cfg.task]
        if steps > 0 and n >= 4:
            fields["perception_w1"] = fresh_critic_w1(
                y, out["output"], family, steps=steps, device=model.device
            )
        if cfg.uses_critic:
            fields["perception_w1_own"] = _own_w1(model, y, out["output"])
    if "y1" in out:
        a = float(per_image_mse(out["y1"], x).mean())
        b = float(per_image_mse(out["y2"], out["y_tilde"]).mean())
        c = float(per_image_mse(out["y1"], out["y2"]).mean())
        fields.update(
            branch_input_mse=a, branch_output_mse=b, branch_cross_mse=c, decomposed_loss=a + b + c
        )
    if cfg.is_codec:
        levels = (cfg.levels,) * cfg.latent_dim
        fields["rate_bound_bits"] = cfg.rate_bound_bits
        fields["rate_entropy_bits"] = empirical_entropy_bits(out["symbols"].numpy(), levels)
    if rd is not None:
        if cfg.is_codec:
            fields.update(_stream_rates(model, rd, x_np, main, seed))
        rows = (y, x, main) if "output" in out else (out["y_tilde"], out["y1"], out["y2"])
        k = min(16, n)
        save_image_grid(
            np.concatenate([r[:k].clamp(0, 1).numpy() for r in rows]),
            rd.figure_path("samples.png"),
            cols=k,
        )
        save_npy_atomic(rd.path / PER_IMAGE_FILE, np.stack([d_in, d_gt], axis=1))
    return ShiftEvaluation(
        n_test=n,
        distortion_input=m_in,
        distortion_input_stderr=se_in,
        distortion_ground_truth=m_gt,
        distortion_ground_truth_stderr=se_gt,
        distortion_measure="mse_per_component",
        fresh_critic_steps=steps if "output" in out else 0,
        **fields,
    )


def _own_w1(model: ShiftModel, real: Any, fake: Any, batch: int = 1000) -> float:
    import torch

    critic = model.critic
    critic.eval()
    with torch.no_grad():
        r = sum(float(critic(real[sl].to(model.device)).sum()) for sl in _batches(len(real), batch))
        f = sum(float(critic(fake[sl].to(model.device)).sum()) for sl in _batches(len(fake), batch))
    return r / len(real) - f / len(fake)


def _stream_rates(
    model: ShiftModel, rd: RunDir, x: np.ndarray, expected: Any, seed: int
) -> dict[str, float]:
    """Rates of the test split's real bitstream; its decoding must be the measured output."""
    tensors, _ = rd.load_checkpoint(MODEL_FILE, architecture=model.config.architecture())
    levels = (model.config.levels,) * model.config.latent_dim
    coding = CategoricalModel.from_array(tensors["coding.pmf"].double().numpy(), levels)
    codec = shift_codec(model, coding, checkpoint_identity(rd.checkpoint_path(MODEL_FILE)))
    data = codec.encode(x, seed=eval_seed(seed))
    decoded = codec.decode(data)
    if not np.allclose(decoded, expected.numpy(), atol=1e-5):
        raise RuntimeError("the decoded test stream differs from the measured outputs")
    n = x.shape[0]
    stream = read_stream(data, codec="learned")
    return {
        "rate_bits": 8.0 * len(data) / n,
        "rate_payload_bits": 8.0 * len(stream.payload) / n,
        **codec.stream_rates(data),
    }


__all__ = [
    "PER_IMAGE_FILE",
    "ShiftEvaluation",
    "eval_noise",
    "eval_seed",
    "evaluate_shift",
    "finish_shift_model",
    "load_shift_codec",
    "load_shift_model",
    "per_image_mse",
    "shift_codec",
    "stage_outputs",
]
