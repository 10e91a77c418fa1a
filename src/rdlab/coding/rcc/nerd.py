r"""A trained NERD generator as the output distribution :math:`Q_Y` of reverse channel coding
(Lei et al. §V.B: Algorithm 2 with :math:`Q_Y = G_{\theta*} N(0, I)`).

:func:`nerd_output` rebuilds the generator of a NERD run directory (``config.json``,
``results.json`` and the safetensors checkpoint ``generator.safetensors`` written by
:func:`rdlab.estimators.nerd.nerd_point`) and wraps it in a
:class:`~rdlab.coding.rcc.GeneratorOutput`:

- candidates are a deterministic function of the codec's generator: the latents are drawn with
  numpy from it (float64, then cast to float32) and pushed through the generator on the CPU
  with one torch thread under ``torch.no_grad()``; the samples come back as float64;
- the identity is a SHA-256 of the checkpoint's canonical content
  (:func:`~rdlab.coding.rcc.checkpoint_identity`) and the run's configuration, so a stream
  decoded with another run fails with :class:`~rdlab.coding.container.BitstreamError` and a
  retrained identical run decodes the first one's streams (streams of rdlab 0.2, which hashed the
  checkpoint file's bytes, still decode).

The checkpoint is read with safetensors (never pickle); a missing or corrupted run directory
raises :class:`FileNotFoundError` or :class:`ValueError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rdlab.coding.rcc.output import (
    GeneratorOutput,
    checkpoint_identity,
    legacy_checkpoint_identity,
)
from rdlab.core.io import read_json_object

CHECKPOINT_NAME = "generator"
"""Stem of the checkpoint that :func:`rdlab.estimators.nerd.nerd_point` writes."""


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: {path.parent} is not a finished NERD run directory"
        )
    return read_json_object(path)


def _run_slope_and_rate(results: dict[str, Any], path: Path) -> tuple[float, float]:
    est = results.get("estimate")
    point = results.get("point")
    for block in (est, point):
        if isinstance(block, dict):
            slope, rate = block.get("slope"), block.get("rate_bits")
            if (
                isinstance(slope, (int, float))
                and isinstance(rate, (int, float))
                and not isinstance(slope, bool)
                and math.isfinite(slope)
                and math.isfinite(rate)
            ):
                return float(slope), float(rate)
    raise ValueError(f"{path} does not record a finite slope and rate of the NERD estimate")


def _torch_generator(module: Any):
    import torch

    def run(z: np.ndarray) -> np.ndarray:
        torch.set_num_threads(1)
        with torch.no_grad():
            out = module(torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)))
        return out.numpy().astype(np.float64)

    return run


def _identity(checkpoint: bytes, config: dict[str, Any]) -> bytes:
    h = hashlib.sha256(b"rdlab.nerd-output.v1\n")
    h.update(checkpoint)
    h.update(json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
    return h.digest()


def nerd_output(run_dir: str | Path) -> tuple[GeneratorOutput, float, float]:
    """Load the trained generator of a NERD run directory as :math:`Q_Y`.

    Parameters
    ----------
    run_dir : path
        A run directory written by :func:`rdlab.estimators.nerd.nerd_point` with ``run_dir``.

    Returns
    -------
    (GeneratorOutput, float, float)
        The output distribution, the run's final slope dR/dD (bits per unit distortion, < 0)
        and its estimated rate in bits (the Zipf rate parameter of the codec).

    Raises
    ------
    FileNotFoundError
        No such directory, or its config, results or checkpoint is missing.
    ValueError
        Not a NERD run, or a corrupted or mismatching checkpoint.
    """
    import torch

    from rdlab.core.rundir import RunDir
    from rdlab.estimators.generators import make_generator

    path = Path(run_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a directory (expected a NERD run directory)")
    if not (path / "generator.safetensors").exists():
        # a sweep made by ``rdlab nerd`` keeps one run per point in point-NN/
        points = sorted(p for p in path.glob("point-*") if (p / "generator.safetensors").exists())
        if len(points) == 1:
            path = points[0]
        elif points:
            names = ", ".join(str(p) for p in points)
            raise ValueError(
                f"{run_dir} holds a sweep of {len(points)} points; pass one of {names}"
            )
    config = _read_json(path / "config.json")
    if config.get("estimator") != "nerd":
        raise ValueError(
            f"{path} is not a NERD run (config.json names {config.get('estimator')!r})"
        )
    results = _read_json(path / "results.json")
    slope, rate = _run_slope_and_rate(results, path / "results.json")
    if slope >= 0:
        raise ValueError(f"{path}: the run's slope {slope} is not negative")
    arch = config.get("architecture")
    if not isinstance(arch, dict) or not isinstance(arch.get("name"), str):
        raise ValueError(f"{path / 'config.json'} does not record the generator's architecture")
    try:
        module = make_generator(
            arch["name"], arch["output_shape"], arch["latent_dim"], **dict(arch.get("params", {}))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path / 'config.json'}: invalid architecture ({exc})") from None
    rd = RunDir(path)
    ckpt = rd.checkpoint_path(CHECKPOINT_NAME)
    tensors, _ = rd.load_checkpoint(CHECKPOINT_NAME, architecture=module.architecture)
    weights = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{ckpt} does not fit the generator of {path}: {exc}") from None
    module.eval()
    module.to(torch.float32)
    identity = _identity(checkpoint_identity(ckpt), config)
    legacy = _identity(legacy_checkpoint_identity(ckpt), config)
    # kept short: the header carries it in every stream (the identity names the weights)
    description = {
        "estimator": "nerd",
        "run": path.resolve().name,
        "nerd_source": config.get("source"),
    }
    q = GeneratorOutput(
        _torch_generator(module),
        (int(module.latent_dim),),
        tuple(int(s) for s in module.output_shape),
        identity,
        description=description,
        legacy_identities=() if legacy == identity else (legacy,),
    )
    return q, slope, rate


__all__ = ["CHECKPOINT_NAME", "nerd_output"]
