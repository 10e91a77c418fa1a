"""Small torch helpers shared by every training loop (NERD, learned codecs).

torch is imported inside the functions, so importing this module costs nothing.

- :func:`check_device` — ``"cpu"`` or ``"cuda[:N]"``, refused clearly when CUDA is absent;
- :func:`step_seed` — a 63-bit seed for step (or chunk) ``index`` of a run seeded by ``seed``,
  so every step's randomness depends on ``(seed, index)`` only and a resumed run repeats an
  uninterrupted one exactly;
- :func:`optimizer_tensors` / :func:`load_optimizer_tensors` — an optimizer's state as a flat
  ``name -> tensor`` dict that a safetensors checkpoint can hold (no pickle);
- :func:`build_bounded` — build a network only after counting its parameters without
  allocating them, so a hostile or mistyped size is refused instead of exhausting memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_PARAMETERS = 1 << 28
"""Most parameters a network rdlab builds may have (2.7e8: 1 GiB in float32)."""


def check_device(device: object) -> str:
    """Return ``device`` if it is ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` and usable here.

    Examples
    --------
    >>> check_device("cpu")
    'cpu'
    """
    import torch

    if not isinstance(device, str) or not re.match(r"^(cpu|cuda(:\d+)?)$", device):
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch finds no CUDA device")
    return device


def step_seed(seed: int, index: int) -> int:
    """A 63-bit seed for step ``index`` of a stream seeded by ``seed`` (order-free).

    Examples
    --------
    >>> step_seed(0, 1) == step_seed(0, 1) != step_seed(0, 2)
    True
    """
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def optimizer_tensors(opt: Any, prefix: str = "optim") -> dict[str, Any]:
    """The per-parameter state of ``opt`` as ``{f"{prefix}.{i}.{key}": tensor}``."""
    out = {}
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, p in enumerate(params):
        for key, val in opt.state.get(p, {}).items():
            out[f"{prefix}.{i}.{key}"] = val.detach().clone().reshape(val.shape)
    return out


def load_optimizer_tensors(opt: Any, tensors: dict[str, Any], prefix: str = "optim") -> None:
    """Put state written by :func:`optimizer_tensors` back into ``opt``.

    Raises
    ------
    ValueError
        The state names a parameter ``opt`` does not have (another model's checkpoint).
    """
    params = [p for g in opt.param_groups for p in g["params"]]
    head = prefix + "."
    for name, val in tensors.items():
        if not name.startswith(head):
            continue
        idx, key = name[len(head) :].split(".", 1)
        i = int(idx)
        if i >= len(params):
            raise ValueError(f"checkpoint optimizer state {prefix!r} does not match the model")
        opt.state[params[i]][key] = val.clone()


def build_bounded(build: Callable[[], Any], what: str, max_parameters: int = MAX_PARAMETERS) -> Any:
    """``build()`` (a torch module, or a tuple or list of them), once its parameter count is
    known to be at most ``max_parameters``: it is first built on the ``meta`` device, which
    allocates nothing and leaves the random state alone.

    Raises
    ------
    ValueError
        More parameters than ``max_parameters``, naming ``what`` (e.g. the config's sizes).
    """
    import torch

    try:
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            probe = build()
    except (RuntimeError, OverflowError) as exc:  # sizes beyond what torch can even describe
        raise ValueError(f"{what} cannot be built: {exc}") from None
    modules = probe if isinstance(probe, list | tuple) else [probe]
    count = sum(p.numel() for m in modules if m is not None for p in m.parameters())
    if count > max_parameters:
        raise ValueError(
            f"{what} would have {count:.3g} parameters, over the limit of {max_parameters:.3g} "
            "(1 GiB of float32): a mistyped or hostile size"
        )
    del probe, modules
    return build()


__all__ = [
    "MAX_PARAMETERS",
    "build_bounded",
    "check_device",
    "load_optimizer_tensors",
    "optimizer_tensors",
    "step_seed",
]
